/**
 * The data store's ingest queue (stores/data.ts): pushes are applied after the next frame, in
 * arrival order, big batches in slices; a reset forgets what was queued for that session.
 * (In Node there is no requestAnimationFrame: the queue drains on a timer.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawEventWriter } from '@core/events/rawEvents.js';
import { Kind } from '@core/events/schema.js';
import { drainNow, ingest, onApplied, peekSessionData, queuedPushes, resetSessionData } from './data.js';

/** n CO_YIELD events of one coroutine on worker 0, 1 us apart from `from`. */
function batch(n: number, from: number): Uint8Array {
  const w = new RawEventWriter(n);
  for (let i = 0; i < n; i++) w.push({ ts: from + i * 1000, kind: Kind.CO_YIELD, worker: 0, tid: 100, co: 1, a: [0] });
  return w.bytes();
}

const settle = () => new Promise((r) => setTimeout(r, 60));

test('data: pushes are applied later, in order; a big batch in slices; the end after the batches before it', async () => {
  const id = 'q1';
  const applied: number[] = [];
  onApplied((s, seq) => s === id && applied.push(seq));
  ingest({ type: 'batch', session: id, seq: 0, events: batch(10_000, 1e9), strings: [] });
  ingest({ type: 'output', session: id, stream: 1, text: 'hello' });
  ingest({ type: 'batch', session: id, seq: 10_000, events: batch(5, 2e9), strings: [] });
  ingest({ type: 'end', session: id });
  // Not applied in the handler: queued (the 10,000-event batch as three slices).
  assert.equal(peekSessionData(id)?.store.count ?? 0, 0);
  assert.equal(queuedPushes(), 3 + 3);
  for (let k = 0; k < 50 && queuedPushes(); k++) await settle();
  const d = peekSessionData(id)!;
  assert.equal(queuedPushes(), 0);
  assert.equal(d.store.count, 10_005);
  assert.equal(d.batches, 4);
  assert.equal(d.newest, 2e9 + 4000);
  assert.equal(d.output[0].text, 'hello');
  assert.equal(d.ended, true);
  // The applied listener (the page's acks) hears the seq after every slice, in order.
  assert.deepEqual(applied, [4096, 8192, 10_000, 10_005]);
  onApplied(undefined);
});

test('data: a reset forgets what was queued for that session only', async () => {
  ingest({ type: 'batch', session: 'q2', seq: 0, events: batch(100, 1e9), strings: [] });
  ingest({ type: 'batch', session: 'q3', seq: 0, events: batch(7, 1e9), strings: [] });
  resetSessionData('q2');
  drainNow();
  assert.equal(peekSessionData('q2')!.store.count, 0);
  assert.equal(peekSessionData('q3')!.store.count, 7);
  await settle();
});
