import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawEventWriter } from '@core/events/rawEvents.js';
import { Kind, CallFlag, hookId } from '@core/events/schema.js';
import { base64ToBytes, bytesToBase64 } from '../api/base64.js';
import { parseFrame } from '../api/wire.js';
import { SessionData, toBytes } from './sessionData.js';
import { newestCalls } from '../data/calls.js';

function trace(): RawEventWriter {
  const w = new RawEventWriter();
  const read = hookId('read');
  w.push({ ts: 1000, kind: Kind.THREAD, worker: 0, tid: 11, a: [11, 1, 0] });
  w.push({ ts: 1000, kind: Kind.CO_CREATE, worker: 0, tid: 11, co: 7, a: [0, 2, 0, 65536] });
  w.push({ ts: 1100, kind: Kind.CO_READY, worker: 0, tid: 11, co: 7, a: [1, 0, 0, 1] });
  w.push({ ts: 1200, kind: Kind.CO_RUN, worker: 0, tid: 11, co: 7, a: [1] });
  w.push({ ts: 1500, kind: Kind.CO_SUSPEND, worker: 0, tid: 11, co: 7, a: [1, read, 5, 1, 0] });
  w.push({ ts: 3000, kind: Kind.WAKE, worker: 0xffff, tid: 12, co: 7, a: [3, 5, 1, 0, 0xffff] });
  w.push({ ts: 3100, kind: Kind.CO_READY, worker: 0, tid: 11, co: 7, a: [3, 5, 0, 1] });
  w.push({ ts: 3200, kind: Kind.CO_RUN, worker: 0, tid: 11, co: 7, a: [2] });
  // read(5, 4096) = -1 EAGAIN... then a successful one of 100 bytes, parked, 1900 ns
  w.push({
    ts: 3300,
    kind: Kind.CALL,
    worker: 0,
    tid: 11,
    co: 7,
    a: [read | CallFlag.IN_CO, 5, -1, 11 + 4096 * 2 ** 32, 50],
  });
  w.push({
    ts: 3400,
    kind: Kind.CALL,
    worker: 0,
    tid: 11,
    co: 7,
    a: [read | CallFlag.IN_CO | CallFlag.PARKED, 5, 100, 4096 * 2 ** 32, 1900],
  });
  w.push({ ts: 4000, kind: Kind.CO_FINISH, worker: 0, tid: 11, co: 7, a: [0, 1024] });
  return w;
}

test('base64 round trip, any length, with and without padding', () => {
  for (let n = 0; n < 70; n++) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
    const s = bytesToBase64(b);
    assert.deepEqual(base64ToBytes(s), b);
    assert.deepEqual(base64ToBytes(s.replace(/=+$/, '')), b);
    assert.equal(s, Buffer.from(b).toString('base64'));
  }
  assert.throws(() => base64ToBytes('ab$d'));
});

test('a serve-mode batch frame decodes to the same bytes; replies pass through', () => {
  const bytes = trace().bytes();
  const f = parseFrame(
    JSON.stringify({
      push: { type: 'batch', session: 's1', seq: 0, events: bytesToBase64(bytes), strings: [[1, 'worker-0']] },
    }),
  );
  assert.ok('push' in f && f.push.type === 'batch');
  if ('push' in f && f.push.type === 'batch') assert.deepEqual(f.push.events, bytes);
  const r = parseFrame(JSON.stringify({ id: 3, ok: false, error: { code: 'static', message: 'statically linked' } }));
  assert.ok('reply' in r && !r.reply.ok && r.reply.error.code === 'static');
  assert.throws(() => parseFrame('{"x":1}'));
});

