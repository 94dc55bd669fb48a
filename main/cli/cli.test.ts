/**
 * The coroscope CLI end to end: spawns the built bundle (out/cli/coroscope.mjs,
 * made by npm run build) and checks exit codes and output. Private
 * XDG_RUNTIME_DIR and COROSCOPE_RECORDINGS (scratch dir), so nothing leaks.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, example, scratch, sleep } from '../testing/helpers.js';
import { packageRoot } from '../engine/paths.js';
import { readPerfetto } from '../../core/export/protoDecode.js';
import { bytes } from './format.js';

const root = packageRoot();
const cli = join(root, 'out', 'cli', 'coroscope.mjs');
const shim = join(root, 'main', 'cli', 'coroscope.mjs');
let sc: ReturnType<typeof scratch>;
let env: NodeJS.ProcessEnv;
let recordings: string;

before(() => {
  if (!existsSync(cli)) spawnSync('npm', ['run', 'build:cli', '--silent'], { cwd: root, stdio: 'inherit' });
  sc = scratch('cli');
  recordings = join(sc.dir, 'recordings');
  mkdirSync(recordings);
  env = { ...process.env, XDG_RUNTIME_DIR: join(sc.dir, 'run'), COROSCOPE_RECORDINGS: recordings };
});
after(() => sc.cleanup());

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function coroscope(args: string[], o: { timeout?: number; bin?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [o.bin ?? cli, ...args], { env, cwd: sc.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`coroscope ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, o.timeout ?? 30000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let recording = '';

test('run hello: output visible, exit 0, recording written', async () => {
  const r = await coroscope(['run', '--', example('hello')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^hi$/m);
  assert.match(r.stderr, /recorded \d+ events to /);
  const files = readdirSync(recordings).filter((n) => n.endsWith('.cstrace'));
  assert.equal(files.length, 1);
  recording = join(recordings, files[0]);
  assert.match(r.stderr, /sleep/); // final summary: busiest calls
});

test('run: engine options, -o, exit code of the program', async () => {
  const out = join(sc.dir, 'opts.cstrace');
  const r = await coroscope([
    'run',
    '--workers',
    '1',
    '--slice',
    '5ms',
    '--no-preempt',
    '--stack',
    '128K',
    '-o',
    out,
    '--',
    example('hello'),
    'x',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const s = await coroscope(['stats', out]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /Config[\s\S]*\n\s*1\s+128\.0 KiB\s+5\.000ms\s+on\s+off/);
  const f = await coroscope(['run', '--no-record', '--', 'sh', '-c', 'exit 7']);
  assert.equal(f.code, 7);
  const k = await coroscope(['run', '--no-record', '--', 'sh', '-c', 'kill -TERM $$']);
  assert.equal(k.code, 128 + 15);
});

test('run: program not found, not executable, static binary -> 3', async () => {
  const a = await coroscope(['run', '--no-record', '--', 'no-such-program-xyz']);
  assert.equal(a.code, 3);
  assert.match(a.stderr, /no-such-program-xyz.*not found/);
  const f = join(sc.dir, 'plain.txt');
  writeFileSync(f, 'hello');
  const b = await coroscope(['run', '--no-record', '--', f]);
  assert.equal(b.code, 3);
  assert.match(b.stderr, /plain\.txt/);
  const src = join(sc.dir, 'st.c');
  const bin = join(sc.dir, 'st');
  writeFileSync(src, 'int main(void) { return 0; }\n');
  const cc = spawnSync('cc', ['-static', '-o', bin, src]);
  if (cc.status !== 0) return; // no static libc here
  const c = await coroscope(['run', '--no-record', '--', bin]);
  assert.equal(c.code, 3);
  assert.match(c.stderr, /statically linked/);
  assert.equal(c.stderr.trim().split('\n').length, 1);
});

test('run / record: usage errors -> 2', async () => {
  assert.equal((await coroscope(['run'])).code, 2);
  assert.equal((await coroscope(['run', '--workers', 'x', '--', 'true'])).code, 2);
  assert.equal((await coroscope(['run', '--bogus', '--', 'true'])).code, 2);
  const r = await coroscope(['record', '--', 'true']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /-o FILE is required/);
});

test('record: progress line, file readable', async () => {
  const out = join(sc.dir, 'rec.cstrace');
  const r = await coroscope(['record', '-o', out, '--', example('hello')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^hi$/m);
  assert.match(r.stderr, /events \d+\s+drops 0\s+[\d.]+ (B|KiB|MiB)\s+[\d.k]+ ev\/s/);
  // The last line: the file's size (not 0 B once the link is gone) and the average rate.
  const last = r.stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('events'))
    .pop()!;
  const size = statSync(out).size;
  assert.match(last, /^events [1-9]\d*\s+drops 0\s+.*ev\/s average$/);
  assert.ok(last.includes(`  ${bytes(size)}  `), `${last}: the recording's ${size} bytes`);
  assert.ok(existsSync(out));
  const d = await coroscope(['dump', out]);
  assert.equal(d.code, 0);
  assert.match(d.stdout, /finished \(returned\)/);
});

test('stats, dump, export of a recording', async () => {
  const s = await coroscope(['stats', recording]);
  assert.equal(s.code, 0, s.stderr);
  for (const h of ['Process', 'Config', 'Coroutines', 'Hooked calls', 'Preemption', 'Drops'])
    assert.match(s.stdout, new RegExp(h));
  assert.match(s.stdout, /hello\s+done/);
  assert.match(s.stdout, /\bsleep\n?/);
  const d = await coroscope(['dump', recording]);
  assert.equal(d.code, 0);
  assert.match(d.stdout, /process pid=\d+/);
  assert.match(d.stdout, /sleep\(1000ms\) = 0/);
  const pf = join(sc.dir, 'x.pftrace');
  const e = await coroscope(['export', recording, '--format', 'perfetto', '-o', pf]);
  assert.equal(e.code, 0, e.stderr);
  const trace = readPerfetto(readFileSync(pf));
  assert.ok(trace.tracks.size > 0 || trace.events.length > 0);
  const js = join(sc.dir, 'x.json');
  assert.equal((await coroscope(['export', recording, '--format', 'chrome', '-o', js])).code, 0);
  JSON.parse(readFileSync(js, 'utf8'));
  const csv = join(sc.dir, 'x.csv');
  assert.equal((await coroscope(['export', recording, '--format', 'csv', '-o', csv])).code, 0);
  assert.match(readFileSync(csv, 'utf8'), /^hook,count/);
  assert.equal((await coroscope(['export', recording, '--format', 'svg', '-o', csv])).code, 2);
});

test('format 1 and format 2 traces open in stats, check, export and dump', async () => {
  const v1 = join(root, 'native', 'test', 'fixtures', 'hello-format1.cstrace');
  for (const [file, version] of [
    [v1, '1.0'],
    [recording, '2.0'],
  ] as const) {
    const d = await coroscope(['dump', file]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(
      d.stdout,
      new RegExp(`^# coroscope trace: format ${version.replace('.', '\\.')}, pid \\d+, closed cleanly$`, 'm'),
    );
    assert.match(d.stdout, /sleep\(1000ms\) = 0/);
    assert.match(d.stdout, /finished \(returned\)/);
    const s = await coroscope(['stats', file]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /hello\s+done/);
    // check reads the file (4 would mean it could not); whether a run of hello on a loaded
    // machine shows a scheduling delay (exit 1) is not what this test is about.
    const c = await coroscope(['check', file]);
    assert.ok(c.code === 0 || c.code === 1, `check exit ${c.code}: ${c.stdout}${c.stderr}`);
    assert.match(c.stdout, /no problems found|idle-imbalance|long-run|drops/);
    for (const format of ['perfetto', 'chrome', 'csv']) {
      const out = join(sc.dir, `v${version}.${format}`);
      const e = await coroscope(['export', file, '--format', format, '-o', out]);
      assert.equal(e.code, 0, `${format}: ${e.stderr}`);
      assert.ok(readFileSync(out).length > 0);
    }
  }
});

test('corrupt and missing files -> 4 with a one-line message', async () => {
  const bad = join(sc.dir, 'bad.cstrace');
  writeFileSync(bad, 'this is not a trace at all\n');
  for (const cmd of [
    ['stats', bad],
    ['dump', bad],
    ['export', bad, '--format', 'csv', '-o', join(sc.dir, 'o.csv')],
  ]) {
    const r = await coroscope(cmd);
    assert.equal(r.code, 4, `${cmd[0]}: ${r.stderr}`);
    assert.match(r.stderr, /bad\.cstrace/);
  }
  const cut = join(sc.dir, 'cut.cstrace');
  writeFileSync(cut, readFileSync(recording).subarray(0, 1000));
  const r = await coroscope(['stats', cut]);
  assert.equal(r.code, 4);
  assert.match(r.stderr, /cut\.cstrace/);
  const none = join(sc.dir, 'none.cstrace');
  const missing = await coroscope(['stats', none]);
  assert.equal(missing.code, 4);
  assert.equal(missing.stderr, `coroscope: ${none}: No such file or directory\n`, 'the path is said once');
});

test('export: an unknown format is named as unknown, a missing one as required', async () => {
  const svg = await coroscope(['export', recording, '--format', 'svg', '-o', join(sc.dir, 'x.svg')]);
  assert.equal(svg.code, 2);
  assert.match(svg.stderr, /unknown format svg: expected perfetto, chrome or csv/);
  const none = await coroscope(['export', recording, '-o', join(sc.dir, 'x.svg')]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /--format perfetto\|chrome\|csv is required/);
  assert.ok(!existsSync(join(sc.dir, 'x.svg')));
});

test('recordings lists the recordings newest first; --last reads the newest in stats, check, dump and export', async () => {
  const first = await coroscope(['run', '--', example('hello')]);
  assert.equal(first.code, 0, first.stderr);
  await sleep(20); // a later modification time
  const second = await coroscope(['run', '--seconds', '1', '--', example('sleep_forever')]);
  const newest = /recorded \d+ events to (\S+)/.exec(second.stderr)?.[1];
  assert.ok(newest, second.stderr);
  const list = await coroscope(['recordings', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const rows = JSON.parse(list.stdout) as { path: string; modified: number }[];
  assert.ok(rows.length >= 2);
  assert.equal(rows[0].path, newest, 'newest first');
  assert.ok(rows.every((r, i) => i === 0 || rows[i - 1].modified >= r.modified));
  const text = await coroscope(['recordings', '-n', '1']);
  assert.equal(text.code, 0);
  assert.equal(text.stdout.trim().split('\n').length, 2, 'a header and one row');
  assert.ok(text.stdout.includes(newest));
  for (const cmd of [['stats'], ['check'], ['dump'], ['export', '--format', 'csv', '-o', join(sc.dir, 'last.csv')]]) {
    const r = await coroscope([...cmd, '--last']);
    assert.ok(r.code === 0 || (cmd[0] === 'check' && r.code === 1), `${cmd[0]} --last: ${r.stderr}`);
    assert.ok(r.stderr.includes(newest), `${cmd[0]} --last names the file it read`);
  }
  assert.match((await coroscope(['dump', '--last'])).stdout, /sleeper/);
  const both = await coroscope(['stats', recording, '--last']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /a trace file or --last, not both/);
});

test('a recordings directory that cannot be made is a clear error at once, not a spin', async () => {
  const r = await new Promise<Result>((resolve) => {
    const p = spawn(process.execPath, [cli, 'run', '--', example('hello')], {
      env: { ...env, COROSCOPE_RECORDINGS: '/proc/coroscope-nope/recordings' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /cannot create the recordings directory \/proc\/coroscope-nope\/recordings/);
  assert.match(r.stderr, /COROSCOPE_RECORDINGS|--no-record/);
  const l = await new Promise<number | null>((resolve) =>
    spawn(process.execPath, [cli, 'recordings'], {
      env: { ...env, COROSCOPE_RECORDINGS: '/proc/coroscope-nope' },
      stdio: 'ignore',
    }).on('close', resolve),
  );
  assert.equal(l, 3);
});

/** echo_server recording itself (COROSCOPE_TRACE), killed with SIGKILL once it listens: a trace never closed. */
async function unclosedTrace(file: string): Promise<void> {
  const server = spawn(example('echo_server'), ['--port', '0'], {
    env: { ...env, COROSCOPE_TRACE: file },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((res, rej) => {
    let out = '';
    server.stdout!.on('data', (d) => {
      out += d;
      if (/listening on /.test(out)) res();
    });
    server.on('exit', () => rej(new Error('echo_server exited early')));
  });
  // The recorder writes a chunk at its first drain (a ring at its watermark, or 10 ms): wait
  // until one is on disk, so the kill leaves complete chunks behind.
  for (let i = 0; i < 500 && (!existsSync(file) || statSync(file).size <= 64); i++)
    await new Promise((r) => setTimeout(r, 10));
  const gone = new Promise((r) => server.once('exit', r));
  server.kill('SIGKILL');
  await gone;
}

test('a trace that was not closed cleanly: stats, dump, export and check each say so in the same words, with what was kept', async () => {
  const file = join(sc.dir, 'unclosed.cstrace');
  await unclosedTrace(file);
  const said: string[] = [];
  for (const cmd of [
    ['stats', file],
    ['dump', file],
    ['export', file, '--format', 'chrome', '-o', join(sc.dir, 'unclosed.json')],
    ['check', file],
  ]) {
    const r = await coroscope(cmd);
    assert.ok(
      cmd[0] === 'check' ? r.code === 0 || r.code === 1 : r.code === 0,
      `${cmd[0]}: exit ${r.code}: ${r.stderr}`,
    );
    const line = r.stderr.split('\n').find((l) => /not closed cleanly/.test(l));
    assert.ok(line, `${cmd[0]} says nothing about it: ${JSON.stringify(r.stderr)}`);
    assert.match(
      line!,
      /^coroscope: .*unclosed\.cstrace was not closed cleanly \(the recorder stopped early\): the [1-9]\d* events of its complete chunks were kept/,
    );
    said.push(line!);
  }
  assert.equal(new Set(said).size, 1, `one sentence for all: ${said.join('\n')}`);
  // a file that was closed cleanly gets no such warning
  for (const cmd of [
    ['stats', recording],
    ['dump', recording],
    ['check', recording],
  ])
    assert.doesNotMatch((await coroscope(cmd)).stderr, /not closed cleanly/, cmd[0]);
});

test('record -o, run -o and export -o write files only their user can read (0600), also over an existing file', async () => {
  const old = process.umask(0o022); // what most users have: 0644 unless the writer asks for less
  try {
    const fresh = join(sc.dir, 'private-run.cstrace');
    const over = join(sc.dir, 'private-record.cstrace');
    writeFileSync(over, 'old contents', { mode: 0o644 });
    const a = await coroscope(['run', '-o', fresh, '--', example('hello')]);
    assert.equal(a.code, 0, a.stderr);
    const b = await coroscope(['record', '-o', over, '--', example('hello')]);
    assert.equal(b.code, 0, b.stderr);
    const csv = join(sc.dir, 'private.csv');
    writeFileSync(csv, 'old', { mode: 0o644 });
    assert.equal((await coroscope(['export', over, '--format', 'csv', '-o', csv])).code, 0);
    const pf = join(sc.dir, 'private.pftrace');
    assert.equal((await coroscope(['export', over, '--format', 'perfetto', '-o', pf])).code, 0);
    for (const f of [fresh, over, csv, pf]) assert.equal((statSync(f).mode & 0o777).toString(8), '600', f);
    // ...and so does the engine's own recorder (COROSCOPE_TRACE), over an existing file too
    const own = join(sc.dir, 'private-engine.cstrace');
    writeFileSync(own, 'old', { mode: 0o644 });
    await unclosedTrace(own);
    assert.equal((statSync(own).mode & 0o777).toString(8), '600', own);
  } finally {
    process.umask(old);
  }
});

test('ps lists an engine process; attach for a moment leaves it running', async () => {
  const server: ChildProcess = spawn(example('echo_server'), ['--port', '0'], {
    env: { ...env, LD_PRELOAD: join(build, 'libcoroscope.so') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const sock = join(env.XDG_RUNTIME_DIR!, 'coroscope', `${server.pid}.sock`);
    for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(50);
    const ps = await coroscope(['ps']);
    assert.equal(ps.code, 0);
    assert.match(ps.stdout, new RegExp(`^\\s*${server.pid}\\s.*echo_server`, 'm'));
    const a = await coroscope(['attach', String(server.pid), '--seconds', '1', '--no-record']);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stderr, /detached/);
    assert.equal(server.exitCode, null);
    process.kill(server.pid!, 0); // still there
    const none = await coroscope(['attach', String(process.pid)]);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /does not run the Coroscope engine/);
    assert.equal((await coroscope(['attach', 'abc'])).code, 2);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once('exit', r)));
  }
});

