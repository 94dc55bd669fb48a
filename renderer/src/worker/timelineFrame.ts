/**
 * The timeline frame query (protocol.ts FrameRequest -> TimelineFrame), answered in the data
 * worker from the session's TimelineModel: for each requested row, what lies in [t0, t0 + span]
 * aggregated per pixel column (spans.ts `aggregate`: spans narrower than a pixel merge into one
 * column, drawn as the background state (idle, suspended) blended with "busy" (workers) or the
 * coroutine's colour by the fraction of the column's time that was active: a worker busy 5% of
 * the time still shows), the span labels that fit, preemption / deferral / drop markers, the
 * selected coroutine's outlines on the worker lanes and its wake arrows. The page's draw.ts only
 * paints the answer.
 *
 * Cost per frame is bounded by the rows asked for and the plot's width, not by the number of
 * spans. Each list's aggregation is kept between frames (AggregateCache): the view starts on a
 * whole pixel of a grid fixed in time, so a pan or the follow-live shift only computes the new
 * columns; only the lists the last frame used keep their cache. Rectangles are snapped to
 * pixels, adjacent ones of one colour merged, and grouped by colour in the answer (the page sets
 * one fillStyle per colour). Nothing is allocated per span: the layers live in module-level typed
 * arrays reused between frames, and only the answer's exact-size arrays are new (transferred).
 *
 * Runs in the worker only (one frame at a time: module state is per worker).
 */
import type { Args } from '@core/model/timeline.js';
import type { SpanList, TrackData } from '../data/timelineModel.js';
import { AggregateCache, type Emit } from '../data/spans.js';
import { coColour } from '../format.js';
import type { FrameRequest, FrameRow, TimelineFrame } from './protocol.js';
import type { TimelineModel } from '../data/timelineModel.js';
import { LaneColumns, type Overview } from '@core/overview/overview.js';
import { clip, LANE_H } from '../views/timeline/geometry.js';
import { COLOURS } from '../data/palette.js';

// ---- colours ---------------------------------------------------------------------------------------

// One table with the legend (data/palette.ts).
const IDLE_COLOUR = COLOURS.idle;
const READY_COLOUR = COLOURS.ready;
const SUSPENDED_COLOUR = COLOURS.suspended;
const OTHER_COLOUR = COLOURS.other;
const CALL_THREAD = COLOURS.callThread;
const CALL_CO = COLOURS.callCo;
const PREEMPTED_COLOUR = COLOURS.preempted;
const DEFERRED_COLOUR = COLOURS.deferred;
const DROP_COLOUR = COLOURS.drop;

const enum NameClass {
  UNKNOWN,
  RUNNING,
  SUSPENDED,
  READY,
  IDLE,
  OTHER,
  PREEMPTED,
  DEFERRED,
  DROP,
}

/** Name class per pool id, for the pool generation it was computed for. */
let classes = new Uint8Array(256);
let classesPool: unknown = null;
let classesGen = -1;

/**
 * What a frame is made from: a timeline model and its facts — a session's whole model
 * (SessionData), or the detail of one window (lod.ts DetailWindow).
 */
export interface FrameData {
  readonly timeline: TimelineModel;
  readonly newest: number;
  readonly oldest: number;
  /** Events the data holds (the frame's `events`). */
  readonly eventCount: number;
  range(): { min: number; max: number } | null;
}

function nameClass(data: FrameData, id: number): NameClass {
  const pool = data.timeline.pool;
  if (classesPool !== pool || classesGen !== pool.generation) {
    classes.fill(0);
    classesPool = pool;
    classesGen = pool.generation;
  }
  if (id >= classes.length) {
    const c = new Uint8Array(Math.max(id + 1, classes.length * 2));
    c.set(classes);
    classes = c;
  }
  let k = classes[id] as NameClass;
  if (k === NameClass.UNKNOWN) {
    const name = pool.get(id);
    k =
      name === 'running'
        ? NameClass.RUNNING
        : name.startsWith('suspended')
          ? NameClass.SUSPENDED
          : name === 'ready'
            ? NameClass.READY
            : name === 'idle'
              ? NameClass.IDLE
              : name === 'preempted'
                ? NameClass.PREEMPTED
                : name === 'preempt deferred'
                  ? NameClass.DEFERRED
                  : name === 'drop'
                    ? NameClass.DROP
                    : NameClass.OTHER;
    classes[id] = k;
  }
  return k;
}

