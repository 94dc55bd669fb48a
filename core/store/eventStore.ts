/**
 * EventStore: every event of a session in compact columns, built for tens of
 * millions of events (≤ 16 bytes per event on a realistic mix, ≥ 10 M
 * events/s appended in plain Node).
 *
 * Layout. Events are numbered 0, 1, 2, … in append order ("store order") and
 * grouped in blocks of at most BLOCK_EVENTS consecutive events. Per event,
 * fixed-width columns in pages of PAGE_EVENTS: the kind byte, the lane byte
 * (lanes.ts: which thread) and the coroutine as a Uint16 index into its
 * block's dictionary. Everything else goes to the block's varint byte stream
 * (pages of ARG_PAGE_BYTES): per event, the ts as a zigzag delta from the
 * previous event of the block (the block's base ts for the first), then the
 * arguments (codec.ts). Block dictionaries (slots of CoIds, Uint32) live in
 * pages of DICT_PAGE entries. Per block: base ts, min / max ts (the time
 * index), first event, count, byte range of its stream, range of its
 * dictionary.
 *
 * Why ts is in the stream rather than a Uint32 column: events come about a
 * microsecond apart, so the delta takes 1-2 bytes instead of 4, and neither a
 * long gap nor an older (late) event has to close a block.
 *
 * Invariants:
 * - A block never straddles a page of any kind; its events are decoded
 *   sequentially from the start of its stream.
 * - Per coroutine slot: the first and last block where it appears; every
 *   block in between that has it lists it in its dictionary (the
 *   dictionaries are the per-coroutine index). Per lane: the blocks where it
 *   appears, in order.
 * - Nothing of a record is lost except tid and worker, which its lane gives
 *   (on the overflow lane, the stream keeps them). Padding (NONE) and
 *   STRING / STRING_MORE records are not events and are not stored.
 */
import { Kind } from '../events/schema.js';
import type { RawEvents } from '../events/rawEvents.js';
import {
  ArgDecoder,
  argVarints,
  encodeArgs,
  encodeEscaped,
  ESCAPE,
  MAX_EVENT_BYTES,
  oneU,
  RECORD_WORDS,
} from './codec.js';
import { CoIds } from './coIds.js';
import { Lanes, OVERFLOW_LANE, type ThreadLane } from './lanes.js';
import { grown } from './typed.js';
import { nextTs, putTsDelta, putVarint } from './varint.js';

const BLOCK_EVENTS = 4096;
const PAGE_EVENTS = 16384;
const ARG_PAGE_BYTES = 1 << 18;
const DICT_PAGE = 16384;
/** Most bytes one event takes in the stream: ts delta, then the arguments. */
const MAX_STREAM_BYTES = 10 + MAX_EVENT_BYTES;
/** An event can start in a stream page at or before this position. */
const ARG_LIMIT = ARG_PAGE_BYTES - MAX_STREAM_BYTES;

/** Whether a record of this kind is an event the store keeps (and numbers): not padding, not a string piece. */
export function isStored(kind: number): boolean {
  return kind !== Kind.NONE && kind !== Kind.STRING && kind !== Kind.STRING_MORE;
}

/** One decoded event. A scan hands the same object to every call of its visitor: copy what you keep. Scans and get() may be nested. */
export interface StoredEvent {
  /** Position in store order. */
  readonly index: number;
  readonly ts: number;
  readonly kind: number;
  /** The thread's lane (EventStore.threads), OVERFLOW_LANE (255) when there were too many threads. */
  readonly lane: number;
  readonly worker: number;
  readonly tid: number;
  readonly co: number;
  /**
   * Arguments as numbers: signed like RawEvents.signed for the fields the
   * schema makes signed (fds of CALL / CALL_ENTER a1 and CO_SUSPEND a2, the
   * result CALL a2, the detail of WAKE / CO_READY a1 when it is an fd),
   * unsigned like RawEvents.a otherwise. Exact within ±2^53; lo / hi are
   * the exact 32-bit halves of the u64.
   */
  readonly a: ArrayLike<number>;
  readonly lo: ArrayLike<number>;
  readonly hi: ArrayLike<number>;
}

