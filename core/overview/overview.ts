/**
 * Overview: a trace's timeline at any zoom without its events (level of detail). Built from the
 * chunks' summaries (summaries.ts SummaryColumns), it keeps per lane (a producing thread, by
 * tid) a mipmap: level 0 has one node per chunk the lane has records in, each level above merges
 * pairs of the level below. A node holds the lane's busy time, records and counts of the kinds
 * the timeline marks (calls, preemptions, deferrals, drops, switches in) over its time, and the
 * coroutine running on the lane at its start and end.
 *
 * A lane's nodes partition its time: node j of a level covers (end of node j-1, end of node j]
 * (the first from the lane's first record), because a chunk's busy time runs from the lane's
 * previous record, which may be in an earlier chunk. So a query "[t0, t1] at W columns" picks the
 * level where about W nodes are in view, walks them (plus at most one node per lower level at
 * the lane's unpaired tail) and spreads each over the columns it overlaps, in proportion to the
 * overlap: O(W + log chunks) per lane whatever the trace's length.
 *
 * Also per chunk (all lanes): first/last timestamp and a running sum of events, so the events in
 * a time window are estimated in O(log chunks) (eventsIn) — what a viewer uses to decide whether
 * a window's detail fits its budget — and the event number of a chunk's start is known.
 *
 * A live recording writes a small chunk per drain of the rings (hundreds per second at 200 k
 * events/s): an Overview made with `group` merges consecutive chunks into one node until the
 * group holds `group.events` events or spans `group.ns` (the merge is the mipmap's own pair
 * merge, so a grouped overview answers as one built from bigger chunks would), so its memory
 * grows by one node per group, not per chunk. The group being filled is not drawn yet
 * (`sealedTo`: the time up to which nodes cover; a live viewer draws what is newer from its tail).
 * Appending is amortised O(1) per chunk and lane (a node is pushed, pairs merged upwards once):
 * an overview fed chunk by chunk equals one built from all of them at once.
 *
 * Invariants: chunks are added in file order, each once (add() takes answers whose `from` is
 * the next chunk expected; a repeated or overlapping answer adds only its new chunks); ends are
 * made non-decreasing per lane and per chunk (a late DROP record may be older than the chunk
 * before); nothing here depends on the number of events. Plain TypeScript: no Node, no DOM.
 */
import { LANE_FIELDS, LaneField, NO_WORKER, type SummaryColumns } from './summaries.js';

/** Node fields, NF numbers per node. */
const enum F {
  END,
  BUSY,
  RECORDS,
  CALLS,
  PREEMPTS,
  DEFERRALS,
  DROPS,
  SWITCHES,
  CO_START,
  CO_END,
  FLAGS,
}
const NF = 11;

