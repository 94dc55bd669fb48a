/**
 * The preload (sandboxed, CommonJS): exposes `window.coroscope`, a
 * CoroscopeApi over Electron IPC, and nothing else — never ipcRenderer
 * itself, only functions that send one fixed channel's envelopes.
 *
 * Invariants: requests are {id, name, args} envelopes on IPC_REQUEST and
 * resolve with the result or reject with the ApiError {code, message};
 * pushes arrive on IPC_PUSH and go to the listeners given to onPush.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  IPC_PUSH, IPC_REQUEST, REQUEST_NAMES, type ApiPush, type CoroscopeApi, type ReplyEnvelope, type RequestName,
} from './api';

let nextId = 1;

async function request(name: RequestName, args: unknown[]): Promise<unknown> {
  const reply = (await ipcRenderer.invoke(IPC_REQUEST, { id: nextId++, name, args })) as ReplyEnvelope;
  if (reply.ok) return reply.result;
  // A plain object (not an Error) survives contextBridge with its code intact.
  throw { code: reply.error.code, message: reply.error.message };
}

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

const api = Object.fromEntries(
  REQUEST_NAMES.map((name) => [name, (...args: unknown[]) => request(name, args)]),
) as unknown as Omit<CoroscopeApi, 'onPush' | 'transport'>;

const coroscope: CoroscopeApi = {
  ...api,
  onPush(listener) {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  },
  transport: 'electron',
};

contextBridge.exposeInMainWorld('coroscope', coroscope);
