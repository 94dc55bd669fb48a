/** describeEvent (the CLI's dump lines) decodes the kinds that complete a call and the scheduler samples. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawEvents, RawEventWriter } from '../../core/events/rawEvents.js';
import { CallFlag, hookId, Kind, ReadyWhy } from '../../core/events/schema.js';
import { StringTable } from '../../core/events/strings.js';
import { callRows, describeEvent, table } from './format.js';

test("CALL_ENTER, CALL_ADDR, QUEUES, CO_MIGRATE and CO_CREATE's entry read as the C dump prints them", () => {
  const strings = new StringTable();
  strings.add([
    [1, '127.0.0.1:8080'],
    [2, 'conn_main'],
    [3, 'conn-1'],
  ]);
  const parked = CallFlag.IN_CO | CallFlag.PARKED;
  const w = new RawEventWriter()
    .push({ ts: 1, kind: Kind.CALL_ENTER, worker: 0, tid: 9, co: 4, a: [hookId('read') | parked, 7, 4096, 0, 0] })
    .push({
      ts: 2,
      kind: Kind.CALL_ENTER,
      worker: 0,
      tid: 9,
      co: 4,
      a: [hookId('accept4') | parked, 3, 0x80000, 2_500_000, 0],
    })
    .push({
      ts: 3,
      kind: Kind.CALL_ENTER,
      worker: 0,
      tid: 9,
      co: 4,
      a: [hookId('usleep') | parked, -1, 0, 20_000_000, 0],
    })
    .push({ ts: 4, kind: Kind.CALL_ADDR, worker: 0, tid: 9, co: 4, a: [1] })
    .push({ ts: 5, kind: Kind.QUEUES, worker: 1, tid: 10, a: [3, 2, 1, 4, 17] })
    .push({ ts: 6, kind: Kind.CO_MIGRATE, worker: 1, tid: 10, co: 4, a: [0, 1] })
    .push({ ts: 7, kind: Kind.CO_CREATE, worker: 0, tid: 9, co: 4, a: [1, 3, 2, 65536] });
  const raw = new RawEvents(w.bytes());
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].map((i) => describeEvent(raw, i, strings)),
    [
      'read(fd=7, 4096, timeout=none) ...',
      'accept4(fd=3, flags=0x80000, timeout=2.500ms) ...',
      'usleep(timeout=20.000ms) ...',
      '  address "127.0.0.1:8080"',
      'queues run=3 spawn=2 injection=1 timers=4 parked=17',
      'migrated w0 -> w1',
      'created by co#1 entry="conn_main" stack=65536 name="conn-1"',
    ],
  );
});

test('a table of 300,000 rows (stats --all of a long trace) pads every column to its widest cell', () => {
  const rows = Array.from({ length: 300_000 }, (_, i) => [i, `co-${i}`]);
  const lines = table(['co', 'name'], rows).split('\n');
  assert.equal(lines.length, 300_001);
  assert.equal(lines[1], '     0  co-0');
  assert.equal(lines[300_000], '299999  co-299999');
});

test('OFFCPU and STALL/STALL_END read as dump lines: time off the CPU and why, the stalled system call by name and its fd target', () => {
  const strings = new StringTable();
  strings.add([[5, '/var/lib/app.db']]);
  const w = new RawEventWriter()
    .push({ ts: 50_000_000, kind: Kind.OFFCPU, worker: 0, tid: 9, co: 4, a: [40_000_000, 2_500_000, 1] })
    .push({ ts: 50_000_000, kind: Kind.OFFCPU, worker: 0, tid: 9, co: 4, a: [45_000_000, 80_000, 0] })
    .push({
      ts: 60_000_000,
      kind: Kind.STALL,
      worker: 0xffff,
      tid: 11,
      co: 4,
      a: [0, 0 + 8 * 2 ** 32, 7, 5, 40_000_000],
    })
    .push({
      ts: 90_000_000,
      kind: Kind.STALL_END,
      worker: 0xffff,
      tid: 11,
      co: 4,
      a: [0, 35, -1, 50_000_000, 40_000_000],
    });
  const raw = new RawEvents(w.bytes());
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => describeEvent(raw, i, strings)),
    [
      'off CPU 2.500ms from -10.000 ms (taken by the OS: CPU contention)',
      'off CPU 80.0us from -5.000 ms (slept in the kernel)',
      'STALL w0 in read() fd=7 "/var/lib/app.db" (run began -20.000 ms)',
      'stall ended: w0 nanosleep() after 50.000ms',
    ],
  );
});

test('signals read by name in dump lines: a wake by a signal, the engine configuration', () => {
  const w = new RawEventWriter()
    .push({ ts: 1, kind: Kind.CO_READY, worker: 0, tid: 9, co: 4, a: [ReadyWhy.SIGNAL, 23, 0, 1, 0] })
    .push({ ts: 2, kind: Kind.CO_READY, worker: 0, tid: 9, co: 4, a: [ReadyWhy.SIGNAL, 99, 0, 1, 0] })
    .push({ ts: 3, kind: Kind.CONFIG, worker: 0xffff, tid: 9, a: [2, 65536, 10_000_000, 1 | 2, 34] });
  const raw = new RawEvents(w.bytes());
  assert.deepEqual(
    [0, 1].map((i) => describeEvent(raw, i, new StringTable())),
    ['ready (signal SIGURG) depth=1', 'ready (signal 99) depth=1'],
  );
  assert.match(describeEvent(raw, 2, new StringTable()), / signal=SIGRTMIN( |$)/);
});

test('a hooked call whose every record has no duration shows dashes, not 0ns, in the call table', () => {
  const out = callRows([
    { name: 'getsockopt', count: 3, errors: 0, parked: 0, blocked: 0, total: 0, p50: 0, p99: 0, max: 0, inCo: 3 },
    { name: 'read', count: 2, errors: 0, parked: 2, blocked: 0, total: 4000, p50: 2000, p99: 2000, max: 2000, inCo: 2 },
  ]);
  const lines = out.split('\n');
  const gs = lines.find((l) => l.endsWith('getsockopt'))!;
  assert.doesNotMatch(gs, /0ns/);
  assert.equal(gs.match(/—/g)?.length, 6, gs);
  assert.match(
    lines.find((l) => l.endsWith('read'))!,
    /2\.0us/,
  );
});
