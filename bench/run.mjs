#!/usr/bin/env node
// bench/run.mjs — Coroscope's benchmark suite (see bench/README.md).
//
//   node bench/run.mjs                   build, run every benchmark, print the table,
//                                        write bench/results.json
//   node bench/run.mjs --only yield      one benchmark (repeatable, or a comma list)
//   node bench/run.mjs --list            the benchmark names
//   options: --reps N (default 5, at least 5 for quotable numbers)
//            --echo-duration S (default 5)  --no-native-build  --no-callgrind
//            --core-export-events N (default 2000000: the synthetic trace of core_export)
//            --ui-stream-seconds S (default 20; 60 for the full measurement)  --ui-reps N (default 1)
//            --ui-stream-rate EVENTS_PER_S (default 200000)
//            --recording-big (the recording rows also at ~100 M events: long)
//            --bigtrace-coroutines N (default 320000: ~100 M events)  --bigtrace-run-seconds S (default 120)
//            --bigtrace-file FILE (the recording kept there and reused: recorded only when FILE is missing)
//            --bigtrace-commands LIST (a subset of stats,check,export,run; default all)
//            --strict (exit 2 when a row misses its target)
//            --native-dir DIR (use an engine built elsewhere: DIR/libcoroscope.so and
//            DIR/examples/echo_{server,client}; no make)
//
// Everything is built into bench/build/ (gitignored): the C/C++ benchmark
// programs with cc/c++, the Go peers with `go build` in GOPATH mode (no
// modules, GOCACHE/GOPATH under bench/build, so it works offline). The engine
// itself is built with `make -C native`.
//
// Every benchmark runs --reps times (separate processes, ours and the peer
// interleaved) and reports the median. Timings on a shared machine are noisy:
// the exit status reflects only whether the benchmarks ran, unless --strict.
//
// Node 20, ESM, no dependencies.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { preemptBenchmarks } from './preempt_rows.mjs'; // rows 6-7: preemption
import { coreBenchmarks } from './core_rows.mjs'; // rows 9-11: the Node core
import { uiBenchmarks } from './ui_rows.mjs'; // row 12: the UI in Chromium
import { recordingBenchmarks } from './rec_rows.mjs'; // row 13: recording, next to Go's tracer and strace
import { bigtraceBenchmarks } from './bigtrace_rows.mjs'; // row 14: the CLI on 100 M events, run's memory over time
import { fddescBenchmarks } from './fddesc_rows.mjs'; // row 5d: fd descriptions and wakers, on vs off

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(BENCH, '..');
const NATIVE = join(ROOT, 'native');
let NATIVE_BUILD = join(NATIVE, 'build'); // --native-dir overrides
let LIB = join(NATIVE_BUILD, 'libcoroscope.so');
const ENGINE_SRC = join(NATIVE, 'engine', 'src');
const ENGINE_INC = join(NATIVE, 'engine', 'include');
const OUT = join(BENCH, 'build');
const RESULTS = join(BENCH, 'results.json');

// ---- command line --------------------------------------------------------

const BENCHMARKS = [
  'ctx_switch',
  'yield',
  'hook',
  'sleep100k',
  'echo',
  'ossched',
  'stacks',
  'fddesc',
  'preempt_latency',
  'preempt_overhead',
  'ring',
  'core_ingest',
  'core_store',
  'core_export',
  'ui',
  'ui_big',
  'ui_live',
  'recording',
  'bigtrace',
];

function usage(msg) {
  if (msg) console.error(`run.mjs: ${msg}`);
  console.error(
    'usage: node bench/run.mjs [--only NAME[,NAME...]] [--reps N] [--echo-duration S] [--core-export-events N]\n' +
      '                         [--ui-stream-seconds S] [--ui-reps N] [--ui-stream-rate EVENTS_PER_S] [--recording-big]\n' +
      '                         [--bigtrace-coroutines N] [--bigtrace-run-seconds S] [--bigtrace-file FILE]\n' +
      '                         [--bigtrace-commands stats,check,export,run]\n' +
      '                         [--no-native-build] [--native-dir DIR] [--no-callgrind] [--strict] [--list]\n' +
      `benchmarks: ${BENCHMARKS.join(', ')}`,
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = {
    only: [],
    reps: 5,
    echoDuration: 5,
    coreExportEvents: 2_000_000,
    uiStreamSeconds: 20,
    uiReps: 1,
    uiStreamRate: 200_000,
    nativeBuild: true,
    callgrind: true,
    strict: false,
    recordingBig: false,
    bigtraceCoroutines: 320_000,
    bigtraceRunSeconds: 120,
    bigtraceFile: null,
    bigtraceCommands: ['stats', 'check', 'export', 'run'],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    if (a === '--only') o.only.push(...val().split(',').filter(Boolean));
    else if (a.startsWith('--only=')) o.only.push(...a.slice(7).split(',').filter(Boolean));
    else if (a === '--reps') o.reps = Number(val());
    else if (a === '--echo-duration') o.echoDuration = Number(val());
    else if (a === '--core-export-events') o.coreExportEvents = Number(val());
    else if (a === '--ui-stream-seconds') o.uiStreamSeconds = Number(val());
    else if (a === '--ui-reps') o.uiReps = Number(val());
    else if (a === '--ui-stream-rate') o.uiStreamRate = Number(val());
    else if (a === '--no-native-build') o.nativeBuild = false;
    else if (a === '--no-callgrind') o.callgrind = false;
    else if (a === '--recording-big') o.recordingBig = true;
    else if (a === '--bigtrace-coroutines') o.bigtraceCoroutines = Number(val());
    else if (a === '--bigtrace-run-seconds') o.bigtraceRunSeconds = Number(val());
    else if (a === '--bigtrace-file') o.bigtraceFile = resolve(val());
    else if (a === '--bigtrace-commands') o.bigtraceCommands = val().split(',').filter(Boolean);
    else if (a === '--strict') o.strict = true;
    else if (a === '--native-dir') o.nativeDir = resolve(val());
    else if (a === '--list') {
      console.log(BENCHMARKS.join('\n'));
      process.exit(0);
    } else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.reps) || o.reps < 1) usage('--reps must be a positive integer');
  if (!(o.echoDuration > 0)) usage('--echo-duration must be a positive number of seconds');
  if (!(o.uiStreamSeconds >= 5)) usage('--ui-stream-seconds must be a number of seconds >= 5');
  if (!Number.isInteger(o.uiReps) || o.uiReps < 1) usage('--ui-reps must be a positive integer');
  if (!(o.uiStreamRate >= 1000)) usage('--ui-stream-rate must be >= 1000 events/s');
  if (!Number.isInteger(o.coreExportEvents) || o.coreExportEvents < 1000)
    usage('--core-export-events must be an integer >= 1000');
  if (!Number.isInteger(o.bigtraceCoroutines) || o.bigtraceCoroutines < 2 || o.bigtraceCoroutines % 2)
    usage('--bigtrace-coroutines must be an even integer >= 2');
  if (!(o.bigtraceRunSeconds >= 20)) usage('--bigtrace-run-seconds must be >= 20');
  if (!o.bigtraceCommands.length || o.bigtraceCommands.some((c) => !['stats', 'check', 'export', 'run'].includes(c)))
    usage('--bigtrace-commands takes a comma list of stats, check, export, run');
  // Row names are accepted too (sleep100k_wall -> sleep100k).
  const rowToBenchmark = (n) =>
    n.startsWith('sleep100k')
      ? 'sleep100k'
      : n.startsWith('ring_')
        ? 'ring'
        : n === 'core_ingest_record' || n === 'core_bytes_real'
          ? 'core_ingest'
          : n.startsWith('core_store')
            ? 'core_store'
            : n.startsWith('core_export')
              ? 'core_export'
              : n.startsWith('ui_big')
                ? 'ui_big'
                : n.startsWith('ui_live')
                  ? 'ui_live'
                  : n.startsWith('ui_')
                    ? 'ui'
                    : n.startsWith('recording_')
                      ? 'recording'
                      : n.startsWith('bigtrace_')
                        ? 'bigtrace'
                        : n;
  o.only = o.only.map(rowToBenchmark);
  for (const n of o.only) if (!BENCHMARKS.includes(n)) usage(`no benchmark named ${n}`);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
if (opts.nativeDir) {
  NATIVE_BUILD = opts.nativeDir;
  LIB = join(NATIVE_BUILD, 'libcoroscope.so');
  opts.nativeBuild = false;
}
if (opts.reps < 5) console.warn(`note: --reps ${opts.reps} < 5: medians of fewer than 5 runs are not quotable`);

// ---- helpers -------------------------------------------------------------

const median = (xs) => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length & 1 ? v[m] : (v[m - 1] + v[m]) / 2;
};

