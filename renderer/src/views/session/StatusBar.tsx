import type { SessionStatus } from '../../../../preload/api.js';
import { fmtCount } from '../../format.js';
import { useSessionQuery } from '../useSessionQuery.js';
import { stateText } from '../../data/exitText.js';
import { useStream } from '../../stores/connect.js';

/**
 * How far this page is behind the session (events the host has that the page has not applied
 * yet, and the seconds that is at the session's rate); null when it is not.
 */
function behindOf(session: SessionStatus, applied: number | undefined): { events: number; secs: number | null } | null {
  const behind = session.events - (applied ?? 0);
  if (behind <= 0) return null;
  const live = session.state === 'running';
  return { events: behind, secs: live && session.rate > 0 ? behind / session.rate : null };
}

function behindText(session: SessionStatus, b: { events: number; secs: number | null }): string {
  const live = session.state === 'running';
  const secs = b.secs;
  return `${live ? 'behind live' : 'loading'}: ${fmtCount(b.events)} events${secs !== null ? ` (${secs < 10 ? secs.toFixed(1) : Math.round(secs)} s)` : ''}`;
}

/** A running session this page is more than this far behind (s) is not shown as plainly "running". */
const BEHIND_S = 1;

/** pid, running / exited, events, drops, rate, how far behind the page is; problems and stream messages below. */
export function StatusBar({ session }: { session: SessionStatus | null }) {
  const data = useSessionQuery(session?.id, 'info', {}, { throttleMs: 100 });
  const applied = useStream((s) => (session ? s.applied[session.id] : undefined));
  const messages = useStream((s) => s.messages);
  if (!session)
    return (
      <div className="statusbar" data-testid="status-bar">
        <span className="dim">no session</span>
      </div>
    );
  const problems = [...session.problems, ...(data?.problems ?? []), ...messages];
  // A big trace drawn with level of detail: the whole-trace views fill as it is analysed.
  const lag = behindOf(session, applied);
  const behind =
    data?.mode === 'lod' && data.events < data.total
      ? `analysed ${fmtCount(data.events)} of ${fmtCount(data.total)} events`
      : lag && behindText(session, lag);
  // "running" only while this page keeps up with it: else it says how far behind it is.
  const lagging = session.state === 'running' && lag !== null && lag.secs !== null && lag.secs > BEHIND_S;
  return (
    <>
      {problems.length > 0 && (
        <div className="problems" data-testid="problems">
          {problems.slice(-3).map((p, i) => (
            <div key={i}>{p}</div>
          ))}
        </div>
      )}
      <div
        className="statusbar"
        data-testid="status-bar"
        data-mode={data?.mode ?? ''}
        data-stored-events={data?.stored ?? ''}
        data-timeline-items={data?.timelineItems ?? ''}
        data-overview-nodes={data?.overviewNodes ?? ''}
        data-drawn-to={data?.drawnTo ?? ''}
        data-applied={applied ?? 0}
      >
        <span>{session.name}</span>
        <span>
          pid <b data-testid="status-pid">{session.pid || '—'}</b>
        </span>
        <span
          className={lagging ? 'warn' : `state-${session.state}`}
          data-testid="status-state"
          data-state={session.state}
          data-lagging={lagging ? 'yes' : 'no'}
        >
          {stateText(session)}
          {lagging ? ` — page ${lag!.secs! < 10 ? lag!.secs!.toFixed(1) : Math.round(lag!.secs!)} s behind` : ''}
        </span>
        {data?.mode === 'live' && (
          <span
            className="dim"
            data-testid="status-live-lod"
            title="a long live session: the page keeps the recent events (the tail) and an overview of the rest; zoom into the past to read its detail from the recording"
          >
            overview + recent tail
          </span>
        )}
        <span>
          events <b data-testid="status-events">{fmtCount(Math.max(session.events, data?.events ?? 0))}</b>
        </span>
        <span>
          drops{' '}
          <b data-testid="status-drops" className={session.drops ? 'error' : ''}>
            {fmtCount(session.drops)}
          </b>
        </span>
        <span>
          rate <b data-testid="status-rate">{fmtCount(session.rate)}/s</b>
        </span>
        {behind && (
          <span
            className="warn"
            data-testid="status-behind"
            title="events the host has sent or will send that this page has not applied yet"
          >
            {behind}
          </span>
        )}
        {session.recordPath && session.kind !== 'replay' && (
          <span className="dim" title={session.recordPath} data-testid="status-recording">
            {session.state === 'running' ? 'recording to' : 'recorded to'} {session.recordPath}
          </span>
        )}
        {session.recordingError && <span className="error">recording: {session.recordingError}</span>}
      </div>
    </>
  );
}
