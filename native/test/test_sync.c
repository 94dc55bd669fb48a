/*
 * test_sync — pthread mutexes and condition variables inside coroutines
 * (hook_sync.c, syncq.c).
 *
 * The cases that stalled a worker before: coroutine A holds a mutex and
 * parks (a sleep, I/O), coroutine B on the same single worker locks it — B
 * must park, not block the worker, or A never runs to unlock (the watchdog
 * then ends the test). Condvars signalled by a sibling coroutine, or by a
 * plain thread. Semantics are compared with plain threads: error kinds
 * (ERRORCHECK, RECURSIVE), timeouts, mutual exclusion under contention,
 * predicate loops that tolerate spurious wakeups. A ticker coroutine on the
 * same worker proves the worker kept running during a wait.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <pthread.h>
#include <sys/syscall.h>

#include "hook_compare.h"

/* The observer API (engine/src/hook.h cs_call, leading fields). */
typedef struct {
    int hook, fd, in_co, parked;
    long ret;
    int err;
    uint64_t dur_ns;
} cs_call;
void coroscope__set_call_observer(void (*)(const cs_call *));

/* Hook ids (coroscope_events.h numbers minus one: the engine's cs_hook_id). */
#include <coroscope_events.h>
#define HOOK(name) (COROSCOPE_HOOK_##name - 1)

static int in_co(void)
{
    return coroscope_id() != 0;
}

static void one_worker(void)
{
    configure_workers(1);
    watchdog(20);
}

/* A coroutine counting 10 ms ticks until *stop. A wait that blocked the
 * worker leaves it none (or one); ticks are checked against a fifth of what
 * an idle machine gives, so a loaded one still passes. */
typedef struct ticker_ctx {
    _Atomic int stop;
    _Atomic int ticks;
} ticker_ctx;

static void *ticker(void *arg)
{
    ticker_ctx *t = arg;
    while (!atomic_load(&t->stop)) {
        pause_ms(10);
        atomic_fetch_add(&t->ticks, 1);
    }
    return NULL;
}

static coroscope_co *spawn(const char *name, coroscope_fn fn, void *arg)
{
    coroscope_co *co;
    REQUIRE(coroscope_spawn(&co, name, fn, arg) == 0);
    return co;
}

static void join(coroscope_co *co)
{
    CHECK_EQ_ERR(coroscope_join(co, NULL), 0);
}

static pthread_mutex_t *new_mutex(int type)
{
    pthread_mutex_t *m = calloc(1, sizeof *m);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, type);
    REQUIRE(pthread_mutex_init(m, &a) == 0);
    pthread_mutexattr_destroy(&a);
    return m;
}

/* ---- the worker is not stalled ------------------------------------------------------------------ */

typedef struct hold_ctx {
    pthread_mutex_t *m;
    ticker_ctx tk;
    _Atomic int inside;
    _Atomic int overlap;
    _Atomic int released; /* the holder is about to unlock */
    int b_after_release;  /* the contender got it only after that */
    int b_lock;
    long b_waited_ms;
    int ticks_during;
} hold_ctx;

/* A: lock, sleep 300 ms (parks), unlock. */
static void *holder(void *arg)
{
    hold_ctx *c = arg;
    CHECK_EQ_ERR(pthread_mutex_lock(c->m), 0);
    atomic_store(&c->inside, 1);
    pause_ms(300);
    atomic_store(&c->inside, 0);
    atomic_store(&c->released, 1);
    CHECK_EQ_ERR(pthread_mutex_unlock(c->m), 0);
    return NULL;
}

/* B: lock the mutex A holds; it gets it only after A let go. */
static void *contender(void *arg)
{
    hold_ctx *c = arg;
    while (!atomic_load(&c->inside)) /* until A holds it */
        pause_ms(1);
    int t0 = atomic_load(&c->tk.ticks);
    uint64_t s = now_ns();
    c->b_lock = pthread_mutex_lock(c->m);
    c->b_waited_ms = (long)((now_ns() - s) / MS);
    c->ticks_during = atomic_load(&c->tk.ticks) - t0;
    c->b_after_release = atomic_load(&c->released);
    if (atomic_load(&c->inside)) atomic_store(&c->overlap, 1);
    CHECK_EQ_ERR(pthread_mutex_unlock(c->m), 0);
    atomic_store(&c->tk.stop, 1);
    return NULL;
}

