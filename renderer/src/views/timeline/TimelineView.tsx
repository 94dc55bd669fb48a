import { frameText } from '@core/events/frames.js';
import { stackFrames } from '../coroutines/stackFrames.js';
import { useEffect, useRef } from 'react';
import { sessionFacts, useDataStore } from '../../stores/data.js';
import { useSessions } from '../../stores/sessions.js';
import { useUi } from '../../stores/ui.js';
import { fmtDur } from '../../format.js';
import { query } from '../../worker/client.js';
import type { FrameRequest } from '../../worker/protocol.js';
import { AXIS_H, draw, droppedNote, firstRowBelow, LABEL_W, layout, type Layout } from './draw.js';
import { rowsIn } from './geometry.js';
import { FrameSource } from './frameSource.js';
import { noteInteraction } from '../../stores/interaction.js';
import { useOverlays } from '../../stores/overlays.js';
import { Legend } from './Legend.js';

const MIN_SPAN = 200; // ns
const MAX_SPAN = 3600e9;

/** Newest range of each session's data the timeline saw (for Fit). */
const ranges = new Map<string, { min: number; max: number }>();

/**
 * The timeline canvas: painted at most once per animation frame, and only when an answer,
 * the viewport, selection or size changed. What it paints is the data worker's answer to the
 * frame query for the rows in view (FrameSource: one request in flight, the newest answer
 * painted moved onto the current viewport meanwhile), so pan and zoom follow the input at once.
 * Wheel zooms around the cursor (shift+wheel scrolls the lanes), drag pans, arrow keys pan /
 * scroll, +/- zoom, F toggles follow-live; click selects a coroutine, a click on a coroutine's
 * label expands it. The canvas carries data-events (events in the data its frame was made from)
 * and data-rects (rectangles the last frame filled) for tests and benchmarks; the bar says when
 * older spans were dropped (data-testid timeline-dropped).
 */
