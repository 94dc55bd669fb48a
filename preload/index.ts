/**
 * The preload (sandboxed, CommonJS): exposes `window.coroscope`, a
 * CoroscopeApi over Electron IPC, and nothing else — never ipcRenderer
 * itself, only functions that send one fixed channel's envelopes.
 *
 * Invariants: every request of the contract (api.ts REQUESTS, through
 * apiCalls) is an {id, name, args} envelope on IPC_REQUEST and resolves
 * with the result or rejects with the ApiError {code, message}; pushes
 * arrive on IPC_PUSH and go to the listeners given to onPush.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  apiCalls,
  IPC_PUSH,
  IPC_REQUEST,
  type ApiPush,
  type CoroscopeApi,
  type ReplyEnvelope,
  type RequestEnvelope,
  type SendRequest,
} from './api';

let nextId = 1;

const request: SendRequest = async (name, args) => {
  const envelope: RequestEnvelope<typeof name> = { id: nextId++, name, args };
  // The main side answers an envelope with the reply to that very request (main/electron/ipc.ts).
  const reply = (await ipcRenderer.invoke(IPC_REQUEST, envelope)) as ReplyEnvelope<typeof name>;
  if (reply.ok) return reply.result;
  // A plain object (not an Error) survives contextBridge with its code intact.
  throw { code: reply.error.code, message: reply.error.message };
};

const listeners = new Set<(p: ApiPush) => void>();
ipcRenderer.on(IPC_PUSH, (_ev: IpcRendererEvent, p: ApiPush) => {
  for (const l of listeners) {
    try {
      l(p);
    } catch (e) {
      console.error('coroscope push listener failed', e);
    }
  }
});

const coroscope: CoroscopeApi = {
  ...apiCalls(request),
  onPush(listener) {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  },
  transport: 'electron',
};

contextBridge.exposeInMainWorld('coroscope', coroscope);
