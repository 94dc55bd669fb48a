// `npm start`: open the desktop app; where Electron cannot run here (its
// binary is not installed and cannot be downloaded, or there is no display),
// serve the same UI on 127.0.0.1 and print its URL instead. Either way the
// built-in demos are one click away on the Start view.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function electronBinary() {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY)
    return { why: 'no display (DISPLAY/WAYLAND_DISPLAY unset)' };
  try {
    return { path: createRequire(import.meta.url)('electron') };
  } catch (e) {
    return { why: `Electron is not available (${String(e.message).split('\n')[0]})` };
  }
}

function run(cmd, args) {
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
}

const e = electronBinary();
if (e.path) {
  run(e.path, [root]);
} else {
  console.log(`coroscope: not opening the desktop window: ${e.why}.\nServing the same UI in the browser instead:`);
  run(process.execPath, [join(root, 'out', 'cli', 'coroscope.mjs'), 'serve']);
}
