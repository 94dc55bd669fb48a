// COROSCOPE_TRACE=path makes the engine record its own events (a recorder
// thread writes them to a trace file as it goes); coroscope-dump reads them.
// These tests run real example programs and read back what they recorded.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { cleanEnv, compileProg, dump, examples, startEchoServer } from './support.mjs';

let tmp;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-recording-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function dumpLines(file) {
  const r = spawnSync(dump, [file], { encoding: 'utf8', timeout: 20000, maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stderr: r.stderr, lines: r.stdout.split('\n').filter(Boolean) };
}

// Index of the first line matching re at or after `from`, or -1.
function find(lines, re, from = 0) {
  for (let i = from; i < lines.length; i++) if (re.test(lines[i])) return i;
  return -1;
}

test('sleep_forever records the sleeper parking in nanosleep while the printer runs and finishes', () => {
  const file = join(tmp, 'sleep_forever.cstrace');
  const r = spawnSync(join(examples, 'sleep_forever'), [], {
    env: cleanEnv({ COROSCOPE_TRACE: file, COROSCOPE_WORKERS: '1' }),
    encoding: 'utf8',
    timeout: 10000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(statSync(file).mode & 0o777, 0o600, 'the trace is readable by its owner only');
  const { status, lines, stderr } = dumpLines(file);
  assert.equal(status, 0, stderr);
  assert.match(lines[0], /closed cleanly/);
  assert.ok(find(lines, /process pid=\d+ exe=".*sleep_forever"/) >= 0, 'process metadata');
  const created = find(lines, /co#1 "sleeper" created/);
  const run = find(lines, /co#1 "sleeper" run/, created);
  const parked = find(lines, /co#1 "sleeper" parked sleeping in nanosleep/, run);
  const printer = find(lines, /co#2 "printer" run/, parked);
  const finished = find(lines, /co#2 "printer" finished \(returned\)/, printer);
  assert.ok(created >= 0 && run > created && parked > run && printer > parked && finished > printer,
    `expected sleeper created → run → parked in nanosleep → printer runs → finishes, got:\n${lines.join('\n')}`);
  assert.equal(find(lines, /co#1 "sleeper" (finished|run)/, parked), -1, 'the sleeper never runs again');
});

test('cpu_hog with one worker records preemption signals and preemptions at safe points', () => {
  const file = join(tmp, 'cpu_hog.cstrace');
  const r = spawnSync(join(examples, 'cpu_hog'), ['0.6', '--quiet'], {
    env: cleanEnv({ COROSCOPE_TRACE: file, COROSCOPE_WORKERS: '1' }),
    encoding: 'utf8',
    timeout: 10000,
  });
  assert.equal(r.status, 0, r.stderr);
  const { status, lines } = dumpLines(file);
  assert.equal(status, 0);
  const sent = lines.filter((l) => /"hog" preempt signal sent/.test(l)).length;
  const preempted = lines.filter((l) => /"hog" preempted at pc .* safe point/.test(l)).length;
  assert.ok(sent >= 5 && preempted >= 5, `signals sent ${sent}, preemptions ${preempted}`);
  assert.ok(find(lines, /"ticker" parked sleeping in usleep/) >= 0, 'the ticker parks in usleep');
  assert.ok(find(lines, /"ticker" usleep\((9|10)ms\) = 0 <[\d.]+ms> parked/) >= 0, 'its calls carry the timeout and the time they took');
});

test('a target killed with SIGKILL while recording leaves a trace readable up to its last flushed chunk', async () => {
  const file = join(tmp, 'killed.cstrace');
  const { server, port } = await startEchoServer(cleanEnv({ COROSCOPE_TRACE: file }));
  const client = spawnSync(join(examples, 'echo_client'), ['--port', port, '--conns', '20', '--duration', '1', '--warmup', '0'], {
    env: cleanEnv({}),
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.match(client.stdout, /requests_per_sec=/);
  await new Promise((res) => setTimeout(res, 100)); // one drain period
  const exited = new Promise((res) => server.on('exit', (code, sig) => res(sig)));
  server.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  const { status, lines, stderr } = dumpLines(file);
  assert.equal(status, 0, `a file without index still reads to its last complete chunk: ${stderr}`);
  assert.match(lines[0], /no index/);
  assert.ok(find(lines, /"conn-\d+" created/) >= 0, 'connection coroutines were recorded');
  assert.ok(lines.filter((l) => /recv|read/.test(l)).length > 100, 'many reads were recorded');
  assert.ok(find(lines, /read\(fd=\d+, \d+\) = 64 </) >= 0, 'reads carry the size asked for and the bytes returned');
});

test('a target that dies of SIGSEGV while recording leaves a trace readable up to its last flushed chunk', () => {
  const exe = compileProg('crash_while_recording', tmp);
  const file = join(tmp, 'crashed.cstrace');
  // The program crashes once what is checked below is on disk (its own bounded waits, at most ~30 s).
  const r = spawnSync(exe, [], { env: cleanEnv({ COROSCOPE_TRACE: file }), encoding: 'utf8', timeout: 60000 });
  assert.equal(r.signal, 'SIGSEGV', `the program was meant to crash: ${r.status} ${r.stderr}`);
  const { status, lines, stderr } = dumpLines(file);
  assert.equal(status, 0, stderr);
  assert.match(lines[0], /no index/);
  assert.ok(find(lines, /"crasher" parked sleeping in usleep/) >= 0, 'events before the crash are there');
  assert.ok(lines.filter((l) => /"busy" woke \(timer\)/.test(l)).length >= 20, 'the busy coroutine\'s wakes were recorded');
});

test('a coroutine that forks while recording leaves the parent\'s trace whole, and the child does not write into it', () => {
  const exe = compileProg('fork_while_recording', tmp);
  const file = join(tmp, 'fork.cstrace');
  const r = spawnSync(exe, [], { env: cleanEnv({ COROSCOPE_TRACE: file }), encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /child exit 7/);
  const { status, lines, stderr } = dumpLines(file);
  assert.equal(status, 0, stderr);
  assert.match(lines[0], /closed cleanly/);
  assert.equal(lines.filter((l) => /process pid=/.test(l)).length, 1, 'one process wrote this trace');
  assert.equal(find(lines, /"in-child"/), -1, 'nothing from the child');
  assert.ok(find(lines, /"forker" finished/) >= 0, 'the parent recorded to the end');
});

test('with COROSCOPE_TRACE the recorder runs before main\'s first line, not from inside the program\'s first hooked call; without it there is no extra thread', () => {
  const exe = compileProg('first_moment', tmp);
  const file = join(tmp, 'first_moment.cstrace');
  const rec = spawnSync(exe, [], { env: cleanEnv({ COROSCOPE_TRACE: file }), encoding: 'utf8', timeout: 10000 });
  assert.equal(rec.status, 0, rec.stderr);
  assert.match(rec.stdout, /^threads 2\n/, 'main and the recorder, before any hooked call');
  const plain = spawnSync(exe, [], { env: cleanEnv(), encoding: 'utf8', timeout: 10000 });
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stdout, /^threads 1\n/);
});

test('a time slice changed through the C API is recorded as a new CONFIG record after the old one', () => {
  const exe = compileProg('first_moment', tmp);
  const file = join(tmp, 'first_moment_config.cstrace');
  const r = spawnSync(exe, [], { env: cleanEnv({ COROSCOPE_TRACE: file }), encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  const { lines } = dumpLines(file);
  const configs = lines.filter((l) => / config workers=/.test(l));
  assert.equal(configs.length, 2, configs.join('\n'));
  assert.match(configs[0], /slice=10\.000ms/);
  assert.match(configs[1], /slice=5\.000ms/);
  assert.ok(find(lines, /write\(fd=1, 7\)/) < lines.indexOf(configs[1]), 'the change comes after the first write');
});
