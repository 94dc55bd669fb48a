/**
 * A synthetic but valid event stream for tests and benchmarks: a small
 * discrete-event simulation of the engine's scheduler (workers with run
 * queues, coroutines that compute, make hooked calls, park on fds and
 * timers, yield, get preempted, spawn children and finish, a netpoller
 * thread that wakes fd waits, a monitor thread that preempts, a main thread
 * making calls outside coroutines), emitting the records the engine would.
 *
 * Invariants of the result: every coroutine's events follow its real life
 * (CO_CREATE, CO_READY, CO_RUN, then CO_SUSPEND / CO_YIELD / CO_FINISH, …) in
 * timestamp order; each batch is sorted by ts; with `late`, some netpoller
 * events at the end of a batch are held back to the next one, so a batch can
 * hold events older than the newest of the batch before (like rings drained
 * at different moments). Deterministic for a given seed. Never used on real
 * data paths.
 */
import { EVENT_SIZE, Kind, NO_WORKER, ReadyWhy, SuspendWhy, CallFlag, hookId } from '../events/schema.js';
import { RawEvents, RawEventWriter } from '../events/rawEvents.js';
import { StringTable } from '../events/strings.js';

export interface MixOptions {
  /** Approximate number of events (the simulation stops at the first episode boundary past it). */
  events: number;
  workers?: number;
  /** Coroutines alive at any time (each finishing one spawns a successor). */
  coroutines?: number;
  seed?: number;
  /** Events per batch. */
  batch?: number;
  /** Hold back some netpoller events to the next batch. */
  late?: boolean;
}

export interface Mix {
  batches: RawEvents[];
  strings: StringTable;
  /** Events in all batches. */
  count: number;
}

const MAIN_TID = 100;
const NETPOLL_TID = 101;
const MONITOR_TID = 102;
const WORKER_TID = 200;
const US = 1000;
const MS = 1000 * US;
const T0 = 5_000_000_000_000;
const NAMES = ['conn-handler', 'timer-loop', 'fetch', 'worker-task'];

const HOOK = {
  read: hookId('read'),
  write: hookId('write'),
  recv: hookId('recv'),
  nanosleep: hookId('nanosleep'),
  accept: hookId('accept'),
  epoll_wait: hookId('epoll_wait'),
};

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Co {
  id: number;
  home: number;
  switches: number;
  /** The call it is parked in: hook, fd, start ts, summary; hook 0 when none. */
  hook: number;
  fd: number;
  start: number;
  summary: number;
}

interface Wake {
  t: number;
  co: Co;
  why: number;
}

/** Min-heap of pending wakes by time. */
class WakeHeap {
  private readonly h: Wake[] = [];
  get size(): number {
    return this.h.length;
  }
  top(): Wake {
    return this.h[0];
  }
  push(w: Wake): void {
    const h = this.h;
    h.push(w);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].t <= h[i].t) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }
  pop(): Wake {
    const h = this.h;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].t < h[m].t) m = l;
        if (r < h.length && h[r].t < h[m].t) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}

class Simulation {
  readonly out = new RawEventWriter(1 << 16);
  readonly strings = new StringTable();
  private readonly rnd: () => number;
  private readonly clock: number[] = [];
  private readonly idle: boolean[] = [];
  private readonly runq: Co[][] = [];
  private readonly wakes = new WakeHeap();
  private nextCo = 1;
  private nameIds: number[] = [];
  private mainClock = T0;

  constructor(
    private readonly workers: number,
    coroutines: number,
    seed: number,
  ) {
    this.rnd = mulberry32(seed);
    this.metadata();
    for (let w = 0; w < workers; w++) {
      this.clock.push(T0 + 50 * US);
      this.idle.push(false);
      this.runq.push([]);
    }
    for (let k = 0; k < coroutines; k++) this.spawn(T0 + 10 * US + k, 0, MAIN_TID, NO_WORKER, k % workers);
  }

  private emit(ts: number, kind: number, tid: number, worker: number, co: number, a: number[]): void {
    this.out.push({ ts: Math.round(ts), kind, tid, worker, co, a });
  }

  private metadata(): void {
    const s = this.strings;
    const str = (id: number, text: string) => (s.set(id, text), id);
    this.emit(T0, Kind.PROCESS, MAIN_TID, NO_WORKER, 0, [
      MAIN_TID,
      str(1, '/usr/bin/server'),
      str(2, 'server --port 8080'),
      0x100,
      1.7e18,
    ]);
    this.emit(T0, Kind.CONFIG, MAIN_TID, NO_WORKER, 0, [this.workers, 256 * 1024, 10 * MS, 7, 23]);
    this.emit(T0, Kind.THREAD, MAIN_TID, NO_WORKER, 0, [MAIN_TID, str(3, 'main'), NO_WORKER]);
    this.emit(T0, Kind.THREAD, NETPOLL_TID, NO_WORKER, 0, [NETPOLL_TID, str(4, 'netpoll'), NO_WORKER]);
    this.emit(T0, Kind.THREAD, MONITOR_TID, NO_WORKER, 0, [MONITOR_TID, str(5, 'monitor'), NO_WORKER]);
    for (let w = 0; w < this.workers; w++) {
      this.emit(T0, Kind.THREAD, WORKER_TID + w, w, 0, [WORKER_TID + w, str(10 + w, `worker-${w}`), w]);
    }
    this.nameIds = NAMES.map((n, k) => str(100 + k, n));
  }

