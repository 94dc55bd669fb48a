/**
 * The Scheduler view's model: where every coroutine is at one instant, drawn as the scheduler's
 * boxes, and the list of scheduling decisions ("steps") with an explanation of each in plain words.
 *
 * Boxes (boxesOf): from a Snapshot of the Derived tables (current() or stateAt(t)) —
 *  - each worker with the coroutine it runs;
 *  - each worker's run queue: ready coroutines whose last transition was on that worker, oldest first;
 *  - the injection queue: ready (or just created) coroutines made ready by a thread that is not a
 *    worker (spawned from main, woken by a plain thread);
 *  - the timer heap: suspended coroutines with a deadline and no fd, earliest deadline first;
 *  - fd waits: suspended coroutines waiting on an fd, grouped by fd and direction;
 *  - joins: coroutines waiting for another one to finish;
 *  - parked: suspended in a call with neither fd nor deadline (e.g. poll with no timeout);
 *  - done: finished coroutines.
 *
 * Steps (SchedulerSteps): every CO_RUN is a decision of a worker. Kept compactly (typed
 * columns, ts order) and scanned incrementally from the EventStore; the explanation of a step is
 * built on demand (explainStep) from the events just before it: what the worker's previous
 * coroutine did (parked in a call, slept, joined, was preempted, yielded, finished), whether the
 * worker went to sleep, why the chosen coroutine was ready (spawned, fd, timer, join, …) and which
 * queue it was taken from (run queue, spawn queue, injection queue, stolen from another worker).
 *
 * compareWithEngine: the engine's own snapshot (control 'snapshot') against the derived state.
 */
import { Kind, ReadyWhy, SuspendWhy, hookName } from '@core/events/schema.js';
import type { EventStore, StoredEvent } from '@core/store/eventStore.js';
import type { Derived } from '@core/derive/derived.js';
import type { Snapshot, CoroutineState } from '@core/derive/snapshot.js';
import type { EngineSnapshot } from '../../../preload/api.js';
import { signalName } from '@core/events/signals.js';

export type { EngineSnapshot };

// ---- boxes -----------------------------------------------------------------------------------------

export interface Chip {
  co: number;
  name: string;
  /** The box it is in: worker-<n>, runq-<n>, inject, timers, fdwait, joins, parked, done. */
  box: string;
  /** A short description of its place (e.g. "read fd 7", "in 3 ms", "joins co#1"). */
  detail: string;
  since: number;
}

export interface WorkerBox {
  worker: number;
  /** idle / scheduling / running / unknown */
  state: string;
  running: Chip | null;
  runq: Chip[];
}

export interface FdGroup {
  fd: number;
  /** read / write / read+write */
  dir: string;
  chips: Chip[];
}

export interface Boxes {
  at: number;
  workers: WorkerBox[];
  inject: Chip[];
  timers: Chip[];
  fdWaits: FdGroup[];
  joins: Chip[];
  parked: Chip[];
  done: Chip[];
}

export type NameOf = (co: number) => string;

/** Names of coroutines from the derived table (empty when unnamed). */
export function coNames(derived: Derived): NameOf {
  const coIds = derived.store.coIds;
  const table = derived.table;
  return (co) => {
    const slot = coIds.find(co);
    if (slot <= 0 || slot >= table.name.length) return '';
    const id = table.name[slot];
    return id ? derived.strings.get(id) : '';
  };
}

export function dirName(events: number): string {
  return events === 3 ? 'read+write' : events === 2 ? 'write' : 'read';
}

/** "3 ms", "250 µs", "1.5 s" for a duration in ns. */
export function fmtDur(ns: number): string {
  const a = Math.abs(ns);
  if (a >= 1e9) return `${+(ns / 1e9).toFixed(a >= 10e9 ? 0 : 2)} s`;
  if (a >= 1e6) return `${+(ns / 1e6).toFixed(a >= 10e6 ? 0 : 1)} ms`;
  if (a >= 1e3) return `${+(ns / 1e3).toFixed(0)} µs`;
  return `${Math.round(ns)} ns`;
}

/** Deadlines beyond this are "forever" (sleep_forever's nanosleep of INT64_MAX s saturates). */
const FOREVER = 1e18;

/** The worker a coroutine last ran on at instant t (undefined: it had not run yet). */
export type OwnerAt = (co: number, t: number) => number | undefined;

