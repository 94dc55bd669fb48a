/**
 * Perfetto protobuf export (.pftrace): the timeline of timeline.ts written
 * as TrackDescriptor and TrackEvent packets, streaming, no dependency.
 *
 * Messages and field numbers used, as defined in the Perfetto repository
 * (github.com/google/perfetto, protos/perfetto/..., reference at
 * https://perfetto.dev/docs/reference/trace-packet-proto; how to write them
 * by hand: https://perfetto.dev/docs/reference/synthetic-track-event):
 *
 *   Trace                       (trace/trace.proto)
 *     1  packet: TracePacket, repeated
 *   TracePacket                 (trace/trace_packet.proto)
 *     8  timestamp (uint64, ns)
 *     10 trusted_packet_sequence_id (uint32)
 *     11 track_event: TrackEvent
 *     12 interned_data: InternedData
 *     13 sequence_flags (uint32): 1 SEQ_INCREMENTAL_STATE_CLEARED, 2 SEQ_NEEDS_INCREMENTAL_STATE
 *     60 track_descriptor: TrackDescriptor
 *   TrackDescriptor             (trace/track_event/track_descriptor.proto)
 *     1 uuid, 5 parent_uuid (uint64), 2 name (string),
 *     3 process: ProcessDescriptor, 4 thread: ThreadDescriptor, 8 counter: CounterDescriptor
 *   ProcessDescriptor           (trace/track_event/process_descriptor.proto)
 *     1 pid (int32), 6 process_name (string)
 *   ThreadDescriptor            (trace/track_event/thread_descriptor.proto)
 *     1 pid (int32), 2 tid (int32), 5 thread_name (string)
 *   CounterDescriptor           (trace/track_event/counter_descriptor.proto)
 *     3 unit: 2 UNIT_COUNT
 *   TrackEvent                  (trace/track_event/track_event.proto)
 *     9 type: 1 TYPE_SLICE_BEGIN, 2 TYPE_SLICE_END, 3 TYPE_INSTANT, 4 TYPE_COUNTER
 *     11 track_uuid (uint64), 10 name_iid (uint64, interned EventName), 23 name (string)
 *     4 debug_annotations: DebugAnnotation, repeated
 *     30 counter_value (int64)
 *     47 flow_ids (fixed64, repeated), 48 terminating_flow_ids (fixed64, repeated)
 *   DebugAnnotation             (trace/track_event/debug_annotation.proto)
 *     1 name_iid (uint64, interned DebugAnnotationName), 4 int_value (int64),
 *     5 double_value (double), 6 string_value (string)
 *   InternedData                (trace/interned_data/interned_data.proto)
 *     2 event_names: EventName, 3 debug_annotation_names: DebugAnnotationName
 *   EventName                   (trace/track_event/track_event.proto)
 *   DebugAnnotationName         (trace/track_event/debug_annotation.proto)
 *     1 iid (uint64), 2 name (string)
 *
 * Clock: TracePacket.timestamp holds the engine's CLOCK_MONOTONIC ns as they
 * are, with no timestamp_clock_id, i.e. on Perfetto's default trace clock
 * (BUILTIN_CLOCK_BOOTTIME). Every packet uses that one clock, so no clock
 * conversion happens: durations and order are exact, and absolute times read
 * as "since boot" (they differ from true boot time by the time suspended).
 *
 * Layout: one packet sequence (id 1). The first packet (the process track)
 * carries SEQ_INCREMENTAL_STATE_CLEARED, every later one
 * SEQ_NEEDS_INCREMENTAL_STATE. Event names and annotation names are interned
 * in the packet that first uses them, up to MAX_INTERNED each; names past
 * that (e.g. thousands of distinct coroutine names on worker tracks) are
 * written inline, so the tables stay bounded. Track uuids are the timeline's
 * track ids. Thread tracks and the "Coroutines" group are children of the
 * process track, coroutine tracks children of the group, counter tracks
 * (UNIT_COUNT) children of the process.
 *
 * Invariants: packets are written in the order the timeline produces them,
 * so on every track events are in timestamp order and begin/end nest (the
 * timeline's sink contract); each flow id is written once in flow_ids and
 * once in terminating_flow_ids. Memory: the intern tables and one batch of
 * output.
 */
