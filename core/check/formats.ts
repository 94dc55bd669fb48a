/**
 * A check report as a person or a CI system reads it:
 *   text   one finding per line with its advice, then each limit (coroscope check's default)
 *   json   the report as is (CheckReport)
 *   junit  JUnit XML: a suite of findings (one test case per kind, failing with every finding of
 *          that kind) and a suite of limits (one test case per limit); what CI test tabs show
 *   sarif  SARIF 2.1.0: one rule per finding kind and per limit kind, one result per finding or
 *          failed limit, with the source location where the finding has one; what code-scanning
 *          views show inline
 */
import type { InsightKind } from '../insights/insights.js';
import type { CheckReport, Finding } from './report.js';
import { failsCheck } from './report.js';
import type { LimitResult } from './thresholds.js';

export type CheckFormat = 'text' | 'json' | 'junit' | 'sarif';
export const CHECK_FORMATS: readonly CheckFormat[] = ['text', 'json', 'junit', 'sarif'];

/**
 * What each finding kind means (rule descriptions in SARIF, test names in JUnit, the kinds a
 * config may ignore): keyed by InsightKind, so a kind added to the insights without a line here
 * does not compile.
 */
export const FINDING_KINDS: Record<InsightKind, string> = {
  'long-run': 'a coroutine ran longer than the limit of CPU time without switching out',
  'blocked-worker': 'a worker thread blocked in a call the engine cannot park',
  'join-cycle': 'coroutines joining each other in a cycle (deadlock)',
  'lost-wakeup': 'a join still waiting although its target finished',
  eintr: 'EINTR reached code in a coroutine',
  'short-write': 'a write in a coroutine returned fewer bytes than asked',
  drops: 'events lost while recording',
  'idle-imbalance': 'a worker idle while another had a long run queue',
  'untraced-child': 'a child process that could not be followed',
  'killed-by-signal': 'a process of the session was killed by a signal',
  descheduled: 'the OS took a worker off its CPU during a run (the machine, not the program)',
};

const who = (i: Finding): string =>
  [
    i.coName ?? '', // InsightFinder's name already says which coroutine: "handler (co#1)"
    i.worker !== undefined ? `worker ${i.worker}` : '',
  ]
    .filter(Boolean)
    .join(', ');

export function formatText(r: CheckReport): string {
  const lines: string[] = [];
  if (!r.findings.length) lines.push('no problems found');
  for (const i of r.findings) {
    const w = who(i);
    lines.push(`${i.kind}  ${w ? `${w}: ` : ''}${i.title}\n    -> ${i.advice}`);
  }
  for (const [k, n] of Object.entries(r.suppressed)) lines.push(`(${n} more ${k} not shown)`);
  for (const l of r.limits)
    lines.push(`${l.ok ? 'ok  ' : 'FAIL'}  ${l.kind === 'max' ? 'limit' : 'regression'}  ${l.message}`);
  return lines.join('\n');
}

const xml = (s: string): string =>
  s
    // eslint-disable-next-line no-control-regex -- XML 1.0 cannot hold these characters at all
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');

