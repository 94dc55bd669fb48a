/**
 * Insights: the problems this project is about, found in an event stream.
 * Each names the coroutine and worker, points at the moment (ts) and says
 * what to change. Streaming: feed batches in order (push), then finish(); state is
 * per live coroutine / worker only.
 *
 * Wall time and CPU time: OFFCPU records (the engine's perf switch records,
 * docs/events.md) say when the kernel had a worker's thread off its CPU
 * during a run — taken (preempted while runnable: CPU contention) or slept
 * (blocked in the kernel). A run's CPU time is its wall time minus both. A
 * trace without any OFFCPU (tracking off or refused, an older engine) counts
 * wall time as CPU time, as before.
 *
 * Rules (thresholds in InsightOptions):
 *  - long-run: a coroutine ran longer than `longRunNs` (default: twice the
 *    time slice, at least 20 ms) of CPU time without switching out. With
 *    preemption off it kept its worker from everything else; with preemption
 *    on and deferrals during the run, preemption was held off (reason given).
 *  - descheduled: the OS took a worker's CPU away for at least `deschedNs`
 *    (default: the long-run threshold) in all during one run — not the
 *    coroutine's doing; one insight per worker, updated with every such run
 *    (count, total, longest).
 *  - blocked-worker: the worker thread itself was blocked in the kernel in a
 *    call the engine cannot park (a raw system call, a stdio read of a
 *    regular file, an unhooked wait) — the counterpart of Java's pinned
 *    virtual threads. Named from the monitor's STALL records (the system
 *    call and what its fd is), one insight per worker × coroutine × call ×
 *    fd target, their totals summed and ranked longest first; without a
 *    STALL, a run longer than `longRunNs` of which most was asleep in the
 *    kernel (or, without OFFCPU data, that preemption did not end); also any
 *    hooked call flagged "could not park" (CALL bit 18) that took longer than
 *    `blockedCallNs`.
 *  - join-cycle / lost-wakeup: coroutines joining each other in a cycle, or
 *    a coroutine still suspended joining one that finished more than
 *    `lostWakeNs` earlier.
 *  - eintr: EINTR returned to code running in a coroutine; short-write: a
 *    write-family call in a coroutine that returned fewer bytes than asked.
 *  - drops: events lost (the inspector fell behind).
 *  - idle-imbalance: a coroutine waited at least `imbalanceWaitNs` in a run
 *    queue while another worker was idle for that whole wait.
 *  - untraced-child: a forked child or a started program of a followed
 *    session that the engine does not see (statically linked, set-user-ID,
 *    foreign, or it never reported: core/derive/process.ts).
 *  - killed-by-signal: a process of the stream ended by a signal (its parent
 *    reaped it, or its launcher saw it: PROCESS_EXIT a3), e.g. SIGSEGV,
 *    SIGKILL.
 * Workers are numbered per process: every rule keys a worker by (process,
 * index) — the serial of the record's thread (THREAD a4) and the index —
 * so in a session of several processes a worker is only ever compared with
 * the workers of its own process, and titles name the process's pid.
 */
import { CallFlag, DeferWhy, Kind, SuspendWhy, deferWhyName, hookName, summaryKind } from '../events/schema.js';
import { syscallName } from '../events/syscalls.js';
import type { RawEvents } from '../events/rawEvents.js';
import type { StringTable } from '../events/strings.js';
import { ProcessMeta, exitText } from '../derive/process.js';

export type InsightKind =
  | 'long-run'
  | 'blocked-worker'
  | 'join-cycle'
  | 'lost-wakeup'
  | 'eintr'
  | 'short-write'
  | 'drops'
  | 'idle-imbalance'
  | 'untraced-child'
  | 'killed-by-signal'
  | 'descheduled';

export interface Insight {
  kind: InsightKind;
  ts: number;
  durationNs?: number;
  /** Of durationNs, the CPU time of the coroutine (runs; when the trace has OFFCPU records). */
  cpuNs?: number;
  /** Of durationNs, the time the OS had the worker off its CPU (taken + slept). */
  offCpuNs?: number;
  co?: number;
  coName?: string;
  /** The worker's index in its process. */
  worker?: number;
  /** The process of `worker` in a session of several processes (absent: the launched one, or one process). */
  pid?: number;
  title: string;
  advice: string;
}

