/**
 * The checks the contract (api.ts) declares its requests' arguments with:
 * requests come from a renderer or a browser and are untrusted. Each check
 * takes an unknown value and returns it typed and normalised, or throws
 * BadRequest naming the first bad field.
 *
 * Invariants: no Node, no DOM, no imports but types (every end compiles
 * this file: the page, the preload, the host); a check never returns a
 * value outside the type it declares, so a handler reached through
 * api.ts's REQUESTS gets exactly the shape the contract states; values
 * are normalised to what the engine parses (durations as whole
 * nanoseconds: its parser takes no fractions).
 */
import type { EngineOptions, EngineSetting, ExportFormat, LaunchRequest, StackRequest, WindowRequest } from './api.js';

/** A request whose arguments do not have the contract's shape (the host answers `bad-request`). */
export class BadRequest extends Error {
  readonly code = 'bad-request' as const;
  constructor(message: string) {
    super(message);
    this.name = 'BadRequest';
  }
}

const MAX_STR = 4096;
const MAX_ARGS = 1024;

// ---- values -----------------------------------------------------------------------------------------

export function str(v: unknown, what: string, max = MAX_STR): string {
  if (typeof v !== 'string') throw new BadRequest(`${what}: expected a string`);
  if (v.length > max) throw new BadRequest(`${what}: longer than ${max} characters`);
  if (v.includes('\0')) throw new BadRequest(`${what}: contains a NUL character`);
  return v;
}

export function int(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new BadRequest(`${what}: expected an integer in ${min}..${max}`);
  return v;
}

export function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new BadRequest(`${what}: expected true or false`);
  return v;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new BadRequest(`${what}: expected an object`);
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const k of Object.keys(o))
    if (!keys.includes(k)) throw new BadRequest(`${what}: unknown field ${JSON.stringify(k)}`);
}

function oneOf<T extends string>(v: unknown, what: string, values: readonly T[]): T {
  if (!(values as readonly unknown[]).includes(v))
    throw new BadRequest(`${what}: expected one of ${values.join(', ')}`);
  return v as T;
}

/** The argument list itself: an array of at most `max` entries. */
export function args(v: unknown, max: number): unknown[] {
  if (!Array.isArray(v)) throw new BadRequest('arguments: expected an array');
  if (v.length > max) throw new BadRequest(`arguments: expected at most ${max}, got ${v.length}`);
  return v;
}

export function absolutePath(v: unknown, what: string): string {
  const p = str(v, what);
  if (!p.startsWith('/')) throw new BadRequest(`${what}: expected an absolute path`);
  return p;
}

// ---- durations ----------------------------------------------------------------------------------------

const DURATION = /^(\d{1,9})(?:\.(\d{1,6}))?(ns|us|ms|s)$/;
const SIZE = /^\d{1,12}[kKmMgG]?$/;
const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };

/** The engine's time-slice range (README "Configuration": 100us..60s; the engine refuses less). */
export const SLICE_MIN_NS = 100_000;
export const SLICE_MAX_NS = 60_000_000_000;
/** Slow motion: the engine takes 0 (off) to 2 s. */
export const DELAY_MAX_NS = 2_000_000_000;

/**
 * A duration like "10ms", "1.5ms", "500us" -> whole nanoseconds (rounded), or
 * undefined when it is not one. The engine's own parser takes integers only,
 * so what is sent on is `${ns}ns` (see normalDuration).
 */
export function durationNs(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const unit = UNIT_NS[m[3]];
  const frac = m[2] ? Number(`0.${m[2]}`) : 0;
  return Math.round(Number(m[1]) * unit + frac * unit);
}

/** A duration checked against [minNs, maxNs], as the integer form the engine parses ("1500000ns"). */
function normalDuration(v: unknown, what: string, minNs: number, maxNs: number, example: string): string {
  const text = str(v, what, 32);
  const ns = durationNs(text);
  if (ns === undefined) throw new BadRequest(`${what}: expected a duration like ${example}`);
  if (ns < minNs || ns > maxNs) throw new BadRequest(`${what}: ${text} is outside ${fmtNs(minNs)}..${fmtNs(maxNs)}`);
  return `${ns}ns`;
}

function fmtNs(ns: number): string {
  if (ns === 0) return '0';
  if (ns % 1e9 === 0) return `${ns / 1e9}s`;
  if (ns % 1e6 === 0) return `${ns / 1e6}ms`;
  if (ns % 1e3 === 0) return `${ns / 1e3}us`;
  return `${ns}ns`;
}

// ---- arguments: one check each, as REQUESTS lists them ----------------------------------------------

export function sessionId(v: unknown): string {
  return str(v, 'session id', 64);
}

export function demoName(v: unknown): string {
  return str(v, 'demo', 64);
}

export function pid(v: unknown): number {
  return int(v, 'pid', 1, 0x3fffffff);
}

export function tracePath(v: unknown): string {
  return absolutePath(v, 'path');
}

export function engineOptions(v: unknown): EngineOptions | undefined {
  if (v === undefined || v === null) return undefined;
  const o = obj(v, 'engine');
  onlyKeys(o, ['workers', 'timeSlice', 'preempt', 'hooks', 'stackSize', 'startPaused', 'follow'], 'engine');
  const r: EngineOptions = {};
  if (o.workers !== undefined) r.workers = int(o.workers, 'engine.workers', 1, 1024);
  if (o.timeSlice !== undefined)
    r.timeSlice = normalDuration(o.timeSlice, 'engine.timeSlice', SLICE_MIN_NS, SLICE_MAX_NS, '10ms or 500us');
  if (o.preempt !== undefined) r.preempt = bool(o.preempt, 'engine.preempt');
  if (o.hooks !== undefined) r.hooks = bool(o.hooks, 'engine.hooks');
  if (o.startPaused !== undefined) r.startPaused = bool(o.startPaused, 'engine.startPaused');
  if (o.follow !== undefined) r.follow = bool(o.follow, 'engine.follow');
  if (o.stackSize !== undefined) {
    r.stackSize = str(o.stackSize, 'engine.stackSize', 32);
    if (!SIZE.test(r.stackSize)) throw new BadRequest('engine.stackSize: expected e.g. 256k, 1M');
  }
  return r;
}

