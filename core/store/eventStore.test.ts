import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_SIZE, Kind, NO_WORKER, CallFlag } from '../events/schema.js';
import { RawEvents, RawEventWriter } from '../events/rawEvents.js';
import { EventStore, type StoredEvent } from './eventStore.js';
import { OVERFLOW_LANE } from './lanes.js';
import { syntheticMix } from './syntheticMix.js';

type Ev = Parameters<RawEventWriter['push']>[0];

function raw(events: Ev[]): RawEvents {
  const w = new RawEventWriter(events.length + 1);
  for (const e of events) w.push(e);
  return new RawEvents(w.bytes());
}

/** Sets argument k of record i to an exact u64 (docs/events.md: arguments at offset 24 + 8k). */
function setArg(r: RawEvents, i: number, k: number, v: bigint): void {
  new DataView(r.bytes.buffer, r.bytes.byteOffset).setBigUint64(i * EVENT_SIZE + 24 + 8 * k, v, true);
}

/** Asserts the stored event equals record i of r, bit for bit. */
function assertSame(ev: StoredEvent, r: RawEvents, i: number): void {
  const where = `event ${ev.index} (kind ${r.kind(i)})`;
  assert.equal(ev.ts, r.ts(i), `${where}: ts`);
  assert.equal(ev.kind, r.kind(i), `${where}: kind`);
  assert.equal(ev.worker, r.worker(i), `${where}: worker`);
  assert.equal(ev.tid, r.tid(i), `${where}: tid`);
  assert.equal(ev.co, r.co(i), `${where}: co`);
  for (let k = 0; k < 5; k++) {
    assert.equal(ev.lo[k], r.lo(i, k), `${where}: a${k} low word`);
    assert.equal(ev.hi[k], r.hi(i, k), `${where}: a${k} high word`);
  }
}

function storeOf(...batches: RawEvents[]): EventStore {
  const s = new EventStore();
  for (const b of batches) s.append(b);
  return s;
}

function collect(run: (fn: (ev: StoredEvent) => void) => void): number[] {
  const out: number[] = [];
  run((ev) => void out.push(ev.index));
  return out;
}

const T = 1_700_000_000_000;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

