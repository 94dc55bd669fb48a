import { useUi } from '../../stores/ui.js';
import { fmtDur } from '../../format.js';
import { useSessionQuery } from '../useSessionQuery.js';

const LAST_CALLS = 20;

/** State, wait reason and last hooked calls of one coroutine. */
export function CoroutineDetail({ sessionId, co }: { sessionId: string; co: number }) {
  const answer = useSessionQuery(sessionId, 'coroutineDetail', { co, lastCalls: LAST_CALLS }, { throttleMs: 200 });
  const info = answer?.info;
  const calls = answer?.calls ?? [];
  const wakes = answer?.wakes ?? [];
  const waitsOn = answer?.waitsOn;
  const base = useSessionQuery(sessionId, 'info', {}, { throttleMs: 200 })?.oldest ?? 0;
  return (
    <aside className="card detail" data-testid="coroutine-detail" data-co={co}>
      <h2>{info ? `${info.name || 'co'} #${co}` : `#${co}`}</h2>
      {!info && <p className="dim">No transitions seen for this coroutine.</p>}
      {info && (
        <div className="kv">
          <span className="dim">state</span>
          <span data-testid="coroutine-detail-state">{info.state}</span>
          <span className="dim">worker</span>
          <span>{info.worker ?? '—'}</span>
          {info.wait && (
            <>
              <span className="dim">waits in</span>
              <span data-testid="coroutine-detail-wait">
                {info.wait.hookName || info.wait.whyName}
                {info.wait.why === 2
                  ? ` (joins #${info.wait.fd})`
                  : info.wait.fd >= 0
                    ? waitsOn
                      ? ` on ${waitsOn} (fd ${info.wait.fd})`
                      : ` fd ${info.wait.fd}`
                    : ''}
                {info.wait.events
                  ? ` ${info.wait.events === 1 ? 'read' : info.wait.events === 2 ? 'write' : 'read|write'}`
                  : ''}
                {info.wait.deadline ? ` until +${fmtDur(info.wait.deadline - info.since)}` : ''}
              </span>
            </>
          )}
          <span className="dim">entry</span>
          <span data-testid="coroutine-detail-entry">{info.entry || '—'}</span>
          <span className="dim">parent</span>
          <span>{info.parent ? `#${info.parent}` : '—'}</span>
          <span className="dim">run</span>
          <span>{fmtDur(info.runTime)}</span>
          <span className="dim">ready wait</span>
          <span>{fmtDur(info.readyTime)}</span>
          <span className="dim">suspended</span>
          <span>{fmtDur(info.suspendedTime)}</span>
          <span className="dim">switches</span>
          <span>{info.switches}</span>
          <span className="dim">preemptions</span>
          <span>{info.preemptions}</span>
          {info.migrations > 0 && (
            <>
              <span className="dim">moved between workers</span>
              <span>{info.migrations}×</span>
            </>
          )}
          {info.exit && (
            <>
              <span className="dim">exit</span>
              <span>
                {info.exit.name}
                {info.exit.stackUsed ? `, ${info.exit.stackUsed} B stack` : ''}
              </span>
            </>
          )}
        </div>
      )}
      <p>
        <button
          data-testid="coroutine-show-timeline"
          onClick={() => {
            useUi.getState().toggleExpanded(co);
            useUi.getState().setView('timeline');
          }}
        >
          Show in timeline
        </button>
      </p>
      <h2>Woken by</h2>
      {wakes.length === 0 && <p className="dim">no wakes seen</p>}
      <table data-testid="coroutine-detail-wakes">
        <tbody>
          {wakes.map((w) => (
            <tr key={w.ts} data-waker={w.waker || undefined}>
              <td className="dim">{fmtDur(w.ts - base)}</td>
              <td className="wrap">{w.text}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Last hooked calls</h2>
      {calls.length === 0 && <p className="dim">none</p>}
      <table data-testid="coroutine-detail-calls">
        <tbody>
          {calls.map((c) => (
            <tr key={c.index}>
              <td className="dim">{fmtDur(c.ts - base)}</td>
              <td className="wrap">
                {c.call}
                {c.fd >= 0 && c.summaryKind !== 'timeout_ms' && c.summaryKind !== 'sleep_ms' ? `(${c.fd})` : ''}
                {c.fdDesc ? (
                  <span className="dim"> {c.fdDesc}</span>
                ) : c.address ? (
                  <span className="dim"> {c.address}</span>
                ) : null}
              </td>
              <td className={c.errno ? 'error' : ''}>{c.errno ? `errno ${c.errno}` : c.result}</td>
              <td className="num">{fmtDur(c.duration)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </aside>
  );
}
