// Sessions: a launched program streams into the store and the derived
// tables as it runs and is recorded as it streams; replaying the recording
// rebuilds the same tables; a damaged recording keeps what came before.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from './session.js';
import { hookId } from '../../core/events/schema.js';
import { echoServerByHand, example, scratch } from '../testing/helpers.js';

let tmp: ReturnType<typeof scratch>;
before(() => (tmp = scratch('session')));
after(() => tmp.cleanup());

test('a launched sleep_forever session: the sleeper is suspended in nanosleep, the printer finished, the program exited 0', async () => {
  const rec = join(tmp.dir, 'sf.cstrace');
  const s = Session.launch({ cmd: example('sleep_forever'), record: rec });
  await s.whenEnded();
  const st = s.status();
  assert.equal(st.state, 'exited');
  assert.deepEqual(st.exit, { code: 0, signal: null });
  assert.equal(st.drops, 0);
  assert.match(s.output.text(1), /printer: hello/);
  const cos = s.derived.coroutines(true);
  const sleeper = cos.find((c) => c.name === 'sleeper')!;
  const printer = cos.find((c) => c.name === 'printer')!;
  assert.equal(sleeper.state, 'suspended');
  assert.equal(sleeper.wait?.hookName, 'nanosleep');
  assert.equal(sleeper.wait?.hook, hookId('nanosleep'));
  assert.equal(printer.state, 'done');
  assert.ok(printer.switches >= 1);
  assert.equal(s.derived.process.summary(s.strings).exe, example('sleep_forever'));
  assert.equal(statSync(rec).size > 0, true);
});

test('a recording replays into the same tables; a truncated copy keeps everything before the damage and says so', async () => {
  const rec = join(tmp.dir, 'steal.cstrace');
  const live = Session.launch({ cmd: example('steal_imbalance'), record: rec, engine: { workers: 2 } });
  await live.whenEnded();
  assert.equal(live.status().exit?.code, 0);
  const replay = Session.open(rec);
  assert.equal(replay.status().state, 'loaded');
  assert.equal(replay.store.count, live.store.count);
  assert.deepEqual(replay.problems, []);
  const summary = (s: Session) => s.derived.coroutines(true).map((c) => [c.co, c.name, c.state, c.switches, c.calls]);
  assert.deepEqual(summary(replay), summary(live));
  assert.deepEqual(
    replay.derived.calls.rows().map((r) => [r.name, r.count, r.errors]),
    live.derived.calls.rows().map((r) => [r.name, r.count, r.errors]),
  );

  const cut = join(tmp.dir, 'cut.cstrace');
  copyFileSync(rec, cut);
  truncateSync(cut, Math.floor(statSync(rec).size * 0.6));
  const partial = Session.open(cut);
  assert.ok(partial.store.count > 0 && partial.store.count < live.store.count);
  assert.equal(partial.problems.length, 1);
  assert.match(partial.problems[0], /cut\.cstrace/);

  const junk = join(tmp.dir, 'junk.cstrace');
  writeFileSync(junk, readFileSync(rec).subarray(0, 10));
  assert.throws(() => Session.open(junk), /junk\.cstrace/);
});

test('the echo demo with many connections fills the coroutine table and the per-call statistics', async () => {
  const server = Session.launch({ cmd: example('echo_server'), args: ['--port', '0'], record: false });
  const port = await new Promise<string>((res) => {
    server.on('output', () => {
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(server.output.text(1));
      if (m) res(m[1]);
    });
  });
  const client = Session.launch({
    cmd: example('echo_client'),
    args: ['--port', port, '--conns', '50', '--duration', '0.5', '--warmup', '0'],
    record: false,
  });
  await client.whenEnded();
  assert.equal(client.status().exit?.code, 0);
  await new Promise((r) => setTimeout(r, 100));
  server.kill('SIGTERM');
  await server.whenEnded();
  const cos = server.derived.coroutines(true);
  assert.ok(cos.length >= 50, `${cos.length} coroutines`);
  const rows = server.derived.calls.rows();
  const reads = rows.filter((r) => /^(read|recv|recvfrom)$/.test(r.name)).reduce((a, r) => a + r.count, 0);
  const writes = rows.filter((r) => /^(write|send|sendto)$/.test(r.name)).reduce((a, r) => a + r.count, 0);
  assert.ok(reads > 100 && writes > 100, `reads ${reads} writes ${writes}`);
});

test('a slow inspector never slows the target: the engine drops, says how much, and the program runs to its end', async () => {
  // A producer of ~10+ M events/s (bench/c/event_producer.c: coroutines yielding in a loop).
  const { spawnSync } = await import('node:child_process');
  const { build } = await import('../testing/helpers.js');
  const exe = join(tmp.dir, 'event_producer');
  const cc = spawnSync('cc', [
    '-O2',
    '-I',
    join(build, '..', 'engine', 'include'),
    join(build, '..', '..', 'bench', 'c', 'event_producer.c'),
    '-o',
    exe,
    '-L',
    build,
    '-lcoroscope',
    `-Wl,-rpath,${build}`,
  ]);
  assert.equal(cc.status, 0, String(cc.stderr));
  const s = Session.launch({ cmd: exe, args: ['4', '400'], record: false });
  // Block the JS thread for most of the run: nothing is read into JS meanwhile.
  const until = Date.now() + 300;
  while (Date.now() < until) {
    /* the inspector is busy */
  }
  await s.whenEnded();
  const st = s.status();
  assert.equal(st.exit?.code, 0);
  const out = JSON.parse(s.output.text(1));
  assert.ok(out.elapsed_ns < 2e9, `the producer ran ${out.elapsed_ns / 1e6} ms for its 400 ms`);
  assert.ok(st.drops > 0, 'the engine reported what it dropped');
  // Exact accounting: stored events plus the drops the engine reported are what it produced (about 2 per yield).
  assert.ok(
    st.events + st.drops >= out.yields * 2 * 0.95,
    `${st.events} stored + ${st.drops} dropped vs ${out.yields} yields`,
  );
});