/**
 * The boxes at the instant of snapshot s. workerCount: at least this many workers (CONFIG).
 * ownerAt: where each coroutine last ran (SchedulerSteps.ownerAt): a started coroutine that
 * becomes ready goes back to its own worker's run queue (through its inbox when another thread
 * woke it), so that is the queue it is drawn in; one that never ran is in the spawn queue of the
 * worker that made it ready, or in the injection queue when a plain thread did.
 */
export function boxesOf(s: Snapshot, nameOf: NameOf, workerCount = 0, ownerAt?: OwnerAt): Boxes {
  const cos = s.coroutines(true);
  const wk = s.workers();
  let n = Math.max(workerCount, wk.length);
  const placeOf = (c: CoroutineState): number | null =>
    c.state === 'ready' ? (ownerAt?.(c.co, s.at) ?? c.worker) : c.state === 'running' ? (c.worker ?? 0) : c.worker;
  for (const c of cos) {
    const w = placeOf(c);
    if (w !== null && w + 1 > n && c.state !== 'done') n = w + 1;
  }
  const workers: WorkerBox[] = [];
  for (let w = 0; w < n; w++) workers.push({ worker: w, state: wk[w]?.state ?? 'unknown', running: null, runq: [] });
  const out: Boxes = { at: s.at, workers, inject: [], timers: [], fdWaits: [], joins: [], parked: [], done: [] };
  const fds = new Map<string, FdGroup>();
  const chip = (c: CoroutineState, box: string, detail: string): Chip => ({
    co: c.co,
    name: nameOf(c.co),
    box,
    detail,
    since: c.since,
  });
  const timerDeadline = new Map<number, number>();
  for (const c of cos) {
    switch (c.state) {
      case 'running': {
        const w = placeOf(c)!;
        workers[w].running = chip(c, `worker-${w}`, 'running');
        break;
      }
      case 'ready':
      case 'new': {
        const w = placeOf(c);
        if (w === null) out.inject.push(chip(c, 'inject', c.state === 'new' ? 'created' : whyReady(c.why)));
        else workers[w].runq.push(chip(c, `runq-${w}`, whyReady(c.why)));
        break;
      }
      case 'suspended': {
        const w = c.wait!;
        if (w.why === SuspendWhy.JOIN) {
          out.joins.push(chip(c, 'joins', `joins co#${w.fd}`));
        } else if (w.fd >= 0) {
          const key = `${w.fd}:${w.events}`;
          let g = fds.get(key);
          if (!g) fds.set(key, (g = { fd: w.fd, dir: dirName(w.events), chips: [] }));
          g.chips.push(chip(c, 'fdwait', `${w.hookName || 'wait'} fd ${w.fd}${w.deadline ? ', with a timeout' : ''}`));
        } else if (w.deadline > 0) {
          const left = w.deadline - s.at;
          out.timers.push(
            chip(
              c,
              'timers',
              `${w.hookName || w.whyName}, ${w.deadline >= FOREVER ? 'forever' : left >= 0 ? `due in ${fmtDur(left)}` : `due ${fmtDur(-left)} ago`}`,
            ),
          );
          timerDeadline.set(c.co, w.deadline);
        } else {
          out.parked.push(chip(c, 'parked', w.hookName ? `in ${w.hookName}` : w.whyName));
        }
        break;
      }
      case 'done':
        out.done.push(chip(c, 'done', 'finished'));
        break;
    }
  }
  // A worker the derived state shows running a coroutine that is not "running" any more cannot
  // happen (both follow the same events); the coroutine's state is the truth for the chips.
  for (const w of workers) w.runq.sort(bySince);
  out.inject.sort(bySince);
  out.timers.sort((a, b) => timerDeadline.get(a.co)! - timerDeadline.get(b.co)! || a.co - b.co);
  out.fdWaits = [...fds.values()].sort((a, b) => a.fd - b.fd || a.dir.localeCompare(b.dir));
  for (const g of out.fdWaits) g.chips.sort(bySince);
  out.joins.sort(bySince);
  out.parked.sort(bySince);
  out.done.sort(bySince);
  return out;
}

function bySince(a: Chip, b: Chip): number {
  return a.since - b.since || a.co - b.co;
}

