import type { SessionStatus } from '../../../../preload/api.js';
import { fmtCount } from '../../format.js';
import { useSessionQuery } from '../useSessionQuery.js';
import { stateText } from '../../data/exitText.js';
import { useStream } from '../../stores/connect.js';

/** How far this page is behind the session (events the host has that the page has not applied yet). */
function behindText(session: SessionStatus, applied: number | undefined): string | null {
  const behind = session.events - (applied ?? 0);
  if (behind <= 0) return null;
  const live = session.state === 'running';
  const secs = live && session.rate > 0 ? behind / session.rate : null;
  return `${live ? 'behind live' : 'loading'}: ${fmtCount(behind)} events${secs !== null ? ` (${secs < 10 ? secs.toFixed(1) : Math.round(secs)} s)` : ''}`;
}

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
  const behind =
    data?.lod && data.events < data.total
      ? `analysed ${fmtCount(data.events)} of ${fmtCount(data.total)} events`
      : behindText(session, applied);
  return (
    <>
      {problems.length > 0 && (
        <div className="problems" data-testid="problems">
          {problems.slice(-3).map((p, i) => (
            <div key={i}>{p}</div>
          ))}
        </div>
      )}
      <div className="statusbar" data-testid="status-bar">
        <span>{session.name}</span>
        <span>
          pid <b data-testid="status-pid">{session.pid || '—'}</b>
        </span>
        <span className={`state-${session.state}`} data-testid="status-state" data-state={session.state}>
          {stateText(session)}
        </span>
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
