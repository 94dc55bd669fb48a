import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CallFlag, DeferWhy, hookId, Kind, NO_WORKER, ReadyWhy, SuspendWhy } from '../events/schema.js';
import { RawEvents, RawEventWriter } from '../events/rawEvents.js';
import { StringTable } from '../events/strings.js';
import { EventStore } from '../store/eventStore.js';
import { Derived, rereadHistory } from './derived.js';
import { syntheticMix } from '../store/syntheticMix.js';

const MS = 1_000_000;
/** Run/yield pairs of another coroutine that push a coroutine's transitions out of the shared log (coroutines.ts). */
const LOG_OVERRUN = 1 << 18;
const US = 1_000;
const T = 1_000_000 * MS;
const W0 = { worker: 0, tid: 200 };
const W1 = { worker: 1, tid: 201 };
const NETPOLL = { worker: NO_WORKER, tid: 101 };
const MAIN = { worker: NO_WORKER, tid: 100 };
const nanosleep = hookId('nanosleep');
const read = hookId('read');
const write = hookId('write');
const connect = hookId('connect');

type Thread = { worker: number; tid: number };

/** Sessions made by the running test: afterEach checks that each one's store-less twin agrees. */
let made: Session[] = [];

/**
 * Builds batches of events and feeds them to a store and its Derived, and to
 * a twin Derived without a store that recounts from the batches sent so far
 * (as the CLI recounts from the trace file).
 */
class Session {
  readonly strings = new StringTable();
  readonly store = new EventStore();
  readonly derived = new Derived(this.store, this.strings);
  readonly sent: RawEvents[] = [];
  readonly twin = new Derived(null, this.strings, { history: rereadHistory(() => this.sent) });
  /** false: the test feeds derived alone on purpose (the twin is not compared). */
  compare = true;
  private w = new RawEventWriter();

  constructor() {
    made.push(this);
  }

  ev(ts: number, kind: number, on: Thread, co: number, a: number[] = []): this {
    this.w.push({ ts, kind, worker: on.worker, tid: on.tid, co, a });
    return this;
  }

  /** Sends what was built as one batch. */
  flush(): this {
    const raw = new RawEvents(this.w.bytes().slice());
    this.store.append(raw);
    this.derived.append(raw);
    this.twin.append(raw);
    this.sent.push(raw);
    this.w = new RawEventWriter();
    return this;
  }

  /** co is created by a plain thread at ts and made ready. */
  spawn(ts: number, co: number, name = 0): this {
    return this.ev(ts, Kind.CO_CREATE, MAIN, co, [0, name, 0, 65536]).ev(ts, Kind.CO_READY, MAIN, co, [
      ReadyWhy.SPAWNED,
      0,
      2,
      0,
    ]);
  }

  call(
    ts: number,
    on: Thread,
    co: number,
    hook: number,
    flags: number,
    fd: number,
    result: number,
    errno: number,
    summary: number,
    dur: number,
  ): this {
    return this.ev(ts, Kind.CALL, on, co, [hook | flags, fd, result, errno + summary * 2 ** 32, dur]);
  }
}

/** Every table a Derived gives, as plain data. */
function tables(d: Derived) {
  return {
    count: d.count,
    newest: d.newest,
    coroutines: d.coroutines(true),
    live: d.coroutines(false),
    calls: d.calls.rows(),
    callTotal: d.calls.total(),
    preemption: d.preemption.summary(),
    drops: d.drops.summary(),
    workers: d.workers(),
    process: d.process.summary(d.strings),
  };
}

afterEach(() => {
  const sessions = made;
  made = [];
  for (const s of sessions)
    if (s.compare) assert.deepEqual(tables(s.twin), tables(s.derived), 'Derived without a store gives the same tables');
});

