/**
 * What each fd was, per process, over time (FD_DESC / FD_CLOSE), and why a
 * coroutine woke (WAKE + WAKER): docs/events.md "File descriptors".
 *
 * FdTable keeps, per (process serial, fd), the descriptions in stream order,
 * each valid from its FD_DESC until the fd's FD_CLOSE or its next FD_DESC.
 * `at(serial, fd, t)` answers "what was fd 7 at time t": the description in
 * force then; when none was yet (an fd made before the stream began,
 * described at its first use or when the inspector subscribed: origin
 * FIRST_USE or EXISTING; a socket described once connected: CONNECTED, its
 * socket and connect calls came first), the next one, when it is of one of
 * those origins and no close came between t and it. String ids stay ids until asked (strings can arrive in any
 * batch before use). Memory: at most KEEP descriptions per fd number (the
 * oldest go), so a long trace that reuses numbers stays bounded.
 *
 * wakeCauses() turns a coroutine's WAKE / WAKER / CO_SUSPEND records (from
 * EventStore.scanCo, in order) into lines such as "woken by co#12 writing to
 * the other end of fd 9 after 3.2 ms".
 */
import { FdOrigin, fdText, wakerHowName, type FdDescription } from '../events/fds.js';
import { Kind, ReadyWhy, hookName } from '../events/schema.js';
import type { StringTable } from '../events/strings.js';

const KEEP = 64;

interface Entry {
  from: number;
  /** Closed at (FD_CLOSE), Infinity while open. */
  to: number;
  a1: number;
  local: number;
  peer: number;
  other: number;
}

export interface FdAt extends FdDescription {
  fd: number;
  origin: number;
  /** When this description began (its FD_DESC) and ended (FD_CLOSE; Infinity: still open). */
  from: number;
  to: number;
  /** One line: "TCP 127.0.0.1:41234 → 127.0.0.1:5432". */
  text: string;
}

export class FdTable {
  private readonly byKey = new Map<number, Entry[]>();
  private descs = 0;

  private static key(serial: number, fd: number): number {
    return serial * 2 ** 21 + fd;
  }

  /** FD_DESC of process `serial` at ts: a0 fd, a1 kind | origin << 8 | flags, a2 local, a3 peer (string ids), a4 other end. */
  onDesc(serial: number, ts: number, fd: number, a1: number, local: number, peer: number, other: number): void {
    if (fd < 0 || fd >= 2 ** 21) return;
    const k = FdTable.key(serial, fd);
    let list = this.byKey.get(k);
    if (!list) this.byKey.set(k, (list = []));
    const last = list[list.length - 1];
    if (last && last.to === Infinity) last.to = ts; // a new description replaces the one in force
    list.push({ from: ts, to: Infinity, a1, local, peer, other });
    if (list.length > KEEP) list.splice(0, list.length - KEEP);
    this.descs++;
  }

  /** FD_CLOSE of process `serial` at ts. */
  onClose(serial: number, ts: number, fd: number): void {
    const list = this.byKey.get(FdTable.key(serial, fd));
    const last = list?.[list.length - 1];
    if (last && last.to === Infinity) last.to = ts;
  }

  /** Descriptions seen. */
  get count(): number {
    return this.descs;
  }

  /** What fd of process `serial` was at time t (undefined: never described). */
  at(serial: number, fd: number, t: number, strings: StringTable): FdAt | undefined {
    const list = this.byKey.get(FdTable.key(serial, fd));
    if (!list || fd < 0) return undefined;
    // Not described yet at t, but by the next description of the same lifetime: an fd that already
    // existed, described at its first use or at subscription, or a socket described once connected.
    let later: Entry | undefined;
    let hit: Entry | undefined;
    let i = list.length - 1;
    for (; i >= 0; i--) {
      const e = list[i];
      if (e.from <= t) {
        hit = t < e.to || (t === Infinity && e.to === Infinity) ? e : later;
        break;
      }
      const origin = (e.a1 >>> 8) & 0xff;
      later =
        origin === FdOrigin.FIRST_USE || origin === FdOrigin.EXISTING || origin === FdOrigin.CONNECTED ? e : undefined;
    }
    if (i < 0) hit = later;
    return hit ? this.resolve(fd, hit, strings) : undefined;
  }

  /** The processes (serials) with described fds, ascending. */
  serials(): number[] {
    const out = new Set<number>();
    for (const k of this.byKey.keys()) out.add(Math.floor(k / 2 ** 21));
    return [...out].sort((a, b) => a - b);
  }

  /** Every description of process `serial` in force at t (or the latest of each fd with t = Infinity), by fd. */
  openAt(serial: number, t: number, strings: StringTable): FdAt[] {
    const out: FdAt[] = [];
    for (const k of this.byKey.keys()) {
      if (Math.floor(k / 2 ** 21) !== serial) continue;
      const fd = k % 2 ** 21;
      const d = this.at(serial, fd, t, strings);
      if (d) out.push(d);
    }
    return out.sort((a, b) => a.fd - b.fd);
  }

  private resolve(fd: number, e: Entry, strings: StringTable): FdAt {
    const d: FdDescription = {
      kind: e.a1 & 0xff,
      flags: e.a1 & 0xff0000,
      local: strings.get(e.local),
      peer: strings.get(e.peer),
      other: e.other,
    };
    return { ...d, fd, origin: (e.a1 >>> 8) & 0xff, from: e.from, to: e.to, text: fdText(d) };
  }
}

