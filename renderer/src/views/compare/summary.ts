/** What Compare does with the numbers it puts side by side (the data worker's compareSummary answers, worker/queries.ts). */
import type { RunSummary } from '../../worker/protocol.js';

export type { RunSummary };

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
