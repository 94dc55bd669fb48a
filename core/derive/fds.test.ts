/** The fd table (what each fd was, per process, over time) and a coroutine's wake causes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FdFlag, FdKind, FdOrigin, WakerHow } from '../events/fds.js';
import { hookId, Kind, NO_WORKER, ReadyWhy, SuspendWhy } from '../events/schema.js';
import { RawEvents, RawEventWriter } from '../events/rawEvents.js';
import { StringTable } from '../events/strings.js';
import { EventStore } from '../store/eventStore.js';
import { Derived } from './derived.js';
import { wakeCauses, type CoEvent } from './fds.js';

const MS = 1_000_000;
const W0 = { worker: 0, tid: 200 };
const MAIN = { worker: NO_WORKER, tid: 100 };
const read = hookId('read');

function session(build: (w: RawEventWriter) => void, strings: [number, string][]) {
  const table = new StringTable();
  table.add(strings);
  const store = new EventStore();
  const derived = new Derived(store, table);
  const w = new RawEventWriter();
  w.push({ ts: 1, kind: Kind.THREAD, tid: MAIN.tid, a: [MAIN.tid, 0, NO_WORKER, 42, 0] });
  w.push({ ts: 1, kind: Kind.THREAD, tid: W0.tid, worker: 0, a: [W0.tid, 0, 0, 42, 0] });
  build(w);
  const raw = new RawEvents(w.bytes().slice());
  store.append(raw);
  derived.append(raw);
  return { store, derived, strings: table };
}

const desc = (kind: number, origin: number, flags = 0) => kind | (origin << 8) | flags;

describe('fd table', () => {
  it('says what an fd was at each moment: described at creation, ended by close, a reused number described anew', () => {
    const { derived, strings } = session(
      (w) => {
        w.push({ ts: 10 * MS, kind: Kind.FD_DESC, ...W0, co: 3, a: [7, desc(FdKind.TCP, FdOrigin.CREATED), 1, 2, -1] });
        w.push({ ts: 20 * MS, kind: Kind.FD_CLOSE, ...W0, co: 3, a: [7] });
        w.push({
          ts: 30 * MS,
          kind: Kind.FD_DESC,
          ...W0,
          co: 3,
          a: [7, desc(FdKind.FILE, FdOrigin.CREATED), 3, 0, -1],
        });
      },
      [
        [1, '127.0.0.1:41234'],
        [2, '127.0.0.1:5432'],
        [3, '/var/lib/app.db'],
      ],
    );
    const at = (t: number) => derived.fds.at(0, 7, t, strings)?.text;
    assert.equal(at(5 * MS), undefined, 'not yet made (origin CREATED: it did not exist before)');
    assert.equal(at(15 * MS), 'TCP 127.0.0.1:41234 → 127.0.0.1:5432');
    assert.equal(at(25 * MS), undefined, 'closed: no stale description');
    assert.equal(at(35 * MS), 'file /var/lib/app.db');
    assert.equal(derived.fds.at(1, 7, 35 * MS, strings), undefined, 'another process has its own fds');
  });

  it('an fd described at its first use or at subscription existed before: it explains earlier waits too', () => {
    const { derived, strings } = session(
      (w) => {
        w.push({
          ts: 50 * MS,
          kind: Kind.FD_DESC,
          ...MAIN,
          a: [0, desc(FdKind.PIPE, FdOrigin.EXISTING, FdFlag.READ_END), 1, 0, -1],
        });
      },
      [[1, 'pipe:[99]']],
    );
    assert.equal(derived.fds.at(0, 0, 10 * MS, strings)?.text, 'pipe read end');
    assert.deepEqual(
      derived.fds.openAt(0, Infinity, strings).map((d) => d.fd),
      [0],
    );
  });
});

describe('fd table: a socket described once connected', () => {
  it('names its socket and connect calls too, but not a call before an earlier close of that number', () => {
    const { derived, strings } = session(
      (w) => {
        w.push({ ts: 1 * MS, kind: Kind.FD_DESC, ...W0, co: 3, a: [9, desc(FdKind.FILE, FdOrigin.CREATED), 3, 0, -1] });
        w.push({ ts: 2 * MS, kind: Kind.FD_CLOSE, ...W0, co: 3, a: [9] });
        w.push({
          ts: 5 * MS,
          kind: Kind.FD_DESC,
          ...W0,
          co: 3,
          a: [9, desc(FdKind.TCP, FdOrigin.CONNECTED), 1, 2, -1],
        });
      },
      [
        [1, '127.0.0.1:41234'],
        [2, '127.0.0.1:5432'],
        [3, '/tmp/x'],
      ],
    );
    assert.equal(derived.fds.at(0, 9, 4 * MS, strings)?.text, 'TCP 127.0.0.1:41234 → 127.0.0.1:5432');
    assert.equal(derived.fds.at(0, 9, 1.5 * MS, strings)?.text, 'file /tmp/x');
  });
});

describe('wake causes', () => {
  const ctx = {
    dur: (ns: number) => `${(ns / MS).toFixed(1)} ms`,
    fdName: (fd: number) => (fd === 5 ? 'fd 5 (Unix stream)' : `fd ${fd}`),
    coName: (co: number) => `co#${co}`,
  };
  const ev = (ts: number, kind: number, a: number[]): CoEvent => ({ ts, kind, co: 2, a });

  it('names the coroutine that wrote to the other end, with how long the woken one was parked', () => {
    const list = wakeCauses(
      [
        ev(10 * MS, Kind.CO_SUSPEND, [SuspendWhy.CALL, read, 5, 1, 0]),
        ev(13.2 * MS, Kind.WAKE, [ReadyWhy.FD, 5, 1, 0, 0]),
        ev(13.2 * MS, Kind.CO_READY, [ReadyWhy.FD, 5, 0, 1]),
        ev(13.2 * MS, Kind.WAKER, [WakerHow.WROTE, 12, 9, 13.1 * MS, 5]),
      ],
      ctx,
    );
    assert.equal(list.length, 1);
    assert.equal(list[0].waker, 12);
    assert.equal(list[0].wakerFd, 9);
    assert.equal(list[0].text, 'woken by co#12 writing to the other end of fd 5 (Unix stream) after 3.2 ms');
  });

  it('without a WAKER an fd wake is the kernel’s; timers, joins and lock hand-offs say their cause', () => {
    const list = wakeCauses(
      [
        ev(1 * MS, Kind.CO_SUSPEND, [SuspendWhy.CALL, read, 7, 1, 0]),
        ev(2 * MS, Kind.WAKE, [ReadyWhy.FD, 7, 1, 0, 0]),
        ev(3 * MS, Kind.CO_SUSPEND, [SuspendWhy.SLEEP, hookId('usleep'), -1, 0, 4 * MS]),
        ev(4 * MS, Kind.WAKE, [ReadyWhy.TIMER, 4 * MS, 0, 0, 0]),
        ev(5 * MS, Kind.CO_SUSPEND, [SuspendWhy.JOIN, 0, 8, 0, 0]),
        ev(6 * MS, Kind.WAKE, [ReadyWhy.JOINED, 8, 0, 8, 0]),
        ev(7 * MS, Kind.CO_SUSPEND, [SuspendWhy.CALL, hookId('pthread_mutex_lock'), -1, 0, 0]),
        ev(9 * MS, Kind.WAKE, [ReadyWhy.OFFLOAD, hookId('pthread_mutex_lock'), 0, 4, 1]),
      ],
      ctx,
    );
    assert.deepEqual(
      list.map((c) => [c.text, c.waker]),
      [
        ['fd 7 became readable (the kernel: the network, another process or thread) after 1.0 ms', 0],
        ['timer after 1.0 ms', 0],
        ['co#8 finished (join) after 1.0 ms', 8],
        ['woken by co#4 releasing the mutex after 2.0 ms', 4],
      ],
    );
  });

  it('reads the records of the store as the coroutine detail does (scanCo), FD_DESC naming the fd', () => {
    const { store, derived, strings } = session((w) => {
      w.push({ ts: 1 * MS, kind: Kind.FD_DESC, ...MAIN, a: [5, desc(FdKind.UNIX_STREAM, FdOrigin.CREATED), 0, 0, 4] });
      w.push({ ts: 2 * MS, kind: Kind.CO_SUSPEND, ...W0, co: 2, a: [SuspendWhy.CALL, read, 5, 1, 0] });
      w.push({ ts: 3 * MS, kind: Kind.WAKE, ...W0, co: 2, a: [ReadyWhy.FD, 5, 1, 0, 0] });
      w.push({ ts: 3 * MS, kind: Kind.WAKER, ...W0, co: 2, a: [WakerHow.WROTE, 1, 4, 2.5 * MS, 5] });
    }, []);
    const evs: CoEvent[] = [];
    store.scanCo(
      2,
      -Infinity,
      Infinity,
      (e) => void evs.push({ ts: e.ts, kind: e.kind, co: e.co, a: Array.from(e.a) }),
    );
    const [c] = wakeCauses(evs, {
      dur: (ns) => `${ns / MS} ms`,
      fdName: (fd, t) => `fd ${fd} (${derived.fds.at(0, fd, t, strings)?.text ?? '?'})`,
    });
    assert.equal(c.text, 'woken by co#1 writing to the other end of fd 5 (Unix stream (other end fd 4)) after 1 ms');
  });
});
