/** One renderer, two transports: window.coroscope (Electron preload) or the WebSocket client (serve mode). */
import type { CoroscopeApi } from '../../../preload/api.js';
import { createWsApi, type WsApi } from './wsClient.js';

declare global {
  interface Window {
    coroscope?: CoroscopeApi;
  }
}

let api: CoroscopeApi | null = null;

export function getApi(): CoroscopeApi {
  if (api) return api;
  if (window.coroscope) return (api = window.coroscope);
  // Without ?token in the page URL the server's cookie (set when the page was first opened with it) authorizes.
  const token = new URLSearchParams(location.search).get('token');
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  // binary=1: batch pushes as binary frames (raw records, no base64; see wire.ts).
  return (api = createWsApi(
    `${proto}://${location.host}/api?binary=1${token ? `&token=${encodeURIComponent(token)}` : ''}`,
  ));
}

export function isWsApi(a: CoroscopeApi): a is WsApi {
  return typeof (a as Partial<WsApi>).onConnection === 'function';
}

export { errorText } from './wire.js';
