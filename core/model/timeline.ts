/**
 * TimelineBuilder: the streaming span builder. Raw events go in, in batches
 * (`push`), then `finish`; tracks, slices, instants, flows and counters come
 * out through a TimelineSink as soon as they are known. The exporters
 * (core/export/) and the app's timeline consume the same sink calls.
 *
 * Tracks: one process track; one per thread that shows anything (workers:
 * which coroutine runs when, idle periods, calls outside coroutines; plain
 * threads: their pass-through calls); a "Coroutines" group with one child per
 * coroutine (consecutive `ready` / `running` / `suspended: <call>` spans, the
 * hooked calls of its running spans nested inside, instants); counter tracks
 * for queue depths. A CALL arrives when the call returns (its ts is the end,
 * a4 the duration); a call that parked began before its coroutine's last
 * resumption, so its slice starts there and its arguments keep the whole
 * duration, while the `suspended: <hook>` span before shows the wait itself.
 *
 * Invariants every sink may rely on:
 *  - `track(t)` comes before the first event on `t.id`; it is called again,
 *    same id, when the track's name changes (a late THREAD, CO_CREATE or
 *    PROCESS). The pid is fixed when the first track is declared
 *    (TimelineOptions.pid, or a PROCESS seen before that).
 *  - On one track timestamps never decrease. An event older than what its
 *    track already showed (batches of different rings overlap a little) is
 *    clamped to the track's last timestamp: no negative lengths, no overlaps.
 *  - At most one slice is open per track (a state, a coroutine on a worker,
 *    an idle period). A call slice is a `begin` immediately followed by its
 *    `end`, nested in the open slice if there is one. So begin/end always nest
 *    and `end` never ends a slice that was not begun.
 *  - Every flow id appears exactly once as a source (`instant` flowOut, at the
 *    WAKE on the waker's track) and exactly once as a destination (`flowsIn`
 *    of the woken coroutine's next `running` begin, or, if it never ran
 *    again, of the instant that marks its finish or the end of the trace).
 *  - `close(track)` follows the last event of a finished coroutine's track;
 *    nothing is open on it then. `finish` ends every open slice.
 *
 * Memory: state per live coroutine, per thread and per counter, plus a
 * bounded ring of recently finished coroutine ids (so late events of a
 * finished coroutine do not resurrect it). Never the history.
 */
import type { RawEvents } from '../events/rawEvents.js';
import type { StringTable } from '../events/strings.js';
import { FdTable } from '../derive/fds.js';
import { wakerHowName } from '../events/fds.js';
import {
  CallFlag,
  ExitSource,
  Kind,
  NO_WORKER,
  ReadyWhy,
  SuspendWhy,
  deferWhyName,
  exitName,
  signalName,
  hookHasFd,
  hookName,
  readyWhyName,
  summaryKind,
  suspendWhyName,
} from '../events/schema.js';

/** One batch of raw events and the string table they refer to (the table grows as batches arrive). */
export interface EventBatch {
  raw: RawEvents;
  strings: StringTable;
}

export type TrackKind = 'process' | 'thread' | 'coroutines' | 'coroutine' | 'counter';

export interface Track {
  /** Unique (> 0) and stable for the whole trace. */
  readonly id: number;
  readonly kind: TrackKind;
  readonly name: string;
  /** Parent track id; 0 for the process track. */
  readonly parent: number;
  /** The traced process (0 while unknown). */
  readonly pid: number;
  /** thread tracks: the OS thread id. */
  readonly tid?: number;
  /** thread tracks of worker threads: the worker index. */
  readonly worker?: number;
  /** coroutine tracks: the coroutine id. */
  readonly co?: number;
}

export type ArgValue = number | string;
export type Args = Readonly<Record<string, ArgValue>>;

/**
 * The arguments of one event as parallel lists, in the order an Args object
 * would enumerate them: keys[0..n), values[0..n). The builder fills one list
 * and reuses it for every event, so a sink that takes lists (beginList /
 * instantList) must read it during the call and keep nothing of it; keys are
 * string literals of this file (the same string object every time a key
 * recurs), so a sink may compare them by identity.
 */
export interface ArgList {
  n: number;
  readonly keys: string[];
  readonly values: ArgValue[];
}

/** The Args object of a list (a fresh object with the same keys in the same order). */
export function argsOf(list: ArgList): Args {
  const o: Record<string, ArgValue> = {};
  for (let k = 0; k < list.n; k++) o[list.keys[k]] = list.values[k];
  return o;
}