function classOfName(name: string): NameClass {
  return name === 'running'
    ? NameClass.RUNNING
    : name.startsWith('suspended')
      ? NameClass.SUSPENDED
      : name === 'ready'
        ? NameClass.READY
        : name === 'idle'
          ? NameClass.IDLE
          : NameClass.OTHER;
}

const coColours = new Map<number, string>();
function colourOfCo(co: number): string {
  let c = coColours.get(co);
  if (c === undefined) {
    if (coColours.size > 50_000) coColours.clear();
    c = coColour(co);
    coColours.set(co, c);
  }
  return c;
}

/** Worker-lane columns too dense to tell coroutines apart: idle blended with this by the time busy. */
const BUSY = COLOURS.busy;

/** [r, g, b] of '#rrggbb' or 'hsl(h s% l%)'. */
function rgb(colour: string): [number, number, number] {
  if (colour.startsWith('#') && colour.length === 7) {
    const v = parseInt(colour.slice(1), 16);
    return [v >> 16, (v >> 8) & 255, v & 255];
  }
  if (colour.startsWith('#') && colour.length === 4) {
    const v = parseInt(colour.slice(1), 16);
    return [((v >> 8) & 15) * 17, ((v >> 4) & 15) * 17, (v & 15) * 17];
  }
  const m = /hsl\(([\d.]+)\s+([\d.]+)%\s+([\d.]+)%\)/.exec(colour);
  if (!m) return [128, 128, 128];
  const h = Number(m[1]) / 360;
  const sat = Number(m[2]) / 100;
  const l = Number(m[3]) / 100;
  const q = l < 0.5 ? l * (1 + sat) : l + sat - l * sat;
  const p = 2 * l - q;
  const f = (t: number) => {
    t = ((t % 1) + 1) % 1;
    const v = t < 1 / 6 ? p + (q - p) * 6 * t : t < 1 / 2 ? q : t < 2 / 3 ? p + (q - p) * (2 / 3 - t) * 6 : p;
    return Math.round(v * 255);
  };
  return [f(h + 1 / 3), f(h), f(h - 1 / 3)];
}

/** How much of the active colour a column gets, by the fraction of its time that is active. */
const LEVELS = [0, 0.4, 0.6, 0.8, 1];
function level(active: number): number {
  return active <= 0 ? 0 : active < 0.15 ? 1 : active < 0.4 ? 2 : active < 0.75 ? 3 : 4;
}

/** Blends by base colour, then by colour (the colour strings are the cached ones: no string is built per lookup). */
const blends = new Map<string, Map<string, string[]>>();
/** base mixed with colour by the active fraction (quantised to LEVELS, so columns merge and colours are few). */
function blend(base: string, colour: string, active: number): string {
  const lv = level(active);
  if (lv === 0) return base;
  if (lv === LEVELS.length - 1) return colour;
  let byColour = blends.get(base);
  if (!byColour) blends.set(base, (byColour = new Map()));
  let b = byColour.get(colour);
  if (!b) {
    if (byColour.size > 20_000) byColour.clear();
    const [r0, g0, b0] = rgb(base);
    const [r1, g1, b1] = rgb(colour);
    b = LEVELS.map(
      (f) =>
        `rgb(${Math.round(r0 + (r1 - r0) * f)}, ${Math.round(g0 + (g1 - g0) * f)}, ${Math.round(b0 + (b1 - b0) * f)})`,
    );
    byColour.set(colour, b);
  }
  return b[lv];
}

function stateColour(k: NameClass, co: number): string {
  switch (k) {
    case NameClass.RUNNING:
      return colourOfCo(co);
    case NameClass.SUSPENDED:
      return SUSPENDED_COLOUR;
    case NameClass.READY:
      return READY_COLOUR;
    case NameClass.IDLE:
      return IDLE_COLOUR;
    default:
      return OTHER_COLOUR;
  }
}

