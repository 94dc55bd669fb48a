/*
 * timer.h — per-worker timer heap (min-heap on deadline, CLOCK_MONOTONIC ns).
 *
 * Only the owner worker's thread touches its heap: coroutines add their own
 * timer just before parking and remove it right after resuming, both on the
 * owner thread; the scheduler fires expired ones. A coroutine has at most one
 * timer (co->heap_idx). Firing claims the coroutine's wait with its token, so
 * a timer that lost the race to another wake is a no-op.
 */
#ifndef CS_TIMER_H
#define CS_TIMER_H

#include <stdint.h>

#include "sched.h"

/* Insert co with co->deadline/co->timer_token. 0 or ENOMEM. */
int cs_timer_add(cs_worker *w, cs_co *co);

/* Remove co's timer if it is still in the heap. */
void cs_timer_del(cs_worker *w, cs_co *co);

/* Earliest deadline, or UINT64_MAX when empty. */
uint64_t cs_timer_next(const cs_worker *w);

/* Wake every coroutine whose deadline is <= now. Returns how many fired. */
int cs_timer_run(cs_worker *w, uint64_t now);

#endif
