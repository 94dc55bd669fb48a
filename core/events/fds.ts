/**
 * What each fd is and who woke whom: the enums of FD_DESC and WAKER
 * (native/engine/include/coroscope_events.h, docs/events.md "File
 * descriptors") and their wording. fds.test.ts checks the numbers against the
 * header. Kept apart from schema.ts (which holds the kind numbers) so the two
 * concerns change separately.
 */

/** What an fd is (FD_DESC a1 bits 0..7). */
export const FdKind = {
  UNKNOWN: 0,
  TCP: 1,
  UDP: 2,
  UNIX_STREAM: 3,
  UNIX_DGRAM: 4,
  UNIX_SEQPACKET: 5,
  SOCKET: 6,
  FILE: 7,
  DIR: 8,
  FIFO: 9,
  PIPE: 10,
  EVENTFD: 11,
  TIMERFD: 12,
  SIGNALFD: 13,
  EPOLL: 14,
  CHAR: 15,
  BLOCK: 16,
  OTHER: 17,
} as const;
const kindNames = [
  'fd',
  'TCP',
  'UDP',
  'Unix stream',
  'Unix datagram',
  'Unix seqpacket',
  'socket',
  'file',
  'directory',
  'FIFO',
  'pipe',
  'eventfd',
  'timerfd',
  'signalfd',
  'epoll',
  'device',
  'block device',
  'anon inode',
];
export function fdKindName(kind: number): string {
  return kindNames[kind] ?? `fd kind ${kind}`;
}

/** How the engine learnt it (FD_DESC a1 bits 8..15). */
export const FdOrigin = { CREATED: 1, FIRST_USE: 2, EXISTING: 3, CONNECTED: 4 } as const;

/** FD_DESC a1 flag bits. */
export const FdFlag = { LISTENING: 1 << 16, READ_END: 1 << 17, WRITE_END: 1 << 18 } as const;

/** How a waker made a parked coroutine's fd ready (WAKER a0). */
export const WakerHow = { WROTE: 1, READ: 2, CLOSED: 3 } as const;
const howNames = ['', 'writing to', 'reading from', 'closing'];
/** "writing to" for WROTE: "woken by co#12 writing to the other end of fd 9". */
export function wakerHowName(how: number): string {
  return howNames[how] || 'acting on';
}

/** One description of an fd as FD_DESC gives it (string ids resolved by the caller). */
export interface FdDescription {
  kind: number;
  /** FdFlag bits */
  flags: number;
  local: string;
  peer: string;
  /** The other end's fd (pipe, socketpair made in the process), -1 none. */
  other: number;
}

/**
 * One line for an fd: "TCP 127.0.0.1:41234 → 127.0.0.1:5432", "file /var/lib/app.db",
 * "pipe read end (other end fd 9)", "TCP listening 0.0.0.0:8080", "Unix stream (other end fd 5)".
 */
export function fdText(d: FdDescription): string {
  const parts = [fdKindName(d.kind)];
  if (d.flags & FdFlag.LISTENING) parts.push('listening');
  if (d.kind === FdKind.PIPE) {
    if (d.flags & FdFlag.READ_END) parts.push('read end');
    if (d.flags & FdFlag.WRITE_END) parts.push('write end');
  } else if (d.local) {
    parts.push(d.peer ? `${d.local} → ${d.peer}` : d.local);
  } else if (d.peer) {
    parts.push(`→ ${d.peer}`);
  }
  if (d.kind === FdKind.FIFO) {
    if (d.flags & FdFlag.READ_END) parts.push('(read end)');
    if (d.flags & FdFlag.WRITE_END) parts.push('(write end)');
  }
  if (d.other >= 0) parts.push(`(other end fd ${d.other})`);
  return parts.join(' ');
}