// ---- the answer's palette ----------------------------------------------------------------------------

/** Colours of the frame being built, by index. */
let palette: string[] = [];
let paletteIndex = new Map<string, number>();
function colourIndex(c: string): number {
  let i = paletteIndex.get(c);
  if (i === undefined) {
    i = palette.length;
    palette.push(c);
    paletteIndex.set(c, i);
  }
  return i;
}

/** A growable Float64Array of records of `width` numbers. */
class Records {
  a: Float64Array;
  n = 0;
  constructor(
    readonly width: number,
    cap = 256,
  ) {
    this.a = new Float64Array(width * cap);
  }
  room(): number {
    if ((this.n + 1) * this.width > this.a.length) {
      const a = new Float64Array(this.a.length * 2);
      a.set(this.a);
      this.a = a;
    }
    return this.n++ * this.width;
  }
  /** The records as a new exact-size Float32Array (the answer's, transferred). */
  out(): Float32Array {
    return Float32Array.from(this.a.subarray(0, this.n * this.width));
  }
}

// ---- batched rectangles --------------------------------------------------------------------------

/** Rectangles of one colour. */
class Batch {
  readonly xywh = new Records(4);
  constructor(readonly colour: string) {}
}

/**
 * Collects rectangles by colour, merging a rectangle into the previous one when it has the same
 * colour and row and touches it. Rectangles are snapped to whole pixels and clipped to [left, right].
 */
class Painter {
  private readonly batches = new Map<string, Batch>();
  private used: Batch[] = [];
  private run: Batch | null = null;
  private rx0 = 0;
  private rx1 = 0;
  private ry = 0;
  private rh = 0;
  left = 0;
  right = 0;

  add(colour: string, x0: number, x1: number, y: number, h: number): void {
    let a = Math.round(x0);
    let b = Math.round(x1);
    if (b <= a) b = a + 1;
    if (a < this.left) a = this.left;
    if (b > this.right) b = this.right;
    if (b <= a) return;
    const r = this.run;
    if (r !== null && r.colour === colour && this.ry === y && this.rh === h && a <= this.rx1 && b >= this.rx0) {
      if (a < this.rx0) this.rx0 = a;
      if (b > this.rx1) this.rx1 = b;
      return;
    }
    this.endRun();
    let batch = this.batches.get(colour);
    if (!batch) {
      if (this.batches.size > 4096) this.batches.clear();
      batch = new Batch(colour);
      this.batches.set(colour, batch);
    }
    if (batch.xywh.n === 0) this.used.push(batch);
    this.run = batch;
    this.rx0 = a;
    this.rx1 = b;
    this.ry = y;
    this.rh = h;
  }

  /** Ends the current run (call between rows). */
  endRun(): void {
    if (this.run) {
      const o = this.run.xywh.room();
      const a = this.run.xywh.a;
      a[o] = this.rx0;
      a[o + 1] = this.ry;
      a[o + 2] = this.rx1 - this.rx0;
      a[o + 3] = this.rh;
      this.run = null;
    }
  }

  /** Moves the rectangles, colour by colour, into `out` (and the colour of each into `colours`). */
  collect(out: Records, colours: number[]): void {
    this.endRun();
    for (const b of this.used) {
      const c = colourIndex(b.colour);
      const src = b.xywh;
      for (let k = 0; k < src.n * 4; k += 4) {
        const o = out.room();
        out.a[o] = src.a[k];
        out.a[o + 1] = src.a[k + 1];
        out.a[o + 2] = src.a[k + 2];
        out.a[o + 3] = src.a[k + 3];
        colours.push(c);
      }
      src.n = 0;
    }
    this.used.length = 0;
  }
}

const spansLayer = new Painter();
const callsLayer = new Painter();
const rectsOut = new Records(4, 1024);
const outlines = new Records(4);
const markers = new Records(2, 512);
const markerColours: number[] = [];
const labelXY = new Records(2);
const labelText: string[] = [];
const labelColours: number[] = [];
const flows = new Records(4);

