/**
 * The Scheduler view's model, as a specification: a small synthetic run on two workers (a
 * spawner joining a reader, a writer stolen by the other worker, an fd wake across workers, a
 * preemption, a sleeper on the timer heap, a join completing) and what the boxes and the
 * explanation of each scheduling decision say about it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawEventWriter, RawEvents } from '@core/events/rawEvents.js';
import { Kind, NO_WORKER, ReadyWhy, SuspendWhy, hookId } from '@core/events/schema.js';
import { SessionData } from '../worker/sessionData.js';
import {
  boxesOf,
  coNames,
  compareWithEngine,
  explainStep,
  SchedulerSteps,
  type Boxes,
  type EngineSnapshot,
} from './schedulerModel.js';

const MS = 1_000_000;
const t = (ms: number) => 1_000 * MS + ms * MS;
const W0 = { worker: 0, tid: 101 };
const W1 = { worker: 1, tid: 102 };
const MAIN = { worker: NO_WORKER, tid: 100 };
const MONITOR = { worker: NO_WORKER, tid: 103 };
const SPAWNER = 1,
  READER = 2,
  WRITER = 3,
  SLEEPER = 4;

interface Ev {
  ts: number;
  kind: number;
  worker?: number;
  tid?: number;
  co?: number;
  a?: number[];
}

function history(): Ev[] {
  const sleepUntil = t(11.5) + 50 * MS;
  return [
    { ts: t(0), kind: Kind.CONFIG, ...MAIN, a: [2, 65536, 10 * MS, 3, 23] },
    { ts: t(0), kind: Kind.THREAD, ...W0, a: [101, 0, 0] },
    { ts: t(0), kind: Kind.THREAD, ...W1, a: [102, 0, 1] },
    // main spawns the spawner: the injection queue
    { ts: t(1), kind: Kind.CO_CREATE, ...MAIN, co: SPAWNER, a: [0, 11, 0, 65536] },
    { ts: t(1), kind: Kind.CO_READY, ...MAIN, co: SPAWNER, a: [ReadyWhy.SPAWNED, 0, 2, 1] },
    { ts: t(2), kind: Kind.CO_RUN, ...W0, co: SPAWNER, a: [1] },
    // the spawner spawns a reader and a writer on worker 0's spawn queue, then joins the reader
    { ts: t(3), kind: Kind.CO_CREATE, ...W0, co: READER, a: [SPAWNER, 12, 0, 65536] },
    { ts: t(3), kind: Kind.CO_READY, ...W0, co: READER, a: [ReadyWhy.SPAWNED, SPAWNER, 1, 1] },
    { ts: t(3.1), kind: Kind.CO_CREATE, ...W0, co: WRITER, a: [SPAWNER, 13, 0, 65536] },
    { ts: t(3.1), kind: Kind.CO_READY, ...W0, co: WRITER, a: [ReadyWhy.SPAWNED, SPAWNER, 1, 2] },
    { ts: t(4), kind: Kind.CO_SUSPEND, ...W0, co: SPAWNER, a: [SuspendWhy.JOIN, 0, READER, 0, 0] },
    { ts: t(5), kind: Kind.CO_RUN, ...W0, co: READER, a: [1] },
    // worker 1 was asleep, gets kicked and steals the writer
    { ts: t(0.5), kind: Kind.WORKER_IDLE, ...W1, a: [0, 1] },
    { ts: t(5.2), kind: Kind.WORKER_BUSY, ...W1, a: [2] },
    { ts: t(5.5), kind: Kind.CO_RUN, ...W1, co: WRITER, a: [1] },
    // the reader finds no data on fd 7 and parks; worker 0 goes to sleep
    { ts: t(6), kind: Kind.CO_SUSPEND, ...W0, co: READER, a: [SuspendWhy.CALL, hookId('read'), 7, 1, 0] },
    { ts: t(6.5), kind: Kind.WORKER_IDLE, ...W0, a: [0, 1] },
    // the writer writes to the other end: fd 7 readable, the reader goes back to worker 0 (its inbox)
    { ts: t(7), kind: Kind.WAKE, ...W1, co: READER, a: [ReadyWhy.FD, 7, 1, WRITER, 1] },
    { ts: t(7), kind: Kind.CO_READY, ...W1, co: READER, a: [ReadyWhy.FD, 7, 0, 0] },
    { ts: t(7.5), kind: Kind.CO_FINISH, ...W1, co: WRITER, a: [0, 2048] },
    { ts: t(7.6), kind: Kind.WORKER_IDLE, ...W1, a: [0, 1] },
    { ts: t(8), kind: Kind.WORKER_BUSY, ...W0, a: [2] },
    { ts: t(8), kind: Kind.CO_RUN, ...W0, co: READER, a: [2] },
    // the reader computes for a whole slice: preempted, nothing else ready, runs again
    { ts: t(18), kind: Kind.PREEMPT_SENT, ...MONITOR, co: READER, a: [10 * MS, 0] },
    { ts: t(18.01), kind: Kind.PREEMPTED, ...W0, co: READER, a: [0x5555, 10_000, 1] },
    { ts: t(18.01), kind: Kind.CO_YIELD, ...W0, co: READER, a: [1] },
    { ts: t(18.02), kind: Kind.CO_RUN, ...W0, co: READER, a: [3] },
    // main spawns a sleeper: injection queue, taken by worker 1, parks on the timer heap
    { ts: t(10), kind: Kind.CO_CREATE, ...MAIN, co: SLEEPER, a: [0, 14, 0, 65536] },
    { ts: t(10), kind: Kind.CO_READY, ...MAIN, co: SLEEPER, a: [ReadyWhy.SPAWNED, 0, 2, 1] },
    { ts: t(11), kind: Kind.WORKER_BUSY, ...W1, a: [2] },
    { ts: t(11), kind: Kind.CO_RUN, ...W1, co: SLEEPER, a: [1] },
    {
      ts: t(11.5),
      kind: Kind.CO_SUSPEND,
      ...W1,
      co: SLEEPER,
      a: [SuspendWhy.SLEEP, hookId('nanosleep'), -1, 0, sleepUntil],
    },
    { ts: t(12), kind: Kind.WORKER_IDLE, ...W1, a: [sleepUntil, 1] },
    // the reader finishes: the spawner joining it is ready and runs
    { ts: t(20), kind: Kind.CO_FINISH, ...W0, co: READER, a: [0, 4096] },
    { ts: t(20), kind: Kind.WAKE, ...W0, co: SPAWNER, a: [ReadyWhy.JOINED, READER, 0, READER, 0] },
    { ts: t(20), kind: Kind.CO_READY, ...W0, co: SPAWNER, a: [ReadyWhy.JOINED, 0, 0, 1] },
    { ts: t(21), kind: Kind.CO_RUN, ...W0, co: SPAWNER, a: [2] },
    // the sleeper's timer expires
    { ts: sleepUntil, kind: Kind.WORKER_BUSY, ...W1, a: [0] },
    { ts: sleepUntil, kind: Kind.WAKE, ...W1, co: SLEEPER, a: [ReadyWhy.TIMER, sleepUntil, 0, 0, 1] },
    { ts: sleepUntil, kind: Kind.CO_READY, ...W1, co: SLEEPER, a: [ReadyWhy.TIMER, sleepUntil, 0, 1] },
    { ts: sleepUntil + 1000, kind: Kind.CO_RUN, ...W1, co: SLEEPER, a: [2] },
  ];
}

function raw(events: Ev[]): Uint8Array {
  const w = new RawEventWriter(events.length + 1);
  for (const e of events) w.push(e);
  return w.bytes();
}

const STRINGS: [number, string][] = [
  [11, 'spawner'],
  [12, 'reader'],
  [13, 'writer'],
  [14, 'sleeper'],
];

/** The history fed as the UI gets it: one batch per thread (rings overlap in time). */
function session(): SessionData {
  const d = new SessionData('test');
  const events = history();
  const byThread = new Map<number, Ev[]>();
  for (const e of events) {
    const l = byThread.get(e.tid!) ?? [];
    l.push(e);
    byThread.set(e.tid!, l);
  }
  let first = true;
  for (const l of byThread.values()) {
    d.addBatch(raw(l), first ? STRINGS : []);
    first = false;
  }
  return d;
}