  private between(lo: number, hi: number): number {
    return lo + this.rnd() * (hi - lo);
  }

  private spawn(t: number, parent: number, tid: number, worker: number, home: number): void {
    const co: Co = { id: this.nextCo++, home, switches: 0, hook: 0, fd: -1, start: 0, summary: 0 };
    const name = this.nameIds[co.id % this.nameIds.length];
    this.emit(t, Kind.CO_CREATE, tid, worker, co.id, [parent, name, 0, 256 * 1024]);
    const q = this.runq[home];
    this.emit(t + 100, Kind.CO_READY, tid, worker, co.id, [
      ReadyWhy.SPAWNED,
      parent,
      worker === NO_WORKER ? 2 : 1,
      q.length + 1,
    ]);
    this.enqueue(co, t + 100);
  }

  /** Puts co on its home worker's run queue, waking that worker if idle. */
  private enqueue(co: Co, t: number): void {
    const w = co.home;
    this.runq[w].push(co);
    if (this.idle[w]) {
      this.idle[w] = false;
      this.clock[w] = t + 3 * US;
      this.emit(this.clock[w], Kind.WORKER_BUSY, WORKER_TID + w, w, 0, [2]);
    }
  }

  /** Advances the simulation by one step; false when nothing can happen any more. */
  step(): boolean {
    let w = 0;
    for (let k = 1; k < this.workers; k++) if (this.clock[k] < this.clock[w]) w = k;
    const t = this.clock[w];
    if (this.wakes.size && this.wakes.top().t <= t) {
      this.deliver(this.wakes.pop());
      return true;
    }
    if (t === Infinity) return false;
    if (this.mainClock < t) this.mainCall();
    const co = this.runq[w].shift();
    if (co) this.episode(w, co, t);
    else this.sleep(w, t);
    return true;
  }

  private deliver(wk: Wake): void {
    const { co, why, t } = wk;
    if (why === ReadyWhy.TIMER) {
      const w = co.home;
      this.emit(t, Kind.WAKE, WORKER_TID + w, w, co.id, [why, co.start + co.summary * MS, 0, 0, w]);
      this.emit(t + 200, Kind.CO_READY, WORKER_TID + w, w, co.id, [why]);
    } else {
      this.emit(t, Kind.WAKE, NETPOLL_TID, NO_WORKER, co.id, [why, co.fd, 1, 0, NO_WORKER]);
      this.emit(t + 200, Kind.CO_READY, NETPOLL_TID, NO_WORKER, co.id, [why]);
    }
    this.enqueue(co, t + 200);
  }

  private sleep(w: number, t: number): void {
    this.emit(t, Kind.WORKER_IDLE, WORKER_TID + w, w, 0, [0, 1]);
    this.idle[w] = true;
    this.clock[w] = Infinity;
  }

  private mainCall(): void {
    const t = this.mainClock;
    const dur = Math.round(this.between(2 * US, 40 * US));
    this.emit(t + dur, Kind.CALL, MAIN_TID, NO_WORKER, 0, [HOOK.write, 1, 80, 80 * 2 ** 32, dur]);
    this.mainClock += this.between(200 * US, 2 * MS);
  }

  /** co runs on worker w from t: its pending call returns, it computes and calls, then leaves the CPU. */
  private episode(w: number, co: Co, t: number): void {
    const tid = WORKER_TID + w;
    this.emit(t, Kind.CO_RUN, tid, w, co.id, [++co.switches]);
    t += this.between(0.3 * US, 2 * US);
    if (co.hook) {
      const flags = CallFlag.IN_CO | CallFlag.PARKED;
      const result =
        co.hook === HOOK.nanosleep ? 0 : co.hook === HOOK.accept ? 40 + (co.id % 900) : 1 + ((co.id * 37) % 8192);
      this.emit(t, Kind.CALL, tid, w, co.id, [
        co.hook | flags,
        co.fd,
        result,
        co.summary * 2 ** 32,
        Math.round(t - co.start),
      ]);
      co.hook = 0;
    }
    const quick = Math.floor(this.rnd() * 3);
    for (let k = 0; k < quick; k++) t = this.quickCall(tid, w, co, t);
    t += this.between(1 * US, 40 * US);
    const end = this.leave(tid, w, co, t);
    this.clock[w] = end + this.between(0.3 * US, 1.5 * US);
  }

  /** How co leaves the CPU at t; returns the ts of the last event emitted. */
  private leave(tid: number, w: number, co: Co, t: number): number {
    const r = this.rnd();
    if (r < 0.45) return this.park(tid, w, co, t, this.rnd() < 0.8 ? HOOK.read : HOOK.accept);
    if (r < 0.6) return this.sleepCall(tid, w, co, t);
    if (r < 0.72) return this.yieldCo(tid, w, co, t, false);
    if (r < 0.8) return this.preempt(tid, w, co, t);
    if (r < 0.84) return this.finish(tid, w, co, t);
    return this.park(tid, w, co, t, HOOK.recv);
  }

