// Following children like strace -f (README "Children", engine follow.h and
// hook_exec.c, addon link.c): a program launched through the addon keeps the
// engine in the programs it execs and the children it forks, and each of
// them streams into the same recording as a process of its own — with its
// pid, parent, command line and exit code — unless following is turned off.
// Each test launches a real program through the addon (as `coroscope run` and
// `record` do), records, and reads the recording back.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { build, cleanEnv, compileProg, examples } from './support.mjs';

const addon = createRequire(import.meta.url)(join(build, 'coroscope.node'));
const hello = join(examples, 'hello');
const K = { PROCESS: 1, THREAD: 3, LINEAGE: 7, PROCESS_EXIT: 8, SPAWN: 9, CO_CREATE: 16, CO_FINISH: 21 };
const TWO32 = 4294967296;

let tmp, forkChildren;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-follow-'));
  forkChildren = compileProg('fork_children', tmp);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Launch argv through the addon, recording to a file; resolves with the exit, the output and the records. */
function record(name, argv, { follow, env = {} } = {}) {
  const file = join(tmp, `${name}.cstrace`);
  return new Promise((resolve) => {
    let out = '', exit, target; // the target is kept until its end (a collected one stops its link)
    target = addon.launch({
      file: argv[0], argv, env: Object.entries(cleanEnv({ COROSCOPE_WORKERS: '1', ...env })).map(([k, v]) => `${k}=${v}`),
      preload: join(build, 'libcoroscope.so'), stdinNull: true, record: file, policy: 'lossless',
      ...(follow === undefined ? {} : { follow }),
    }, (m) => {
      if (m.type === 'output') out += Buffer.from(m.data).toString();
      if (m.type === 'exit') exit = m;
      if (m.type === 'error') out += `[error: ${m.message}]`;
      if (process.env.FOLLOW_DEBUG) console.error(m.type, m.type === 'events' ? '' : JSON.stringify(m));
      if (m.type === 'end') resolve({ exit, out, pid: target.pid, ...readTrace(file) });
    });
  });
}

/** Every record of a trace file (STRING records resolved into `str`). */
function readTrace(file) {
  const t = new addon.TraceFile(file);
  const strings = new Map();
  const ev = [];
  for (;;) {
    const r = t.read(65536);
    for (const [id, text] of r.strings) strings.set(id, text);
    const dv = new DataView(r.events.buffer, r.events.byteOffset, r.events.byteLength);
    for (let o = 0; o < r.events.byteLength; o += 64) {
      const u64 = (off) => Number(dv.getBigUint64(o + off, true));
      ev.push({ ts: u64(0), kind: dv.getUint16(o + 8, true), tid: dv.getUint32(o + 12, true), co: u64(16),
        a: [u64(24), u64(32), u64(40), u64(48), u64(56)] });
    }
    if (r.done) break;
  }
  t.close();
  const str = (id) => strings.get(id) ?? '';
  // tid -> pid, from each thread's THREAD record (a3); the processes from PROCESS + LINEAGE.
  const pidOf = new Map(ev.filter((e) => e.kind === K.THREAD && e.a[3]).map((e) => [e.a[0], e.a[3]]));
  const processes = ev.filter((e) => e.kind === K.LINEAGE)
    .map((e) => ({ pid: e.a[0], ppid: e.a[1], how: e.a[2], serial: e.a[3] }));
  for (const p of processes) {
    // Its PROCESS record is the one its LINEAGE follows, from the same thread.
    const lin = ev.find((l) => l.kind === K.LINEAGE && l.a[3] === p.serial);
    const rec = ev.filter((e) => e.kind === K.PROCESS && e.a[0] === p.pid && e.tid === lin.tid && e.ts <= lin.ts).pop();
    p.exe = rec ? str(rec.a[1]) : '';
    const x = ev.find((e) => e.kind === K.PROCESS_EXIT && e.a[2] === p.serial && e.a[0] === p.pid);
    p.exit = x ? x.a[1] : null;
  }
  // Ends said by a reaping parent (a4 1) or the launcher (a4 2), about the latest process of a pid (a2 unknown).
  const ends = ev.filter((e) => e.kind === K.PROCESS_EXIT && (e.a[4] & 0xff) !== 0)
    .map((e) => ({ pid: e.a[0], code: e.a[1], signal: e.a[3], by: (e.a[4] & 0xff) === 1 ? 'parent' : 'launcher', tid: e.tid }));
  const coroutines = ev.filter((e) => e.kind === K.CO_CREATE)
    .map((e) => ({ co: e.co, name: str(e.a[1]), pid: pidOf.get(e.tid), serial: Math.floor(e.co / TWO32),
      finished: ev.some((f) => f.kind === K.CO_FINISH && f.co === e.co) }));
  const spawns = ev.filter((e) => e.kind === K.SPAWN)
    .map((e) => ({ pid: e.a[0], how: e.a[1], path: str(e.a[2]), why: e.a[3], cmd: str(e.a[4]) }));
  return { ev, processes, coroutines, spawns, ends };
}