export interface TimelineSink {
  track(t: Track): void;
  /** flowsIn: flow ids that terminate at this slice's start. */
  begin(track: number, ts: number, name: string, args: Args | null, flowsIn: readonly number[] | null): void;
  /** Ends the open slice of `track`. */
  end(track: number, ts: number): void;
  /** flowOut: a flow starting here (0: none); flowsIn: flows ending here. */
  instant(
    track: number,
    ts: number,
    name: string,
    args: Args | null,
    flowOut: number,
    flowsIn: readonly number[] | null,
  ): void;
  counter(track: number, ts: number, value: number): void;
  /**
   * Optional, both or neither: begin and instant with the arguments in the builder's reused ArgList instead
   * of a fresh object per event (what a streaming encoder wants; valid only during the call). A sink that
   * has them gets no begin / instant calls.
   */
  beginList?(track: number, ts: number, name: string, args: ArgList | null, flowsIn: readonly number[] | null): void;
  instantList?(
    track: number,
    ts: number,
    name: string,
    args: ArgList | null,
    flowOut: number,
    flowsIn: readonly number[] | null,
  ): void;
  /** A completed flow, after its destination event (for viewers that draw arrows from both ends at once). */
  flow?(id: number, fromTrack: number, fromTs: number, toTrack: number, toTs: number): void;
  /** No more events on this track (a finished coroutine): the sink may drop what it keeps for it. */
  close(track: number): void;
}

export interface TimelineStats {
  events: number;
  /** Events whose timestamp was raised to keep their track monotonic. */
  clamped: number;
  liveCoroutines: number;
  maxLiveCoroutines: number;
  openSlices: number;
  maxOpenSlices: number;
  pendingFlows: number;
  maxPendingFlows: number;
  flows: number;
  /** WAKEs beyond MAX_PENDING_FLOWS of one coroutine, drawn without an arrow. */
  flowsDropped: number;
  tracks: number;
}

export interface TimelineOptions {
  /** pid of the traced process when known before its PROCESS event (trace file header). */
  pid?: number;
}

const MAX_PENDING_FLOWS = 8;
const FINISHED_MEMORY = 4096;
/** Slots of the live-coroutine cache (a power of two). */
const CO_SLOTS = 4096;

const enum Phase {
  NONE,
  READY,
  RUNNING,
  SUSPENDED,
}

/** CO_READY a2: which queue a coroutine was pushed to. */
const Queue = { RUN: 0, SPAWN: 1, INJECTION: 2 } as const;
const queueNames = ['run queue', 'spawn queue', 'injection queue'];

interface TrackState {
  info: Track;
  last: number;
  open: boolean;
}

interface PendingFlow {
  id: number;
  track: number;
  ts: number;
}

interface CoState {
  id: number;
  /** coroutineLabel(): "<name> #<id>". */
  label: string;
  track: TrackState | null;
  phase: Phase;
  /** Thread whose track shows this coroutine running. */
  on: ThreadState | null;
  pending: PendingFlow[];
}

interface ThreadState {
  tid: number;
  /** Its process (THREAD a3; 0: the launched one, and in files of events version 1). */
  pid: number;
  name: string;
  worker: number;
  track: TrackState | null;
  /** The coroutine slice open on this thread's track. */
  running: CoState | null;
  idle: boolean;
}

export class TimelineBuilder {
  private readonly stats: TimelineStats = {
    events: 0,
    clamped: 0,
    liveCoroutines: 0,
    maxLiveCoroutines: 0,
    openSlices: 0,
    maxOpenSlices: 0,
    pendingFlows: 0,
    maxPendingFlows: 0,
    flows: 0,
    flowsDropped: 0,
    tracks: 0,
  };
  private nextTrack = 1;
  private nextFlow = 1;
  private lastTs = 0;
  private pid: number;
  private processName = '';
  private process: TrackState | null = null;
  private group: TrackState | null = null;
  private sawProcess = false;
  /** The other processes of a followed session (children, exec'd programs), by pid: their own track groups. */
  private readonly others = new Map<number, { name: string; track: TrackState | null; group: TrackState | null }>();
  /** A followed process's serial (LINEAGE a3: coroutine ids are serial * 2^32 + k) -> its pid. */
  private readonly serialPid = new Map<number, number>();
  private readonly threads = new Map<number, ThreadState>();
  private readonly cos = new Map<number, CoState>();
  /** Counter tracks by queue * 65536 + worker. */
  private readonly counters = new Map<number, TrackState>();
  private readonly finished = new Set<number>();
  /** Ring of the last FINISHED_MEMORY finished ids, oldest at finishedNext. */
  private readonly finishedRing: number[] = [];
  private finishedNext = 0;
  private strings: StringTable | null = null;
  /** What each fd is, per process (FD_DESC / FD_CLOSE), keyed by the thread's pid: names parked fds. */
  private readonly fds = new FdTable();
  /**
   * Live coroutines co() found lately, direct-mapped by the low bits of their id (the ones running on the
   * workers and waking each other hit here instead of in `cos`); a finished coroutine leaves its slot.
   */
  private readonly coSlots: Array<CoState | null> = new Array<CoState | null>(CO_SLOTS).fill(null);
  /** The last thread thread() found. */
  private lastThread: ThreadState | null = null;
  /** The one argument list, refilled for each event that has arguments (see ArgList). */
  private readonly al: ArgList = { n: 0, keys: [], values: [] };
  /** The sink takes ArgLists (beginList / instantList). */
  private readonly lists: boolean;

