// The engine seen through the addon: launching programs under it, attaching
// to one started by hand, the control channel, finding engine processes,
// and the plain errors for programs it cannot observe.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attach, AttachError, launch } from './launch.js';
import { ExecError } from './executable.js';
import { listEngineProcesses } from './discover.js';
import { addon } from './addon.js';
import { Kind } from '../../core/events/schema.js';
import { enginePath } from './paths.js';
import { build, collect, echoServerByHand, example, scratch, sleep } from '../testing/helpers.js';

let tmp: ReturnType<typeof scratch>;
before(() => (tmp = scratch('engine')));
after(() => tmp.cleanup());

test('a launched program is observed from its first event: metadata, coroutines, its sleep, its output and exit code', async () => {
  const rec = join(tmp.dir, 'hello.cstrace');
  const t = launch({ cmd: example('hello'), record: rec, engine: { workers: 2 } });
  const c = await collect(t);
  assert.deepEqual(c.exit, { code: 0, signal: null });
  assert.equal(c.stdout, 'hi\n');
  const kinds = c.events.map((e) => e.kind);
  for (const k of [
    'CLOCK',
    'PROCESS',
    'CONFIG',
    'THREAD',
    'CO_CREATE',
    'CO_READY',
    'CO_RUN',
    'CO_SUSPEND',
    'WAKE',
    'CALL',
    'CO_FINISH',
  ])
    assert.ok(kinds.includes(k), `missing ${k} in ${kinds.join(' ')}`);
  const proc = c.events.find((e) => e.kind === 'PROCESS')!;
  assert.equal(proc.a[0], t.pid);
  assert.equal(c.strings.get(proc.a[1]), example('hello'));
  const config = c.events.find((e) => e.kind === 'CONFIG')!;
  assert.equal(config.a[0], 2, 'two workers, as asked');
  const create = c.events.find((e) => e.kind === 'CO_CREATE')!;
  assert.equal(c.strings.get(create.a[1]), 'hello');
  // The coroutine parks in sleep(1) and the timer wakes it about 1 s later.
  const susp = c.events.find((e) => e.kind === 'CO_SUSPEND')!;
  const wake = c.events.find((e) => e.kind === 'WAKE' && e.co === susp.co)!;
  assert.ok(wake.ts - susp.ts >= 0.99e9 && wake.ts - susp.ts < 1.5e9, `slept ${(wake.ts - susp.ts) / 1e6} ms`);
  // The recording holds the same events (plus the string definitions).
  const f = new (addon().TraceFile)(rec);
  assert.equal(f.info().complete, true);
  assert.equal(f.info().pid, t.pid);
  let n = 0;
  for (;;) {
    const r = f.read(1000);
    n += r.events.length / 64;
    if (r.done) break;
  }
  assert.equal(f.status(), null);
  f.close();
  assert.equal(n, c.events.length);
  assert.equal(t.stats().dropped, 0);
});

test('sleep_forever: the sleeper is suspended in nanosleep while the printer runs, and the program ends', async () => {
  const t = launch({ cmd: example('sleep_forever') });
  const c = await collect(t);
  assert.deepEqual(c.exit, { code: 0, signal: null });
  assert.match(c.stdout, /printer: hello while the sleeper sleeps/);
  const names = new Map(c.events.filter((e) => e.kind === 'CO_CREATE').map((e) => [e.co, c.strings.get(e.a[1])]));
  const sleeper = [...names].find(([, n]) => n === 'sleeper')![0];
  const printer = [...names].find(([, n]) => n === 'printer')![0];
  const park = c.events.find((e) => e.kind === 'CO_SUSPEND' && e.co === sleeper)!;
  assert.equal(park.a[1], 3, 'parked in nanosleep (hook id 3)');
  assert.ok(!c.events.some((e) => e.kind === 'WAKE' && e.co === sleeper), 'the sleeper is never woken');
  const printerDone = c.events.find((e) => e.kind === 'CO_FINISH' && e.co === printer)!;
  assert.ok(printerDone, 'the printer finished');
  assert.ok(printerDone.ts > park.ts, 'the printer ran on while the sleeper was parked');
});

