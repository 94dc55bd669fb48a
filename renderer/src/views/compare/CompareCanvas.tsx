import { useEffect, useRef } from 'react';
import { sessionFacts, useDataStore } from '../../stores/data.js';
import { AXIS_H, draw, LABEL_W, layout, type Layout } from '../timeline/draw.js';
import { FrameSource } from '../timeline/frameSource.js';
import { frameRequest } from '../timeline/TimelineView.js';
import { useCompare, type RelViewport } from './compareStore.js';

const LANE_H = 24;
const MIN_SPAN = 1e3;
const MAX_SPAN = 3600e9;

/**
 * One session's worker lanes (the Timeline's drawing, thread rows only), its time axis relative
 * to its own first event; the viewport is Compare's shared one, so wheel zoom and drag pan here
 * move both canvases.
 */
export function CompareCanvas({ sessionId, fit, testId }: { sessionId: string; fit: RelViewport; testId: string }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const wrapRef = useRef<HTMLDivElement>(null);
  const fitRef = useRef(fit);
  fitRef.current = fit;
  const markRef = useRef(() => {});
  const viewport = useCompare((s) => s.viewport) ?? fit;

  useEffect(() => {
    const canvas = canvasRef.current!;
    const ctx = canvas.getContext('2d')!;
    let dirty = true;
    let needFrame = true;
    let raf = 0;
    let lay: Layout | null = null;
    let layTracks: unknown = null;
    /** The first event's time the last request was made with. */
    let usedBase = NaN;
    const vp = () => useCompare.getState().viewport ?? fitRef.current;
    const width = () => canvas.getBoundingClientRect().width;
    const base = () => {
      const f = sessionFacts(sessionId) ?? src.frame;
      return f && Number.isFinite(f.oldest) ? f.oldest : 0;
    };
    const mark = () => {
      dirty = true;
    };
    const stale = () => {
      needFrame = true;
      dirty = true;
    };
    const src = new FrameSource(
      sessionId,
      () => {
        if (base() !== usedBase) needFrame = true;
        mark();
      },
      stale,
    );

    const frame = () => {
      raf = requestAnimationFrame(frame);
      if (!dirty) return;
      dirty = false;
      src.needTracks(sessionFacts(sessionId)?.tracksVersion);
      if (src.tracks && layTracks !== src.tracks) {
        lay = layout(src.tracks, {}, true);
        layTracks = src.tracks;
        needFrame = true;
        const want = `${AXIS_H + Math.max(lay.height, LANE_H) + 4}px`;
        if (wrapRef.current && wrapRef.current.style.height !== want) wrapRef.current.style.height = want;
      }
      const dpr = window.devicePixelRatio || 1;
      const r = canvas.getBoundingClientRect();
      if (canvas.width !== Math.round(r.width * dpr) || canvas.height !== Math.round(r.height * dpr)) {
        canvas.width = Math.round(r.width * dpr);
        canvas.height = Math.round(r.height * dpr);
      }
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      const v = vp();
      const t0 = base() + v.r0;
      if (needFrame && lay) {
        needFrame = false;
        usedBase = base();
        src.request(frameRequest(lay, r.width, r.height, t0, v.span, 0, null));
      }
      draw(ctx, r.width, r.height, src.frame, { t0, span: v.span, scrollY: 0, selectedCo: null }, lay);
    };
    raf = requestAnimationFrame(frame);
    markRef.current = stale;
    const unsubData = useDataStore.subscribe((s, prev) => {
      if (s.versions[sessionId] !== prev.versions[sessionId]) stale();
    });
    const unsubCmp = useCompare.subscribe(stale);
    const ro = new ResizeObserver(stale);
    ro.observe(canvas);

    const zoom = (factor: number, atX: number) => {
      const v = vp();
      const plotW = Math.max(1, width() - LABEL_W);
      const frac = Math.min(1, Math.max(0, (atX - LABEL_W) / plotW));
      const t = v.r0 + frac * v.span;
      const span = Math.min(MAX_SPAN, Math.max(MIN_SPAN, v.span * factor));
      useCompare.getState().setViewport({ r0: t - frac * span, span });
    };
    const pan = (dx: number) => {
      const v = vp();
      useCompare.getState().setViewport({ r0: v.r0 - (dx / Math.max(1, width() - LABEL_W)) * v.span, span: v.span });
    };
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) pan(-e.deltaX);
      else zoom(Math.exp(e.deltaY * 0.002), e.offsetX);
    };
    let dragX: number | null = null;
    const onDown = (e: MouseEvent) => {
      dragX = e.clientX;
    };
    const onMove = (e: MouseEvent) => {
      if (dragX === null) return;
      const dx = e.clientX - dragX;
      dragX = e.clientX;
      if (dx) pan(dx);
    };
    const onUp = () => {
      dragX = null;
    };
    canvas.addEventListener('wheel', onWheel, { passive: false });
    canvas.addEventListener('mousedown', onDown);
    window.addEventListener('mousemove', onMove);
    window.addEventListener('mouseup', onUp);
    return () => {
      src.close();
      cancelAnimationFrame(raf);
      unsubData();
      unsubCmp();
      ro.disconnect();
      canvas.removeEventListener('wheel', onWheel);
      canvas.removeEventListener('mousedown', onDown);
      window.removeEventListener('mousemove', onMove);
      window.removeEventListener('mouseup', onUp);
    };
  }, [sessionId]);
  useEffect(() => markRef.current(), [fit.r0, fit.span]);

  return (
    <div ref={wrapRef} className="compare-lanes" style={{ position: 'relative', height: AXIS_H + LANE_H + 4 }}>
      <canvas
        ref={canvasRef}
        data-testid={testId}
        data-session={sessionId}
        data-rel-t0={Math.round(viewport.r0)}
        data-span={Math.round(viewport.span)}
        style={{ position: 'absolute', inset: 0, width: '100%', height: '100%' }}
      />
    </div>
  );
}