  constructor(
    private readonly sink: TimelineSink,
    opts: TimelineOptions = {},
  ) {
    this.pid = opts.pid ?? 0;
    this.lists = !!(sink.beginList && sink.instantList);
  }

  /** The argument list, emptied, to fill with put() for the next event. */
  private args(): ArgList {
    this.al.n = 0;
    return this.al;
  }

  /** Events of one batch, in order. STRING/STRING_MORE and unknown kinds are skipped. */
  push(raw: RawEvents, strings: StringTable): void {
    this.strings = strings;
    // Counted first: the loop is compiled on its own (on-stack replacement, during the first batch), and
    // code after it that had not run yet would send every later batch back to the interpreter at its end.
    this.stats.events += raw.length;
    const n = raw.length;
    for (let i = 0; i < n; i++) this.event(raw, i);
  }

  /** Ends every open slice at endTs (default: the newest timestamp seen) and terminates pending flows. */
  finish(endTs = this.lastTs): void {
    for (const co of this.cos.values()) {
      const tr = co.track;
      if (!tr) continue;
      this.endSlice(tr, endTs);
      this.endWorkerSlice(co, endTs);
      const flows = this.takeFlows(co);
      if (flows) this.instant(tr, endTs, 'trace ended', null, 0, flows);
    }
    for (const th of this.threads.values()) if (th.track) this.endSlice(th.track, endTs);
  }

  getStats(): Readonly<TimelineStats> {
    return this.stats;
  }

  // ---- dispatch ----------------------------------------------------------------------------------

  private event(r: RawEvents, i: number): void {
    const ts = r.ts(i);
    if (ts > this.lastTs) this.lastTs = ts;
    switch (r.kind(i)) {
      case Kind.PROCESS:
        return this.onProcess(r, i);
      case Kind.THREAD:
        return this.onThread(r, i);
      case Kind.LINEAGE:
        this.serialPid.set(r.a(i, 3), r.a(i, 0));
        return;
      case Kind.PROCESS_EXIT: {
        // The end of a process: its own exit, or the signal its parent or launcher saw kill it.
        const sig = r.a(i, 3);
        if ((r.a(i, 4) & 0xff) !== ExitSource.SELF && !sig) return; // an exit the process already said itself
        const a = this.args();
        if (sig) put(a, 'signal', signalName(sig));
        else put(a, 'code', r.signed(i, 1));
        // On the process's main thread (tid = pid): process tracks are groups and hold no events. A child
        // that was never traced (its parent reaped it) has no lane: nothing to mark.
        const th = this.threads.get(r.a(i, 0));
        if (!th) return;
        const main = this.threadTrack(th);
        return this.instant(main, ts, sig ? `killed by ${signalName(sig)}` : 'exit', a, 0, null);
      }
      case Kind.CO_CREATE:
        return this.onCreate(r, i);
      case Kind.CO_INFO:
        return this.onInfo(r, i);
      case Kind.CO_READY:
        return this.onReady(r, i, ts);
      case Kind.CO_RUN:
        return this.onRun(r, i, ts);
      case Kind.CO_YIELD:
        return this.onYield(r, i, ts);
      case Kind.CO_SUSPEND:
        return this.onSuspend(r, i, ts);
      case Kind.CO_FINISH:
        return this.onFinish(r, i, ts);
      case Kind.WAKE:
        return this.onWake(r, i, ts);
      case Kind.FD_DESC:
        return this.fds.onDesc(
          this.thread(r.tid(i)).pid,
          ts,
          r.signed(i, 0),
          r.a(i, 1),
          r.a(i, 2),
          r.a(i, 3),
          r.signed(i, 4),
        );
      case Kind.FD_CLOSE:
        return this.fds.onClose(this.thread(r.tid(i)).pid, ts, r.signed(i, 0));
      case Kind.CALL:
        return this.onCall(r, i, ts);
      case Kind.PREEMPT_SENT: {
        const tr = this.coOrThread(r, i);
        const a = this.args();
        put(a, 'ran_ns', r.a(i, 0));
        return this.instant(tr, ts, 'preempt sent', a, 0, null);
      }
      case Kind.PREEMPTED: {
        const tr = this.coOrThread(r, i);
        const a = this.args();
        put(a, 'latency_ns', r.a(i, 1));
        put(a, 'pc', hex(r.a(i, 0)));
        put(a, 'safe_point', r.a(i, 2));
        return this.instant(tr, ts, 'preempted', a, 0, null);
      }
      case Kind.PREEMPT_DEFERRED: {
        const tr = this.coOrThread(r, i);
        const a = this.args();
        put(a, 'reason', deferWhyName(r.a(i, 0)));
        put(a, 'pc', hex(r.a(i, 1)));
        return this.instant(tr, ts, 'preempt deferred', a, 0, null);
      }
      case Kind.WORKER_IDLE:
        return this.onIdle(r, i, ts);
      case Kind.WORKER_BUSY:
        return this.onBusy(r, i, ts);
      case Kind.QUEUES:
        return this.onQueues(r, i, ts);
      case Kind.CO_MIGRATE: {
        const tr = this.coOrThread(r, i);
        const a = this.args();
        put(a, 'from_worker', r.a(i, 0));
        put(a, 'to_worker', r.a(i, 1));
        return this.instant(tr, ts, 'migrated', a, 0, null);
      }
      case Kind.DROP: {
        const tr = this.threadTrack(this.thread(r.tid(i)));
        const a = this.args();
        put(a, 'lost', r.a(i, 0));
        put(a, 'first_ts', r.a(i, 1));
        put(a, 'last_ts', r.a(i, 2));
        return this.instant(tr, ts, 'drop', a, 0, null);
      }
    }
  }