static void *hold_scene(void *arg)
{
    coroscope_co *t = spawn("ticker", ticker, &((hold_ctx *)arg)->tk);
    coroscope_co *a = spawn("holder", holder, arg);
    coroscope_co *b = spawn("contender", contender, arg);
    join(a);
    join(b);
    join(t);
    return NULL;
}

TEST(a_coroutine_locking_a_mutex_its_sibling_holds_while_parked_parks_and_the_single_worker_keeps_running)
{
    one_worker();
    hold_ctx c = {.m = new_mutex(PTHREAD_MUTEX_NORMAL)};
    run_in_coroutine(hold_scene, &c);
    CHECK_EQ_ERR(c.b_lock, 0);
    CHECK(!atomic_load(&c.overlap));
    CHECK(c.b_after_release);
    CHECK_GE_LONG(c.b_waited_ms, 100); /* it waited for (most of) the holder's 300 ms */
    /* 10 ms ticks over ~300 ms: about 30; a stalled worker gives none */
    if (c.ticks_during < 5)
        cs_test_fail(__FILE__, __LINE__, "the ticker ticked %d times while the contender waited", c.ticks_during);
}

/* A plain thread holds it for 300 ms; the coroutine's lock parks meanwhile. */
static void *thread_holder(void *arg)
{
    hold_ctx *c = arg;
    CHECK_EQ_ERR(pthread_mutex_lock(c->m), 0);
    atomic_store(&c->inside, 1);
    pause_ms(300);
    atomic_store(&c->inside, 0);
    atomic_store(&c->released, 1);
    CHECK_EQ_ERR(pthread_mutex_unlock(c->m), 0);
    return NULL;
}

static void *thread_scene(void *arg)
{
    hold_ctx *c = arg;
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, thread_holder, c) == 0);
    coroscope_co *t = spawn("ticker", ticker, &c->tk);
    coroscope_co *b = spawn("contender", contender, c);
    join(b);
    join(t);
    pthread_join(th, NULL);
    return NULL;
}

TEST(a_coroutine_locking_a_mutex_a_plain_thread_holds_parks_until_the_thread_unlocks_and_the_worker_keeps_running)
{
    one_worker();
    hold_ctx c = {.m = new_mutex(PTHREAD_MUTEX_NORMAL)};
    run_in_coroutine(thread_scene, &c);
    CHECK_EQ_ERR(c.b_lock, 0);
    CHECK(!atomic_load(&c.overlap));
    CHECK(c.b_after_release);
    CHECK_GE_LONG(c.b_waited_ms, 100);
    if (c.ticks_during < 5)
        cs_test_fail(__FILE__, __LINE__, "the ticker ticked %d times while the contender waited", c.ticks_during);
}

/* ---- mutual exclusion under contention ------------------------------------------------------------ */

typedef struct excl_ctx {
    pthread_mutex_t *m;
    long counter; /* under m */
    _Atomic int inside;
    _Atomic int overlap;
    int rounds;
} excl_ctx;

static void *excl_body(void *arg)
{
    excl_ctx *c = arg;
    for (int i = 0; i < c->rounds; i++) {
        CHECK_EQ_ERR(pthread_mutex_lock(c->m), 0);
        if (atomic_fetch_add(&c->inside, 1) != 0) atomic_store(&c->overlap, 1);
        long v = c->counter;
        if (i % 7 == 0) {
            if (in_co())
                coroscope_yield(); /* a sibling runs while this one holds the mutex */
            else
                sched_yield();
        }
        if (i % 97 == 0) pause_ms(1); /* parks in a coroutine */
        c->counter = v + 1;
        atomic_fetch_sub(&c->inside, 1);
        CHECK_EQ_ERR(pthread_mutex_unlock(c->m), 0);
    }
    return NULL;
}

static void *excl_scene(void *arg)
{
    coroscope_co *cos[6];
    for (int i = 0; i < 6; i++) cos[i] = spawn("worker", excl_body, arg);
    for (int i = 0; i < 6; i++) join(cos[i]);
    return NULL;
}

