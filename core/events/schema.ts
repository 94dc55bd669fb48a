/**
 * The event schema as the TypeScript side sees it: the mirror of
 * native/engine/include/coroscope_events.h (docs/events.md is the prose).
 * Numbers here must equal the header's; schema.test.ts checks them against
 * the header text so the two cannot drift apart.
 */

export const EVENT_SIZE = 64;
export const NO_WORKER = 0xffff;
export const EVENTS_VERSION = 3;

export const Kind = {
  NONE: 0,
  PROCESS: 1,
  CONFIG: 2,
  THREAD: 3,
  STRING: 4,
  STRING_MORE: 5,
  CLOCK: 6,
  LINEAGE: 7,
  PROCESS_EXIT: 8,
  SPAWN: 9,
  CO_CREATE: 16,
  CO_READY: 17,
  CO_RUN: 18,
  CO_SUSPEND: 19,
  CO_YIELD: 20,
  CO_FINISH: 21,
  CO_MIGRATE: 22,
  CO_INFO: 23,
  WAKE: 32,
  CALL: 48,
  CALL_ENTER: 49,
  CALL_ADDR: 50,
  PREEMPT_SENT: 64,
  PREEMPTED: 65,
  PREEMPT_DEFERRED: 66,
  WORKER_IDLE: 80,
  WORKER_BUSY: 81,
  QUEUES: 82,
  DROP: 96,
  OFFCPU: 112,
  STALL: 113,
  STALL_END: 114,
  CO_STACK: 120,
  MAPPING: 121,
  FD_DESC: 115,
  FD_CLOSE: 116,
  WAKER: 117,
} as const;
export type KindName = keyof typeof Kind;
export type KindId = (typeof Kind)[KindName];

const kindNames: string[] = [];
for (const [name, id] of Object.entries(Kind)) kindNames[id] = name;
/** "CO_RUN" for 18; undefined for a kind this reader does not know. */
export function kindName(kind: number): string | undefined {
  return kindNames[kind];
}

/** How a process of a followed session began (LINEAGE a2, SPAWN a1). */
export const SpawnHow = { LAUNCHED: 0, FORK: 1, EXEC: 2, POSIX_SPAWN: 3 } as const;
const spawnHowNames = ['launched', 'fork', 'exec', 'spawn'];
export function spawnHowName(how: number): string {
  return spawnHowNames[how] ?? `how ${how}`;
}

/** Who says how a process ended (PROCESS_EXIT a4, low byte; bit 8: core dumped). */
export const ExitSource = { SELF: 0, REAPED: 1, LAUNCHER: 2 } as const;
export const EXIT_CORE = 0x100;
/** PROCESS_EXIT a2 when the sayer does not know the serial: the latest process of that pid. */
export const SERIAL_UNKNOWN = 0xffffffff;

/** Signal names, for "killed by SIGKILL": one table for every reader (signals.ts). */
export { signalName } from './signals.js';

/** Why a program a process starts is not traced (SPAWN a3). */
export const Untraced = { NO: 0, STATIC: 1, SETUID: 2, OFF: 3, FOREIGN: 4 } as const;
const untracedNames = [
  '',
  'it is statically linked (LD_PRELOAD cannot load the engine)',
  'it is a set-user-ID program (the loader ignores LD_PRELOAD)',
  'following is off',
  'it is not an x86-64 program the engine can load into',
];
export function untracedName(why: number): string {
  return untracedNames[why] ?? `reason ${why}`;
}

/** Why a coroutine became ready (CO_READY a0, WAKE a0). */
export const ReadyWhy = {
  SPAWNED: 1,
  TIMER: 2,
  FD: 3,
  JOINED: 4,
  YIELDED: 5,
  PREEMPTED: 6,
  SIGNAL: 7,
  CLOSED: 8,
  STOLEN: 9,
  OFFLOAD: 10,
} as const;
const readyNames = [
  '',
  'spawned',
  'timer',
  'fd',
  'joined',
  'yielded',
  'preempted',
  'signal',
  'closed',
  'stolen',
  'offloaded call finished',
];
export function readyWhyName(why: number): string {
  return readyNames[why] || `why ${why}`;
}