/** The part of a stored event wakeCauses reads (EventStore's StoredEvent has it). */
export interface CoEvent {
  ts: number;
  kind: number;
  co: number;
  a: ArrayLike<number>;
}

export interface WakeCause {
  ts: number;
  /** ReadyWhy of the WAKE. */
  why: number;
  /** The coroutine that caused it (0: none known: the network, another process, a timer). */
  waker: number;
  /** The fd the woken coroutine waited on (-1: none). */
  fd: number;
  /** The waker's fd, the other end (WAKER a2; -1: none). */
  wakerFd: number;
  /** How long it had been parked (its CO_SUSPEND to the wake; NaN when the park was not seen). */
  parked: number;
  /** "woken by co#12 writing to the other end of fd 9 after 3.2 ms". */
  text: string;
}

export interface WakeContext {
  /** "fd 7 (TCP 127.0.0.1:41234 → 127.0.0.1:5432)" for an fd at a time; plain "fd 7" when unknown. */
  fdName?: (fd: number, t: number) => string;
  /** "co#12 \"conn-3\"" */
  coName?: (co: number) => string;
  /** Duration as text (the caller's units). */
  dur: (ns: number) => string;
}

/**
 * The wakes of one coroutine, oldest first, from its own records in order
 * (CO_SUSPEND, WAKE, WAKER; others are skipped). `limit` keeps the newest.
 */
export function wakeCauses(events: Iterable<CoEvent>, ctx: WakeContext, limit = 50): WakeCause[] {
  const out: WakeCause[] = [];
  let parkedAt = NaN;
  let parkedHook = 0;
  const fdName = ctx.fdName ?? ((fd: number) => `fd ${fd}`);
  const coName = ctx.coName ?? ((co: number) => `co#${co}`);
  for (const ev of events) {
    if (ev.kind === Kind.CO_SUSPEND) {
      parkedAt = ev.ts;
      parkedHook = ev.a[0] === 1 ? ev.a[1] : 0;
      continue;
    }
    if (ev.kind === Kind.WAKER) {
      const last = out[out.length - 1];
      if (!last || last.why !== ReadyWhy.FD) continue;
      const how = ev.a[0],
        waker = ev.a[1],
        wfd = ev.a[2],
        fd = ev.a[4];
      last.waker = waker;
      const who = waker ? coName(waker) : 'a thread';
      last.wakerFd = wfd;
      last.text = `woken by ${who} ${wakerHowName(how)} the other end of ${fdName(fd, last.ts)}${after(last.parked, ctx)}`;
      continue;
    }
    if (ev.kind !== Kind.WAKE) continue;
    const why = ev.a[0],
      detail = ev.a[1],
      wakerCo = ev.a[3];
    const parked = Number.isNaN(parkedAt) ? NaN : ev.ts - parkedAt;
    const tail = after(parked, ctx);
    let text: string;
    let fd = -1;
    let waker = 0;
    switch (why) {
      case ReadyWhy.FD:
        fd = detail;
        text = `${fdName(fd, ev.ts)} became ${ev.a[2] === 2 ? 'writable' : 'readable'} (the kernel: the network, another process or thread)${tail}`;
        break;
      case ReadyWhy.CLOSED:
        fd = detail;
        text = `${fdName(fd, ev.ts)} was closed${wakerCo ? ` by ${coName(wakerCo)}` : ''}${tail}`;
        waker = wakerCo;
        break;
      case ReadyWhy.TIMER:
        text = `timer${tail}`;
        break;
      case ReadyWhy.JOINED:
        waker = detail;
        text = `${coName(detail)} finished (join)${tail}`;
        break;
      case ReadyWhy.SPAWNED:
        waker = detail;
        text = detail ? `spawned by ${coName(detail)}` : 'spawned by a thread';
        break;
      case ReadyWhy.OFFLOAD:
        waker = wakerCo;
        text = wakerCo
          ? `woken by ${coName(wakerCo)} releasing ${lockWord(detail)}${tail}`
          : `${hookName(detail || parkedHook)} finished on the offload pool${tail}`;
        break;
      case ReadyWhy.SIGNAL:
        text = `signal ${detail} interrupted the wait${tail}`;
        break;
      default:
        waker = wakerCo;
        text = `${wakerCo ? `woken by ${coName(wakerCo)}` : 'woken'}${tail}`;
    }
    out.push({ ts: ev.ts, why, waker, fd, wakerFd: -1, parked, text });
    parkedAt = NaN;
    if (out.length > limit * 2) out.splice(0, out.length - limit);
  }
  return out.slice(-limit);
}

function after(parked: number, ctx: WakeContext): string {
  return Number.isNaN(parked) ? '' : ` after ${ctx.dur(parked)}`;
}

/** What an OFFLOAD wake with a waker released: the hook (WAKE a1) says which lock. */
function lockWord(hook: number): string {
  const n = hookName(hook);
  if (n.startsWith('pthread_mutex')) return 'the mutex';
  if (n.startsWith('pthread_cond')) return 'the condition variable (signal)';
  if (n.startsWith('sem_')) return 'the semaphore';
  return n;
}
