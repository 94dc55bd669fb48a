/**
 * Limits `coroscope check` holds a trace to, and what it found of each:
 *   max        METRIC=LIMIT   the metric must not exceed LIMIT ("p99(read)=2ms", "findings(long-run)=0")
 *   regression METRIC=ALLOW   against a baseline trace: at most ALLOW worse ("p99(read)=10%" relative,
 *                             "stall=+5ms" or "count(write)=+100" absolute)
 * METRIC names are those of metrics.ts; a `*` between the parentheses applies the limit to every
 * call the trace (and, for regressions, the baseline) has: "p99(*)=20%". Limits come from the
 * command line and from a config file in the repository under test (config.ts).
 */
import { isDuration, type Metrics } from './metrics.js';

export interface Limit {
  kind: 'max' | 'regression';
  /** As written, with a `*` possibly. */
  metric: string;
  /** What was written after "=", for messages. */
  text: string;
  /** max: the limit; regression: the allowance (a fraction when relative, else an amount). */
  value: number;
  relative: boolean;
}

export interface LimitResult {
  kind: Limit['kind'];
  metric: string;
  limit: string;
  current: number;
  baseline?: number;
  /** The largest value that passes. */
  allowed: number;
  ok: boolean;
  message: string;
}

export class LimitError extends Error {}

const UNIT: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9 };

/** "2ms" -> 2e6; "150" -> 150 (a count, or ns for a duration metric). */
export function parseAmount(text: string, metric: string): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)?$/.exec(text.trim());
  if (!m) throw new LimitError(`${metric}: ${text} is not an amount (like 5ms, 250us or 100)`);
  if (m[2] && !isDuration(metric.replace('*', 'x')))
    throw new LimitError(`${metric} is a count: ${text} has a unit of time`);
  return Number(m[1]) * (m[2] ? UNIT[m[2]] : 1);
}

const METRIC = /^(?:(?:p50|p99|max|mean|count|errors)\([^()=\s]+\)|findings\([a-z-]+\)|stall|drops)$/;

/** "p99(read)=2ms" as a max limit, or "p99(read)=10%" / "stall=+5ms" as a regression allowance. */
export function parseLimit(kind: Limit['kind'], spec: string): Limit {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new LimitError(`${spec}: expected METRIC=${kind === 'max' ? 'LIMIT' : 'ALLOWANCE'}`);
  const metric = spec.slice(0, eq).trim();
  const text = spec.slice(eq + 1).trim();
  if (!METRIC.test(metric))
    throw new LimitError(
      `${metric}: not a metric (p50|p99|max|mean|count|errors(CALL or *), findings(KIND), stall, drops)`,
    );
  if (kind === 'max') return { kind, metric, text, value: parseAmount(text, metric), relative: false };
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct) return { kind, metric, text, value: Number(pct[1]) / 100, relative: true };
  if (!text.startsWith('+'))
    throw new LimitError(`${metric}=${text}: a regression allowance is N% or +AMOUNT (like +5ms)`);
  return { kind, metric, text, value: parseAmount(text.slice(1), metric), relative: false };
}

function expand(metric: string, current: Metrics, baseline?: Metrics): string[] {
  if (!metric.includes('*')) return [metric];
  const [head] = metric.split('(');
  const names = new Set<string>();
  for (const k of current.keys()) if (k.startsWith(`${head}(`) && (!baseline || baseline.has(k))) names.add(k);
  return [...names].sort();
}

const show = (metric: string, v: number): string => {
  if (!isDuration(metric)) return String(v);
  if (v >= 1e9) return `${(v / 1e9).toFixed(3)} s`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(3)} ms`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} µs`;
  return `${Math.round(v)} ns`;
};

/**
 * Every limit against the trace's metrics (and the baseline's, for regressions). A metric the
 * trace lacks counts as 0 for max limits (a call never made is fast) and is skipped for
 * regressions (nothing to compare) — unless named without `*`, which then says so as a failure.
 */
export function evaluate(limits: Limit[], current: Metrics, baseline?: Metrics): LimitResult[] {
  const out: LimitResult[] = [];
  for (const l of limits) {
    if (l.kind === 'regression' && !baseline) throw new LimitError(`${l.metric}=${l.text}: needs --baseline`);
    for (const metric of expand(l.metric, current, l.kind === 'regression' ? baseline : undefined)) {
      const cur = current.get(metric);
      if (l.kind === 'max') {
        const v = cur ?? 0;
        const ok = v <= l.value;
        out.push({
          kind: 'max',
          metric,
          limit: l.text,
          current: v,
          allowed: l.value,
          ok,
          message: `${metric} ${show(metric, v)} ${ok ? '≤' : '>'} limit ${show(metric, l.value)}`,
        });
        continue;
      }
      const base = baseline!.get(metric);
      if (cur === undefined || base === undefined) {
        out.push({
          kind: 'regression',
          metric,
          limit: l.text,
          current: cur ?? NaN,
          baseline: base,
          allowed: NaN,
          ok: false,
          message: `${metric}: not in the ${cur === undefined ? 'trace' : 'baseline'}, cannot compare`,
        });
        continue;
      }
      const allowed = l.relative ? base * (1 + l.value) : base + l.value;
      const ok = cur <= allowed;
      const change = base > 0 ? `${cur >= base ? '+' : ''}${(((cur - base) / base) * 100).toFixed(1)} %` : 'from 0';
      out.push({
        kind: 'regression',
        metric,
        limit: l.text,
        current: cur,
        baseline: base,
        allowed,
        ok,
        message: `${metric} ${show(metric, base)} -> ${show(metric, cur)} (${change}; allowed ${l.relative ? `+${(l.value * 100).toFixed(0)} %` : l.text}, up to ${show(metric, allowed)})`,
      });
    }
  }
  return out;
}