describe('Derived: coroutines', () => {
  it('a coroutine that sleeps 10 ms is suspended in nanosleep for 10 ms and counted once', () => {
    const s = new Session();
    s.strings.set(7, 'sleeper');
    const deadline = T + 1 * MS + 10 * MS;
    s.spawn(T, 1, 7)
      .ev(T + 1 * MS, Kind.CO_RUN, W0, 1, [1])
      .ev(T + 1 * MS, Kind.CO_SUSPEND, W0, 1, [SuspendWhy.SLEEP, nanosleep, -1, 0, deadline])
      .ev(deadline, Kind.WAKE, W0, 1, [ReadyWhy.TIMER, deadline, 0, 0, 0])
      .ev(deadline, Kind.CO_READY, W0, 1, [ReadyWhy.TIMER])
      .ev(deadline + 50 * US, Kind.CO_RUN, W0, 1, [2])
      .call(deadline + 50 * US, W0, 1, nanosleep, CallFlag.IN_CO | CallFlag.PARKED, -1, 0, 0, 10, 10 * MS + 50 * US)
      .ev(deadline + 80 * US, Kind.CO_FINISH, W0, 1, [0, 2048])
      .flush();
    const co = s.derived.coroutine(1)!;
    assert.equal(co.name, 'sleeper');
    assert.equal(co.state, 'done');
    assert.equal(co.suspendedTime, 10 * MS);
    assert.equal(co.readyTime, 1 * MS + 50 * US);
    assert.equal(co.runTime, 30 * US);
    assert.equal(co.switches, 2);
    assert.equal(co.calls, 1);
    assert.deepEqual(co.exit, { code: 0, name: 'returned', stackUsed: 2048 });
    const sleeps = s.derived.calls.summary(nanosleep, true);
    assert.equal(sleeps.count, 1);
    assert.equal(sleeps.parked, 1);
    assert.equal(sleeps.errors, 0);
    assert.equal(s.derived.calls.summary(nanosleep, false).count, 0);
  });

  it('a suspended coroutine says why, in which hook, on which fd, for which events and until when', () => {
    const s = new Session();
    s.spawn(T, 5)
      .ev(T + 10, Kind.CO_RUN, W1, 5, [1])
      .ev(T + 20, Kind.CO_SUSPEND, W1, 5, [SuspendWhy.CALL, read, 9, 1, T + 5 * MS])
      .flush();
    const co = s.derived.coroutine(5)!;
    assert.equal(co.state, 'suspended');
    assert.equal(co.since, T + 20);
    assert.equal(co.worker, 1);
    assert.deepEqual(co.wait, {
      why: SuspendWhy.CALL,
      whyName: 'call',
      hook: read,
      hookName: 'read',
      fd: 9,
      events: 1,
      deadline: T + 5 * MS,
    });
    const w1 = s.derived.workers().find((w) => w.worker === 1)!;
    assert.equal(w1.state, 'scheduling');
    assert.equal(w1.co, 0);
  });

  it('a running coroutine shows on its worker, and its time so far counts', () => {
    const s = new Session();
    s.spawn(T, 3)
      .ev(T + 100, Kind.CO_RUN, W0, 3, [1])
      .ev(T + 400, Kind.CALL, MAIN, 0, [write, 1, 5, 0, 7])
      .flush();
    assert.equal(s.derived.coroutine(3)!.state, 'running');
    assert.equal(s.derived.coroutine(3)!.runTime, 300, 'running from T+100 to the newest event');
    assert.equal(s.derived.workers()[0].co, 3);
    assert.equal(s.derived.workers()[0].state, 'running');
  });

  it('late events do not rewind state but their time is placed where it belongs', () => {
    const s = new Session();
    s.spawn(T, 2)
      .ev(T + 100, Kind.CO_RUN, W0, 2, [1])
      .ev(T + 200, Kind.CO_SUSPEND, W0, 2, [SuspendWhy.CALL, read, 4, 1, 0]);
    s.ev(T + 600, Kind.CO_RUN, W0, 2, [2]).flush();
    // The netpoller's ring is drained later: its wake at T + 500 arrives after the run at T + 600.
    s.ev(T + 500, Kind.WAKE, NETPOLL, 2, [ReadyWhy.FD, 4, 1, 0, NO_WORKER]).ev(T + 500, Kind.CO_READY, NETPOLL, 2, [
      ReadyWhy.FD,
    ]);
    s.ev(T + 700, Kind.CO_YIELD, W0, 2, [0]).flush();
    const co = s.derived.coroutine(2)!;
    assert.equal(co.state, 'ready');
    assert.equal(co.since, T + 700);
    assert.equal(co.suspendedTime, 300);
    assert.equal(co.runTime, 100 + 100);
    assert.equal(
      co.readyTime,
      100 + 100,
      'spawned until first run, woken until run (the yield is the open interval: 0)',
    );
  });

  it('a late transition is placed exactly, however many transitions of its coroutine came before it', () => {
    const s = new Session();
    s.spawn(T, 4);
    for (let k = 0; k < 200; k++)
      s.ev(T + 100 + k * 100, Kind.CO_RUN, W0, 4, [k + 1]).ev(T + 150 + k * 100, Kind.CO_YIELD, W0, 4, [0]);
    s.flush();
    s.ev(T + 50, Kind.CO_READY, NETPOLL, 4, [ReadyWhy.SPAWNED]).flush();
    s.ev(T + 125, Kind.CO_SUSPEND, NETPOLL, 4, [SuspendWhy.CALL, read, 4, 1, 0]).flush();
    const co = s.derived.coroutine(4)!;
    assert.equal(s.derived.table.isStale(s.derived.coIds.find(4)), false, 'no recount needed');
    assert.equal(co.runTime, 200 * 50 - 25);
    assert.equal(co.suspendedTime, 25);
    assert.equal(co.readyTime, 100 + 199 * 50);
  });

  it('a transition later than everything the log holds is recounted from the store', () => {
    const s = new Session();
    s.spawn(T, 4);
    for (let k = 0; k < 6; k++)
      s.ev(T + 100 + k * 100, Kind.CO_RUN, W0, 4, [k + 1]).ev(T + 150 + k * 100, Kind.CO_YIELD, W0, 4, [0]);
    s.spawn(T + 700, 9);
    for (let k = 0; k < LOG_OVERRUN; k++)
      s.ev(T + 800 + k * 10, Kind.CO_RUN, W1, 9, [k + 1]).ev(T + 805 + k * 10, Kind.CO_YIELD, W1, 9, [0]);
    s.flush();
    s.ev(T + 50, Kind.CO_READY, NETPOLL, 4, [ReadyWhy.SPAWNED]).flush();
    assert.equal(s.derived.table.isStale(s.derived.coIds.find(4)), true, 'older than the log');
    const co = s.derived.coroutine(4)!;
    assert.equal(co.runTime, 6 * 50);
    assert.equal(co.readyTime, 100 + 5 * 50 + (s.derived.newest - (T + 650)), 'and ready since its last yield');
    assert.equal(co.state, 'ready');
  });

  it('keeps the parent, the creation and the stack of a spawned coroutine', () => {
    const s = new Session();
    s.spawn(T, 1)
      .ev(T + 10, Kind.CO_RUN, W0, 1, [1])
      .ev(T + 20, Kind.CO_CREATE, W0, 2, [1, 0, 0, 131072])
      .ev(T + 20, Kind.CO_READY, W0, 2, [ReadyWhy.SPAWNED, 1, 1, 0])
      .flush();
    const child = s.derived.coroutine(2)!;
    assert.equal(child.parent, 1);
    assert.equal(child.created, T + 20);
    assert.equal(child.stackSize, 131072);
    assert.equal(child.state, 'ready');
    assert.equal(child.why, ReadyWhy.SPAWNED);
    assert.equal(s.derived.coroutines().length, 2);
  });

  it('names the entry function from CO_CREATE a2 and counts moves between workers (CO_MIGRATE)', () => {
    const s = new Session();
    s.strings.add([
      [3, 'conn-1'],
      [4, 'conn_main'],
    ]);
    s.ev(T, Kind.CO_CREATE, W0, 5, [0, 3, 4, 65536])
      .ev(T, Kind.CO_CREATE, W0, 6, [0, 3, 0, 65536])
      .ev(T + 1, Kind.CO_READY, W0, 5, [ReadyWhy.SPAWNED, 0, 1, 1])
      .ev(T + 5, Kind.CO_MIGRATE, W1, 5, [0, 1])
      .ev(T + 5, Kind.CO_RUN, W1, 5, [1])
      .ev(T + 9, Kind.CO_YIELD, W1, 5, [0])
      .ev(T + 12, Kind.CO_MIGRATE, W0, 5, [1, 0])
      .ev(T + 12, Kind.CO_RUN, W0, 5, [2])
      .flush();
    const c = s.derived.coroutine(5)!;
    assert.equal(c.name, 'conn-1');
    assert.equal(c.entry, 'conn_main');
    assert.equal(c.migrations, 2);
    assert.equal(c.worker, 0);
    const unknown = s.derived.coroutines().find((x) => x.co === 6)!;
    assert.equal(unknown.entry, '', 'a2 = 0: the engine could not name it');
    assert.equal(unknown.migrations, 0);
  });
});