function setup() {
  const d = session();
  const steps = new SchedulerSteps();
  steps.update(d.store);
  const boxesAt = (ms: number): Boxes => boxesOf(d.derived.stateAt(t(ms)), coNames(d.derived), 2, steps.ownerAt);
  const explain = (n: number) => explainStep(d.derived, steps.get(n)!);
  return { d, steps, boxesAt, explain };
}

const ids = (chips: { co: number }[]) => chips.map((c) => c.co);

test("every CO_RUN is a step, in time order, whatever order the threads' batches came in", () => {
  const { steps } = setup();
  const list = Array.from({ length: steps.length }, (_, n) => steps.get(n)!);
  assert.deepEqual(
    list.map((s) => [s.co, s.worker]),
    [
      [SPAWNER, 0],
      [READER, 0],
      [WRITER, 1],
      [READER, 0],
      [SLEEPER, 1],
      [READER, 0],
      [SPAWNER, 0],
      [SLEEPER, 1],
    ],
  );
  for (let n = 1; n < list.length; n++) assert.ok(list[n].ts >= list[n - 1].ts);
  assert.deepEqual(
    steps.newest(2).map((s) => s.co),
    [SLEEPER, SPAWNER],
  );
  assert.equal(steps.stepAt(t(5.6)), 2);
  assert.equal(steps.stepAt(t(0)), -1);
});