export interface InsightOptions {
  longRunNs?: number;
  blockedCallNs?: number;
  lostWakeNs?: number;
  imbalanceWaitNs?: number;
  /** A run during which the OS took the worker's CPU for this long in all is reported (descheduled);
   *  0 (default): the long-run threshold, so a run the OS stretched past it is reported as that instead. */
  deschedNs?: number;
  /** At most this many insights of one kind are kept (the rest are counted). */
  perKind?: number;
}

const WRITES = new Set(['write', 'writev', 'send', 'sendto', 'sendmsg']);
const ms = (ns: number): string =>
  ns >= 1e9 ? `${(ns / 1e9).toFixed(2)} s` : `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 0)} ms`;

interface Run {
  start: number;
  worker: number;
  /** Deferrals during the run by DeferWhy (null: none). */
  deferred: Map<number, number> | null;
  sent: number;
  /** Time the OS had the worker off its CPU during the run: taken (preempted) and slept. */
  taken: number;
  slept: number;
  /** A STALL named the call the run was blocked in. */
  stalled: boolean;
}

/** An open STALL of a worker (monitor record) until its STALL_END. */
interface Stall {
  co: number;
  nr: number;
  /** The fd's file type (st_mode >> 12: FileType), 0 unknown. */
  type: number;
  fd: number;
  target: string;
  since: number;
}

/** One blocked-worker insight built from stalls, and what it sums. */
interface StallSum {
  insight: Insight;
  /** Stalls ended, their total and the longest. */
  n: number;
  total: number;
  longest: number;
  /** The one still going: how long so far (0: none). */
  open: number;
}

/** One descheduled insight per worker, and what it sums. */
interface DeschedSum {
  insight: Insight;
  runs: number;
  total: number;
  longest: number;
}

/** File types of STALL a1 >> 32 (st_mode >> 12). */
const FileType = { FIFO: 1, CHR: 2, DIR: 4, BLK: 6, REG: 8, SOCK: 12 } as const;

/** Why the call cannot be parked and what to do, by system call and file type. */
function stallAdvice(call: string, type: number): string {
  const tail = 'Every coroutine queued on that worker waits meanwhile.';
  const reads = /^(read|pread64|readv|preadv2?)$/.test(call);
  if ((reads || /^(write|writev)$/.test(call)) && (type === FileType.FIFO || type === FileType.SOCK))
    return `A ${type === FileType.FIFO ? 'pipe or FIFO' : 'socket'} ${reads ? 'read' : 'written'} through a call no hook sees — stdio (fscanf, fread, fgets, fprintf…) uses glibc's internal ${reads ? 'read' : 'write'}, and so do raw syscall(2)s — blocks the worker thread instead of parking the coroutine. ${tail} Use the hooked read/write (or recv/send) on that fd, or do that I/O from a plain thread.`;
  if (reads && type === FileType.REG)
    return `Regular-file reads cannot be parked (a file is always "ready" for epoll), and stdio (fread, fgets, getline) reads through glibc's internal read, which no hook sees. ${tail} Read the file with the hooked pread/read (served from the page cache, or on the offload pool), or from a plain thread.`;
  if (/^(write|pwrite64|writev|pwritev2?|fsync|fdatasync)$/.test(call) && type === FileType.REG)
    return `Regular-file writes cannot be parked, and stdio (fwrite, fflush, fprintf) writes through glibc's internal write, which no hook sees. ${tail} Use the hooked write/pwrite, or write from a plain thread.`;
  if (/nanosleep$/.test(call))
    return `A sleep made as a raw system call (syscall(2)) or by a library's internal call bypasses the hooked libc wrapper, so the worker thread itself sleeps. ${tail} Call nanosleep/usleep/sleep from libc so the coroutine parks.`;
  if (call === 'futex')
    return `A futex wait (a semaphore, lock or condition variable the engine does not hook, or a raw futex) blocks the worker thread. ${tail} Use the hooked sem_wait/pthread calls, or wait from a plain thread.`;
  return `The system call was made without a hooked libc wrapper (syscall(2), a library's internal call), so the worker thread itself blocked. ${tail} Use the hooked libc call, move the call to a plain thread, or add workers.`;
}