  // ---- metadata ----------------------------------------------------------------------------------

  /**
   * The pid is fixed once the first track is declared (a late PROCESS only names the process).
   * In a followed session the first PROCESS is the launched process's; one of another pid is a
   * child or an exec'd program, which gets a process track of its own.
   */
  private onProcess(r: RawEvents, i: number): void {
    const exe = this.str(r.a(i, 1));
    const name = exe.slice(exe.lastIndexOf('/') + 1);
    const pid = r.a(i, 0);
    if (this.sawProcess && pid !== this.pid) {
      const o = this.other(pid);
      o.name = name;
      if (o.track) this.redeclare(o.track, this.otherInfo(pid, o.track.info.id));
      return;
    }
    this.sawProcess = true;
    this.processName = name;
    if (this.process) this.redeclare(this.process, this.processInfo(this.process.info.id));
    else this.pid = pid;
  }

  private other(pid: number) {
    let o = this.others.get(pid);
    if (!o) this.others.set(pid, (o = { name: '', track: null, group: null }));
    return o;
  }

  private otherInfo(pid: number, id: number): Track {
    return { id, kind: 'process', name: this.others.get(pid)?.name || `process ${pid}`, parent: 0, pid };
  }

  /** The process track of pid (the launched process's for 0 or its own pid). */
  private processTrackOf(pid: number): TrackState {
    if (!pid || pid === this.pid) return this.processTrack();
    const o = this.other(pid);
    return (o.track ??= this.declare(this.otherInfo(pid, this.nextTrack++)));
  }

  private onThread(r: RawEvents, i: number): void {
    const th = this.thread(r.a(i, 0));
    th.name = this.str(r.a(i, 1));
    th.worker = r.a(i, 2);
    th.pid = r.a(i, 3);
    if (th.track) this.redeclare(th.track, this.threadInfo(th));
  }

  private onCreate(r: RawEvents, i: number): void {
    const co = this.co(r.co(i));
    if (!co) return;
    co.label = coroutineLabel(co.id, this.str(r.a(i, 1)));
    if (co.track) this.redeclare(co.track, this.coInfo(co, co.track.info.id));
    else this.coTrack(co);
  }

  /** A coroutine older than the stream (attached): its name, unless its CO_CREATE gave one. */
  private onInfo(r: RawEvents, i: number): void {
    const co = this.co(r.co(i));
    if (!co || co.label !== coroutineLabel(co.id, '')) return;
    co.label = coroutineLabel(co.id, this.str(r.a(i, 1)));
    if (co.track) this.redeclare(co.track, this.coInfo(co, co.track.info.id));
  }

  // ---- coroutine states ----------------------------------------------------------------------------

  private onReady(r: RawEvents, i: number, ts: number): void {
    this.queueDepth(r, i, ts);
    const co = this.co(r.co(i));
    if (!co || co.phase === Phase.READY || co.phase === Phase.RUNNING) return;
    this.setPhase(co, Phase.READY, ts, 'ready', readyArgs(this.args(), r, i), null);
  }

  private onRun(r: RawEvents, i: number, ts: number): void {
    const co = this.co(r.co(i));
    if (!co) return;
    const th = this.thread(r.tid(i));
    if (r.worker(i) !== NO_WORKER && th.worker !== r.worker(i)) this.learnWorker(th, r.worker(i));
    this.endWorkerSlice(co, ts);
    const tt = this.threadTrack(th);
    if (th.running) this.endWorkerSlice(th.running, ts);
    if (th.idle) this.stopIdle(th, ts);
    const flows = this.takeFlows(co);
    let a = this.args();
    put(a, 'switches', r.a(i, 0));
    put(a, 'worker', r.worker(i));
    this.setPhase(co, Phase.RUNNING, ts, 'running', a, flows);
    a = this.args();
    put(a, 'co', co.id);
    this.beginSlice(tt, ts, co.label, a, null);
    th.running = co;
    co.on = th;
  }

  private onYield(r: RawEvents, i: number, ts: number): void {
    const co = this.co(r.co(i));
    if (!co || co.phase !== Phase.RUNNING) return;
    this.endWorkerSlice(co, ts);
    const why = r.a(i, 0) ? ReadyWhy.PREEMPTED : ReadyWhy.YIELDED;
    const a = this.args();
    put(a, 'why', readyWhyName(why));
    this.setPhase(co, Phase.READY, ts, 'ready', a, null);
  }

