/**
 * A protocol-buffers wire-format decoder and, on top of it, a reader of
 * Perfetto traces that knows only the documented field numbers listed in
 * perfetto.ts (the exporter's header comment). The tests decode exported
 * files with it; it shares no code with the encoder, so a field-number or
 * framing mistake on either side shows up as a mismatch.
 *
 * Invariants: `fields` walks one message level and throws on truncated or
 * malformed input (wire types 3/4, groups, are refused); varint and fixed
 * values are exact below 2^53. The trace reader resolves interned names and
 * string values per packet sequence, converts timestamps on sequence-scoped
 * clocks (incremental or not, from the sequence's ClockSnapshot and its
 * TracePacketDefaults) to the builtin clock of the snapshot, and throws when
 * a packet uses incremental state that its sequence never cleared, an
 * interning id it never defined, or a sequence clock before its snapshot.
 */

export interface Field {
  no: number;
  wire: number;
  /** varint / fixed64 / fixed32 value: low and high 32 bits. */
  lo: number;
  hi: number;
  /** length-delimited payload. */
  bytes: Uint8Array | null;
}

const TWO32 = 4294967296;
const decoder = new TextDecoder('utf-8', { fatal: true });

export function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): [number, number] => {
    let lo = 0;
    let hi = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= buf.length) throw new Error('truncated varint');
      if (shift >= 70) throw new Error('varint too long');
      const b = buf[pos++];
      const bits = b & 0x7f;
      if (shift < 28) lo |= bits << shift;
      else if (shift === 28) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (shift - 32);
      if (!(b & 0x80)) return [lo >>> 0, hi >>> 0];
    }
  };
  const fixed = (n: number): [number, number] => {
    if (pos + n > buf.length) throw new Error('truncated fixed field');
    const dv = new DataView(buf.buffer, buf.byteOffset + pos, n);
    pos += n;
    return n === 8 ? [dv.getUint32(0, true), dv.getUint32(4, true)] : [dv.getUint32(0, true), 0];
  };
  while (pos < buf.length) {
    const [key] = varint();
    const no = key >>> 3;
    const wire = key & 7;
    if (no === 0) throw new Error('field number 0');
    if (wire === 0) {
      const [lo, hi] = varint();
      yield { no, wire, lo, hi, bytes: null };
    } else if (wire === 1 || wire === 5) {
      const [lo, hi] = fixed(wire === 1 ? 8 : 4);
      yield { no, wire, lo, hi, bytes: null };
    } else if (wire === 2) {
      const [len] = varint();
      if (pos + len > buf.length) throw new Error('truncated length-delimited field');
      yield { no, wire, lo: 0, hi: 0, bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
}

export function uint(f: Field): number {
  return f.hi * TWO32 + f.lo;
}
export function int64(f: Field): number {
  return f.hi >= 0x80000000 ? (f.hi - TWO32) * TWO32 + f.lo : uint(f);
}
export function double(f: Field): number {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setUint32(0, f.lo, true);
  dv.setUint32(4, f.hi, true);
  return dv.getFloat64(0, true);
}
export function text(f: Field): string {
  if (!f.bytes) throw new Error(`field ${f.no} is not length-delimited`);
  return decoder.decode(f.bytes);
}
function sub(f: Field): Uint8Array {
  if (!f.bytes) throw new Error(`field ${f.no} is not a message`);
  return f.bytes;
}

// ---- Perfetto trace -----------------------------------------------------------------------------

export interface PfTrack {
  uuid: number;
  parent: number;
  name: string;
  process: { pid: number; name: string } | null;
  thread: { pid: number; tid: number; name: string } | null;
  counter: { unit: number } | null;
}

export type PfValue = number | string;

export interface PfEvent {
  ts: number;
  clock: number;
  type: number;
  track: number;
  name: string;
  annotations: Record<string, PfValue>;
  flowIds: number[];
  terminatingFlowIds: number[];
  counter: number | null;
}

export interface PfTrace {
  packets: number;
  /** Last descriptor of each uuid (a re-emitted descriptor replaces the earlier one). */
  tracks: Map<number, PfTrack>;
  /** Every descriptor in file order. */
  descriptors: PfTrack[];
  events: PfEvent[];
}

export const PfType = { SLICE_BEGIN: 1, SLICE_END: 2, INSTANT: 3, COUNTER: 4 } as const;

interface Interned {
  names: Map<number, string>;
  annNames: Map<number, string>;
  annStrings: Map<number, string>;
  /** TracePacketDefaults.timestamp_clock_id (0: none). */
  defaultClock: number;
  /** Sequence-scoped clocks (64..127) from ClockSnapshots: their last value and the builtin clock they map to. */
  clocks: Map<number, SeqClock>;
}

interface SeqClock {
  incremental: boolean;
  /** Last value of the clock (incremental: the running sum). */
  value: number;
  /** The builtin clock of the snapshot and its reading when this clock read `base`. */
  builtin: number;
  builtinTs: number;
  base: number;
}

const CLOCK_BOOTTIME = 6;

/** Decodes a whole trace (Trace = repeated TracePacket packet = 1). */
export function readPerfetto(buf: Uint8Array): PfTrace {
  const trace: PfTrace = { packets: 0, tracks: new Map(), descriptors: [], events: [] };
  const sequences = new Map<number, Interned>();
  for (const f of fields(buf)) {
    if (f.no !== 1) throw new Error(`Trace: unexpected field ${f.no}`);
    readPacket(sub(f), trace, sequences);
    trace.packets++;
  }
  return trace;
}

function readPacket(buf: Uint8Array, trace: PfTrace, sequences: Map<number, Interned>): void {
  let ts = 0;
  let hasTs = false;
  let clock = 0;
  let seq = 0;
  let flags = 0;
  let interned: Uint8Array | null = null;
  let event: Uint8Array | null = null;
  let descriptor: Uint8Array | null = null;
  let defaults: Uint8Array | null = null;
  let snapshot: Uint8Array | null = null;
  for (const f of fields(buf)) {
    switch (f.no) {
      case 8:
        ts = uint(f);
        hasTs = true;
        break;
      case 59:
        defaults = sub(f);
        break;
      case 6:
        snapshot = sub(f);
        break;
      case 58:
        clock = uint(f);
        break;
      case 10:
        seq = uint(f);
        break;
      case 13:
        flags = uint(f);
        break;
      case 12:
        interned = sub(f);
        break;
      case 11:
        event = sub(f);
        break;
      case 60:
        descriptor = sub(f);
        break;
    }
  }
  if (flags & 1) {
    sequences.set(seq, {
      names: new Map(),
      annNames: new Map(),
      annStrings: new Map(),
      defaultClock: 0,
      clocks: new Map(),
    });
  }
  const state = sequences.get(seq);
  if (flags & 2 && !state) throw new Error(`sequence ${seq} needs incremental state it never cleared`);
  if (interned) {
    if (!state) throw new Error(`sequence ${seq}: interned data without SEQ_INCREMENTAL_STATE_CLEARED`);
    readInterned(interned, state);
  }
  if (defaults) {
    if (!state) throw new Error(`sequence ${seq}: packet defaults without SEQ_INCREMENTAL_STATE_CLEARED`);
    for (const f of fields(defaults)) if (f.no === 58) state.defaultClock = uint(f);
  }
  if (snapshot) readClockSnapshot(snapshot, seq, state);
  if (!clock) clock = state?.defaultClock || CLOCK_BOOTTIME;
  if (clock >= 64 && clock < 128 && hasTs) [ts, clock] = seqClockTime(ts, clock, seq, state);
  if (descriptor) {
    const t = readDescriptor(descriptor);
    trace.descriptors.push(t);
    trace.tracks.set(t.uuid, t);
  }
  if (event) trace.events.push(readEvent(event, ts, clock, state));
}

/**
 * ClockSnapshot (TracePacket 6): clocks = 1 { clock_id = 1, timestamp = 2, is_incremental = 3,
 * unit_multiplier_ns = 4 }. Sequence-scoped clocks are mapped to the builtin clock read in the same snapshot.
 */
function readClockSnapshot(buf: Uint8Array, seq: number, state: Interned | undefined): void {
  const clocks: Array<{ id: number; ts: number; incremental: boolean; unit: number }> = [];
  for (const f of fields(buf)) {
    if (f.no !== 1) continue;
    const c = { id: 0, ts: 0, incremental: false, unit: 1 };
    for (const g of fields(sub(f))) {
      if (g.no === 1) c.id = uint(g);
      else if (g.no === 2) c.ts = uint(g);
      else if (g.no === 3) c.incremental = uint(g) !== 0;
      else if (g.no === 4) c.unit = uint(g);
    }
    clocks.push(c);
  }
  const builtin = clocks.find((c) => c.id > 0 && c.id < 64);
  for (const c of clocks) {
    if (c.id < 64 || c.id >= 128) continue;
    if (!state) throw new Error(`sequence ${seq}: sequence-scoped clock without SEQ_INCREMENTAL_STATE_CLEARED`);
    if (!builtin) throw new Error(`sequence ${seq}: clock ${c.id} snapshot without a builtin clock`);
    if (c.unit !== 1) throw new Error(`clock ${c.id}: unit_multiplier_ns ${c.unit} not supported`);
    state.clocks.set(c.id, {
      incremental: c.incremental,
      value: c.ts,
      builtin: builtin.id,
      builtinTs: builtin.ts,
      base: c.ts,
    });
  }
}

/** A packet timestamp on sequence clock `id` as [timestamp, clock] on the builtin clock of its snapshot. */
function seqClockTime(ts: number, id: number, seq: number, state: Interned | undefined): [number, number] {
  const c = state?.clocks.get(id);
  if (!c) throw new Error(`sequence ${seq}: timestamp on clock ${id} before its ClockSnapshot`);
  c.value = c.incremental ? c.value + ts : ts;
  return [c.builtinTs + (c.value - c.base), c.builtin];
}

function readInterned(buf: Uint8Array, state: Interned): void {
  for (const f of fields(buf)) {
    const into = f.no === 2 ? state.names : f.no === 3 ? state.annNames : f.no === 29 ? state.annStrings : null;
    if (!into) continue;
    let iid = 0;
    let name = '';
    for (const g of fields(sub(f))) {
      // EventName / DebugAnnotationName / InternedString: iid 1, name / str 2
      if (g.no === 1) iid = uint(g);
      else if (g.no === 2) name = text(g);
    }
    if (!iid) throw new Error('interned entry without iid');
    if (into.has(iid) && into.get(iid) !== name) throw new Error(`iid ${iid} redefined`);
    into.set(iid, name);
  }
}

function readDescriptor(buf: Uint8Array): PfTrack {
  const t: PfTrack = { uuid: 0, parent: 0, name: '', process: null, thread: null, counter: null };
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1:
        t.uuid = uint(f);
        break;
      case 5:
        t.parent = uint(f);
        break;
      case 2:
        t.name = text(f);
        break;
      case 3:
        t.process = readProcess(sub(f));
        break;
      case 4:
        t.thread = readThread(sub(f));
        break;
      case 8:
        t.counter = readCounter(sub(f));
        break;
    }
  }
  return t;
}

