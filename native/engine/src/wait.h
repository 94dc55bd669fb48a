/*
 * wait.h — how a coroutine parks and how anyone wakes it.
 *
 * A hook that must wait:
 *     uint64_t t = cs_wait_begin(co, interruptible);
 *     ...publish (co, t) where wakers find it (fd waiter list, join slot)...
 *     cause = cs_wait_park(co, t, deadline);   // 0: no deadline
 *     ...unpublish...
 * Wakers call cs_wake(co, t, cause). The CAS on co->wait_seq makes the first
 * waker win; the others (and stale ones) do nothing. The winner hands co to
 * its owner worker's queue; because only the owner thread ever switches into
 * co, and only from its scheduler context, a wake that lands before co has
 * switched out is safe: co is simply queued and resumes after it parks.
 *
 * Interruptible waits end with CS_WAKE_SIGNAL when a user signal handler
 * without SA_RESTART (or one of the calls signal(7) never restarts) runs
 * while the coroutine is parked, so EINTR reaches the program as it would
 * without the engine.
 */
#ifndef CS_WAIT_H
#define CS_WAIT_H

#include <stdint.h>

#include "coroutine.h"

uint64_t cs_wait_begin(cs_co *co, int interruptible);
int cs_wait_park(cs_co *co, uint64_t token, uint64_t deadline);
int cs_wake(cs_co *co, uint64_t token, int cause);

/* The same, with what caused it for the event stream: the fd, or the
 * coroutine that finished (join). */
int cs_wake_detail(cs_co *co, uint64_t token, int cause, uint64_t detail);
/* The same, for an fd wake: `seen` is the readiness that woke it (1 read,
 * 2 write), carried by the WAKE event (a2). */
int cs_wake_seen(cs_co *co, uint64_t token, int cause, uint64_t detail, int seen);

/* The waiting coroutine itself abandons the wait it began (before parking).
 * Returns 1 if it did; 0 if a waker claimed it first, in which case the
 * coroutine is already queued and must still call cs_wait_park once. */
int cs_wake_cancel(cs_co *co, uint64_t token);

struct cs_worker;
/* Owner worker: drop co's timer and park-list entry (resume, migration). */
void cs_wait_detach(struct cs_worker *w, cs_co *co);

/* Owner worker: end interruptible waits begun before the current user-signal
 * epoch. */
void cs_wait_interrupt_parked(void);

#endif