/**
 * co id -> number, the Map calls the rules use, in a Float64Array while the ids stay dense
 * (the engine counts them up; NaN: absent), a Map for the others: no entry object per
 * coroutine and no hashing on the hot path.
 */
class CoNumbers {
  private dense = new Float64Array(1024).fill(NaN);
  private readonly sparse = new Map<number, number>();

  get(co: number): number | undefined {
    if (co < this.dense.length) {
      const v = this.dense[co];
      return v === v ? v : undefined;
    }
    return this.sparse.get(co);
  }
  has(co: number): boolean {
    return this.get(co) !== undefined;
  }
  set(co: number, v: number): void {
    if (co >= this.dense.length && Number.isInteger(co) && co < DENSE_MAX) {
      let n = this.dense.length;
      while (n <= co) n *= 2;
      const d = new Float64Array(n).fill(NaN);
      d.set(this.dense);
      this.dense = d;
    }
    if (co < this.dense.length) this.dense[co] = v;
    else this.sparse.set(co, v);
  }
  delete(co: number): void {
    if (co < this.dense.length) this.dense[co] = NaN;
    else this.sparse.delete(co);
  }
}
const DENSE_MAX = 1 << 24;

/** The kinds a rule looks at (push skips the others after reading their ts). */
const WATCHED = new Uint8Array(65536);
for (const k of [
  Kind.CONFIG,
  Kind.CO_CREATE,
  Kind.CO_RUN,
  Kind.PREEMPT_SENT,
  Kind.PREEMPT_DEFERRED,
  Kind.CO_YIELD,
  Kind.CO_SUSPEND,
  Kind.CO_FINISH,
  Kind.CALL,
  Kind.CO_READY,
  Kind.WORKER_IDLE,
  Kind.WORKER_BUSY,
  Kind.DROP,
  Kind.PROCESS,
  Kind.LINEAGE,
  Kind.THREAD,
  Kind.PROCESS_EXIT,
  Kind.SPAWN,
  Kind.OFFCPU,
  Kind.STALL,
  Kind.STALL_END,
])
  WATCHED[k] = 1;

export class InsightFinder {
  readonly insights: Insight[] = [];
  readonly suppressed = new Map<InsightKind, number>();
  private readonly names = new CoNumbers(); // co -> name string id
  private readonly running = new Map<number, Run>(); // co -> current run
  private readonly spare: Run[] = []; // ended runs, reused by the next ones
  private readonly onWorker = new Map<number, number>(); // worker -> co running
  private readonly joining = new Map<number, { target: number; since: number }>();
  private readonly finished = new CoNumbers(); // co -> finish ts
  private readonly idleSince = new Map<number, number>(); // worker -> ts it went idle
  private readonly readySince = new CoNumbers(); // co -> ts it became ready
  private readonly stalls = new Map<number, Stall>(); // worker -> open STALL
  private readonly stallSums = new Map<string, StallSum>(); // worker/co/call/target -> its insight
  private readonly desched = new Map<number, DeschedSum>(); // worker -> its insight
  /** The trace has OFFCPU records: a run's wall time minus its time off the CPU is its CPU time. */
  private osTracked = false;
  private slice = 10e6;
  private preempt = true;
  private strings: StringTable | undefined;
  private last = 0;
  private readonly o: Required<InsightOptions>;
  /** The processes of the stream (followed children), for untraced-child. */
  readonly processes = new ProcessMeta();

  constructor(opts: InsightOptions = {}) {
    this.o = {
      longRunNs: 0,
      blockedCallNs: 1e6,
      lostWakeNs: 100e6,
      imbalanceWaitNs: 10e6,
      deschedNs: 0,
      perKind: 20,
      ...opts,
    };
  }

  private longRun(): number {
    return this.o.longRunNs || Math.max(2 * this.slice, 20e6);
  }

