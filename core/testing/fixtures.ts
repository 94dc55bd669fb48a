/**
 * Test fixtures: synthetic event histories for the model and exporter tests
 * (and the export benchmark). Nothing in the app uses this file.
 *
 *  - `demoHistory()`: a small realistic run of the engine — a process with a
 *    main thread and two workers, a sleeper coroutine (spawn, a write,
 *    nanosleep parked with a deadline, timer wake, runs again, the parked
 *    call returns, finishes), a reader parked on an fd woken by a writer
 *    coroutine, a preemption (sent, deferred once, preempted, yield), idle
 *    periods, queue depths, pass-through calls of the main thread and a DROP.
 *  - `syntheticBatches(n)`: an async iterable of about n events in batches,
 *    generated lazily: coroutines are spawned continuously and finish, at most
 *    `live` at a time, with calls, parks, wakes and preemptions, and batches
 *    that overlap a little in time like the rings of different threads do.
 */
import { RawEventWriter, RawEvents } from '../events/rawEvents.js';
import { StringTable } from '../events/strings.js';
import type { EventBatch } from '../model/timeline.js';
import { CallFlag, EVENT_SIZE, Kind, NO_WORKER, ReadyWhy, SuspendWhy, hookId } from '../events/schema.js';

export interface Ev {
  ts: number;
  kind: number;
  worker?: number;
  tid?: number;
  co?: number;
  a?: readonly number[];
}

export const PID = 4242;
export const MAIN_TID = 4242;
export const W0_TID = 4243;
export const W1_TID = 4244;
export const MONITOR_TID = 4245;
export const MS = 1_000_000;
export const T0 = 5_000 * MS;

const w0 = { worker: 0, tid: W0_TID };
const w1 = { worker: 1, tid: W1_TID };
const main = { worker: NO_WORKER, tid: MAIN_TID };

/** CALL a0: hook id | flags. */
export function callA0(hook: string, flags = 0): number {
  return hookId(hook) | flags;
}
/** CALL a3: errno | argument summary << 32. */
export function callA3(errno: number, summary: number): number {
  return errno + summary * 2 ** 32;
}