function addMarker(colour: string, x: number, y: number): void {
  const o = markers.room();
  markers.a[o] = x;
  markers.a[o + 1] = y;
  markerColours.push(colourIndex(colour));
}

function addLabel(text: string, colour: string, x: number, y: number): void {
  if (!text) return;
  const o = labelXY.room();
  labelXY.a[o] = x;
  labelXY.a[o + 1] = y;
  labelText.push(text);
  labelColours.push(colourIndex(colour));
}

function addOutline(x: number, y: number, w: number, h: number): void {
  const o = outlines.room();
  outlines.a[o] = x;
  outlines.a[o + 1] = y;
  outlines.a[o + 2] = w;
  outlines.a[o + 3] = h;
}

// ---- the frame -------------------------------------------------------------------------------------

interface Frame {
  data: FrameData;
  t0: number;
  t1: number;
  left: number;
  scale: number;
  now: number;
  selectedCo: number | null;
}

export function timelineFrame(data: FrameData, req: FrameRequest): TimelineFrame {
  palette = [];
  paletteIndex = new Map();
  const plotW = Math.max(1, req.width - req.left);
  // The view starts on a whole pixel of a grid fixed in time, so a pan or the follow-live shift
  // moves whole pixels and the kept aggregation (AggregateCache) is reused.
  const nsPerPx = req.span / plotW;
  const t0 = Math.round(req.t0 / nsPerPx) * nsPerPx;
  const tl = data.timeline;
  const f: Frame = {
    data,
    t0,
    t1: t0 + req.span,
    left: req.left,
    scale: plotW / req.span,
    now: data.newest,
    selectedCo: req.selectedCo,
  };
  spansLayer.left = callsLayer.left = req.left;
  spansLayer.right = callsLayer.right = req.width;
  if (data.range()) {
    for (const r of req.rows) {
      const tr = tl.tracks.get(r.track);
      if (!tr) continue;
      if (r.kind === 'thread') frameThread(f, r, tr);
      else frameCo(f, r, tr);
      spansLayer.endRun();
      callsLayer.endRun();
    }
    frameFlows(f, req.rows);
  }
  const rectColours: number[] = [];
  spansLayer.collect(rectsOut, rectColours);
  callsLayer.collect(rectsOut, rectColours);
  releaseUnused();
  const answer: TimelineFrame = {
    t0,
    span: req.span,
    left: req.left,
    width: req.width,
    colours: palette,
    rects: rectsOut.out(),
    rectColour: Uint16Array.from(rectColours),
    outlines: outlines.out(),
    markers: markers.out(),
    markerColour: Uint16Array.from(markerColours),
    labels: labelText.slice(),
    labelXY: labelXY.out(),
    labelColour: Uint16Array.from(labelColours),
    flows: flows.out(),
    oldest: data.oldest,
    newest: data.newest,
    droppedBefore: tl.droppedBefore,
    events: data.eventCount,
    tracksVersion: tl.tracksVersion,
    source: 'full',
  };
  rectsOut.n = outlines.n = markers.n = labelXY.n = flows.n = 0;
  markerColours.length = labelText.length = labelColours.length = 0;
  return answer;
}

// The row being computed: set before each aggregate() pass, read by its emit callbacks (defined
// once, so a frame allocates no closure per row).
let cur: Frame;
let curList: SpanList;
let curY = 0;
let curH = 0;
let curCo = 0;
let curExpanded = false;

function emitThreadSpan(i: number, x0: number, x1: number, active: number, last: number): void {
  const l = curList;
  if (active >= 0) {
    // A column of spans narrower than a pixel: idle blended with "busy" by the fraction of the
    // column's time a coroutine ran (one colour for all, so neighbouring columns merge).
    spansLayer.add(blend(IDLE_COLOUR, BUSY, active), x0, x1, curY, curH);
    const sel = cur.selectedCo;
    if (sel !== null && active > 0) {
      const a = activeIn(l, i, last);
      if (a >= 0 && l.co(a) === sel) addOutline(x0 + 0.5, curY + 0.5, Math.max(0, x1 - x0 - 1), curH - 1);
    }
    return;
  }
  const k = nameClass(cur.data, l.nameId(i));
  paintThreadSpan(k, l.co(i), i, x0, x1, l.t0(i), l.t1(i));
}

