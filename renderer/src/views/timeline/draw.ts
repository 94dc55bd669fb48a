/**
 * Draws the timeline of one session onto a canvas: a time axis, one lane per thread (workers
 * first: which coroutine runs when, idle periods, calls outside coroutines), then one row per
 * coroutine (ready / running / suspended spans; expanded rows also show the hooked calls with
 * their names), preemption markers, the wake arrows of the selected coroutine, and where older
 * spans were dropped (TimelineModel's retention).
 *
 * Cost per frame: only the rows in view are visited (binary search on the layout), and per row
 * only what lies in the viewport, aggregated per pixel column (spans.ts `aggregate`: spans
 * narrower than a pixel merge into one column, drawn as the background state (idle, suspended)
 * blended with "busy" (workers) or the coroutine's colour by the fraction of the column's time
 * that was active: a worker busy 5% of the time still shows), so a frame's work is bounded by the plot's size, not by the
 * number of spans. Each list's aggregation is kept between frames (AggregateCache): the view
 * starts on a whole pixel, so a pan or the follow-live shift only computes the new columns.
 * Rectangles are snapped to pixels, adjacent ones of one colour
 * merged, and filled in batches by colour (one fillStyle per colour per layer); markers are
 * one path per colour. Nothing is allocated per span: the batches live in module-level typed
 * arrays reused from frame to frame, colours are cached per coroutine and per name id.
 */
import type { SessionData } from '../../data/sessionData.js';
import type { Args } from '@core/model/timeline.js';
import type { SpanList, TrackData } from '../../data/timelineModel.js';
import { AggregateCache, type Emit } from '../../data/spans.js';
import { coColour, fmtDur, fmtTick, niceStep } from '../../format.js';

export const LABEL_W = 150;
export const AXIS_H = 24;
const LANE_H = 24;
const CO_H = 14;
const CO_EXPANDED_H = 36;
const HEADER_H = 18;

export interface DrawState {
  t0: number;
  span: number;
  scrollY: number;
  selectedCo: number | null;
  expanded: Record<number, true>;
}

export interface Row {
  y: number;
  h: number;
  track: TrackData;
  kind: 'thread' | 'co';
  co?: number;
  /** The row's label as drawn (cached by layout()). */
  label?: string;
}

export interface Layout {
  rows: Row[];
  /** Track id -> row. */
  byTrack: Map<number, Row>;
  height: number;
  /** y of the "Coroutines" header's row (the first coroutine row), if any. */
  coY?: number;
}

/** Rows of every thread track, then every coroutine track (by id), at y offsets from the top of the lanes. */
export function layout(data: SessionData, expanded: Record<number, true>): Layout {
  const rows: Row[] = [];
  const byTrack = new Map<number, Row>();
  let y = 0;
  for (const t of data.timeline.threadTracks()) {
    const label = clip(t.info.worker !== undefined ? `worker ${t.info.worker}` : t.info.name, LABEL_W - 10);
    const r: Row = { y, h: LANE_H, track: t, kind: 'thread', label };
    rows.push(r);
    byTrack.set(t.info.id, r);
    y += LANE_H;
  }
  y += HEADER_H;
  const cos: TrackData[] = [];
  for (const t of data.timeline.tracks.values()) if (t.info.kind === 'coroutine') cos.push(t);
  cos.sort((a, b) => (a.info.co ?? 0) - (b.info.co ?? 0));
  const coY = cos.length ? y : undefined;
  for (const t of cos) {
    const co = t.info.co ?? 0;
    const h = expanded[co] ? CO_EXPANDED_H : CO_H;
    const r: Row = { y, h, track: t, kind: 'co', co, label: clip(`${expanded[co] ? '▾' : '▸'} ${t.info.name}`, LABEL_W - 10) };
    rows.push(r);
    byTrack.set(t.info.id, r);
    y += h;
  }
  return { rows, byTrack, height: y, coY };
}

/** Index of the first row whose bottom is below y (rows are sorted by y). */
export function firstRowBelow(rows: readonly Row[], y: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid].y + rows[mid].h <= y) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ---- colours ---------------------------------------------------------------------------------------

const BG = '#15171c';
const IDLE = '#2a2e38';
const READY = '#c9a227';
const SUSPENDED = '#34496a';
const OTHER = '#555';
const CALL_THREAD = '#e0e0e0';
const CALL_CO = '#8fb3e0';
const PREEMPTED = '#ff5a5a';
const DEFERRED = '#ffb86b';
const DROP = '#ff00ff';