function readProcess(buf: Uint8Array): { pid: number; name: string } {
  const p = { pid: 0, name: '' };
  for (const f of fields(buf)) {
    if (f.no === 1) p.pid = int64(f);
    else if (f.no === 6) p.name = text(f);
  }
  return p;
}

function readThread(buf: Uint8Array): { pid: number; tid: number; name: string } {
  const t = { pid: 0, tid: 0, name: '' };
  for (const f of fields(buf)) {
    if (f.no === 1) t.pid = int64(f);
    else if (f.no === 2) t.tid = int64(f);
    else if (f.no === 5) t.name = text(f);
  }
  return t;
}

function readCounter(buf: Uint8Array): { unit: number } {
  const c = { unit: 0 };
  for (const f of fields(buf)) if (f.no === 3) c.unit = uint(f);
  return c;
}

function readEvent(buf: Uint8Array, ts: number, clock: number, state: Interned | undefined): PfEvent {
  const e: PfEvent = {
    ts,
    clock,
    type: 0,
    track: 0,
    name: '',
    annotations: {},
    flowIds: [],
    terminatingFlowIds: [],
    counter: null,
  };
  for (const f of fields(buf)) {
    switch (f.no) {
      case 9:
        e.type = uint(f);
        break;
      case 11:
        e.track = uint(f);
        break;
      case 10:
        e.name = lookup(state?.names, uint(f), 'event name');
        break;
      case 23:
        e.name = text(f);
        break;
      case 4:
        readAnnotation(sub(f), e.annotations, state);
        break;
      case 47:
        e.flowIds.push(uint(f));
        break;
      case 48:
        e.terminatingFlowIds.push(uint(f));
        break;
      case 30:
        e.counter = int64(f);
        break;
    }
  }
  return e;
}

function readAnnotation(buf: Uint8Array, into: Record<string, PfValue>, state: Interned | undefined): void {
  let name = '';
  let value: PfValue = '';
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1:
        name = lookup(state?.annNames, uint(f), 'debug annotation name');
        break;
      case 10:
        name = text(f);
        break;
      case 3:
        value = uint(f);
        break;
      case 4:
        value = int64(f);
        break;
      case 5:
        value = double(f);
        break;
      case 6:
        value = text(f);
        break;
      case 17:
        value = lookup(state?.annStrings, uint(f), 'debug annotation string value');
        break;
    }
  }
  into[name] = value;
}

function lookup(table: Map<number, string> | undefined, iid: number, what: string): string {
  const s = table?.get(iid);
  if (s === undefined) throw new Error(`${what} iid ${iid} was never interned on this sequence`);
  return s;
}