test('demo lists the examples', async () => {
  const r = await coroscope(['demo']);
  assert.equal(r.code, 0);
  for (const n of ['sleep_forever', 'echo_server', 'blocking_file', 'steal_imbalance', 'cpu_hog', 'hello'])
    assert.match(r.stdout, new RegExp(`^${n}\\s+\\S`, 'm'));
  const h = await coroscope(['demo', 'hello', '--no-record']);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /hi/);
  assert.equal((await coroscope(['demo', 'nope'])).code, 3);
});

test('help for every command, unknown command -> 2, the bin shim works', async () => {
  const top = await coroscope(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /Exit codes/);
  for (const c of [
    'run',
    'record',
    'ps',
    'attach',
    'export',
    'stats',
    'check',
    'dump',
    'recordings',
    'demo',
    'serve',
  ]) {
    const a = await coroscope([c, '--help']);
    assert.equal(a.code, 0, c);
    assert.match(a.stdout, new RegExp(`Usage: coroscope ${c}`));
    // Each command says its own exit codes in a line; the whole table is the top help's.
    assert.doesNotMatch(a.stdout, /Exit codes/, c);
    assert.match(a.stdout, /^(Exit|The exit code)/m, c);
    const b = await coroscope(['help', c]);
    assert.equal(b.code, 0);
    assert.equal(b.stdout, a.stdout);
  }
  // serve says what its token grants, where it is kept and how to revoke it
  const sv = await coroscope(['serve', '--help']);
  assert.equal(sv.code, 0);
  assert.match(sv.stdout, /token lets its holder run any command as you/);
  assert.match(sv.stdout, /session cookie coroscope-127-0-0-1-PORT/);
  assert.match(sv.stdout, /To revoke both, stop serve/);
  const u = await coroscope(['frobnicate']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /unknown command frobnicate/);
  const s = await coroscope(['--help'], { bin: shim });
  assert.equal(s.code, 0);
  assert.match(s.stdout, /Usage: coroscope/);
});

