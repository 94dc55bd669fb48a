/*
 * test_sleep — the sleep hooks: nanosleep, usleep, sleep, clock_nanosleep.
 *
 * Inside a coroutine a sleep must last at least as long as asked (and not
 * much longer), park the coroutine so the other coroutines of its worker run
 * meanwhile, and fail exactly like the real call on bad arguments.
 *
 * "Parks" is proved without timing: the sleeping coroutine spawns a witness
 * on the same (only) worker just before it sleeps; the witness can only run
 * while the sleeper is inside the sleep if the sleep parked. If the sleep
 * blocked the worker, the witness would run after it, at the join.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <stdbool.h>

/* Upper bound on how late a sleep may end: generous, CI machines are noisy. */
#define LATE_NS (500 * MS)

/* ---- the probe ------------------------------------------------------------ */

typedef struct probe {
    int (*sleep)(struct probe *); /* performs the sleep, returns its result */
    long ms;                      /* how long to sleep */
    clockid_t clk;                /* for the clock_nanosleep variants */
    struct timespec abs_target;   /* TIMER_ABSTIME target, filled by the sleep */
    /* results */
    int ret;
    uint64_t elapsed;
    _Atomic int in_sleep;
    _Atomic int witness_saw_sleep;
    _Atomic int witness_ran;
} probe;

static void *witness(void *arg)
{
    probe *p = arg;
    atomic_store(&p->witness_saw_sleep, atomic_load(&p->in_sleep));
    atomic_store(&p->witness_ran, 1);
    return NULL;
}

static void *sleeper(void *arg)
{
    probe *p = arg;
    coroscope_co *w;
    REQUIRE(coroscope_spawn(&w, "witness", witness, p) == 0);
    atomic_store(&p->in_sleep, 1);
    uint64_t t0 = now_ns();
    p->ret = p->sleep(p);
    p->elapsed = now_ns() - t0;
    atomic_store(&p->in_sleep, 0);
    CHECK_EQ_ERR(coroscope_join(w, NULL), 0);
    return NULL;
}

/* Run p->sleep in a coroutine on the only worker, with a witness. */
static void run_probe(probe *p)
{
    configure_workers(1);
    run_in_coroutine(sleeper, p);
    CHECK(atomic_load(&p->witness_ran));
}

/* The common verdict: returned 0, lasted [ms, ms + LATE_NS), parked. */
static void check_parked_sleep(probe *p, long expected_ret)
{
    CHECK_EQ_LONG(p->ret, expected_ret);
    CHECK_GE_LONG(p->elapsed, p->ms * MS);
    CHECK_LT_LONG(p->elapsed, p->ms * MS + LATE_NS);
    CHECK(atomic_load(&p->witness_saw_sleep)); /* the worker ran the witness during the sleep */
}

static int do_nanosleep(probe *p)
{
    struct timespec ts = {p->ms / 1000, (p->ms % 1000) * MS};
    return nanosleep(&ts, NULL);
}

static int do_usleep(probe *p)
{
    return usleep((useconds_t)(p->ms * 1000));
}

static int do_sleep(probe *p)
{
    return (int)sleep((unsigned)(p->ms / 1000));
}

static int do_clock_nanosleep_rel(probe *p)
{
    struct timespec ts = {p->ms / 1000, (p->ms % 1000) * MS};
    return clock_nanosleep(p->clk, 0, &ts, NULL);
}

static int do_clock_nanosleep_abs(probe *p)
{
    struct timespec now;
    clock_gettime(p->clk, &now);
    long long ns = (long long)now.tv_nsec + p->ms * MS;
    p->abs_target.tv_sec = now.tv_sec + (time_t)(ns / 1000000000ll);
    p->abs_target.tv_nsec = (long)(ns % 1000000000ll);
    int r = clock_nanosleep(p->clk, TIMER_ABSTIME, &p->abs_target, NULL);
    /* The deadline is on p->clk: it must have passed on that clock. */
    clock_gettime(p->clk, &now);
    CHECK(now.tv_sec > p->abs_target.tv_sec ||
          (now.tv_sec == p->abs_target.tv_sec && now.tv_nsec >= p->abs_target.tv_nsec));
    return r;
}

