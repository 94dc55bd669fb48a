/*
 * coroscope_events.h — the event schema shared by the engine (producer), the
 * trace files and every reader (docs/events.md is the prose version).
 *
 * Status: the engine emits every kind when recording (COROSCOPE_TRACE) or
 * subscribed; docs/events.md lists the fields that are still 0.
 * Engine hook ids (hook.h, enum cs_hook_id) are these ids minus one.
 *
 * Every event is one 64-byte record (one cache line): a common header and
 * five 64-bit arguments whose meaning depends on the kind. Timestamps are
 * CLOCK_MONOTONIC nanoseconds. Strings (names, paths, addresses, symbols) are
 * interned: a COROSCOPE_EV_STRING record (followed by as many
 * COROSCOPE_EV_STRING_MORE records as the text needs) defines string id N,
 * and other records refer to N. String id 0 is "no string".
 *
 * Byte order: little-endian (the only supported target is x86-64). Values
 * that do not fit a 32-bit half-field saturate at 0xffffffff; a timeout of
 * "none" is 0xffffffff in a 32-bit summary and 0 in a 64-bit deadline.
 * STRING_MORE pieces follow their STRING in order, in the same thread's
 * stream.
 *
 * Compatibility: readers skip kinds they do not know (the record size is
 * fixed, so skipping is always possible); new kinds get new numbers; the
 * meaning of an existing field never changes. COROSCOPE_EVENTS_VERSION is
 * bumped when kinds are added.
 */
#ifndef COROSCOPE_EVENTS_H
#define COROSCOPE_EVENTS_H

#include <stdint.h>

