/**
 * The timeline's span storage (spans.ts, timelineModel.ts): typed-array lists across chunk
 * boundaries, range queries, argument round trips, per-pixel aggregation, open slices, and the
 * retention cap (oldest dropped by time, "droppedBefore", finished tracks forgotten, strings
 * compacted), checked against a plain array model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregate, AggregateCache, ArgShapes, CHUNK, SpanList, StringPool, type Emit, type Span } from './spans.js';
import { TimelineModel } from './timelineModel.js';
import type { Track } from '@core/model/timeline.js';

const ctx = () => ({ pool: new StringPool(), shapes: new ArgShapes() });

/** n spans of random lengths and gaps, sorted and non-overlapping; deterministic. */
function randomSpans(n: number, seed = 1): Span[] {
  let x = seed;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out: Span[] = [];
  let t = 1_000_000;
  for (let i = 0; i < n; i++) {
    t += Math.floor(rnd() * 50);
    const len = rnd() < 0.1 ? Math.floor(rnd() * 5000) : Math.floor(rnd() * 20);
    out.push({ t0: t, t1: t + len, name: i % 3 ? 'running' : 'ready', args: i % 3 ? { co: 1 + (i % 5) } : null });
    t += len;
  }
  return out;
}

function fill(spans: Span[]): SpanList {
  const l = new SpanList(ctx());
  for (const s of spans) l.push(s.t0, s.t1, s.name, s.args);
  return l;
}

const naiveFirstEndingAfter = (a: Span[], t: number) => {
  const i = a.findIndex((s) => s.t1 >= t);
  return i < 0 ? a.length : i;
};

test('spans: a list across several chunks returns what was pushed, and range queries match a linear scan', () => {
  const spans = randomSpans(3 * CHUNK + 123);
  const l = fill(spans);
  assert.equal(l.length, spans.length);
  for (const i of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, spans.length - 1])
    assert.deepEqual(l.get(i), spans[i]);
  const last = spans[spans.length - 1].t1;
  for (let k = 0; k < 400; k++) {
    const t = spans[0].t0 - 10 + Math.floor(((last - spans[0].t0 + 20) * k) / 400);
    const want = naiveFirstEndingAfter(spans, t);
    assert.equal(l.firstEndingAfter(t), want, `firstEndingAfter(${t})`);
    // seek from any earlier index gives the same answer
    for (const from of [0, Math.max(0, want - 1), Math.max(0, want - 37), Math.max(0, want - CHUNK - 5)]) {
      assert.equal(l.seek(from, t), want, `seek(${from}, ${t})`);
      // a guess before, at or after the answer, or past the end
      for (const guess of [from, want - 3, want, want + 1, want + 50, spans.length + 9]) {
        assert.equal(l.seekNear(from, Math.max(from, guess), t), want, `seekNear(${from}, ${guess}, ${t})`);
      }
    }
    const at = l.indexAt(t);
    const wantAt = spans.findIndex((s) => s.t0 <= t && t <= s.t1);
    if (wantAt < 0) assert.equal(at, -1);
    else assert.ok(spans[at].t0 <= t && t <= spans[at].t1);
  }
  assert.equal(l.firstEndingAfter(last + 1), spans.length);
  assert.equal(l.seek(spans.length, 0), spans.length);
});