/** A growable array of NF-number nodes. */
class Level {
  a = new Float64Array(NF * 16);
  n = 0;
  push(): number {
    if ((this.n + 1) * NF > this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    return this.n++ * NF;
  }
  end(i: number): number {
    return this.a[i * NF + F.END];
  }
  /** First node whose end is >= t (n if none). */
  firstEndingAtOrAfter(t: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.a[mid * NF + F.END] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** What a query gives per column for one lane (the caller's arrays, reused between queries). */
export class LaneColumns {
  /** Time (ns) of the column the lane's nodes cover, busy time within it, and prorated counts. */
  covered: Float64Array;
  busy: Float64Array;
  records: Float64Array;
  calls: Float64Array;
  preempts: Float64Array;
  deferrals: Float64Array;
  drops: Float64Array;
  switches: Float64Array;
  /** The coroutine running on the lane at the end of the last node ending in the column (0: none or unknown). */
  coEnd: Float64Array;
  width = 0;

  constructor(capacity = 0) {
    this.covered = new Float64Array(capacity);
    this.busy = new Float64Array(capacity);
    this.records = new Float64Array(capacity);
    this.calls = new Float64Array(capacity);
    this.preempts = new Float64Array(capacity);
    this.deferrals = new Float64Array(capacity);
    this.drops = new Float64Array(capacity);
    this.switches = new Float64Array(capacity);
    this.coEnd = new Float64Array(capacity);
  }

  /** Sized for width columns, zeroed. */
  reset(width: number): void {
    if (this.covered.length < width) {
      const c = new LaneColumns(Math.max(width, this.covered.length * 2));
      Object.assign(this, c);
    }
    this.width = width;
    for (const a of [
      this.covered,
      this.busy,
      this.records,
      this.calls,
      this.preempts,
      this.deferrals,
      this.drops,
      this.switches,
      this.coEnd,
    ])
      a.fill(0, 0, width);
  }
}

export interface LaneInfo {
  /** Index in Overview.lanes (in order of first appearance). */
  index: number;
  tid: number;
  /** Worker index, NO_WORKER off the workers (the newest a chunk said). */
  worker: number;
}

/** One lane's mipmap. */
class LaneOverview {
  readonly levels: Level[] = [new Level()];
  /** The lane's first record (the start of its first node). */
  start = Infinity;
  constructor(readonly info: LaneInfo) {}

  /** Appends a level-0 node (a chunk's entry for this lane) and merges pairs upwards. */
  add(v: Float64Array): void {
    const l0 = this.levels[0];
    const prevEnd = l0.n ? l0.end(l0.n - 1) : -Infinity;
    const o = l0.push();
    l0.a.set(v, o);
    if (l0.a[o + F.END] < prevEnd) l0.a[o + F.END] = prevEnd;
    for (let k = 0; ; k++) {
      const lv = this.levels[k];
      if (lv.n % 2 !== 0) break;
      if (k + 1 === this.levels.length) this.levels.push(new Level());
      const up = this.levels[k + 1];
      const a = lv.a;
      const i = (lv.n - 2) * NF;
      const j = (lv.n - 1) * NF;
      const p = up.push();
      const b = up.a;
      b[p + F.END] = a[j + F.END];
      for (let f = F.BUSY; f <= F.SWITCHES; f++) b[p + f] = a[i + f] + a[j + f];
      b[p + F.CO_START] = a[i + F.CO_START];
      b[p + F.CO_END] = a[j + F.CO_END];
      b[p + F.FLAGS] = (a[i + F.FLAGS] & 1) | (a[j + F.FLAGS] & 2);
    }
  }
}

export interface OverviewQuery {
  t0: number;
  t1: number;
  width: number;
}

/** Merging of consecutive chunks into one node (a live recording's small chunks). */
export interface OverviewGrouping {
  /** A group is closed once it holds at least this many events… */
  events: number;
  /** …or spans at least this long (ns). */
  ns: number;
}

/** One lane's entry in the group being filled. */
interface PendingLane {
  tid: number;
  worker: number;
  first: number;
  v: Float64Array;
}

export class Overview {
  /** Lanes in order of first appearance. */
  readonly lanes: LaneInfo[] = [];
  private readonly byTid = new Map<number, LaneOverview>();
  private readonly mips: LaneOverview[] = [];
  /** File chunks added so far (the next answer starts there). */
  chunks = 0;
  /** Nodes of the chunk table (chunks, or groups of chunks when grouping). */
  private nodes = 0;
  /** Per node: first ts, non-decreasing last ts, events before it (running sum; one more entry). */
  private firstTs = new Float64Array(64);
  private lastTs = new Float64Array(64);
  private before = new Float64Array(65);
  /** The group being filled (grouping only): its chunk fields and its lanes in order of appearance. */
  private pend: { first: number; last: number; events: number; lanes: PendingLane[] } | null = null;

  /** group: merge consecutive chunks into nodes of about that size (a live recording); none: one node per chunk. */
  constructor(readonly group: OverviewGrouping | null = null) {}
  /** Bumped when a lane is added or changes worker (a viewer's track list follows it). */
  lanesVersion = 0;
  oldest = Infinity;
  newest = 0;
  /** A problem an answer reported (a damaged chunk ended the walk). */
  problem: string | null = null;

  /** Events in the chunks added (the group being filled included). */
  get events(): number {
    return this.before[this.nodes] + (this.pend?.events ?? 0);
  }

  /** Events in the nodes (drawn; the group being filled is not). */
  get sealedEvents(): number {
    return this.before[this.nodes];
  }

  /** Time up to which the nodes cover every lane (-Infinity before any): what is newer is not drawn. */
  get sealedTo(): number {
    return this.nodes ? this.lastTs[this.nodes - 1] : -Infinity;
  }

  /** Nodes (tests, memory): chunks, or groups of them. */
  get nodeCount(): number {
    return this.nodes;
  }

  /** The lane index of a thread (undefined: no chunk had it). */
  laneOf(tid: number): number | undefined {
    return this.byTid.get(tid)?.info.index;
  }

  /** Adds an answer's chunks (those before `this.chunks` are skipped: an answer may repeat some). */
  add(s: SummaryColumns): void {
    if (s.problem) this.problem = s.problem;
    if (s.from > this.chunks) throw new Error(`chunk summaries from ${s.from}, expected ${this.chunks} or before`);
    const v = new Float64Array(NF);
    let e = 0;
    for (let i = 0; i < s.chunkFirstTs.length; i++) {
      const c = s.from + i;
      const nl = s.chunkLanes[i];
      if (c < this.chunks) {
        e += nl;
        continue;
      }
      this.chunks = c + 1;
      if (this.group) {
        e = this.addToGroup(s, i, e);
        continue;
      }
      this.pushChunk(s.chunkFirstTs[i], s.chunkLastTs[i], s.chunkEvents[i]);
      for (let k = 0; k < nl; k++, e++) {
        const o = e * LANE_FIELDS;
        const L = s.lanes;
        const lane = this.lane(L[o + LaneField.TID], L[o + LaneField.WORKER]);
        const l0 = lane.levels[0];
        if (l0.n === 0) lane.start = L[o + LaneField.FIRST_TS];
        v[F.END] = L[o + LaneField.LAST_TS];
        v[F.BUSY] = L[o + LaneField.BUSY_NS];
        v[F.RECORDS] = L[o + LaneField.RECORDS];
        v[F.CALLS] = L[o + LaneField.CALLS];
        v[F.PREEMPTS] = L[o + LaneField.PREEMPTS];
        v[F.DEFERRALS] = L[o + LaneField.DEFERRALS];
        v[F.DROPS] = L[o + LaneField.DROPS];
        v[F.SWITCHES] = L[o + LaneField.SWITCHES];
        v[F.CO_START] = L[o + LaneField.CO_START];
        v[F.CO_END] = L[o + LaneField.CO_END];
        v[F.FLAGS] = L[o + LaneField.FLAGS];
        lane.add(v);
      }
    }
  }

  /** Chunk i of answer s (its lane entries from e on) into the group being filled; returns the next entry. */
  private addToGroup(s: SummaryColumns, i: number, e: number): number {
    const g = this.group!;
    const first = s.chunkFirstTs[i];
    const last = s.chunkLastTs[i];
    let p = this.pend;
    if (!p) p = this.pend = { first, last, events: 0, lanes: [] };
    else {
      if (first < p.first) p.first = first;
      if (last > p.last) p.last = last;
    }
    p.events += s.chunkEvents[i];
    const L = s.lanes;
    for (let k = 0; k < s.chunkLanes[i]; k++, e++) {
      const o = e * LANE_FIELDS;
      const tid = L[o + LaneField.TID];
      let pl = p.lanes.find((x) => x.tid === tid);
      if (!pl) {
        const v = new Float64Array(NF);
        v[F.END] = -Infinity;
        v[F.CO_START] = L[o + LaneField.CO_START];
        v[F.FLAGS] = L[o + LaneField.FLAGS] & 1;
        pl = { tid, worker: L[o + LaneField.WORKER], first: L[o + LaneField.FIRST_TS], v };
        p.lanes.push(pl);
      }
      const w = L[o + LaneField.WORKER];
      if (w !== NO_WORKER) pl.worker = w;
      const v = pl.v;
      v[F.END] = Math.max(v[F.END], L[o + LaneField.LAST_TS]);
      v[F.BUSY] += L[o + LaneField.BUSY_NS];
      v[F.RECORDS] += L[o + LaneField.RECORDS];
      v[F.CALLS] += L[o + LaneField.CALLS];
      v[F.PREEMPTS] += L[o + LaneField.PREEMPTS];
      v[F.DEFERRALS] += L[o + LaneField.DEFERRALS];
      v[F.DROPS] += L[o + LaneField.DROPS];
      v[F.SWITCHES] += L[o + LaneField.SWITCHES];
      v[F.CO_END] = L[o + LaneField.CO_END];
      v[F.FLAGS] = (v[F.FLAGS] & 1) | (L[o + LaneField.FLAGS] & 2);
    }
    if (p.events >= g.events || p.last - p.first >= g.ns) this.closeGroup();
    return e;
  }

  /** Pushes the group being filled as one node (a live session that ended: its last group too). */
  closeGroup(): void {
    const p = this.pend;
    if (!p) return;
    this.pend = null;
    this.pushChunk(p.first, p.last, p.events);
    for (const pl of p.lanes) {
      const lane = this.lane(pl.tid, pl.worker);
      if (lane.levels[0].n === 0) lane.start = pl.first;
      lane.add(pl.v);
    }
  }

  private pushChunk(first: number, last: number, events: number): void {
    const c = this.nodes;
    if (c + 1 >= this.firstTs.length) {
      const grow = (a: Float64Array, n: number) => {
        const b = new Float64Array(n);
        b.set(a);
        return b;
      };
      this.firstTs = grow(this.firstTs, this.firstTs.length * 2);
      this.lastTs = grow(this.lastTs, this.lastTs.length * 2);
      this.before = grow(this.before, this.before.length * 2);
    }
    this.firstTs[c] = first;
    this.lastTs[c] = c > 0 ? Math.max(last, this.lastTs[c - 1]) : last;
    this.before[c + 1] = this.before[c] + events;
    this.nodes = c + 1;
    if (first > 0 && first < this.oldest) this.oldest = first;
    if (last > this.newest) this.newest = last;
  }

  private lane(tid: number, worker: number): LaneOverview {
    let l = this.byTid.get(tid);
    if (!l) {
      const info: LaneInfo = { index: this.lanes.length, tid, worker };
      l = new LaneOverview(info);
      this.byTid.set(tid, l);
      this.lanes.push(info);
      this.mips.push(l);
      this.lanesVersion++;
    } else if (worker !== NO_WORKER && l.info.worker !== worker) {
      l.info.worker = worker;
      this.lanesVersion++;
    }
    return l;
  }

  /** The first node (chunk, or group of chunks) that may hold events at or after t (nodes when none). */
  chunkAt(t: number): number {
    let lo = 0;
    let hi = this.nodes;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.lastTs[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The event number (seq) of node c's first event. */
  eventsBefore(c: number): number {
    return this.before[Math.max(0, Math.min(c, this.nodes))];
  }

  /** Events in [t0, t1], estimated: whole chunks inside, the two at the ends prorated by time. */
  eventsIn(t0: number, t1: number): number {
    if (!this.nodes || t1 < t0) return 0;
    const a = this.chunkAt(t0);
    if (a >= this.nodes) return 0;
    let b = this.chunkAt(t1);
    if (b >= this.nodes) b = this.nodes - 1;
    const part = (c: number) => {
      const s = Math.min(this.firstTs[c], this.lastTs[c]);
      const e = this.lastTs[c];
      const n = this.before[c + 1] - this.before[c];
      if (e <= s) return t0 <= e && s <= t1 ? n : 0;
      const ov = Math.min(e, t1) - Math.max(s, t0);
      return ov <= 0 ? 0 : (n * ov) / (e - s);
    };
    if (a === b) return part(a);
    return part(a) + (this.before[b] - this.before[a + 1]) + part(b);
  }

  /**
   * Lane `lane` (an index of `lanes`) over [t0, t1] at `width` columns into `out` (reset first):
   * per column the time the lane's nodes cover, busy time and counts, each node spread over the
   * columns it overlaps in proportion to the overlap.
   */
  query(lane: number, q: OverviewQuery, out: LaneColumns): void {
    const { t0, t1, width } = q;
    out.reset(width);
    const L = this.mips[lane];
    if (!L || t1 <= t0 || width <= 0) return;
    const l0 = L.levels[0];
    if (l0.n === 0) return;
    const i0 = l0.firstEndingAtOrAfter(t0);
    if (i0 >= l0.n) return;
    let i1 = l0.firstEndingAtOrAfter(t1);
    if (i1 >= l0.n) i1 = l0.n - 1;
    const count = i1 - i0 + 1;
    let lv = 0;
    while (lv + 1 < L.levels.length && count >> (lv + 1) >= width) lv++;
    const nsPerCol = (t1 - t0) / width;
    // Walk level lv from the node holding i0, then lower levels for the unpaired tail.
    let c = (i0 >> lv) << lv; // cursor, in level-0 nodes
    for (let k = lv; k >= 0 && c <= i1; k--) {
      const level = L.levels[k];
      for (let j = c >> k; j < level.n && j << k <= i1; j++) {
        const first = j << k;
        const start = first === 0 ? L.start : l0.end(first - 1);
        spread(level.a, j * NF, start, t0, nsPerCol, width, out);
        c = (j + 1) << k;
      }
    }
  }
}

/** Spreads node o of a (covering (start, its end]) over the columns it overlaps. */
function spread(
  a: Float64Array,
  o: number,
  start: number,
  t0: number,
  nsPerCol: number,
  width: number,
  out: LaneColumns,
): void {
  const end = a[o + F.END];
  const dur = end - start;
  const x0 = (start - t0) / nsPerCol;
  const x1 = (end - t0) / nsPerCol;
  if (x1 < 0 || x0 >= width) return;
  if (!(dur > 0)) {
    const col = Math.floor(x1);
    if (col < 0 || col >= width) return;
    addShare(a, o, col, 1, 0, out);
    out.coEnd[col] = a[o + F.CO_END];
    return;
  }
  const c0 = Math.max(0, Math.floor(x0));
  const c1 = Math.min(width - 1, Math.floor(x1));
  for (let col = c0; col <= c1; col++) {
    const ov = (Math.min(x1, col + 1) - Math.max(x0, col)) * nsPerCol;
    if (ov <= 0) continue;
    addShare(a, o, col, ov / dur, ov, out);
  }
  if (x1 < width) out.coEnd[Math.max(0, c1)] = a[o + F.CO_END];
}

function addShare(a: Float64Array, o: number, col: number, share: number, covered: number, out: LaneColumns): void {
  out.covered[col] += covered;
  out.busy[col] += a[o + F.BUSY] * share;
  out.records[col] += a[o + F.RECORDS] * share;
  out.calls[col] += a[o + F.CALLS] * share;
  out.preempts[col] += a[o + F.PREEMPTS] * share;
  out.deferrals[col] += a[o + F.DEFERRALS] * share;
  out.drops[col] += a[o + F.DROPS] * share;
  out.switches[col] += a[o + F.SWITCHES] * share;
}
