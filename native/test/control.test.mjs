// The control channel: a Unix socket per engine process in a private
// per-user directory, speaking one command per line and answering JSON.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { compileProg } from './support.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const build = resolve(process.env.COROSCOPE_TEST_BUILD_DIR || join(here, '..', 'build'));
let tmp, counterExe;

function cleanEnv(extra = {}) {
  const e = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('COROSCOPE_') && k !== 'LD_PRELOAD') e[k] = v;
  return { ...e, XDG_RUNTIME_DIR: join(tmp, 'run'), ...extra };
}

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-control-'));
  mkdirSync(join(tmp, 'run'), { mode: 0o700 });
  counterExe = compileProg('counter', tmp);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Wait until pred() holds (polling), at most ms: the bound only ends a broken run. */
async function waitFor(pred, ms = 10000) {
  for (const end = Date.now() + ms; !pred() && Date.now() < end;) await sleep(10);
}

// Start the counter program; track the last number it printed.
async function startCounter() {
  const child = spawn(counterExe, [], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const state = { child, last: -1, lines: 0 };
  let partial = '';
  child.stdout.on('data', (d) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop();
    for (const p of parts) {
      state.last = Number(p);
      state.lines++;
    }
  });
  const sock = join(tmp, 'run', 'coroscope', `${child.pid}.sock`);
  for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(20);
  if (!existsSync(sock)) {
    child.kill('SIGKILL');
    assert.fail(`no control socket at ${sock}`);
  }
  return { ...state, sock, state };
}

// A client: send(line) resolves with the parsed JSON reply.
function client(sock) {
  const s = connect(sock);
  let buf = '';
  const waiting = [];
  s.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiting.shift()?.(JSON.parse(line));
    }
  });
  return {
    socket: s,
    send: (cmd) => new Promise((res) => { waiting.push(res); s.write(cmd + '\n'); }),
    ready: new Promise((res, rej) => { s.on('connect', res); s.on('error', rej); }),
  };
}

test('hello describes the process, from a socket only its user can reach', async () => {
  const c0 = await startCounter();
  try {
    assert.equal(statSync(c0.sock).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(c0.sock)).mode & 0o777, 0o700);
    const c = client(c0.sock);
    await c.ready;
    const hello = await c.send('hello');
    assert.equal(hello.ok, true);
    assert.equal(hello.protocol, 1);
    assert.equal(hello.pid, c0.child.pid);
    assert.match(hello.exe, /counter$/);
    assert.equal(hello.config.workers, 1);
    const bad = await c.send('frobnicate');
    assert.equal(bad.ok, false);
    assert.match(bad.error, /unknown command/);
    c.socket.destroy();
  } finally {
    c0.child.kill('SIGKILL');
  }
});

test('pause stops the scheduler, step N runs exactly N more decisions, resume runs freely', async () => {
  const c0 = await startCounter();
  try {
    const c = client(c0.sock);
    await c.ready;
    await sleep(100);
    assert.ok(c0.state.lines > 10, 'the counter runs');
    assert.deepEqual(await c.send('pause'), { ok: true, paused: true });
    await sleep(150);
    const frozen = c0.state.last;
    await sleep(300);
    assert.equal(c0.state.last, frozen, 'no progress while paused');
    // Each step's turns print a line that may reach us late on a loaded
    // machine: wait for them, then a while more to see that no other comes.
    assert.equal((await c.send('step 5')).ok, true);
    await waitFor(() => c0.state.last >= frozen + 5);
    await sleep(300);
    assert.equal(c0.state.last, frozen + 5, 'exactly five more turns');
    assert.equal((await c.send('step')).ok, true);
    await waitFor(() => c0.state.last >= frozen + 6);
    await sleep(200);
    assert.equal(c0.state.last, frozen + 6, 'one more');
    assert.equal((await c.send('resume')).paused, false);
    await waitFor(() => c0.state.last > frozen + 100);
    assert.ok(c0.state.last > frozen + 100, 'running again');
    c.socket.destroy();
  } finally {
    c0.child.kill('SIGKILL');
  }
});

test('an inspector that vanishes while the scheduler is paused leaves the target running', async () => {
  const c0 = await startCounter();
  try {
    const c = client(c0.sock);
    await c.ready;
    await c.send('pause');
    await sleep(150);
    const frozen = c0.state.last;
    c.socket.destroy(); // as if the inspector was killed
    await sleep(300);
    assert.ok(c0.state.last > frozen + 10, 'resumed after the inspector went away');
    const again = client(c0.sock); // and it can be attached again
    await again.ready;
    assert.equal((await again.send('hello')).ok, true);
    again.socket.destroy();
  } finally {
    c0.child.kill('SIGKILL');
  }
});

