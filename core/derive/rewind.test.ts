import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Kind, NO_WORKER, ReadyWhy } from '../events/schema.js';
import type { RawEvents } from '../events/rawEvents.js';
import { EventStore } from '../store/eventStore.js';
import { syntheticMix, type Mix } from '../store/syntheticMix.js';
import { Derived } from './derived.js';
import type { CoroutineState, Snapshot, WorkerAt } from './snapshot.js';

/** One event as a plain object, with its position in store order. */
interface Ev {
  index: number;
  ts: number;
  kind: number;
  worker: number;
  co: number;
  a: number[];
}

function flatten(batches: RawEvents[]): Ev[] {
  const out: Ev[] = [];
  for (const b of batches) {
    for (let i = 0; i < b.length; i++) {
      const a = [0, 1, 2, 3, 4].map((k) => (b.kind(i) === Kind.CO_SUSPEND && k === 2 ? b.signed(i, k) : b.a(i, k)));
      out.push({ index: out.length, ts: b.ts(i), kind: b.kind(i), worker: b.worker(i), co: b.co(i), a });
    }
  }
  return out;
}

/** In time order (ties: store order). */
const byTime = (x: Ev, y: Ev) => x.ts - y.ts || x.index - y.index;

/**
 * The reference: replays every event with ts <= t in time order, with the
 * rules of docs/events.md written out plainly, and keeps the last word.
 */
function replay(events: Ev[], t: number): { cos: Map<number, CoroutineState>; workers: Map<number, WorkerAt> } {
  const cos = new Map<number, CoroutineState>();
  const workers = new Map<number, WorkerAt>();
  const co = (e: Ev, state: CoroutineState['state'], why = 0) =>
    cos.set(e.co, { co: e.co, state, worker: e.worker === NO_WORKER ? null : e.worker, since: e.ts, why });
  const worker = (e: Ev, state: WorkerAt['state'], running = 0) => {
    if (e.worker !== NO_WORKER) workers.set(e.worker, { worker: e.worker, state, co: running, since: e.ts });
  };
  for (const e of events.filter((x) => x.ts <= t).sort(byTime)) {
    switch (e.kind) {
      case Kind.CO_CREATE:
        co(e, 'new');
        break;
      case Kind.CO_READY:
        co(e, 'ready', e.a[0]);
        break;
      case Kind.CO_YIELD:
        co(e, 'ready', e.a[0] ? ReadyWhy.PREEMPTED : ReadyWhy.YIELDED);
        worker(e, 'scheduling');
        break;
      case Kind.CO_RUN:
        co(e, 'running');
        worker(e, 'running', e.co);
        break;
      case Kind.CO_SUSPEND:
        co(e, 'suspended', e.a[0]);
        cos.get(e.co)!.wait = {
          why: e.a[0],
          whyName: '',
          hook: e.a[1],
          hookName: '',
          fd: e.a[2],
          events: e.a[3],
          deadline: e.a[4],
        };
        worker(e, 'scheduling');
        break;
      case Kind.CO_FINISH:
        co(e, 'done');
        worker(e, 'scheduling');
        break;
      case Kind.WORKER_IDLE:
        worker(e, 'idle');
        break;
      case Kind.WORKER_BUSY:
        worker(e, 'scheduling');
        break;
    }
  }
  return { cos, workers };
}

/** The comparable part of a snapshot: coroutines by id (wait names left out), workers with a state. */
function comparable(snap: Snapshot) {
  const cos = snap.coroutines(true).map((c) => (c.wait ? { ...c, wait: { ...c.wait, whyName: '', hookName: '' } } : c));
  return { cos: cos.sort((x, y) => x.co - y.co), workers: snap.workers().filter((w) => w.state !== 'unknown') };
}

function expected(events: Ev[], t: number) {
  const { cos, workers } = replay(events, t);
  return {
    cos: [...cos.values()].sort((x, y) => x.co - y.co),
    workers: [...workers.values()].sort((x, y) => x.worker - y.worker),
  };
}

