// Serve mode survives whatever a browser, a hostile page or a broken client
// can send: malformed request targets, headers and methods over raw TCP,
// broken WebSocket frames, and API requests of every name with arguments of
// the wrong types. Cases come from a small seeded generator (the seed is in
// every failure message; COROSCOPE_ROBUSTNESS_SEED=N replays another run).
// After each case serve must still answer an authorised page request and an
// authorised API request; a program launched through the API before the
// barrage must still be running and attached after it; and nothing without
// the token or its session cookie is ever answered 200.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { REQUEST_NAMES, type ReplyEnvelope, type SessionStatus } from '../../preload/api.js';
import { example, scratch } from '../testing/helpers.js';
import { startServe, type Served } from './server.js';

const SEED = Number(process.env.COROSCOPE_ROBUSTNESS_SEED ?? 0x5eed15);

/** mulberry32: a tiny deterministic generator (same seed, same cases). */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
  return { next, int, pick, bytes };
}
const gen = generator(SEED);

let tmp: ReturnType<typeof scratch>;
let srv: Served;
let cookie = '';
let api: Client;
let target: SessionStatus;

// ---- clients -------------------------------------------------------------------------------------

interface Client {
  ws: WebSocket;
  call(name: string, args: unknown, id?: number): Promise<ReplyEnvelope>;
  /** Send one text frame as is; the reply to `id`. */
  raw(text: string, id: number): Promise<ReplyEnvelope>;
}

async function client(): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/api`, { origin: srv.origin, headers: { cookie } });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const waiting = new Map<number, (r: ReplyEnvelope) => void>();
  ws.on('message', (d, isBinary) => {
    if (isBinary) return;
    const m = JSON.parse(d.toString());
    if (typeof m.id === 'number') waiting.get(m.id)?.(m);
  });
  let next = 1_000_000;
  const rawText = (text: string, id: number) =>
    new Promise<ReplyEnvelope>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${text.slice(0, 200)} (seed ${SEED})`)), 15000);
      waiting.set(id, (r) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(r);
      });
      ws.send(text);
    });
  return { ws, raw: rawText, call: (name, args, id = next++) => rawText(JSON.stringify({ id, name, args }), id) };
}

function get(path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Serve answers an authorised page request and an authorised API request; the launched program is intact. */
async function stillServing(what: string): Promise<void> {
  const why = `after ${what.slice(0, 300)} (seed ${SEED})`;
  assert.equal(await get('/', { cookie }), 200, `page ${why}`);
  const r = await api.call('sessions', []);
  assert.ok(r.ok, `API ${why}: ${JSON.stringify(r)}`);
  const mine = (r.ok ? (r.result as SessionStatus[]) : []).find((s) => s.id === target.id);
  assert.equal(mine?.state, 'running', `launched program ${why}`);
}

/**
 * One raw exchange on a fresh connection: write `data` (chunks in order), read until the server
 * closes or `waitMs` passes; the first status code (0: none).
 */
function raw(data: (string | Buffer)[], waitMs = 1000): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const s: Socket = createConnection({ host: '127.0.0.1', port: srv.port });
    const got: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const text = Buffer.concat(got).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), text });
    };
    const timer = setTimeout(finish, waitMs);
    s.on('connect', () => {
      for (const d of data) s.write(d);
    });
    s.on('data', (d) => got.push(d));
    s.on('close', finish);
    s.on('error', finish);
  });
}

// ---- setup -------------------------------------------------------------------------------------

before(async () => {
  tmp = scratch('robust');
  process.env.COROSCOPE_RECORDINGS = join(tmp.dir, 'rec');
  const dir = join(tmp.dir, 'renderer');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Coroscope</title>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
  srv = await startServe({ rendererDir: dir });
  const set = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: srv.port, path: `/?token=${srv.token}` }, (res) => {
      res.resume();
      resolve([res.headers['set-cookie'] ?? []].flat().join(''));
    });
    req.on('error', reject);
    req.end();
  });
  cookie = set.split(';')[0];
  api = await client();
  // A program that runs until it is stopped, launched through the API, not recorded.
  const r = await api.call('launch', [{ cmd: example('echo_server'), args: ['--port', '0'], record: false }]);
  assert.ok(r.ok, JSON.stringify(r));
  target = r.result as SessionStatus;
});

