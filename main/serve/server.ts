/**
 * Serve mode: the Coroscope UI in a browser, from a local HTTP server.
 * Serves the built renderer (out/renderer) and the API over a WebSocket
 * (/api, see wsApi.ts), both behind a random token; one AppHost for the
 * whole server. Exports are downloaded from /download/<id>/<file>.
 *
 * Invariants:
 *  - it listens on 127.0.0.1 only;
 *  - nothing is served, and no WebSocket accepted, without the token (URL
 *    ?token=) or the session cookie it sets (auth.ts: named after the port,
 *    a random session id, never the token), a Host naming the server, and
 *    (WebSocket) the server's own Origin; refusals are 403;
 *  - every response carries a strict CSP (static.ts);
 *  - no request can throw past its handler: a target that does not parse is
 *    a 400, a file that vanished a 404 (an export: 410), anything unexpected
 *    a 500 (the server and the programs it launched go on); files are opened
 *    and read asynchronously (static.ts), never with a sync call that throws;
 *  - close() ends the host's sessions (see AppHost.close) and the server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { ExportResult } from '../../preload/api.js';
import { AppHost } from '../app/host.js';
import { hostOk, newToken, originOk, serveAuth, type ServeAuth } from './auth.js';
import { resolveUnder, securityHeaders, sendFile, sendText } from './static.js';
import { serveApi } from './wsApi.js';

export interface ServeOptions {
  /** 0 (the default): any free port. */
  port?: number;
  /** Only '127.0.0.1' is accepted. */
  host?: '127.0.0.1';
  /** The built renderer: a folder with index.html. */
  rendererDir: string;
  /** Where exports are written (default: the host's). */
  exportDir?: string;
}

export interface Served {
  /** http://127.0.0.1:PORT/?token=T — what to open (print it). */
  url: string;
  origin: string;
  token: string;
  /** The session cookie's name (coroscope-127-0-0-1-PORT). */
  cookieName: string;
  port: number;
  host: AppHost;
  close(): Promise<void>;
}

export async function startServe(o: ServeOptions): Promise<Served> {
  if (o.host !== undefined && o.host !== '127.0.0.1') throw new Error('serve mode listens on 127.0.0.1 only');
  const port = o.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port ${port}: expected 0..65535`);
  const token = newToken();
  const downloads = new Map<string, string>();
  let origin = '';
  let auth: ServeAuth | undefined; // set once the port is known (the cookie is named after it)
  const host = new AppHost({
    exportDir: o.exportDir,
    deliverExport: (path, bytes): ExportResult => {
      const id = randomBytes(16).toString('hex');
      downloads.set(id, path);
      // No token in the link: the page's session cookie authorises the download (a copied link gives nothing away).
      return { url: `${origin}/download/${id}/${encodeURIComponent(basename(path))}`, bytes };
    },
  });

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    try {
      handleRequest(req, res);
    } catch (e) {
      if (!res.headersSent) sendText(res, 500, 'Internal error');
      else res.destroy();
      console.error(`coroscope serve: ${req.method} request failed: ${(e as Error).message}`);
    }
  };
  const handleRequest = (req: IncomingMessage, res: ServerResponse) => {
    securityHeaders(res, origin);
    const url = requestUrl(req, origin);
    if (!url) return sendText(res, 400, 'Bad request target');
    const how = auth?.check(req, url) ?? null;
    if (!hostOk(req, origin) || !how)
      return sendText(res, 403, 'Forbidden: open the URL with its token, as printed by coroscope serve.');
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method not allowed');
    if (how === 'query') res.setHeader('Set-Cookie', auth!.setCookie());
    const dl = /^\/download\/([0-9a-f]{32})\/[^/]*$/.exec(url.pathname);
    if (dl) {
      const file = downloads.get(dl[1]);
      if (!file) return sendText(res, 404, 'No such export');
      return sendFile(res, file, { download: true, gone: 'The export file was removed: export again.' });
    }
    const file = resolveUnder(o.rendererDir, url.pathname);
    if (!file)
      return sendText(
        res,
        404,
        url.pathname === '/' ? `The renderer is not built (no index.html in ${o.rendererDir}).` : 'Not found',
      );
    sendFile(res, file);
  };

  const server = createServer(onRequest);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      const url = requestUrl(req, origin);
      if (!url || url.pathname !== '/api' || !hostOk(req, origin) || !originOk(req, origin) || !auth?.check(req, url)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const binary = url.searchParams.get('binary') === '1';
      wss.handleUpgrade(req, socket, head, (ws) => serveApi(ws, host, { binary }));
    } catch (e) {
      socket.destroy();
      console.error(`coroscope serve: WebSocket upgrade failed: ${(e as Error).message}`);
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as { port: number }).port;
  origin = `http://127.0.0.1:${bound}`;
  auth = serveAuth(bound, token);

  return {
    url: `${origin}/?token=${token}`,
    origin,
    token,
    cookieName: auth.cookieName,
    port: bound,
    host,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await host.close();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** The request target resolved against the server's origin, or null when it
 * does not parse (`//[`, bad escapes): the caller answers 400. */
export function requestUrl(req: IncomingMessage, origin: string): URL | null {
  const target = req.url ?? '/';
  if (!target.startsWith('/')) return null; // absolute-form and '*' targets are not ours
  try {
    return new URL(target, origin);
  } catch {
    return null;
  }
}

/** The default renderer folder: out/renderer of the package. */
export const defaultRendererDir = (packageRoot: string): string => join(packageRoot, 'out', 'renderer');