export function formatJunit(r: CheckReport, now = new Date()): string {
  const kinds = Object.keys(FINDING_KINDS) as InsightKind[];
  const cases: string[] = [];
  let fFail = 0;
  for (const kind of kinds) {
    const found = r.findings.filter((i) => i.kind === kind);
    const more = r.suppressed[kind] ?? 0;
    const fails = found.some(failsCheck) || (more > 0 && kind !== 'descheduled');
    const name = `${kind}: ${FINDING_KINDS[kind]}`;
    if (!fails) {
      const out = found.length
        ? `\n      <system-out>${xml(found.map((i) => i.title).join('\n'))}</system-out>\n    `
        : '';
      cases.push(`    <testcase classname="coroscope.findings" name="${xml(name)}" time="0">${out}</testcase>`);
      continue;
    }
    fFail++;
    const body = found.map((i) => `${who(i) ? `${who(i)}: ` : ''}${i.title}\n  -> ${i.advice}`).join('\n');
    const msg = `${found.length + more} ${kind} finding${found.length + more === 1 ? '' : 's'}`;
    cases.push(
      `    <testcase classname="coroscope.findings" name="${xml(name)}" time="0">\n      <failure type="${xml(kind)}" message="${xml(msg)}">${xml(body + (more ? `\n(${more} more not shown)` : ''))}</failure>\n    </testcase>`,
    );
  }
  const limitCases = r.limits.map((l: LimitResult) => {
    const name = `${l.kind === 'max' ? 'limit' : 'regression'} ${l.metric}=${l.limit}`;
    return l.ok
      ? `    <testcase classname="coroscope.limits" name="${xml(name)}" time="0">\n      <system-out>${xml(l.message)}</system-out>\n    </testcase>`
      : `    <testcase classname="coroscope.limits" name="${xml(name)}" time="0">\n      <failure type="${l.kind}" message="${xml(l.message)}">${xml(l.message)}</failure>\n    </testcase>`;
  });
  const lFail = r.limits.filter((l) => !l.ok).length;
  const ts = now.toISOString().replace(/\.\d+Z$/, '');
  const suite = (name: string, body: string[], fails: number) =>
    `  <testsuite name="${xml(name)}" tests="${body.length}" failures="${fails}" errors="0" skipped="0" time="0" timestamp="${ts}" hostname="localhost">\n${body.join('\n')}\n  </testsuite>`;
  const suites = [suite(`coroscope check ${r.trace}: findings`, cases, fFail)];
  if (limitCases.length) suites.push(suite(`coroscope check ${r.trace}: limits`, limitCases, lFail));
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="coroscope check" tests="${cases.length + limitCases.length}" failures="${fFail + lFail}" errors="0" time="0">\n${suites.join('\n')}\n</testsuites>\n`;
}

export function formatSarif(r: CheckReport, version: string): string {
  const ruleIds = [...Object.keys(FINDING_KINDS), 'limit', 'regression'];
  const describe: Record<string, string> = {
    ...FINDING_KINDS,
    limit: 'a metric of the trace exceeds its limit',
    regression: 'a metric of the trace is worse than the baseline by more than allowed',
  };
  const rules = ruleIds.map((id) => ({
    id,
    name: id.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()).replace(/^\w/, (c) => c.toUpperCase()),
    shortDescription: { text: describe[id] },
    defaultConfiguration: { level: id === 'descheduled' ? 'note' : 'error' },
  }));
  const results: unknown[] = [];
  for (const i of r.findings) {
    const loc: Record<string, unknown> = {};
    if (i.source)
      loc.physicalLocation = {
        artifactLocation: { uri: i.source.file },
        region: { startLine: Math.max(1, i.source.line) },
      };
    if (i.coName || i.co !== undefined)
      loc.logicalLocations = [
        {
          name: i.coName || `co#${i.co}`,
          fullyQualifiedName: `co#${i.co ?? 0} ${i.coName ?? ''}`.trim(),
          kind: 'object',
        },
      ];
    results.push({
      ruleId: i.kind,
      ruleIndex: ruleIds.indexOf(i.kind),
      level: failsCheck(i) ? 'error' : 'note',
      message: { text: `${who(i) ? `${who(i)}: ` : ''}${i.title}. ${i.advice}` },
      ...(Object.keys(loc).length ? { locations: [loc] } : {}),
      properties: {
        tsNs: i.ts,
        ...(i.durationNs !== undefined ? { durationNs: i.durationNs } : {}),
        ...(i.worker !== undefined ? { worker: i.worker } : {}),
      },
    });
  }
  for (const l of r.limits)
    if (!l.ok)
      results.push({
        ruleId: l.kind === 'max' ? 'limit' : 'regression',
        ruleIndex: ruleIds.indexOf(l.kind === 'max' ? 'limit' : 'regression'),
        level: 'error',
        message: { text: l.message },
        properties: {
          metric: l.metric,
          current: l.current,
          allowed: l.allowed,
          ...(l.baseline !== undefined ? { baseline: l.baseline } : {}),
        },
      });
  const log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'coroscope', version, rules } },
        artifacts: [{ location: { uri: r.trace } }, ...(r.baseline ? [{ location: { uri: r.baseline } }] : [])],
        invocations: [{ executionSuccessful: true }],
        results,
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}

export function formatReport(r: CheckReport, format: CheckFormat, version: string): string {
  switch (format) {
    case 'text':
      return formatText(r) + '\n';
    case 'json':
      return JSON.stringify(r, null, 2) + '\n';
    case 'junit':
      return formatJunit(r);
    case 'sarif':
      return formatSarif(r, version);
  }
}