after(async () => {
  api?.ws.close();
  await srv?.close();
  delete process.env.COROSCOPE_RECORDINGS;
  tmp?.cleanup();
});

// ---- HTTP ---------------------------------------------------------------------------------------

const PIECES = [
  '/',
  '//',
  '///',
  '[',
  ']',
  '%',
  '%2e',
  '%2E%2e',
  '%2f',
  '%5c',
  '%00',
  '%zz',
  '%ff',
  '%c0%ae',
  '..',
  '.',
  '?',
  '#',
  '@',
  ':',
  '\\',
  'a',
  'assets',
  'app.js',
  'download',
  'api',
  'index.html',
  '~',
  '*',
  'token=',
  '&',
  ';',
  ',',
  '{',
  '|',
  '^',
  '`',
  '"',
  "'",
  '<',
  '>',
  '\u00e9',
  '\u{1f600}',
  '\ud800',
  '=',
  '+',
  '$',
  '!',
  '(',
  ')',
  '0x',
  '[::1]',
  '9'.repeat(20),
];

function target_(withToken: boolean): string {
  const parts: string[] = [];
  for (let n = 1 + gen.int(7); n > 0; n--) parts.push(gen.pick(PIECES));
  let t = parts.join('');
  const head = gen.int(10);
  if (head === 0) t = `http://127.0.0.1:${srv.port}/${t}`;
  else if (head === 1) t = `http://${t}`;
  else if (head < 9 && !t.startsWith('/')) t = '/' + t;
  if (withToken) t += `${t.includes('?') ? '&' : '?'}token=${srv.token}`;
  return t;
}

