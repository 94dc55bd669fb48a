/**
 * Derived: the tables kept up to date from the event stream — coroutines
 * (coroutines.ts, with their live state in coState.ts), per-hook call
 * statistics (calls.ts), preemption (preemption.ts), worker utilisation
 * (workers.ts), drops (drops.ts) and process metadata (process.ts) — plus
 * rewinding to any instant (rewind.ts).
 *
 * Feed it the same RawEvents batches, in the same order, as the EventStore
 * it was given (before or after the store, as you like): its event numbering
 * must be the store's, since checkpoints point into the store. STRING /
 * STRING_MORE / NONE records are skipped as the store skips them.
 *
 * Without a store (`new Derived(null, strings)`: the CLI's stats of a long
 * trace, a live `run`), every table is the same — they are bounded by the
 * number of coroutines, hooks, workers and threads, never by events — and
 * memory stays flat. What needs per-event history then says so or asks for
 * it: stateAt(t) throws (no checkpoints are taken); a coroutine whose
 * transition arrived too late for its short history (coroutines.ts, stale)
 * is recounted from `history` when one was given (e.g. a second pass over
 * the trace file: main/session/fileHistory.ts), otherwise its time totals
 * are kept as they are and its CoroutineInfo says `timesApproximate`.
 *
 * FD_DESC / FD_CLOSE feed the fd table (fds.ts: what each fd was, per
 * process, over time; bounded per fd number).
 *
 * WAKE, WAKER, CALL_ENTER and CALL_ADDR are kept by the store; nothing is derived
 * from them here (a coroutine's wake causes: fds.ts wakeCauses over its
 * records; the calls log pairs CALL_ADDR with its CALL: renderer
 * data/calls.ts). CO_MIGRATE counts per coroutine; QUEUES gives the workers'
 * queue depths (workers.ts).
 *
 * Hot path: a few comparisons and one switch on the kind per event, typed
 * arrays indexed by the CoIds slot shared with the store, no allocation per
 * event.
 */
import { CallFlag, exitName, Kind } from '../events/schema.js';
import type { RawEvents } from '../events/rawEvents.js';
import type { StringTable } from '../events/strings.js';
import { CoIds } from '../store/coIds.js';
import { type EventStore, type StoredEvent } from '../store/eventStore.js';
import { CallStats } from './calls.js';
import { CoState, coStateAfter, StateColumns, WorkerState } from './coState.js';
import { CoroutineTable } from './coroutines.js';
import { DropStats } from './drops.js';
import { FdTable } from './fds.js';
import { PreemptStats } from './preemption.js';
import { ProcessMeta } from './process.js';
import { Rewind } from './rewind.js';
import { type CoroutineState, Snapshot } from './snapshot.js';
import { WorkerStats, type WorkerSummary } from './workers.js';

/** Words (uint32) per raw 64-byte record. */
const WORDS = 16;

/** coStateAfter by kind (0..65535 would be wasteful: transitions are below 256). */
const STATE_AFTER = new Uint8Array(256);
for (let k = 0; k < 256; k++) STATE_AFTER[k] = coStateAfter(k);

/** The co of the record at word o, as RawEvents.co gives it. */
function coOf(u: Uint32Array, o: number): number {
  const hi = u[o + 5];
  return hi === 0 ? u[o + 4] : hi * 4294967296 + u[o + 4];
}
/** Argument k of the record at word o, unsigned (RawEvents.a). */
function argU(u: Uint32Array, o: number, k: number): number {
  const hi = u[o + 7 + 2 * k];
  return hi === 0 ? u[o + 6 + 2 * k] : hi * 4294967296 + u[o + 6 + 2 * k];
}
/** Argument k of the record at word o, signed (RawEvents.signed). */
function argS(u: Uint32Array, o: number, k: number): number {
  return (u[o + 7 + 2 * k] | 0) * 4294967296 + u[o + 6 + 2 * k];
}

