/**
 * The API over one WebSocket (path /api), the serve mode's counterpart of
 * Electron IPC. Protocol — text frames, JSON:
 *   client -> server: RequestEnvelope {id, name, args} (preload/api.ts: any
 *                     request of the contract; the host checks its name
 *                     and arguments)
 *   server -> client: ReplyEnvelope {id, ok, result | error}
 *                     {push: ApiPush}, where a 'batch' push carries
 *                     `events` as a base64 string of the raw 64-byte records
 *                     (the client decodes it back to a Uint8Array);
 *                     (and a 'window' push likewise);
 *   binary batches:   a client that connected with `binary=1` in the URL gets
 *                     every 'batch' and 'window' push as a binary frame instead (no base64,
 *                     no JSON of the records; see encodeBinaryPush). Its other
 *                     frames are unchanged.
 *
 * Invariants: a frame that is not valid JSON, or too large (maxPayload),
 * gets a bad-request reply (id -1) or closes the socket, never reaches the
 * host unchecked; a client's subscribe() and ack() are that client's (the
 * host streams batches to it alone, with flow control: a slow client slows
 * its own stream and is never closed for it). Only a client that does not
 * read its socket at all while pushes pile up (more than MAX_BUFFERED bytes
 * queued: flow control bounds batches, so only status/output pushes or many
 * sessions get there) is closed, after a 'closing' push saying why.
 */
import type { WebSocket } from 'ws';
import type { ApiPush, ReplyEnvelope } from '../../preload/api.js';
import type { AppHost } from '../app/host.js';

const MAX_BUFFERED = 256 * 1024 * 1024;

/** Pushes that carry raw 64-byte records in `events`. */
export type EventsPush = ApiPush<'batch' | 'window'>;

export function encodePush(p: ApiPush): string {
  if (p.type !== 'batch' && p.type !== 'window') return JSON.stringify({ push: p });
  const b = Buffer.from(p.events.buffer, p.events.byteOffset, p.events.byteLength);
  return JSON.stringify({ push: { ...p, events: b.toString('base64') } });
}

/**
 * A 'batch' (or 'window') push as one binary frame: u32 LE n, then n bytes of UTF-8 JSON `{push: <the push
 * without events>}` padded with spaces so that 4 + n is a multiple of 8, then the raw 64-byte
 * records (8-byte aligned in the frame, so the client views them without a copy).
 */
export function encodeBinaryPush(p: EventsPush): Buffer {
  const { events, ...rest } = p;
  const json = Buffer.from(JSON.stringify({ push: rest }));
  const n = json.length + ((8 - ((4 + json.length) % 8)) % 8);
  const out = Buffer.allocUnsafe(4 + n + events.byteLength);
  out.writeUInt32LE(n, 0);
  json.copy(out, 4);
  out.fill(0x20, 4 + json.length, 4 + n);
  out.set(events, 4 + n);
  return out;
}

export interface ServeApiOptions {
  /** The client asked for binary batch frames (`binary=1`). */
  binary?: boolean;
}

export function serveApi(ws: WebSocket, host: AppHost, o: ServeApiOptions = {}): void {
  const push = (p: ApiPush) => {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED) {
      const reason = `this page did not read ${Math.round(ws.bufferedAmount / 2 ** 20)} MB of pushes: the connection is closed (reload to resume)`;
      ws.send(encodePush({ type: 'closing', reason }));
      ws.close(1008, 'pushes piled up unread');
      return;
    }
    if (o.binary && (p.type === 'batch' || p.type === 'window')) ws.send(encodeBinaryPush(p), { binary: true });
    else ws.send(encodePush(p));
  };
  const off = host.onPush(push);
  ws.on('close', off);
  ws.on('error', off);
  ws.on('message', async (data, isBinary) => {
    let env: unknown;
    try {
      if (isBinary) throw new Error('binary');
      env = JSON.parse(data.toString());
    } catch {
      const refused: ReplyEnvelope = {
        id: -1,
        ok: false,
        error: { code: 'bad-request', message: 'expected a JSON request envelope' },
      };
      ws.send(JSON.stringify(refused));
      return;
    }
    const reply = await host.handle(env, { push, backlog: () => ws.bufferedAmount });
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(reply));
  });
}
