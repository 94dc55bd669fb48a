/** Hooked-call rows decoded from the EventStore: the newest N that match a filter (pure, testable). */
import { CallFlag, hookName, Kind, summaryKind } from '../../../main/core/events/schema.js';
import type { EventStore, StoredEvent } from '../../../main/core/store/eventStore.js';

export interface CallRow {
  index: number;
  ts: number;
  tid: number;
  worker: number;
  co: number;
  call: string;
  fd: number;
  result: number;
  errno: number;
  /** Argument summary (CALL a3 >> 32) and what it means. */
  summary: number;
  summaryKind: string;
  duration: number;
  parked: boolean;
  blocked: boolean;
}

export interface CallQuery {
  call?: string;
  fd?: number;
  co?: number;
  errorsOnly?: boolean;
  /** ns */
  slowerThan?: number;
}

export function callRow(ev: StoredEvent): CallRow {
  const a0 = ev.lo[0];
  const hook = a0 & 0xffff;
  return {
    index: ev.index, ts: ev.ts, tid: ev.tid, worker: ev.worker, co: a0 & CallFlag.IN_CO ? ev.co : 0,
    call: hookName(hook), fd: ev.a[1], result: ev.a[2], errno: ev.lo[3], summary: ev.hi[3], summaryKind: summaryKind(hook),
    duration: ev.a[4], parked: (a0 & CallFlag.PARKED) !== 0, blocked: (a0 & CallFlag.BLOCKED) !== 0,
  };
}

function matches(ev: StoredEvent, q: CallQuery): boolean {
  if (ev.kind !== Kind.CALL) return false;
  if (q.errorsOnly && ev.lo[3] === 0) return false;
  if (q.fd !== undefined && ev.a[1] !== q.fd) return false;
  if (q.co !== undefined && ev.co !== q.co) return false;
  if (q.slowerThan !== undefined && !(ev.a[4] > q.slowerThan)) return false;
  if (q.call && !hookName(ev.lo[0] & 0xffff).includes(q.call)) return false;
  return true;
}

/**
 * The newest `limit` CALL events matching q, newest first: scans the last K events of the store
 * (K doubling from 16k) until enough matched or the whole store was read; a coroutine filter
 * scans that coroutine's blocks only.
 */
export function newestCalls(store: EventStore, q: CallQuery, limit: number): CallRow[] {
  const n = store.count;
  // A ring of the newest matching events (decoded only at the end: most matches get overwritten).
  const ring: StoredEvent[] = [];
  let head = 0;
  const collect = (ev: StoredEvent) => {
    if (!matches(ev, q)) return;
    if (ring.length < limit) ring.push(copy(ev));
    else {
      ring[head] = copy(ev);
      head = (head + 1) % limit;
    }
  };
  const newestFirst = () => {
    const out: CallRow[] = [];
    for (let k = ring.length - 1; k >= 0; k--) out.push(callRow(ring[(head + k) % ring.length]));
    return out;
  };
  if (q.co !== undefined) {
    store.scanCo(q.co, -Infinity, Infinity, collect);
    return newestFirst();
  }
  let k = 16384;
  for (;;) {
    ring.length = 0;
    head = 0;
    const from = Math.max(0, n - k);
    store.scan(-Infinity, Infinity, collect, from);
    if (ring.length >= limit || from === 0) break;
    k *= 4;
  }
  return newestFirst();
}

function copy(ev: StoredEvent): StoredEvent {
  return { index: ev.index, ts: ev.ts, kind: ev.kind, lane: ev.lane, worker: ev.worker, tid: ev.tid, co: ev.co,
    a: Array.from(ev.a), lo: Array.from(ev.lo), hi: Array.from(ev.hi) };
}
