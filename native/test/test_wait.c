/*
 * test_wait — waitpid, wait4, wait, waitid, pthread_join, sem_wait,
 * sem_timedwait and sem_clockwait (hook_wait.c).
 *
 * Each scenario runs on a plain thread (the real call) and in a coroutine on
 * one worker (hooked); results and errno must be the same. The other side
 * (a child process, a thread, the poster of a semaphore) takes its time; in
 * the coroutine runs the semaphore's poster is a sibling coroutine on the
 * same worker, which can only run if the waiter parked. The liveness tests
 * count the ticks of a ticker coroutine on the same single worker while
 * another waits 300 ms: a wait that blocked the worker would leave it none.
 */
#define CS_TEST_MAIN
#include "cs_test.h"
#include "alarm_test.h"

#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "hook_compare.h"

/* A child that sleeps ms then exits with code. */
static pid_t child(long ms, int code)
{
    pid_t p = fork();
    REQUIRE(p >= 0);
    if (p == 0) {
        struct timespec ts = {ms / 1000, (ms % 1000) * MS};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        _exit(code);
    }
    return p;
}

/* Run the scenario on the main thread, then in a coroutine on one worker. */
static void thread_then_coroutine(coroscope_fn scenario, void *on_thread, void *in_co)
{
    configure_workers(1);
    watchdog(20);
    scenario(on_thread);
    run_in_coroutine(scenario, in_co);
}

/* ---- children ---------------------------------------------------------------------------------- */

typedef struct child_ctx {
    outcome waitpid_, wait4_, wait_, waitid_, nohang, none;
    int st_waitpid, st_wait4, st_wait, same_pid[3];
    long ru_seen;
    int cld_code, cld_status, cld_pid_ok;
} child_ctx;

static void *child_scenario(void *arg)
{
    child_ctx *c = arg;
    int st = 0;
    pid_t p = child(80, 7);
    c->nohang = OUTCOME(waitpid(p, &st, WNOHANG)); /* still running: 0 */
    c->waitpid_ = OUTCOME(waitpid(p, &st, 0));
    c->same_pid[0] = c->waitpid_.ret == p;
    c->st_waitpid = st;

    p = child(60, 3);
    struct rusage ru;
    memset(&ru, 0xff, sizeof ru);
    c->wait4_ = OUTCOME(wait4(p, &st, 0, &ru));
    c->same_pid[1] = c->wait4_.ret == p;
    c->st_wait4 = st;
    c->ru_seen = ru.ru_maxrss >= 0 && ru.ru_utime.tv_usec >= 0; /* filled in by the kernel */

    p = child(60, 5);
    c->wait_ = OUTCOME(wait(&st));
    c->same_pid[2] = c->wait_.ret == p;
    c->st_wait = st;

    p = child(60, 9);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    c->waitid_ = OUTCOME(waitid(P_PID, (id_t)p, &si, WEXITED));
    c->cld_code = si.si_code;
    c->cld_status = si.si_status;
    c->cld_pid_ok = si.si_pid == p;

    c->none = OUTCOME(waitpid(-1, &st, 0)); /* no child left: ECHILD */
    return NULL;
}

TEST(waitpid_wait4_wait_and_waitid_reap_a_child_that_exits_later_with_its_status_as_on_a_thread)
{
    child_ctx t = {0}, c = {0};
    thread_then_coroutine(child_scenario, &t, &c);
    for (child_ctx *x = &t; x; x = x == &t ? &c : NULL) {
        CHECK_OUTCOME(x->nohang, 0, 0);
        CHECK(x->same_pid[0] && x->same_pid[1] && x->same_pid[2]);
        CHECK(WIFEXITED(x->st_waitpid) && WEXITSTATUS(x->st_waitpid) == 7);
        CHECK(WIFEXITED(x->st_wait4) && WEXITSTATUS(x->st_wait4) == 3);
        CHECK(WIFEXITED(x->st_wait) && WEXITSTATUS(x->st_wait) == 5);
        CHECK(x->ru_seen);
        CHECK_OUTCOME(x->waitid_, 0, 0);
        CHECK_EQ_LONG(x->cld_code, CLD_EXITED);
        CHECK_EQ_LONG(x->cld_status, 9);
        CHECK(x->cld_pid_ok);
        CHECK_OUTCOME(x->none, -1, ECHILD);
    }
}

/* ---- EINTR ------------------------------------------------------------------------------------- */


static void *post_after_ms(void *arg)
{
    pause_ms(250);
    CHECK_EQ_LONG(sem_post(arg), 0);
    return NULL;
}