function httpRequest(method: string, tgt: string, headers: [string, string][], body = ''): string {
  return `${method} ${tgt} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
}

test('malformed request targets, with and without the token: never a crash, never a 200 without the token', async () => {
  for (let i = 0; i < 120; i++) {
    const withToken = gen.int(2) === 0;
    const tgt = target_(withToken);
    const upgrade = gen.int(4) === 0;
    const headers: [string, string][] = [
      ['Host', `127.0.0.1:${srv.port}`],
      ['Connection', upgrade ? 'Upgrade' : 'close'],
    ];
    if (upgrade)
      headers.push(
        ['Upgrade', 'websocket'],
        ['Sec-WebSocket-Version', '13'],
        ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
        ['Origin', srv.origin],
      );
    const req = httpRequest(gen.pick(['GET', 'GET', 'HEAD']), tgt, headers);
    const { status } = await raw([Buffer.from(req, 'utf8')]);
    const what = `target ${JSON.stringify(tgt)}${upgrade ? ' (upgrade)' : ''}: ${status}`;
    assert.ok([0, 101, 200, 400, 403, 404, 405, 414, 431].includes(status), what);
    if (!withToken) assert.ok(status !== 200 && status !== 101, `answered without the token: ${what}`);
    await stillServing(what);
  }
});

test('hostile headers: huge, duplicated Host, bad Origin, broken cookies, smuggling: refused, and serve goes on', async () => {
  const host = `127.0.0.1:${srv.port}`;
  const tok = `/?token=${srv.token}`;
  const [cname, cvalue] = cookie.split('=');
  // [what, request, statuses allowed]; none of these may be answered 200 except where listed
  const cases: [string, string, number[]][] = [
    [
      'huge header',
      httpRequest('GET', tok, [
        ['Host', host],
        ['X-Big', 'a'.repeat(100_000)],
      ]),
      [0, 431, 400],
    ],
    [
      'many headers',
      httpRequest('GET', tok, [
        ['Host', host],
        ...Array.from({ length: 3000 }, (_, i): [string, string] => [`X-${i}`, 'v']),
      ]),
      [0, 431, 400],
    ],
    [
      'huge cookie',
      httpRequest('GET', '/', [
        ['Host', host],
        ['Cookie', `${cookie}; ${'a'.repeat(60_000)}=1`],
      ]),
      [0, 431, 400, 403],
    ],
    [
      'Host twice, ours second',
      httpRequest('GET', tok, [
        ['Host', 'evil.example'],
        ['Host', host],
      ]),
      [0, 400, 403],
    ],
    [
      'Host twice, ours first',
      httpRequest('GET', tok, [
        ['Host', host],
        ['Host', 'evil.example'],
      ]),
      [0, 400, 403],
    ],
    [
      'Host twice, both ours',
      httpRequest('GET', tok, [
        ['Host', host],
        ['Host', host],
      ]),
      [0, 400, 403],
    ],
    ['no Host', httpRequest('GET', tok, []), [0, 400, 403]],
    ['HTTP/1.0 without Host', `GET ${tok} HTTP/1.0\r\n\r\n`, [0, 400, 403]],
    ['Host with a trailing dot', httpRequest('GET', tok, [['Host', `127.0.0.1.:${srv.port}`]]), [0, 400, 403]],
    ['Host localhost', httpRequest('GET', tok, [['Host', `localhost:${srv.port}`]]), [0, 400, 403]],
    ['Host with userinfo', httpRequest('GET', tok, [['Host', `evil@127.0.0.1:${srv.port}`]]), [0, 400, 403]],
    ['Host with NUL', httpRequest('GET', tok, [['Host', `127.0.0.1:${srv.port}\0.evil`]]), [0, 400, 403]],
    ['folded header', `GET ${tok} HTTP/1.1\r\nHost: 127.0.0.1\r\n :${srv.port}\r\n\r\n`, [0, 400, 403]],
    [
      'CL and TE together',
      httpRequest(
        'GET',
        tok,
        [
          ['Host', host],
          ['Content-Length', '5'],
          ['Transfer-Encoding', 'chunked'],
        ],
        '0\r\n\r\n',
      ),
      [0, 400],
    ],
    [
      'bad chunked body',
      httpRequest(
        'POST',
        tok,
        [
          ['Host', host],
          ['Transfer-Encoding', 'chunked'],
        ],
        'zz\r\nxx\r\n',
      ),
      [0, 400, 405],
    ],
    [
      'negative Content-Length',
      httpRequest('GET', tok, [
        ['Host', host],
        ['Content-Length', '-1'],
      ]),
      [0, 400],
    ],
    [
      'Content-Length too big',
      httpRequest('POST', tok, [
        ['Host', host],
        ['Content-Length', '99999999999999999999'],
      ]),
      [0, 400, 405],
    ],
    ['header name with a space', `GET ${tok} HTTP/1.1\r\nHost: ${host}\r\nBad Name: x\r\n\r\n`, [0, 400]],
    ['bare LF line ends', `GET ${tok} HTTP/1.1\nHost: ${host}\n\n`, [0, 200, 400]],
    ['header without colon', `GET ${tok} HTTP/1.1\r\nHost: ${host}\r\nnocolon\r\n\r\n`, [0, 400]],
    ['HTTP/9.9', `GET ${tok} HTTP/9.9\r\nHost: ${host}\r\n\r\n`, [0, 400, 505]],
    ['not HTTP at all', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', [0, 400]],
    ['empty line only', '\r\n\r\n', [0, 400]],
  ];
  // broken cookie syntax: refused without the token, never an exception
  for (const c of [
    '=',
    ';;;',
    `${cname}`,
    `${cname}=`,
    `=${cvalue}`,
    `"${cname}"=${cvalue}`,
    `${cname}="${cvalue}"`,
    `${cname} = ${cvalue.toUpperCase()}`,
    `${cname}=${cvalue}\u0000`,
    `${cname}=${cvalue.slice(1)}`,
    `\u00ff\u00fe=1`,
    `${cname}=${'x'.repeat(5000)}`,
    ';'.repeat(4000),
    `${cname}=${cvalue};`.repeat(1).replace(cvalue, encodeURIComponent('%')),
  ])
    cases.push([
      `cookie ${JSON.stringify(c.slice(0, 60))}`,
      httpRequest('GET', '/', [
        ['Host', host],
        ['Cookie', c],
      ]),
      [0, 400, 403],
    ]);
  // WebSocket upgrades with a bad Origin (the right token): refused
  for (const o of [
    'null',
    'http://evil.example',
    `http://127.0.0.1:${srv.port}.evil.example`,
    `http://localhost:${srv.port}`,
    `https://127.0.0.1:${srv.port}`,
    `http://127.0.0.1:${srv.port}/`,
    `${srv.origin}, http://evil.example`,
    '',
    'http://[',
  ]) {
    const h: [string, string][] = [
      ['Host', host],
      ['Connection', 'Upgrade'],
      ['Upgrade', 'websocket'],
      ['Sec-WebSocket-Version', '13'],
      ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
    ];
    if (o !== '') h.push(['Origin', o]);
    cases.push([`Origin ${JSON.stringify(o)}`, httpRequest('GET', `/api?token=${srv.token}`, h), [0, 400, 403]]);
  }
  const twoOrigins: [string, string][] = [
    ['Host', host],
    ['Connection', 'Upgrade'],
    ['Upgrade', 'websocket'],
    ['Sec-WebSocket-Version', '13'],
    ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
    ['Origin', 'http://evil.example'],
    ['Origin', srv.origin],
  ];
  cases.push(['Origin twice', httpRequest('GET', `/api?token=${srv.token}`, twoOrigins), [0, 400, 403]]);
  // generated header soup: random names and values of random bytes (the token in the URL)
  for (let i = 0; i < 40; i++) {
    const h: [string, string][] = [['Host', host]];
    for (let n = gen.int(6); n > 0; n--)
      h.push([
        gen.pick([
          'Cookie',
          'Origin',
          'Host',
          'X-' + gen.int(1000),
          'Upgrade',
          'Connection',
          'Accept',
          'Range',
          'Expect',
        ]),
        gen
          .bytes(gen.int(64))
          .toString('latin1')
          .replace(/[\r\n]/g, ''),
      ]);
    const hostCount = h.filter(([k]) => k === 'Host').length;
    cases.push([
      `header soup #${i}`,
      httpRequest('GET', tok, h),
      hostCount > 1 ? [0, 400, 403] : [0, 101, 200, 400, 403, 404, 416, 417, 431],
    ]);
  }
  for (const [what, req, allowed] of cases) {
    const { status } = await raw([Buffer.from(req, 'latin1')]);
    assert.ok(allowed.includes(status), `${what}: status ${status}, expected one of ${allowed}`);
    await stillServing(what);
  }
});