describe('Derived: coroutines older than the stream (CO_INFO)', () => {
  it('a coroutine seen only through CO_INFO is listed with its name, entry and wait; one with events keeps what they say', () => {
    const s = new Session();
    s.strings.add([
      [3, 'acceptor'],
      [4, 'acceptor_main'],
      [5, 'conn-1'],
      [6, 'renamed'],
    ]);
    const W = (w: number) => w * 4294967296;
    // co 1: parked in accept4 on fd 5 since before the attach; no event of its own follows.
    const accept = hookId('accept4');
    s.ev(T, Kind.CO_INFO, W0, 1, [0, 3, 4, 3 | (SuspendWhy.CALL << 8) | ((accept << 16) + W(0)), 5])
      // co 2: an older event (ready) is superseded by CO_INFO (running on w1), a later one (suspended) is not.
      .ev(T - 10, Kind.CO_READY, W1, 2, [ReadyWhy.YIELDED, 0, 0, 1])
      .ev(T, Kind.CO_INFO, W0, 2, [0, 5, 0, 2 + W(1), -1])
      .ev(T + 10, Kind.CO_SUSPEND, W1, 7, [SuspendWhy.SLEEP, hookId('usleep'), -1, 0, 0])
      .ev(T, Kind.CO_INFO, W0, 7, [0, 5, 0, 2 + W(1), -1])
      // co 3: created in the stream with a name; CO_INFO's name does not replace it.
      .ev(T - 5, Kind.CO_CREATE, W0, 3, [0, 5, 0, 65536])
      .ev(T, Kind.CO_INFO, W0, 3, [0, 6, 0, 0 + W(0xffff), -1])
      .flush();
    const a = s.derived.coroutine(1)!;
    assert.equal(a.name, 'acceptor');
    assert.equal(a.entry, 'acceptor_main');
    assert.equal(a.state, 'suspended');
    assert.equal(a.wait?.hookName, 'accept4');
    assert.equal(a.wait?.fd, 5);
    const b = s.derived.coroutine(2)!;
    assert.equal(b.name, 'conn-1');
    assert.equal(b.state, 'running');
    assert.equal(b.worker, 1);
    assert.equal(s.derived.coroutine(7)!.state, 'suspended');
    // Rewinding replays CO_INFO like the live tables do.
    assert.equal(s.derived.stateAt(T).coroutine(1)?.state, 'suspended');
    assert.equal(s.derived.stateAt(T).coroutine(1)?.wait?.fd, 5);
    assert.equal(s.derived.stateAt(T).coroutine(2)?.state, 'running');
    assert.equal(s.derived.stateAt(T - 5).coroutine(2)?.state, 'ready', 'before CO_INFO: the older event');
    assert.equal(s.derived.coroutine(3)!.name, 'conn-1');
  });
});