static void check_exclusion(int workers, int type)
{
    configure_workers(workers);
    watchdog(60);
    excl_ctx c = {.m = new_mutex(type), .rounds = 1500};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) REQUIRE(pthread_create(&th[i], NULL, excl_body, &c) == 0);
    run_in_coroutine(excl_scene, &c);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK(!atomic_load(&c.overlap));
    CHECK_EQ_LONG(c.counter, 8L * c.rounds); /* 6 coroutines + 2 threads, no increment lost */
}

TEST(six_coroutines_on_one_worker_and_two_threads_that_yield_and_sleep_inside_a_normal_mutex_never_overlap)
{
    check_exclusion(1, PTHREAD_MUTEX_NORMAL);
}

TEST(six_coroutines_on_two_workers_and_two_threads_never_overlap_in_an_errorcheck_mutex)
{
    check_exclusion(2, PTHREAD_MUTEX_ERRORCHECK);
}

TEST(six_coroutines_on_one_worker_and_two_threads_never_overlap_in_a_recursive_mutex)
{
    check_exclusion(1, PTHREAD_MUTEX_RECURSIVE);
}

/* ---- error kinds, as between threads ---------------------------------------------------------------- */

typedef struct kind_ctx {
    pthread_mutex_t *ec, *rec, *normal;
    outcome ec_relock, ec_unlock_unheld, rec_lock2, rec_unlock1, rec_unlock2, rec_unlock3;
    outcome other_try_ec, other_try_rec, other_unlock_ec, other_unlock_rec, other_try_normal;
    outcome timed_past, timed_bad_ns, clock_bad, timed_out_ms;
    outcome after_try_rec; /* the other side's lock once the first let go */
    _Atomic int step;
} kind_ctx;

static void wait_step(kind_ctx *c, int s)
{
    while (atomic_load(&c->step) < s) {
        if (in_co())
            coroscope_yield();
        else
            sched_yield();
    }
}

#define ERRNUM(expr)                \
    ({                              \
        int e_ = (expr);            \
        (outcome){e_ ? -1 : 0, e_}; \
    })

/* First side: takes the mutexes and checks its own errors. */
static void *kinds_first(void *arg)
{
    kind_ctx *c = arg;
    CHECK_EQ_ERR(pthread_mutex_lock(c->ec), 0);
    c->ec_relock = ERRNUM(pthread_mutex_lock(c->ec));
    CHECK_EQ_ERR(pthread_mutex_lock(c->rec), 0);
    c->rec_lock2 = ERRNUM(pthread_mutex_lock(c->rec));
    c->rec_unlock1 = ERRNUM(pthread_mutex_unlock(c->rec)); /* still held once */
    CHECK_EQ_ERR(pthread_mutex_lock(c->normal), 0);
    atomic_store(&c->step, 1);
    wait_step(c, 2); /* the other side tried */
    c->rec_unlock2 = ERRNUM(pthread_mutex_unlock(c->rec));
    c->rec_unlock3 = ERRNUM(pthread_mutex_unlock(c->rec)); /* not held any more */
    CHECK_EQ_ERR(pthread_mutex_unlock(c->ec), 0);
    c->ec_unlock_unheld = ERRNUM(pthread_mutex_unlock(c->ec));
    pause_ms(60); /* the other side's timed lock of `normal` times out meanwhile */
    CHECK_EQ_ERR(pthread_mutex_unlock(c->normal), 0);
    return NULL;
}

static struct timespec abs_after_ms(clockid_t clk, long ms)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    int64_t ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + (int64_t)ms * MS;
    ts.tv_sec = (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    return ts;
}