#ifdef __cplusplus
#ifndef _Static_assert
#define _Static_assert static_assert /* C11's spelling, for the checks below and trace_format.h */
#endif
extern "C" {
#endif

/* 2: LINEAGE, PROCESS_EXIT, SPAWN and THREAD a3/a4 (followed children); OFFCPU, STALL and
 * STALL_END (the OS's share, escaped blocking calls). 3: CO_STACK and MAPPING (stacks at parks
 * and preemptions, and the code mappings that symbolise them); FD_DESC, FD_CLOSE, WAKER (what
 * each fd is, who woke whom). */
#define COROSCOPE_EVENTS_VERSION 3
#define COROSCOPE_EVENT_SIZE     64
#define COROSCOPE_NO_WORKER      0xffffu

typedef struct coroscope_event {
    uint64_t ts;     /* CLOCK_MONOTONIC ns */
    uint16_t kind;   /* enum coroscope_event_kind */
    uint16_t worker; /* worker index, COROSCOPE_NO_WORKER on other threads */
    uint32_t tid;    /* OS thread id of the producer */
    uint64_t co;     /* coroutine id the event is about (0: none) */
    uint64_t a[5];   /* kind-specific arguments, see each kind */
} coroscope_event;

_Static_assert(sizeof(coroscope_event) == COROSCOPE_EVENT_SIZE, "one event is one cache line");

enum coroscope_event_kind {
    COROSCOPE_EV_NONE = 0, /* never produced; a zero record is padding */

    /* ---- metadata ---- */
    COROSCOPE_EV_PROCESS = 1,     /* a0 pid, a1 exe (string), a2 cmdline (string, NULs as spaces),
                                       a3 engine version (major<<32 | minor<<16 | patch),
                                       a4 process start (CLOCK_REALTIME ns, for wall-clock display) */
    COROSCOPE_EV_CONFIG = 2,      /* a0 workers, a1 stack size (bytes), a2 time slice (ns),
                                       a3 flags (bit 0 hooks, bit 1 preempt, bit 2 migrate, bit 3 the
                                       stream is lossless: threads wait for the consumer, ring.h "Policy"),
                                       a4 preemption signal number */
    COROSCOPE_EV_THREAD = 3,      /* a thread produced events: a0 tid, a1 name (string),
                                       a2 worker index or COROSCOPE_NO_WORKER, a3 pid of its process
                                       (0 in files of events version 1: the one process), a4 the
                                       process's serial in a followed session (0: the launched one) */
    COROSCOPE_EV_STRING = 4,      /* a0 string id, a1 total length in bytes, a2..a4 the first 24 bytes */
    COROSCOPE_EV_STRING_MORE = 5, /* a0 string id, a1 offset of this piece, a2..a4 next 24 bytes */
    COROSCOPE_EV_CLOCK = 6,       /* a0 CLOCK_MONOTONIC ns, a1 CLOCK_REALTIME ns read together */

    /* ---- processes of a followed session (several processes in one stream, README "Children") ---- */
    COROSCOPE_EV_LINEAGE = 7,      /* right after PROCESS, in a session that follows children: a0 pid,
                                       a1 parent pid, a2 how it joined (enum coroscope_spawn_how; 0: the
                                       launched process), a3 serial (unique in the session; the process's
                                       coroutine and string ids are serial * 2^32 + k) */
    COROSCOPE_EV_PROCESS_EXIT = 8, /* the process ended: a0 pid, a1 exit code (when a3 is 0), a2 serial
                                       (COROSCOPE_SERIAL_UNKNOWN: the latest process of that pid),
                                       a3 the signal that killed it (0: it exited), a4 who says so
                                       (COROSCOPE_EXIT_SELF/REAPED/LAUNCHER) | COROSCOPE_EXIT_CORE */
    COROSCOPE_EV_SPAWN = 9,        /* this process started a program or a child: a0 the child's pid (its
                                       own for exec), a1 enum coroscope_spawn_how, a2 program path (string,
                                       0 for fork), a3 enum coroscope_untraced (0: it is followed),
                                       a4 command line (string: argv joined by spaces, 0 for fork) */

    /* ---- coroutine lifecycle ---- */
    COROSCOPE_EV_CO_CREATE = 16,  /* co created: a0 parent co (0: a plain thread), a1 name (string),
                                       a2 entry symbol (string, 0 if unknown), a3 stack size */
    COROSCOPE_EV_CO_READY = 17,   /* co entered a run queue: a0 enum coroscope_ready_why,
                                       a1 cause detail (see coroscope_ready_why), a2 queue
                                       (0 local, 1 spawn/steal queue, 2 injection), a3 depth after */
    COROSCOPE_EV_CO_RUN = 18,     /* co switched in on `worker`: a0 switches of this co so far */
    COROSCOPE_EV_CO_SUSPEND = 19, /* co parked: a0 enum coroscope_suspend_why, a1 hook id
                                       (enum coroscope_hook) when parked in a call, a2 fd (-1: none),
                                       a3 events (1 read, 2 write, bitwise), a4 deadline (ns, 0: none) */
    COROSCOPE_EV_CO_YIELD = 20,   /* co switched out but stays ready: a0 1 if preempted */
    COROSCOPE_EV_CO_FINISH = 21,  /* co ended: a0 enum coroscope_exit, a1 stack bytes used (0: unknown) */
    COROSCOPE_EV_CO_MIGRATE = 22, /* co moved: a0 from worker, a1 to worker */
    COROSCOPE_EV_CO_INFO = 23,    /* co existed when an inspector subscribed (emitted then, by the
                                       control thread): a0 parent (0: not known), a1 name (string),
                                       a2 entry symbol (string, 0 if unknown), a3 state (0 not
                                       started, 1 ready, 2 running, 3 suspended) | suspend why << 8 |
                                       hook id << 16 | worker << 32 (0xffff: none), a4 fd waited on
                                       (-1: none) */

    /* ---- wake causes (drawn as arrows to the matching CO_RUN) ---- */
    COROSCOPE_EV_WAKE = 32, /* co woken: a0 enum coroscope_ready_why, a1 detail: timer
                                       deadline / fd / joined co / waker co, a2 events seen (fd
                                       wakes), a3 waker co (0: the scheduler or the netpoller),
                                       a4 waker worker */

    /* ---- hooked calls, inside or outside coroutines ---- */
    COROSCOPE_EV_CALL = 48,       /* one completed call: a0 hook id | flags<<16 (bit 16 in a
                                       coroutine, bit 17 parked, bit 18 could not park: the worker
                                       blocked), a1 fd (-1: none), a2 result, a3 errno (0: success)
                                       | argument summary<<32 (size, flags or timeout ms, per
                                       hook: docs/events.md), a4 duration (ns) */
    COROSCOPE_EV_CALL_ENTER = 49, /* a call that parks, when it first parks (before its
                                       CO_SUSPEND): same a0/a1 as CALL, a2 size or flags, a3
                                       timeout ns from the call's entry (0: none); the next CALL
                                       of the same co closes it */
    COROSCOPE_EV_CALL_ADDR = 50,  /* address or path of the preceding CALL/CALL_ENTER of this
                                       thread (connect, accept): a0 string id (e.g.
                                       "127.0.0.1:8080", "[::1]:80", "/tmp/x", "@abstract") */

    /* ---- preemption ---- */
    COROSCOPE_EV_PREEMPT_SENT = 64,     /* the monitor signalled a worker: a0 how long co had run (ns),
                                       a1 the worker signalled (the record comes from the monitor
                                       thread: its own `worker` is COROSCOPE_NO_WORKER) */
    COROSCOPE_EV_PREEMPTED = 65,        /* co switched out by preemption: a0 interrupted pc, a1 latency
                                       from signal to switch (ns), a2 1 at a safe point, 0 deferred */
    COROSCOPE_EV_PREEMPT_DEFERRED = 66, /* not a safe point: a0 enum coroscope_defer_why, a1 pc */

    /* ---- workers and queues ---- */
    COROSCOPE_EV_WORKER_IDLE = 80, /* worker goes to sleep: a0 until (ns, 0: no timer),
                                       a1 1 if it blocks in the netpoller */
    COROSCOPE_EV_WORKER_BUSY = 81, /* worker woke: a0 why (0 timer, 1 fd, 2 kicked) */
    COROSCOPE_EV_QUEUES = 82,      /* sample: a0 run queue, a1 spawn queue, a2 injection queue,
                                       a3 timers, a4 parked coroutines (of `worker`) */

    /* ---- loss ---- */
    COROSCOPE_EV_DROP = 96, /* the ring of thread `tid` (worker: its worker) was full:
                                       co 0, a0 events lost, a1 first lost ts, a2 last lost ts */

    /* ---- the OS's share and calls that escaped the engine ---- */
    COROSCOPE_EV_OFFCPU = 112,    /* the kernel had `worker`'s thread off its CPU while co ran (co 0: in
                                       the scheduler, preemptions only): a0 when it left the CPU (ns),
                                       a1 how long it was off (ns), a2 1 taken (preempted while runnable:
                                       CPU contention), 0 slept in the kernel (a blocking call the engine
                                       did not park, a page fault). Stamped after the interval, before
                                       the record that ends co's run; intervals < 20 us are not reported */
    COROSCOPE_EV_STALL = 113,     /* the monitor found worker a0 inside co's run for longer than
                                       COROSCOPE_STALL_MS, its thread in a system call: a1 its Linux
                                       x86-64 number | the fd's file type << 32 (st_mode >> 12: 1 FIFO,
                                       2 char device, 4 directory, 6 block device, 8 regular file, 12
                                       socket; 0 unknown or no fd), a2 the call's first argument when it
                                       is an fd (-1: none), a3 what that fd is (string, /proc/self/fd
                                       readlink; 0: unknown), a4 when the run began (ns: its CO_RUN's
                                       ts, or when the monitor saw it begin). From the monitor thread */
    COROSCOPE_EV_STALL_END = 114, /* that stall ended (the run switched out, or the thread left that
                                       call), seen by the monitor: a0 worker, a1 system call (number
                                       only), a2 fd, a3 total ns from the run's start, a4 the STALL's a4 */

    /* ---- what each fd is, and who woke whom (docs/events.md "File descriptors") ---- */
    COROSCOPE_EV_FD_DESC = 115,  /* fd a0 is (from now until its FD_CLOSE or the next FD_DESC of a0):
                                       a1 enum coroscope_fd_kind | enum coroscope_fd_origin << 8 |
                                       COROSCOPE_FDF_* flags (bits 16..23), a2 local end (string: the
                                       socket's address, the path of a file/FIFO/device, "pipe:[ino]",
                                       0: none), a3 the socket's peer (string, 0: none or unnamed),
                                       a4 the other end's fd when this process made both ends (pipe,
                                       socketpair; -1: none). co: the coroutine that made or used it */
    COROSCOPE_EV_FD_CLOSE = 116, /* fd a0 was closed (its last FD_DESC no longer holds) */
    COROSCOPE_EV_WAKER = 117,    /* right after the WAKE of co, same thread: who made its fd ready:
                                       a0 enum coroscope_waker_how, a1 waker co (0: a plain thread),
                                       a2 the waker's fd (the other end), a3 ts of the waker's call,
                                       a4 the fd co waited on */

    /* ---- stacks (numbered from the top of the free range) ---- */
    COROSCOPE_EV_CO_STACK = 120, /* right after the CO_SUSPEND or PREEMPTED of co, same thread: its
                                       stack. a0 the stack (string id: return addresses, innermost
                                       first, lowercase hex separated by spaces; for a preemption the
                                       first is the interrupted pc itself), a1 enum coroscope_stack_why,
                                       a2 frames, a3 how captured (1 frame pointers, 2 unwinder) */
    COROSCOPE_EV_MAPPING = 121,  /* an executable segment of a loaded object, with the process
                                       metadata and after objects were loaded: a0 start, a1 end
                                       (addresses), a2 the object's load bias (address - bias = the
                                       ELF file's virtual address), a3 path (string), a4 GNU build
                                       id (string, lowercase hex; 0: none) */
};

/* What an fd is (FD_DESC a1 bits 0..7). */
enum coroscope_fd_kind {
    COROSCOPE_FD_UNKNOWN = 0,
    COROSCOPE_FD_TCP = 1,
    COROSCOPE_FD_UDP = 2,
    COROSCOPE_FD_UNIX_STREAM = 3,
    COROSCOPE_FD_UNIX_DGRAM = 4,
    COROSCOPE_FD_UNIX_SEQPACKET = 5,
    COROSCOPE_FD_SOCKET = 6, /* another family or type (raw, netlink...) */
    COROSCOPE_FD_FILE = 7,   /* regular file: a2 its path */
    COROSCOPE_FD_DIR = 8,
    COROSCOPE_FD_FIFO = 9, /* named FIFO: a2 its path */
    COROSCOPE_FD_PIPE = 10,
    COROSCOPE_FD_EVENTFD = 11,
    COROSCOPE_FD_TIMERFD = 12,
    COROSCOPE_FD_SIGNALFD = 13,
    COROSCOPE_FD_EPOLL = 14,
    COROSCOPE_FD_CHAR = 15,  /* character device (tty, /dev/null): a2 its path */
    COROSCOPE_FD_BLOCK = 16, /* block device */
    COROSCOPE_FD_OTHER = 17, /* another anonymous inode: a2 its /proc/self/fd link */
};

/* How the engine learnt it (FD_DESC a1 bits 8..15). */
enum coroscope_fd_origin {
    COROSCOPE_FDO_CREATED = 1,   /* the hook that made it (socket, accept, open, pipe, dup...) */
    COROSCOPE_FDO_FIRST_USE = 2, /* first hooked call on it (inherited, or made by an unhooked call) */
    COROSCOPE_FDO_EXISTING = 3,  /* open when the inspector subscribed */
    COROSCOPE_FDO_CONNECTED = 4, /* again after connect: now with its peer */
};

/* FD_DESC a1 flag bits. */
#define COROSCOPE_FDF_LISTENING (1u << 16) /* a listening socket */
#define COROSCOPE_FDF_READ_END  (1u << 17) /* pipe/FIFO opened for reading only */
#define COROSCOPE_FDF_WRITE_END (1u << 18) /* pipe/FIFO opened for writing only */

/* How a waker made a parked coroutine's fd ready (WAKER a0). */
enum coroscope_waker_how {
    COROSCOPE_WAKER_WROTE = 1,  /* wrote to the other end (the woken waited to read) */
    COROSCOPE_WAKER_READ = 2,   /* read from the other end, making room (the woken waited to write) */
    COROSCOPE_WAKER_CLOSED = 3, /* closed the other end (end of file / hang-up) */
};

/* Where a stack was taken (CO_STACK a1). */
enum coroscope_stack_why {
    COROSCOPE_STACK_PARK = 1,             /* co parked (CO_SUSPEND) */
    COROSCOPE_STACK_PREEMPT = 2,          /* co was preempted by the signal: frame 0 is the pc */
    COROSCOPE_STACK_PREEMPT_DEFERRED = 3, /* co yielded to a deferred preemption at a hook entry */
    COROSCOPE_STACK_ON_DEMAND = 4,        /* an inspector asked (control `stack CO`) while co ran: frame 0
                                             is the interrupted pc; from the control thread */
};

/* How a process of a followed session began (LINEAGE a2, SPAWN a1). */
enum coroscope_spawn_how {
    COROSCOPE_SPAWN_LAUNCHED = 0,    /* started by the inspector */
    COROSCOPE_SPAWN_FORK = 1,        /* fork(): a copy of its parent */
    COROSCOPE_SPAWN_EXEC = 2,        /* execve() & co.: a new program in the same process */
    COROSCOPE_SPAWN_POSIX_SPAWN = 3, /* posix_spawn(), system(), popen(): a new process running a program */
};

/* Who says how a process ended (PROCESS_EXIT a4, low byte), and bit 8:
 * it dumped core. A process that exits says so itself (SELF: exit, _exit,
 * _Exit, main returning; a2 its serial); one killed by a signal never does,
 * so its parent's waitpid/wait4/waitid (REAPED) or the inspector that
 * launched it (LAUNCHER) say so, with a2 COROSCOPE_SERIAL_UNKNOWN: the
 * record is about the latest process of that pid (an exec'd program
 * keeps its parent's pid). */
#define COROSCOPE_EXIT_SELF      0
#define COROSCOPE_EXIT_REAPED    1
#define COROSCOPE_EXIT_LAUNCHER  2
#define COROSCOPE_EXIT_CORE      0x100
#define COROSCOPE_SERIAL_UNKNOWN 0xffffffffu

/* Why a program a process starts is not traced (SPAWN a3). */
enum coroscope_untraced {
    COROSCOPE_UNTRACED_NO = 0,      /* followed */
    COROSCOPE_UNTRACED_STATIC = 1,  /* statically linked (no ELF interpreter): LD_PRELOAD cannot load the engine */
    COROSCOPE_UNTRACED_SETUID = 2,  /* set-user/group-ID program: the loader ignores LD_PRELOAD */
    COROSCOPE_UNTRACED_OFF = 3,     /* following is off (COROSCOPE_FOLLOW=0, COROSCOPE_INHERIT=0) */
    COROSCOPE_UNTRACED_FOREIGN = 4, /* not an x86-64 ELF program the engine can load into (32-bit, other) */
};

/* Why a coroutine became ready (CO_READY a0, WAKE a0). */
enum coroscope_ready_why {
    COROSCOPE_READY_SPAWNED = 1, /* detail: parent co */
    COROSCOPE_READY_TIMER = 2,   /* detail: deadline ns */
    COROSCOPE_READY_FD = 3,      /* detail: fd */
    COROSCOPE_READY_JOINED = 4,  /* detail: the co that finished */
    COROSCOPE_READY_YIELDED = 5,
    COROSCOPE_READY_PREEMPTED = 6,
    COROSCOPE_READY_SIGNAL = 7,   /* a user signal handler ended the wait: detail signal number */
    COROSCOPE_READY_CLOSED = 8,   /* the fd waited on was closed: detail fd */
    COROSCOPE_READY_STOLEN = 9,   /* taken by another worker: detail victim worker */
    COROSCOPE_READY_OFFLOAD = 10, /* its blocking call finished on the offload pool: detail hook id */
};

/* Why a coroutine parked (CO_SUSPEND a0). */
enum coroscope_suspend_why {
    COROSCOPE_SUSPEND_CALL = 1,  /* in a hooked call: a1 hook, a2 fd, a3 events, a4 deadline */
    COROSCOPE_SUSPEND_JOIN = 2,  /* a2 = the co joined (not an fd for this why) */
    COROSCOPE_SUSPEND_SLEEP = 3, /* a1 hook (sleep family), a4 deadline */
};

enum coroscope_exit {
    COROSCOPE_EXIT_RETURN = 0,
    COROSCOPE_EXIT_STACK_OVERFLOW = 1,
};

enum coroscope_defer_why {
    COROSCOPE_DEFER_RUNTIME_CODE = 1, /* pc in libc, ld.so, libstdc++/libgcc, vDSO or the engine */
    COROSCOPE_DEFER_LOCK = 2,         /* a counted lock is held */
    COROSCOPE_DEFER_STACK = 3,        /* no room below the red zone */
    COROSCOPE_DEFER_LIBRARY_CODE = 4, /* pc in code not declared preemptible: another shared library
                                         (COROSCOPE_PREEMPT_MODULES), JIT or unknown code */
};

/* Hook ids (CALL a0 low 16 bits). Stable numbers: append only. */
enum coroscope_hook {
    COROSCOPE_HOOK_sleep = 1,
    COROSCOPE_HOOK_usleep,
    COROSCOPE_HOOK_nanosleep,
    COROSCOPE_HOOK_clock_nanosleep,
    COROSCOPE_HOOK_poll,
    COROSCOPE_HOOK_ppoll,
    COROSCOPE_HOOK_select,
    COROSCOPE_HOOK_pselect,
    COROSCOPE_HOOK_epoll_wait,
    COROSCOPE_HOOK_epoll_pwait,
    COROSCOPE_HOOK_accept,
    COROSCOPE_HOOK_accept4,
    COROSCOPE_HOOK_connect,
    COROSCOPE_HOOK_read,
    COROSCOPE_HOOK_write,
    COROSCOPE_HOOK_readv,
    COROSCOPE_HOOK_writev,
    COROSCOPE_HOOK_recv,
    COROSCOPE_HOOK_recvfrom,
    COROSCOPE_HOOK_recvmsg,
    COROSCOPE_HOOK_send,
    COROSCOPE_HOOK_sendto,
    COROSCOPE_HOOK_sendmsg,
    COROSCOPE_HOOK___read_chk,
    COROSCOPE_HOOK___recv_chk,
    COROSCOPE_HOOK___recvfrom_chk,
    COROSCOPE_HOOK___poll_chk,
    COROSCOPE_HOOK___ppoll_chk,
    COROSCOPE_HOOK_socket,
    COROSCOPE_HOOK_socketpair,
    COROSCOPE_HOOK_pipe,
    COROSCOPE_HOOK_pipe2,
    COROSCOPE_HOOK_eventfd,
    COROSCOPE_HOOK_close,
    COROSCOPE_HOOK_close_range,
    COROSCOPE_HOOK_dup,
    COROSCOPE_HOOK_dup2,
    COROSCOPE_HOOK_dup3,
    COROSCOPE_HOOK_fcntl,
    COROSCOPE_HOOK_fcntl64,
    COROSCOPE_HOOK_ioctl,
    COROSCOPE_HOOK_setsockopt,
    COROSCOPE_HOOK_getsockopt,
    COROSCOPE_HOOK_sigaction,
    COROSCOPE_HOOK_signal,
    /* DNS: CALL a2 the result (getaddrinfo/getnameinfo: the EAI code; gethostby*: 0 found, else
       h_errno; res_*: the answer length or -1), the name looked up in a CALL_ADDR */
    COROSCOPE_HOOK_getaddrinfo,
    COROSCOPE_HOOK_getnameinfo,
    COROSCOPE_HOOK_gethostbyname,
    COROSCOPE_HOOK_gethostbyname2,
    COROSCOPE_HOOK_gethostbyname_r,
    COROSCOPE_HOOK_gethostbyname2_r,
    COROSCOPE_HOOK_gethostbyaddr,
    COROSCOPE_HOOK_gethostbyaddr_r,
    COROSCOPE_HOOK_res_query,
    COROSCOPE_HOOK_res_search,
    COROSCOPE_HOOK___res_query,
    COROSCOPE_HOOK___res_search,
    /* regular files */
    COROSCOPE_HOOK_open,
    COROSCOPE_HOOK_open64,
    COROSCOPE_HOOK_openat,
    COROSCOPE_HOOK_openat64,
    COROSCOPE_HOOK_pread,
    COROSCOPE_HOOK_pread64,
    COROSCOPE_HOOK_preadv,
    COROSCOPE_HOOK_preadv64,
    COROSCOPE_HOOK_pwrite,
    COROSCOPE_HOOK_pwrite64,
    COROSCOPE_HOOK_pwritev,
    COROSCOPE_HOOK_pwritev64,
    COROSCOPE_HOOK_fsync,
    COROSCOPE_HOOK_fdatasync,
    COROSCOPE_HOOK_stat,
    COROSCOPE_HOOK_stat64,
    COROSCOPE_HOOK_lstat,
    COROSCOPE_HOOK_lstat64,
    COROSCOPE_HOOK_fstat,
    COROSCOPE_HOOK_fstat64,
    COROSCOPE_HOOK_fstatat,
    COROSCOPE_HOOK_fstatat64,
    /* stdio */
    COROSCOPE_HOOK_fread,
    COROSCOPE_HOOK_fwrite,
    COROSCOPE_HOOK_fgets,
    COROSCOPE_HOOK_getline,
    COROSCOPE_HOOK_getdelim,
    COROSCOPE_HOOK_fflush,
    COROSCOPE_HOOK_fgetc,
    COROSCOPE_HOOK_getc,
    COROSCOPE_HOOK___fread_chk,
    COROSCOPE_HOOK___fgets_chk,
    /* waits on children, threads, semaphores: CALL a2 the result (pthread_join: 0 or -1 with the
       error number in a3, like clock_nanosleep) */
    COROSCOPE_HOOK_waitpid,
    COROSCOPE_HOOK_wait4,
    COROSCOPE_HOOK_wait,
    COROSCOPE_HOOK_waitid,
    COROSCOPE_HOOK_pthread_join,
    COROSCOPE_HOOK_sem_wait,
    COROSCOPE_HOOK_sem_timedwait,
    COROSCOPE_HOOK_sem_clockwait,
    /* contended pthread mutexes and condition variable waits (hook_sync.c): CALL a2 0 or -1 with
       the returned error number in a3 (ETIMEDOUT, EDEADLK, EOWNERDEAD...), like pthread_join */
    COROSCOPE_HOOK_pthread_mutex_lock,
    COROSCOPE_HOOK_pthread_mutex_timedlock,
    COROSCOPE_HOOK_pthread_mutex_clocklock,
    COROSCOPE_HOOK_pthread_cond_wait,
    COROSCOPE_HOOK_pthread_cond_timedwait,
    COROSCOPE_HOOK_pthread_cond_clockwait,
    /* contended rwlocks (hook_rwlock.c), like the mutexes above; a spin lock that had to wait
       (CALL a2 0) */
    COROSCOPE_HOOK_pthread_rwlock_rdlock,
    COROSCOPE_HOOK_pthread_rwlock_wrlock,
    COROSCOPE_HOOK_pthread_rwlock_timedrdlock,
    COROSCOPE_HOOK_pthread_rwlock_timedwrlock,
    COROSCOPE_HOOK_pthread_rwlock_clockrdlock,
    COROSCOPE_HOOK_pthread_rwlock_clockwrlock,
    COROSCOPE_HOOK_pthread_spin_lock,
    COROSCOPE_HOOK_COUNT
};

#ifdef __cplusplus
}
#endif
#endif