test('every method: GET and HEAD served, the others 405 or 400, unknown ones refused', async () => {
  const host = `127.0.0.1:${srv.port}`;
  const methods = [
    'GET',
    'HEAD',
    'POST',
    'PUT',
    'DELETE',
    'OPTIONS',
    'PATCH',
    'TRACE',
    'CONNECT',
    'PROPFIND',
    'MKCOL',
    'LOCK',
    'SEARCH',
    'PURGE',
    'QUERY',
    'get',
    'G\u0000ET',
    'FOO',
    'X'.repeat(200),
    '',
  ];
  for (const m of methods) {
    for (const auth of [true, false]) {
      const tgt = m === 'CONNECT' ? `127.0.0.1:${srv.port}` : auth ? `/?token=${srv.token}` : '/';
      const body = gen.int(2) ? 'x'.repeat(gen.int(100_000)) : '';
      const req = httpRequest(
        m,
        tgt,
        [
          ['Host', host],
          ['Content-Length', String(body.length)],
          ['Connection', 'close'],
        ],
        body,
      );
      const { status } = await raw([Buffer.from(req, 'latin1')]);
      const what = `method ${JSON.stringify(m.slice(0, 20))}${auth ? ' with the token' : ''}: ${status}`;
      if ((m === 'GET' || m === 'HEAD') && auth) assert.equal(status, 200, what);
      else if (auth && ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'].includes(m)) assert.equal(status, 405, what);
      else assert.ok([0, 400, 403, 405, 501].includes(status), what);
      await stillServing(what);
    }
  }
});

// ---- WebSocket frames ------------------------------------------------------------------------------

interface FrameSpec {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  payload?: Buffer;
  mask?: boolean;
  /** Declare this length instead of the payload's. */
  length?: bigint;
}

function frame(f: FrameSpec): Buffer {
  const payload = f.payload ?? Buffer.alloc(0);
  const len = f.length ?? BigInt(payload.length);
  const mask = f.mask ?? true;
  const head: number[] = [((f.fin ?? true) ? 0x80 : 0) | ((f.rsv ?? 0) << 4) | f.opcode];
  const m = mask ? 0x80 : 0;
  if (len < 126n) head.push(m | Number(len));
  else if (len < 65536n) head.push(m | 126, Number(len >> 8n) & 0xff, Number(len) & 0xff);
  else {
    head.push(m | 127);
    for (let i = 7; i >= 0; i--) head.push(Number((len >> BigInt(8 * i)) & 0xffn));
  }
  const key = mask ? gen.bytes(4) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (mask) for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), key, body]);
}