import { TimelineBuilder, type Args, type TimelineSink, type TimelineStats, type Track } from '../model/timeline.js';
import { ProtoWriter } from './proto.js';
import { StreamWriter, eachBatch, type Batches, type ExportOptions, type ByteSink } from './output.js';

export const MAX_INTERNED = 4096;
const SEQUENCE_ID = 1;
const SEQ_INCREMENTAL_STATE_CLEARED = 1;
const SEQ_NEEDS_INCREMENTAL_STATE = 2;
const TYPE_SLICE_BEGIN = 1;
const TYPE_SLICE_END = 2;
const TYPE_INSTANT = 3;
const TYPE_COUNTER = 4;
const UNIT_COUNT = 2;

export interface PerfettoSummary {
  events: number;
  bytes: number;
  packets: number;
  tracks: number;
  slices: number;
  instants: number;
  counters: number;
  flows: number;
  internedNames: number;
  internedAnnotationNames: number;
  timeline: TimelineStats;
}

/** Writes the Perfetto trace of `batches` to `out` (not ended: the caller owns the stream). */
export async function exportPerfetto(batches: Batches, out: ByteSink, opts: ExportOptions = {}): Promise<PerfettoSummary> {
  const writer = new StreamWriter(out);
  const sink = new PerfettoSink(writer);
  const timeline = new TimelineBuilder(sink, { pid: opts.pid });
  const events = await eachBatch(batches, (b) => timeline.push(b.raw, b.strings), writer, opts);
  timeline.finish();
  sink.flush();
  await writer.drain();
  return { ...sink.counts, events, bytes: writer.bytes, internedNames: sink.internedNames(),
    internedAnnotationNames: sink.internedAnnotationNames(), timeline: { ...timeline.getStats() } };
}

class Interner {
  private readonly ids = new Map<string, number>();
  /** iid of s: > 0 already defined, < 0 new (define -iid in this packet), 0 when the table is full. */
  get(s: string): number {
    const id = this.ids.get(s);
    if (id !== undefined) return id;
    if (this.ids.size >= MAX_INTERNED) return 0;
    this.ids.set(s, this.ids.size + 1);
    return -this.ids.size;
  }
  get size(): number {
    return this.ids.size;
  }
}

/** A TimelineSink writing one TracePacket per call. */
class PerfettoSink implements TimelineSink {
  readonly counts = { packets: 0, tracks: 0, slices: 0, instants: 0, counters: 0, flows: 0 };
  private readonly w = new ProtoWriter(1 << 20);
  private readonly names = new Interner();
  private readonly annNames = new Interner();
  private newName: [number, string] | null = null;
  private newAnnNames: Array<[number, string]> = [];
  /** The annotation name iids of the event being written (reused: no array per event). */
  private readonly annIids: number[] = [];

  constructor(private readonly out: StreamWriter) {}

  track(t: Track): void {
    const w = this.w;
    const p = this.packetStart();
    const d = w.begin(60);
    w.uint(1, t.id);
    if (t.parent) w.uint(5, t.parent);
    if (t.kind === 'process') {
      const m = w.begin(3);
      w.int(1, t.pid);
      w.string(6, t.name);
      w.end(m);
    } else if (t.kind === 'thread') {
      const m = w.begin(4);
      w.int(1, t.pid);
      w.int(2, t.tid!);
      w.string(5, t.name);
      w.end(m);
    } else {
      w.string(2, t.name);
      if (t.kind === 'counter') {
        const m = w.begin(8);
        w.uint(3, UNIT_COUNT);
        w.end(m);
      }
    }
    w.end(d);
    this.packetEnd(p);
    this.counts.tracks++;
  }

  begin(track: number, ts: number, name: string, args: Args | null, flowsIn: readonly number[] | null): void {
    this.event(TYPE_SLICE_BEGIN, track, ts, name, args, 0, flowsIn);
    this.counts.slices++;
  }

