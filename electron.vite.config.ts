/**
 * electron-vite: three builds into out/ — main (main/electron/main.ts ->
 * out/main, ESM, Node builtins, electron, ws and the .node addon external:
 * the core finds native/build at run time), preload (preload/index.ts ->
 * out/preload/index.cjs, CommonJS as sandboxed preloads require, bundled
 * whole), renderer (renderer/index.html -> out/renderer, React).
 * Aliases: @core -> core (the shared Node-free core), @api -> preload/api.ts.
 * The renderer's CSP meta tag forbids inline styles; only the dev server's
 * copy of index.html allows them (Vite's dev client injects <style> tags).
 */
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import react from '@vitejs/plugin-react';
import { devIndexHtml } from './main/electron/security.ts';

const root = import.meta.dirname;
const alias = { '@core': resolve(root, 'core'), '@api': resolve(root, 'preload/api.ts') };

export default defineConfig({
  main: {
    resolve: { alias },
    build: {
      outDir: 'out/main',
      externalizeDeps: true,
      rolldownOptions: {
        input: { index: resolve(root, 'main/electron/main.ts') },
        external: [/\.node$/],
      },
    },
  },
  preload: {
    resolve: { alias },
    build: {
      outDir: 'out/preload',
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(root, 'preload/index.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    resolve: { alias },
    plugins: [react(), { name: 'coroscope-dev-csp', apply: 'serve', transformIndexHtml: devIndexHtml }],
    build: {
      outDir: resolve(root, 'out/renderer'),
      emptyOutDir: true,
      rolldownOptions: { input: { index: resolve(root, 'renderer/index.html') } },
    },
  },
});
