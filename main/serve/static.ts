/**
 * Serving the built renderer (out/renderer) and the exports: plain files,
 * with a strict Content-Security-Policy and no caching, never outside their
 * folder (the path is resolved and must stay under the root; dotfiles and
 * symlinks out of the root are refused).
 *
 * Invariant: nothing here throws into a request handler. resolveUnder's sync
 * calls (realpath, stat of a path under the renderer folder) are caught and
 * mean "not found"; sendFile is asynchronous and answers every failure.
 */
import { close, constants, createReadStream, fstat, open, realpathSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { basename, extname, resolve, sep } from 'node:path';

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

/** The policy for pages served from origin (http://127.0.0.1:PORT). */
export function csp(origin: string): string {
  const ws = origin.replace(/^http/, 'ws');
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ${ws}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
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

export interface SendFileOptions {
  /** As an attachment (Content-Disposition), typed application/octet-stream. */
  download?: boolean;
  /** When the file no longer exists: answer 410 Gone with this text (default: 404 Not found). */
  gone?: string;
}

/**
 * Streams a file. Asynchronous from the open on, and never throws: the file
 * is opened first (O_NONBLOCK: a FIFO put in its place cannot block), then
 * checked and measured through that descriptor, so a file removed or
 * replaced in between is a 404 (or 410), anything that is not a regular
 * file a 404, another error a 500; a read error cuts the response.
 */
export function sendFile(res: ServerResponse, file: string, o: SendFileOptions = {}): void {
  const missing = () => (o.gone ? sendText(res, 410, o.gone) : sendText(res, 404, 'Not found'));
  open(file, constants.O_RDONLY | constants.O_NONBLOCK, (err, fd) => {
    if (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return code === 'ENOENT' || code === 'ENOTDIR' ? missing() : sendText(res, 500, 'Cannot read the file');
    }
    fstat(fd, (err2, st) => {
      if (err2 || !st.isFile()) {
        close(fd, () => {});
        return err2 ? sendText(res, 500, 'Cannot read the file') : missing();
      }
      if (res.destroyed) return close(fd, () => {});
      res.statusCode = 200;
      res.setHeader(
        'Content-Type',
        o.download ? 'application/octet-stream' : (TYPES[extname(file)] ?? 'application/octet-stream'),
      );
      res.setHeader('Content-Length', st.size);
      if (o.download)
        res.setHeader(
          'Content-Disposition',
          `attachment; filename="${basename(file).replace(/[^A-Za-z0-9._-]/g, '_')}"`,
        );
      if (res.req?.method === 'HEAD' || st.size === 0) {
        close(fd, () => {});
        return void res.end();
      }
      const stream = createReadStream('', { fd, start: 0, end: st.size - 1, autoClose: true });
      stream.on('error', () => res.destroy());
      res.on('close', () => stream.destroy());
      stream.pipe(res);
    });
  });
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(text + '\n');
}
