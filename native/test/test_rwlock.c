/*
 * test_rwlock — pthread rwlocks and spin locks inside coroutines
 * (hook_sync.c "rwlocks", "spin locks").
 *
 * The cases that stalled a worker before: coroutine A holds an rwlock (or
 * a spin lock) and parks (a sleep), coroutine B on the same single worker
 * locks it — B must park (rwlock) or yield (spin lock), not block or spin
 * on the worker, or A never runs to unlock (the watchdog then ends the
 * test). A ticker coroutine on the same worker proves the worker kept
 * running. Semantics are compared with plain threads doing the same steps:
 * glibc's default reader preference (a reader gets in beside a reader while
 * a writer waits), EDEADLK for the writer's own relock, EBUSY for try
 * locks, ETIMEDOUT, EINVAL for a bad clock, and mutual exclusion under
 * contention from coroutines on two workers and plain threads at once.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <pthread.h>

#include "hook_compare.h"

static void one_worker(void)
{
    configure_workers(1);
    watchdog(20);
}

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

/* ---- the worker is not stalled ------------------------------------------------------------------ */

enum { READ, WRITE, SPIN };

typedef struct hold_ctx {
    int holder_mode, contender_mode;
    pthread_rwlock_t rw;
    pthread_spinlock_t spin;
    ticker_ctx tk;
    _Atomic int inside;
    _Atomic int released;
    int b_lock, b_after_release, ticks_during;
    long b_waited_ms;
} hold_ctx;

static int take(hold_ctx *c, int mode)
{
    return mode == READ    ? pthread_rwlock_rdlock(&c->rw)
           : mode == WRITE ? pthread_rwlock_wrlock(&c->rw)
                           : pthread_spin_lock(&c->spin);
}

static int give(hold_ctx *c, int mode)
{
    return mode == SPIN ? pthread_spin_unlock(&c->spin) : pthread_rwlock_unlock(&c->rw);
}

static void *holder(void *arg)
{
    hold_ctx *c = arg;
    CHECK_EQ_ERR(take(c, c->holder_mode), 0);
    atomic_store(&c->inside, 1);
    pause_ms(300); /* parks, holding it */
    atomic_store(&c->released, 1);
    CHECK_EQ_ERR(give(c, c->holder_mode), 0);
    return NULL;
}

static void *contender(void *arg)
{
    hold_ctx *c = arg;
    while (!atomic_load(&c->inside)) pause_ms(1);
    int t0 = atomic_load(&c->tk.ticks);
    uint64_t s = now_ns();
    c->b_lock = take(c, c->contender_mode);
    c->b_waited_ms = (long)((now_ns() - s) / MS);
    c->ticks_during = atomic_load(&c->tk.ticks) - t0;
    c->b_after_release = atomic_load(&c->released);
    CHECK_EQ_ERR(give(c, c->contender_mode), 0);
    atomic_store(&c->tk.stop, 1);
    return NULL;
}

static void *hold_scene(void *arg)
{
    hold_ctx *c = arg;
    coroscope_co *t = spawn("ticker", ticker, &c->tk);
    coroscope_co *a = spawn("holder", holder, c);
    coroscope_co *b = spawn("contender", contender, c);
    join(a);
    join(b);
    join(t);
    return NULL;
}

static void check_hold(int holder_mode, int contender_mode)
{
    one_worker();
    hold_ctx c = {.holder_mode = holder_mode, .contender_mode = contender_mode};
    REQUIRE(pthread_rwlock_init(&c.rw, NULL) == 0);
    REQUIRE(pthread_spin_init(&c.spin, PTHREAD_PROCESS_PRIVATE) == 0);
    run_in_coroutine(hold_scene, &c);
    CHECK_EQ_ERR(c.b_lock, 0);
    CHECK(c.b_after_release);
    CHECK_GE_LONG(c.b_waited_ms, 100);
    if (c.ticks_during < 5)
        cs_test_fail(__FILE__, __LINE__, "the ticker ticked %d times while the contender waited", c.ticks_during);
}

TEST(a_coroutine_write_locking_an_rwlock_its_sibling_reads_while_parked_parks_and_the_worker_keeps_running)
{
    check_hold(READ, WRITE);
}

