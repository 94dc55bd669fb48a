/**
 * What `coroscope check` found in a trace: the insights (minus the kinds the configuration
 * ignores) and every limit's result, and whether the check fails. A finding fails the check
 * except `descheduled` (the machine, not the program); a limit fails it when exceeded.
 */
import type { Insight } from '../insights/insights.js';
import type { LimitResult } from './thresholds.js';

/** An insight, with the source line of its stack where the trace has one (SARIF shows it inline). */
export type Finding = Insight & { source?: { file: string; line: number } };

export interface CheckReport {
  trace: string;
  baseline?: string;
  findings: Finding[];
  /** kind -> findings not listed (over the per-kind cap) */
  suppressed: Record<string, number>;
  limits: LimitResult[];
  failed: boolean;
}

export const failsCheck = (i: Insight): boolean => i.kind !== 'descheduled';

export function buildReport(o: {
  trace: string;
  baseline?: string;
  insights: Finding[];
  suppressed: Map<string, number>;
  limits: LimitResult[];
  ignore?: Set<string>;
}): CheckReport {
  const ignore = o.ignore ?? new Set<string>();
  const findings = o.insights.filter((i) => !ignore.has(i.kind));
  const suppressed = Object.fromEntries([...o.suppressed].filter(([k]) => !ignore.has(k)));
  return {
    trace: o.trace,
    ...(o.baseline ? { baseline: o.baseline } : {}),
    findings,
    suppressed,
    limits: o.limits,
    failed:
      findings.some(failsCheck) ||
      Object.keys(suppressed).some((k) => k !== 'descheduled') ||
      o.limits.some((l) => !l.ok),
  };
}
