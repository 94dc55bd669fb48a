/**
 * The data worker's handler (worker/handler.ts) and the page's client (worker/client.ts, through
 * stores/data.ts) run in one Node thread here: messages cross with structuredClone and their
 * transfer lists, as between the page and a Worker (a transferred buffer is detached on the
 * sending side). What is checked: pushes are applied later, in order, big batches in slices with
 * an `applied` notice per slice; versions are posted at most once per tick; queries answer from
 * the applied data (coroutine table rows sorted, filtered and cut in the worker; the timeline
 * frame per row; the span under a point); a bad query rejects without stopping the worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawEventWriter } from '@core/events/rawEvents.js';
import { Kind } from '@core/events/schema.js';
import type { SummaryColumns } from '../../../preload/api.js';
import { connectTransport, query, sendOverview } from './client.js';
import { DataHandler, type Scheduler } from './handler.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { ingest, onApplied, resetSessionData, sessionFacts, useDataStore } from '../stores/data.js';

/** Ticks run when the test says (`tick()`), so "at most once per tick" can be counted. */
const frames: (() => void)[] = [];
const scheduler: Scheduler = { soon: (fn) => setTimeout(fn, 0), frame: (fn) => frames.push(fn) };
const tick = () => frames.splice(0).forEach((f) => f());

const posted: FromWorker[] = [];
let toPage: (m: FromWorker) => void = () => {};
const handler = new DataHandler((msg, transfer) => {
  posted.push(msg);
  const m = structuredClone(msg, { transfer: transfer ?? [] });
  setTimeout(() => toPage(m), 0);
}, scheduler);
connectTransport({
  send: (msg: ToWorker, transfer?: Transferable[]) =>
    handler.onMessage(structuredClone(msg, { transfer: transfer ?? [] })),
  onMessage: (fn) => {
    toPage = fn;
  },
});

const settle = () => new Promise((r) => setTimeout(r, 5));
async function drained(): Promise<void> {
  for (let k = 0; k < 500 && handler.queued; k++) await settle();
  await settle();
}

/** n CO_YIELD events of one coroutine on worker 0, 1 us apart from `from`. */
function yields(n: number, from: number, co = 1): Uint8Array {
  const w = new RawEventWriter(n);
  for (let i = 0; i < n; i++) w.push({ ts: from + i * 1000, kind: Kind.CO_YIELD, worker: 0, tid: 100, co, a: [0] });
  return w.bytes();
}

/** Coroutines 1..n on worker 0: created, run in turn (co k runs k µs), the even ones finished. */
function schedule(n: number): Uint8Array {
  const w = new RawEventWriter();
  let t = 1e6;
  w.push({ ts: t, kind: Kind.THREAD, worker: 0, tid: 100, a: [100, 1, 0] });
  for (let co = 1; co <= n; co++)
    w.push({ ts: (t += 10), kind: Kind.CO_CREATE, worker: 0, tid: 100, co, a: [0, 0, 0, 65536] });
  for (let co = 1; co <= n; co++) {
    w.push({ ts: (t += 10), kind: Kind.CO_READY, worker: 0, tid: 100, co, a: [1, 0, 0, 1] });
    w.push({ ts: (t += 10), kind: Kind.CO_RUN, worker: 0, tid: 100, co, a: [1] });
    w.push({ ts: (t += co * 1000), kind: Kind.CO_YIELD, worker: 0, tid: 100, co, a: [0] });
    if (co % 2 === 0) w.push({ ts: (t += 10), kind: Kind.CO_FINISH, worker: 0, tid: 100, co, a: [0, 1024] });
  }
  return w.bytes();
}