test('a wrapper that execs its program (sh -c "exec prog") no longer hides it: the program\'s coroutines are recorded as a process of the same pid', async () => {
  const r = await record('sh-exec', ['/bin/sh', '-c', `exec ${hello}`]);
  assert.equal(r.exit.code, 0, r.out);
  assert.match(r.out, /hi/);
  const sh = r.processes.find((p) => p.serial === 0);
  const prog = r.processes.find((p) => p.exe === hello);
  assert.ok(sh && prog, `both the shell and the program are processes of the recording: ${JSON.stringify(r.processes)}`);
  assert.equal(prog.pid, sh.pid, 'exec keeps the pid');
  assert.equal(prog.how, 2, 'the program joined by exec');
  assert.ok(prog.serial > 0, 'with a serial of its own');
  assert.equal(prog.exit, 0, 'and its exit code');
  const co = r.coroutines.find((c) => c.name === 'hello');
  assert.ok(co && co.finished, 'the program\'s coroutine is created and finishes in the recording');
  assert.equal(co.serial, prog.serial, 'its id is in the program\'s id space');
  assert.equal(co.pid, prog.pid);
});

test('a #!/bin/sh script that runs a coroutine program records that program as a child process of the script', async () => {
  const script = join(tmp, 'wrapper.sh');
  writeFileSync(script, `#!/bin/sh\necho wrapper starts\n${hello}\necho wrapper ends\n`);
  chmodSync(script, 0o755);
  const r = await record('script', [script]);
  assert.equal(r.exit.code, 0, r.out);
  assert.match(r.out, /wrapper starts\nhi\nwrapper ends/);
  const sh = r.processes.find((p) => p.serial === 0);
  const prog = r.processes.find((p) => p.exe === hello);
  assert.ok(sh && prog, JSON.stringify(r.processes));
  assert.notEqual(prog.pid, sh.pid, 'the program runs in a child of the shell');
  assert.equal(prog.ppid, sh.pid, 'whose parent is the script');
  assert.equal(prog.exit, 0);
  assert.ok(r.coroutines.some((c) => c.name === 'hello' && c.finished && c.pid === prog.pid), JSON.stringify(r.coroutines));
  assert.ok(r.spawns.some((s) => s.path === hello && s.why === 0), 'the script says it started the program, followed');
});