  private onSuspend(r: RawEvents, i: number, ts: number): void {
    const co = this.co(r.co(i));
    if (!co) return;
    this.endWorkerSlice(co, ts);
    const a = this.args();
    const label = suspendLabel(a, r, i, ts);
    const fd = r.signed(i, 2);
    if (r.a(i, 0) === SuspendWhy.CALL && fd >= 0 && this.strings) {
      const d = this.fds.at(this.thread(r.tid(i)).pid, fd, ts, this.strings);
      if (d) put(a, 'fd_is', d.text);
    }
    this.setPhase(co, Phase.SUSPENDED, ts, suspendedName(label), a, null);
  }

  private onWake(r: RawEvents, i: number, ts: number): void {
    const co = this.co(r.co(i));
    if (!co) return;
    // An fd wake whose WAKER (same thread, right after the WAKE and its CO_READY) names the
    // coroutine that wrote to the other end: the arrow starts at that coroutine.
    const by = r.a(i, 0) === ReadyWhy.FD ? wakerAfter(r, i) : -1;
    const waker = this.co(by >= 0 ? r.a(by, 1) : r.a(i, 3));
    const from = waker ? this.coTrack(waker) : this.threadTrack(this.thread(r.tid(i)));
    const flow = co.phase === Phase.RUNNING ? 0 : this.startFlow(co, from, ts);
    const a = this.args();
    put(a, 'co', co.id);
    put(a, 'name', co.label);
    readyArgs(a, r, i);
    if (r.a(i, 2)) put(a, 'events', eventsName(r.a(i, 2)));
    if (r.a(i, 4) !== NO_WORKER) put(a, 'waker_worker', r.a(i, 4));
    if (by >= 0) {
      put(a, 'woken_by', r.a(by, 1));
      put(a, 'by', `${wakerHowName(r.a(by, 0))} fd ${r.signed(by, 2)}`);
    }
    this.instant(from, ts, 'wake', a, flow, null);
    if (co.phase === Phase.SUSPENDED || co.phase === Phase.NONE) {
      this.setPhase(co, Phase.READY, ts, 'ready', readyArgs(this.args(), r, i), null);
    }
  }

  private onFinish(r: RawEvents, i: number, ts: number): void {
    const co = this.co(r.co(i));
    if (!co) return;
    const tr = this.coTrack(co);
    this.endWorkerSlice(co, ts);
    this.endSlice(tr, ts);
    const a = this.args();
    put(a, 'exit', exitName(r.a(i, 0)));
    if (r.a(i, 1)) put(a, 'stack_used', r.a(i, 1));
    this.instant(tr, ts, 'finished', a, 0, this.takeFlows(co));
    this.sink.close(tr.info.id);
    this.cos.delete(co.id);
    const slot = (co.id >>> 0) & (CO_SLOTS - 1);
    if (this.coSlots[slot] === co) this.coSlots[slot] = null;
    this.stats.liveCoroutines--;
    this.rememberFinished(co.id);
  }

  /** Ends the coroutine's open state slice and begins the next one. */
  private setPhase(
    co: CoState,
    phase: Phase,
    ts: number,
    name: string,
    args: ArgList,
    flows: PendingFlow[] | null,
  ): void {
    const tr = this.coTrack(co);
    this.endSlice(tr, ts);
    this.beginSlice(tr, ts, name, args, flows);
    co.phase = phase;
  }

  // ---- calls, workers, queues -------------------------------------------------------------------

  private onCall(r: RawEvents, i: number, ts: number): void {
    const a0 = r.a(i, 0);
    const hook = a0 & 0xffff;
    const co = a0 & CallFlag.IN_CO ? this.co(r.co(i)) : null;
    const tr = co ? this.coTrack(co) : this.threadTrack(this.thread(r.tid(i)));
    const dur = r.a(i, 4);
    // A parked call began before its coroutine last resumed: shown from there (its args keep the whole duration).
    const t0 = Math.max(ts - dur, tr.last);
    this.innerSlice(tr, t0, ts, hookName(hook), callArgs(this.args(), r, i, hook, a0, dur));
  }

  private onIdle(r: RawEvents, i: number, ts: number): void {
    const th = this.thread(r.tid(i));
    const tr = this.threadTrack(th);
    if (th.running) this.endWorkerSlice(th.running, ts);
    if (th.idle) return;
    const a = this.args();
    put(a, 'netpoller', r.a(i, 1));
    if (r.a(i, 0)) put(a, 'until', r.a(i, 0));
    this.beginSlice(tr, ts, 'idle', a, null);
    th.idle = true;
  }

  private onBusy(r: RawEvents, i: number, ts: number): void {
    const th = this.thread(r.tid(i));
    if (th.idle) this.stopIdle(th, ts);
  }

