/**
 * The numbers `coroscope check` compares between runs and against limits, gathered in one
 * streaming pass over a trace (feed batches in order, then read `values()`):
 *   p50(CALL) p99(CALL) max(CALL) mean(CALL)  latency of a hooked call, ns (CallStats: within 0.8 %)
 *   count(CALL) errors(CALL)                  how many calls, how many failed
 *   stall                                     total time workers were blocked in calls the engine
 *                                             could not park (STALL_END records), ns
 *   drops                                     events lost while recording
 *   findings(KIND)                            insights of that kind (set by the caller from InsightFinder)
 * Names are what thresholds and baselines refer to (thresholds.ts).
 */
import type { RawEvents } from '../events/rawEvents.js';
import { Kind } from '../events/schema.js';
import { CallStats } from '../derive/calls.js';
import { addCalls } from '../export/callStats.js';

export type Metrics = Map<string, number>;

/** Durations (ns) rather than counts: how values and limits are written ("2.5ms", not 2500000). */
export function isDuration(metric: string): boolean {
  return /^(p50|p99|max|mean)\(/.test(metric) || metric === 'stall';
}

export class MetricsCollector {
  private readonly calls = new CallStats();
  private stallNs = 0;
  private dropped = 0;

  push(raw: RawEvents): void {
    addCalls(this.calls, raw);
    for (let i = 0; i < raw.length; i++) {
      const k = raw.kind(i);
      if (k === Kind.STALL_END) this.stallNs += raw.a(i, 3);
      else if (k === Kind.DROP) this.dropped += raw.a(i, 0);
    }
  }

  /** Every metric of the trace; findings(KIND) for each kind in `findings` (0 for kinds listed with none). */
  values(findings: Map<string, number> = new Map()): Metrics {
    const m: Metrics = new Map();
    const hooks = [...new Set(this.calls.rows().map((r) => r.hook))];
    for (const hook of hooks) {
      const s = this.calls.summary(hook, 'all');
      m.set(`count(${s.name})`, s.count);
      m.set(`errors(${s.name})`, s.errors);
      m.set(`p50(${s.name})`, Math.round(s.p50));
      m.set(`p99(${s.name})`, Math.round(s.p99));
      m.set(`max(${s.name})`, s.max);
      m.set(`mean(${s.name})`, s.count ? Math.round(s.total / s.count) : 0);
    }
    m.set('stall', this.stallNs);
    m.set('drops', this.dropped);
    for (const [kind, n] of findings) m.set(`findings(${kind})`, n);
    return m;
  }
}
