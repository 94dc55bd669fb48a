/*
 * spin.h — a small test-and-test-and-set spin lock for short engine critical
 * sections (a few list operations). Never held across a context switch or a
 * system call. Falls back to sched_yield after spinning, so a preempted holder
 * does not burn a whole time slice of the waiter.
 */
#ifndef CS_SPIN_H
#define CS_SPIN_H

#include <sched.h>
#include <stdatomic.h>

static inline void cs_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

typedef struct cs_spin {
    _Atomic int v;
} cs_spin;

static inline void cs_spin_init(cs_spin *l)
{
    atomic_store_explicit(&l->v, 0, memory_order_relaxed);
}

static inline void cs_spin_lock(cs_spin *l)
{
    for (int n = 0;; n++) {
        if (!atomic_exchange_explicit(&l->v, 1, memory_order_acquire)) return;
        while (atomic_load_explicit(&l->v, memory_order_relaxed)) {
            if (++n > 128) {
                sched_yield();
                n = 0;
            } else {
                cs_cpu_relax();
            }
        }
    }
}

static inline void cs_spin_unlock(cs_spin *l)
{
    atomic_store_explicit(&l->v, 0, memory_order_release);
}

#endif