test('batches feed store, derived tables and timeline, split anywhere', () => {
  const bytes = trace().bytes();
  const d = new SessionData('s1');
  // Two batches, the second base64 (as from the WebSocket), strings with the first.
  d.apply({
    type: 'batch',
    session: 's1',
    seq: 0,
    events: bytes.subarray(0, 64 * 4),
    strings: [
      [1, 'worker-0'],
      [2, 'reader'],
    ],
  });
  d.apply({
    type: 'batch',
    session: 's1',
    seq: 4,
    events: bytesToBase64(bytes.subarray(64 * 4)) as unknown as Uint8Array,
    strings: [],
  });
  assert.equal(d.store.count, 11);
  assert.equal(d.derived.count, 11);
  assert.equal(d.batches, 2);
  assert.deepEqual(d.range(), { min: 1000, max: 4000 });
  const cos = d.derived.coroutines(true);
  assert.equal(cos.length, 1);
  assert.equal(cos[0].name, 'reader');
  assert.equal(cos[0].state, 'done');
  assert.equal(cos[0].calls, 2);
  assert.equal(cos[0].switches, 2);
  const stats = d.derived.calls.rows();
  assert.equal(stats.length, 1);
  assert.equal(stats[0].count, 2);
  assert.equal(stats[0].errors, 1);
  // Timeline: a worker lane with the coroutine twice, a coroutine track with its states and calls, a wake arrow.
  const threads = d.timeline.threadTracks();
  assert.equal(threads.length >= 1, true);
  const worker = threads.find((t) => t.info.worker === 0)!;
  assert.deepEqual(
    worker.depths[0].map((s) => [s.t0, s.t1, s.args?.co]),
    [
      [1200, 1500, 7],
      [3200, 4000, 7],
    ],
  );
  const co = d.timeline.trackOfCo(7)!;
  assert.ok(co.closed);
  assert.deepEqual(
    co.depths[0].map((s) => s.name),
    ['ready', 'running', 'suspended: read', 'ready', 'running'],
  );
  assert.deepEqual(
    co.depths[1].map((s) => s.name),
    ['read', 'read'],
  );
  assert.equal(d.timeline.flowsTo.get(co.info.id)?.length, 1);
  // The call log: newest first, filters.
  const all = newestCalls(d.store, {}, 10);
  assert.deepEqual(
    all.map((c) => [c.ts, c.result, c.errno, c.summary, c.parked]),
    [
      [3400, 100, 0, 4096, true],
      [3300, -1, 11, 4096, false],
    ],
  );
  assert.equal(newestCalls(d.store, { errorsOnly: true }, 10).length, 1);
  assert.equal(newestCalls(d.store, { slowerThan: 1000 }, 10).length, 1);
  assert.equal(newestCalls(d.store, { co: 7, fd: 5 }, 10).length, 2);
  assert.equal(newestCalls(d.store, { fd: 6 }, 10).length, 0);
  assert.equal(newestCalls(d.store, {}, 1)[0].ts, 3400);
});

test('output is kept in chunks per stream; toBytes accepts what transports produce', () => {
  const d = new SessionData('s');
  d.apply({ type: 'output', session: 's', stream: 1, text: 'a' });
  d.apply({ type: 'output', session: 's', stream: 1, text: 'b' });
  d.apply({ type: 'output', session: 's', stream: 2, text: 'err' });
  assert.deepEqual(d.output, [
    { stream: 1, text: 'ab' },
    { stream: 2, text: 'err' },
  ]);
  assert.deepEqual(toBytes({ type: 'Buffer', data: [1, 2] }), Uint8Array.of(1, 2));
  assert.deepEqual(toBytes(Uint8Array.of(1, 2).buffer), Uint8Array.of(1, 2));
  assert.deepEqual(toBytes('AQI='), Uint8Array.of(1, 2));
});

test('insights: a long run with preemption off is found while streaming, named, and the list is final after end', () => {
  const w = new RawEventWriter();
  w.push({ ts: 1000, kind: Kind.CONFIG, worker: 0, tid: 11, a: [1, 0, 10e6, 0] }); // preemption off (bit 1 of a3 clear)
  w.push({ ts: 1000, kind: Kind.THREAD, worker: 0, tid: 11, a: [11, 1, 0] });
  w.push({ ts: 1000, kind: Kind.CO_CREATE, worker: 0, tid: 11, co: 7, a: [0, 2, 0, 65536] });
  w.push({ ts: 1200, kind: Kind.CO_RUN, worker: 0, tid: 11, co: 7, a: [1] });
  w.push({ ts: 1200 + 500e6, kind: Kind.CO_FINISH, worker: 0, tid: 11, co: 7, a: [0, 1024] });
  const d = new SessionData('s1');
  d.apply({
    type: 'batch',
    session: 's1',
    seq: 0,
    events: w.bytes(),
    strings: [
      [1, 'worker-0'],
      [2, 'hog'],
    ],
  });
  assert.equal(d.insights.length, 1);
  const i = d.insights[0];
  assert.equal(i.kind, 'long-run');
  assert.equal(i.co, 7);
  assert.equal(i.coName, 'hog (co#7)');
  assert.equal(i.ts, 1200);
  assert.equal(i.durationNs, 500e6);
  d.apply({ type: 'end', session: 's1' });
  d.apply({ type: 'end', session: 's1' });
  assert.ok(d.ended);
  assert.equal(d.insights.length, 1);
});
