/**
 * ProcessMeta over a stream of several processes (a session that followed
 * children: docs/events.md "Several processes in one stream"), and over one
 * of events version 1 (one process, no LINEAGE).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawEvents, RawEventWriter } from '../events/rawEvents.js';
import { EXIT_CORE, ExitSource, Kind, SERIAL_UNKNOWN, SpawnHow, Untraced } from '../events/schema.js';
import { StringTable } from '../events/strings.js';
import { Derived } from './derived.js';
import { exitText } from './process.js';

const S = 2 ** 32; // a followed process's ids are serial * 2^32 + k

function derive(build: (w: RawEventWriter) => void, strings: Record<number, string>): { d: Derived; t: StringTable } {
  const w = new RawEventWriter();
  build(w);
  const t = new StringTable();
  for (const [id, text] of Object.entries(strings)) t.set(+id, text);
  const d = new Derived(null, t);
  d.append(new RawEvents(w.bytes()));
  return { d, t };
}

test("a launched shell, its forked child and the program the child exec'd are three processes with pid, parent, how and exit", () => {
  const { d, t } = derive(
    (w) => {
      w.push({ ts: 1, kind: Kind.PROCESS, tid: 100, a: [100, 1, 2, 0, 0] });
      w.push({ ts: 1, kind: Kind.LINEAGE, tid: 100, a: [100, 50, SpawnHow.LAUNCHED, 0] });
      w.push({ ts: 2, kind: Kind.THREAD, tid: 100, a: [100, 3, 0xffff, 100, 0] });
      w.push({ ts: 3, kind: Kind.SPAWN, tid: 100, a: [101, SpawnHow.FORK, 0, Untraced.NO, 0] });
      w.push({ ts: 4, kind: Kind.PROCESS, tid: 101, a: [101, S + 1, S + 2, 0, 0] });
      w.push({ ts: 4, kind: Kind.LINEAGE, tid: 101, a: [101, 100, SpawnHow.FORK, 1] });
      w.push({ ts: 5, kind: Kind.THREAD, tid: 101, a: [101, S + 3, 0xffff, 101, 1] });
      w.push({ ts: 6, kind: Kind.SPAWN, tid: 101, a: [101, SpawnHow.EXEC, S + 4, Untraced.NO, S + 5] });
      w.push({ ts: 7, kind: Kind.PROCESS, tid: 101, a: [101, 2 * S + 1, 2 * S + 2, 0, 0] });
      w.push({ ts: 7, kind: Kind.LINEAGE, tid: 101, a: [101, 100, SpawnHow.EXEC, 2] });
      w.push({ ts: 7, kind: Kind.THREAD, tid: 101, a: [101, 2 * S + 5, 0xffff, 101, 2] }); // the same thread, now the program's
      w.push({ ts: 8, kind: Kind.THREAD, tid: 102, a: [102, 2 * S + 3, 0, 101, 2] });
      w.push({ ts: 9, kind: Kind.CO_CREATE, tid: 101, co: 2 * S + 1, a: [0, 2 * S + 4, 0, 65536] });
      w.push({ ts: 10, kind: Kind.PROCESS_EXIT, tid: 101, a: [101, 7, 2] });
      w.push({ ts: 11, kind: Kind.PROCESS_EXIT, tid: 100, a: [100, 0, 0] });
    },
    {
      1: '/bin/sh',
      2: 'sh -c prog',
      3: 'sh',
      [S + 1]: '/bin/sh',
      [S + 2]: 'sh -c prog',
      [S + 3]: 'sh',
      [S + 4]: '/usr/bin/prog',
      [S + 5]: 'prog',
      [2 * S + 1]: '/usr/bin/prog',
      [2 * S + 2]: 'prog',
      [2 * S + 3]: 'cs-worker-0',
      [2 * S + 4]: 'job',
      [2 * S + 5]: 'prog',
    },
  );
  const ps = d.process.processes(t);
  assert.deepEqual(
    ps.map((p) => [p.serial, p.pid, p.ppid, p.how, p.exe, p.exitCode, p.execd]),
    [
      [0, 100, 50, 'launched', '/bin/sh', 0, false],
      [1, 101, 100, 'fork', '/bin/sh', null, true],
      [2, 101, 100, 'exec', '/usr/bin/prog', 7, false],
    ],
  );
  assert.deepEqual(ps[2].tids.sort(), [101, 102], "the exec'd program's threads");
  assert.equal(d.process.serialOf(102), 2);
  assert.equal(d.process.summary(t).pid, 100, '"the process" stays the launched one');
  assert.equal(d.process.summary(t).exe, '/bin/sh');
  assert.equal(d.coroutines(true)[0].name, 'job', 'a coroutine name id above 2^32 resolves');
  assert.deepEqual(d.process.untraced(t, true), [], 'everything started was followed');
});

test('children that are not followed: a static program and following off are said at once; a fork that never joined only once the stream ended', () => {
  const { d, t } = derive(
    (w) => {
      w.push({ ts: 1, kind: Kind.PROCESS, tid: 200, a: [200, 1, 0, 0, 0] });
      w.push({ ts: 1, kind: Kind.LINEAGE, tid: 200, a: [200, 1, SpawnHow.LAUNCHED, 0] });
      w.push({ ts: 2, kind: Kind.SPAWN, tid: 200, a: [201, SpawnHow.POSIX_SPAWN, 2, Untraced.STATIC, 3] });
      w.push({ ts: 3, kind: Kind.SPAWN, tid: 200, a: [202, SpawnHow.FORK, 0, Untraced.NO, 0] });
      w.push({ ts: 4, kind: Kind.SPAWN, tid: 200, a: [203, SpawnHow.FORK, 0, Untraced.OFF, 0] });
      // an exec that failed: the process exits later under its own serial
      w.push({ ts: 5, kind: Kind.SPAWN, tid: 200, a: [200, SpawnHow.EXEC, 4, Untraced.NO, 4] });
      w.push({ ts: 6, kind: Kind.PROCESS_EXIT, tid: 200, a: [200, 1, 0] });
    },
    { 1: '/bin/sh', 2: '/opt/static', 3: 'static --flag', 4: '/nonexistent' },
  );
  const live = d.process.untraced(t, false);
  assert.deepEqual(
    live.map((u) => [u.pid, u.cmdline, u.problem]),
    [
      [201, 'static --flag', true],
      [203, '', false],
    ],
  );
  assert.match(live[0].reason, /statically linked/);
  assert.equal(live[0].parentPid, 200);
  const end = d.process.untraced(t, true);
  assert.deepEqual(
    end.map((u) => [u.pid, u.how, u.problem]),
    [
      [201, 'spawn', true],
      [202, 'fork', true],
      [203, 'fork', false],
    ],
    'the fork that never joined is reported at the end; the failed exec is not',
  );
  assert.match(end[1].reason, /never reported/);
});

test('a stream of events version 1 (no LINEAGE) is one process, serial 0, re-said at every epoch', () => {
  const { d, t } = derive(
    (w) => {
      w.push({ ts: 1, kind: Kind.PROCESS, tid: 300, a: [300, 1, 2, 0, 0] });
      w.push({ ts: 2, kind: Kind.THREAD, tid: 300, a: [300, 0, 0xffff] });
      w.push({ ts: 3, kind: Kind.PROCESS, tid: 301, a: [300, 1, 2, 0, 0] });
    },
    { 1: '/usr/bin/app', 2: 'app' },
  );
  const ps = d.process.processes(t);
  assert.equal(ps.length, 1);
  assert.deepEqual(
    [ps[0].serial, ps[0].pid, ps[0].ppid, ps[0].how, ps[0].exe],
    [0, 300, null, 'launched', '/usr/bin/app'],
  );
  assert.equal(d.process.summary(t).pid, 300);
});

test('a process killed by a signal gets its end from the parent that reaped it or from its launcher: the latest process of that pid, with the signal', () => {
  const { d, t } = derive(
    (w) => {
      w.push({ ts: 1, kind: Kind.PROCESS, tid: 100, a: [100, 1, 0, 0, 0] });
      w.push({ ts: 1, kind: Kind.LINEAGE, tid: 100, a: [100, 50, SpawnHow.LAUNCHED, 0] });
      // a forked child that exec'd a program (same pid 101, serials 1 and 2), killed by SIGSEGV
      w.push({ ts: 2, kind: Kind.PROCESS, tid: 101, a: [101, 1, 0, 0, 0] });
      w.push({ ts: 2, kind: Kind.LINEAGE, tid: 101, a: [101, 100, SpawnHow.FORK, 1] });
      w.push({ ts: 3, kind: Kind.PROCESS, tid: 101, a: [101, 2, 0, 0, 0] });
      w.push({ ts: 3, kind: Kind.LINEAGE, tid: 101, a: [101, 100, SpawnHow.EXEC, 2] });
      // a child that exited by itself (code 4): its parent's reap (code 4 again) changes nothing
      w.push({ ts: 4, kind: Kind.PROCESS, tid: 102, a: [102, 1, 0, 0, 0] });
      w.push({ ts: 4, kind: Kind.LINEAGE, tid: 102, a: [102, 100, SpawnHow.FORK, 3] });
      w.push({ ts: 5, kind: Kind.PROCESS_EXIT, tid: 102, a: [102, 4, 3, 0, ExitSource.SELF] });
      w.push({ ts: 6, kind: Kind.PROCESS_EXIT, tid: 100, a: [102, 4, SERIAL_UNKNOWN, 0, ExitSource.REAPED] });
      // a child that left the engine's sight (exit_group by raw system call): its parent's reap gives its code
      w.push({ ts: 7, kind: Kind.PROCESS, tid: 103, a: [103, 1, 0, 0, 0] });
      w.push({ ts: 7, kind: Kind.LINEAGE, tid: 103, a: [103, 100, SpawnHow.FORK, 4] });
      w.push({ ts: 8, kind: Kind.PROCESS_EXIT, tid: 100, a: [103, 9, SERIAL_UNKNOWN, 0, ExitSource.REAPED] });
      w.push({
        ts: 9,
        kind: Kind.PROCESS_EXIT,
        tid: 100,
        a: [101, 0, SERIAL_UNKNOWN, 11, ExitSource.REAPED | EXIT_CORE],
      });
      // a pid nobody followed: ignored
      w.push({ ts: 10, kind: Kind.PROCESS_EXIT, tid: 100, a: [999, 0, SERIAL_UNKNOWN, 9, ExitSource.REAPED] });
      w.push({ ts: 11, kind: Kind.PROCESS_EXIT, tid: 100, a: [100, 0, SERIAL_UNKNOWN, 9, ExitSource.LAUNCHER] });
    },
    { 1: '/bin/sh', 2: '/usr/bin/prog' },
  );
  const ps = d.process.processes(t);
  assert.deepEqual(
    ps.map((p) => [p.serial, p.pid, p.exitCode, p.signal, p.coreDumped, p.execd, exitText(p)]),
    [
      [0, 100, null, 9, false, false, 'killed by SIGKILL'],
      [1, 101, null, null, false, true, ''],
      [2, 101, null, 11, true, false, 'killed by SIGSEGV (core dumped)'],
      [3, 102, 4, null, false, false, 'code 4'],
      [4, 103, 9, null, false, false, 'code 9'],
    ],
  );
});

test('workers are per process: worker 0 of the launched process and worker 0 of a forked child are two lines, each with its own times', () => {
  const { d } = derive((w) => {
    w.push({ ts: 0, kind: Kind.PROCESS, tid: 100, a: [100, 0, 0, 0, 0] });
    w.push({ ts: 0, kind: Kind.LINEAGE, tid: 100, a: [100, 50, SpawnHow.LAUNCHED, 0] });
    w.push({ ts: 0, kind: Kind.THREAD, tid: 110, a: [110, 0, 0, 100, 0] }); // the launched process's worker 0
    w.push({ ts: 0, kind: Kind.PROCESS, tid: 200, a: [200, 0, 0, 0, 0] });
    w.push({ ts: 0, kind: Kind.LINEAGE, tid: 200, a: [200, 100, SpawnHow.FORK, 1] });
    w.push({ ts: 0, kind: Kind.THREAD, tid: 210, a: [210, 0, 0, 200, 1] }); // the child's worker 0
    w.push({ ts: 0, kind: Kind.CO_CREATE, tid: 100, co: 1, a: [0, 0, 0, 65536] });
    w.push({ ts: 0, kind: Kind.CO_CREATE, tid: 200, co: S + 1, a: [0, 0, 0, 65536] });
    // launched: busy 0..100 (runs co 1 from 10 to 100), then idle 100..1000
    w.push({ ts: 0, kind: Kind.WORKER_BUSY, tid: 110, worker: 0, a: [0, 0, 0, 0, 0] });
    w.push({ ts: 10, kind: Kind.CO_RUN, tid: 110, worker: 0, co: 1, a: [1, 0, 0, 0, 0] });
    // the child: idle 0..500, runs co S+1 from 500 to 900, idle after (interleaved in time with the launched one)
    w.push({ ts: 0, kind: Kind.WORKER_IDLE, tid: 210, worker: 0, a: [0, 0, 0, 0, 0] });
    w.push({ ts: 100, kind: Kind.CO_FINISH, tid: 110, worker: 0, co: 1, a: [0, 0, 0, 0, 0] });
    w.push({ ts: 100, kind: Kind.WORKER_IDLE, tid: 110, worker: 0, a: [0, 0, 0, 0, 0] });
    w.push({ ts: 500, kind: Kind.WORKER_BUSY, tid: 210, worker: 0, a: [0, 0, 0, 0, 0] });
    w.push({ ts: 500, kind: Kind.CO_RUN, tid: 210, worker: 0, co: S + 1, a: [1, 0, 0, 0, 0] });
    w.push({ ts: 900, kind: Kind.CO_FINISH, tid: 210, worker: 0, co: S + 1, a: [0, 0, 0, 0, 0] });
    w.push({ ts: 900, kind: Kind.WORKER_IDLE, tid: 210, worker: 0, a: [0, 0, 0, 0, 0] });
    w.push({ ts: 950, kind: Kind.PROCESS_EXIT, tid: 200, a: [200, 0, 1] });
    w.push({ ts: 1000, kind: Kind.PROCESS_EXIT, tid: 100, a: [100, 0, 0] });
  }, {});
  const ws = d.workers();
  assert.deepEqual(
    ws.map((w) => [w.pid, w.worker, w.runTime, w.schedulingTime, w.idleTime, w.switches]),
    [
      [100, 0, 90, 10, 900, 1],
      [200, 0, 400, 0, 550, 1], // idle until its process ended (950), not until the stream's end
    ],
  );
});
