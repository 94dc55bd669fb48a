/**
 * WorkerStats: per worker — keyed by (process, index), since workers are
 * numbered per process and a followed session holds several processes —
 * the time spent idle (WORKER_IDLE until the next transition), scheduling
 * (awake without a coroutine) and running coroutines, switches (CO_RUN),
 * and the last known run-queue depth (QUEUES a0, or CO_READY a3 for a push
 * on the local queue; 0 there means "not given"), plus the rest of the last
 * QUEUES sample: spawn queue, timers and parked coroutines.
 *
 * The process of a record is its thread's (THREAD a4 serial: the caller
 * passes it). Each worker's state and its start are kept here, per key:
 * the interval up to a transition goes to the state before it. A worker's
 * transitions all come from its own ring, hence in order; one older than
 * the current state's start (which would be a bug upstream) is not placed
 * in time.
 */
import { NO_WORKER } from '../events/schema.js';
import { grown } from '../store/typed.js';
import { WorkerState, WORKER_STATE_NAMES, type WorkerStateName } from './coState.js';

export interface WorkerSummary {
  /** Its index in its process. */
  worker: number;
  /** Its process: serial in the session (0: the launched one) and pid (0: not known). */
  serial: number;
  pid: number;
  state: WorkerStateName;
  /** Id of the coroutine running on it (0: none). */
  co: number;
  since: number;
  idleTime: number;
  schedulingTime: number;
  runTime: number;
  /** (scheduling + running) / (idle + scheduling + running); NaN before any accounted time. */
  utilisation: number;
  switches: number;
  /** Last known run-queue depth (NaN: never given), its ts and the deepest seen. */
  runQueue: number;
  runQueueAt: number;
  runQueueMax: number;
  /** From the last QUEUES sample (NaN: none yet): its spawn queue, pending timers, coroutines in a wait. */
  spawnQueue: number;
  timers: number;
  parked: number;
  /** Samples seen (QUEUES). */
  queueSamples: number;
}

export class WorkerStats {
  /** (serial * 2^16 + index) -> slot; slots are dense, in order of first sight. */
  private readonly slots = new Map<number, number>();
  private n = 0;
  private key = new Float64Array(16);
  private state = new Uint8Array(16);
  private since = new Float64Array(16);
  private co = new Uint32Array(16);
  private idle = new Float64Array(16);
  private scheduling = new Float64Array(16);
  private running = new Float64Array(16);
  private switches = new Float64Array(16);
  private runQueue = new Float64Array(16).fill(NaN);
  private runQueueAt = new Float64Array(16).fill(NaN);
  private runQueueMax = new Float64Array(16);
  private spawnQueue = new Float64Array(16).fill(NaN);
  private timers = new Float64Array(16).fill(NaN);
  private parked = new Float64Array(16).fill(NaN);
  private queuesAt = new Float64Array(16).fill(NaN);
  private samples = new Float64Array(16);

  private slot(serial: number, w: number): number {
    const k = serial * 65536 + w;
    let s = this.slots.get(k);
    if (s === undefined) {
      s = this.n++;
      if (s >= this.key.length) this.grow(s * 2);
      this.slots.set(k, s);
      this.key[s] = k;
    }
    return s;
  }

  /**
   * Worker w of process `serial` changes to `state` at ts (running coroutine slot `coSlot`, 0: none): the time
   * since its last transition goes to the state it leaves. `run`: a CO_RUN (a switch). NO_WORKER: ignored.
   */
  transition(serial: number, w: number, ts: number, state: number, coSlot: number, run: boolean): void {
    if (w === NO_WORKER) return;
    const s = this.slot(serial, w);
    if (run) this.switches[s]++;
    const cur = this.state[s];
    if (cur !== WorkerState.UNKNOWN) {
      const dt = ts - this.since[s];
      if (dt < 0) return;
      if (cur === WorkerState.IDLE) this.idle[s] += dt;
      else if (cur === WorkerState.SCHEDULING) this.scheduling[s] += dt;
      else this.running[s] += dt;
    }
    this.state[s] = state;
    this.since[s] = ts;
    this.co[s] = coSlot;
  }

  queueDepth(serial: number, w: number, depth: number, ts: number): void {
    if (w === NO_WORKER) return;
    const s = this.slot(serial, w);
    if (ts < this.runQueueAt[s]) return;
    this.runQueue[s] = depth;
    this.runQueueAt[s] = ts;
    if (depth > this.runQueueMax[s]) this.runQueueMax[s] = depth;
  }

