/**
 * The Electron shell's security policy as plain functions (no `electron`
 * import at run time, so node --test checks them without an Electron
 * binary; main.ts wires them to the app, the session and each webContents).
 *
 *  - Pages come from the custom scheme app://coroscope/ (registered as
 *    standard and secure: a real origin, unlike file://, whose pages share
 *    one origin with every local file), served only from the built renderer
 *    folder: GET only, the path decoded once, no NUL, no dot segments, the
 *    resolved and real path inside the folder, a regular file; anything
 *    else is a 404 (405 for other methods). Each response carries the CSP.
 *  - Navigation (will-frame-navigate, will-navigate, will-redirect) of any
 *    frame is allowed only to a page of the app; everything else is denied.
 *  - Permissions: every check and every request is denied (the app needs
 *    none: no camera, notifications, clipboard reads, devices…).
 *  - CSP: no inline scripts or styles, no eval, nothing from the network.
 *    The renderer's inline `style={}` props are set by React through the
 *    CSSOM (element.style), which CSP does not govern, so 'unsafe-inline'
 *    is not needed, for style attributes (style-src-attr) either.
 *
 * Invariant: every function fails closed (an unparsable URL is denied, a
 * path that cannot be resolved is a 404) and none throws.
 */
import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';

export const APP_SCHEME = 'app';
export const APP_HOST = 'coroscope';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_INDEX = `${APP_ORIGIN}/index.html`;

/** For protocol.registerSchemesAsPrivileged, before the app is ready. */
export const APP_SCHEME_PRIVILEGES = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true },
} as const;

/** The policy of every page of the app (the built renderer). */
export const RENDERER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ');

function parse(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/**
 * Is url a page of the app: under app://coroscope/, or (development only,
 * devUrl set) on the Vite dev server's origin?
 */
export function isAppUrl(url: string, devUrl?: string): boolean {
  const u = parse(url);
  if (!u) return false;
  if (devUrl) {
    const d = parse(devUrl);
    return !!d && u.origin === d.origin;
  }
  return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === '';
}

/** Is url the main page of the app (what the IPC bridge trusts)? */
export function isAppIndex(url: string, devUrl?: string): boolean {
  if (devUrl) return isAppUrl(url, devUrl);
  const u = parse(url);
  return !!u && isAppUrl(url) && (u.pathname === '/index.html' || u.pathname === '/');
}

/** will-frame-navigate / will-navigate / will-redirect: may this navigation go on? */
export function navigationAllowed(url: string, devUrl?: string): boolean {
  return isAppUrl(url, devUrl);
}

/** session.setPermissionCheckHandler: no permission is ever granted. */
export function permissionCheck(): boolean {
  return false;
}

/** session.setPermissionRequestHandler: every request is refused. */
export function permissionRequest(_wc: unknown, _permission: string, callback: (granted: boolean) => void): void {
  callback(false);
}

/** session.setDevicePermissionHandler: no HID, serial or USB device. */
export function devicePermission(): boolean {
  return false;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
};

function headers(type: string): Record<string, string> {
  return {
    'Content-Type': type,
    'Content-Security-Policy': RENDERER_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
}

const refuse = (status: number, text: string): Response =>
  new Response(text, { status, headers: headers('text/plain; charset=utf-8') });

/** The file under root that an app:// URL names, or null (wrong origin, traversal, dotfile, not a file). */
export async function appFile(root: string, url: string): Promise<string | null> {
  const u = parse(url);
  if (!u || !isAppUrl(url)) return null;
  let rel: string;
  try {
    rel = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (rel.includes('\0') || rel.includes('\\') || rel.split('/').some((p) => p.startsWith('.'))) return null;
  const base = resolve(root);
  const p = resolve(base, '.' + (rel.endsWith('/') ? rel + 'index.html' : rel));
  if (!p.startsWith(base + sep)) return null;
  try {
    const [real, realBase] = await Promise.all([realpath(p), realpath(base)]);
    return real.startsWith(realBase + sep) ? real : null;
  } catch {
    return null;
  }
}

/** The handler of protocol.handle('app', …): the renderer's files, nothing else. */
export async function appResponse(root: string, request: Request): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return refuse(405, 'Method not allowed');
  const file = await appFile(root, request.url);
  if (!file) return refuse(404, 'Not found');
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK); // a FIFO put there cannot block
  } catch {
    return refuse(404, 'Not found');
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return refuse(404, 'Not found');
    const body = request.method === 'HEAD' ? null : await fh.readFile();
    return new Response(body, { status: 200, headers: headers(TYPES[extname(file)] ?? 'application/octet-stream') });
  } catch {
    return refuse(500, 'Cannot read the file');
  } finally {
    await fh.close().catch(() => {});
  }
}

/** The renderer's index.html for the Vite dev server: its dev client injects <style> tags, so styles may be inline there (only there). */
export function devIndexHtml(html: string): string {
  return html.replace(/(http-equiv="Content-Security-Policy"[^>]*?style-src 'self')/s, "$1 'unsafe-inline'");
}
