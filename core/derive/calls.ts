/**
 * CallStats: statistics of completed hooked calls (CALL events) per hook id,
 * kept apart for calls made in a coroutine (CALL a0 bit 16) and outside.
 *
 * Per (hook, in coroutine or not): calls, errors (errno != 0), parked (bit
 * 17), blocked (bit 18: it could not park and the worker blocked), bytes
 * moved by transfers (sum of positive results of the transfer hooks) and a
 * LogLinearHistogram of durations (CALL a4). Columns are indexed by
 * hook * 2 + inCo and grow to the highest hook id seen (unknown ids count
 * like known ones).
 */
import { CallFlag, hookName, HOOK_COUNT, summaryKind } from '../events/schema.js';
import { grown } from '../store/typed.js';
import { LogLinearHistogram } from './histogram.js';

export interface CallSummary {
  hook: number;
  name: string;
  /** true: in coroutines, false: outside, 'all': both. */
  inCo: boolean | 'all';
  count: number;
  errors: number;
  parked: number;
  blocked: number;
  /** Bytes moved (transfer hooks), 0 for the others. */
  bytes: number;
  /** Duration quantiles (ns, within 0.8 %), exact max and mean; NaN without calls. */
  p50: number;
  p99: number;
  max: number;
  mean: number;
  /** Sum of the durations (ns), exact. */
  total: number;
}

export class CallStats {
  private count = new Float64Array(HOOK_COUNT * 2);
  private errors = new Float64Array(HOOK_COUNT * 2);
  private parked = new Float64Array(HOOK_COUNT * 2);
  private blocked = new Float64Array(HOOK_COUNT * 2);
  private bytes = new Float64Array(HOOK_COUNT * 2);
  private transfer = new Uint8Array(HOOK_COUNT);
  private readonly hists: (LogLinearHistogram | undefined)[] = [];

  constructor() {
    this.markTransfers(0);
  }

  /** One CALL: a0 low word (hook | flags << 16), result (signed), errno, duration (ns). */
  add(a0: number, result: number, errno: number, duration: number): void {
    const hook = a0 & 0xffff;
    const k = hook * 2 + (a0 & CallFlag.IN_CO ? 1 : 0);
    if (k >= this.count.length) this.grow(hook);
    this.count[k]++;
    if (errno !== 0) this.errors[k]++;
    if (a0 & CallFlag.PARKED) this.parked[k]++;
    if (a0 & CallFlag.BLOCKED) this.blocked[k]++;
    if (result > 0 && this.transfer[hook]) this.bytes[k] += result;
    (this.hists[k] ??= new LogLinearHistogram()).add(duration);
  }

  /** Statistics of one hook: in coroutines (true), outside (false) or both ('all'). */
  summary(hook: number, inCo: boolean | 'all' = 'all'): CallSummary {
    const keys = inCo === 'all' ? [hook * 2, hook * 2 + 1] : [hook * 2 + (inCo ? 1 : 0)];
    return this.summarize(hook, inCo, keys);
  }

  /** Every (hook, in coroutine or not) pair with at least one call, by hook id. */
  rows(): CallSummary[] {
    const out: CallSummary[] = [];
    for (let k = 0; k < this.count.length; k++) {
      if (this.count[k] > 0) out.push(this.summarize(k >> 1, (k & 1) === 1, [k]));
    }
    return out;
  }

  /** All hooks together. */
  total(inCo: boolean | 'all' = 'all'): CallSummary {
    const keys: number[] = [];
    for (let k = 0; k < this.count.length; k++) if (inCo === 'all' || (k & 1) === (inCo ? 1 : 0)) keys.push(k);
    return { ...this.summarize(0, inCo, keys), name: 'all' };
  }

  private summarize(hook: number, inCo: boolean | 'all', keys: number[]): CallSummary {
    const sum = (col: Float64Array) => keys.reduce((n, k) => n + (col[k] ?? 0), 0);
    const h = new LogLinearHistogram();
    for (const k of keys) if (this.hists[k]) h.merge(this.hists[k]);
    return {
      hook,
      name: hookName(hook),
      inCo,
      count: sum(this.count),
      errors: sum(this.errors),
      parked: sum(this.parked),
      blocked: sum(this.blocked),
      bytes: sum(this.bytes),
      p50: h.quantile(0.5),
      p99: h.quantile(0.99),
      max: h.count ? h.max : NaN,
      mean: h.mean(),
      total: h.sum,
    };
  }

  private grow(hook: number): void {
    const n = (hook + 1) * 2;
    this.count = grown(this.count, n);
    this.errors = grown(this.errors, n);
    this.parked = grown(this.parked, n);
    this.blocked = grown(this.blocked, n);
    this.bytes = grown(this.bytes, n);
    const known = this.transfer.length;
    this.transfer = grown(this.transfer, hook + 1);
    this.markTransfers(known);
  }

  private markTransfers(from: number): void {
    for (let h = from; h < this.transfer.length; h++) this.transfer[h] = summaryKind(h) === 'bytes' ? 1 : 0;
  }

  bytesUsed(): number {
    let b = this.count.byteLength * 5 + this.transfer.byteLength;
    for (const h of this.hists) if (h) b += h.bytesUsed();
    return b;
  }
}
