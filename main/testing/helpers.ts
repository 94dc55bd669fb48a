/**
 * Shared by the core's tests: the native build, a private runtime directory
 * (control sockets of the engines the tests start), collecting a target's
 * events and output until it ends, an echo server started by hand.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kindName } from '../../core/events/schema.js';
import { RawEvents } from '../../core/events/rawEvents.js';
import type { EngineTarget, ExitInfo } from '../engine/target.js';
import { enginePath, nativeDir } from '../engine/paths.js';

export const build = nativeDir();
export const example = (name: string): string => join(build, 'examples', name);

/** A temporary directory, and XDG_RUNTIME_DIR inside it, removed by cleanup(). */
export function scratch(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `coroscope-${prefix}-`));
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
  const old = process.env.XDG_RUNTIME_DIR;
  process.env.XDG_RUNTIME_DIR = join(dir, 'run');
  return {
    dir,
    cleanup() {
      if (old === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = old;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Collected {
  events: { ts: number; kind: string; worker: number; tid: number; co: number; a: number[] }[];
  strings: Map<number, string>;
  stdout: string;
  stderr: string;
  exit?: ExitInfo;
  problems: string[];
}

/** Everything a target produces, until 'end' (or the timeout). */
export function collect(t: EngineTarget, timeoutMs = 15000): Promise<Collected> {
  const c: Collected = { events: [], strings: new Map(), stdout: '', stderr: '', problems: [] };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`target ${t.pid} did not end within ${timeoutMs} ms`)), timeoutMs);
    t.on('events', (raw: RawEvents, strings) => {
      for (const [id, s] of strings) c.strings.set(id, s);
      for (let i = 0; i < raw.length; i++)
        c.events.push({
          ts: raw.ts(i),
          kind: kindName(raw.kind(i)) ?? String(raw.kind(i)),
          worker: raw.worker(i),
          tid: raw.tid(i),
          co: raw.co(i),
          a: [0, 1, 2, 3, 4].map((k) => raw.signed(i, k)),
        });
    });
    t.on('output', (s, d) => {
      if (s === 1) c.stdout += Buffer.from(d).toString();
      else c.stderr += Buffer.from(d).toString();
    });
    t.on('exit', (e) => (c.exit = e));
    t.on('problem', (m) => c.problems.push(m));
    t.on('end', () => {
      clearTimeout(timer);
      resolve(c);
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * echo_server started by hand (not launched by an inspector) with the engine preloaded and
 * `env` added, listening on a free port: the process, and its port once it says so.
 */
export async function echoServerByHand(
  env: Record<string, string> = {},
): Promise<{ server: ChildProcess; port: string }> {
  const server = spawn(example('echo_server'), ['--port', '0'], {
    env: { ...process.env, LD_PRELOAD: enginePath(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stderr!.resume();
  const port = await new Promise<string>((res, rej) => {
    let out = '';
    server.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) res(m[1]);
    });
    server.on('exit', () => rej(new Error('echo_server exited early')));
  });
  return { server, port };
}