typedef struct intr_ctx {
    outcome waitpid_norestart, waitpid_restart, sem_norestart, sem_restart, timed_restart, reaped_after;
    int status, sem_value_after;
    long restart_ns;
} intr_ctx;

static void *intr_scenario(void *arg)
{
    intr_ctx *c = arg;
    int st = 0;
    /* Without SA_RESTART a handler ends waitpid with EINTR; the child is still there. */
    install(0);
    pid_t p = child(400, 4);
    arm_ms(80);
    c->waitpid_norestart = OUTCOME(waitpid(p, &st, 0));
    c->reaped_after = OUTCOME(waitpid(p, &st, 0));
    /* With SA_RESTART it goes on waiting and reaps the child. */
    install(SA_RESTART);
    p = child(300, 6);
    arm_ms(60);
    int64_t t0 = now_ns();
    c->waitpid_restart = OUTCOME(waitpid(p, &st, 0));
    c->restart_ns = (long)(now_ns() - t0);
    c->status = st;
    c->waitpid_restart.ret = c->waitpid_restart.ret == p; /* comparable across runs */
    c->reaped_after.ret = c->reaped_after.ret > 0;
    /* Semaphores, as Linux does it: sem_wait (no deadline) ends with EINTR
     * without SA_RESTART and goes on with it; a wait with a deadline always
     * ends with EINTR. No unit is lost or made by an interrupted wait. */
    sem_t s;
    REQUIRE(sem_init(&s, 0, 0) == 0);
    install(0);
    arm_ms(60);
    c->sem_norestart = OUTCOME(sem_wait(&s));
    install(SA_RESTART);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    arm_ms(60);
    c->timed_restart = OUTCOME(sem_timedwait(&s, &dl));
    pause_ms(150); /* longer than the pool's slice: the abandoned waits have given up */
    REQUIRE(sem_post(&s) == 0);
    pause_ms(20);
    int v0 = -1;
    REQUIRE(sem_getvalue(&s, &v0) == 0);
    REQUIRE(sem_wait(&s) == 0);
    peer p2;
    peer_start(&p2, post_after_ms, &s); /* posts at 250 ms, after the signal at 60 ms */
    arm_ms(60);
    c->sem_restart = OUTCOME(sem_wait(&s));
    peer_join(&p2);
    c->sem_value_after = v0;
    sem_destroy(&s);
    return NULL;
}

TEST(
    a_signal_handler_ends_waitpid_and_sem_wait_with_eintr_without_sa_restart_they_go_on_with_it_and_timed_waits_always_end)
{
    intr_ctx t = {0}, c = {0};
    thread_then_coroutine(intr_scenario, &t, &c);
    CHECK_OUTCOME(c.waitpid_norestart, -1, EINTR);
    CHECK_SAME_OUTCOME(t.waitpid_norestart, c.waitpid_norestart);
    CHECK_OUTCOME(c.reaped_after, 1, 0);
    CHECK_SAME_OUTCOME(t.reaped_after, c.reaped_after);
    CHECK_OUTCOME(c.waitpid_restart, 1, 0);
    CHECK_SAME_OUTCOME(t.waitpid_restart, c.waitpid_restart);
    CHECK(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 6);
    CHECK(c.restart_ns >= 250 * MS); /* it waited for the child, not just the signal */
    CHECK_OUTCOME(c.sem_norestart, -1, EINTR);
    CHECK_SAME_OUTCOME(t.sem_norestart, c.sem_norestart);
    CHECK_OUTCOME(c.timed_restart, -1, EINTR);
    CHECK_SAME_OUTCOME(t.timed_restart, c.timed_restart);
    CHECK_OUTCOME(c.sem_restart, 0, 0);
    CHECK_SAME_OUTCOME(t.sem_restart, c.sem_restart);
    CHECK_EQ_LONG(c.sem_value_after, 1);
    CHECK_EQ_LONG(t.sem_value_after, 1);
}

/* ---- pthread_join ------------------------------------------------------------------------------ */

static void *slow_thread(void *arg)
{
    pause_ms(80);
    return arg;
}

typedef struct join_ctx {
    outcome join, self, again;
    void *result;
} join_ctx;

static void *join_scenario(void *arg)
{
    join_ctx *c = arg;
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, slow_thread, (void *)(intptr_t)42) == 0);
    errno = 0;
    int r = pthread_join(th, &c->result);
    c->join = (outcome){r, errno};
    errno = 0;
    r = pthread_join(pthread_self(), NULL);
    c->self = (outcome){r, errno};
    REQUIRE(pthread_create(&th, NULL, slow_thread, NULL) == 0);
    errno = 0;
    r = pthread_join(th, NULL); /* result not wanted */
    c->again = (outcome){r, errno};
    return NULL;
}