describe('Derived: calls', () => {
  it('an error call counts as an error and its latency enters the histogram', () => {
    const s = new Session();
    s.call(T, MAIN, 0, connect, 0, 5, -1, 111, 0, 40 * US)
      .call(T + 1, MAIN, 0, connect, 0, 6, 0, 0, 0, 20 * US)
      .flush();
    const c = s.derived.calls.summary(connect, false);
    assert.equal(c.count, 2);
    assert.equal(c.errors, 1);
    assert.equal(c.max, 40 * US);
    assert.equal(c.p99, 40 * US);
    assert.equal(c.p50, 20 * US);
  });

  it('transfers add the bytes they moved; other hooks and failed transfers do not', () => {
    const s = new Session();
    s.call(T, W0, 1, read, CallFlag.IN_CO, 4, 4096, 0, 4096, 10)
      .call(T, W0, 1, read, CallFlag.IN_CO, 4, -1, 11, 4096, 10)
      .call(T, W0, 1, write, CallFlag.IN_CO, 4, 100, 0, 100, 10)
      .call(T, W0, 1, connect, CallFlag.IN_CO, 4, 0, 0, 0, 10)
      .flush();
    assert.equal(s.derived.calls.summary(read, true).bytes, 4096);
    assert.equal(s.derived.calls.summary(write).bytes, 100);
    assert.equal(s.derived.calls.summary(connect).bytes, 0);
    assert.equal(s.derived.calls.total(true).bytes, 4196);
    assert.equal(s.derived.calls.total().count, 4);
  });

  it('counts parked and blocked calls, in and outside coroutines apart', () => {
    const s = new Session();
    s.call(T, W0, 1, read, CallFlag.IN_CO | CallFlag.PARKED, 4, 1, 0, 1, 10)
      .call(T, W0, 1, read, CallFlag.IN_CO | CallFlag.BLOCKED, 7, 1, 0, 1, 10)
      .call(T, MAIN, 0, read, 0, 3, 1, 0, 1, 10)
      .flush();
    const inCo = s.derived.calls.summary(read, true);
    assert.deepEqual([inCo.count, inCo.parked, inCo.blocked], [2, 1, 1]);
    assert.equal(s.derived.calls.summary(read, false).count, 1);
    assert.equal(s.derived.calls.summary(read).count, 3);
    assert.deepEqual(
      s.derived.calls.rows().map((r) => [r.name, r.inCo, r.count]),
      [
        ['read', false, 1],
        ['read', true, 2],
      ],
    );
    assert.equal(s.derived.coroutine(1), undefined, 'calls alone are no transition');
  });

  it('p99 of many calls is within 1 % of the exact value', () => {
    const s = new Session();
    const durations: number[] = [];
    for (let k = 0; k < 20_000; k++) {
      const d = 1000 + ((k * 7919) % 50_000) * 13;
      durations.push(d);
      s.call(T + k, W0, 1, write, CallFlag.IN_CO, 4, 1, 0, 1, d);
    }
    s.flush();
    durations.sort((a, b) => a - b);
    const exact = durations[Math.ceil(0.99 * durations.length) - 1];
    const p99 = s.derived.calls.summary(write, true).p99;
    assert.ok(Math.abs(p99 - exact) <= exact * 0.01, `${p99} vs ${exact}`);
  });

  it('a hook id this reader does not know is counted under its number', () => {
    const s = new Session();
    s.call(T, MAIN, 0, 300, 0, 3, 0, 0, 0, 10).flush();
    assert.equal(s.derived.calls.summary(300).count, 1);
    assert.equal(s.derived.calls.summary(300).name, 'hook 300');
  });
});