/** The events of demoHistory(), in time order, and its strings. */
export function demoEvents(): { events: Ev[]; strings: StringTable } {
  const strings = new StringTable();
  strings.add([
    [1, '/usr/bin/demo'],
    [2, 'demo --fast'],
    [3, 'demo'],
    [4, 'cs-worker-0'],
    [5, 'cs-worker-1'],
    [6, 'sleeper'],
    [7, 'reader'],
    [8, 'writer'],
    [9, 'cs-monitor'],
  ]);
  const t = (ms: number) => T0 + ms * MS;
  const deadline = t(12);
  const IN = CallFlag.IN_CO;
  const events: Ev[] = [
    { ts: t(0), kind: Kind.PROCESS, ...main, a: [PID, 1, 2, 1 * 2 ** 32, 1_700_000_000 * 1e9] },
    { ts: t(0), kind: Kind.THREAD, ...main, a: [MAIN_TID, 3, NO_WORKER] },
    { ts: t(0), kind: Kind.CALL, ...main, a: [callA0('socket'), -1, 3, callA3(0, 1), 5_000] },
    { ts: t(0.1), kind: Kind.CO_CREATE, ...main, co: 1, a: [0, 6, 0, 65536] },
    { ts: t(0.1), kind: Kind.CO_READY, ...main, co: 1, a: [ReadyWhy.SPAWNED, 0, 2, 1] },
    { ts: t(0.2), kind: Kind.CO_CREATE, ...main, co: 2, a: [0, 7, 0, 65536] },
    { ts: t(0.2), kind: Kind.CO_READY, ...main, co: 2, a: [ReadyWhy.SPAWNED, 0, 2, 2] },
    { ts: t(0.3), kind: Kind.CO_CREATE, ...main, co: 3, a: [0, 8, 0, 65536] },
    { ts: t(0.3), kind: Kind.CO_READY, ...main, co: 3, a: [ReadyWhy.SPAWNED, 0, 2, 3] },
    { ts: t(0.4), kind: Kind.THREAD, ...w0, a: [W0_TID, 4, 0] },
    { ts: t(0.4), kind: Kind.WORKER_BUSY, ...w0, a: [2] },
    { ts: t(0.5), kind: Kind.THREAD, ...w1, a: [W1_TID, 5, 1] },
    { ts: t(1), kind: Kind.CO_RUN, ...w0, co: 1, a: [1] },
    { ts: t(1.2), kind: Kind.CO_RUN, ...w1, co: 2, a: [1] },
    { ts: t(1.5), kind: Kind.CALL, ...w0, co: 1, a: [callA0('write', IN), 1, 6, callA3(0, 6), 100_000] },
    { ts: t(1.6), kind: Kind.CO_SUSPEND, ...w1, co: 2, a: [SuspendWhy.CALL, hookId('read'), 5, 1, 0] },
    { ts: t(2), kind: Kind.CO_SUSPEND, ...w0, co: 1, a: [SuspendWhy.SLEEP, hookId('nanosleep'), -1, 0, deadline] },
    { ts: t(2.1), kind: Kind.CO_RUN, ...w0, co: 3, a: [1] },
    { ts: t(2.2), kind: Kind.WORKER_IDLE, ...w1, a: [0, 1] },
    { ts: t(3), kind: Kind.CALL, ...w0, co: 3, a: [callA0('write', IN), 6, 5, callA3(0, 5), 300_000] },
    { ts: t(3.1), kind: Kind.WAKE, ...w0, co: 2, a: [ReadyWhy.FD, 5, 1, 3, 0] },
    { ts: t(3.1), kind: Kind.CO_READY, ...w0, co: 2, a: [ReadyWhy.FD, 5, 0, 1] },
    { ts: t(3.2), kind: Kind.WORKER_BUSY, ...w1, a: [2] },
    { ts: t(3.3), kind: Kind.CO_RUN, ...w1, co: 2, a: [2] },
    {
      ts: t(3.5),
      kind: Kind.CALL,
      ...w1,
      co: 2,
      a: [callA0('read', IN | CallFlag.PARKED), 5, 5, callA3(0, 4096), 1_950_000],
    },
    { ts: t(3.6), kind: Kind.CALL, ...w1, co: 2, a: [callA0('read', IN), 5, -1, callA3(11, 4096), 2_000] },
    { ts: t(3.7), kind: Kind.CO_FINISH, ...w1, co: 2, a: [0, 4096] },
    { ts: t(3.8), kind: Kind.WORKER_IDLE, ...w1, a: [0, 0] },
    { ts: t(8), kind: Kind.PREEMPT_SENT, worker: 0, tid: MONITOR_TID, co: 3, a: [5_900_000] },
    { ts: t(8.01), kind: Kind.PREEMPT_DEFERRED, ...w0, co: 3, a: [1, 0x7f001234] },
    { ts: t(8.05), kind: Kind.PREEMPTED, ...w0, co: 3, a: [0x55550000, 50_000, 0] },
    { ts: t(8.05), kind: Kind.CO_YIELD, ...w0, co: 3, a: [1] },
    { ts: t(8.06), kind: Kind.CO_READY, ...w0, co: 3, a: [ReadyWhy.PREEMPTED, 0, 0, 1] },
    { ts: t(8.1), kind: Kind.CO_RUN, ...w0, co: 3, a: [2] },
    { ts: t(9), kind: Kind.CO_FINISH, ...w0, co: 3, a: [0, 0] },
    { ts: t(9.1), kind: Kind.QUEUES, ...w0, a: [0, 0, 0, 1, 1] },
    { ts: t(9.2), kind: Kind.WORKER_IDLE, ...w0, a: [deadline, 1] },
    { ts: t(10), kind: Kind.DROP, ...w1, a: [17, t(9.5), t(9.9)] },
    { ts: deadline, kind: Kind.WORKER_BUSY, ...w0, a: [0] },
    { ts: deadline + 1_000, kind: Kind.WAKE, ...w0, co: 1, a: [ReadyWhy.TIMER, deadline, 0, 0, 0] },
    { ts: deadline + 1_000, kind: Kind.CO_READY, ...w0, co: 1, a: [ReadyWhy.TIMER, deadline, 0, 1] },
    { ts: deadline + 5_000, kind: Kind.CO_RUN, ...w0, co: 1, a: [2] },
    {
      ts: deadline + 20_000,
      kind: Kind.CALL,
      ...w0,
      co: 1,
      a: [callA0('nanosleep', IN | CallFlag.PARKED), -1, 0, callA3(0, 10), deadline + 20_000 - t(1.9)],
    },
    { ts: deadline + 30_000, kind: Kind.CO_FINISH, ...w0, co: 1, a: [0, 8192] },
    { ts: deadline + 40_000, kind: Kind.CALL, ...main, a: [callA0('close'), 3, 0, 0, 3_000] },
  ];
  return { events, strings };
}

