/**
 * The check configuration a repository keeps beside its code (default file: coroscope-check.json,
 * read by the CLI from the directory it runs in), so CI holds every run to the same limits:
 *   {
 *     "max":           { "p99(read)": "2ms", "stall": "50ms", "findings(long-run)": 0 },
 *     "maxRegression": { "p99(*)": "20%", "stall": "+5ms" },
 *     "ignore":        ["descheduled", "eintr"]
 *   }
 * Every key is optional; unknown keys are an error (a typo must not silently disable a limit).
 */
import type { InsightKind } from '../insights/insights.js';
import { FINDING_KINDS } from './formats.js';
import { LimitError, parseLimit, type Limit } from './thresholds.js';

export interface CheckConfig {
  limits: Limit[];
  ignore: Set<string>;
}

/** The finding kinds, from the one table that describes them. */
const KINDS = Object.keys(FINDING_KINDS) as InsightKind[];

export function parseConfig(text: string, source: string): CheckConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new LimitError(`${source}: not JSON (${(e as Error).message})`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new LimitError(`${source}: expected an object`);
  const cfg: CheckConfig = { limits: [], ignore: new Set() };
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'max' || key === 'maxRegression') {
      if (!value || typeof value !== 'object' || Array.isArray(value))
        throw new LimitError(`${source}: "${key}" must map metrics to limits`);
      for (const [metric, limit] of Object.entries(value as Record<string, unknown>)) {
        if (typeof limit !== 'string' && typeof limit !== 'number')
          throw new LimitError(`${source}: "${key}"."${metric}" must be a string or a number`);
        try {
          cfg.limits.push(parseLimit(key === 'max' ? 'max' : 'regression', `${metric}=${limit}`));
        } catch (e) {
          throw new LimitError(`${source}: ${(e as Error).message}`, { cause: e });
        }
      }
    } else if (key === 'ignore') {
      if (!Array.isArray(value)) throw new LimitError(`${source}: "ignore" must be a list of finding kinds`);
      for (const k of value) {
        if (typeof k !== 'string' || !KINDS.includes(k as InsightKind))
          throw new LimitError(`${source}: "ignore": ${JSON.stringify(k)} is not a finding kind (${KINDS.join(', ')})`);
        cfg.ignore.add(k);
      }
    } else {
      throw new LimitError(`${source}: unknown key "${key}" (max, maxRegression, ignore)`);
    }
  }
  return cfg;
}
