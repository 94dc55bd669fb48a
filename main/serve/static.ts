/**
 * Serving the built renderer (out/renderer) and the exports: plain files,
 * with a strict Content-Security-Policy and no caching, never outside their
 * folder (the path is resolved and must stay under the root; dotfiles and
 * symlinks out of the root are refused).
 */
import { createReadStream, realpathSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { basename, extname, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.wasm': 'application/wasm', '.map': 'application/json',
};

/** The policy for pages served from origin (http://127.0.0.1:PORT). */
export function csp(origin: string): string {
  const ws = origin.replace(/^http/, 'ws');
  return [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
    `connect-src 'self' ${ws}`, "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'none'",
  ].join('; ');
}

export function securityHeaders(res: ServerResponse, origin: string): void {
  res.setHeader('Content-Security-Policy', csp(origin));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
}

/** The file under root for a URL path, or undefined (missing, a directory, outside root, a dotfile). */
export function resolveUnder(root: string, urlPath: string): string | undefined {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (rel.includes('\0') || rel.split('/').some((p) => p.startsWith('.'))) return undefined;
  const base = resolve(root);
  const p = resolve(base, '.' + (rel.endsWith('/') ? rel + 'index.html' : rel));
  if (p !== base && !p.startsWith(base + sep)) return undefined;
  try {
    const real = realpathSync(p);
    const realBase = realpathSync(base);
    if (!real.startsWith(realBase + sep) || !statSync(real).isFile()) return undefined;
    return real;
  } catch {
    return undefined;
  }
}

export function sendFile(res: ServerResponse, file: string, download = false): void {
  const st = statSync(file);
  res.statusCode = 200;
  res.setHeader('Content-Type', download ? 'application/octet-stream' : (TYPES[extname(file)] ?? 'application/octet-stream'));
  res.setHeader('Content-Length', st.size);
  if (download) res.setHeader('Content-Disposition', `attachment; filename="${basename(file).replace(/[^A-Za-z0-9._-]/g, '_')}"`);
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(text + '\n');
}

