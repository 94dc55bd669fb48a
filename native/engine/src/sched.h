/*
 * sched.h — workers, run queues, work stealing and the scheduler loop.
 *
 * Queues of a worker (w):
 *   runq    FIFO of ready coroutines owned by w. Touched only by w's thread
 *           (no atomics): pushes by w itself (yield, local wakes, timers).
 *   inbox   lock-free LIFO where other threads push coroutines of w that they
 *           woke; w drains it into runq (restoring FIFO order).
 *   spawnq  FIFO of coroutines spawned by w's coroutines that never ran yet,
 *           under a spin lock: idle workers steal half of it. Coroutines that
 *           already ran stay with their owner unless cs_cfg.migrate is set,
 *           because compiled code may cache TLS addresses (errno!) across a
 *           call that parks.
 * Global injection queue: coroutines spawned from plain threads (spin lock).
 *
 * Scheduling order for w, one decision per loop:
 *   every 61st tick the injection queue first (so it cannot starve); then
 *   runq and own spawnq alternately (a yield loop cannot starve new
 *   coroutines); then the injection queue; then stealing; then a
 *   non-blocking poll of the netpoller; then sleep.
 *
 * Sleeping: a worker with nothing to do sets w->sleeping (seq_cst), checks
 * every queue once more, then sleeps until its next timer deadline exactly:
 * in epoll_pwait2 on the shared netpoller if no other worker is already
 * blocked there, otherwise in ppoll on its own eventfd. Whoever hands it work
 * pushes first, then reads w->sleeping and writes its eventfd (Dekker).
 *
 * Timers live in a per-worker min-heap (timer.c); only the owner touches it.
 *
 * Telemetry from the scheduler (all from the worker's own thread, signals
 * unblocked, inside `if (cs_tel())` so the cost with it off is that branch):
 *   CO_CREATE/CO_READY at spawn (before the push; CO_CREATE a2 is the entry
 *   function's symbol, emit_symbol.h); CO_MIGRATE before the CO_RUN of a
 *   coroutine that runs on another worker than last time (migration), or whose
 *   first run is not on the worker it was spawned onto (stolen); WORKER_IDLE /
 *   WORKER_BUSY; QUEUES samples: when the worker goes idle, and at the first
 *   switch-in after it wakes or after each busy netpoll (at most one per ms
 *   while busy), skipped when nothing changed since the worker's last sample
 *   unless that is 100 ms old.
 */
#ifndef CS_SCHED_H
#define CS_SCHED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "clock.h"
#include "context.h"
#include "coroutine.h"
#include "spin.h"

typedef struct cs_queue {
    cs_co *head, *tail;
    size_t n;
} cs_queue;

typedef struct cs_worker {
    int idx;
    pthread_t thread;
    pid_t tid;
    cs_ctx sched_ctx;         /* the scheduler loop, on the thread's own stack */
    cs_co *cur;               /* running coroutine or NULL (monitor reads it relaxed) */
    uint64_t nswitch;         /* coroutines switched in; owner writes, monitor reads */
    uint64_t run_ns;          /* CO_RUN stamp of the latest run (telemetry on); owner
                                          writes after nswitch, monitor reads (stall.c) */
    _Atomic int preempt_sent; /* monitor sent the signal, handler not run yet */
    uint64_t preempt_sent_ns;
    volatile int deferred_reason; /* handler: why the last signal could not preempt */
    /* an inspector's `stack CO` (emit_stack.h): the control thread stores the coroutine's id
     * and signals; the handler fills stack_pc/stack_n (-1: that coroutine was not running)
     * and releases stack_want back to 0 */
    _Atomic uint64_t stack_want;
    int stack_n;
    uintptr_t stack_pc[64];
    uint64_t tick;          /* scheduling decisions made */
    uint64_t last_poll_ns;  /* last non-blocking netpoll */
    cs_queue runq;          /* owner only */
    cs_co *yielded;         /* just yielded; queued after this round's wakes */
    _Atomic(cs_co *) inbox; /* MPSC LIFO */
    cs_spin spawn_lock;
    cs_queue spawnq;
    _Atomic size_t spawnq_n; /* readable without the lock */
    _Atomic int sleeping;
    int efd; /* wakes this worker */
    /* timers: owner only */
    cs_co **heap;
    int heap_n, heap_cap;
    /* parked coroutines (for user-signal interruption): owner only */
    cs_co *parked;
    uint32_t intr_epoch_seen;
    int64_t nparked; /* its coroutines in a wait (wait.c); owner only */
    /* QUEUES samples (telemetry): owner only */
    int queues_due;          /* take one at the next switch-in */
    uint64_t queues_last[5]; /* the last sample emitted */
    uint64_t queues_last_ns;
    /* stack-overflow recovery */
    void *altstack;
    void *exit_stack;
    size_t altstack_size, exit_stack_size;
#ifdef CS_SAN_FIBERS
    cs_san_fiber san; /* the scheduler's fiber; sanitizer builds only (san.h) */
#endif
} cs_worker;

typedef struct cs_runtime {
    _Atomic int started; /* 0 no, 1 starting, 2 running */
    int nworkers;
    cs_worker *workers;
    cs_spin inject_lock;
    cs_queue injectq;
    _Atomic size_t inject_n;
    _Atomic int nsleeping;
    _Atomic int kicking; /* a wake of a sleeping worker is in flight */
    _Atomic uint64_t next_id;
    _Atomic int netpoll_owner;       /* worker idx blocked in the netpoller, -1 none */
    _Atomic uint32_t intr_epoch;     /* bumped after every user signal handler */
    _Atomic uint32_t intr_norestart; /* bumped after user handlers without SA_RESTART */
} cs_runtime;

extern cs_runtime cs_rt;

/* Start the workers if needed. 0 or an errno value. */
int cs_sched_start(void);

/* Make a spawned coroutine runnable (from any thread). */
void cs_sched_spawn(cs_co *co);

/* Hand a woken coroutine to its owner (from any thread). */
void cs_sched_ready(cs_co *co);

/* Running coroutine: go to the back of the run queue. */
void cs_sched_yield(cs_co *co);

/* Wake worker w if it sleeps. */
void cs_sched_kick(cs_worker *w);

/* Monotonic clock in ns: cs_now_ns, clock.h. */

/* In a forked child: rebuild the runtime around the calling thread. */
/* Fork child, in two steps (init.c atfork_child): rebuild the runtime's
 * state (the forking thread only), then, after every other module reset
 * what is the parent's (telemetry's rings and announcer, the control
 * socket, the follow join), start the other workers. A worker started
 * earlier can emit into a ring nobody is told of, and every record it
 * writes later is lost uncounted. */
void cs_sched_atfork_child(void);
void cs_sched_atfork_child_start(void);

#endif
