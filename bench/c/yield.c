/*
 * yield.c — row 2: coroscope_yield() through the scheduler.
 *
 * One worker (coroscope_configure workers=1 before the first spawn), two
 * coroutines, each calling coroscope_yield() `n` times. Every yield goes
 * coroutine -> scheduler -> the other coroutine. Reported: ns per yield =
 * (time from the first coroutine starting to the last one finishing) /
 * (2 * n). The clock is read inside the coroutines, so thread start-up,
 * spawn and join are not counted. A warm-up round runs first.
 *
 * Output (stdout, one line of JSON): {"ns_per_yield":[...per round...],"yields_per_round":N}
 *
 * usage: yield [yields_per_coroutine] [rounds]
 */
#include <coroscope.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct {
    long n;
    uint64_t start, end;
} job;

static void *yielder(void *arg)
{
    job *j = arg;
    j->start = now_ns();
    for (long i = 0; i < j->n; i++) coroscope_yield();
    j->end = now_ns();
    return NULL;
}

static double round_once(long n)
{
    job a = {n, 0, 0}, b = {n, 0, 0};
    coroscope_co *ca, *cb;
    int err;
    if ((err = coroscope_spawn(&ca, "yield-a", yielder, &a)) || (err = coroscope_spawn(&cb, "yield-b", yielder, &b))) {
        fprintf(stderr, "yield: coroscope_spawn: %s\n", strerror(err));
        exit(1);
    }
    if ((err = coroscope_join(ca, NULL)) || (err = coroscope_join(cb, NULL))) {
        fprintf(stderr, "yield: coroscope_join: %d\n", err);
        exit(1);
    }
    uint64_t s = a.start < b.start ? a.start : b.start;
    uint64_t e = a.end > b.end ? a.end : b.end;
    return (double)(e - s) / (double)(2 * n);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    if (n < 1 || rounds < 1) {
        fprintf(stderr, "usage: yield [yields_per_coroutine>0] [rounds>0]\n");
        return 2;
    }
    coroscope_config cfg;
    int err = coroscope_config_get(&cfg);
    if (!err) {
        cfg.workers = 1;
        err = coroscope_configure(&cfg);
    }
    if (err) {
        fprintf(stderr, "yield: coroscope_configure(workers=1): %s\n", strerror(err));
        return 1;
    }
    round_once(n / 10 + 1); /* warm-up: starts the worker, maps the stacks */
    printf("{\"yields_per_round\":%ld,\"ns_per_yield\":[", 2 * n);
    for (int r = 0; r < rounds; r++) printf("%s%.4f", r ? "," : "", round_once(n));
    printf("]}\n");
    return 0;
}