const enum NameClass { UNKNOWN, RUNNING, SUSPENDED, READY, IDLE, OTHER, PREEMPTED, DEFERRED, DROP }

/** Name class per pool id, for the pool generation it was computed for. */
let classes = new Uint8Array(256);
let classesPool: unknown = null;
let classesGen = -1;

function nameClass(data: SessionData, id: number): NameClass {
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
    k = name === 'running' ? NameClass.RUNNING : name.startsWith('suspended') ? NameClass.SUSPENDED
      : name === 'ready' ? NameClass.READY : name === 'idle' ? NameClass.IDLE : name === 'preempted' ? NameClass.PREEMPTED
      : name === 'preempt deferred' ? NameClass.DEFERRED : name === 'drop' ? NameClass.DROP : NameClass.OTHER;
    classes[id] = k;
  }
  return k;
}

function classOfName(name: string): NameClass {
  return name === 'running' ? NameClass.RUNNING : name.startsWith('suspended') ? NameClass.SUSPENDED
    : name === 'ready' ? NameClass.READY : name === 'idle' ? NameClass.IDLE : NameClass.OTHER;
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
const BUSY = '#c8ccd6';

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
    b = LEVELS.map((f) => `rgb(${Math.round(r0 + (r1 - r0) * f)}, ${Math.round(g0 + (g1 - g0) * f)}, ${Math.round(b0 + (b1 - b0) * f)})`);
    byColour.set(colour, b);
  }
  return b[lv];
}

function stateColour(k: NameClass, co: number): string {
  switch (k) {
    case NameClass.RUNNING: return colourOfCo(co);
    case NameClass.SUSPENDED: return SUSPENDED;
    case NameClass.READY: return READY;
    case NameClass.IDLE: return IDLE;
    default: return OTHER;
  }
}

// ---- batched rectangles --------------------------------------------------------------------------

/** Rectangles of one colour, in reusable typed arrays. */
class Batch {
  xywh = new Float64Array(4 * 256);
  n = 0;
  constructor(readonly colour: string) {}
  add(x: number, y: number, w: number, h: number): void {
    if ((this.n + 1) * 4 > this.xywh.length) {
      const a = new Float64Array(this.xywh.length * 2);
      a.set(this.xywh);
      this.xywh = a;
    }
    const o = this.n++ * 4;
    this.xywh[o] = x;
    this.xywh[o + 1] = y;
    this.xywh[o + 2] = w;
    this.xywh[o + 3] = h;
  }
}

/**
 * Collects rectangles by colour, merging a rectangle into the previous one when it has the same
 * colour and row and touches it; flush() fills them colour by colour. Rectangles are snapped to
 * whole pixels and clipped to [left, right].
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
  rects = 0;

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
    if (batch.n === 0) this.used.push(batch);
    this.run = batch;
    this.rx0 = a;
    this.rx1 = b;
    this.ry = y;
    this.rh = h;
  }

  /** Ends the current run (call between rows). */
  endRun(): void {
    if (this.run) {
      this.run.add(this.rx0, this.ry, this.rx1 - this.rx0, this.rh);
      this.run = null;
    }
  }

  flush(ctx: CanvasRenderingContext2D): void {
    this.endRun();
    for (const b of this.used) {
      ctx.fillStyle = b.colour;
      const a = b.xywh;
      for (let o = 0, e = b.n * 4; o < e; o += 4) ctx.fillRect(a[o], a[o + 1], a[o + 2], a[o + 3]);
      this.rects += b.n;
      b.n = 0;
    }
    this.used.length = 0;
  }
}

/** Points by colour for markers (triangles) drawn as one path per colour. */
class Marks {
  private readonly xy = new Map<string, { a: Float64Array; n: number }>();
  add(colour: string, x: number, y: number): void {
    let m = this.xy.get(colour);
    if (!m) this.xy.set(colour, (m = { a: new Float64Array(512), n: 0 }));
    if (m.n * 2 + 2 > m.a.length) {
      const a = new Float64Array(m.a.length * 2);
      a.set(m.a);
      m.a = a;
    }
    m.a[m.n * 2] = x;
    m.a[m.n * 2 + 1] = y;
    m.n++;
  }
  flush(ctx: CanvasRenderingContext2D): void {
    for (const [colour, m] of this.xy) {
      if (!m.n) continue;
      ctx.fillStyle = colour;
      ctx.beginPath();
      for (let k = 0; k < m.n; k++) {
        const x = m.a[k * 2];
        const y = m.a[k * 2 + 1];
        ctx.moveTo(x - 4, y);
        ctx.lineTo(x + 4, y);
        ctx.lineTo(x, y + 6);
        ctx.closePath();
      }
      ctx.fill();
      m.n = 0;
    }
  }
}