/** Return false to stop a scan. */
export type EventVisitor = (ev: StoredEvent) => boolean | void;

/** Selects events of a block during a scan. */
interface Filter {
  t0: number;
  t1: number;
  /** Dictionary index the co column must have, or -1. */
  coLocal: number;
  /** Lane the event must have, or -1. */
  lane: number;
  /** Events before this index are skipped. */
  from: number;
}

/** A decoding cursor: its reader, decoder and the event it decoded last. Each scan has its own. */
class EventView implements StoredEvent {
  readonly d = new ArgDecoder();
  index = 0;
  ts = 0;
  kind = 0;
  lane = 0;
  worker = 0;
  tid = 0;
  co = 0;
  get a(): Float64Array {
    return this.d.a;
  }
  get lo(): Uint32Array {
    return this.d.lo;
  }
  get hi(): Uint32Array {
    return this.d.hi;
  }
  copy(): StoredEvent {
    const { index, ts, kind, lane, worker, tid, co } = this;
    return { index, ts, kind, lane, worker, tid, co, a: [...this.a], lo: [...this.lo], hi: [...this.hi] };
  }
}

export class EventStore {
  /** Coroutine id -> slot, shared with the derived tables. */
  readonly coIds = new CoIds();
  private readonly lanes = new Lanes();
  private n = 0;
  private minTs = Infinity;
  private maxTs = -Infinity;

  // Pages; the current one of each kind is the last. Positions in the current ones.
  private readonly kindPages: Uint8Array[] = [];
  private readonly lanePages: Uint8Array[] = [];
  private readonly coPages: Uint16Array[] = [];
  private readonly argPages: Uint8Array[] = [];
  private readonly dictPages: Uint32Array[] = [];
  private colOff = PAGE_EVENTS;
  private argPos = ARG_PAGE_BYTES;
  private dictPos = DICT_PAGE;
  /** Events the open block can still take (block size and column page). */
  private room = 0;

  // Per block.
  private nBlocks = 0;
  private bFirst = new Float64Array(16);
  private bCount = new Uint16Array(16);
  private bBase = new Float64Array(16);
  private bMin = new Float64Array(16);
  private bMax = new Float64Array(16);
  private bArgPage = new Uint32Array(16);
  private bArgStart = new Uint32Array(16);
  private bArgEnd = new Uint32Array(16);
  private bDictPage = new Uint32Array(16);
  private bDictStart = new Uint32Array(16);
  private bDictLen = new Uint16Array(16);

  // Per coroutine slot: first / last block, index in the last block's dictionary.
  private slotFirst = new Int32Array(16).fill(-1);
  private slotLast = new Int32Array(16).fill(-1);
  private slotLocal = new Uint16Array(16);

  // Per lane: blocks where it appears, and the last of them.
  private readonly laneBlocks: Int32Array[] = [];
  private readonly laneBlockCount = new Int32Array(256);
  private readonly laneLastBlock = new Int32Array(256).fill(-1);

  // The open block (the last one): its pages, the ts of its last event (the
  // next delta's origin), its min and max ts (written to bMin / bMax by seal()).
  private kindPage = new Uint8Array(0);
  private lanePage = new Uint8Array(0);
  private coPage = new Uint16Array(0);
  private stream = new Uint8Array(0);
  private lastTs = 0;
  private openMin = 0;
  private openMax = 0;

  /** get()'s cursor, and where it stopped: block, next event, stream position and ts, to continue from. */
  private readonly getView = new EventView();
  private readonly getCache = { block: -1, next: 0, pos: 0, ts: 0 };

  /** Number of events stored. */
  get count(): number {
    return this.n;
  }

  /** lane -> thread (tid, worker). */
  get threads(): readonly ThreadLane[] {
    return this.lanes.list;
  }

