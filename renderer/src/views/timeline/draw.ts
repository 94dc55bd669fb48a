/**
 * Paints one timeline frame onto a canvas: the time axis, the rows' backgrounds, separators and
 * labels (from the layout, geometry.ts), and the data worker's answer to the frame query
 * (worker/protocol.ts TimelineFrame: per-pixel aggregated rectangles grouped by colour,
 * outlines, markers, span labels, wake arrows), then where older spans were dropped and the
 * "now" line. Nothing here reads events or spans: the cost of a frame is the size of the answer,
 * which is bounded by the plot's size.
 *
 * The answer may be for an older viewport than the one shown (the next one is on its way while
 * the user pans or zooms): it is painted moved and stretched onto the current viewport, so the
 * canvas follows the input at once and sharpens when the newest answer arrives.
 */
import type { TimelineFrame } from '../../worker/protocol.js';
import { fmtDur, fmtTick, niceStep } from '../../format.js';
import { AXIS_H, clip, HEADER_H, LABEL_W, LANE_H, rowsIn, type Layout } from './geometry.js';

export { AXIS_H, LABEL_W, firstRowBelow, layout, type Layout, type Row } from './geometry.js';

const BG = '#15171c';

export interface DrawState {
  t0: number;
  span: number;
  scrollY: number;
  selectedCo: number | null;
}

/** What a frame painted (tests, benchmarks): per call, so canvases never share it. */
export interface Painted {
  rows: number;
  rects: number;
  labels: number;
  markers: number;
}

/** The canvas's state as the frame query asks for it: the rows in view at scrollY. */
export function visibleRows(lay: Layout, h: number, scrollY: number): [number, number] {
  return rowsIn(lay.rows, scrollY, scrollY + h - AXIS_H);
}

export function draw(
  ctx: CanvasRenderingContext2D,
  w: number,
  h: number,
  f: TimelineFrame | null,
  s: DrawState,
  lay: Layout | null,
): Painted {
  ctx.fillStyle = BG;
  ctx.fillRect(0, 0, w, h);
  if (!f || !lay || !(f.newest > 0)) {
    ctx.fillStyle = '#8a90a0';
    ctx.font = '13px system-ui, sans-serif';
    ctx.fillText('No events yet.', 12, 40);
    return { rows: 0, rects: 0, labels: 0, markers: 0 };
  }
  const plotW = Math.max(1, w - LABEL_W);
  const scale = plotW / s.span;
  // The view starts on a whole pixel of the grid the worker snaps its answers to, so an answer
  // for a panned viewport lands on whole pixels (no antialiased edges to fill).
  const nsPerPx = s.span / plotW;
  s = { ...s, t0: Math.round(s.t0 / nsPerPx) * nsPerPx, scrollY: Math.round(s.scrollY) };
  const t1 = s.t0 + s.span;
  const x = (t: number) => LABEL_W + (t - s.t0) * scale;
  const now = f.newest;
  const base = f.oldest;
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
  const [first, last] = visibleRows(lay, h, s.scrollY);

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

  // The answer, in the plot: moved and stretched from its viewport onto this one.
  ctx.save();
  ctx.beginPath();
  ctx.rect(LABEL_W, AXIS_H, plotW, h - AXIS_H);
  ctx.clip();
  const fScale = Math.max(1, f.width - f.left) / f.span;
  const stretch = scale / fScale;
  // x in the answer -> x now: moved by a pan, stretched by a zoom; rectangles snapped to pixels.
  const shift = LABEL_W + (f.t0 - s.t0) * scale - f.left * stretch;
  const fx = (xf: number) => shift + xf * stretch;
  let colour = -1;
  const r = f.rects;
  for (let k = 0, o = 0; o < r.length; k++, o += 4) {
    if (f.rectColour[k] !== colour) ctx.fillStyle = f.colours[(colour = f.rectColour[k])];
    const x0 = Math.round(shift + r[o] * stretch);
    const x1 = Math.round(shift + (r[o] + r[o + 2]) * stretch);
    ctx.fillRect(x0, top + r[o + 1], Math.max(1, x1 - x0), r[o + 3]);
  }
  if (f.outlines.length) {
    ctx.strokeStyle = '#fff';
    ctx.beginPath();
    const a = f.outlines;
    for (let o = 0; o < a.length; o += 4) ctx.rect(fx(a[o]), top + a[o + 1], a[o + 2] * stretch, a[o + 3]);
    ctx.stroke();
  }
  ctx.restore();

  // Markers and labels keep their size: placed by the same mapping, drawn unstretched.
  ctx.save();
  ctx.beginPath();
  ctx.rect(LABEL_W, AXIS_H, plotW, h - AXIS_H);
  ctx.clip();
  markerPaths(ctx, f, fx, top);
  colour = -1;
  for (let k = 0; k < f.labels.length; k++) {
    if (f.labelColour[k] !== colour) ctx.fillStyle = f.colours[(colour = f.labelColour[k])];
    ctx.fillText(f.labels[k], Math.max(LABEL_W + 3, fx(f.labelXY[k * 2])), top + f.labelXY[k * 2 + 1]);
  }
  // Where older spans were dropped (the model keeps a bounded window; the recording has everything).
  if (f.droppedBefore > s.t0) {
    const xd = Math.min(w, x(f.droppedBefore));
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
    const row = lay.rows[k];
    const ry = top + row.y;
    ctx.fillStyle = '#1d2027';
    ctx.fillRect(0, ry, LABEL_W, row.h - 1);
    ctx.fillStyle = row.kind === 'co' && row.co === s.selectedCo ? '#fff' : '#d8dbe2';
    ctx.fillText(row.label, 6, ry + Math.min(row.h, LANE_H) / 2);
  }

  // Wake arrows of the selected coroutine.
  const fl = f.flows;
  if (fl.length) {
    ctx.strokeStyle = '#ffffff';
    ctx.fillStyle = '#ffffff';
    ctx.lineWidth = 1.2;
    for (let o = 0; o < fl.length; o += 4) {
      const x0 = fx(fl[o]);
      const y0 = top + fl[o + 1];
      const x1 = fx(fl[o + 2]);
      const y1 = top + fl[o + 3];
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      ctx.bezierCurveTo(x0 + 20, y0, x1 - 20, y1, x1, y1);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(x1, y1);
      ctx.lineTo(x1 - 6, y1 - 3);
      ctx.lineTo(x1 - 6, y1 + 3);
      ctx.fill();
    }
    ctx.lineWidth = 1;
  }
  ctx.restore();
  const painted: Painted = {
    rows: last - first,
    rects: f.rectColour.length,
    labels: f.labels.length,
    markers: f.markerColour.length,
  };

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
  for (let t = firstTick; t <= t1 - base; t += step)
    ctx.fillText(fmtTick(t, step), Math.round(x(base + t)) + 3.5, AXIS_H / 2);
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
  return painted;
}

