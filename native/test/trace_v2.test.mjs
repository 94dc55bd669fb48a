// Trace format 2 on a real recording: the issue-12 workload (progs/
// trace_workload.c: N coroutines x 30 x {yield; every 4th usleep(50us);
// socketpair ping-pong}) recorded with COROSCOPE_TRACE is stored in a few
// bytes per event, and trace-bench's re-encoding of it round-trips bit for
// bit. The exact numbers (bytes/event, encode speed) are printed for the
// record; the assertion on size is loose (< 8 B/event: format 1 takes 64).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { build, cleanEnv, compileProg, dump } from './support.mjs';

let tmp;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-v2-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('the recording workload is stored in format 2 at under 8 bytes per event and round-trips', () => {
  const exe = compileProg('trace_workload', tmp);
  const file = join(tmp, 'w.cstrace');
  const run = spawnSync(exe, ['1000'], {
    env: cleanEnv({ COROSCOPE_TRACE: file, COROSCOPE_STACK_SIZE: '64K' }), encoding: 'utf8', timeout: 60000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /done 1000 x 1/);

  const head = spawnSync(dump, [file], { encoding: 'utf8', timeout: 60000, maxBuffer: 512 * 1024 * 1024 });
  assert.equal(head.status, 0, head.stderr);
  assert.match(head.stdout, /^# coroscope trace: pid \d+, format 2\.0, events v3, closed cleanly$/m);

  const bench = spawnSync(join(build, 'trace-bench'), [file, '1'], { encoding: 'utf8', timeout: 120000 });
  assert.equal(bench.status, 0, bench.stderr); // 0: every chunk round-tripped
  process.stdout.write(bench.stdout);
  const m = bench.stdout.match(/format 2\.0, (\d+) records, (\d+) bytes: ([\d.]+) bytes\/event as stored/);
  assert.ok(m, bench.stdout);
  const records = Number(m[1]);
  assert.ok(records > 100000, `${records} records: the workload ran`);
  assert.ok(Number(m[3]) < 8, `${m[3]} bytes/event`);
});
