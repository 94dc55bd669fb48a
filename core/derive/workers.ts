/**
 * WorkerStats: per worker index, the time spent idle (WORKER_IDLE until the
 * next transition), scheduling (awake without a coroutine) and running
 * coroutines, switches (CO_RUN), and the last known run-queue depth (QUEUES
 * a0, or CO_READY a3 for a push on the local queue; 0 there means "not
 * given"), plus the rest of the last QUEUES sample: spawn queue, timers and
 * parked coroutines.
 *
 * Time accounting uses the worker's current state and its start in the live
 * StateColumns, before the transition is applied: the interval up to the
 * transition goes to the current state. A worker's transitions all come
 * from its own ring, hence in order; one older than the current state's
 * start (which would be a bug upstream) is not placed in time.
 */
import { NO_WORKER } from '../events/schema.js';
import { grown } from '../store/typed.js';
import { type StateColumns, WorkerState, WORKER_STATE_NAMES, type WorkerStateName } from './coState.js';

export interface WorkerSummary {
  worker: number;
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

  /** Accounts the time of worker w up to a transition at ts (call before applying it; NO_WORKER: ignored). */
  account(cols: StateColumns, w: number, ts: number, running: boolean): void {
    if (w === NO_WORKER) return;
    if (w >= this.idle.length) this.grow(w + 1);
    if (running) this.switches[w]++;
    if (w >= cols.workers) return;
    const state = cols.wState[w];
    const dt = ts - cols.wSince[w];
    if (state === WorkerState.UNKNOWN || dt < 0) return;
    if (state === WorkerState.IDLE) this.idle[w] += dt;
    else if (state === WorkerState.SCHEDULING) this.scheduling[w] += dt;
    else this.running[w] += dt;
  }

  queueDepth(w: number, depth: number, ts: number): void {
    if (w === NO_WORKER) return;
    if (w >= this.idle.length) this.grow(w + 1);
    if (ts < this.runQueueAt[w]) return;
    this.runQueue[w] = depth;
    this.runQueueAt[w] = ts;
    if (depth > this.runQueueMax[w]) this.runQueueMax[w] = depth;
  }

  /** A QUEUES sample of worker w: run queue, spawn queue, injection queue (global: not kept here), timers, parked. */
  queues(w: number, ts: number, run: number, spawn: number, _inject: number, timers: number, parked: number): void {
    if (w === NO_WORKER) return;
    if (w >= this.idle.length) this.grow(w + 1);
    this.queueDepth(w, run, ts);
    this.samples[w]++;
    if (ts < this.queuesAt[w]) return;
    this.queuesAt[w] = ts;
    this.spawnQueue[w] = spawn;
    this.timers[w] = timers;
    this.parked[w] = parked;
  }

  /** Every worker seen; times include the current state up to `now`. */
  summary(cols: StateColumns, coId: (slot: number) => number, now: number): WorkerSummary[] {
    const out: WorkerSummary[] = [];
    for (let w = 0; w < cols.workers; w++) {
      const state = cols.wState[w];
      const open = state === WorkerState.UNKNOWN ? 0 : Math.max(0, now - cols.wSince[w]);
      const idleTime = this.idle[w] + (state === WorkerState.IDLE ? open : 0);
      const schedulingTime = this.scheduling[w] + (state === WorkerState.SCHEDULING ? open : 0);
      const runTime = this.running[w] + (state === WorkerState.RUNNING ? open : 0);
      const total = idleTime + schedulingTime + runTime;
      out.push({
        worker: w,
        state: WORKER_STATE_NAMES[state],
        co: cols.wCo[w] ? coId(cols.wCo[w]) : 0,
        since: cols.wSince[w],
        idleTime,
        schedulingTime,
        runTime,
        utilisation: total > 0 ? (schedulingTime + runTime) / total : NaN,
        switches: this.switches[w],
        runQueue: this.runQueue[w],
        runQueueAt: this.runQueueAt[w],
        runQueueMax: this.runQueueMax[w],
        spawnQueue: this.spawnQueue[w],
        timers: this.timers[w],
        parked: this.parked[w],
        queueSamples: this.samples[w],
      });
    }
    return out;
  }

  private grow(n: number): void {
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
    return this.idle.byteLength * 12;
  }
}
