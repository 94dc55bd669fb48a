// What each fd is and who woke whom (docs/events.md "File descriptors"):
// FD_DESC at the hooks that make fds (and after connect), FD_CLOSE at close,
// WAKER after the WAKE of a coroutine whose socketpair/pipe end another
// coroutine wrote to. Real programs record with COROSCOPE_TRACE;
// coroscope-dump prints the trace and the checks read its lines.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEnv, compileProg, dump, examples, here, startEchoServer } from './support.mjs';

let tmp;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-fd-wake-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** The dump's lines as { thr, co, name, text } (torn: the program left with _exit mid-chunk). */
function events(file, torn = false) {
  const r = spawnSync(dump, [file], { encoding: 'utf8', timeout: 30000, maxBuffer: 512 * 1024 * 1024 });
  if (!(torn && r.status === 1 && /truncated chunk/.test(r.stderr))) assert.equal(r.status, 0, r.stderr);
  const out = [];
  const re = /^(-?\d+\.\d+) (\S+) (?:-|co#(\d+)(?: "((?:[^"\\]|\\.)*)")?) (.*)$/;
  for (const line of r.stdout.split('\n')) {
    const m = re.exec(line);
    if (m) out.push({ i: out.length, thr: m[2], co: m[3] ? Number(m[3]) : 0, name: m[4] ?? '', text: m[5], line });
  }
  return out;
}

const show = (evs, i, n = 12) => evs.slice(Math.max(0, i - n), i + n).map((e) => e.line).join('\n');

test('echo server and client over TCP: every connection fd is described with both endpoints', async () => {
  const strace = join(tmp, 'echo_server.cstrace');
  const ctrace = join(tmp, 'echo_client.cstrace');
  const { server, port } = await startEchoServer(cleanEnv({ COROSCOPE_TRACE: strace, COROSCOPE_WORKERS: '2' }));
  const conns = 3;
  const client = spawnSync(join(examples, 'echo_client'), ['--port', String(port), '--conns', String(conns), '--duration', '0.2', '--warmup', '0'], {
    env: cleanEnv({ COROSCOPE_TRACE: ctrace, COROSCOPE_WORKERS: '2' }),
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.equal(client.status, 0, client.stderr);
  const exited = new Promise((res) => server.on('exit', (code) => res(code)));
  server.kill('SIGTERM');
  assert.equal(await exited, 0);

  // Server: the listening socket, then one accepted fd per connection: local = the server's port, peer = a client's.
  const sevs = events(strace);
  const listening = sevs.filter((e) => new RegExp(`^fd \\d+ is TCP listening "127\\.0\\.0\\.1:${port}"`).test(e.text));
  assert.ok(listening.length >= 1, `the listening socket is described:\n${sevs.filter((e) => /^fd /.test(e.text)).map((e) => e.line).join('\n')}`);
  const accepted = sevs.filter((e) => new RegExp(`^fd \\d+ is TCP "127\\.0\\.0\\.1:${port}" -> "127\\.0\\.0\\.1:(\\d+)" \\(created\\)$`).test(e.text));
  assert.equal(accepted.length, conns, sevs.filter((e) => /^fd /.test(e.text)).map((e) => e.line).join('\n'));
  const clientPorts = new Set(accepted.map((e) => /-> "127\.0\.0\.1:(\d+)"/.exec(e.text)[1]));
  assert.equal(clientPorts.size, conns);
  // A connection coroutine parked in read on that fd: the fd it parks on has that description.
  const fdOf = (e) => /^fd (\d+) /.exec(e.text)[1];
  const acceptedFds = new Set(accepted.map(fdOf));
  const park = sevs.find((e) => /^conn-\d+$/.test(e.name) && /^parked in read \(fd (\d+) /.test(e.text));
  assert.ok(park, 'a connection parked in read');
  assert.ok(acceptedFds.has(/fd (\d+)/.exec(park.text)[1]), `it parked on an accepted fd:\n${park.line}`);

  // Client: each connected fd, described again after connect with the server as its peer.
  const cevs = events(ctrace, true);
  const connected = cevs.filter((e) => new RegExp(`^fd \\d+ is TCP "127\\.0\\.0\\.1:(\\d+)" -> "127\\.0\\.0\\.1:${port}" \\(connected\\)$`).test(e.text));
  assert.equal(connected.length, conns, cevs.filter((e) => /^fd /.test(e.text)).map((e) => e.line).join('\n'));
  for (const c of connected) assert.ok(clientPorts.has(/^fd \d+ is TCP "127\.0\.0\.1:(\d+)"/.exec(c.text)[1]), `the client's local port is one the server accepted: ${c.line}`);
});

test('socketpair ping-pong: each wake names the other coroutine; a file has its path; a reused fd gets its new description', () => {
  const exe = compileProg('fd_wake', tmp);
  const data = join(tmp, 'data.txt');
  writeFileSync(data, 'some bytes\n');
  const trace = join(tmp, 'fd_wake.cstrace');
  const r = spawnSync(exe, [data], { env: cleanEnv({ COROSCOPE_TRACE: trace, COROSCOPE_WORKERS: '2' }), encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 0, r.stderr);
  const [, fileFd, pr, pw, s0, s1] = /file_fd=(\d+) pipe_fds=(\d+),(\d+) sv=(\d+),(\d+)/.exec(r.stdout).map(Number);
  const evs = events(trace);

  // Both socketpair ends, paired.
  assert.ok(evs.some((e) => e.text === `fd ${s0} is Unix stream other end fd ${s1} (created)`), evs.slice(0, 12).map((e) => e.line).join('\n'));
  assert.ok(evs.some((e) => e.text === `fd ${s1} is Unix stream other end fd ${s0} (created)`));

  // Every fd wake of ping or pong is followed (same thread, next line) by its waker: the other one, writing to the other end.
  const coOf = (name) => evs.find((e) => e.name === name).co;
  const ping = coOf('ping'), pong = coOf('pong');
  const wakes = evs.filter((e) => (e.co === ping || e.co === pong) && /^woke \(fd \d+ readable\)/.test(e.text));
  assert.ok(wakes.length >= 19, `pong parks in read each round: ${wakes.length} fd wakes`);
  for (const w of wakes) {
    // The WAKER comes from the same thread after the WAKE (and its CO_READY), before that thread's next wake.
    const next = evs.slice(w.i + 1).find((e) => e.thr === w.thr && /^(woke|woken by) /.test(e.text));
    const other = w.co === ping ? pong : ping;
    const myFd = w.co === ping ? s0 : s1, otherFd = w.co === ping ? s1 : s0;
    assert.ok(next && next.co === w.co, `a WAKER right after the WAKE:\n${show(evs, w.i)}`);
    assert.match(next.text, new RegExp(`^woken by co#${other} writing to the other end \\(fd ${otherFd}\\) [\\d.]+ms earlier; it waited on fd ${myFd}$`));
  }

  // The file: its path. Then closed, and its number reused by the pipe's read end, described anew.
  const desc = evs.findIndex((e) => e.text === `fd ${fileFd} is file "${data}" (created)`);
  assert.ok(desc >= 0, evs.filter((e) => /^fd /.test(e.text)).map((e) => e.line).join('\n'));
  assert.equal(pr, fileFd, 'the pipe reuses the closed file fd number');
  const closed = evs.findIndex((e, i) => i > desc && e.text === `fd ${fileFd} closed`);
  assert.ok(closed > desc, 'the file fd is closed');
  const reused = evs.findIndex((e, i) => i > closed && new RegExp(`^fd ${pr} is pipe read end other end fd ${pw} \\(created\\)$`).test(e.text));
  assert.ok(reused > closed, `the reused number is described as the pipe:\n${show(evs, closed)}`);
});

test('traces of older events versions still read: no fd descriptions or wakers, waits as before', () => {
  for (const name of ['hello-format1.cstrace', 'hello-format2.cstrace']) {
    const evs = events(join(here, 'fixtures', name));
    const head = spawnSync(dump, [join(here, 'fixtures', name)], { encoding: 'utf8' }).stdout.split('\n')[0];
    assert.match(head, /events v1, closed cleanly$/);
    assert.ok(evs.some((e) => /^parked sleeping in sleep/.test(e.text)), `${name}: its parked waits`);
    assert.ok(!evs.some((e) => /^fd \d+ (is|closed)|^woken by /.test(e.text)), `${name}: nothing invented`);
  }
});
