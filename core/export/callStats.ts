/**
 * The per-hook call statistics of a trace as CSV, computed streaming from
 * the CALL events with the same CallStats the live tables use
 * (core/derive/calls.ts: counts exact, p50/p99 within 0.8 % from its
 * log-linear histogram, calls in and outside coroutines together).
 */
import type { RawEvents } from '../events/rawEvents.js';
import { Kind } from '../events/schema.js';
import { CallStats } from '../derive/calls.js';
import { StreamWriter, eachBatch, type Batches, type ExportOptions, type ByteSink } from './output.js';

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

/** Feeds the CALL events of a batch to stats; every other kind is ignored. */
export function addCalls(stats: CallStats, raw: RawEvents): void {
  for (let i = 0; i < raw.length; i++)
    if (raw.kind(i) === Kind.CALL) stats.add(raw.lo(i, 0), raw.signed(i, 2), raw.lo(i, 3), raw.a(i, 4));
}

/** One row per hook seen, by hook id. */
export function callRows(stats: CallStats): CallStatsRow[] {
  const hooks = [...new Set(stats.rows().map((r) => r.hook))].sort((a, b) => a - b);
  return hooks.map((hook) => {
    const s = stats.summary(hook, 'all');
    return {
      hook: s.name,
      count: s.count,
      errors: s.errors,
      parked: s.parked,
      blocked: s.blocked,
      p50_ns: Math.round(s.p50),
      p99_ns: Math.round(s.p99),
      max_ns: s.max,
      total_ns: s.total,
      bytes: s.bytes,
    };
  });
}

export const CSV_COLUMNS = [
  'hook',
  'count',
  'errors',
  'parked',
  'blocked',
  'p50_ns',
  'p99_ns',
  'max_ns',
  'total_ns',
  'bytes',
] as const;

export interface CallStatsSummary {
  events: number;
  bytes: number;
  rows: CallStatsRow[];
}

/** Writes the per-hook statistics of `batches` as CSV to `out` (not ended: the caller owns the stream). */
export async function exportCallStatsCsv(
  batches: Batches,
  out: ByteSink,
  opts: ExportOptions = {},
): Promise<CallStatsSummary> {
  const writer = new StreamWriter(out);
  const stats = new CallStats();
  const events = await eachBatch(batches, (b) => addCalls(stats, b.raw), writer, opts);
  const rows = callRows(stats);
  writer.put(`${CSV_COLUMNS.join(',')}\n`);
  for (const row of rows) writer.put(`${CSV_COLUMNS.map((c) => row[c]).join(',')}\n`);
  await writer.drain();
  return { events, bytes: writer.bytes, rows };
}
