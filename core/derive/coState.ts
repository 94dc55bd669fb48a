/**
 * StateColumns: where every coroutine and every worker is at one instant, in
 * compact typed columns (coroutines by CoIds slot, workers by index). The
 * live derived state and the rewound one (rewind.ts) are both StateColumns,
 * changed only through its per-kind methods (ran, suspended, …; apply()
 * dispatches a stored event to them), so they follow the same rules.
 *
 * Invariant ("latest ts wins"): a coroutine's columns are those of the
 * transition event with the greatest ts applied to it (on equal ts, the one
 * applied last); a transition older than the current one changes nothing.
 * The same holds for each worker. So the result depends only on the set of
 * events applied (and store order for equal ts), not on the order in which
 * late events arrived.
 *
 * Coroutine transitions: CO_CREATE -> new, CO_READY / CO_YIELD -> ready,
 * CO_RUN -> running, CO_SUSPEND -> suspended, CO_FINISH -> done. `worker` is
 * the worker of the thread that made the transition (NO_WORKER for other
 * threads, e.g. the netpoller making a coroutine ready). `why` is the
 * ReadyWhy of a ready coroutine (YIELDED / PREEMPTED for CO_YIELD) and the
 * SuspendWhy of a suspended one; hook, fd, events and deadline are the wait
 * of a suspended one (fd holds the joined co for JOIN), 0 otherwise.
 * Worker transitions (on the event's worker): CO_RUN -> running that
 * coroutine; CO_SUSPEND / CO_YIELD / CO_FINISH / WORKER_BUSY -> scheduling
 * (awake, no coroutine); WORKER_IDLE -> idle.
 */
import { Kind, NO_WORKER, ReadyWhy } from '../events/schema.js';
import { grown } from '../store/typed.js';

export const CoState = { NONE: 0, NEW: 1, READY: 2, RUNNING: 3, SUSPENDED: 4, DONE: 5 } as const;
export type CoStateName = 'none' | 'new' | 'ready' | 'running' | 'suspended' | 'done';
export const CO_STATE_NAMES: readonly CoStateName[] = ['none', 'new', 'ready', 'running', 'suspended', 'done'];

export const WorkerState = { UNKNOWN: 0, IDLE: 1, SCHEDULING: 2, RUNNING: 3 } as const;
export type WorkerStateName = 'unknown' | 'idle' | 'scheduling' | 'running';
export const WORKER_STATE_NAMES: readonly WorkerStateName[] = ['unknown', 'idle', 'scheduling', 'running'];

/** The coroutine state an event of this kind leads to (NONE: not a coroutine transition). */
export function coStateAfter(kind: number): number {
  switch (kind) {
    case Kind.CO_CREATE:
      return CoState.NEW;
    case Kind.CO_READY:
    case Kind.CO_YIELD:
      return CoState.READY;
    case Kind.CO_RUN:
      return CoState.RUNNING;
    case Kind.CO_SUSPEND:
      return CoState.SUSPENDED;
    case Kind.CO_FINISH:
      return CoState.DONE;
  }
  return CoState.NONE;
}

export class StateColumns {
  state = new Uint8Array(64);
  worker = new Uint16Array(64);
  since = new Float64Array(64);
  why = new Uint16Array(64);
  hook = new Uint16Array(64);
  fd = new Float64Array(64);
  events = new Uint8Array(64);
  deadline = new Float64Array(64);

  wState = new Uint8Array(16);
  /** Slot of the coroutine running on the worker (0: none). */
  wCo = new Int32Array(16);
  wSince = new Float64Array(16);
  /** One past the highest worker index seen. */
  workers = 0;

  /** Makes slots 0..n-1 addressable. */
  ensureSlots(n: number): void {
    if (n <= this.state.length) return;
    this.state = grown(this.state, n);
    this.worker = grown(this.worker, n);
    this.since = grown(this.since, n);
    this.why = grown(this.why, n);
    this.hook = grown(this.hook, n);
    this.fd = grown(this.fd, n);
    this.events = grown(this.events, n);
    this.deadline = grown(this.deadline, n);
  }

