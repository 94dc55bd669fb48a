/*
 * offload.c — the offload pool (offload.h).
 *
 * Invariants
 *   - Each pool's `lock` (a pthread mutex: its threads sleep on its `cond`
 *     under it) guards its FIFO (head/tail), nthreads and nidle. It is held
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
 *   - Two pools with the same code: calls (cs_offload_run: DNS, files;
 *     up to cs_cfg.offload_threads) and waits (cs_offload_wait: waitpid,
 *     pthread_join, semaphores; up to CS_OFFLOAD_WAIT_THREADS_MAX, so an
 *     open-ended wait never holds a thread a short call needs).
 *   - A wait-class request changes hands through req->state: the pool
 *     thread moves RUNNING -> FINISHED after fn, wakes the coroutine, then
 *     stores RELEASED and never touches req again; the coroutine, woken by
 *     a signal, moves RUNNING -> ABANDONED and returns at once (the pool
 *     then undoes and frees req without touching the coroutine), or finds
 *     FINISHED and waits for RELEASED (a few instructions of the pool
 *     thread) before it may free req: the pool's cs_wake of a coroutine
 *     that still exists is then stale and harmless.
 *   - Threads start on demand, up to their pool's limit, and live as
 *     long as the process. After fork the child has none of them: the pool
 *     is reset there (cs_offload_atfork_child) and starts again on demand.
 */
#include "offload.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "real.h"
#include "wait.h"

typedef struct pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    cs_offload_req *head, *tail; /* requests no thread took yet, FIFO */
    int nthreads;                /* started (or being started) */
    int nidle;                   /* waiting on cond */
    const char *name;            /* of its threads */
} pool_t;

static pool_t calls = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, "cs-offload"};
static pool_t waits = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, "cs-wait"};

int cs_offload_max_threads(void)
{
    int n = cs_cfg.offload_threads;
    return n < 1 ? 1 : n > CS_OFFLOAD_THREADS_MAX ? CS_OFFLOAD_THREADS_MAX : n;
}

static int pool_max(const pool_t *p)
{
    return p == &calls ? cs_offload_max_threads() : CS_OFFLOAD_WAIT_THREADS_MAX;
}

static void *pool_main(void *arg)
{
    pool_t *pool = arg;
    pthread_setname_np(pthread_self(), pool->name);
    for (;;) {
        cs_real.pthread_mutex_lock(&pool->lock); /* cs_real: a pool thread's own waits are not the program's calls */
        while (!pool->head) {
            pool->nidle++;
            cs_real.pthread_cond_wait(&pool->cond, &pool->lock);
            pool->nidle--;
        }
        cs_offload_req *req = pool->head;
        pool->head = req->next;
        if (!pool->head) pool->tail = NULL;
        pthread_mutex_unlock(&pool->lock);

        req->fn(req);
        cs_co *co = req->co;
        uint64_t token = req->token;
        if (req->wait_class) {
            int running = CS_OFFLOAD_RUNNING;
            if (!atomic_compare_exchange_strong(&req->state, &running, CS_OFFLOAD_FINISHED)) {
                /* The coroutine left (a signal): undo, free; co may be gone. */
                if (req->abandoned) req->abandoned(req);
                free(req);
                continue;
            }
            cs_wake_detail(co, token, CS_WAKE_OFFLOAD, (uint64_t)(co->cur_hook + 1)); /* co waits for us */
            atomic_store(&req->state, CS_OFFLOAD_RELEASED);                           /* the last touch */
            continue;
        }
        /* req may be gone from here on: the wake can resume its coroutine. */
        cs_wake_detail(co, token, CS_WAKE_OFFLOAD, (uint64_t)(co->cur_hook + 1));
    }
    return NULL;
}

