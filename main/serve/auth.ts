/**
 * Who may talk to the serve mode: whoever holds the random token (32 bytes,
 * hex) of the printed URL (?token=), or the session cookie the server sets
 * when a request carries that token. Requests must also name the server by
 * its loopback address in Host (a DNS-rebinding page names another host)
 * and, for the WebSocket, come from the server's own Origin.
 *
 * The session cookie (Jupyter's model): browsers send cookies to every port
 * of a host, so the cookie must neither carry the token nor collide with
 * another server's. Its NAME holds the port (`coroscope-127-0-0-1-PORT`),
 * its VALUE is a random session id of this server, distinct from the token
 * (a server on another port that receives it learns no token, and a restart
 * of serve forgets it); it is HttpOnly (no script reads it), SameSite=Strict
 * (no other site's page sends it) and a session cookie (gone when the
 * browser closes). The token keeps working in URLs (the printed URL can be
 * opened again); each request with it sets the cookie anew.
 *
 * Invariants: every secret is compared in constant time; every check fails
 * closed (a malformed cookie header, a duplicated or missing Host, anything
 * unexpected is a refusal, never an exception).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const newToken = (): string => randomBytes(32).toString('hex');

/** The session cookie's name for a server on 127.0.0.1:port. */
export const cookieName = (port: number): string => `coroscope-127-0-0-1-${port}`;

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Every value of cookie `name` in the request (a browser may send several: other paths, old servers). */
export function cookieValues(req: IncomingMessage, name: string): string[] {
  const header = req.headers.cookie;
  const values: string[] = [];
  if (typeof header !== 'string') return values; // its size is bounded by the server's header limit (16 KiB)
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) values.push(part.slice(i + 1).trim());
  }
  return values;
}

export interface ServeAuth {
  readonly token: string;
  readonly cookieName: string;
  /** 'query' when the URL carries the token (the cookie should be set), 'cookie', or null: refused. */
  check(req: IncomingMessage, url: URL): 'query' | 'cookie' | null;
  /** The Set-Cookie header value that opens a session. */
  setCookie(): string;
}

/** The credentials of one server on 127.0.0.1:port: a fresh token and a fresh session id. */
export function serveAuth(port: number, token = newToken()): ServeAuth {
  const session = randomBytes(32).toString('base64url');
  const name = cookieName(port);
  return {
    token,
    cookieName: name,
    check(req, url) {
      const q = url.searchParams.getAll('token');
      if (q.length === 1 && same(q[0], token)) return 'query';
      let ok = false;
      for (const c of cookieValues(req, name)) ok = same(c, session) || ok; // no early exit
      return ok ? 'cookie' : null;
    },
    setCookie: () => `${name}=${session}; HttpOnly; SameSite=Strict; Path=/`,
  };
}

/** Host must be our own address, given once: refuses DNS rebinding. */
export function hostOk(req: IncomingMessage, origin: string): boolean {
  const hosts = req.headersDistinct?.host;
  if (hosts && hosts.length !== 1) return false;
  return req.headers.host === new URL(origin).host;
}

/** A WebSocket must come from a page we served (browsers always send Origin on WebSockets). */
export function originOk(req: IncomingMessage, origin: string): boolean {
  const origins = req.headersDistinct?.origin;
  if (origins && origins.length !== 1) return false;
  return req.headers.origin === origin;
}