export interface CoroutineInfo extends CoroutineState {
  name: string;
  /** Symbol of its entry function (CO_CREATE a2), '' when the engine could not name it. */
  entry: string;
  /** Times it moved to another worker (CO_MIGRATE). */
  migrations: number;
  /** Id of the coroutine that created it (0: a plain thread, or unknown). */
  parent: number;
  /** ts of CO_CREATE / CO_FINISH (NaN: not seen). */
  created: number;
  finished: number;
  /** Exit code and its name once finished. */
  exit?: { code: number; name: string; stackUsed: number };
  stackSize: number;
  /** Time per state (ns), including the current state up to the newest event. */
  runTime: number;
  readyTime: number;
  suspendedTime: number;
  switches: number;
  preemptions: number;
  /** Hooked calls made in the coroutine. */
  calls: number;
  /**
   * True when a transition came too late to place and there was no history to recount from
   * (Derived without a store or `history`): runTime / readyTime / suspendedTime may be off by
   * the misplaced interval. Absent otherwise.
   */
  timesApproximate?: true;
}

/**
 * The events of some coroutines again, for recounting (Derived without a store): calls visit for
 * every event of a coroutine in `cos` (ids), with its event number as Derived counted it (STRING,
 * STRING_MORE and NONE records not counted), in any order.
 */
export interface TransitionHistory {
  scan(cos: ReadonlySet<number>, visit: (co: number, ts: number, kind: number, index: number) => void): void;
}

export class Derived {
  readonly table = new CoroutineTable();
  readonly calls = new CallStats();
  readonly preemption = new PreemptStats();
  readonly drops = new DropStats();
  readonly process = new ProcessMeta();
  /** What each fd was, per process, over time (FD_DESC / FD_CLOSE: fds.ts). */
  readonly fds = new FdTable();
  private readonly workerStats = new WorkerStats();
  private readonly cols = new StateColumns();
  private rewind: Rewind | null;
  private kept: EventStore | null;
  private readonly history: TransitionHistory | null;
  /** Coroutine id -> slot: the store's when there is one (its blocks hold slots), else Derived's own. */
  readonly coIds: CoIds;
  private slots = 0;
  private n = 0;
  private maxTs = -Infinity;

  /**
   * store: the EventStore fed the same batches, or null to keep none;
   * strings: the session's string table; checkpointInterval: the least
   * number of events between rewind checkpoints (rewind.ts; lower: faster
   * stateAt, more memory); history: where stale coroutines are recounted
   * from when there is no store.
   */
  constructor(
    store: EventStore | null,
    readonly strings: StringTable,
    options: { checkpointInterval?: number; history?: TransitionHistory } = {},
  ) {
    this.kept = store;
    this.coIds = store ? store.coIds : new CoIds();
    this.rewind = store ? new Rewind(store, this.table, options.checkpointInterval) : null;
    this.history = store ? null : (options.history ?? null);
  }

  /** The EventStore fed the same batches (throws for a Derived made without one). */
  get store(): EventStore {
    if (!this.kept) throw new Error('this Derived keeps no event store: per-event history is in the recording');
    return this.kept;
  }

  /**
   * Lets go of the EventStore (a live session that grew past what a viewer keeps): from now on
   * this Derived is store-less (see the top), its tables as they were, its coroutine slots the
   * store's (kept in coIds). Rewind checkpoints go with the store (stateAt throws).
   */
  dropStore(): void {
    this.kept = null;
    this.rewind = null;
  }

  /** Whether an EventStore is kept (stateAt and exact recounts work from it). */
  get hasStore(): boolean {
    return this.kept !== null;
  }

  /** Rewind checkpoints taken so far (0 without a store). */
  get checkpoints(): number {
    return this.rewind?.count ?? 0;
  }

  /** Events seen (the store's count once it has the same batches). */
  get count(): number {
    return this.n;
  }

  /** ts of the newest event seen (-Infinity before any). */
  get newest(): number {
    return this.maxTs;
  }