function upgradeRequest(): string {
  return httpRequest('GET', '/api', [
    ['Host', `127.0.0.1:${srv.port}`],
    ['Connection', 'Upgrade'],
    ['Upgrade', 'websocket'],
    ['Sec-WebSocket-Version', '13'],
    ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
    ['Origin', srv.origin],
    ['Cookie', cookie],
  ]);
}

const text = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s) : s);

test('broken WebSocket frames close that socket only; serve and its other clients go on', async () => {
  const cases: [string, Buffer[]][] = [];
  for (const op of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf])
    cases.push([`opcode ${op}`, [frame({ opcode: op, payload: text('{}') })]]);
  cases.push(
    ['unmasked text frame', [frame({ opcode: 1, payload: text('{"id":1,"name":"sessions","args":[]}'), mask: false })]],
    ['continuation with nothing to continue', [frame({ opcode: 0, payload: text('x') })]],
    [
      'a new text frame inside a fragmented one',
      [frame({ opcode: 1, fin: false, payload: text('{"id"') }), frame({ opcode: 1, payload: text(':1}') })],
    ],
    ['ping of 126 bytes', [frame({ opcode: 9, payload: Buffer.alloc(126, 1) })]],
    ['fragmented ping', [frame({ opcode: 9, fin: false, payload: text('p') })]],
    ['close of 126 bytes', [frame({ opcode: 8, payload: Buffer.alloc(126, 0x41) })]],
    ['close with a one-byte payload', [frame({ opcode: 8, payload: Buffer.from([3]) })]],
    ['close with code 999', [frame({ opcode: 8, payload: Buffer.from([0x03, 0xe7]) })]],
    ['close with invalid UTF-8 reason', [frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8, 0xff, 0xfe]) })]],
    ['RSV1 without compression', [frame({ opcode: 1, rsv: 4, payload: text('{}') })]],
    ['RSV2 and RSV3', [frame({ opcode: 2, rsv: 3, payload: text('{}') })]],
    ['invalid UTF-8 text', [frame({ opcode: 1, payload: Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) })]],
    ['declared 2 MiB (over maxPayload)', [frame({ opcode: 1, length: 2n << 20n, payload: text('{"id":') })]],
    ['declared 2^40 bytes', [frame({ opcode: 2, length: 1n << 40n, payload: Buffer.alloc(16) })]],
    ['declared 2^63 bytes (MSB set)', [frame({ opcode: 1, length: 1n << 63n })]],
    [
      'a 16-bit length for 5 bytes',
      [Buffer.concat([Buffer.from([0x81, 0x80 | 126, 0, 5]), gen.bytes(4), text('hello')])],
    ],
    [
      'fragments adding up past maxPayload',
      Array.from({ length: 3 }, (_, i) =>
        frame({ opcode: i ? 0 : 1, fin: i === 2, payload: Buffer.alloc(600_000, 0x20) }),
      ),
    ],
    ['the frame header cut short, then silence', [Buffer.from([0x81])]],
  );
  for (let i = 0; i < 40; i++) cases.push([`random bytes #${i}`, [gen.bytes(1 + gen.int(300))]]);
  for (let i = 0; i < 20; i++) {
    const f = frame({
      opcode: gen.pick([0, 1, 2, 8, 9, 10]),
      fin: gen.int(3) > 0,
      rsv: gen.int(8) === 0 ? gen.int(8) : 0,
      payload: gen.bytes(gen.int(200)),
      mask: gen.int(10) > 0,
    });
    cases.push([`random frame #${i}`, [f]]);
  }
  for (const [what, frames] of cases) {
    const { status } = await raw([upgradeRequest(), ...frames], 300);
    assert.equal(status, 101, `${what}: the upgrade itself must succeed`);
    await stillServing(`frames: ${what}`);
  }
});

