import { useUi } from '../../stores/ui.js';
import { fmtCount, fmtDur } from '../../format.js';
import { useSessionQuery } from '../useSessionQuery.js';

/** Preemption: signals and their latency, deferrals with reasons, per-coroutine counts. */
export function PreemptionsView({ sessionId }: { sessionId: string }) {
  const answer = useSessionQuery(sessionId, 'preemptions', { perCoLimit: 200 }, { throttleMs: 250 });
  if (!answer) return null;
  const { summary, perCo, bins } = answer;
  return (
    <div data-testid="preemptions-view">
      <div className="grid2">
        <section className="card">
          <h2>Signals</h2>
          <div className="kv" data-testid="preempt-summary">
            <span className="dim">sent</span>
            <span data-testid="preempt-sent">{fmtCount(summary.sent)}</span>
            <span className="dim">preempted</span>
            <span data-testid="preempt-count">{fmtCount(summary.preempted)}</span>
            <span className="dim">at a safe point</span>
            <span>{fmtCount(summary.atSafePoint)}</span>
            <span className="dim">after a deferral</span>
            <span>{fmtCount(summary.afterDeferral)}</span>
            <span className="dim">per worker</span>
            <span>{summary.sentPerWorker.map((n, w) => `w${w}: ${n}`).join(', ') || '—'}</span>
          </div>
          <h2>Signal-to-switch latency</h2>
          <div className="kv" data-testid="preempt-latency">
            <span className="dim">p50</span>
            <span>{fmtDur(summary.latency.p50)}</span>
            <span className="dim">p99</span>
            <span>{fmtDur(summary.latency.p99)}</span>
            <span className="dim">max</span>
            <span>{fmtDur(summary.latency.max)}</span>
            <span className="dim">mean</span>
            <span>{fmtDur(summary.latency.mean)}</span>
          </div>
          <LatencyHistogram bins={bins} />
        </section>
        <section className="card">
          <h2>Deferred preemptions</h2>
          {summary.deferred.length === 0 && <p className="dim">none</p>}
          <table data-testid="preempt-deferred">
            <tbody>
              {summary.deferred.map((d) => (
                <tr key={d.why}>
                  <td>{d.name}</td>
                  <td className="num">{fmtCount(d.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
      <section className="card">
        <h2>Per coroutine</h2>
        {perCo.length === 0 && <p className="dim">No coroutine was preempted.</p>}
        <table data-testid="preempt-per-co">
          <thead>
            <tr>
              <th>coroutine</th>
              <th className="num">preemptions</th>
              <th className="num">run</th>
              <th className="num">switches</th>
            </tr>
          </thead>
          <tbody>
            {perCo.map((c) => (
              <tr key={c.co} data-testid={`preempt-co-${c.co}`} onClick={() => useUi.getState().select(c.co)}>
                <td>
                  {c.name || 'co'} #{c.co}
                </td>
                <td className="num">{c.preemptions}</td>
                <td className="num">{fmtDur(c.runTime)}</td>
                <td className="num">{c.switches}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}

/** The signal-to-switch latencies per power-of-two range, as horizontal bars. */
function LatencyHistogram({ bins }: { bins: { lo: number; hi: number; count: number }[] }) {
  if (bins.length === 0)
    return (
      <p className="dim" data-testid="preempt-latency-histogram">
        No preemption yet: no latencies.
      </p>
    );
  const max = Math.max(...bins.map((b) => b.count));
  return (
    <table data-testid="preempt-latency-histogram" style={{ marginTop: 6 }}>
      <tbody>
        {bins.map((b) => (
          <tr key={b.lo} data-testid="preempt-latency-bin" data-count={b.count}>
            <td className="dim num">
              {fmtDur(b.lo)} – {fmtDur(b.hi)}
            </td>
            <td style={{ width: '60%' }}>
              <div
                style={{
                  height: 10,
                  background: 'var(--accent)',
                  width: `${(100 * b.count) / max}%`,
                  minWidth: b.count ? 1 : 0,
                }}
              />
            </td>
            <td className="num">{fmtCount(b.count)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
