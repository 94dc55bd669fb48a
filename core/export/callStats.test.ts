import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CollectSink } from '../testing/sinks.js';
import { CSV_COLUMNS, addCalls, callRows, exportCallStatsCsv } from './callStats.js';
import { CallStats } from '../derive/calls.js';
import { CallFlag, Kind } from '../events/schema.js';
import { StringTable } from '../events/strings.js';
import { asAsync, callA0, callA3, demoHistory, rawOf, type Ev } from '../testing/fixtures.js';
import type { EventBatch } from '../model/timeline.js';

/** A deterministic pseudo-random generator (tests must not flake). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function nearestRank(sorted: readonly number[], q: number): number {
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1];
}

function assertClose(got: number, exact: number, what: string): void {
  const err = Math.abs(got - exact) / Math.max(1, exact);
  assert.ok(err <= 0.01, `${what}: ${got} vs exact ${exact} (${(err * 100).toFixed(2)} %)`);
}

test('per-hook counts, errors, parked, blocked, bytes are exact; percentiles within 1 %', () => {
  const rand = rng(42);
  const hooks = ['read', 'write', 'nanosleep', 'connect', 'poll'];
  const events: Ev[] = [];
  const exact = new Map<string, { d: number[]; errors: number; parked: number; blocked: number; bytes: number }>();
  for (let k = 0; k < 30_000; k++) {
    const hook = hooks[Math.floor(rand() * hooks.length)];
    const dur = Math.floor(Math.exp(rand() * Math.log(1e10)));
    const err = rand() < 0.1 ? 11 : 0;
    const flags =
      (rand() < 0.5 ? CallFlag.IN_CO : 0) |
      (rand() < 0.2 ? CallFlag.PARKED : 0) |
      (rand() < 0.05 ? CallFlag.BLOCKED : 0);
    const result = err ? -1 : Math.floor(rand() * 65536);
    events.push({
      ts: 1e9 + k,
      kind: Kind.CALL,
      tid: 7,
      co: flags & CallFlag.IN_CO ? 1 : 0,
      a: [callA0(hook, flags), 3, result, callA3(err, 4096), dur],
    });
    const e = exact.get(hook) ?? { d: [], errors: 0, parked: 0, blocked: 0, bytes: 0 };
    exact.set(hook, e);
    e.d.push(dur);
    if (err) e.errors++;
    if (flags & CallFlag.PARKED) e.parked++;
    if (flags & CallFlag.BLOCKED) e.blocked++;
    if (result > 0 && (hook === 'read' || hook === 'write')) e.bytes += result;
    if (k % 97 === 0) events.push({ ts: 1e9 + k, kind: Kind.CO_RUN, tid: 7, co: 1 }); // not a call: ignored
  }
  const stats = new CallStats();
  addCalls(stats, rawOf(events.slice(0, 10_000)));
  addCalls(stats, rawOf(events.slice(10_000)));
  const rows = callRows(stats);
  assert.deepEqual(
    rows.map((r) => r.hook),
    ['nanosleep', 'poll', 'connect', 'read', 'write'],
  );
  for (const row of rows) {
    const e = exact.get(row.hook)!;
    const d = [...e.d].sort((a, b) => a - b);
    assert.equal(row.count, d.length);
    assert.equal(row.errors, e.errors);
    assert.equal(row.parked, e.parked);
    assert.equal(row.blocked, e.blocked);
    assert.equal(row.bytes, e.bytes);
    assert.equal(row.max_ns, d[d.length - 1]);
    assert.equal(
      row.total_ns,
      d.reduce((a, b) => a + b, 0),
    );
    assertClose(row.p50_ns, nearestRank(d, 0.5), `${row.hook} p50`);
    assertClose(row.p99_ns, nearestRank(d, 0.99), `${row.hook} p99`);
  }
});

test('CSV: header and one row per hook of the demo history', async () => {
  const out = new CollectSink();
  let progress = 0;
  const s = await exportCallStatsCsv(asAsync(demoHistory([9])), out, { onProgress: (n) => (progress = n) });
  const lines = out.text().trim().split('\n');
  assert.equal(lines[0], CSV_COLUMNS.join(','));
  assert.equal(lines[0], 'hook,count,errors,parked,blocked,p50_ns,p99_ns,max_ns,total_ns,bytes');
  const rows = lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, k) => [CSV_COLUMNS[k], v])));
  assert.deepEqual(
    rows.map((r) => r.hook),
    ['nanosleep', 'read', 'write', 'socket', 'close'],
  );
  const read = rows.find((r) => r.hook === 'read')!;
  const { p50_ns, p99_ns, ...exactPart } = read;
  assert.deepEqual(exactPart, {
    hook: 'read',
    count: '2',
    errors: '1',
    parked: '1',
    blocked: '0',
    max_ns: '1950000',
    total_ns: '1952000',
    bytes: '5',
  });
  assertClose(Number(p50_ns), 2_000, 'p50');
  assertClose(Number(p99_ns), 1_950_000, 'p99');
  const write = rows.find((r) => r.hook === 'write')!;
  assert.equal(write.bytes, '11');
  assert.equal(progress, s.events);
});

test('an empty trace gives just the header', async () => {
  const out = new CollectSink();
  const none: EventBatch[] = [{ raw: rawOf([]), strings: new StringTable() }];
  await exportCallStatsCsv(none, out);
  assert.equal(out.text(), `${CSV_COLUMNS.join(',')}\n`);
});
