#!/usr/bin/env node
// .ci/suites.mjs — what `npm test` runs: every test suite, each reported, even
// when an earlier one fails.
//
//   node .ci/suites.mjs [--only name,name] [--skip name,name] [--list]
//
// The build goes first and stops everything when it fails (no suite can run
// without it). After it, each suite runs to its end whatever the others did,
// its output streamed as it comes; a table at the end gives every suite's
// result and time, and the exit status is 1 if any suite failed. Suites are
// npm scripts, so each can also be run alone (`npm run test:native`, ...).
import { spawn } from 'node:child_process';

const SUITES = [
  { name: 'build', script: 'build', gate: true },
  { name: 'typecheck', script: 'typecheck' },
  { name: 'lint', script: 'lint' },
  { name: 'native', script: 'test:native' },
  { name: 'core', script: 'test:core' },
  { name: 'bench', script: 'test:bench' },
  { name: 'ci', script: 'test:ci' },
  { name: 'e2e', script: 'test:e2e' },
];

function usage(msg) {
  if (msg) console.error(`suites: ${msg}`);
  console.error('usage: node .ci/suites.mjs [--only a,b] [--skip a,b] [--list]');
  console.error(`suites: ${SUITES.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

function parse(argv) {
  const o = { only: null, skip: new Set(), list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const names = () => {
      const v = argv[++i];
      if (!v) usage(`${a} needs a list of suite names`);
      const list = v.split(',').filter(Boolean);
      for (const n of list) if (!SUITES.some((s) => s.name === n)) usage(`no suite ${JSON.stringify(n)}`);
      return list;
    };
    if (a === '--only') o.only = new Set(names());
    else if (a === '--skip') for (const n of names()) o.skip.add(n);
    else if (a === '--list') o.list = true;
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  return o;
}

function run(script) {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script], { stdio: 'inherit' });
    child.on('error', (err) => resolve({ code: 127, why: err.message }));
    child.on('exit', (code, signal) => resolve({ code: code ?? 128, why: signal ? `killed by ${signal}` : '' }));
  });
}

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

const opts = parse(process.argv.slice(2));
const chosen = SUITES.filter((s) => (!opts.only || opts.only.has(s.name)) && !opts.skip.has(s.name));
if (opts.list) {
  for (const s of chosen) console.log(`${s.name}\tnpm run ${s.script}`);
  process.exit(0);
}

const results = [];
for (const s of chosen) {
  console.log(`\n==== ${s.name} (npm run ${s.script}) ====`);
  const t0 = Date.now();
  const r = await run(s.script);
  results.push({ ...s, ...r, ms: Date.now() - t0 });
  if (r.code !== 0 && s.gate) {
    for (const rest of chosen.slice(chosen.indexOf(s) + 1))
      results.push({ ...rest, code: null, ms: 0, why: `not run: ${s.name} failed` });
    break;
  }
}

console.log('\n==== summary ====');
const width = Math.max(...results.map((r) => r.name.length));
for (const r of results) {
  const verdict =
    r.code === null ? 'skipped' : r.code === 0 ? 'passed' : `FAILED (exit ${r.code}${r.why ? `, ${r.why}` : ''})`;
  console.log(`${r.name.padEnd(width)}  ${verdict.padEnd(12)}  ${r.code === null ? r.why : seconds(r.ms)}`);
}
const failed = results.filter((r) => r.code !== 0);
console.log(
  failed.length
    ? `\n${failed.length} of ${results.length} suites did not pass`
    : `\nall ${results.length} suites passed`,
);
process.exit(failed.length ? 1 : 0);
