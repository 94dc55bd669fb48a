// Preemption never switches coroutines in the middle of a library's code:
// OpenSSL keeps a per-thread error queue that X509_STORE_load_file marks and
// pops around every PEM read, and a second coroutine on the same OS thread
// running in between would corrupt it ("PEM lib" failures). The program's
// own code is still preempted at the slice; COROSCOPE_PREEMPT_MODULES opts a
// library in.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanEnv, compileProg } from './support.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'cs-preempt-lib-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));
const exe = compileProg('openssl_preempt', tmp, ['-lcrypto', '-ldl']);

/** Run CALLS loads over LOADERS coroutines next to a hog on one worker; the program's counters. */
function run(calls, loaders, env, mode = []) {
  const r = spawnSync(exe, [tmp, String(calls), String(loaders), ...mode], {
    env: cleanEnv({ COROSCOPE_TIME_SLICE: '1ms', ...env }), encoding: 'utf8', timeout: 600000,
  });
  assert.equal(r.status, 0, `exit ${r.status} signal ${r.signal}\n${r.stdout}${r.stderr}`);
  const counts = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(' ')).map(([k, ...v]) => [k, v.join(' ')]));
  return { failures: Number(counts.failures), hog: Number(counts.hog_preempted), foreign: Number(counts.foreign_preempted), first: counts.first_error, stderr: r.stderr };
}

test('100,000 X509_STORE_load_file calls in 4 coroutines next to a hog at a 1 ms slice: none fails, none is preempted inside libcrypto, the hog is', () => {
  const r = run(100000, 4, {});
  assert.equal(r.failures, 0, `OpenSSL failed ${r.failures} times (first: ${r.first})`);
  assert.equal(r.foreign, 0, 'a coroutine was switched out with its pc outside the program');
  // 100,000 / 4 loaders / a yield every 16 calls: ~1,560 rounds, the hog preempted in each one it runs.
  assert.ok(r.hog >= 200, `the hog in the program's own code was preempted only ${r.hog} times`);
  assert.doesNotMatch(r.stderr, /blocks Urgent/, 'no worker blocks the signal: no such report');
});

// Digests, not X509 loads: preempting the loads inside libcrypto is exactly what corrupts
// OpenSSL's error queue (and can crash the program), so the opt-in is shown on code that keeps
// no per-thread state.
test('COROSCOPE_PREEMPT_MODULES=libcrypto declares libcrypto preemptible: its code is then preempted too', () => {
  const r = run(20000, 4, { COROSCOPE_PREEMPT_MODULES: 'libcrypto' }, ['digest']);
  assert.equal(r.failures, 0);
  assert.ok(r.foreign > 0, 'no preemption inside libcrypto although it was declared preemptible');
});

test('without the opt-in, digests computed in libcrypto are never preempted inside it', () => {
  const r = run(20000, 4, {}, ['digest']);
  assert.equal(r.foreign, 0, 'a coroutine was switched out with its pc inside libcrypto');
});
