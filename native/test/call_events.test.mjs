// The events that complete the picture of hooked calls and of the scheduler
// (docs/events.md): CALL_ENTER (a call that parks, when it parks), CALL_ADDR
// (the peer of connect/accept), CO_CREATE's entry symbol, QUEUES samples and
// CO_MIGRATE. Real programs record with COROSCOPE_TRACE; coroscope-dump
// prints the trace, one event per line, and the checks read those lines.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEnv, compileProg, dump, examples, here, startEchoServer as startServer } from './support.mjs';

let tmp;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-call-events-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * The dump of a trace as events: { i, ts, thr, co, name, text } where thr is
 * "w0" (a worker) or "t1234" (another thread), co the coroutine id (0: none),
 * text what happened. STRING records are resolved by the dump, not listed.
 * torn: the program left with _exit (echo_client does), so its recorder may
 * have been cut in the middle of a chunk: the dump then prints every record
 * before it and says so (exit status 1).
 */
function events(file, torn = false) {
  const r = spawnSync(dump, [file], { encoding: 'utf8', timeout: 30000, maxBuffer: 512 * 1024 * 1024 });
  if (!(torn && r.status === 1 && /truncated chunk/.test(r.stderr))) assert.equal(r.status, 0, r.stderr);
  const out = [];
  const re = /^(-?\d+\.\d+) (\S+) (?:-|co#(\d+)(?: "((?:[^"\\]|\\.)*)")?) (.*)$/;
  for (const line of r.stdout.split('\n')) {
    const m = re.exec(line);
    if (m) out.push({ i: out.length, ts: Number(m[1]), thr: m[2], co: m[3] ? Number(m[3]) : 0, name: m[4] ?? '', text: m[5], line });
  }
  return out;
}

/**
 * Per-trace lookups, built once (the traces hold 10^5..10^6 events: a scan per
 * question would make these checks quadratic): for each event the index of the
 * next one of its thread, and for each coroutine the indices of its events.
 */
const lookups = new WeakMap();
function lookup(evs) {
  let l = lookups.get(evs);
  if (l) return l;
  const nextThr = new Int32Array(evs.length).fill(-1);
  const lastOfThr = new Map();
  const ofCo = new Map();
  for (const e of evs) {
    const prev = lastOfThr.get(e.thr);
    if (prev !== undefined) nextThr[prev] = e.i;
    lastOfThr.set(e.thr, e.i);
    let list = ofCo.get(e.co);
    if (!list) ofCo.set(e.co, (list = []));
    list.push(e.i);
  }
  lookups.set(evs, (l = { nextThr, ofCo }));
  return l;
}

/** The next event after ev from the same thread (the dump keeps each thread's order). */
function nextOfThread(evs, ev) {
  const k = lookup(evs).nextThr[ev.i];
  return k < 0 ? undefined : evs[k];
}

/** Events of coroutine co after ev, in order, lazily (callers stop at the first they want). */
function* laterOfCo(evs, ev) {
  const list = lookup(evs).ofCo.get(ev.co) ?? [];
  let lo = 0, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] <= ev.i) lo = mid + 1;
    else hi = mid;
  }
  for (let k = lo; k < list.length; k++) yield evs[list[k]];
}

/** The first event of it (an iterable) that matches pred. */
function first(it, pred) {
  for (const e of it) if (pred(e)) return e;
  return undefined;
}

const show = (evs, from, n = 12) => evs.slice(Math.max(0, from - 2), from + n).map((e) => e.line).join('\n');

/**
 * Every CALL_ENTER ("hook(...) ...") is followed, on its thread, by the
 * CO_SUSPEND of the same hook (after any CALL_ADDR; a waker on another thread
 * may come in between in the merged dump), and among its coroutine's later
 * events by its closing CALL (same hook, marked "parked") before the next
 * CALL_ENTER. In a torn trace (the program left with _exit), a CALL_ENTER
 * that is its thread's last record may have lost what followed it.
 */
