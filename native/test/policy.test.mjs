// Recording policies (native/wire/ring.h "Policy"): lossless — a thread whose
// event ring is full waits for the consumer (at most 1 s), so nothing is lost
// — and drop — it never waits, and every loss is counted in DROP records, so
// the events kept plus the DROP counts are exactly the events made.
//
// The program is progs/burst.c: COROUTINES coroutines yield YIELDS times each
// (one CO_YIELD per yield) while a plain thread makes WRITES write(2) calls
// (one CALL each; that thread makes only a few records before them and none
// after). The consumer is held back on purpose so the rings overflow: the
// engine's own recorder writes to a fifo this test stops reading for a while;
// the addon's link stops draining while its JS side is busy.
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { build, cleanEnv, compileProg, dump, here } from './support.mjs';

let tmp, burst;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-policy-'));
  burst = compileProg('burst', tmp);
});
after(() => process.env.KEEP_TMP ? console.log("kept", tmp) : rmSync(tmp, { recursive: true, force: true }));

/** What a trace holds: CO_YIELD records, CALL write records per tid, DROP counts per tid. */
function countTrace(file) {
  const r = spawnSync(dump, [file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, r.stderr);
  const c = { yields: 0, writesBy: new Map(), droppedBy: new Map(), dropped: 0, lossless: false };
  for (const line of r.stdout.split('\n')) {
    let m;
    if (/ "yielder" yield$/.test(line)) c.yields++;
    else if ((m = /^\S+ t(\d+) - write\(fd=/.exec(line))) c.writesBy.set(+m[1], (c.writesBy.get(+m[1]) ?? 0) + 1);
    else if ((m = / DROPPED (\d+) events \(ring of tid (\d+) /.exec(line))) {
      c.droppedBy.set(+m[2], (c.droppedBy.get(+m[2]) ?? 0) + +m[1]);
      c.dropped += +m[1];
    } else if (/ config .* lossless$/.test(line)) c.lossless = true;
  }
  return c;
}

/**
 * Run burst with COROSCOPE_TRACE pointing at a fifo. Reading the fifo stops
 * (so the recorder blocks in write(2) and the rings fill) from the start until
 * holdUntil(child, stdout so far) resolves; then the file is read to its end.
 */
async function traceThroughFifo(args, env, holdUntil) {
  const fifo = join(tmp, `t${Date.now()}-${Math.random()}.fifo`);
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const child = spawn(burst, args, { env: cleanEnv({ COROSCOPE_TRACE: fifo, ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '', err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((res) => child.on('exit', (code) => res(code)));
  const chunks = [];
  const stream = createReadStream(fifo, { highWaterMark: 65536 });
  stream.pause();
  stream.on('data', (d) => chunks.push(d));
  const ended = new Promise((res, rej) => { stream.on('end', res); stream.on('error', rej); });
  await holdUntil(() => out);
  stream.resume();
  const code = await exited;
  await ended;
  assert.equal(code, 0, err);
  const file = fifo.replace(/\.fifo$/, '.cstrace');
  writeFileSync(file, Buffer.concat(chunks));
  return { file, result: JSON.parse(out.trim().split('\n').at(-1)) };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(cond, what, ms = 60000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('COROSCOPE_TRACE lossless (the default) keeps every event of a burst many times larger than the rings while the recorder is held back', async () => {
  // 600k writes: 9x a plain thread's ring; 4 x 50k yields (2 records each)
  // over 2 workers: 1.5x a worker's ring. The recorder cannot write for 300 ms.
  const { file, result } = await traceThroughFifo(['4', '50000', '600000'], { COROSCOPE_WORKERS: '2' }, () => sleep(300));
  const c = countTrace(file);
  assert.equal(c.dropped, 0, 'nothing was dropped');
  assert.equal(c.yields, result.yields, 'every CO_YIELD is in the file');
  assert.equal(c.writesBy.get(result.writer_tid), result.writes, 'every write(2) is in the file');
  assert.ok(c.lossless, 'the CONFIG record says the stream is lossless');
});

test('COROSCOPE_TRACE_POLICY=drop never makes the program wait, and what it kept plus what its DROP records count is exactly what it made', async () => {
  // The recorder is held back until the program has finished its burst: the
  // writer's ring overflows and is still full when the program exits, so its
  // last loss is reported only by the recorder's final account.
  const { file, result } = await traceThroughFifo(['2', '20000', '300000'],
    { COROSCOPE_WORKERS: '2', COROSCOPE_TRACE_POLICY: 'drop' },
    (out) => until(() => out().includes('"writes"'), 'the burst to finish'));
  const c = countTrace(file);
  const kept = c.writesBy.get(result.writer_tid) ?? 0;
  const lost = c.droppedBy.get(result.writer_tid) ?? 0;
  assert.ok(lost > 0, 'the writer lost events (its ring overflowed)');
  assert.equal(kept + lost, result.writes, `kept ${kept} + counted lost ${lost} = the ${result.writes} writes made`);
  assert.ok(!c.lossless, 'the CONFIG record does not claim lossless');
});

/** The addon, as the CLI uses it: launch under the engine, stream and record. */
function launchWithAddon(args, opts, onEvents) {
  const addon = createRequire(import.meta.url)(join(build, 'coroscope.node'));
  const msgs = [];
  let resolveEnd;
  const ended = new Promise((r) => (resolveEnd = r));
  const t = addon.launch({
    file: burst, argv: [burst, ...args], env: Object.entries(cleanEnv()).map(([k, v]) => `${k}=${v}`),
    preload: join(build, 'libcoroscope.so'), stdinNull: true, ...opts,
  }, (m) => {
    msgs.push(m);
    if (m.type === 'events') onEvents?.(m);
    if (m.type === 'end') resolveEnd();
  });
  return { t, msgs, ended };
}

function outputOf(msgs) {
  return msgs.filter((m) => m.type === 'output' && m.stream === 1).map((m) => Buffer.from(m.data).toString()).join('');
}

test('a drop-mode recording through the addon whose reader falls behind counts every loss: kept + DROP counts = made, in the file and in the stream', async () => {
  const file = join(tmp, 'addon-drop.cstrace');
  let stalled = false;
  // The JS side blocks for 1.5 s at the first batch: the link stops draining
  // (16 batches of 1024 in hand) and the rings overflow.
  const { t, msgs, ended } = launchWithAddon(['2', '20000', '300000'], { record: file, policy: 'drop', batchEvents: 1024 }, () => {
    if (stalled) return;
    stalled = true;
    const until = Date.now() + 1500;
    while (Date.now() < until);
  });
  await ended;
  const result = JSON.parse(outputOf(msgs).trim().split('\n').at(-1));
  const c = countTrace(file);
  const kept = c.writesBy.get(result.writer_tid) ?? 0;
  const lost = c.droppedBy.get(result.writer_tid) ?? 0;
  assert.ok(lost > 0, 'the writer lost events');
  assert.equal(kept + lost, result.writes, `file: kept ${kept} + counted lost ${lost} = ${result.writes} made`);
  // The stream handed to JS holds the same records and DROP counts.
  let streamed = 0, streamedDrops = 0;
  for (const m of msgs.filter((x) => x.type === 'events')) {
    const b = Buffer.from(m.events);
    for (let o = 0; o < b.length; o += 64) { // coroscope_event: ts u64, kind u16, worker u16, tid u32, co u64, a[5] u64
      const k = b.readUInt16LE(o + 8), tidAt = b.readUInt32LE(o + 12);
      if (tidAt !== result.writer_tid) continue;
      if (k === 48 && (Number(b.readBigUInt64LE(o + 24)) & 0xffff) === writeHook()) streamed++;
      if (k === 96) streamedDrops += Number(b.readBigUInt64LE(o + 24));
    }
  }
  assert.equal(streamed, kept, 'the stream has the writes the file has');
  assert.equal(streamedDrops, lost, 'and the same DROP counts');
  assert.equal(t.stats().dropped, c.dropped, 'stats().dropped is the sum of the DROP counts');
});

test('a lossless recording through the addon whose reader is stopped makes the target wait at most about a second, then it runs on', async () => {
  // The inspector is a separate node process that launches burst lossless and
  // is then stopped (SIGSTOP): nobody drains. Each of the target's threads
  // waits for room at most 1 s once, then drops and counts; the target ends.
  const script = `
    const addon = require(${JSON.stringify(join(build, 'coroscope.node'))});
    let said = false;
    const t = addon.launch({ file: ${JSON.stringify(burst)}, argv: ['burst', '2', '20000', '400000'],
      env: ${JSON.stringify(Object.entries(cleanEnv()).map(([k, v]) => `${k}=${v}`))},
      preload: ${JSON.stringify(join(build, 'libcoroscope.so'))}, stdinNull: true, policy: 'lossless' }, (m) => {
      if (m.type === 'events' && !said) { said = true; process.stdout.write(t.pid + '\\n'); }
    });`;
  const inspector = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  inspector.stdout.on('data', (d) => (out += d));
  try {
    await until(() => out.includes('\n'), 'the inspector to start the target');
    const pid = Number(out.trim());
    inspector.kill('SIGSTOP');
    const stoppedAt = Date.now();
    // The target is the stopped inspector's child: once it has exited it stays a zombie.
    const state = () => { try { return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0]; } catch { return 'gone'; } };
    await until(() => state() === 'Z' || state() === 'gone', 'the target to finish while its inspector is stopped', 60000);
    const waited = Date.now() - stoppedAt;
    assert.ok(waited < 60000, `the target finished ${waited} ms after its consumer stopped`);
  } finally {
    inspector.kill('SIGKILL');
  }
});

// The CALL record's hook id of write(2) (coroscope_events.h order), found once from a tiny trace.
let writeHookId;
/** The hook id of write, from the event schema (coroscope_events.h: ids from 1, in enum order). */
function writeHook() {
  if (writeHookId !== undefined) return writeHookId;
  const h = readFileSync(join(here, '..', 'engine', 'include', 'coroscope_events.h'), 'utf8');
  const body = h.slice(h.indexOf('enum coroscope_hook {'), h.indexOf('COROSCOPE_HOOK_COUNT'));
  const names = [...body.matchAll(/COROSCOPE_HOOK_(\w+)/g)].map((m) => m[1]);
  writeHookId = names.indexOf('write') + 1;
  assert.ok(writeHookId > 0);
  return writeHookId;
}

test('an attach in drop mode whose reader falls behind, to a target that then exits, counts every loss: kept + DROP counts = made', async () => {
  const file = join(tmp, 'attach-drop.cstrace');
  const child = spawn(burst, ['2', '20000', '300000', 'wait'], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await until(() => out.includes('ready\n'), 'the target to start its runtime');
  const addon = createRequire(import.meta.url)(join(build, 'coroscope.node'));
  const msgs = [];
  let stalled = false, resolveEnd;
  const ended = new Promise((r) => (resolveEnd = r));
  const t = addon.attach({ pid: child.pid, record: file, policy: 'drop', batchEvents: 1024 }, (m) => {
    msgs.push(m);
    if (m.type === 'line' && /"subscribed":true/.test(m.line)) child.stdin.write('go\n');
    if (m.type === 'events' && !stalled && out.includes('ready')) {
      stalled = true;
      const until = Date.now() + 1500;
      while (Date.now() < until); // the JS side falls behind: the link stops draining
    }
    if (m.type === 'end') resolveEnd();
  });
  await until(() => out.includes('"writes"'), 'the burst to finish');
  await ended;
  const result = JSON.parse(out.trim().split('\n').at(-1));
  const c = countTrace(file);
  const kept = c.writesBy.get(result.writer_tid) ?? 0;
  const lost = c.droppedBy.get(result.writer_tid) ?? 0;
  assert.ok(lost > 0, 'the writer lost events');
  assert.equal(kept + lost, result.writes, `kept ${kept} + counted lost ${lost} = ${result.writes} made`);
  assert.equal(t.stats().dropped, c.dropped);
  assert.ok(msgs.some((m) => m.type === 'line' && /"policy":"drop"/.test(m.line)), 'the engine confirms the policy');
});