test("record follows a wrapper's children: stats has a line per process, check one per process and the untraced static child; --no-follow records the wrapper alone", async () => {
  const src = join(sc.dir, 'static.c');
  writeFileSync(src, '#include <stdio.h>\nint main(void) { puts("static here"); return 0; }\n');
  const stat = join(sc.dir, 'static_prog');
  const cc = spawnSync('cc', ['-static', '-O1', src, '-o', stat], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `cc -static (libc6-dev's libc.a): ${cc.stderr}`);
  const script = `${example('hello')}; ${stat}; exit 0`;
  const file = join(sc.dir, 'wrapper.cstrace');
  const r = await coroscope(['record', '-o', file, '--workers', '1', '--', '/bin/sh', '-c', script]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /hi\nstatic here/);
  assert.match(
    r.stderr,
    /child pid \d+ \(.*static_prog\) is not traced: it is statically linked/,
    'said while recording',
  );
  const st = await coroscope(['stats', file]);
  assert.equal(st.code, 0, st.stderr);
  assert.match(st.stdout, /Processes \(2\)/);
  const hello = st.stdout.split('\n').find((l) => /\bexec\b.*code 0.*examples\/hello$/.test(l));
  assert.ok(hello, `a line for the exec'd hello with its exit code and its coroutine:\n${st.stdout}`);
  assert.match(hello, /code 0\s+1\s/, 'one coroutine in hello');
  assert.match(st.stdout, /^ *\d+ +hello +done/m, "hello's coroutine, by name");
  const ck = await coroscope(['check', file]);
  assert.equal(ck.code, 1, 'the untraced child is a problem');
  assert.match(ck.stdout, /^process pid \d+ \(\/bin\/sh -c .*\): launched/m);
  assert.match(ck.stdout, /^process pid \d+ \(.*examples\/hello\): exec from \d+, exit 0$/m);
  assert.match(ck.stdout, /untraced-child .*static_prog\) is not traced: it is statically linked/);
  const off = join(sc.dir, 'wrapper-off.cstrace');
  const o = await coroscope(['record', '-o', off, '--no-follow', '--', '/bin/sh', '-c', script]);
  assert.equal(o.code, 0, o.stderr);
  assert.doesNotMatch(o.stderr, /is not traced/, 'following off is no problem');
  const so = await coroscope(['stats', off]);
  assert.doesNotMatch(so.stdout, /hello +done/, 'hello is not recorded');
  assert.match(so.stdout, /not followed: child pid \d+ \(.*examples\/hello\): following is off/);
});