/**
 * The marker triangles (pointing down, tip's top at the marker's x y): one path per colour, each
 * triangle three pixel-aligned rectangles (9, 7 and 3 px wide, 2 px tall). A software canvas
 * rasterises an antialiased path per triangle about ten times slower than these (measured in
 * Chromium without a GPU: ~11 ms for 1,000 triangles against ~1.3 ms), and a whole-trace view has
 * about a thousand.
 */
export function markerPaths(
  ctx: CanvasRenderingContext2D,
  f: Pick<TimelineFrame, 'markers' | 'markerColour' | 'colours'>,
  fx: (x: number) => number,
  top: number,
): void {
  const m = f.markers;
  const mc = f.markerColour;
  const n = mc.length;
  if (!n) return;
  // The colours present, in order of first use (a frame has a handful).
  const seen: number[] = [];
  for (let k = 0; k < n; k++) if (!seen.includes(mc[k])) seen.push(mc[k]);
  for (const c of seen) {
    ctx.fillStyle = f.colours[c];
    ctx.beginPath();
    for (let k = 0; k < n; k++) {
      if (mc[k] !== c) continue;
      const x = Math.round(fx(m[k * 2]));
      const y = Math.round(top + m[k * 2 + 1]);
      ctx.rect(x - 4, y, 9, 2);
      ctx.rect(x - 3, y + 2, 7, 2);
      ctx.rect(x - 1, y + 4, 3, 2);
    }
    ctx.fill();
  }
}

/** A one-line description of what the timeline dropped, or '' (the bar shows it). */
export function droppedNote(f: Pick<TimelineFrame, 'droppedBefore' | 'oldest'> | null): string {
  if (!f || !f.droppedBefore) return '';
  return `older spans dropped (before +${fmtDur(Math.max(0, f.droppedBefore - f.oldest))}; the recording has them)`;
}