test('a second inspector is told the process is busy; set changes the time slice at run time', async () => {
  const c0 = await startCounter();
  try {
    const a = client(c0.sock);
    await a.ready;
    await a.send('hello');
    const b = client(c0.sock);
    await b.ready;
    const busy = await new Promise((res) => b.socket.once('data', (d) => res(JSON.parse(String(d)))));
    assert.equal(busy.ok, false);
    assert.match(busy.error, /busy/);
    const set = await a.send('set slice=5ms');
    assert.equal(set.config.time_slice_ns, 5000000);
    assert.equal((await a.send('set slice=soon')).ok, false);
    assert.deepEqual(await a.send('detach'), { ok: true });
  } finally {
    c0.child.kill('SIGKILL');
  }
});

test('a line containing a NUL byte is refused with an error and the commands after it are answered in order', { timeout: 20000 }, async () => {
  const c0 = await startCounter();
  try {
    const c = client(c0.sock);
    await c.ready;
    // Each write is one reply: the NUL lines are refused, the lines around them answered.
    const replies = [];
    for (const line of ['hel\0lo', 'hello', '\0', 'pause\0', 'resume', 'step\0 3', 'hello']) replies.push(await c.send(line));
    assert.deepEqual(replies.map((r) => r.ok), [false, true, false, false, true, false, true]);
    for (const i of [0, 2, 3, 5]) assert.match(replies[i].error, /NUL/);
    assert.equal(replies[1].pid, c0.child.pid);
    assert.equal(replies[4].paused, false);
    assert.equal(replies[6].pid, c0.child.pid);
    // several lines in one write, a NUL among them: still one reply per line, in order
    const got = [];
    const done = new Promise((res) => {
      let buf = '';
      c.socket.on('data', function onData(d) {
        buf += d;
        const lines = buf.split('\n');
        buf = lines.pop();
        got.push(...lines.map((l) => JSON.parse(l)));
        if (got.length >= 3) {
          c.socket.off('data', onData);
          res();
        }
      });
    });
    c.socket.write('hello\nx\0y\nresume\n');
    await done;
    assert.deepEqual(got.map((r) => r.ok), [true, false, true]);
    assert.equal(got[0].pid, c0.child.pid);
    assert.match(got[1].error, /NUL/);
    assert.equal(got[2].paused, false);
    c.socket.destroy();
  } finally {
    c0.child.kill('SIGKILL');
  }
});

test('another user cannot reach the control socket', { skip: process.getuid() !== 0 && 'needs root to run a client as another uid' }, async () => {
  const c0 = await startCounter();
  try {
    const probe = spawnSync('python3', ['-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); s.sendall(b"hello\\n"); s.settimeout(2)
    print("reply:", s.recv(100))
except Exception as e:
    print("refused:", type(e).__name__)
`, c0.sock], { uid: 65534, gid: 65534, encoding: 'utf8', timeout: 10000 });
    assert.match(probe.stdout, /^refused: PermissionError|^reply: b''/m, probe.stdout + probe.stderr);
  } finally {
    c0.child.kill('SIGKILL');
  }
});

test('a snapshot of the paused scheduler shows every coroutine with what it waits for', async () => {
  const exe = compileProg('snapshot_target', tmp);
  const child = spawn(exe, [], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const fd = await new Promise((res, rej) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/READY fd=(\d+)/);
        if (m) res(Number(m[1]));
      });
      child.on('exit', () => rej(new Error('snapshot_target exited')));
    });
    const c = client(join(tmp, 'run', 'coroscope', `${child.pid}.sock`));
    await c.ready;
    await c.send('pause');
    await sleep(50);
    const snap = await c.send('snapshot');
    assert.equal(snap.ok, true);
    assert.equal(snap.paused, true);
    assert.equal(snap.workers.length, 1);
    const by = Object.fromEntries(snap.coroutines.map((x) => [x.name, x]));
    assert.equal(by.sleeper.state, 'suspended');
    assert.equal(by.sleeper.wait.why, 'sleep');
    assert.equal(by.sleeper.wait.call, 'nanosleep');
    assert.ok(by.sleeper.wait.deadline_ns > snap.time_ns + 3000e9, 'an hour away');
    const { pc, ...readerWait } = by.reader.wait;
    assert.deepEqual(readerWait, { why: 'call', call: 'read', fd, events: 'r' });
    assert.ok(Number.isInteger(pc) && pc > 0, 'the call site of the read (for source lines)');
    assert.deepEqual(by.joiner.wait, { why: 'join', joining: by.sleeper.id });
    assert.equal(by.spinner.state, 'ready', 'paused before its next turn');
    const again = await c.send('snapshot');
    assert.equal(again.coroutines.find((x) => x.name === 'spinner').switches, by.spinner.switches, 'nothing ran while paused');
    await c.send('detach');
  } finally {
    child.kill('SIGKILL');
  }
});

test('coroscope-dump --list shows the engine processes of this user', async () => {
  const c0 = await startCounter();
  try {
    const r = spawnSync(join(build, 'coroscope-dump'), ['--list'], { env: cleanEnv(), encoding: 'utf8', timeout: 5000 });
    assert.equal(r.status, 0, r.stderr);
    const row = r.stdout.split('\n').find((l) => l.startsWith(`${c0.child.pid}\t`));
    assert.ok(row, r.stdout);
    assert.match(row, /\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\t.*counter$/);
  } finally {
    c0.child.kill('SIGKILL');
  }
});
