/**
 * The UI thread does no data work: following every value import (type-only imports are erased)
 * from the page's entry (renderer/src/main.tsx), no module reached is the event store, the
 * derivations, the timeline builder and model, the insight finder, or the worker's own side (SessionData,
 * the handler and its queries). The worker is reached only through `new Worker(new URL(...))`,
 * which is not an import.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Data work that must stay in the worker (paths from the repository's root, without extension). */
const WORKER_ONLY = [
  'core/store/eventStore',
  'core/derive/',
  'core/model/timeline',
  'core/insights/insights',
  'renderer/src/data/timelineModel',
  'renderer/src/data/spans',
  'renderer/src/worker/sessionData',
  'renderer/src/worker/handler',
  'renderer/src/worker/queries',
  'renderer/src/worker/timelineFrame',
  'renderer/src/worker/dataWorker',
];

/** The value imports of a module's source: [specifier, ...]. */
export function valueImports(src: string): string[] {
  const out: string[] = [];
  const code = src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const m of code.matchAll(/^\s*(import|export)\s+([\s\S]*?)\s+from\s+['"]([^'"]+)['"]/gm)) {
    const clause = m[2].trim();
    if (clause.startsWith('type ')) continue;
    const braces = /^\{([\s\S]*)\}$/.exec(clause);
    if (braces) {
      const names = braces[1]
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (names.length > 0 && names.every((n) => n.startsWith('type '))) continue;
    }
    out.push(m[3]);
  }
  for (const m of code.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push(m[1]);
  return out;
}

function resolveSpec(from: string, spec: string): string | null {
  let base: string;
  if (spec.startsWith('@core/')) base = join(ROOT, 'core', spec.slice(6));
  else if (spec.startsWith('.')) base = resolve(dirname(from), spec);
  else return null; // a package
  const stem = base.replace(/\.(js|ts|tsx|css)$/, '');
  if (base.endsWith('.css')) return null;
  for (const ext of ['.ts', '.tsx']) if (existsSync(stem + ext)) return stem + ext;
  return null;
}

/** Every module reached from `entry` through value imports (absolute paths). */
export function reachable(entry: string): Map<string, string> {
  const seen = new Map<string, string>([[entry, '(entry)']]);
  const todo = [entry];
  while (todo.length) {
    const file = todo.pop()!;
    for (const spec of valueImports(readFileSync(file, 'utf8'))) {
      const to = resolveSpec(file, spec);
      if (to && !seen.has(to)) {
        seen.set(to, file);
        todo.push(to);
      }
    }
  }
  return seen;
}

test('value imports are told from type-only ones', () => {
  assert.deepEqual(
    valueImports(
      `import type { A } from './a.js';\nimport { type B, type C } from './b.js';\nimport { D, type E } from './d.js';\n` +
        `export { F } from './f.js';\nexport type { G } from './g.js';\nimport './h.css';\n// import { X } from './x.js';\n`,
    ),
    ['./d.js', './f.js', './h.css'],
  );
});

test('the page (UI thread) reaches none of the data work', () => {
  const entry = join(ROOT, 'renderer/src/main.tsx');
  const seen = reachable(entry);
  assert.ok(seen.size > 20, `the walk found the page's modules (${seen.size})`);
  assert.ok(seen.has(join(ROOT, 'renderer/src/worker/client.ts')), 'the page talks to the worker through its client');
  const bad: string[] = [];
  for (const [file, via] of seen) {
    const rel = relative(ROOT, file).replace(/\.tsx?$/, '');
    if (WORKER_ONLY.some((w) => (w.endsWith('/') ? rel.startsWith(w) : rel === w)))
      bad.push(`${rel} (imported by ${relative(ROOT, via)})`);
  }
  assert.deepEqual(bad, []);
});

test('the worker entry does reach the data work (the walk sees through the worker boundary)', () => {
  const seen = reachable(join(ROOT, 'renderer/src/worker/dataWorker.ts'));
  for (const w of ['core/store/eventStore', 'core/derive/derived', 'core/model/timeline', 'core/insights/insights']) {
    assert.ok(seen.has(join(ROOT, `${w}.ts`)), w);
  }
});