/** An active span of a column: the one picked if active, else one of the last few that end in it (-1: none). */
function activeIn(l: SpanList, pick: number, last: number): number {
  if (l.isActive(pick)) return pick;
  for (let j = last, n = 0; j >= 0 && n < 4; j--, n++) if (l.isActive(j)) return j;
  return -1;
}

function paintThreadSpan(k: NameClass, co: number, i: number, x0: number, x1: number, t0: number, t1: number): void {
  spansLayer.add(k === NameClass.IDLE ? IDLE_COLOUR : colourOfCo(co), x0, x1, curY, curH);
  const wpx = x1 - x0;
  if (co && co === cur.selectedCo) addOutline(x0 + 0.5, curY + 0.5, Math.max(0, wpx - 1), curH - 1);
  if (wpx > 30 && k !== NameClass.IDLE) {
    const name = i >= 0 ? curList.name(i) : openName;
    addLabel(clip(name, wpx - 6), '#111', Math.max(x0, cur.left) + 3, curY + curH / 2);
  }
  if (co && wpx > 3) preemptMarks(co, t0, t1);
}

function emitCall(_i: number, x0: number, x1: number): void {
  callsLayer.add(CALL_THREAD, x0, x1, curY, curH);
}

function emitCoState(i: number, x0: number, x1: number, active: number): void {
  const l = curList;
  if (active >= 0) {
    // A column of short states: suspended blended with the coroutine's colour by the fraction of
    // the column's time it was running or ready.
    spansLayer.add(blend(SUSPENDED_COLOUR, colourOfCo(curCo), active), x0, x1, curY, curH);
    return;
  }
  paintCoState(nameClass(cur.data, l.nameId(i)), i, x0, x1);
}

function paintCoState(k: NameClass, i: number, x0: number, x1: number): void {
  spansLayer.add(stateColour(k, curCo), x0, x1, curY, curH);
  if (curExpanded && x1 - x0 > 40) {
    const name = i >= 0 ? curList.name(i) : openName;
    addLabel(
      clip(name, x1 - x0 - 6),
      k === NameClass.RUNNING ? '#111' : '#d8dbe2',
      Math.max(x0, cur.left) + 3,
      curY + curH / 2,
    );
  }
}

function emitCoCall(i: number, x0: number, x1: number): void {
  callsLayer.add(CALL_CO, x0, x1, curY, curH);
  if (x1 - x0 > 24) addLabel(clip(curList.name(i), x1 - x0 - 4), '#111', Math.max(x0, cur.left) + 2, curY + 6);
}

/** Name of the open slice being computed (open slices are not in a list: index -1). */
let openName = '';

/**
 * The aggregation cache of each list (dies with its list). Only the lists used by the last
 * frame keep theirs: the others are released at the end of a frame (a row scrolled away, a
 * session closed), so what is kept is bounded by what is on screen.
 */
const caches = new WeakMap<SpanList, AggregateCache>();
let frameNo = 0;
let usedNow: AggregateCache[] = [];
let usedBefore: AggregateCache[] = [];

/** aggregate() of a list over the view, through its cache. */
function pass(list: SpanList, emit: Emit): void {
  let c = caches.get(list);
  if (!c) caches.set(list, (c = new AggregateCache()));
  if (c.frame !== frameNo) {
    c.frame = frameNo;
    usedNow.push(c);
  }
  c.run(list, cur.t0, cur.t1, cur.left, cur.scale, emit);
}

/** Ends a frame's use of the caches: those the frame before used and this one did not are released. */
function releaseUnused(): void {
  for (const c of usedBefore) if (c.frame !== frameNo) c.release();
  const t = usedBefore;
  usedBefore = usedNow;
  usedNow = t;
  usedNow.length = 0;
  frameNo++;
}

function xOf(t: number): number {
  return cur.left + (t - cur.t0) * cur.scale;
}

