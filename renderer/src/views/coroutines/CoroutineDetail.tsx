import { useUi } from '../../stores/ui.js';
import { fmtDur } from '../../format.js';
import { useSessionQuery } from '../useSessionQuery.js';
import { frameText } from '@core/events/frames.js';
import { stackWhyName } from '@core/events/schema.js';
import { useStackFrames } from './stackFrames.js';

const LAST_CALLS = 20;

/** State, wait reason and last hooked calls of one coroutine. */
export function CoroutineDetail({ sessionId, co }: { sessionId: string; co: number }) {
  const answer = useSessionQuery(sessionId, 'coroutineDetail', { co, lastCalls: LAST_CALLS }, { throttleMs: 200 });
  const info = answer?.info;
  const calls = answer?.calls ?? [];
  const wakes = answer?.wakes ?? [];
  const waitsOn = answer?.waitsOn;
  const base = useSessionQuery(sessionId, 'info', {}, { throttleMs: 200 })?.oldest ?? 0;
  const stack = answer?.stack;
  const frames = useStackFrames(sessionId, stack);
  return (
    <aside className="card detail" data-testid="coroutine-detail" data-co={co}>
      <h2>
        {info ? `${info.name || 'co'} #${co}` : `#${co}`}{' '}
        <button
          className="detail-close"
          data-testid="coroutine-detail-close"
          aria-label="close the detail"
          title="close (Esc)"
          onClick={() => useUi.getState().select(null)}
        >
          ×
        </button>
      </h2>
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
      <h2>Stack</h2>
      {!stack && <p className="dim">No stack recorded (it has not parked or been preempted yet, or stacks are off).</p>}
      {stack && (
        <>
          <p className="dim" data-testid="coroutine-detail-stack-when">
            {info?.state === 'suspended' && stack.why === 1
              ? 'where it is parked'
              : `where it was ${stackWhyName(stack.why)}`}{' '}
            at +{fmtDur(stack.ts - base)}
          </p>
          {!frames && <p className="dim">symbolising…</p>}
          {frames && frames.length === 0 && <p className="dim">the host cannot symbolise this stack</p>}
          {frames && frames.length > 0 && (
            <ol className="stack" data-testid="coroutine-detail-stack">
              {frames.map((f, i) => (
                <li key={i} title={`0x${f.pc.toString(16)} ${f.object}`}>
                  {frameText(f)}
                </li>
              ))}
            </ol>
          )}
        </>
      )}
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