test('updating again only adds what is new', () => {
  const d = new SessionData('x');
  const steps = new SchedulerSteps();
  const events = history();
  d.addBatch(raw(events.slice(0, 20)), STRINGS);
  steps.update(d.store);
  const before = steps.length;
  steps.update(d.store);
  assert.equal(steps.length, before);
  d.addBatch(raw(events.slice(20)));
  steps.update(d.store);
  assert.equal(steps.length, 8);
});

test('a coroutine spawned by a plain thread waits in the injection queue', () => {
  const { boxesAt } = setup();
  const b = boxesAt(1.5);
  assert.deepEqual(ids(b.inject), [SPAWNER]);
  assert.equal(b.inject[0].name, 'spawner');
  assert.equal(b.inject[0].box, 'inject');
  assert.equal(b.workers.length, 2);
  assert.equal(b.workers[0].running, null);
});

test('coroutines spawned by a coroutine queue on its worker, oldest first; the worker shows what it runs', () => {
  const { boxesAt } = setup();
  const b = boxesAt(3.5);
  assert.equal(b.workers[0].running?.co, SPAWNER);
  assert.equal(b.workers[0].running?.box, 'worker-0');
  assert.deepEqual(ids(b.workers[0].runq), [READER, WRITER]);
  assert.equal(b.workers[0].runq[0].box, 'runq-0');
  assert.deepEqual(b.inject, []);
});

test('parked coroutines: on an fd (grouped by fd and direction), in a join', () => {
  const { boxesAt } = setup();
  const b = boxesAt(6.2);
  assert.deepEqual(
    b.fdWaits.map((g) => [g.fd, g.dir, ids(g.chips)]),
    [[7, 'read', [READER]]],
  );
  assert.equal(b.fdWaits[0].chips[0].detail, 'read fd 7');
  assert.deepEqual(ids(b.joins), [SPAWNER]);
  assert.equal(b.joins[0].detail, `joins co#${READER}`);
  assert.equal(b.workers[1].running?.co, WRITER);
  assert.equal(b.workers[0].running, null);
});

test("a started coroutine woken by another worker is drawn in its own worker's run queue", () => {
  const { boxesAt } = setup();
  const b = boxesAt(7.2);
  assert.deepEqual(ids(b.workers[0].runq), [READER]);
  assert.deepEqual(ids(b.workers[1].runq), []);
  assert.equal(b.workers[1].running?.co, WRITER);
  assert.equal(b.fdWaits.length, 0);
});

test('the timer heap holds sleepers in deadline order; finished coroutines are done', () => {
  const { boxesAt } = setup();
  const b = boxesAt(30);
  assert.deepEqual(ids(b.timers), [SLEEPER]);
  assert.match(b.timers[0].detail, /^nanosleep, due in 32 ms$/);
  assert.deepEqual(ids(b.done), [WRITER, READER]);
  assert.equal(b.workers[0].running?.co, SPAWNER);
});

test('explained: a spawn from main, taken from the injection queue', () => {
  const { explain } = setup();
  const e = explain(0);
  assert.equal(e.text, 'Co#1 (spawner) was spawned by the main thread; worker 0 took co#1 from the injection queue');
  assert.deepEqual(e.rules, ['spawned', 'inject']);
});

test("explained: a join that must wait, then a coroutine from the worker's own spawn queue", () => {
  const { explain } = setup();
  const e = explain(1);
  assert.equal(
    e.text,
    'Co#1 (spawner) joined co#2 (reader), which had not finished, so it parked until it does; co#2 was spawned by co#1; worker 0 took co#2 from its spawn queue',
  );
  assert.deepEqual(e.rules, ['join', 'spawned', 'spawnq']);
});

test('explained: an idle worker kicked awake steals from another worker', () => {
  const { explain } = setup();
  const e = explain(2);
  assert.equal(
    e.text,
    'Worker 1 had nothing to run and went to sleep, then woke because it was kicked (new work); co#3 (writer) was spawned by co#1 (spawner); worker 1 stole co#3 from worker 0',
  );
  assert.deepEqual(e.rules, ['idle', 'spawned', 'stolen']);
});