  private stopIdle(th: ThreadState, ts: number): void {
    this.endSlice(this.threadTrack(th), ts);
    th.idle = false;
  }

  private endWorkerSlice(co: CoState, ts: number): void {
    const th = co.on;
    if (!th) return;
    if (th.track) this.endSlice(th.track, ts);
    th.running = null;
    co.on = null;
  }

  /** CO_READY a3 (depth after the push, 0: not recorded) of queue a2. */
  private queueDepth(r: RawEvents, i: number, ts: number): void {
    const depth = r.a(i, 3);
    if (!depth) return;
    const queue = r.a(i, 2);
    const w = r.worker(i);
    if (queue === Queue.INJECTION) this.count(Queue.INJECTION, NO_WORKER, ts, depth);
    else if (w !== NO_WORKER) this.count(queue, w, ts, depth);
  }

  private onQueues(r: RawEvents, i: number, ts: number): void {
    const w = r.worker(i);
    if (w !== NO_WORKER) {
      this.count(Queue.RUN, w, ts, r.a(i, 0));
      this.count(Queue.SPAWN, w, ts, r.a(i, 1));
    }
    this.count(Queue.INJECTION, NO_WORKER, ts, r.a(i, 2));
  }

  /** A depth sample of queue (CO_READY a2 numbering) of worker (NO_WORKER: the global injection queue). */
  private count(queue: number, worker: number, ts: number, value: number): void {
    const key = queue * 65536 + worker;
    let tr = this.counters.get(key);
    if (!tr) {
      const what = queueNames[queue] ?? `queue ${queue}`;
      const name = worker === NO_WORKER ? what : `${what} (worker ${worker})`;
      tr = this.declare({
        id: this.nextTrack++,
        kind: 'counter',
        name,
        parent: this.processTrack().info.id,
        pid: this.pid,
      });
      this.counters.set(key, tr);
    }
    this.sink.counter(tr.info.id, this.clamp(tr, ts), value);
  }

  // ---- flows ---------------------------------------------------------------------------------------

  private startFlow(co: CoState, from: TrackState, ts: number): number {
    if (co.pending.length >= MAX_PENDING_FLOWS) {
      this.stats.flowsDropped++;
      return 0;
    }
    const id = this.nextFlow++;
    co.pending.push({ id, track: from.info.id, ts: Math.max(ts, from.last) });
    const s = this.stats;
    if (++s.pendingFlows > s.maxPendingFlows) s.maxPendingFlows = s.pendingFlows;
    return id;
  }

  /** The pending flows of co (null: none), to end at its next event; it has none pending after. */
  private takeFlows(co: CoState): PendingFlow[] | null {
    const flows = co.pending;
    if (!flows.length) return null;
    co.pending = [];
    this.stats.pendingFlows -= flows.length;
    this.stats.flows += flows.length;
    return flows;
  }

  /** Reports flows to sink.flow once their destination event was emitted on `to` (at to.last). */
  private landed(flows: PendingFlow[] | null, to: TrackState): void {
    if (flows && this.sink.flow) for (const f of flows) this.sink.flow(f.id, f.track, f.ts, to.info.id, to.last);
  }

  // ---- emission (the only place that calls the sink for events) ----------------------------------

  private clamp(tr: TrackState, ts: number): number {
    if (ts < tr.last) {
      this.stats.clamped++;
      return tr.last;
    }
    tr.last = ts;
    return ts;
  }

  /** Begins the one open slice of tr (the caller ended the previous one). */
  private beginSlice(
    tr: TrackState,
    ts: number,
    name: string,
    args: ArgList | null,
    flows: PendingFlow[] | null,
  ): void {
    this.emitBegin(tr.info.id, this.clamp(tr, ts), name, args, flows && flows.map((f) => f.id));
    this.landed(flows, tr);
    tr.open = true;
    const s = this.stats;
    if (++s.openSlices > s.maxOpenSlices) s.maxOpenSlices = s.openSlices;
  }

  /** Ends the open slice of tr; nothing when none is open. */
  private endSlice(tr: TrackState, ts: number): void {
    if (!tr.open) return;
    this.sink.end(tr.info.id, this.clamp(tr, ts));
    tr.open = false;
    this.stats.openSlices--;
  }

  /** A complete slice [t0, t1] nested in tr's open slice (if any): begun and ended at once. */
  private innerSlice(tr: TrackState, t0: number, t1: number, name: string, args: ArgList): void {
    this.emitBegin(tr.info.id, this.clamp(tr, t0), name, args, null);
    this.sink.end(tr.info.id, this.clamp(tr, t1));
  }

  private instant(
    tr: TrackState,
    ts: number,
    name: string,
    args: ArgList | null,
    flowOut: number,
    flowsIn: PendingFlow[] | null,
  ): void {
    const id = tr.info.id;
    const t = this.clamp(tr, ts);
    const ids = flowsIn && flowsIn.map((f) => f.id);
    if (this.lists) this.sink.instantList!(id, t, name, args, flowOut, ids);
    else this.sink.instant(id, t, name, args && argsOf(args), flowOut, ids);
    this.landed(flowsIn, tr);
  }