  /** Earliest / latest ts stored (0, 0 when empty). */
  timeRange(): { min: number; max: number } {
    this.seal();
    return this.n === 0 ? { min: 0, max: 0 } : { min: this.minTs, max: this.maxTs };
  }

  /**
   * Appends a batch (its events in their order). Hot path: the record words
   * are read straight from the batch, and the open block's cursors (column
   * offset, stream position, last ts, min / max ts, room) live in locals,
   * written back to the fields only when a block is opened and at the end.
   */
  append(raw: RawEvents): void {
    const n = raw.length;
    if (n === 0) return;
    const u = new Uint32Array(raw.bytes.buffer, raw.bytes.byteOffset, n * RECORD_WORDS);
    const lanes = this.lanes;
    const coIds = this.coIds;
    const laneLastBlock = this.laneLastBlock;
    let b = this.nBlocks - 1;
    let room = this.room;
    let off = this.colOff;
    let pos = this.argPos;
    let lastTs = this.lastTs;
    let min = this.openMin;
    let max = this.openMax;
    let count = this.n;
    let kindPage = this.kindPage;
    let lanePage = this.lanePage;
    let coPage = this.coPage;
    let stream = this.stream;
    let slotLast = this.slotLast;
    let slotLocal = this.slotLocal;
    // The lane of the previous event's thread (most events come from a few threads).
    let prevTid = -1;
    let prevWorker = -1;
    let prevLane = 0;
    for (let o = 0, end = n * RECORD_WORDS; o < end; o += RECORD_WORDS) {
      const w2 = u[o + 2];
      const kind = w2 & 0xffff;
      if (kind === Kind.NONE || kind === Kind.STRING || kind === Kind.STRING_MORE) continue;
      const tsHi = u[o + 1];
      const ts = tsHi === 0 ? u[o] : tsHi * 4294967296 + u[o];
      if (room === 0 || pos > ARG_LIMIT || this.dictPos === DICT_PAGE) {
        this.colOff = off;
        this.argPos = pos;
        this.openMin = min;
        this.openMax = max;
        this.n = count;
        b = this.openBlock(ts);
        room = this.room;
        off = this.colOff;
        pos = this.argPos;
        lastTs = ts;
        min = ts;
        max = ts;
        kindPage = this.kindPage;
        lanePage = this.lanePage;
        coPage = this.coPage;
        stream = this.stream;
      }
      room--;

      const worker = w2 >>> 16;
      const tid = u[o + 3];
      let lane = prevLane;
      if (tid !== prevTid || worker !== prevWorker) {
        lane = lanes.lane(tid, worker);
        prevTid = tid;
        prevWorker = worker;
        prevLane = lane;
      }
      if (laneLastBlock[lane] !== b) this.addLaneBlock(lane, b);
      const coHi = u[o + 5];
      const slot = coIds.slot(coHi === 0 ? u[o + 4] : coHi * 4294967296 + u[o + 4]);
      let local: number;
      if (slot < slotLast.length && slotLast[slot] === b) local = slotLocal[slot];
      else {
        local = this.addToDict(b, slot);
        slotLast = this.slotLast;
        slotLocal = this.slotLocal;
      }
      lanePage[off] = lane;
      coPage[off] = local;

      // ts as the zigzag delta from the previous event of the block (putTsDelta's fast path inlined).
      const d = ts - lastTs;
      if (d >= 0 && d < 64) stream[pos++] = d * 2;
      else pos = putTsDelta(stream, pos, ts, lastTs);
      lastTs = ts;
      if (lane === OVERFLOW_LANE) {
        pos = putVarint(stream, pos, tid, 0);
        pos = putVarint(stream, pos, worker, 0);
      }
      let kindByte = kind;
      if (
        kind < ESCAPE &&
        oneU[kind] === 1 &&
        (u[o + 8] | u[o + 9] | u[o + 10] | u[o + 11] | u[o + 12] | u[o + 13] | u[o + 14] | u[o + 15]) === 0
      ) {
        // [U, ZERO, ZERO, ZERO, ZERO] (CO_RUN, CO_YIELD, …): a0 only.
        const lo = u[o + 6];
        const hi = u[o + 7];
        if (hi === 0 && lo < 0x80) stream[pos++] = lo;
        else pos = putVarint(stream, pos, lo, hi);
      } else {
        let e = kind < ESCAPE ? encodeArgs(stream, pos, kind, u, o, ts) : -1;
        if (e < 0) {
          kindByte = ESCAPE;
          e = encodeEscaped(stream, pos, kind, u, o);
        }
        pos = e;
      }
      kindPage[off++] = kindByte;
      if (ts < min) min = ts;
      if (ts > max) max = ts;
      count++;
    }
    this.room = room;
    this.colOff = off;
    this.argPos = pos;
    this.lastTs = lastTs;
    this.openMin = min;
    this.openMax = max;
    this.n = count;
  }

