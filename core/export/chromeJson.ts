/**
 * Chrome trace JSON export (the legacy "Trace Event Format" that
 * chrome://tracing, Perfetto's UI and speedscope open):
 * `{"traceEvents":[...],"displayTimeUnit":"ns"}`, written incrementally.
 *
 * Mapping of the timeline (timeline.ts):
 *  - the process track -> `M process_name` of the real pid; thread tracks ->
 *    `M thread_name` (pid, tid);
 *  - the "Coroutines" group -> a pseudo process, pid COROUTINES_PID_BASE + pid
 *    (above Linux's largest pid, 2^22, so it never collides with a real one),
 *    each coroutine a "thread" of it with tid = coroutine id;
 *  - slices -> `B` / `E` on their (pid, tid); instants -> `i` (scope thread);
 *    counters -> `C` named after the counter track, on the real pid;
 *  - a flow -> `s` at its source instant and `f` (binding point "e", the
 *    enclosing slice) at its destination, both with name "wake", cat "flow"
 *    and the flow id.
 * Timestamps are microseconds with the nanoseconds as three exact decimals
 * (formatted from the integer ns, never through a float division).
 *
 * Invariants: B/E balance per (pid, tid) and appear in timestamp order,
 * because the timeline guarantees nesting and order per track and every
 * track maps to its own (pid, tid). Memory: one small record per live track
 * (dropped on close) and one batch of output.
 */
import { TimelineBuilder, type Args, type TimelineSink, type TimelineStats, type Track } from '../model/timeline.js';
import { StreamWriter, eachBatch, type Batches, type ExportOptions, type ByteSink } from './output.js';

export const COROUTINES_PID_BASE = 1 << 22;

export interface ChromeSummary {
  events: number;
  bytes: number;
  /** JSON trace events written. */
  records: number;
  timeline: TimelineStats;
}

/** Writes the Chrome JSON trace of `batches` to `out` (not ended: the caller owns the stream). */
export async function exportChromeJson(
  batches: Batches,
  out: ByteSink,
  opts: ExportOptions = {},
): Promise<ChromeSummary> {
  const writer = new StreamWriter(out);
  writer.put('{"traceEvents":[\n');
  const sink = new ChromeSink(writer);
  const timeline = new TimelineBuilder(sink, { pid: opts.pid });
  const events = await eachBatch(batches, (b) => timeline.push(b.raw, b.strings), writer, opts);
  timeline.finish();
  writer.put('\n],"displayTimeUnit":"ns"}\n');
  await writer.drain();
  return { events, bytes: writer.bytes, records: sink.records, timeline: { ...timeline.getStats() } };
}

/** "1234.567" µs for 1234567 ns, exactly. */
export function micros(ns: number): string {
  const us = Math.floor(ns / 1000);
  const frac = ns - us * 1000;
  return frac ? `${us}.${String(frac).padStart(3, '0')}` : String(us);
}

class ChromeSink implements TimelineSink {
  records = 0;
  /** Per track: `"pid":P,"tid":T` (counters: `"pid":P,"name":"..."`). */
  private readonly where = new Map<number, string>();

  constructor(private readonly out: StreamWriter) {}

  track(t: Track): void {
    switch (t.kind) {
      case 'process':
        this.meta('process_name', `"pid":${t.pid}`, t.name);
        break;
      case 'thread':
        this.meta('thread_name', `"pid":${t.pid},"tid":${t.tid}`, t.name);
        this.where.set(t.id, `"pid":${t.pid},"tid":${t.tid}`);
        break;
      case 'coroutines':
        this.meta('process_name', `"pid":${COROUTINES_PID_BASE + t.pid}`, t.name);
        break;
      case 'coroutine': {
        const key = `"pid":${COROUTINES_PID_BASE + t.pid},"tid":${t.co}`;
        this.meta('thread_name', key, t.name);
        this.where.set(t.id, key);
        break;
      }
      case 'counter':
        this.where.set(t.id, `"pid":${t.pid},"name":${JSON.stringify(t.name)}`);
        break;
    }
  }

  begin(track: number, ts: number, name: string, args: Args | null, flowsIn: readonly number[] | null): void {
    const at = this.at(track, ts);
    this.record(`{"ph":"B",${at},"name":${JSON.stringify(name)}${argsJson(args)}}`);
    if (flowsIn)
      for (const id of flowsIn) this.record(`{"ph":"f","bp":"e",${at},"name":"wake","cat":"flow","id":${id}}`);
  }

  end(track: number, ts: number): void {
    this.record(`{"ph":"E",${this.at(track, ts)}}`);
  }

  instant(
    track: number,
    ts: number,
    name: string,
    args: Args | null,
    flowOut: number,
    flowsIn: readonly number[] | null,
  ): void {
    const at = this.at(track, ts);
    this.record(`{"ph":"i","s":"t",${at},"name":${JSON.stringify(name)}${argsJson(args)}}`);
    if (flowOut) this.record(`{"ph":"s",${at},"name":"wake","cat":"flow","id":${flowOut}}`);
    if (flowsIn)
      for (const id of flowsIn) this.record(`{"ph":"f","bp":"e",${at},"name":"wake","cat":"flow","id":${id}}`);
  }

  counter(track: number, ts: number, value: number): void {
    this.record(`{"ph":"C",${this.at(track, ts)},"args":{"value":${value}}}`);
  }

  close(track: number): void {
    this.where.delete(track);
  }

  private at(track: number, ts: number): string {
    const where = this.where.get(track);
    if (!where) throw new Error(`chrome export: no events expected on track ${track}`);
    return `${where},"ts":${micros(ts)}`;
  }

  private meta(what: string, key: string, name: string): void {
    this.record(`{"ph":"M","name":"${what}",${key},"args":{"name":${JSON.stringify(name)}}}`);
  }

  private record(json: string): void {
    this.out.put(this.records++ ? `,\n${json}` : json);
  }
}

function argsJson(args: Args | null): string {
  return args ? `,"args":${JSON.stringify(args)}` : '';
}