function frameThread(f: Frame, r: FrameRow, tr: TrackData): void {
  cur = f;
  curY = r.y + 2;
  curH = r.h - 5;
  const d0 = tr.depths[0];
  if (d0) {
    curList = d0;
    pass(d0, emitThreadSpan);
  }
  const o = tr.open[0];
  if (o && o.t0 <= f.t1 && f.now >= f.t0) {
    const x0 = xOf(o.t0);
    const x1 = Math.max(xOf(f.now), x0 + 1);
    openName = o.name;
    paintThreadSpan(classOfName(o.name), coOfArgs(o.args), -1, x0, x1, o.t0, f.now);
  }
  // Calls outside coroutines (depth 0 on plain threads' own tracks is their calls; depth 1 under a slice)
  const d1 = tr.depths[1];
  if (d1) {
    curList = d1;
    curY = r.y + r.h - 4;
    curH = 2;
    pass(d1, emitCall);
  }
  // Instants on the thread (drops, preemption outside a coroutine)
  alertMarks(tr, r.y + 2);
}

function frameCo(f: Frame, r: FrameRow, tr: TrackData): void {
  cur = f;
  curCo = r.co;
  curExpanded = r.expanded;
  curY = r.y + 2;
  curH = (curExpanded ? 18 : r.h) - 4;
  const d0 = tr.depths[0];
  if (d0) {
    curList = d0;
    pass(d0, emitCoState);
  }
  const o = tr.open[0];
  if (o && !tr.closed && o.t0 <= f.t1 && f.now >= f.t0) {
    const x0 = xOf(o.t0);
    openName = o.name;
    paintCoState(classOfName(o.name), -1, x0, Math.max(xOf(f.now), x0 + 1));
  }
  if (curExpanded) {
    // Hooked calls nested in running spans, with their names.
    const d1 = tr.depths[1];
    if (d1) {
      curList = d1;
      curY = r.y + 20;
      curH = 12;
      pass(d1, emitCoCall);
    }
  }
  alertMarks(tr, r.y + 2);
}

/** Wake arrows ending on the selected coroutine, from rows of the request (at most 2000). */
function frameFlows(f: Frame, rows: FrameRow[]): void {
  if (f.selectedCo === null) return;
  const tl = f.data.timeline;
  const sel = tl.coTracks.get(f.selectedCo);
  const list = sel !== undefined ? tl.flowsTo.get(sel) : undefined;
  if (!list || !list.length) return;
  const rowOf = new Map<number, FrameRow>();
  for (const r of rows) rowOf.set(r.track, r);
  const b = rowOf.get(sel!);
  if (!b) return;
  // flows are in destination order: skip those ending before the view.
  for (let i = list.firstEndingAfter(f.t0), drawn = 0; i < list.length && drawn < 2000; i++) {
    if (list.fromTs(i) > f.t1) break;
    const a = rowOf.get(list.fromTrack(i));
    if (!a) continue;
    const o = flows.room();
    flows.a[o] = xOf(list.fromTs(i));
    flows.a[o + 1] = a.y + Math.min(a.h, LANE_H) / 2;
    flows.a[o + 2] = xOf(list.toTs(i));
    flows.a[o + 3] = b.y + Math.min(b.h, LANE_H) / 2;
    drawn++;
  }
}

function coOfArgs(args: Args | null): number {
  return typeof args?.co === 'number' ? args.co : 0;
}

/** Preemption markers of coroutine co between t0 and t1 (on its worker-lane span). */
function preemptMarks(co: number, t0: number, t1: number): void {
  const tr = cur.data.timeline.trackOfCo(co);
  if (!tr) return;
  const m = tr.alerts;
  if (!m.length) return;
  for (let i = m.firstEndingAfter(t0); i < m.length; i++) {
    const ts = m.t0(i);
    if (ts > t1 + 1) break;
    if (nameClass(cur.data, m.nameId(i)) !== NameClass.PREEMPTED) continue;
    addMarker(PREEMPTED_COLOUR, xOf(ts), curY);
  }
}

