/**
 * LodView (worker/lod.ts) with a small detail budget: which source answers a frame, which window
 * it wants, and what happens when a window comes back cut (more events than the chunks'
 * estimate said): the detail serves the views it covers, a view past it is asked alone, and a
 * view whose own window is cut is drawn from the overview instead of being asked again forever.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawEventWriter } from '@core/events/rawEvents.js';
import { Kind } from '@core/events/schema.js';
import type { SummaryColumns } from '@core/overview/summaries.js';
import { LodView } from './lod.js';
import type { FrameRequest } from './protocol.js';

const MS = 1e6;

/** 10 chunks of 1 ms from t = 1 s, `perChunk` events each, on worker 0's lane (tid 100). */
function summaries(perChunk: number): SummaryColumns {
  const s: SummaryColumns = {
    from: 0,
    chunkFirstTs: [],
    chunkLastTs: [],
    chunkEvents: [],
    chunkLanes: [],
    lanes: [],
    problem: null,
  };
  for (let c = 0; c < 10; c++) {
    const t = 1e9 + c * MS;
    s.chunkFirstTs.push(t);
    s.chunkLastTs.push(t + MS - 1);
    s.chunkEvents.push(perChunk);
    s.chunkLanes.push(1);
    s.lanes.push(100, 0, perChunk, t, t + MS - 1, MS / 2, 1, 1, 0, 0, 0, 0, 0, perChunk / 2);
  }
  return s;
}

/** n yields of coroutine 1 on worker 0 spread evenly over [t0, t1]. */
function events(n: number, t0: number, t1: number): Uint8Array {
  const w = new RawEventWriter(n);
  for (let i = 0; i < n; i++)
    w.push({ ts: Math.round(t0 + ((t1 - t0) * i) / n), kind: Kind.CO_YIELD, worker: 0, tid: 100, co: 1, a: [0] });
  return w.bytes();
}

const req = (t0: number, span: number): FrameRequest => ({
  t0,
  span,
  left: 150,
  width: 1150,
  rows: [{ track: 1, kind: 'thread', co: 0, y: 0, h: 24, expanded: false }],
  selectedCo: null,
});

test('frames: overview over the budget, loading (with the window wanted) under it, detail once the window is in', () => {
  const lod = new LodView(100);
  lod.addSummaries(summaries(40)); // 400 events in all, estimated 40 per ms
  assert.equal(lod.frame(req(1e9, 10 * MS)).source, 'overview');
  const f = lod.frame(req(1e9 + 4 * MS, MS));
  assert.equal(f.source, 'loading');
  const w = f.want!;
  assert.ok(w.t0 <= 1e9 + 4 * MS && w.t1 >= 1e9 + 5 * MS && w.max === 100);
  assert.equal(lod.frame(req(1e9 + 4 * MS, MS)).want!.tag, w.tag, 'the same window while it is on its way');
  assert.equal(lod.addWindow(w.tag + 1, events(10, w.t0, w.t1), [], true), false, 'a window not wanted is dropped');
  assert.equal(lod.addWindow(w.tag, events(60, w.t0, w.t1), [], true), true);
  assert.equal(lod.frame(req(1e9 + 4 * MS, MS)).source, 'detail');
});

test('a window cut at the budget serves what it covers; a view past it is asked alone; one whose own window is cut is drawn from the overview', () => {
  const lod = new LodView(100);
  lod.addSummaries(summaries(40)); // the estimate says 40 per ms; the windows below hold far more
  const f = lod.frame(req(1e9 + 4 * MS, MS));
  const w = f.want!;
  // 100 events (the max) spread over the first half of the window: cut there.
  const mid = (w.t0 + w.t1) / 2;
  assert.equal(lod.addWindow(w.tag, events(100, w.t0, mid), [], true), true);
  assert.equal(lod.frame(req(w.t0 + 1000, (mid - w.t0) / 2)).source, 'detail', 'inside what the cut window holds');
  const past = lod.frame(req(1e9 + 4 * MS, MS));
  assert.equal(past.source, 'loading', 'the view reaches past what the window holds');
  assert.deepEqual([past.want!.t0, past.want!.t1], [1e9 + 4 * MS, 1e9 + 5 * MS], 'the view alone is asked');
  // The view's own window is cut too: it is drawn from the overview and not asked again.
  assert.equal(lod.addWindow(past.want!.tag, events(100, 1e9 + 4 * MS, 1e9 + 4.5 * MS), [], true), true);
  const dense = lod.frame(req(1e9 + 4 * MS, MS));
  assert.equal(dense.source, 'overview');
  assert.equal(dense.want, undefined);
  // Zoomed in on it (a narrower view past the detail), its detail is asked again.
  const narrower = lod.frame(req(1e9 + 4.6 * MS, 0.2 * MS));
  assert.equal(narrower.source, 'loading');
  assert.ok(narrower.want);
});