  /** sink.beginList, or sink.begin with the list made an object. */
  private emitBegin(track: number, ts: number, name: string, args: ArgList | null, flowsIn: number[] | null): void {
    if (this.lists) this.sink.beginList!(track, ts, name, args, flowsIn);
    else this.sink.begin(track, ts, name, args && argsOf(args), flowsIn);
  }

  // ---- tracks and state lookup ------------------------------------------------------------------

  private declare(info: Track): TrackState {
    this.sink.track(info);
    this.stats.tracks++;
    return { info, last: 0, open: false };
  }

  private redeclare(tr: TrackState, info: Track): void {
    tr.info = info;
    this.sink.track(info);
  }

  private processInfo(id: number): Track {
    return { id, kind: 'process', name: this.processName || `process ${this.pid}`, parent: 0, pid: this.pid };
  }

  private processTrack(): TrackState {
    return (this.process ??= this.declare(this.processInfo(this.nextTrack++)));
  }

  private threadInfo(th: ThreadState, id = th.track!.info.id): Track {
    const pid = th.pid || this.pid;
    const t: Track = {
      id,
      kind: 'thread',
      name: th.name || `thread ${th.tid}`,
      parent: this.processTrackOf(pid).info.id,
      pid,
      tid: th.tid,
    };
    return th.worker === NO_WORKER ? t : { ...t, worker: th.worker };
  }

  private threadTrack(th: ThreadState): TrackState {
    if (!th.track) th.track = this.declare(this.threadInfo(th, this.nextTrack++));
    return th.track;
  }

  private thread(tid: number): ThreadState {
    const last = this.lastThread;
    if (last !== null && last.tid === tid) return last;
    let th = this.threads.get(tid);
    if (!th) {
      th = { tid, pid: 0, name: '', worker: NO_WORKER, track: null, running: null, idle: false };
      this.threads.set(tid, th);
    }
    this.lastThread = th;
    return th;
  }

  private learnWorker(th: ThreadState, worker: number): void {
    th.worker = worker;
    if (th.track) this.redeclare(th.track, this.threadInfo(th));
  }

  private coInfo(co: CoState, id: number): Track {
    // A followed process's coroutine ids carry its serial in their high 32 bits (LINEAGE).
    const serial = Math.floor(co.id / 2 ** 32);
    const pid = (serial && this.serialPid.get(serial)) || this.pid;
    const groupInfo = (): Track => ({
      id: this.nextTrack++,
      kind: 'coroutines',
      name: 'Coroutines',
      parent: this.processTrackOf(pid).info.id,
      pid,
    });
    const group =
      pid === this.pid
        ? (this.group ??= this.declare(groupInfo()))
        : (this.other(pid).group ??= this.declare(groupInfo()));
    return { id, kind: 'coroutine', name: co.label, parent: group.info.id, pid, co: co.id };
  }

  private coTrack(co: CoState): TrackState {
    if (!co.track) co.track = this.declare(this.coInfo(co, this.nextTrack++));
    return co.track;
  }

  /** The coroutine's state, created on first sight; null for a coroutine that finished. */
  private co(id: number): CoState | null {
    if (!id) return null;
    const slot = (id >>> 0) & (CO_SLOTS - 1);
    const cached = this.coSlots[slot];
    if (cached !== null && cached.id === id) return cached;
    let co = this.cos.get(id);
    if (co) this.coSlots[slot] = co;
    if (co || this.finished.has(id)) return co ?? null;
    co = { id, label: coroutineLabel(id, ''), track: null, phase: Phase.NONE, on: null, pending: [] };
    this.cos.set(id, co);
    this.coSlots[slot] = co;
    const s = this.stats;
    if (++s.liveCoroutines > s.maxLiveCoroutines) s.maxLiveCoroutines = s.liveCoroutines;
    return co;
  }

  /** The track of the event's coroutine if it is live, else of its thread. */
  private coOrThread(r: RawEvents, i: number): TrackState {
    const co = r.co(i) ? this.co(r.co(i)) : null;
    return co ? this.coTrack(co) : this.threadTrack(this.thread(r.tid(i)));
  }

  private rememberFinished(id: number): void {
    if (this.finishedRing.length === FINISHED_MEMORY) this.finished.delete(this.finishedRing[this.finishedNext]);
    this.finishedRing[this.finishedNext] = id;
    this.finishedNext = (this.finishedNext + 1) % FINISHED_MEMORY;
    this.finished.add(id);
  }

  private str(id: number): string {
    return this.strings?.get(id) ?? '';
  }
}

// ---- labels and arguments (pure) ------------------------------------------------------------------

/** How a coroutine is named on tracks: "<name> #<id>" (ids keep equal names apart). */
export function coroutineLabel(id: number, name: string): string {
  const label = `${name || 'co'} #${id}`;
  // Flat (V8 builds a concatenation as a rope): sinks hash and compare labels many times per event.
  void Number(label);
  return label;
}

