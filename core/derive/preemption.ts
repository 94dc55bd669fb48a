/**
 * PreemptStats: the monitor's preemption signals and what came of them.
 * PREEMPT_SENT are counted per target worker (a1); PREEMPTED counts switches
 * by preemption, at a safe point or after a deferral (a2), with the
 * signal-to-switch latency (a1) in a LogLinearHistogram; PREEMPT_DEFERRED
 * are counted by reason (a0, DeferWhy; reasons above MAX_REASON count as
 * "other", index 0). Per-coroutine preemption counts are in CoroutineTable.
 */
import { deferWhyName } from '../events/schema.js';
import { LogLinearHistogram } from './histogram.js';

const MAX_REASON = 15;

export interface PreemptSummary {
  sent: number;
  /** Signals sent per worker index. */
  sentPerWorker: number[];
  preempted: number;
  atSafePoint: number;
  afterDeferral: number;
  /** Signal-to-switch latency (ns): quantiles within 0.8 %, exact max; NaN when none. */
  latency: { p50: number; p99: number; max: number; mean: number };
  deferred: { why: number; name: string; count: number }[];
}

export class PreemptStats {
  sent = 0;
  preempted = 0;
  atSafePoint = 0;
  private readonly sentPerWorker: number[] = [];
  private readonly deferred = new Float64Array(MAX_REASON + 1);
  readonly latency = new LogLinearHistogram();

  onSent(worker: number): void {
    this.sent++;
    if (worker < 0xffff) this.sentPerWorker[worker] = (this.sentPerWorker[worker] ?? 0) + 1;
  }

  onPreempted(latency: number, safePoint: boolean): void {
    this.preempted++;
    if (safePoint) this.atSafePoint++;
    this.latency.add(latency);
  }

  onDeferred(why: number): void {
    this.deferred[why <= MAX_REASON ? why : 0]++;
  }

  summary(): PreemptSummary {
    const deferred = [];
    for (let why = 0; why <= MAX_REASON; why++) {
      if (this.deferred[why])
        deferred.push({ why, name: why ? deferWhyName(why) : 'other', count: this.deferred[why] });
    }
    const h = this.latency;
    return {
      sent: this.sent,
      sentPerWorker: Array.from(this.sentPerWorker, (n) => n ?? 0),
      preempted: this.preempted,
      atSafePoint: this.atSafePoint,
      afterDeferral: this.preempted - this.atSafePoint,
      latency: { p50: h.quantile(0.5), p99: h.quantile(0.99), max: h.count ? h.max : NaN, mean: h.mean() },
      deferred,
    };
  }

  bytesUsed(): number {
    return this.deferred.byteLength + this.latency.bytesUsed() + this.sentPerWorker.length * 8;
  }
}
