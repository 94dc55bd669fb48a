/**
 * Hooked-call rows decoded from the EventStore: the newest N that match a filter (pure, testable).
 *
 * A CALL_ADDR record (the peer of connect/accept, or a path) completes the CALL just before it from
 * the same thread (docs/events.md): scans pair them (AddressPairer), so a row carries its address.
 */
import { CallFlag, hookName, Kind, summaryKind } from '@core/events/schema.js';
import type { StringTable } from '@core/events/strings.js';
import type { EventStore, StoredEvent } from '@core/store/eventStore.js';

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
  /** Peer address or path (CALL_ADDR after the CALL): "127.0.0.1:8080", "[::1]:80", "/tmp/s", "@name"; '' if none. */
  address: string;
  /** What the fd was then (FD_DESC: "TCP 127.0.0.1:41234 → 127.0.0.1:5432"); absent when not known. */
  fdDesc?: string;
}

export interface CallQuery {
  call?: string;
  fd?: number;
  co?: number;
  errorsOnly?: boolean;
  /** ns */
  slowerThan?: number;
}

export function callRow(ev: StoredEvent, address = ''): CallRow {
  const a0 = ev.lo[0];
  const hook = a0 & 0xffff;
  return {
    index: ev.index,
    ts: ev.ts,
    tid: ev.tid,
    worker: ev.worker,
    co: a0 & CallFlag.IN_CO ? ev.co : 0,
    call: hookName(hook),
    fd: ev.a[1],
    result: ev.a[2],
    errno: ev.lo[3],
    summary: ev.hi[3],
    summaryKind: summaryKind(hook),
    duration: ev.a[4],
    parked: (a0 & CallFlag.PARKED) !== 0,
    blocked: (a0 & CallFlag.BLOCKED) !== 0,
    address,
  };
}

/**
 * Pairs CALL_ADDR records with the CALL they complete while a scan goes through the store in order:
 * feed every event to `see`; a CALL is remembered per thread with the key its caller chose, and a
 * CALL_ADDR that comes next on that thread is recorded for that key. Any other record of the thread
 * in between ends the pairing (CALL_ENTER too: its address belongs to the in-flight call, not to a
 * completed CALL).
 */
export class AddressPairer<K> {
  private readonly last = new Map<number, K>();
  readonly addresses = new Map<K, number>();

  /** key: what identifies this event's row if it is a CALL (undefined: the caller does not keep it). */
  see(ev: StoredEvent, key?: K): void {
    if (ev.kind === Kind.CALL_ADDR) {
      const k = this.last.get(ev.tid);
      if (k !== undefined) this.addresses.set(k, ev.a[0]);
      this.last.delete(ev.tid);
    } else if (ev.kind === Kind.CALL && key !== undefined) {
      this.last.set(ev.tid, key);
    } else if (this.last.size) {
      this.last.delete(ev.tid);
    }
  }

  /** The address text of key's CALL, '' if it has none. */
  text(key: K, strings: StringTable | undefined): string {
    const id = this.addresses.get(key);
    return id && strings ? strings.get(id) : '';
  }
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
 * scans that coroutine's blocks only. With `strings`, rows carry their CALL_ADDR text.
 */
export function newestCalls(store: EventStore, q: CallQuery, limit: number, strings?: StringTable): CallRow[] {
  const n = store.count;
  // A ring of the newest matching events (decoded only at the end: most matches get overwritten).
  const ring: StoredEvent[] = [];
  let head = 0;
  let pairs = new AddressPairer<number>();
  const collect = (ev: StoredEvent) => {
    const hit = matches(ev, q);
    pairs.see(ev, hit ? ev.index : undefined);
    if (!hit) return;
    if (ring.length < limit) ring.push(copy(ev));
    else {
      ring[head] = copy(ev);
      head = (head + 1) % limit;
    }
  };
  const newestFirst = () => {
    const out: CallRow[] = [];
    for (let k = ring.length - 1; k >= 0; k--) {
      const ev = ring[(head + k) % ring.length];
      out.push(callRow(ev, pairs.text(ev.index, strings)));
    }
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
    pairs = new AddressPairer<number>();
    const from = Math.max(0, n - k);
    store.scan(-Infinity, Infinity, collect, from);
    if (ring.length >= limit || from === 0) break;
    k *= 4;
  }
  return newestFirst();
}

function copy(ev: StoredEvent): StoredEvent {
  return {
    index: ev.index,
    ts: ev.ts,
    kind: ev.kind,
    lane: ev.lane,
    worker: ev.worker,
    tid: ev.tid,
    co: ev.co,
    a: Array.from(ev.a),
    lo: Array.from(ev.lo),
    hi: Array.from(ev.hi),
  };
}