/** Text labels collected while the spans are laid out, drawn after them. */
class Labels {
  text: string[] = [];
  colour: string[] = [];
  xy = new Float64Array(512);
  n = 0;
  add(text: string, colour: string, x: number, y: number): void {
    if (!text) return;
    if (this.n * 2 + 2 > this.xy.length) {
      const a = new Float64Array(this.xy.length * 2);
      a.set(this.xy);
      this.xy = a;
    }
    this.text[this.n] = text;
    this.colour[this.n] = colour;
    this.xy[this.n * 2] = x;
    this.xy[this.n * 2 + 1] = y;
    this.n++;
  }
  flush(ctx: CanvasRenderingContext2D): void {
    let last = '';
    for (let k = 0; k < this.n; k++) {
      if (this.colour[k] !== last) ctx.fillStyle = last = this.colour[k];
      ctx.fillText(this.text[k], this.xy[k * 2], this.xy[k * 2 + 1]);
    }
    this.n = 0;
  }
}

const spansLayer = new Painter();
const callsLayer = new Painter();
const markers = new Marks();
const labels = new Labels();
/** Outlines of the selected coroutine's spans on the worker lanes: x, y, w, h. */
let outlines = new Float64Array(256);
let nOutlines = 0;

/** Counters of the last frame (tests, benchmarks). */
export const lastFrame = { rows: 0, rects: 0, labels: 0 };

// ---- the frame -------------------------------------------------------------------------------------