/** Where a stack was taken (CO_STACK a1). */
export const StackWhy = { PARK: 1, PREEMPT: 2, PREEMPT_DEFERRED: 3, ON_DEMAND: 4 } as const;
const stackWhyNames = ['', 'parked', 'preempted', 'deferred preemption', 'on demand'];
export function stackWhyName(why: number): string {
  return stackWhyNames[why] || `why ${why}`;
}

/** Why a coroutine parked (CO_SUSPEND a0). */
export const SuspendWhy = { CALL: 1, JOIN: 2, SLEEP: 3 } as const;
const suspendNames = ['', 'call', 'join', 'sleep'];
export function suspendWhyName(why: number): string {
  return suspendNames[why] || `why ${why}`;
}

export const Exit = { RETURN: 0, STACK_OVERFLOW: 1 } as const;
export function exitName(code: number): string {
  return code === 0 ? 'returned' : code === 1 ? 'stack overflow' : `exit ${code}`;
}

export const DeferWhy = { RUNTIME_CODE: 1, LOCK: 2, STACK: 3, LIBRARY_CODE: 4 } as const;
const deferNames = [
  '',
  'runtime code (libc, loader, engine)',
  'a lock is held',
  'no stack room',
  'library code (not preemptible)',
];
export function deferWhyName(why: number): string {
  return deferNames[why] || `why ${why}`;
}

/** CALL a0 flag bits (above the 16-bit hook id). */
export const CallFlag = { IN_CO: 1 << 16, PARKED: 1 << 17, BLOCKED: 1 << 18 } as const;

/** Hook ids, in header order: HOOKS[id - 1] is the name of hook id. */
export const HOOKS = [
  'sleep',
  'usleep',
  'nanosleep',
  'clock_nanosleep',
  'poll',
  'ppoll',
  'select',
  'pselect',
  'epoll_wait',
  'epoll_pwait',
  'accept',
  'accept4',
  'connect',
  'read',
  'write',
  'readv',
  'writev',
  'recv',
  'recvfrom',
  'recvmsg',
  'send',
  'sendto',
  'sendmsg',
  '__read_chk',
  '__recv_chk',
  '__recvfrom_chk',
  '__poll_chk',
  '__ppoll_chk',
  'socket',
  'socketpair',
  'pipe',
  'pipe2',
  'eventfd',
  'close',
  'close_range',
  'dup',
  'dup2',
  'dup3',
  'fcntl',
  'fcntl64',
  'ioctl',
  'setsockopt',
  'getsockopt',
  'sigaction',
  'signal',
  'getaddrinfo',
  'getnameinfo',
  'gethostbyname',
  'gethostbyname2',
  'gethostbyname_r',
  'gethostbyname2_r',
  'gethostbyaddr',
  'gethostbyaddr_r',
  'res_query',
  'res_search',
  '__res_query',
  '__res_search',
  'open',
  'open64',
  'openat',
  'openat64',
  'pread',
  'pread64',
  'preadv',
  'preadv64',
  'pwrite',
  'pwrite64',
  'pwritev',
  'pwritev64',
  'fsync',
  'fdatasync',
  'stat',
  'stat64',
  'lstat',
  'lstat64',
  'fstat',
  'fstat64',
  'fstatat',
  'fstatat64',
  'fread',
  'fwrite',
  'fgets',
  'getline',
  'getdelim',
  'fflush',
  'fgetc',
  'getc',
  '__fread_chk',
  '__fgets_chk',
  'waitpid',
  'wait4',
  'wait',
  'waitid',
  'pthread_join',
  'sem_wait',
  'sem_timedwait',
  'sem_clockwait',
  'pthread_mutex_lock',
  'pthread_mutex_timedlock',
  'pthread_mutex_clocklock',
  'pthread_cond_wait',
  'pthread_cond_timedwait',
  'pthread_cond_clockwait',
  'pthread_rwlock_rdlock',
  'pthread_rwlock_wrlock',
  'pthread_rwlock_timedrdlock',
  'pthread_rwlock_timedwrlock',
  'pthread_rwlock_clockrdlock',
  'pthread_rwlock_clockwrlock',
  'pthread_spin_lock',
] as const;
export const HOOK_COUNT = HOOKS.length + 1;

