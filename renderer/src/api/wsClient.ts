/**
 * CoroscopeApi over a WebSocket (serve mode): `ws://<page host>/api?token=<page ?token>`.
 * Requests wait for the socket; on a drop it reconnects with backoff, fails the pending calls
 * and tells listeners ('reconnected') so the UI can ask for a replay.
 */
import {
  type ApiPush, type CoroscopeApi, REQUEST_NAMES, type ReplyEnvelope, type RequestEnvelope, type RequestName,
} from '../../../preload/api.js';
import { ApiCallError, parseBinaryFrame, parseFrame } from './wire.js';

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface WsApi extends CoroscopeApi {
  onConnection(listener: (s: ConnectionState, reconnected: boolean) => void): () => void;
}

export function createWsApi(url: string): WsApi {
  let ws: WebSocket | null = null;
  let nextId = 1;
  let opened = false;
  let backoff = 250;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const queue: string[] = [];
  const pushListeners = new Set<(p: ApiPush) => void>();
  const connListeners = new Set<(s: ConnectionState, reconnected: boolean) => void>();

  const emitConn = (s: ConnectionState, re: boolean) => connListeners.forEach((l) => l(s, re));

  function connect(): void {
    emitConn('connecting', false);
    const sock = new WebSocket(url);
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
      for (const p of pending.values()) p.reject(new ApiCallError('internal', 'connection to the Coroscope server lost'));
      pending.clear();
      emitConn('closed', false);
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 5000);
    };
  }

  function call(name: RequestName, args: unknown[]): Promise<unknown> {
    const id = nextId++;
    const env: RequestEnvelope = { id, name, args: args as RequestEnvelope['args'] };
    const text = JSON.stringify(env);
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      if (ws && ws.readyState === WebSocket.OPEN) ws.send(text);
      else queue.push(text);
    });
  }

  const api: Record<string, unknown> = {
    transport: 'serve',
    onPush(listener: (p: ApiPush) => void) {
      pushListeners.add(listener);
      return () => pushListeners.delete(listener);
    },
    onConnection(listener: (s: ConnectionState, reconnected: boolean) => void) {
      connListeners.add(listener);
      return () => connListeners.delete(listener);
    },
  };
  for (const name of REQUEST_NAMES) api[name] = (...args: unknown[]) => call(name, args);
  connect();
  return api as unknown as WsApi;
}
