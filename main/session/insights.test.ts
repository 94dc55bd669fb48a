// Insights: they fire on the programs that have the problems (a worker
// blocked in a call the engine cannot park; a hog with preemption off; a
// join cycle; EINTR; drops) and stay silent on healthy ones (sleep_forever,
// the echo demo, a hog that preemption keeps in check).
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Session } from './session.js';
import { TraceReader } from './traceReader.js';
import { InsightFinder, type Insight } from '../../core/insights/insights.js';
import { RawEvents, RawEventWriter } from '../../core/events/rawEvents.js';
import { StringTable } from '../../core/events/strings.js';
import { CallFlag, Kind, SuspendWhy, hookId } from '../../core/events/schema.js';
import type { EngineOptions } from '../engine/launch.js';
import { example, scratch } from '../testing/helpers.js';

let tmp: ReturnType<typeof scratch>;
before(() => (tmp = scratch('insights')));
after(() => tmp.cleanup());

async function check(name: string, args: string[], engine: EngineOptions, finder = new InsightFinder()): Promise<Insight[]> {
  const rec = join(tmp.dir, `${name}-${Object.values(engine).join('-')}.cstrace`);
  const s = Session.launch({ cmd: example(name), args, engine, record: rec });
  await s.whenEnded();
  assert.equal(s.status().exit?.code, 0);
  const r = new TraceReader(rec);
  for (const b of r.batches()) finder.push(b.raw, b.strings);
  r.close();
  return finder.finish();
}

/* Healthy programs on a loaded machine: the OS may deschedule a worker for
 * tens of ms in the middle of a run or a wait, which is not the program's
 * doing. These thresholds still catch what the checks are about (a hog that
 * is never preempted runs its whole 300 ms; a lost wakeup waits forever). */
const loadTolerant = () => new InsightFinder({ longRunNs: 200e6, imbalanceWaitNs: 200e6 });

test('blocking_file: the reader blocks its worker in the kernel for ~500 ms, and the insight names it', async () => {
  const found = await check('blocking_file', [], { workers: 1 });
  const blocked = found.filter((i) => i.kind === 'blocked-worker');
  assert.ok(blocked.length >= 1, JSON.stringify(found));
  assert.match(blocked[0].coName ?? '', /reader/);
  assert.equal(blocked[0].worker, 0);
  assert.ok(blocked[0].durationNs! >= 450e6, `${blocked[0].durationNs}`);
});

test('cpu_hog with preemption off: the hog ran its whole time without yielding', async () => {
  const found = await check('cpu_hog', ['0.3'], { workers: 1, preempt: false });
  const long = found.filter((i) => i.kind === 'long-run');
  assert.equal(long.length, 1, JSON.stringify(found));
  assert.match(long[0].coName ?? '', /hog/);
  assert.match(long[0].title, /preemption is off/);
  assert.ok(long[0].durationNs! >= 250e6);
});

test('silent on healthy programs: cpu_hog with preemption on, sleep_forever, the echo demo', async () => {
  assert.deepEqual(await check('cpu_hog', ['0.3'], { workers: 1 }, loadTolerant()), []);
  assert.deepEqual(await check('sleep_forever', [], {}, loadTolerant()), []);
  const rec = join(tmp.dir, 'echo.cstrace');
  const server = Session.launch({ cmd: example('echo_server'), args: ['--port', '0'], record: rec });
  const port = await new Promise<string>((res) => server.on('output', () => {
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(server.output.text(1));
    if (m) res(m[1]);
  }));
  const client = Session.launch({ cmd: example('echo_client'), args: ['--port', port, '--conns', '100', '--duration', '0.5', '--warmup', '0'], record: false });
  await client.whenEnded();
  server.kill('SIGTERM');
  await server.whenEnded();
  const r = new TraceReader(rec);
  const f = loadTolerant();
  for (const b of r.batches()) f.push(b.raw, b.strings);
  r.close();
  assert.deepEqual(f.finish(), []);
});

function synthetic(build: (w: RawEventWriter) => void): Insight[] {
  const w = new RawEventWriter();
  build(w);
  const f = new InsightFinder();
  f.push(new RawEvents(w.bytes()), new StringTable());
  return f.finish();
}

test('a join cycle is a deadlock, named with both coroutines', () => {
  const found = synthetic((w) => {
    w.push({ ts: 1, kind: Kind.CO_RUN, worker: 0, co: 1 });
    w.push({ ts: 2, kind: Kind.CO_SUSPEND, worker: 0, co: 1, a: [SuspendWhy.JOIN, 0, 2, 0, 0] });
    w.push({ ts: 3, kind: Kind.CO_RUN, worker: 0, co: 2 });
    w.push({ ts: 4, kind: Kind.CO_SUSPEND, worker: 0, co: 2, a: [SuspendWhy.JOIN, 0, 1, 0, 0] });
  });
  assert.equal(found.length, 1);
  assert.equal(found[0].kind, 'join-cycle');
  assert.equal(found[0].co, 2);
});

test('EINTR and short writes that reached a coroutine, and dropped events, are reported', () => {
  const found = synthetic((w) => {
    w.push({ ts: 10, kind: Kind.CALL, worker: 0, co: 3, a: [hookId('read') | CallFlag.IN_CO, 5, -1, 4 + 4096 * 2 ** 32, 100] });
    w.push({ ts: 11, kind: Kind.CALL, worker: 0, co: 3, a: [hookId('write') | CallFlag.IN_CO, 5, 100, 1000 * 2 ** 32, 100] });
    w.push({ ts: 12, kind: Kind.CALL, worker: 0, co: 3, a: [hookId('read') | CallFlag.IN_CO, 5, 10, 4096 * 2 ** 32, 100] });
    w.push({ ts: 13, kind: Kind.DROP, worker: 1, tid: 77, a: [500, 1, 12] });
  });
  assert.deepEqual(found.map((i) => i.kind), ['eintr', 'short-write', 'drops']);
  assert.match(found[1].title, /wrote 100 of 1000 bytes/);
  assert.match(found[2].title, /500 events/);
});
