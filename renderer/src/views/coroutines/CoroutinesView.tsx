import { useEffect } from 'react';
import type { CoroutineInfo } from '@core/derive/derived.js';
import { useUi } from '../../stores/ui.js';
import { coColour, fmtCount, fmtDur } from '../../format.js';
import { useSessionAnswer } from '../useSessionQuery.js';
import { CoroutineDetail } from './CoroutineDetail.js';

const MAX_ROWS = 500;

const COLUMNS: { key: string; title: string; num?: boolean; value: (c: CoroutineInfo) => number | string }[] = [
  { key: 'co', title: 'id', num: true, value: (c) => c.co },
  { key: 'name', title: 'name', value: (c) => c.name },
  { key: 'state', title: 'state', value: (c) => c.state },
  { key: 'worker', title: 'worker', num: true, value: (c) => c.worker ?? -1 },
  { key: 'runTime', title: 'run', num: true, value: (c) => c.runTime },
  { key: 'readyTime', title: 'ready wait', num: true, value: (c) => c.readyTime },
  { key: 'suspendedTime', title: 'suspended', num: true, value: (c) => c.suspendedTime },
  { key: 'switches', title: 'switches', num: true, value: (c) => c.switches },
  { key: 'preemptions', title: 'preemptions', num: true, value: (c) => c.preemptions },
  { key: 'calls', title: 'hooked calls', num: true, value: (c) => c.calls },
];

/** The live coroutine table (sortable, filterable) and the selected coroutine's detail. */
export function CoroutinesView({ sessionId }: { sessionId: string }) {
  const filter = useUi((s) => s.coFilter);
  const showDone = useUi((s) => s.coShowDone);
  const sort = useUi((s) => s.coSort);
  const selected = useUi((s) => s.selectedCo);
  const { setCoFilter, setCoShowDone, setCoSort, select } = useUi.getState();
  // Esc closes the detail (clicking the selected row keeps it: a click selects, never toggles).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.key === 'Escape' && !(t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA'))) select(null);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [select]);

  // Filtered, sorted and cut in the data worker: only the rows shown cross to the page.
  const { value: answer, fresh } = useSessionAnswer(
    sessionId,
    'coroutineRows',
    { filter, showDone, sort: { key: sort.key, desc: sort.desc }, limit: MAX_ROWS },
    { throttleMs: 200 },
  );
  const rows = answer?.rows ?? [];
  const matched = answer?.matched ?? 0;
  const total = answer?.total ?? 0;

  const fmt = (c: CoroutineInfo, key: string, v: number | string) => {
    if (key === 'runTime' || key === 'readyTime' || key === 'suspendedTime') return fmtDur(v as number);
    if (key === 'worker') return c.worker ?? '—';
    if (typeof v === 'number') return fmtCount(v);
    return v;
  };

  return (
    <div className="split">
      <div>
        <div className="filters">
          <input
            data-testid="coroutine-filter"
            placeholder="filter: id (#12), name or state"
            value={filter}
            onChange={(e) => setCoFilter(e.target.value)}
          />
          <label>
            <input
              type="checkbox"
              data-testid="coroutine-show-done"
              checked={showDone}
              onChange={(e) => setCoShowDone(e.target.checked)}
            />{' '}
            finished too
          </label>
          {/* The count of the filter shown, once its rows are in (the rows of the last one stay meanwhile). */}
          {fresh && (
            <span className="dim" data-testid="coroutine-count">
              {matched} of {total}
              {matched > MAX_ROWS ? ` (first ${MAX_ROWS} shown)` : ''}
            </span>
          )}
        </div>
        <table data-testid="coroutine-table">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  key={c.key}
                  className={`sortable${c.num ? ' num' : ''}`}
                  data-testid={`coroutine-sort-${c.key}`}
                  onClick={() => setCoSort(c.key)}
                >
                  {c.title}
                  {sort.key === c.key ? (sort.desc ? ' ▾' : ' ▴') : ''}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr
                key={c.co}
                data-testid={`coroutine-row-${c.co}`}
                data-state={c.state}
                className={c.co === selected ? 'selected' : ''}
                onClick={() => select(c.co)}
              >
                {COLUMNS.map((col) => (
                  <td key={col.key} className={col.num ? 'num' : ''}>
                    {col.key === 'co' && (
                      <span
                        style={{
                          display: 'inline-block',
                          width: 8,
                          height: 8,
                          marginRight: 4,
                          background: coColour(c.co),
                        }}
                      />
                    )}
                    {fmt(c, col.key, col.value(c))}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {selected !== null && <CoroutineDetail sessionId={sessionId} co={selected} />}
    </div>
  );
}
