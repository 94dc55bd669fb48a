/**
 * Starting a program under the engine, and attaching to one that runs it.
 * Engine options become the COROSCOPE_* variables the engine reads at load
 * (README "Configuration"); the addon adds LD_PRELOAD and the inherited
 * control socket.
 */
import { addon } from './addon.js';
import { enginePath } from './paths.js';
import { checkExecutable, resolveCommand } from './executable.js';
import { EngineTarget } from './target.js';
import { describeProcess } from './discover.js';
import type { EngineOptions } from '../../core/engine/options.js';
import type { RecordingPolicy } from './addon.js';

export type { EngineOptions, RecordingPolicy };

export interface LaunchOptions {
  cmd: string;
  args?: string[];
  cwd?: string;
  /** Variables added to (or, with value undefined, removed from) the inspector's environment. */
  env?: Record<string, string | undefined>;
  engine?: EngineOptions;
  /** Trace file to record to as events stream (undefined: do not record). */
  record?: string;
  /** stdin: the inspector's own ('inherit') or /dev/null (default). */
  stdin?: 'inherit' | 'null';
  batchEvents?: number;
  periodMs?: number;
  /** What the target's threads do when their event ring is full (default 'drop': they never wait). */
  policy?: RecordingPolicy;
  /**
   * false: no event reaches JS (no 'events'): the addon only records them and counts them
   * (stats().delivered, .dropped). For `coroscope record`, which only writes the file: batches
   * copied into JS that nobody reads cost the target CPU on a small machine.
   */
  events?: boolean;
}

export function engineEnv(o: EngineOptions = {}): Record<string, string> {
  const e: Record<string, string> = {};
  if (o.workers !== undefined) {
    if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > 1024)
      throw new RangeError('workers must be 1..1024');
    e.COROSCOPE_WORKERS = String(o.workers);
  }
  if (o.timeSlice !== undefined) {
    if (!/^\d+(\.\d+)?(ns|us|ms|s)$/.test(o.timeSlice))
      throw new RangeError(`time slice ${o.timeSlice}: expected e.g. 10ms, 500us`);
    e.COROSCOPE_TIME_SLICE = o.timeSlice;
  }
  if (o.preempt !== undefined) e.COROSCOPE_PREEMPT = o.preempt ? '1' : '0';
  if (o.hooks !== undefined) e.COROSCOPE_HOOK = o.hooks ? '1' : '0';
  if (o.stackSize !== undefined) e.COROSCOPE_STACK_SIZE = o.stackSize;
  if (o.migrate !== undefined) e.COROSCOPE_MIGRATE = o.migrate ? '1' : '0';
  if (o.startPaused !== undefined) e.COROSCOPE_START_PAUSED = o.startPaused ? '1' : '0';
  return e;
}

/** Throws ExecError for a command the engine could not observe. */
export function launch(o: LaunchOptions): EngineTarget {
  const cwd = o.cwd ?? process.cwd();
  const file = resolveCommand(o.cmd, cwd, o.env?.PATH ?? process.env.PATH);
  checkExecutable(file);
  const vars: Record<string, string | undefined> = {
    ...process.env,
    COROSCOPE_TRACE: undefined,
    ...engineEnv(o.engine),
    ...o.env,
  };
  const env = Object.entries(vars)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  let target: EngineTarget | undefined;
  const queue: Parameters<EngineTarget['handle']>[0][] = [];
  const native = addon().launch(
    {
      file,
      argv: [o.cmd, ...(o.args ?? [])],
      env,
      cwd,
      preload: enginePath(),
      stdinNull: o.stdin !== 'inherit',
      record: o.record,
      batchEvents: o.batchEvents,
      periodMs: o.periodMs,
      policy: o.policy,
      follow: o.engine?.follow !== false,
      ...(o.events === false ? { events: false } : {}),
    },
    (m) => (target ? target.handle(m) : queue.push(m)),
  );
  target = new EngineTarget(native, 'launched', o.record);
  // Messages cannot arrive before this tick ends (they come through the event loop); drain anyway.
  for (const m of queue.splice(0)) target.handle(m);
  return target;
}

export class AttachError extends Error {
  constructor(
    message: string,
    readonly pid: number,
  ) {
    super(message);
    this.name = 'AttachError';
  }
}

export function attach(
  pid: number,
  opts: { record?: string; batchEvents?: number; periodMs?: number; policy?: RecordingPolicy } = {},
): EngineTarget {
  if (!Number.isInteger(pid) || pid <= 0) throw new AttachError(`${pid} is not a process id`, pid);
  if (!describeProcess(pid)) throw new AttachError(`no process ${pid}`, pid);
  let target: EngineTarget | undefined;
  const queue: Parameters<EngineTarget['handle']>[0][] = [];
  let native;
  try {
    native = addon().attach({ pid, ...opts }, (m) => (target ? target.handle(m) : queue.push(m)));
  } catch (e) {
    throw new AttachError((e as Error).message, pid);
  }
  // The addon sent "hello" and "subscribe": their replies come first.
  target = new EngineTarget(native, 'attached', opts.record, ['hello', 'subscribe']);
  for (const m of queue.splice(0)) target.handle(m);
  return target;
}