  private quickCall(tid: number, w: number, co: Co, t: number): number {
    t += this.between(1 * US, 20 * US);
    const dur = Math.round(this.between(0.8 * US, 8 * US));
    const fd = 10 + (co.id % 1000);
    const size = 512 << Math.floor(this.rnd() * 5);
    const err = this.rnd() < 0.03;
    const result = err ? -1 : size;
    this.emit(t + dur, Kind.CALL, tid, w, co.id, [
      HOOK.write | CallFlag.IN_CO,
      fd,
      result,
      (err ? 11 : 0) + size * 2 ** 32,
      dur,
    ]);
    return t + dur;
  }

  private park(tid: number, w: number, co: Co, t: number, hook: number): number {
    co.hook = hook;
    co.fd = 10 + (co.id % 1000);
    co.start = t - this.between(0.5 * US, 2 * US);
    co.summary = hook === HOOK.accept ? 0 : 4096;
    const deadline = this.rnd() < 0.3 ? t + 5 * 1000 * MS : 0;
    this.emit(t, Kind.CO_SUSPEND, tid, w, co.id, [SuspendWhy.CALL, hook, co.fd, 1, deadline]);
    this.wakes.push({ t: t + this.between(20 * US, 800 * US), co, why: ReadyWhy.FD });
    return t;
  }

  private sleepCall(tid: number, w: number, co: Co, t: number): number {
    const ms = 1 + Math.floor(this.rnd() * 10);
    co.hook = HOOK.nanosleep;
    co.fd = -1;
    co.start = t - 500;
    co.summary = ms;
    const deadline = co.start + ms * MS;
    this.emit(t, Kind.CO_SUSPEND, tid, w, co.id, [SuspendWhy.SLEEP, co.hook, -1, 0, deadline]);
    this.wakes.push({ t: deadline + this.between(5 * US, 60 * US), co, why: ReadyWhy.TIMER });
    return t;
  }

  private yieldCo(tid: number, w: number, co: Co, t: number, preempted: boolean): number {
    this.emit(t, Kind.CO_YIELD, tid, w, co.id, [preempted ? 1 : 0]);
    this.runq[w].push(co);
    return t;
  }

  private preempt(tid: number, w: number, co: Co, t: number): number {
    t += 10 * MS;
    const latency = Math.round(this.between(2 * US, 30 * US));
    this.emit(t - latency, Kind.PREEMPT_SENT, MONITOR_TID, NO_WORKER, co.id, [10 * MS, w]);
    const deferred = this.rnd() < 0.2;
    const pc = 0x5555_5555_0000 + Math.floor(this.rnd() * 0x10000);
    if (deferred) this.emit(t - 500, Kind.PREEMPT_DEFERRED, tid, w, co.id, [1 + Math.floor(this.rnd() * 3), pc]);
    this.emit(t, Kind.PREEMPTED, tid, w, co.id, [pc, latency, deferred ? 0 : 1]);
    return this.yieldCo(tid, w, co, t + 300, true);
  }

  private finish(tid: number, w: number, co: Co, t: number): number {
    this.spawn(t, co.id, tid, w, Math.floor(this.rnd() * this.workers));
    this.emit(t + 500, Kind.CO_FINISH, tid, w, co.id, [0, 4096 + (co.id % 50000)]);
    return t + 500;
  }
}

/** A synthetic stream of about `events` events, in sorted batches. */
export function syntheticMix(opts: MixOptions): Mix {
  const sim = new Simulation(opts.workers ?? 4, opts.coroutines ?? 500, opts.seed ?? 1);
  while (sim.out.length < opts.events && sim.step());
  const all = new RawEvents(sim.out.bytes());
  return { batches: toBatches(all, opts.batch ?? 4096, opts.late ?? true), strings: sim.strings, count: all.length };
}

/** Sorts the events by ts (stable), cuts them into batches, holds back late netpoller events if asked. */
function toBatches(all: RawEvents, size: number, late: boolean): RawEvents[] {
  const order = new Uint32Array(all.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const ts = new Float64Array(all.length);
  for (let i = 0; i < ts.length; i++) ts[i] = all.ts(i);
  order.sort((x, y) => ts[x] - ts[y] || x - y);
  const nBatches = Math.ceil(all.length / size);
  const members: number[][] = Array.from({ length: nBatches }, () => []);
  for (let p = 0; p < order.length; p++) {
    const i = order[p];
    let b = Math.floor(p / size);
    if (late && b + 1 < nBatches && p % size >= size - 64 && all.tid(i) === NETPOLL_TID) b++;
    members[b].push(i);
  }
  return members.map((list) => {
    list.sort((x, y) => ts[x] - ts[y] || x - y);
    const bytes = new Uint8Array(list.length * EVENT_SIZE);
    list.forEach((i, k) => bytes.set(all.bytes.subarray(i * EVENT_SIZE, (i + 1) * EVENT_SIZE), k * EVENT_SIZE));
    return new RawEvents(bytes);
  });
}