test('stdout and stderr stream separately; an exit code and a killing signal are reported', async () => {
  const t = launch({ cmd: '/bin/sh', args: ['-c', 'echo out; echo err >&2; exit 7'] });
  const c = await collect(t);
  assert.equal(c.stdout, 'out\n');
  assert.equal(c.stderr, 'err\n');
  assert.deepEqual(c.exit, { code: 7, signal: null });
  // Calls outside coroutines are observed too (the shell's own writes).
  assert.ok(
    c.events.some((e) => e.kind === 'CALL'),
    'pass-through calls are observed',
  );

  const k = launch({ cmd: example('sleep_forever'), engine: { hooks: false, workers: 1 } }); // never ends by itself
  const ck = collect(k);
  await sleep(200);
  assert.equal(k.kill('SIGKILL'), true);
  const r = await ck;
  assert.deepEqual(r.exit, { code: null, signal: 9 });
});

test('programs the engine cannot observe are refused with a plain reason', () => {
  assert.throws(
    () => launch({ cmd: 'no-such-program-coroscope' }),
    (e: unknown) => e instanceof ExecError && e.problem === 'not-found' && /command not found/.test(e.message),
  );
  assert.throws(
    () => launch({ cmd: '/nonexistent/prog' }),
    (e: unknown) => e instanceof ExecError && e.problem === 'not-found',
  );
  const txt = join(tmp.dir, 'notes.txt');
  writeFileSync(txt, 'hello');
  assert.throws(
    () => launch({ cmd: txt }),
    (e: unknown) => e instanceof ExecError && e.problem === 'not-executable',
  );
  chmodSync(txt, 0o755);
  assert.throws(
    () => launch({ cmd: txt }),
    (e: unknown) => e instanceof ExecError && e.problem === 'not-a-program',
  );
  assert.throws(
    () => launch({ cmd: tmp.dir }),
    (e: unknown) => e instanceof ExecError && e.problem === 'is-directory',
  );
  // A static binary: LD_PRELOAD never reaches it.
  const src = join(tmp.dir, 'static.c');
  writeFileSync(src, 'int main(void) { return 0; }\n');
  const bin = join(tmp.dir, 'static-prog');
  const cc = spawnSync('cc', ['-static', src, '-o', bin]);
  assert.equal(cc.status, 0, `cc -static failed: ${cc.stderr}`);
  assert.throws(
    () => launch({ cmd: bin }),
    (e: unknown) => e instanceof ExecError && e.problem === 'static' && /statically linked/.test(e.message),
  );
  // A script is checked through its interpreter, and runs.
  const script = join(tmp.dir, 'script.sh');
  writeFileSync(script, '#!/bin/sh\necho script\n');
  chmodSync(script, 0o755);
  const t = launch({ cmd: script });
  return collect(t).then((c) => assert.equal(c.stdout, 'script\n'));
});

test('control: hello, snapshot while paused, step, set and resume on a live target', async () => {
  const t = launch({ cmd: example('steal_imbalance'), engine: { workers: 2 } });
  const done = collect(t, 30000);
  try {
    const hello = await t.hello();
    assert.equal(hello.pid, t.pid);
    assert.equal(hello.config.workers, 2);
    // The control thread of a launching inspector answers from before main: the runtime (its
    // workers) starts at the program's first spawn. Wait for it, then pause.
    for (let i = 0; i < 500 && (await t.snapshot()).workers.length === 0; i++) await sleep(10);
    await t.pause();
    const s1 = await t.snapshot();
    assert.equal(s1.paused, true);
    assert.equal(s1.workers.length, 2);
    await sleep(50);
    const s2 = await t.snapshot();
    // Paused: no coroutine is scheduled between two snapshots (the program's
    // own threads may still spawn new ones: spawning is not a decision).
    // own threads may still spawn new ones, and a coroutine that was running
    // finishes its turn).
    const first = new Map(s1.coroutines.map((c) => [c.id, c]));
    for (const c of s2.coroutines) {
      const b = first.get(c.id);
      if (!b || b.state === 'running') continue;
      assert.equal(c.switches, b.switches, `co ${c.id} was scheduled while paused`);
      assert.notEqual(c.state, 'running', `co ${c.id} started running while paused`);
    }
    await t.step(3);
    await assert.rejects(t.control('step 0'), /usage/);
    await assert.rejects(t.control('frobnicate'), /unknown command/);
    const set = await t.set('slice', '5ms');
    assert.equal(set.config?.time_slice_ns, 5e6);
    await t.resume();
    const c = await done;
    assert.equal(c.exit?.code, 0);
  } catch (e) {
    t.kill('SIGKILL'); // a paused target would outlive a failed test and hang the file
    throw e;
  }
});