test("a setting changed at run time reaches the stream: a new CONFIG with the new values follows the engine's reply", async () => {
  const s = Session.launch({ cmd: example('cpu_hog'), args: ['3'], engine: { workers: 1 }, record: false });
  try {
    const config = () => s.derived.process.summary(s.strings).config;
    for (let i = 0; i < 300 && !config(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(config()?.timeSlice, 10_000_000);
    assert.equal(config()?.preempt, true);
    const reply = await s.target!.control<{ ok: boolean; config: { time_slice_ns: number; preempt: number } }>(
      'set slice=2.5ms',
    );
    assert.equal(reply.config.time_slice_ns, 2_500_000, 'the engine takes a fraction');
    await s.target!.control('set preempt=0');
    for (let i = 0; i < 300 && config()?.preempt !== false; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(config()?.timeSlice, 2_500_000);
    assert.equal(config()?.preempt, false);
    await assert.rejects(
      s.target!.control('set slice=1.0000000001ms'),
      /slice: not a duration/,
      'finer than a nanosecond is refused',
    );
  } finally {
    if (s.status().state === 'running') s.target?.kill('SIGKILL');
    await s.whenEnded();
  }
});

test('attached late to a server started by hand with the flight recorder: its recent past, and its older coroutines by name and state', async () => {
  const { spawnSync } = await import('node:child_process');
  const { server, port } = await echoServerByHand({ COROSCOPE_FLIGHT: '4M', COROSCOPE_WORKERS: '2' });
  try {
    const load = spawnSync(
      example('echo_client'),
      ['--port', port, '--conns', '4', '--duration', '0.3', '--warmup', '0'],
      { encoding: 'utf8', timeout: 20000 },
    );
    assert.equal(load.status, 0, load.stderr);
    const attachedAt = Date.now();
    const s = Session.attach(server.pid!, { record: false });
    await new Promise((r) => setTimeout(r, 500));
    await s.detach();
    await s.whenEnded();
    // The load happened before the attach: only the flight recorder can have its reads.
    const reads = s.derived.calls
      .rows()
      .filter((r) => r.name === 'read')
      .reduce((a, r) => a + r.count, 0);
    assert.ok(reads > 1000, `reads from before the attach: ${reads}`);
    assert.ok(Date.now() - attachedAt < 5000);
    // The acceptor was created long before the window and has parked since the last connection.
    const acceptor = s.derived.coroutines(true).find((c) => c.name === 'acceptor');
    assert.ok(acceptor, 'the acceptor is listed by name');
    assert.equal(acceptor!.state, 'suspended');
    assert.equal(acceptor!.wait?.hookName, 'accept4');
    assert.equal(acceptor!.entry, 'acceptor_main');
  } finally {
    server.kill('SIGKILL');
  }
});

test('a session kept without a store (run, attach, stats) has the same derived tables and no event store', async () => {
  const rec = join(tmp.dir, 'nostore.cstrace');
  const live = Session.launch({
    cmd: example('steal_imbalance'),
    record: rec,
    engine: { workers: 2 },
    store: false,
    derived: true,
  });
  await live.whenEnded();
  assert.equal(live.status().exit?.code, 0);
  assert.throws(() => live.store, /keeps no event store/);
  assert.throws(() => live.derived.stateAt(0), /cannot rewind/);
  const withStore = Session.open(rec);
  const streamed = Session.open(rec, { store: false });
  assert.throws(() => streamed.store, /keeps no event store/);
  assert.equal(streamed.derived.count, withStore.store.count);
  assert.equal(live.derived.count, withStore.store.count);
  const tables = (s: Session) => ({
    coroutines: s.derived.coroutines(true),
    calls: s.derived.calls.rows(),
    workers: s.derived.workers(),
    preemption: s.derived.preemption.summary(),
    process: s.derived.process.summary(s.strings),
  });
  assert.deepEqual(tables(streamed), tables(withStore));
  assert.deepEqual(
    tables(live).coroutines.map((c) => [c.co, c.state, c.switches, c.calls]),
    tables(withStore).coroutines.map((c) => [c.co, c.state, c.switches, c.calls]),
  );
  assert.ok(streamed.derived.bytesUsed() < withStore.derived.bytesUsed() + withStore.store.bytesUsed());
});

test('a recording session launched with events: false gets no batch in JS and counts every event the file holds', async () => {
  const rec = join(tmp.dir, 'counted.cstrace');
  const live = Session.launch({
    cmd: example('steal_imbalance'),
    record: rec,
    engine: { workers: 2 },
    store: false,
    events: false,
  });
  let batches = 0;
  live.on('batch', () => batches++);
  await live.whenEnded();
  const st = live.status();
  assert.equal(st.exit?.code, 0);
  assert.equal(batches, 0);
  const file = Session.open(rec);
  assert.ok(file.store.count > 0);
  assert.equal(st.events, file.store.count);
  assert.equal(st.drops, 0);
  assert.throws(
    () => Session.launch({ cmd: example('steal_imbalance'), record: false, events: false }),
    /events: false keeps nothing/,
  );
});
