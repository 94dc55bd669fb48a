// Regular files and stdio inside coroutines (hook_file.c, hook_stdio.c):
// every file call is in the trace with its duration; reads the page cache
// cannot serve, writes and syncs park on the offload pool, so the worker is
// not held by the disk; the data is what the plain calls give.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEnv, compileProg, here, traceCalls as calls } from './support.mjs';

let tmp;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-files-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('SQLite in 5 coroutines on 1 worker: right results, every pread64/pwrite64/fdatasync in the trace, writes and syncs parked', () => {
  const exe = compileProg('sqlite_co', tmp, ['-lsqlite3']);
  const dir = join(tmp, 'sqlite');
  mkdirSync(dir);
  const file = join(tmp, 'sqlite.cstrace');
  const r = spawnSync(exe, [dir, '20'], { env: cleanEnv({ COROSCOPE_WORKERS: '1', COROSCOPE_TRACE: file }), encoding: 'utf8', timeout: 120000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (let i = 0; i < 5; i++) assert.match(r.stdout, new RegExp(`^db ${i} rows 40 sum ${i * 20000 + 380}$`, 'm'));
  const counted = /calls pread64 (\d+) pwrite64 (\d+)/.exec(r.stdout);
  const ticker = /ticker worst_late_ms ([\d.]+)/.exec(r.stdout);
  const cs = calls(file).filter((c) => /^sqlite\d$/.test(c.co));
  const of = (h) => cs.filter((c) => c.hook === h);
  // SQLite's own count of the calls it made through its VFS = the calls in the trace.
  assert.equal(of('pread64').length, Number(counted[1]), 'every pread64 is in the trace');
  assert.equal(of('pwrite64').length, Number(counted[2]), 'every pwrite64 is in the trace');
  assert.ok(of('fdatasync').length >= 5 * 20, `a sync per commit at least: ${of('fdatasync').length}`);
  assert.ok(of('open64').length >= 5 && of('fstat64').length >= 5, 'opens and fstats are there too');
  for (const c of [...of('pwrite64'), ...of('fdatasync')]) assert.ok(c.parked && !c.blocked, `${c.hook} ran on the pool`);
  // A call that ran on the worker (page-cache reads, metadata) held it only briefly; the disk waits were on the pool.
  const inline = cs.filter((c) => !c.parked);
  assert.ok(inline.every((c) => !c.blocked), 'nothing was flagged as blocking the worker');
  const slowInline = inline.filter((c) => c.ms > 5);
  assert.ok(slowInline.length <= inline.length / 100,
    `calls on the worker over 5 ms: ${slowInline.map((c) => `${c.hook} ${c.ms}ms`).join(', ')}`);
  const worst = inline.reduce((m, c) => Math.max(m, c.ms), 0);
  console.log(`# sqlite: ${cs.length} calls, ${inline.length} on the worker (longest ${worst.toFixed(3)} ms), ` +
    `${cs.length - inline.length} parked, ticker worst lateness ${ticker[1]} ms`);
});

test('reads that miss the page cache park on the pool and return the right bytes, with pread and with the file position', () => {
  const exe = compileProg('file_cold', tmp);
  const file = join(tmp, 'cold.cstrace');
  const r = spawnSync(exe, [join(tmp, 'cold.dat')], { env: cleanEnv({ COROSCOPE_WORKERS: '1', COROSCOPE_TRACE: file }), encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^pread ok 4194304$/m);
  assert.match(r.stdout, /^read ok 4194304$/m);
  const cs = calls(file).filter((c) => c.co === 'reader');
  const preads = cs.filter((c) => c.hook === 'pread');
  const reads = cs.filter((c) => c.hook === 'read');
  assert.equal(preads.length, 64);
  assert.ok(preads.some((c) => c.parked), 'a pread of dropped pages parked');
  assert.ok(reads.some((c) => c.parked), 'a read of dropped pages parked');
  assert.ok([...preads, ...reads].every((c) => !c.blocked));
  assert.equal(cs.filter((c) => c.hook === 'fdatasync' && c.parked).length, 2);
});

test('fread 50 times in a coroutine: 50 fread calls in the trace; fgets, getline, fgetc, fwrite, fflush too', () => {
  const exe = compileProg('stdio_reads', tmp);
  const file = join(tmp, 'stdio.cstrace');
  const src = join(here, 'progs', 'stdio_reads.c');
  const r = spawnSync(exe, [src, join(tmp, 'out.txt')], { env: cleanEnv({ COROSCOPE_WORKERS: '1', COROSCOPE_TRACE: file }), encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^fread 50 bytes 5000$/m);
  const lines = Number(/lines (\d+)/.exec(r.stdout)[1]) / 2;
  const cs = calls(file).filter((c) => c.co === 'reader');
  const of = (h) => cs.filter((c) => c.hook === h);
  assert.equal(of('fread').length, 50);
  assert.ok(of('fread').every((c) => c.ret === '100' && /^fd=\d+, 100$/.test(c.args)), 'items read, the fd and the bytes asked for');
  assert.equal(of('fgets').length, lines + 1, 'each line and the NULL at the end');
  assert.equal(of('getline').length, lines + 1);
  assert.ok(of('fgetc').length >= 1 && of('fgetc').length < 10, 'fgetc recorded only when it refills the buffer');
  assert.equal(of('fwrite').length, 1);
  assert.equal(of('fflush').length, 1);
});
