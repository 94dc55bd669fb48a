// Signals sent to an engine process from outside mean what they mean without
// the engine. The engine handles SIGSEGV itself (to end a coroutine that
// overflows its stack), so `kill -SEGV` is the case to check: the process
// must die by SIGSEGV, not shrug it off and run on. (Core dumps are turned
// off for the program: ulimit -c 0 before exec.)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEnv, examples } from './support.mjs';

let tmp;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-signals-'));
  mkdirSync(join(tmp, 'run'), { mode: 0o700 });
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('kill -SEGV ends a running engine process by signal 11', { timeout: 30000 }, async () => {
  // echo_server runs coroutines (an acceptor parked in accept4) until told to stop.
  const child = spawn('sh', ['-c', `ulimit -c 0; exec "$0" --port 0`, join(examples, 'echo_server')], {
    env: cleanEnv({ XDG_RUNTIME_DIR: join(tmp, 'run') }), stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  await new Promise((res, rej) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (/listening on /.test(out)) res();
    });
    child.on('exit', () => rej(new Error('echo_server exited before listening')));
  });
  process.kill(child.pid, 'SIGSEGV');
  const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
  const st = await exited;
  clearTimeout(killer);
  assert.deepEqual(st, { code: null, signal: 'SIGSEGV' });
});