  /**
   * Derives from a batch (the same as the store's, in the same order). Hot
   * path: the record words are read straight from the batch (RawEvents
   * layout: ts lo / hi, kind | worker << 16, tid, co lo / hi, then a0..a4 as
   * lo / hi pairs), the event count, newest ts and next checkpoint are kept
   * in locals.
   */
  append(raw: RawEvents): void {
    const n = raw.length;
    if (n === 0) return;
    const u = new Uint32Array(raw.bytes.buffer, raw.bytes.byteOffset, n * WORDS);
    let count = this.n;
    let maxTs = this.maxTs;
    const rewind = this.rewind;
    let nextAt = rewind ? rewind.nextAt : Infinity;
    for (let o = 0, end = n * WORDS; o < end; o += WORDS) {
      const kind = u[o + 2] & 0xffff;
      if (kind === Kind.NONE || kind === Kind.STRING || kind === Kind.STRING_MORE) continue;
      if (count === nextAt) {
        rewind!.take(count, maxTs, this.cols);
        nextAt = rewind!.nextAt;
      }
      const index = count++;
      const tsHi = u[o + 1];
      const ts = tsHi === 0 ? u[o] : tsHi * 4294967296 + u[o];
      if (ts > maxTs) maxTs = ts;
      if (kind === Kind.CO_RUN || kind === Kind.CO_YIELD) this.runOrYield(u, o, kind === Kind.CO_RUN, ts);
      else if (kind === Kind.CALL) this.call(u, o);
      else if (kind >= Kind.CO_CREATE && kind <= Kind.CO_FINISH) this.transition(u, o, kind, ts, index);
      else if (kind === Kind.WORKER_IDLE || kind === Kind.WORKER_BUSY)
        this.workerTransition(u[o + 2] >>> 16, kind, ts, this.serialOf(u[o + 3]));
      else if (kind !== Kind.WAKE) this.other(u, o, kind, ts);
    }
    this.n = count;
    this.maxTs = maxTs;
  }

  /** The kinds that are neither transitions nor calls (WAKE excepted). */
  private other(u: Uint32Array, o: number, kind: number, ts: number): void {
    switch (kind) {
      case Kind.PREEMPT_SENT:
        return this.preemption.onSent(argU(u, o, 1));
      case Kind.PREEMPTED:
        this.table.preemptions[this.slot(coOf(u, o))]++;
        return this.preemption.onPreempted(argU(u, o, 1), argU(u, o, 2) === 1);
      case Kind.PREEMPT_DEFERRED:
        return this.preemption.onDeferred(argU(u, o, 0));
      case Kind.QUEUES:
        return this.workerStats.queues(
          this.serialOf(u[o + 3]),
          u[o + 2] >>> 16,
          ts,
          argU(u, o, 0),
          argU(u, o, 1),
          argU(u, o, 2),
          argU(u, o, 3),
          argU(u, o, 4),
        );
      case Kind.CO_MIGRATE:
        this.table.migrations[this.slot(coOf(u, o))]++;
        return;
      case Kind.CO_INFO:
        return this.existing(u, o, ts);
      case Kind.DROP:
        return this.drops.add(u[o + 3], argU(u, o, 0), argU(u, o, 1), argU(u, o, 2));
      case Kind.PROCESS:
        return this.process.onProcess(
          argU(u, o, 0),
          argU(u, o, 1),
          argU(u, o, 2),
          argU(u, o, 3),
          argU(u, o, 4),
          u[o + 3],
        );
      case Kind.LINEAGE:
        return this.process.onLineage(u[o + 3], argU(u, o, 0), argU(u, o, 1), argU(u, o, 2), argU(u, o, 3));
      case Kind.PROCESS_EXIT:
        return this.process.onExit(argU(u, o, 0), argS(u, o, 1), argU(u, o, 2), ts, argU(u, o, 3), argU(u, o, 4));
      case Kind.SPAWN:
        return this.process.onSpawn(
          ts,
          u[o + 3],
          argU(u, o, 0),
          argU(u, o, 1),
          argU(u, o, 2),
          argU(u, o, 4),
          argU(u, o, 3),
        );
      case Kind.CONFIG:
        return this.process.onConfig(argU(u, o, 0), argU(u, o, 1), argU(u, o, 2), argU(u, o, 3), argU(u, o, 4));
      case Kind.THREAD:
        this.serialTid = -1; // a thread's process can change (exec)
        return this.process.onThread(argU(u, o, 0), argU(u, o, 1), argU(u, o, 2), argU(u, o, 3), argU(u, o, 4));
      case Kind.FD_DESC:
        return this.fds.onDesc(
          this.process.serialOf(u[o + 3]),
          ts,
          argS(u, o, 0),
          argU(u, o, 1),
          argU(u, o, 2),
          argU(u, o, 3),
          argS(u, o, 4),
        );
      case Kind.FD_CLOSE:
        return this.fds.onClose(this.process.serialOf(u[o + 3]), ts, argS(u, o, 0));
      case Kind.CLOCK:
        return this.process.onClock(argU(u, o, 0), argU(u, o, 1));
    }
  }

