// Serve mode: the token guards the page and the WebSocket; with it, a
// client runs a demo and receives its batches and its end; loopback only.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { ApiPush, ReplyEnvelope, SessionStatus } from '../../preload/api.js';
import { scratch } from '../testing/helpers.js';
import { startServe, type Served } from './server.js';

let tmp: ReturnType<typeof scratch>;
let srv: Served;
before(async () => {
  tmp = scratch('serve');
  process.env.COROSCOPE_RECORDINGS = join(tmp.dir, 'rec');
  const dir = join(tmp.dir, 'renderer');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><title>Coroscope</title><script type="module" src="/assets/app.js"></script>',
  );
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(tmp.dir, 'secret.txt'), 'secret');
  srv = await startServe({ rendererDir: dir });
});
after(async () => {
  await srv.close();
  delete process.env.COROSCOPE_RECORDINGS;
  tmp.cleanup();
});

function get(
  path: string,
  headers: Record<string, string> = {},
  hostAddr = '127.0.0.1',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: hostAddr, port: srv.port, path, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const wsRefused = (url: string, headers: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => reject(new Error('opened')));
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
    ws.on('error', () => resolve(0));
  });

test('the url is on 127.0.0.1 with a 64-hex-digit token', () => {
  assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
});

test('without the right token: HTTP 403 and the WebSocket refused', async () => {
  assert.equal((await get('/')).status, 403);
  assert.equal((await get('/?token=' + '0'.repeat(64))).status, 403);
  assert.equal((await get('/assets/app.js')).status, 403);
  assert.equal((await get('/', { cookie: 'coroscope_token=nope' })).status, 403);
  const wsUrl = `ws://127.0.0.1:${srv.port}/api`;
  assert.equal(await wsRefused(wsUrl, { origin: srv.origin }), 403);
  assert.equal(await wsRefused(`${wsUrl}?token=bad`, { origin: srv.origin }), 403);
  // the right token from another origin, or under another Host (DNS rebinding): refused too
  assert.equal(await wsRefused(`${wsUrl}?token=${srv.token}`, { origin: 'http://evil.example' }), 403);
  assert.equal((await get(`/?token=${srv.token}`, { host: `evil.example:${srv.port}` })).status, 403);
});

test('with the token: the page, a cookie for the assets, a strict CSP; no way out of the renderer folder', async () => {
  const page = await get(`/?token=${srv.token}`);
  assert.equal(page.status, 200);
  assert.match(page.body, /Coroscope/);
  assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
  assert.doesNotMatch(String(page.headers['content-security-policy']), /unsafe/);
  const cookie = String(page.headers['set-cookie']);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const asset = await get('/assets/app.js', { cookie: cookie.split(';')[0] });
  assert.equal(asset.status, 200);
  assert.match(String(asset.headers['content-type']), /javascript/);
  assert.equal((await get(`/../secret.txt?token=${srv.token}`)).status, 404);
  assert.equal((await get(`/%2e%2e/secret.txt?token=${srv.token}`)).status, 404);
});

