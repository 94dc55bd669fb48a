/*
 * netpoll.h — the one epoll instance behind every parked fd wait.
 *
 * Design (after Go's netpoller)
 *   - Each fd is registered once per fd lifetime, edge-triggered for both
 *     directions (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET), the first time a
 *     coroutine has to wait on it. epoll's data carries (fd, generation).
 *   - An edge bumps cs_fd.seq[dir] and wakes every waiter of that direction
 *     (under the fd's lock). A hook reads seq before its non-blocking attempt
 *     and parks only if seq is unchanged under the lock, so an edge between
 *     the failed attempt and the park is never lost.
 *   - Every worker's eventfd is registered too (tagged), so a worker blocked
 *     here can be woken for new work. At most one worker blocks in the
 *     netpoller at a time (cs_rt.netpoll_owner); busy workers poll it without
 *     blocking at least every millisecond.
 * Threads: cs_netpoll_wait from any worker (concurrent non-blocking polls are
 * fine); registration under the fd lock.
 */
#ifndef CS_NETPOLL_H
#define CS_NETPOLL_H

#include <stdint.h>

#include "fdtable.h"
#include "sched.h"

int cs_netpoll_init(void);
int cs_netpoll_add_worker(cs_worker *w);

/* Wait up to timeout_ns (-1: no limit, 0: just look) and wake the waiters of
 * ready fds. Returns the number of coroutines woken; *own_efd is set when
 * self's eventfd was signalled (the caller drains it). */
int cs_netpoll_wait(int64_t timeout_ns, cs_worker *self, int *own_efd);

/* Register fd (lock of e held). 0, or EPERM for fds epoll cannot watch
 * (regular files), or another errno. */
int cs_netpoll_register(int fd, cs_fd *e);

/* Drop fd's registration (lock of e held, fd still open). */
void cs_netpoll_unregister(int fd, cs_fd *e);

/* Park the running coroutine until fd is ready for dir, the deadline passes
 * (CLOCK_MONOTONIC ns, 0 = none), fd is closed or a user signal interrupts
 * (if interruptible). seq0 = cs_fd_seq(e, dir) read before the failed
 * attempt. Returns a cs_wake_cause, or -EPERM if fd cannot be watched. */
int cs_fd_wait(int fd, cs_fd *e, int dir, uint32_t seq0, uint64_t deadline, int interruptible);

/* The same for several fds at once (poll/select): parks until any is ready. */
typedef struct cs_wait_item {
    int fd;
    cs_fd *e;
    int dir;
    uint32_t seq0;
    cs_waiter w;
} cs_wait_item;
int cs_fd_wait_many(cs_wait_item *items, int n, uint64_t deadline, int interruptible);

static inline uint32_t cs_fd_seq(cs_fd *e, int dir)
{
    return atomic_load_explicit(&e->seq[dir], memory_order_acquire);
}

/* Wake every waiter of a closing fd with CS_WAKE_CLOSED (lock of e held). */
int cs_netpoll_wake_closed(cs_fd *e);

void cs_netpoll_atfork_child(void);

#endif
