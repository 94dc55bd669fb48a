/**
 * Per-hook call statistics of a trace and their CSV export, computed
 * streaming from the CALL events: count, errors (errno ≠ 0), parked,
 * blocked (could not park), p50 / p99 / max / total duration, and bytes
 * transferred (sum of positive results of the transfer hooks).
 *
 * Percentiles come from LogLinearHistogram: values below 2^SUB_BITS+1 are
 * counted exactly; above, every power of two is split into 2^SUB_BITS equal
 * buckets, so a bucket is at most 2^-SUB_BITS (0.78 %) of its lower bound
 * wide and reporting its midpoint is within 0.4 % of any value in it. The
 * quantile is the nearest-rank one (the value of rank ceil(q·n)), clamped to
 * the exact min and max. Memory: at most 256 + 128·45 counters per hook seen
 * (durations below 2^53 ns).
 * (The app's live statistics live elsewhere; this file is self-contained.)
 */
import type { Writable } from 'node:stream';
import type { RawEvents } from '../events/rawEvents.js';
import { CallFlag, Kind, hookName, summaryKind } from '../events/schema.js';
import { StreamWriter, eachBatch, type Batches, type ExportOptions } from './output.js';

const SUB_BITS = 7;
const SUB = 1 << SUB_BITS; // buckets per power of two
const EXACT = 2 * SUB; // values below are their own bucket

export class LogLinearHistogram {
  private counts = new Float64Array(EXACT);
  count = 0;
  total = 0;
  min = Infinity;
  max = 0;

  record(v: number): void {
    const i = bucketOf(v);
    if (i >= this.counts.length) this.grow(i);
    this.counts[i]++;
    this.count++;
    this.total += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Nearest-rank quantile, q in [0, 1]; 0 when empty. */
  quantile(q: number): number {
    if (!this.count) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, midpoint(i)));
    }
    return this.max;
  }

  private grow(i: number): void {
    const n = new Float64Array(i + 1 + SUB);
    n.set(this.counts);
    this.counts = n;
  }
}

/** floor(log2(v)) for v ≥ 1, exact up to 2^53. */
function log2floor(v: number): number {
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e--;
  else if (2 ** (e + 1) <= v) e++;
  return e;
}

function bucketOf(v: number): number {
  if (v < EXACT) return Math.max(0, Math.floor(v));
  const shift = log2floor(v) - SUB_BITS; // ≥ 1
  const m = Math.floor(v / 2 ** shift); // in [SUB, 2·SUB)
  return EXACT + (shift - 1) * SUB + (m - SUB);
}

/** The value a bucket stands for: itself below EXACT, the middle of its range above. */
function midpoint(i: number): number {
  if (i < EXACT) return i;
  const shift = Math.floor((i - EXACT) / SUB) + 1;
  const m = SUB + ((i - EXACT) % SUB);
  const lo = m * 2 ** shift;
  return lo + (2 ** shift - 1) / 2;
}

export interface CallStatsRow {
  hook: string;
  count: number;
  errors: number;
  parked: number;
  blocked: number;
  p50_ns: number;
  p99_ns: number;
  max_ns: number;
  total_ns: number;
  bytes: number;
}

interface HookStats {
  hist: LogLinearHistogram;
  errors: number;
  parked: number;
  blocked: number;
  bytes: number;
}

export class CallStats {
  private readonly hooks = new Map<number, HookStats>();

  /** Takes the CALL events of a batch; every other kind is ignored. */
  add(raw: RawEvents): void {
    for (let i = 0; i < raw.length; i++) if (raw.kind(i) === Kind.CALL) this.call(raw, i);
  }

  /** One row per hook seen, by hook id. */
  rows(): CallStatsRow[] {
    return [...this.hooks.entries()].sort((a, b) => a[0] - b[0]).map(([hook, s]) => ({
      hook: hookName(hook),
      count: s.hist.count,
      errors: s.errors,
      parked: s.parked,
      blocked: s.blocked,
      p50_ns: Math.round(s.hist.quantile(0.5)),
      p99_ns: Math.round(s.hist.quantile(0.99)),
      max_ns: s.hist.max,
      total_ns: s.hist.total,
      bytes: s.bytes,
    }));
  }

  private call(r: RawEvents, i: number): void {
    const a0 = r.a(i, 0);
    const hook = a0 & 0xffff;
    let s = this.hooks.get(hook);
    if (!s) {
      s = { hist: new LogLinearHistogram(), errors: 0, parked: 0, blocked: 0, bytes: 0 };
      this.hooks.set(hook, s);
    }
    s.hist.record(r.a(i, 4));
    if (r.lo(i, 3)) s.errors++;
    if (a0 & CallFlag.PARKED) s.parked++;
    if (a0 & CallFlag.BLOCKED) s.blocked++;
    const result = r.signed(i, 2);
    if (result > 0 && summaryKind(hook) === 'bytes') s.bytes += result;
  }
}

export const CSV_COLUMNS = ['hook', 'count', 'errors', 'parked', 'blocked', 'p50_ns', 'p99_ns', 'max_ns', 'total_ns',
  'bytes'] as const;

export interface CallStatsSummary {
  events: number;
  bytes: number;
  rows: CallStatsRow[];
}

/** Writes the per-hook statistics of `batches` as CSV to `out` (not ended: the caller owns the stream). */
export async function exportCallStatsCsv(batches: Batches, out: Writable, opts: ExportOptions = {}): Promise<CallStatsSummary> {
  const writer = new StreamWriter(out);
  const stats = new CallStats();
  const events = await eachBatch(batches, (b) => stats.add(b.raw), writer, opts);
  const rows = stats.rows();
  writer.put(`${CSV_COLUMNS.join(',')}\n`);
  for (const row of rows) writer.put(`${CSV_COLUMNS.map((c) => row[c]).join(',')}\n`);
  await writer.drain();
  return { events, bytes: writer.bytes, rows };
}