/* Second side: another thread, or a sibling coroutine on the same worker. */
static void *kinds_second(void *arg)
{
    kind_ctx *c = arg;
    wait_step(c, 1);
    c->other_try_ec = ERRNUM(pthread_mutex_trylock(c->ec));
    c->other_try_rec = ERRNUM(pthread_mutex_trylock(c->rec));
    c->other_try_normal = ERRNUM(pthread_mutex_trylock(c->normal));
    c->other_unlock_ec = ERRNUM(pthread_mutex_unlock(c->ec));
    c->other_unlock_rec = ERRNUM(pthread_mutex_unlock(c->rec));
    struct timespec past = abs_after_ms(CLOCK_REALTIME, -1000);
    c->timed_past = ERRNUM(pthread_mutex_timedlock(c->normal, &past));
    struct timespec bad = {0, 2000000000L};
    c->timed_bad_ns = ERRNUM(pthread_mutex_timedlock(c->normal, &bad));
    struct timespec soon = abs_after_ms(CLOCK_MONOTONIC, 20);
    c->clock_bad = ERRNUM(pthread_mutex_clocklock(c->normal, CLOCK_PROCESS_CPUTIME_ID, &soon));
    atomic_store(&c->step, 2);
    uint64_t t0 = now_ns();
    soon = abs_after_ms(CLOCK_MONOTONIC, 20);
    int r = pthread_mutex_clocklock(c->normal, CLOCK_MONOTONIC, &soon);
    c->timed_out_ms = (outcome){r ? -1 : (long)((now_ns() - t0) / MS), r};
    c->after_try_rec = ERRNUM(pthread_mutex_lock(c->rec)); /* the first side let it go by now */
    if (c->after_try_rec.ret == 0) pthread_mutex_unlock(c->rec);
    return NULL;
}

static void *kinds_in_coroutines(void *arg)
{
    coroscope_co *a = spawn("first", kinds_first, arg);
    coroscope_co *b = spawn("second", kinds_second, arg);
    join(a);
    join(b);
    return NULL;
}

static void kinds_init(kind_ctx *c)
{
    memset(c, 0, sizeof *c);
    c->ec = new_mutex(PTHREAD_MUTEX_ERRORCHECK);
    c->rec = new_mutex(PTHREAD_MUTEX_RECURSIVE);
    c->normal = new_mutex(PTHREAD_MUTEX_NORMAL);
}

TEST(errorcheck_and_recursive_mutexes_give_the_same_errors_between_sibling_coroutines_as_between_threads)
{
    one_worker();
    kind_ctx t, c;
    kinds_init(&t);
    pthread_t th[2];
    REQUIRE(pthread_create(&th[0], NULL, kinds_first, &t) == 0);
    REQUIRE(pthread_create(&th[1], NULL, kinds_second, &t) == 0);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    kinds_init(&c);
    run_in_coroutine(kinds_in_coroutines, &c);

    for (kind_ctx *x = &t; x; x = x == &t ? &c : NULL) {
        CHECK_OUTCOME(x->ec_relock, -1, EDEADLK);
        CHECK_OUTCOME(x->rec_lock2, 0, 0);
        CHECK_OUTCOME(x->rec_unlock1, 0, 0);
        CHECK_OUTCOME(x->other_try_ec, -1, EBUSY);
        CHECK_OUTCOME(x->other_try_rec, -1, EBUSY); /* held by the other side, not this one */
        CHECK_OUTCOME(x->other_try_normal, -1, EBUSY);
        CHECK_OUTCOME(x->other_unlock_ec, -1, EPERM);
        CHECK_OUTCOME(x->other_unlock_rec, -1, EPERM);
        CHECK_OUTCOME(x->timed_past, -1, ETIMEDOUT);
        CHECK_OUTCOME(x->timed_bad_ns, -1, EINVAL);
        CHECK_OUTCOME(x->clock_bad, -1, EINVAL);
        CHECK_OUTCOME(x->rec_unlock2, 0, 0);
        CHECK_OUTCOME(x->rec_unlock3, -1, EPERM);
        CHECK_OUTCOME(x->ec_unlock_unheld, -1, EPERM);
        CHECK_EQ_LONG(x->timed_out_ms.err, ETIMEDOUT);
        CHECK_OUTCOME(x->after_try_rec, 0, 0);
    }
    CHECK_SAME_OUTCOME(t.other_try_rec, c.other_try_rec);
}

/* ---- condition variables ------------------------------------------------------------------------------ */

typedef struct cv_ctx {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int ready; /* under m */
    int waited;
    long waited_ms;
    ticker_ctx tk;
    int ticks_during;
} cv_ctx;

