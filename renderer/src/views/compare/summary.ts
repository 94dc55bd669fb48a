/** The numbers Compare puts side by side, taken from a session's SessionData (Derived tables, insights). */
import type { SessionData } from '../../data/sessionData.js';

export interface RunSummary {
  wallNs: number;
  events: number;
  coroutines: number;
  switches: number;
  preemptions: number;
  calls: number;
  drops: number;
  insights: number;
  /** Calls per hook id (in and outside coroutines). */
  callsByHook: Map<number, number>;
}

export function summarize(d: SessionData): RunSummary {
  const cos = d.derived.coroutines(true);
  let switches = 0;
  for (const c of cos) switches += c.switches;
  const callsByHook = new Map<number, number>();
  for (const r of d.derived.calls.rows()) callsByHook.set(r.hook, (callsByHook.get(r.hook) ?? 0) + r.count);
  const range = d.range();
  return {
    wallNs: range ? range.max - range.min : 0,
    events: d.derived.count,
    coroutines: cos.length,
    switches,
    preemptions: d.derived.preemption.summary().preempted,
    calls: d.derived.calls.total().count,
    drops: d.derived.drops.lost,
    insights: d.insights.length,
    callsByHook,
  };
}

/** The hook called most often in both runs together (null: no calls). */
export function mostFrequentHook(...runs: (RunSummary | null)[]): number | null {
  const total = new Map<number, number>();
  for (const r of runs) if (r) for (const [h, n] of r.callsByHook) total.set(h, (total.get(h) ?? 0) + n);
  let best: number | null = null;
  for (const [h, n] of total) if (best === null || n > total.get(best)!) best = h;
  return best;
}

/** How different two values are, for highlighting: 0 same, 1 different, 2 very different (≥ 2× or one is zero). */
export function difference(a: number, b: number): 0 | 1 | 2 {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Number.isFinite(a) === Number.isFinite(b) ? 0 : 2;
  if (a === b) return 0;
  const lo = Math.min(Math.abs(a), Math.abs(b));
  const hi = Math.max(Math.abs(a), Math.abs(b));
  if (lo === 0 || hi >= 2 * lo) return 2;
  return hi - lo > 0.1 * hi ? 1 : 0;
}
