/**
 * Draws the timeline of one session onto a canvas: a time axis, one lane per thread (workers
 * first: which coroutine runs when, idle periods, calls outside coroutines), then one row per
 * coroutine (ready / running / suspended spans; expanded rows also show the hooked calls with
 * their names), preemption markers, and the wake arrows of the selected coroutine. Only what
 * lies in the viewport is visited (binary search per track and depth, rows outside skipped).
 */
import type { SessionData } from '../../data/sessionData.js';
import { firstEndingAfter, firstMarkAfter, type Span, type TrackData } from '../../data/timelineModel.js';
import { coColour, fmtTick, niceStep } from '../../format.js';

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
}

export interface Layout {
  rows: Row[];
  /** Track id -> row. */
  byTrack: Map<number, Row>;
  height: number;
}

/** Rows of every thread track, then every coroutine track (by id), at y offsets from the top of the lanes. */
export function layout(data: SessionData, expanded: Record<number, true>): Layout {
  const rows: Row[] = [];
  const byTrack = new Map<number, Row>();
  let y = 0;
  for (const t of data.timeline.threadTracks()) {
    const r: Row = { y, h: LANE_H, track: t, kind: 'thread' };
    rows.push(r);
    byTrack.set(t.info.id, r);
    y += LANE_H;
  }
  y += HEADER_H;
  const cos: TrackData[] = [];
  for (const t of data.timeline.tracks.values()) if (t.info.kind === 'coroutine') cos.push(t);
  cos.sort((a, b) => (a.info.co ?? 0) - (b.info.co ?? 0));
  for (const t of cos) {
    const co = t.info.co ?? 0;
    const h = expanded[co] ? CO_EXPANDED_H : CO_H;
    const r: Row = { y, h, track: t, kind: 'co', co };
    rows.push(r);
    byTrack.set(t.info.id, r);
    y += h;
  }
  return { rows, byTrack, height: y };
}

const STATE_COLOURS: Record<string, string> = { ready: '#c9a227', idle: '#2a2e38' };

function stateColour(name: string, co: number): string {
  if (name === 'running') return coColour(co);
  if (name.startsWith('suspended')) return '#34496a';
  return STATE_COLOURS[name] ?? '#555';
}