test('spans: arguments round-trip (numbers, strings, none, the co-only shape) and names share a pool', () => {
  const c = ctx();
  const l = new SpanList(c);
  l.push(1, 2, 'read', { fd: 3, result: -1, errno: 11, duration_ns: 1e12 + 7, parked: 1 });
  l.push(2, 3, 'suspended: read', { why: 'call', hook: 'read', fd: 3, deadline: 123456789012345 });
  l.push(3, 4, 'co #7', { co: 7 });
  l.push(4, 5, 'idle', null);
  l.push(5, 6, 'weird', { co: 2 ** 40 });
  l.push(6, 7, 'empty', {});
  assert.deepEqual(l.args(0), { fd: 3, result: -1, errno: 11, duration_ns: 1e12 + 7, parked: 1 });
  assert.deepEqual(l.args(1), { why: 'call', hook: 'read', fd: 3, deadline: 123456789012345 });
  assert.deepEqual(l.args(2), { co: 7 });
  assert.equal(l.co(2), 7);
  assert.equal(l.args(3), null);
  assert.deepEqual(l.args(4), { co: 2 ** 40 });
  assert.equal(l.co(4), 2 ** 40);
  assert.equal(l.co(0), 0);
  assert.equal(l.co(3), 0);
  l.push(7, 8, 'wake', { co: 9, why: 'timer' });
  assert.equal(l.co(6), 9);
  assert.equal(l.args(5), null);
  assert.equal(l.name(1), 'suspended: read');
  const l2 = new SpanList(c);
  l2.push(1, 2, 'read', null);
  assert.equal(l2.nameId(0), l.nameId(0));
  assert.equal(c.pool.get(l.nameId(0)), 'read');
});

test('spans: dropping the oldest frees whole chunks and keeps indices and queries right', () => {
  const spans = randomSpans(2 * CHUNK + 500, 7);
  const l = fill(spans);
  const before = l.bytes();
  const cut = spans[CHUNK + 100].t1 + 1;
  const k = l.dropBefore(cut);
  const rest = spans.filter((s) => s.t1 >= cut);
  assert.equal(k, spans.length - rest.length);
  assert.equal(l.length, rest.length);
  assert.equal(l.dropped, k);
  assert.ok(l.bytes() < before, 'a whole chunk was freed');
  assert.deepEqual(l.get(0), rest[0]);
  assert.deepEqual(l.get(l.length - 1), rest[rest.length - 1]);
  for (const t of [cut - 5, cut, rest[300].t0, rest[rest.length - 1].t1])
    assert.equal(l.firstEndingAfter(t), naiveFirstEndingAfter(rest, t));
  // pushing goes on after a drop
  const t = rest[rest.length - 1].t1;
  l.push(t + 1, t + 2, 'ready', null);
  assert.equal(l.t1(l.length - 1), t + 2);
  l.dropFirst(l.length);
  assert.equal(l.length, 0);
  assert.equal(l.firstEndingAfter(0), 0);
  l.push(10, 20, 'x', null);
  assert.deepEqual(l.get(0), { t0: 10, t1: 20, name: 'x', args: null });
});

/** Pieces aggregate() emits for a list over a view, as [i, x0, x1, active]. */
function pieces(l: SpanList, tStart: number, tEnd: number, k: number): [number, number, number, number][] {
  const out: [number, number, number, number][] = [];
  aggregate(l, tStart, tEnd, 0, k, (i, x0, x1, active) => out.push([i, x0, x1, active]));
  return out;
}