TEST(a_coroutine_read_locking_an_rwlock_its_sibling_writes_while_parked_parks_and_the_worker_keeps_running)
{
    check_hold(WRITE, READ);
}

TEST(a_coroutine_taking_a_spin_lock_its_sibling_holds_while_parked_yields_until_it_is_free)
{
    check_hold(SPIN, SPIN);
}

/* ---- the same answers as threads ---------------------------------------------------------------- */

/*
 * One scenario run by three peers — coroutines on one worker, or plain
 * threads: P1 read-locks; P2 write-locks (waits); P3, while P2 waits,
 * tries a read lock (glibc's default prefers readers: it gets in) and a
 * write lock (EBUSY); P1 then relocks nothing and unlocks; P2 gets it.
 * The writer relocks (EDEADLK both ways), times out on nothing else.
 */
typedef struct sem_ctx {
    pthread_rwlock_t rw;
    _Atomic int step;
    int p3_tryrd, p3_trywr, p2_lock, p2_relock_wr, p2_relock_rd, p2_trywr_own, p3_timed, p3_badclock;
} sem_ctx;

static void wait_step(sem_ctx *c, int s)
{
    while (atomic_load(&c->step) < s) pause_ms(1);
}

static void *p1(void *arg)
{
    sem_ctx *c = arg;
    CHECK_EQ_ERR(pthread_rwlock_rdlock(&c->rw), 0);
    atomic_store(&c->step, 1);
    wait_step(c, 3);
    CHECK_EQ_ERR(pthread_rwlock_unlock(&c->rw), 0);
    return NULL;
}

static void *p2(void *arg)
{
    sem_ctx *c = arg;
    wait_step(c, 1);
    atomic_store(&c->step, 2);
    c->p2_lock = pthread_rwlock_wrlock(&c->rw); /* waits for P1 and P3's read locks */
    c->p2_relock_wr = pthread_rwlock_wrlock(&c->rw);
    c->p2_relock_rd = pthread_rwlock_rdlock(&c->rw);
    c->p2_trywr_own = pthread_rwlock_trywrlock(&c->rw);
    atomic_store(&c->step, 4);
    wait_step(c, 5);
    CHECK_EQ_ERR(pthread_rwlock_unlock(&c->rw), 0);
    return NULL;
}

static struct timespec abs_after_ms(clockid_t clk, long ms)
{
    struct timespec t;
    clock_gettime(clk, &t);
    t.tv_nsec += (ms % 1000) * MS;
    t.tv_sec += ms / 1000 + t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    return t;
}

static void *p3(void *arg)
{
    sem_ctx *c = arg;
    wait_step(c, 2);
    pause_ms(50); /* P2 is waiting by now */
    c->p3_tryrd = pthread_rwlock_tryrdlock(&c->rw);
    c->p3_trywr = pthread_rwlock_trywrlock(&c->rw);
    if (c->p3_tryrd == 0) CHECK_EQ_ERR(pthread_rwlock_unlock(&c->rw), 0);
    atomic_store(&c->step, 3);
    wait_step(c, 4); /* P2 writes */
    struct timespec soon = abs_after_ms(CLOCK_MONOTONIC, 100);
    c->p3_timed = pthread_rwlock_clockrdlock(&c->rw, CLOCK_MONOTONIC, &soon);
    c->p3_badclock = pthread_rwlock_clockwrlock(&c->rw, CLOCK_PROCESS_CPUTIME_ID, &soon);
    atomic_store(&c->step, 5);
    return NULL;
}

static void *sem_in_coroutines(void *arg)
{
    coroscope_co *a = spawn("p1", p1, arg), *b = spawn("p2", p2, arg), *d = spawn("p3", p3, arg);
    join(a);
    join(b);
    join(d);
    return NULL;
}

static void sem_run(sem_ctx *c, int coroutines)
{
    REQUIRE(pthread_rwlock_init(&c->rw, NULL) == 0);
    if (coroutines) {
        run_in_coroutine(sem_in_coroutines, c);
        return;
    }
    pthread_t t[3];
    void *(*fn[3])(void *) = {p1, p2, p3};
    for (int i = 0; i < 3; i++) REQUIRE(pthread_create(&t[i], NULL, fn[i], c) == 0);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
}

