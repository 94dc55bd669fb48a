/**
 * TimelineModel: a TimelineSink (main/core/model/timeline.ts) that keeps what the canvas draws,
 * per track and nesting depth in arrays sorted by start (the builder guarantees monotonic
 * timestamps per track and non-overlapping slices per depth), so a view range is found by
 * binary search. Open slices are kept apart and drawn up to "now".
 */
import type { Args, TimelineSink, Track } from '../../../main/core/model/timeline.js';

export interface Span {
  t0: number;
  t1: number;
  name: string;
  args: Args | null;
}

export interface Mark {
  ts: number;
  name: string;
  args: Args | null;
}

export interface FlowArrow {
  fromTrack: number;
  fromTs: number;
  toTrack: number;
  toTs: number;
}

export interface TrackData {
  info: Track;
  /** depths[d]: completed slices at depth d, by t0. */
  depths: Span[][];
  /** Open slices, outermost first. */
  open: { t0: number; name: string; args: Args | null }[];
  marks: Mark[];
  closed: boolean;
}

/** Keeps at most this many completed slices in all; beyond, the oldest half of each track is dropped. */
const MAX_SPANS = 3_000_000;

export class TimelineModel implements TimelineSink {
  readonly tracks = new Map<number, TrackData>();
  /** Worker thread tracks by worker index, plain threads after. */
  readonly coTracks = new Map<number, number>();
  /** Flows by destination track. */
  readonly flowsTo = new Map<number, FlowArrow[]>();
  /** Flows by source track. */
  readonly flowsFrom = new Map<number, FlowArrow[]>();
  spans = 0;

  track(t: Track): void {
    const d = this.tracks.get(t.id);
    if (d) d.info = t;
    else this.tracks.set(t.id, { info: t, depths: [], open: [], marks: [], closed: false });
    if (t.kind === 'coroutine' && t.co !== undefined) this.coTracks.set(t.co, t.id);
  }

  begin(track: number, ts: number, name: string, args: Args | null): void {
    this.tracks.get(track)?.open.push({ t0: ts, name, args });
  }

  end(track: number, ts: number): void {
    const d = this.tracks.get(track);
    const s = d?.open.pop();
    if (!d || !s) return;
    const depth = d.open.length;
    (d.depths[depth] ??= []).push({ t0: s.t0, t1: ts, name: s.name, args: s.args });
    if (++this.spans > MAX_SPANS) this.trim();
  }

  instant(track: number, ts: number, name: string, args: Args | null): void {
    this.tracks.get(track)?.marks.push({ ts, name, args });
  }

  counter(): void {}

  flow(_id: number, fromTrack: number, fromTs: number, toTrack: number, toTs: number): void {
    const f = { fromTrack, fromTs, toTrack, toTs };
    let l = this.flowsTo.get(toTrack);
    if (!l) this.flowsTo.set(toTrack, (l = []));
    l.push(f);
    let m = this.flowsFrom.get(fromTrack);
    if (!m) this.flowsFrom.set(fromTrack, (m = []));
    m.push(f);
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

  private trim(): void {
    let n = 0;
    for (const d of this.tracks.values()) {
      for (let k = 0; k < d.depths.length; k++) {
        const a = d.depths[k];
        if (a) d.depths[k] = a.slice(a.length >> 1);
        n += d.depths[k]?.length ?? 0;
      }
    }
    this.spans = n;
  }
}

/** Index of the first span of `a` (sorted by t0, non-overlapping) that ends at or after t. */
export function firstEndingAfter(a: readonly Span[], t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid].t1 < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first mark at or after t. */
export function firstMarkAfter(a: readonly Mark[], t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid].ts < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