test('aggregate: wide spans come out whole; spans under a pixel merge into one piece per column', () => {
  const c = ctx();
  const l = new SpanList(c);
  // 0..100: wide; then 1000 spans of 1 ns each, 1 ns apart, over 100..2100; then a wide one.
  l.push(0, 100, 'wide', null);
  for (let i = 0; i < 1000; i++) l.push(100 + 2 * i, 101 + 2 * i, i % 2 ? 'a' : 'b', null);
  l.push(2200, 3000, 'wide2', null);
  // 0.1 px per ns: the wide spans are 10 and 80 px; the small ones 0.1 px, 5 per column.
  const p = pieces(l, 0, 3000, 0.1);
  assert.deepEqual(p[0], [0, 0, 10, -1]);
  assert.deepEqual(p[p.length - 1].slice(0, 1), [1001]);
  const cols = p.slice(1, -1);
  // one piece per pixel column over 100..2100 ns = 10..210 px
  assert.ok(cols.length >= 199 && cols.length <= 201, `${cols.length} columns`);
  for (let j = 1; j < cols.length; j++) assert.ok(cols[j][1] >= cols[j - 1][2] - 1e-9, 'pieces do not overlap');
  for (const [i, x0, x1, active] of cols) {
    assert.ok(i >= 1 && i <= 1000);
    // 'a' and 'b' are both activity, 1 ns on, 1 ns off: about half of each column
    assert.ok(active > 0.4 && active < 0.6, `active ${active}`);
    assert.ok(x1 - x0 <= 1 + 1e-9);
    // the span emitted lies in (or touches) its column
    assert.ok(l.t0(i) * 0.1 <= x1 + 1e-9 && l.t1(i) * 0.1 >= Math.floor(x0) - 1e-9);
  }
  // every pixel covered by spans got a piece: no gaps between 10 and 210 px
  let covered = 10;
  for (const [, x0, x1] of cols) {
    assert.ok(x0 <= covered + 1e-9, `gap at ${covered}`);
    covered = Math.max(covered, x1);
  }
  assert.ok(covered >= 210 - 1e-9);
});

test('aggregate: a column tells how much of its time was active (idle and suspended are background)', () => {
  const l = new SpanList(ctx());
  // Per 100 ns: 90 ns idle, then a 10 ns coroutine slice; 1000 times.
  for (let i = 0; i < 1000; i++) {
    l.push(i * 100, i * 100 + 90, 'idle', null);
    l.push(i * 100 + 90, i * 100 + 100, 'co #1', { co: 1 });
  }
  assert.equal(l.isActive(0), false);
  assert.equal(l.isActive(1), true);
  assert.equal(l.activeBetween(0, 1999), 10_000);
  assert.equal(l.activeBetween(2, 5), 20);
  assert.equal(l.actThrough(-1), 0);
  // 1000 ns per pixel: 10 % active everywhere
  const p = pieces(l, 0, 100_000, 1 / 1000);
  assert.ok(p.length >= 99 && p.length <= 101);
  for (const [, , , active] of p.slice(0, -1)) assert.ok(Math.abs(active - 0.1) < 0.011, `active ${active}`);
  // A column of suspended states only: nothing active.
  const q = new SpanList(ctx());
  for (let i = 0; i < 100; i++) q.push(i * 10, i * 10 + 9, 'suspended: read', null);
  for (const [, , , active] of pieces(q, 0, 1000, 1 / 100)) assert.equal(active, 0);
  // Prefix sums survive dropping the oldest chunks.
  const r = new SpanList(ctx());
  for (let i = 0; i < 3 * CHUNK; i++)
    r.push(i * 10, i * 10 + (i % 2 ? 3 : 7), i % 2 ? 'running' : 'suspended: x', null);
  r.dropBefore(CHUNK * 10 + 5);
  assert.equal(r.isActive(0), false); // span CHUNK, suspended, ends after the cutoff
  assert.equal(r.activeBetween(0, 9), 5 * 3);
  r.dropFirst(r.length);
  r.push(1e9, 1e9 + 5, 'running', null);
  assert.equal(r.activeBetween(0, 0), 5);
});

test('aggregate: the work is bounded by the width, not by the spans in view', () => {
  const l = new SpanList(ctx());
  for (let i = 0; i < 200_000; i++) l.push(i * 10, i * 10 + 5, 's', null);
  let calls = 0;
  aggregate(l, 0, 2_000_000, 0, 1000 / 2_000_000, () => calls++);
  assert.ok(calls <= 1001, `${calls} pieces for 1000 px`);
  // a view inside the data: only what is in it
  const seen: number[] = [];
  aggregate(l, 500_000, 500_100, 0, 1, (i) => seen.push(i));
  assert.deepEqual(
    seen,
    Array.from({ length: 11 }, (_, k) => 50_000 + k),
  );
});

