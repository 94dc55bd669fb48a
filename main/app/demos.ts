/**
 * The built-in demos, the one catalogue the app (runDemo, the Start view)
 * and the CLI (`coroscope demo`) share: the engine's examples
 * (native/build/examples), each with one honest sentence taken from its
 * source's top comment and the engine options it is meant for. A companion
 * is a program started beside the demo (the echo demo's load generator);
 * the string PORT_PLACEHOLDER in its args is replaced by the port the demo
 * printed ("listening on 127.0.0.1:<port>"), and the demo is stopped when
 * the companion exits (startCompanion).
 *
 * Invariant: every cmd is an absolute path inside examplesDir(); nothing
 * else can be run through runDemo.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Demo } from '../../preload/api.js';
import { examplesDir } from '../engine/paths.js';
import type { Session } from '../session/session.js';
import { lessonFor } from './lessons.js';

export const PORT_PLACEHOLDER = '{port}';
/** What the echo server prints once it listens (the companion waits for it). */
export const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;

export function listDemos(): Demo[] {
  const ex = (name: string) => join(examplesDir(), name);
  const demos: Demo[] = [
    {
      name: 'sleep_forever',
      title: 'Sleep forever',
      description:
        'One coroutine sleeps forever while another prints a line: the hooked nanosleep parks the sleeper, so the program still ends at once.',
      cmd: ex('sleep_forever'),
      args: [],
    },
    {
      name: 'echo_server',
      title: 'Echo server under load',
      description:
        'A TCP echo server written as plain blocking code, one coroutine per connection, serving 100 client connections (echo_client, started beside it) for a second on a few workers.',
      cmd: ex('echo_server'),
      args: ['--port', '0'],
      companion: {
        cmd: ex('echo_client'),
        args: ['--port', PORT_PLACEHOLDER, '--conns', '100', '--duration', '1', '--warmup', '0'],
        delayMs: 200,
      },
    },
    {
      name: 'blocking_file',
      title: 'Blocking file I/O',
      description:
        'A coroutine stuck in a call the engine cannot park (a raw nanosleep syscall) stalls its whole worker, so the ticker beside it misses its beats; a large file read copied from the page cache holds the worker too.',
      cmd: ex('blocking_file'),
      args: [],
      engine: { workers: 1 },
    },
    {
      name: 'steal_imbalance',
      title: 'Work stealing',
      description:
        'A thousand short CPU-bound coroutines all spawned on one worker get spread over the others by work stealing.',
      cmd: ex('steal_imbalance'),
      args: [],
    },
    {
      name: 'cpu_hog',
      title: 'CPU hog and preemption',
      description:
        'A coroutine spinning in pure computation shares one worker with a ticker; preemption switches it out every time slice so the ticker keeps its 10 ms rhythm.',
      cmd: ex('cpu_hog'),
      args: [],
      engine: { workers: 1 },
    },
    {
      name: 'hello',
      title: 'Hello',
      description:
        'The smallest program using the Coroscope API: one coroutine sleeps a second (parked, not blocking its worker) and prints "hi".',
      cmd: ex('hello'),
      args: [],
    },
  ];
  return demos.map((d) => ({ ...d, lesson: lessonFor(d.name) }));
}

export function findDemo(name: string): Demo | undefined {
  return listDemos().find((d) => d.name === name);
}

/**
 * Runs the demo's companion against session `s` once the demo prints that it listens (after
 * `delayMs`), and stops the demo (SIGTERM, 300 ms after) when the companion exits. A companion
 * that cannot start is a problem of the session. Returns what stops it all early (the session
 * closed first): the timer, and the companion if still running.
 */
export function startCompanion(
  s: Session,
  c: NonNullable<Demo['companion']>,
  stdio: 'ignore' | 'inherit' = 'ignore',
): () => void {
  let child: ChildProcess | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onOutput = () => {
    const m = LISTENING.exec(s.output.text(1));
    if (!m || child || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (s.ended) return;
      child = spawn(
        c.cmd,
        c.args.map((x) => (x === PORT_PLACEHOLDER ? m[1] : x)),
        { stdio: ['ignore', stdio, stdio] },
      );
      child.on('error', (err) => s.emit('problem', `companion ${c.cmd}: ${err.message}`));
      child.on('exit', () => setTimeout(() => s.kill('SIGTERM'), 300).unref());
    }, c.delayMs);
  };
  s.on('output', onOutput);
  return () => {
    s.off('output', onOutput);
    if (timer) clearTimeout(timer);
    if (child && child.exitCode === null) child.kill('SIGTERM');
  };
}
