/**
 * ProcessMeta: what the target process said about itself — PROCESS (pid,
 * exe, cmdline, engine version, start time), CONFIG (workers, stack size,
 * time slice, flags, preemption signal), THREAD (names and workers of
 * threads), CLOCK (the latest monotonic / realtime pair). String ids are
 * kept and resolved when asked, so a string defined late still shows.
 */
import {
  ENGINE_VERSION,
  EXIT_CORE,
  ExitSource,
  NO_WORKER,
  SpawnHow,
  Untraced,
  signalName,
  spawnHowName,
  untracedName,
} from '../events/schema.js';
import type { StringTable } from '../events/strings.js';

/**
 * One process of the stream. A followed session (README "Children") holds
 * several: the launched one (serial 0) and every forked child and exec'd
 * program below it, each with its own serial (LINEAGE), threads (THREAD a3
 * pid, a4 serial) and exit code (PROCESS_EXIT). A stream of one process
 * (events version 1, or not following) has just the first, serial 0.
 */
export interface ProcessInfo {
  serial: number;
  pid: number;
  /** Parent pid (null: not said, events version 1 or not following). */
  ppid: number | null;
  /** 'launched', 'fork' or 'exec'. */
  how: string;
  exe: string;
  cmdline: string;
  /** Exit code (exit, _exit, main returning, or its status when its parent reaped it); null: not seen (running, killed
   *  by a signal, or its end not recorded). */
  exitCode: number | null;
  /** The signal that killed it (its parent's waitpid & co. or its launcher said so); null: none seen. */
  signal: number | null;
  /** It dumped core when the signal killed it. */
  coreDumped: boolean;
  /** Its threads' ids. */
  tids: number[];
  /** It exec'd another program, which went on as a later process of the same pid (so no exit of its own). */
  execd: boolean;
}

/** A program or child a process started that the engine does not follow, with the reason. */
export interface UntracedChild {
  pid: number;
  /** Its parent (the process that started it). */
  parentPid: number;
  how: string;
  path: string;
  cmdline: string;
  reason: string;
  /** false when following was off (an expected absence, not a problem). */
  problem: boolean;
}

export interface ProcessSummary {
  pid: number;
  exe: string;
  cmdline: string;
  /** "major.minor.patch", '' before PROCESS. */
  engineVersion: string;
  /** Process start, CLOCK_REALTIME ns (NaN before PROCESS). */
  startRealtime: number;
  config?: {
    workers: number;
    stackSize: number;
    timeSlice: number;
    flags: number;
    hooks: boolean;
    preempt: boolean;
    migrate: boolean;
    /** The stream was recorded lossless: threads waited for the consumer rather than drop (ring.h "Policy"). */
    lossless?: boolean;
    signal: number;
  };
  threads: { tid: number; name: string; worker: number | null }[];
  /** Latest CLOCK calibration: CLOCK_MONOTONIC and CLOCK_REALTIME ns read together. */
  clock?: { monotonic: number; realtime: number };
}

interface ProcRec {
  pid: number;
  exe: number;
  cmdline: number;
  version: number;
  start: number;
  serial: number;
  ppid: number | null;
  how: number;
  exitCode: number | null;
  signal: number | null;
  core: boolean;
  tids: Set<number>;
  /** ts of its PROCESS_EXIT (NaN: none seen). */
  exitTs: number;
}

/** How a process ended, in words: "code 3", "killed by SIGKILL", "killed by SIGSEGV (core dumped)"; '' if not seen. */
export function exitText(p: { exitCode: number | null; signal: number | null; coreDumped: boolean }): string {
  if (p.signal !== null) return `killed by ${signalName(p.signal)}${p.coreDumped ? ' (core dumped)' : ''}`;
  if (p.exitCode !== null) return `code ${p.exitCode}`;
  return '';
}

export class ProcessMeta {
  private process?: { pid: number; exe: number; cmdline: number; version: number; start: number };
  private config?: ProcessSummary['config'];
  private readonly threads = new Map<number, { name: number; worker: number }>();
  private clock?: { monotonic: number; realtime: number };
  /** Processes by serial; a PROCESS record waits under its tid for the LINEAGE that gives its serial. */
  private readonly procs = new Map<number, ProcRec>();
  private readonly pendingByTid = new Map<number, ProcRec>();
  private readonly spawns: {
    ts: number;
    parentPid: number;
    parentSerial: number;
    pid: number;
    how: number;
    path: number;
    cmdline: number;
    why: number;
  }[] = [];
  /** tid -> serial of its process (THREAD a4). */
  private readonly serialOfTid = new Map<number, number>();
  /** A LINEAGE was seen: PROCESS records wait for theirs. */
  private followed = false;

