/** The timeline names the fd a coroutine is suspended on (FD_DESC) and draws an fd wake from the writer (WAKER). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TimelineBuilder } from './timeline.js';
import { TimelineCollector } from './collect.js';
import { FdKind, FdOrigin, WakerHow } from '../events/fds.js';
import { hookId, Kind, NO_WORKER, ReadyWhy, SuspendWhy } from '../events/schema.js';
import { StringTable } from '../events/strings.js';
import { MS, T0, rawOf } from '../testing/fixtures.js';

const t = (ms: number) => T0 + ms * MS;
const main = { worker: NO_WORKER, tid: 100 };
const w0 = { worker: 0, tid: 101 };
const netpoll = { worker: 1, tid: 102 };

test('a read on a described socketpair end is labelled with what the fd is; its wake is drawn from the coroutine that wrote', () => {
  const strings = new StringTable();
  strings.add([
    [1, 'reader'],
    [2, 'writer'],
  ]);
  const c = new TimelineCollector();
  const b = new TimelineBuilder(c);
  const raw = rawOf([
    { ts: t(0), kind: Kind.THREAD, ...main, a: [100, 0, NO_WORKER] },
    { ts: t(0), kind: Kind.THREAD, ...w0, a: [101, 0, 0] },
    { ts: t(0), kind: Kind.THREAD, ...netpoll, a: [102, 0, 1] },
    { ts: t(0.1), kind: Kind.FD_DESC, ...main, a: [5, FdKind.UNIX_STREAM | (FdOrigin.CREATED << 8), 0, 0, 6] },
    { ts: t(0.2), kind: Kind.CO_CREATE, ...main, co: 2, a: [0, 1, 0, 65536] },
    { ts: t(0.2), kind: Kind.CO_CREATE, ...main, co: 3, a: [0, 2, 0, 65536] },
    { ts: t(1), kind: Kind.CO_RUN, ...w0, co: 2, a: [1] },
    { ts: t(1.5), kind: Kind.CO_SUSPEND, ...w0, co: 2, a: [SuspendWhy.CALL, hookId('read'), 5, 1, 0] },
    { ts: t(2), kind: Kind.CO_RUN, ...w0, co: 3, a: [1] },
    { ts: t(3), kind: Kind.WAKE, ...netpoll, co: 2, a: [ReadyWhy.FD, 5, 1, 0, 1] },
    { ts: t(3), kind: Kind.CO_READY, ...netpoll, co: 2, a: [ReadyWhy.FD, 5, 0, 1] },
    { ts: t(3), kind: Kind.WAKER, ...netpoll, co: 2, a: [WakerHow.WROTE, 3, 6, t(2.9), 5] },
    { ts: t(4), kind: Kind.CO_YIELD, ...w0, co: 3, a: [0] },
    { ts: t(4), kind: Kind.CO_RUN, ...w0, co: 2, a: [2] },
  ]);
  b.push(raw, strings);
  b.finish();
  const reader = c.tracksNamed('reader #2')[0];
  const writer = c.tracksNamed('writer #3')[0];
  const parked = c.slicesOn(reader.id).find((s) => s.name === 'suspended: read')!;
  assert.equal(parked.args?.fd_is, 'Unix stream (other end fd 6)');
  const wake = c.instants.find((i) => i.name === 'wake' && i.args?.co === 2)!;
  assert.equal(wake.track, writer.id, 'the arrow starts at the writer, not at the netpoller thread');
  assert.equal(wake.args?.woken_by, 3);
  assert.equal(wake.args?.by, 'writing to fd 6');
});
