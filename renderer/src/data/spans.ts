/**
 * Columnar storage for the timeline: spans (and instants, as spans of zero length) in typed
 * arrays, no JavaScript object per span.
 *
 * A SpanList holds the completed slices of one track at one nesting depth, sorted by start and
 * not overlapping (so sorted by end too): what TimelineBuilder guarantees per track and depth.
 * Columns live in chunks of CHUNK entries (the last chunk grows by doubling from a few entries,
 * so a list of three spans costs about a kilobyte, not a full chunk): start and end (Float64),
 * the name (Int32 id into a StringPool shared by the model), the argument shape (Uint16 id into
 * an ArgShapes registry) and an Int32 that is the offset of the argument values in the chunk's
 * Float64 value pool (string values are StringPool ids) — or, for the `{co}` arguments of every
 * worker-lane slice (shape CO_ONLY), the coroutine itself — and the running total of active
 * (not idle, not suspended) time through the span (Float64 prefix sums: a pixel column's busy
 * fraction in O(1)). A span costs 34 bytes plus 8 per argument value beyond a lone `co`.
 *
 * Dropping the oldest spans (dropBefore) advances a head index and frees whole chunks: no
 * copying. Index i of the list is always the i-th retained span.
 *
 * Invariants: t0(i) <= t1(i); t0 and t1 never decrease with i (the builder clamps timestamps per
 * track, and a slice at depth d ends before the next one at depth d begins); the pool and shape
 * ids stored are valid in the model's pool / shapes.
 */
import type { ArgValue, Args } from '@core/model/timeline.js';

export const CHUNK_BITS = 12;
export const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;
/** Capacity of a list's first chunk; it doubles up to CHUNK. */
const FIRST_CAPACITY = 8;

/** Interned strings: names and string argument values, by small integer id. */
export class StringPool {
  private readonly ids = new Map<string, number>();
  private list: string[] = [];
  private bg = new Uint8Array(64);
  /** Bumped when ids are renumbered (compact): caches keyed by id must be dropped. */
  generation = 0;

  /** background(name): whether a span of that name is a background state (idle, suspended), not activity. */
  constructor(private readonly background: (name: string) => boolean = isBackgroundName) {}

  id(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.list.length;
      this.list.push(s);
      this.ids.set(s, id);
      if (id >= this.bg.length) {
        const b = new Uint8Array(this.bg.length * 2);
        b.set(this.bg);
        this.bg = b;
      }
      this.bg[id] = this.background(s) ? 1 : 0;
    }
    return id;
  }

  /** Whether id names a background state. */
  isBackground(id: number): boolean {
    return this.bg[id] === 1;
  }

  get(id: number): string {
    return this.list[id] ?? '';
  }

  get size(): number {
    return this.list.length;
  }

  /** Keeps only the strings whose id `live` marks; returns old id -> new id (-1: dropped). */
  compact(live: Uint8Array): Int32Array {
    const remap = new Int32Array(this.list.length).fill(-1);
    const next: string[] = [];
    const bg = new Uint8Array(this.bg.length);
    this.ids.clear();
    for (let i = 0; i < this.list.length; i++) {
      if (!live[i]) continue;
      remap[i] = next.length;
      bg[next.length] = this.bg[i];
      this.ids.set(this.list[i], next.length);
      next.push(this.list[i]);
    }
    this.bg = bg;
    this.list = next;
    this.generation++;
    return remap;
  }
}

/** The states that are not activity: a worker's idle periods, a coroutine's suspensions. */
export function isBackgroundName(name: string): boolean {
  return name === 'idle' || name.startsWith('suspended');
}

/** The keys of an argument object and which of its values are strings. */
export interface ArgShape {
  readonly keys: readonly string[];
  readonly isString: readonly boolean[];
  /** Index of a numeric `co` key, -1: none. */
  readonly coIndex: number;
}

