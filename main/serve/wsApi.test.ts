// The contract end to end over serve: the page's own WebSocket client
// (renderer/src/api/wsClient.ts, binary batches as the page asks for them)
// calls the serve server's AppHost; results arrive with the contract's types,
// pushes in order, and a refused call rejects with the host's error code.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { ApiPush, RequestName } from '../../preload/api.js';
import { createWsApi, type WebSocketClass, type WsApi } from '../../renderer/src/api/wsClient.js';
import { scratch } from '../testing/helpers.js';
import { startServe, type Served } from './server.js';

let tmp: ReturnType<typeof scratch>;
let srv: Served;
let api: WsApi;
before(async () => {
  tmp = scratch('contract-serve');
  process.env.COROSCOPE_RECORDINGS = join(tmp.dir, 'rec');
  const dir = join(tmp.dir, 'renderer');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Coroscope</title>');
  srv = await startServe({ rendererDir: dir });
  // A browser sends its page's origin; `ws` in Node is told to.
  const origin = srv.origin;
  class PageSocket extends WebSocket {
    constructor(url: string) {
      super(url, { origin });
    }
  }
  api = createWsApi(
    `ws://127.0.0.1:${srv.port}/api?binary=1&token=${srv.token}`,
    PageSocket as unknown as WebSocketClass,
  );
});
after(async () => {
  api.close();
  await srv.close();
  delete process.env.COROSCOPE_RECORDINGS;
  tmp.cleanup();
});

test('a request round-trips: the page client calls by name, the result comes back as the contract types it', async () => {
  const demos = await api.listDemos();
  const hello = demos.find((d) => d.name === 'hello');
  assert.ok(hello, demos.map((d) => d.name).join(', '));
  assert.equal(typeof hello.description, 'string');
  assert.ok(Array.isArray(hello.args));
  assert.deepEqual(await api.sessions(), []);
});

test('a session round-trips: its status, then, once subscribed, its batches (binary frames), output and end as pushes', async () => {
  const pushes: ApiPush[] = [];
  let seen = () => {};
  const off = api.onPush((p) => {
    pushes.push(p);
    if (p.type === 'batch') void api.ack(p.session, p.seq + p.events.byteLength / 64);
    seen();
  });
  const st = await api.runDemo('hello');
  assert.equal((await api.subscribe(st.id, 0)).from, 0);
  assert.match(st.id, /^s\d+$/);
  assert.equal(st.kind, 'launched');
  assert.equal(st.name, 'hello');
  await new Promise<void>((resolve) => {
    seen = () => pushes.some((p) => p.type === 'end' && p.session === st.id) && resolve();
    seen();
  });
  off();
  const batches = pushes.filter((p): p is ApiPush<'batch'> => p.type === 'batch' && p.session === st.id);
  assert.ok(batches.length > 0);
  for (const b of batches)
    assert.ok(b.events instanceof Uint8Array && b.events.byteLength > 0 && b.events.byteLength % 64 === 0);
  assert.ok(pushes.some((p) => p.type === 'output' && p.session === st.id && p.text.includes('hi')));
  const listed = (await api.sessions()).find((s) => s.id === st.id);
  assert.equal(listed?.state, 'exited');
  assert.deepEqual(listed?.exit, { code: 0, signal: null });
});

test("a refused call rejects with the host's code: bad arguments, an unknown session", async () => {
  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'resolved',
      (e: { code?: string }) => e.code,
    );
  // What the types forbid can still arrive from a page: the host checks it.
  const untyped = api as unknown as Record<RequestName, (...a: unknown[]) => Promise<unknown>>;
  assert.equal(await code(untyped.attach('123')), 'bad-request');
  assert.equal(await code(untyped.step('s1', 0)), 'bad-request');
  assert.equal(await code(api.openTrace('relative.cstrace')), 'bad-request');
  assert.equal(await code(api.pause('s999')), 'no-session');
  assert.equal(await code(api.openTrace(join(tmp.dir, 'missing.cstrace'))), 'not-found');
});

test("a big trace's level of detail over serve: chunk summaries as columns, a window's events as binary window pushes", async () => {
  // The hello demo's recording, opened as a trace.
  let ended = () => {};
  const off = api.onPush((p) => {
    if (p.type === 'batch') void api.ack(p.session, p.seq + p.events.byteLength / 64);
    if (p.type === 'end') ended();
  });
  const live = await api.runDemo('hello');
  await new Promise<void>((resolve) => {
    ended = resolve;
    void api.subscribe(live.id, 0);
  });
  off();
  const file = (await api.sessions()).find((s) => s.id === live.id)!.recordPath!;
  const st = await api.openTrace(file);
  const cols = await api.chunkSummaries(st.id, 0);
  assert.equal(cols.from, 0);
  assert.equal(
    cols.chunkEvents.reduce((a, b) => a + b, 0),
    st.events,
  );
  assert.equal(cols.lanes.length % 14, 0);
  const parts: ApiPush<'window'>[] = [];
  const offW = api.onPush((p) => {
    if (p.type === 'window') parts.push(p);
  });
  const t0 = Math.min(...cols.chunkFirstTs);
  const t1 = Math.max(...cols.chunkLastTs);
  const res = await api.readWindow(st.id, { tag: 3, t0, t1, max: 1_000_000 });
  offW();
  assert.deepEqual(res, { tag: 3, events: st.events, cut: false, complete: true });
  assert.ok(parts.length > 0 && parts.every((p) => p.tag === 3 && p.events instanceof Uint8Array));
  assert.equal(
    parts.reduce((s, p) => s + p.events.byteLength / 64, 0),
    st.events,
  );
  assert.equal(parts.at(-1)!.last, true);
  assert.ok(parts[0].strings.length > 0, 'the strings the events refer to come with them');
});
