/**
 * `coroscope dump` and `stats` on what each fd is and who woke whom
 * (FD_DESC, FD_CLOSE, WAKER: docs/events.md "File descriptors").
 *
 * DumpFds follows a dump in order: it keeps the fd table of every process
 * (core/derive/fds.ts, keyed by the pid its THREAD records give each thread)
 * so that "parked in read (fd 7 r)" reads "parked in read on TCP
 * 127.0.0.1:41234 → 127.0.0.1:5432 (fd 7 r)", and it renders the three kinds.
 */
import type { RawEvents } from '../../core/events/rawEvents.js';
import type { StringTable } from '../../core/events/strings.js';
import { Kind } from '../../core/events/schema.js';
import { FdFlag, fdKindName, FdOrigin, wakerHowName } from '../../core/events/fds.js';
import { FdTable, type FdAt } from '../../core/derive/fds.js';

const ORIGINS: Record<number, string> = {
  [FdOrigin.CREATED]: 'created',
  [FdOrigin.FIRST_USE]: 'first use',
  [FdOrigin.EXISTING]: 'existing',
  [FdOrigin.CONNECTED]: 'connected',
};

export class DumpFds {
  readonly table = new FdTable();
  private readonly pidOfTid = new Map<number, number>();

  /** Feed every event, in order, before describing it. */
  see(raw: RawEvents, i: number): void {
    const kind = raw.kind(i);
    if (kind === Kind.THREAD) this.pidOfTid.set(raw.a(i, 0), raw.a(i, 3));
    else if (kind === Kind.FD_DESC)
      this.table.onDesc(
        this.pid(raw.tid(i)),
        raw.ts(i),
        raw.signed(i, 0),
        raw.a(i, 1),
        raw.a(i, 2),
        raw.a(i, 3),
        raw.signed(i, 4),
      );
    else if (kind === Kind.FD_CLOSE) this.table.onClose(this.pid(raw.tid(i)), raw.ts(i), raw.signed(i, 0));
  }

  private pid(tid: number): number {
    return this.pidOfTid.get(tid) ?? 0;
  }

  /** What fd was, for the thread of event i at its time. */
  at(raw: RawEvents, i: number, fd: number, strings: StringTable): FdAt | undefined {
    return fd >= 0 ? this.table.at(this.pid(raw.tid(i)), fd, raw.ts(i), strings) : undefined;
  }
}

/** The text of FD_DESC, FD_CLOSE and WAKER; undefined for other kinds. */
export function describeFdEvent(raw: RawEvents, i: number, strings: StringTable): string | undefined {
  switch (raw.kind(i)) {
    case Kind.FD_DESC: {
      const a1 = raw.a(i, 1);
      const other = raw.signed(i, 4);
      const local = strings.get(raw.a(i, 2));
      const peer = strings.get(raw.a(i, 3));
      const parts = [`fd ${raw.signed(i, 0)} is ${fdKindName(a1 & 0xff)}`];
      if (a1 & FdFlag.LISTENING) parts.push('listening');
      if (local) parts.push(JSON.stringify(local));
      if (peer) parts.push(`-> ${JSON.stringify(peer)}`);
      if (a1 & FdFlag.READ_END) parts.push('read end');
      if (a1 & FdFlag.WRITE_END) parts.push('write end');
      if (other >= 0) parts.push(`other end fd ${other}`);
      parts.push(`(${ORIGINS[(a1 >>> 8) & 0xff] ?? '?'})`);
      return parts.join(' ');
    }
    case Kind.FD_CLOSE:
      return `fd ${raw.signed(i, 0)} closed`;
    case Kind.WAKER: {
      const waker = raw.a(i, 1);
      const ms = Math.max(0, raw.ts(i) - raw.a(i, 3)) / 1e6;
      return `woken by ${waker ? `co#${waker}` : 'a thread'} ${wakerHowName(raw.a(i, 0))} the other end (fd ${raw.signed(i, 2)}) ${ms.toFixed(3)}ms earlier; it waited on fd ${raw.signed(i, 4)}`;
    }
  }
  return undefined;
}
