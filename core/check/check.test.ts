/**
 * coroscope check for CI: limits parsed as written, compared as specified (relative and absolute
 * regressions, `*` over every call), a repository's config read strictly, and reports that CI
 * systems accept: JUnit XML valid against the schema CI readers follow (xmllint), SARIF valid
 * against the SARIF 2.1.0 JSON schema (ajv, draft-04).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv-draft-04';
import { evaluate, LimitError, parseLimit } from './thresholds.js';
import { parseConfig } from './config.js';
import { buildReport } from './report.js';
import { FINDING_KINDS, formatJunit, formatSarif, formatText } from './formats.js';
import type { Insight } from '../insights/insights.js';

const here = dirname(fileURLToPath(import.meta.url));
const metrics = (o: Record<string, number>) => new Map(Object.entries(o));

test('limits read as written: durations in their units, counts without, relative and absolute allowances', () => {
  assert.deepEqual(parseLimit('max', 'p99(read)=2.5ms'), {
    kind: 'max',
    metric: 'p99(read)',
    text: '2.5ms',
    value: 2.5e6,
    relative: false,
  });
  assert.equal(parseLimit('max', 'findings(long-run)=0').value, 0);
  assert.equal(parseLimit('regression', 'p99(*)=10%').value, 0.1);
  assert.equal(parseLimit('regression', 'p99(*)=10%').relative, true);
  assert.equal(parseLimit('regression', 'stall=+5ms').value, 5e6);
  assert.equal(parseLimit('regression', 'count(write)=+100').value, 100);
  for (const bad of ['p99(read)', 'p98(read)=1ms', 'count(write)=5ms', 'p99(read)=fast', 'nothing=1']) {
    assert.throws(() => parseLimit('max', bad), LimitError, bad);
  }
  assert.throws(() => parseLimit('regression', 'stall=5ms'), /N% or \+AMOUNT/);
});

test('a regression passes within its allowance and fails past it; `*` covers every call both runs have', () => {
  const base = metrics({ 'p99(read)': 1e6, 'p99(write)': 2e6, 'p99(old)': 1, stall: 0 });
  const cur = metrics({ 'p99(read)': 1.09e6, 'p99(write)': 2.5e6, 'p99(new)': 9e9, stall: 4e6 });
  const r = evaluate([parseLimit('regression', 'p99(*)=10%'), parseLimit('regression', 'stall=+5ms')], cur, base);
  assert.deepEqual(
    r.map((x) => [x.metric, x.ok]),
    [
      ['p99(read)', true],
      ['p99(write)', false],
      ['stall', true],
    ],
  );
  assert.match(r[1].message, /p99\(write\) 2\.000 ms -> 2\.500 ms \(\+25\.0 %; allowed \+10 %, up to 2\.200 ms\)/);
  const named = evaluate([parseLimit('regression', 'p99(gone)=10%')], cur, metrics({ 'p99(gone)': 5 }));
  assert.equal(named[0].ok, false, 'a named metric missing from the trace cannot pass');
  assert.throws(() => evaluate([parseLimit('regression', 'stall=+1ms')], cur), /needs --baseline/);
});

test('a max limit fails when exceeded; a call never made counts as 0', () => {
  const r = evaluate(
    [parseLimit('max', 'p99(read)=1ms'), parseLimit('max', 'p99(never)=1ms'), parseLimit('max', 'findings(drops)=0')],
    metrics({ 'p99(read)': 1.5e6, 'findings(drops)': 0 }),
  );
  assert.deepEqual(
    r.map((x) => x.ok),
    [false, true, true],
  );
  assert.match(r[0].message, /p99\(read\) 1\.500 ms > limit 1\.000 ms/);
});

test("a repository's config is read strictly: a typo is an error, not a limit silently gone", () => {
  const cfg = parseConfig(
    JSON.stringify({
      max: { 'p99(read)': '2ms', drops: 0 },
      maxRegression: { 'p99(*)': '20%' },
      ignore: ['descheduled'],
    }),
    'coroscope-check.json',
  );
  assert.equal(cfg.limits.length, 3);
  assert.deepEqual([...cfg.ignore], ['descheduled']);
  assert.throws(() => parseConfig('{"maxRegresion": {}}', 'c.json'), /unknown key "maxRegresion"/);
  assert.throws(() => parseConfig('{"ignore": ["long-runs"]}', 'c.json'), /"long-runs" is not a finding kind/);
  assert.deepEqual([...parseConfig('{"ignore": ["killed-by-signal"]}', 'c.json').ignore], ['killed-by-signal']);
  assert.throws(
    () => parseConfig('{"max": {"p99(read)": "soon"}}', 'c.json'),
    /c\.json: p99\(read\): soon is not an amount/,
  );
  assert.throws(() => parseConfig('not json', 'c.json'), /c\.json: not JSON/);
});

const longRun: Insight = {
  kind: 'long-run',
  ts: 5e6,
  durationNs: 42e6,
  co: 7,
  coName: 'hog <1> & "friends" (co#7)',
  worker: 0,
  title: 'ran 42 ms without switching out',
  advice: 'yield in the loop',
};
const desched: Insight = {
  kind: 'descheduled',
  ts: 1,
  worker: 1,
  title: 'the OS took worker 1 for 20 ms',
  advice: 'a busier machine',
};

function sample() {
  const limits = evaluate(
    [parseLimit('regression', 'p99(read)=10%'), parseLimit('max', 'stall=1ms')],
    metrics({ 'p99(read)': 3e6, stall: 0 }),
    metrics({ 'p99(read)': 1e6, stall: 0 }),
  );
  return buildReport({
    trace: 'runs/new.cstrace',
    baseline: 'runs/old.cstrace',
    insights: [{ ...longRun, source: { file: 'src/hog.c', line: 88 } }, desched],
    suppressed: new Map([['long-run', 3]]),
    limits,
  });
}

test('the report fails on a finding or an exceeded limit, not on descheduling alone or ignored kinds', () => {
  assert.equal(sample().failed, true);
  const calm = buildReport({ trace: 't', insights: [desched], suppressed: new Map(), limits: [] });
  assert.equal(calm.failed, false);
  const ignored = buildReport({
    trace: 't',
    insights: [longRun],
    suppressed: new Map([['long-run', 2]]),
    limits: [],
    ignore: new Set(['long-run']),
  });
  assert.equal(ignored.failed, false);
  assert.deepEqual(ignored.findings, []);
  assert.match(formatText(sample()), /^FAIL {2}regression {2}p99\(read\) 1\.000 ms -> 3\.000 ms/m);
});

test('JUnit XML is valid against the JUnit schema and fails exactly the finding kinds and limits that failed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coroscope-junit-'));
  try {
    const xml = formatJunit(sample(), new Date('2026-12-08T01:00:00Z'));
    const file = join(dir, 'report.xml');
    writeFileSync(file, xml);
    // xmllint (Debian libxml2-utils) exits non-zero on any schema violation.
    execFileSync('xmllint', ['--noout', '--schema', join(here, 'testdata', 'junit.xsd'), file], { stdio: 'pipe' });
    // One test case per finding kind the insights have, plus one per limit.
    assert.match(
      xml,
      new RegExp(
        `<testsuites name="coroscope check" tests="${Object.keys(FINDING_KINDS).length + 2}" failures="2" errors="0"`,
      ),
    );
    assert.match(xml, /name="killed-by-signal: /);
    assert.match(
      xml,
      /<failure type="long-run" message="4 long-run findings">hog &lt;1&gt; &amp; &quot;friends&quot; \(co#7\)/,
    );
    assert.match(xml, /name="regression p99\(read\)=10%" time="0">\s*<failure type="regression"/);
    assert.match(xml, /name="limit stall=1ms" time="0">\s*<system-out>/);
    assert.doesNotMatch(xml, /<failure type="descheduled"/);
    // A report that breaks the schema is caught (the check can fail).
    writeFileSync(file, xml.replace(' classname="coroscope.limits"', ''));
    assert.throws(() =>
      execFileSync('xmllint', ['--noout', '--schema', join(here, 'testdata', 'junit.xsd'), file], { stdio: 'pipe' }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SARIF is valid against the SARIF 2.1.0 schema, with the source location of a finding that has one', () => {
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(
    readFileSync(require.resolve('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'),
  ) as Record<string, unknown>;
  const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false }); // the schema has a pattern that is not valid in unicode mode
  const validate = ajv.compile(schema);
  const log = JSON.parse(formatSarif(sample(), '0.1.0')) as {
    runs: { results: { ruleId: string; level: string; locations?: { physicalLocation?: unknown }[] }[] }[];
  };
  assert.ok(validate(log), JSON.stringify(validate.errors, null, 2));
  const results = log.runs[0].results;
  assert.deepEqual(
    results.map((r) => [r.ruleId, r.level]),
    [
      ['long-run', 'error'],
      ['descheduled', 'note'],
      ['regression', 'error'],
    ],
  );
  assert.deepEqual(results[0].locations?.[0].physicalLocation, {
    artifactLocation: { uri: 'src/hog.c' },
    region: { startLine: 88 },
  });
  // The validator rejects what breaks the schema.
  (log as unknown as { version: string }).version = '2.0';
  assert.equal(validate(log), false);
});
