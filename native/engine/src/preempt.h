/*
 * preempt.h — preempting coroutines that run too long, without ever
 * breaking a system call.
 *
 * Monitor (one thread, "cs-monitor")
 *   Samples each worker's switch counter. A worker whose counter has not
 *   moved while a coroutine runs on it for a whole time slice gets the
 *   preemption signal (SIGURG by default) with tgkill — at most one pending
 *   per worker (w->preempt_sent). It sleeps until the earliest moment a slice
 *   can expire; when no worker runs anything it sleeps on a futex until a
 *   worker switches in (cs_preempt_note_busy), so an idle process pays
 *   nothing. No clock is read on the switch path.
 *
 * Handler (SA_SIGINFO|SA_RESTART|SA_ONSTACK, on the worker's sigaltstack)
 *   Allocates nothing, never runs the scheduler. A signal that the monitor
 *   did not send goes to the program's own handler (chained). Ours preempts
 *   only at a safe point:
 *     - the interrupted pc is in preemptible code: the program's own
 *       executable, or a shared object named by COROSCOPE_PREEMPT_MODULES —
 *       never libc, ld.so, libstdc++/libgcc, the vDSO, this library (its own
 *       critical section), nor any other library, whose thread-local state
 *       (OpenSSL's error queue...) another coroutine on the same thread
 *       would otherwise see half-updated;
 *     - the coroutine holds no lock counted by hook_lock.c (pthread mutex,
 *       rwlock, spin lock, stdio FILE locks, which belong to the OS thread);
 *     - there is room on the coroutine stack below the red zone.
 *   At a safe point it redirects the context to cs_preempt_trampoline, which
 *   saves everything and yields (preempt_x86_64.S). Otherwise it marks the
 *   coroutine: the next hook entry, or the release of the last lock, yields
 *   — only if that call was made from preemptible code (cs_preempt_site_ok);
 *   a library calling a hook keeps its thread. Outside locks the monitor
 *   also signals again after 1/8 slice, so a coroutine that spends most of
 *   its time in libraries is preempted when a signal lands in its own code.
 *
 * Syscalls stay whole: the handler has SA_RESTART, a hook that is inside a
 * real call is never preempted (libc pc), and the monitor's signals never
 * count as user signals (hook_signal.c), so no EINTR and no short transfer
 * reaches the program because of preemption.
 *
 * Threads: the monitor owns its per-worker sampling state; w->preempt_sent is
 * set by the monitor and cleared by the handler; co->preempt_pending and
 * co->locks are touched only by the coroutine's own thread (handler included).
 */
#ifndef CS_PREEMPT_H
#define CS_PREEMPT_H

#include <signal.h>
#include <stdint.h>

#include "coroutine.h"

enum cs_preempt_kind {
    CS_PREEMPT_SENT = 1, /* monitor sent the signal: worker, co, ran_ns */
    CS_PREEMPT_DONE,     /* the coroutine was switched out: latency_ns from send */
    CS_PREEMPT_DEFERRED, /* not a safe point: reason; yields later */
};

enum cs_defer_reason {
    CS_DEFER_NONE = 0,
    CS_DEFER_RUNTIME_CODE, /* pc in libc/ld.so/libstdc++/libgcc/vDSO/engine */
    CS_DEFER_LOCK,         /* a counted lock is held */
    CS_DEFER_STACK,        /* no room on the coroutine stack */
    CS_DEFER_LIBRARY_CODE, /* pc in code not declared preemptible (another library, JIT) */
};

/* May a deferred preemption be served at this call into the engine? ret_addr
 * is the hook's return address; when it lies in the engine itself (a hook's
 * slow path), call_pc (cs_tls.call_pc, set by CS_FAST_PASS) is the program's
 * call site instead. True only for preemptible code (see preempt.c). */
int cs_preempt_site_ok(const void *ret_addr, const void *call_pc);

typedef struct cs_preempt_event {
    int kind;
    int worker;
    uint64_t co_id;
    uint64_t ran_ns;     /* SENT: how long the coroutine had run */
    uint64_t latency_ns; /* DONE: from signal sent to switch */
    int reason;          /* DEFERRED */
    uintptr_t pc;        /* DONE/DEFERRED: interrupted instruction */
    int at_safe_point;   /* DONE: 1 by the trampoline, 0 by a deferred yield */
} cs_preempt_event;

typedef void (*cs_preempt_observer_fn)(const cs_preempt_event *ev);

/* Signal used for preemption (SIGURG unless COROSCOPE_PREEMPT_SIGNAL). */
extern int cs_preempt_signo;

/* Install the handler, start the monitor. Called by cs_sched_start. */
int cs_preempt_start(void);

/* Worker thread setup: nothing beyond the sigaltstack (overflow.c) is
 * needed, but engine TLS must be touched before the signal can arrive. */
void cs_preempt_thread_init(void);

/* Preemption was turned on at run time: wake a monitor sleeping while off. */
void cs_preempt_switched_on(void);

/* A worker switched in a coroutine while the monitor sleeps deeply. */
void cs_preempt_note_busy(void);

/* The coroutine was marked by the handler: yield now (hook entry / unlock). */
void cs_preempt_deferred_yield(cs_co *co);

/* True once the engine owns the kernel action of sig (the preemption
 * signal): the program's sigaction is then kept aside by hook_signal.c. */
int cs_preempt_owns(int sig);

/* hook_signal.c: remember a handler found in the kernel when the engine took
 * the signal over; returns 1 if the program has a handler for sig. */
int cs_signal_adopt(int sig, const struct sigaction *kernel_old);

/* Set while the monitor sleeps until a worker becomes busy. */
extern _Atomic int cs_monitor_idle;

/* Called by the handler for signals the monitor did not send (hook_signal.c
 * runs the program's handler and does the EINTR bookkeeping). */
void cs_signal_deliver_user(int sig, siginfo_t *si, void *uc);

/* In a forked child: restart the monitor. */
void cs_preempt_atfork_child(void);

#endif
