/*
 * sleep100k.c — row 4: many sleeping coroutines.
 *
 * main spawns `n` coroutines (default 100,000), each calling usleep(100000)
 * (the hooked libc call: the coroutine parks on a timer, the worker runs the
 * others), then joins them all. Default workers.
 *
 *   wall_s       time from the first spawn to the last join returning
 *   spawn_s      of which spent in the spawn loop (diagnostic)
 *   max_live     most coroutines inside usleep at once (diagnostic: n when
 *                they all overlapped)
 *   rss_per_co   (peak RSS during the run - RSS before the first spawn) / n,
 *                from VmHWM / VmRSS in /proc/self/status. The runtime is
 *                started by a throw-away coroutine before the baseline, so the
 *                per-coroutine figure does not include worker threads.
 *
 * Output (stdout, one line of JSON):
 *   {"n":N,"wall_s":x,"rss_before_kib":a,"hwm_kib":b,"rss_per_co_bytes":y}
 *
 * usage: sleep100k [coroutines] [sleep_us]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <coroscope.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A field of /proc/self/status in KiB, or -1. */
static long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t len = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, len) && line[len] == ':') {
            v = strtol(line + len + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static unsigned sleep_us = 100000;

/* Coroutines inside usleep right now, and the most there ever were: tells
 * whether all n really slept at the same time (they do not if spawning n
 * takes longer than the sleep). */
static _Atomic long live, live_max;

static void *sleeper(void *arg)
{
    (void)arg;
    long l = atomic_fetch_add_explicit(&live, 1, memory_order_relaxed) + 1;
    long m = atomic_load_explicit(&live_max, memory_order_relaxed);
    while (l > m &&
           !atomic_compare_exchange_weak_explicit(&live_max, &m, l, memory_order_relaxed, memory_order_relaxed))
        ;
    usleep(sleep_us);
    atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
    return NULL;
}

static void *noop(void *arg)
{
    return arg;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    if (argc > 2) sleep_us = (unsigned)atol(argv[2]);
    if (n < 1) {
        fprintf(stderr, "usage: sleep100k [coroutines>0] [sleep_us]\n");
        return 2;
    }
    coroscope_co **h = calloc((size_t)n, sizeof *h);
    if (!h) {
        perror("calloc");
        return 1;
    }
    /* Start the runtime (workers, netpoller) outside the measurement. */
    coroscope_co *w;
    int err = coroscope_spawn(&w, "warm-up", noop, NULL);
    if (!err) err = coroscope_join(w, NULL);
    if (err) {
        fprintf(stderr, "sleep100k: warm-up coroutine: %d\n", err);
        return 1;
    }
    long rss0 = status_kib("VmRSS");

    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        err = coroscope_spawn(&h[i], NULL, sleeper, NULL);
        if (err) {
            fprintf(stderr, "sleep100k: coroscope_spawn #%ld: %s\n", i, strerror(err));
            return 1;
        }
    }
    uint64_t t_spawned = now_ns();
    for (long i = 0; i < n; i++) {
        err = coroscope_join(h[i], NULL);
        if (err) {
            fprintf(stderr, "sleep100k: coroscope_join #%ld: %d\n", i, err);
            return 1;
        }
    }
    uint64_t t1 = now_ns();
    long hwm = status_kib("VmHWM");
    printf("{\"n\":%ld,\"spawn_s\":%.6f,\"wall_s\":%.6f,\"rss_before_kib\":%ld,\"hwm_kib\":%ld,\"rss_per_co_bytes\":%."
           "1f,\"max_live\":%ld}\n",
           n, (double)(t_spawned - t0) / 1e9, (double)(t1 - t0) / 1e9, rss0, hwm,
           (double)(hwm - rss0) * 1024.0 / (double)n, atomic_load(&live_max));
    return 0;
}
