// The OS's share and escaped blocking calls, as the engine records them:
// OFFCPU when the kernel kept a worker's thread off its CPU during a run
// (perf switch records, ossched.c), STALL/STALL_END when the monitor finds a
// worker stuck in a system call inside one run (stall.c). Real programs:
// contended (pinned to the CPU of a busy process), blocking_file (a raw
// nanosleep), stdio_reader (fscanf on a FIFO).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEnv, dump, examples, startEchoServer } from './support.mjs';

let tmp;
before(() => (tmp = mkdtempSync(join(tmpdir(), 'coroscope-ossched-'))));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Run an example recording to a trace; the dump's lines. */
function record(name, args, env) {
  const file = join(tmp, `${name}-${Object.values(env).join('-')}.cstrace`);
  const r = spawnSync(join(examples, name), args, {
    env: cleanEnv({ COROSCOPE_TRACE: file, COROSCOPE_WORKERS: '1', ...env }), encoding: 'utf8', timeout: 60000,
  });
  assert.equal(r.status, 0, r.stderr);
  const d = spawnSync(dump, [file], { encoding: 'utf8', timeout: 20000, maxBuffer: 256 * 1024 * 1024 });
  assert.equal(d.status, 0, d.stderr);
  return d.stdout.split('\n').filter(Boolean);
}

const ms = (s) => (/ms$/.test(s) ? parseFloat(s) : /us$/.test(s) ? parseFloat(s) / 1000 : parseFloat(s) * 1000);

function withHog(cpu, fn) {
  const hog = spawn('taskset', ['-c', cpu, 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' });
  try {
    return fn();
  } finally {
    hog.kill('SIGKILL');
  }
}

test('a worker sharing its CPU with a busy process: its runs carry the time the OS took, and CPU = wall - that', () => {
  const cpu = String(cpus().length - 1);
  const lines = withHog(cpu, () => record('contended', ['--cpu', cpu, '10', '4'], { COROSCOPE_PREEMPT: '0' }));
  // Each run of the handler: CO_RUN ... OFFCPU* ... parked. Sum the taken intervals per run.
  let start = null, taken = 0, slept = 0, runs = 0, contended = 0;
  for (const l of lines) {
    if (!/co#1 "handler"/.test(l)) continue;
    const t = parseFloat(l) * 1000;
    if (/ run \(switch/.test(l)) [start, taken, slept] = [t, 0, 0];
    const off = /off CPU (\S+) from \S+ ms \((taken by the OS|slept)/.exec(l);
    if (off && start !== null) {
      if (off[2] === 'slept') slept += ms(off[1]);
      else taken += ms(off[1]);
    }
    if (/ parked /.test(l) && start !== null) {
      const wall = t - start;
      runs++;
      if (taken > 0) {
        contended++;
        // 4 ms of the handler's own CPU per run (its thread CPU clock; 1 ms of slack for the
        // scheduler's share and intervals under 20 us, which are not reported).
        const cpu = wall - taken - slept;
        assert.ok(cpu > 3 && cpu < 6, `run at ${start} ms: wall ${wall} ms, taken ${taken} ms, slept ${slept} ms`);
      }
      start = null;
    }
  }
  assert.ok(runs >= 10, `${runs} runs`);
  assert.ok(contended >= 3, `only ${contended} of ${runs} runs were descheduled:\n${lines.filter((l) => /handler/.test(l)).join('\n')}`);
});

test('COROSCOPE_OSSCHED=0: no OFFCPU records', () => {
  const cpu = String(cpus().length - 1);
  const lines = withHog(cpu, () => record('contended', ['--cpu', cpu, '5', '4'], { COROSCOPE_PREEMPT: '0', COROSCOPE_OSSCHED: '0' }));
  assert.equal(lines.filter((l) => /off CPU/.test(l)).length, 0);
});

test('blocking_file: the monitor names the raw nanosleep the reader blocks its worker in, and its total', () => {
  const lines = record('blocking_file', [], {});
  const stall = lines.find((l) => /co#\d+ "reader" STALL worker 0 in syscall 35 fd=-1/.test(l));
  assert.ok(stall, lines.filter((l) => /STALL|stall/.test(l)).join('\n'));
  const end = lines.find((l) => /"reader" stall ended: worker 0 syscall 35 fd=-1 after (\S+)/.test(l));
  assert.ok(end);
  const total = ms(/after (\S+)/.exec(end)[1]);
  assert.ok(total >= 490 && total < 5000, `${total} ms`); // a 500 ms sleep, from the run's CO_RUN to when the monitor saw it end
  // It slept in the kernel: the OS's share says so too.
  assert.ok(lines.some((l) => /"reader" off CPU (\S+) .*slept in the kernel/.test(l) && ms(/off CPU (\S+)/.exec(l)[1]) >= 450));
});

test('stdio_reader: fscanf blocks the worker in read() on the FIFO, named by path and type', () => {
  const fifo = join(tmp, 'n.fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const lines = record('stdio_reader', [fifo], {});
  const re = new RegExp(`"reader" STALL worker 0 in syscall 0 fd=\\d+ \\(type 1\\) "${fifo.replace(/\./g, '\\.')}"`);
  assert.ok(lines.some((l) => re.test(l)), lines.filter((l) => /STALL/.test(l)).join('\n'));
});

test('COROSCOPE_STALL_MS=0: no STALL records', () => {
  const lines = record('blocking_file', [], { COROSCOPE_STALL_MS: '0' });
  assert.equal(lines.filter((l) => /STALL|stall ended/.test(l)).length, 0);
});

test('the perf ring is open only while something records: none for a program nobody watches', async () => {
  const rings = (pid) => readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').filter((l) => /perf_event/.test(l)).length;
  for (const [env, want] of [[{ COROSCOPE_WORKERS: '1' }, 0], [{ COROSCOPE_WORKERS: '1', COROSCOPE_TRACE: join(tmp, 'echo.cstrace') }, 1]]) {
    const { server } = await startEchoServer(cleanEnv(env));
    try {
      await new Promise((res) => setTimeout(res, 300)); // the acceptor coroutine has run on the worker
      assert.equal(rings(server.pid), want, JSON.stringify(env));
    } finally {
      server.kill('SIGKILL');
    }
  }
});
