/**
 * A live session in the data worker (worker/handler.ts, worker/sessionData.ts, worker/lod.ts)
 * with small limits: it is held whole until its store passes the budget, then switches in place
 * to the bounded path — the store let go, the derived tables going on store-less with the same
 * counts, the timeline drawn from the live overview (chunk summaries as the page polls them) and
 * the tail, which stays bounded however long the session runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawEventWriter } from '@core/events/rawEvents.js';
import { Kind } from '@core/events/schema.js';
import type { SummaryColumns } from '@core/overview/summaries.js';
import { DataHandler, type Scheduler } from './handler.js';
import type { FrameRequest, FromWorker, QueryName, QueryResult, TimelineFrame } from './protocol.js';

const LIMITS = { budget: 20_000, tailNs: 50e6, tailItems: 6_000, group: { events: 2_000, ns: 20e6 } };
const BATCH = 1_000;
/** Events are 10 µs apart: 100 k events/s; a batch is 10 ms (one chunk of the recording). */
const STEP = 10_000;
const T0 = 1e9;
const COS = 4;

const scheduler: Scheduler = { soon: () => {}, frame: () => {} };

/** Batch b: coroutines 1..COS take turns on worker 0 (tid 100), CO_RUN then CO_YIELD. */
function batch(b: number): Uint8Array {
  const w = new RawEventWriter(BATCH);
  for (let i = 0; i < BATCH; i++) {
    const n = b * BATCH + i;
    const co = ((n >> 1) % COS) + 1;
    w.push({
      ts: T0 + n * STEP,
      kind: n % 2 ? Kind.CO_YIELD : Kind.CO_RUN,
      worker: 0,
      tid: 100,
      co,
      a: [n % 2 ? 0 : 1],
    });
  }
  return w.bytes();
}

/** The recording's chunk b (= batch b) as the host's chunkSummaries gives it. */
function chunk(b: number): SummaryColumns {
  const first = T0 + b * BATCH * STEP;
  const last = first + (BATCH - 1) * STEP;
  return {
    from: b,
    chunkFirstTs: [first],
    chunkLastTs: [last],
    chunkEvents: [BATCH],
    chunkLanes: [1],
    lanes: [100, 0, BATCH, first, last, (last - first) / 2, 1, 1, 0, 0, 0, 0, 0, BATCH / 2],
    problem: null,
  };
}

class Page {
  readonly posted: FromWorker[] = [];
  readonly handler: DataHandler;
  constructor(limits?: typeof LIMITS) {
    this.handler = new DataHandler((m) => this.posted.push(m), scheduler, limits);
  }
  push(id: string, b: number): void {
    this.handler.onMessage({
      type: 'push',
      push: { type: 'batch', session: id, seq: b * BATCH, events: batch(b), strings: [] },
    });
    this.handler.drainNow();
  }
  /** The chunk summaries sealed so far, as a poll answers them (the page lags a batch behind). */
  poll(id: string, b: number): void {
    this.handler.onMessage({ type: 'overview', session: id, summaries: chunk(b), live: true });
  }
  ask<N extends QueryName>(id: string, name: N, args: unknown): QueryResult<N> {
    this.handler.answer(0, id, name, args);
    const r = this.posted.pop()!;
    assert.ok(r.type === 'result' && r.ok, r.type === 'result' && !r.ok ? r.error : 'no answer');
    return (r as { value: QueryResult<N> }).value;
  }
}

const frameReq = (t0: number, span: number, rows: FrameRequest['rows']): FrameRequest => ({
  t0,
  span,
  left: 150,
  width: 1150,
  rows,
  selectedCo: null,
});

function rowsOf(p: Page, id: string): FrameRequest['rows'] {
  const tr = p.ask(id, 'tracks', {});
  return [...tr.threads, ...tr.coroutines].map((t, i) => ({
    track: t.id,
    kind: t.kind === 'thread' ? ('thread' as const) : ('co' as const),
    co: t.co ?? 0,
    y: i * 24,
    h: 24,
    expanded: false,
  }));
}

function rectsIn(f: TimelineFrame, x0: number, x1: number): number {
  let n = 0;
  for (let i = 0; i < f.rectColour.length; i++)
    if (f.rects[4 * i] < x1 && f.rects[4 * i] + f.rects[4 * i + 2] > x0) n++;
  return n;
}

test('a live session switches past the budget without a reset: counts go on, the store is let go', () => {
  const live = new Page(LIMITS);
  const whole = new Page(LIMITS); // the same events, no summaries: it stays on the whole path
  const id = 'live';
  let last = 0;
  for (let b = 0; b < 60; b++) {
    live.push(id, b);
    whole.push(id, b);
    if (b > 0) live.poll(id, b - 1);
    const info = live.ask(id, 'info', {});
    assert.equal(info.events, (b + 1) * BATCH, 'every event counted once, never reset');
    assert.ok(info.events > last);
    last = info.events;
    if ((b + 1) * BATCH <= LIMITS.budget) assert.equal(info.mode, 'full');
  }
  const info = live.ask(id, 'info', {});
  assert.equal(info.mode, 'live');
  assert.equal(info.stored, 0, 'the event store was let go');
  assert.equal(whole.ask(id, 'info', {}).stored, 60 * BATCH);
  assert.ok(info.overviewNodes > 0);
  // The derived tables went on store-less with the counts of the whole path.
  const rows = (p: Page) =>
    p
      .ask(id, 'coroutineRows', { filter: '', showDone: true, sort: { key: 'co', desc: false }, limit: 100 })
      .rows.map((c) => [c.co, c.switches, c.runTime]);
  assert.deepEqual(rows(live), rows(whole));
  assert.equal(live.ask(id, 'callLog', { query: {}, limit: 10 }).length, 0, 'views that read the store are empty');
});

