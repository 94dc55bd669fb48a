/**
 * The timeline's geometry, pure and shared by the page (draw.ts, hit tests) and the data worker
 * (timelineFrame.ts): sizes, the rows' layout from the track list (worker/protocol.ts
 * TracksAnswer), and label clipping.
 */
import type { TrackRow, TracksAnswer } from '../../worker/protocol.js';

export const LABEL_W = 150;
export const AXIS_H = 24;
export const LANE_H = 24;
export const CO_H = 14;
export const CO_EXPANDED_H = 36;
export const HEADER_H = 18;

export interface Row {
  y: number;
  h: number;
  track: TrackRow;
  kind: 'thread' | 'co';
  co?: number;
  /** The row's label as drawn. */
  label: string;
  /** A coroutine row opened to show its calls. */
  expanded?: boolean;
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
export function layout(tracks: TracksAnswer, expanded: Record<number, true>, threadsOnly = false): Layout {
  const rows: Row[] = [];
  const byTrack = new Map<number, Row>();
  let y = 0;
  for (const t of tracks.threads) {
    const label = clip(t.worker !== undefined ? `worker ${t.worker}` : t.name, LABEL_W - 10);
    const r: Row = { y, h: LANE_H, track: t, kind: 'thread', label };
    rows.push(r);
    byTrack.set(t.id, r);
    y += LANE_H;
  }
  if (threadsOnly) return { rows, byTrack, height: y };
  y += HEADER_H;
  const coY = tracks.coroutines.length ? y : undefined;
  for (const t of tracks.coroutines) {
    const co = t.co ?? 0;
    const h = expanded[co] ? CO_EXPANDED_H : CO_H;
    const r: Row = {
      y,
      h,
      track: t,
      kind: 'co',
      co,
      expanded: !!expanded[co],
      label: clip(`${expanded[co] ? '▾' : '▸'} ${t.name}`, LABEL_W - 10),
    };
    rows.push(r);
    byTrack.set(t.id, r);
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

/** The rows with any part in [y0, y1] (lane coordinates): [first, last). */
export function rowsIn(rows: readonly Row[], y0: number, y1: number): [number, number] {
  const first = firstRowBelow(rows, y0);
  let last = first;
  while (last < rows.length && rows[last].y <= y1) last++;
  return [first, last];
}

/** Text cut to fit about `px` pixels (11 px font, ~6 px per character). */
export function clip(text: string, px: number): string {
  const n = Math.floor(px / 6);
  if (n <= 1) return '';
  return text.length <= n ? text : `${text.slice(0, n - 1)}…`;
}
