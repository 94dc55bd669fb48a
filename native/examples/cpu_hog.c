/*
 * cpu_hog — a coroutine spinning in pure computation next to a ticker.
 *
 * Run on one worker: COROSCOPE_WORKERS=1 ./cpu_hog [seconds]
 *   - With preemption (default) the monitor sends SIGURG to the worker once
 *     the hog has run a whole time slice (10 ms), the hog is switched out at
 *     its current instruction, and the ticker keeps printing `tick N` every
 *     10 ms.
 *   - With COROSCOPE_PREEMPT=0 the hog keeps the only worker: the ticker
 *     stalls until the hog is done.
 * The last line summarises the ticker's lateness (how late each tick woke up
 * compared with its 10 ms rhythm): p50, p99 and max in ms.
 */
#include <coroscope.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS   10000000ull
#define MAX_TICKS 100000

static double hog_seconds = 1.0;
static volatile int hog_done;
static int quiet;
static uint64_t lateness[MAX_TICKS];
static int nticks;
static uint64_t t0;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *hog(void *arg)
{
    (void)arg;
    /* Pure computation, no calls at all inside the loop: only a signal can
     * take the worker away from it. The clock is read every 2^20 rounds. */
    volatile uint64_t x = 88172645463325252ull;
    uint64_t end = now_ns() + (uint64_t)(hog_seconds * 1e9);
    for (;;) {
        for (int i = 0; i < (1 << 20); i++) {
            uint64_t v = x;
            v ^= v << 13;
            v ^= v >> 7;
            v ^= v << 17;
            x = v;
        }
        if (now_ns() >= end) break;
    }
    hog_done = 1;
    return (void *)(uintptr_t)x;
}

static void *ticker(void *arg)
{
    (void)arg;
    uint64_t next = now_ns() + TICK_NS;
    for (int n = 0; !hog_done && n < MAX_TICKS; n++) {
        uint64_t now = now_ns();
        if (next > now) usleep((useconds_t)((next - now) / 1000));
        now = now_ns();
        lateness[nticks++] = now > next ? now - next : 0;
        if (!quiet) printf("tick %d +%.1f ms\n", n, (double)(now - t0) / 1e6);
        next += TICK_NS;
        if (next < now) next = now + TICK_NS; /* after a stall, keep the rhythm from here */
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quiet"))
            quiet = 1;
        else
            hog_seconds = atof(argv[i]);
    }
    if (hog_seconds <= 0) hog_seconds = 1.0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    t0 = now_ns();
    coroscope_co *h, *t;
    if (coroscope_spawn(&h, "hog", hog, NULL) || coroscope_spawn(&t, "ticker", ticker, NULL)) {
        fprintf(stderr, "cpu_hog: cannot spawn\n");
        return 1;
    }
    coroscope_join(h, NULL);
    coroscope_join(t, NULL);
    if (nticks == 0) {
        printf("ticks=0 (the ticker never ran while the hog ran)\n");
        return 0;
    }
    qsort(lateness, (size_t)nticks, sizeof lateness[0], cmp_u64);
    printf("ticks=%d lateness_p50_ms=%.2f lateness_p99_ms=%.2f lateness_max_ms=%.2f\n", nticks,
           lateness[nticks / 2] / 1e6, lateness[(nticks * 99) / 100] / 1e6, lateness[nticks - 1] / 1e6);
    return 0;
}