static void *cv_waiter(void *arg)
{
    cv_ctx *c = arg;
    int t0 = atomic_load(&c->tk.ticks);
    uint64_t s = now_ns();
    CHECK_EQ_ERR(pthread_mutex_lock(&c->m), 0);
    while (!c->ready) /* tolerates spurious wakeups */
        CHECK_EQ_ERR(pthread_cond_wait(&c->cv, &c->m), 0);
    c->waited = 1;
    CHECK_EQ_ERR(pthread_mutex_unlock(&c->m), 0);
    c->waited_ms = (long)((now_ns() - s) / MS);
    c->ticks_during = atomic_load(&c->tk.ticks) - t0;
    atomic_store(&c->tk.stop, 1);
    return NULL;
}

static void *cv_signaller(void *arg)
{
    cv_ctx *c = arg;
    pause_ms(300);
    CHECK_EQ_ERR(pthread_mutex_lock(&c->m), 0);
    c->ready = 1;
    CHECK_EQ_ERR(pthread_cond_signal(&c->cv), 0);
    CHECK_EQ_ERR(pthread_mutex_unlock(&c->m), 0);
    return NULL;
}

static void *cv_sibling_scene(void *arg)
{
    coroscope_co *t = spawn("ticker", ticker, &((cv_ctx *)arg)->tk);
    coroscope_co *w = spawn("waiter", cv_waiter, arg);
    coroscope_co *s = spawn("signaller", cv_signaller, arg);
    join(w);
    join(s);
    join(t);
    return NULL;
}

static void *cv_thread_scene(void *arg)
{
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, cv_signaller, arg) == 0);
    coroscope_co *t = spawn("ticker", ticker, &((cv_ctx *)arg)->tk);
    coroscope_co *w = spawn("waiter", cv_waiter, arg);
    join(w);
    join(t);
    pthread_join(th, NULL);
    return NULL;
}

static void cv_init(cv_ctx *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->m, NULL);
    pthread_cond_init(&c->cv, NULL);
}

static void check_cv(coroscope_fn scene)
{
    one_worker();
    cv_ctx c;
    cv_init(&c);
    run_in_coroutine(scene, &c);
    CHECK(c.waited);
    CHECK_GE_LONG(c.waited_ms, 100); /* the signal comes 300 ms after the signaller starts */
    if (c.ticks_during < 5)
        cs_test_fail(__FILE__, __LINE__, "the ticker ticked %d times during the condvar wait", c.ticks_during);
}

TEST(pthread_cond_wait_in_a_coroutine_parks_until_a_sibling_coroutine_on_the_same_worker_signals)
{
    check_cv(cv_sibling_scene);
}

TEST(pthread_cond_wait_in_a_coroutine_parks_until_a_plain_thread_signals_and_the_worker_keeps_running)
{
    check_cv(cv_thread_scene);
}

/* Timeouts: no signal comes. The mutex is held again on return. */
typedef struct timeout_ctx {
    ticker_ctx *tk; /* in the coroutine run: a ticker on the same worker */
    int ticks_during;
    outcome realtime, monotonic_attr, clockwait, past, bad_ns, bad_clock;
    long realtime_ms, monotonic_ms, clockwait_ms;
    int held_after; /* trylock by the same side after a timeout: EBUSY or EDEADLK (it holds it) */
} timeout_ctx;

static void *timeouts(void *arg)
{
    timeout_ctx *c = arg;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t rt = PTHREAD_COND_INITIALIZER, mono;
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&mono, &a);
    pthread_mutex_lock(&m);
    int ticks0 = c->tk ? atomic_load(&c->tk->ticks) : 0;

    uint64_t t0 = now_ns();
    struct timespec ts = abs_after_ms(CLOCK_REALTIME, 80);
    c->realtime = ERRNUM(pthread_cond_timedwait(&rt, &m, &ts));
    c->realtime_ms = (long)((now_ns() - t0) / MS);
    c->held_after = pthread_mutex_trylock(&m);

    t0 = now_ns();
    ts = abs_after_ms(CLOCK_MONOTONIC, 80);
    c->monotonic_attr = ERRNUM(pthread_cond_timedwait(&mono, &m, &ts));
    c->monotonic_ms = (long)((now_ns() - t0) / MS);

    t0 = now_ns();
    ts = abs_after_ms(CLOCK_MONOTONIC, 80);
    c->clockwait = ERRNUM(pthread_cond_clockwait(&rt, &m, CLOCK_MONOTONIC, &ts));
    c->clockwait_ms = (long)((now_ns() - t0) / MS);
    if (c->tk) {
        c->ticks_during = atomic_load(&c->tk->ticks) - ticks0;
        atomic_store(&c->tk->stop, 1);
    }

    ts = abs_after_ms(CLOCK_REALTIME, -50);
    c->past = ERRNUM(pthread_cond_timedwait(&rt, &m, &ts));
    struct timespec bad = {0, -1};
    c->bad_ns = ERRNUM(pthread_cond_timedwait(&rt, &m, &bad));
    ts = abs_after_ms(CLOCK_MONOTONIC, 10);
    c->bad_clock = ERRNUM(pthread_cond_clockwait(&rt, &m, CLOCK_PROCESS_CPUTIME_ID, &ts));
    pthread_mutex_unlock(&m);
    return NULL;
}