  /** A QUEUES sample of worker w: run queue, spawn queue, injection queue (global: not kept here), timers, parked. */
  queues(
    serial: number,
    w: number,
    ts: number,
    run: number,
    spawn: number,
    _inject: number,
    timers: number,
    parked: number,
  ): void {
    if (w === NO_WORKER) return;
    this.queueDepth(serial, w, run, ts);
    const s = this.slot(serial, w);
    this.samples[s]++;
    if (ts < this.queuesAt[s]) return;
    this.queuesAt[s] = ts;
    this.spawnQueue[s] = spawn;
    this.timers[s] = timers;
    this.parked[s] = parked;
  }

  /**
   * Every worker that made a transition, by process (serial) then index, lower indices of its process included
   * (as "unknown" when they said nothing); times include the current state up to `now`, or up to the end of
   * the worker's process (`endOf`: its PROCESS_EXIT ts, NaN while it runs).
   */
  summary(
    coId: (slot: number) => number,
    now: number,
    pidOf: (serial: number) => number = () => 0,
    endOf: (serial: number) => number = () => NaN,
  ): WorkerSummary[] {
    const top = new Map<number, number>(); // serial -> highest index that made a transition
    for (const [k, s] of this.slots) {
      if (this.state[s] === WorkerState.UNKNOWN) continue; // queue samples alone do not list a worker
      const serial = Math.floor(k / 65536);
      top.set(serial, Math.max(top.get(serial) ?? -1, k % 65536));
    }
    const out: WorkerSummary[] = [];
    for (const serial of [...top.keys()].sort((a, b) => a - b)) {
      const pid = pidOf(serial);
      const end = endOf(serial); // a process that ended: its workers' last state lasts until then, not until now
      const until = end < now ? end : now;
      for (let w = 0; w <= top.get(serial)!; w++) {
        const s = this.slots.get(serial * 65536 + w);
        if (s === undefined) {
          out.push(empty(w, serial, pid));
          continue;
        }
        const state = this.state[s];
        const open = state === WorkerState.UNKNOWN ? 0 : Math.max(0, until - this.since[s]);
        const idleTime = this.idle[s] + (state === WorkerState.IDLE ? open : 0);
        const schedulingTime = this.scheduling[s] + (state === WorkerState.SCHEDULING ? open : 0);
        const runTime = this.running[s] + (state === WorkerState.RUNNING ? open : 0);
        const total = idleTime + schedulingTime + runTime;
        out.push({
          worker: w,
          serial,
          pid,
          state: WORKER_STATE_NAMES[state],
          co: this.co[s] ? coId(this.co[s]) : 0,
          since: state === WorkerState.UNKNOWN ? 0 : this.since[s],
          idleTime,
          schedulingTime,
          runTime,
          utilisation: total > 0 ? (schedulingTime + runTime) / total : NaN,
          switches: this.switches[s],
          runQueue: this.runQueue[s],
          runQueueAt: this.runQueueAt[s],
          runQueueMax: this.runQueueMax[s],
          spawnQueue: this.spawnQueue[s],
          timers: this.timers[s],
          parked: this.parked[s],
          queueSamples: this.samples[s],
        });
      }
    }
    return out;
  }

  private grow(n: number): void {
    this.key = grown(this.key, n);
    this.state = grown(this.state, n);
    this.since = grown(this.since, n);
    this.co = grown(this.co, n);
    this.idle = grown(this.idle, n);
    this.scheduling = grown(this.scheduling, n);
    this.running = grown(this.running, n);
    this.switches = grown(this.switches, n);
    this.runQueue = grown(this.runQueue, n, NaN);
    this.runQueueAt = grown(this.runQueueAt, n, NaN);
    this.runQueueMax = grown(this.runQueueMax, n);
    this.spawnQueue = grown(this.spawnQueue, n, NaN);
    this.timers = grown(this.timers, n, NaN);
    this.parked = grown(this.parked, n, NaN);
    this.queuesAt = grown(this.queuesAt, n, NaN);
    this.samples = grown(this.samples, n);
  }

  bytesUsed(): number {
    return this.idle.byteLength * 15 + this.state.byteLength + this.co.byteLength;
  }
}

function empty(worker: number, serial: number, pid: number): WorkerSummary {
  return {
    worker,
    serial,
    pid,
    state: 'unknown',
    co: 0,
    since: 0,
    idleTime: 0,
    schedulingTime: 0,
    runTime: 0,
    utilisation: NaN,
    switches: 0,
    runQueue: NaN,
    runQueueAt: NaN,
    runQueueMax: 0,
    spawnQueue: NaN,
    timers: NaN,
    parked: NaN,
    queueSamples: 0,
  };
}