  private name(co: number): string {
    const s = this.strings?.get(this.names.get(co) ?? 0);
    return s ? `${s} (co#${co})` : `co#${co}`;
  }

  private add(i: Insight): boolean {
    const n = this.insights.filter((x) => x.kind === i.kind).length;
    if (n >= this.o.perKind) {
      this.suppressed.set(i.kind, (this.suppressed.get(i.kind) ?? 0) + 1);
      return false;
    }
    if (i.co) i.coName = this.name(i.co);
    this.insights.push(i);
    return true;
  }

  /**
   * Hot path: the kind and ts are read straight from the record words
   * (RawEvents layout: ts lo / hi, kind | worker << 16, tid, co lo / hi, …);
   * kinds no rule looks at cost a comparison; a run allocates one small
   * object and its deferral map only when a deferral happens.
   */
  push(raw: RawEvents, strings: StringTable): void {
    this.strings = strings;
    const n = raw.length;
    const u = new Uint32Array(raw.bytes.buffer, raw.bytes.byteOffset, n * 16);
    let last = this.last;
    for (let i = 0, o = 0; i < n; i++, o += 16) {
      const hi = u[o + 1];
      const ts = hi === 0 ? u[o] : hi * 4294967296 + u[o];
      if (ts > last) last = ts;
      if (!WATCHED[u[o + 2] & 0xffff]) continue;
      this.last = last;
      this.one(raw, i, ts);
    }
    this.last = last;
  }

  /** Worker w of the process of thread tid as one key: serial * 2^16 + index (the index alone for serial 0). */
  private wkey(tid: number, w: number): number {
    return w === 0xffff ? w : this.processes.serialOf(tid) * 65536 + w;
  }

  /** "worker 1", or "worker 1 of pid 4242" for a process other than the launched one. */
  private wname(k: number): string {
    const serial = Math.floor(k / 65536);
    return serial ? `worker ${k % 65536} of pid ${this.processes.pidOf(serial) ?? '?'}` : `worker ${k}`;
  }

  /** Insight fields naming worker key k: its index and, for a process other than the launched one, its pid. */
  private wfields(k: number): { worker?: number; pid?: number } {
    if (k === 0xffff) return {};
    const serial = Math.floor(k / 65536);
    return serial ? { worker: k % 65536, pid: this.processes.pidOf(serial) } : { worker: k };
  }