/** What a pass draws, per pixel column of a view W px wide: the span index and active fraction at the column's middle. */
function raster(run: (emit: Emit) => void, w: number): string[] {
  const out: string[] = new Array(w).fill('-');
  run((i, x0, x1, active) => {
    for (let p = Math.max(0, Math.ceil(x0 - 0.5)); p < w && p + 0.5 < x1; p++)
      out[p] = `${i}:${active < 0 ? 'w' : active.toFixed(3)}`;
  });
  return out;
}

test('aggregate cache: panning by whole pixels, panning back, and live appends draw one pass from where the cache started, computing only new columns', () => {
  const l = new SpanList(ctx());
  let t = 0;
  let x = 3;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const add = (until: number) => {
    while (t < until) {
      const len = rnd() < 0.05 ? 2000 + Math.floor(rnd() * 20000) : 1 + Math.floor(rnd() * 40);
      l.push(t, t + len, rnd() < 0.5 ? 'idle' : 'co #2', rnd() < 0.5 ? null : { co: 2 });
      t += len + Math.floor(rnd() * 3);
    }
  };
  add(2_000_000);
  const W = 400;
  const nsPerPx = 1000; // 400 us in view, about 20 spans per pixel
  const k = 1 / nsPerPx;
  const cache = new AggregateCache();
  let maxDiff = 0;
  const check = (t0: number, what: string) => {
    const cached = raster((e) => cache.run(l, t0, t0 + W * nsPerPx, 0, k, e), W);
    // the same pass, fresh: from where the cache started, only its part in view drawn
    const start = cache.startTime;
    const x0 = (start - t0) * k;
    const fresh = raster((e) => aggregate(l, start, t0 + W * nsPerPx, x0, k, e, x0), W);
    const diff = cached.map((c, p) => (c === fresh[p] ? -1 : p)).filter((p) => p >= 0);
    maxDiff = Math.max(maxDiff, diff.length);
    // (a column exactly on a pixel boundary may round the other way)
    assert.ok(
      diff.length <= 1,
      `${what}: ${diff.length} columns differ: ${diff
        .slice(0, 8)
        .map((p) => `${p} ${cached[p]} / ${fresh[p]}`)
        .join(', ')}`,
    );
    // and what a pass from the view's own start draws: the same coverage
    const own = raster((e) => aggregate(l, t0, t0 + W * nsPerPx, 0, k, e), W);
    assert.deepEqual(
      cached.map((c) => c === '-'),
      own.map((c) => c === '-'),
      `${what}: coverage`,
    );
  };
  let t0 = 500_000;
  check(t0, 'first view, a new scale: not kept');
  assert.equal(cache.reused, 0);
  check(t0, 'first view again: kept');
  assert.equal(cache.reused, 0);
  // pan right by whole pixels: only the new columns are computed
  for (let step = 0; step < 20; step++) {
    t0 += 7 * nsPerPx;
    check(t0, `right ${step}`);
    assert.ok(cache.computed < 60, `computed ${cache.computed} pieces for a 7 px move`);
    assert.ok(
      cache.reused > 20 && cache.reused > 5 * cache.computed,
      `right: reused ${cache.reused}, computed ${cache.computed}`,
    );
  }
  // pan left: one pass with room, then moves within it reuse
  for (let step = 0; step < 20; step++) {
    t0 -= 5 * nsPerPx;
    check(t0, `left ${step}`);
  }
  assert.ok(cache.reused > 20 && cache.computed === 0, `left: reused ${cache.reused}, computed ${cache.computed}`);
  // a jump to the end: computed afresh
  t0 = Math.round((t - 300 * nsPerPx) / nsPerPx) * nsPerPx;
  check(t0, 'jump');
  assert.equal(cache.reused, 0);
  // live: the view follows the end while spans are appended
  for (let step = 0; step < 30; step++) {
    add(t + 3000 + Math.floor(rnd() * 5000));
    t0 = Math.round((t - 300 * nsPerPx) / nsPerPx) * nsPerPx;
    check(t0, `live ${step}`);
    assert.ok(cache.computed < 40 && cache.reused > 20, `live: reused ${cache.reused}, computed ${cache.computed}`);
  }
  // dropped spans (left of the view and in its left part): their pieces go, the rest is kept and
  // the view draws what a pass from its own start draws, but for the column where the data now begins
  const view = (from: number) => raster((e) => aggregate(l, from, from + W * nsPerPx, 0, k, e), W);
  l.dropBefore(t0 + 50 * nsPerPx);
  const afterDrop = raster((e) => cache.run(l, t0, t0 + W * nsPerPx, 0, k, e), W);
  assert.ok(cache.reused > 20, `after a drop: reused ${cache.reused}`);
  const own = view(t0);
  const diff = afterDrop.filter((c, p) => c !== own[p]).length;
  assert.ok(diff <= 2, `after a drop: ${diff} columns differ`);
  assert.deepEqual(afterDrop.slice(0, 45), own.slice(0, 45)); // nothing left there
  // then live again: appended, shifted, kept
  add(t + 5000);
  t0 = Math.round((t - 300 * nsPerPx) / nsPerPx) * nsPerPx;
  const next = raster((e) => cache.run(l, t0, t0 + W * nsPerPx, 0, k, e), W);
  assert.ok(cache.reused > 20);
  const own2 = view(t0);
  assert.ok(next.filter((c, p) => c !== own2[p]).length <= 2);
  // half a pixel: computed afresh
  check(t0 + 0.5 * nsPerPx, 'half a pixel');
  assert.equal(cache.reused, 0);
  assert.ok(maxDiff <= 1);
});

