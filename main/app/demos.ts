/**
 * The built-in demos: the engine's examples (native/build/examples), each
 * with one honest sentence taken from its source's top comment. A companion
 * is a program started beside the demo (the echo demo's load generator);
 * the string PORT_PLACEHOLDER in its args is replaced by the port the demo
 * printed ("listening on 127.0.0.1:<port>").
 *
 * Invariant: every cmd is an absolute path inside examplesDir(); nothing
 * else can be run through runDemo.
 */
import { join } from 'node:path';
import type { Demo } from '../../preload/api.js';
import { examplesDir } from '../engine/paths.js';
import { lessonFor } from './lessons.js';

export const PORT_PLACEHOLDER = '{port}';
/** What the echo server prints once it listens (the companion waits for it). */
export const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;

export function listDemos(): Demo[] {
  const ex = (name: string) => join(examplesDir(), name);
  const demos: Demo[] = [
    {
      name: 'sleep_forever', title: 'Sleep forever',
      description: 'One coroutine sleeps forever while another prints a line: the hooked nanosleep parks the sleeper, so the program still ends at once.',
      cmd: ex('sleep_forever'), args: [],
    },
    {
      name: 'echo_server', title: 'Echo server under load',
      description: 'A TCP echo server written as plain blocking code, one coroutine per connection, serving 200 client coroutines for 3 seconds on a few workers.',
      cmd: ex('echo_server'), args: ['--port', '0'],
      companion: { cmd: ex('echo_client'), args: ['--port', PORT_PLACEHOLDER, '--conns', '100', '--duration', '1', '--warmup', '0'], delayMs: 200 },
    },
    {
      name: 'blocking_file', title: 'Blocking file I/O',
      description: 'A coroutine stuck in a call the engine cannot park (a raw nanosleep syscall) stalls its whole worker, so the ticker beside it misses its beats; a large file read copied from the page cache holds the worker too.',
      cmd: ex('blocking_file'), args: [], engine: { workers: 1 },
    },
    {
      name: 'steal_imbalance', title: 'Work stealing',
      description: 'A thousand short CPU-bound coroutines all spawned on one worker get spread over the others by work stealing.',
      cmd: ex('steal_imbalance'), args: [],
    },
    {
      name: 'cpu_hog', title: 'CPU hog and preemption',
      description: 'A coroutine spinning in pure computation shares one worker with a ticker; preemption switches it out every time slice so the ticker keeps its 10 ms rhythm.',
      cmd: ex('cpu_hog'), args: [], engine: { workers: 1 },
    },
    {
      name: 'hello', title: 'Hello',
      description: 'The smallest program using the Coroscope API: one coroutine sleeps a second (parked, not blocking its worker) and prints "hi".',
      cmd: ex('hello'), args: [],
    },
  ];
  return demos.map((d) => ({ ...d, lesson: lessonFor(d.name) }));
}

export function findDemo(name: string): Demo | undefined {
  return listDemos().find((d) => d.name === name);
}