// Environment for benchmark processes: no inherited engine settings or
// preloads, so "default workers" means the engine's default.
function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (k.startsWith('COROSCOPE_') || k === 'LD_PRELOAD' || k === 'GOMAXPROCS') delete env[k];
  return { ...env, ...extra };
}

// Run a program to completion. Resolves {code, signal, stdout, stderr}.
function run(cmd, args, { env = cleanEnv(), timeout = 120_000, cwd = ROOT } = {}) {
  return new Promise((res) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let child;
    try {
      child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      res({ code: -1, signal: null, stdout, stderr: String(e), timedOut });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeout);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      res({ code: -1, signal: null, stdout, stderr: stderr + String(e), timedOut });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr, timedOut });
    });
  });
}

function describeFailure(what, r) {
  const how = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit status ${r.code}`;
  const tail = (r.stderr || r.stdout || '').trim().split('\n').slice(-8).join('\n');
  return `${what}: ${how}${tail ? `\n${tail}` : ''}`;
}

async function mustRun(what, cmd, args, o) {
  const r = await run(cmd, args, o);
  if (r.code !== 0) throw new Error(describeFailure(what, r));
  return r;
}

// The last line of stdout that parses as JSON.
function lastJson(what, stdout) {
  const lines = stdout.trim().split('\n').reverse();
  for (const l of lines) {
    try {
      return JSON.parse(l);
    } catch {
      /* not this line */
    }
  }
  throw new Error(`${what}: no JSON result on stdout:\n${stdout.trim().slice(-500)}`);
}

const log = (...a) => console.error(...a);

// ---- building ------------------------------------------------------------

mkdirSync(OUT, { recursive: true });

const GO_ENV = () =>
  cleanEnv({
    GOCACHE: join(OUT, 'gocache'),
    GOPATH: join(OUT, 'gopath'),
    GO111MODULE: 'off',
    GOFLAGS: '',
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    GOENV: 'off',
    CGO_ENABLED: '0',
  });

const built = new Map(); // target -> Promise
function once(key, fn) {
  if (!built.has(key)) built.set(key, fn());
  return built.get(key);
}

// libcoroscope and the examples. A failed make is tolerated when the
// artifacts a benchmark needs already exist (someone may be mid-edit); the
// benchmark then runs against the existing build, with a warning.
function nativeBuild() {
  return once('native', async () => {
    if (!opts.nativeBuild) return;
    log('build: make -C native -j2');
    const r = await run('make', ['-C', NATIVE, '-j2'], { timeout: 600_000 });
    if (r.code !== 0) log(`warning: ${describeFailure('make -C native', r)}\nwarning: using the existing native/build`);
  });
}

async function needNative(...files) {
  await nativeBuild();
  for (const f of files)
    if (!existsSync(f)) throw new Error(`${f} does not exist (make -C native failed or does not build it yet)`);
}

const CFLAGS = ['-O2', '-g', '-Wall', '-Wextra', '-D_GNU_SOURCE', '-pthread'];

function cc(out, src, extra = []) {
  return once(out, async () => {
    await mustRun(`cc ${src}`, 'cc', [...CFLAGS, '-std=gnu11', join(BENCH, src), '-o', join(OUT, out), ...extra], {
      env: process.env,
    });
    return join(OUT, out);
  });
}

// Link with libcoroscope even though hook_read.c references none of its
// symbols (--no-as-needed), and find it at run time without LD_LIBRARY_PATH.
const linkEngine = () => [
  '-I',
  ENGINE_INC,
  '-L',
  NATIVE_BUILD,
  '-Wl,--no-as-needed',
  '-lcoroscope',
  '-Wl,--as-needed',
  `-Wl,-rpath,${NATIVE_BUILD}`,
];

function goBuild(out, src) {
  return once(out, async () => {
    await mustRun(`go build ${src}`, 'go', ['build', '-o', join(OUT, out), join(BENCH, src)], {
      env: GO_ENV(),
      timeout: 300_000,
    });
    return join(OUT, out);
  });
}

// ---- result rows ---------------------------------------------------------

// ratio is always ours / peer; `better` says whether lower or higher is
// better for value and ratio alike.
function row({ name, title, value, unit, peer, peer_value, better, target, meets_target, detail = {}, notes = [] }) {
  const ratio = Number.isFinite(value) && Number.isFinite(peer_value) && peer_value !== 0 ? value / peer_value : null;
  return { name, title, value, unit, peer, peer_value, ratio, better, target, meets_target, notes, detail };
}

function errorRow(name, title, unit, better, target, peer, err) {
  return {
    name,
    title,
    value: null,
    unit,
    peer,
    peer_value: null,
    ratio: null,
    better,
    target,
    meets_target: false,
    notes: [],
    detail: {},
    error: String(err && err.message ? err.message : err),
  };
}

const round4 = (x) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : x);

// ---- 1. context switch ---------------------------------------------------

async function benchCtxSwitch() {
  const meta = {
    name: 'ctx_switch',
    title: 'context switch',
    unit: 'ns/switch',
    better: 'lower',
    target: '<= 10 ns and <= 1.00x peer',
    peer: 'Boost.Context fcontext',
  };
  try {
    if (process.arch !== 'x64') throw new Error('the engine has an x86-64 context switch only');
    const exe = join(OUT, 'ctx_switch');
    await once(exe, () =>
      mustRun(
        'c++ ctx_switch.cpp',
        'c++',
        [
          '-O2',
          '-g',
          '-std=c++17',
          '-Wall',
          '-Wextra',
          '-I',
          ENGINE_SRC,
          join(BENCH, 'c', 'ctx_switch.cpp'),
          join(ENGINE_SRC, 'context_x86_64.S'),
          '-o',
          exe,
          '-lboost_context',
        ],
        {
          env: process.env,
        },
      ),
    );
    const ours = [];
    const slow = [];
    const boost = [];
    for (let i = 0; i < opts.reps; i++) {
      const j = lastJson('ctx_switch', (await mustRun('ctx_switch', exe, ['5000000', '5'])).stdout);
      ours.push(median(j.ours_ns));
      slow.push(median(j.ours_fp_differs_ns));
      boost.push(median(j.boost_ns));
      log(
        `  ctx_switch rep ${i + 1}: ours ${ours.at(-1).toFixed(2)} ns (FP state differs: ${slow.at(-1).toFixed(2)} ns), boost ${boost.at(-1).toFixed(2)} ns`,
      );
    }
    const value = median(ours);
    const peer_value = median(boost);
    return [
      row({
        ...meta,
        value: round4(value),
        peer_value: round4(peer_value),
        meets_target: value <= 10 && value / peer_value <= 1.0,
        notes: [
          `ours with different MXCSR/x87 control on the two sides (the switch never touches it; the scheduler saves it only for coroutines that changed it): ${median(slow).toFixed(2)} ns/switch`,
        ],
        detail: {
          reps_ours_ns: ours.map(round4),
          reps_ours_fp_differs_ns: slow.map(round4),
          reps_peer_ns: boost.map(round4),
          method:
            'ping-pong, 10M switches per round, median of 5 rounds per process, ours and Boost alternating in the same process; value = ours with equal FP control state on both sides',
        },
      }),
    ];
  } catch (e) {
    return [errorRow(meta.name, meta.title, meta.unit, meta.better, meta.target, meta.peer, e)];
  }
}

// ---- 2. yield through the scheduler --------------------------------------

async function benchYield() {
  const meta = {
    name: 'yield',
    title: 'yield via scheduler (1 worker)',
    unit: 'ns/yield',
    better: 'lower',
    target: '<= 30 ns',
    peer: 'Go runtime.Gosched, GOMAXPROCS=1',
  };
  const ours = [];
  const go = [];
  try {
    await needNative(LIB);
    const [exe, goExe] = await Promise.all([
      cc('yield', 'c/yield.c', linkEngine()),
      goBuild('gosched', 'go/gosched.go'),
    ]);
    for (let i = 0; i < opts.reps; i++) {
      const a = lastJson('yield', (await mustRun('yield', exe, ['2000000', '3'], { timeout: 30_000 })).stdout);
      const b = lastJson('gosched', (await mustRun('gosched', goExe, ['2000000', '3'], { timeout: 30_000 })).stdout);
      ours.push(median(a.ns_per_yield));
      go.push(median(b.ns_per_yield));
      log(`  yield rep ${i + 1}: ours ${ours.at(-1).toFixed(2)} ns, go ${go.at(-1).toFixed(2)} ns`);
    }
    const value = median(ours);
    return [
      row({
        ...meta,
        value: round4(value),
        peer_value: round4(median(go)),
        meets_target: value <= 30,
        detail: {
          reps_ours_ns: ours.map(round4),
          reps_peer_ns: go.map(round4),
          method: '2 coroutines x 2M yields, time measured inside the coroutines, median of 3 rounds per process',
        },
      }),
    ];
  } catch (e) {
    const r = errorRow(meta.name, meta.title, meta.unit, meta.better, meta.target, meta.peer, e);
    if (ours.length) {
      r.detail = { reps_ours_ns: ours.map(round4), reps_peer_ns: go.map(round4) };
      r.error += ` (after ${ours.length} complete run(s): ours ${ours.map((x) => x.toFixed(2)).join(', ')} ns/yield)`;
    }
    return [r];
  }
}

// ---- 3. hook pass-through overhead ---------------------------------------

// Instructions per call (user space, callgrind) of a hook_read binary: the
// difference of two runs with different call counts cancels start-up.
async function irPerCall(exe) {
  const counts = [];
  const n = [100000, 200000];
  for (const k of n) {
    const f = join(OUT, `callgrind.${exe.split('/').at(-1)}.${k}`);
    await mustRun('valgrind', 'valgrind', ['--tool=callgrind', `--callgrind-out-file=${f}`, exe, String(k), '1'], {
      timeout: 300_000,
    });
    const m = /^summary:\s*(\d+)/m.exec(readFileSync(f, 'utf8'));
    if (!m) throw new Error(`no summary in ${f}`);
    counts.push(Number(m[1]));
  }
  // hook_read makes n/10+1 warm-up calls plus n timed calls.
  const calls = (k) => Math.floor(k / 10) + 1 + k;
  return (counts[1] - counts[0]) / (calls(n[1]) - calls(n[0]));
}

async function haveValgrind() {
  const r = await run('valgrind', ['--version'], { timeout: 10_000 });
  return r.code === 0;
}

async function benchHook() {
  const meta = {
    name: 'hook',
    title: 'hook pass-through (read, plain thread)',
    unit: 'ns/call',
    better: 'lower',
    target: '<= 5 ns overhead',
    peer: 'glibc read(), no coroscope',
  };
  try {
    await needNative(LIB);
    const [plain, hooked] = await Promise.all([
      cc('hook_read_plain', 'c/hook_read.c', ['-ldl']),
      cc('hook_read_hooked', 'c/hook_read.c', [...linkEngine(), '-ldl']),
    ]);
    const p = [];
    const h = [];
    let readFrom = '?';
    for (let i = 0; i < opts.reps; i++) {
      // Alternate the order so drift does not favour one side.
      const order = i & 1 ? [hooked, plain] : [plain, hooked];
      for (const exe of order) {
        const j = lastJson('hook_read', (await mustRun('hook_read', exe, ['1000000', '5'])).stdout);
        if (exe === hooked) {
          readFrom = j.read_from;
          h.push(median(j.ns_per_call));
        } else p.push(median(j.ns_per_call));
      }
      log(`  hook rep ${i + 1}: plain ${p.at(-1).toFixed(2)} ns, hooked ${h.at(-1).toFixed(2)} ns`);
    }
    if (!readFrom.includes('libcoroscope'))
      throw new Error(
        `read() in the linked binary resolves to ${readFrom}, not libcoroscope.so: this build does not hook read()`,
      );
    const plainNs = median(p);
    const hookedNs = median(h);
    const overhead = hookedNs - plainNs;
    const pairDiffs = h.map((x, i) => x - p[i]);
    const detail = {
      plain_ns_per_call: round4(plainNs),
      hooked_ns_per_call: round4(hookedNs),
      reps_plain_ns: p.map(round4),
      reps_hooked_ns: h.map(round4),
      median_pairwise_overhead_ns: round4(median(pairDiffs)),
      method:
        'read(fd, buf, 0) on /dev/zero, 1M calls x 5 rounds per process; same source linked with and without -lcoroscope',
    };
    const notes = [`ratio = hooked/plain ns per call (${hookedNs.toFixed(1)} / ${plainNs.toFixed(1)})`];
    if (opts.callgrind && (await haveValgrind())) {
      const irPlain = await irPerCall(plain);
      const irHooked = await irPerCall(hooked);
      detail.user_instructions_per_call_plain = round4(irPlain);
      detail.user_instructions_per_call_hooked = round4(irHooked);
      notes.push(
        `callgrind: ${irHooked.toFixed(1)} vs ${irPlain.toFixed(1)} user-space instructions per call (+${(irHooked - irPlain).toFixed(1)})`,
      );
    }
    const r = row({
      ...meta,
      value: round4(overhead),
      peer_value: round4(plainNs),
      meets_target: overhead <= 5,
      detail,
      notes,
    });
    r.ratio = round4(hookedNs / plainNs);
    r.unit = 'ns/call overhead';
    return [r];
  } catch (e) {
    return [errorRow(meta.name, meta.title, meta.unit, meta.better, meta.target, meta.peer, e)];
  }
}

// ---- 4. 100k sleeping coroutines -----------------------------------------

async function benchSleep100k() {
  const wallMeta = {
    name: 'sleep100k_wall',
    title: '100k coroutines x usleep(100ms): wall',
    unit: 's',
    better: 'lower',
    target: '<= 0.3 s',
    peer: 'Go: 100k goroutines time.Sleep',
  };
  const rssMeta = {
    name: 'sleep100k_rss',
    title: '100k coroutines x usleep(100ms): RSS',
    unit: 'KiB/coroutine',
    better: 'lower',
    target: '<= 16 KiB',
    peer: 'Go: 100k goroutines time.Sleep',
  };
  try {
    await needNative(LIB);
    const [exe, goExe] = await Promise.all([
      cc('sleep100k', 'c/sleep100k.c', linkEngine()),
      goBuild('sleep100k_go', 'go/sleep100k.go'),
    ]);
    const ours = [];
    const go = [];
    for (let i = 0; i < opts.reps; i++) {
      ours.push(lastJson('sleep100k', (await mustRun('sleep100k', exe, ['100000', '100000'])).stdout));
      go.push(lastJson('sleep100k_go', (await mustRun('sleep100k_go', goExe, ['100000', '100000'])).stdout));
      const a = ours.at(-1);
      const b = go.at(-1);
      log(
        `  sleep100k rep ${i + 1}: ours ${a.wall_s.toFixed(3)} s ${(a.rss_per_co_bytes / 1024).toFixed(2)} KiB (max live ${a.max_live}), ` +
          `go ${b.wall_s.toFixed(3)} s ${(b.rss_per_co_bytes / 1024).toFixed(2)} KiB (max live ${b.max_live})`,
      );
    }
    const med = (xs, k) => median(xs.map((x) => x[k]));
    const wall = med(ours, 'wall_s');
    const rss = med(ours, 'rss_per_co_bytes') / 1024;
    const maxLive = med(ours, 'max_live');
    const goMaxLive = med(go, 'max_live');
    // Peak RSS over the coroutines that were really alive at the peak.
    const perLive = median(ours.map((x) => ((x.hwm_kib - x.rss_before_kib) * 1024) / x.max_live / 1024));
    const goPerLive = median(go.map((x) => ((x.hwm_kib - x.rss_before_kib) * 1024) / x.max_live / 1024));
    const detail = {
      reps_ours: ours,
      reps_peer: go,
      spawn_s_ours: round4(med(ours, 'spawn_s')),
      spawn_s_peer: round4(med(go, 'spawn_s')),
      max_live_ours: maxLive,
      max_live_peer: goMaxLive,
      kib_per_live_coroutine_ours: round4(perLive),
      kib_per_live_goroutine_peer: round4(goPerLive),
    };
    const wallNotes = [];
    const rssNotes = [];
    if (maxLive < 100000 || goMaxLive < 100000) {
      wallNotes.push(
        `spawning 100k took ${med(ours, 'spawn_s').toFixed(3)} s (Go ${med(go, 'spawn_s').toFixed(3)} s), longer than the 100 ms sleep, ` +
          `so they did not all sleep at once (max live: ours ${maxLive}, Go ${goMaxLive})`,
      );
      rssNotes.push(
        `peak RSS / 100k understates the cost of a live coroutine because not all were alive at the peak: ` +
          `${perLive.toFixed(2)} KiB per live coroutine (Go ${goPerLive.toFixed(2)} KiB per live goroutine)`,
      );
    }
    return [
      row({
        ...wallMeta,
        value: round4(wall),
        peer_value: round4(med(go, 'wall_s')),
        meets_target: wall <= 0.3,
        detail,
        notes: wallNotes,
      }),
      row({
        ...rssMeta,
        value: round4(rss),
        peer_value: round4(med(go, 'rss_per_co_bytes') / 1024),
        meets_target: rss <= 16,
        detail: { see: 'sleep100k_wall' },
        notes: rssNotes,
      }),
    ];
  } catch (e) {
    return [
      errorRow(wallMeta.name, wallMeta.title, wallMeta.unit, wallMeta.better, wallMeta.target, wallMeta.peer, e),
      errorRow(rssMeta.name, rssMeta.title, rssMeta.unit, rssMeta.better, rssMeta.target, rssMeta.peer, e),
    ];
  }
}

// ---- 5. echo, 1000 connections, one worker ------------------------------

// Start a server, wait for its "listening on HOST:PORT" line.
function startServer(what, cmd, args, env) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let done = false;
    const fail = (msg) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      rej(new Error(`${what}: ${msg}${err.trim() ? `\n${err.trim().slice(-500)}` : ''}`));
    };
    const timer = setTimeout(() => fail('no "listening on" line within 10 s'), 10_000);
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on ([\d.]+):(\d+)/.exec(out);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        res({ child, host: m[1], port: Number(m[2]), stderr: () => err });
      }
    });
    child.on('error', (e) => fail(String(e)));
    child.on('exit', (code, sig) => fail(`exited (${sig || code}) before listening`));
  });
}

// SIGTERM, then SIGKILL after 5 s. Only ever the child we started.
function stopServer(srv) {
  return new Promise((res) => {
    const c = srv.child;
    if (c.exitCode !== null || c.signalCode !== null) return res();
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    c.once('exit', () => {
      clearTimeout(t);
      res();
    });
    c.kill('SIGTERM');
  });
}

async function echoOnce(what, cmd, args, env, client) {
  const srv = await startServer(what, cmd, args, env);
  try {
    const r = await run(
      client,
      [
        '--host',
        srv.host,
        '--port',
        String(srv.port),
        '--conns',
        '1000',
        '--size',
        '64',
        '--duration',
        String(opts.echoDuration),
        '--warmup',
        '1',
      ],
      {
        timeout: (opts.echoDuration + 60) * 1000,
      },
    );
    const m = /requests_per_sec=([\d.eE+-]+)/.exec(r.stdout);
    const e = /errors=(\d+)/.exec(r.stdout);
    if (r.code !== 0 || !m)
      throw new Error(
        describeFailure(`echo_client against ${what}`, r) + `\nserver stderr: ${srv.stderr().trim().slice(-300)}`,
      );
    return { rps: Number(m[1]), errors: e ? Number(e[1]) : null, line: r.stdout.trim() };
  } finally {
    await stopServer(srv);
  }
}

async function benchEcho() {
  const meta = {
    name: 'echo',
    title: 'echo, 1000 conns x 64 B, 1 server worker',
    unit: 'req/s',
    better: 'higher',
    target: '>= 1.00x peer',
    peer: 'Go net, goroutine/conn, GOMAXPROCS=1',
  };
  try {
    const server = join(NATIVE_BUILD, 'examples', 'echo_server');
    const client = join(NATIVE_BUILD, 'examples', 'echo_client');
    await needNative(LIB, server, client);
    const goExe = await goBuild('echo_server_go', 'go/echo_server.go');
    const ours = [];
    const go = [];
    for (let i = 0; i < opts.reps; i++) {
      const order = i & 1 ? ['go', 'ours'] : ['ours', 'go'];
      for (const which of order) {
        if (which === 'ours')
          ours.push(
            await echoOnce(
              'echo_server (coroscope)',
              server,
              ['--port', '0'],
              cleanEnv({ COROSCOPE_WORKERS: '1' }),
              client,
            ),
          );
        else go.push(await echoOnce('echo_server (Go)', goExe, ['--port', '0'], cleanEnv({ GOMAXPROCS: '1' }), client));
      }
      log(`  echo rep ${i + 1}: ours ${ours.at(-1).rps.toFixed(0)} req/s, go ${go.at(-1).rps.toFixed(0)} req/s`);
    }
    const value = median(ours.map((x) => x.rps));
    const peer_value = median(go.map((x) => x.rps));
    const errs = [...ours, ...go].reduce((s, x) => s + (x.errors || 0), 0);
    const notes = errs ? [`echo_client reported ${errs} errors over all runs`] : [];
    const span = (xs) =>
      `${Math.round(Math.min(...xs)).toLocaleString('en-US')}..${Math.round(Math.max(...xs)).toLocaleString('en-US')}`;
    notes.push(
      `spread over ${opts.reps} runs: ours ${span(ours.map((x) => x.rps))}, Go ${span(go.map((x) => x.rps))} req/s (client and server share the cores)`,
    );
    return [
      row({
        ...meta,
        value: Math.round(value),
        peer_value: Math.round(peer_value),
        meets_target: value / peer_value >= 1.0,
        notes,
        detail: {
          reps_ours: ours.map((x) => x.rps),
          reps_peer: go.map((x) => x.rps),
          client: `echo_client --conns 1000 --size 64 --duration ${opts.echoDuration} --warmup 1 (default workers); servers: COROSCOPE_WORKERS=1 / GOMAXPROCS=1; nothing pinned`,
        },
      }),
    ];
  } catch (e) {
    return [errorRow(meta.name, meta.title, meta.unit, meta.better, meta.target, meta.peer, e)];
  }
}

// ---- table ---------------------------------------------------------------

// ---- 5c. stacks at parks and preemptions (native/engine/src/emit_stack.h) ----
// The capture a park adds, per mode (c/stack_capture.c: a coroutine 10 calls deep,
// built with frame pointers, captures its stack through coroscope__stack_capture:
// the frame-pointer walk, libunwind, glibc's backtrace); and echo req/s while
// recording with stacks on (COROSCOPE_STACKS=1, a stack at every park) vs off,
// interleaved.

async function benchStacks() {
  const rows = [];
  const modes = [
    ['fp', 'frame pointers'],
    ['unwind', 'libunwind (unw_backtrace)'],
    ['backtrace', "glibc's backtrace (libgcc)"],
  ];
  let exe;
  for (const [mode, what] of modes) {
    const meta = {
      name: `stack_capture_${mode}`,
      title: `stack capture at a park, 11 frames, ${what}`,
      unit: 'ns/capture',
      better: 'lower',
      target: '<= 1000 ns',
      peer: '—',
    };
    try {
      await needNative(LIB);
      exe ??= await cc('stack_capture', 'c/stack_capture.c', ['-fno-omit-frame-pointer', ...linkEngine()]);
      const reps = [];
      let frames = 0;
      for (let i = 0; i < opts.reps; i++) {
        const j = lastJson(
          'stack_capture',
          (
            await mustRun('stack_capture', exe, [mode === 'backtrace' ? '20000' : '200000', '3'], {
              env: cleanEnv({ COROSCOPE_STACKS: mode }),
              timeout: 120_000,
            })
          ).stdout,
        );
        reps.push(median(j.ns_per_capture));
        frames = j.frames;
      }
      log(`  ${meta.name}: ${reps.map((x) => x.toFixed(1)).join(', ')} ns`);
      const value = median(reps);
      rows.push(
        row({
          ...meta,
          value: round4(value),
          peer_value: null,
          meets_target: value <= 1000,
          detail: { reps_ns: reps.map(round4), frames, method: 'median of 3 rounds per run, median over runs' },
        }),
      );
    } catch (e) {
      rows.push(errorRow(meta.name, meta.title, meta.unit, meta.better, meta.target, meta.peer, e));
    }
  }
  const eMeta = {
    name: 'stacks_echo',
    title: 'echo, recording, a stack at every park (on vs off)',
    unit: 'req/s',
    better: 'higher',
    target: '>= 0.91x off (<= 1.1x cost)',
    peer: 'COROSCOPE_STACKS=0',
  };
  try {
    const server = join(NATIVE_BUILD, 'examples', 'echo_server');
    const client = join(NATIVE_BUILD, 'examples', 'echo_client');
    await needNative(LIB, server, client);
    const trace = join(OUT, 'stacks.cstrace');
    const on = [];
    const off = [];
    for (let i = 0; i < opts.reps; i++) {
      for (const v of i & 1 ? ['0', '1'] : ['1', '0'])
        (v === '1' ? on : off).push(
          await echoOnce(
            `echo_server (COROSCOPE_STACKS=${v})`,
            server,
            ['--port', '0'],
            cleanEnv({ COROSCOPE_WORKERS: '1', COROSCOPE_STACKS: v, COROSCOPE_TRACE: trace }),
            client,
          ),
        );
      log(`  stacks_echo rep ${i + 1}: on ${on.at(-1).rps.toFixed(0)} req/s, off ${off.at(-1).rps.toFixed(0)} req/s`);
    }
    const value = median(on.map((x) => x.rps)),
      peer_value = median(off.map((x) => x.rps));
    rows.push(
      row({
        ...eMeta,
        value: Math.round(value),
        peer_value: Math.round(peer_value),
        meets_target: value / peer_value >= 0.91,
        detail: {
          reps_ours: on.map((x) => x.rps),
          reps_peer: off.map((x) => x.rps),
          client: `echo_client --conns 1000 --size 64 --duration ${opts.echoDuration} --warmup 1; server COROSCOPE_WORKERS=1, recording (COROSCOPE_TRACE); echo_server is built without -fno-omit-frame-pointer, so its stacks come from the unwinder`,
        },
      }),
    );
  } catch (e) {
    rows.push(errorRow(eMeta.name, eMeta.title, eMeta.unit, eMeta.better, eMeta.target, eMeta.peer, e));
  }
  return rows;
}

// ---- 5b. the OS's share: tracking descheduling, on vs off ------------------
// (COROSCOPE_OSSCHED: while telemetry is on each worker keeps a perf context-switch
// ring and drains it at every coroutine switch, native/engine/src/ossched.h). Rows
// ours = on, peer = off, interleaved, both recording (COROSCOPE_TRACE, the ring is
// closed otherwise): ns per yield (c/yield.c, one worker) and echo req/s (one server
// worker); and the kernel's price per context switch (c/ossched_switch.c).

async function benchOssched() {
  const trace = join(OUT, 'ossched.cstrace');
  const yMeta = {
    name: 'ossched_yield',
    title: "yield, recording, with the OS's share tracked (on vs off)",
    unit: 'ns/yield',
    better: 'lower',
    target: '<= 1.05x off',
    peer: 'COROSCOPE_OSSCHED=0',
  };
  const eMeta = {
    name: 'ossched_echo',
    title: "echo, recording, with the OS's share tracked (on vs off)",
    unit: 'req/s',
    better: 'higher',
    target: '>= 0.95x off',
    peer: 'COROSCOPE_OSSCHED=0',
  };
  const rows = [];
  try {
    await needNative(LIB);
    const exe = await cc('yield', 'c/yield.c', linkEngine());
    const on = [];
    const off = [];
    for (let i = 0; i < opts.reps; i++) {
      for (const v of i & 1 ? ['0', '1'] : ['1', '0']) {
        const j = lastJson(
          'yield',
          (
            await mustRun('yield', exe, ['2000000', '3'], {
              env: cleanEnv({ COROSCOPE_OSSCHED: v, COROSCOPE_TRACE: trace }),
              timeout: 60_000,
            })
          ).stdout,
        );
        (v === '1' ? on : off).push(median(j.ns_per_yield));
      }
      log(`  ossched_yield rep ${i + 1}: on ${on.at(-1).toFixed(2)} ns, off ${off.at(-1).toFixed(2)} ns`);
    }
    const value = median(on),
      peer_value = median(off);
    rows.push(
      row({
        ...yMeta,
        value: round4(value),
        peer_value: round4(peer_value),
        meets_target: value / peer_value <= 1.05,
        detail: {
          reps_ours_ns: on.map(round4),
          reps_peer_ns: off.map(round4),
          method: '2 coroutines x 2M yields on one worker, on/off interleaved',
        },
      }),
    );
  } catch (e) {
    rows.push(errorRow(yMeta.name, yMeta.title, yMeta.unit, yMeta.better, yMeta.target, yMeta.peer, e));
  }
  try {
    const server = join(NATIVE_BUILD, 'examples', 'echo_server');
    const client = join(NATIVE_BUILD, 'examples', 'echo_client');
    await needNative(LIB, server, client);
    const on = [];
    const off = [];
    for (let i = 0; i < opts.reps; i++) {
      for (const v of i & 1 ? ['0', '1'] : ['1', '0'])
        (v === '1' ? on : off).push(
          await echoOnce(
            `echo_server (COROSCOPE_OSSCHED=${v})`,
            server,
            ['--port', '0'],
            cleanEnv({ COROSCOPE_WORKERS: '1', COROSCOPE_OSSCHED: v, COROSCOPE_TRACE: trace }),
            client,
          ),
        );
      log(`  ossched_echo rep ${i + 1}: on ${on.at(-1).rps.toFixed(0)} req/s, off ${off.at(-1).rps.toFixed(0)} req/s`);
    }
    const value = median(on.map((x) => x.rps)),
      peer_value = median(off.map((x) => x.rps));
    rows.push(
      row({
        ...eMeta,
        value: Math.round(value),
        peer_value: Math.round(peer_value),
        meets_target: value / peer_value >= 0.95,
        detail: {
          reps_ours: on.map((x) => x.rps),
          reps_peer: off.map((x) => x.rps),
          client: `echo_client --conns 1000 --size 64 --duration ${opts.echoDuration} --warmup 1; server COROSCOPE_WORKERS=1, recording (COROSCOPE_TRACE)`,
        },
      }),
    );
  } catch (e) {
    rows.push(errorRow(eMeta.name, eMeta.title, eMeta.unit, eMeta.better, eMeta.target, eMeta.peer, e));
  }
  const kMeta = {
    name: 'ossched_kswitch',
    title: 'kernel context switch of a thread recording its switches',
    unit: 'ns/switch',
    better: 'lower',
    target: '—',
    peer: 'not recording',
  };
  try {
    const exe = await cc('ossched_switch', 'c/ossched_switch.c');
    const on = [];
    const off = [];
    for (let i = 0; i < opts.reps; i++) {
      const j = lastJson(
        'ossched_switch',
        (await mustRun('ossched_switch', exe, ['100000', '4'], { timeout: 60_000 })).stdout,
      );
      on.push(median(j.on_ns) / 2);
      off.push(median(j.off_ns) / 2);
      log(`  ossched_kswitch rep ${i + 1}: on ${on.at(-1).toFixed(0)} ns, off ${off.at(-1).toFixed(0)} ns per switch`);
    }
    const value = median(on),
      peer_value = median(off);
    rows.push(
      row({
        ...kMeta,
        value: Math.round(value),
        peer_value: Math.round(peer_value),
        meets_target: true,
        notes: [
          `ossched_kswitch: each switch between two tracked threads writes a SWITCH_OUT and a SWITCH_IN record; +${Math.round(value - peer_value)} ns per switch here (a worker pays it at each kernel context switch: waking from idle, being preempted)`,
        ],
        detail: {
          reps_ours_ns: on.map(round4),
          reps_peer_ns: off.map(round4),
          method:
            'two threads pinned to one CPU, pipe ping-pong, 100k round trips per round, 4 rounds on/off alternating per process; ns per switch = round trip / 2',
        },
      }),
    );
  } catch (e) {
    rows.push(errorRow(kMeta.name, kMeta.title, kMeta.unit, kMeta.better, kMeta.target, kMeta.peer, e));
  }
  return rows;
}

function fmt(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(1);
  if (a >= 10) return x.toFixed(2);
  return x.toFixed(3);
}

function printTable(rows) {
  const head = ['benchmark', 'ours', 'unit', 'peer', 'peer value', 'ratio ours/peer', 'better', 'target', 'result'];
  const body = rows.map((r) => [
    r.title || r.name,
    fmt(r.value),
    r.unit,
    r.peer,
    fmt(r.peer_value),
    Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}x` : '-',
    r.better,
    r.target,
    r.error ? 'ERROR' : r.meets_target ? 'pass' : 'FAIL',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (i === 1 || i === 4 || i === 5 ? c.padStart(w[i]) : c.padEnd(w[i]))).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`);
  for (const b of body) console.log(line(b));
  const notes = [];
  for (const r of rows) {
    if (r.error) notes.push(`${r.name}: ERROR: ${r.error}`);
    for (const n of r.notes || []) notes.push(`${r.name}: ${n}`);
  }
  if (notes.length) {
    console.log('\nnotes:');
    for (const n of [...new Set(notes)]) console.log(`  - ${n.replace(/\n/g, '\n    ')}`);
  }
}

// ---- 6-7. preemption: latency next to a CPU hog, monitor overhead --------
// (bench/preempt_rows.mjs, c/preempt_overhead.c, go/preempt_hog.go)

const PREEMPT_RUNNERS = preemptBenchmarks({
  opts,
  log,
  mustRun,
  lastJson,
  median,
  row,
  errorRow,
  round4,
  cleanEnv,
  needNative,
  cc,
  goBuild,
  linkEngine,
  nativeBuild: () => NATIVE_BUILD,
  lib: () => LIB,
});

// ---- 8. event ring: producer ns/event, consumer throughput ---------------
// (c/ring_bench.c compiles native/wire/ring.c in; no engine library)

async function benchRing() {
  const prodMeta = {
    name: 'ring_producer',
    title: 'event ring: producer (consumer draining)',
    unit: 'ns/event',
    better: 'lower',
    target: '<= 25 ns',
    peer: '—',
  };
  const consMeta = {
    name: 'ring_consumer',
    title: 'event ring: consumer read',
    unit: 'M events/s',
    better: 'higher',
    target: '>= 20 M/s',
    peer: 'memcpy of the same bytes',
  };
  try {
    const exe = await cc('ring_bench', 'c/ring_bench.c');
    const reps = [];
    for (let i = 0; i < opts.reps; i++) {
      const j = lastJson(
        'ring_bench',
        (await mustRun('ring_bench', exe, ['10000000', '3'], { timeout: 60_000 })).stdout,
      );
      reps.push({
        producer_ns: median(j.producer_ns),
        consumer_meps: median(j.consumer_meps),
        memcpy_meps: median(j.memcpy_meps),
        dropped: j.dropped,
      });
      const r = reps.at(-1);
      log(
        `  ring rep ${i + 1}: producer ${r.producer_ns.toFixed(2)} ns/event (dropped ${r.dropped}), consumer ${r.consumer_meps.toFixed(0)} M/s, memcpy ${r.memcpy_meps.toFixed(0)} M/s`,
      );
    }
    const med = (k) => median(reps.map((r) => r[k]));
    const prod = med('producer_ns');
    const cons = med('consumer_meps');
    const dropped = reps.reduce((s, r) => s + r.dropped, 0);
    const prodNotes = dropped
      ? [`${dropped} events were dropped over all runs: the consumer did not keep up, the value includes the drop path`]
      : [];
    return [
      row({
        ...prodMeta,
        value: round4(prod),
        peer_value: null,
        meets_target: prod <= 25,
        notes: prodNotes,
        detail: {
          reps_ns: reps.map((r) => round4(r.producer_ns)),
          dropped,
          method:
            'cs_ring_write of 10M records built in the loop (no clock read) into a 1 Mi-record ring + one flush, a consumer thread draining in batches of 256; median of 3 rounds per process',
        },
      }),
      row({
        ...consMeta,
        value: round4(cons),
        peer_value: round4(med('memcpy_meps')),
        meets_target: cons >= 20,
        detail: {
          reps_meps: reps.map((r) => round4(r.consumer_meps)),
          reps_memcpy_meps: reps.map((r) => round4(r.memcpy_meps)),
          method:
            'one thread: fill a 64 Ki-record ring (4 MiB), drain it with cs_ring_read in batches of 256 into a 16 KiB buffer, 20 fills per round; reference: memcpy of the same slots in the same chunks after the same fill; median of 3 rounds per process',
        },
      }),
    ];
  } catch (e) {
    return [
      errorRow(prodMeta.name, prodMeta.title, prodMeta.unit, prodMeta.better, prodMeta.target, prodMeta.peer, e),
      errorRow(consMeta.name, consMeta.title, consMeta.unit, consMeta.better, consMeta.target, consMeta.peer, e),
    ];
  }
}

// ---- 9-11. the Node core: ingest into the Session store, bytes/event, export
// (bench/core_rows.mjs, bench/core_ingest.ts, c/event_producer.c)

// What run.mjs hands to the row modules (bench/core_rows.mjs, bench/ui_rows.mjs).
const ROW_HELPERS = {
  opts,
  log,
  run,
  mustRun,
  lastJson,
  median,
  row,
  errorRow,
  round4,
  cleanEnv,
  needNative,
  cc,
  linkEngine,
  goBuild,
  bench: BENCH,
  root: ROOT,
  nativeBuild: () => NATIVE_BUILD,
  lib: () => LIB,
};

const CORE_RUNNERS = coreBenchmarks(ROW_HELPERS);

// ---- 12. the UI: first paint of a 1 M-event trace, frame times, heap while streaming
// (bench/ui_rows.mjs, bench/ui_measure.mjs, c/paced_producer.c; Playwright + /usr/bin/chromium)

const UI_RUNNERS = uiBenchmarks(ROW_HELPERS);

// ---- 13. recording: overhead, events lost, bytes per event, next to Go's runtime/trace and strace
// (bench/rec_rows.mjs, rec_count.ts, rec_account.mjs, go_trace.mjs, c/rec_workload.c, c/write1m.c, go/rec_workload.go)

const RECORDING_RUNNERS = recordingBenchmarks(ROW_HELPERS);

// ---- 14. the CLI on a ~100 M-event recording; coroscope run's memory over minutes (issue 13)
// (bench/bigtrace_rows.mjs, c/rec_workload.c, c/paced_producer.c)

const BIGTRACE_RUNNERS = bigtraceBenchmarks(ROW_HELPERS);

// ---- main ----------------------------------------------------------------

const FDDESC_RUNNERS = fddescBenchmarks({
  opts,
  log,
  mustRun,
  lastJson,
  median,
  row,
  errorRow,
  round4,
  cleanEnv,
  needNative,
  cc,
  linkEngine,
  echoOnce,
  nativeBuild: () => NATIVE_BUILD,
  lib: () => LIB,
  out: OUT,
});

const RUNNERS = {
  ctx_switch: benchCtxSwitch,
  yield: benchYield,
  hook: benchHook,
  sleep100k: benchSleep100k,
  echo: benchEcho,
  ossched: benchOssched,
  stacks: benchStacks,
  ...FDDESC_RUNNERS,
  ...PREEMPT_RUNNERS,
  ring: benchRing,
  ...CORE_RUNNERS,
  ...UI_RUNNERS,
  ...RECORDING_RUNNERS,
  ...BIGTRACE_RUNNERS,
};

async function main() {
  const names = opts.only.length ? BENCHMARKS.filter((n) => opts.only.includes(n)) : BENCHMARKS;
  log(`coroscope bench: ${names.join(', ')}; ${opts.reps} reps each, medians`);
  log(`machine: ${os.cpus()[0]?.model ?? '?'} x ${os.cpus().length}, Linux ${os.release()}, node ${process.version}`);
  const rows = [];
  for (const n of names) {
    log(`\n== ${n}`);
    const t0 = Date.now();
    const got = await RUNNERS[n]();
    for (const r of got) if (r.error) log(`  ${r.name}: ERROR: ${r.error}`);
    log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    rows.push(...got);
  }
  // results.json: the fields every row has first, extras after.
  const out = rows.map(({ name, value, unit, peer, peer_value, ratio, better, target, meets_target, ...rest }) => ({
    name,
    value,
    unit,
    peer,
    peer_value,
    ratio: Number.isFinite(ratio) ? round4(ratio) : null,
    better,
    target,
    meets_target,
    ...rest,
  }));
  writeFileSync(RESULTS, JSON.stringify(out, null, 2) + '\n');
  console.log('');
  printTable(out);
  console.log(`\nwrote ${RESULTS}`);
  const errors = out.filter((r) => r.error).length;
  const misses = out.filter((r) => !r.error && !r.meets_target).length;
  if (errors) process.exit(1);
  if (opts.strict && misses) process.exit(2);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