describe('EventStore round trip', () => {
  it('keeps every field of every kind, with extreme values', () => {
    const kinds = [
      ...Object.values(Kind).filter((k) => k !== Kind.NONE && k !== Kind.STRING && k !== Kind.STRING_MORE),
      7,
      99,
      254,
      255,
      300,
      65535,
    ];
    const events: Ev[] = [];
    for (const kind of kinds) {
      events.push({ ts: T + events.length, kind, worker: 3, tid: 4242, co: 77, a: [1, 2, 3, 4, 5] });
      events.push({
        ts: T + events.length,
        kind,
        worker: NO_WORKER,
        tid: 0xffffffff,
        co: 2 ** 53 - 1,
        a: [0, 0, 0, 0, 0],
      });
      events.push({ ts: T + events.length, kind, worker: 0, tid: 1, co: 1, a: [-1, -1, -1, -1, -1] });
    }
    const r = raw(events);
    // Patterns a double cannot hold: every argument of every third record.
    const patterns = [U64_MAX, 1n << 63n, (1n << 64n) - 3n, 0xffff_ffff_0000_0005n, 0x1234_5678_9abc_def1n];
    for (let i = 0; i < r.length; i += 3) for (let k = 0; k < 5; k++) setArg(r, i, k, patterns[(i + k) % 5]);
    const s = storeOf(r);
    assert.equal(s.count, r.length);
    for (let i = 0; i < r.length; i++) assertSame(s.get(i), r, i);
  });

  it('gives fds and results signed and the rest unsigned', () => {
    const s = storeOf(
      raw([
        {
          ts: T,
          kind: Kind.CALL,
          worker: 0,
          tid: 9,
          co: 5,
          a: [14 | CallFlag.IN_CO, -1, -1, 11 + 4096 * 2 ** 32, 1500],
        },
        { ts: T + 1, kind: Kind.CALL, worker: 0, tid: 9, co: 5, a: [15, 3, 2 ** 53 - 1, 0, 1] },
        { ts: T + 2, kind: Kind.CALL, worker: 0, tid: 9, co: 5, a: [15, 3, -(2 ** 53) + 1, 0, 1] },
        { ts: T + 3, kind: Kind.CO_SUSPEND, worker: 0, tid: 9, co: 5, a: [1, 14, -1, 1, 0] },
        { ts: T + 4, kind: Kind.WAKE, worker: NO_WORKER, tid: 8, co: 5, a: [3, -1, 1, 0, NO_WORKER] },
        { ts: T + 5, kind: Kind.WAKE, worker: 1, tid: 8, co: 5, a: [2, T + 1e9, 0, 0, 1] },
      ]),
    );
    const call = s.get(0);
    assert.deepEqual(Array.from(call.a), [14 | CallFlag.IN_CO, -1, -1, 11 + 4096 * 2 ** 32, 1500]);
    assert.equal(call.lo[3], 11, 'errno');
    assert.equal(call.hi[3], 4096, 'argument summary');
    assert.equal(s.get(1).a[2], 2 ** 53 - 1);
    assert.equal(s.get(2).a[2], -(2 ** 53) + 1);
    assert.equal(s.get(3).a[2], -1, 'CO_SUSPEND fd');
    assert.equal(s.get(4).a[1], -1, 'WAKE fd detail');
    assert.equal(s.get(4).a[4], NO_WORKER, 'WAKE waker worker');
    assert.equal(s.get(5).a[1], T + 1e9, 'WAKE deadline detail');
  });

  it('keeps a field the schema leaves 0 when a newer engine fills it', () => {
    const s = storeOf(raw([{ ts: T, kind: Kind.CO_RUN, worker: 0, tid: 9, co: 5, a: [3, 0, 0, 0, 99] }]));
    assert.deepEqual(Array.from(s.get(0).a), [3, 0, 0, 0, 99]);
  });

  it('keeps deadlines equal to 0, to the event ts and far from it', () => {
    const events: Ev[] = [0, T, T + 1, T - 1, 1, 2 ** 53 - 1].map((d, k) => ({
      ts: T,
      kind: Kind.CO_SUSPEND,
      worker: 0,
      tid: 9,
      co: 5 + k,
      a: [3, 3, -1, 0, d],
    }));
    const r = raw(events);
    const s = storeOf(r);
    for (let i = 0; i < r.length; i++) assertSame(s.get(i), r, i);
  });

  it('skips padding and strings', () => {
    const s = storeOf(
      raw([
        { ts: T, kind: Kind.NONE },
        { ts: T, kind: Kind.STRING, a: [1, 3, 0x636261] },
        { ts: T + 1, kind: Kind.STRING_MORE, a: [1, 24] },
        { ts: T + 2, kind: Kind.CO_RUN, worker: 0, tid: 9, co: 5, a: [1] },
      ]),
    );
    assert.equal(s.count, 1);
    assert.equal(s.get(0).kind, Kind.CO_RUN);
  });

  it('handles gaps longer than 2^32 ns, events out of order, older batches and ts beyond 2^53', () => {
    const ts = [
      T,
      T + 2 ** 33,
      T + 2 ** 33 + 5,
      T + 1e15,
      T - 1e12,
      T + 1e15 + 1,
      0,
      2 ** 53 - 1,
      T,
      2 ** 53 + 2,
      2 ** 60,
      2 ** 64 - 2048,
      0,
      2 ** 64 - 4096,
      5,
    ];
    const first = raw(ts.map((t, k) => ({ ts: t, kind: Kind.CO_RUN, worker: 0, tid: 9, co: k + 1, a: [k] })));
    const late = raw([5, 6, 7].map((k) => ({ ts: T - k, kind: Kind.CO_YIELD, worker: 1, tid: 10, co: k, a: [0] })));
    const s = storeOf(first, late);
    for (let i = 0; i < first.length; i++) assertSame(s.get(i), first, i);
    for (let i = 0; i < late.length; i++) assertSame(s.get(first.length + i), late, i);
    assert.deepEqual(s.timeRange(), { min: 0, max: 2 ** 64 - 2048 });
  });

  it('gives 255 threads a lane and keeps the tid and worker of the others', () => {
    const events: Ev[] = [];
    for (let t = 0; t < 300; t++)
      events.push({
        ts: T + t,
        kind: Kind.CALL,
        worker: t % 7 === 0 ? NO_WORKER : t,
        tid: 1000 + t,
        a: [34, t, 0, 0, 10],
      });
    const r = raw(events);
    const s = storeOf(r);
    for (let i = 0; i < r.length; i++) assertSame(s.get(i), r, i);
    assert.equal(s.threads.length, 255);
    assert.equal(s.get(254).lane, 254);
    assert.equal(s.get(255).lane, OVERFLOW_LANE);
    assert.deepEqual(s.threads[3], { tid: 1003, worker: 3 });
  });

  it('keeps a block with thousands of distinct coroutine ids above 65535', () => {
    const events: Ev[] = [];
    for (let k = 0; k < 5000; k++)
      events.push({ ts: T + k, kind: Kind.CO_RUN, worker: 0, tid: 9, co: 70000 + k * 1_000_003, a: [k] });
    const r = raw(events);
    const s = storeOf(r);
    for (let i = 0; i < r.length; i++) assertSame(s.get(i), r, i);
  });

  it('gives random access in any order', () => {
    const mix = syntheticMix({ events: 30_000, seed: 3 });
    const s = storeOf(...mix.batches);
    const flat: [RawEvents, number][] = [];
    for (const b of mix.batches) for (let i = 0; i < b.length; i++) flat.push([b, i]);
    for (const i of [29_000, 5, 4095, 4096, 4097, 17_000, 0, 12_345, flat.length - 1]) assertSame(s.get(i), ...flat[i]);
    assert.throws(() => s.get(flat.length), RangeError);
  });
});