/** The demo history as batches: split at the given event indexes. */
export function demoHistory(splits: readonly number[] = []): EventBatch[] {
  const { events, strings } = demoEvents();
  const cuts = [0, ...splits, events.length];
  const out: EventBatch[] = [];
  for (let k = 0; k + 1 < cuts.length; k++) out.push({ raw: rawOf(events.slice(cuts[k], cuts[k + 1])), strings });
  return out;
}

export function rawOf(events: readonly Ev[]): RawEvents {
  const w = new RawEventWriter(events.length + 1);
  for (const e of events) w.push(e);
  return new RawEvents(w.bytes());
}

export async function* asAsync<T>(items: Iterable<T>): AsyncIterable<T> {
  for (const x of items) yield x;
}

// ---- the large synthetic trace ----------------------------------------------------------------------

/** Fast record writer for large synthetic traces (RawEventWriter goes through BigInt). */
class FastWriter {
  readonly u: Uint32Array;
  readonly h: Uint16Array;
  length = 0;
  constructor(readonly capacity: number) {
    this.u = new Uint32Array(capacity * (EVENT_SIZE / 4));
    this.h = new Uint16Array(this.u.buffer);
  }
  push(
    ts: number,
    kind: number,
    worker: number,
    tid: number,
    co: number,
    a0 = 0,
    a1 = 0,
    a2 = 0,
    a3 = 0,
    a4 = 0,
  ): void {
    const o = this.length++ * 16;
    const u = this.u;
    put64(u, o, ts);
    this.h[o * 2 + 4] = kind;
    this.h[o * 2 + 5] = worker;
    u[o + 3] = tid;
    put64(u, o + 4, co);
    put64(u, o + 6, a0);
    put64(u, o + 8, a1);
    put64(u, o + 10, a2);
    put64(u, o + 12, a3);
    put64(u, o + 14, a4);
  }
  raw(): RawEvents {
    return new RawEvents(new Uint8Array(this.u.buffer, 0, this.length * EVENT_SIZE));
  }
}

function put64(u: Uint32Array, o: number, v: number): void {
  u[o] = v >>> 0;
  u[o + 1] = Math.floor(v / 4294967296) >>> 0;
}

export interface SyntheticOptions {
  workers?: number;
  /** Coroutines alive at once. */
  live?: number;
  batch?: number;
  /** Let each batch start this many ns before the previous batch's newest event. */
  overlapNs?: number;
}

/**
 * About `total` events in batches of `batch`, generated lazily. Each round
 * on worker k: a coroutine is created and spawned (CO_CREATE, CO_READY with a
 * depth), runs (CO_RUN, CALL write), wakes the oldest parked coroutine once
 * more than `live` are parked (WAKE by fd with itself as the waker, CO_READY)
 * and parks in read (CO_SUSPEND); the woken one runs (CO_RUN, the parked
 * CALL read returns; every 4th is preempted: PREEMPTED, CO_YIELD, CO_READY,
 * CO_RUN) and finishes. Every 16th round: an idle period, a plain-thread
 * CALL and a QUEUES sample. At the end the parked ones are woken by a timer
 * and finish.
 */