const shapeOf = (keys: string[], isString: boolean[]): ArgShape => {
  const j = keys.indexOf('co');
  return { keys, isString, coIndex: j >= 0 && !isString[j] ? j : -1 };
};

/** Shape 0: no arguments. Shape 1: exactly `{co}` with a coroutine id, kept in place of the value offset. */
export const NO_ARGS = 0;
export const CO_ONLY = 1;
const MAX_SHAPES = 0xffff;

/** A node of the shape trie: the shape whose keys are the path to it (-1: none), and its children. */
interface ShapeNode {
  id: number;
  num: Map<string, ShapeNode> | null;
  str: Map<string, ShapeNode> | null;
}

const node = (): ShapeNode => ({ id: -1, num: null, str: null });

/**
 * Registry of argument shapes (key sets in order, with value types), shared by a model's lists.
 * Found through a trie keyed by each key in turn (no string built per lookup: the keys of the
 * builder's object literals are interned strings).
 */
export class ArgShapes {
  private readonly root = node();
  readonly shapes: ArgShape[] = [shapeOf([], []), shapeOf(['co'], [false])];
  /** Overflowed: more than MAX_SHAPES distinct shapes; later new shapes are stored without arguments. */
  overflow = 0;
  private coPlain = -1;

  constructor() {
    this.child(this.root, 'co', false).id = CO_ONLY;
  }

  private child(n: ShapeNode, k: string, isString: boolean): ShapeNode {
    const m = isString ? (n.str ??= new Map()) : (n.num ??= new Map());
    let c = m.get(k);
    if (!c) m.set(k, (c = node()));
    return c;
  }

  /** A `{co}` shape whose value is stored like any other (a co that is not a positive Int32). */
  coStored(): number {
    if (this.coPlain < 0) {
      this.coPlain = this.shapes.length;
      this.shapes.push(shapeOf(['co'], [false]));
    }
    return this.coPlain;
  }

  /** The shape id of args (registering it), NO_ARGS for null / empty or on overflow. */
  of(args: Args): number {
    let n = this.root;
    for (const k in args) {
      const isString = typeof args[k] === 'string';
      const m = isString ? n.str : n.num;
      n = (m && m.get(k)) || this.child(n, k, isString);
    }
    if (n === this.root) return NO_ARGS;
    if (n.id < 0) {
      if (this.shapes.length >= MAX_SHAPES) {
        this.overflow++;
        return NO_ARGS;
      }
      const keys: string[] = [];
      const isString: boolean[] = [];
      for (const k in args) {
        keys.push(k);
        isString.push(typeof args[k] === 'string');
      }
      n.id = this.shapes.length;
      this.shapes.push(shapeOf(keys, isString));
    }
    return n.id;
  }
}

/** What a list's spans refer to: the model's strings and argument shapes. */
export interface SpanContext {
  readonly pool: StringPool;
  readonly shapes: ArgShapes;
}

/** A span as an object: for hover, clicks and tests (the draw never makes these). */
export interface Span {
  t0: number;
  t1: number;
  name: string;
  args: Args | null;
}

class Chunk {
  t0: Float64Array;
  t1: Float64Array;
  name: Int32Array;
  shape: Uint16Array;
  argOff: Int32Array;
  /** act[k]: total length of the active (not background) spans 0..k of this chunk. */
  act: Float64Array;
  /** Active length of the list's spans before this chunk (retained or not). */
  actBase = 0;
  vals: Float64Array | null = null;
  nvals = 0;

  constructor(readonly capacity: number) {
    this.t0 = new Float64Array(capacity);
    this.t1 = new Float64Array(capacity);
    this.name = new Int32Array(capacity);
    this.shape = new Uint16Array(capacity);
    this.argOff = new Int32Array(capacity);
    this.act = new Float64Array(capacity);
  }

