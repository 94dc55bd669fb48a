// native/examples/sleep_forever: the demonstration Coroscope starts from.
//
// One coroutine sleeps forever, another prints a line, main joins the printer.
// With the hooks the sleeper parks and the program ends at once; without them
// (COROSCOPE_HOOK=0) and with a single worker, the worker is stuck in the real
// nanosleep and the printer never runs. The second case is checked with a time
// limit, not by hanging: the program must still be running after 1.5 s.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const buildDir = process.env.COROSCOPE_TEST_BUILD_DIR || join(here, '..', 'build');
const program = join(buildDir, 'examples', 'sleep_forever');
const PRINTER_LINE = 'printer: hello while the sleeper sleeps';
const SLEEPER_LINE = 'sleeper: going to sleep forever';

// The environment without any COROSCOPE_* setting or preload, plus `extra`.
function env(extra = {}) {
  const e = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('COROSCOPE_') || k === 'LD_PRELOAD') continue;
    e[k] = v;
  }
  return { ...e, ...extra };
}

// Start the program; `result` resolves when it exits or when `limitMs` passed
// (then it is killed): {exited, code, signal, stdout, stderr, ms}.
function run(extraEnv, limitMs) {
  const t0 = Date.now();
  const child = spawn(program, [], { env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    let exited = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, limitMs);
    child.on('error', reject);
    child.on('exit', () => (exited = true));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - t0;
      resolve({ exited: exited && signal !== 'SIGKILL', code, signal, stdout, stderr, ms });
    });
  });
}

const built = existsSync(program);
const skip = built ? false : `${program} is not built: run \`npm run build\``;

test('sleep_forever is built', () => {
  assert.ok(built, `${program} does not exist: run \`npm run build\` (make -C native) first`);
});

test('with the hooks (default) sleep_forever prints the printer line and exits 0 within 5 s', { skip }, async () => {
  const r = await run({}, 5000);
  assert.ok(r.exited, `still running after 5 s (killed)\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.equal(r.code, 0, `exit status ${r.code}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`^${PRINTER_LINE}$`, 'm'));
  assert.match(r.stdout, /^main: printer joined, exiting$/m);
  assert.doesNotMatch(r.stdout, /woke up/);
});

test('with the hooks and a single worker sleep_forever still exits 0 within 5 s', { skip }, async () => {
  // One worker: only parking lets the printer run while the sleeper sleeps.
  const r = await run({ COROSCOPE_WORKERS: '1' }, 5000);
  assert.ok(r.exited, `still running after 5 s (killed)\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.equal(r.code, 0, `exit status ${r.code}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`^${PRINTER_LINE}$`, 'm'));
  assert.equal(r.stderr, '', 'no diagnostics expected');
});

test('with COROSCOPE_HOOK=0 COROSCOPE_WORKERS=1 sleep_forever is still running after 1.5 s and never printed the printer line', { skip }, async () => {
  const r = await run({ COROSCOPE_HOOK: '0', COROSCOPE_WORKERS: '1' }, 1500);
  assert.ok(!r.exited, `it exited after ${r.ms} ms (status ${r.code}, signal ${r.signal})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.ok(r.ms >= 1400, `killed too early (${r.ms} ms)`);
  // it got as far as the sleep: the only worker is blocked in it
  assert.match(r.stdout, new RegExp(`^${SLEEPER_LINE}$`, 'm'));
  assert.doesNotMatch(r.stdout, new RegExp(PRINTER_LINE));
});
