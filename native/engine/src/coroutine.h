/*
 * coroutine.h — the coroutine object and the thread-local view of "where am I".
 *
 * Ownership and threads
 *   - A coroutine is created by any thread (spawn) and starts on whichever
 *     worker picks it up; from then on `owner` is fixed (unless migration is
 *     enabled) and only the owner worker switches into it, touches its timer
 *     or its wait list.
 *   - Other threads wake it only through cs_wake(), which claims the current
 *     wait with a CAS on `wait_seq` and hands the coroutine to its owner.
 *   - cs_co structs are type-stable: they are recycled through a free list and
 *     never returned to the allocator, and wait_seq only grows. A waker holding
 *     a stale pointer therefore fails its CAS harmlessly instead of touching
 *     freed memory or waking a later wait.
 *
 * Wait protocol (see wait.c)
 *   wait_seq even = not waiting; odd = waiting with token wait_seq. A waker
 *   that read token t does CAS(wait_seq, t, t+1); exactly one waker wins.
 *
 * TLS
 *   cs_tls is initial-exec and tiny: the hooks decide "inside a coroutine?"
 *   with one load of cs_tls.co.
 */
#ifndef CS_COROUTINE_H
#define CS_COROUTINE_H

#include <stdatomic.h>
#include <stdint.h>

#include "context.h"
#include "san.h"
#include "spin.h"
#include "stack.h"

struct cs_worker;

typedef enum cs_co_state {
    CS_CO_NEW = 0,   /* spawned, never ran */
    CS_CO_READY,     /* in a run queue */
    CS_CO_RUNNING,   /* on a worker */
    CS_CO_SUSPENDED, /* parked in a wait */
    CS_CO_DONE,      /* finished; stack released */
} cs_co_state;

typedef enum cs_exit {
    CS_EXIT_RETURN = 0,
    CS_EXIT_OVERFLOW,
} cs_exit;

/* Why a wait ended. */
typedef enum cs_wake_cause {
    CS_WAKE_NONE = 0,
    CS_WAKE_TIMER,
    CS_WAKE_FD,
    CS_WAKE_JOIN,
    CS_WAKE_CLOSED,  /* the fd waited on was closed */
    CS_WAKE_SIGNAL,  /* a user signal handler ran (EINTR semantics) */
    CS_WAKE_SPAWN,   /* first run */
    CS_WAKE_OFFLOAD, /* its blocking call finished on the offload pool (offload.h) */
} cs_wake_cause;

#define CS_CO_NAME_MAX 32

/* The pthread mutexes a coroutine holds (hook_sync.c), so that ownership is
 * the coroutine's, not its worker thread's. Owner thread only. */
#define CS_CO_HELD_MAX 16
typedef struct cs_co_held {
    int n;        /* entries in m */
    int overflow; /* held beyond m: for those, ownership is per thread again */
    void *m[CS_CO_HELD_MAX];
} cs_co_held;

