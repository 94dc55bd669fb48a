import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LaneColumns, Overview } from './overview.js';
import { summaryColumns, type TraceChunkSummary, NO_WORKER } from './summaries.js';

/**
 * n chunks of 1 ms each from t = 1e9; lane A (tid 10, worker 0) busy `busyA(c)` ns in chunk c,
 * one preemption every 3rd chunk; lane B (tid 20, off the workers) only in even chunks, busy 0.
 */
function chunks(n: number, busyA: (c: number) => number = () => 500_000): TraceChunkSummary[] {
  const out: TraceChunkSummary[] = [];
  for (let c = 0; c < n; c++) {
    const t = 1e9 + c * 1e6;
    const lanes = [
      {
        tid: 10,
        worker: 0,
        records: 100,
        firstTs: t + 1,
        lastTs: t + 1e6,
        busyNs: busyA(c),
        coStart: c,
        coEnd: c + 1,
        idleAtStart: false,
        idleAtEnd: false,
        kinds: { 48: 7, 65: c % 3 === 0 ? 1 : 0, 18: 2, 4: 1, 20: 90 - (c % 3 === 0 ? 1 : 0) } as Record<
          string,
          number
        >,
      },
    ];
    if (c % 2 === 0) {
      lanes.push({
        tid: 20,
        worker: NO_WORKER,
        records: 10,
        firstTs: t + 10,
        lastTs: t + 5e5,
        busyNs: 0,
        coStart: 0,
        coEnd: 0,
        idleAtStart: true,
        idleAtEnd: true,
        kinds: { 96: 1, 80: 9 },
      });
    }
    out.push({
      offset: c * 4096,
      size: 4096,
      firstTs: t + 1,
      lastTs: t + 1e6,
      records: lanes.reduce((s, l) => s + l.records, 0),
      lanes,
    });
  }
  return out;
}

function sum(a: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i];
  return s;
}

