/* lib_co.h — what the library-in-coroutines test programs share (lib_pg.c,
 * lib_redis.c, lib_curl.c): N coroutines each run one slow operation of the
 * library on one worker, beside a ticker coroutine that sleeps 2 ms at a time
 * and measures how late it wakes. Prints "<what> ok K of N elapsed_ms E" and
 * "ticker worst_late_ms X ticks T"; exits 0 when all N succeeded. */
#ifndef LIB_CO_H
#define LIB_CO_H

#include <coroscope.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static uint64_t lib_co_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static volatile int lib_co_running = 1;
static uint64_t lib_co_worst_late, lib_co_ticks;

static void *lib_co_ticker(void *arg)
{
    (void)arg;
    while (lib_co_running) {
        uint64_t t = lib_co_now_ns();
        usleep(2000);
        uint64_t late = lib_co_now_ns() - t - 2000000;
        if ((int64_t)late > 0 && late > lib_co_worst_late) lib_co_worst_late = late;
        lib_co_ticks++;
    }
    return NULL;
}

static int lib_co_run(const char *what, int n, void *(*op)(void *))
{
    if (n < 1 || n > 1000) return 2;
    coroscope_co *tick, *co[1000];
    if (coroscope_spawn(&tick, "ticker", lib_co_ticker, NULL)) return 2;
    uint64_t t0 = lib_co_now_ns();
    for (int i = 0; i < n; i++)
        if (coroscope_spawn(&co[i], what, op, NULL)) return 2;
    int ok = 0;
    for (int i = 0; i < n; i++) {
        void *r = NULL;
        coroscope_join(co[i], &r);
        ok += r != NULL;
    }
    uint64_t elapsed = lib_co_now_ns() - t0;
    lib_co_running = 0;
    coroscope_join(tick, NULL);
    printf("%s ok %d of %d elapsed_ms %.1f\n", what, ok, n, elapsed / 1e6);
    printf("ticker worst_late_ms %.1f ticks %llu\n", lib_co_worst_late / 1e6, (unsigned long long)lib_co_ticks);
    return ok == n ? 0 : 1;
}

#endif