typedef struct cs_co {
    cs_ctx ctx; /* first: saved machine context */
    uint64_t id;
    struct cs_worker *owner; /* worker it runs on once started */
    struct cs_co *next;      /* run/spawn/free queue link */
    cs_stack stack;
    void *(*fn)(void *);
    void *arg;
    void *result;
    int state;                 /* cs_co_state; written by the owner (and by wakers: READY) */
    int exit;                  /* cs_exit */
    int saved_errno;           /* errno across switches */
    int yielding;              /* set by yield before switching out */
    _Atomic uint64_t wait_seq; /* wait token, see above */
    _Atomic int wake_cause;    /* written by the winning waker */
    uint32_t intr_epoch;       /* user-signal epoch seen when the wait began */
    int interruptible;         /* current wait ends with CS_WAKE_SIGNAL on a user signal */
    /* timer (owner only) */
    uint64_t deadline; /* CLOCK_MONOTONIC ns */
    int heap_idx;      /* index in owner's timer heap, -1 if none */
    uint64_t timer_token;
    /* parked list of the owner (for signal interruption); owner only */
    struct cs_co *park_prev, *park_next;
    int parked_linked;
    /* join */
    cs_spin join_lock;
    struct cs_co *joiner; /* coroutine waiting in join */
    uint64_t joiner_token;
    _Atomic int done;        /* futex word for plain-thread joins */
    _Atomic int refs;        /* 2 at spawn: the running body and the handle */
    _Atomic int handle_used; /* the handle was joined or detached */
    /* what the current wait is about (telemetry CO_SUSPEND); owner only */
    int cur_hook;      /* engine hook id of the call in progress, -1 none */
    uintptr_t call_pc; /* the program's call site of that call (snapshot: source line) */
    int wait_why;      /* enum coroscope_suspend_why */
    int wait_fd;
    int wait_events;      /* 1 read, 2 write */
    uint64_t wait_detail; /* JOIN: the coroutine joined */
    int yield_preempted;  /* the pending yield is a preemption */
    uint64_t call_t0;     /* entry time of the hooked call in progress (observer on) */
    uint64_t switches;    /* times switched in */
    /* preemption: owner thread only (signal handler included) */
    int locks;                    /* counted locks held (hook_lock.c) */
    volatile int preempt_pending; /* preempt at the next hook entry / last unlock */
    int defer_reason;
    uintptr_t preempt_pc; /* handler: pc of the preemption the trampoline serves */
    uintptr_t defer_pc;   /* handler: pc of the last deferral (served by a deferred yield) */
    uint64_t preempts;
    char name[CS_CO_NAME_MAX];
    /* telemetry of the call in progress (emit_call.h) and of moves; owner only. Last, so the
     * fields the switch path touches keep their cache lines. */
    int call_fd;           /* fd of that call as its CALL record gives it (-1: none);
                                       set by the hooks that can park */
    int call_entered;      /* its CALL_ENTER was emitted (reset at hook entry, observer on) */
    const void *call_addr; /* connect: the address asked for while it is in progress */
    unsigned call_addrlen;
    void *dns_static; /* hook_dns.c: this object's storage for gethostbyname & co
                                       (their static result), kept with the type-stable object */
    int spawn_worker; /* worker whose spawn queue it was pushed to, -1: the injection
                                       queue (CO_MIGRATE of a coroutine stolen before it ran) */
    cs_co_held held;  /* hook_sync.c: mutexes it holds; owner thread only */
#ifdef CS_SAN_FIBERS
    cs_san_fiber san; /* sanitizer builds only (san.h) */
#endif
} cs_co;

typedef struct cs_tls {
    cs_co *co;           /* current coroutine, NULL on plain threads and in the scheduler */
    struct cs_worker *w; /* worker this thread is, NULL on plain threads */
    uint64_t call_arg;   /* argument summary of the observed call in progress (size,
                                       timeout ms): set by hooks' slow paths, read by cs_observe */
    void *call_pc;       /* where the program called the hook in progress (its return
                                       address): set by CS_FAST_PASS's slow side */
    int call_blocked;    /* the call in progress could not park: it runs as the plain
                                       call and the worker may block in it (io.c); read and cleared
                                       by cs_observe */
} cs_tls_t;

extern __thread cs_tls_t cs_tls __attribute__((tls_model("initial-exec")));

/* Allocate a coroutine object with a stack; NULL and errno-style code in *err. */
cs_co *cs_co_new(const char *name, void *(*fn)(void *), void *arg, int *err);

/* Drop one reference (body or handle); the last one recycles the object. */
void cs_co_unref(cs_co *co);

/* Visit every live coroutine (not finished). Fields are read without
 * synchronisation: exact while the scheduler is paused, a moment's picture
 * otherwise. Objects are type-stable, so this never touches freed memory. */
void cs_co_visit(void (*visit)(void *ctx, const cs_co *co), void *ctx);

/* Forked child: reset the free-list lock (a parent thread may have held it). */
void cs_co_atfork_child(void);

/* Entry of every coroutine (runs on its stack). */
void cs_co_main(void *co);

/* Switch from the running coroutine to its worker's scheduler. Saves and
 * restores errno. Must be called on the owner thread by the coroutine. */
void cs_co_switch_out(cs_co *co);

#endif
