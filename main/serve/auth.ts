/**
 * Who may talk to the serve mode: whoever holds the random token (32 bytes,
 * hex) — in the URL (?token=) or, after the first page load, in the
 * HttpOnly SameSite=Strict cookie the server sets. Requests must also name
 * the server by its loopback address in Host (a DNS-rebinding page names
 * another host) and, for the WebSocket, come from the server's own Origin.
 *
 * Invariant: every check compares in constant time and fails closed.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE = 'coroscope_token';

export const newToken = (): string => randomBytes(32).toString('hex');

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === COOKIE) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** 'query' when the URL carries the token (the cookie should be set), 'cookie', or null: refused. */
export function authorized(req: IncomingMessage, url: URL, token: string): 'query' | 'cookie' | null {
  const q = url.searchParams.get('token');
  if (q !== null && same(q, token)) return 'query';
  const c = cookieToken(req);
  if (c !== undefined && same(c, token)) return 'cookie';
  return null;
}

/** Host must be our own address: refuses DNS rebinding. */
export function hostOk(req: IncomingMessage, origin: string): boolean {
  return req.headers.host === new URL(origin).host;
}

/** A WebSocket must come from a page we served (browsers always send Origin on WebSockets). */
export function originOk(req: IncomingMessage, origin: string): boolean {
  return req.headers.origin === origin;
}

export const setCookie = (token: string): string => `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