function checkEnterPairs(evs, torn = false) {
  const enters = evs.filter((e) => / \.\.\.$/.test(e.text));
  for (const en of enters) {
    const hook = /^(\w+)\(/.exec(en.text)[1];
    let park = nextOfThread(evs, en);
    while (park && /^ +address /.test(park.text)) park = nextOfThread(evs, park);
    if (!park && torn) continue;
    assert.match(park?.text ?? '', new RegExp(`^parked (in|sleeping in) ${hook}\\b`),
      `CALL_ENTER is followed by its coroutine parking in ${hook}:\n${show(evs, en.i)}`);
    assert.equal(park.co, en.co);
    const closing = new RegExp(`^${hook}\\(.*\\) = .* parked`);
    const close = first(laterOfCo(evs, en), (e) => !/^ +address /.test(e.text) && (/ \.\.\.$/.test(e.text) || closing.test(e.text)));
    if (close) {
      assert.doesNotMatch(close.text, / \.\.\.$/, `a second CALL_ENTER before the CALL that closes the first:\n${show(evs, en.i)}`);
    }
  }
  return enters.length;
}

async function startEchoServer(trace) {
  const { server, port } = await startServer(cleanEnv({ COROSCOPE_TRACE: trace, COROSCOPE_WORKERS: '2' }));
  return { server, port: Number(port) };
}

test('echo server and client: parked accept/read/connect are announced by CALL_ENTER, peers come as CALL_ADDR, entries by name, queue samples', async () => {
  const strace = join(tmp, 'echo_server.cstrace');
  const ctrace = join(tmp, 'echo_client.cstrace');
  const { server, port } = await startEchoServer(strace);
  const conns = 4;
  const client = spawnSync(join(examples, 'echo_client'), ['--port', String(port), '--conns', String(conns), '--duration', '0.3', '--warmup', '0'], {
    env: cleanEnv({ COROSCOPE_TRACE: ctrace, COROSCOPE_WORKERS: '2' }),
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.equal(client.status, 0, client.stderr);
  const exited = new Promise((res) => server.on('exit', (code) => res(code)));
  server.kill('SIGTERM');
  assert.equal(await exited, 0);

  const evs = events(strace);
  // The acceptor parks in accept4 before the first client comes: CALL_ENTER, then CO_SUSPEND.
  const enter = evs.find((e) => e.name === 'acceptor' && /^accept4\(fd=(\d+), flags=0x[0-9a-f]+, timeout=none\) \.\.\.$/.test(e.text));
  assert.ok(enter, `no CALL_ENTER for the acceptor's accept4:\n${evs.slice(0, 40).map((e) => e.line).join('\n')}`);
  assert.match(nextOfThread(evs, enter).text, /^parked in accept4 \(fd \d+ readable\)/);
  // Its CALL, marked parked, then the peer (a client's port, not the server's) on the next line of the same thread.
  const fd = /fd=(\d+)/.exec(enter.text)[1];
  const call = first(laterOfCo(evs, enter), (e) => new RegExp(`^accept4\\(fd=${fd}, flags=0x[0-9a-f]+\\) = \\d+ <.*> parked$`).test(e.text));
  assert.ok(call, `the parked accept4's CALL:\n${show(evs, enter.i, 30)}`);
  const addr = nextOfThread(evs, call);
  const m = /^ +address "127\.0\.0\.1:(\d+)"$/.exec(addr.text);
  assert.ok(m, `CALL_ADDR right after the accept4 CALL:\n${show(evs, call.i)}`);
  assert.ok(Number(m[1]) > 0 && Number(m[1]) !== port, `the peer's port ${m[1]} is the client's, not the server's ${port}`);
  assert.equal(addr.co, call.co);
  // Every accepted connection has its address.
  const accepts = evs.filter((e) => e.name === 'acceptor' && /^accept4\(.*\) = \d+ </.test(e.text));
  assert.equal(accepts.length, conns);
  for (const a of accepts) assert.match(nextOfThread(evs, a).text, /^ +address "127\.0\.0\.1:\d+"$/);

  // A connection coroutine parks in read: CALL_ENTER with the size asked for, its CO_SUSPEND, later the parked CALL.
  const readEnter = evs.find((e) => /^conn-\d+$/.test(e.name) && /^read\(fd=\d+, \d+, timeout=none\) \.\.\.$/.test(e.text));
  assert.ok(readEnter, 'a CALL_ENTER for a parked read');
  const [, rfd, size] = /^read\(fd=(\d+), (\d+),/.exec(readEnter.text);
  assert.match(nextOfThread(evs, readEnter).text, new RegExp(`^parked in read \\(fd ${rfd} readable\\)`));
  assert.ok(first(laterOfCo(evs, readEnter), (e) => new RegExp(`^read\\(fd=${rfd}, ${size}\\) = \\d+ <.*> parked$`).test(e.text)),
    `the parked read's CALL carries the same fd and size:\n${show(evs, readEnter.i, 20)}`);
  assert.ok(checkEnterPairs(evs) >= conns, 'every connection parked at least once');
  // Parked CALLs keep their own argument summary (other coroutines ran meanwhile): no parked read of size 0.
  assert.equal(evs.filter((e) => /^read\(fd=\d+, 0\) = .* parked$/.test(e.text)).length, 0, 'parked reads keep their size');

  // Entry symbols (static functions: found in the executable's .symtab).
  assert.ok(evs.some((e) => e.name === 'acceptor' && /^created by a thread entry="acceptor_main"/.test(e.text)));
  const conCreated = evs.filter((e) => /^conn-\d+$/.test(e.name) && /^created by co#\d+ /.test(e.text));
  assert.equal(conCreated.length, conns);
  for (const c of conCreated) assert.match(c.text, /entry="conn_main"/);

  // QUEUES samples from the workers, with values this program can have.
  const samples = evs.filter((e) => /^queues /.test(e.text));
  assert.ok(samples.length >= 2, `QUEUES samples: ${samples.length}`);
  let parkedSeen = 0;
  for (const s of samples) {
    const q = /^queues run=(\d+) spawn=(\d+) injection=(\d+) timers=(\d+) parked=(\d+)$/.exec(s.text);
    assert.ok(q, s.line);
    assert.match(s.thr, /^w[01]$/, 'sampled by a worker itself');
    const [run, spawnq, inj, timers, parked] = q.slice(1).map(Number);
    assert.ok(run <= conns + 1 && spawnq <= conns && inj <= 1 && timers <= 1 && parked <= conns + 1, s.line);
    parkedSeen = Math.max(parkedSeen, parked);
  }
  assert.ok(parkedSeen >= 1, 'some sample counts parked coroutines');

  // Idle workers say where they sleep, and each wake-up says why: the netpoller's owner wakes
  // for fd readiness (the connections' data), the others are kicked for new work.
  assert.ok(evs.some((e) => /^idle \(no timer, in the netpoller\)$/.test(e.text)), 'a worker sleeps in the netpoller');
  assert.ok(evs.some((e) => /^busy \(fd\)$/.test(e.text)), 'a worker wakes for fd readiness');
  assert.ok(evs.some((e) => /^busy \(kicked\)$/.test(e.text)), 'a worker is kicked for new work');
  const lastIdleOrBusy = new Map(); // thread -> its latest idle/busy event so far
  for (const e of evs) {
    if (!/^(idle|busy) /.test(e.text)) continue;
    if (/^busy /.test(e.text)) {
      const prev = lastIdleOrBusy.get(e.thr);
      assert.ok(prev && /^idle /.test(prev.text), `every busy follows an idle of its worker:\n${show(evs, e.i)}`);
    }
    lastIdleOrBusy.set(e.thr, e);
  }

  // The client: every connection's connect is followed by the server's address.
  const cevs = events(ctrace, true);
  const connects = cevs.filter((e) => /^connect\(fd=\d+\) = 0 </.test(e.text));
  assert.equal(connects.length, conns);
  for (const c of connects) {
    assert.equal(nextOfThread(cevs, c).text.trim(), `address "127.0.0.1:${port}"`, show(cevs, c.i));
  }
  checkEnterPairs(cevs, true);
});

test('call_addr: IPv4, IPv6, AF_UNIX paths and abstract names, a connect that parks until its timeout, and a plain thread\'s connect', () => {
  const exe = compileProg('call_addr', tmp);
  const trace = join(tmp, 'call_addr.cstrace');
  const path = join(tmp, 'srv.sock');
  const r = spawnSync(exe, [path], { env: cleanEnv({ COROSCOPE_TRACE: trace, COROSCOPE_WORKERS: '2' }), encoding: 'utf8', timeout: 20000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const said = (re) => re.exec(r.stdout)?.[1];
  const evs = events(trace);
  const addrAfter = (callRe) => evs.filter((e) => callRe.test(e.text)).map((e) => nextOfThread(evs, e).text.trim());

  // Clients: the address they connected to; servers: the peer (TCP) or the listening path (AF_UNIX).
  const p4 = said(/^inet 127\.0\.0\.1:(\d+)$/m);
  assert.ok(addrAfter(/^connect\(fd=\d+\) = 0 </).includes(`address "127.0.0.1:${p4}"`));
  const acceptAddrs = addrAfter(/^accept4?\(fd=\d+, flags=0x[0-9a-f]+\) = \d+ </);
  assert.ok(acceptAddrs.some((a) => /^address "127\.0\.0\.1:\d+"$/.test(a) && a !== `address "127.0.0.1:${p4}"`), acceptAddrs.join('\n'));
  const p6 = said(/^inet6 \[::1\]:(\d+)$/m);
  if (p6) {
    assert.ok(addrAfter(/^connect\(fd=\d+\) = 0 </).includes(`address "[::1]:${p6}"`));
    assert.ok(acceptAddrs.some((a) => /^address "\[::1\]:\d+"$/.test(a)), acceptAddrs.join('\n'));
  } else {
    assert.match(r.stdout, /^inet6 skipped$/m);
  }
  assert.ok(addrAfter(/^connect\(fd=\d+\) = 0 </).includes(`address "${path}"`), 'AF_UNIX path after connect');
  assert.ok(acceptAddrs.includes(`address "${path}"`), 'an unnamed AF_UNIX peer shows the listening path');
  const abs = said(/^abstract (@cs-call-addr-\d+)$/m);
  assert.ok(addrAfter(/^connect\(fd=\d+\) = 0 </).includes(`address "${abs}"`), 'abstract name after connect');
  assert.ok(acceptAddrs.includes(`address "${abs}"`), 'abstract name after accept');

  // The connect that parks: CALL_ENTER with its SO_SNDTIMEO, its address, the park; then the CALL and the address again.
  const full = said(/^parked-connect (\d+) rc -1 errno \d+$/m);
  const enter = evs.find((e) => e.name === 'parked-connect' && /^connect\(fd=\d+, timeout=(\d+\.\d+)ms\) \.\.\.$/.test(e.text));
  assert.ok(enter, 'CALL_ENTER of the parked connect');
  const timeout = Number(/timeout=(\d+\.\d+)ms/.exec(enter.text)[1]);
  assert.ok(timeout >= 150 && timeout < 150.5, `timeout ${timeout} ms (SO_SNDTIMEO 150 ms, counted from the call)`);
  const a1 = nextOfThread(evs, enter);
  assert.equal(a1.text.trim(), `address "127.0.0.1:${full}"`);
  assert.match(nextOfThread(evs, a1).text, /^parked in connect \(fd \d+ writable, deadline/);
  const done = first(laterOfCo(evs, enter), (e) => /^connect\(fd=\d+\) = -1 EINPROGRESS <.*> parked$/.test(e.text));
  assert.ok(done, show(evs, enter.i, 20));
  assert.equal(nextOfThread(evs, done).text.trim(), `address "127.0.0.1:${full}"`);

  // A sleep's CALL_ENTER carries its exact duration as the timeout.
  const sleeps = evs.filter((e) => e.name === 'client' && /^usleep\(timeout=([\d.]+)ms\) \.\.\.$/.test(e.text));
  assert.ok(sleeps.length >= 1);
  for (const s of sleeps) assert.match(s.text, /^usleep\(timeout=20\.00\dms\) \.\.\.$/);

  // Outside coroutines: the main thread's connect and its address, on that thread, with no coroutine.
  const plain = said(/^plain-connect (\d+)$/m);
  const pc = evs.filter((e) => /^t\d+$/.test(e.thr) && e.co === 0 && /^connect\(fd=\d+\) = 0 </.test(e.text));
  assert.ok(pc.some((e) => nextOfThread(evs, e).text.trim() === `address "127.0.0.1:${plain}"` && nextOfThread(evs, e).co === 0),
    pc.map((e) => show(evs, e.i, 2)).join('\n---\n'));
  checkEnterPairs(evs);
});

test('steal_imbalance with 2 workers: coroutines stolen before their first run report CO_MIGRATE from the spawner\'s worker, and QUEUES shows the spawn queue', () => {
  const trace = join(tmp, 'steal.cstrace');
  const n = 200;
  const r = spawnSync(join(examples, 'steal_imbalance'), [String(n)], {
    env: cleanEnv({ COROSCOPE_TRACE: trace, COROSCOPE_WORKERS: '2' }),
    encoding: 'utf8',
    timeout: 30000,
  });
  assert.equal(r.status, 0, r.stderr);
  const evs = events(trace);
  const spawnerRun = evs.find((e) => e.name === 'spawner' && /^run /.test(e.text));
  assert.ok(spawnerRun);
  const home = spawnerRun.thr;
  const migrations = evs.filter((e) => /^migrated /.test(e.text));
  // Names by coroutine over the whole trace: chunks are sorted inside, not across each other, so a
  // thief's CO_MIGRATE can be written before the spawner's late-published CO_CREATE that names it.
  const names = new Map();
  for (const e of evs) if (e.name && !names.has(e.co)) names.set(e.co, e.name);
  assert.ok(migrations.length >= 1, `no CO_MIGRATE; workers used: ${/workers_used=(\d+)/.exec(r.stdout)?.[1]}`);
  for (const mg of migrations) {
    const [, from, to] = /^migrated (w\d+) -> (w\d+)$/.exec(mg.text);
    assert.match(names.get(mg.co) ?? '', /^work-\d+$/);
    assert.equal(from, home, 'stolen from the spawner\'s worker');
    assert.notEqual(to, from);
    assert.equal(mg.thr, to, 'emitted by the thief');
    const next = first(laterOfCo(evs, mg), () => true);
    assert.equal(next.text, 'run (switch #1)', 'followed by its first run');
    assert.equal(next.thr, to);
  }
  // Every coroutine that ran first on the other worker reported its move.
  const firstRuns = new Map();
  for (const e of evs) if (/^work-\d+$/.test(names.get(e.co) ?? '') && e.text === 'run (switch #1)') firstRuns.set(e.co, e.thr);
  const away = [...firstRuns.values()].filter((t) => t !== home).length;
  assert.equal(migrations.length, away, 'one CO_MIGRATE per coroutine run away from home');

  const spawnDepths = evs.filter((e) => /^queues /.test(e.text)).map((e) => Number(/spawn=(\d+)/.exec(e.text)[1]));
  assert.ok(spawnDepths.some((d) => d >= 1) && spawnDepths.every((d) => d <= n), `spawn queue samples: ${spawnDepths.join(',')}`);
});

test('sleep_forever: a worker sleeping until a timer says so, and wakes because the timer was due', () => {
  const file = join(tmp, 'sleep_forever.cstrace');
  const r = spawnSync(join(examples, 'sleep_forever'), [], { env: cleanEnv({ COROSCOPE_TRACE: file, COROSCOPE_WORKERS: '1' }), encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  const evs = events(file);
  assert.ok(evs.some((e) => /^idle \(until \+[\d.]+[mun]?s(, in the netpoller)?\)$/.test(e.text)), 'it sleeps until its timer');
  assert.ok(evs.some((e) => /^busy \(timer\)$/.test(e.text)), 'woken by its timer');
});

test('a regular-file read never blocks its worker (page cache, or parked on the offload pool); a pipe read parks', () => {
  const exe = compileProg('file_read', tmp);
  const file = join(tmp, 'file_read.cstrace');
  const r = spawnSync(exe, [join(here, 'progs', 'file_read.c')], { env: cleanEnv({ COROSCOPE_TRACE: file, COROSCOPE_WORKERS: '1' }), encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /file \d+ pipe 1/);
  const reads = events(file).filter((e) => e.name === 'reader' && /^read\(fd=/.test(e.text) && /=/.test(e.text));
  const fileRead = reads.find((e) => /read\(fd=\d+, 4096\) = (?!1 )\d+/.test(e.text));
  const pipeRead = reads.find((e) => / = 1 .* parked/.test(e.text));
  assert.ok(fileRead, `the file read is there: ${reads.map((e) => e.line).join('\n')}`);
  assert.doesNotMatch(fileRead.text, /BLOCKED-WORKER/, 'served with RWF_NOWAIT or on the pool (hook_file.c), not by a blocking read on the worker');
  assert.ok(pipeRead, 'the pipe read parked');
  assert.doesNotMatch(pipeRead.text, /BLOCKED-WORKER/);
});