test('a program that forks a child running coroutines: both processes are in one recording with their pids, parent and exit codes', async () => {
  const r = await record('fork', [forkChildren, '7']);
  assert.equal(r.exit.code, 3, r.out);
  const m = r.out.match(/child (\d+) status 7/);
  assert.ok(m, r.out);
  const childPid = +m[1];
  const parent = r.processes.find((p) => p.serial === 0);
  const child = r.processes.find((p) => p.pid === childPid);
  assert.ok(parent && child, JSON.stringify(r.processes));
  assert.equal(child.how, 1, 'the child joined by fork');
  assert.equal(child.ppid, parent.pid);
  assert.equal(parent.exit, 3, 'the parent\'s exit code');
  assert.equal(child.exit, 7, 'the child\'s exit code');
  const byName = Object.fromEntries(r.coroutines.map((c) => [c.name, c]));
  assert.equal(byName['parent-co']?.pid, parent.pid, 'parent-co ran in the parent');
  for (const n of ['child-co-1', 'child-co-2']) {
    assert.equal(byName[n]?.pid, childPid, `${n} ran in the child`);
    assert.ok(byName[n].finished, `${n} finished`);
    assert.equal(byName[n].serial, child.serial, `${n} has an id of the child's space`);
  }
  assert.equal(new Set(r.coroutines.map((c) => c.co)).size, r.coroutines.length, 'no coroutine id is used twice');
  assert.ok(r.spawns.some((s) => s.how === 1 && s.pid === childPid && s.why === 0), 'the parent says which child it forked');
});

test('with following off only the launched process is recorded; its fork is noted as not followed', async () => {
  const r = await record('off', [forkChildren, '7'], { follow: false });
  assert.equal(r.exit.code, 3, r.out);
  assert.ok(r.coroutines.some((c) => c.name === 'parent-co'), 'the parent is recorded');
  assert.ok(!r.coroutines.some((c) => c.name.startsWith('child-co')), 'the child is not');
  assert.ok(r.processes.every((p) => p.serial === 0), `no followed process: ${JSON.stringify(r.processes)}`);
  assert.ok(r.spawns.some((s) => s.how === 1 && s.why === 3), 'the fork is recorded as not followed (following off)');
});

test('a child that clears its environment before exec is still followed (env -i, and execve with an empty environment)', async () => {
  const r = await record('env-i', ['/bin/sh', '-c',
    `env -i ${hello}; python3 -c 'import os,sys; os.execve(sys.argv[1], [sys.argv[1]], {})' ${hello}`]);
  assert.equal(r.exit.code, 0, r.out);
  const progs = r.processes.filter((p) => p.exe === hello);
  assert.equal(progs.length, 2, `both programs joined: ${JSON.stringify(r.processes)}`);
  for (const p of progs) {
    assert.equal(p.exit, 0);
    assert.ok(r.coroutines.some((c) => c.name === 'hello' && c.finished && c.serial === p.serial), `hello in process ${p.pid}`);
  }
});

test('a statically linked program cannot be followed and the recording says so, with its pid and command', async () => {
  const src = join(tmp, 'static.c');
  writeFileSync(src, '#include <stdio.h>\nint main(void) { puts("static here"); return 4; }\n');
  const exe = join(tmp, 'static_prog');
  const cc = spawnSync('cc', ['-static', '-O1', src, '-o', exe], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `cc -static (libc6-dev's libc.a): ${cc.stderr}`);
  const r = await record('static', ['/bin/sh', '-c', `${exe} one two; exit 0`]);
  assert.equal(r.exit.code, 0, r.out);
  assert.match(r.out, /static here/);
  const s = r.spawns.find((x) => x.path === exe);
  assert.ok(s, JSON.stringify(r.spawns));
  assert.equal(s.why, 1, 'reason: statically linked');
  assert.match(s.cmd, /static_prog one two/);
  assert.ok(s.pid > 0);
});