export function TimelineView({ sessionId }: { sessionId: string }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const hoverRef = useRef<HTMLSpanElement>(null);
  const droppedRef = useRef<HTMLSpanElement>(null);
  const lodRef = useRef<HTMLSpanElement>(null);
  const followLive = useUi((s) => s.followLive);
  // "Follow live" exists only while the session is live; a recording being opened is fitted as it loads.
  const live = useSessions((s) => {
    const x = s.list.find((e) => e.id === sessionId);
    return !!x && x.kind !== 'replay' && x.state === 'running';
  });
  const liveRef = useRef(live);
  liveRef.current = live;
  const viewSpan = useUi((s) => s.viewport.span);
  const selectedCo = useUi((s) => s.selectedCo);
  const legendOpen = useOverlays((s) => s.legend);

  useEffect(() => {
    const canvas = canvasRef.current!;
    // Opaque: the draw fills every pixel, and the compositor need not blend the canvas.
    const ctx = canvas.getContext('2d', { alpha: false })!;
    let dirty = true;
    /** Something the frame depends on changed: ask the worker for a new one. */
    let needFrame = true;
    let raf = 0;
    let scrollY = 0;
    let lay: Layout | null = null;
    let layTracks: unknown = null;
    let layExpanded: Record<number, true> | null = null;
    let fitted = false;
    let dropped = '';
    let lodHint = '';
    // An animation frame is requested only when something changed (nothing runs while idle).
    const schedule = () => {
      if (!raf) raf = requestAnimationFrame(frame);
    };
    /** Paint (an answer arrived). */
    const markDirty = () => {
      dirty = true;
      schedule();
    };
    /** Input (viewport, selection, size, scroll): paint the last answer moved at once, and ask anew. */
    const markStale = () => {
      needFrame = true;
      markDirty();
    };
    /** New data: ask anew, and paint when the answer comes (one paint per answer while streaming). */
    const markData = () => {
      needFrame = true;
      schedule();
    };
    /** Set while the frame itself moves the viewport (fit, follow live): not an input. */
    let selfUpdate = false;
    const setViewport = (v: { t0: number; span: number }) => {
      selfUpdate = true;
      try {
        ui().setViewport(v);
      } finally {
        selfUpdate = false;
      }
    };
    const src = new FrameSource(sessionId, markDirty, markStale);
    const ui = () => useUi.getState();
    // The range from the session's newest version notice (or frame): fitting and following
    // live need no round trip.
    const range = () => {
      const f = sessionFacts(sessionId) ?? src.frame;
      return f && f.newest > 0 ? { min: f.oldest, max: f.newest } : null;
    };

    // The canvas's CSS size, kept by the ResizeObserver (no layout read per frame or event).
    let cssW = 0;
    let cssH = 0;
    const size = () => {
      if (!cssW || !cssH) {
        const r = canvas.getBoundingClientRect();
        cssW = r.width;
        cssH = r.height;
      }
      return { w: cssW, h: cssH, dpr: window.devicePixelRatio || 1 };
    };

    function frame() {
      raf = 0;
      if (!dirty && !needFrame) return;
      const { w, h, dpr } = size();
      const st = ui();
      let { t0, span } = st.viewport;
      const r = range();
      if (r) ranges.set(sessionId, r);
      if (st.viewportPinned && r) {
        // Opened on a moment (jumpTo): keep that viewport.
        fitted = true;
        st.unpinViewport();
      }
      if (r) {
        const full = Math.max(r.max - r.min, 1e6);
        const follow = liveRef.current && st.followLive;
        if (!fitted || ((follow || !liveRef.current) && st.autoSpan)) {
          // A new session, or following a young one: show all of it (the last 10 s of an older one).
          fitted = true;
          span = Math.min(full * 1.05, 10e9);
          t0 = r.max - span * 0.98;
          if (t0 !== st.viewport.t0 || span !== st.viewport.span) setViewport({ t0, span });
        } else if (follow) {
          const want = r.max - span * 0.95;
          if (want !== t0) {
            t0 = want;
            setViewport({ t0, span });
          }
        }
      }
      src.needTracks(sessionFacts(sessionId)?.tracksVersion);
      if (src.tracks && (!lay || layTracks !== src.tracks || layExpanded !== st.expanded)) {
        lay = layout(src.tracks, st.expanded);
        layTracks = src.tracks;
        layExpanded = st.expanded;
        needFrame = true;
      }
      if (lay) scrollY = Math.max(0, Math.min(scrollY, lay.height - (h - AXIS_H) + 20));
      // Nothing to ask before the track list is known (the first one is on its way).
      if (needFrame && lay) {
        needFrame = false;
        src.request(frameRequest(lay, w, h, t0, span, scrollY, st.selectedCo));
      }
      if (!dirty) return;
      dirty = false;
      if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
        canvas.width = Math.round(w * dpr);
        canvas.height = Math.round(h * dpr);
      }
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      const painted = draw(ctx, w, h, src.frame, { t0, span, scrollY, selectedCo: st.selectedCo }, lay);
      // How many events the drawn data holds (for tests and benchmarks: "everything is drawn").
      const events = String(src.frame?.events ?? 0);
      if (canvas.dataset.events !== events) canvas.dataset.events = events;
      // The newest timestamp the drawn data holds (ns; benchmarks: how far the timeline is behind live).
      const newest = String(src.frame?.newest ?? 0);
      if (canvas.dataset.newest !== newest) canvas.dataset.newest = newest;
      canvas.dataset.rects = String(painted.rects);
      canvas.dataset.markers = String(painted.markers);
      canvas.dataset.labels = String(painted.labels);
      // What answered (a big trace: its overview or the detail of a window), for people and tests.
      const source = src.frame?.source ?? '';
      if (canvas.dataset.source !== source) canvas.dataset.source = source;
      const hint =
        source === 'overview' ? 'overview — zoom in for detail' : source === 'loading' ? 'loading detail…' : '';
      if (hint !== lodHint && lodRef.current) {
        lodHint = hint;
        lodRef.current.textContent = hint;
      }
      const note = droppedNote(src.frame);
      if (note !== dropped && droppedRef.current) {
        dropped = note;
        droppedRef.current.textContent = note;
      }
    }
    raf = requestAnimationFrame(frame);

    const unsubData = useDataStore.subscribe((s, prev) => {
      if (s.versions[sessionId] !== prev.versions[sessionId]) {
        if ((s.versions[sessionId] ?? 0) === 1 || !range()) fitted = false;
        markData();
      }
    });
    const unsubUi = useUi.subscribe(() => {
      if (selfUpdate) needFrame = true;
      else markStale();
    });
    const ro = new ResizeObserver(() => {
      // Read here, after layout, as the draw did before: the border box.
      const r = canvas.getBoundingClientRect();
      cssW = r.width;
      cssH = r.height;
      markStale();
    });
    ro.observe(canvas);

    const zoom = (factor: number, atX: number) => {
      const { w } = size();
      const { t0, span } = ui().viewport;
      const plotW = Math.max(1, w - LABEL_W);
      const frac = Math.min(1, Math.max(0, (atX - LABEL_W) / plotW));
      const t = t0 + frac * span;
      const ns = Math.min(MAX_SPAN, Math.max(MIN_SPAN, span * factor));
      ui().zoomTo({ t0: t - frac * ns, span: ns });
    };
    const pan = (dxPx: number) => {
      const { w } = size();
      const { t0, span } = ui().viewport;
      ui().setViewport({ t0: t0 - (dxPx / Math.max(1, w - LABEL_W)) * span, span }, false);
    };

    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      noteInteraction();
      if (e.shiftKey) {
        scrollY = Math.max(0, scrollY + e.deltaY);
        markStale();
      } else if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        pan(-e.deltaX);
      } else {
        zoom(Math.exp(e.deltaY * 0.002), e.offsetX);
      }
    };
    let drag: { x: number; y: number; moved: boolean } | null = null;
    const onDown = (e: MouseEvent) => {
      // A press starts a drag, as likely as not: background streams yield from now on.
      noteInteraction();
      drag = { x: e.clientX, y: e.clientY, moved: false };
      canvas.focus();
    };
    const onMove = (e: MouseEvent) => {
      if (drag) {
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
        if (drag.moved) {
          noteInteraction();
          if (dx) pan(dx);
          if (dy) {
            scrollY = Math.max(0, scrollY - dy);
            markStale();
          }
          drag.x = e.clientX;
          drag.y = e.clientY;
          // No tooltip while dragging: it would cost a worker query and a layout per move.
          return;
        }
      }
      hover(e);
    };
    const rowAt = (offsetY: number) => {
      if (!lay || offsetY < AXIS_H) return null;
      const y = offsetY - AXIS_H + scrollY;
      const rows = lay.rows;
      const lo = firstRowBelow(rows, y);
      return lo < rows.length && y >= rows[lo].y ? rows[lo] : null;
    };
    const timeAt = (offsetX: number) => {
      const { w } = size();
      const { t0, span } = ui().viewport;
      return t0 + ((offsetX - LABEL_W) / Math.max(1, w - LABEL_W)) * span;
    };
    /** The span under a point, asked of the worker (null: none). */
    const spanUnder = (r: NonNullable<ReturnType<typeof rowAt>>, t: number, depth: number) => {
      const tol = (ui().viewport.span / Math.max(1, size().w - LABEL_W)) * 2;
      return query(sessionId, 'spanAt', { track: r.track.id, t, tol, depth });
    };
    let hoverSeq = 0;
    const hover = (e: MouseEvent) => {
      const el = hoverRef.current;
      if (!el || !src.frame) return;
      const seq = ++hoverSeq;
      const r = rowAt(e.offsetY);
      if (!r || e.offsetX < LABEL_W) {
        el.textContent = r ? r.track.name : '';
        return;
      }
      const t = timeAt(e.offsetX);
      const base = src.frame.oldest;
      const expandedCall = r.kind === 'co' && ui().expanded[r.co ?? 0] && e.offsetY - AXIS_H + scrollY - r.y >= 18;
      spanUnder(r, t, expandedCall ? 1 : 0).then(
        (sp) => {
          if (seq !== hoverSeq) return; // a newer hover is on its way
          if (sp?.stack)
            stackFrames(sessionId, sp.stack).then(
              (f) => {
                if (seq === hoverSeq && f.length)
                  el.textContent += ` — ${sp.stack!.why === 1 ? 'parked in' : 'at'} ${f
                    .slice(0, 3)
                    .map(frameText)
                    .join(' ← ')}`;
              },
              () => {},
            );
          el.textContent = sp
            ? `${r.track.name}: ${sp.name} — ${fmtDur(sp.t1 - sp.t0)} at +${fmtDur(sp.t0 - base)}${
                sp.args
                  ? ' ' +
                    Object.entries(sp.args)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(' ')
                  : ''
              }`
            : `${r.track.name} at +${fmtDur(t - base)}`;
        },
        () => {
          /* the session is gone */
        },
      );
    };
    const onUp = (e: MouseEvent) => {
      const wasDrag = drag?.moved;
      drag = null;
      if (wasDrag || e.target !== canvas) return;
      const r = rowAt(e.offsetY);
      if (!src.frame || !r) return;
      if (r.kind === 'co') {
        if (e.offsetX < LABEL_W) ui().toggleExpanded(r.co!);
        else ui().select(r.co!);
        return;
      }
      if (e.offsetX < LABEL_W) return;
      spanUnder(r, timeAt(e.offsetX), 0).then(
        (sp) => {
          ui().select(sp && typeof sp.args?.co === 'number' ? sp.args.co : null);
        },
        () => {
          /* the session is gone */
        },
      );
    };
    const onKey = (e: KeyboardEvent) => {
      noteInteraction();
      const { w } = size();
      const step = (w - LABEL_W) / 4;
      if (e.key === 'ArrowLeft') pan(step);
      else if (e.key === 'ArrowRight') pan(-step);
      else if (e.key === 'ArrowUp') {
        scrollY = Math.max(0, scrollY - 60);
        markStale();
      } else if (e.key === 'ArrowDown') {
        scrollY += 60;
        markStale();
      } else if (e.key === '+' || e.key === '=') zoom(0.5, LABEL_W + (w - LABEL_W) / 2);
      else if (e.key === '-') zoom(2, LABEL_W + (w - LABEL_W) / 2);
      else if ((e.key === 'f' || e.key === 'F') && liveRef.current) ui().setFollowLive(!ui().followLive);
      else return;
      e.preventDefault();
    };
    canvas.addEventListener('wheel', onWheel, { passive: false });
    canvas.addEventListener('mousedown', onDown);
    window.addEventListener('mousemove', onMove);
    window.addEventListener('mouseup', onUp);
    canvas.addEventListener('keydown', onKey);
    return () => {
      src.close();
      cancelAnimationFrame(raf);
      unsubData();
      unsubUi();
      ro.disconnect();
      canvas.removeEventListener('wheel', onWheel);
      canvas.removeEventListener('mousedown', onDown);
      window.removeEventListener('mousemove', onMove);
      window.removeEventListener('mouseup', onUp);
      canvas.removeEventListener('keydown', onKey);
    };
  }, [sessionId]);

  const zoomBy = (f: number) => {
    noteInteraction();
    const { t0, span } = useUi.getState().viewport;
    const ns = Math.min(MAX_SPAN, Math.max(MIN_SPAN, span * f));
    useUi.getState().zoomTo({ t0: t0 + (span - ns) / 2, span: ns });
  };
  const fit = () => {
    const r = ranges.get(sessionId);
    if (r) useUi.getState().zoomTo({ t0: r.min, span: Math.max(r.max - r.min, MIN_SPAN) * 1.02 }, false);
  };

  return (
    <>
      <div className="timeline-bar">
        {live && (
          <label>
            <input
              type="checkbox"
              data-testid="timeline-follow"
              checked={followLive}
              onChange={(e) => useUi.getState().setFollowLive(e.target.checked)}
            />{' '}
            follow live
          </label>
        )}
        <button data-testid="timeline-zoom-in" onClick={() => zoomBy(0.5)}>
          +
        </button>
        <button data-testid="timeline-zoom-out" onClick={() => zoomBy(2)}>
          −
        </button>
        <button data-testid="timeline-fit" onClick={fit}>
          Fit
        </button>
        <span className="dim" data-testid="timeline-span">
          {fmtDur(viewSpan)} shown
        </span>
        <span className="dim" data-testid="timeline-dropped" ref={droppedRef} />
        <span className="dim" data-testid="timeline-lod" ref={lodRef} />
        {selectedCo !== null && (
          <span>
            selected #{selectedCo}{' '}
            <button data-testid="timeline-clear-selection" onClick={() => useUi.getState().select(null)}>
              clear
            </button>
          </span>
        )}
        <button
          data-testid="timeline-legend-toggle"
          aria-pressed={legendOpen}
          title="what the colours mean (L)"
          onClick={() => useOverlays.getState().setLegend(!legendOpen)}
        >
          Legend
        </button>
        <span className="dim">wheel: zoom · shift+wheel: scroll · drag: pan · ←→ ↑↓ + − F · ? all keys</span>
        <span
          ref={hoverRef}
          data-testid="timeline-hover"
          style={{
            marginLeft: 'auto',
            maxWidth: '50%',
            overflow: 'hidden',
            textOverflow: 'ellipsis',
            whiteSpace: 'nowrap',
          }}
        />
      </div>
      <div className="timeline-wrap">
        <canvas ref={canvasRef} data-testid="timeline-canvas" tabIndex={0} />
        <Legend />
      </div>
    </>
  );
}

/**
 * The frame query for the rows in view of a layout (none before the track list is known), and
 * half a view more above and below, so a scroll shows rows at once while its own frame is made.
 */
export function frameRequest(
  lay: Layout | null,
  w: number,
  h: number,
  t0: number,
  span: number,
  scrollY: number,
  selectedCo: number | null,
): FrameRequest {
  const rows: FrameRequest['rows'] = [];
  if (lay) {
    const more = Math.max(0, (h - AXIS_H) / 2);
    const [first, last] = rowsIn(lay.rows, Math.max(0, scrollY - more), scrollY + h - AXIS_H + more);
    for (let k = first; k < last; k++) {
      const r = lay.rows[k];
      rows.push({ track: r.track.id, kind: r.kind, co: r.co ?? 0, y: r.y, h: r.h, expanded: !!r.expanded });
    }
  }
  return { t0, span, left: LABEL_W, width: w, rows, selectedCo };
}