export async function* syntheticBatches(total: number, opts: SyntheticOptions = {}): AsyncIterable<EventBatch> {
  const workers = opts.workers ?? 4;
  const live = opts.live ?? 64;
  const batch = opts.batch ?? 8192;
  const overlap = opts.overlapNs ?? 0;
  const strings = new StringTable();
  const w = new FastWriter(batch + 64);
  let emitted = 0;
  let ts = T0;
  let nextCo = 1;
  let nextStr = 1;
  const parked: number[] = [];
  const flush = (): EventBatch => {
    const copy = new RawEvents(w.raw().bytes.slice());
    emitted += w.length;
    w.length = 0;
    ts -= overlap;
    return { raw: copy, strings };
  };
  const tidOf = (k: number) => 1000 + k;
  const step = () => (ts += 1_000 + (ts % 7) * 100);
  const IN = CallFlag.IN_CO;
  /** old (parked in read) runs on worker k and finishes. */
  const resume = (old: number, k: number) => {
    const tid = tidOf(k);
    w.push(step(), Kind.CO_RUN, k, tid, old, 2);
    w.push(step(), Kind.CALL, k, tid, old, callA0('read', IN | CallFlag.PARKED), 7, 64, callA3(0, 4096), 5_000);
    if (old % 4 === 0) {
      w.push(step(), Kind.PREEMPTED, k, tid, old, 0x401000, 20_000, 1);
      w.push(ts, Kind.CO_YIELD, k, tid, old, 1);
      w.push(step(), Kind.CO_READY, k, tid, old, ReadyWhy.PREEMPTED, 0, 0, 1);
      w.push(step(), Kind.CO_RUN, k, tid, old, 3);
    }
    w.push(step(), Kind.CO_FINISH, k, tid, old, 0, 0);
  };
  strings.set(nextStr, 'synthetic');
  w.push(ts, Kind.PROCESS, NO_WORKER, 999, 0, PID, nextStr++);
  for (let k = 0; k < workers; k++) {
    strings.set(nextStr, `cs-worker-${k}`);
    w.push(ts, Kind.THREAD, k, tidOf(k), 0, tidOf(k), nextStr++, k);
  }
  while (emitted + w.length < total) {
    const id = nextCo++;
    const k = id % workers;
    const tid = tidOf(k);
    strings.set(nextStr, `conn-${id}`);
    w.push(step(), Kind.CO_CREATE, NO_WORKER, 999, id, 0, nextStr++, 0, 65536);
    w.push(step(), Kind.CO_READY, NO_WORKER, 999, id, ReadyWhy.SPAWNED, 0, 2, 1 + (id % 5));
    w.push(step(), Kind.CO_RUN, k, tid, id, 1);
    w.push(step(), Kind.CALL, k, tid, id, callA0('write', IN), 7, 100, callA3(0, 100), 900);
    const old = parked.length >= live ? parked.shift()! : 0;
    if (old) {
      w.push(step(), Kind.WAKE, k, tid, old, ReadyWhy.FD, 7, 1, id, k);
      w.push(ts, Kind.CO_READY, k, tid, old, ReadyWhy.FD, 7, 0, 1 + (id % 3));
    }
    w.push(step(), Kind.CO_SUSPEND, k, tid, id, SuspendWhy.CALL, hookId('read'), 7, 1, 0);
    parked.push(id);
    if (old) resume(old, k);
    if (id % 16 === 0) {
      w.push(step(), Kind.WORKER_IDLE, k, tid, 0, 0, 1);
      w.push(step(), Kind.WORKER_BUSY, k, tid, 0, 1);
      w.push(step(), Kind.CALL, NO_WORKER, 999, 0, callA0('close'), 9, 0, 0, 2_000);
      w.push(step(), Kind.QUEUES, k, tid, 0, id % 5, 0, 0, 1, live);
    }
    if (w.length >= batch) yield flush();
  }
  for (const old of parked) {
    const k = old % workers;
    if (w.length >= batch) yield flush();
    w.push(step(), Kind.WAKE, k, tidOf(k), old, ReadyWhy.TIMER, ts, 0, 0, k);
    w.push(ts, Kind.CO_READY, k, tidOf(k), old, ReadyWhy.TIMER, ts, 0, 1);
    resume(old, k);
  }
  if (w.length) yield flush();
}
