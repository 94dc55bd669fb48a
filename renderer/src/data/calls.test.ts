import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawEvents, RawEventWriter } from '@core/events/rawEvents.js';
import { CallFlag, hookId, Kind } from '@core/events/schema.js';
import { StringTable } from '@core/events/strings.js';
import { EventStore } from '@core/store/eventStore.js';
import { AddressPairer, newestCalls } from './calls.js';

const connect = hookId('connect');
const accept4 = hookId('accept4');
const read = hookId('read');
const IN_CO = CallFlag.IN_CO;
const W0 = { worker: 0, tid: 11 };
const W1 = { worker: 1, tid: 12 };
const MAIN = { worker: 0xffff, tid: 10 };

/**
 * Two workers interleaved, as rings arrive in a store:
 *  - w0, co 7: connect parks (CALL_ENTER + CALL_ADDR), w1 runs meanwhile, connect returns (CALL + CALL_ADDR);
 *  - w1, co 8: accept4 (CALL + CALL_ADDR of the peer), then a read with no address;
 *  - main thread: a connect outside coroutines with its CALL_ADDR;
 *  - w0: a read followed by a CO_YIELD (no address); w1: a read followed, later, by a CALL_ADDR.
 */
function store(): { store: EventStore; strings: StringTable } {
  const strings = new StringTable();
  strings.add([
    [1, '127.0.0.1:8080'],
    [2, '127.0.0.1:51234'],
    [3, '/tmp/app.sock'],
  ]);
  const w = new RawEventWriter();
  const ev = (ts: number, kind: number, on: { worker: number; tid: number }, co: number, a: number[]) =>
    w.push({ ts, kind, worker: on.worker, tid: on.tid, co, a });
  ev(100, Kind.CALL_ENTER, W0, 7, [connect | IN_CO | CallFlag.PARKED, 5, 0, 0, 0]);
  ev(101, Kind.CALL_ADDR, W0, 7, [1]);
  ev(102, Kind.CO_SUSPEND, W0, 7, [1, connect, 5, 2, 0]);
  ev(103, Kind.CALL, W1, 8, [accept4 | IN_CO, 3, 9, 0x80000 * 2 ** 32, 400]);
  ev(104, Kind.CALL_ADDR, W1, 8, [2]);
  ev(105, Kind.CALL, W1, 8, [read | IN_CO, 9, 64, 4096 * 2 ** 32, 300]);
  ev(106, Kind.CALL, W0, 7, [connect | IN_CO | CallFlag.PARKED, 5, 0, 0, 900]);
  ev(107, Kind.CALL, MAIN, 0, [connect, 4, 0, 0, 50]);
  ev(108, Kind.CALL_ADDR, W0, 7, [1]);
  ev(109, Kind.CALL_ADDR, MAIN, 0, [3]);
  ev(110, Kind.CALL, W0, 7, [read | IN_CO, 5, 10, 16 * 2 ** 32, 20]);
  ev(111, Kind.CO_YIELD, W0, 7, [0]);
  ev(112, Kind.CALL_ADDR, W1, 8, [3]); // w1's record before it is its read (105): the address is the read's
  const s = new EventStore();
  s.append(new RawEvents(w.bytes()));
  return { store: s, strings };
}

test('newestCalls pairs each CALL_ADDR with the CALL just before it on the same thread, newest first', () => {
  const { store: s, strings } = store();
  const rows = newestCalls(s, {}, 100, strings);
  assert.deepEqual(
    rows.map((r) => [r.call, r.tid, r.address]),
    [
      ['read', 11, ''], // w0's read: the next record of w0 is a CO_YIELD, not an address
      ['connect', 10, '/tmp/app.sock'], // outside coroutines, on the main thread
      ['connect', 11, '127.0.0.1:8080'], // the CALL_ADDR after the CALL, not the one after CALL_ENTER
      ['read', 12, '/tmp/app.sock'], // the next record of w1 after its read is a CALL_ADDR: it belongs to the read
      ['accept4', 12, '127.0.0.1:51234'],
    ],
  );
  assert.equal(rows.find((r) => r.call === 'connect' && r.tid === 11)?.co, 7);
});

test('without a string table rows have no address; filters keep the pairing of the calls they keep', () => {
  const { store: s, strings } = store();
  assert.ok(newestCalls(s, {}, 100).every((r) => r.address === ''));
  const connects = newestCalls(s, { call: 'connect' }, 100, strings);
  assert.deepEqual(
    connects.map((r) => r.address),
    ['/tmp/app.sock', '127.0.0.1:8080'],
  );
  // A filtered-out CALL still owns the CALL_ADDR after it: the accept4's address is not given to anything else.
  const reads = newestCalls(s, { call: 'read', co: 8 }, 100, strings);
  assert.deepEqual(
    reads.map((r) => [r.call, r.address]),
    [['read', '/tmp/app.sock']],
  );
  const co7 = newestCalls(s, { co: 7 }, 100, strings);
  assert.deepEqual(
    co7.map((r) => [r.call, r.address]),
    [
      ['read', ''],
      ['connect', '127.0.0.1:8080'],
    ],
  );
});

test("AddressPairer: a CALL_ENTER in between ends the pairing; keys are the caller's", () => {
  const p = new AddressPairer<string>();
  const rec = (kind: number, tid: number, a0 = 0) => ({
    index: 0,
    ts: 0,
    kind,
    lane: 0,
    worker: 0,
    tid,
    co: 0,
    a: [a0, 0, 0, 0, 0],
    lo: [a0, 0, 0, 0, 0],
    hi: [0, 0, 0, 0, 0],
  });
  p.see(rec(Kind.CALL, 1), 'first');
  p.see(rec(Kind.CALL_ENTER, 1));
  p.see(rec(Kind.CALL_ADDR, 1, 5));
  p.see(rec(Kind.CALL, 2), 'second');
  p.see(rec(Kind.CALL_ADDR, 2, 6));
  p.see(rec(Kind.CALL_ADDR, 2, 7)); // a second address has nothing left to complete
  const strings = new StringTable();
  strings.add([
    [5, 'five'],
    [6, 'six'],
    [7, 'seven'],
  ]);
  assert.equal(p.text('first', strings), '');
  assert.equal(p.text('second', strings), 'six');
  assert.equal(p.text('second', undefined), '');
});
