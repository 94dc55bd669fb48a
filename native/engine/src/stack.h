/*
 * stack.h — coroutine stacks: mmap'd, guarded, lazily committed, pooled.
 *
 * Layout of one stack (addresses grow to the right):
 *     [ guard page | usable bytes ........................ ]
 *     base         lo                                      hi (initial sp)
 * The guard page faults on any access, so an overflow is a SIGSEGV whose
 * address falls in [base, lo), never silent corruption of a neighbour.
 *
 * Stacks are carved from slabs (one mmap for 256 stacks). On kernels with
 * MADV_GUARD_INSTALL (6.13+) the guard pages do not split the mapping, so a
 * hundred thousand stacks cost a few hundred VMAs, and a slab's guards are
 * installed with one process_madvise call; elsewhere each guard is an
 * mprotect'ed page (two VMAs per stack: vm.max_map_count, 65530 by default,
 * then bounds the number of live coroutines near 32,000). Pages are
 * committed by the kernel on first touch only, and the pool never writes
 * into a free stack.
 *
 * Threads: any thread may allocate and free. Workers keep a private cache
 * of freed stacks (no lock); the shared pool is guarded by a spin lock held
 * for a few array operations, never across a system call except when the
 * trim gives pages back.
 */
#ifndef CS_STACK_H
#define CS_STACK_H

#include <stddef.h>

typedef struct cs_stack {
    char *base;  /* start of the guard */
    char *lo;    /* lowest usable address */
    char *hi;    /* one past the highest usable address */
    size_t size; /* usable bytes (hi - lo) */
} cs_stack;

/* Get a stack of exactly cs_cfg.stack_size usable bytes. 0 or ENOMEM/EAGAIN. */
int cs_stack_alloc(cs_stack *st);

/* Return a stack to the pool (its pages may be given back to the kernel). */
void cs_stack_free(cs_stack *st);

/* True if addr lies in the guard page of st. */
int cs_stack_in_guard(const cs_stack *st, const void *addr);

/* Give back the pages of cached free stacks above the cache limit. */
void cs_stack_trim(void);

/* Reinitialise the pool lock in a forked child. */
void cs_stack_atfork_child(void);

#endif