describe('Derived: preemption, workers, drops, process', () => {
  it('counts signals, preemptions per coroutine, their latency and deferrals by reason', () => {
    const s = new Session();
    const MONITOR = { worker: NO_WORKER, tid: 102 };
    s.spawn(T, 1)
      .ev(T + 10, Kind.CO_RUN, W1, 1, [1])
      .ev(T + 10 * MS, Kind.PREEMPT_SENT, MONITOR, 1, [10 * MS, 1])
      .ev(T + 10 * MS + 1000, Kind.PREEMPT_DEFERRED, W1, 1, [DeferWhy.LOCK, 0x401000])
      .ev(T + 10 * MS + 5000, Kind.PREEMPTED, W1, 1, [0x401000, 5000, 0])
      .ev(T + 10 * MS + 5300, Kind.CO_YIELD, W1, 1, [1])
      .flush();
    const p = s.derived.preemption.summary();
    assert.equal(p.sent, 1);
    assert.deepEqual(p.sentPerWorker, [0, 1]);
    assert.equal(p.preempted, 1);
    assert.equal(p.afterDeferral, 1);
    assert.equal(p.latency.max, 5000);
    assert.deepEqual(p.deferred, [{ why: DeferWhy.LOCK, name: 'a lock is held', count: 1 }]);
    assert.equal(s.derived.coroutine(1)!.preemptions, 1);
    assert.equal(s.derived.coroutine(1)!.why, ReadyWhy.PREEMPTED);
  });

  it("splits a worker's time between idle, scheduling and running", () => {
    const s = new Session();
    s.spawn(T, 1)
      .ev(T, Kind.WORKER_BUSY, W0, 0, [2])
      .ev(T + 100, Kind.CO_RUN, W0, 1, [1])
      .ev(T + 400, Kind.CO_SUSPEND, W0, 1, [SuspendWhy.CALL, read, 3, 1, 0])
      .ev(T + 500, Kind.WORKER_IDLE, W0, 0, [0, 1])
      .ev(T + 1500, Kind.WORKER_BUSY, W0, 0, [1])
      .ev(T + 1600, Kind.CALL, MAIN, 0, [write, 1, 1, 0, 1])
      .flush();
    const w = s.derived.workers()[0];
    assert.equal(w.runTime, 300);
    assert.equal(w.idleTime, 1000);
    assert.equal(w.schedulingTime, 100 + 100 + 100);
    assert.equal(w.switches, 1);
    assert.equal(w.utilisation, 600 / 1600);
  });

  it('keeps the run-queue depth from QUEUES samples and from CO_READY a3', () => {
    const s = new Session();
    s.ev(T, Kind.QUEUES, W1, 0, [7, 0, 0, 0, 0])
      .ev(T + 5, Kind.CO_READY, W1, 9, [ReadyWhy.FD, 0, 0, 3])
      .flush();
    const w = s.derived.workers().find((x) => x.worker === 1);
    assert.equal(w, undefined, 'a worker without a transition is not listed');
    s.ev(T + 6, Kind.CO_RUN, W1, 9, [1]).flush();
    const w1 = s.derived.workers()[1];
    assert.equal(w1.runQueue, 3);
    assert.equal(w1.runQueueMax, 7);
  });

  it('keeps the rest of the last QUEUES sample per worker: spawn queue, timers, parked; the injection queue is global', () => {
    const s = new Session();
    s.ev(T, Kind.CO_RUN, W0, 1, [1])
      .ev(T, Kind.CO_RUN, W1, 2, [1])
      .ev(T + 10, Kind.QUEUES, W0, 0, [2, 5, 1, 3, 40])
      .ev(T + 20, Kind.QUEUES, W0, 0, [1, 4, 0, 2, 41])
      .ev(T + 15, Kind.QUEUES, W1, 0, [0, 0, 0, 0, 1])
      .flush();
    const [w0, w1] = s.derived.workers();
    assert.deepEqual(
      [w0.runQueue, w0.runQueueMax, w0.spawnQueue, w0.timers, w0.parked, w0.queueSamples],
      [1, 2, 4, 2, 41, 2],
    );
    assert.deepEqual([w1.runQueue, w1.spawnQueue, w1.timers, w1.parked, w1.queueSamples], [0, 0, 0, 1, 1]);
    // An older sample (another batch arriving late) does not replace a newer one, but counts.
    s.ev(T + 12, Kind.QUEUES, W0, 0, [9, 9, 9, 9, 9]).flush();
    const again = s.derived.workers()[0];
    assert.deepEqual([again.runQueue, again.spawnQueue, again.parked, again.queueSamples], [1, 4, 41, 3]);
    // A QUEUES record from a thread that is not a worker is ignored.
    s.ev(T + 30, Kind.QUEUES, MAIN, 0, [7, 7, 7, 7, 7]).flush();
    assert.equal(s.derived.workers().length, 2);
  });

  it('adds up lost events, in total and per thread', () => {
    const s = new Session();
    s.ev(T + 100, Kind.DROP, W0, 0, [40, T, T + 90])
      .ev(T + 200, Kind.DROP, NETPOLL, 0, [2, T + 150, T + 160])
      .ev(T + 300, Kind.DROP, W0, 0, [10, T + 250, T + 280])
      .flush();
    assert.deepEqual(s.derived.drops.summary(), {
      lost: 52,
      records: 3,
      perThread: [
        { tid: 101, lost: 2, first: T + 150, last: T + 160 },
        { tid: 200, lost: 50, first: T, last: T + 280 },
      ],
    });
  });

  it('reads the process, its configuration and its thread names', () => {
    const s = new Session();
    s.strings.add([
      [1, '/usr/bin/server'],
      [2, 'server --port 8080'],
      [3, 'worker-0'],
    ]);
    s.ev(T, Kind.PROCESS, MAIN, 0, [4242, 1, 2, 2 ** 32 + 3 * 65536 + 1, 1.7e18])
      .ev(T, Kind.CONFIG, MAIN, 0, [4, 262144, 10 * MS, 0b101, 23])
      .ev(T, Kind.THREAD, W0, 0, [200, 3, 0])
      .ev(T, Kind.CLOCK, MAIN, 0, [T, 1.7e18 + 5])
      .flush();
    const p = s.derived.process.summary(s.strings);
    assert.equal(p.pid, 4242);
    assert.equal(p.exe, '/usr/bin/server');
    assert.equal(p.cmdline, 'server --port 8080');
    assert.equal(p.engineVersion, '1.3.1');
    assert.deepEqual(p.config, {
      workers: 4,
      stackSize: 262144,
      timeSlice: 10 * MS,
      flags: 5,
      signal: 23,
      hooks: true,
      preempt: false,
      migrate: true,
      lossless: false,
    });
    assert.deepEqual(p.threads, [{ tid: 200, name: 'worker-0', worker: 0 }]);
    assert.deepEqual(p.clock, { monotonic: T, realtime: 1.7e18 + 5 });
  });
});