static void *timeouts_with_ticker(void *arg)
{
    timeout_ctx *c = arg;
    coroscope_co *t = spawn("ticker", ticker, c->tk);
    coroscope_co *w = spawn("waiter", timeouts, c);
    join(w);
    join(t);
    return NULL;
}

TEST(timed_condvar_waits_time_out_on_their_clock_with_the_mutex_held_again_and_reject_bad_arguments_as_on_a_thread)
{
    one_worker();
    ticker_ctx tk = {0};
    timeout_ctx t = {0}, c = {.tk = &tk};
    run_on_thread(timeouts, &t);
    run_in_coroutine(timeouts_with_ticker, &c);
    /* three 80 ms waits, 10 ms ticks: about 24; a blocked worker gives none */
    if (c.ticks_during < 5)
        cs_test_fail(__FILE__, __LINE__, "the ticker ticked %d times during the timed waits", c.ticks_during);
    for (timeout_ctx *x = &t; x; x = x == &t ? &c : NULL) {
        CHECK_OUTCOME(x->realtime, -1, ETIMEDOUT);
        CHECK_OUTCOME(x->monotonic_attr, -1, ETIMEDOUT);
        CHECK_OUTCOME(x->clockwait, -1, ETIMEDOUT);
        CHECK_GE_LONG(x->realtime_ms, 75);
        CHECK_GE_LONG(x->monotonic_ms, 75);
        CHECK_GE_LONG(x->clockwait_ms, 75);
        CHECK_OUTCOME(x->past, -1, ETIMEDOUT);
        CHECK_OUTCOME(x->bad_ns, -1, EINVAL);
        CHECK_OUTCOME(x->bad_clock, -1, EINVAL);
    }
    CHECK_EQ_LONG(t.held_after, EBUSY); /* a NORMAL mutex its holder trylocks */
    CHECK_EQ_LONG(c.held_after, EBUSY);
}

/* Producers and consumers, coroutines and threads mixed, over one bounded
 * queue with two condvars: every item is taken exactly once. */
#define QCAP               4
#define ITEMS_PER_PRODUCER 600
typedef struct pc_ctx {
    pthread_mutex_t m;
    pthread_cond_t not_empty, not_full;
    int q[QCAP], head, n;
    int done_producers;
    long sum, taken;
} pc_ctx;

static void *producer(void *arg)
{
    pc_ctx *c = arg;
    for (int i = 1; i <= ITEMS_PER_PRODUCER; i++) {
        pthread_mutex_lock(&c->m);
        while (c->n == QCAP) pthread_cond_wait(&c->not_full, &c->m);
        c->q[(c->head + c->n++) % QCAP] = i;
        pthread_cond_signal(&c->not_empty);
        pthread_mutex_unlock(&c->m);
    }
    pthread_mutex_lock(&c->m);
    c->done_producers++;
    pthread_cond_broadcast(&c->not_empty); /* consumers see the end */
    pthread_mutex_unlock(&c->m);
    return NULL;
}

