import type { Insight } from '@core/insights/insights.js';
import { useUi } from '../../stores/ui.js';
import { fmtDur } from '../../format.js';
import { useSessionQuery } from '../useSessionQuery.js';

/** The timeline viewport showing an insight's moment: its span centred with room on both sides. */
export function insightViewport(i: Insight): { t0: number; span: number } {
  const dur = Math.max(i.durationNs ?? 0, 0);
  const span = Math.max(dur * 2, 2e6);
  return { t0: i.ts + dur / 2 - span / 2, span };
}

export function jumpToInsight(i: Insight): void {
  useUi.getState().jumpTo(insightViewport(i), i.co ?? null);
}

/**
 * Insights: the problems InsightFinder (core/insights) found in the active session's
 * events, live while it runs; a click opens the Timeline on the moment with the coroutine selected.
 */
export function InsightsView({ sessionId }: { sessionId: string }) {
  const answer = useSessionQuery(sessionId, 'insights', {}, { throttleMs: 250 });
  const info = useSessionQuery(sessionId, 'info', {}, { throttleMs: 250 });
  const list = answer?.list ?? [];
  const suppressed = answer?.suppressed ?? [];
  const ended = answer?.ended ?? false;
  const base = info && Number.isFinite(info.oldest) ? info.oldest : 0;
  return (
    <div data-testid="insights-view">
      <section className="card">
        <h2>
          Insights{' '}
          <span className="dim" data-testid="insights-count">
            ({list.length}
            {ended ? '' : ' so far'})
          </span>
        </h2>
        {list.length === 0 && ended && (
          <p data-testid="insights-none">
            No problems found: no long runs, descheduled or blocked workers, deadlocks, lost wakeups, EINTR, short
            writes, drops or idle imbalance.
          </p>
        )}
        {list.length === 0 && !ended && (
          <p className="dim" data-testid="insights-pending">
            Nothing found so far (the session is still running).
          </p>
        )}
        {list.length > 0 && (
          <table data-testid="insights-table">
            <thead>
              <tr>
                <th>kind</th>
                <th>coroutine</th>
                <th className="num">worker</th>
                <th className="num">at</th>
                <th>what happened · what to change</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((i, k) => (
                <tr
                  key={k}
                  data-testid={`insight-${i.kind}`}
                  data-co={i.co ?? ''}
                  data-ts={i.ts}
                  data-duration={i.durationNs ?? 0}
                  style={{ cursor: 'pointer' }}
                  onClick={() => jumpToInsight(i)}
                  title="Show this moment in the Timeline"
                >
                  <td>
                    <span className={`insight-kind insight-kind-${i.kind}`}>{i.kind}</span>
                  </td>
                  <td data-testid="insight-co">{i.coName ?? '—'}</td>
                  <td className="num">{i.worker ?? '—'}</td>
                  <td className="num">
                    +{fmtDur(i.ts - base)}
                    {i.durationNs ? ` (${fmtDur(i.durationNs)})` : ''}
                  </td>
                  <td style={{ whiteSpace: 'normal', width: '100%' }}>
                    <div data-testid="insight-title">{i.title}</div>
                    {i.cpuNs !== undefined && i.offCpuNs !== undefined && (
                      <div className="dim" data-testid="insight-cpu">
                        CPU {fmtDur(i.cpuNs)} · off its CPU {fmtDur(i.offCpuNs)}
                      </div>
                    )}
                    <div className="dim" data-testid="insight-advice">
                      → {i.advice}
                    </div>
                  </td>
                  <td>
                    <button
                      data-testid="insight-jump"
                      onClick={(e) => {
                        e.stopPropagation();
                        jumpToInsight(i);
                      }}
                    >
                      Show
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {suppressed.map(([kind, n]) => (
          <p key={kind} className="dim" data-testid={`insights-suppressed-${kind}`}>
            ({n} more {kind} not shown)
          </p>
        ))}
      </section>
    </div>
  );
}
