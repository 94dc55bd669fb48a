// stackFrames: the host symbolises a stack recorded in a session from the session's own
// recording (MAPPING records and the objects' files), for a loaded trace (the host reads none
// of its events) and for a live session (which ingests every batch).
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind } from '../../core/events/schema.js';
import { TraceReader } from '../session/traceReader.js';
import { example, scratch } from '../testing/helpers.js';
import { AppHost } from './host.js';

let tmp: ReturnType<typeof scratch>;
let host: AppHost;
before(() => {
  tmp = scratch('stacks');
  process.env.COROSCOPE_RECORDINGS = join(tmp.dir, 'rec');
  host = new AppHost();
});
after(async () => {
  await host.close();
  delete process.env.COROSCOPE_RECORDINGS;
  tmp.cleanup();
});

/** The CO_STACK records of a trace file: [stack string id, why]. */
function stacksOf(path: string): [number, number][] {
  const r = new TraceReader(path);
  const out: [number, number][] = [];
  for (const b of r.batches())
    for (let i = 0; i < b.raw.length; i++)
      if (b.raw.kind(i) === Kind.CO_STACK) out.push([b.raw.a(i, 0), b.raw.a(i, 1)]);
  r.close();
  return out;
}

const helloSleepLine =
  readFileSync(join(import.meta.dirname, '..', '..', 'native', 'examples', 'hello.c'), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes('sleep(1);')) + 1;

test('a loaded recording: the hello coroutine parked in sleep() at hello.c, in hello()', async () => {
  const file = join(tmp.dir, 'hello.cstrace');
  execFileSync(example('hello'), { env: { ...process.env, COROSCOPE_TRACE: file, COROSCOPE_WORKERS: '1' } });
  const stacks = stacksOf(file);
  assert.equal(stacks.length, 1, 'one park, one stack');
  const r = await host.handle({ id: 1, name: 'openTrace', args: [file] });
  assert.ok(r.ok);
  const id = (r as { result: { id: string } }).result.id;
  const f = await host.handle({ id: 2, name: 'stackFrames', args: [id, { stack: stacks[0][0], why: stacks[0][1] }] });
  assert.ok(f.ok, JSON.stringify(f));
  const frames = (f as { result: { function: string; file: string; line: number }[] }).result;
  assert.equal(frames[0].function, 'hello');
  assert.match(frames[0].file, /hello\.c$/);
  assert.equal(frames[0].line, helloSleepLine);
  // A stack id the session never recorded: no frames, not an error.
  const none = await host.handle({ id: 3, name: 'stackFrames', args: [id, { stack: 999999, why: 1 }] });
  assert.deepEqual(none, { id: 3, ok: true, result: [] });
});