export function draw(ctx: CanvasRenderingContext2D, w: number, h: number, data: SessionData | undefined, s: DrawState,
  lay: Layout | null): void {
  ctx.fillStyle = BG;
  ctx.fillRect(0, 0, w, h);
  if (!data || !lay || !data.range()) {
    ctx.fillStyle = '#8a90a0';
    ctx.font = '13px system-ui, sans-serif';
    ctx.fillText('No events yet.', 12, 40);
    return;
  }
  const plotW = Math.max(1, w - LABEL_W);
  const scale = plotW / s.span;
  // The view starts on a whole pixel of a grid fixed in time, so a pan or the follow-live shift
  // moves whole pixels and the kept aggregation (AggregateCache) is reused.
  const nsPerPx = s.span / plotW;
  s = { ...s, t0: Math.round(s.t0 / nsPerPx) * nsPerPx };
  const t1 = s.t0 + s.span;
  const x = (t: number) => LABEL_W + (t - s.t0) * scale;
  const now = data.newest;
  const base = data.oldest;
  const tl = data.timeline;
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';

  const top = AXIS_H - s.scrollY;
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, AXIS_H, w, h - AXIS_H);
  ctx.clip();

  if (lay.coY !== undefined) {
    ctx.fillStyle = '#8a90a0';
    ctx.fillText('Coroutines', 6, top + lay.coY - HEADER_H / 2);
  }
  const selTrack = s.selectedCo !== null ? tl.coTracks.get(s.selectedCo) : undefined;

  // The rows in view.
  const first = firstRowBelow(lay.rows, AXIS_H - top);
  let last = first;
  while (last < lay.rows.length && top + lay.rows[last].y <= h) last++;

  // Backgrounds of the selected row and the separators.
  ctx.strokeStyle = '#22252d';
  ctx.beginPath();
  for (let k = first; k < last; k++) {
    const r = lay.rows[k];
    const ry = top + r.y;
    if (r.kind === 'co' && r.co === s.selectedCo) {
      ctx.fillStyle = '#24324a';
      ctx.fillRect(0, ry, w, r.h);
    }
    ctx.moveTo(0, ry + r.h - 0.5);
    ctx.lineTo(w, ry + r.h - 0.5);
  }
  ctx.stroke();

  // Spans, calls, markers, outlines and labels of the rows in view, then each layer at once.
  spansLayer.left = callsLayer.left = LABEL_W;
  spansLayer.right = callsLayer.right = w;
  spansLayer.rects = callsLayer.rects = 0;
  nOutlines = 0;
  const f: Frame = { data, s, t1, scale, now };
  for (let k = first; k < last; k++) {
    const r = lay.rows[k];
    const ry = top + r.y;
    if (r.kind === 'thread') drawThread(f, r, ry);
    else drawCo(f, r, ry);
    spansLayer.endRun();
    callsLayer.endRun();
  }
  const nLabels = labels.n;
  ctx.save();
  ctx.beginPath();
  ctx.rect(LABEL_W, AXIS_H, plotW, h - AXIS_H);
  ctx.clip();
  spansLayer.flush(ctx);
  callsLayer.flush(ctx);
  if (nOutlines) {
    ctx.strokeStyle = '#fff';
    ctx.beginPath();
    for (let o = 0; o < nOutlines * 4; o += 4) ctx.rect(outlines[o], outlines[o + 1], outlines[o + 2], outlines[o + 3]);
    ctx.stroke();
  }
  markers.flush(ctx);
  labels.flush(ctx);
  // Where older spans were dropped (the model keeps a bounded window; the recording has everything).
  if (tl.droppedBefore > s.t0) {
    const xd = Math.min(w, x(tl.droppedBefore));
    ctx.fillStyle = 'rgba(21, 23, 28, 0.75)';
    ctx.fillRect(LABEL_W, AXIS_H, xd - LABEL_W, h - AXIS_H);
    ctx.strokeStyle = '#8a90a0';
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(Math.round(xd) + 0.5, AXIS_H);
    ctx.lineTo(Math.round(xd) + 0.5, h);
    ctx.stroke();
    ctx.setLineDash([]);
    if (xd - LABEL_W > 60) {
      ctx.fillStyle = '#c8ccd6';
      ctx.textAlign = 'right';
      ctx.fillText(clip('older spans dropped (kept in the recording)', xd - LABEL_W - 12), xd - 6, AXIS_H + 10);
      ctx.textAlign = 'left';
    }
  }
  ctx.restore();

  // Row labels.
  for (let k = first; k < last; k++) {
    const r = lay.rows[k];
    const ry = top + r.y;
    ctx.fillStyle = '#1d2027';
    ctx.fillRect(0, ry, LABEL_W, r.h - 1);
    ctx.fillStyle = r.kind === 'co' && r.co === s.selectedCo ? '#fff' : '#d8dbe2';
    ctx.fillText(r.label ?? clip(r.track.info.name, LABEL_W - 10), 6, ry + Math.min(r.h, LANE_H) / 2);
  }

  // Wake arrows of the selected coroutine.
  const flows = selTrack !== undefined ? tl.flowsTo.get(selTrack) : undefined;
  if (flows && flows.length) {
    ctx.strokeStyle = '#ffffff';
    ctx.fillStyle = '#ffffff';
    ctx.lineWidth = 1.2;
    // flows are in destination order: skip those ending before the view.
    for (let i = flows.firstEndingAfter(s.t0), drawn = 0; i < flows.length && drawn < 2000; i++) {
      if (flows.fromTs(i) > t1) break;
      const a = lay.byTrack.get(flows.fromTrack(i));
      const b = lay.byTrack.get(selTrack!);
      if (!a || !b) continue;
      const x0 = x(flows.fromTs(i));
      const y0 = top + a.y + Math.min(a.h, LANE_H) / 2;
      const x1 = x(flows.toTs(i));
      const y1 = top + b.y + Math.min(b.h, LANE_H) / 2;
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.bezierCurveTo(x0 + 20, y0, x1 - 20, y1, x1, y1);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(x1, y1);
      ctx.lineTo(x1 - 6, y1 - 3);
      ctx.lineTo(x1 - 6, y1 + 3);
      ctx.fill();
      drawn++;
    }
    ctx.lineWidth = 1;
  }
  ctx.restore();
  releaseUnused();
  lastFrame.rows = last - first;
  lastFrame.rects = spansLayer.rects + callsLayer.rects;
  lastFrame.labels = nLabels;

  // Axis
  ctx.fillStyle = '#1d2027';
  ctx.fillRect(0, 0, w, AXIS_H);
  const step = niceStep(s.span, plotW / 110);
  const firstTick = Math.ceil((s.t0 - base) / step) * step;
  ctx.fillStyle = '#8a90a0';
  ctx.strokeStyle = '#2e323c';
  ctx.globalAlpha = 0.35;
  ctx.beginPath();
  for (let t = firstTick; t <= t1 - base; t += step) {
    const px = Math.round(x(base + t)) + 0.5;
    ctx.moveTo(px, AXIS_H - 6);
    ctx.lineTo(px, h);
  }
  ctx.stroke();
  ctx.globalAlpha = 1;
  for (let t = firstTick; t <= t1 - base; t += step) ctx.fillText(fmtTick(t, step), Math.round(x(base + t)) + 3.5, AXIS_H / 2);
  // "now" line
  if (now >= s.t0 && now <= t1) {
    ctx.strokeStyle = '#5fd38d';
    ctx.beginPath();
    ctx.moveTo(x(now) + 0.5, AXIS_H);
    ctx.lineTo(x(now) + 0.5, h);
    ctx.stroke();
  }
  ctx.fillStyle = '#1d2027';
  ctx.fillRect(0, 0, LABEL_W, AXIS_H);
  ctx.fillStyle = '#8a90a0';
  ctx.fillText('time since first event', 6, AXIS_H / 2);
}

