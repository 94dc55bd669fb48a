// AppHost: the requests of preload/api.ts over the core — demos that stream
// batches to a subscribed page and end, the plain error codes (missing
// program, static binary, corrupt trace, bad arguments), control of a live
// target, exports. The main listener here behaves like the page: it
// subscribes to every session it hears of and acks every batch.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiPush, RequestArgs, RequestName, RequestResult } from '../../preload/api.js';
import { examplesDir } from '../engine/paths.js';
import { scratch } from '../testing/helpers.js';
import { AppHost } from './host.js';

let tmp: ReturnType<typeof scratch>;
let host: AppHost;
const pushes: ApiPush[] = [];
const subscribedTo = new Set<string>();
/** A page: subscribes from 0 to every session it hears of, acks every batch. */
const page = (p: ApiPush): void => {
  if (process.env.DBG) console.log(p.type, JSON.stringify(p).slice(0, 150));
  pushes.push(p);
  if (p.type === 'status' && !subscribedTo.has(p.status.id)) {
    subscribedTo.add(p.status.id);
    void host.handle({ id: 0, name: 'subscribe', args: [p.status.id, 0] }, { push: page });
  }
  if (p.type === 'batch')
    void host.handle({ id: 0, name: 'ack', args: [p.session, p.seq + p.events.byteLength / 64] }, { push: page });
};
before(() => {
  tmp = scratch('host');
  process.env.COROSCOPE_RECORDINGS = join(tmp.dir, 'rec');
  host = new AppHost();
  host.onPush(page);
});
after(async () => {
  await host.close();
  delete process.env.COROSCOPE_RECORDINGS;
  tmp.cleanup();
});