describe('Derived: rewind', () => {
  it('stateAt gives each coroutine and worker as they were at that instant', () => {
    const s = new Session();
    s.spawn(T, 1)
      .ev(T + 100, Kind.CO_RUN, W0, 1, [1])
      .ev(T + 200, Kind.CO_SUSPEND, W0, 1, [SuspendWhy.CALL, read, 4, 1, 0])
      .ev(T + 300, Kind.CO_READY, NETPOLL, 1, [ReadyWhy.FD])
      .ev(T + 400, Kind.CO_RUN, W1, 1, [2])
      .ev(T + 500, Kind.CO_FINISH, W1, 1, [0, 0])
      .flush();
    const at = (t: number) => s.derived.stateAt(t).coroutine(1)?.state;
    assert.deepEqual([T - 1, T, T + 150, T + 250, T + 300, T + 450, T + 500].map(at), [
      undefined,
      'ready',
      'running',
      'suspended',
      'ready',
      'running',
      'done',
    ]);
    assert.equal(s.derived.stateAt(T + 250).coroutine(1)!.wait!.fd, 4);
    assert.equal(s.derived.stateAt(T + 150).workers()[0].co, 1);
    assert.equal(s.derived.stateAt(T + 450).workers()[0].state, 'scheduling');
    assert.equal(s.derived.stateAt(T + 450).workers()[1].co, 1);
    assert.deepEqual(s.derived.stateAt(T + 600).coroutines(), [], 'finished coroutines are left out unless asked');
    assert.equal(s.derived.stateAt(T + 600).coroutines(true).length, 1);
  });

  it('refuses to rewind when the store was not fed the same batches', () => {
    const s = new Session();
    s.compare = false;
    s.spawn(T, 1).flush();
    s.derived.append(
      new RawEvents(
        new RawEventWriter().push({ ts: T + 1, kind: Kind.CO_RUN, worker: 0, tid: 200, co: 1, a: [1] }).bytes(),
      ),
    );
    assert.throws(() => s.derived.stateAt(T), /feed both the same batches/);
  });
});