test('a WebSocket client with the token lists the demos, runs hello, receives its batches and its end', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/api?token=${srv.token}`, { origin: srv.origin });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const replies = new Map<number, (r: ReplyEnvelope) => void>();
  const pushes: ApiPush[] = [];
  let onPush = () => {};
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString());
    if (m.push) {
      pushes.push(m.push);
      onPush();
    } else replies.get(m.id)?.(m);
  });
  let next = 1;
  const call = (name: string, ...args: unknown[]) =>
    new Promise<ReplyEnvelope>((r) => {
      const id = next++;
      replies.set(id, r);
      ws.send(JSON.stringify({ id, name, args }));
    });
  const demos = await call('listDemos');
  assert.ok(demos.ok && (demos.result as { name: string }[]).some((d) => d.name === 'hello'));
  const bad = await call('runDemo', 42);
  assert.equal(!bad.ok && bad.error.code, 'bad-request');
  const run = await call('runDemo', 'hello');
  assert.ok(run.ok);
  const id = (run.result as SessionStatus).id;
  assert.ok((await call('subscribe', id, 0)).ok);
  await new Promise<void>((r) => {
    onPush = () => pushes.some((p) => p.type === 'end' && p.session === id) && r();
    onPush();
  });
  const batches = pushes.filter((p) => p.type === 'batch' && p.session === id);
  assert.ok(batches.length > 0);
  for (const b of batches) {
    const bytes = Buffer.from((b as unknown as { events: string }).events, 'base64');
    assert.ok(bytes.length > 0 && bytes.length % 64 === 0);
  }
  assert.ok(pushes.some((p) => p.type === 'output' && p.text.includes('hi')));
  // an export comes back as a download URL that the session cookie opens
  const ex = await call('exportSession', id, 'chrome-json');
  assert.ok(ex.ok, JSON.stringify(ex));
  const url = new URL((ex.result as { url: string }).url);
  assert.equal(url.origin, srv.origin);
  assert.equal(url.search, '', 'the token is not in the link');
  assert.equal((await get(url.pathname)).status, 403, 'the link alone opens nothing');
  const cookie = String((await get(`/?token=${srv.token}`)).headers['set-cookie']).split(';')[0];
  const dl = await get(url.pathname, { cookie });
  assert.equal(dl.status, 200);
  assert.ok(JSON.parse(dl.body));
  // the export file removed behind serve's back: 410 Gone, and serve goes on
  const file = join(tmp.dir, 'rec', 'exports', decodeURIComponent(url.pathname.split('/').pop()!));
  assert.ok(existsSync(file), file);
  unlinkSync(file);
  const gone = await get(url.pathname, { cookie });
  assert.equal(gone.status, 410);
  assert.match(gone.body, /removed/);
  assert.equal((await get(`/?token=${srv.token}`)).status, 200, 'serve still answers');
  assert.equal((await call('sessions')).ok, true, 'and its API too');
  ws.close();
});

test('a client that asks for binary=1 gets each batch as one binary frame: JSON header, then the aligned raw records', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/api?binary=1&token=${srv.token}`, { origin: srv.origin });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const text: { id?: number; push?: ApiPush }[] = [];
  const binary: {
    head: { push: Omit<Extract<ApiPush, { type: 'batch' }>, 'events'> };
    offset: number;
    records: Buffer;
  }[] = [];
  let onMsg = () => {};
  ws.on('message', (d: Buffer, isBinary: boolean) => {
    if (isBinary) {
      const n = d.readUInt32LE(0);
      binary.push({ head: JSON.parse(d.subarray(4, 4 + n).toString()), offset: 4 + n, records: d.subarray(4 + n) });
    } else text.push(JSON.parse(d.toString()));
    onMsg();
  });
  ws.send(JSON.stringify({ id: 1, name: 'runDemo', args: ['hello'] }));
  const id = await new Promise<string>((r) => {
    onMsg = () => {
      const rep = text.find((m) => m.id === 1) as ReplyEnvelope | undefined;
      if (rep) r((rep as { result: SessionStatus }).result.id);
    };
  });
  ws.send(JSON.stringify({ id: 2, name: 'subscribe', args: [id, 0] }));
  await new Promise<void>((r) => {
    onMsg = () => text.some((m) => m.push?.type === 'end' && m.push.session === id) && r();
    onMsg();
  });
  const mine = binary.filter((b) => b.head.push.session === id);
  assert.ok(mine.length > 0);
  for (const b of mine) {
    assert.equal(b.head.push.type, 'batch');
    assert.ok(Array.isArray(b.head.push.strings));
    assert.equal('events' in b.head.push, false);
    assert.equal(b.offset % 8, 0);
    assert.ok(b.records.length > 0 && b.records.length % 64 === 0);
  }
  // every other push is still a JSON text frame, and no batch comes as text
  assert.ok(text.some((m) => m.push?.type === 'output' && m.push.text.includes('hi')));
  assert.ok(!text.some((m) => m.push?.type === 'batch'));
  ws.close();
});

/** The Set-Cookie header of a response, as one string. */
const setCookieOf = (r: { headers: Record<string, string | string[] | undefined> }): string =>
  [r.headers['set-cookie'] ?? []].flat().join('\n');