test('pushes are applied after the message, in order, a big batch in slices acked one by one', async () => {
  const id = 'h1';
  const applied: number[] = [];
  onApplied((s, seq) => s === id && applied.push(seq));
  const big = yields(10_000, 1e9);
  ingest({ type: 'batch', session: id, seq: 0, events: big, strings: [] });
  // The bytes were transferred to the worker, not copied: the page's buffer is detached.
  assert.equal(big.byteLength, 0);
  ingest({ type: 'output', session: id, stream: 1, text: 'hello' });
  ingest({ type: 'batch', session: id, seq: 10_000, events: yields(5, 2e9), strings: [] });
  ingest({ type: 'end', session: id });
  // Not applied in the message handler: queued (the 10,000-event batch as three slices).
  assert.equal(handler.session(id).store.count, 0);
  assert.equal(handler.queued, 3 + 3);
  await drained();
  const info = await query(id, 'info', {});
  assert.deepEqual(
    { events: info.events, batches: info.batches, newest: info.newest, ended: info.ended },
    { events: 10_005, batches: 4, newest: 2e9 + 4000, ended: true },
  );
  assert.deepEqual(await query(id, 'output', {}), [{ stream: 1, text: 'hello' }]);
  // The page hears the seq after every slice, in order: what it acks is what the worker applied.
  assert.deepEqual(applied, [4096, 8192, 10_000, 10_005]);
  onApplied(undefined);
});

test('a batch that is a small view into a bigger buffer is copied, so the rest of that buffer stays usable', async () => {
  const whole = yields(20, 1e9);
  const part = whole.subarray(0, 5 * 64);
  ingest({ type: 'batch', session: 'h2', seq: 0, events: part, strings: [] });
  assert.equal(whole.byteLength, 20 * 64);
  await drained();
  assert.equal((await query('h2', 'info', {})).events, 5);
});

test("a binary frame's events (a view after its header) are transferred with the frame, not copied", async () => {
  const events = yields(8, 3e9);
  const frame = new Uint8Array(16 + events.byteLength);
  frame.set(events, 16);
  const view = frame.subarray(16);
  ingest({ type: 'batch', session: 'h2', seq: 5, events: view, strings: [] });
  assert.equal(frame.byteLength, 0, 'the frame went to the worker');
  await drained();
  const info = await query('h2', 'info', {});
  assert.deepEqual([info.events, info.newest], [13, 3e9 + 7000]);
});

test('versions: one notice per tick for every session that changed, with its facts, and the page store follows it', async () => {
  tick();
  posted.length = 0;
  ingest({ type: 'batch', session: 'h3', seq: 0, events: yields(3, 1e9), strings: [] });
  ingest({ type: 'batch', session: 'h3', seq: 3, events: yields(3, 2e9), strings: [] });
  ingest({ type: 'batch', session: 'h4', seq: 0, events: yields(3, 1e9), strings: [] });
  await drained();
  assert.equal(posted.filter((m) => m.type === 'versions').length, 0);
  tick();
  tick();
  const notices = posted.filter((m) => m.type === 'versions');
  assert.equal(notices.length, 1);
  const n = notices[0] as Extract<(typeof notices)[0], { type: 'versions' }>;
  assert.deepEqual(n.versions, { h3: 1, h4: 1 });
  // With each version, the facts the timeline fits and follows by: events and range.
  assert.deepEqual(
    { ...n.facts.h3, tracksVersion: 0 },
    { events: 6, total: 6, oldest: 1e9, newest: 2e9 + 2000, tracksVersion: 0 },
  );
  await settle();
  assert.equal(useDataStore.getState().versions.h3, 1);
  assert.equal(sessionFacts('h4')?.events, 3);
});

test('a reset forgets what was queued for that session only', async () => {
  ingest({ type: 'batch', session: 'h5', seq: 0, events: yields(100, 1e9), strings: [] });
  ingest({ type: 'batch', session: 'h6', seq: 0, events: yields(7, 1e9), strings: [] });
  resetSessionData('h5');
  await drained();
  assert.equal((await query('h5', 'info', {})).events, 0);
  assert.equal((await query('h6', 'info', {})).events, 7);
});