  end(track: number, ts: number): void {
    this.event(TYPE_SLICE_END, track, ts, null, null, 0, null);
  }

  instant(track: number, ts: number, name: string, args: Args | null, flowOut: number,
    flowsIn: readonly number[] | null): void {
    this.event(TYPE_INSTANT, track, ts, name, args, flowOut, flowsIn);
    this.counts.instants++;
    if (flowOut) this.counts.flows++;
  }

  counter(track: number, ts: number, value: number): void {
    const w = this.w;
    const p = this.packetStart(ts);
    const e = w.begin(11);
    w.uint(9, TYPE_COUNTER);
    w.uint(11, track);
    w.int(30, value);
    w.end(e);
    this.packetEnd(p);
    this.counts.counters++;
  }

  close(): void {
    // Nothing is kept per track.
  }

  /** Hands what is buffered to the stream writer. */
  flush(): void {
    if (this.w.length) this.out.put(this.w.take());
  }

  internedNames(): number {
    return this.names.size;
  }
  internedAnnotationNames(): number {
    return this.annNames.size;
  }

  private event(type: number, track: number, ts: number, name: string | null, args: Args | null, flowOut: number,
    flowsIn: readonly number[] | null): void {
    const w = this.w;
    const nameIid = name === null ? 0 : this.internName(name);
    if (args) this.internAnnotations(args);
    const p = this.packetStart(ts);
    this.writeInterned();
    const e = w.begin(11);
    w.uint(9, type);
    w.uint(11, track);
    if (nameIid) w.uint(10, nameIid);
    else if (name !== null) w.string(23, name);
    if (args) this.writeAnnotations(args, this.annIids);
    if (flowOut) w.fixed64(47, flowOut);
    if (flowsIn) for (const id of flowsIn) w.fixed64(48, id);
    w.end(e);
    this.packetEnd(p);
  }

  private internName(name: string): number {
    const iid = this.names.get(name);
    if (iid >= 0) return iid;
    this.newName = [-iid, name];
    return -iid;
  }

  private internAnnotations(args: Args): void {
    const iids = this.annIids;
    iids.length = 0;
    for (const key in args) {
      let iid = this.annNames.get(key);
      if (iid < 0) {
        iid = -iid;
        this.newAnnNames.push([iid, key]);
      }
      iids.push(iid);
    }
  }

  private writeAnnotations(args: Args, iids: readonly number[]): void {
    const w = this.w;
    let k = 0;
    for (const key in args) {
      const v = args[key];
      const a = w.begin(4);
      if (iids[k]) w.uint(1, iids[k]);
      else w.string(10, key);
      k++;
      if (typeof v === 'string') w.string(6, v);
      else if (Number.isInteger(v)) w.int(4, v);
      else w.double(5, v);
      w.end(a);
    }
  }

  /** InternedData for the names first used by this packet. */
  private writeInterned(): void {
    if (!this.newName && !this.newAnnNames.length) return;
    const w = this.w;
    const m = w.begin(12);
    if (this.newName) entry(w, 2, this.newName[0], this.newName[1]);
    for (const [iid, name] of this.newAnnNames) entry(w, 3, iid, name);
    w.end(m);
    this.newName = null;
    this.newAnnNames = [];
  }

  private packetStart(ts?: number): number {
    const w = this.w;
    const p = w.begin(1);
    if (ts !== undefined) w.uint(8, ts);
    w.uint(10, SEQUENCE_ID);
    w.uint(13, this.counts.packets ? SEQ_NEEDS_INCREMENTAL_STATE : SEQ_INCREMENTAL_STATE_CLEARED);
    return p;
  }

  private packetEnd(p: number): void {
    this.w.end(p);
    this.counts.packets++;
    if (this.w.length >= 1 << 20) this.flush();
  }
}

/** An EventName / DebugAnnotationName entry: iid = 1, name = 2. */
function entry(w: ProtoWriter, field: number, iid: number, name: string): void {
  const m = w.begin(field);
  w.uint(1, iid);
  w.string(2, name);
  w.end(m);
}