  private one(raw: RawEvents, i: number, ts: number): void {
    const co = raw.co(i),
      w = this.wkey(raw.tid(i), raw.worker(i));
    switch (raw.kind(i)) {
      case Kind.PROCESS:
        return this.processes.onProcess(raw.a(i, 0), raw.a(i, 1), raw.a(i, 2), raw.a(i, 3), raw.a(i, 4), raw.tid(i));
      case Kind.LINEAGE:
        return this.processes.onLineage(raw.tid(i), raw.a(i, 0), raw.a(i, 1), raw.a(i, 2), raw.a(i, 3));
      case Kind.THREAD:
        return this.processes.onThread(raw.a(i, 0), raw.a(i, 1), raw.a(i, 2), raw.a(i, 3), raw.a(i, 4));
      case Kind.PROCESS_EXIT:
        return this.processes.onExit(raw.a(i, 0), raw.signed(i, 1), raw.a(i, 2), ts, raw.a(i, 3), raw.a(i, 4));
      case Kind.SPAWN:
        return this.processes.onSpawn(ts, raw.tid(i), raw.a(i, 0), raw.a(i, 1), raw.a(i, 2), raw.a(i, 4), raw.a(i, 3));
      case Kind.CONFIG:
        this.slice = raw.a(i, 2) || this.slice;
        this.preempt = (raw.lo(i, 3) & 2) !== 0;
        break;
      case Kind.CO_CREATE:
        this.names.set(co, raw.a(i, 1));
        break;
      case Kind.CO_RUN:
        this.waited(co, w, ts);
        {
          const r = this.spare.pop() ?? {
            start: 0,
            worker: 0,
            deferred: null,
            sent: 0,
            taken: 0,
            slept: 0,
            stalled: false,
          };
          r.start = ts;
          r.worker = w;
          r.deferred = null;
          r.sent = 0;
          r.taken = 0;
          r.slept = 0;
          r.stalled = false;
          const before = this.running.get(co);
          if (before) this.spare.push(before);
          this.running.set(co, r);
        }
        this.onWorker.set(w, co);
        this.joining.delete(co);
        break;
      case Kind.PREEMPT_SENT: {
        const target = this.onWorker.get(this.wkey(raw.tid(i), raw.a(i, 1)));
        const r = target !== undefined ? this.running.get(target) : undefined;
        if (r) r.sent++;
        break;
      }
      case Kind.PREEMPT_DEFERRED: {
        const r = this.running.get(co);
        if (r) {
          r.deferred ??= new Map();
          r.deferred.set(raw.a(i, 0), (r.deferred.get(raw.a(i, 0)) ?? 0) + 1);
        }
        break;
      }
      case Kind.CO_YIELD:
        this.readySince.set(co, ts);
        this.endRun(raw, i, co, ts);
        break;
      case Kind.CO_SUSPEND:
      case Kind.CO_FINISH:
        this.endRun(raw, i, co, ts);
        break;
      case Kind.CALL:
        this.call(raw, i, co, ts, w);
        break;
      case Kind.CO_READY:
        if (!this.readySince.has(co)) this.readySince.set(co, ts);
        break;
      case Kind.WORKER_IDLE:
        this.idleSince.set(w, ts);
        break;
      case Kind.WORKER_BUSY:
        this.idleSince.delete(w);
        break;
      case Kind.OFFCPU: {
        this.osTracked = true;
        const r = co ? this.running.get(co) : undefined;
        if (r && r.worker === w) {
          if (raw.a(i, 2) === 1) r.taken += raw.a(i, 1);
          else r.slept += raw.a(i, 1);
        }
        break;
      }
      case Kind.STALL: {
        const sw = this.wkey(raw.tid(i), raw.a(i, 0));
        const st: Stall = {
          co,
          nr: raw.lo(i, 1),
          type: raw.hi(i, 1) & 0xffff,
          fd: raw.signed(i, 2),
          target: this.strings?.get(raw.a(i, 3)) ?? '',
          since: raw.a(i, 4),
        };
        this.stalls.set(sw, st);
        this.stalled(sw, st, Math.max(0, ts - st.since), false);
        const r = this.running.get(co);
        if (r) r.stalled = true;
        break;
      }
      case Kind.STALL_END: {
        const sw = this.wkey(raw.tid(i), raw.a(i, 0));
        const st = this.stalls.get(sw);
        this.stalls.delete(sw);
        if (st) this.stalled(sw, st, raw.a(i, 3), true);
        break;
      }
      case Kind.DROP:
        this.add({
          kind: 'drops',
          ts,
          ...this.wfields(w),
          title: `${raw.a(i, 0)} events of thread ${raw.tid(i)} were lost (the inspector fell behind)`,
          advice:
            'What happened then is missing from this recording. Record with fewer inspectors running, or on a less loaded machine.',
        });
        break;
    }
  }

