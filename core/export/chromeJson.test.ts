import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CollectSink } from '../testing/sinks.js';
import { COROUTINES_PID_BASE, exportChromeJson, micros } from './chromeJson.js';
import { MAIN_TID, MS, PID, T0, W0_TID, W1_TID, asAsync, demoHistory, syntheticBatches } from '../testing/fixtures.js';
import type { EventBatch } from '../model/timeline.js';
import type { Batches } from './output.js';

interface TraceEvent {
  ph: string;
  pid: number;
  tid?: number;
  ts?: number;
  name?: string;
  id?: number;
  bp?: string;
  args?: Record<string, unknown>;
}

async function exportJson(
  batches: Batches,
): Promise<{ json: { traceEvents: TraceEvent[]; displayTimeUnit: string }; raw: string }> {
  const out = new CollectSink();
  await exportChromeJson(batches, out);
  const raw = out.text();
  return { json: JSON.parse(raw), raw };
}

/** B/E balance per (pid, tid), never more E than B, and time never goes back on a thread. */
function assertBalanced(events: readonly TraceEvent[]): void {
  const depth = new Map<string, number>();
  const last = new Map<string, number>();
  for (const e of events) {
    if (e.ph === 'M' || e.ph === 'C') continue;
    const key = `${e.pid}/${e.tid}`;
    assert.ok(e.ts! >= (last.get(key) ?? 0), `time goes back on ${key}`);
    last.set(key, e.ts!);
    if (e.ph === 'B') depth.set(key, (depth.get(key) ?? 0) + 1);
    if (e.ph === 'E') {
      const d = (depth.get(key) ?? 0) - 1;
      assert.ok(d >= 0, `E without B on ${key}`);
      depth.set(key, d);
    }
  }
  for (const [key, d] of depth) assert.equal(d, 0, `${key} left ${d} slices open`);
}

function assertFlows(events: readonly TraceEvent[]): number {
  const s = events
    .filter((e) => e.ph === 's')
    .map((e) => e.id)
    .sort();
  const f = events
    .filter((e) => e.ph === 'f')
    .map((e) => e.id)
    .sort();
  assert.deepEqual(f, s);
  return s.length;
}

test('microseconds with exact nanosecond decimals', () => {
  assert.equal(micros(0), '0');
  assert.equal(micros(1_500), '1.500');
  assert.equal(micros(1_000), '1');
  assert.equal(micros(5_000_012_345_678), '5000012345.678');
  assert.equal(micros(2 ** 53 - 1), '9007199254740.991');
});

test('metadata: process, threads, the Coroutines pseudo process and one thread per coroutine', async () => {
  const { json } = await exportJson(asAsync(demoHistory([5])));
  assert.equal(json.displayTimeUnit, 'ns');
  const meta = json.traceEvents.filter((e) => e.ph === 'M');
  const procs = meta.filter((e) => e.name === 'process_name').map((e) => [e.pid, e.args?.name]);
  assert.deepEqual(procs, [
    [PID, 'demo'],
    [COROUTINES_PID_BASE + PID, 'Coroutines'],
  ]);
  const threads = meta.filter((e) => e.name === 'thread_name').map((e) => [e.pid, e.tid, e.args?.name]);
  assert.deepEqual(threads, [
    [PID, MAIN_TID, 'demo'],
    [COROUTINES_PID_BASE + PID, 1, 'sleeper #1'],
    [COROUTINES_PID_BASE + PID, 2, 'reader #2'],
    [COROUTINES_PID_BASE + PID, 3, 'writer #3'],
    [PID, W0_TID, 'cs-worker-0'],
    [PID, W1_TID, 'cs-worker-1'],
  ]);
});

test('slices balance per thread, flows pair up, instants and counters are there', async () => {
  const { json } = await exportJson(asAsync(demoHistory()));
  const ev = json.traceEvents;
  assertBalanced(ev);
  assert.equal(assertFlows(ev), 2);
  const coPid = COROUTINES_PID_BASE + PID;
  const sleeper = ev.filter((e) => e.pid === coPid && e.tid === 1 && e.ph === 'B').map((e) => e.name);
  assert.deepEqual(sleeper, ['ready', 'running', 'write', 'suspended: nanosleep', 'ready', 'running', 'nanosleep']);
  const parked = ev.find((e) => e.name === 'suspended: nanosleep')!;
  assert.equal(parked.ts, (T0 + 2 * MS) / 1000);
  assert.deepEqual(parked.args, { why: 'sleep', hook: 'nanosleep', deadline: T0 + 12 * MS, timeout_ns: 10 * MS });
  const wake = ev.find((e) => e.ph === 's')!;
  assert.equal(wake.pid, coPid);
  assert.equal(wake.tid, 3, 'the reader was woken by the writer coroutine');
  const f = ev.find((e) => e.ph === 'f' && e.id === wake.id)!;
  assert.deepEqual([f.pid, f.tid, f.bp], [coPid, 2, 'e']);
  const instants = ev.filter((e) => e.ph === 'i').map((e) => e.name);
  for (const n of ['preempted', 'preempt deferred', 'preempt sent', 'drop', 'finished', 'wake'])
    assert.ok(instants.includes(n), n);
  const counters = ev.filter((e) => e.ph === 'C' && e.name === 'injection queue').map((e) => e.args?.value);
  assert.deepEqual(counters, [1, 2, 3, 0]);
  const worker0 = ev.filter((e) => e.pid === PID && e.tid === W0_TID && e.ph === 'B').map((e) => e.name);
  assert.deepEqual(worker0, ['sleeper #1', 'writer #3', 'writer #3', 'idle', 'sleeper #1']);
});

test('a long synthetic trace with overlapping batches stays valid JSON, balanced, with paired flows', async () => {
  let progress = 0;
  const batches: EventBatch[] = [];
  for await (const b of syntheticBatches(50_000, { live: 8, overlapNs: 10_000, batch: 2048 })) batches.push(b);
  const out = new CollectSink();
  const s = await exportChromeJson(batches, out, { onProgress: (n) => (progress = n) });
  const json = JSON.parse(out.text()) as { traceEvents: TraceEvent[] };
  assert.equal(progress, s.events);
  assert.equal(json.traceEvents.length, s.records);
  assertBalanced(json.traceEvents);
  assert.equal(assertFlows(json.traceEvents), s.timeline.flows);
  assert.ok(s.timeline.flows > 1000);
});