test('start paused: nothing is scheduled until the inspector steps; a step is exactly one coroutine switched in', async () => {
  const t = launch({ cmd: example('steal_imbalance'), engine: { workers: 2, startPaused: true } });
  let runs = 0;
  t.on('events', (raw) => {
    for (let i = 0; i < raw.length; i++) if (raw.kind(i) === Kind.CO_RUN) runs++;
  });
  const c = collect(t, 30000);
  await t.hello();
  await sleep(300);
  assert.equal((await t.snapshot()).paused, true);
  assert.equal(runs, 0, 'no decision before the first step');
  await t.step(3);
  await sleep(300);
  assert.equal(runs, 3, 'three steps, three coroutines switched in');
  await t.resume();
  const r = await c;
  assert.equal(r.exit?.code, 0);
});

test('slow motion: with a delay set, each scheduling decision waits that long; 0 turns it off', async () => {
  const t = launch({ cmd: example('steal_imbalance'), engine: { workers: 1 } });
  const c = collect(t, 30000);
  await t.hello();
  await t.set('delay', '50ms');
  const switchesBefore = (await t.snapshot()).coroutines.reduce((a, x) => a + x.switches, 0);
  await sleep(500);
  const switchesAfter = (await t.snapshot()).coroutines.reduce((a, x) => a + x.switches, 0);
  // One worker, 50 ms per decision: about 10 decisions in 500 ms, never hundreds.
  assert.ok(
    switchesAfter - switchesBefore <= 14,
    `${switchesAfter - switchesBefore} decisions in 500 ms at 50 ms each`,
  );
  await assert.rejects(t.set('delay', '3s'), /0 to 2s/);
  await t.set('delay', '0ms');
  const r = await c;
  assert.equal(r.exit?.code, 0);
});

test('an inspector that leaves turns slow motion off: the target runs on at full speed', async () => {
  const server = spawn(example('steal_imbalance'), [], {
    env: { ...process.env, LD_PRELOAD: enginePath(), COROSCOPE_WORKERS: '1', COROSCOPE_START_PAUSED: '1' },
    stdio: 'ignore',
  });
  // Started by hand: COROSCOPE_START_PAUSED is ignored without an inspector that launched it.
  const exited = new Promise<number | null>((res) => server.on('exit', (code) => res(code)));
  // Its own socket (an older, stale one with a reused pid may sit in the fallback directory).
  const own = join(process.env.XDG_RUNTIME_DIR!, 'coroscope', `${server.pid}.sock`);
  for (let i = 0; i < 100 && !existsSync(own); i++) await sleep(20);
  const t = attach(server.pid!);
  await t.set('delay', '200ms'); // ~1000 decisions: minutes at this pace
  await sleep(300);
  await t.detach();
  const started = Date.now();
  assert.equal(await exited, 0);
  assert.ok(Date.now() - started < 10_000, 'finished at full speed once the inspector left');
});

