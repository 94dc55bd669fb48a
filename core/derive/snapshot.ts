/**
 * Snapshot: a read-only view of StateColumns at one instant (the live state
 * or a rewound one), turning slots and numbers into plain objects on demand.
 * It shares the columns it was made from: a live snapshot follows later
 * events; a rewound one never changes.
 */
import { hookName, NO_WORKER, suspendWhyName } from '../events/schema.js';
import type { CoIds } from '../store/coIds.js';
import {
  CoState,
  CO_STATE_NAMES,
  type CoStateName,
  type StateColumns,
  WORKER_STATE_NAMES,
  type WorkerStateName,
} from './coState.js';

export interface WaitReason {
  /** SuspendWhy and its name. */
  why: number;
  whyName: string;
  hook: number;
  hookName: string;
  /** The fd waited on (-1: none); for why JOIN, the id of the joined coroutine. */
  fd: number;
  /** Events waited for: 1 read, 2 write. */
  events: number;
  /** CLOCK_MONOTONIC ns, 0: none. */
  deadline: number;
}

export interface CoroutineState {
  co: number;
  state: CoStateName;
  /** Worker of the thread that made the last transition (null: not a worker thread). */
  worker: number | null;
  /** ts of the last transition. */
  since: number;
  /** ReadyWhy when ready (YIELDED / PREEMPTED after CO_YIELD), SuspendWhy when suspended, 0 otherwise. */
  why: number;
  /** When suspended. */
  wait?: WaitReason;
}

export interface WorkerAt {
  worker: number;
  state: WorkerStateName;
  /** Id of the coroutine it runs (0: none). */
  co: number;
  since: number;
}

export class Snapshot {
  constructor(
    /** The instant this state is at (for the live state: the newest event's ts). */
    readonly at: number,
    private readonly cols: StateColumns,
    private readonly coIds: CoIds,
  ) {}

  /** The state of coroutine co, undefined if it had no transition yet. */
  coroutine(co: number): CoroutineState | undefined {
    const slot = this.coIds.find(co);
    if (slot <= 0 || slot >= this.cols.state.length || this.cols.state[slot] === CoState.NONE) return undefined;
    return this.describe(slot);
  }

  /** Every coroutine with a transition so far; finished ones only if asked. */
  coroutines(includeDone = false): CoroutineState[] {
    const out: CoroutineState[] = [];
    const n = Math.min(this.coIds.count, this.cols.state.length);
    for (let slot = 1; slot < n; slot++) {
      const st = this.cols.state[slot];
      if (st !== CoState.NONE && (includeDone || st !== CoState.DONE)) out.push(this.describe(slot));
    }
    return out;
  }

  workers(): WorkerAt[] {
    const c = this.cols;
    const out: WorkerAt[] = [];
    for (let w = 0; w < c.workers; w++) {
      out.push({
        worker: w,
        state: WORKER_STATE_NAMES[c.wState[w]],
        co: c.wCo[w] ? this.coIds.id(c.wCo[w]) : 0,
        since: c.wSince[w],
      });
    }
    return out;
  }

  private describe(slot: number): CoroutineState {
    const c = this.cols;
    const state = c.state[slot];
    const out: CoroutineState = {
      co: this.coIds.id(slot),
      state: CO_STATE_NAMES[state],
      worker: c.worker[slot] === NO_WORKER ? null : c.worker[slot],
      since: c.since[slot],
      why: c.why[slot],
    };
    if (state === CoState.SUSPENDED) {
      out.wait = {
        why: c.why[slot],
        whyName: suspendWhyName(c.why[slot]),
        hook: c.hook[slot],
        hookName: c.hook[slot] ? hookName(c.hook[slot]) : '',
        fd: c.fd[slot],
        events: c.events[slot],
        deadline: c.deadline[slot],
      };
    }
    return out;
  }
}