test('explained: parked on an fd, the worker slept, the fd became readable', () => {
  const { explain } = setup();
  const e = explain(3);
  assert.equal(
    e.text,
    'Co#2 (reader) called read(fd 7) and no data was there, so it parked on fd 7; worker 0 had nothing to run and went to sleep, then woke because it was kicked (new work); fd 7 became readable, so co#2 is ready again; worker 0 took co#2 from its run queue',
  );
  assert.deepEqual(e.rules, ['parked-fd', 'idle', 'fd', 'runq']);
});

test('explained: main spawns a sleeper that worker 1 takes from the injection queue', () => {
  const { explain } = setup();
  const e = explain(4);
  assert.match(e.text, /co#4 \(sleeper\) was spawned by the main thread; worker 1 took co#4 from the injection queue$/);
  assert.ok(e.rules.includes('inject'));
});

test('explained: preemption at the end of the slice, and nothing else to run', () => {
  const { explain } = setup();
  const e = explain(5);
  assert.equal(
    e.text,
    'The 10 ms slice of co#2 (reader) ran out, so the monitor sent SIGURG and co#2 went to the back of the queue; worker 0 had nothing else ready, so co#2 runs again',
  );
  assert.deepEqual(e.rules, ['preempted', 'again']);
});

test('explained: a finish releases the coroutine joining it', () => {
  const { explain } = setup();
  const e = explain(6);
  assert.equal(
    e.text,
    'Co#2 (reader) finished, so co#1 (spawner) joining it is ready; worker 0 took co#1 from its run queue',
  );
  assert.deepEqual(e.rules, ['finished', 'joined', 'runq']);
});

test('explained: a timer expires', () => {
  const { explain } = setup();
  const e = explain(7);
  assert.match(
    e.text,
    /^Co#4 \(sleeper\) called nanosleep, so it parked on the timer heap for 50 ms; worker 1 had nothing to run and went to sleep, then woke because a timer was due; the timer of co#4 expired, so it is ready again; worker 1 took co#4 from its run queue$/,
  );
  assert.deepEqual(e.rules, ['sleep', 'idle', 'timer', 'runq']);
});

/** The engine's snapshot reply (the contract's type): what each worker runs, the coroutines it lists. */
function engineSnapshot(
  running: (number | null)[],
  coroutines: Omit<EngineSnapshot['coroutines'][number], 'switches' | 'preemptions'>[],
): EngineSnapshot {
  return {
    ok: true,
    paused: true,
    time_ns: 0,
    workers: running.map((r, idx) => ({ idx, tid: 1000 + idx, running: r, sleeping: false })),
    coroutines: coroutines.map((c) => ({ ...c, switches: 0, preemptions: 0 })),
  };
}

test("the engine's snapshot agrees with the events; differences are named", () => {
  const { d } = setup();
  const s = d.derived.stateAt(t(6.2));
  const engine = engineSnapshot(
    [null, WRITER],
    [
      { id: SPAWNER, name: 'spawner', state: 'suspended', worker: 0, wait: { why: 'join', joining: READER } },
      {
        id: READER,
        name: 'reader',
        state: 'suspended',
        worker: 0,
        wait: { why: 'call', call: 'read', fd: 7, events: 'r' },
      },
      { id: WRITER, name: 'writer', state: 'running', worker: 1 },
    ],
  );
  assert.deepEqual(compareWithEngine(s, engine), []);
  const other = engineSnapshot(
    [READER, WRITER],
    [
      { id: SPAWNER, name: 'spawner', state: 'suspended', worker: 0, wait: { why: 'join', joining: READER } },
      { id: READER, name: 'reader', state: 'running', worker: 0 },
      { id: 9, name: 'x', state: 'new', worker: -1 },
    ],
  );
  assert.deepEqual(compareWithEngine(s, other), [
    'co#2: the engine says running, the events say suspended',
    'co#9: the engine says new, no events about it yet',
    'co#3: the events say running, the engine does not list it',
    'worker 0: the engine says it runs co#2, the events say nothing',
  ]);
});

test('an unstarted coroutine is "new" for the engine and ready for the events: the same', () => {
  const { d } = setup();
  const s = d.derived.stateAt(t(3.5));
  const engine = engineSnapshot(
    [SPAWNER, null],
    [
      { id: SPAWNER, name: 'spawner', state: 'running', worker: 0 },
      { id: READER, name: 'reader', state: 'new', worker: -1 },
      { id: WRITER, name: 'writer', state: 'new', worker: -1 },
    ],
  );
  assert.deepEqual(compareWithEngine(s, engine), []);
});

test('RawEvents round trip of the fixture (sanity)', () => {
  assert.equal(new RawEvents(raw(history())).length, history().length);
});