  /** A copy with a larger capacity (the first n entries kept). */
  grown(capacity: number, n: number): Chunk {
    const c = new Chunk(capacity);
    c.t0.set(this.t0.subarray(0, n));
    c.t1.set(this.t1.subarray(0, n));
    c.name.set(this.name.subarray(0, n));
    c.shape.set(this.shape.subarray(0, n));
    c.argOff.set(this.argOff.subarray(0, n));
    c.act.set(this.act.subarray(0, n));
    c.actBase = this.actBase;
    c.vals = this.vals;
    c.nvals = this.nvals;
    return c;
  }

  /** Room for k more argument values. */
  valsFor(k: number): Float64Array {
    const need = this.nvals + k;
    if (!this.vals || this.vals.length < need) {
      const v = new Float64Array(Math.max(need, this.vals ? this.vals.length * 2 : Math.min(this.capacity * 2, 64)));
      if (this.vals) v.set(this.vals.subarray(0, this.nvals));
      this.vals = v;
    }
    return this.vals;
  }

  bytes(): number {
    return this.capacity * 34 + (this.vals ? this.vals.byteLength : 0);
  }
}

export class SpanList {
  private chunks: Chunk[] = [];
  /** Position of index 0 in the first chunk. */
  private head = 0;
  /** Retained spans. */
  length = 0;
  /** Spans dropped from the front so far. */
  dropped = 0;
  /** Active length of a list emptied by dropping (the base of its next chunk). */
  private actDropped = 0;

  constructor(readonly ctx: SpanContext) {}

  /** Appends a span (t0 >= the last span's t1 is the caller's promise). */
  push(t0: number, t1: number, name: string, args: Args | null): void {
    const p = this.head + this.length;
    const ci = p >>> CHUNK_BITS;
    const k = p & MASK;
    let c = this.chunks[ci];
    if (!c) {
      c = new Chunk(ci === 0 && this.chunks.length === 0 ? FIRST_CAPACITY : CHUNK);
      const prev = this.chunks[ci - 1];
      c.actBase = prev ? prev.actBase + prev.act[CHUNK - 1] : this.actDropped;
      this.chunks[ci] = c;
    } else if (k >= c.capacity) {
      c = c.grown(Math.min(CHUNK, c.capacity * 4), k);
      this.chunks[ci] = c;
    }
    c.t0[k] = t0;
    c.t1[k] = t1;
    const nameId = this.ctx.pool.id(name);
    c.name[k] = nameId;
    c.act[k] = (k > 0 ? c.act[k - 1] : 0) + (this.ctx.pool.isBackground(nameId) ? 0 : t1 - t0);
    let shape = NO_ARGS;
    if (args) {
      shape = this.ctx.shapes.of(args);
      if (shape === CO_ONLY) {
        const co = args.co as number;
        if (Number.isInteger(co) && co > 0 && co <= 0x7fffffff) c.argOff[k] = co;
        else shape = this.ctx.shapes.coStored();
      }
      if (shape !== NO_ARGS && shape !== CO_ONLY) {
        const sh = this.ctx.shapes.shapes[shape];
        const v = c.valsFor(sh.keys.length);
        let o = c.nvals;
        c.argOff[k] = o;
        for (let j = 0; j < sh.keys.length; j++) {
          const x = args[sh.keys[j]];
          v[o++] = sh.isString[j] ? this.ctx.pool.id(x as string) : (x as number);
        }
        c.nvals = o;
      }
    }
    c.shape[k] = shape;
    this.length++;
  }

  // ---- columns -----------------------------------------------------------------------------------

  t0(i: number): number {
    const p = this.head + i;
    return this.chunks[p >>> CHUNK_BITS].t0[p & MASK];
  }

  t1(i: number): number {
    const p = this.head + i;
    return this.chunks[p >>> CHUNK_BITS].t1[p & MASK];
  }

  nameId(i: number): number {
    const p = this.head + i;
    return this.chunks[p >>> CHUNK_BITS].name[p & MASK];
  }

  name(i: number): string {
    return this.ctx.pool.get(this.nameId(i));
  }