interface Frame {
  data: SessionData;
  s: DrawState;
  t1: number;
  scale: number;
  now: number;
}

// The row being drawn: set before each aggregate() pass, read by its emit callbacks (defined
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
    spansLayer.add(blend(IDLE, BUSY, active), x0, x1, curY, curH);
    const sel = cur.s.selectedCo;
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
  spansLayer.add(k === NameClass.IDLE ? IDLE : colourOfCo(co), x0, x1, curY, curH);
  const wpx = x1 - x0;
  if (co && co === cur.s.selectedCo) addOutline(x0 + 0.5, curY + 0.5, Math.max(0, wpx - 1), curH - 1);
  if (wpx > 30 && k !== NameClass.IDLE) {
    const name = i >= 0 ? curList.name(i) : openName;
    labels.add(clip(name, wpx - 6), '#111', Math.max(x0, LABEL_W) + 3, curY + curH / 2);
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
    spansLayer.add(blend(SUSPENDED, colourOfCo(curCo), active), x0, x1, curY, curH);
    return;
  }
  paintCoState(nameClass(cur.data, l.nameId(i)), i, x0, x1);
}

function paintCoState(k: NameClass, i: number, x0: number, x1: number): void {
  spansLayer.add(stateColour(k, curCo), x0, x1, curY, curH);
  if (curExpanded && x1 - x0 > 40) {
    const name = i >= 0 ? curList.name(i) : openName;
    labels.add(clip(name, x1 - x0 - 6), k === NameClass.RUNNING ? '#111' : '#d8dbe2', Math.max(x0, LABEL_W) + 3, curY + curH / 2);
  }
}

function emitCoCall(i: number, x0: number, x1: number): void {
  callsLayer.add(CALL_CO, x0, x1, curY, curH);
  if (x1 - x0 > 24) labels.add(clip(curList.name(i), x1 - x0 - 4), '#111', Math.max(x0, LABEL_W) + 2, curY + 6);
}

/** Name of the open slice being drawn (open slices are not in a list: index -1). */
let openName = '';

function addOutline(x: number, y: number, w: number, h: number): void {
  if ((nOutlines + 1) * 4 > outlines.length) {
    const a = new Float64Array(outlines.length * 2);
    a.set(outlines);
    outlines = a;
  }
  const o = nOutlines++ * 4;
  outlines[o] = x;
  outlines[o + 1] = y;
  outlines[o + 2] = w;
  outlines[o + 3] = h;
}

/**
 * The aggregation cache of each list (dies with its list). Only the lists drawn by the last
 * frame keep theirs: the others are released at the end of a frame (a row scrolled away, a
 * session closed), so what is kept is bounded by what is on screen.
 */
const caches = new WeakMap<SpanList, AggregateCache>();
let frameNo = 0;
let usedNow: AggregateCache[] = [];
let usedBefore: AggregateCache[] = [];

/** aggregate() of a list over the view, through its cache. */
function pass(list: SpanList, t0: number, t1: number, scale: number, emit: Emit): void {
  let c = caches.get(list);
  if (!c) caches.set(list, (c = new AggregateCache()));
  if (c.frame !== frameNo) {
    c.frame = frameNo;
    usedNow.push(c);
  }
  c.run(list, t0, t1, LABEL_W, scale, emit);
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
  return LABEL_W + (t - cur.s.t0) * cur.scale;
}

