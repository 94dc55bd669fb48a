// The test runner behind `npm test` (.ci/suites.mjs): every suite runs and is
// reported even when another fails; a failed build stops the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNNER = new URL('./suites.mjs', import.meta.url).pathname;
const PASS = 'node -e "process.exit(0)"';
const fail = (code) => `node -e "process.exit(${code})"`;

/** Runs the runner in a project whose npm scripts are `scripts` (every suite passes unless given). */
function runWith(scripts, args = []) {
  const dir = mkdtempSync(join(tmpdir(), 'coroscope-suites-'));
  try {
    const all = {
      build: PASS,
      lint: PASS,
      typecheck: PASS,
      'test:native': PASS,
      'test:core': PASS,
      'test:bench': PASS,
      'test:ci': PASS,
      'test:e2e': PASS,
      ...scripts,
    };
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'suites-fixture', private: true, scripts: all }));
    const r = spawnSync(process.execPath, [RUNNER, ...args], { cwd: dir, encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function verdict(out, name) {
  const line = out
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(`${name} `));
  assert.ok(line, `a summary line for ${name} in:\n${out}`);
  return line.slice(name.length).trim();
}

test('every suite runs and is reported when an early one fails, and the exit status says it failed', () => {
  const r = runWith({ typecheck: fail(3) });
  assert.equal(r.status, 1);
  assert.match(verdict(r.out, 'typecheck'), /^FAILED \(exit 3\)/);
  for (const s of ['lint', 'native', 'core', 'bench', 'ci', 'e2e']) assert.match(verdict(r.out, s), /^passed/);
  assert.match(r.out, /1 of 8 suites did not pass/);
});

test('a failed build stops the suites that need it and says why', () => {
  const r = runWith({ build: fail(2) });
  assert.equal(r.status, 1);
  assert.match(verdict(r.out, 'build'), /^FAILED/);
  assert.match(verdict(r.out, 'e2e'), /^skipped\s+not run: build failed/);
});

test('all suites passing exits 0', () => {
  const r = runWith({});
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /all 8 suites passed/);
});

test('--only runs the named suites alone; an unknown name is a usage error', () => {
  const r = runWith({ 'test:core': fail(1) }, ['--only', 'native']);
  assert.equal(r.status, 0, r.out);
  assert.doesNotMatch(r.out, /^core /m);
  const bad = runWith({}, ['--only', 'nope']);
  assert.equal(bad.status, 2);
  assert.match(bad.out, /no suite "nope"/);
});