  /**
   * Writes the open block's count, stream end and min / max ts (kept in
   * fields while appending) to its metadata. Before every read, and when a
   * block is opened.
   */
  private seal(): void {
    const b = this.nBlocks - 1;
    if (b < 0) return;
    this.bCount[b] = this.n - this.bFirst[b];
    this.bArgEnd[b] = this.argPos;
    this.bMin[b] = this.openMin;
    this.bMax[b] = this.openMax;
    if (this.openMin < this.minTs) this.minTs = this.openMin;
    if (this.openMax > this.maxTs) this.maxTs = this.openMax;
  }

  /** Starts a block for an event at ts, with fresh pages where the current ones are full. */
  private openBlock(ts: number): number {
    this.seal();
    if (this.colOff === PAGE_EVENTS) {
      this.colOff = 0;
      this.kindPages.push((this.kindPage = new Uint8Array(PAGE_EVENTS)));
      this.lanePages.push((this.lanePage = new Uint8Array(PAGE_EVENTS)));
      this.coPages.push((this.coPage = new Uint16Array(PAGE_EVENTS)));
    }
    if (this.argPos > ARG_LIMIT) {
      this.argPages.push((this.stream = new Uint8Array(ARG_PAGE_BYTES)));
      this.argPos = 0;
    }
    if (this.dictPos === DICT_PAGE) {
      this.dictPages.push(new Uint32Array(DICT_PAGE));
      this.dictPos = 0;
    }
    const b = this.nBlocks++;
    this.room = Math.min(BLOCK_EVENTS, PAGE_EVENTS - this.colOff);
    this.growBlocks(b + 1);
    this.bFirst[b] = this.n;
    this.bBase[b] = ts;
    this.lastTs = ts;
    this.openMin = ts;
    this.openMax = ts;
    this.bArgPage[b] = this.argPages.length - 1;
    this.bArgStart[b] = this.argPos;
    this.bDictPage[b] = this.dictPages.length - 1;
    this.bDictStart[b] = this.dictPos;
    this.bDictLen[b] = 0;
    return b;
  }

  private growBlocks(n: number): void {
    if (n <= this.bFirst.length) return;
    this.bFirst = grown(this.bFirst, n);
    this.bCount = grown(this.bCount, n);
    this.bBase = grown(this.bBase, n);
    this.bMin = grown(this.bMin, n);
    this.bMax = grown(this.bMax, n);
    this.bArgPage = grown(this.bArgPage, n);
    this.bArgStart = grown(this.bArgStart, n);
    this.bArgEnd = grown(this.bArgEnd, n);
    this.bDictPage = grown(this.bDictPage, n);
    this.bDictStart = grown(this.bDictStart, n);
    this.bDictLen = grown(this.bDictLen, n);
  }