  ensureWorkers(n: number): void {
    if (n > this.workers) this.workers = n;
    if (n <= this.wState.length) return;
    this.wState = grown(this.wState, n);
    this.wCo = grown(this.wCo, n);
    this.wSince = grown(this.wSince, n);
  }

  // ---- one method per kind of transition (both the live and the rewound state use them) ----

  created(slot: number, ts: number, worker: number): void {
    this.setCo(slot, CoState.NEW, ts, worker, 0, 0, 0, 0, 0);
  }

  /** CO_READY with its why (a0). */
  readied(slot: number, ts: number, worker: number, why: number): void {
    this.setCo(slot, CoState.READY, ts, worker, why, 0, 0, 0, 0);
  }

  /** CO_YIELD (a0: 1 if preempted). */
  yielded(slot: number, ts: number, worker: number, preempted: number): void {
    this.setCo(slot, CoState.READY, ts, worker, preempted ? ReadyWhy.PREEMPTED : ReadyWhy.YIELDED, 0, 0, 0, 0);
    this.setWorker(worker, WorkerState.SCHEDULING, ts, 0);
  }

  ran(slot: number, ts: number, worker: number): void {
    this.setCo(slot, CoState.RUNNING, ts, worker, 0, 0, 0, 0, 0);
    this.setWorker(worker, WorkerState.RUNNING, ts, slot);
  }

  /** CO_SUSPEND with its wait: a0 why, a1 hook, a2 fd (signed; JOIN: the joined co), a3 events, a4 deadline. */
  suspended(
    slot: number,
    ts: number,
    worker: number,
    why: number,
    hook: number,
    fd: number,
    events: number,
    deadline: number,
  ): void {
    this.setCo(slot, CoState.SUSPENDED, ts, worker, why, hook, fd, events, deadline);
    this.setWorker(worker, WorkerState.SCHEDULING, ts, 0);
  }

  finished(slot: number, ts: number, worker: number): void {
    this.setCo(slot, CoState.DONE, ts, worker, 0, 0, 0, 0, 0);
    this.setWorker(worker, WorkerState.SCHEDULING, ts, 0);
  }

  /**
   * ran() (run) or yielded() (!run, preempted: CO_YIELD a0) in one body:
   * the hot path of a busy stream. Same rules as setCo and setWorker.
   */
  ranOrYielded(slot: number, ts: number, worker: number, run: boolean, preempted: number): void {
    const state = this.state;
    if (slot !== 0 && (state[slot] === CoState.NONE || !(ts < this.since[slot]))) {
      state[slot] = run ? CoState.RUNNING : CoState.READY;
      this.since[slot] = ts;
      this.worker[slot] = worker;
      this.why[slot] = run ? 0 : preempted ? ReadyWhy.PREEMPTED : ReadyWhy.YIELDED;
      this.hook[slot] = 0;
      this.fd[slot] = 0;
      this.events[slot] = 0;
      this.deadline[slot] = 0;
    }
    if (worker === NO_WORKER) return;
    if (worker >= this.workers) this.ensureWorkers(worker + 1);
    const wState = this.wState;
    if (wState[worker] !== WorkerState.UNKNOWN && ts < this.wSince[worker]) return;
    wState[worker] = run ? WorkerState.RUNNING : WorkerState.SCHEDULING;
    this.wSince[worker] = ts;
    this.wCo[worker] = run ? slot : 0;
  }

  /** WORKER_IDLE (idle) / WORKER_BUSY (not idle). */
  workerIdle(ts: number, worker: number, idle: boolean): void {
    this.setWorker(worker, idle ? WorkerState.IDLE : WorkerState.SCHEDULING, ts, 0);
  }

