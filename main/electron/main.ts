/**
 * The Electron main process: one window showing the renderer, one AppHost
 * behind it (the Node core and the addon live here, never in the renderer).
 *
 * Security (Electron's checklist): contextIsolation, sandbox, no
 * nodeIntegration, webSecurity on; a CSP header on everything the window
 * loads (plus the renderer's meta tag); no navigation away from the
 * renderer and no new windows; IPC only from our window's frame showing
 * our renderer (ipc.ts), the preload exposes `window.coroscope` only.
 */
import { app, BrowserWindow, session, shell } from 'electron';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AppHost } from '../app/host.js';
import { bridge } from './ipc.js';

const here = dirname(fileURLToPath(import.meta.url)); // out/main
const devUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
const indexHtml = join(here, '..', 'renderer', 'index.html');
const rendererUrl = devUrl ?? pathToFileURL(indexHtml).href;

/** Is url a page of our renderer (the dev server's origin, or the built index.html)? */
function isRenderer(url: string): boolean {
  try {
    const u = new URL(url);
    if (devUrl) return u.origin === new URL(devUrl).origin;
    return u.protocol === 'file:' && u.pathname === new URL(rendererUrl).pathname;
  } catch {
    return false;
  }
}

const CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
  "font-src 'self'", "connect-src 'self' ws://127.0.0.1:* ws://localhost:*", "object-src 'none'", "base-uri 'none'",
  "frame-ancestors 'none'", "form-action 'none'",
].join('; ');

function createWindow(host: AppHost): BrowserWindow {
  const win = new BrowserWindow({
    width: 1400, height: 900, show: false, title: 'Coroscope', backgroundColor: '#16181d',
    webPreferences: {
      preload: join(here, '..', 'preload', 'index.cjs'),
      contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false,
      webSecurity: true, allowRunningInsecureContent: false, webviewTag: false, spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  win.webContents.on('will-navigate', (ev) => ev.preventDefault());
  win.webContents.on('will-redirect', (ev) => ev.preventDefault());
  win.webContents.on('will-attach-webview', (ev) => ev.preventDefault());
  win.webContents.setWindowOpenHandler(({ url }) => {
    // Links to the web (docs, Perfetto UI) open in the user's browser; nothing opens in the app.
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  const unbridge = bridge(host, win, isRenderer);
  win.on('closed', unbridge);
  void win.loadURL(rendererUrl);
  return win;
}

app.enableSandbox();
app.on('web-contents-created', (_e, wc) => {
  wc.on('will-navigate', (ev) => ev.preventDefault());
  wc.setWindowOpenHandler(() => ({ action: 'deny' }));
});

void app.whenReady().then(() => {
  // The built renderer gets the strict policy as a header too; the dev server's pages rely on the
  // renderer's meta tag (Vite's dev client needs inline styles and scripts).
  if (!devUrl)
    session.defaultSession.webRequest.onHeadersReceived((details, done) => {
      done({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
    });
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
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