test('the token sets a session cookie scoped to this server: named after the port, a random id that is not the token', async () => {
  const page = await get(`/?token=${srv.token}`);
  assert.equal(page.status, 200);
  const set = setCookieOf(page);
  const m = /^([^=;\s]+)=([^;\s]*)/.exec(set);
  assert.ok(m, set);
  const [, name, value] = m;
  assert.equal(name, `coroscope-127-0-0-1-${srv.port}`);
  assert.equal(srv.cookieName, name);
  assert.ok(value.length >= 32, 'a long random value');
  assert.ok(!set.includes(srv.token), 'the token is nowhere in the cookie');
  for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/'])
    assert.ok(set.split(/;\s*/).includes(attr), `${attr} in ${set}`);
  assert.doesNotMatch(set, /Expires|Max-Age|Domain/i, 'a session cookie of this host only');
  // the session cookie alone opens the page, the assets and the WebSocket
  const cookie = `${name}=${value}`;
  assert.equal((await get('/', { cookie })).status, 200);
  assert.equal((await get('/assets/app.js', { cookie: `other=1; ${cookie}; x=y` })).status, 200);
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/api`, { origin: srv.origin, headers: { cookie } });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  ws.close();
  // the same token again: the same session (a second tab does not log the first out)
  assert.equal(/^[^=]+=([^;]*)/.exec(setCookieOf(await get(`/?token=${srv.token}`)))![1], value);
  // a cookie that holds the token, under any name, opens nothing; nor does the id under another port's name
  for (const bad of [
    `${name}=${srv.token}`,
    `coroscope_token=${srv.token}`,
    `coroscope-127-0-0-1-${srv.port + 1}=${value}`,
    `${name}=${value.slice(0, -1)}`,
    `${name}=`,
    `${name}`,
  ]) {
    assert.equal((await get('/', { cookie: bad })).status, 403, bad);
    assert.equal(await wsRefused(`ws://127.0.0.1:${srv.port}/api`, { origin: srv.origin, cookie: bad }), 403, bad);
  }
  // a wrong value first and the right one after it (an older server on this port left one): still ours
  assert.equal((await get('/', { cookie: `${name}=stale; ${cookie}` })).status, 200);
  // among the many cookies other local servers left for 127.0.0.1 (10 KiB of them): still found
  const others = Array.from({ length: 100 }, (_, i) => `other-app-${i}=${'v'.repeat(90)}`).join('; ');
  assert.equal((await get('/', { cookie: `${others}; ${cookie}` })).status, 200);
});

test("two servers: each has its own cookie name and session, and one's cookie does not open the other", async () => {
  const other = await startServe({ rendererDir: join(tmp.dir, 'renderer') });
  try {
    assert.notEqual(other.token, srv.token);
    assert.notEqual(other.cookieName, srv.cookieName);
    const mine = /^[^;]+/.exec(setCookieOf(await get(`/?token=${srv.token}`)))![0];
    const r = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: other.port, path: '/', headers: { cookie: mine } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(r, 403);
  } finally {
    await other.close();
  }
});

test('it does not listen on other addresses', async () => {
  const others = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal);
  for (const a of others) await assert.rejects(get(`/?token=${srv.token}`, {}, a!.address));
  await assert.rejects(startServe({ rendererDir: tmp.dir, host: '0.0.0.0' as '127.0.0.1' }), /127\.0\.0\.1 only/);
});

/** Send raw bytes as one HTTP request on a fresh connection; the status line's code (0 if none came back). */
function rawRequest(text: string): Promise<number> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port: srv.port }, () => s.end(text));
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
    s.on('error', () => resolve(0));
  });
}

test('request targets that do not parse as URLs are a 400, with or without the token, and serve goes on', async () => {
  const targets = ['//[', '//[::1', '/%', '//a:b@[/', '//:99999/', 'http://[/', '*'];
  for (const t of targets) {
    for (const q of ['', `?token=${srv.token}`]) {
      const code = await rawRequest(
        `GET ${t}${q} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: close\r\n\r\n`,
      );
      assert.ok(code === 400 || code === 403 || code === 404, `${t}${q}: status ${code}`);
    }
    const ws = await rawRequest(
      `GET ${t} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    assert.ok(ws === 400 || ws === 403 || ws === 0, `upgrade ${t}: status ${ws}`);
  }
  assert.equal((await get('/?token=' + srv.token)).status, 200, 'serve still answers');
});