test('frames that are valid but not requests get a bad-request reply; a fragmented request is answered', async () => {
  const c = await client();
  try {
    const bad = async (payload: string | Buffer, binary = false) => {
      const reply = new Promise<ReplyEnvelope>((resolve) => {
        const onMessage = (d: Buffer, isBinary: boolean) => {
          const m = isBinary ? {} : JSON.parse(d.toString());
          if (!('id' in m)) return; // a push (the launched program's output, status…)
          c.ws.off('message', onMessage);
          resolve(m);
        };
        c.ws.on('message', onMessage);
      });
      c.ws.send(payload, { binary });
      const r = await reply;
      assert.equal(r.ok, false, `${String(payload).slice(0, 80)}: ${JSON.stringify(r)}`);
      if (!r.ok) assert.equal(r.error.code, 'bad-request');
      await stillServing(`text frame ${JSON.stringify(String(payload).slice(0, 80))}`);
    };
    for (const p of [
      '',
      ' ',
      'not json',
      '{',
      '{"id":1',
      '[',
      ']',
      'nul',
      'undefined',
      'NaN',
      '1e99999',
      '"\\ud800"',
      '\u0000',
      'null',
      'true',
      '42',
      '"sessions"',
      '[]',
      '{}',
      '[{"id":1,"name":"sessions","args":[]}]',
      '{"id":"1","name":"sessions","args":[]}',
      '{"id":-5,"name":"sessions","args":[]}',
      '{"id":1.5,"name":"sessions","args":[]}',
      '{"id":1e300,"name":"sessions","args":[]}',
      '{"id":9007199254740993,"name":"sessions","args":[]}',
      '{"id":1,"name":null,"args":[]}',
      '{"id":1,"name":["sessions"],"args":[]}',
      '{"id":1,"name":"__proto__","args":[]}',
      '{"id":1,"name":"constructor","args":[]}',
      '{"id":1,"name":"toString","args":[]}',
      '{"id":1,"name":"handle","args":[]}',
      '{"id":1,"name":"request","args":[]}',
      '{"id":1,"name":"close","args":[]}',
      '{"id":1,"name":"sessions","args":{}}',
      '{"id":1,"name":"sessions","args":"x"}',
      '{"__proto__":{"ok":true},"id":1}',
      '['.repeat(200_000) + ']'.repeat(200_000),
      '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000),
      'x'.repeat(900_000),
    ])
      await bad(p);
    await bad(Buffer.from('{"id":1,"name":"sessions","args":[]}'), true); // binary frames are not requests
    // the same request in three fragments is a request
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ host: '127.0.0.1', port: srv.port }, () => s.write(upgradeRequest()));
      let head = '';
      s.on('data', function onData(d) {
        head += d.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        s.off('data', onData);
        if (/^HTTP\/1\.1 101/.test(head)) resolve(s);
        else reject(new Error(head));
      });
      s.on('error', reject);
    });
    const got: Buffer[] = [];
    sock.on('data', (d) => got.push(d));
    const req = '{"id":77,"name":"listDemos","args":[]}';
    sock.write(frame({ opcode: 1, fin: false, payload: text(req.slice(0, 10)) }));
    sock.write(frame({ opcode: 9, payload: text('ping in between') }));
    sock.write(frame({ opcode: 0, fin: false, payload: text(req.slice(10, 20)) }));
    sock.write(frame({ opcode: 0, payload: text(req.slice(20)) }));
    for (let i = 0; i < 200 && !Buffer.concat(got).includes('"id":77'); i++)
      await new Promise((r) => setTimeout(r, 25));
    assert.ok(Buffer.concat(got).includes('"id":77,"ok":true'), 'the fragmented request was answered');
    sock.destroy();
  } finally {
    c.ws.close();
  }
});

// ---- API requests of every name with the wrong argument types --------------------------------------------

/** A value that is not a string, an integer, a boolean or an object: what no parameter declares. */
const JUNK: unknown[] = [
  null,
  -1,
  0.5,
  1e308,
  -0,
  [],
  [[]],
  [null],
  {},
  { op: null },
  { cmd: 1 },
  { length: 1e9 },
  { __proto__: null },
  { toString: 1 },
  [1, 2, 3],
  Array(70).fill(0),
  true,
  false,
];
const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  's0',
  's-1',
  's999999',
  'x'.repeat(70_000),
  '../../..',
  '%00',
  '\u202e',
];

