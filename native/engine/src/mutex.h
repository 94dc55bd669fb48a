/*
 * mutex.h — a sleeping lock of the engine's own, for the critical sections
 * that may block in a system call (spin.h's locks must not: a waiter would
 * spin, or sched_yield, for as long as the holder is blocked).
 *
 * Design: Drepper's three-state futex mutex ("Futexes Are Tricky", 2011):
 * v = 0 free, 1 locked, 2 locked and someone may sleep on it. Private futex
 * (one process). Not a pthread mutex on purpose: a pthread_mutex_unlock in a
 * coroutine goes through the engine's lock hooks (hook_lock.c), which count
 * it as the coroutine's lock and may run a deferred preemption; this lock
 * is invisible to them.
 *
 * Rules: never held across a context switch (a coroutine must not park or
 * yield while it holds one); not for signal handlers; not recursive.
 */
#ifndef CS_MUTEX_H
#define CS_MUTEX_H

#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct cs_mutex {
    _Atomic uint32_t v;
} cs_mutex;

static inline void cs_mutex_init(cs_mutex *m)
{
    atomic_store_explicit(&m->v, 0, memory_order_relaxed);
}

static inline void cs_mutex_lock(cs_mutex *m)
{
    uint32_t c = 0;
    if (atomic_compare_exchange_strong_explicit(&m->v, &c, 1, memory_order_acquire, memory_order_relaxed)) return;
    if (c != 2) c = atomic_exchange_explicit(&m->v, 2, memory_order_acquire);
    while (c != 0) {
        syscall(SYS_futex, &m->v, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        c = atomic_exchange_explicit(&m->v, 2, memory_order_acquire);
    }
}

static inline void cs_mutex_unlock(cs_mutex *m)
{
    if (atomic_fetch_sub_explicit(&m->v, 1, memory_order_release) != 1) {
        atomic_store_explicit(&m->v, 0, memory_order_release);
        syscall(SYS_futex, &m->v, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
}

#endif