/* ---- duration and parking ------------------------------------------------ */

TEST(nanosleep_in_a_coroutine_parks_instead_of_blocking_the_worker)
{
    probe p = {.sleep = do_nanosleep, .ms = 150};
    run_probe(&p);
    check_parked_sleep(&p, 0);
}

TEST(usleep_in_a_coroutine_parks_and_lasts_as_long_as_asked)
{
    probe p = {.sleep = do_usleep, .ms = 150};
    run_probe(&p);
    check_parked_sleep(&p, 0);
}

TEST(sleep_in_a_coroutine_parks_and_lasts_whole_seconds)
{
    probe p = {.sleep = do_sleep, .ms = 1000};
    run_probe(&p);
    check_parked_sleep(&p, 0); /* sleep returns the seconds left: 0 */
}

TEST(clock_nanosleep_relative_on_clock_monotonic_parks_and_lasts_as_long_as_asked)
{
    probe p = {.sleep = do_clock_nanosleep_rel, .ms = 150, .clk = CLOCK_MONOTONIC};
    run_probe(&p);
    check_parked_sleep(&p, 0);
}

TEST(clock_nanosleep_relative_on_clock_realtime_parks_and_lasts_as_long_as_asked)
{
    probe p = {.sleep = do_clock_nanosleep_rel, .ms = 150, .clk = CLOCK_REALTIME};
    run_probe(&p);
    check_parked_sleep(&p, 0);
}

TEST(clock_nanosleep_abstime_on_clock_monotonic_parks_until_the_deadline)
{
    probe p = {.sleep = do_clock_nanosleep_abs, .ms = 150, .clk = CLOCK_MONOTONIC};
    run_probe(&p);
    /* elapsed is measured from just before the target was computed */
    CHECK_EQ_LONG(p.ret, 0);
    CHECK_GE_LONG(p.elapsed, 149 * MS);
    CHECK_LT_LONG(p.elapsed, 150 * MS + LATE_NS);
    CHECK(atomic_load(&p.witness_saw_sleep));
}

TEST(clock_nanosleep_abstime_on_clock_realtime_parks_until_the_deadline)
{
    probe p = {.sleep = do_clock_nanosleep_abs, .ms = 150, .clk = CLOCK_REALTIME};
    run_probe(&p);
    CHECK_EQ_LONG(p.ret, 0);
    CHECK_GE_LONG(p.elapsed, 149 * MS);
    CHECK_LT_LONG(p.elapsed, 150 * MS + LATE_NS);
    CHECK(atomic_load(&p.witness_saw_sleep));
}

static void *past_deadlines(void *arg)
{
    (void)arg;
    clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME};
    for (int i = 0; i < 2; i++) {
        struct timespec now;
        clock_gettime(clocks[i], &now);
        struct timespec past = {now.tv_sec > 5 ? now.tv_sec - 5 : 0, now.tv_nsec};
        uint64_t t0 = now_ns();
        CHECK_EQ_ERR(clock_nanosleep(clocks[i], TIMER_ABSTIME, &past, NULL), 0);
        struct timespec zero = {0, 0};
        CHECK_EQ_ERR(clock_nanosleep(clocks[i], TIMER_ABSTIME, &zero, NULL), 0);
        CHECK_EQ_ERR(clock_nanosleep(clocks[i], 0, &zero, NULL), 0);
        CHECK_LT_LONG(now_ns() - t0, 100 * MS);
    }
    struct timespec zero = {0, 0};
    uint64_t t0 = now_ns();
    CHECK_EQ_LONG(nanosleep(&zero, NULL), 0);
    CHECK_EQ_LONG(usleep(0), 0);
    CHECK_EQ_LONG(sleep(0), 0);
    CHECK_LT_LONG(now_ns() - t0, 100 * MS);
    return NULL;
}

TEST(zero_sleeps_and_deadlines_in_the_past_return_at_once)
{
    run_in_coroutine(past_deadlines, NULL);
}

static void *errno_after_sleeps(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 20 * MS};
    errno = 1234;
    CHECK_EQ_LONG(nanosleep(&ts, NULL), 0);
    CHECK_EQ_LONG(errno, 1234);
    CHECK_EQ_LONG(usleep(20000), 0);
    CHECK_EQ_LONG(errno, 1234);
    CHECK_EQ_ERR(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL), 0);
    CHECK_EQ_LONG(errno, 1234);
    CHECK_EQ_LONG(sleep(0), 0);
    CHECK_EQ_LONG(errno, 1234);
    return NULL;
}