  private endRun(raw: RawEvents, i: number, co: number, ts: number): void {
    const kind = raw.kind(i);
    const r = this.running.get(co);
    this.running.delete(co);
    if (r && this.onWorker.get(r.worker) === co) this.onWorker.delete(r.worker);
    if (kind === Kind.CO_SUSPEND && raw.a(i, 0) === SuspendWhy.JOIN) this.join(co, raw.a(i, 2), ts);
    if (kind === Kind.CO_FINISH) this.finished.set(co, ts);
    if (!r) return;
    this.spare.push(r); // nothing below keeps r
    const len = ts - r.start;
    const off = r.taken + r.slept;
    const cpu = Math.max(0, len - off);
    if (r.taken >= (this.o.deschedNs || this.longRun())) this.descheduled(r, co, len, cpu);
    if (len <= this.longRun() || r.stalled) return; // a stall's insight names the call itself
    const preempted = kind === Kind.CO_YIELD && raw.a(i, 0) === 1;
    const base = {
      ts: r.start,
      durationNs: len,
      co,
      ...this.wfields(r.worker),
      ...(this.osTracked ? { cpuNs: cpu, offCpuNs: off } : {}),
    };
    const cpuOf = this.osTracked ? ` (${ms(cpu)} of CPU; off its CPU ${ms(off)})` : '';
    if (cpu <= this.longRun()) {
      // The wall time was the OS's, not the coroutine's: taken (the descheduled insight says
      // so when it is large) or asleep in the kernel in a call the engine could not park.
      if (r.slept >= r.taken && r.slept >= this.longRun() / 2)
        this.add({
          ...base,
          kind: 'blocked-worker',
          title: `ran ${ms(len)} on ${this.wname(r.worker)}, ${ms(r.slept)} of it asleep in the kernel (${ms(cpu)} of CPU): the worker thread was blocked in a call the engine cannot park`,
          advice:
            'Raw system calls (syscall(2)), stdio on regular files and unhooked waits block the worker thread itself; every coroutine queued on that worker waits. Use the hooked libc calls, move that I/O to a plain thread, or add workers.',
        });
      return;
    }
    if (!this.preempt) {
      this.add({
        ...base,
        kind: 'long-run',
        title: `ran ${ms(len)}${cpuOf} on ${this.wname(r.worker)} without yielding; preemption is off, so nothing else ran on that worker`,
        advice: `Turn preemption on (COROSCOPE_PREEMPT=1, slice ${ms(this.slice)}), or make the loop yield (coroscope_yield) or park in a hooked call.`,
      });
    } else if (r.deferred?.size) {
      const why = [...r.deferred].map(([k, n]) => `${deferWhyName(k)} ×${n}`).join(', ');
      this.add({
        ...base,
        kind: 'long-run',
        title: `ran ${ms(len)}${cpuOf} on ${this.wname(r.worker)}; preemption was deferred (${why})${preempted ? ' before it finally switched it out' : ''}`,
        advice: r.deferred.has(DeferWhy.LOCK)
          ? 'Hold locks for less time inside the loop: a coroutine is never preempted while it holds one.'
          : r.deferred.has(DeferWhy.LIBRARY_CODE)
            ? "The coroutine spent its slice inside a library, where a switch could corrupt the library's per-thread state; split the work into smaller calls, or, if that library keeps no per-thread state, name it in COROSCOPE_PREEMPT_MODULES."
            : 'The coroutine spent its slice in code that cannot be interrupted safely (libc, the loader, the engine); call into it less often per iteration.',
      });
    } else if (!preempted && this.osTracked) {
      this.add({
        ...base,
        kind: 'long-run',
        title: `ran ${ms(len)}${cpuOf} on ${this.wname(r.worker)} and was not preempted although preemption is on`,
        advice:
          'The preemption signal did not reach the coroutine (is it blocked on that worker thread?), or the run ended just as it was sent. Make the loop yield (coroscope_yield) or park in a hooked call.',
      });
    } else if (!preempted) {
      this.add({
        ...base,
        kind: 'blocked-worker',
        title: `ran ${ms(len)} on ${this.wname(r.worker)} and could not be preempted: the worker thread was blocked in the kernel, in a call the engine cannot park`,
        advice:
          'Raw system calls (syscall(2)) and regular-file I/O block the worker thread itself; every coroutine queued on that worker waits. Use the hooked libc calls, move file I/O to a plain thread, or add workers.',
      });
    }
  }

