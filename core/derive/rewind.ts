/**
 * Rewind: the state of every coroutine and worker at any instant t.
 *
 * Checkpoints: every max(minInterval, PER_LIVE × live coroutines) stored
 * events (minInterval: MIN_INTERVAL = 2^20 unless Derived was given a
 * checkpointInterval), a copy of the live StateColumns as they are after
 * events [0, index) — only the coroutines that are neither done nor without
 * a transition (a finished one is restored from its first CO_FINISH, kept
 * by CoroutineTable, if that came before index), plus all workers — and the
 * greatest ts among those events (maxTs). So checkpoint memory is about 36
 * bytes per live coroutine every PER_LIVE × live events: at most
 * 36 / PER_LIVE < 0.6 byte per event, a few percent of the store.
 *
 * stateAt(t): start from the last checkpoint whose maxTs <= t (every event
 * in it is at or before t; none at all: empty state at index 0), then apply
 * the store's events from its index on with ts <= t. Since StateColumns
 * keeps the transition with the greatest ts, the result is the state after
 * all events with ts <= t, whatever their store order. (An event with a ts
 * far in the future makes the checkpoints after it unusable until then:
 * correct, only slower.) Requires that the EventStore was fed the same
 * batches as the Derived owning this Rewind.
 */
import type { EventStore, StoredEvent } from '../store/eventStore.js';
import { CoState, StateColumns } from './coState.js';
import type { CoroutineTable } from './coroutines.js';

/** Default of the least number of events between checkpoints. */
const MIN_INTERVAL = 1 << 20;
const PER_LIVE = 64;

/** The per-coroutine columns of StateColumns; a checkpoint keeps them for its live slots. */
const CO_COLUMNS = ['state', 'worker', 'since', 'why', 'hook', 'fd', 'events', 'deadline'] as const;
type CoColumns = Pick<StateColumns, (typeof CO_COLUMNS)[number]>;
type Column = CoColumns[keyof CoColumns];

interface Checkpoint extends CoColumns {
  index: number;
  maxTs: number;
  slots: Int32Array;
  workers: number;
  wState: Uint8Array;
  wCo: Int32Array;
  wSince: Float64Array;
}

export class Rewind {
  private readonly checkpoints: Checkpoint[] = [];
  /** Store index before which the next checkpoint is taken. */
  nextAt: number;

  constructor(
    private readonly store: EventStore,
    private readonly table: CoroutineTable,
    private readonly minInterval = MIN_INTERVAL,
  ) {
    this.nextAt = minInterval;
  }

  /** Takes a checkpoint of cols, the state after events [0, index) whose greatest ts is maxTs. */
  take(index: number, maxTs: number, cols: StateColumns): void {
    const live = this.liveSlots(cols);
    const cp = {
      index,
      maxTs,
      slots: live,
      workers: cols.workers,
      wState: cols.wState.slice(0, cols.workers),
      wCo: cols.wCo.slice(0, cols.workers),
      wSince: cols.wSince.slice(0, cols.workers),
    } as Checkpoint;
    for (const name of CO_COLUMNS) {
      const from: Column = cols[name];
      const to = new (from.constructor as new (n: number) => Column)(live.length);
      live.forEach((slot, k) => (to[k] = from[slot]));
      (cp as Record<(typeof CO_COLUMNS)[number], Column>)[name] = to;
    }
    this.checkpoints.push(cp);
    this.nextAt = index + Math.max(this.minInterval, PER_LIVE * live.length);
  }

  /** The state after every stored event with ts <= t. */
  stateAt(t: number): StateColumns {
    const cols = new StateColumns();
    const coIds = this.store.coIds;
    cols.ensureSlots(coIds.count);
    const cp = this.checkpointFor(t);
    if (cp) this.restore(cp, cols);
    const replay = (ev: StoredEvent) => cols.apply(ev.kind, coIds.find(ev.co), ev.ts, ev.worker, ev.a);
    this.store.scan(-Infinity, t, replay, cp ? cp.index : 0);
    return cols;
  }

  /** Number of checkpoints taken. */
  get count(): number {
    return this.checkpoints.length;
  }

  bytesUsed(): number {
    let b = 0;
    for (const cp of this.checkpoints) {
      for (const a of [cp.slots, ...CO_COLUMNS.map((name) => cp[name]), cp.wState, cp.wCo, cp.wSince])
        b += a.byteLength;
    }
    return b;
  }

  /** Slots that a checkpoint must copy: every one with a transition, except finished ones restorable from the table. */
  private liveSlots(cols: StateColumns): Int32Array {
    const t = this.table;
    const out: number[] = [];
    for (let slot = 1; slot < cols.state.length; slot++) {
      const st = cols.state[slot];
      if (st === CoState.NONE) continue;
      const restorable =
        st === CoState.DONE &&
        cols.since[slot] === t.finished[slot] &&
        cols.worker[slot] === t.finishWorker[slot] &&
        cols.why[slot] === 0;
      if (!restorable) out.push(slot);
    }
    return Int32Array.from(out);
  }

  /** The last checkpoint whose events are all at or before t. */
  private checkpointFor(t: number): Checkpoint | undefined {
    let lo = 0;
    let hi = this.checkpoints.length - 1;
    let best: Checkpoint | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.checkpoints[mid].maxTs <= t) {
        best = this.checkpoints[mid];
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return best;
  }

  private restore(cp: Checkpoint, cols: StateColumns): void {
    const t = this.table;
    const n = Math.min(cols.state.length, t.finishIndex.length);
    for (let slot = 1; slot < n; slot++) {
      const fi = t.finishIndex[slot];
      if (fi >= 0 && fi < cp.index)
        cols.setCo(slot, CoState.DONE, t.finished[slot], t.finishWorker[slot], 0, 0, 0, 0, 0);
    }
    for (const name of CO_COLUMNS) {
      const from: Column = cp[name];
      const to: Column = cols[name];
      cp.slots.forEach((slot, k) => (to[slot] = from[k]));
    }
    cols.ensureWorkers(cp.workers);
    cols.wState.set(cp.wState);
    cols.wCo.set(cp.wCo);
    cols.wSince.set(cp.wSince);
  }
}