TEST(a_successful_sleep_in_a_coroutine_leaves_errno_untouched)
{
    run_in_coroutine(errno_after_sleeps, NULL);
}

/* ---- bad arguments, compared with the real call on a plain thread ------- */

static const struct timespec bad_timespecs[] = {
    {0, -1}, {0, 1000000000}, {1, 1000000000}, {-1, 0}, {-1, 500000000},
};
#define NBAD (int)(sizeof bad_timespecs / sizeof bad_timespecs[0])

typedef struct outcome {
    long ret;
    int err;
} outcome;

/* [i][0..NBAD) for nanosleep, then clock_nanosleep: 2 clocks x 2 flags */
typedef struct bad_results {
    outcome nano[NBAD];
    outcome clk[NBAD][4];
    uint64_t elapsed;
} bad_results;

static void *try_bad_timespecs(void *arg)
{
    bad_results *r = arg;
    static const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME};
    uint64_t t0 = now_ns();
    for (int i = 0; i < NBAD; i++) {
        struct timespec rem = {77, 77};
        errno = 0;
        r->nano[i].ret = nanosleep(&bad_timespecs[i], &rem);
        r->nano[i].err = errno;
        for (int c = 0; c < 4; c++) {
            errno = 0;
            /* clock_nanosleep returns the error and leaves errno alone */
            r->clk[i][c].ret = clock_nanosleep(clocks[c / 2], (c & 1) ? TIMER_ABSTIME : 0, &bad_timespecs[i], &rem);
            r->clk[i][c].err = errno;
        }
    }
    r->elapsed = now_ns() - t0;
    return NULL;
}

TEST(sleeps_with_an_invalid_timespec_fail_with_einval_exactly_like_the_real_calls)
{
    bad_results real, hooked;
    memset(&real, 0, sizeof real);
    memset(&hooked, 0, sizeof hooked);
    try_bad_timespecs(&real); /* plain thread: the real calls */
    run_in_coroutine(try_bad_timespecs, &hooked);
    for (int i = 0; i < NBAD; i++) {
        const struct timespec *ts = &bad_timespecs[i];
        /* the real kernel behaviour, as documented */
        CHECK_EQ_LONG(real.nano[i].ret, -1);
        CHECK_EQ_ERR(real.nano[i].err, EINVAL);
        if (hooked.nano[i].ret != real.nano[i].ret || hooked.nano[i].err != real.nano[i].err)
            cs_test_fail(__FILE__, __LINE__,
                         "nanosleep({%ld, %ld}) in a coroutine returned %ld errno %s; the real call %ld errno %s",
                         (long)ts->tv_sec, ts->tv_nsec, hooked.nano[i].ret, cs_errname(hooked.nano[i].err),
                         real.nano[i].ret, cs_errname(real.nano[i].err));
        for (int c = 0; c < 4; c++) {
            CHECK_EQ_ERR(real.clk[i][c].ret, EINVAL);
            if (hooked.clk[i][c].ret != real.clk[i][c].ret || hooked.clk[i][c].err != real.clk[i][c].err)
                cs_test_fail(__FILE__, __LINE__,
                             "clock_nanosleep(%s, %s, {%ld, %ld}) in a coroutine returned %s errno %s; the real "
                             "call %s errno %s",
                             c / 2 ? "CLOCK_REALTIME" : "CLOCK_MONOTONIC", (c & 1) ? "TIMER_ABSTIME" : "0",
                             (long)ts->tv_sec, ts->tv_nsec, cs_errname(hooked.clk[i][c].ret),
                             cs_errname(hooked.clk[i][c].err), cs_errname(real.clk[i][c].ret),
                             cs_errname(real.clk[i][c].err));
        }
    }
    CHECK_LT_LONG(hooked.elapsed, 100 * MS); /* rejected at once, no sleeping */
}