/** "read" for hook id 14; "hook 99" for an id this reader does not know. */
export function hookName(id: number): string {
  return HOOKS[id - 1] ?? `hook ${id}`;
}
export function hookId(name: string): number {
  const i = (HOOKS as readonly string[]).indexOf(name);
  return i < 0 ? 0 : i + 1;
}

/** What the argument summary (CALL a3 >> 32) of a hook means. */
export type SummaryKind = 'bytes' | 'timeout_ms' | 'sleep_ms' | 'flags' | 'cmd' | 'none';
const transfers = new Set([
  'read',
  'write',
  'readv',
  'writev',
  'recv',
  'recvfrom',
  'recvmsg',
  'send',
  'sendto',
  'sendmsg',
  '__read_chk',
  '__recv_chk',
  '__recvfrom_chk',
  'pread',
  'pread64',
  'preadv',
  'preadv64',
  'pwrite',
  'pwrite64',
  'pwritev',
  'pwritev64',
  'fread',
  'fwrite',
  'fgets',
  '__fread_chk',
  '__fgets_chk',
]);
const waits = new Set(['poll', 'ppoll', '__poll_chk', '__ppoll_chk', 'select', 'pselect', 'epoll_wait', 'epoll_pwait']);
const sleeps = new Set(['sleep', 'usleep', 'nanosleep', 'clock_nanosleep']);
const flagged = new Set([
  'socket',
  'socketpair',
  'pipe2',
  'eventfd',
  'accept4',
  'open',
  'open64',
  'openat',
  'openat64',
]);
/** Hooks whose CALL carries no fd (a1 = -1): name lookups and calls on paths. */
const noFd = new Set([
  'getaddrinfo',
  'getnameinfo',
  'gethostbyname',
  'gethostbyname2',
  'gethostbyname_r',
  'gethostbyname2_r',
  'gethostbyaddr',
  'gethostbyaddr_r',
  'res_query',
  'res_search',
  '__res_query',
  '__res_search',
  'stat',
  'stat64',
  'lstat',
  'lstat64',
  'waitpid',
  'wait4',
  'wait',
  'waitid',
  'pthread_join',
  'sem_wait',
  'sem_timedwait',
  'sem_clockwait',
  'pthread_mutex_lock',
  'pthread_mutex_timedlock',
  'pthread_mutex_clocklock',
  'pthread_cond_wait',
  'pthread_cond_timedwait',
  'pthread_cond_clockwait',
  'pthread_rwlock_rdlock',
  'pthread_rwlock_wrlock',
  'pthread_rwlock_timedrdlock',
  'pthread_rwlock_timedwrlock',
  'pthread_rwlock_clockrdlock',
  'pthread_rwlock_clockwrlock',
  'pthread_spin_lock',
]);
export function summaryKind(hook: number): SummaryKind {
  const n = hookName(hook);
  if (transfers.has(n)) return 'bytes';
  if (waits.has(n)) return 'timeout_ms';
  if (sleeps.has(n)) return 'sleep_ms';
  if (flagged.has(n)) return 'flags';
  if (n === 'fcntl' || n === 'fcntl64' || n === 'ioctl') return 'cmd';
  return 'none';
}
/** Hooks whose a1 is an fd. */
export function hookHasFd(hook: number): boolean {
  const n = hookName(hook);
  return !(
    sleeps.has(n) ||
    n === 'socket' ||
    n === 'socketpair' ||
    n === 'pipe' ||
    n === 'pipe2' ||
    n === 'eventfd' ||
    n === 'sigaction' ||
    n === 'signal' ||
    n === 'poll' ||
    n === 'ppoll' ||
    n === '__poll_chk' ||
    n === '__ppoll_chk' ||
    n === 'select' ||
    n === 'pselect' ||
    noFd.has(n)
  );
}

export const ENGINE_VERSION = (v: number): string =>
  `${Math.floor(v / 2 ** 32)}.${Math.floor(v / 65536) % 65536}.${v % 65536}`;
