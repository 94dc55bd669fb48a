// Insights: they fire on the programs that have the problems (a worker
// blocked in a call the engine cannot park; a hog with preemption off; a
// join cycle; EINTR; drops) and stay silent on healthy ones (sleep_forever,
// the echo demo, a hog that preemption keeps in check).
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
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

async function check(
  name: string,
  args: string[],
  engine: EngineOptions,
  finder = new InsightFinder(),
): Promise<Insight[]> {
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
const loadTolerant = () => new InsightFinder({ longRunNs: 200e6, imbalanceWaitNs: 200e6, deschedNs: 200e6 });

test('blocking_file: the reader blocks its worker in the kernel for ~500 ms, and the insight names the call', async () => {
  const found = await check('blocking_file', [], { workers: 1 });
  const blocked = found.filter((i) => i.kind === 'blocked-worker');
  assert.ok(blocked.length >= 1, JSON.stringify(found));
  assert.match(blocked[0].coName ?? '', /reader/);
  assert.equal(blocked[0].worker, 0);
  assert.ok(blocked[0].durationNs! >= 450e6, `${blocked[0].durationNs}`);
  // The monitor read the thread's system call: a raw nanosleep, not a long run.
  assert.match(blocked[0].title, /worker 0 blocked .* in nanosleep\(\)/);
  assert.match(blocked[0].advice, /raw system call/);
  assert.equal(found.filter((i) => i.kind === 'long-run').length, 0, JSON.stringify(found));
});

test("stdio_reader: fscanf on a FIFO blocks the worker in a read() no hook sees, named with the FIFO's path", async () => {
  const fifo = join(tmp.dir, 'numbers.fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const found = await check('stdio_reader', [fifo], { workers: 1 });
  const blocked = found.filter((i) => i.kind === 'blocked-worker');
  assert.ok(blocked.length >= 1, JSON.stringify(found));
  assert.match(blocked[0].title, new RegExp(`blocked .* in read\\(\\) on ${fifo.replace(/[.]/g, '\\.')}`));
  assert.match(blocked[0].coName ?? '', /reader/);
  assert.ok(blocked[0].durationNs! >= 300e6, `${blocked[0].durationNs}`); // five numbers, 100 ms apart
  assert.match(blocked[0].advice, /pipe or FIFO/);
});

test('a worker descheduled on purpose (a busy process pinned to its CPU): descheduled, never long-run', async () => {
  const cpu = String(cpus().length - 1);
  const hog = spawn('taskset', ['-c', cpu, 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' });
  try {
    // 15 runs of 6 ms CPU each, sharing one CPU with the hog: each run's wall time is
    // well above 10 ms, its CPU time well below. Preemption off: nothing else ends a run.
    const f = new InsightFinder({ longRunNs: 10e6, deschedNs: 1e6 });
    const found = await check('contended', ['--cpu', cpu, '15', '6'], { workers: 1, preempt: false }, f);
    assert.equal(found.filter((i) => i.kind === 'long-run').length, 0, JSON.stringify(found));
    const d = found.filter((i) => i.kind === 'descheduled');
    assert.equal(d.length, 1, JSON.stringify(found));
    assert.equal(d[0].worker, 0);
    assert.match(d[0].coName ?? '', /handler/);
    assert.match(d[0].title, /the OS descheduled worker 0 for /);
    assert.ok(d[0].durationNs! > 10e6 && d[0].cpuNs! < 8e6 && d[0].offCpuNs! > 3e6, JSON.stringify(d[0]));
    assert.match(d[0].advice, /CPU contention/);
  } finally {
    hog.kill('SIGKILL');
  }
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
  const port = await new Promise<string>((res) =>
    server.on('output', () => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(server.output.text(1));
      if (m) res(m[1]);
    }),
  );
  const client = Session.launch({
    cmd: example('echo_client'),
    args: ['--port', port, '--conns', '100', '--duration', '0.5', '--warmup', '0'],
    record: false,
  });
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

test('from records: CPU time decides long-run; stalls are named, summed per call and ranked longest first', () => {
  const strings = new StringTable();
  const w = new RawEventWriter();
  const ms = 1e6;
  // co 1: 30 ms wall, 25 ms of it taken by the OS (5 ms CPU): not a long run, descheduled.
  w.push({ ts: 0, kind: Kind.CO_RUN, worker: 0, co: 1 });
  w.push({ ts: 30 * ms, kind: Kind.OFFCPU, worker: 0, co: 1, a: [2 * ms, 25 * ms, 1] });
  w.push({ ts: 30 * ms, kind: Kind.CO_SUSPEND, worker: 0, co: 1, a: [SuspendWhy.CALL, 0, -1, 0, 0] });
  // co 2: 50 ms wall, 2 ms off the CPU: 48 ms of CPU, a long run.
  w.push({ ts: 40 * ms, kind: Kind.CO_RUN, worker: 0, co: 2 });
  w.push({ ts: 90 * ms, kind: Kind.OFFCPU, worker: 0, co: 2, a: [50 * ms, 2 * ms, 1] });
  w.push({ ts: 90 * ms, kind: Kind.CO_SUSPEND, worker: 0, co: 2, a: [SuspendWhy.CALL, 0, -1, 0, 0] });
  // co 3 on worker 1: two stalls in read() on a file (10 + 30 ms), one in nanosleep (35 ms).
  const run3 = (t0: number, nr: number, fd: number, len: number) => {
    w.push({ ts: t0, kind: Kind.CO_RUN, worker: 1, co: 3 });
    w.push({
      ts: t0 + 20 * ms,
      kind: Kind.STALL,
      worker: 0xffff,
      co: 3,
      a: [1, nr + (fd >= 0 ? 8 * 2 ** 32 : 0), fd, fd >= 0 ? 7 : 0, t0],
    });
    w.push({ ts: t0 + len, kind: Kind.STALL_END, worker: 0xffff, co: 3, a: [1, nr, fd, len, t0] });
    w.push({ ts: t0 + len, kind: Kind.CO_SUSPEND, worker: 1, co: 3, a: [SuspendWhy.CALL, 0, -1, 0, 0] });
  };
  run3(100 * ms, 0, 5, 10 * ms);
  run3(200 * ms, 35, -1, 35 * ms);
  run3(300 * ms, 0, 5, 30 * ms);
  const f = new InsightFinder({ deschedNs: 10 * ms });
  strings.set(7, '/var/lib/app.db');
  f.push(new RawEvents(w.bytes()), strings);
  const found = f.finish();
  assert.deepEqual(
    found.map((i) => [i.kind, i.co]),
    [
      ['descheduled', 1],
      ['long-run', 2],
      ['blocked-worker', 3],
      ['blocked-worker', 3],
    ],
  );
  assert.equal(found[0].cpuNs, 5 * ms);
  assert.equal(found[1].cpuNs, 48 * ms);
  assert.match(found[2].title, /^worker 1 blocked 40 ms in read\(\) on \/var\/lib\/app\.db \(2 times, longest 30 ms\)/);
  assert.match(found[2].advice, /Regular-file reads cannot be parked/);
  assert.match(found[3].title, /^worker 1 blocked 35 ms in nanosleep\(\)/);
});

test('a stall is reported while it lasts (live), then with its total', () => {
  const strings = new StringTable();
  strings.set(3, 'pipe:[77]');
  const f = new InsightFinder();
  const w = new RawEventWriter();
  w.push({ ts: 0, kind: Kind.CO_RUN, worker: 0, co: 4 });
  w.push({ ts: 25e6, kind: Kind.STALL, worker: 0xffff, co: 4, a: [0, 0 + 2 ** 32, 6, 3, 0] });
  f.push(new RawEvents(w.bytes()), strings);
  assert.equal(f.insights.length, 1);
  assert.match(f.insights[0].title, /^worker 0 blocked 25 ms in read\(\) on pipe:\[77\], and is still blocked there/);
  assert.match(f.insights[0].advice, /pipe or FIFO/);
  const w2 = new RawEventWriter();
  w2.push({ ts: 70e6, kind: Kind.STALL_END, worker: 0xffff, co: 4, a: [0, 0, 6, 70e6, 0] });
  w2.push({ ts: 70e6, kind: Kind.CO_SUSPEND, worker: 0, co: 4, a: [SuspendWhy.CALL, 0, -1, 0, 0] });
  f.push(new RawEvents(w2.bytes()), strings);
  const found = f.finish();
  assert.equal(found.length, 1);
  assert.equal(found[0].durationNs, 70e6);
  assert.match(found[0].title, /^worker 0 blocked 70 ms in read\(\) on pipe:\[77\]: a call the engine cannot park$/);
});

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
    w.push({
      ts: 10,
      kind: Kind.CALL,
      worker: 0,
      co: 3,
      a: [hookId('read') | CallFlag.IN_CO, 5, -1, 4 + 4096 * 2 ** 32, 100],
    });
    w.push({
      ts: 11,
      kind: Kind.CALL,
      worker: 0,
      co: 3,
      a: [hookId('write') | CallFlag.IN_CO, 5, 100, 1000 * 2 ** 32, 100],
    });
    w.push({
      ts: 12,
      kind: Kind.CALL,
      worker: 0,
      co: 3,
      a: [hookId('read') | CallFlag.IN_CO, 5, 10, 4096 * 2 ** 32, 100],
    });
    w.push({ ts: 13, kind: Kind.DROP, worker: 1, tid: 77, a: [500, 1, 12] });
  });
  assert.deepEqual(
    found.map((i) => i.kind),
    ['eintr', 'short-write', 'drops'],
  );
  assert.match(found[1].title, /wrote 100 of 1000 bytes/);
  assert.match(found[2].title, /500 events/);
});

test('a followed process killed by a signal is a finding, named with its pid, program and signal', () => {
  const w = new RawEventWriter();
  w.push({ ts: 1, kind: Kind.PROCESS, tid: 100, a: [100, 0, 0, 0, 0] });
  w.push({ ts: 1, kind: Kind.LINEAGE, tid: 100, a: [100, 50, 0, 0] });
  w.push({ ts: 2, kind: Kind.PROCESS, tid: 101, a: [101, 0, 0, 0, 0] });
  w.push({ ts: 2, kind: Kind.LINEAGE, tid: 101, a: [101, 100, 1, 1] });
  w.push({ ts: 3, kind: Kind.PROCESS_EXIT, tid: 100, a: [101, 0, 0xffffffff, 11, 1] }); // reaped: SIGSEGV
  w.push({ ts: 4, kind: Kind.PROCESS_EXIT, tid: 100, a: [100, 0, 0, 0, 0] }); // the parent exits by itself
  const f = new InsightFinder();
  f.push(new RawEvents(w.bytes()), new StringTable());
  const found = f.finish().filter((i) => i.kind === 'killed-by-signal');
  assert.deepEqual(
    found.map((i) => i.title),
    ['process pid 101 (-) was killed by SIGSEGV'],
  );
});

test('idle-imbalance pairs a waiting coroutine only with idle workers of its own process (workers are numbered per process)', () => {
  const run = (idleSerial: number): Insight[] => {
    const w = new RawEventWriter();
    w.push({ ts: 0, kind: Kind.PROCESS, tid: 100, a: [100, 0, 0, 0, 0] });
    w.push({ ts: 0, kind: Kind.LINEAGE, tid: 100, a: [100, 50, 0, 0] });
    w.push({ ts: 0, kind: Kind.THREAD, tid: 110, a: [110, 0, 0, 100, 0] }); // pid 100's worker 0
    w.push({ ts: 0, kind: Kind.THREAD, tid: 111, a: [111, 0, 1, 100, 0] }); // pid 100's worker 1
    w.push({ ts: 0, kind: Kind.PROCESS, tid: 200, a: [200, 0, 0, 0, 0] });
    w.push({ ts: 0, kind: Kind.LINEAGE, tid: 200, a: [200, 100, 1, 1] });
    w.push({ ts: 0, kind: Kind.THREAD, tid: 211, a: [211, 0, 1, 200, 1] }); // pid 200's worker 1
    // worker 1 of one process or the other is idle from 0 on
    w.push({ ts: 0, kind: Kind.WORKER_IDLE, tid: idleSerial ? 211 : 111, worker: 1, a: [0, 0, 0, 0, 0] });
    // a coroutine of pid 100 waits 300 ms in worker 0's queue
    w.push({ ts: 1e6, kind: Kind.CO_READY, tid: 110, worker: 0, co: 5, a: [0, 0, 0, 1, 0] });
    w.push({ ts: 301e6, kind: Kind.CO_RUN, tid: 110, worker: 0, co: 5, a: [1, 0, 0, 0, 0] });
    const f = new InsightFinder({ imbalanceWaitNs: 100e6 });
    f.push(new RawEvents(w.bytes()), new StringTable());
    return f.finish().filter((i) => i.kind === 'idle-imbalance');
  };
  const same = run(0);
  assert.equal(same.length, 1, "its own process's idle worker 1 could have run it");
  assert.equal(same[0].worker, 1);
  assert.equal(same[0].pid, undefined);
  assert.match(same[0].title, /in worker 0's run queue while worker 1 was idle/);
  assert.deepEqual(run(1), [], "another process's idle worker 1 could not have");
});