TEST(pthread_join_waits_for_a_thread_and_returns_its_result_or_edeadlk_for_itself_as_on_a_thread)
{
    join_ctx t = {0}, c = {0};
    thread_then_coroutine(join_scenario, &t, &c);
    CHECK_OUTCOME(c.join, 0, 0);
    CHECK_EQ_LONG((intptr_t)c.result, 42);
    CHECK_EQ_LONG((intptr_t)t.result, 42);
    CHECK_OUTCOME(c.self, EDEADLK, 0); /* the error is the return value; errno untouched */
    CHECK_SAME_OUTCOME(t.self, c.self);
    CHECK_OUTCOME(c.again, 0, 0);
}

/* ---- semaphores -------------------------------------------------------------------------------- */

static void *post_after_80ms(void *arg)
{
    pause_ms(80);
    CHECK_EQ_LONG(sem_post(arg), 0);
    return NULL;
}

static struct timespec after_ms(clockid_t clk, long ms)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    ts.tv_nsec += (ms % 1000) * MS;
    ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

typedef struct sem_ctx {
    outcome posted, ready, timed_posted, timeout, clock_posted, clock_timeout, bad_ns, bad_clock, past;
    long timeout_ns;
    int value_after;
} sem_ctx;

static void *sem_scenario(void *arg)
{
    sem_ctx *c = arg;
    sem_t s;
    REQUIRE(sem_init(&s, 0, 0) == 0);
    peer p;
    peer_start(&p, post_after_80ms, &s);
    c->posted = OUTCOME(sem_wait(&s)); /* the peer posts after 80 ms */
    peer_join(&p);

    REQUIRE(sem_post(&s) == 0);
    c->ready = OUTCOME(sem_wait(&s)); /* a unit is there: no wait */

    struct timespec dl = after_ms(CLOCK_REALTIME, 2000);
    peer_start(&p, post_after_80ms, &s);
    c->timed_posted = OUTCOME(sem_timedwait(&s, &dl));
    peer_join(&p);

    dl = after_ms(CLOCK_REALTIME, 120);
    int64_t t0 = now_ns();
    c->timeout = OUTCOME(sem_timedwait(&s, &dl));
    c->timeout_ns = (long)(now_ns() - t0);

    dl = after_ms(CLOCK_MONOTONIC, 2000);
    peer_start(&p, post_after_80ms, &s);
    c->clock_posted = OUTCOME(sem_clockwait(&s, CLOCK_MONOTONIC, &dl));
    peer_join(&p);

    dl = after_ms(CLOCK_MONOTONIC, 60);
    c->clock_timeout = OUTCOME(sem_clockwait(&s, CLOCK_MONOTONIC, &dl));

    REQUIRE(sem_post(&s) == 0); /* even with a unit there, a bad timespec or clock is EINVAL */
    struct timespec bad = {0, 1000000000L};
    c->bad_ns = OUTCOME(sem_timedwait(&s, &bad));
    dl = after_ms(CLOCK_MONOTONIC, 60);
    c->bad_clock = OUTCOME(sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID, &dl));
    c->past = OUTCOME(sem_wait(&s)); /* the unit is still there */
    struct timespec past = {1, 0};
    c->past = OUTCOME(sem_timedwait(&s, &past)); /* deadline long gone, nothing there */
    REQUIRE(sem_getvalue(&s, &c->value_after) == 0);
    sem_destroy(&s);
    return NULL;
}