describe('EventStore queries', () => {
  const mix = syntheticMix({ events: 60_000, seed: 7, coroutines: 300 });
  const s = storeOf(...mix.batches);
  const all: { ts: number; co: number; tid: number; worker: number }[] = [];
  for (const b of mix.batches)
    for (let i = 0; i < b.length; i++) all.push({ ts: b.ts(i), co: b.co(i), tid: b.tid(i), worker: b.worker(i) });
  const { min, max } = s.timeRange();
  const ranges = [
    [min, max],
    [min, min],
    [min + (max - min) / 3, min + (max - min) / 2],
    [max + 1, max + 10],
    [0, min - 1],
  ];
  const expect = (pred: (e: (typeof all)[0], i: number) => boolean) => all.flatMap((e, i) => (pred(e, i) ? [i] : []));

  it('the store holds the batches in order', () => {
    assert.equal(s.count, all.length);
    const seen = collect((fn) => s.scan(-Infinity, Infinity, fn));
    assert.deepEqual(
      seen,
      all.map((_, i) => i),
    );
  });

  it('scan(t0, t1) gives exactly the events with ts in [t0, t1], in store order', () => {
    for (const [t0, t1] of ranges) {
      assert.deepEqual(
        collect((fn) => s.scan(t0, t1, fn)),
        expect((e) => e.ts >= t0 && e.ts <= t1),
        `[${t0}, ${t1}]`,
      );
    }
  });

  it('scan from an event index skips the ones before', () => {
    const [t0, t1] = ranges[2];
    assert.deepEqual(
      collect((fn) => s.scan(t0, t1, fn, 20_000)),
      expect((e, i) => i >= 20_000 && e.ts >= t0 && e.ts <= t1),
    );
  });

  it('scanCo gives exactly the events of one coroutine', () => {
    for (const co of [0, 1, 17, 299, 450, 10 ** 9]) {
      for (const [t0, t1] of ranges) {
        assert.deepEqual(
          collect((fn) => s.scanCo(co, t0, t1, fn)),
          expect((e) => e.co === co && e.ts >= t0 && e.ts <= t1),
          `co ${co}`,
        );
      }
    }
  });

  it('scanLane gives exactly the events of one thread', () => {
    s.threads.forEach(({ tid, worker }, lane) => {
      const [t0, t1] = ranges[2];
      assert.deepEqual(
        collect((fn) => s.scanLane(lane, t0, t1, fn)),
        expect((e) => e.tid === tid && e.worker === worker && e.ts >= t0 && e.ts <= t1),
      );
    });
  });

  it('scans and get() can be nested', () => {
    const seen = (nest: boolean) => {
      const out: number[][] = [];
      s.scan(min, max, (ev) => {
        out.push([ev.index, ev.ts, ev.kind, ev.a[0], ev.a[4]]);
        if (nest && ev.index % 5000 === 0) {
          s.scanCo(ev.co, min, max, () => void s.get(0));
          s.scanLane(0, min, max, () => {});
        }
      });
      return out;
    };
    assert.deepEqual(seen(true), seen(false));
  });

  it('a visitor returning false stops the scan', () => {
    let n = 0;
    s.scan(min, max, () => ++n < 10);
    assert.equal(n, 10);
  });
});

describe('EventStore memory', () => {
  it('takes at most 16 bytes per event on a realistic mix of 1 M events', () => {
    const mix = syntheticMix({ events: 1_000_000, seed: 11 });
    const s = storeOf(...mix.batches);
    const perEvent = s.bytesUsed() / s.count;
    assert.ok(s.count >= 1_000_000);
    assert.ok(perEvent <= 16, `${perEvent.toFixed(2)} bytes per event`);
  });
});