const thread = (id: number, worker: number): Track => ({
  id,
  kind: 'thread',
  name: `w${worker}`,
  parent: 1,
  pid: 1,
  tid: 100 + worker,
  worker,
});
const coTrack = (id: number, co: number): Track => ({
  id,
  kind: 'coroutine',
  name: `co #${co}`,
  parent: 2,
  pid: 1,
  co,
});

test('model: open slices stay apart until they end, nested calls go one depth down, instants and flows are kept', () => {
  const m = new TimelineModel();
  m.track(thread(3, 0));
  m.track(coTrack(10, 7));
  m.begin(10, 100, 'running', { switches: 1, worker: 0 }, null);
  assert.equal(m.tracks.get(10)!.open.length, 1);
  assert.equal(m.tracks.get(10)!.depths.length, 0);
  m.begin(10, 110, 'read', { fd: 3 }, null);
  m.end(10, 120);
  m.instant(10, 125, 'preempted', { pc: '0x1' }, 0, null);
  m.instant(10, 126, 'wake', { co: 8 }, 0, null);
  m.end(10, 130);
  m.begin(10, 130, 'suspended: read', { why: 'call' }, null);
  m.flow!(1, 3, 90, 10, 100);
  const t = m.tracks.get(10)!;
  assert.deepEqual(t.depths[1].toArray(), [{ t0: 110, t1: 120, name: 'read', args: { fd: 3 } }]);
  assert.deepEqual(t.depths[0].toArray(), [{ t0: 100, t1: 130, name: 'running', args: { switches: 1, worker: 0 } }]);
  assert.deepEqual(t.open, [{ t0: 130, name: 'suspended: read', args: { why: 'call' } }]);
  assert.deepEqual(
    t.marks.map((s) => [s.t0, s.name]),
    [
      [125, 'preempted'],
      [126, 'wake'],
    ],
  );
  assert.deepEqual(
    t.alerts.map((s) => s.name),
    ['preempted'],
  );
  const f = m.flowsTo.get(10)!;
  assert.equal(f.length, 1);
  assert.deepEqual([f.fromTrack(0), f.fromTs(0), f.toTs(0)], [3, 90, 100]);
  assert.equal(m.spans, 2);
  assert.equal(m.items, 2 + 3 + 1);
  assert.equal(m.trackOfCo(7), t);
});