const suspendedNames = new Map<string, string>();

/** "suspended: <label>", one string per label (hook and reason names: a small set), not one per event. */
function suspendedName(label: string): string {
  let name = suspendedNames.get(label);
  if (name === undefined) {
    name = `suspended: ${label}`;
    suspendedNames.set(label, name);
  }
  return name;
}

function hex(v: number): string {
  return `0x${v.toString(16)}`;
}

function eventsName(ev: number): string {
  return ev === 3 ? 'read|write' : ev === 1 ? 'read' : ev === 2 ? 'write' : `events ${ev}`;
}

/** Appends key: v to the list. */
function put(a: ArgList, key: string, v: ArgValue): void {
  a.keys[a.n] = key;
  a.values[a.n++] = v;
}

/** Appends why and detail of a CO_READY or WAKE (both in a0, a1); returns the list. */
function readyArgs(a: ArgList, r: RawEvents, i: number): ArgList {
  const why = r.a(i, 0);
  const detail = r.a(i, 1);
  put(a, 'why', readyWhyName(why));
  switch (why) {
    case ReadyWhy.SPAWNED:
      if (detail) put(a, 'parent', detail);
      break;
    case ReadyWhy.TIMER:
      put(a, 'deadline', detail);
      break;
    case ReadyWhy.FD:
    case ReadyWhy.CLOSED:
      put(a, 'fd', r.signed(i, 1));
      break;
    case ReadyWhy.JOINED:
      put(a, 'joined', detail);
      break;
    case ReadyWhy.SIGNAL:
      put(a, 'signal', detail);
      break;
    case ReadyWhy.STOLEN:
      put(a, 'victim_worker', detail);
      break;
  }
  return a;
}

/**
 * A CO_SUSPEND: appends its arguments (the call: hook, fd, events, deadline; the join target or the sleep)
 * and returns its label.
 */
/** The WAKER record of the WAKE at i (same thread and co, within the next few records), or -1. */
function wakerAfter(r: RawEvents, i: number): number {
  const tid = r.tid(i),
    co = r.co(i);
  for (let k = i + 1; k < r.length && k <= i + 6; k++) {
    const kind = r.kind(k);
    if (r.tid(k) !== tid) continue;
    if (kind === Kind.WAKER) return r.co(k) === co ? k : -1;
    if (kind === Kind.WAKE) return -1;
  }
  return -1;
}

function suspendLabel(a: ArgList, r: RawEvents, i: number, ts: number): string {
  const why = r.a(i, 0);
  if (why === SuspendWhy.JOIN) {
    put(a, 'why', 'join');
    put(a, 'joins', r.a(i, 2));
    return 'join';
  }
  const hook = r.a(i, 1);
  put(a, 'why', suspendWhyName(why));
  if (hook) put(a, 'hook', hookName(hook));
  const fd = r.signed(i, 2);
  if (why === SuspendWhy.CALL && fd >= 0) put(a, 'fd', fd);
  if (r.a(i, 3)) put(a, 'events', eventsName(r.a(i, 3)));
  const deadline = r.a(i, 4);
  if (deadline) {
    put(a, 'deadline', deadline);
    put(a, 'timeout_ns', Math.max(0, deadline - ts));
  }
  return hook ? hookName(hook) : suspendWhyName(why);
}

const summaryKeys = {
  bytes: 'requested_bytes',
  timeout_ms: 'timeout_ms',
  sleep_ms: 'sleep_ms',
  flags: 'flags',
  cmd: 'cmd',
  none: '',
} as const;

/** What callArgs needs to know of a hook, by hook id (filled as hooks are met). */
interface CallShape {
  hasFd: boolean;
  /** The argument summary's key; '' for none. */
  summaryKey: string;
  timeout: boolean;
}
const callShapes: CallShape[] = [];

function callShape(hook: number): CallShape {
  let c = callShapes[hook];
  if (c === undefined) {
    const kind = summaryKind(hook);
    c = { hasFd: hookHasFd(hook), summaryKey: summaryKeys[kind], timeout: kind === 'timeout_ms' };
    if (hook >= 0 && hook < 0x10000) callShapes[hook] = c;
  }
  return c;
}

/** Appends a CALL's arguments: fd, result, errno, the argument summary, duration, parked / blocked. */
function callArgs(a: ArgList, r: RawEvents, i: number, hook: number, a0: number, dur: number): ArgList {
  const c = callShape(hook);
  if (c.hasFd) put(a, 'fd', r.signed(i, 1));
  put(a, 'result', r.signed(i, 2));
  put(a, 'errno', r.lo(i, 3));
  const summary = r.hi(i, 3);
  if (c.summaryKey) put(a, c.summaryKey, c.timeout && summary === 0xffffffff ? -1 : summary);
  put(a, 'duration_ns', dur);
  if (a0 & CallFlag.PARKED) put(a, 'parked', 1);
  if (a0 & CallFlag.BLOCKED) put(a, 'blocked', 1);
  return a;
}