test('attach: an echo server started by hand with the library preloaded streams its events, snapshots, and keeps running after detach', async () => {
  const { server, port } = await echoServerByHand();
  try {
    await sleep(100);
    const listed = listEngineProcesses();
    assert.ok(
      listed.some((p) => p.pid === server.pid && p.exe === example('echo_server')),
      'the server is listed',
    );
    const t = attach(server.pid!);
    const c = collect(t);
    const client = spawnSync(
      example('echo_client'),
      ['--port', port, '--conns', '20', '--duration', '0.5', '--warmup', '0'],
      { encoding: 'utf8' },
    );
    assert.equal(client.status, 0, client.stderr);
    const snap = await t.snapshot();
    assert.ok(snap.coroutines.length >= 1);
    // A second inspector is told the engine is busy.
    assert.throws(
      () => attach(server.pid!),
      (e: unknown) => e instanceof AttachError && /busy: another inspector is attached/.test(e.message),
    );
    await t.detach();
    const got = await c;
    const kinds = new Set(got.events.map((e) => e.kind));
    for (const k of ['PROCESS', 'CO_CREATE', 'CO_SUSPEND', 'WAKE', 'CALL']) assert.ok(kinds.has(k), `missing ${k}`);
    const recvs = got.events.filter((e) => e.kind === 'CALL' && (e.a[0] & 0xffff) >= 14 && (e.a[0] & 0xffff) <= 23);
    assert.ok(recvs.length > 20, `transfers observed: ${recvs.length}`);
    assert.equal(server.exitCode, null, 'the server still runs after detach');
    // And it still serves.
    const again = spawnSync(
      example('echo_client'),
      ['--port', port, '--conns', '2', '--duration', '0.2', '--warmup', '0'],
      { encoding: 'utf8' },
    );
    assert.match(again.stdout, /requests_per_sec=[1-9]/);
  } finally {
    server.kill('SIGKILL');
  }
});

test('the control socket answers only its own user: a peer of another uid is closed without a word (SO_PEERCRED)', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to connect as another user');
  const { server } = await echoServerByHand();
  try {
    const sock = addon().socketPath(server.pid!);
    // The directory (0700) already keeps other users out; open it and the
    // socket up so that only the engine's own check stands in the way.
    for (const d of [join(sock, '..'), join(sock, '..', '..'), join(sock, '..', '..', '..')]) chmodSync(d, 0o711);
    chmodSync(sock, 0o666);
    const probe = (uid: number) =>
      spawnSync(
        'python3',
        [
          '-c',
          `
import os, socket, sys
os.setgid(${uid}); os.setuid(${uid})
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(3)
try:
    s.sendall(b"hello" + bytes([10]))
    print(repr(s.recv(4096)))
except socket.timeout:
    print("timeout")
except (BrokenPipeError, ConnectionResetError):
    print("b''")
`,
          sock,
        ],
        { encoding: 'utf8' },
      );
    const stranger = probe(65534);
    assert.equal(stranger.status, 0, stranger.stderr);
    assert.equal(stranger.stdout.trim(), "b''", 'closed without an answer');
    const owner = probe(0);
    assert.match(owner.stdout, /"ok":true/, 'the owner is answered');
  } finally {
    server.kill('SIGKILL');
  }
});

test('attach refuses a pid that runs no engine, and a dead one', () => {
  assert.throws(
    () => attach(process.pid),
    (e: unknown) => e instanceof AttachError && /runs no Coroscope engine/.test(e.message),
  );
  assert.throws(
    () => attach(2 ** 22 + 12345),
    (e: unknown) => e instanceof AttachError && /no process/.test(e.message),
  );
  assert.throws(() => attach(-3), AttachError);
});

test('a corrupt trace file is refused with the reason', () => {
  const bad = join(tmp.dir, 'bad.cstrace');
  writeFileSync(bad, 'this is not a trace');
  assert.throws(
    () => new (addon().TraceFile)(bad),
    (e: Error & { code?: string }) => /CS_TRACE_E/.test(e.code ?? '') && /bad\.cstrace/.test(e.message),
  );
  assert.ok(existsSync(build));
});

test('a snapshot names the source line of each parked call where symbols allow it', async () => {
  const { withSourceLines } = await import('./symbols.js');
  const t = launch({ cmd: example('echo_server'), args: ['--port', '0'] });
  const c = collect(t);
  await new Promise<void>((res) => t.on('output', (_s, d) => /listening on/.test(Buffer.from(d).toString()) && res()));
  await sleep(100);
  const acceptor = withSourceLines(await t.snapshot(), t.pid).coroutines.find((x) => x.name === 'acceptor');
  t.kill('SIGKILL');
  await c;
  assert.equal(acceptor?.wait?.call, 'accept4');
  assert.ok(acceptor?.wait?.pc, 'the call site is in the snapshot');
  // native/examples/echo_server.c parks its acceptor in accept4 (the examples are built with -g).
  assert.match(acceptor?.wait?.source ?? '', /^echo_server\.c:\d+$/);
  assert.ok(acceptor?.wait?.function, 'and names the function');
});
