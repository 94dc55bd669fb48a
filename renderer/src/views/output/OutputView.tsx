import { useEffect, useRef } from 'react';
import { useSessionQuery } from '../useSessionQuery.js';

/** The target's stdout (plain) and stderr (orange), following the end while scrolled to it. */
export function OutputView({ sessionId }: { sessionId: string }) {
  const ref = useRef<HTMLPreElement>(null);
  const atEnd = useRef(true);
  const chunks = useSessionQuery(sessionId, 'output', {}, { throttleMs: 100 }) ?? [];
  useEffect(() => {
    const el = ref.current?.parentElement;
    if (el && atEnd.current) el.scrollTop = el.scrollHeight;
  });
  return (
    <pre
      className="output"
      data-testid="output"
      ref={ref}
      onScroll={() => undefined}
      onWheel={() => {
        const el = ref.current?.parentElement;
        if (el) atEnd.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 20;
      }}
    >
      {chunks.length === 0 && <span className="dim">No output yet.</span>}
      {chunks.map((c, i) => (
        <span key={i} className={c.stream === 2 ? 'stderr' : undefined}>
          {c.text}
        </span>
      ))}
    </pre>
  );
}