export function draw(ctx: CanvasRenderingContext2D, w: number, h: number, data: SessionData | undefined, s: DrawState,
  lay: Layout | null): void {
  ctx.fillStyle = '#15171c';
  ctx.fillRect(0, 0, w, h);
  if (!data || !lay || !data.range()) {
    ctx.fillStyle = '#8a90a0';
    ctx.font = '13px system-ui, sans-serif';
    ctx.fillText('No events yet.', 12, 40);
    return;
  }
  const plotW = Math.max(1, w - LABEL_W);
  const scale = plotW / s.span;
  const t1 = s.t0 + s.span;
  const x = (t: number) => LABEL_W + (t - s.t0) * scale;
  pxToT = (px: number) => s.t0 + (px - LABEL_W) / scale;
  const now = data.newest;
  const base = data.oldest;
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';

  const top = AXIS_H - s.scrollY;
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, AXIS_H, w, h - AXIS_H);
  ctx.clip();

  const headerY = lay.rows.find((r) => r.kind === 'co')?.y;
  if (headerY !== undefined) {
    ctx.fillStyle = '#8a90a0';
    ctx.fillText('Coroutines', 6, top + headerY - HEADER_H / 2);
  }
  const selTrack = s.selectedCo !== null ? data.timeline.coTracks.get(s.selectedCo) : undefined;

  for (const r of lay.rows) {
    const ry = top + r.y;
    if (ry + r.h < AXIS_H || ry > h) continue;
    if (r.kind === 'co' && r.co === s.selectedCo) {
      ctx.fillStyle = '#24324a';
      ctx.fillRect(0, ry, w, r.h);
    }
    ctx.strokeStyle = '#22252d';
    ctx.beginPath();
    ctx.moveTo(0, ry + r.h - 0.5);
    ctx.lineTo(w, ry + r.h - 0.5);
    ctx.stroke();
    // Spans
    ctx.save();
    ctx.beginPath();
    ctx.rect(LABEL_W, ry, plotW, r.h);
    ctx.clip();
    if (r.kind === 'thread') drawThread(ctx, r, ry, data, s, x, t1, now);
    else drawCo(ctx, r, ry, s, x, t1, now);
    ctx.restore();
    // Label
    ctx.fillStyle = '#1d2027';
    ctx.fillRect(0, ry, LABEL_W, r.h - 1);
    ctx.fillStyle = r.kind === 'co' && r.co === s.selectedCo ? '#fff' : '#d8dbe2';
    const label = r.kind === 'thread'
      ? (r.track.info.worker !== undefined ? `worker ${r.track.info.worker}` : r.track.info.name)
      : `${s.expanded[r.co!] ? '▾' : '▸'} ${r.track.info.name}`;
    ctx.fillText(clip(label, LABEL_W - 10), 6, ry + Math.min(r.h, LANE_H) / 2);
  }

  // Wake arrows of the selected coroutine.
  if (selTrack !== undefined) {
    const flows = data.timeline.flowsTo.get(selTrack) ?? [];
    ctx.strokeStyle = '#ffffff';
    ctx.fillStyle = '#ffffff';
    ctx.lineWidth = 1.2;
    let i = 0;
    // flows arrive in destination order: skip those ending before the view.
    while (i < flows.length && flows[i].toTs < s.t0) i++;
    for (let drawn = 0; i < flows.length && drawn < 2000; i++) {
      const f = flows[i];
      if (f.fromTs > t1) break;
      const a = lay.byTrack.get(f.fromTrack);
      const b = lay.byTrack.get(f.toTrack);
      if (!a || !b) continue;
      const x0 = x(f.fromTs);
      const y0 = top + a.y + Math.min(a.h, LANE_H) / 2;
      const x1 = x(f.toTs);
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

  // Axis
  ctx.fillStyle = '#1d2027';
  ctx.fillRect(0, 0, w, AXIS_H);
  const step = niceStep(s.span, plotW / 110);
  const first = Math.ceil((s.t0 - base) / step) * step;
  ctx.fillStyle = '#8a90a0';
  ctx.strokeStyle = '#2e323c';
  for (let t = first; t <= t1 - base; t += step) {
    const px = Math.round(x(base + t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(px, AXIS_H - 6);
    ctx.lineTo(px, h);
    ctx.globalAlpha = 0.35;
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.fillText(fmtTick(t, step), px + 3, AXIS_H / 2);
  }
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

type X = (t: number) => number;

/** The time at a pixel column of the current frame (set by the draw; linear in px). */
let pxToT: (px: number) => number = (px) => px;

/** Visits the spans of `a` that intersect [t0, t1]. When fn paints up to pixel x1 (its return
 *  value), every span ending inside that pixel is skipped with one binary search: the work per
 *  track is bounded by the plot's width, not by the number of spans in view. */
function eachVisible(a: readonly Span[] | undefined, t0: number, t1: number, fn: (s: Span) => number | void): void {
  if (!a) return;
  let i = firstEndingAfter(a, t0);
  while (i < a.length && a[i].t0 <= t1) {
    const painted = fn(a[i]);
    if (typeof painted === 'number') {
      const j = firstEndingAfter(a, pxToT(Math.floor(painted) + 1));
      i = j > i ? j : i + 1;
    } else i++;
  }
}

function drawThread(ctx: CanvasRenderingContext2D, r: Row, ry: number, data: SessionData, s: DrawState, x: X, t1: number,
  now: number): void {
  const y = ry + 2;
  const hh = r.h - 5;
  let lastPx = -1;
  const one = (sp: { t0: number; t1: number; name: string; args: Span['args'] }) => {
    const x0 = x(sp.t0);
    const x1 = Math.max(x(sp.t1), x0 + 1);
    if (x1 <= lastPx) return; // sub-pixel: the pixel is painted already
    lastPx = Math.floor(x1);
    const co = typeof sp.args?.co === 'number' ? sp.args.co : 0;
    ctx.fillStyle = sp.name === 'idle' ? STATE_COLOURS.idle : coColour(co);
    ctx.fillRect(x0, y, x1 - x0, hh);
    if (co && co === s.selectedCo) {
      ctx.strokeStyle = '#fff';
      ctx.strokeRect(x0 + 0.5, y + 0.5, x1 - x0 - 1, hh - 1);
    }
    if (x1 - x0 > 30 && sp.name !== 'idle') {
      ctx.fillStyle = '#111';
      ctx.fillText(clip(sp.name, x1 - x0 - 6), Math.max(x0, LABEL_W) + 3, y + hh / 2);
    }
    if (co && x1 - x0 > 3) preemptMarks(ctx, data, co, sp.t0, sp.t1, x, y);
    return x1;
  };
  eachVisible(r.track.depths[0], s.t0, t1, one);
  for (const o of r.track.open.slice(0, 1)) if (o.t0 <= t1) one({ t0: o.t0, t1: now, name: o.name, args: o.args });
  // Calls outside coroutines (depth 0 on plain threads' own tracks is their calls; depth 1 under a slice)
  ctx.fillStyle = '#e0e0e0';
  lastPx = -1;
  eachVisible(r.track.depths[1], s.t0, t1, (sp) => {
    const x0 = x(sp.t0);
    const x1 = Math.max(x(sp.t1), x0 + 1);
    if (x1 <= lastPx) return;
    lastPx = Math.floor(x1);
    ctx.fillRect(x0, ry + r.h - 4, x1 - x0, 2);
    return x1;
  });
  // Instants on the thread (drops, preemption outside a coroutine)
  marks(ctx, r.track, s.t0, t1, x, y);
}

function preemptMarks(ctx: CanvasRenderingContext2D, data: SessionData, co: number, t0: number, t1: number, x: X, y: number): void {
  const tr = data.timeline.trackOfCo(co);
  if (!tr || !tr.marks.length) return;
  for (let i = firstMarkAfter(tr.marks, t0); i < tr.marks.length && tr.marks[i].ts <= t1 + 1; i++) {
    if (tr.marks[i].name !== 'preempted') continue;
    const px = x(tr.marks[i].ts);
    ctx.fillStyle = '#ff5a5a';
    ctx.beginPath();
    ctx.moveTo(px - 4, y);
    ctx.lineTo(px + 4, y);
    ctx.lineTo(px, y + 6);
    ctx.fill();
  }
}

function marks(ctx: CanvasRenderingContext2D, t: TrackData, t0: number, t1: number, x: X, y: number): void {
  let lastPx = -10;
  for (let i = firstMarkAfter(t.marks, t0); i < t.marks.length && t.marks[i].ts <= t1; i++) {
    const m = t.marks[i];
    const colour = m.name === 'preempted' ? '#ff5a5a' : m.name === 'preempt deferred' ? '#ffb86b' : m.name === 'drop' ? '#ff00ff' : '';
    if (!colour) continue;
    const px = x(m.ts);
    if (px - lastPx < 2) continue;
    lastPx = px;
    ctx.fillStyle = colour;
    ctx.beginPath();
    ctx.moveTo(px - 4, y);
    ctx.lineTo(px + 4, y);
    ctx.lineTo(px, y + 6);
    ctx.fill();
  }
}

function drawCo(ctx: CanvasRenderingContext2D, r: Row, ry: number, s: DrawState, x: X, t1: number, now: number): void {
  const co = r.co ?? 0;
  const expanded = !!s.expanded[co];
  const y = ry + 2;
  const hh = (expanded ? 18 : r.h) - 4;
  let lastPx = -1;
  const one = (sp: { t0: number; t1: number; name: string }) => {
    const x0 = x(sp.t0);
    const x1 = Math.max(x(sp.t1), x0 + 1);
    if (x1 <= lastPx) return;
    lastPx = Math.floor(x1);
    ctx.fillStyle = stateColour(sp.name, co);
    ctx.fillRect(x0, y, x1 - x0, hh);
    if (expanded && x1 - x0 > 40) {
      ctx.fillStyle = sp.name === 'running' ? '#111' : '#d8dbe2';
      ctx.fillText(clip(sp.name, x1 - x0 - 6), Math.max(x0, LABEL_W) + 3, y + hh / 2);
    }
    return x1;
  };
  eachVisible(r.track.depths[0], s.t0, t1, one);
  if (!r.track.closed) for (const o of r.track.open.slice(0, 1)) if (o.t0 <= t1) one({ t0: o.t0, t1: now, name: o.name });
  if (expanded) {
    // Hooked calls nested in running spans, with their names.
    const cy = ry + 20;
    lastPx = -1;
    eachVisible(r.track.depths[1], s.t0, t1, (sp) => {
      const x0 = x(sp.t0);
      const x1 = Math.max(x(sp.t1), x0 + 1);
      if (x1 <= lastPx) return;
      lastPx = Math.floor(x1);
      ctx.fillStyle = '#8fb3e0';
      ctx.fillRect(x0, cy, x1 - x0, 12);
      if (x1 - x0 > 24) {
        ctx.fillStyle = '#111';
        ctx.fillText(clip(sp.name, x1 - x0 - 4), Math.max(x0, LABEL_W) + 2, cy + 6);
      }
      return x1;
    });
  }
  marks(ctx, r.track, s.t0, t1, x, y);
}

/** Text cut to fit about `px` pixels (11 px font, ~6 px per character). */
function clip(text: string, px: number): string {
  const n = Math.floor(px / 6);
  if (n <= 1) return '';
  return text.length <= n ? text : `${text.slice(0, n - 1)}…`;
}

/** The span under (t) on a row: for tooltips and clicks. */
export function spanAt(r: Row, t: number, tol: number, now: number, depth = 0): { name: string; t0: number; t1: number; args: Span['args'] } | null {
  const a = r.track.depths[depth];
  if (a) {
    const i = firstEndingAfter(a, t - tol);
    if (i < a.length && a[i].t0 <= t + tol) return a[i];
  }
  const o = depth < r.track.open.length ? r.track.open[depth] : undefined;
  if (o && o.t0 <= t && !r.track.closed) return { ...o, t1: now };
  return null;
}
