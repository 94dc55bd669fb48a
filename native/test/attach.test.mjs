// Attaching to a running engine process: coroscope-dump --pid subscribes
// through the control socket, receives every thread's event ring and prints
// the events live; detaching (or dying) leaves the target running.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEnv as engineFree, compileProg, dump, examples, startEchoServer } from './support.mjs';

let tmp;

/** Programs started here keep their control sockets in this test's own runtime directory. */
const cleanEnv = (extra = {}) => engineFree({ XDG_RUNTIME_DIR: join(tmp, 'run'), ...extra });

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-attach-'));
  mkdirSync(join(tmp, 'run'), { mode: 0o700 });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const startServer = (env = {}) => startEchoServer(cleanEnv(env));

function load(port, conns = 10, seconds = 0.5) {
  const r = spawnSync(join(examples, 'echo_client'),
    ['--port', port, '--conns', String(conns), '--duration', String(seconds), '--warmup', '0'],
    { env: cleanEnv(), encoding: 'utf8', timeout: 20000 });
  const m = r.stdout.match(/requests_per_sec=([\d.]+)/);
  return m ? Number(m[1]) : 0;
}

function attach(pid, seconds) {
  const child = spawn(dump, ['--pid', String(pid), '--seconds', String(seconds)], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise((res) => child.on('exit', (code, sig) => res({ code, sig, out, err })));
  return { child, done };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('coroscope-dump --pid shows a running echo server\'s coroutines and calls live, detaches, and can attach again', async () => {
  const { server, port } = await startServer();
  try {
    const a = attach(server.pid, 1.5);
    await sleep(300);
    assert.ok(load(port) > 100, 'the server serves while attached');
    const r = await a.done;
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.ok(lines.some((l) => /"conn-\d+" created/.test(l)), 'connection coroutines appear');
    assert.ok(lines.filter((l) => /\bread\(fd=\d+/.test(l)).length > 50, 'their reads appear');
    assert.ok(lines.some((l) => /parked/.test(l)), 'parked calls appear');
    assert.ok(load(port) > 100, 'the server serves after the detach');
    const again = attach(server.pid, 1);
    await sleep(200);
    load(port, 5, 0.3);
    const r2 = await again.done;
    assert.equal(r2.code, 0, r2.err);
    assert.ok(r2.out.split('\n').filter((l) => /\bread\(fd=/.test(l)).length > 10, 're-attached and saw reads');
  } finally {
    server.kill('SIGKILL');
  }
});

test('an inspector killed mid-stream leaves the target serving, and the next one attaches', async () => {
  const { server, port } = await startServer();
  try {
    const a = attach(server.pid, 10);
    await sleep(300);
    load(port, 5, 0.3);
    a.child.kill('SIGKILL');
    await a.done;
    assert.ok(load(port) > 100, 'still serving after the inspector died');
    const b = attach(server.pid, 0.8);
    await sleep(200);
    load(port, 5, 0.3);
    const r = await b.done;
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.length > 0);
  } finally {
    server.kill('SIGKILL');
  }
});

test('attaching to a pid that runs no engine says so', () => {
  const r = spawnSync(dump, ['--pid', String(process.pid)], { env: cleanEnv(), encoding: 'utf8', timeout: 5000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /runs no Coroscope engine/);
  // A socket nobody listens on (its process was killed before it could remove it).
  mkdirSync(join(tmp, 'run', 'coroscope'), { recursive: true, mode: 0o700 });
  const stale = spawnSync('python3', ['-c', `import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(join(tmp, 'run', 'coroscope', '999999.sock'))})`], { encoding: 'utf8' });
  assert.equal(stale.status, 0, stale.stderr);
  const r2 = spawnSync(dump, ['--pid', '999999'], { env: cleanEnv(), encoding: 'utf8', timeout: 5000 });
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /process 999999 runs no Coroscope engine \(.*999999\.sock is a stale control socket\)/);
});

test('subscribing is refused while the process records to COROSCOPE_TRACE (one consumer per ring)', async () => {
  const { server } = await startServer({ COROSCOPE_TRACE: join(tmp, 'srv.cstrace') });
  try {
    const a = attach(server.pid, 0.5);
    const r = await a.done;
    assert.match(r.err, /recorded to the COROSCOPE_TRACE file/);
  } finally {
    server.kill('SIGKILL');
  }
});

test('with COROSCOPE_FLIGHT, an inspector that attaches after the fact sees what just happened; without it, nothing', async () => {
  for (const flight of ['4M', null]) {
    const { server, port } = await startServer(flight ? { COROSCOPE_FLIGHT: flight } : {});
    try {
      assert.ok(load(port, 5, 0.3) > 100);
      await sleep(100);
      // Nothing happens in the server while the inspector is attached.
      const r = await attach(server.pid, 0.5).done;
      assert.equal(r.code, 0, r.err);
      const lines = r.out.split('\n');
      const reads = lines.filter((l) => /\bread\(fd=\d+/.test(l)).length;
      if (!flight) {
        assert.equal(reads, 0, 'without the flight recorder the past is gone');
        continue;
      }
      assert.ok(reads > 1000, `the load's reads are there (${reads})`);
      assert.ok(lines.some((l) => / parked in read \(fd \d+ readable\)/.test(l)), 'parked reads too');
      assert.ok(lines.some((l) => / woke \(fd \d+ readable\)/.test(l)), 'and their wakes, with the readiness seen');
      // Every string a kept record refers to is defined in what was delivered
      // (the reader resynchronised at a THREAD record after the overwritten part).
      const unresolved = lines.filter((l) => /str#\d+/.test(l));
      assert.deepEqual(unresolved.slice(0, 3), [], 'no record refers to a string that was overwritten');
      assert.ok(lines.some((l) => /thread tid=\d+ "cs-worker-0" w0/.test(l)));
      // Detached: the recorder is armed again, and the next inspector sees the next burst.
      assert.ok(load(port, 5, 0.2) > 100, 'the server serves after the detach');
      await sleep(100);
      const r2 = await attach(server.pid, 0.3).done;
      assert.equal(r2.code, 0, r2.err);
      assert.ok(r2.out.split('\n').filter((l) => /\bread\(fd=\d+/.test(l)).length > 1000, 'the second burst is there');
    } finally {
      server.kill('SIGKILL');
    }
  }
});

test('a bad COROSCOPE_FLIGHT value is named and the program runs without a flight recorder', async () => {
  const { server, port } = await startServer({ COROSCOPE_FLIGHT: 'lots' });
  let err = '';
  server.stderr.on('data', (d) => (err += d));
  try {
    assert.ok(load(port, 2, 0.2) > 100);
    await sleep(50);
    assert.match(err, /COROSCOPE_FLIGHT=lots is not a flight recorder size/);
  } finally {
    server.kill('SIGKILL');
  }
});

test('a forked child that runs coroutines has its own control socket: listed, attachable, with its own flight recorder', async () => {
  const exe = compileProg('fork_then_sleep', tmp);
  const parent = spawn(exe, [], { env: cleanEnv({ COROSCOPE_FLIGHT: '2M' }), stdio: ['ignore', 'pipe', 'pipe'] });
  let childPid = 0;
  try {
    childPid = await new Promise((res, rej) => {
      let out = '';
      parent.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/child (\d+)/);
        if (m) res(Number(m[1]));
      });
      parent.on('exit', () => rej(new Error('the parent exited early')));
    });
    // Both sockets exist once each engine started its control thread: list until they do (a loaded
    // machine may take a while), bounded.
    let list;
    const listed = (pid) => new RegExp(`^\\s*${pid}\\b`, 'm').test(list.stdout);
    for (let t0 = Date.now(); ; await sleep(100)) {
      list = spawnSync(dump, ['--list'], { env: cleanEnv(), encoding: 'utf8', timeout: 5000 });
      assert.equal(list.status, 0, list.stderr);
      if ((listed(parent.pid) && listed(childPid)) || Date.now() - t0 > 20_000) break;
    }
    assert.ok(listed(parent.pid), `the parent is listed:\n${list.stdout}`);
    assert.ok(listed(childPid), `the child is listed:\n${list.stdout}`);
    // The child naps 1 ms at a time: attach until more than 50 naps were seen (its flight recorder
    // keeps those from before the attach; a loaded machine gives it fewer per second), bounded.
    let r;
    let lines = [];
    for (let t0 = Date.now(); lines.filter((l) => /usleep\(/.test(l)).length <= 50 && Date.now() - t0 < 30_000; ) {
      r = await attach(childPid, 0.3).done;
      assert.equal(r.code, 0, r.err);
      lines = r.out.split('\n');
    }
    assert.ok(lines.some((l) => new RegExp(`process pid=${childPid}\\b`).test(l)), 'the child describes itself');
    assert.ok(lines.filter((l) => /usleep\(/.test(l)).length > 50, 'the child\'s naps, from before the attach and live');
    assert.equal(lines.filter((l) => new RegExp(`process pid=${parent.pid}\\b`).test(l)).length, 0, 'nothing of the parent');
  } finally {
    if (childPid) try { process.kill(childPid, 'SIGKILL'); } catch {}
    parent.kill('SIGKILL');
  }
});

test('an inspector that attaches is told about the coroutines that already exist: name, entry and what they wait for', async () => {
  const { server, port } = await startServer();
  try {
    assert.ok(load(port, 3, 0.2) > 100);
    const r = await attach(server.pid, 0.3).done;
    assert.equal(r.code, 0, r.err);
    // Nothing ran while attached: the acceptor is known only from CO_INFO.
    assert.match(r.out, /co#1 "acceptor" exists: suspended \(in accept4, fd \d+\) on w\d entry="acceptor_main"/);
  } finally {
    server.kill('SIGKILL');
  }
});

test('attaching to a process with more coroutines than a ring has records still describes every one of them', async () => {
  const n = 150000; // an 8 MiB ring holds 131072 records
  const exe = compileProg('many_sleepers', tmp);
  const target = spawn(exe, [String(n), '20'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise((res, rej) => {
      target.stdout.on('data', (d) => /spawned/.test(String(d)) && res());
      target.on('exit', () => rej(new Error('many_sleepers exited early')));
    });
    const r = await attach(target.pid, 3).done;
    assert.equal(r.code, 0, r.err);
    const described = r.out.split('\n').filter((l) => /"napper" exists: suspended \(sleeping\)/.test(l)).length;
    assert.equal(described, n);
    assert.doesNotMatch(r.out, /DROPPED/);
  } finally {
    target.kill('SIGKILL');
  }
});