  /**
   * CO_INFO: a coroutine that existed when the stream began (attached, or the flight recorder's
   * window). Its identity where no CO_CREATE gave one; its state at that moment unless a later
   * event says otherwise (StateColumns.existed, also replayed by rewind), so a coroutine parked
   * since before the attach is listed with its wait.
   */
  private existing(u: Uint32Array, o: number, ts: number): void {
    const slot = this.slot(coOf(u, o));
    if (slot === 0) return;
    const t = this.table;
    if (t.name[slot] === 0 && Number.isNaN(t.created[slot])) {
      t.parent[slot] = argU(u, o, 0);
      t.name[slot] = argU(u, o, 1);
      t.entry[slot] = argU(u, o, 2);
    }
    const a3 = argU(u, o, 3);
    if (!this.cols.newer(slot, ts)) return; // an event after it knows better
    t.account(slot, StateColumns.existedState(a3), ts);
    this.cols.existed(slot, ts, a3, argS(u, o, 4));
  }

  /** The slot of co, with every slot-indexed column grown to hold it. */
  private slot(co: number): number {
    const slot = this.coIds.slot(co);
    if (slot >= this.slots) {
      this.slots = this.coIds.count;
      this.table.ensure(this.slots);
      this.cols.ensureSlots(this.slots);
    }
    return slot;
  }

  /** CO_RUN / CO_YIELD, the bulk of a busy stream: what transition() does for them. */
  private runOrYield(u: Uint32Array, o: number, run: boolean, ts: number): void {
    const hi = u[o + 5];
    const co = hi === 0 ? u[o + 4] : hi * 4294967296 + u[o + 4];
    const slot = this.slot(co);
    const worker = u[o + 2] >>> 16;
    const t = this.table;
    const cols = this.cols;
    if (run) {
      t.account(slot, CoState.RUNNING, ts);
      t.switches[slot]++;
    } else {
      t.account(slot, CoState.READY, ts);
    }
    this.workerStats.transition(
      this.serialOf(u[o + 3]),
      worker,
      ts,
      run ? WorkerState.RUNNING : WorkerState.SCHEDULING,
      run ? slot : 0,
      run,
    );
    cols.ranOrYielded(slot, ts, worker, run, u[o + 6] | u[o + 7]);
  }

  /** A coroutine transition: time accounting and counters, then the state change. */
  private transition(u: Uint32Array, o: number, kind: number, ts: number, index: number): void {
    const slot = this.slot(coOf(u, o));
    const worker = u[o + 2] >>> 16;
    const t = this.table;
    const cols = this.cols;
    t.account(slot, STATE_AFTER[kind], ts);
    switch (kind) {
      case Kind.CO_RUN:
        t.switches[slot]++;
        this.workerStats.transition(this.serialOf(u[o + 3]), worker, ts, WorkerState.RUNNING, slot, true);
        return cols.ran(slot, ts, worker);
      case Kind.CO_YIELD:
        this.workerStats.transition(this.serialOf(u[o + 3]), worker, ts, WorkerState.SCHEDULING, 0, false);
        return cols.yielded(slot, ts, worker, argU(u, o, 0));
      case Kind.CO_CREATE:
        t.create(slot, ts, argU(u, o, 0), argU(u, o, 1), argU(u, o, 3), argU(u, o, 2));
        return cols.created(slot, ts, worker);
      case Kind.CO_READY:
        if (argU(u, o, 2) === 0 && argU(u, o, 3) > 0)
          this.workerStats.queueDepth(this.serialOf(u[o + 3]), worker, argU(u, o, 3), ts);
        return cols.readied(slot, ts, worker, argU(u, o, 0));
      case Kind.CO_SUSPEND:
        this.workerStats.transition(this.serialOf(u[o + 3]), worker, ts, WorkerState.SCHEDULING, 0, false);
        return cols.suspended(
          slot,
          ts,
          worker,
          argU(u, o, 0),
          argU(u, o, 1),
          argS(u, o, 2),
          argU(u, o, 3),
          argU(u, o, 4),
        );
      case Kind.CO_FINISH:
        t.finish(slot, ts, argU(u, o, 0), argU(u, o, 1), worker, index);
        this.workerStats.transition(this.serialOf(u[o + 3]), worker, ts, WorkerState.SCHEDULING, 0, false);
        return cols.finished(slot, ts, worker);
    }
  }

