/*
 * paced_producer.c — the `ui` benchmark's target (bench/ui_rows.mjs): engine
 * events at a chosen rate, for a timeline to show.
 *
 * `coroutines` coroutines (default workers, or COROSCOPE_WORKERS) share a
 * budget of `rate` yields per second for `seconds` seconds: each does bursts
 * of 32 coroscope_yield() calls and, when it is ahead of its share of the
 * schedule, sleeps with usleep() (hooked: the coroutine parks on a timer)
 * until it is due. Under an inspector each yield is about 2 events (CO_YIELD,
 * CO_RUN) and each sleep a few more (the hooked call, the suspension, the
 * wake-up), so `rate` yields/s is a little over 2 x `rate` events/s; the
 * benchmark counts what actually arrived. Without an inspector nothing is
 * emitted.
 *
 * Output (stdout, one line of JSON at the end):
 *   {"yields":N,"sleeps":S,"coroutines":C,"rate":R,"seconds":T,"elapsed_ns":E}
 *
 * usage: paced_producer [coroutines] [yields_per_s] [seconds]
 */
#include <coroscope.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BURST 32

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct {
    uint64_t start;
    uint64_t deadline;
    double ns_per_yield; /* this coroutine's share of the schedule */
    long yields;
    long sleeps;
} job;

static void *pacer(void *arg)
{
    job *j = arg;
    long n = 0;
    long sleeps = 0;
    for (;;) {
        for (int i = 0; i < BURST; i++) coroscope_yield();
        n += BURST;
        uint64_t t = now_ns();
        if (t >= j->deadline) break;
        uint64_t due = j->start + (uint64_t)((double)n * j->ns_per_yield);
        if (due > t) {
            uint64_t us = (due - t) / 1000;
            if (due > j->deadline) us = (j->deadline - t) / 1000;
            if (us > 0) {
                usleep((useconds_t)us);
                sleeps++;
            }
        }
    }
    j->yields = n;
    j->sleeps = sleeps;
    return NULL;
}

int main(int argc, char **argv)
{
    int ncos = argc > 1 ? atoi(argv[1]) : 16;
    double rate = argc > 2 ? atof(argv[2]) : 100000;
    double seconds = argc > 3 ? atof(argv[3]) : 10;
    if (ncos < 1 || ncos > 4096 || !(rate > 0) || !(seconds > 0)) {
        fprintf(stderr, "usage: paced_producer [coroutines 1..4096] [yields_per_s>0] [seconds>0]\n");
        return 2;
    }
    job *jobs = calloc((size_t)ncos, sizeof *jobs);
    coroscope_co **cos = calloc((size_t)ncos, sizeof *cos);
    if (!jobs || !cos) {
        fprintf(stderr, "paced_producer: out of memory\n");
        return 1;
    }
    uint64_t t0 = now_ns();
    for (int i = 0; i < ncos; i++) {
        jobs[i].start = t0;
        jobs[i].deadline = t0 + (uint64_t)(seconds * 1e9);
        jobs[i].ns_per_yield = 1e9 * ncos / rate;
        char name[32];
        snprintf(name, sizeof name, "pacer-%d", i);
        int err = coroscope_spawn(&cos[i], name, pacer, &jobs[i]);
        if (err) {
            fprintf(stderr, "paced_producer: coroscope_spawn: %s\n", strerror(err));
            return 1;
        }
    }
    long total = 0;
    long sleeps = 0;
    for (int i = 0; i < ncos; i++) {
        int err = coroscope_join(cos[i], NULL);
        if (err) {
            fprintf(stderr, "paced_producer: coroscope_join: %d\n", err);
            return 1;
        }
        total += jobs[i].yields;
        sleeps += jobs[i].sleeps;
    }
    printf("{\"yields\":%ld,\"sleeps\":%ld,\"coroutines\":%d,\"rate\":%.0f,\"seconds\":%g,\"elapsed_ns\":%llu}\n",
           total, sleeps, ncos, rate, seconds, (unsigned long long)(now_ns() - t0));
    fflush(stdout);
    free(jobs);
    free(cos);
    return 0;
}