test('a shell loop starting 1,100 programs is recorded whole: each is a process of the recording (ended ones give their slot and rings back)', async () => {
  const r = await record('loop', ['/bin/sh', '-c', 'i=0; while [ $i -lt 1100 ]; do /bin/true; i=$((i+1)); done']);
  assert.equal(r.exit.code, 0, r.out);
  assert.doesNotMatch(r.out, /\[error:/, 'no followed process refused, no ring left unread');
  const progs = r.processes.filter((p) => p.exe === '/usr/bin/true' && p.how === 2);
  assert.equal(progs.length, 1100, 'every program joined');
  assert.equal(progs.filter((p) => p.exit === 0).length, 1100, 'and each one\'s exit is recorded');
  assert.equal(new Set(progs.map((p) => p.serial)).size, 1100, 'each under a serial of its own');
});

test('programs started by raw system calls join the session when the environment reaches them: execve(2), clone(2)+execve(2), vfork+execve(2), _Fork+execve(2)', async () => {
  const raw = compileProg('raw_spawn', tmp);
  for (const mode of ['exec', 'clone', 'vfork', '_Fork']) {
    const r = await record(`raw-${mode}`, [raw, mode, hello]);
    assert.equal(r.exit.code, 0, `${mode}: ${r.out}`);
    assert.match(r.out, /hi/, mode);
    assert.doesNotMatch(r.out, /\[error:/, mode);
    const launched = r.processes.find((p) => p.serial === 0);
    const prog = r.processes.find((p) => p.exe === hello);
    assert.ok(launched && prog, `${mode}: ${JSON.stringify(r.processes)}`);
    assert.equal(prog.how, 2, `${mode}: the program joined by exec`);
    if (mode === 'exec') assert.equal(prog.pid, launched.pid, 'exec keeps the pid');
    else {
      assert.equal(prog.ppid, launched.pid, `${mode}: its parent is the launched process`);
      assert.match(r.out, new RegExp(`child ${prog.pid} status 0`), mode);
    }
    assert.equal(prog.exit, 0, `${mode}: its exit code`);
    assert.ok(r.coroutines.some((c) => c.name === 'hello' && c.finished && c.serial === prog.serial), mode);
  }
});

test('a child made by a raw clone(2) that does not exec joins as a forked child when it spawns, and the parent\'s stream stays intact', { timeout: 60000 }, async () => {
  const raw = compileProg('raw_spawn', tmp);
  const r = await record('raw-clone-stay', [raw, 'clone-stay']);
  assert.equal(r.exit.code, 0, r.out);
  assert.doesNotMatch(r.out, /\[error:/, 'no ring written by two processes (the child found telemetry off in its wiped page)');
  const m = r.out.match(/child (\d+) status 5/);
  assert.ok(m, r.out);
  const parent = r.processes.find((p) => p.serial === 0);
  const child = r.processes.find((p) => p.pid === +m[1]);
  assert.ok(parent && child, JSON.stringify(r.processes));
  assert.equal(child.how, 1, 'joined as a forked child');
  assert.equal(child.ppid, parent.pid);
  assert.equal(child.exit, 5);
  const byName = Object.fromEntries(r.coroutines.map((c) => [c.name, c]));
  assert.equal(byName['raw-parent-co']?.pid, parent.pid);
  assert.equal(byName['raw-child-co']?.pid, child.pid, 'the child\'s coroutine ran in the child');
  assert.equal(byName['raw-child-co'].serial, child.serial, 'under an id of the child\'s space');
  assert.ok(byName['raw-child-co'].finished);
  assert.equal(parent.exit, 0, 'the parent\'s exit is its own (the child\'s exit did not land in its stream)');
});

const haveGo = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;

test('a Go program (cgo, so dynamically linked) runs a program with os/exec (raw clone + execve): both are followed; a pure-Go build is static and reported so', { skip: !haveGo && 'go is not installed' }, async () => {
  const dir = join(tmp, 'gorun');
  const env = { ...process.env, GOCACHE: join(tmp, 'gocache'), GOPATH: join(tmp, 'gopath'), GOFLAGS: '-mod=mod', GO111MODULE: 'on' };
  const main = 'package main\n\nimport (\n\t"fmt"\n\t"os"\n\t"os/exec"\n%s)\n\nfunc main() {\n\tcmd := exec.Command(os.Args[1])\n\tcmd.Stdout = os.Stdout\n\terr := cmd.Run()\n\tfmt.Println("go parent: child done", err)\n}\n';
  const build = (name, extraImport) => {
    const d = join(dir, name);
    spawnSync('mkdir', ['-p', d]);
    writeFileSync(join(d, 'go.mod'), `module ${name}\n\ngo 1.19\n`);
    writeFileSync(join(d, 'main.go'), main.replace('%s', extraImport));
    const b = spawnSync('go', ['build', '-o', join(dir, `${name}.bin`), '.'], { cwd: d, env, encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
    return join(dir, `${name}.bin`);
  };
  const cgo = build('gocgo', '\t_ "net"\n'); // the net package uses cgo's resolver: dynamically linked
  const pure = build('gopure', '');
  const r = await record('go', ['/bin/sh', '-c', `${cgo} ${hello}; ${pure} ${hello}`]);
  assert.equal(r.exit.code, 0, r.out);
  assert.equal((r.out.match(/go parent: child done <nil>/g) ?? []).length, 2, r.out);
  const goProc = r.processes.find((p) => p.exe === cgo);
  assert.ok(goProc, `the cgo program joined: ${JSON.stringify(r.processes)}`);
  const child = r.processes.find((p) => p.exe === hello && p.ppid === goProc.pid);
  assert.ok(child, `the program Go started joined, its parent the Go program: ${JSON.stringify(r.processes)}`);
  assert.equal(child.how, 2);
  assert.equal(child.exit, 0);
  assert.ok(r.coroutines.some((c) => c.name === 'hello' && c.finished && c.serial === child.serial));
  const s = r.spawns.find((x) => x.path === pure);
  assert.ok(s && s.why === 1, `the pure-Go program is statically linked and reported so: ${JSON.stringify(r.spawns)}`);
});

test('children killed by signals show them: SIGSEGV and SIGKILL as the parent\'s waitpid reaped them', async () => {
  const prog = compileProg('sig_children', tmp);
  const r = await record('signals', [prog]);
  assert.equal(r.exit.code, 0, r.out);
  const kids = [...r.out.matchAll(/child (\d+) signal (\d+)/g)].map((m) => [+m[1], +m[2]]);
  assert.deepEqual(kids.map((k) => k[1]), [11, 9], r.out);
  const parent = r.processes.find((p) => p.serial === 0);
  for (const [pid, sig] of kids) {
    const child = r.processes.find((p) => p.pid === pid);
    assert.ok(child && child.how === 1, `the child ${pid} joined: ${JSON.stringify(r.processes)}`);
    assert.equal(child.exit, null, 'it never reached exit');
    const end = r.ends.find((e) => e.pid === pid);
    assert.ok(end, `its end is recorded: ${JSON.stringify(r.ends)}`);
    assert.equal(end.signal, sig);
    assert.equal(end.by, 'parent');
    assert.equal(end.tid, parent.pid, 'said by the parent\'s thread');
    assert.ok(r.coroutines.some((c) => c.name === 'victim' && c.pid === pid), 'its coroutine ran first');
  }
});

test('a launched shell killed by SIGKILL, and a program it ran that died of SIGSEGV (dash reaps with wait3), show their signals', async () => {
  const prog = compileProg('sig_children', tmp);
  const r = await record('shell-signals', ['/bin/sh', '-c', `${prog} segv; echo after; kill -9 $$`]);
  assert.equal(r.exit.signal, 9, JSON.stringify(r.exit));
  assert.match(r.out, /after/);
  const sh = r.processes.find((p) => p.serial === 0);
  const segv = r.processes.find((p) => p.exe === prog);
  assert.ok(sh && segv, JSON.stringify(r.processes));
  assert.deepEqual(r.ends.filter((e) => e.pid === segv.pid).map((e) => [e.signal, e.by]), [[11, 'parent']]);
  assert.deepEqual(r.ends.filter((e) => e.pid === sh.pid).map((e) => [e.signal, e.by]), [[9, 'launcher']]);
});
