/**
 * The Electron main process: one window showing the renderer, one AppHost
 * behind it (the Node core and the addon live here, never in the renderer).
 *
 * Security (Electron's checklist; the policy itself is in security.ts, as
 * plain functions with unit tests): contextIsolation, sandbox, no
 * nodeIntegration, webSecurity on; pages from the privileged custom scheme
 * app://coroscope/ serving only out/renderer (never file://), each response
 * with a strict CSP (plus the renderer's meta tag); no navigation of any
 * frame away from the app (will-frame-navigate) and no new windows; every
 * permission check and request denied; IPC only from our window's main frame
 * showing our renderer (ipc.ts), the preload exposes `window.coroscope` only.
 * Electron fuses are flipped when the app is packaged (README, "Packaging").
 */
import { app, BrowserWindow, protocol, session, shell, type WebContents } from 'electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppHost } from '../app/host.js';
import { bridge } from './ipc.js';
import {
  APP_INDEX,
  APP_SCHEME,
  APP_SCHEME_PRIVILEGES,
  appResponse,
  devicePermission,
  isAppIndex,
  navigationAllowed,
  permissionCheck,
  permissionRequest,
  RENDERER_CSP,
} from './security.js';

const here = dirname(fileURLToPath(import.meta.url)); // out/main
const devUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
const rendererDir = join(here, '..', 'renderer');
const rendererUrl = devUrl ?? APP_INDEX;

// Before the app is ready: app:// is a standard, secure scheme (its own origin, fetch works).
protocol.registerSchemesAsPrivileged([
  { ...APP_SCHEME_PRIVILEGES, privileges: { ...APP_SCHEME_PRIVILEGES.privileges } },
]);

/** Every webContents: no navigation of any frame away from the app, no new windows, no webviews. */
function lockDown(wc: WebContents): void {
  const deny = (ev: { url: string; preventDefault(): void }) => {
    if (!navigationAllowed(ev.url, devUrl)) ev.preventDefault();
  };
  wc.on('will-frame-navigate', deny);
  wc.on('will-navigate', deny);
  wc.on('will-redirect', deny);
  wc.on('will-attach-webview', (ev) => ev.preventDefault());
  wc.setWindowOpenHandler(({ url }) => {
    // Links to the web (docs, Perfetto UI) open in the user's browser; nothing opens in the app.
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
}

function createWindow(host: AppHost): BrowserWindow {
  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    show: false,
    title: 'Coroscope',
    backgroundColor: '#16181d',
    webPreferences: {
      preload: join(here, '..', 'preload', 'index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  const unbridge = bridge(host, win, (url) => isAppIndex(url, devUrl));
  win.on('closed', unbridge);
  void win.loadURL(rendererUrl);
  return win;
}

app.enableSandbox();
app.on('web-contents-created', (_e, wc) => lockDown(wc));

void app.whenReady().then(() => {
  const ses = session.defaultSession;
  if (!devUrl) {
    ses.protocol.handle(APP_SCHEME, (req) => appResponse(rendererDir, req));
    // The strict policy as a header on anything else the window might load too; the dev server's
    // pages rely on the renderer's meta tag (Vite's dev client needs inline styles).
    ses.webRequest.onHeadersReceived((details, done) => {
      // oxlint-disable-next-line promise/no-callback-in-promise -- Electron's header callback, not a promise's
      done({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [RENDERER_CSP] } });
    });
  }
  ses.setPermissionCheckHandler(permissionCheck);
  ses.setPermissionRequestHandler(permissionRequest);
  ses.setDevicePermissionHandler(devicePermission);
  const host = new AppHost();
  createWindow(host);
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow(host);
  });
  let closing = false;
  app.on('before-quit', (ev) => {
    if (closing) return;
    closing = true;
    ev.preventDefault();
    void host.close().finally(() => app.quit());
  });
});

app.on('window-all-closed', () => app.quit());