static void *consumer(void *arg)
{
    pc_ctx *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->m);
        while (c->n == 0 && c->done_producers < 4) pthread_cond_wait(&c->not_empty, &c->m);
        if (c->n == 0) {
            pthread_mutex_unlock(&c->m);
            return NULL;
        }
        int v = c->q[c->head];
        c->head = (c->head + 1) % QCAP;
        c->n--;
        c->sum += v;
        c->taken++;
        pthread_cond_signal(&c->not_full);
        pthread_mutex_unlock(&c->m);
    }
}

static void *pc_scene(void *arg)
{
    coroscope_co *p[2], *q[3];
    for (int i = 0; i < 2; i++) p[i] = spawn("producer", producer, arg);
    for (int i = 0; i < 3; i++) q[i] = spawn("consumer", consumer, arg);
    for (int i = 0; i < 2; i++) join(p[i]);
    for (int i = 0; i < 3; i++) join(q[i]);
    return NULL;
}

static void pc_init(pc_ctx *c, int thread_producers)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->m, NULL);
    pthread_cond_init(&c->not_empty, NULL);
    pthread_cond_init(&c->not_full, NULL);
    c->done_producers = 2 - thread_producers; /* the producers that will not run count as done */
}

TEST(producers_and_consumers_that_are_all_coroutines_of_one_worker_take_every_item_once_over_condvars)
{
    one_worker();
    pc_ctx c;
    pc_init(&c, 0);
    run_in_coroutine(pc_scene, &c);
    CHECK_EQ_LONG(c.taken, 2L * ITEMS_PER_PRODUCER);
    CHECK_EQ_LONG(c.sum, 2L * ITEMS_PER_PRODUCER * (ITEMS_PER_PRODUCER + 1) / 2);
}

TEST(producers_and_consumers_mixing_coroutines_on_one_worker_and_threads_over_condvars_take_every_item_once)
{
    one_worker();
    pc_ctx c;
    pc_init(&c, 2);
    pthread_t tp[2], tc[2];
    for (int i = 0; i < 2; i++) {
        REQUIRE(pthread_create(&tp[i], NULL, producer, &c) == 0);
        REQUIRE(pthread_create(&tc[i], NULL, consumer, &c) == 0);
    }
    run_in_coroutine(pc_scene, &c);
    for (int i = 0; i < 2; i++) {
        pthread_join(tp[i], NULL);
        pthread_join(tc[i], NULL);
    }
    CHECK_EQ_LONG(c.taken, 4L * ITEMS_PER_PRODUCER);
    CHECK_EQ_LONG(c.sum, 4L * ITEMS_PER_PRODUCER * (ITEMS_PER_PRODUCER + 1) / 2);
}

/* Broadcast from a thread wakes every parked coroutine. */
typedef struct bc_ctx {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int go;
    _Atomic int woke;
    _Atomic int waiting;
} bc_ctx;

static void *bc_waiter(void *arg)
{
    bc_ctx *c = arg;
    pthread_mutex_lock(&c->m);
    atomic_fetch_add(&c->waiting, 1);
    while (!c->go) pthread_cond_wait(&c->cv, &c->m);
    pthread_mutex_unlock(&c->m);
    atomic_fetch_add(&c->woke, 1);
    return NULL;
}

static void *bc_scene(void *arg)
{
    coroscope_co *w[5];
    for (int i = 0; i < 5; i++) w[i] = spawn("waiter", bc_waiter, arg);
    for (int i = 0; i < 5; i++) join(w[i]);
    return NULL;
}

static void *bc_thread(void *arg)
{
    bc_ctx *c = arg;
    while (atomic_load(&c->waiting) < 5) pause_ms(1);
    pause_ms(20);
    pthread_mutex_lock(&c->m);
    c->go = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->m);
    return NULL;
}

TEST(pthread_cond_broadcast_from_a_plain_thread_wakes_every_coroutine_parked_on_the_condvar)
{
    one_worker();
    bc_ctx c;
    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.m, NULL);
    pthread_cond_init(&c.cv, NULL);
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, bc_thread, &c) == 0);
    run_in_coroutine(bc_scene, &c);
    pthread_join(th, NULL);
    CHECK_EQ_LONG(atomic_load(&c.woke), 5);
}

/* ---- recording --------------------------------------------------------------------------------- */

#define MAX_OBS 256
static cs_call obs[MAX_OBS];
static _Atomic int nobs;

