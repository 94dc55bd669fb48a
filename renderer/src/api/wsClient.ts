/**
 * CoroscopeApi over a WebSocket (serve mode): `ws://<page host>/api?token=<page ?token>`.
 * Requests wait for the socket; on a drop it reconnects with backoff, fails the pending calls
 * and tells listeners ('reconnected') so the UI can ask for a replay.
 *
 * Every request of the contract (preload/api.ts) is a method here through apiCalls; a reply is
 * matched to its request by id, and resolves that request's call with the result the contract
 * types for it.
 */
import {
  apiCalls,
  type ApiPush,
  type CoroscopeApi,
  type ReplyEnvelope,
  type RequestEnvelope,
  type RequestName,
  type RequestResult,
  type SendRequest,
} from '../../../preload/api.js';
import { ApiCallError, parseBinaryFrame, parseFrame } from './wire.js';

export type ConnectionState = 'connecting' | 'open' | 'closed';

/** A request waiting for its reply. */
interface Pending {
  resolve: (result: RequestResult<RequestName>) => void;
  reject: (e: unknown) => void;
}

export interface WsApi extends CoroscopeApi {
  onConnection(listener: (s: ConnectionState, reconnected: boolean) => void): () => void;
  /** Close the socket for good (no reconnect); pending calls fail. */
  close(): void;
}

/** The browser's WebSocket, or one with its interface (tests in Node). */
export type WebSocketClass = new (url: string) => WebSocket;

export function createWsApi(url: string, WebSocketImpl: WebSocketClass = WebSocket): WsApi {
  let ws: WebSocket | null = null;
  let nextId = 1;
  let opened = false;
  let backoff = 250;
  let closed = false;
  const pending = new Map<number, Pending>();
  const queue: string[] = [];
  const pushListeners = new Set<(p: ApiPush) => void>();
  const connListeners = new Set<(s: ConnectionState, reconnected: boolean) => void>();

  const emitConn = (s: ConnectionState, re: boolean) => connListeners.forEach((l) => l(s, re));

  function connect(): void {
    emitConn('connecting', false);
    const sock = new WebSocketImpl(url);
    sock.binaryType = 'arraybuffer';
    ws = sock;
    sock.onopen = () => {
      backoff = 250;
      const re = opened;
      opened = true;
      for (const m of queue.splice(0)) sock.send(m);
      emitConn('open', re);
    };
    sock.onmessage = (ev) => {
      let frame;
      try {
        // Binary frames: batch pushes (the URL asked for them with binary=1).
        frame = typeof ev.data === 'string' ? parseFrame(ev.data) : parseBinaryFrame(ev.data as ArrayBuffer);
      } catch (e) {
        console.warn('coroscope: bad frame', e);
        return;
      }
      if ('push' in frame) {
        for (const l of pushListeners) l(frame.push);
        return;
      }
      const r: ReplyEnvelope = frame.reply;
      const p = pending.get(r.id);
      if (!p) return;
      pending.delete(r.id);
      if (r.ok) p.resolve(r.result);
      else p.reject(new ApiCallError(r.error?.code ?? 'internal', r.error?.message ?? 'request failed'));
    };
    sock.onclose = () => {
      ws = null;
      for (const p of pending.values())
        p.reject(new ApiCallError('internal', 'connection to the Coroscope server lost'));
      pending.clear();
      emitConn('closed', false);
      if (closed) return;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 5000);
    };
  }

  const call: SendRequest = (name, args) => {
    const id = nextId++;
    const env: RequestEnvelope<typeof name> = { id, name, args };
    const text = JSON.stringify(env);
    return new Promise((resolve, reject) => {
      // The reply with this id is the reply to this request: its result is this request's.
      pending.set(id, { resolve: resolve as Pending['resolve'], reject });
      if (ws && ws.readyState === ws.OPEN) ws.send(text);
      else queue.push(text);
    });
  };

  const api: WsApi = {
    ...apiCalls(call),
    transport: 'serve',
    onPush(listener: (p: ApiPush) => void) {
      pushListeners.add(listener);
      return () => pushListeners.delete(listener);
    },
    onConnection(listener: (s: ConnectionState, reconnected: boolean) => void) {
      connListeners.add(listener);
      return () => connListeners.delete(listener);
    },
    close() {
      closed = true;
      queue.length = 0;
      ws?.close();
    },
  };
  connect();
  return api;
}