/** A well-formed request through the host's envelope entry point; its result as the contract types it. */
const ask = async <K extends RequestName>(name: K, ...args: RequestArgs<K>): Promise<RequestResult<K>> => {
  const r = await host.handle({ id: 1, name, args });
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.result as RequestResult<K>;
};
const rejects = async (code: string, name: string, ...args: unknown[]) => {
  const r = await host.handle({ id: 7, name, args });
  assert.equal(r.ok, false, `${name} ${JSON.stringify(args)} should fail`);
  if (!r.ok) assert.equal(r.error.code, code, r.error.message);
  assert.equal(r.id, 7);
};
/** Resolves once the page (the subscribed listener) got the session's 'end'. */
const ended = async (id: string, ms = 20000): Promise<void> => {
  for (const t0 = Date.now(); !pushes.some((p) => p.type === 'end' && p.session === id);) {
    if (Date.now() - t0 > ms) throw new Error(`${id} did not end`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('runDemo sleep_forever pushes batches with their strings, output, status, and ends with exit 0', async () => {
  const st = await ask('runDemo', 'sleep_forever');
  assert.match(st.id, /^s\d+$/);
  assert.equal(st.kind, 'launched');
  await ended(st.id);
  const mine = pushes.filter((p) =>
    'session' in p ? p.session === st.id : p.type === 'status' && p.status.id === st.id,
  );
  const batches = mine.filter((p) => p.type === 'batch');
  assert.ok(batches.length > 0);
  for (const b of batches) assert.equal(b.events.byteLength % 64, 0);
  const strings = batches.flatMap((b) => b.strings).map(([, t]) => t);
  assert.ok(strings.includes('sleeper') && strings.includes('printer'), strings.join(','));
  assert.ok(mine.some((p) => p.type === 'output' && /printer: hello/.test(p.text)));
  const last = mine.filter((p) => p.type === 'status').at(-1)!;
  assert.equal(last.type === 'status' && last.status.state, 'exited');
  assert.deepEqual(last.type === 'status' && last.status.exit, { code: 0, signal: null });
  assert.equal(mine.at(-1)!.type, 'end');
  // a second page subscribing from 0 after the end gets the same events, from the file, then 'end'
  const again: ApiPush[] = [];
  const other = (p: ApiPush) => again.push(p);
  const off = host.onPush(other);
  await host.handle({ id: 2, name: 'subscribe', args: [st.id, 0] }, { push: other });
  for (let i = 0; i < 500 && !again.some((p) => p.type === 'end'); i++) await new Promise((r) => setTimeout(r, 10));
  off();
  const bytes = (l: ApiPush[]) => Buffer.concat(l.flatMap((p) => (p.type === 'batch' ? [p.events] : [])));
  assert.ok(
    bytes(again.filter((p) => 'session' in p && p.session === st.id)).equals(bytes(batches)),
    'the same events, in the same order',
  );
  assert.equal(again.filter((p) => p.type === 'end').length, 1);
  // sessions() lists it; exports: perfetto from the recording, native copy
  assert.ok((await ask('sessions')).some((s) => s.id === st.id));
  const ex = await ask('exportSession', st.id, 'perfetto');
  assert.ok(ex.bytes > 0 && statSync(ex.path!).size === ex.bytes);
  const nat = await ask('exportSession', st.id, 'native');
  assert.match(nat.path!, /\.cstrace$/);
  // openTrace of the recording replays it and ends
  const rec = await ask('openTrace', st.recordPath!);
  assert.equal(rec.state, 'loaded');
  await ended(rec.id);
  assert.ok(pushes.some((p) => p.type === 'batch' && p.session === rec.id));
  const fromFile = pushes.filter((p) => p.type === 'batch' && p.session === rec.id);
  assert.ok(bytes(fromFile).equals(bytes(batches)), 'the opened recording streams the same events');
  // Opening the same file again gives the session already open, not a second one.
  const again2 = await ask('openTrace', st.recordPath!);
  assert.equal(again2.id, rec.id);
  assert.equal((await ask('sessions')).filter((s) => s.name === st.recordPath).length, 1);
  await ask('closeSession', rec.id);
  await rejects('no-session', 'subscribe', rec.id, 0);
  // Closed, it opens anew.
  const reopened = await ask('openTrace', st.recordPath!);
  assert.notEqual(reopened.id, rec.id);
  await ended(reopened.id);
  await ask('closeSession', reopened.id);
});

test('launch of a missing program: not-found; a static binary: static', async () => {
  await rejects('not-found', 'launch', { cmd: join(tmp.dir, 'nope'), args: [] });
  await rejects('not-found', 'launch', { cmd: 'no-such-command-coroscope', args: [] });
  const src = join(tmp.dir, 'st.c');
  writeFileSync(src, 'int main(void){return 0;}\n');
  const bin = join(tmp.dir, 'st');
  try {
    execFileSync('cc', ['-static', '-o', bin, src], { stdio: 'ignore' });
  } catch {
    return; // no static libc here: nothing to test
  }
  await rejects('static', 'launch', { cmd: bin, args: [] });
});

test('openTrace of a corrupt file: bad-trace; of a missing one: not-found', async () => {
  const junk = join(tmp.dir, 'junk.cstrace');
  writeFileSync(junk, 'this is not a trace');
  await rejects('bad-trace', 'openTrace', junk);
  await rejects('not-found', 'openTrace', join(tmp.dir, 'missing.cstrace'));
});

test('pause, snapshot, step and resume on steal_imbalance', async () => {
  const st = await ask('runDemo', 'steal_imbalance', { workers: 2 });
  // Wait until the runtime has started (the first batch) before pausing.
  for (let i = 0; i < 200 && !pushes.some((p) => p.type === 'batch' && p.session === st.id); i++)
    await new Promise((r) => setTimeout(r, 10));
  const p = await ask('pause', st.id);
  assert.deepEqual(p, { ok: true, paused: true });
  const snap = await ask('snapshot', st.id);
  assert.equal(snap.paused, true);
  assert.ok(snap.coroutines.length > 0 && snap.workers.length === 2);
  assert.deepEqual(await ask('step', st.id, 3), { ok: true, steps: 3 });
  assert.deepEqual(await ask('resume', st.id), { ok: true, paused: false });
  await ended(st.id, 30000);
  const last = pushes.filter((x) => x.type === 'status' && x.status.id === st.id).at(-1);
  assert.equal(last?.type === 'status' && last.status.exit?.code, 0);
  await rejects('control', 'pause', st.id);
});

test('setEngine: time slice, preemption and hooks change at run time, the reply shows them, a gone target says so', async () => {
  const st = await ask('launch', {
    cmd: join(examplesDir(), 'cpu_hog'),
    args: ['5'],
    engine: { workers: 1 },
    record: false,
  });
  for (let i = 0; i < 300 && !pushes.some((p) => p.type === 'batch' && p.session === st.id); i++)
    await new Promise((r) => setTimeout(r, 10));
  const hello = await ask('hello', st.id);
  assert.deepEqual([hello.config.preempt, hello.config.hooks, hello.config.time_slice_ns], [1, 1, 10_000_000]);
  const off = await ask('setEngine', st.id, { key: 'preempt', value: false });
  assert.equal(off.ok, true);
  assert.equal(off.config?.preempt, 0);
  // A fraction is sent as whole nanoseconds: the engine's parser takes no "2.5ms".
  const slice = await ask('setEngine', st.id, { key: 'slice', value: '2.5ms' });
  assert.equal(slice.config?.time_slice_ns, 2_500_000);
  assert.equal(slice.config?.preempt, 0);
  // 0 / 1 are taken for off / on too (the contract types booleans; the check is lenient).
  const hooks = await host.handle({ id: 2, name: 'setEngine', args: [st.id, { key: 'hooks', value: 0 }] });
  assert.equal(hooks.ok && (hooks.result as RequestResult<'setEngine'>).config?.hooks, 0);
  const again = await ask('hello', st.id);
  assert.deepEqual([again.config.preempt, again.config.hooks, again.config.time_slice_ns], [0, 0, 2_500_000]);
  assert.equal((await ask('setEngine', st.id, { key: 'hooks', value: true })).config?.hooks, 1);
  await rejects('bad-request', 'setEngine', st.id, { key: 'slice', value: '50us' });
  await ask('kill', st.id, 'SIGKILL');
  await ended(st.id);
  const r = await host.handle({ id: 3, name: 'setEngine', args: [st.id, { key: 'preempt', value: true }] });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.error.code, 'control');
    assert.match(r.error.message, /set preempt=1: the target is gone/);
  }
});

test('bad arguments are refused with bad-request; unknown sessions with no-session', async () => {
  await rejects('bad-request', 'nosuch');
  await rejects('bad-request', 'listDemos', 1);
  await rejects('bad-request', 'launch', { cmd: 42, args: [] });
  await rejects('bad-request', 'launch', { cmd: 'true', args: 'x' });
  await rejects('bad-request', 'launch', { cmd: 'true', args: [], env: { LD_PRELOAD: '/x.so' } });
  await rejects('bad-request', 'launch', { cmd: 'true', args: [], engine: { workers: 0 } });
  await rejects('bad-request', 'launch', { cmd: 'true', args: [], engine: { timeSlice: '10 parsecs' } });
  await rejects('bad-request', 'runDemo', 'rm');
  await rejects('bad-request', 'attach', -1);
  await rejects('bad-request', 'attach', '123');
  await rejects('bad-request', 'openTrace', 'relative.cstrace');
  await rejects('bad-request', 'step', 's1', 0);
  await rejects('bad-request', 'setEngine', 's1', { key: 'workers', value: 3 });
  await rejects('bad-request', 'exportSession', 's1', 'pdf');
  await rejects('bad-request', 'kill', 's1', 'SIGSEGV');
  await rejects('no-session', 'closeSession', 's9999');
  const r = await host.handle(null);
  assert.equal(r.ok, false);
  if (!r.ok) assert.equal(r.error.code, 'bad-request');
});

test('attach to a pid that runs no engine: no-engine', async () => {
  await rejects('no-engine', 'attach', process.pid);
});

test('listDemos: every demo program exists; listRecordings sees the recordings', async () => {
  const demos = await ask('listDemos');
  assert.deepEqual(
    demos.map((d) => d.name),
    ['sleep_forever', 'echo_server', 'blocking_file', 'steal_imbalance', 'cpu_hog', 'hello'],
  );
  for (const d of demos) assert.ok(existsSync(d.cmd), d.cmd);
  mkdirSync(process.env.COROSCOPE_RECORDINGS!, { recursive: true });
  assert.ok((await ask('listRecordings')).length >= 1);
  assert.ok(Array.isArray(await ask('listProcesses')));
});