test('coroutine rows are filtered, sorted and cut in the worker', async () => {
  ingest({ type: 'batch', session: 'h7', seq: 0, events: schedule(30), strings: [] });
  await drained();
  const byRun = await query('h7', 'coroutineRows', {
    filter: '',
    showDone: false,
    sort: { key: 'runTime', desc: true },
    limit: 5,
  });
  assert.equal(byRun.total, 30);
  assert.equal(byRun.matched, 15); // the odd ones: the even ones are done
  assert.deepEqual(
    byRun.rows.map((c) => c.co),
    [29, 27, 25, 23, 21],
  );
  const all = await query('h7', 'coroutineRows', {
    filter: '',
    showDone: true,
    sort: { key: 'co', desc: false },
    limit: 500,
  });
  assert.deepEqual(
    all.rows.map((c) => c.co),
    Array.from({ length: 30 }, (_, i) => i + 1),
  );
  const one = await query('h7', 'coroutineRows', {
    filter: '#12',
    showDone: true,
    sort: { key: 'co', desc: false },
    limit: 500,
  });
  assert.deepEqual(
    one.rows.map((c) => c.co),
    [12],
  );
});

test('a timeline frame answers per row with pixel rectangles inside the plot, and spanAt finds the span under a time', async () => {
  ingest({ type: 'batch', session: 'h8', seq: 0, events: schedule(4), strings: [] });
  await drained();
  const tracks = await query('h8', 'tracks', {});
  assert.equal(tracks.threads.length, 1);
  assert.deepEqual(
    tracks.coroutines.map((t) => t.co),
    [1, 2, 3, 4],
  );
  const info = await query('h8', 'info', {});
  const co3 = tracks.coroutines[2];
  const rows = [
    { track: tracks.threads[0].id, kind: 'thread' as const, co: 0, y: 0, h: 24, expanded: false },
    { track: co3.id, kind: 'co' as const, co: 3, y: 42, h: 14, expanded: false },
  ];
  const f = await query('h8', 'frame', {
    t0: info.oldest,
    span: info.newest - info.oldest,
    left: 150,
    width: 1150,
    rows,
    selectedCo: 3,
  });
  assert.ok(f.rects.length > 0 && f.rects.length % 4 === 0);
  assert.equal(f.rectColour.length, f.rects.length / 4);
  for (let o = 0; o < f.rects.length; o += 4) {
    assert.ok(f.rects[o] >= 150 && f.rects[o] + f.rects[o + 2] <= 1150, 'inside the plot');
    assert.ok(f.rects[o + 1] >= 0 && f.rects[o + 1] < 56, 'on a requested row');
  }
  // Both rows have rectangles; the selected coroutine is outlined on the worker lane.
  assert.ok([...Array(f.rects.length / 4).keys()].some((k) => f.rects[k * 4 + 1] < 24));
  assert.ok([...Array(f.rects.length / 4).keys()].some((k) => f.rects[k * 4 + 1] >= 42));
  assert.ok(f.outlines.length >= 4);
  assert.equal(f.events, info.events);
  // Nothing asked, nothing drawn.
  const none = await query('h8', 'frame', {
    t0: info.oldest,
    span: 1e6,
    left: 150,
    width: 1150,
    rows: [],
    selectedCo: null,
  });
  assert.equal(none.rects.length, 0);
  // co 3 ran 3 µs: the worker lane's span at its middle is "running" with co=3.
  const d = handler.session('h8');
  const run = d.timeline.trackOfCo(3)!.depths[0];
  let mid = NaN;
  for (let i = 0; i < run.length; i++) if (run.name(i) === 'running') mid = (run.t0(i) + run.t1(i)) / 2;
  const sp = await query('h8', 'spanAt', { track: co3.id, t: mid, tol: 0, depth: 0 });
  assert.equal(sp?.name, 'running');
  const lane = await query('h8', 'spanAt', { track: tracks.threads[0].id, t: mid, tol: 0, depth: 0 });
  assert.equal(lane?.args?.co, 3);
});

test('a bad query rejects with its reason and the worker goes on answering', async () => {
  await assert.rejects(query('h8', 'nope' as never, {} as never), /no query named nope/);
  assert.equal((await query('h8', 'info', {})).ended, false);
});

