/**
 * The IPC bridge on the main side: one handler for every request
 * (IPC_REQUEST) and the pushes (IPC_PUSH) to the window.
 *
 * Invariants:
 *  - a request is served only when it comes from our window's main frame
 *    and that frame shows our renderer (allowedUrl); anything else is
 *    answered with a bad-request error and never reaches the host;
 *  - the name is checked against the contract (isRequestName), the
 *    arguments by AppHost (each request's check in preload/api.ts);
 *  - the reply is always a ReplyEnvelope (ipcRenderer.invoke never rejects
 *    with a main-process stack);
 *  - the window's push function is its identity for the host: its
 *    subscriptions and acks (subscribe/ack, flow control as over the
 *    WebSocket: at most a window of unacked events, the rest read from the
 *    trace file as the page acks) are this window's, and end with it.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import { IPC_PUSH, IPC_REQUEST, isRequestName, type ApiPush, type ReplyEnvelope } from '../../preload/api.js';
import type { AppHost } from '../app/host.js';

export function bridge(host: AppHost, win: BrowserWindow, allowedUrl: (url: string) => boolean): () => void {
  const trusted = (ev: IpcMainInvokeEvent): boolean => {
    const frame = ev.senderFrame;
    if (!frame || win.isDestroyed() || ev.sender.id !== win.webContents.id) return false;
    const main = win.webContents.mainFrame;
    return frame.processId === main.processId && frame.routingId === main.routingId && allowedUrl(frame.url);
  };
  const push = (p: ApiPush) => {
    if (!win.isDestroyed()) win.webContents.send(IPC_PUSH, p);
  };
  ipcMain.handle(IPC_REQUEST, async (ev, envelope: unknown): Promise<ReplyEnvelope> => {
    const id = typeof (envelope as { id?: unknown })?.id === 'number' ? (envelope as { id: number }).id : -1;
    if (!trusted(ev))
      return { id, ok: false, error: { code: 'bad-request', message: 'request from an untrusted frame' } };
    const name = (envelope as { name?: unknown })?.name;
    if (!isRequestName(name)) return { id, ok: false, error: { code: 'bad-request', message: 'unknown request' } };
    return host.handle(envelope, { push });
  });
  const off = host.onPush(push);
  win.webContents.on('did-start-navigation', (_e, _url, inPlace, isMainFrame) => {
    // a reload is a new page: it subscribes again from its own seq (0); the old stream stops
    if (isMainFrame && !inPlace) host.dropSubscriptions(push);
  });
  return () => {
    off();
    ipcMain.removeHandler(IPC_REQUEST);
  };
}