/** Arguments for `name` whose first parameter has the wrong type (or a wrong argument list). */
function wrongArgs(name: string): unknown {
  const r = gen.int(10);
  if (r === 0) return gen.pick([null, 'args', 42, { 0: 'x' }, true]); // not an array at all
  if (r === 1) return Array.from({ length: 3 + gen.int(3) }, () => gen.pick(JUNK)); // too many
  const takesNone = ['listDemos', 'listProcesses', 'listRecordings', 'sessions'].includes(name);
  if (takesNone) return [gen.pick([...JUNK, ...HOSTILE_STRINGS])];
  let first: unknown = gen.pick(JUNK);
  if (name === 'attach') first = gen.pick([null, '1', 'self', 1.5, -1, 0, 2 ** 40, [], {}, true, NaN]); // strings and non-pids
  if (name === 'launch')
    first = gen.pick([
      null,
      'sh',
      ['sh'],
      1,
      true,
      { cmd: ['sh'] },
      { cmd: 'sh', args: 'x' },
      { cmd: '' },
      { cmd: 'sh', args: [1] },
      { cmd: 'sh', env: [] },
      { cmd: 'sh', extra: 1 },
      { cmd: 'sh', cwd: 'relative' },
      { cmd: 'sh\u0000' },
    ]);
  const rest = Array.from({ length: gen.int(2) }, () => gen.pick(JUNK));
  return [first, ...rest];
}

test('every API request name with arguments of the wrong types gets a bad-request reply', async () => {
  const c = await client();
  try {
    let id = 1;
    for (const name of REQUEST_NAMES) {
      for (let i = 0; i < 12; i++) {
        const args = wrongArgs(name);
        const r = await c.call(name, args, id++);
        const what = `${name}(${JSON.stringify(args)?.slice(0, 200)})`;
        assert.equal(r.ok, false, `${what} was accepted: ${JSON.stringify(r).slice(0, 300)}`);
        if (!r.ok) assert.equal(r.error.code, 'bad-request', `${what}: ${JSON.stringify(r.error)}`);
        await stillServing(what);
      }
    }
    // right types, hostile values: refused too (no such demo, session or file), never a crash
    const sid = target.id;
    for (const s of HOSTILE_STRINGS.filter((x) => x !== sid)) {
      for (const [name, args] of [
        ['runDemo', [s]],
        ['openTrace', [s]],
        ['closeSession', [s]],
        ['kill', [s]],
        ['subscribe', [s, 0]],
        ['ack', [s, 0]],
        ['exportSession', [s, 'chrome-json']],
        ['hello', [s]],
        ['kill', [sid, s || 'x']],
        ['exportSession', [sid, s]],
        ['setEngine', [sid, { key: s, value: s }]],
        ['step', [sid, s]],
        ['pause', [s]],
        ['snapshot', [s]],
        ['runDemo', ['hello', { workers: s }]],
        ['launch', [{ cmd: 'true', engine: { timeSlice: s } }]],
      ] as [string, unknown[]][]) {
        const r = await c.call(name, args, id++);
        const what = `${name}(${JSON.stringify(args).slice(0, 200)})`;
        assert.equal(r.ok, false, `${what} was accepted`);
        await stillServing(what);
      }
    }
  } finally {
    c.ws.close();
  }
});

test('after the barrage the launched program is still running and attached', async () => {
  const id = target.id;
  const hello = await api.call('hello', [id]);
  assert.ok(hello.ok, JSON.stringify(hello));
  assert.equal(
    hello.ok && (hello.result as { pid: number }).pid,
    target.pid,
    'its engine answers through the attached control channel',
  );
  process.kill(target.pid, 0); // throws if it is gone
  const list = await api.call('sessions', []);
  assert.ok(list.ok);
  assert.equal((list.result as SessionStatus[]).find((x) => x.id === id)?.state, 'running');
  const stop = await api.call('kill', [id, 'SIGTERM']);
  assert.ok(stop.ok);
});