test('the tail stays bounded by time and items however long the session runs', () => {
  const p = new Page(LIMITS);
  const id = 'long';
  const items: number[] = [];
  for (let b = 0; b < 400; b++) {
    p.push(id, b);
    if (b > 0) p.poll(id, b - 1);
    if (b >= 100 && b % 50 === 0) items.push(p.ask(id, 'info', {}).timelineItems);
  }
  const d = p.handler.session(id);
  assert.equal(d.mode, 'live');
  assert.ok(Math.max(...items) <= LIMITS.tailItems, `tail items ${items}`);
  // Trimmed by time: what it holds starts at most 1.25 tail lengths before the newest event.
  assert.ok(
    d.newest - d.timeline.droppedBefore <= LIMITS.tailNs * 1.25 + STEP,
    `${d.newest - d.timeline.droppedBefore}`,
  );
  assert.equal(d.store.count, 0);
  // The overview grows by one node per group of chunks, not per event or per chunk.
  assert.ok(d.lod!.overview.nodeCount < 400, `${d.lod!.overview.nodeCount} nodes`);
});

test('frames: the newest part from the tail, the past from the overview, both in a view across them', () => {
  const p = new Page(LIMITS);
  const id = 'frames';
  for (let b = 0; b < 100; b++) {
    p.push(id, b);
    if (b > 0) p.poll(id, b - 1);
  }
  const d = p.handler.session(id);
  const rows = rowsOf(p, id);
  assert.ok(
    rows.some((r) => r.kind === 'co'),
    'the track list keeps the coroutine tracks after the switch',
  );
  const newest = d.newest;
  const tailFrom = d.timeline.droppedBefore;
  assert.ok(tailFrom > T0, 'the tail was trimmed');
  // The live edge (newer than any summary: its chunk is not sealed yet) is drawn from the tail.
  assert.ok(newest > d.lod!.overview.sealedTo);
  const edge = p.ask(id, 'frame', frameReq(newest - 20e6, 20e6, rows));
  assert.equal(edge.source, 'live');
  assert.ok(rectsIn(edge, 150, 1150) > 0);
  // The past, older than the tail: the overview (its detail is asked from the file).
  const past = p.ask(id, 'frame', frameReq(T0, 200e6, rows));
  assert.ok(past.source === 'loading' || past.source === 'overview', past.source);
  assert.ok(rectsIn(past, 150, 1150) > 0);
  // A view across the tail's start: the overview left of it, the tail right of it.
  const span = (newest - tailFrom) * 3;
  const across = p.ask(id, 'frame', frameReq(newest - span, span, rows));
  assert.equal(across.source, 'live');
  const xCut = 150 + ((tailFrom - across.t0) / span) * 1000;
  assert.ok(rectsIn(across, 150, xCut - 1) > 0, 'the overview draws the older part');
  assert.ok(rectsIn(across, xCut + 1, 1150) > 0, 'the tail draws the newer part');
  assert.equal(across.events, 100 * BATCH);
});

test('a live session that never gets summaries (no readable recording) keeps the whole path', () => {
  const p = new Page(LIMITS);
  for (let b = 0; b < 30; b++) p.push('nofile', b);
  const info = p.ask('nofile', 'info', {});
  assert.equal(info.mode, 'full');
  assert.equal(info.stored, 30 * BATCH);
});

test('the timeline follows the recording while the analysis is behind: newer time from the overview', () => {
  const p = new Page(LIMITS);
  const id = 'behind';
  for (let b = 0; b < 40; b++) {
    p.push(id, b);
    if (b > 0) p.poll(id, b - 1);
  }
  // The recording went on 20 chunks further (the page polled them) but their events are not applied yet.
  for (let b = 39; b < 60; b++) p.poll(id, b);
  const d = p.handler.session(id);
  assert.equal(d.mode, 'live');
  const applied = d.newest;
  const info = p.ask(id, 'info', {});
  assert.ok(info.drawnTo > applied + 100e6, 'what the timeline can draw runs ahead of what was applied');
  const rows = rowsOf(p, id);
  const span = 300e6;
  const f = p.ask(id, 'frame', frameReq(info.drawnTo - span, span, rows));
  assert.equal(f.source, 'live');
  assert.equal(f.newest, info.drawnTo, 'follow-live follows the recording, not the analysis');
  const xTo = 150 + ((applied - f.t0) / span) * 1000;
  assert.ok(rectsIn(f, xTo + 2, 1150) > 0, 'the part not applied yet is drawn from the overview');
  assert.ok(rectsIn(f, 150, xTo - 2) > 0, 'the applied part from the tail');
});