  /** The span's coroutine: its numeric `co` argument (0: none). */
  co(i: number): number {
    const p = this.head + i;
    const c = this.chunks[p >>> CHUNK_BITS];
    const k = p & MASK;
    const shape = c.shape[k];
    if (shape === CO_ONLY) return c.argOff[k];
    if (shape === NO_ARGS) return 0;
    const j = this.ctx.shapes.shapes[shape].coIndex;
    return j < 0 ? 0 : c.vals![c.argOff[k] + j];
  }

  /** Whether span i is activity (not a background state: idle, suspended). */
  isActive(i: number): boolean {
    return !this.ctx.pool.isBackground(this.nameId(i));
  }

  /** Total length of the active spans up to and including i (from any fixed origin: use differences). */
  actThrough(i: number): number {
    if (i < 0) return this.chunks.length ? this.actThrough(0) - this.activeLength(0) : this.actDropped;
    const p = this.head + i;
    const c = this.chunks[p >>> CHUNK_BITS];
    return c.actBase + c.act[p & MASK];
  }

  /** Length of span i if it is active, else 0. */
  activeLength(i: number): number {
    return this.isActive(i) ? this.t1(i) - this.t0(i) : 0;
  }

  /** Total length of the active spans among i..j (inclusive). */
  activeBetween(i: number, j: number): number {
    return j < i ? 0 : this.actThrough(j) - this.actThrough(i - 1);
  }

  /** The span's arguments, rebuilt as an object (null: none). */
  args(i: number): Args | null {
    const p = this.head + i;
    const c = this.chunks[p >>> CHUNK_BITS];
    const k = p & MASK;
    const shape = c.shape[k];
    if (shape === NO_ARGS) return null;
    if (shape === CO_ONLY) return { co: c.argOff[k] };
    const sh = this.ctx.shapes.shapes[shape];
    const out: Record<string, ArgValue> = {};
    let o = c.argOff[k];
    for (let j = 0; j < sh.keys.length; j++, o++)
      out[sh.keys[j]] = sh.isString[j] ? this.ctx.pool.get(c.vals![o]) : c.vals![o];
    return out;
  }

  /** Span i as an object. */
  get(i: number): Span {
    return { t0: this.t0(i), t1: this.t1(i), name: this.name(i), args: this.args(i) };
  }

