/**
 * CoroutineTable: what is known about each coroutine (by CoIds slot) beyond
 * its current state (coState.ts): name, entry symbol, parent, creation and
 * exit, counters (switches, preemptions, hooked calls, migrations) and time
 * totals per state.
 *
 * Time accounting. Each slot keeps its newest transition (lastTs,
 * lastState); a transition at or after it closes that interval, whose
 * length goes to the newest state's total. Every transition is also written
 * to a log shared by all coroutines (a ring of the most recent transitions,
 * each pointing to the previous one of its coroutine), so a late transition
 * (older than its coroutine's newest: it came from another thread's ring,
 * drained later) is placed exactly by walking its coroutine's chain back to
 * where it belongs: the interval it falls in is split, and the part after it
 * moves from the old state's total to the new state's. So the totals are the
 * same whatever order the events arrived in, as long as a late transition is
 * younger than the log's oldest entry (the log grows, up to LOG_MAX entries,
 * when one is not). One older than that marks the slot stale: its totals
 * are then recounted from all its transitions (recount(), which Derived
 * calls with the store's events, or the history it was given, before
 * answering about the coroutine). Memory: the log (17 bytes per entry, at
 * most LOG_MAX) and 17 bytes per slot, whatever the number of events.
 * Totals cover closed intervals: the current state's time since `since` is
 * not in them.
 * Counters count events whatever their order.
 */
import { grown } from '../store/typed.js';
import { CoState } from './coState.js';

const NO_EXIT = 255;
/** Log capacity: initial and most (powers of two; 2^18 entries: 4.25 MiB, 2^21: 34 MiB). */
const LOG_MIN = 1 << 18;
const LOG_MAX = 1 << 21;
/** A chain's end: no transition before this one (the chain is complete). */
const NONE_BEFORE = -1;
/** A chain's end: earlier transitions exist, but not in the log (after a recount). */
const TRUNCATED = -2;
/** Transitions a recount writes back to the log for its slot. */
const RECOUNT_KEEP = 4;

export class CoroutineTable {
  /** Name string id (CO_CREATE a1); 64-bit ids (a followed child's are serial * 2^32 + k), so not a Uint32Array. */
  name = new Float64Array(64);
  /** Entry symbol string id (CO_CREATE a2, 0: unknown). */
  entry = new Float64Array(64);
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

