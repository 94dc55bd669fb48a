// Stacks at parks and preemptions (emit_stack.h) and their symbolisation
// with libdw (native/addon/symbolize.h): a program built with frame
// pointers and one built without park and compute in known functions
// (progs/stack_sites.c); the CO_STACK after each CO_SUSPEND / PREEMPTED,
// placed in the recorded MAPPING records, resolves to those functions and
// source lines from the trace alone.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { build, cleanEnv, dump, here, testCompiler } from './support.mjs';

const addon = createRequire(import.meta.url)(join(build, 'coroscope.node'));
const src = join(here, 'progs', 'stack_sites.c');
const lineOf = (tag) => readFileSync(src, 'utf8').split('\n').findIndex((l) => l.includes(tag)) + 1;

let tmp;
const exes = {};
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-stacks-'));
  const { cc, flags } = testCompiler();
  for (const [name, fp] of [['fp', '-fno-omit-frame-pointer'], ['nofp', '-fomit-frame-pointer']]) {
    const exe = join(tmp, `sites_${name}`);
    const r = spawnSync(cc, [...flags, '-O2', '-g', fp, '-I', join(here, '..', 'engine', 'include'), src, '-o', exe,
      '-L', build, '-lcoroscope', `-Wl,-rpath,${build}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    exes[name] = exe;
  }
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Run exe with args under COROSCOPE_TRACE; its records as dump lines. */
function record(exe, args, env = {}) {
  const file = join(tmp, `t${Math.random().toString(36).slice(2)}.cstrace`);
  const r = spawnSync(exe, args, { env: cleanEnv({ COROSCOPE_WORKERS: '1', COROSCOPE_TRACE: file, ...env }), encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const d = spawnSync(dump, [file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(d.status, 0, d.stderr);
  return d.stdout.split('\n');
}

/** The mappings (start, end, bias, path) and the stacks ({ co, why, how, pcs }) of dump lines. */
function parse(lines) {
  const maps = [];
  const stacks = [];
  for (const l of lines) {
    let m = /mapping 0x([0-9a-f]+)-0x([0-9a-f]+) bias 0x([0-9a-f]+) "([^"]*)"/.exec(l);
    if (m) maps.push({ start: parseInt(m[1], 16), end: parseInt(m[2], 16), bias: parseInt(m[3], 16), path: m[4] });
    m = /co#\d+ "([^"]*)" stack \((parked|preempted|deferred preemption), (\d+) frames, ([a-z ]+)\) "([0-9a-f ]*)"/.exec(l);
    if (m) stacks.push({ co: m[1], why: m[2], how: m[4], pcs: m[5].split(' ').map((x) => parseInt(x, 16)), frames: Number(m[3]) });
  }
  return { maps, stacks };
}

/** Symbolise a stack with the addon as the inspector does: frames [{ function, file, line, inlined }]. */
function symbolise(maps, s) {
  const out = [];
  s.pcs.forEach((pc, i) => {
    const m = [...maps].reverse().find((x) => pc >= x.start && pc < x.end);
    assert.ok(m, `pc 0x${pc.toString(16)} lies in a recorded mapping`);
    const exact = i === 0 && s.why === 'preempted';
    const got = addon.symbolize(m.path, null, [pc - m.bias - (exact ? 0 : 1)]);
    assert.ok(got, `${m.path} opens`);
    out.push(...got[0].map((f) => ({ ...f, file: f.file.split('/').pop() })));
  });
  return out;
}

test('built with frame pointers: the park in read() symbolises to wait_for_byte at its line, then its callers', () => {
  const { maps, stacks } = parse(record(exes.fp, ['park']));
  const s = stacks.find((x) => x.co === 'reader');
  assert.ok(s, 'the reader has a stack');
  assert.equal(s.why, 'parked');
  assert.equal(s.how, 'frame pointers');
  const f = symbolise(maps, s);
  assert.deepEqual(f.slice(0, 3).map((x) => [x.function, x.file, x.line]), [
    ['wait_for_byte', 'stack_sites.c', lineOf('PARK_LINE')],
    ['outer_caller', 'stack_sites.c', lineOf('outer_caller(int fd)') + 2],
    ['reader', 'stack_sites.c', lineOf('outer_caller(fds[0]);')],
  ]);
  assert.equal(f.length, 3, 'no engine frame and nothing past the coroutine entry');
});

test('built without frame pointers: the unwinder finds the same three frames; the frame-pointer walk only the call site', () => {
  const lines = record(exes.nofp, ['park']);
  const auto = parse(lines);
  const s = auto.stacks.find((x) => x.co === 'reader');
  assert.equal(s.how, 'unwinder');
  assert.deepEqual(symbolise(auto.maps, s).map((x) => x.function), ['wait_for_byte', 'outer_caller', 'reader']);
  // The unwinder's own system calls (libunwind checks memory through a pipe) are not the program's.
  const calls = lines.filter((l) => /co#\d+ "(reader|writer)" (read|write)\(/.test(l) && !/\.\.\.$/.test(l));
  assert.equal(calls.length, 2, `only the program's read and write: ${calls.join('\n')}`);
  assert.match(calls.find((l) => l.includes('"reader"')), /read\(fd=\d+, 1\) = 1 .* parked/, 'the parked read keeps its size');
  const bt = parse(record(exes.nofp, ['park'], { COROSCOPE_STACKS: 'backtrace' }));
  const b = bt.stacks.find((x) => x.co === 'reader');
  assert.deepEqual(symbolise(bt.maps, b).map((x) => x.function), ['wait_for_byte', 'outer_caller', 'reader'], "glibc's backtrace");
  const fp = parse(record(exes.nofp, ['park'], { COROSCOPE_STACKS: 'fp' }));
  const t = fp.stacks.find((x) => x.co === 'reader');
  assert.deepEqual(symbolise(fp.maps, t).map((x) => x.function), ['wait_for_byte']);
});

test('an inlined function is a frame of its own, its caller located at the inlined call', () => {
  const { maps, stacks } = parse(record(exes.fp, ['inline']));
  const f = symbolise(maps, stacks.find((x) => x.co === 'reader'));
  assert.deepEqual(f.slice(0, 2).map((x) => [x.function, x.line, x.inlined]), [
    ['inlined_wait', lineOf('INLINE_LINE'), true],
    ['inline_caller', lineOf('INLINE_CALL_LINE'), false],
  ]);
});

test('a CPU hog is preempted in spin_here: the stack starts at the interrupted pc; with frame pointers its callers follow', () => {
  for (const [name, callers] of [['fp', ['hog_caller', 'hog']], ['nofp', []]]) {
    const { maps, stacks } = parse(record(exes[name], ['hog']));
    const pre = stacks.filter((x) => x.co === 'hog' && x.why === 'preempted');
    assert.ok(pre.length >= 3, `${name}: preempted several times (${pre.length})`);
    for (const s of pre) {
      const f = symbolise(maps, s);
      assert.equal(f[0].function, 'spin_here', `${name}: frame 0 ${JSON.stringify(f[0])}`);
      assert.ok(f[0].line >= lineOf('void spin_here') && f[0].line <= lineOf('HOG_LINE'), `${name}: line ${f[0].line}`);
      assert.deepEqual(f.slice(1).map((x) => x.function), callers, name);
    }
  }
});

test('COROSCOPE_STACKS=0 records no stack; COROSCOPE_STACK_SAMPLE=2 one park in two', () => {
  assert.equal(parse(record(exes.fp, ['park'], { COROSCOPE_STACKS: '0' })).stacks.length, 0);
  // Without preemption the worker's only stacks are the ticker's 30 parks (usleep).
  const all = parse(record(exes.fp, ['hog'], { COROSCOPE_PREEMPT: '0' })).stacks;
  const half = parse(record(exes.fp, ['hog'], { COROSCOPE_PREEMPT: '0', COROSCOPE_STACK_SAMPLE: '2' })).stacks;
  assert.equal(all.filter((x) => x.co === 'ticker').length, 30, 'every park of the ticker has a stack');
  assert.equal(half.filter((x) => x.co === 'ticker').length, 15, 'one park in two');
});

test('a build id that differs from the recorded one symbolises nothing', () => {
  assert.equal(addon.symbolize(exes.fp, '00112233445566778899aabbccddeeff00112233', [0x1000]), null);
  assert.ok(addon.symbolize(exes.fp, null, [0x1000]));
});

test('stack CO on the control socket: the stack of a running coroutine now, also recorded as CO_STACK (on demand)', async () => {
  const run = join(tmp, 'run');
  mkdirSync(run, { recursive: true, mode: 0o700 });
  const file = join(tmp, 'ondemand.cstrace');
  const child = spawn(exes.fp, ['hog', '1000'], {
    env: cleanEnv({ COROSCOPE_WORKERS: '1', COROSCOPE_TRACE: file, XDG_RUNTIME_DIR: run }),
    stdio: 'ignore',
  });
  try {
    const sock = join(run, 'coroscope', `${child.pid}.sock`);
    for (let k = 0; k < 200 && !existsSync(sock); k++) await new Promise((r) => setTimeout(r, 20));
    const replies = await new Promise((res, rej) => {
      const c = connect(sock);
      let text = '';
      c.on('data', (d) => {
        text += d;
        if (text.split('\n').length > 3) {
          c.end();
          res(text.split('\n').slice(0, 3).map((l) => JSON.parse(l)));
        }
      });
      c.on('error', rej);
      c.write('stack 1\nstack 99\nstack x\n');
    });
    assert.equal(replies[0].ok, true, JSON.stringify(replies[0]));
    assert.equal(replies[0].state, 'running');
    assert.ok(replies[0].frames.length >= 3, JSON.stringify(replies[0]));
    assert.deepEqual(replies[1], { ok: true, co: 99, state: 'unknown', frames: [] });
    assert.equal(replies[2].ok, false);
  } finally {
    // It ends by itself once the hog's second is over (the trace is then closed cleanly).
    const code = await new Promise((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', r)));
    assert.equal(code, 0);
  }
  const d = spawnSync(dump, [file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const lines = d.stdout.split('\n');
  const { maps } = parse(lines);
  const m = /co#1 "hog" stack \(on demand, (\d+) frames, frame pointers\) "([0-9a-f ]*)"/.exec(lines.find((l) => l.includes('on demand')) ?? '');
  assert.ok(m, 'the on-demand stack is in the trace');
  const f = symbolise(maps, { why: 'preempted', pcs: m[2].split(' ').map((x) => parseInt(x, 16)) });
  assert.deepEqual(f.map((x) => x.function), ['spin_here', 'hog_caller', 'hog']);
});