  /** Every retained span as objects (tests, small lists). */
  map<T>(fn: (s: Span, i: number) => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.length; i++) out.push(fn(this.get(i), i));
    return out;
  }

  toArray(): Span[] {
    return this.map((s) => s);
  }

  // ---- search ------------------------------------------------------------------------------------

  /** Index of the first span that ends at or after t (length: none). Binary search on the chunks' last ends, then in the chunk. */
  firstEndingAfter(t: number): number {
    const n = this.length;
    if (n === 0) return 0;
    const endAbs = this.head + n;
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    // The first chunk whose last retained span ends at or after t.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (chunks[mid].t1[CHUNK - 1] < t) lo = mid + 1;
      else hi = mid;
    }
    const a = chunks[lo].t1;
    let k = lo === 0 ? this.head : 0;
    let kEnd = Math.min(CHUNK, endAbs - lo * CHUNK);
    while (k < kEnd) {
      const mid = (k + kEnd) >>> 1;
      if (a[mid] < t) k = mid + 1;
      else kEnd = mid;
    }
    return lo * CHUNK + k - this.head;
  }

  /** firstEndingAfter(t) for a t at or after the end of span `from - 1`: a galloping search from `from`, O(log distance). */
  seek(from: number, t: number): number {
    const n = this.length;
    if (from >= n) return n;
    const endAbs = this.head + n;
    let ci = (this.head + from) >>> CHUNK_BITS;
    let k = (this.head + from) & MASK;
    let a = this.chunks[ci].t1;
    if (a[k] >= t) return from;
    // Skip whole chunks that end before t.
    for (;;) {
      const last = Math.min(CHUNK, endAbs - ci * CHUNK) - 1;
      if (a[last] >= t) {
        // In this chunk, after k: gallop, then bisect.
        let lo = k + 1;
        let step = 1;
        let hi = lo;
        while (hi < last && a[hi] < t) {
          lo = hi + 1;
          step *= 2;
          hi = k + step;
          if (hi > last) hi = last;
        }
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (a[mid] < t) lo = mid + 1;
          else hi = mid;
        }
        return ci * CHUNK + lo - this.head;
      }
      if ((ci + 1) * CHUNK >= endAbs) return n;
      ci++;
      k = 0;
      a = this.chunks[ci].t1;
      if (a[0] >= t) return ci * CHUNK - this.head;
    }
  }

  /** seek(from, t) starting from a guess of the answer (>= from): two reads when the guess is right. */
  seekNear(from: number, guess: number, t: number): number {
    const n = this.length;
    if (guess > n) guess = n;
    if (guess <= from) return this.seek(from, t);
    // Is the answer at or after the guess? (every span before it ends before t)
    if (this.t1(guess - 1) < t) return this.seek(guess, t);
    // It is in [from, guess): bisect there.
    let lo = from;
    let hi = guess - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.t1(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the span containing t (t0 <= t <= t1), else -1. */
  indexAt(t: number): number {
    const i = this.firstEndingAfter(t);
    return i < this.length && this.t0(i) <= t ? i : -1;
  }

  // ---- retention ---------------------------------------------------------------------------------

  /** How many spans end before t (what dropBefore(t) would drop). */
  countEndingBefore(t: number): number {
    return this.firstEndingAfter(t);
  }

  /** Drops the spans that end before t; returns how many. */
  dropBefore(t: number): number {
    const k = this.firstEndingAfter(t);
    this.dropFirst(k);
    return k;
  }

  /** Drops the first k spans. */
  dropFirst(k: number): void {
    if (k <= 0) return;
    if (k >= this.length) {
      this.dropped += this.length;
      this.actDropped = this.actThrough(this.length - 1);
      this.chunks = [];
      this.head = 0;
      this.length = 0;
      return;
    }
    this.head += k;
    this.length -= k;
    this.dropped += k;
    const whole = this.head >>> CHUNK_BITS;
    if (whole > 0) {
      this.chunks.splice(0, whole);
      this.head &= MASK;
    }
  }

  /** Typed-array bytes held. */
  bytes(): number {
    let b = 0;
    for (const c of this.chunks) b += c.bytes();
    return b;
  }

  /** Marks the pool ids this list refers to (names and string argument values). */
  markStrings(live: Uint8Array): void {
    this.eachRetained((c, k) => {
      live[c.name[k]] = 1;
      this.eachStringVal(c, k, (o) => {
        live[c.vals![o]] = 1;
      });
    });
  }

  /** Renumbers pool ids after StringPool.compact. */
  remapStrings(remap: Int32Array): void {
    this.eachRetained((c, k) => {
      c.name[k] = remap[c.name[k]];
      this.eachStringVal(c, k, (o) => {
        c.vals![o] = remap[c.vals![o]];
      });
    });
  }

  private eachRetained(fn: (c: Chunk, k: number) => void): void {
    for (let i = 0; i < this.length;) {
      const p = this.head + i;
      const c = this.chunks[p >>> CHUNK_BITS];
      const k0 = p & MASK;
      const end = Math.min(CHUNK, k0 + (this.length - i));
      for (let k = k0; k < end; k++) fn(c, k);
      i += end - k0;
    }
  }

  private eachStringVal(c: Chunk, k: number, fn: (o: number) => void): void {
    const shape = c.shape[k];
    if (shape === NO_ARGS || shape === CO_ONLY) return;
    const sh = this.ctx.shapes.shapes[shape];
    for (let j = 0; j < sh.keys.length; j++) if (sh.isString[j]) fn(c.argOff[k] + j);
  }
}

/**
 * Per-pixel aggregation of a list over the view [tStart, tEnd] drawn at x = origin + (t - tStart) * k
 * (k pixels per ns). Calls emit(i, x0, x1, active, last) for non-overlapping pieces, left to right:
 *  - a span at least a pixel wide: its own extent (from where the previous piece ended), with
 *    active = -1;
 *  - a pixel column where spans are narrower than a pixel: one piece ending at the column's right
 *    edge, i = the span that covers that edge (else the last one ending in the column), active =
 *    the fraction of the column's time covered by active (not background) spans, from the list's
 *    prefix sums, and last = the last span that ends in the column.
 * One search per column, guessed from the previous column's count and galloping from there: the
 * work is O(spans at least a pixel wide + columns) for evenly spread spans (O(log) per column at
 * worst), bounded by the plot's width, not by the number of spans in view. Nothing is allocated.
 * Pieces start at fromX at the earliest (default: anywhere); with `from`, the pass goes on from
 * that span index with fromX as where the last piece ended (a resumed pass: what it emits is
 * exactly what the pass it resumes would have emitted next).
 */
/** resume: the index the pass goes on with after this piece (AggregateCache resumes there). */
export type Emit = (i: number, x0: number, x1: number, active: number, last: number, resume: number) => void;

export function aggregate(
  list: SpanList,
  tStart: number,
  tEnd: number,
  origin: number,
  k: number,
  emit: Emit,
  fromX = -Infinity,
  from = -1,
): void {
  const n = list.length;
  if (!(k > 0) || n === 0) return;
  // from >= 0: go on with that span (a pass resumed where an earlier one stopped, at fromX).
  let i = from >= 0 ? from : list.firstEndingAfter(tStart);
  // Nothing is emitted left of fromX (a caller that has that part already).
  let lastX = fromX;
  let stride = 1;
  // actThrough(i - 1) when known from the previous column (-1: not known).
  let actBefore = NaN;
  let actBeforeAt = -2;
  while (i < n) {
    const s0 = list.t0(i);
    if (s0 > tEnd) break;
    const e0 = list.t1(i);
    let x0 = origin + (s0 - tStart) * k;
    const x1 = origin + (e0 - tStart) * k;
    if (x0 < lastX) x0 = lastX;
    if (x1 - x0 >= 1) {
      emit(i, x0, x1, -1, i, i + 1);
      lastX = x1;
      i++;
      continue;
    }
    // Narrower than a pixel: the column it starts in, [cx0, c + 1) (the left part may be drawn already).
    const c = Math.floor(x0);
    const cx0 = c > lastX ? c : lastX;
    const tc0 = tStart + (cx0 - origin) / k;
    const tNext = tStart + (c + 1 - origin) / k;
    const next = list.seekNear(i, i + stride, tNext);
    const nextT0 = next < n ? list.t0(next) : Infinity;
    const pick = nextT0 <= tNext ? next : next - 1;
    // Active time in the column: the spans i..next-1, less what of span i lies before it, plus
    // what of span `next` lies in it.
    const before = actBeforeAt === i ? actBefore : list.actThrough(i - 1);
    const through = next > i ? list.actThrough(next - 1) : before;
    let act = through - before;
    if (s0 < tc0 && list.isActive(i)) act -= Math.min(tc0, e0) - s0;
    if (nextT0 < tNext && list.isActive(next)) act += tNext - (nextT0 > tc0 ? nextT0 : tc0);
    const dur = tNext - tc0;
    const f = dur > 0 ? Math.min(1, Math.max(0, act / dur)) : 0;
    emit(pick, cx0, c + 1, f, next - 1 >= i ? next - 1 : i, next);
    lastX = c + 1;
    stride = next - i > 0 ? next - i : 1;
    actBefore = through;
    actBeforeAt = next;
    // A span that goes on past the column is drawn from c + 1 next (lastX only grows: this ends).
    i = next;
  }
}

/**
 * aggregate() with memory: the pieces that are final (a wide span; a column with a span ending
 * after it, so nothing can be added to it any more) are kept, in pixels from a fixed time origin,
 * with where the pass goes on after the last of them, so the next frame at the same scale,
 * shifted by whole pixels (a pan; following live), only computes what it has not seen: the
 * newest columns as data arrives. What it draws is exactly one aggregate() pass from where it
 * started (startTime). When the list drops its oldest spans, their pieces go and the rest stay.
 * A shift that is not whole pixels, or a view outside what is kept start over (a move to the
 * left keeps half a view of room on that side); a new scale is
 * drawn without keeping anything until it comes a second time (zooming is a run of new scales).
 */
export class AggregateCache {
  private list: SpanList | null = null;
  private k = 0;
  private t0 = 0;
  private dropped = -1;
  /** Kept: pieces from cStart (a whole pixel) to cEnd (where the last kept piece ends), pixels from t0. */
  private cStart = 0;
  private cEnd = 0;
  /** The span index the pass goes on with at cEnd. */
  private resume = 0;
  private x0 = new Float64Array(256);
  private x1 = new Float64Array(256);
  private act = new Float64Array(256);
  private idx = new Int32Array(256);
  private lastIdx = new Int32Array(256);
  private n = 0;
  /** Pieces the last run() emitted from what was kept, and computed (tests). */
  reused = 0;
  computed = 0;
  /** Free for the user: the draw keeps the number of the frame that last used it here. */
  frame = -1;
  // The run in progress (read by collect, which aggregate() calls back).
  private emit: Emit = () => {};
  private vs = 0;
  private ve = 0;
  private origin = 0;
  private keeping = true;
  private readonly collect: Emit = (i, a, b, f, last, resume) => {
    this.computed++;
    if (b > this.vs && a < this.ve) this.emit(i, this.origin + a - this.vs, this.origin + b - this.vs, f, last, resume);
    // Final: a wide piece, or a column that a span ends after. Kept while all before it were.
    if (this.keeping && (f < 0 || resume < this.list!.length)) {
      this.keep(i, a, b, f, last);
      this.cEnd = b;
      this.resume = resume;
    } else this.keeping = false;
  };

  /** The time the pass that run() draws started at (tests). */
  get startTime(): number {
    return this.t0 + this.cStart / this.k;
  }

  /** Like aggregate(list, tStart, tEnd, origin, k, emit). */
  run(list: SpanList, tStart: number, tEnd: number, origin: number, k: number, emit: Emit): void {
    this.reused = this.computed = 0;
    if (!(k > 0) || list.length === 0) {
      this.list = null;
      return;
    }
    if (list !== this.list || k !== this.k) {
      // A new scale (a zoom goes on with more of them): draw without keeping anything until the
      // same scale comes twice.
      this.reset(list, k, tStart);
      this.dropped = -1;
      aggregate(list, tStart, tEnd, origin, k, emit);
      return;
    }
    if (list.dropped !== this.dropped) this.dropFront(list, k, tStart);
    let d = (tStart - this.t0) * k;
    let vs = Math.round(d);
    if (Math.abs(d - vs) > 0.01 || !Number.isFinite(d)) {
      this.reset(list, k, tStart);
      d = vs = 0;
    }
    const ve = vs + (tEnd - tStart) * k;
    if (this.n === 0 || vs < this.cStart || vs > this.cEnd) {
      // Start over at vs; moving left: keep room for more of that.
      const room = this.n > 0 && vs < this.cStart ? Math.ceil((ve - vs) / 2) : 0;
      this.n = 0;
      this.cStart = this.cEnd = vs - room;
      this.resume = -1;
    }
    // The kept pieces in view.
    for (let j = this.firstEndingAfter(vs); j < this.n && this.x0[j] < ve; j++) {
      emit(this.idx[j], origin + this.x0[j] - vs, origin + this.x1[j] - vs, this.act[j], this.lastIdx[j], -1);
      this.reused++;
    }
    // The rest: the pass goes on where the kept pieces end.
    if (this.cEnd < ve) {
      this.emit = emit;
      this.vs = vs;
      this.ve = ve;
      this.origin = origin;
      this.keeping = true;
      const from = this.cEnd;
      aggregate(list, this.t0 + from / k, this.t0 + ve / k, from, k, this.collect, from, this.resume);
      this.emit = () => {};
    }
    this.trimLeft(vs - (ve - vs));
  }

  /**
   * The list dropped its oldest spans: forget the pieces of those and renumber the rest (nothing
   * is left of the first kept piece now, so views may start anywhere left of it); start over if
   * nothing is left.
   */
  private dropFront(list: SpanList, k: number, tStart: number): void {
    const shift = list.dropped - this.dropped;
    let j = 0;
    while (j < this.n && this.lastIdx[j] < shift) j++;
    if (shift < 0 || j === this.n || this.resume < shift) {
      this.reset(list, k, tStart);
      return;
    }
    const m = this.n - j;
    this.x0.copyWithin(0, j, this.n);
    this.x1.copyWithin(0, j, this.n);
    this.act.copyWithin(0, j, this.n);
    this.idx.copyWithin(0, j, this.n);
    this.lastIdx.copyWithin(0, j, this.n);
    for (let q = 0; q < m; q++) {
      this.idx[q] -= shift;
      this.lastIdx[q] -= shift;
    }
    this.n = m;
    this.resume -= shift;
    this.cStart = -Infinity;
    this.dropped = list.dropped;
  }

  /** Forgets everything kept (a list no longer drawn): back to a few kilobytes. */
  release(): void {
    this.list = null;
    this.n = 0;
    if (this.x0.length > 256) {
      this.x0 = new Float64Array(256);
      this.x1 = new Float64Array(256);
      this.act = new Float64Array(256);
      this.idx = new Int32Array(256);
      this.lastIdx = new Int32Array(256);
    }
  }

  private reset(list: SpanList, k: number, t0: number): void {
    this.list = list;
    this.k = k;
    this.t0 = t0;
    this.dropped = list.dropped;
    this.n = 0;
    this.cStart = this.cEnd = 0;
    this.resume = -1;
  }

  private keep(i: number, a: number, b: number, f: number, last: number): void {
    if (this.n === this.x0.length) {
      const grow = <T extends Float64Array | Int32Array>(x: T, make: (n: number) => T): T => {
        const y = make(x.length * 2);
        y.set(x);
        return y;
      };
      this.x0 = grow(this.x0, (m) => new Float64Array(m));
      this.x1 = grow(this.x1, (m) => new Float64Array(m));
      this.act = grow(this.act, (m) => new Float64Array(m));
      this.idx = grow(this.idx, (m) => new Int32Array(m));
      this.lastIdx = grow(this.lastIdx, (m) => new Int32Array(m));
    }
    const o = this.n++;
    this.x0[o] = a;
    this.x1[o] = b;
    this.act[o] = f;
    this.idx[o] = i;
    this.lastIdx[o] = last;
  }

  private firstEndingAfter(x: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.x1[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Forgets the kept pieces that end left of x once they are many (amortised). */
  private trimLeft(x: number): void {
    const k = this.firstEndingAfter(x);
    if (k < 4096 || k < this.n / 2) return;
    this.x0.copyWithin(0, k, this.n);
    this.x1.copyWithin(0, k, this.n);
    this.act.copyWithin(0, k, this.n);
    this.idx.copyWithin(0, k, this.n);
    this.lastIdx.copyWithin(0, k, this.n);
    this.n -= k;
    // Views may start from the first kept piece's pixel on.
    this.cStart = Math.ceil(this.x0[0]);
  }
}
