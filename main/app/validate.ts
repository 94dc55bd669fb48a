/**
 * Argument checks for every request: requests come from a renderer or a
 * browser and are untrusted. Each checker returns the typed, normalised
 * arguments or throws HostError('bad-request') naming the first bad field.
 *
 * Invariant: a request reaching AppHost's handlers has exactly the shape
 * preload/api.ts declares (no extra trust in anything else).
 */
import type { ControlCommand, EngineOptions, ExportFormat, LaunchRequest } from '../../preload/api.js';
import { badRequest } from './errors.js';

const MAX_STR = 4096;
const MAX_ARGS = 1024;

export function str(v: unknown, what: string, max = MAX_STR): string {
  if (typeof v !== 'string') throw badRequest(`${what}: expected a string`);
  if (v.length > max) throw badRequest(`${what}: longer than ${max} characters`);
  if (v.includes('\0')) throw badRequest(`${what}: contains a NUL character`);
  return v;
}

export function int(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw badRequest(`${what}: expected an integer in ${min}..${max}`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw badRequest(`${what}: expected true or false`);
  return v;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest(`${what}: expected an object`);
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw badRequest(`${what}: unknown field ${JSON.stringify(k)}`);
}

/** The argument list itself: an array of at most `max` entries. */
export function argList(v: unknown, min: number, max: number): unknown[] {
  if (!Array.isArray(v)) throw badRequest('arguments: expected an array');
  if (v.length < min || v.length > max) throw badRequest(`arguments: expected ${min}..${max}, got ${v.length}`);
  return v;
}

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
  if (ns === undefined) throw badRequest(`${what}: expected a duration like ${example}`);
  if (ns < minNs || ns > maxNs) throw badRequest(`${what}: ${text} is outside ${fmtNs(minNs)}..${fmtNs(maxNs)}`);
  return `${ns}ns`;
}

function fmtNs(ns: number): string {
  if (ns === 0) return '0';
  if (ns % 1e9 === 0) return `${ns / 1e9}s`;
  if (ns % 1e6 === 0) return `${ns / 1e6}ms`;
  if (ns % 1e3 === 0) return `${ns / 1e3}us`;
  return `${ns}ns`;
}

export function engineOptions(v: unknown): EngineOptions | undefined {
  if (v === undefined || v === null) return undefined;
  const o = obj(v, 'engine');
  onlyKeys(o, ['workers', 'timeSlice', 'preempt', 'hooks', 'stackSize', 'startPaused'], 'engine');
  const r: EngineOptions = {};
  if (o.workers !== undefined) r.workers = int(o.workers, 'engine.workers', 1, 1024);
  if (o.timeSlice !== undefined) r.timeSlice = normalDuration(o.timeSlice, 'engine.timeSlice', SLICE_MIN_NS, SLICE_MAX_NS, '10ms or 500us');
  if (o.preempt !== undefined) r.preempt = bool(o.preempt, 'engine.preempt');
  if (o.hooks !== undefined) r.hooks = bool(o.hooks, 'engine.hooks');
  if (o.startPaused !== undefined) r.startPaused = bool(o.startPaused, 'engine.startPaused');
  if (o.stackSize !== undefined) {
    r.stackSize = str(o.stackSize, 'engine.stackSize', 32);
    if (!SIZE.test(r.stackSize)) throw badRequest('engine.stackSize: expected e.g. 256k, 1M');
  }
  return r;
}

export function launchRequest(v: unknown): LaunchRequest {
  const o = obj(v, 'launch');
  onlyKeys(o, ['cmd', 'args', 'cwd', 'env', 'engine', 'record'], 'launch');
  const cmd = str(o.cmd, 'cmd');
  if (!cmd) throw badRequest('cmd: empty');
  const args = o.args === undefined ? [] : o.args;
  if (!Array.isArray(args) || args.length > MAX_ARGS) throw badRequest(`args: expected an array of at most ${MAX_ARGS} strings`);
  const r: LaunchRequest = { cmd, args: args.map((a, i) => str(a, `args[${i}]`)) };
  if (o.cwd !== undefined) {
    r.cwd = str(o.cwd, 'cwd');
    if (!r.cwd.startsWith('/')) throw badRequest('cwd: expected an absolute path');
  }
  if (o.env !== undefined) {
    const env = obj(o.env, 'env');
    const keys = Object.keys(env);
    if (keys.length > MAX_ARGS) throw badRequest('env: too many variables');
    r.env = {};
    for (const k of keys) {
      if (!/^[A-Za-z_][A-Za-z0-9_]{0,255}$/.test(k)) throw badRequest(`env: ${JSON.stringify(k.slice(0, 64))} is not a variable name`);
      if (k === 'LD_PRELOAD' || k.startsWith('COROSCOPE_CONTROL')) throw badRequest(`env: ${k} is set by Coroscope itself`);
      r.env[k] = str(env[k], `env.${k}`);
    }
  }
  if (o.engine !== undefined) r.engine = engineOptions(o.engine);
  if (o.record !== undefined) r.record = bool(o.record, 'record');
  return r;
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGKILL', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGSTOP', 'SIGCONT'] as const;
export type AllowedSignal = (typeof SIGNALS)[number];

export function signal(v: unknown): AllowedSignal {
  if (v === undefined) return 'SIGTERM';
  if (typeof v !== 'string' || !(SIGNALS as readonly string[]).includes(v)) throw badRequest(`signal: expected one of ${SIGNALS.join(', ')}`);
  return v as AllowedSignal;
}

export function controlCommand(v: unknown): ControlCommand {
  const o = obj(v, 'command');
  switch (o.op) {
    case 'pause': case 'resume': case 'snapshot': case 'hello':
      onlyKeys(o, ['op'], 'command');
      return { op: o.op };
    case 'step':
      onlyKeys(o, ['op', 'n'], 'command');
      return { op: 'step', n: int(o.n, 'n', 1, 1_000_000) };
    case 'set': {
      onlyKeys(o, ['op', 'key', 'value'], 'command');
      // Durations go to the engine as whole nanoseconds (its parser takes no fractions).
      if (o.key === 'slice')
        return { op: 'set', key: 'slice', value: normalDuration(o.value, 'time slice', SLICE_MIN_NS, SLICE_MAX_NS, '10ms') };
      if (o.key === 'delay') {
        const value = o.value === 0 ? '0ns' : normalDuration(o.value, 'slow-motion delay', 0, DELAY_MAX_NS, '250ms (0ms: off)');
        return { op: 'set', key: 'delay', value };
      }
      if (o.key === 'preempt' || o.key === 'hooks') {
        const value = o.value === 0 || o.value === 1 ? o.value === 1 : bool(o.value, 'value');
        return { op: 'set', key: o.key, value };
      }
      throw badRequest('key: expected slice, preempt, hooks or delay');
    }
    default:
      throw badRequest('op: expected pause, resume, step, set, snapshot or hello');
  }
}

const FORMATS: readonly ExportFormat[] = ['perfetto', 'chrome-json', 'calls-csv', 'native'];

export function exportFormat(v: unknown): ExportFormat {
  if (!(FORMATS as readonly unknown[]).includes(v)) throw badRequest(`format: expected one of ${FORMATS.join(', ')}`);
  return v as ExportFormat;
}

export function sessionId(v: unknown): string {
  return str(v, 'session id', 64);
}