function whyReady(why: number): string {
  switch (why) {
    case ReadyWhy.SPAWNED:
      return 'spawned';
    case ReadyWhy.TIMER:
      return 'timer expired';
    case ReadyWhy.FD:
      return 'fd ready';
    case ReadyWhy.JOINED:
      return 'join done';
    case ReadyWhy.YIELDED:
      return 'yielded';
    case ReadyWhy.PREEMPTED:
      return 'preempted';
    case ReadyWhy.SIGNAL:
      return 'signal';
    case ReadyWhy.CLOSED:
      return 'fd closed';
    case ReadyWhy.STOLEN:
      return 'stolen';
  }
  return 'ready';
}

// ---- steps -----------------------------------------------------------------------------------------

export interface Step {
  /** Position in the steps list (ts order). */
  n: number;
  ts: number;
  /** The CO_RUN's index in the store. */
  index: number;
  co: number;
  worker: number;
}

/** Every CO_RUN seen so far, in ts order (store order on equal ts), kept in typed columns. */
export class SchedulerSteps {
  private ts = new Float64Array(1024);
  private idx = new Float64Array(1024);
  private cos = new Float64Array(1024);
  private wks = new Uint16Array(1024);
  length = 0;
  private scanned = 0;
  /** Per coroutine, when it started running on a different worker than before: ts and worker. */
  private readonly owners = new Map<number, { ts: number[]; w: number[] }>();

  /** Adds the CO_RUN events the store got since the last update. */
  update(store: EventStore): void {
    if (store.count <= this.scanned) return;
    const from = this.scanned;
    this.scanned = store.count;
    store.scan(
      -Infinity,
      Infinity,
      (ev) => {
        if (ev.kind === Kind.CO_RUN) this.add(ev.ts, ev.index, ev.co, ev.worker);
      },
      from,
    );
  }

  private add(ts: number, index: number, co: number, worker: number): void {
    if (this.length === this.ts.length) {
      const grow = <T extends Float64Array | Uint16Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.ts = grow(this.ts);
      this.idx = grow(this.idx);
      this.cos = grow(this.cos);
      this.wks = grow(this.wks);
    }
    // Batches of different threads overlap in time: insert in ts order (usually at the end).
    let at = this.length;
    while (at > 0 && (this.ts[at - 1] > ts || (this.ts[at - 1] === ts && this.idx[at - 1] > index))) at--;
    if (at < this.length) {
      this.ts.copyWithin(at + 1, at, this.length);
      this.idx.copyWithin(at + 1, at, this.length);
      this.cos.copyWithin(at + 1, at, this.length);
      this.wks.copyWithin(at + 1, at, this.length);
    }
    let o = this.owners.get(co);
    if (!o) this.owners.set(co, (o = { ts: [], w: [] }));
    const k = o.ts.length;
    if (k === 0 || ts >= o.ts[k - 1]) {
      if (k === 0 || o.w[k - 1] !== worker) {
        o.ts.push(ts);
        o.w.push(worker);
      }
    } else {
      let j = k;
      while (j > 0 && o.ts[j - 1] > ts) j--;
      o.ts.splice(j, 0, ts);
      o.w.splice(j, 0, worker);
    }
    this.ts[at] = ts;
    this.idx[at] = index;
    this.cos[at] = co;
    this.wks[at] = worker;
    this.length++;
  }