static void record(const cs_call *c)
{
    if (c->hook < HOOK(pthread_mutex_lock) || c->hook > HOOK(pthread_cond_clockwait)) return;
    int i = atomic_fetch_add(&nobs, 1);
    if (i < MAX_OBS) obs[i] = *c;
}

static void *observed_scene(void *arg)
{
    hold_ctx *c = arg;
    CHECK_EQ_ERR(pthread_mutex_lock(c->m), 0); /* uncontended: not recorded */
    CHECK_EQ_ERR(pthread_mutex_unlock(c->m), 0);
    coroscope_co *t = spawn("ticker", ticker, &c->tk);
    coroscope_co *a = spawn("holder", holder, arg);
    coroscope_co *b = spawn("contender", contender, arg);
    join(a);
    join(b);
    join(t);
    cv_ctx cv;
    cv_init(&cv);
    coroscope_co *t2 = spawn("ticker", ticker, &cv.tk);
    coroscope_co *w = spawn("waiter", cv_waiter, &cv);
    coroscope_co *s = spawn("signaller", cv_signaller, &cv);
    join(w);
    join(s);
    join(t2);
    return NULL;
}

TEST(a_contended_lock_and_a_condvar_wait_are_each_one_parked_call_with_their_duration_and_an_uncontended_lock_none)
{
    one_worker();
    hold_ctx c = {.m = new_mutex(PTHREAD_MUTEX_NORMAL)};
    coroscope__set_call_observer(record);
    run_in_coroutine(observed_scene, &c);
    coroscope__set_call_observer(NULL);
    int locks = 0, waits = 0;
    for (int i = 0; i < atomic_load(&nobs) && i < MAX_OBS; i++) {
        cs_call *o = &obs[i];
        if (o->hook == HOOK(pthread_mutex_lock)) {
            locks++;
            CHECK(o->in_co && o->parked);
            CHECK_EQ_LONG(o->ret, 0);
            CHECK_GE_LONG((long)(o->dur_ns / MS), 100); /* (most of) the holder's 300 ms */
        } else if (o->hook == HOOK(pthread_cond_wait)) {
            waits++;
            CHECK(o->in_co && o->parked);
            CHECK_GE_LONG((long)(o->dur_ns / MS), 100);
        }
    }
    CHECK_EQ_LONG(locks, 1);
    CHECK_GE_LONG(waits, 1); /* one wait, or more after a spurious wakeup */
}

/* ---- pinning ----------------------------------------------------------------------------------- */

typedef struct pin_ctx {
    _Atomic int moved_while_holding;
    _Atomic int moved_at_all;
} pin_ctx;

static void *pin_body(void *arg)
{
    pin_ctx *c = arg;
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    for (int i = 0; i < 300; i++) {
        pid_t before = (pid_t)syscall(SYS_gettid);
        pthread_mutex_lock(&m);
        pid_t at_lock = (pid_t)syscall(SYS_gettid);
        for (int k = 0; k < 3; k++) coroscope_yield();
        if ((pid_t)syscall(SYS_gettid) != at_lock) atomic_store(&c->moved_while_holding, 1);
        pthread_mutex_unlock(&m);
        coroscope_yield();
        if ((pid_t)syscall(SYS_gettid) != before) atomic_store(&c->moved_at_all, 1);
    }
    return NULL;
}

static void *pin_scene(void *arg)
{
    coroscope_co *cos[16];
    for (int i = 0; i < 16; i++) cos[i] = spawn("pinned", pin_body, arg);
    for (int i = 0; i < 16; i++) join(cos[i]);
    return NULL;
}

TEST(with_migration_on_a_coroutine_holding_a_mutex_stays_on_its_worker_until_it_unlocks)
{
    coroscope_config cfg;
    REQUIRE(coroscope_config_get(&cfg) == 0);
    cfg.workers = 4;
    cfg.migrate = 1;
    REQUIRE(coroscope_configure(&cfg) == 0);
    watchdog(30);
    pin_ctx c = {0};
    run_in_coroutine(pin_scene, &c);
    CHECK(!atomic_load(&c.moved_while_holding));
    if (!atomic_load(&c.moved_at_all))
        fprintf(stderr, "note: no coroutine migrated in this run (the pinning was not exercised)\n");
}
