/**
 * TimelineModel: a TimelineSink (core/model/timeline.ts) that keeps what the canvas draws,
 * per track and nesting depth in SpanLists (spans.ts: typed-array columns, no object per span),
 * sorted by start (the builder guarantees monotonic timestamps per track and non-overlapping
 * slices per depth), so a view range is found by binary search. Open slices are kept apart
 * (at most one per depth) and drawn up to "now". Instants are SpanLists of zero-length spans;
 * flows are kept by destination track in typed arrays.
 *
 * Memory is bounded: at most `maxItems` (default MAX_ITEMS) completed slices, instants and flows
 * are retained in all. Past that, the oldest are dropped by time: everything that ended before a
 * cutoff chosen so that a tenth of the budget is freed, on every track alike, so the
 * view stays consistent; `droppedBefore` is the latest cutoff (the view shows "older spans
 * dropped" before it). Finished coroutines' tracks with nothing left are forgotten, and the
 * string pool is compacted when it has grown. The complete history stays in the recording.
 * At 34 bytes per span plus 8 per argument value (about 46 on average, chunk slack included),
 * MAX_ITEMS is about 115 MB of typed arrays at most.
 */
import type { Args, TimelineSink, Track } from '@core/model/timeline.js';
import { ArgShapes, SpanList, StringPool, type SpanContext } from './spans.js';

export { SpanList, type Span } from './spans.js';

export interface OpenSlice {
  t0: number;
  name: string;
  args: Args | null;
}

export interface TrackData {
  info: Track;
  /** depths[d]: completed slices at depth d, by t0. */
  depths: SpanList[];
  /** Open slices, outermost first. */
  open: OpenSlice[];
  /** Instants, by time (zero-length spans: t0 = t1 = ts). */
  marks: SpanList;
  /** The instants the timeline draws as markers (ALERTS), also in marks. */
  alerts: SpanList;
  closed: boolean;
}

/** Flows ending on one track, in destination order. */
export class FlowList {
  private from = new Int32Array(8);
  private fromT = new Float64Array(8);
  private toT = new Float64Array(8);
  private head = 0;
  private end = 0;

  constructor(readonly toTrack: number) {}

  get length(): number {
    return this.end - this.head;
  }

  push(fromTrack: number, fromTs: number, toTs: number): void {
    if (this.end === this.from.length) {
      const n = this.length;
      const cap = n * 2 > this.from.length ? this.from.length * 2 : this.from.length;
      const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
        const b = make(cap);
        b.set(a.subarray(this.head, this.end));
        return b;
      };
      this.from = grow(this.from, (c) => new Int32Array(c));
      this.fromT = grow(this.fromT, (c) => new Float64Array(c));
      this.toT = grow(this.toT, (c) => new Float64Array(c));
      this.head = 0;
      this.end = n;
    }
    this.from[this.end] = fromTrack;
    this.fromT[this.end] = fromTs;
    this.toT[this.end++] = toTs;
  }

  fromTrack(i: number): number {
    return this.from[this.head + i];
  }

  fromTs(i: number): number {
    return this.fromT[this.head + i];
  }

  toTs(i: number): number {
    return this.toT[this.head + i];
  }

  /** Index of the first flow ending at or after t. */
  firstEndingAfter(t: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.toTs(mid) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Drops the flows that end before t; returns how many. */
  dropBefore(t: number): number {
    const k = this.firstEndingAfter(t);
    this.head += k;
    if (this.head === this.end) this.head = this.end = 0;
    return k;
  }

  bytes(): number {
    return this.from.byteLength + this.fromT.byteLength + this.toT.byteLength;
  }
}

/** Instants drawn as markers. */
export const ALERTS: ReadonlySet<string> = new Set(['preempted', 'preempt deferred', 'drop']);

/** Keeps at most this many completed slices, instants and flows in all (see above). */
export const MAX_ITEMS = 2_500_000;

export interface TimelineModelOptions {
  maxItems?: number;
}

export class TimelineModel implements TimelineSink, SpanContext {
  readonly pool = new StringPool();
  readonly shapes = new ArgShapes();
  readonly tracks = new Map<number, TrackData>();
  /** Coroutine tracks by coroutine id. */
  readonly coTracks = new Map<number, number>();
  /** Flows by destination track. */
  readonly flowsTo = new Map<number, FlowList>();
  /** Completed slices retained. */
  spans = 0;
  /** Completed slices, instants and flows retained (what maxItems bounds). */
  items = 0;
  /** Everything that ended before this time was dropped (0: nothing was). */
  droppedBefore = 0;
  /** Slices, instants and flows dropped so far. */
  droppedItems = 0;
  /** Bumped whenever a track is added, renamed or forgotten (layouts depend on it). */
  tracksVersion = 0;
  /** May be lowered later (a live tail); the next item over it trims. */
  maxItems: number;
  private newest = 0;
  private poolKept = 0;

  constructor(o: TimelineModelOptions = {}) {
    this.maxItems = Math.max(16, o.maxItems ?? MAX_ITEMS);
  }

  track(t: Track): void {
    const d = this.tracks.get(t.id);
    if (d) d.info = t;
    else
      this.tracks.set(t.id, {
        info: t,
        depths: [],
        open: [],
        marks: new SpanList(this),
        alerts: new SpanList(this),
        closed: false,
      });
    if (t.kind === 'coroutine' && t.co !== undefined) this.coTracks.set(t.co, t.id);
    this.tracksVersion++;
  }