  /** The serial of thread tid's process (workers are per process: workers.ts), the last answer cached. */
  private serialTid = -1;
  private serialLast = 0;
  private serialOf(tid: number): number {
    if (tid !== this.serialTid) {
      this.serialLast = this.process.serialOf(tid);
      this.serialTid = tid;
    }
    return this.serialLast;
  }

  private workerTransition(worker: number, kind: number, ts: number, serial: number): void {
    const idle = kind === Kind.WORKER_IDLE;
    this.workerStats.transition(serial, worker, ts, idle ? WorkerState.IDLE : WorkerState.SCHEDULING, 0, false);
    this.cols.workerIdle(ts, worker, kind === Kind.WORKER_IDLE);
  }

  private call(u: Uint32Array, o: number): void {
    const a0 = u[o + 6];
    if (a0 & CallFlag.IN_CO) this.table.calls[this.slot(coOf(u, o))]++;
    this.calls.add(a0, argS(u, o, 2), u[o + 12], argU(u, o, 4));
  }

  // ---- queries -----------------------------------------------------------------

  /**
   * Recounts the time totals of stale coroutines from all their transitions:
   * in the store (one coroutine through its own blocks, several in one
   * pass), else from the history given, else not at all (their totals stay
   * approximate: CoroutineInfo.timesApproximate). Returns whether it could.
   */
  private recount(slots: number[]): boolean {
    const coIds = this.coIds;
    // Per slot, its transitions as three parallel number arrays (no object per event: a
    // recount from a long file can visit millions).
    const lists = new Map<number, { ts: number[]; state: number[]; index: number[] }>(
      slots.map((s) => [s, { ts: [], state: [], index: [] }]),
    );
    const add = (co: number, ts: number, kind: number, index: number) => {
      const state = STATE_AFTER[kind & 0xff];
      if (kind > 0xff || state === CoState.NONE) return;
      const l = lists.get(coIds.find(co));
      if (!l) return;
      l.ts.push(ts);
      l.state.push(state);
      l.index.push(index);
    };
    if (this.kept) {
      this.requireStore();
      const collect = (ev: StoredEvent) => add(ev.co, ev.ts, ev.kind, ev.index);
      if (slots.length === 1) this.kept.scanCo(coIds.id(slots[0]), -Infinity, Infinity, collect);
      else this.kept.scan(-Infinity, Infinity, collect);
    } else if (this.history) {
      this.history.scan(new Set(slots.map((s) => coIds.id(s))), add);
    } else {
      return false;
    }
    for (const [slot, l] of lists) {
      const order = l.ts.map((_, k) => k).sort((a, b) => l.ts[a] - l.ts[b] || l.index[a] - l.index[b]);
      this.table.recount(
        slot,
        order.map((k) => ({ ts: l.ts[k], state: l.state[k] })),
      );
      lists.delete(slot);
    }
    return true;
  }

  private requireStore(): void {
    if (this.store.count !== this.n) {
      throw new Error(`the store has ${this.store.count} events, Derived saw ${this.n}: feed both the same batches`);
    }
  }

  /** The live state (as of the newest event). */
  current(): Snapshot {
    return new Snapshot(this.maxTs, this.cols, this.coIds);
  }

