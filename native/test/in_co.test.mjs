// "In a coroutine" is right for every hooked call (docs/events.md, CALL a0 bit
// 16): a call made by a coroutine with the hooks on says so whichever path
// its hook took — one that parks, a bookkeeping one (setsockopt, fcntl,
// close, sigaction) or a plain pass-through (getsockopt, CS_PASS) — and a
// call made by the main thread or a pthread does not. `coroscope stats`
// counts its "in co" column from this bit.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { build, cleanEnv, compileProg, here } from './support.mjs';

let tmp;
before(() => (tmp = mkdtempSync(join(tmpdir(), 'coroscope-in-co-'))));
after(() => rmSync(tmp, { recursive: true, force: true }));

const EV_CALL = 48;

/** Hook names by id, from coroscope_events.h (ids from 1, in enum order). */
function hookNames() {
  const h = readFileSync(join(here, '..', 'engine', 'include', 'coroscope_events.h'), 'utf8');
  const body = h.slice(h.indexOf('enum coroscope_hook {'), h.indexOf('COROSCOPE_HOOK_COUNT'));
  return new Map([...body.matchAll(/COROSCOPE_HOOK_(\w+)/g)].map((m, i) => [i + 1, m[1]]));
}

/** Every CALL record of a trace file: { hook, fd, co, inCo, parked, ret, durNs }. */
function calls(file) {
  const addon = createRequire(import.meta.url)(join(build, 'coroscope.node'));
  const t = new addon.TraceFile(file);
  const names = hookNames();
  const out = [];
  for (;;) {
    const r = t.read(4096);
    const b = Buffer.from(r.events);
    for (let o = 0; o + 64 <= b.length; o += 64) {
      if (b.readUInt16LE(o + 8) !== EV_CALL) continue;
      const a0 = b.readBigUInt64LE(o + 24);
      out.push({
        hook: names.get(Number(a0 & 0xffffn)) ?? `#${a0 & 0xffffn}`,
        fd: Number(BigInt.asIntN(64, b.readBigUInt64LE(o + 32))),
        co: Number(b.readBigUInt64LE(o + 16)),
        inCo: ((a0 >> 16n) & 1n) === 1n,
        parked: ((a0 >> 17n) & 1n) === 1n,
        ret: Number(BigInt.asIntN(64, b.readBigUInt64LE(o + 40))),
        durNs: Number(b.readBigUInt64LE(o + 56)),
      });
    }
    if (r.done) break;
  }
  t.close();
  return out;
}

test('every CALL made by a coroutine is marked in co, every CALL of the main thread or a pthread is not', () => {
  const prog = compileProg('in_co_calls', tmp);
  const trace = join(tmp, 'in_co.cstrace');
  const r = spawnSync(prog, [], { env: cleanEnv({ COROSCOPE_TRACE: trace, COROSCOPE_WORKERS: '1' }), encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  const m = /^main (\d+) thread (\d+) co (\d+)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  const [mainFd, threadFd, coFd] = m.slice(1).map(Number);
  const all = calls(trace);
  const wrong = all.filter((c) => c.inCo !== (c.co !== 0));
  assert.deepEqual(wrong.map((c) => `${c.hook}(fd=${c.fd}) co=${c.co} in_co=${c.inCo}`), []);
  // Each kind of hook was seen from each caller (the check above is not vacuous).
  for (const hook of ['getsockopt', 'setsockopt', 'fcntl', 'close', 'sigaction', 'signal', 'read', 'write']) {
    const of = all.filter((c) => c.hook === hook);
    assert.ok(of.some((c) => c.inCo), `${hook} inside the coroutine: ${JSON.stringify(of.map((c) => c.fd))}`);
    assert.ok(of.filter((c) => !c.inCo).length >= 2, `${hook} on the main thread and the pthread`);
  }
  const gso = all.filter((c) => c.hook === 'getsockopt');
  assert.deepEqual(gso.filter((c) => c.fd === coFd).map((c) => c.inCo), [true]);
  assert.deepEqual(gso.filter((c) => c.fd === mainFd || c.fd === threadFd).map((c) => c.inCo), [false, false]);
});

test('waitpid, pthread_join and sem_wait in a coroutine are parked CALLs that last as long as the other side took', () => {
  const prog = compileProg('waits', tmp);
  const trace = join(tmp, 'waits.cstrace');
  const r = spawnSync(prog, [], { env: cleanEnv({ COROSCOPE_TRACE: trace, COROSCOPE_WORKERS: '1' }), encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'ok\n');
  const all = calls(trace);
  for (const hook of ['waitpid', 'pthread_join', 'sem_wait']) {
    const of = all.filter((c) => c.hook === hook && c.co !== 0);
    assert.ok(of.length >= 1, `a ${hook} CALL from the coroutine: ${JSON.stringify(of)}`);
    const [c] = of; // the first: the wait for the 150 ms side (the program joins the poster later)
    assert.ok(c.inCo && c.parked, `${hook} parked in the coroutine: ${JSON.stringify(c)}`);
    assert.equal(c.fd, -1);
    assert.ok(c.ret >= 0, `${hook} succeeded: ${c.ret}`);
    // The other side took 150 ms (less whatever had passed before the call).
    assert.ok(c.durNs >= 50e6, `${hook} lasted ${c.durNs} ns`);
  }
});