  begin(track: number, ts: number, name: string, args: Args | null, _flowsIn?: readonly number[] | null): void {
    this.tracks.get(track)?.open.push({ t0: ts, name, args });
    if (ts > this.newest) this.newest = ts;
  }

  end(track: number, ts: number): void {
    const d = this.tracks.get(track);
    const s = d?.open.pop();
    if (!d || !s) return;
    const depth = d.open.length;
    while (d.depths.length <= depth) d.depths.push(new SpanList(this));
    d.depths[depth].push(s.t0, ts, s.name, s.args);
    if (ts > this.newest) this.newest = ts;
    this.spans++;
    if (++this.items > this.maxItems) this.trim();
  }

  instant(
    track: number,
    ts: number,
    name: string,
    args: Args | null,
    _flowOut?: number,
    _flowsIn?: readonly number[] | null,
  ): void {
    const d = this.tracks.get(track);
    if (!d) return;
    d.marks.push(ts, ts, name, args);
    let n = 1;
    if (ALERTS.has(name)) {
      d.alerts.push(ts, ts, name, args);
      n++;
    }
    if (ts > this.newest) this.newest = ts;
    if ((this.items += n) > this.maxItems) this.trim();
  }

  counter(): void {}

  flow(_id: number, fromTrack: number, fromTs: number, toTrack: number, toTs: number): void {
    let l = this.flowsTo.get(toTrack);
    if (!l) this.flowsTo.set(toTrack, (l = new FlowList(toTrack)));
    l.push(fromTrack, fromTs, toTs);
    if (++this.items > this.maxItems) this.trim();
  }

  close(track: number): void {
    const d = this.tracks.get(track);
    if (d) d.closed = true;
  }

  /** Worker thread tracks ordered by worker index, then other threads with anything on them. */
  threadTracks(): TrackData[] {
    const out: TrackData[] = [];
    for (const d of this.tracks.values()) if (d.info.kind === 'thread') out.push(d);
    return out.sort((a, b) => (a.info.worker ?? 1e9) - (b.info.worker ?? 1e9) || (a.info.tid ?? 0) - (b.info.tid ?? 0));
  }

  trackOfCo(co: number): TrackData | undefined {
    const id = this.coTracks.get(co);
    return id === undefined ? undefined : this.tracks.get(id);
  }

  /** Typed-array bytes held by the spans, instants and flows. */
  bytes(): number {
    let b = 0;
    for (const d of this.tracks.values()) {
      for (const l of d.depths) b += l.bytes();
      b += d.marks.bytes() + d.alerts.bytes();
    }
    for (const f of this.flowsTo.values()) b += f.bytes();
    return b;
  }

  /** How many retained items ended before t. */
  private countBefore(t: number): number {
    let n = 0;
    for (const d of this.tracks.values()) {
      for (const l of d.depths) if (l.length) n += l.countEndingBefore(t);
      if (d.marks.length) n += d.marks.countEndingBefore(t);
      if (d.alerts.length) n += d.alerts.countEndingBefore(t);
    }
    for (const f of this.flowsTo.values()) if (f.length) n += f.firstEndingAfter(t);
    return n;
  }

  /** Drops the oldest items, by time, until at most 9/10 of maxItems are retained. */
  private trim(): void {
    const need = this.items - Math.floor(this.maxItems * 0.9);
    // The earliest cutoff that frees enough: binary search on time.
    let lo = this.droppedBefore;
    let hi = this.newest + 1;
    if (this.countBefore(hi) < need) hi = Infinity;
    else {
      for (let k = 0; k < 64 && hi - lo > 1; k++) {
        const mid = lo + (hi - lo) / 2;
        if (this.countBefore(mid) >= need) hi = mid;
        else lo = mid;
      }
    }
    this.dropBefore(hi);
  }

  /** Drops every completed slice, instant and flow that ended before t. */
  dropBefore(t: number): void {
    let n = 0;
    let spans = 0;
    for (const [id, d] of this.tracks) {
      for (const l of d.depths) {
        const k = l.dropBefore(t);
        spans += k;
        n += k;
      }
      n += d.marks.dropBefore(t) + d.alerts.dropBefore(t);
      if (d.closed && !d.open.length && !d.marks.length && d.depths.every((l) => !l.length)) {
        this.tracks.delete(id);
        if (d.info.co !== undefined && this.coTracks.get(d.info.co) === id) this.coTracks.delete(d.info.co);
        this.tracksVersion++;
      }
    }
    for (const [id, f] of this.flowsTo) {
      n += f.dropBefore(t);
      if (!f.length && !this.tracks.has(id)) this.flowsTo.delete(id);
    }
    this.spans -= spans;
    this.items -= n;
    this.droppedItems += n;
    if (t > this.droppedBefore) this.droppedBefore = Number.isFinite(t) ? t : this.newest;
    this.compactStrings();
  }

  /** Renumbers the string pool without the strings nothing retained refers to any more, once it doubled. */
  private compactStrings(): void {
    if (this.pool.size < 2 * this.poolKept + 4096) return;
    const live = new Uint8Array(this.pool.size);
    for (const d of this.tracks.values()) {
      for (const l of d.depths) l.markStrings(live);
      d.marks.markStrings(live);
      d.alerts.markStrings(live);
    }
    const remap = this.pool.compact(live);
    for (const d of this.tracks.values()) {
      for (const l of d.depths) l.remapStrings(remap);
      d.marks.remapStrings(remap);
      d.alerts.remapStrings(remap);
    }
    this.poolKept = this.pool.size;
  }
}