export function launchRequest(v: unknown): LaunchRequest {
  const o = obj(v, 'launch');
  onlyKeys(o, ['cmd', 'args', 'cwd', 'env', 'engine', 'record'], 'launch');
  const cmd = str(o.cmd, 'cmd');
  if (!cmd) throw new BadRequest('cmd: empty');
  const list = o.args === undefined ? [] : o.args;
  if (!Array.isArray(list) || list.length > MAX_ARGS)
    throw new BadRequest(`args: expected an array of at most ${MAX_ARGS} strings`);
  const r: LaunchRequest = { cmd, args: list.map((a, i) => str(a, `args[${i}]`)) };
  if (o.cwd !== undefined) r.cwd = absolutePath(o.cwd, 'cwd');
  if (o.env !== undefined) {
    const env = obj(o.env, 'env');
    const keys = Object.keys(env);
    if (keys.length > MAX_ARGS) throw new BadRequest('env: too many variables');
    r.env = {};
    for (const k of keys) {
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,255}$/.test(k))
        throw new BadRequest(`env: ${JSON.stringify(k.slice(0, 64))} is not a variable name`);
      if (k === 'LD_PRELOAD' || k.startsWith('COROSCOPE_CONTROL'))
        throw new BadRequest(`env: ${k} is set by Coroscope itself`);
      r.env[k] = str(env[k], `env.${k}`);
    }
  }
  if (o.engine !== undefined) r.engine = engineOptions(o.engine);
  if (o.record !== undefined) r.record = bool(o.record, 'record');
  return r;
}

export const SIGNALS = [
  'SIGTERM',
  'SIGINT',
  'SIGKILL',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGSTOP',
  'SIGCONT',
] as const;
export type AllowedSignal = (typeof SIGNALS)[number];

/** A signal a launched target may be sent; none given: SIGTERM. */
export function signal(v: unknown): AllowedSignal {
  return v === undefined ? 'SIGTERM' : oneOf(v, 'signal', SIGNALS);
}

/** A position in a session's event stream (events before it): 0 .. 2^53-1. */
export function seq(v: unknown): number {
  return int(v, 'seq', 0, Number.MAX_SAFE_INTEGER);
}

/** A chunk index of a trace file (chunkSummaries' `from`). */
export function chunkIndex(v: unknown): number {
  return int(v, 'fromChunk', 0, 2 ** 32);
}

/** Most events a readWindow may ask for (8 M: 512 MiB of records at most in flight for one window). */
export const MAX_WINDOW_EVENTS = 8_388_608;

/** A time window to read (readWindow): a tag the page picks, [t0, t1] in ns (t0 <= t1), at most `max` events. */
export function windowRequest(v: unknown): WindowRequest {
  const o = obj(v, 'window');
  onlyKeys(o, ['tag', 't0', 't1', 'max'], 'window');
  const time = (x: unknown, what: string) => {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < 0 || x > Number.MAX_SAFE_INTEGER)
      throw new BadRequest(`${what}: expected a time in ns (a number >= 0)`);
    return Math.floor(x);
  };
  const t0 = time(o.t0, 'window.t0');
  const t1 = time(o.t1, 'window.t1');
  if (t1 < t0) throw new BadRequest('window: t1 is before t0');
  return { tag: int(o.tag, 'window.tag', 0, 2 ** 31 - 1), t0, t1, max: int(o.max, 'window.max', 1, MAX_WINDOW_EVENTS) };
}

export function stepCount(v: unknown): number {
  return int(v, 'n', 1, 1_000_000);
}

/**
 * One run-time engine setting. Durations go to the engine as whole nanoseconds; preempt and hooks
 * also take 0 / 1; a delay of 0 (the number) turns slow motion off.
 */
export function engineSetting(v: unknown): EngineSetting {
  const o = obj(v, 'setting');
  onlyKeys(o, ['key', 'value'], 'setting');
  if (o.key === 'slice')
    return { key: 'slice', value: normalDuration(o.value, 'time slice', SLICE_MIN_NS, SLICE_MAX_NS, '10ms') };
  if (o.key === 'delay') {
    const value =
      o.value === 0 ? '0ns' : normalDuration(o.value, 'slow-motion delay', 0, DELAY_MAX_NS, '250ms (0ms: off)');
    return { key: 'delay', value };
  }
  if (o.key === 'preempt' || o.key === 'hooks') {
    const value = o.value === 0 || o.value === 1 ? o.value === 1 : bool(o.value, 'value');
    return { key: o.key, value };
  }
  throw new BadRequest('key: expected slice, preempt, hooks or delay');
}

export const EXPORT_FORMATS = ['perfetto', 'chrome-json', 'calls-csv', 'native'] as const;

export function exportFormat(v: unknown): ExportFormat {
  return oneOf(v, 'format', EXPORT_FORMATS);
}

/** A stack of a session to symbolise (stackFrames): its string id (CO_STACK a0) and where it was taken (a1). */
export function stackRequest(v: unknown): StackRequest {
  const o = obj(v, 'stack');
  onlyKeys(o, ['stack', 'why'], 'stack');
  return { stack: int(o.stack, 'stack.stack', 1, Number.MAX_SAFE_INTEGER), why: int(o.why, 'stack.why', 1, 255) };
}
