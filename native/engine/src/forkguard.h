/*
 * forkguard.h — telling a process made without fork handlers from its
 * parent: raw clone(2) or fork(2) system calls (hand-written, or a
 * runtime's), glibc's _Fork, which run no pthread_atfork handler.
 *
 * Such a child starts as a copy of the parent's engine: the same event
 * rings (shared memory with the parent, whose threads still write them),
 * the parent's control socket, workers that do not exist in it. Writing
 * one record into a ring there corrupts the parent's stream.
 *
 * The guard is one page the kernel zeroes in every child that does not
 * share the parent's memory (MADV_WIPEONFORK, Linux >= 4.14), whatever made
 * it. It holds cs_tel_on (telemetry.h), so in such a child every emission
 * point finds telemetry off with the load it already makes — nothing is
 * added to any fast path — and `seen`, which the process sets once it has
 * rebuilt its engine state (at load, in the fork handler, or lazily):
 *   - the engine's own fork handler (init.c) rebuilds, then sets seen;
 *   - a child made without it rebuilds the same way, and joins a followed
 *     session as how=fork, the first time it asks the runtime for something
 *     (coroscope_spawn: cs_forkguard_check). Until then it is an untraced
 *     copy: none of its calls reach any ring;
 *   - a vfork child or a CLONE_VM thread shares the page (no wipe): it is
 *     the parent's memory, as before.
 * Without MADV_WIPEONFORK (an old kernel, or mmap failing) the page is a
 * static one and such children are not told apart (what they write goes to
 * the parent's rings, as before).
 *
 * Threads: the page is written by the constructor (before any other engine
 * thread) and by the forked child's single thread; read from any thread
 * and in signal handlers (relaxed loads).
 */
#ifndef CS_FORKGUARD_H
#define CS_FORKGUARD_H

#include <stdatomic.h>

typedef struct cs_forkguard_page {
    _Atomic int tel_on; /* telemetry.h cs_tel_on */
    _Atomic int seen;   /* 1: this process's engine state is its own */
} cs_forkguard_page;

extern cs_forkguard_page *cs_forkguard;

/* Constructor, first: map the page (MADV_WIPEONFORK), seen = 1. */
void cs_forkguard_init(void);

/* The process's engine state is its own (a forked child after rebuilding). */
static inline void cs_forkguard_seen(void)
{
    atomic_store_explicit(&cs_forkguard->seen, 1, memory_order_relaxed);
}

/* A child made without fork handlers: rebuild as the fork handler would
 * (init.c). Not from a signal handler. */
void cs_forkguard_unseen(void);

static inline void cs_forkguard_check(void)
{
    if (__builtin_expect(!atomic_load_explicit(&cs_forkguard->seen, memory_order_relaxed), 0)) cs_forkguard_unseen();
}

#endif