static void *null_requests(void *arg)
{
    outcome *o = arg;                         /* [0] nanosleep, [1] clock_nanosleep */
    struct timespec *volatile null_ts = NULL; /* hide the NULL from the compiler */
    errno = 0;
    o[0].ret = nanosleep(null_ts, NULL);
    o[0].err = errno;
    errno = 0;
    o[1].ret = clock_nanosleep(CLOCK_MONOTONIC, 0, null_ts, NULL);
    o[1].err = errno;
    return NULL;
}

TEST(sleeps_with_a_null_request_fail_with_efault_exactly_like_the_real_calls)
{
    outcome real[2], hooked[2];
    memset(hooked, 0, sizeof hooked);
    null_requests(real);
    CHECK_EQ_LONG(real[0].ret, -1);
    CHECK_EQ_ERR(real[0].err, EFAULT);
    CHECK_EQ_ERR(real[1].ret, EFAULT);
    run_in_coroutine(null_requests, hooked);
    CHECK_EQ_LONG(hooked[0].ret, real[0].ret);
    CHECK_EQ_ERR(hooked[0].err, real[0].err);
    CHECK_EQ_ERR(hooked[1].ret, real[1].ret);
    CHECK_EQ_ERR(hooked[1].err, real[1].err);
}

/* ---- many sleepers on one worker ----------------------------------------- */

typedef struct span {
    uint64_t start, end;
} span;

static void *sleep_200ms(void *arg)
{
    span *s = arg;
    s->start = now_ns();
    struct timespec ts = {0, 200 * MS};
    CHECK_EQ_LONG(nanosleep(&ts, NULL), 0);
    s->end = now_ns();
    return NULL;
}

TEST(two_coroutines_sleeping_200_ms_on_one_worker_finish_in_200_ms_not_400)
{
    configure_workers(1);
    span s[2] = {{0, 0}, {0, 0}};
    coroscope_co *co[2];
    uint64_t t0 = now_ns();
    for (int i = 0; i < 2; i++) REQUIRE(coroscope_spawn(&co[i], "sleep_200ms", sleep_200ms, &s[i]) == 0);
    for (int i = 0; i < 2; i++) CHECK_EQ_ERR(coroscope_join(co[i], NULL), 0);
    uint64_t total = now_ns() - t0;
    /* The two sleeps overlapped in time on the single worker... */
    uint64_t last_start = s[0].start > s[1].start ? s[0].start : s[1].start;
    uint64_t first_end = s[0].end < s[1].end ? s[0].end : s[1].end;
    CHECK_LT_LONG(last_start, first_end);
    /* ...so together they took about 200 ms; one after the other is >= 400. */
    CHECK_GE_LONG(total, 200 * MS);
    CHECK_LT_LONG(total, 390 * MS);
}

#define MANY 10000
static _Atomic int many_sleeping, many_peak, many_done;

static void *sleep_one_second(void *arg)
{
    (void)arg;
    int now = atomic_fetch_add(&many_sleeping, 1) + 1;
    int peak = atomic_load(&many_peak);
    while (now > peak && !atomic_compare_exchange_weak(&many_peak, &peak, now))
        ;
    struct timespec ts = {1, 0};
    int r = nanosleep(&ts, NULL);
    atomic_fetch_sub(&many_sleeping, 1);
    if (r == 0) atomic_fetch_add(&many_done, 1);
    return NULL;
}

TEST(ten_thousand_coroutines_sleeping_at_once_on_one_worker_all_finish_in_well_under_10_s)
{
    configure_workers(1);
    static coroscope_co *co[MANY];
    uint64_t t0 = now_ns();
    for (int i = 0; i < MANY; i++) REQUIRE(coroscope_spawn(&co[i], "sleeper", sleep_one_second, NULL) == 0);
    int bad_joins = 0;
    for (int i = 0; i < MANY; i++) bad_joins += coroscope_join(co[i], NULL) != 0;
    uint64_t total = now_ns() - t0;
    CHECK_EQ_LONG(bad_joins, 0);
    CHECK_EQ_LONG(atomic_load(&many_done), MANY);
    CHECK_EQ_LONG(atomic_load(&many_peak), MANY); /* all of them were asleep at the same time */
    CHECK_GE_LONG(total, 1000 * MS);
    CHECK_LT_LONG(total, 5000 * MS);
}