  private descheduled(r: Run, co: number, len: number, cpu: number): void {
    const w = r.worker;
    let d = this.desched.get(w);
    const isLongest = !d || r.taken > d.longest;
    if (!d) {
      const insight: Insight = {
        kind: 'descheduled',
        ts: r.start,
        durationNs: len,
        co,
        ...this.wfields(w),
        cpuNs: cpu,
        offCpuNs: r.taken + r.slept,
        title: '',
        advice: '',
      };
      if (!this.add(insight)) return;
      d = { insight, runs: 0, total: 0, longest: 0 };
      this.desched.set(w, d);
    }
    d.runs++;
    d.total += r.taken;
    const i = d.insight;
    if (isLongest) {
      d.longest = r.taken;
      Object.assign(i, {
        ts: r.start,
        durationNs: len,
        co,
        coName: this.name(co),
        cpuNs: cpu,
        offCpuNs: r.taken + r.slept,
      });
    }
    i.title =
      `the OS descheduled ${this.wname(w)} for ${ms(d.longest)} while ${i.coName} ran (the run took ${ms(i.durationNs!)}, ${ms(i.cpuNs!)} of it CPU)` +
      (d.runs > 1 ? `; ${d.runs} runs lost ${ms(d.total)} in all this way` : '');
    i.advice =
      "Not this coroutine's doing: the kernel gave the worker's CPU to another thread (CPU contention). Look at what else runs on the machine (other processes, this program's own threads), give the program cores of its own (taskset, cpusets), or run no more workers than free cores (COROSCOPE_WORKERS).";
  }

  /**
   * A stall of worker w: `soFar` while it lasts (STALL: the insight appears at once, a live
   * alert, and says the worker is still blocked), then its total (STALL_END, or the end of the
   * stream). One insight per worker × coroutine × call × fd target, summing its stalls.
   */
  private stalled(w: number, st: Stall, ns: number, ended: boolean): void {
    const call = syscallName(st.nr);
    const on = st.target ? ` on ${st.target}` : st.fd >= 0 ? ` on fd ${st.fd}` : '';
    const key = `${w}/${st.co}/${st.nr}/${st.target || st.fd}`;
    let s = this.stallSums.get(key);
    if (!s) {
      const insight: Insight = {
        kind: 'blocked-worker',
        ts: st.since,
        durationNs: 0,
        co: st.co || undefined,
        ...this.wfields(w),
        title: '',
        advice: stallAdvice(call, st.type),
      };
      if (!this.add(insight)) return;
      s = { insight, n: 0, total: 0, longest: 0, open: 0 };
      this.stallSums.set(key, s);
    }
    s.open = ended ? 0 : ns;
    if (ended) {
      s.n++;
      s.total += ns;
      s.longest = Math.max(s.longest, ns);
    }
    s.insight.durationNs = s.total + s.open;
    s.insight.title =
      `${this.wname(w)} blocked ${ms(s.total + s.open)} in ${call}()${on}` +
      (s.n + (s.open ? 1 : 0) > 1
        ? ` (${s.n + (s.open ? 1 : 0)} times, longest ${ms(Math.max(s.longest, s.open))})`
        : '') +
      (s.open ? ', and is still blocked there' : '') +
      ': a call the engine cannot park';
  }

  private call(raw: RawEvents, i: number, co: number, ts: number, w: number): void {
    const a0 = raw.lo(i, 0);
    const hook = a0 & 0xffff;
    const dur = raw.a(i, 4);
    const errno = raw.lo(i, 3);
    if (!(a0 & CallFlag.BLOCKED) && !(a0 & CallFlag.IN_CO)) return;
    const name = hookName(hook);
    // A call the monitor already named (STALL during this run) is reported from that record.
    if (a0 & CallFlag.BLOCKED && dur > this.o.blockedCallNs && !(co && this.running.get(co)?.stalled)) {
      this.add({
        kind: 'blocked-worker',
        ts: ts - dur,
        durationNs: dur,
        co: co || undefined,
        ...this.wfields(w),
        title: `${name}(fd ${raw.signed(i, 1)}) blocked ${this.wname(w)} for ${ms(dur)}: the engine could not park it`,
        advice:
          'The fd cannot wait in the netpoller (a regular file, or a device): move this I/O to a plain thread, or use a socket/pipe.',
      });
    }
    if (!(a0 & CallFlag.IN_CO)) return;
    if (errno === 4) {
      this.add({
        kind: 'eintr',
        ts,
        co,
        ...this.wfields(w),
        title: `${name} returned EINTR to the coroutine`,
        advice:
          'A signal interrupted the call and the program saw it: retry on EINTR, or install the handler with SA_RESTART.',
      });
    }
    const asked = raw.hi(i, 3);
    const got = raw.signed(i, 2);
    if (got >= 0 && got < asked && asked !== 0xffffffff && WRITES.has(name) && summaryKind(hook) === 'bytes') {
      this.add({
        kind: 'short-write',
        ts,
        co,
        ...this.wfields(w),
        title: `${name} wrote ${got} of ${asked} bytes`,
        advice: 'A short write reached the program: loop until everything is written.',
      });
    }
  }