TEST(sem_wait_sem_timedwait_and_sem_clockwait_get_a_unit_posted_later_time_out_and_reject_bad_arguments_as_on_a_thread)
{
    sem_ctx t = {0}, c = {0};
    thread_then_coroutine(sem_scenario, &t, &c);
    CHECK_OUTCOME(c.posted, 0, 0);
    CHECK_OUTCOME(c.ready, 0, 0);
    CHECK_OUTCOME(c.timed_posted, 0, 0);
    CHECK_OUTCOME(c.timeout, -1, ETIMEDOUT);
    CHECK(c.timeout_ns >= 100 * MS);
    CHECK_OUTCOME(c.clock_posted, 0, 0);
    CHECK_OUTCOME(c.clock_timeout, -1, ETIMEDOUT);
    CHECK_OUTCOME(c.bad_ns, -1, EINVAL);
    CHECK_OUTCOME(c.bad_clock, -1, EINVAL);
    CHECK_OUTCOME(c.past, -1, ETIMEDOUT);
    CHECK_EQ_LONG(c.value_after, 0);
    CHECK_SAME_OUTCOME(t.posted, c.posted);
    CHECK_SAME_OUTCOME(t.ready, c.ready);
    CHECK_SAME_OUTCOME(t.timed_posted, c.timed_posted);
    CHECK_SAME_OUTCOME(t.timeout, c.timeout);
    CHECK_SAME_OUTCOME(t.clock_posted, c.clock_posted);
    CHECK_SAME_OUTCOME(t.clock_timeout, c.clock_timeout);
    CHECK_SAME_OUTCOME(t.bad_ns, c.bad_ns);
    CHECK_SAME_OUTCOME(t.bad_clock, c.bad_clock);
    CHECK_SAME_OUTCOME(t.past, c.past);
    CHECK_EQ_LONG(t.value_after, c.value_after);
}

/* ---- the worker keeps running ------------------------------------------------------------------ */

typedef struct tick_ctx {
    _Atomic int done;
    _Atomic int ticks;
    int what; /* 0 child, 1 thread, 2 semaphore */
    outcome waited;
    sem_t sem;
} tick_ctx;

static void *ticker(void *arg)
{
    tick_ctx *c = arg;
    while (!atomic_load(&c->done)) {
        pause_ms(10);
        atomic_fetch_add(&c->ticks, 1);
    }
    return NULL;
}

static void *post_after_300ms(void *arg)
{
    pause_ms(300);
    CHECK_EQ_LONG(sem_post(arg), 0);
    return NULL;
}

static void *waiter(void *arg)
{
    tick_ctx *c = arg;
    pause_ms(20); /* the ticker runs first */
    int t0 = atomic_load(&c->ticks);
    if (c->what == 0) {
        int st;
        pid_t p = child(300, 0);
        c->waited = OUTCOME(waitpid(p, &st, 0) == p ? 0 : -1);
    } else if (c->what == 1) {
        pthread_t th;
        REQUIRE(pthread_create(&th, NULL, slow_thread, NULL) == 0); /* 80 ms */
        pthread_t th2;
        REQUIRE(pthread_create(&th2, NULL, post_after_300ms, &c->sem) == 0); /* the 300 ms thread */
        errno = 0;
        c->waited = (outcome){pthread_join(th2, NULL), 0};
        pthread_join(th, NULL);
        int v = -1;
        sem_getvalue(&c->sem, &v);
        CHECK_EQ_LONG(v, 1);
    } else {
        pthread_t th;
        REQUIRE(pthread_create(&th, NULL, post_after_300ms, &c->sem) == 0);
        c->waited = OUTCOME(sem_wait(&c->sem));
        pthread_join(th, NULL);
    }
    int during = atomic_load(&c->ticks) - t0;
    atomic_store(&c->done, 1);
    return (void *)(intptr_t)during;
}

static void *ticker_and_waiter(void *arg)
{
    coroscope_co *tk, *wt;
    REQUIRE(coroscope_spawn(&tk, "ticker", ticker, arg) == 0);
    REQUIRE(coroscope_spawn(&wt, "waiter", waiter, arg) == 0);
    void *during = NULL;
    CHECK_EQ_ERR(coroscope_join(wt, &during), 0);
    CHECK_EQ_ERR(coroscope_join(tk, NULL), 0);
    return during;
}

static void check_ticker_runs(int what)
{
    configure_workers(1);
    watchdog(20);
    tick_ctx c = {.what = what};
    REQUIRE(sem_init(&c.sem, 0, 0) == 0);
    int during = (int)(intptr_t)run_in_coroutine(ticker_and_waiter, &c);
    CHECK_OUTCOME(c.waited, 0, 0);
    /* 10 ms ticks over a 300 ms wait: about 30; a blocked worker gives 0 or 1. */
    if (during < 5) cs_test_fail(__FILE__, __LINE__, "the ticker ticked %d times during the 300 ms wait", during);
}

TEST(a_ticker_coroutine_keeps_running_on_the_single_worker_while_another_waits_for_a_child_for_300_ms)
{
    check_ticker_runs(0);
}

TEST(a_ticker_coroutine_keeps_running_on_the_single_worker_while_another_joins_a_thread_that_runs_300_ms)
{
    check_ticker_runs(1);
}

TEST(a_ticker_coroutine_keeps_running_on_the_single_worker_while_another_waits_300_ms_for_a_semaphore)
{
    check_ticker_runs(2);
}