  /** Per slot: the newest transition (ts, state) and its log seq (NONE_BEFORE: none yet). */
  private lastTs = new Float64Array(64);
  private lastState = new Uint8Array(64);
  private head = new Float64Array(64).fill(NONE_BEFORE);
  /** The shared log: entry seq s is at s % logCap and alive while s >= seq - logCap. */
  private logCap = LOG_MIN;
  private logTs = new Float64Array(LOG_MIN);
  private logState = new Uint8Array(LOG_MIN);
  private logPrev = new Float64Array(LOG_MIN);
  private seq = 0;
  /** Transitions that arrived older than the newest one of their coroutine. */
  lateTransitions = 0;
  /** Slots whose totals need a recount (a transition came later than the log holds). */
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
    this.lastTs = grown(this.lastTs, n);
    this.lastState = grown(this.lastState, n);
    this.head = grown(this.head, n, NONE_BEFORE);
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
    const h = this.head[slot];
    if (h !== NONE_BEFORE) {
      const dt = ts - this.lastTs[slot];
      if (dt < 0) return this.insertLate(slot, state, ts);
      const s = this.lastState[slot];
      if (s === CoState.RUNNING) this.runTime[slot] += dt;
      else if (s === CoState.READY) this.readyTime[slot] += dt;
      else if (s === CoState.SUSPENDED) this.suspendedTime[slot] += dt;
    }
    this.lastTs[slot] = ts;
    this.lastState[slot] = state;
    this.head[slot] = this.append(ts, state, h);
  }

  /** Writes a log entry; returns its seq. */
  private append(ts: number, state: number, prev: number): number {
    const s = this.seq++;
    const p = s % this.logCap;
    this.logTs[p] = ts;
    this.logState[p] = state;
    this.logPrev[p] = prev;
    return s;
  }

  private alive(seq: number): boolean {
    return seq >= 0 && seq >= this.seq - this.logCap;
  }

  /** Doubles the log (up to LOG_MAX), keeping every entry alive at its new place. */
  private growLog(): void {
    if (this.logCap >= LOG_MAX) return;
    const cap = this.logCap * 2;
    const ts = new Float64Array(cap);
    const st = new Uint8Array(cap);
    const prev = new Float64Array(cap);
    for (let s = Math.max(0, this.seq - this.logCap); s < this.seq; s++) {
      const from = s % this.logCap;
      const to = s % cap;
      ts[to] = this.logTs[from];
      st[to] = this.logState[from];
      prev[to] = this.logPrev[from];
    }
    this.logCap = cap;
    this.logTs = ts;
    this.logState = st;
    this.logPrev = prev;
  }

  private insertLate(slot: number, state: number, ts: number): void {
    this.lateTransitions++;
    // Walk back from the newest transition to the first at or before ts.
    let succ = this.head[slot];
    if (!this.alive(succ)) return this.lost(slot);
    let cur = this.logPrev[succ % this.logCap];
    while (cur >= 0) {
      if (!this.alive(cur)) return this.lost(slot);
      if (this.logTs[cur % this.logCap] <= ts) break;
      succ = cur;
      cur = this.logPrev[cur % this.logCap];
    }
    if (cur === TRUNCATED) return this.lost(slot);
    // The new entry must not overwrite the two it is linked with.
    if (succ <= this.seq - this.logCap || (cur >= 0 && cur <= this.seq - this.logCap)) return this.lost(slot);
    const moved = this.logTs[succ % this.logCap] - ts;
    if (cur >= 0) this.addTime(slot, this.logState[cur % this.logCap], -moved);
    this.addTime(slot, state, moved);
    this.logPrev[succ % this.logCap] = this.append(ts, state, cur);
  }

  /** A late transition older than what the log holds: recount the slot; a larger log for the next ones. */
  private lost(slot: number): void {
    this.stale.add(slot);
    this.growLog();
  }

  isStale(slot: number): boolean {
    return this.stale.has(slot);
  }

  /** Slots waiting for a recount. */
  staleSlots(): number[] {
    return [...this.stale];
  }

  /** Recomputes the totals and newest transitions of slot from all its transitions, sorted by ts (ties: store order). */
  recount(slot: number, transitions: readonly { ts: number; state: number }[]): void {
    this.runTime[slot] = 0;
    this.readyTime[slot] = 0;
    this.suspendedTime[slot] = 0;
    for (let k = 1; k < transitions.length; k++) {
      this.addTime(slot, transitions[k - 1].state, transitions[k].ts - transitions[k - 1].ts);
    }
    const first = Math.max(0, transitions.length - RECOUNT_KEEP);
    let prev = first > 0 ? TRUNCATED : NONE_BEFORE;
    for (let k = first; k < transitions.length; k++) prev = this.append(transitions[k].ts, transitions[k].state, prev);
    this.head[slot] = prev;
    const last = transitions[transitions.length - 1];
    if (last) {
      this.lastTs[slot] = last.ts;
      this.lastState[slot] = last.state;
    }
    this.stale.delete(slot);
  }

  private addTime(slot: number, state: number, dt: number): void {
    if (state === CoState.RUNNING) this.runTime[slot] += dt;
    else if (state === CoState.READY) this.readyTime[slot] += dt;
    else if (state === CoState.SUSPENDED) this.suspendedTime[slot] += dt;
  }

  bytesUsed(): number {
    return [
      this.name,
      this.entry,
      this.migrations,
      this.parent,
      this.created,
      this.stackSize,
      this.finished,
      this.exit,
      this.stackUsed,
      this.finishWorker,
      this.finishIndex,
      this.switches,
      this.preemptions,
      this.calls,
      this.runTime,
      this.readyTime,
      this.suspendedTime,
      this.lastTs,
      this.lastState,
      this.head,
      this.logTs,
      this.logState,
      this.logPrev,
    ].reduce((b, a) => b + a.byteLength, 0);
  }
}