  private join(co: number, target: number, ts: number): void {
    this.joining.set(co, { target, since: ts });
    // A cycle: follow the join chain back to co.
    const seen = new Set([co]);
    for (let t = target; this.joining.has(t); t = this.joining.get(t)!.target) {
      if (seen.has(t)) break;
      seen.add(t);
      if (this.joining.get(t)!.target === co) {
        this.add({
          kind: 'join-cycle',
          ts,
          co,
          title: `joins ${this.name(target)}, which (through ${seen.size - 1} join${seen.size > 2 ? 's' : ''}) joins it back: none of them can ever finish`,
          advice: 'A deadlock: break the cycle (one of them must not wait for the other).',
        });
        break;
      }
    }
  }

  private waited(co: number, w: number, ts: number): void {
    const since = this.readySince.get(co);
    this.readySince.delete(co);
    if (since === undefined || ts - since < this.o.imbalanceWaitNs) return;
    for (const [idle, from] of this.idleSince) {
      // Only a worker of the same process could have taken it (keys: serial * 2^16 + index).
      if (idle === w || from > since || Math.floor(idle / 65536) !== Math.floor(w / 65536)) continue;
      this.add({
        kind: 'idle-imbalance',
        ts: since,
        durationNs: ts - since,
        co,
        ...this.wfields(idle),
        title: `waited ${ms(ts - since)} in ${this.wname(w)}'s run queue while ${this.wname(idle)} was idle the whole time`,
        advice:
          'Coroutines that already ran stay on their worker: spawn work from where it can be stolen, or allow migration (COROSCOPE_MIGRATE=1).',
      });
      return;
    }
  }

  /** End of the stream: waits that can no longer end; blocked workers ranked by total time. */
  finish(): Insight[] {
    for (const [w, st] of this.stalls) this.stalled(w, st, Math.max(0, this.last - st.since), true);
    this.stalls.clear();
    const blocked = this.insights
      .filter((i) => i.kind === 'blocked-worker')
      .sort((a, b) => (b.durationNs ?? 0) - (a.durationNs ?? 0));
    let k = 0;
    for (let j = 0; j < this.insights.length; j++)
      if (this.insights[j].kind === 'blocked-worker') this.insights[j] = blocked[k++];
    for (const [co, j] of this.joining) {
      const done = this.finished.get(j.target);
      if (done !== undefined && this.last - Math.max(done, j.since) > this.o.lostWakeNs)
        this.add({
          kind: 'lost-wakeup',
          ts: j.since,
          co,
          title: `still waits to join ${this.name(j.target)}, which finished ${ms(this.last - done)} before the end`,
          advice: 'A lost wakeup: the join was not woken when its target finished. Report it with this recording.',
        });
    }
    if (this.strings) {
      for (const p of this.processes.processes(this.strings)) {
        if (p.signal === null) continue;
        this.add({
          kind: 'killed-by-signal',
          ts: this.last,
          title: `process pid ${p.pid} (${p.cmdline || p.exe || '-'}) was ${exitText(p)}`,
          advice:
            'It ended without exiting: its last calls and coroutines in this recording are where it was. A crash signal (SIGSEGV, SIGABRT, SIGBUS) means a bug in that process; SIGKILL came from outside (the OOM killer, a timeout, a supervisor).',
        });
      }
      for (const c of this.processes.untraced(this.strings, true)) {
        if (!c.problem) continue;
        this.add({
          kind: 'untraced-child',
          ts: this.last,
          title: `child pid ${c.pid || '?'} (${c.cmdline || c.path || `forked from pid ${c.parentPid}`}) is not traced: ${c.reason}`,
          advice:
            'Its coroutines and calls are not in this recording. Run a dynamically linked build of that program (or one without set-user-ID) to see it.',
        });
      }
    }
    return this.insights;
  }
}
