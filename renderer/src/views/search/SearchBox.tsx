import { useState } from 'react';
import type { SearchHit } from '../../data/search.js';
import { useUi } from '../../stores/ui.js';
import { useSessionQuery } from '../useSessionQuery.js';

const LIMIT = 50;

/** Shows a hit on the timeline: its span with as much room again around it, its coroutine selected. */
function jump(h: SearchHit): void {
  const span = Math.max(2 * (h.t1 - h.t0), 2e6);
  useUi.getState().jumpTo({ t0: (h.t0 + h.t1) / 2 - span / 2, span }, h.co ?? null);
}

/** Search and jump: a coroutine (#12, a name), calls (a call's name, fd=7), a time (1.5s). */
export function SearchBox({ sessionId }: { sessionId: string }) {
  const [text, setText] = useState('');
  const [open, setOpen] = useState(false);
  const answer = useSessionQuery(sessionId, 'search', { text, limit: LIMIT }, { throttleMs: 300, skip: !text.trim() });
  const hits = text.trim() ? (answer?.hits ?? []) : [];
  const pick = (h: SearchHit) => {
    jump(h);
    setOpen(false);
  };
  return (
    <span className="search">
      <input
        data-testid="search-input"
        type="search"
        placeholder="search: #12, name, read, fd=7, 1.5s"
        aria-label="search coroutines, calls and times"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && hits[0]) pick(hits[0]);
          else if (e.key === 'Escape') setOpen(false);
        }}
      />
      {open && text.trim() && (
        <div className="search-results card" data-testid="search-results">
          {hits.length === 0 && <p className="dim">{answer ? 'nothing found' : 'searching…'}</p>}
          {hits.map((h, i) => (
            <button
              key={`${h.kind}-${h.t0}-${h.label}-${i}`}
              className="search-hit"
              data-testid="search-hit"
              data-kind={h.kind}
              onClick={() => pick(h)}
            >
              <span className="search-kind">{h.kind}</span> {h.label} <span className="dim">{h.detail}</span>
            </button>
          ))}
          {answer?.note && <p className="dim">{answer.note}</p>}
          {hits.length >= LIMIT && <p className="dim">the first {LIMIT} shown: say more to narrow</p>}
        </div>
      )}
    </span>
  );
}
