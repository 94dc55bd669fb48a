/**
 * CoroutineTable: what is known about each coroutine (by CoIds slot) beyond
 * its current state (coState.ts): name, entry symbol, parent, creation and
 * exit, counters (switches, preemptions, hooked calls, migrations) and time
 * totals per state.
 *
 * Time accounting. Each slot keeps its last HISTORY transitions (ts, state).
 * A transition at or after the newest one closes the newest interval: its
 * length goes to the newest state's total. A late transition (older than
 * the newest: it came from another thread's ring after newer ones) is
 * inserted where it belongs: the interval it falls in is split, and the part
 * after it moves from the old state's total to the new state's. So the
 * totals are the same whatever order the events arrived in, as long as a
 * late event is no more than HISTORY - 1 transitions late. One older than
 * the whole history marks the slot stale: its totals are then recounted
 * from all its transitions (recount(), which Derived calls with the store's
 * events before answering about the coroutine). Totals cover closed
 * intervals: the current state's time since `since` is not in them.
 * Counters count events whatever their order.
 */
import { grown } from '../store/typed.js';
import { CoState } from './coState.js';

const HISTORY = 4;
const NO_EXIT = 255;

export class CoroutineTable {
  /** Name string id (CO_CREATE a1). */
  name = new Uint32Array(64);
  /** Entry symbol string id (CO_CREATE a2, 0: unknown). */
  entry = new Uint32Array(64);
  parent = new Float64Array(64);
  created = new Float64Array(64).fill(NaN);
  stackSize = new Uint32Array(64);
  finished = new Float64Array(64).fill(NaN);
  /** CO_FINISH a0, NO_EXIT (255) while running. */
  exit = new Uint8Array(64).fill(NO_EXIT);
  stackUsed = new Uint32Array(64);
  /** Worker and store index of the first CO_FINISH (rewind.ts restores finished coroutines from them). */
  finishWorker = new Uint16Array(64);
  finishIndex = new Float64Array(64).fill(-1);

  switches = new Uint32Array(64);
  preemptions = new Uint32Array(64);
  calls = new Uint32Array(64);
  /** CO_MIGRATE events: moves to another worker (stolen before the first run, or migrated). */
  migrations = new Uint32Array(64);
  runTime = new Float64Array(64);
  readyTime = new Float64Array(64);
  suspendedTime = new Float64Array(64);

  private histTs = new Float64Array(64 * HISTORY);
  private histState = new Uint8Array(64 * HISTORY);
  private histHead = new Uint8Array(64);
  private histLen = new Uint8Array(64);
  /** Transitions that arrived older than the newest one of their coroutine. */
  lateTransitions = 0;
  /** Slots whose totals need a recount (a transition came later than HISTORY - 1 newer ones). */
  private readonly stale = new Set<number>();

  ensure(n: number): void {
    if (n <= this.name.length) return;
    this.name = grown(this.name, n);
    this.entry = grown(this.entry, n);
    this.parent = grown(this.parent, n);
    this.created = grown(this.created, n, NaN);
    this.stackSize = grown(this.stackSize, n);
    this.finished = grown(this.finished, n, NaN);
    this.exit = grown(this.exit, n, NO_EXIT);
    this.stackUsed = grown(this.stackUsed, n);
    this.finishWorker = grown(this.finishWorker, n);
    this.finishIndex = grown(this.finishIndex, n, -1);
    this.switches = grown(this.switches, n);
    this.preemptions = grown(this.preemptions, n);
    this.calls = grown(this.calls, n);
    this.migrations = grown(this.migrations, n);
    this.runTime = grown(this.runTime, n);
    this.readyTime = grown(this.readyTime, n);
    this.suspendedTime = grown(this.suspendedTime, n);
    this.histTs = grown(this.histTs, this.name.length * HISTORY);
    this.histState = grown(this.histState, this.name.length * HISTORY);
    this.histHead = grown(this.histHead, n);
    this.histLen = grown(this.histLen, n);
  }

  create(slot: number, ts: number, parent: number, name: number, stackSize: number, entry = 0): void {
    if (slot === 0) return;
    this.created[slot] = ts;
    this.parent[slot] = parent;
    this.name[slot] = name;
    this.entry[slot] = entry;
    this.stackSize[slot] = stackSize;
  }

  /** Records the first CO_FINISH of slot (a repeated one, or slot 0, is ignored). */
  finish(slot: number, ts: number, exit: number, stackUsed: number, worker: number, index: number): void {
    if (slot === 0 || this.finishIndex[slot] >= 0) return;
    this.exit[slot] = Math.min(exit, NO_EXIT - 1);
    this.stackUsed[slot] = stackUsed;
    this.finished[slot] = ts;
    this.finishWorker[slot] = worker;
    this.finishIndex[slot] = index;
  }