/* Start one more pool thread; 0 or an errno value. */
static int start_thread(pool_t *pool)
{
    pthread_attr_t attr;
    sigset_t all;
    pthread_t t;
    int err = pthread_attr_init(&attr);
    if (err) return err;
    sigfillset(&all);
    err = pthread_attr_setsigmask_np(&attr, &all);
    if (!err) err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (!err) err = pthread_create(&t, &attr, pool_main, pool);
    pthread_attr_destroy(&attr);
    return err;
}

/* Queue req on pool and park co until a wake (or run fn inline if no
 * thread can start at all); the wake cause, or CS_WAKE_OFFLOAD when fn ran
 * inline. */
static int submit(pool_t *pool, cs_co *co, cs_offload_req *req, int interruptible, int *parked)
{
    int saved = errno;
    req->co = co;
    req->next = NULL;
    req->token = cs_wait_begin(co, interruptible);
    co->wait_fd = co->call_fd;
    co->wait_events = 0;

    pthread_mutex_lock(&pool->lock);
    if (pool->tail)
        pool->tail->next = req;
    else
        pool->head = req;
    pool->tail = req;
    int grow = pool->nidle == 0 && pool->nthreads < pool_max(pool);
    if (grow)
        pool->nthreads++; /* reserved: a second caller does not start one for the same need */
    else
        pthread_cond_signal(&pool->cond);
    pthread_mutex_unlock(&pool->lock);

    if (grow) {
        int err = start_thread(pool);
        if (err) {
            pthread_mutex_lock(&pool->lock);
            pool->nthreads--;
            int alone = pool->nthreads == 0;
            if (alone) {
                /* No thread at all: nobody took req; run it here. */
                cs_offload_req **pp = &pool->head, *prev = NULL;
                while (*pp != req) {
                    prev = *pp;
                    pp = &(*pp)->next;
                }
                *pp = req->next;
                if (pool->tail == req) pool->tail = prev;
            }
            pthread_mutex_unlock(&pool->lock);
            static _Atomic int told;
            if (!atomic_exchange(&told, 1))
                cs_log("cannot start an offload thread (%s); blocking calls run on the worker", strerror(err));
            if (alone) {
                if (!cs_wake_cancel(co, req->token))
                    cs_wait_park(co, req->token, 0); /* only a signal can have claimed it */
                errno = saved;
                req->fn(req);
                if (req->wait_class) atomic_store(&req->state, CS_OFFLOAD_RELEASED);
                return CS_WAKE_OFFLOAD;
            }
        }
    }
    int cause = cs_wait_park(co, req->token, 0);
    *parked = 1;
    errno = saved;
    return cause;
}

long cs_offload_run(cs_co *co, cs_offload_req *req, int *parked)
{
    *parked = 0;
    if (!co) {
        req->fn(req);
        return req->ret;
    }
    req->wait_class = 0;
    submit(&calls, co, req, 0, parked);
    return req->ret;
}

int cs_offload_wait(cs_co *co, cs_offload_req *req, int interruptible, int *parked)
{
    *parked = 0;
    req->wait_class = 1;
    atomic_store(&req->state, CS_OFFLOAD_RUNNING);
    if (!co) {
        req->fn(req);
        return CS_WAKE_OFFLOAD;
    }
    int cause = submit(&waits, co, req, interruptible, parked);
    if (cause != CS_WAKE_OFFLOAD) {
        int running = CS_OFFLOAD_RUNNING;
        if (atomic_compare_exchange_strong(&req->state, &running, CS_OFFLOAD_ABANDONED))
            return CS_WAKE_SIGNAL; /* req is the pool's now */
    }
    /* fn finished: wait until the pool thread let go of req (and of co). */
    while (atomic_load(&req->state) != CS_OFFLOAD_RELEASED) sched_yield();
    return CS_WAKE_OFFLOAD;
}

static void pool_reset(pool_t *pool)
{
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->cond, NULL);
    pool->head = pool->tail = NULL;
    pool->nthreads = 0;
    pool->nidle = 0;
}

void cs_offload_atfork_child(void)
{
    pool_reset(&calls);
    pool_reset(&waits);
}
