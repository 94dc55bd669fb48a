/**
 * TimelineCollector: a TimelineSink that keeps everything it is given as
 * complete slices (with their nesting depth), instants, flows and counter
 * samples — the shape a canvas draws. It holds all it receives, so it is for
 * bounded windows and tests, not for whole traces (the exporters stream).
 *
 * It also checks the sink contract of timeline.ts and throws on a breach:
 * a track used before it was declared, a timestamp going backwards on a
 * track, an end without a begin, an event on a closed track or a closed
 * track with a slice still open.
 */
import type { Args, TimelineSink, Track } from './timeline.js';

export interface Slice {
  track: number;
  name: string;
  t0: number;
  t1: number;
  /** 0 for a top-level slice, 1 for a slice nested in it, ... */
  depth: number;
  args: Args | null;
  flowsIn: readonly number[] | null;
}

export interface Instant {
  track: number;
  ts: number;
  name: string;
  args: Args | null;
  flowOut: number;
  flowsIn: readonly number[] | null;
}

export interface Flow {
  id: number;
  fromTrack: number;
  fromTs: number;
  toTrack: number;
  toTs: number;
}

export interface CounterSample {
  track: number;
  ts: number;
  value: number;
}

interface OpenSlice {
  name: string;
  t0: number;
  args: Args | null;
  flowsIn: readonly number[] | null;
}

export class TimelineCollector implements TimelineSink {
  readonly tracks = new Map<number, Track>();
  readonly slices: Slice[] = [];
  readonly instants: Instant[] = [];
  readonly flows: Flow[] = [];
  readonly counters: CounterSample[] = [];
  readonly closed = new Set<number>();
  private readonly open = new Map<number, OpenSlice[]>();
  private readonly last = new Map<number, number>();

  track(t: Track): void {
    this.tracks.set(t.id, t);
  }

  begin(track: number, ts: number, name: string, args: Args | null, flowsIn: readonly number[] | null): void {
    this.at(track, ts);
    let stack = this.open.get(track);
    if (!stack) this.open.set(track, (stack = []));
    stack.push({ name, t0: ts, args, flowsIn });
  }

  end(track: number, ts: number): void {
    this.at(track, ts);
    const stack = this.open.get(track);
    const s = stack?.pop();
    if (!s) throw new Error(`track ${track}: end at ${ts} without a begin`);
    this.slices.push({ track, name: s.name, t0: s.t0, t1: ts, depth: stack!.length, args: s.args, flowsIn: s.flowsIn });
  }

  instant(
    track: number,
    ts: number,
    name: string,
    args: Args | null,
    flowOut: number,
    flowsIn: readonly number[] | null,
  ): void {
    this.at(track, ts);
    this.instants.push({ track, ts, name, args, flowOut, flowsIn });
  }

  counter(track: number, ts: number, value: number): void {
    this.at(track, ts);
    this.counters.push({ track, ts, value });
  }

  flow(id: number, fromTrack: number, fromTs: number, toTrack: number, toTs: number): void {
    this.flows.push({ id, fromTrack, fromTs, toTrack, toTs });
  }

  close(track: number): void {
    if (this.open.get(track)?.length) throw new Error(`track ${track} closed with a slice open`);
    this.open.delete(track);
    this.closed.add(track);
  }

  /** Slices still open (after finish: none). */
  openCount(): number {
    let n = 0;
    for (const s of this.open.values()) n += s.length;
    return n;
  }

  /** Tracks whose name matches, in declaration order. */
  tracksNamed(name: string): Track[] {
    return [...this.tracks.values()].filter((t) => t.name === name);
  }

  slicesOn(track: number): Slice[] {
    return this.slices.filter((s) => s.track === track).sort((a, b) => a.t0 - b.t0 || a.depth - b.depth);
  }

  private at(track: number, ts: number): void {
    if (!this.tracks.has(track)) throw new Error(`track ${track} used before it was declared`);
    if (this.closed.has(track)) throw new Error(`track ${track} used after close`);
    if (ts < (this.last.get(track) ?? 0)) throw new Error(`track ${track}: time went back to ${ts}`);
    this.last.set(track, ts);
  }
}