test('check: a worker descheduled on purpose is shown as descheduled, not long-run, and does not fail the check', async () => {
  // Two busy processes pinned to the CPU the program pins itself to: its handler gets about a
  // third of that CPU, so each run of 30 ms CPU takes ~90 ms wall, ~60 ms of it taken by the OS.
  const cpu = String(Math.max(0, (await import('node:os')).cpus().length - 1));
  const hogs = [0, 1].map(() => spawn('taskset', ['-c', cpu, 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }));
  const out = join(sc.dir, 'contended.cstrace');
  try {
    const r = await coroscope(
      ['run', '--workers', '1', '--no-preempt', '-o', out, '--', example('contended'), '--cpu', cpu, '4', '30'],
      { timeout: 60_000 },
    );
    assert.equal(r.code, 0, r.stderr);
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
  }
  const c = await coroscope(['check', out, '--long-run', '35']);
  assert.equal(c.code, 0, c.stdout + c.stderr);
  assert.match(c.stdout, /^descheduled {2}handler \(co#1\), worker 0: the OS descheduled worker 0 for /m);
  assert.doesNotMatch(c.stdout, /long-run/);
});

test('check: a raw nanosleep in a coroutine is a blocked worker named by its system call', async () => {
  const out = join(sc.dir, 'blocking_file.cstrace');
  const r = await coroscope(['run', '--workers', '1', '-o', out, '--', example('blocking_file')], { timeout: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const c = await coroscope(['check', out]);
  assert.equal(c.code, 1, c.stdout + c.stderr);
  assert.match(
    c.stdout,
    /^blocked-worker {2}reader \(co#\d+\), worker 0: worker 0 blocked \d+ ms in nanosleep\(\): a call the engine cannot park/m,
  );
});

test('check --baseline catches a regression made on purpose; the same run passes against itself; limits from the repository config', async () => {
  // A program whose usleep takes as long as it is told: the regression is 1 ms -> 50 ms (limits
  // leave room for a loaded machine, where a 1 ms sleep was seen to take 11 ms).
  const src = join(sc.dir, 'naps.c');
  writeFileSync(
    src,
    '#include <stdlib.h>\n#include <unistd.h>\nint main(int c, char **v) { for (int i = 0; i < 10; i++) usleep(atoi(v[1])); return 0; }\n',
  );
  const exe = join(sc.dir, 'naps');
  const cc = spawnSync('cc', ['-O1', src, '-o', exe], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
  const base = join(sc.dir, 'naps-base.cstrace');
  const slow = join(sc.dir, 'naps-slow.cstrace');
  assert.equal((await coroscope(['record', '-o', base, '--', exe, '1000'])).code, 0);
  assert.equal((await coroscope(['record', '-o', slow, '--', exe, '50000'])).code, 0);

  const same = await coroscope(['check', base, '--baseline', base, '--max-regression', 'p99(*)=0%,stall=+0ms']);
  assert.equal(same.code, 0, same.stdout + same.stderr);
  assert.match(same.stdout, /^ok {4}regression {2}p99\(usleep\) /m);

  const worse = await coroscope(['check', slow, '--baseline', base, '--max-regression', 'p99(usleep)=100%']);
  assert.equal(worse.code, 1, worse.stdout + worse.stderr);
  assert.match(
    worse.stdout,
    /^FAIL {2}regression {2}p99\(usleep\) [\d.]+ ms -> [\d.]+ ms \(\+\d+\.\d %; allowed \+100 %/m,
  );

  // JUnit and SARIF to files, as CI takes them.
  const junit = join(sc.dir, 'check.xml');
  const j = await coroscope([
    'check',
    slow,
    '--baseline',
    base,
    '--max-regression',
    'p99(usleep)=100%',
    '--format',
    'junit',
    '-o',
    junit,
  ]);
  assert.equal(j.code, 1);
  assert.equal(j.stdout, '');
  assert.match(readFileSync(junit, 'utf8'), /<failure type="regression" message="p99\(usleep\) /);
  const sarif = join(sc.dir, 'check.sarif');
  const s = await coroscope([
    'check',
    slow,
    '--baseline',
    base,
    '--max-regression',
    'p99(usleep)=100%',
    '--format',
    'sarif',
    '-o',
    sarif,
  ]);
  assert.equal(s.code, 1);
  const log = JSON.parse(readFileSync(sarif, 'utf8')) as { version: string; runs: { results: { ruleId: string }[] }[] };
  assert.equal(log.version, '2.1.0');
  assert.ok(log.runs[0].results.some((r) => r.ruleId === 'regression'));

  // The repository's config (./coroscope-check.json, where check runs) holds an absolute limit.
  const cfg = join(sc.dir, 'coroscope-check.json');
  writeFileSync(cfg, JSON.stringify({ max: { 'p99(usleep)': '30ms' }, ignore: ['descheduled'] }));
  try {
    const fast = await coroscope(['check', base]);
    assert.equal(fast.code, 0, fast.stdout + fast.stderr);
    assert.match(fast.stdout, /^ok {4}limit {2}p99\(usleep\) [\d.]+ ms ≤ limit 30\.000 ms/m);
    const over = await coroscope(['check', slow]);
    assert.equal(over.code, 1);
    assert.match(over.stdout, /^FAIL {2}limit {2}p99\(usleep\) [\d.]+ ms > limit 30\.000 ms/m);
    writeFileSync(cfg, JSON.stringify({ max: { 'p99(usleep)': '10ms' }, maxRegresion: {} }));
    const typo = await coroscope(['check', base]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /unknown key "maxRegresion"/);
  } finally {
    rmSync(cfg);
  }

  // Usage: a regression limit without a baseline, a metric that does not exist, a bad format.
  const nb = await coroscope(['check', slow, '--max-regression', 'p99(usleep)=10%']);
  assert.equal(nb.code, 2);
  assert.match(nb.stderr, /needs --baseline/);
  assert.equal((await coroscope(['check', slow, '--max', 'p98(usleep)=1ms'])).code, 2);
  assert.equal((await coroscope(['check', slow, '--format', 'xml'])).code, 2);
  const badBase = await coroscope(['check', slow, '--baseline', join(sc.dir, 'none.cstrace')]);
  assert.equal(badBase.code, 4);
});
