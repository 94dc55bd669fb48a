/*
 * test_clock.c — the engine's clock (native/engine/src/clock.h): the
 * time-stamp counter read as CLOCK_MONOTONIC nanoseconds. clock.c is hidden
 * in libcoroscope.so, so it is compiled into this program as is.
 *
 * Each reading is bracketed by two CLOCK_MONOTONIC reads, so a preemption
 * between them widens the bracket instead of failing the test; the
 * tolerance is what calibration may be off by (far below it in practice).
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <pthread.h>

#include "../engine/src/clock.c"

#define TOLERANCE_NS 1000000ull /* 1 ms: the counter's line against CLOCK_MONOTONIC */

/* Read the clock for `ms` of run time; every reading lies within the bracket
 * of CLOCK_MONOTONIC reads around it (± TOLERANCE_NS), and no reading is
 * below the one before. Returns the number of readings outside. */
static long follow_monotonic(uint64_t ms, uint64_t tolerance, long *backwards)
{
    long outside = 0;
    uint64_t prev = 0, end = cs_clock_mono() + ms * 1000000ull;
    *backwards = 0;
    for (;;) {
        uint64_t before = cs_clock_mono();
        uint64_t t = cs_now_ns();
        uint64_t after = cs_clock_mono();
        if (t + tolerance < before || t > after + tolerance) {
            if (outside++ < 3)
                fprintf(stderr, "reading %llu outside [%llu, %llu] by more than %llu ns\n", (unsigned long long)t,
                        (unsigned long long)before, (unsigned long long)after, (unsigned long long)tolerance);
        }
        if (t < prev) ++*backwards;
        prev = t;
        if (after >= end) return outside;
    }
}

TEST(the_counter_clock_stays_with_clock_monotonic_through_calibration_and_re_anchoring_and_never_goes_back)
{
    cs_clock_init(1);
    long backwards;
    /* 300 ms: the first calibration (2 ms), the early re-anchors every ms
     * and a few of the 50 ms ones */
    CHECK_EQ_LONG(follow_monotonic(300, TOLERANCE_NS, &backwards), 0);
    CHECK_EQ_LONG(backwards, 0);
}

TEST(with_the_counter_switched_off_the_clock_is_clock_monotonic_itself)
{
    cs_clock_init(0);
    long backwards;
    CHECK_EQ_LONG(follow_monotonic(50, 0, &backwards), 0);
    CHECK_EQ_LONG(backwards, 0);
    CHECK_EQ_LONG(atomic_load(&cs_clk.seq), 0); /* no line was ever made */
}

/* Replace the line readers use by one whose rate is `num/den` of it, as a
 * calibration error would (the writer's latch step, done by the test). */
static void skew_line(uint64_t num, uint64_t den)
{
    uint32_t s = atomic_load(&cs_clk.seq);
    cs_clock_line *cur = &cs_clk.line[s & 1], *nl = &cs_clk.line[(s + 1) & 1];
    uint64_t t = __rdtsc(),
             now = cs_clock_at(t, atomic_load(&cur->base_tsc), atomic_load(&cur->base_ns), atomic_load(&cur->mult));
    atomic_store(&nl->base_tsc, t);
    atomic_store(&nl->base_ns, now);
    atomic_store(&nl->mult, atomic_load(&cur->mult) * num / den);
    atomic_store(&nl->next_tsc, atomic_load(&cur->next_tsc));
    atomic_store(&cs_clk.seq, s + 1);
}

TEST(a_line_that_runs_fast_or_slow_is_slewed_back_to_clock_monotonic_without_the_clock_going_back)
{
    cs_clock_init(1);
    long backwards;
    CHECK_EQ_LONG(follow_monotonic(20, TOLERANCE_NS, &backwards), 0); /* calibrated */
    if (atomic_load(&cs_clk.seq) == 0) return; /* the kernel's clocksource is not the counter: nothing to slew */
    for (int i = 0; i < 10; i++) {
        /* 0.05 % fast, then slow: 25 us off after a 50 ms period (a stalled
         * reader sees more: 0.05 % of the time nobody read the clock) */
        skew_line(i % 2 ? 10005 : 9995, 10000);
        CHECK_EQ_LONG(follow_monotonic(30, TOLERANCE_NS, &backwards), 0);
        CHECK_EQ_LONG(backwards, 0);
    }
}

static void *reader(void *arg)
{
    long *bad = arg;
    uint64_t prev = 0, end = cs_clock_mono() + 200 * 1000000ull;
    while (cs_clock_mono() < end) {
        uint64_t t = cs_now_ns();
        if (t < prev) ++*bad;
        prev = t;
    }
    return NULL;
}

TEST(threads_reading_while_others_re_anchor_each_see_a_clock_that_never_goes_back)
{
    cs_clock_init(1);
    enum { N = 4 };
    pthread_t th[N];
    long bad[N] = {0};
    for (int i = 0; i < N; i++) REQUIRE(pthread_create(&th[i], NULL, reader, &bad[i]) == 0);
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_LONG(bad[i], 0);
    }
}