/**
 * Chunk summaries as the host gives them (chunkSummaries) of a big trace: `chunks` chunks of 1 ms
 * from t = 1e6 ns, each of `perChunk` events, all on worker 0's lane (tid 100), busy half the time.
 */
function bigSummaries(chunks: number, perChunk: number): SummaryColumns {
  const s: SummaryColumns = {
    from: 0,
    chunkFirstTs: [],
    chunkLastTs: [],
    chunkEvents: [],
    chunkLanes: [],
    lanes: [],
    problem: null,
  };
  for (let c = 0; c < chunks; c++) {
    const t = 1e6 + c * 1e6;
    s.chunkFirstTs.push(t);
    s.chunkLastTs.push(t + 1e6 - 1);
    s.chunkEvents.push(perChunk);
    s.chunkLanes.push(1);
    // tid worker records firstTs lastTs busy coStart coEnd flags calls preempts deferrals drops switches
    s.lanes.push(100, 0, perChunk, t, t + 1e6 - 1, 5e5, 1, 1, 0, 0, c % 10 === 0 ? 1 : 0, 0, 0, 10);
  }
  return s;
}

test('a big trace: the timeline is drawn from its overview, then from the detail of the window in view', async () => {
  // 100 chunks of 1 M events: 100 M events, more than the detail budget in the whole view.
  sendOverview('lod', bigSummaries(100, 1_000_000));
  ingest({ type: 'batch', session: 'lod', seq: 0, events: schedule(4), strings: [] });
  await drained();
  const tracks = await query('lod', 'tracks', {});
  assert.deepEqual(
    tracks.threads.map((t) => [t.id, t.worker]),
    [[1, 0]],
    'one lane: worker 0',
  );
  assert.deepEqual(tracks.coroutines, []);
  const info = await query('lod', 'info', {});
  assert.equal(info.lod, true);
  assert.equal(info.total, 100_000_000, "the total is the file's");
  assert.equal(info.events, schedule(4).byteLength / 64, 'streamed events go through the derived tables');
  assert.equal(handler.session('lod').store.count, 0, 'and into no event store');
  assert.equal(
    (await query('lod', 'coroutineRows', { filter: '', showDone: true, sort: { key: 'co', desc: false }, limit: 10 }))
      .total,
    4,
  );

  const rows = [{ track: 1, kind: 'thread' as const, co: 0, y: 0, h: 24, expanded: false }];
  const whole = await query('lod', 'frame', { t0: 1e6, span: 100e6, left: 150, width: 1150, rows, selectedCo: null });
  assert.equal(whole.source, 'overview');
  assert.equal(whole.want, undefined, 'no detail wanted for a view over the budget');
  assert.equal(whole.events, 100_000_000);
  assert.ok(whole.rects.length >= 4, 'the lane is painted from the overview');
  assert.ok(whole.markers.length >= 2 * 5, 'preemption markers from the chunk counts');

  // One chunk in view (1 M events, under the budget): overview while its detail is wanted.
  const t0 = 1e6 + 3 * 1e6;
  const near = await query('lod', 'frame', { t0, span: 1e6, left: 150, width: 1150, rows, selectedCo: null });
  assert.equal(near.source, 'loading');
  assert.ok(near.want && near.want.t0 <= t0 && near.want.t1 >= t0 + 1e6, 'the wanted window covers the view');
  assert.ok(near.rects.length >= 4, 'painted from the overview meanwhile');
  // The host answers with the window's events (here: a schedule moved into the window).
  const w = new RawEventWriter();
  w.push({ ts: t0 + 10, kind: Kind.THREAD, worker: 0, tid: 100, a: [100, 1, 0] });
  w.push({ ts: t0 + 20, kind: Kind.CO_CREATE, worker: 0, tid: 100, co: 9, a: [0, 0, 0, 65536] });
  w.push({ ts: t0 + 30, kind: Kind.CO_READY, worker: 0, tid: 100, co: 9, a: [1, 0, 0, 1] });
  w.push({ ts: t0 + 40, kind: Kind.CO_RUN, worker: 0, tid: 100, co: 9, a: [1] });
  w.push({ ts: t0 + 600_000, kind: Kind.CO_YIELD, worker: 0, tid: 100, co: 9, a: [0] });
  ingest({ type: 'window', session: 'lod', tag: near.want!.tag, seq: 123, events: w.bytes(), strings: [], last: true });
  await drained();
  const detail = await query('lod', 'frame', { t0, span: 1e6, left: 150, width: 1150, rows, selectedCo: 9 });
  assert.equal(detail.source, 'detail');
  assert.equal(detail.want, undefined);
  assert.ok(detail.outlines.length >= 4, "coroutine 9's span on the lane, from the window's events");
  const sp = await query('lod', 'spanAt', { track: 1, t: t0 + 300_000, tol: 0, depth: 0 });
  assert.equal(sp?.args?.co, 9);
  // A part of a window no longer wanted is dropped; zooming out goes back to the overview.
  ingest({ type: 'window', session: 'lod', tag: 999, seq: 0, events: w.bytes(), strings: [], last: true });
  await drained();
  assert.equal(
    (await query('lod', 'frame', { t0, span: 1e6, left: 150, width: 1150, rows, selectedCo: null })).source,
    'detail',
  );
  assert.equal(
    (await query('lod', 'frame', { t0: 1e6, span: 100e6, left: 150, width: 1150, rows, selectedCo: null })).source,
    'overview',
  );
});