  /** The worker co last ran on at or before t (undefined: it had not run yet). */
  ownerAt = (co: number, t: number): number | undefined => {
    const o = this.owners.get(co);
    if (!o) return undefined;
    let lo = 0;
    let hi = o.ts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (o.ts[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? o.w[lo - 1] : undefined;
  };

  /** The index of the last step at or before t (-1: none). */
  stepAt(t: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ts[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  get(n: number): Step | undefined {
    if (n < 0 || n >= this.length) return undefined;
    return { n, ts: this.ts[n], index: this.idx[n], co: this.cos[n], worker: this.wks[n] };
  }

  /** The newest `count` steps, newest first. */
  newest(count: number): Step[] {
    const out: Step[] = [];
    for (let n = this.length - 1; n >= 0 && out.length < count; n--) out.push(this.get(n)!);
    return out;
  }

  /** The steps n, n-1, … (count of them), newest first. */
  upTo(n: number, count: number): Step[] {
    const out: Step[] = [];
    for (let k = Math.min(n, this.length - 1); k >= 0 && out.length < count; k--) out.push(this.get(k)!);
    return out;
  }
}

export interface Explanation {
  text: string;
  /** The rules at work, e.g. ['parked-fd', 'runq']: parked-fd, parked-call, sleep, join, preempted,
   *  yielded, finished, idle, again, spawned, fd, timer, joined, signal, closed, runq, spawnq,
   *  inject, stolen. */
  rules: string[];
}

/** Events of the worker looked at before a step (all threads' events, in store order). */
const LOOKBACK = 600;
/** How far back (ns) a coroutine's own history is searched first. */
const CO_WINDOW = 10e9;

function copy(ev: StoredEvent): StoredEvent {
  return {
    index: ev.index,
    ts: ev.ts,
    kind: ev.kind,
    lane: ev.lane,
    worker: ev.worker,
    tid: ev.tid,
    co: ev.co,
    a: Array.from(ev.a),
    lo: Array.from(ev.lo),
    hi: Array.from(ev.hi),
  };
}

/** What a blocked call of this hook and direction was missing. */
function blockPhrase(hook: string, events: number): string {
  if (hook === 'accept' || hook === 'accept4') return 'no connection was waiting';
  if (hook === 'connect') return 'the connection was not made yet';
  if (events & 2 && !(events & 1)) return 'there was no room to write';
  if (events & 1 && /^(read|readv|recv|recvfrom|recvmsg|__read_chk|__recv_chk|__recvfrom_chk)$/.test(hook))
    return 'no data was there';
  return 'it would have blocked';
}

/**
 * The explanation of step s, built from the events before its CO_RUN: the worker's recent
 * events (the previous coroutine leaving, sleeping) and the chosen coroutine's own history since
 * it last ran (why it became ready, which queue it went to).
 */
export function explainStep(derived: Derived, s: Step): Explanation {
  const store = derived.store;
  const nameOf = coNames(derived);
  const mentioned = new Set<number>();
  const label = (co: number): string => {
    if (!co) return 'the main thread';
    const name = mentioned.has(co) ? '' : nameOf(co);
    mentioned.add(co);
    return name ? `co#${co} (${name})` : `co#${co}`;
  };
  const cfg = derived.process.summary(derived.strings).config;
  const W = s.worker;
  const rules: string[] = [];
  const parts: string[] = [];

  // The worker's events since its previous decision.
  const mine: StoredEvent[] = [];
  store.scan(
    -Infinity,
    Infinity,
    (ev) => {
      if (ev.index >= s.index) return false;
      if (ev.worker === W || (ev.kind === Kind.PREEMPT_SENT && ev.a[1] === W)) mine.push(copy(ev));
    },
    Math.max(0, s.index - LOOKBACK),
  );
  let start = mine.length;
  while (start > 0 && mine[start - 1].kind !== Kind.CO_RUN) start--;
  const since = mine.slice(start);

  // 1. The previous coroutine of this worker: how it left.
  let prev = 0;
  const leave = since.find((e) => e.kind === Kind.CO_SUSPEND || e.kind === Kind.CO_YIELD || e.kind === Kind.CO_FINISH);
  if (leave) {
    prev = leave.co;
    const who = label(prev);
    if (leave.kind === Kind.CO_SUSPEND) {
      const why = leave.a[0];
      const hook = leave.a[1] ? hookName(leave.a[1]) : '';
      const fd = leave.a[2];
      const deadline = leave.a[4];
      if (why === SuspendWhy.JOIN) {
        parts.push(`${who} joined ${label(fd)}, which had not finished, so it parked until it does`);
        rules.push('join');
      } else if (why === SuspendWhy.SLEEP || (fd < 0 && deadline > 0 && /sleep/.test(hook))) {
        parts.push(
          `${who} called ${hook || 'sleep'}, so it parked on the timer heap ${deadline >= FOREVER ? 'for ever' : `for ${fmtDur(deadline - leave.ts)}`}`,
        );
        rules.push('sleep');
      } else if (fd >= 0) {
        parts.push(
          `${who} called ${hook || 'a hooked call'}(fd ${fd}) and ${blockPhrase(hook, leave.a[3])}, so it parked on fd ${fd}${deadline > 0 ? ` (with a ${fmtDur(deadline - leave.ts)} timeout)` : ''}`,
        );
        rules.push('parked-fd');
      } else {
        parts.push(
          `${who} called ${hook || 'a hooked call'} and nothing was ready, so it parked${deadline > 0 ? ` for at most ${fmtDur(deadline - leave.ts)}` : ''}`,
        );
        rules.push('parked-call');
      }
    } else if (leave.kind === Kind.CO_YIELD) {
      const preempted = leave.a[0] === 1 || since.some((e) => e.kind === Kind.PREEMPTED && e.co === prev);
      if (preempted) {
        const slice = cfg?.timeSlice ? `${fmtDur(cfg.timeSlice)} ` : '';
        const sig = cfg?.signal ? signalName(cfg.signal) : 'SIGURG';
        const deferred = since.some((e) => e.kind === Kind.PREEMPT_DEFERRED && e.co === prev);
        parts.push(
          `the ${slice}slice of ${who} ran out, so the monitor sent ${sig}${deferred ? ' (deferred at first: it arrived where switching is not safe)' : ''} and ${label(prev)} went to the back of the queue`,
        );
        rules.push('preempted');
      } else {
        parts.push(`${who} yielded, so it went to the back of the run queue`);
        rules.push('yielded');
      }
    } else {
      parts.push(`${who} finished`);
      rules.push('finished');
    }
  }
  const finishedPart = leave?.kind === Kind.CO_FINISH ? parts.length - 1 : -1;
  const idle = since.findIndex((e) => e.kind === Kind.WORKER_IDLE);
  if (idle >= 0) {
    const busy = since.slice(idle).find((e) => e.kind === Kind.WORKER_BUSY);
    const woke = busy
      ? (['a timer was due', 'an fd became ready', 'it was kicked (new work)'][busy.a[0]] ?? 'it woke up')
      : '';
    parts.push(`worker ${W} had nothing to run and went to sleep${woke ? `, then woke because ${woke}` : ''}`);
    rules.push('idle');
  }

  // 2. Why the chosen coroutine was ready: its own events since it last ran.
  const C = s.co;
  let own: StoredEvent[] = [];
  const collect = (t0: number) => {
    own = [];
    // By time, not store order: the wake may come from another thread's batch stored later.
    store.scanCo(C, t0, s.ts, (ev) => {
      if (ev.index !== s.index && !(ev.ts === s.ts && ev.kind === Kind.CO_RUN)) own.push(copy(ev));
    });
  };
  collect(s.ts - CO_WINDOW);
  if (!own.length) collect(-Infinity);
  own.sort((a, b) => a.ts - b.ts || a.index - b.index);
  let from = own.length;
  while (from > 0 && own[from - 1].kind !== Kind.CO_RUN) from--;
  const hist = own.slice(from);
  const wake = [...hist].reverse().find((e) => e.kind === Kind.WAKE);
  const ready = [...hist].reverse().find((e) => e.kind === Kind.CO_READY);
  const yielded = hist.find((e) => e.kind === Kind.CO_YIELD);
  const who = label(C);
  if (C === prev && yielded) {
    parts.push(`worker ${W} had nothing else ready, so ${who} runs again`);
    rules.push('again');
  } else if (wake) {
    const d = wake.a[1];
    switch (wake.a[0]) {
      case ReadyWhy.FD: {
        const seen = wake.a[2];
        parts.push(
          `fd ${d} became ${seen === 2 ? 'writable' : seen === 3 ? 'readable and writable' : seen === 1 ? 'readable' : 'ready'}, so ${who} is ready again`,
        );
        rules.push('fd');
        break;
      }
      case ReadyWhy.TIMER:
        parts.push(`the timer of ${who} expired, so it is ready again`);
        rules.push('timer');
        break;
      case ReadyWhy.JOINED:
        if (finishedPart >= 0 && d === prev) parts[finishedPart] += `, so ${who} joining it is ready`;
        else parts.push(`${label(d)} finished, so ${who} joining it is ready`);
        rules.push('joined');
        break;
      case ReadyWhy.SIGNAL:
        parts.push(`a signal handler (signal ${d}) ended the wait of ${who}`);
        rules.push('signal');
        break;
      case ReadyWhy.CLOSED:
        parts.push(`fd ${d} was closed, so ${who} waiting on it is ready again`);
        rules.push('closed');
        break;
      default:
        parts.push(`${who} was woken (${whyReady(wake.a[0])})`);
    }
  } else if (ready && ready.a[0] === ReadyWhy.SPAWNED) {
    parts.push(`${who} was spawned by ${label(ready.a[1])}`);
    rules.push('spawned');
  } else if (ready && ready.a[0] === ReadyWhy.STOLEN) {
    // Said by the pick below.
  } else if (yielded) {
    parts.push(`${who} was waiting in the run queue since it was switched out`);
  } else if (!hist.length) {
    parts.push(`${who} was ready (its earlier events are not in the recording)`);
  }

  // 3. Which queue the worker took it from.
  const runq = () => {
    parts.push(`worker ${W} took ${label(C)} from its run queue`);
    rules.push('runq');
  };
  if (C === prev && yielded) {
    // Already said: it runs again.
  } else if (ready && ready.a[0] === ReadyWhy.STOLEN) {
    parts.push(`worker ${W} stole ${label(C)} from worker ${ready.a[1]}`);
    rules.push('stolen');
  } else if (ready && ready.a[2] === 2) {
    parts.push(`worker ${W} took ${label(C)} from the injection queue`);
    rules.push('inject');
  } else if (ready && ready.a[2] === 1 && ready.worker !== W) {
    parts.push(`worker ${W} stole ${label(C)} from worker ${ready.worker}`);
    rules.push('stolen');
  } else if (ready && ready.a[2] === 1) {
    parts.push(`worker ${W} took ${label(C)} from its spawn queue`);
    rules.push('spawnq');
  } else {
    runq();
  }
  const text = parts.join('; ');
  return { text: text.charAt(0).toUpperCase() + text.slice(1), rules };
}

/** Explanations are pure functions of the store up to the step: cached by the CO_RUN's index. */
export class ExplanationCache {
  private readonly map = new Map<number, Explanation>();
  constructor(private readonly max = 500) {}
  get(derived: Derived, s: Step): Explanation {
    let e = this.map.get(s.index);
    if (!e) {
      e = explainStep(derived, s);
      if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as number);
      this.map.set(s.index, e);
    }
    return e;
  }
}

// ---- the engine's own snapshot ---------------------------------------------------------------------

/**
 * Where the engine's snapshot and the derived state disagree (empty: they agree). The engine
 * calls an unstarted coroutine "new" where the events say ready (its CO_READY came with the
 * spawn): those count as the same. Done coroutines are not in the engine's list.
 */
export function compareWithEngine(s: Snapshot, e: EngineSnapshot): string[] {
  const out: string[] = [];
  const seen = new Set<number>();
  for (const c of e.coroutines) {
    seen.add(c.id);
    if (c.state === 'done') continue;
    const ours = s.coroutine(c.id);
    const theirs = c.state === 'new' ? 'ready' : c.state;
    if (!ours) {
      out.push(`co#${c.id}: the engine says ${c.state}, no events about it yet`);
      continue;
    }
    const mine = ours.state === 'new' ? 'ready' : ours.state;
    if (mine !== theirs) {
      out.push(`co#${c.id}: the engine says ${c.state}, the events say ${ours.state}`);
      continue;
    }
    if (theirs === 'suspended' && c.wait && ours.wait) {
      if (c.wait.joining !== undefined && ours.wait.fd !== c.wait.joining)
        out.push(`co#${c.id}: the engine says it joins co#${c.wait.joining}, the events say co#${ours.wait.fd}`);
      else if (c.wait.fd !== undefined && ours.wait.fd !== c.wait.fd)
        out.push(`co#${c.id}: the engine says it waits on fd ${c.wait.fd}, the events say fd ${ours.wait.fd}`);
    }
  }
  for (const c of s.coroutines(false)) {
    if (!seen.has(c.co)) out.push(`co#${c.co}: the events say ${c.state}, the engine does not list it`);
  }
  const wk = s.workers();
  for (const w of e.workers) {
    const mine = wk[w.idx]?.co ?? 0;
    const theirs = w.running ?? 0;
    if (mine !== theirs)
      out.push(
        `worker ${w.idx}: the engine says it runs ${theirs ? `co#${theirs}` : 'nothing'}, the events say ${mine ? `co#${mine}` : 'nothing'}`,
      );
  }
  return out;
}