  /** Time accounting of a transition of slot to state at ts (slot 0: no coroutine, ignored). */
  account(slot: number, state: number, ts: number): void {
    if (slot === 0) return;
    const n = this.histLen[slot];
    if (n === HISTORY) {
      // Full ring (the usual case): the newest entry is the one before head, which the new one replaces.
      const head = this.histHead[slot];
      const newest = slot * HISTORY + ((head + HISTORY - 1) & (HISTORY - 1));
      const dt = ts - this.histTs[newest];
      if (dt >= 0) {
        const s = this.histState[newest];
        if (s === CoState.RUNNING) this.runTime[slot] += dt;
        else if (s === CoState.READY) this.readyTime[slot] += dt;
        else if (s === CoState.SUSPENDED) this.suspendedTime[slot] += dt;
        const p = slot * HISTORY + head;
        this.histTs[p] = ts;
        this.histState[p] = state;
        this.histHead[slot] = (head + 1) & (HISTORY - 1);
        return;
      }
    }
    this.accountSlow(slot, state, ts);
  }

  private accountSlow(slot: number, state: number, ts: number): void {
    const base = slot * HISTORY;
    const n = this.histLen[slot];
    const head = this.histHead[slot];
    if (n > 0) {
      const newest = base + ((head + n - 1) & (HISTORY - 1));
      const dt = ts - this.histTs[newest];
      if (dt < 0) return this.insertLate(slot, state, ts);
      this.addTime(slot, this.histState[newest], dt);
    }
    const p = base + ((head + n) & (HISTORY - 1));
    this.histTs[p] = ts;
    this.histState[p] = state;
    if (n < HISTORY) this.histLen[slot] = n + 1;
    else this.histHead[slot] = (head + 1) & (HISTORY - 1);
  }

  private insertLate(slot: number, state: number, ts: number): void {
    this.lateTransitions++;
    const base = slot * HISTORY;
    const n = this.histLen[slot];
    const head = this.histHead[slot];
    const times: number[] = [];
    const states: number[] = [];
    for (let k = 0; k < n; k++) {
      times.push(this.histTs[base + ((head + k) & (HISTORY - 1))]);
      states.push(this.histState[base + ((head + k) & (HISTORY - 1))]);
    }
    let k = n - 1;
    while (k >= 0 && times[k] > ts) k--;
    if (k < 0) {
      this.stale.add(slot);
      return;
    }
    const moved = times[k + 1] - ts;
    this.addTime(slot, states[k], -moved);
    this.addTime(slot, state, moved);
    times.splice(k + 1, 0, ts);
    states.splice(k + 1, 0, state);
    if (times.length > HISTORY) {
      times.shift();
      states.shift();
    }
    this.histHead[slot] = 0;
    this.histLen[slot] = times.length;
    times.forEach((t, j) => {
      this.histTs[base + j] = t;
      this.histState[base + j] = states[j];
    });
  }

  isStale(slot: number): boolean {
    return this.stale.has(slot);
  }

  /** Slots waiting for a recount. */
  staleSlots(): number[] {
    return [...this.stale];
  }

  /** Recomputes the totals and history of slot from all its transitions, sorted by ts (ties: store order). */
  recount(slot: number, transitions: readonly { ts: number; state: number }[]): void {
    this.runTime[slot] = 0;
    this.readyTime[slot] = 0;
    this.suspendedTime[slot] = 0;
    for (let k = 1; k < transitions.length; k++) {
      this.addTime(slot, transitions[k - 1].state, transitions[k].ts - transitions[k - 1].ts);
    }
    const kept = transitions.slice(-HISTORY);
    const base = slot * HISTORY;
    this.histHead[slot] = 0;
    this.histLen[slot] = kept.length;
    kept.forEach((t, j) => {
      this.histTs[base + j] = t.ts;
      this.histState[base + j] = t.state;
    });
    this.stale.delete(slot);
  }

  private addTime(slot: number, state: number, dt: number): void {
    if (state === CoState.RUNNING) this.runTime[slot] += dt;
    else if (state === CoState.READY) this.readyTime[slot] += dt;
    else if (state === CoState.SUSPENDED) this.suspendedTime[slot] += dt;
  }

  bytesUsed(): number {
    return [this.name, this.entry, this.migrations, this.parent, this.created, this.stackSize, this.finished, this.exit, this.stackUsed,
      this.finishWorker, this.finishIndex, this.switches, this.preemptions, this.calls, this.runTime, this.readyTime,
      this.suspendedTime, this.histTs, this.histState, this.histHead, this.histLen].reduce((b, a) => b + a.byteLength, 0);
  }
}