  /** The state after every event with ts <= t (see rewind.ts). Throws without a store. */
  stateAt(t: number): Snapshot {
    if (!this.rewind) {
      throw new Error('this Derived keeps no event store, so it cannot rewind: read the recording up to t instead');
    }
    this.requireStore();
    return new Snapshot(t, this.rewind.stateAt(t), this.coIds);
  }

  /** Everything known about coroutine co, undefined if it never had a transition. */
  coroutine(co: number): CoroutineInfo | undefined {
    const state = this.current().coroutine(co);
    return state && this.info(this.coIds.find(co), state);
  }

  /** Every coroutine with a transition so far; finished ones only if asked. */
  coroutines(includeDone = false): CoroutineInfo[] {
    const stale = this.table.staleSlots();
    if (stale.length) this.recount(stale);
    const coIds = this.coIds;
    return this.current()
      .coroutines(includeDone)
      .map((s) => this.info(coIds.find(s.co), s));
  }

  workers(): WorkerSummary[] {
    const coIds = this.coIds;
    return this.workerStats.summary(
      (slot) => coIds.id(slot),
      this.maxTs,
      (serial) => this.process.pidOf(serial) ?? 0,
      (serial) => this.process.endOf(serial),
    );
  }

  /** Bytes held by the derived tables and checkpoints (the store's are in store.bytesUsed()). */
  bytesUsed(): number {
    return (
      this.table.bytesUsed() +
      this.cols.bytesUsed() +
      this.calls.bytesUsed() +
      this.preemption.bytesUsed() +
      this.workerStats.bytesUsed() +
      (this.rewind?.bytesUsed() ?? 0) +
      (this.kept ? 0 : this.coIds.bytesUsed())
    );
  }

  private info(slot: number, state: CoroutineState): CoroutineInfo {
    const t = this.table;
    const approximate = t.isStale(slot) && !this.recount([slot]);
    const open = Math.max(0, this.maxTs - state.since);
    const finished = t.finished[slot];
    // Built field by field (a spread of state makes a slow dictionary object per coroutine).
    const out: CoroutineInfo = {
      co: state.co,
      state: state.state,
      worker: state.worker,
      since: state.since,
      why: state.why,
      name: this.strings.get(t.name[slot]),
      entry: this.strings.get(t.entry[slot]),
      migrations: t.migrations[slot],
      parent: t.parent[slot],
      created: t.created[slot],
      finished,
      exit: Number.isNaN(finished)
        ? undefined
        : { code: t.exit[slot], name: exitName(t.exit[slot]), stackUsed: t.stackUsed[slot] },
      stackSize: t.stackSize[slot],
      runTime: t.runTime[slot] + (state.state === 'running' ? open : 0),
      readyTime: t.readyTime[slot] + (state.state === 'ready' ? open : 0),
      suspendedTime: t.suspendedTime[slot] + (state.state === 'suspended' ? open : 0),
      switches: t.switches[slot],
      preemptions: t.preemptions[slot],
      calls: t.calls[slot],
    };
    if (state.wait) out.wait = state.wait;
    if (approximate) out.timesApproximate = true;
    return out;
  }
}

/**
 * A TransitionHistory that reads the whole stream again from its start each time it is asked
 * (a trace file re-opened: main/session/fileHistory.ts): `batches` must give the same batches,
 * in the same order, as the Derived saw. Memory: one batch; time: one pass per recount (a
 * Derived asks once for all its stale coroutines in coroutines()).
 */
export function rereadHistory(batches: () => Iterable<RawEvents>): TransitionHistory {
  return {
    scan(cos, visit) {
      let index = 0;
      for (const raw of batches()) {
        const n = raw.length;
        const u = new Uint32Array(raw.bytes.buffer, raw.bytes.byteOffset, n * WORDS);
        for (let o = 0, end = n * WORDS; o < end; o += WORDS) {
          const kind = u[o + 2] & 0xffff;
          if (kind === Kind.NONE || kind === Kind.STRING || kind === Kind.STRING_MORE) continue;
          const i = index++;
          const co = coOf(u, o);
          if (cos.has(co)) visit(co, u[o + 1] * 4294967296 + u[o], kind, i);
        }
      }
    },
  };
}