describe('Derived without a store', () => {
  it('gives the same tables as with one on a long mixed stream with late batches, and keeps no checkpoints', () => {
    const mix = syntheticMix({ events: 300_000, late: true, seed: 7 });
    const store = new EventStore();
    const withStore = new Derived(store, mix.strings, { checkpointInterval: 10_000 });
    const without = new Derived(null, mix.strings, { history: rereadHistory(() => mix.batches) });
    for (const raw of mix.batches) {
      store.append(raw);
      withStore.append(raw);
      without.append(raw);
    }
    assert.ok(withStore.checkpoints > 0);
    assert.equal(without.checkpoints, 0);
    assert.ok(without.bytesUsed() < withStore.bytesUsed(), 'no checkpoints, no store');
    assert.deepEqual(tables(without), tables(withStore));
  });

  it('recounts a transition later than everything the log holds from its history', () => {
    const s = new Session();
    s.spawn(T, 4);
    for (let k = 0; k < 6; k++)
      s.ev(T + 100 + k * 100, Kind.CO_RUN, W0, 4, [k + 1]).ev(T + 150 + k * 100, Kind.CO_YIELD, W0, 4, [0]);
    s.spawn(T + 700, 9);
    for (let k = 0; k < LOG_OVERRUN; k++)
      s.ev(T + 800 + k * 10, Kind.CO_RUN, W1, 9, [k + 1]).ev(T + 805 + k * 10, Kind.CO_YIELD, W1, 9, [0]);
    s.flush();
    s.ev(T + 50, Kind.CO_READY, NETPOLL, 4, [ReadyWhy.SPAWNED]).flush();
    const co = s.twin.coroutine(4)!;
    assert.equal(co.runTime, 6 * 50);
    assert.equal(co.readyTime, 100 + 5 * 50 + (s.twin.newest - (T + 650)));
    assert.equal(co.timesApproximate, undefined);
  });

  it('without a history, says which coroutine totals it could not place and keeps every other table', () => {
    const s = new Session();
    const alone = new Derived(null, s.strings);
    s.spawn(T, 4)
      .spawn(T, 5)
      .ev(T + 10, Kind.CO_RUN, W1, 5, [1])
      .ev(T + 20, Kind.CO_YIELD, W1, 5, [0]);
    for (let k = 0; k < 6; k++)
      s.ev(T + 100 + k * 100, Kind.CO_RUN, W0, 4, [k + 1]).ev(T + 150 + k * 100, Kind.CO_YIELD, W0, 4, [0]);
    s.spawn(T + 700, 9);
    for (let k = 0; k < LOG_OVERRUN; k++)
      s.ev(T + 800 + k * 10, Kind.CO_RUN, W1, 9, [k + 1]).ev(T + 805 + k * 10, Kind.CO_YIELD, W1, 9, [0]);
    s.flush();
    s.ev(T + 50, Kind.CO_READY, NETPOLL, 4, [ReadyWhy.SPAWNED]).flush();
    for (const raw of s.sent) alone.append(raw);
    const late = alone.coroutine(4)!;
    assert.equal(late.timesApproximate, true);
    assert.equal(late.switches, 6);
    assert.equal(alone.coroutine(5)!.timesApproximate, undefined);
    assert.deepEqual(alone.coroutine(5), s.derived.coroutine(5));
    assert.deepEqual(alone.calls.rows(), s.derived.calls.rows());
    assert.deepEqual(alone.workers(), s.derived.workers());
  });

  it('refuses to rewind or to hand out a store, and says why', () => {
    const d = new Derived(null, new StringTable());
    d.append(
      new RawEvents(
        new RawEventWriter().push({ ts: T, kind: Kind.CO_RUN, worker: 0, tid: 200, co: 1, a: [1] }).bytes(),
      ),
    );
    assert.equal(d.hasStore, false);
    assert.equal(d.current().coroutine(1)!.state, 'running');
    assert.throws(() => d.stateAt(T), /keeps no event store, so it cannot rewind/);
    assert.throws(() => d.store, /keeps no event store/);
  });
});