  onProcess(pid: number, exe: number, cmdline: number, version: number, start: number, tid = 0): void {
    const rec: ProcRec = {
      pid,
      exe,
      cmdline,
      version,
      start,
      serial: 0,
      ppid: null,
      how: 0,
      exitCode: null,
      signal: null,
      core: false,
      tids: new Set(),
      exitTs: NaN,
    };
    this.pendingByTid.set(tid, rec);
    if (this.followed) return; // its LINEAGE, next, says which process it is
    // A stream of one process (so far): serial 0, re-said at every epoch.
    this.keep(0, rec);
    this.process = { pid, exe, cmdline, version, start };
  }

  /** LINEAGE, from the thread that just emitted the process's PROCESS record. */
  onLineage(tid: number, pid: number, ppid: number, how: number, serial: number): void {
    this.followed = true;
    const pending = this.pendingByTid.get(tid);
    this.pendingByTid.delete(tid);
    const rec: ProcRec =
      pending && pending.pid === pid
        ? pending
        : {
            pid,
            exe: 0,
            cmdline: 0,
            version: 0,
            start: NaN,
            serial,
            ppid,
            how,
            exitCode: null,
            signal: null,
            core: false,
            tids: new Set(),
            exitTs: NaN,
          };
    rec.ppid = ppid;
    rec.how = how;
    if (serial !== 0 && this.procs.get(0) === rec) this.procs.delete(0); // taken for the launched one too early
    this.keep(serial, rec);
    if (serial === 0)
      this.process = { pid, exe: rec.exe, cmdline: rec.cmdline, version: rec.version, start: rec.start };
  }

  /** rec is the process of this serial now (a later epoch re-says it: keep what the earlier record learned). */
  private keep(serial: number, rec: ProcRec): void {
    const old = this.procs.get(serial);
    rec.serial = serial;
    if (old && old !== rec) {
      if (rec.exitCode === null && rec.signal === null) {
        rec.exitCode = old.exitCode;
        rec.signal = old.signal;
        rec.core = old.core;
        rec.exitTs = old.exitTs;
      }
      old.tids.forEach((t) => rec.tids.add(t));
      if (rec.ppid === null) rec.ppid = old.ppid;
    }
    this.procs.set(serial, rec);
  }

  /**
   * PROCESS_EXIT. The process itself (source SELF) names its serial; its parent reaping it or its launcher
   * (REAPED, LAUNCHER) know only the pid: the record is about the latest process of that pid (an exec'd program
   * keeps the pid of the one before it), and adds what the process could not say itself — the signal that killed
   * it, or an exit made past the hooks.
   */
  onExit(pid: number, code: number, serial: number, ts = NaN, signal = 0, source = 0): void {
    if ((source & 0xff) === ExitSource.SELF) {
      const p = this.procs.get(serial);
      if (p && p.pid === pid) {
        p.exitCode = code;
        p.exitTs = ts;
      }
      return;
    }
    let p: ProcRec | undefined;
    for (const q of this.procs.values()) if (q.pid === pid && (!p || q.serial > p.serial)) p = q;
    if (!p) return;
    if (signal) {
      p.signal = signal;
      p.core = (source & EXIT_CORE) !== 0;
      p.exitCode = null;
    } else if (p.exitCode === null && p.signal === null) {
      p.exitCode = code;
    } else {
      return;
    }
    if (Number.isNaN(p.exitTs)) p.exitTs = ts;
  }

  onSpawn(ts: number, tid: number, pid: number, how: number, path: number, cmdline: number, why: number): void {
    const serial = this.serialOfTid.get(tid) ?? 0;
    this.spawns.push({
      ts,
      parentPid: this.procs.get(serial)?.pid ?? 0,
      parentSerial: serial,
      pid,
      how,
      path,
      cmdline,
      why,
    });
  }

