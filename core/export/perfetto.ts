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
 *     8  timestamp (uint64), 58 timestamp_clock_id (uint32)
 *     6  clock_snapshot: ClockSnapshot
 *     59 trace_packet_defaults: TracePacketDefaults
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
 *     1 name_iid (uint64, interned DebugAnnotationName), 10 name (string),
 *     4 int_value (int64), 5 double_value (double), 6 string_value (string),
 *     17 string_value_iid (uint64, interned debug_annotation_string_values)
 *   InternedData                (trace/interned_data/interned_data.proto)
 *     2 event_names: EventName, 3 debug_annotation_names: DebugAnnotationName,
 *     29 debug_annotation_string_values: InternedString
 *   EventName                   (trace/track_event/track_event.proto)
 *   DebugAnnotationName         (trace/track_event/debug_annotation.proto)
 *   InternedString              (trace/profiling/profile_common.proto)
 *     1 iid (uint64), 2 name / str
 *   ClockSnapshot               (trace/clock_snapshot.proto)
 *     1 clocks: Clock { 1 clock_id, 2 timestamp, 3 is_incremental }, repeated
 *   TracePacketDefaults         (trace/trace_packet_defaults.proto)
 *     58 timestamp_clock_id
 *
 * Clock: times are the engine's CLOCK_MONOTONIC ns, written on Perfetto's
 * default trace clock (BUILTIN_CLOCK_BOOTTIME, 6) so that no conversion
 * happens: durations and order are exact, and absolute times read as "since
 * boot" (they differ from true boot time by the time suspended). As
 * Perfetto's own SDK does, packets carry them as deltas on a sequence-scoped
 * incremental clock (id 64, ns): the first packet sets it as the sequence's
 * default clock (TracePacketDefaults), a ClockSnapshot before the first
 * timestamped packet says it reads the first timestamp when BOOTTIME does,
 * and each packet's timestamp is then the ns since the previous packet's
 * (2-3 bytes instead of 7). Only each track is in time order, not the
 * sequence: a packet older than the incremental clock is written with its
 * absolute time and timestamp_clock_id 6, which leaves the clock unchanged.
 *
 * Layout: one packet sequence (id 1). The first packet carries
 * SEQ_INCREMENTAL_STATE_CLEARED and the defaults, every later one
 * SEQ_NEEDS_INCREMENTAL_STATE. Event names, annotation names and string
 * annotation values are interned in the packet that first uses them (its
 * InternedData follows its TrackEvent: readers apply a packet's interned
 * data before its payload), up to MAX_INTERNED each; strings past that (e.g.
 * thousands of distinct coroutine names on worker tracks) are written
 * inline, so the tables stay bounded, and so are the values of an argument
 * that keeps changing (an address). Track uuids are the timeline's
 * track ids. Thread tracks and the "Coroutines" group are children of the
 * process track, coroutine tracks children of the group, counter tracks
 * (UNIT_COUNT) children of the process.
 *
 * Invariants: packets are written in the order the timeline produces them,
 * so on every track events are in timestamp order and begin/end nest (the
 * timeline's sink contract); each flow id is written once in flow_ids and
 * once in terminating_flow_ids. Memory: the intern tables, their caches and
 * one chunk of output (no per-event allocation in the sink).
 */
import {
  TimelineBuilder,
  type ArgList,
  type Args,
  type TimelineSink,
  type TimelineStats,
  type Track,
} from '../model/timeline.js';
import { ProtoWriter, putVarint } from './proto.js';
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
/** BUILTIN_CLOCK_BOOTTIME, Perfetto's default trace clock. */
const CLOCK_BOOTTIME = 6;
/** A sequence-scoped clock (ids 64..127), incremental, in ns. */
const CLOCK_INCREMENTAL = 64;
/** One-byte keys (field << 3 | wire type) of the hot-path writers. */
const TAG_PACKET = (1 << 3) | 2;
const TAG_TIMESTAMP = 8 << 3;
/** timestamp_clock_id (58, varint): a two-byte key. */
const TAG_CLOCK_ID_0 = ((58 << 3) & 0x7f) | 0x80;
const TAG_CLOCK_ID_1 = (58 << 3) >> 7;
const TAG_SEQUENCE_ID = 10 << 3;
const TAG_SEQUENCE_FLAGS = 13 << 3;
const TAG_TRACK_EVENT = (11 << 3) | 2;
const TAG_TYPE = 9 << 3;
const TAG_TRACK_UUID = 11 << 3;
const TAG_ANN_NAME_IID = 1 << 3;
const TAG_ANN_INT = 4 << 3;
/** InternedData fields. */
const IN_EVENT_NAMES = 2;
const IN_ANNOTATION_NAMES = 3;
const IN_ANNOTATION_STRINGS = 29;
const MAX_VALUE_MISSES = 64;
const CACHE_SLOTS = 4096;
/** Output is handed on in chunks of about CHUNK bytes; the buffer has room for a packet past that, so it
 * does not grow (and copy itself) just before each hand-off. */
const CHUNK = 1 << 20;
const CHUNK_SLACK = 1 << 16;

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
export async function exportPerfetto(
  batches: Batches,
  out: ByteSink,
  opts: ExportOptions = {},
): Promise<PerfettoSummary> {
  const writer = new StreamWriter(out);
  const sink = new PerfettoSink(writer);
  const timeline = new TimelineBuilder(sink, { pid: opts.pid });
  const events = await eachBatch(batches, (b) => timeline.push(b.raw, b.strings), writer, opts);
  timeline.finish();
  sink.flush();
  await writer.drain();
  return {
    ...sink.counts,
    events,
    bytes: writer.bytes,
    internedNames: sink.internedNames(),
    internedAnnotationNames: sink.internedAnnotationNames(),
    timeline: { ...timeline.getStats() },
  };
}

/** Interned strings of one kind (event names, annotation names, annotation string values). */
class Interner {
  private readonly ids = new Map<string, number>();
  /** Entries defined since the last take, to write in the current packet's InternedData. */
  fresh: string[] = [];
  constructor(readonly field: number) {}
  /** A direct-mapped cache in front of `ids` (slot: a cheap hash of the string), negative answers included. */
  private readonly recent: string[] = new Array<string>(CACHE_SLOTS).fill('');
  private readonly recentIids = new Int32Array(CACHE_SLOTS);

  /** iid of s (defining it when new), 0 when the table is full. */
  iid(s: string): number {
    const n = s.length;
    // Length, first char and the last three (coroutine labels "name #id" differ in their last digits).
    const slot = n
      ? (n * 31 +
          s.charCodeAt(0) * 7 +
          s.charCodeAt(n - 1) +
          s.charCodeAt(n > 1 ? n - 2 : 0) * 10 +
          s.charCodeAt(n > 2 ? n - 3 : 0) * 100) &
        (CACHE_SLOTS - 1)
      : 0;
    if (this.recent[slot] === s) return this.recentIids[slot];
    let id = this.ids.get(s);
    if (id === undefined) {
      if (this.ids.size >= MAX_INTERNED) id = 0;
      else {
        this.ids.set(s, this.ids.size + 1);
        this.fresh.push(s);
        id = this.ids.size;
      }
    }
    this.recent[slot] = s;
    this.recentIids[slot] = id;
    return id;
  }
  get size(): number {
    return this.ids.size;
  }
}

/** A TimelineSink writing one TracePacket per call. */
class PerfettoSink implements TimelineSink {
  readonly counts = { packets: 0, tracks: 0, slices: 0, instants: 0, counters: 0, flows: 0 };
  private readonly w = new ProtoWriter(CHUNK + CHUNK_SLACK);
  private readonly names = new Interner(IN_EVENT_NAMES);
  private readonly annNames = new Interner(IN_ANNOTATION_NAMES);
  private readonly annValues = new Interner(IN_ANNOTATION_STRINGS);
  private fresh = false;
  /** Annotation caches by event name iid (names past MAX_INTERNED share `noName`). */
  private readonly shapes: Shape[] = [];
  private readonly noName = newShape();
  private lastName = '';
  private lastNameIid = 0;
  /** The incremental clock's value (the last timestamp written on it); -1 before the clock snapshot. */
  private clock = -1;
  private readonly spare: ArgList = { n: 0, keys: [], values: [] };

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
    this.beginList(track, ts, name, args && this.listOf(args), flowsIn);
  }

  /** What the builder calls (no arguments object per event). */
  beginList(track: number, ts: number, name: string, args: ArgList | null, flowsIn: readonly number[] | null): void {
    this.event(TYPE_SLICE_BEGIN, track, ts, name, args, 0, flowsIn);
    this.counts.slices++;
  }

  /**
   * The most frequent packet (about one per raw event): no name, arguments or flows. Written byte by
   * byte (the same bytes packetStart and the writer's methods would give): a packet of at most 42 bytes,
   * so both lengths take one byte.
   */
  end(track: number, ts: number): void {
    const w = this.w;
    if (this.clock < 0) {
      const p = this.packetStart(ts);
      w.room(16);
      const e = w.tag1(11);
      w.key1(9, TYPE_SLICE_END);
      w.key1(11, track);
      w.end(e);
      this.packetEnd(p);
      return;
    }
    w.room(48);
    const b = w.buf;
    let p = w.pos;
    b[p++] = TAG_PACKET;
    const m = p++;
    p = this.timestamp(b, p, ts);
    b[p++] = TAG_SEQUENCE_ID;
    b[p++] = SEQUENCE_ID;
    b[p++] = TAG_SEQUENCE_FLAGS;
    b[p++] = SEQ_NEEDS_INCREMENTAL_STATE;
    b[p++] = TAG_TRACK_EVENT;
    const e = p++;
    b[p++] = TAG_TYPE;
    b[p++] = TYPE_SLICE_END;
    b[p++] = TAG_TRACK_UUID;
    p = putVarint(b, p, track);
    b[e] = p - e - 1;
    b[m] = p - m - 1;
    w.pos = p;
    this.counts.packets++;
    if (p >= CHUNK) this.flush();
  }

  /** A packet's timestamp field(s) at b[p] (up to 14 bytes): see packetStart. */
  private timestamp(b: Uint8Array, p: number, ts: number): number {
    b[p++] = TAG_TIMESTAMP;
    if (ts >= this.clock) {
      p = putVarint(b, p, ts - this.clock);
      this.clock = ts;
      return p;
    }
    p = putVarint(b, p, ts);
    b[p++] = TAG_CLOCK_ID_0;
    b[p++] = TAG_CLOCK_ID_1;
    b[p++] = CLOCK_BOOTTIME;
    return p;
  }

  instant(
    track: number,
    ts: number,
    name: string,
    args: Args | null,
    flowOut: number,
    flowsIn: readonly number[] | null,
  ): void {
    this.instantList(track, ts, name, args && this.listOf(args), flowOut, flowsIn);
  }

  instantList(
    track: number,
    ts: number,
    name: string,
    args: ArgList | null,
    flowOut: number,
    flowsIn: readonly number[] | null,
  ): void {
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

  /**
   * Hands what is buffered to the stream writer; its memory comes back to the ProtoWriter once the sink
   * wrote it (no fresh megabyte, zeroed by the kernel and collected by V8, per chunk).
   */
  flush(): void {
    if (this.w.length) this.out.putOwned(this.w.take(), this.release);
  }
  private readonly release = (chunk: Uint8Array): void => this.w.recycle(chunk);

  internedNames(): number {
    return this.names.size;
  }
  internedAnnotationNames(): number {
    return this.annNames.size;
  }

  /**
   * One pass over the event: names are interned as they are met, and the
   * InternedData defining the new ones follows the TrackEvent in the same
   * packet (field order inside a message carries no meaning; readers apply a
   * packet's interned_data before its payload).
   */
  private event(
    type: number,
    track: number,
    ts: number,
    name: string | null,
    args: ArgList | null,
    flowOut: number,
    flowsIn: readonly number[] | null,
  ): void {
    const w = this.w;
    let p: number;
    let e: number;
    if (this.clock < 0) {
      p = this.packetStart(ts);
      w.room(40);
      e = w.tag1(11);
      w.key1(9, type);
      w.key1(11, track);
    } else {
      // What packetStart and the writer's methods give, byte by byte (as in end()).
      w.room(64);
      const b = w.buf;
      let q = w.pos;
      b[q++] = TAG_PACKET;
      p = q++;
      q = this.timestamp(b, q, ts);
      b[q++] = TAG_SEQUENCE_ID;
      b[q++] = SEQUENCE_ID;
      b[q++] = TAG_SEQUENCE_FLAGS;
      b[q++] = SEQ_NEEDS_INCREMENTAL_STATE;
      b[q++] = TAG_TRACK_EVENT;
      e = q++;
      b[q++] = TAG_TYPE;
      b[q++] = type;
      b[q++] = TAG_TRACK_UUID;
      w.pos = putVarint(b, q, track);
    }
    let shape = this.noName;
    if (name !== null) {
      const iid = this.nameIid(name);
      if (iid) {
        w.key1(10, iid);
        shape = this.shapes[iid] ??= newShape();
      } else w.string(23, name);
    }
    if (args) this.annotations(args, shape);
    if (flowOut) w.fixed64(47, flowOut);
    if (flowsIn) for (let k = 0; k < flowsIn.length; k++) w.fixed64(48, flowsIn[k]);
    w.end(e);
    if (this.fresh) this.writeInterned();
    this.packetEnd(p);
  }

  /**
   * The annotations of one event. The arguments of events of one name mostly
   * have the same keys in the same order, and often the same string values:
   * `shape` remembers the last ones seen at each position with their iids, so
   * the common case is a string identity test instead of a table lookup.
   */
  private annotations(args: ArgList, shape: Shape): void {
    const w = this.w;
    const n = args.n;
    const keys = args.keys;
    const values = args.values;
    // Room for every annotation that takes the fast path below (at most 15 bytes each); the others make
    // their own.
    w.room(16 * n);
    for (let k = 0; k < n; k++) {
      const key = keys[k];
      const v = values[k];
      const a = w.tag1(4);
      let kid: number;
      const known = shape.keys[k] === key ? shape.keyIids[k] : 0;
      if (known > 0 && known < 0x80 && typeof v === 'number' && v >= 0 && Number.isInteger(v)) {
        // The common case, byte by byte: a known key's iid (one byte) and a non-negative integer.
        const b = w.buf;
        let p = w.pos;
        b[p++] = TAG_ANN_NAME_IID;
        b[p++] = known;
        b[p++] = TAG_ANN_INT;
        p = putVarint(b, p, v);
        b[a] = p - a - 1;
        w.pos = p;
        continue;
      }
      w.room(24);
      if (shape.keys[k] === key) kid = shape.keyIids[k];
      else {
        kid = this.intern(this.annNames, key);
        shape.keys[k] = key;
        shape.keyIids[k] = kid;
        shape.values[k] = null;
        shape.hits[k] = 0;
        shape.misses[k] = 0;
      }
      if (kid) w.key1(1, kid);
      else w.string(10, key);
      if (typeof v === 'string') {
        let vid = 0;
        if (shape.values[k] === v) vid = shape.valueIids[k];
        else if (shape.misses[k] < MAX_VALUE_MISSES || shape.misses[k] < shape.hits[k]) {
          vid = this.intern(this.annValues, v);
          shape.values[k] = v;
          shape.valueIids[k] = vid;
          shape.misses[k]++;
        }
        if (vid) {
          w.uint(17, vid);
          shape.hits[k]++;
        } else w.string(6, v);
      } else if (Number.isInteger(v)) {
        if (v >= 0) {
          w.room(11);
          w.key1(4, v);
        } else w.int(4, v);
      } else w.double(5, v);
      w.end(a);
      w.room(16 * (n - k));
    }
  }

  /** An Args object as a list (begin / instant called directly, not by the builder). */
  private listOf(args: Args): ArgList {
    const l = this.spare;
    l.n = 0;
    for (const key in args) {
      l.keys[l.n] = key;
      l.values[l.n++] = args[key];
    }
    return l;
  }

  private nameIid(name: string): number {
    if (name === this.lastName) return this.lastNameIid;
    const iid = this.intern(this.names, name);
    this.lastName = name;
    this.lastNameIid = iid;
    return iid;
  }

  private intern(table: Interner, s: string): number {
    const n = table.fresh.length;
    const iid = table.iid(s);
    if (table.fresh.length !== n) this.fresh = true;
    return iid;
  }

  /** InternedData for the strings first used by this packet (iids are consecutive from size - fresh + 1). */
  private writeInterned(): void {
    const w = this.w;
    const m = w.begin(12);
    for (const table of [this.names, this.annNames, this.annValues]) {
      const first = table.size - table.fresh.length + 1;
      for (let k = 0; k < table.fresh.length; k++) entry(w, table.field, first + k, table.fresh[k]);
      table.fresh = [];
    }
    w.end(m);
    this.fresh = false;
  }

  /**
   * Starts a packet on the sequence. The first one clears the incremental
   * state and sets the sequence's default clock to the incremental clock;
   * the first timestamped one is preceded by the clock snapshot that starts
   * it. A timestamp before the clock's value (tracks interleave; only each
   * track is monotonic) is written absolute on the trace clock instead, which
   * leaves the incremental clock where it was.
   */
  private packetStart(ts?: number): number {
    const w = this.w;
    if (!this.counts.packets) this.firstPacket();
    if (ts !== undefined && this.clock < 0) this.clockSnapshot(ts);
    w.room(32);
    const p = w.tag1(1);
    const b = w.buf;
    let q = w.pos;
    if (ts !== undefined) q = this.timestamp(b, q, ts);
    b[q++] = TAG_SEQUENCE_ID;
    b[q++] = SEQUENCE_ID;
    b[q++] = TAG_SEQUENCE_FLAGS;
    b[q++] = SEQ_NEEDS_INCREMENTAL_STATE;
    w.pos = q;
    return p;
  }

  private packetEnd(p: number): void {
    this.w.end(p);
    this.counts.packets++;
    if (this.w.length >= CHUNK) this.flush();
  }

  /** SEQ_INCREMENTAL_STATE_CLEARED and TracePacketDefaults { timestamp_clock_id: the incremental clock }. */
  private firstPacket(): void {
    const w = this.w;
    const p = w.begin(1);
    w.uint(10, SEQUENCE_ID);
    w.uint(13, SEQ_INCREMENTAL_STATE_CLEARED);
    const d = w.begin(59);
    w.uint(58, CLOCK_INCREMENTAL);
    w.end(d);
    w.end(p);
    this.counts.packets++;
  }

  /** ClockSnapshot: the incremental clock (ns) reads ts when the trace clock reads ts. */
  private clockSnapshot(ts: number): void {
    const w = this.w;
    const p = w.begin(1);
    w.uint(10, SEQUENCE_ID);
    w.uint(13, SEQ_NEEDS_INCREMENTAL_STATE);
    const s = w.begin(6);
    let c = w.begin(1);
    w.uint(1, CLOCK_BOOTTIME);
    w.uint(2, ts);
    w.end(c);
    c = w.begin(1);
    w.uint(1, CLOCK_INCREMENTAL);
    w.uint(2, ts);
    w.uint(3, 1);
    w.end(c);
    w.end(s);
    w.end(p);
    this.counts.packets++;
    this.clock = ts;
  }
}

/** Keys and string values last seen at each argument position of events of one name, with their iids. */
interface Shape {
  keys: string[];
  keyIids: number[];
  values: Array<string | null>;
  valueIids: number[];
  /** Values found in / missing from the cache at each position: a position whose values mostly differ (an
   * address, a coroutine's label) stops being interned after MAX_VALUE_MISSES and is written inline. */
  hits: number[];
  misses: number[];
}

function newShape(): Shape {
  return { keys: [], keyIids: [], values: [], valueIids: [], hits: [], misses: [] };
}

/** An interned entry (EventName, DebugAnnotationName, InternedString): iid = 1, name / str = 2. */
function entry(w: ProtoWriter, field: number, iid: number, name: string): void {
  const m = w.begin(field);
  w.uint(1, iid);
  w.string(2, name);
  w.end(m);
}