  /** Applies one stored event (arguments as StoredEvent.a gives them); other kinds change nothing. */
  apply(kind: number, slot: number, ts: number, worker: number, a: ArrayLike<number>): void {
    switch (kind) {
      case Kind.CO_CREATE:
        return this.created(slot, ts, worker);
      case Kind.CO_READY:
        return this.readied(slot, ts, worker, a[0]);
      case Kind.CO_YIELD:
        return this.yielded(slot, ts, worker, a[0]);
      case Kind.CO_RUN:
        return this.ran(slot, ts, worker);
      case Kind.CO_SUSPEND:
        return this.suspended(slot, ts, worker, a[0], a[1], a[2], a[3], a[4]);
      case Kind.CO_FINISH:
        return this.finished(slot, ts, worker);
      case Kind.CO_INFO:
        return this.existed(slot, ts, a[3], a[4]);
      case Kind.WORKER_IDLE:
      case Kind.WORKER_BUSY:
        return this.workerIdle(ts, worker, kind === Kind.WORKER_IDLE);
    }
  }

  /**
   * CO_INFO (a coroutine older than the stream, described when it began): a3 = state (0 not
   * started, 1 ready, 2 running, 3 suspended) | why << 8 | hook << 16 | worker << 32, a4 = fd.
   * Like any transition it holds only until a later one.
   */
  existed(slot: number, ts: number, a3: number, fd: number): void {
    const lo = a3 % 4294967296;
    const w = Math.floor(a3 / 4294967296) & 0xffff;
    switch (lo & 0xff) {
      case 0:
        return this.setCo(slot, CoState.READY, ts, w, ReadyWhy.SPAWNED, 0, 0, 0, 0);
      case 1:
        return this.setCo(slot, CoState.READY, ts, w, 0, 0, 0, 0, 0);
      case 2:
        if (!this.newer(slot, ts)) return;
        return this.ran(slot, ts, w);
      case 3:
        return this.setCo(slot, CoState.SUSPENDED, ts, w, (lo >>> 8) & 0xff, lo >>> 16, fd, 0, 0);
    }
  }

  /** Whether a transition of slot at ts is at least as new as its current one. */
  newer(slot: number, ts: number): boolean {
    return this.state[slot] === CoState.NONE || !(ts < this.since[slot]);
  }

  /** The state CO_INFO's a3 describes. */
  static existedState(a3: number): number {
    const st = a3 % 256;
    return st === 2 ? CoState.RUNNING : st === 3 ? CoState.SUSPENDED : CoState.READY;
  }

  /** Sets a coroutine's columns unless its current transition is newer (slot 0: no coroutine, ignored). */
  setCo(
    slot: number,
    state: number,
    ts: number,
    worker: number,
    why: number,
    hook: number,
    fd: number,
    events: number,
    deadline: number,
  ): void {
    if (slot === 0 || !this.newer(slot, ts)) return;
    this.state[slot] = state;
    this.since[slot] = ts;
    this.worker[slot] = worker;
    this.why[slot] = why;
    this.hook[slot] = hook;
    this.fd[slot] = fd;
    this.events[slot] = events;
    this.deadline[slot] = deadline;
  }

  /** Sets a worker's columns unless its current transition is newer (NO_WORKER: ignored). */
  setWorker(w: number, state: number, ts: number, slot: number): void {
    if (w === NO_WORKER) return;
    if (w >= this.workers) this.ensureWorkers(w + 1);
    if (this.wState[w] !== WorkerState.UNKNOWN && ts < this.wSince[w]) return;
    this.wState[w] = state;
    this.wSince[w] = ts;
    this.wCo[w] = slot;
  }

  bytesUsed(): number {
    return [
      this.state,
      this.worker,
      this.since,
      this.why,
      this.hook,
      this.fd,
      this.events,
      this.deadline,
      this.wState,
      this.wCo,
      this.wSince,
    ].reduce((n, a) => n + a.byteLength, 0);
  }
}
