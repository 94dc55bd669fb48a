/**
 * ProcessMeta: what the target process said about itself — PROCESS (pid,
 * exe, cmdline, engine version, start time), CONFIG (workers, stack size,
 * time slice, flags, preemption signal), THREAD (names and workers of
 * threads), CLOCK (the latest monotonic / realtime pair). String ids are
 * kept and resolved when asked, so a string defined late still shows.
 */
import { ENGINE_VERSION, NO_WORKER } from '../events/schema.js';
import type { StringTable } from '../events/strings.js';

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

export class ProcessMeta {
  private process?: { pid: number; exe: number; cmdline: number; version: number; start: number };
  private config?: ProcessSummary['config'];
  private readonly threads = new Map<number, { name: number; worker: number }>();
  private clock?: { monotonic: number; realtime: number };

  onProcess(pid: number, exe: number, cmdline: number, version: number, start: number): void {
    this.process = { pid, exe, cmdline, version, start };
  }

  onConfig(workers: number, stackSize: number, timeSlice: number, flags: number, signal: number): void {
    this.config = {
      workers, stackSize, timeSlice, flags, signal,
      hooks: (flags & 1) !== 0,
      preempt: (flags & 2) !== 0,
      migrate: (flags & 4) !== 0,
      lossless: (flags & 8) !== 0,
    };
  }

  onThread(tid: number, name: number, worker: number): void {
    this.threads.set(tid, { name, worker });
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
        tid, name: strings.get(t.name), worker: t.worker === NO_WORKER ? null : t.worker,
      })),
      clock: this.clock && { ...this.clock },
    };
  }
}