function ingest(batches: RawEvents[], mix: Mix, checkpointInterval?: number): Derived {
  const store = new EventStore();
  const derived = new Derived(store, mix.strings, { checkpointInterval });
  for (const b of batches) {
    store.append(b);
    derived.append(b);
  }
  return derived;
}

/** Time per state of each coroutine from its transitions in time order, the last one open until `now`. */
function totals(events: Ev[], now: number): Map<number, { run: number; ready: number; suspended: number }> {
  const stateOf: Record<number, string> = {
    [Kind.CO_CREATE]: 'new',
    [Kind.CO_READY]: 'ready',
    [Kind.CO_YIELD]: 'ready',
    [Kind.CO_RUN]: 'run',
    [Kind.CO_SUSPEND]: 'suspended',
    [Kind.CO_FINISH]: 'done',
  };
  const perCo = new Map<number, Ev[]>();
  for (const e of events) if (stateOf[e.kind] && e.co) perCo.set(e.co, [...(perCo.get(e.co) ?? []), e]);
  const out = new Map<number, { run: number; ready: number; suspended: number }>();
  for (const [co, list] of perCo) {
    list.sort(byTime);
    const sum: Record<string, number> = { run: 0, ready: 0, suspended: 0, new: 0, done: 0 };
    list.forEach(
      (e, k) => (sum[stateOf[e.kind]] += (k + 1 < list.length ? list[k + 1].ts : Math.max(now, e.ts)) - e.ts),
    );
    out.set(co, { run: sum.run, ready: sum.ready, suspended: sum.suspended });
  }
  return out;
}

for (const seed of [21, 22, 23]) {
  describe(`Derived rewind and order independence (random valid scheduling history, seed ${seed})`, () => {
    const mix = syntheticMix({
      events: 40_000,
      workers: 2 + (seed % 3),
      coroutines: 50 * (seed - 19),
      seed,
      batch: 1000,
      late: true,
    });
    const events = flatten(mix.batches);
    const derived = ingest(mix.batches, mix, 4000);
    const first = Math.min(...events.map((e) => e.ts));
    const last = Math.max(...events.map((e) => e.ts));

    it('takes several checkpoints', () => {
      assert.ok(derived.checkpoints >= 3, `${derived.checkpoints} checkpoints`);
    });

    it('stateAt(t) equals the state obtained by replaying all events up to t', () => {
      const times = [first - 1, first, last, last + 1];
      for (let k = 1; k < 20; k++) times.push(Math.round(first + ((last - first) * k) / 20));
      for (let k = 0; k < 10; k++) times.push(events[Math.floor((events.length * (k + 0.5)) / 10)].ts);
      for (const t of times) assert.deepEqual(comparable(derived.stateAt(t)), expected(events, t), `at ${t}`);
    });

    it('the live state is the state at the newest event', () => {
      assert.deepEqual(comparable(derived.current()), comparable(derived.stateAt(last)));
      assert.deepEqual(comparable(derived.current()), expected(events, last));
    });

    it('time totals are those of the transitions in time order, whatever order the batches came in', () => {
      const swapped = mix.batches.map((_, k) => mix.batches[k % 2 ? k - 1 : Math.min(k + 1, mix.batches.length - 1)]);
      if (mix.batches.length % 2) swapped[mix.batches.length - 1] = mix.batches[mix.batches.length - 1];
      const late = ingest(swapped, mix);
      const want = totals(events, last);
      for (const d of [derived, late]) {
        const got = d.coroutines(true);
        assert.equal(got.length, want.size);
        for (const c of got) {
          const w = want.get(c.co)!;
          assert.deepEqual({ run: c.runTime, ready: c.readyTime, suspended: c.suspendedTime }, w, `co ${c.co}`);
        }
      }
      assert.ok(late.table.lateTransitions > 100, 'the swapped order has late transitions');
      assert.deepEqual(comparable(late.current()), comparable(derived.current()));
    });
  });
}
