/*
 * offload.c — the offload pool (offload.h).
 *
 * Invariants
 *   - `pool.lock` (a pthread mutex: pool threads sleep on `pool.cond`
 *     under it) guards the FIFO (head/tail), nthreads and nidle. It is held
 *     for list operations only, never across fn or a context switch.
 *   - A request is queued by its coroutine after cs_wait_begin and before
 *     cs_wait_park, on the coroutine's owner worker; from then on only the
 *     pool touches it, and a pool thread touches it only until it has read
 *     co and token after fn: the cs_wake that follows may resume the
 *     coroutine at once and end the request's life (it is on that stack).
 *     The wake is the one-shot CAS of wait.h, so the coroutine resumes
 *     exactly once, whether the wake lands before or after it switched out.
 *   - The wait is not interruptible: a user signal handler runs on the
 *     worker as usual, but the call is not cut short (a blocking file read,
 *     fsync or DNS lookup on a thread is not interrupted by it either).
 *   - Pool threads ("cs-offload") run with every signal blocked (set in the
 *     thread attributes, so there is no window), never run coroutines
 *     (cs_tls.co stays NULL: hooks they reach pass through) and are
 *     detached: exit() and _exit() do not wait for them, so a process that
 *     exits with lookups in flight does not hang.
 *   - Threads start on demand, up to cs_cfg.offload_threads, and live as
 *     long as the process. After fork the child has none of them: the pool
 *     is reset there (cs_offload_atfork_child) and starts again on demand.
 */
#include "offload.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "wait.h"

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    cs_offload_req *head, *tail; /* requests no thread took yet, FIFO */
    int nthreads;                /* started (or being started) */
    int nidle;                   /* waiting on cond */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0};

int cs_offload_max_threads(void)
{
    int n = cs_cfg.offload_threads;
    return n < 1 ? 1 : n > CS_OFFLOAD_THREADS_MAX ? CS_OFFLOAD_THREADS_MAX : n;
}

static void *pool_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "cs-offload");
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        while (!pool.head) {
            pool.nidle++;
            pthread_cond_wait(&pool.cond, &pool.lock);
            pool.nidle--;
        }
        cs_offload_req *req = pool.head;
        pool.head = req->next;
        if (!pool.head)
            pool.tail = NULL;
        pthread_mutex_unlock(&pool.lock);

        req->fn(req);
        cs_co *co = req->co;
        uint64_t token = req->token;
        /* req may be gone from here on: the wake can resume its coroutine. */
        cs_wake_detail(co, token, CS_WAKE_OFFLOAD, (uint64_t)(co->cur_hook + 1));
    }
    return NULL;
}

/* Start one more pool thread; 0 or an errno value. */
static int start_thread(void)
{
    pthread_attr_t attr;
    sigset_t all;
    pthread_t t;
    int err = pthread_attr_init(&attr);
    if (err)
        return err;
    sigfillset(&all);
    err = pthread_attr_setsigmask_np(&attr, &all);
    if (!err)
        err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (!err)
        err = pthread_create(&t, &attr, pool_main, NULL);
    pthread_attr_destroy(&attr);
    return err;
}

long cs_offload_run(cs_co *co, cs_offload_req *req, int *parked)
{
    *parked = 0;
    if (!co) {
        req->fn(req);
        return req->ret;
    }
    int saved = errno;
    req->co = co;
    req->next = NULL;
    req->token = cs_wait_begin(co, 0);
    co->wait_fd = co->call_fd;
    co->wait_events = 0;

    pthread_mutex_lock(&pool.lock);
    if (pool.tail)
        pool.tail->next = req;
    else
        pool.head = req;
    pool.tail = req;
    int grow = pool.nidle == 0 && pool.nthreads < cs_offload_max_threads();
    if (grow)
        pool.nthreads++; /* reserved: a second caller does not start one for the same need */
    else
        pthread_cond_signal(&pool.cond);
    pthread_mutex_unlock(&pool.lock);

    if (grow) {
        int err = start_thread();
        if (err) {
            pthread_mutex_lock(&pool.lock);
            pool.nthreads--;
            int alone = pool.nthreads == 0;
            if (alone) {
                /* No thread at all: nobody took req; run it here. */
                cs_offload_req **pp = &pool.head, *prev = NULL;
                while (*pp != req) {
                    prev = *pp;
                    pp = &(*pp)->next;
                }
                *pp = req->next;
                if (pool.tail == req)
                    pool.tail = prev;
            }
            pthread_mutex_unlock(&pool.lock);
            static _Atomic int told;
            if (!atomic_exchange(&told, 1))
                cs_log("cannot start an offload thread (%s); blocking calls run on the worker", strerror(err));
            if (alone) {
                if (!cs_wake_cancel(co, req->token))
                    cs_wait_park(co, req->token, 0); /* cannot happen: nobody else knows req */
                errno = saved;
                req->fn(req);
                return req->ret;
            }
        }
    }
    cs_wait_park(co, req->token, 0);
    *parked = 1;
    errno = saved;
    return req->ret;
}

void cs_offload_atfork_child(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.cond, NULL);
    pool.head = pool.tail = NULL;
    pool.nthreads = 0;
    pool.nidle = 0;
}