describe('Overview (per-lane mipmap from chunk summaries)', () => {
  it('gives one lane per thread, in order of first appearance, with its worker', () => {
    const o = new Overview();
    o.add(summaryColumns(chunks(4), 0));
    assert.deepEqual(
      o.lanes.map((l) => [l.tid, l.worker]),
      [
        [10, 0],
        [20, NO_WORKER],
      ],
    );
    assert.equal(o.chunks, 4);
    assert.equal(o.events, 4 * 100 + 2 * 10 - 4, 'events = records minus STRING records');
  });

  it('keeps busy time and counts whole at every zoom level (each node spread, not lost or doubled)', () => {
    const n = 1000;
    const o = new Overview();
    o.add(
      summaryColumns(
        chunks(n, (c) => (c * 997) % 1_000_000),
        0,
      ),
    );
    let busy = 0;
    for (let c = 0; c < n; c++) busy += (c * 997) % 1_000_000;
    const out = new LaneColumns();
    for (const width of [1, 7, 100, 1500, 5000]) {
      o.query(0, { t0: 0.9e9, t1: 2.1e9, width }, out);
      assert.ok(Math.abs(sum(out.busy, width) - busy) < 1e-3 * busy, `busy at ${width} columns`);
      assert.ok(Math.abs(sum(out.calls, width) - 7 * n) < 1e-6, `calls at ${width} columns`);
      assert.ok(Math.abs(sum(out.preempts, width) - Math.ceil(n / 3)) < 1e-6, `preemptions at ${width} columns`);
      o.query(1, { t0: 0.9e9, t1: 2.1e9, width }, out);
      assert.ok(Math.abs(sum(out.drops, width) - n / 2) < 1e-6, `drops at ${width} columns`);
    }
  });

  it("puts a node's busy time in the columns of its time, as a fraction of the column", () => {
    const o = new Overview();
    // Chunks 0..9 busy 0, 10..19 fully busy.
    o.add(
      summaryColumns(
        chunks(20, (c) => (c >= 10 ? 1e6 : 0)),
        0,
      ),
    );
    const out = new LaneColumns();
    o.query(0, { t0: 1e9, t1: 1e9 + 20e6, width: 20 }, out);
    for (let col = 1; col < 20; col++) {
      const frac = out.busy[col] / out.covered[col];
      assert.ok(col < 10 ? frac < 0.01 : frac > 0.99, `column ${col}: busy fraction ${frac}`);
    }
    // Zoomed into chunk 12 at 100 columns: every column fully covered and busy.
    o.query(0, { t0: 1e9 + 12.1e6, t1: 1e9 + 12.9e6, width: 100 }, out);
    for (let col = 0; col < 100; col++) assert.ok(Math.abs(out.busy[col] / out.covered[col] - 1) < 1e-9);
  });

  it('answers the same whether the summaries came at once or chunk by chunk (a live file growing)', () => {
    const all = chunks(37);
    const once = new Overview();
    once.add(summaryColumns(all, 0));
    const grown = new Overview();
    for (let c = 0; c < all.length; c += 5) {
      // Each answer repeats the chunk before (a page asking again from where it was, overlapping).
      grown.add(summaryColumns(all.slice(0, c + 5), Math.max(0, c - 1)));
    }
    assert.equal(grown.chunks, 37);
    const a = new LaneColumns();
    const b = new LaneColumns();
    for (const width of [3, 64, 999]) {
      once.query(0, { t0: 1e9, t1: 1.04e9, width }, a);
      grown.query(0, { t0: 1e9, t1: 1.04e9, width }, b);
      assert.deepEqual([...a.busy.subarray(0, width)], [...b.busy.subarray(0, width)]);
      assert.deepEqual([...a.switches.subarray(0, width)], [...b.switches.subarray(0, width)]);
    }
  });

  it('refuses an answer that skips chunks', () => {
    const o = new Overview();
    o.add(summaryColumns(chunks(4), 0));
    assert.throws(() => o.add(summaryColumns(chunks(8), 6)), /from 6, expected 4/);
  });

  it('estimates the events in a time window from the chunks, and knows the seq of a chunk', () => {
    const o = new Overview();
    o.add(summaryColumns(chunks(10), 0)); // events per chunk: 99 (odd chunks), 109 (even)
    assert.equal(o.eventsIn(0, 3e9), o.events);
    assert.equal(o.eventsBefore(2), 109 + 99);
    assert.equal(o.chunkAt(1e9 + 2.5e6), 2);
    const half = o.eventsIn(1e9 + 2.5e6, 1e9 + 3e6); // half of chunk 2
    assert.ok(Math.abs(half - 109 / 2) < 1, `${half}`);
    assert.equal(o.eventsIn(5e9, 6e9), 0);
  });

  /** Every field of every lane's columns over a few views, as plain numbers (to compare overviews). */
  function picture(o: Overview, views: [number, number, number][]): number[][] {
    const out: number[][] = [];
    const cols = new LaneColumns();
    for (let lane = 0; lane < o.lanes.length; lane++)
      for (const [t0, t1, width] of views) {
        o.query(lane, { t0, t1, width }, cols);
        for (const a of [cols.covered, cols.busy, cols.records, cols.calls, cols.preempts, cols.drops, cols.coEnd])
          out.push(Array.from(a.subarray(0, width), (x) => Math.round(x * 1e6) / 1e6));
      }
    return out;
  }
  const VIEWS: [number, number, number][] = [
    [1e9, 1e9 + 300e6, 200],
    [1e9 + 17e6, 1e9 + 29e6, 50],
    [1e9 + 250e6, 1e9 + 301e6, 640],
  ];

  it('appended one chunk at a time equals the overview built from all chunks at once', () => {
    const all = chunks(300, (c) => (c * 7919) % 1e6);
    const whole = new Overview();
    whole.add(summaryColumns(all, 0));
    const grown = new Overview();
    for (let c = 0; c < all.length; c++) grown.add(summaryColumns(all.slice(0, c + 1), c));
    assert.equal(grown.chunks, 300);
    assert.equal(grown.events, whole.events);
    assert.deepEqual(picture(grown, VIEWS), picture(whole, VIEWS));
    assert.equal(grown.eventsIn(1e9 + 10e6, 1e9 + 90e6), whole.eventsIn(1e9 + 10e6, 1e9 + 90e6));
  });

  it('grouping merges consecutive chunks into one node per group, appended one at a time or all at once alike', () => {
    const all = chunks(300, (c) => (c * 7919) % 1e6);
    const group = { events: 1000, ns: 1e12 };
    const whole = new Overview(group);
    whole.add(summaryColumns(all, 0));
    const grown = new Overview(group);
    for (let c = 0; c < all.length; c++) grown.add(summaryColumns(all.slice(0, c + 1), c));
    // 100 + 10 events per even chunk, 100 - 0 per odd (strings not counted): ~10 chunks per group.
    assert.ok(whole.nodeCount <= 31 && whole.nodeCount >= 27, `${whole.nodeCount} nodes for 300 chunks`);
    assert.equal(grown.nodeCount, whole.nodeCount);
    assert.equal(grown.events, whole.events, 'the group being filled counts in events');
    assert.deepEqual(picture(grown, VIEWS), picture(whole, VIEWS));
    // Busy time and counts are kept whole by the merge: the same totals as one node per chunk.
    const plain = new Overview();
    plain.add(summaryColumns(all, 0));
    grown.closeGroup();
    const cols = new LaneColumns();
    const totals = (o: Overview) => {
      o.query(0, { t0: 0, t1: 2e9, width: 7 }, cols);
      return [sum(cols.busy, 7), sum(cols.records, 7), sum(cols.calls, 7), sum(cols.preempts, 7)].map(Math.round);
    };
    assert.deepEqual(totals(grown), totals(plain));
    assert.equal(grown.sealedTo, plain.sealedTo);
  });

  it('grouping closes a group by time too, and leaves the open group undrawn (sealedTo)', () => {
    const o = new Overview({ events: 1e9, ns: 5e6 });
    o.add(summaryColumns(chunks(12), 0));
    // 1 ms chunks: a group closes once it spans 5 ms (6 chunks: first ts of the first to last of the sixth).
    assert.equal(o.nodeCount, 2);
    assert.equal(o.sealedTo, 1e9 + 11 * 1e6 + 1e6);
    o.add(summaryColumns(chunks(14), 12));
    assert.equal(o.nodeCount, 2, 'the third group is being filled');
    assert.equal(o.chunks, 14);
    assert.ok(o.events > o.sealedEvents);
  });
});