test('a coroutine parked with a stack: the detail has its newest stack, and the span it parked in carries it', async () => {
  const w = new RawEventWriter();
  const t = 1e6;
  w.push({ ts: t, kind: Kind.THREAD, worker: 0, tid: 100, a: [100, 1, 0] });
  w.push({ ts: t + 10, kind: Kind.CO_CREATE, worker: 0, tid: 100, co: 1, a: [0, 0, 0, 65536] });
  w.push({ ts: t + 20, kind: Kind.CO_READY, worker: 0, tid: 100, co: 1, a: [1, 0, 0, 1] });
  w.push({ ts: t + 30, kind: Kind.CO_RUN, worker: 0, tid: 100, co: 1, a: [1] });
  w.push({ ts: t + 1000, kind: Kind.CO_SUSPEND, worker: 0, tid: 100, co: 1, a: [3, 1, -1, 0, 0] });
  w.push({ ts: t + 1001, kind: Kind.CO_STACK, worker: 0, tid: 100, co: 1, a: [7, 1, 2, 1] });
  w.push({ ts: t + 9000, kind: Kind.CO_READY, worker: 0, tid: 100, co: 1, a: [2, 0, 0, 1] });
  w.push({ ts: t + 9010, kind: Kind.CO_RUN, worker: 0, tid: 100, co: 1, a: [2] });
  w.push({ ts: t + 9500, kind: Kind.CO_SUSPEND, worker: 0, tid: 100, co: 1, a: [3, 1, -1, 0, 0] });
  w.push({ ts: t + 9501, kind: Kind.CO_STACK, worker: 0, tid: 100, co: 1, a: [8, 1, 3, 2] });
  ingest({
    type: 'batch',
    session: 'stk',
    seq: 0,
    events: w.bytes(),
    strings: [
      [7, '401000 401200'],
      [8, '401010 401200 401300'],
    ],
  });
  await drained();
  const detail = await query('stk', 'coroutineDetail', { co: 1, lastCalls: 5 });
  assert.deepEqual(detail.stack, { stack: 8, why: 1, frames: 3, ts: t + 9501 });
  const tracks = await query('stk', 'tracks', {});
  const co1 = tracks.coroutines[0];
  const first = await query('stk', 'spanAt', { track: co1.id, t: t + 5000, tol: 0, depth: 0 });
  assert.equal(first?.stack?.stack, 7, 'the first suspended span: the stack it parked with');
  const running = await query('stk', 'spanAt', { track: co1.id, t: t + 500, tol: 0, depth: 0 });
  assert.equal(running?.stack, undefined, 'a run that ended in a park holds no stack');
});