  /** Adds slot to block b's dictionary; returns its index there. */
  private addToDict(b: number, slot: number): number {
    if (slot >= this.slotFirst.length) {
      this.slotFirst = grown(this.slotFirst, slot + 1, -1);
      this.slotLast = grown(this.slotLast, slot + 1, -1);
      this.slotLocal = grown(this.slotLocal, slot + 1);
    }
    const local = this.bDictLen[b]++;
    this.dictPages[this.dictPages.length - 1][this.dictPos++] = slot;
    if (this.slotFirst[slot] < 0) this.slotFirst[slot] = b;
    this.slotLast[slot] = b;
    this.slotLocal[slot] = local;
    return local;
  }

  private addLaneBlock(lane: number, b: number): void {
    const n = this.laneBlockCount[lane]++;
    this.laneBlocks[lane] = grown(this.laneBlocks[lane] ?? new Int32Array(0), n + 1);
    this.laneBlocks[lane][n] = b;
    this.laneLastBlock[lane] = b;
  }

  /**
   * Bytes held by the store: every typed array holding data (with the slack
   * allocated in them), the block and slot metadata, the coroutine id table
   * and the lanes.
   */
  bytesUsed(): number {
    let bytes = 0;
    const pages = [this.kindPages, this.lanePages, this.coPages, this.argPages, this.dictPages];
    for (const list of pages) for (const p of list) bytes += p.byteLength;
    const meta = [
      this.bFirst,
      this.bCount,
      this.bBase,
      this.bMin,
      this.bMax,
      this.bArgPage,
      this.bArgStart,
      this.bArgEnd,
      this.bDictPage,
      this.bDictStart,
      this.bDictLen,
      this.slotFirst,
      this.slotLast,
      this.slotLocal,
      this.laneBlockCount,
      this.laneLastBlock,
    ];
    for (const a of meta) bytes += a.byteLength;
    for (const l of this.laneBlocks) if (l) bytes += l.byteLength;
    return bytes + this.coIds.bytesUsed() + this.lanes.bytesUsed();
  }

  // ---- reading ---------------------------------------------------------------

  /** Event i (0 <= i < count), decoded into a new object. Sequential calls are cheap. */
  get(i: number): StoredEvent {
    if (!(i >= 0 && i < this.n)) throw new RangeError(`event ${i} out of range (count ${this.n})`);
    this.seal();
    const b = this.blockOf(i);
    const first = this.bFirst[b];
    const c = this.getCache;
    const v = this.getView;
    const r = v.d.r;
    if (c.block !== b || c.next > i) {
      c.block = b;
      c.next = first;
      c.pos = this.bArgStart[b];
      c.ts = this.bBase[b];
    }
    r.reset(this.argPages[this.bArgPage[b]], c.pos);
    let ts = c.ts;
    for (let k = c.next; k < i; k++) {
      ts = nextTs(r, ts);
      this.skipRest(k, v);
    }
    ts = nextTs(r, ts);
    this.decodeRest(b, i, ts, v);
    c.next = i + 1;
    c.pos = r.pos;
    c.ts = ts;
    return v.copy();
  }

  /** Events with ts in [t0, t1], in store order, from event `from` on. */
  scan(t0: number, t1: number, fn: EventVisitor, from = 0): void {
    this.seal();
    const f: Filter = { t0, t1, coLocal: -1, lane: -1, from };
    const v = new EventView();
    const start = from > 0 && from < this.n ? this.blockOf(from) : from > 0 ? this.nBlocks : 0;
    for (let b = start; b < this.nBlocks; b++) {
      if (this.bMax[b] < t0 || this.bMin[b] > t1) continue;
      if (!this.scanBlock(b, f, fn, v)) return;
    }
  }

  /** Events of coroutine co with ts in [t0, t1], in store order. */
  scanCo(co: number, t0: number, t1: number, fn: EventVisitor): void {
    this.seal();
    const slot = this.coIds.find(co);
    if (slot < 0 || slot >= this.slotFirst.length || this.slotFirst[slot] < 0) return;
    const f: Filter = { t0, t1, coLocal: -1, lane: -1, from: 0 };
    const v = new EventView();
    for (let b = this.slotFirst[slot]; b <= this.slotLast[slot]; b++) {
      if (this.bMax[b] < t0 || this.bMin[b] > t1) continue;
      f.coLocal = this.dictIndex(b, slot);
      if (f.coLocal >= 0 && !this.scanBlock(b, f, fn, v)) return;
    }
  }

