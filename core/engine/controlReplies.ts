/**
 * The engine's control-channel replies (native/engine/src/control.c), one
 * type per command. Types only, no Node imports: shared by the core
 * (EngineTarget) and the app's contract (preload/api.ts), which the page
 * also compiles.
 *
 * Every reply here is a success (`ok: true`); a refusal is
 * `{ok: false, error}` and never reaches these types (EngineTarget rejects
 * it as a ControlError).
 */
import type { EngineConfig } from './engineConfig.js';

/** `hello`: who the engine is and its whole configuration. */
export interface HelloReply {
  ok: true;
  protocol: number;
  pid: number;
  exe: string;
  cmdline: string;
  version: string;
  paused: boolean;
  config: EngineConfig;
}

/** `pause` and `resume`: whether the scheduler is paused now. */
export interface PauseReply {
  ok: true;
  paused: boolean;
}

/** `step N`: how many scheduling decisions the engine was asked to let through. */
export interface StepReply {
  ok: true;
  steps: number;
}

/**
 * `set key=value`: the engine's whole configuration after the change (slice, preempt, hooks), or
 * the slow-motion delay now in force (delay). The engine emits no new CONFIG event for a change:
 * this reply (or a later `hello`) is where it shows.
 */
export interface SetReply {
  ok: true;
  config?: EngineConfig;
  delay_ns?: number;
}

export interface SnapshotCoroutine {
  id: number;
  name: string;
  state: 'new' | 'ready' | 'running' | 'suspended' | 'done';
  worker: number;
  wait?: {
    why: 'call' | 'join' | 'sleep';
    call?: string;
    fd?: number;
    events?: 'r' | 'w' | 'rw';
    joining?: number;
    deadline_ns?: number;
    /** the program's call site of the hooked call; source: "file.c:29" where symbols allow it (withSourceLines) */
    pc?: number;
    source?: string;
    function?: string;
  };
  switches: number;
  preemptions: number;
}

/** `snapshot`: every coroutine with its state and what it waits for (exact while paused). */
export interface SnapshotReply {
  ok: true;
  paused: boolean;
  time_ns: number;
  workers: { idx: number; tid: number; running: number | null; sleeping: boolean }[];
  coroutines: SnapshotCoroutine[];
}