TEST(rwlock_answers_in_coroutines_on_one_worker_are_those_of_threads)
{
    one_worker();
    sem_ctx th = {0}, co = {0};
    sem_run(&th, 0);
    sem_run(&co, 1);
    /* what threads get on this glibc, stated, then the coroutines compared with it */
    CHECK_EQ_ERR(th.p3_tryrd, 0); /* PREFER_READER: a reader gets in while a writer waits */
    CHECK_EQ_ERR(th.p3_trywr, EBUSY);
    CHECK_EQ_ERR(th.p2_lock, 0);
    CHECK_EQ_ERR(th.p2_relock_wr, EDEADLK);
    CHECK_EQ_ERR(th.p2_relock_rd, EDEADLK);
    CHECK_EQ_ERR(th.p2_trywr_own, EBUSY);
    CHECK_EQ_ERR(th.p3_timed, ETIMEDOUT);
    CHECK_EQ_ERR(th.p3_badclock, EINVAL);
    CHECK_EQ_ERR(co.p3_tryrd, th.p3_tryrd);
    CHECK_EQ_ERR(co.p3_trywr, th.p3_trywr);
    CHECK_EQ_ERR(co.p2_lock, th.p2_lock);
    CHECK_EQ_ERR(co.p2_relock_wr, th.p2_relock_wr);
    CHECK_EQ_ERR(co.p2_relock_rd, th.p2_relock_rd);
    CHECK_EQ_ERR(co.p2_trywr_own, th.p2_trywr_own);
    CHECK_EQ_ERR(co.p3_timed, th.p3_timed);
    CHECK_EQ_ERR(co.p3_badclock, th.p3_badclock);
}

/* ---- mutual exclusion under contention ---------------------------------------------------------- */

typedef struct excl_ctx {
    pthread_rwlock_t rw;
    pthread_spinlock_t spin;
    long a, b;       /* written together under the write lock: a == b whenever read */
    long spin_count; /* under the spin lock */
    _Atomic int torn;
} excl_ctx;

#define ROUNDS 2000

static void *excl_body(void *arg)
{
    excl_ctx *c = arg;
    for (int i = 0; i < ROUNDS; i++) {
        if (i % 4 == 0) {
            CHECK_EQ_ERR(pthread_rwlock_wrlock(&c->rw), 0);
            c->a++;
            if (i % 64 == 0) coroscope_yield(); /* a switch inside the write lock (no-op on a thread) */
            c->b++;
            CHECK_EQ_ERR(pthread_rwlock_unlock(&c->rw), 0);
        } else {
            CHECK_EQ_ERR(pthread_rwlock_rdlock(&c->rw), 0);
            long a = c->a;
            if (i % 64 == 1) coroscope_yield();
            if (a != c->b || a != c->a) atomic_store(&c->torn, 1);
            CHECK_EQ_ERR(pthread_rwlock_unlock(&c->rw), 0);
        }
        CHECK_EQ_ERR(pthread_spin_lock(&c->spin), 0);
        long s = c->spin_count;
        if (i % 128 == 2) coroscope_yield();
        c->spin_count = s + 1;
        CHECK_EQ_ERR(pthread_spin_unlock(&c->spin), 0);
    }
    return NULL;
}

static void *excl_scene(void *arg)
{
    coroscope_co *co[6];
    for (int i = 0; i < 6; i++) co[i] = spawn("excl", excl_body, arg);
    for (int i = 0; i < 6; i++) join(co[i]);
    return NULL;
}

TEST(rwlocks_and_spin_locks_exclude_across_coroutines_on_two_workers_and_plain_threads)
{
    configure_workers(2);
    watchdog(60);
    excl_ctx c = {0};
    REQUIRE(pthread_rwlock_init(&c.rw, NULL) == 0);
    REQUIRE(pthread_spin_init(&c.spin, PTHREAD_PROCESS_PRIVATE) == 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) REQUIRE(pthread_create(&th[i], NULL, excl_body, &c) == 0);
    run_in_coroutine(excl_scene, &c);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK(!atomic_load(&c.torn));
    CHECK_EQ_LONG(c.a, 8L * ROUNDS / 4);
    CHECK_EQ_LONG(c.b, c.a);
    CHECK_EQ_LONG(c.spin_count, 8L * ROUNDS);
}