function drawThread(f: Frame, r: Row, ry: number): void {
  cur = f;
  const { s, t1, now } = f;
  curY = ry + 2;
  curH = r.h - 5;
  const d0 = r.track.depths[0];
  if (d0) {
    curList = d0;
    pass(d0, s.t0, t1, f.scale, emitThreadSpan);
  }
  const o = r.track.open[0];
  if (o && o.t0 <= t1 && now >= s.t0) {
    const x0 = xOf(o.t0);
    const x1 = Math.max(xOf(now), x0 + 1);
    openName = o.name;
    paintThreadSpan(classOfName(o.name), coOfArgs(o.args), -1, x0, x1, o.t0, now);
  }
  // Calls outside coroutines (depth 0 on plain threads' own tracks is their calls; depth 1 under a slice)
  const d1 = r.track.depths[1];
  if (d1) {
    curList = d1;
    curY = ry + r.h - 4;
    curH = 2;
    pass(d1, s.t0, t1, f.scale, emitCall);
  }
  // Instants on the thread (drops, preemption outside a coroutine)
  alertMarks(r.track, s.t0, t1, ry + 2);
}

function drawCo(f: Frame, r: Row, ry: number): void {
  cur = f;
  const { s, t1, now } = f;
  curCo = r.co ?? 0;
  curExpanded = !!s.expanded[curCo];
  curY = ry + 2;
  curH = (curExpanded ? 18 : r.h) - 4;
  const d0 = r.track.depths[0];
  if (d0) {
    curList = d0;
    pass(d0, s.t0, t1, f.scale, emitCoState);
  }
  const o = r.track.open[0];
  if (o && !r.track.closed && o.t0 <= t1 && now >= s.t0) {
    const x0 = xOf(o.t0);
    openName = o.name;
    paintCoState(classOfName(o.name), -1, x0, Math.max(xOf(now), x0 + 1));
  }
  if (curExpanded) {
    // Hooked calls nested in running spans, with their names.
    const d1 = r.track.depths[1];
    if (d1) {
      curList = d1;
      curY = ry + 20;
      curH = 12;
      pass(d1, s.t0, t1, f.scale, emitCoCall);
    }
  }
  alertMarks(r.track, s.t0, t1, ry + 2);
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
    markers.add(PREEMPTED, xOf(ts), curY);
  }
}

/** Preemptions, deferred preemptions and drops on a row, at most one marker per 2 pixels. */
function alertMarks(t: TrackData, t0: number, t1: number, y: number): void {
  const m = t.alerts;
  if (!m.length) return;
  let lastPx = -10;
  for (let i = m.firstEndingAfter(t0); i < m.length; i++) {
    const ts = m.t0(i);
    if (ts > t1) break;
    const k = nameClass(cur.data, m.nameId(i));
    const colour = k === NameClass.PREEMPTED ? PREEMPTED : k === NameClass.DEFERRED ? DEFERRED : k === NameClass.DROP ? DROP : '';
    if (!colour) continue;
    const px = xOf(ts);
    if (px - lastPx < 2) continue;
    lastPx = px;
    markers.add(colour, px, y);
  }
}

/** Text cut to fit about `px` pixels (11 px font, ~6 px per character). */
function clip(text: string, px: number): string {
  const n = Math.floor(px / 6);
  if (n <= 1) return '';
  return text.length <= n ? text : `${text.slice(0, n - 1)}…`;
}

/** The span under (t) on a row: for tooltips and clicks. */
export function spanAt(r: Row, t: number, tol: number, now: number, depth = 0): { name: string; t0: number; t1: number; args: Args | null } | null {
  const a = r.track.depths[depth];
  if (a && a.length) {
    const i = a.firstEndingAfter(t - tol);
    if (i < a.length && a.t0(i) <= t + tol) return a.get(i);
  }
  const o = depth < r.track.open.length ? r.track.open[depth] : undefined;
  if (o && o.t0 <= t && !r.track.closed) return { ...o, t1: now };
  return null;
}

/** A one-line description of what the timeline dropped, or '' (the bar shows it). */
export function droppedNote(data: SessionData | undefined): string {
  const tl = data?.timeline;
  if (!data || !tl || !tl.droppedBefore) return '';
  return `older spans dropped (before +${fmtDur(Math.max(0, tl.droppedBefore - data.oldest))}; the recording has them)`;
}
