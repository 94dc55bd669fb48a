/*
 * syncq.h — coroutines parked on a synchronisation object, keyed by its
 * address (a pthread mutex or condition variable: hook_sync.c).
 *
 * A pthread mutex or condvar has no room for a list of parked coroutines,
 * so the list lives here: a fixed table of buckets (hash of the address),
 * each a FIFO of nodes under a spin lock. A node lives on the stack of the
 * coroutine that waits, from cs_syncq_add to cs_syncq_remove; between the
 * two the coroutine parks with the token it registered (wait.h).
 *
 * Protocol (the lost-wakeup rule): a waiter calls cs_wait_begin, then
 * cs_syncq_add (which increments cs_syncq_nwait, seq_cst), and only then
 * looks at the object once more (trylock; or releases the mutex of a
 * condvar wait) before it parks. A releaser changes the object first
 * (unlock; the program's predicate), then reads cs_syncq_nwait (seq_cst):
 * either the waiter's second look sees the change or the releaser sees the
 * waiter and wakes it.
 *
 * Threads: every function from any thread, never from a signal handler.
 * A bucket's lock is held for list operations only: wakes (cs_wake, which
 * may write a worker's eventfd) run after it is released, on (co, token)
 * copied from nodes already unlinked, so a woken coroutine may return and
 * end its node's life at once. A waker whose cs_wake fails (the waiter's
 * own timer won first: it runs anyway) takes the next node, so a wake of
 * one reaches a coroutine that was still parked if there is one.
 */
#ifndef CS_SYNCQ_H
#define CS_SYNCQ_H

#include <stdatomic.h>
#include <stdint.h>

#include "coroutine.h"

typedef struct cs_syncq_node {
    const void *addr;
    cs_co *co;
    uint64_t token;
    uint64_t detail; /* the WAKE's detail: hook id + 1 of the waiting call */
    uint64_t seq;    /* order of arrival in its bucket (broadcast bound) */
    struct cs_syncq_node *prev, *next;
    int linked; /* under the bucket lock */
} cs_syncq_node;

/* Nodes linked in all buckets: lets every release skip the table when no
 * coroutine waits on anything (the common case: one seq_cst load). */
extern _Atomic long cs_syncq_nwait;

static inline int cs_syncq_waiting(void)
{
    return atomic_load_explicit(&cs_syncq_nwait, memory_order_seq_cst) != 0;
}

/* Link n for (addr, co, token) at the tail of addr's bucket; detail is
 * what its WAKE carries (the wake cause is CS_WAKE_OFFLOAD: "the blocking
 * call it parked in can go on", READY a1 = the hook id). */
void cs_syncq_add(cs_syncq_node *n, const void *addr, cs_co *co, uint64_t token, uint64_t detail);

/* Unlink n if a waker did not already. */
void cs_syncq_remove(cs_syncq_node *n);

/* Wake the first parked coroutine waiting on addr (all: every one that was
 * waiting when the call began). Returns how many were woken. */
int cs_syncq_wake(const void *addr, int all);

/* Forked child: other threads' waiters are gone; reset every bucket. */
void cs_syncq_atfork_child(void);

#endif