  /** Events of one lane (EventStore.threads index, or OVERFLOW_LANE) with ts in [t0, t1], in store order. */
  scanLane(lane: number, t0: number, t1: number, fn: EventVisitor): void {
    this.seal();
    const blocks = this.laneBlocks[lane];
    const f: Filter = { t0, t1, coLocal: -1, lane, from: 0 };
    const v = new EventView();
    for (let k = 0; k < this.laneBlockCount[lane]; k++) {
      const b = blocks[k];
      if (this.bMax[b] < t0 || this.bMin[b] > t1) continue;
      if (!this.scanBlock(b, f, fn, v)) return;
    }
  }

  /** The block holding event i (binary search on first events). */
  private blockOf(i: number): number {
    let lo = 0;
    let hi = this.nBlocks - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.bFirst[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Index of slot in block b's dictionary, or -1. */
  private dictIndex(b: number, slot: number): number {
    const dict = this.dictPages[this.bDictPage[b]];
    const start = this.bDictStart[b];
    const end = start + this.bDictLen[b];
    for (let k = start; k < end; k++) if (dict[k] === slot) return k - start;
    return -1;
  }

  /** Visits the events of block b that pass f; false if fn asked to stop. */
  private scanBlock(b: number, f: Filter, fn: EventVisitor, v: EventView): boolean {
    const first = this.bFirst[b];
    const page = Math.floor(first / PAGE_EVENTS);
    const off = first - page * PAGE_EVENTS;
    const kindCol = this.kindPages[page];
    const laneCol = this.lanePages[page];
    const coCol = this.coPages[page];
    const r = v.d.r;
    r.reset(this.argPages[this.bArgPage[b]], this.bArgStart[b]);
    const count = this.bCount[b];
    let ts = this.bBase[b];
    for (let j = 0; j < count; j++) {
      const o = off + j;
      ts = nextTs(r, ts);
      const lane = laneCol[o];
      if (
        ts < f.t0 ||
        ts > f.t1 ||
        first + j < f.from ||
        (f.coLocal >= 0 && coCol[o] !== f.coLocal) ||
        (f.lane >= 0 && lane !== f.lane)
      ) {
        r.skip(argVarints(kindCol[o]) + (lane === OVERFLOW_LANE ? 2 : 0));
        continue;
      }
      this.decodeRest(b, first + j, ts, v);
      if (fn(v) === false) return false;
    }
    return true;
  }

  /** Skips what follows event i's ts in the stream. */
  private skipRest(i: number, v: EventView): void {
    const page = Math.floor(i / PAGE_EVENTS);
    const o = i - page * PAGE_EVENTS;
    v.d.r.skip(argVarints(this.kindPages[page][o]) + (this.lanePages[page][o] === OVERFLOW_LANE ? 2 : 0));
  }

  /** Decodes event i of block b, whose ts was just read, into the view. */
  private decodeRest(b: number, i: number, ts: number, v: EventView): void {
    const page = Math.floor(i / PAGE_EVENTS);
    const o = i - page * PAGE_EVENTS;
    const r = v.d.r;
    const lane = this.lanePages[page][o];
    v.index = i;
    v.ts = ts;
    v.lane = lane;
    if (lane === OVERFLOW_LANE) {
      r.next();
      v.tid = r.lo;
      r.next();
      v.worker = r.lo;
    } else {
      const t = this.lanes.list[lane];
      v.tid = t.tid;
      v.worker = t.worker;
    }
    v.co = this.coIds.id(this.dictPages[this.bDictPage[b]][this.bDictStart[b] + this.coPages[page][o]]);
    v.kind = v.d.decode(this.kindPages[page][o], ts);
  }
}
