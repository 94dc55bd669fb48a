/**
 * The serve-mode wire format (WebSocket `/api?token=…`, JSON text frames), shared by the client here
 * and any host that wants to check against it:
 *  - client -> server: a RequestEnvelope `{id, name, args}`;
 *  - server -> client: a ReplyEnvelope `{id, ok: true, result}` / `{id, ok: false, error: {code, message}}`,
 *    or a push `{push: ApiPush}` where a batch's `events` is a base64 string of the raw 64-byte records;
 *    (a window push's likewise);
 *  - with `binary=1` in the URL, batch and window pushes come as binary frames instead: u32 LE n, n bytes of
 *    JSON `{push}` (the batch without `events`, space-padded so 4 + n is a multiple of 8), then the
 *    raw records (main/serve/wsApi.ts encodeBinaryPush).
 */
import type { ApiError, ApiPush, ReplyEnvelope } from '../../../preload/api.js';
import { base64ToBytes } from './base64.js';

/** Pushes carrying raw records (`events`). */
type EventsPush = Extract<ApiPush, { type: 'batch' | 'window' }>;

export type WirePush =
  | (Omit<Extract<ApiPush, { type: 'batch' }>, 'events'> & { events: string | Uint8Array })
  | (Omit<Extract<ApiPush, { type: 'window' }>, 'events'> & { events: string | Uint8Array })
  | Exclude<ApiPush, EventsPush>;

export type ServerFrame = ReplyEnvelope | { push: WirePush };

/** A push as the UI sees it: batch events as bytes. */
export function decodePush(p: WirePush): ApiPush {
  if ((p.type === 'batch' || p.type === 'window') && typeof p.events === 'string')
    return { ...p, events: base64ToBytes(p.events) } as ApiPush;
  return p as ApiPush;
}

/** Parses one server frame; throws on something that is neither a reply nor a push. */
export function parseFrame(text: string): { reply: ReplyEnvelope } | { push: ApiPush } {
  const msg = JSON.parse(text) as ServerFrame;
  if (msg && typeof msg === 'object' && 'push' in msg && msg.push) return { push: decodePush(msg.push) };
  if (msg && typeof msg === 'object' && typeof (msg as ReplyEnvelope).id === 'number')
    return { reply: msg as ReplyEnvelope };
  throw new Error('unexpected frame');
}

const utf8 = new TextDecoder();

/** Parses one binary server frame (a batch or window push); throws on anything else. */
export function parseBinaryFrame(buf: ArrayBuffer): { push: ApiPush } {
  if (buf.byteLength < 4) throw new Error('short binary frame');
  const n = new DataView(buf).getUint32(0, true);
  if (4 + n > buf.byteLength) throw new Error('bad binary frame header');
  const msg = JSON.parse(utf8.decode(new Uint8Array(buf, 4, n))) as { push?: Omit<EventsPush, 'events'> };
  const p = msg && msg.push;
  if (!p || (p.type !== 'batch' && p.type !== 'window')) throw new Error('unexpected binary frame');
  // 4 + n is a multiple of 8: the records are aligned for RawEvents' typed views.
  return { push: { ...p, events: new Uint8Array(buf, 4 + n) } as EventsPush };
}

/** An ApiError as a thrown Error (message for people, code for programs). */
export class ApiCallError extends Error implements ApiError {
  constructor(
    readonly code: ApiError['code'],
    message: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

/** What to show for a failed call: the ApiError message, else the error's message. */
export function errorText(e: unknown): string {
  if (e && typeof e === 'object' && 'message' in e && typeof (e as { message: unknown }).message === 'string') {
    const m = (e as { message: string }).message;
    // Electron wraps errors thrown across IPC: "Error invoking remote method 'x': Error: msg".
    return m.replace(/^Error invoking remote method '[^']*': (?:\w*Error: )?/, '');
  }
  return String(e);
}
