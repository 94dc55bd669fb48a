// The Electron shell's security policy (security.ts), checked without an
// Electron binary: navigation, permissions, the app:// protocol handler and
// the CSP, as main.ts wires them.
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { scratch } from '../testing/helpers.js';
import {
  APP_INDEX,
  APP_SCHEME_PRIVILEGES,
  appResponse,
  devIndexHtml,
  devicePermission,
  isAppIndex,
  navigationAllowed,
  permissionCheck,
  permissionRequest,
  RENDERER_CSP,
} from './security.js';

let tmp: ReturnType<typeof scratch>;
let root: string;
before(() => {
  tmp = scratch('electron');
  root = join(tmp.dir, 'renderer');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>Coroscope</title>');
  writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(root, 'assets', 'app.css'), 'body{}');
  writeFileSync(join(root, '.hidden'), 'dot');
  writeFileSync(join(tmp.dir, 'secret.txt'), 'secret');
  symlinkSync(join(tmp.dir, 'secret.txt'), join(root, 'assets', 'link.txt'));
  mkdirSync(join(root, 'dir'));
  execFileSync('mkfifo', [join(root, 'assets', 'fifo.js')]);
});
after(() => tmp.cleanup());

const get = (url: string, method = 'GET') => appResponse(root, new Request(url, { method }));

test('navigation of any frame is allowed to the app only', () => {
  for (const ok of [
    APP_INDEX,
    'app://coroscope/',
    'app://coroscope/index.html#/timeline',
    'app://coroscope/assets/app.js',
  ])
    assert.equal(navigationAllowed(ok), true, ok);
  for (const no of [
    'file:///etc/passwd',
    'https://example.com/',
    'http://127.0.0.1:5173/',
    'app://evil/index.html',
    'app://user:pw@coroscope/index.html',
    'javascript:alert(1)',
    'data:text/html,hi',
    'about:blank',
    'chrome://gpu',
    'devtools://devtools/',
    '',
    'not a url',
    'app:coroscope/index.html',
    'APP://COROSCOPE.evil/',
  ])
    assert.equal(navigationAllowed(no), false, no);
  // in development, the Vite dev server's origin instead of app://
  const dev = 'http://localhost:5173/';
  assert.equal(navigationAllowed('http://localhost:5173/index.html', dev), true);
  assert.equal(navigationAllowed(APP_INDEX, dev), false);
  assert.equal(navigationAllowed('http://localhost:5174/', dev), false);
});

test("the IPC bridge trusts the app's main page only", () => {
  assert.equal(isAppIndex(APP_INDEX), true);
  assert.equal(isAppIndex('app://coroscope/index.html#x'), true);
  assert.equal(isAppIndex('app://coroscope/assets/app.js'), false);
  assert.equal(isAppIndex('file:///work/out/renderer/index.html'), false);
});

test('every permission check and request is denied', () => {
  for (const p of [
    'media',
    'geolocation',
    'notifications',
    'clipboard-read',
    'clipboard-sanitized-write',
    'fullscreen',
    'openExternal',
    'hid',
    'serial',
    'usb',
    'midi',
    'pointerLock',
    'unknown',
  ] as const) {
    assert.equal((permissionCheck as (...a: unknown[]) => boolean)(null, p, 'app://coroscope', {}), false, p);
    const answers: boolean[] = [];
    permissionRequest(null, p, (granted) => answers.push(granted));
    assert.deepEqual(answers, [false], p);
  }
  assert.equal(devicePermission(), false);
});

test('app:// serves the renderer folder with the CSP and nothing outside it', async () => {
  const page = await get(APP_INDEX);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /^text\/html/);
  assert.equal(page.headers.get('content-security-policy'), RENDERER_CSP);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  assert.match(await page.text(), /Coroscope/);
  assert.equal((await get('app://coroscope/')).status, 200, 'a folder means its index.html');
  const js = await get('app://coroscope/assets/app.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type')!, /javascript/);
  assert.equal((await get('app://coroscope/assets/app.css', 'HEAD')).status, 200);
  for (const bad of [
    'app://coroscope/../secret.txt',
    'app://coroscope/%2e%2e/secret.txt',
    'app://coroscope/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    'app://coroscope/assets/..%2f..%2fsecret.txt',
    'app://coroscope/assets/..%5c..%5csecret.txt',
    'app://coroscope/.hidden',
    'app://coroscope/%2ehidden',
    'app://coroscope/assets/link.txt',
    'app://coroscope/dir',
    'app://coroscope/dir/',
    'app://coroscope/missing.js',
    'app://coroscope/index.html%00.js',
    'app://coroscope/%zz',
    'app://evil/index.html',
    'app://coroscope.evil/index.html',
    'file:///etc/passwd',
    'app://coroscope/assets/fifo.js',
  ]) {
    const r = await get(bad);
    assert.equal(r.status, 404, bad);
    assert.equal(r.headers.get('content-security-policy'), RENDERER_CSP, `${bad}: refusals carry the CSP too`);
    assert.doesNotMatch(await r.text(), /secret|dot/, bad);
  }
  for (const m of ['POST', 'PUT', 'DELETE']) assert.equal((await get(APP_INDEX, m)).status, 405, m);
});

test('the CSP allows no inline script or style, no eval, nothing from elsewhere; the scheme is standard and secure', () => {
  const directives = new Map(RENDERER_CSP.split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
  assert.doesNotMatch(RENDERER_CSP, /unsafe|\*|http|ws:/);
  for (const d of ['default-src', 'script-src', 'style-src', 'connect-src'])
    assert.deepEqual(directives.get(d), ["'self'"], d);
  assert.deepEqual(directives.get('object-src'), ["'none'"]);
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  assert.equal(APP_SCHEME_PRIVILEGES.privileges.standard, true);
  assert.equal(APP_SCHEME_PRIVILEGES.privileges.secure, true);
  assert.equal('bypassCSP' in APP_SCHEME_PRIVILEGES.privileges, false);
});

test("the renderer's own meta CSP forbids inline styles; only the dev server's copy allows them", () => {
  const html = readFileSync(join(import.meta.dirname, '..', '..', 'renderer', 'index.html'), 'utf8');
  const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html)?.[1];
  assert.ok(meta, 'a CSP meta tag');
  assert.doesNotMatch(meta!, /unsafe/);
  assert.match(meta!, /style-src 'self'(;|$)/);
  const dev = devIndexHtml(html);
  assert.match(dev, /style-src 'self' 'unsafe-inline'/);
  assert.doesNotMatch(dev, /script-src[^;]*unsafe/, 'scripts stay strict in development too');
});