  onConfig(workers: number, stackSize: number, timeSlice: number, flags: number, signal: number): void {
    this.config = {
      workers,
      stackSize,
      timeSlice,
      flags,
      signal,
      hooks: (flags & 1) !== 0,
      preempt: (flags & 2) !== 0,
      migrate: (flags & 4) !== 0,
      lossless: (flags & 8) !== 0,
    };
  }

  onThread(tid: number, name: number, worker: number, pid = 0, serial = 0): void {
    this.threads.set(tid, { name, worker });
    if (!pid) return;
    this.serialOfTid.set(tid, serial);
    this.procs.get(serial)?.tids.add(tid);
  }

  /** The pid of the process of a serial (undefined: not seen). */
  pidOf(serial: number): number | undefined {
    return this.procs.get(serial)?.pid;
  }

  /** When the process of a serial ended (its PROCESS_EXIT ts; NaN: running or not seen). */
  endOf(serial: number): number {
    return this.procs.get(serial)?.exitTs ?? NaN;
  }

  /** The serial of the process a thread belongs to (0: the launched one, or unknown). */
  serialOf(tid: number): number {
    return this.serialOfTid.get(tid) ?? 0;
  }

  /** Every process of the stream, in order of serial (the launched one first). */
  processes(strings: StringTable): ProcessInfo[] {
    return [...this.procs.values()]
      .sort((a, b) => a.serial - b.serial)
      .map((p) => ({
        serial: p.serial,
        pid: p.pid,
        ppid: p.ppid,
        how: spawnHowName(p.how),
        exe: strings.get(p.exe),
        cmdline: strings.get(p.cmdline),
        exitCode: p.exitCode,
        signal: p.signal,
        coreDumped: p.core,
        tids: [...p.tids].filter((t) => t),
        execd:
          p.exitCode === null &&
          p.signal === null &&
          [...this.procs.values()].some((q) => q.pid === p.pid && q.serial > p.serial && q.how === SpawnHow.EXEC),
      }));
  }

  /**
   * Programs and children started in the stream that the engine does not follow: those the
   * starting process said it could not follow (static, set-user-ID, foreign; or following off,
   * which is no problem), and, with `final` (the stream ended), those it expected to follow that
   * never joined: a forked child or a started program with no LINEAGE of its pid (it cleared
   * its environment by means the engine does not see, or died at once). An exec that failed is
   * recognised by the process exiting later under its old serial, and not reported.
   */
  untraced(strings: StringTable, final = false): UntracedChild[] {
    const out: UntracedChild[] = [];
    for (const sp of this.spawns) {
      const base = {
        pid: sp.pid,
        parentPid: sp.parentPid,
        how: spawnHowName(sp.how),
        path: strings.get(sp.path),
        cmdline: strings.get(sp.cmdline),
      };
      if (sp.why !== Untraced.NO) {
        out.push({ ...base, reason: untracedName(sp.why), problem: sp.why !== Untraced.OFF });
        continue;
      }
      if (!final || !sp.pid) continue;
      const joined = [...this.procs.values()].some(
        (p) =>
          p.pid === sp.pid && p.serial > sp.parentSerial && (sp.how === SpawnHow.FORK) === (p.how === SpawnHow.FORK),
      );
      if (joined) continue;
      const parent = this.procs.get(sp.parentSerial);
      if (sp.how === SpawnHow.EXEC && parent && parent.exitTs > sp.ts) continue; // the exec failed
      out.push({
        ...base,
        reason:
          'it never reported to the inspector (it lost LD_PRELOAD by means the engine does not see, or ended at once)',
        problem: true,
      });
    }
    return out;
  }

  onClock(monotonic: number, realtime: number): void {
    this.clock = { monotonic, realtime };
  }

  summary(strings: StringTable): ProcessSummary {
    const p = this.process;
    return {
      pid: p?.pid ?? 0,
      exe: strings.get(p?.exe ?? 0),
      cmdline: strings.get(p?.cmdline ?? 0),
      engineVersion: p ? ENGINE_VERSION(p.version) : '',
      startRealtime: p?.start ?? NaN,
      config: this.config && { ...this.config },
      threads: [...this.threads].map(([tid, t]) => ({
        tid,
        name: strings.get(t.name),
        worker: t.worker === NO_WORKER ? null : t.worker,
      })),
      clock: this.clock && { ...this.clock },
    };
  }
}
