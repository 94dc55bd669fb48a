// Runs the engine's C tests (native/test/test_*.c, built into native/build/test/)
// under node:test.
//
// Every executable in native/build/test/ is a test program (see cs_test.h):
// `prog --list` prints its test names, `prog NAME` runs one test. Each test
// runs as its own process, in its own process group, with a time limit, and
// is reported as the node:test test "<program> › <test name>". A failure
// message carries the program's output.
//
// Environment:
//   COROSCOPE_TEST_TIMEOUT   seconds per C test (default 20)
//   COROSCOPE_TEST_FILTER    run only the tests whose "<program> › <name>"
//                            contains this string
//   COROSCOPE_TEST_BUILD_DIR the build directory (default native/build)
// Every other COROSCOPE_* variable is removed from the tests' environment:
// the C tests configure the runtime themselves.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, accessSync, constants } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'node:test';
import assert from 'node:assert/strict';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const buildDir = process.env.COROSCOPE_TEST_BUILD_DIR || join(here, '..', 'build');
const testDir = join(buildDir, 'test');
const timeoutS = Number(process.env.COROSCOPE_TEST_TIMEOUT || 20);
const filter = process.env.COROSCOPE_TEST_FILTER || '';
// Names of tests a runner leaves out (comma list), with COROSCOPE_TEST_SKIP_WHY saying why.
const skipped = new Set((process.env.COROSCOPE_TEST_SKIP || '').split(',').filter(Boolean));

function testEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('COROSCOPE_') && !k.startsWith('COROSCOPE_TEST_')) continue;
    if (k === 'LD_PRELOAD') continue;
    env[k] = v;
  }
  return env;
}

function isExecutableFile(path) {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// Run one C test; resolves with {code, signal, output, timedOut, ms}.
function runOne(program, name) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(program, [name], {
      cwd: root,
      env: testEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: a timeout kills forked children too
    });
    const chunks = [];
    child.stdout.on('data', (d) => chunks.push(d));
    child.stderr.on('data', (d) => chunks.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutS * 1000);
    child.on('error', (err) => chunks.push(Buffer.from(`cannot run ${program}: ${err.message}\n`)));
    // 'close' waits for the output pipes too: a forked child that outlives
    // the test and keeps them open runs into the time limit, which kills the
    // whole group. (The group is never signalled after the test process was
    // reaped: its id could belong to someone else by then.)
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output: Buffer.concat(chunks).toString(), timedOut, ms: Date.now() - t0 });
    });
  });
}

function describeFailure(label, r) {
  const how = r.timedOut
    ? `timed out after ${timeoutS} s (killed; it probably hangs — raise COROSCOPE_TEST_TIMEOUT if it is only slow)`
    : r.signal
      ? `was killed by ${r.signal}`
      : `exited with status ${r.code}`;
  const out = r.output.trim() ? r.output.replace(/\s+$/, '') : '(no output)';
  return `${label} ${how}\n----- output -----\n${out}\n------------------`;
}

if (!existsSync(testDir)) {
  test('C tests are built', () => {
    assert.fail(`${relative(root, testDir)} does not exist: run \`npm run build\` (make -C native) first`);
  });
} else {
  const programs = readdirSync(testDir)
    .sort()
    .map((f) => join(testDir, f))
    .filter(isExecutableFile);
  if (programs.length === 0) {
    test('C tests are built', () => {
      assert.fail(`no test programs in ${relative(root, testDir)}: run \`npm run build\` first`);
    });
  }
  for (const program of programs) {
    const base = relative(testDir, program);
    const list = spawnSync(program, ['--list'], { env: testEnv(), encoding: 'utf8', timeout: 10000 });
    if (list.status !== 0 || list.error) {
      test(`${base} › --list`, () => {
        assert.fail(
          `${base} --list failed (${list.error ? list.error.message : `status ${list.status}, signal ${list.signal}`})\n` +
            `${list.stdout || ''}${list.stderr || ''}`,
        );
      });
      continue;
    }
    const names = list.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
    if (names.length === 0) {
      test(`${base} › (no tests)`, () => assert.fail(`${base} --list printed no test names`));
    }
    for (const name of names) {
      const label = `${base} › ${name}`;
      if (filter && !label.includes(filter)) continue;
      if (skipped.has(name)) {
        test(label, { skip: `COROSCOPE_TEST_SKIP: ${process.env.COROSCOPE_TEST_SKIP_WHY || 'skipped by the runner'}` }, () => {});
        continue;
      }
      test(label, { timeout: (timeoutS + 10) * 1000 }, async () => {
        const r = await runOne(program, name);
        if (r.timedOut || r.signal || r.code !== 0) assert.fail(describeFailure(label, r));
      });
    }
  }
}
