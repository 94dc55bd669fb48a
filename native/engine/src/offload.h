/*
 * offload.h — run a blocking function on a small thread pool while the
 * coroutine that needs it parks.
 *
 * Some calls have nothing the netpoller can wait on: DNS lookups (glibc's
 * resolver polls its own sockets internally, without the PLT), regular-file
 * reads that miss the page cache, writes, fsync. Inside a coroutine such a
 * call is handed to the pool: the coroutine parks (CO_SUSPEND, a CALL_ENTER
 * for its hook), a pool thread runs the function, and wakes it through
 * cs_wake (wait.h) with CS_WAKE_OFFLOAD. Outside coroutines callers run the
 * function inline (cs_offload_run does so itself).
 *
 * A request lives on the parked coroutine's stack: nothing is allocated per
 * call. The function runs on a pool thread, so it must not touch the
 * coroutine's thread-local state (errno, h_errno, _res): whatever it must
 * report goes into the request (ret, err, and the caller's own fields).
 *
 * Limits: COROSCOPE_OFFLOAD_THREADS threads at most (default 4, started on
 * demand: a new one only when no started one is idle). Requests beyond the
 * threads wait in one FIFO, each with its coroutine parked: the queue holds
 * at most one entry per parked coroutine and costs no memory of its own, so
 * "full" never happens to the caller as a failure — it waits, parked, for a
 * thread, and the worker keeps running the other coroutines.
 */
#ifndef CS_OFFLOAD_H
#define CS_OFFLOAD_H

#include <stdint.h>

#include "coroutine.h"

#define CS_OFFLOAD_THREADS_MAX      64
/* Threads of the wait pool at most (below). */
#define CS_OFFLOAD_WAIT_THREADS_MAX 256

typedef struct cs_offload_req cs_offload_req;
struct cs_offload_req {
    /* set by the caller */
    void (*fn)(cs_offload_req *req); /* runs on a pool thread; fills ret/err */
    void *arg;
    /* results, written by fn */
    long ret;
    int err;
    /* set by the caller of cs_offload_wait (0/NULL for cs_offload_run) */
    void (*abandoned)(cs_offload_req *req); /* pool thread, after fn, if the coroutine left: undo what
                                               fn took (a semaphore unit); NULL: nothing to undo */
    /* the pool's */
    cs_co *co;
    uint64_t token;
    cs_offload_req *next;
    int wait_class;    /* queued on the wait pool by cs_offload_wait */
    _Atomic int state; /* wait class: CS_OFFLOAD_RUNNING .. RELEASED */
};

enum { CS_OFFLOAD_RUNNING, CS_OFFLOAD_FINISHED, CS_OFFLOAD_ABANDONED, CS_OFFLOAD_RELEASED };

/* Run req->fn: inside coroutine co on the pool while co parks (its current
 * hook, co->cur_hook, is the call recorded as parked), or inline when co is
 * NULL. Returns req->ret. 1 in *parked when co parked. Never fails: if the
 * pool cannot start a thread at all, fn runs inline on the worker. */
long cs_offload_run(cs_co *co, cs_offload_req *req, int *parked);

/* An open-ended wait (waitpid, pthread_join, sem_wait: another thread or
 * process decides when it ends) on the wait pool, a second pool of its own
 * threads: one per waiting coroutine, reused when idle, up to
 * CS_OFFLOAD_WAIT_THREADS_MAX. Such waits never take a thread of the call
 * pool (a coroutine whose file read or lookup would post the semaphore
 * must not queue behind the waiters).
 *
 * req is malloc'd by the caller. interruptible: the wait ends early when a
 * user signal handler runs (wait.h). Returns the wake cause:
 *   CS_WAKE_OFFLOAD  fn finished: req->ret/err hold its result and the
 *                    caller frees req (also when a signal came after fn had
 *                    finished: the call completed, as it would on a thread)
 *   CS_WAKE_SIGNAL   the coroutine left first: req now belongs to the pool,
 *                    which lets fn return (fn should look at req->state and
 *                    give up when it is CS_OFFLOAD_ABANDONED), calls
 *                    req->abandoned if fn took something, and frees req.
 * Outside coroutines (co NULL) fn runs inline; CS_WAKE_OFFLOAD. */
int cs_offload_wait(cs_co *co, cs_offload_req *req, int interruptible, int *parked);

/* Forked child: the pool's threads did not survive the fork; forget them
 * and any queued request (its coroutine is gone too). */
void cs_offload_atfork_child(void);

/* Threads the pool may start (COROSCOPE_OFFLOAD_THREADS). */
int cs_offload_max_threads(void);

#endif
