/** `coroscope dump` names the fd a coroutine waits on and who woke it (FD_DESC, FD_CLOSE, WAKER). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawEvents, RawEventWriter } from '../../core/events/rawEvents.js';
import { FdKind, FdOrigin, WakerHow } from '../../core/events/fds.js';
import { CallFlag, hookId, Kind, ReadyWhy, SuspendWhy } from '../../core/events/schema.js';
import { StringTable } from '../../core/events/strings.js';
import { DumpFds, describeEvent } from './format.js';

test('a wait on a described fd reads "parked in read on TCP a → b"; close ends it; WAKER names the writer', () => {
  const strings = new StringTable();
  strings.add([
    [1, '127.0.0.1:41234'],
    [2, '127.0.0.1:5432'],
  ]);
  const W = { worker: 0, tid: 9 };
  const w = new RawEventWriter()
    .push({ ts: 1, kind: Kind.THREAD, ...W, a: [9, 0, 0, 4242, 0] })
    .push({ ts: 2, kind: Kind.FD_DESC, ...W, co: 3, a: [7, FdKind.TCP | (FdOrigin.CONNECTED << 8), 1, 2, -1] })
    .push({ ts: 3, kind: Kind.CO_SUSPEND, ...W, co: 3, a: [SuspendWhy.CALL, hookId('read'), 7, 1, 0] })
    .push({
      ts: 4,
      kind: Kind.CALL,
      ...W,
      co: 3,
      a: [hookId('read') | CallFlag.IN_CO | CallFlag.PARKED, 7, 5, 4096 * 2 ** 32, 1],
    })
    .push({ ts: 5, kind: Kind.FD_CLOSE, ...W, co: 3, a: [7] })
    .push({ ts: 6, kind: Kind.CO_SUSPEND, ...W, co: 3, a: [SuspendWhy.CALL, hookId('read'), 7, 1, 0] })
    .push({ ts: 7, kind: Kind.WAKE, ...W, co: 3, a: [ReadyWhy.FD, 7, 1, 0, 0] })
    .push({ ts: 1_000_007, kind: Kind.WAKER, ...W, co: 3, a: [WakerHow.WROTE, 12, 9, 7, 7] });
  const raw = new RawEvents(w.bytes());
  const fds = new DumpFds();
  const lines = [];
  for (let i = 0; i < raw.length; i++) {
    fds.see(raw, i);
    lines.push(describeEvent(raw, i, strings, fds));
  }
  assert.deepEqual(lines.slice(1), [
    'fd 7 is TCP "127.0.0.1:41234" -> "127.0.0.1:5432" (connected)',
    'parked in read on TCP 127.0.0.1:41234 → 127.0.0.1:5432 (fd 7 r)',
    'read(fd=7 TCP 127.0.0.1:41234 → 127.0.0.1:5432, 4096) = 5 <1ns> parked',
    'fd 7 closed',
    'parked in read (fd 7 r)',
    'woke (fd 7 r)',
    'woken by co#12 writing to the other end (fd 9) 1.000ms earlier; it waited on fd 7',
  ]);
  // Without the table (a caller that does not follow the stream) the lines are the plain ones.
  assert.equal(describeEvent(raw, 2, strings), 'parked in read (fd 7 r)');
});