test('model: the retention cap drops the oldest by time on every track, forgets finished tracks, and stays bounded', () => {
  const cap = 5000;
  const m = new TimelineModel({ maxItems: cap });
  m.track(thread(3, 0));
  m.track(thread(4, 1));
  let t = 1000;
  let co = 1;
  let maxItems = 0;
  // Short-lived coroutines on two workers: each runs a few slices, then finishes.
  const rounds = 3000;
  for (let round = 0; round < rounds; round++) {
    const track = 100 + co;
    m.track(coTrack(track, co));
    for (let k = 0; k < 10; k++) {
      const w = 3 + (k % 2);
      m.begin(w, t, `co #${co}`, { co }, null);
      m.begin(track, t, 'running', { worker: w - 3 }, null);
      m.begin(track, t + 2, 'read', { fd: k }, null);
      m.end(track, t + 5);
      m.end(track, t + 8);
      m.end(w, t + 8);
      m.begin(track, t + 8, 'ready', { why: 'yielded' }, null);
      m.end(track, t + 10);
      if (k === 5) m.instant(track, t + 9, 'preempted', { pc: `0x${round.toString(16)}` }, 0, null);
      t += 10;
    }
    m.instant(track, t, 'finished', { exit: 'returned' }, 0, null);
    m.close(track);
    co++;
    maxItems = Math.max(maxItems, m.items);
  }
  assert.ok(maxItems <= cap, `${maxItems} items retained, cap ${cap}`);
  assert.ok(m.droppedItems > 0);
  assert.ok(m.droppedBefore > 1000 && m.droppedBefore <= t);
  // Nothing retained ended before the cutoff, on any track; everything after it is there.
  let spans = 0;
  for (const d of m.tracks.values()) {
    for (const l of d.depths) {
      spans += l.length;
      if (l.length) assert.ok(l.t1(0) >= m.droppedBefore);
    }
    if (d.marks.length) assert.ok(d.marks.t0(0) >= m.droppedBefore);
  }
  assert.equal(spans, m.spans);
  const w1 = m.tracks.get(4)!.depths[0]; // worker 1 ran the last slice (k = 9)
  assert.equal(w1.t1(w1.length - 1), t - 2);
  // finished coroutines whose slices were all dropped are forgotten; the recent ones are kept
  assert.ok(m.tracks.size < 2 + cap / 20, `${m.tracks.size} tracks`);
  assert.equal(m.trackOfCo(1), undefined);
  assert.ok(m.trackOfCo(co - 1));
  // the string pool was compacted: the labels and pcs of forgotten coroutines are gone (6000 without),
  // retained names still read right
  assert.ok(m.pool.generation > 0);
  assert.ok(m.pool.size < 5000, `${m.pool.size} strings`);
  const last = m.trackOfCo(co - 1)!;
  assert.equal(last.depths[0].name(0), 'running');
  assert.deepEqual(last.depths[1].args(0), { fd: 0 });
  assert.equal(w1.name(w1.length - 1), `co #${co - 1}`);
  assert.equal(last.alerts.length, 1);
  assert.match(String(last.alerts.args(0)!.pc), /^0x/);
});

test('model: a cap no history fits in still keeps the newest and the open slices', () => {
  const m = new TimelineModel({ maxItems: 16 });
  m.track(thread(3, 0));
  for (let i = 0; i < 1000; i++) {
    m.begin(3, i * 10, 'idle', null, null);
    m.end(3, i * 10 + 5);
  }
  m.begin(3, 10_000, 'idle', null, null);
  assert.ok(m.items <= 16);
  const l = m.tracks.get(3)!.depths[0];
  assert.equal(l.t1(l.length - 1), 9995);
  assert.equal(m.tracks.get(3)!.open.length, 1);
  assert.equal(m.spans, l.length);
});
