// Unmodified programs run with LD_PRELOAD=libcoroscope.so behave exactly as
// without it: same stdout, same stderr, same exit status. Their calls go
// through the hooks but never run inside a coroutine, so they pass through.
//
// The C helper programs live in native/test/progs/ and are compiled here with
// `cc` into a temporary directory (native/test/*.c are test programs, built by
// the Makefile; these are not).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const buildDir = resolve(process.env.COROSCOPE_TEST_BUILD_DIR || join(here, '..', 'build'));
const lib = join(buildDir, 'libcoroscope.so');
const progs = join(here, 'progs');
const RUN_LIMIT_MS = 20000;

function cleanEnv(extra = {}) {
  const e = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('COROSCOPE_') || k === 'LD_PRELOAD') continue;
    e[k] = v;
  }
  return { ...e, ...extra };
}

// Run argv[0] with argv[1..]; returns {stdout, stderr, status, signal}.
function run(argv, { preload = false, env = {}, input } = {}) {
  const r = spawnSync(argv[0], argv.slice(1), {
    env: cleanEnv(preload ? { ...env, LD_PRELOAD: lib } : env),
    input,
    encoding: 'utf8',
    timeout: RUN_LIMIT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${argv.join(' ')}${preload ? ' (preloaded)' : ''}: ${r.error.message}`);
  if (r.signal === 'SIGKILL')
    throw new Error(`${argv.join(' ')}${preload ? ' (preloaded)' : ''} did not finish within ${RUN_LIMIT_MS / 1000} s`);
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, signal: r.signal };
}

// The same program with and without the preload: identical results.
function assertSameWithPreload(argv, opts = {}) {
  const plain = run(argv, opts);
  const loaded = run(argv, { ...opts, preload: true });
  assert.deepEqual(
    loaded,
    plain,
    `${argv.join(' ')} behaves differently with LD_PRELOAD=${lib} (actual) than without (expected)`,
  );
  return plain;
}

let tmp;
const bin = {};

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'coroscope-preload-'));
  for (const [name, flags] of [
    ['threads', ['-pthread']],
    ['stdin_digest', []],
  ]) {
    const out = join(tmp, name);
    const cc = spawnSync('cc', ['-O2', '-Wall', ...flags, join(progs, `${name}.c`), '-o', out], { encoding: 'utf8' });
    if (cc.error || cc.status !== 0)
      throw new Error(`cannot compile progs/${name}.c: ${cc.error ? cc.error.message : cc.stderr}`);
    bin[name] = out;
  }
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('libcoroscope.so is built', () => {
  assert.ok(existsSync(lib), `${lib} does not exist: run \`npm run build\` first`);
});

const PY = String.raw`
import select, socket, sys, threading, time
t0 = time.monotonic()
time.sleep(0.05)
assert time.monotonic() - t0 >= 0.05
a, b = socket.socketpair()
def pong():
    data = b''
    while len(data) < 5:
        data += b.recv(5 - len(data))
    b.sendall(data.upper() * 1000)
th = threading.Thread(target=pong)
th.start()
r, w, x = select.select([a], [], [], 0.05)
print('readable before ping:', bool(r))
a.sendall(b'hello')
got = b''
while len(got) < 5000:
    r, _, _ = select.select([a], [], [], 5)
    if not r:
        sys.exit('timed out waiting for pong')
    got += a.recv(65536)
th.join()
print('pong:', got[:10].decode(), len(got))
sys.stderr.write('python: done\n')
sys.exit(3)
`;

test('python3 with time.sleep, a socketpair exchange and select behaves the same with the preload', () => {
  const r = assertSameWithPreload(['python3', '-c', PY]);
  assert.equal(r.status, 3);
  assert.match(r.stdout, /^pong: HELLOHELLO 5000$/m);
});

test('a bash pipeline behaves the same with the preload', () => {
  const r = assertSameWithPreload([
    'bash',
    '-c',
    'seq 1 20000 | sort -rn | head -3; echo $?; sleep 0.05; echo to-stderr >&2; (exit 4)',
  ]);
  assert.equal(r.stdout, '20000\n19999\n19998\n0\n');
  assert.equal(r.stderr, 'to-stderr\n');
  assert.equal(r.status, 4);
});

test('a multi-threaded C program behaves the same with the preload', () => {
  const r = assertSameWithPreload([bin.threads]);
  assert.equal(r.status, 3);
  assert.match(r.stdout, /^out of order: 0$/m);
  assert.equal(r.stderr, 'threads: done\n');
});

test('a program reading its stdin from a pipe behaves the same with the preload', () => {
  let input = '';
  for (let i = 0; i < 50000; i++) input += `line ${i} ${'x'.repeat(i % 37)}\n`;
  const r = assertSameWithPreload([bin.stdin_digest], { input });
  assert.equal(r.status, 0);
  assert.match(r.stdout, new RegExp(`^bytes ${Buffer.byteLength(input)} lines 50000 `));
});

// A bad value is reported on stderr (one line, before the program's own
// output) and replaced by the default; the program runs as usual.
for (const [name, value] of [
  ['COROSCOPE_WORKERS', 'abc'],
  ['COROSCOPE_WORKERS', '0'],
  ['COROSCOPE_STACK_SIZE', 'huge'],
  ['COROSCOPE_TIME_SLICE', 'fast'],
  ['COROSCOPE_HOOK', 'maybe'],
  ['COROSCOPE_PREEMPT', '2'],
]) {
  test(`a bad ${name}=${value} is reported on stderr and the program still runs`, () => {
    const plain = run([bin.threads]);
    const loaded = run([bin.threads], { preload: true, env: { [name]: value } });
    assert.equal(loaded.status, plain.status);
    assert.equal(loaded.stdout, plain.stdout);
    const [first, ...rest] = loaded.stderr.split('\n');
    assert.ok(
      first.startsWith(`coroscope: ${name}=${value} `),
      `the first stderr line should start with "coroscope: ${name}=${value} ", got:\n${loaded.stderr}`,
    );
    assert.ok(first.length > `coroscope: ${name}=${value} `.length + 10, `the message should say what is wrong: ${first}`);
    assert.equal(rest.join('\n'), plain.stderr, 'apart from that line, stderr is unchanged');
  });
}

test('programs exec\'d by a preloaded target keep the library unless COROSCOPE_INHERIT=0', () => {
  const script = 'printf "%s" "$LD_PRELOAD"';
  const kept = run(['sh', '-c', script], { preload: true });
  assert.equal(kept.status, 0);
  assert.equal(kept.stdout, lib);
  const dropped = run(['sh', '-c', script], { preload: true, env: { COROSCOPE_INHERIT: '0' } });
  assert.equal(dropped.status, 0);
  assert.equal(dropped.stdout, '', 'with COROSCOPE_INHERIT=0 the child sees no LD_PRELOAD entry for the library');
  const others = run(['sh', '-c', script], {
    env: { COROSCOPE_INHERIT: '0', LD_PRELOAD: `/lib/x86_64-linux-gnu/libm.so.6:${lib}` },
  });
  assert.equal(others.stdout, '/lib/x86_64-linux-gnu/libm.so.6', 'other preloaded libraries stay');
});