/** Preemptions, deferred preemptions and drops on a row, at most one marker per 2 pixels. */
function alertMarks(t: TrackData, y: number): void {
  const m = t.alerts;
  if (!m.length) return;
  let lastPx = -10;
  for (let i = m.firstEndingAfter(cur.t0); i < m.length; i++) {
    const ts = m.t0(i);
    if (ts > cur.t1) break;
    const k = nameClass(cur.data, m.nameId(i));
    const colour =
      k === NameClass.PREEMPTED
        ? PREEMPTED_COLOUR
        : k === NameClass.DEFERRED
          ? DEFERRED_COLOUR
          : k === NameClass.DROP
            ? DROP_COLOUR
            : '';
    if (!colour) continue;
    const px = xOf(ts);
    if (px - lastPx < 2) continue;
    lastPx = px;
    addMarker(colour, px, y);
  }
}

// ---- the overview (level of detail) ------------------------------------------------------------------

const laneCols = new LaneColumns();

/** Facts of an overview frame (the whole trace's, not a window's). */
export interface OverviewFacts {
  oldest: number;
  newest: number;
  events: number;
  tracksVersion: number;
}

/**
 * The frame from an overview (core/overview): per thread row (track = lane index + 1), each pixel
 * column the lane's idle colour blended with "busy" by the fraction of the column's time a
 * coroutine ran, and a preemption / deferral / drop marker per count, placed where the count
 * spread over its chunk's columns adds up to one half (where in the chunk is not known). Coroutine rows get
 * nothing, and the track list has none (lod.ts tracks()): a chunk summary names per lane only the
 * coroutine running at the chunk's start and end (CO_START, CO_END) and counts the switches in
 * between, so a coroutine's running time is known only where a lane's chunk has no switch at all
 * — on bench/c/rec_workload.c's 102 M events (13,027 chunks, 2 workers, 320,000 coroutines) a
 * worker lane's chunk has ~970 switches on average, and only 717 of its 22,251 worker-lane
 * chunks (3 %) were busy with one known coroutine throughout. A row per coroutine drawn from two
 * samples per chunk would show what is not in the data; coroutine rows appear with the window's
 * detail.
 * Cost: O(width + log chunks) per row.
 */
export function overviewFrame(ov: Overview, facts: OverviewFacts, req: FrameRequest): TimelineFrame {
  palette = [];
  paletteIndex = new Map();
  const plotW = Math.max(1, req.width - req.left);
  const nsPerPx = req.span / plotW;
  const t0 = Math.round(req.t0 / nsPerPx) * nsPerPx;
  const cols = Math.ceil(plotW);
  spansLayer.left = callsLayer.left = req.left;
  spansLayer.right = callsLayer.right = req.width;
  for (const r of req.rows) {
    if (r.kind !== 'thread') continue;
    const lane = r.track - 1;
    if (lane < 0 || lane >= ov.lanes.length) continue;
    ov.query(lane, { t0, t1: t0 + cols * nsPerPx, width: cols }, laneCols);
    const y = r.y + 2;
    const h = r.h - 5;
    let lastMark = -10;
    // Counts spread over a node's columns are summed along the row: a marker where a run of
    // columns holding a count reaches one half (the middle of a chunk with one preemption).
    let p = 0;
    let d = 0;
    let x0 = 0;
    for (let c = 0; c < cols; c++) {
      const cov = laneCols.covered[c];
      if (!(cov > 0)) continue;
      const x = req.left + c;
      spansLayer.add(blend(IDLE_COLOUR, BUSY, Math.min(1, laneCols.busy[c] / cov)), x, x + 1, y, h);
      p = laneCols.preempts[c] > 0 ? p + laneCols.preempts[c] : 0;
      d = laneCols.deferrals[c] > 0 ? d + laneCols.deferrals[c] : 0;
      x0 = laneCols.drops[c] > 0 ? x0 + laneCols.drops[c] : 0;
      const colour = p >= 0.5 ? PREEMPTED_COLOUR : d >= 0.5 ? DEFERRED_COLOUR : x0 >= 0.5 ? DROP_COLOUR : '';
      if (!colour) continue;
      if (colour === PREEMPTED_COLOUR) p -= 1;
      else if (colour === DEFERRED_COLOUR) d -= 1;
      else x0 -= 1;
      if (x - lastMark < 2) continue;
      addMarker(colour, x, y);
      lastMark = x;
    }
    spansLayer.endRun();
  }
  const rectColours: number[] = [];
  spansLayer.collect(rectsOut, rectColours);
  const answer: TimelineFrame = {
    t0,
    span: req.span,
    left: req.left,
    width: req.width,
    colours: palette,
    rects: rectsOut.out(),
    rectColour: Uint16Array.from(rectColours),
    outlines: new Float32Array(0),
    markers: markers.out(),
    markerColour: Uint16Array.from(markerColours),
    labels: [],
    labelXY: new Float32Array(0),
    labelColour: new Uint16Array(0),
    flows: new Float32Array(0),
    oldest: facts.oldest,
    newest: facts.newest,
    droppedBefore: 0,
    events: facts.events,
    tracksVersion: facts.tracksVersion,
    source: 'overview',
  };
  rectsOut.n = markers.n = 0;
  markerColours.length = 0;
  return answer;
}

// ---- two sources side by side (a live session: the overview, then the tail) ----------------------

/**
 * One frame from two made for the same request: `a` left of x = xCut, `b` from there on (each
 * rectangle clipped at the cut, markers, labels and outlines kept on their side; b's flows).
 * Both answered the same request, so they share the pixel grid; colours are renumbered into one
 * palette. Facts and source are b's.
 */
export function mergeFrames(a: TimelineFrame, b: TimelineFrame, xCut: number): TimelineFrame {
  const colours = [...a.colours, ...b.colours];
  const shift = a.colours.length;
  const rects: number[] = [];
  const rectColour: number[] = [];
  const clipRects = (f: TimelineFrame, left: boolean, offset: number) => {
    for (let i = 0, n = f.rectColour.length; i < n; i++) {
      let x = f.rects[4 * i];
      let w = f.rects[4 * i + 2];
      if (left) {
        if (x >= xCut) continue;
        if (x + w > xCut) w = xCut - x;
      } else {
        if (x + w <= xCut) continue;
        if (x < xCut) {
          w -= xCut - x;
          x = xCut;
        }
      }
      rects.push(x, f.rects[4 * i + 1], w, f.rects[4 * i + 3]);
      rectColour.push(f.rectColour[i] + offset);
    }
  };
  clipRects(a, true, 0);
  clipRects(b, false, shift);
  const mMarkers: number[] = [];
  const markerColour: number[] = [];
  const keepMarkers = (f: TimelineFrame, left: boolean, offset: number) => {
    for (let i = 0, n = f.markerColour.length; i < n; i++) {
      const x = f.markers[2 * i];
      if (left ? x >= xCut : x < xCut) continue;
      mMarkers.push(x, f.markers[2 * i + 1]);
      markerColour.push(f.markerColour[i] + offset);
    }
  };
  keepMarkers(a, true, 0);
  keepMarkers(b, false, shift);
  const labels: string[] = [];
  const mLabelXY: number[] = [];
  const labelColour: number[] = [];
  const keepLabels = (f: TimelineFrame, left: boolean, offset: number) => {
    for (let i = 0; i < f.labels.length; i++) {
      const x = f.labelXY[2 * i];
      if (left ? x >= xCut : x < xCut) continue;
      labels.push(f.labels[i]);
      mLabelXY.push(x, f.labelXY[2 * i + 1]);
      labelColour.push(f.labelColour[i] + offset);
    }
  };
  keepLabels(a, true, 0);
  keepLabels(b, false, shift);
  const mOutlines: number[] = [];
  for (let i = 0; i + 3 < b.outlines.length; i += 4)
    if (b.outlines[i] + b.outlines[i + 2] > xCut)
      mOutlines.push(b.outlines[i], b.outlines[i + 1], b.outlines[i + 2], b.outlines[i + 3]);
  return {
    ...b,
    colours,
    rects: Float32Array.from(rects),
    rectColour: Uint16Array.from(rectColour),
    outlines: Float32Array.from(mOutlines),
    markers: Float32Array.from(mMarkers),
    markerColour: Uint16Array.from(markerColour),
    labels,
    labelXY: Float32Array.from(mLabelXY),
    labelColour: Uint16Array.from(labelColour),
  };
}
