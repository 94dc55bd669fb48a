/*
 * event_producer.c — row 9 (core_ingest): a target that generates engine
 * events as fast as it can, for an inspector to take in.
 *
 * `coroutines` coroutines (default workers, or COROSCOPE_WORKERS) each call
 * coroscope_yield() in a tight loop until `ms` milliseconds have passed
 * (the clock is read every 256 yields). Under an inspector every yield is
 * a switch: CO_YIELD when the coroutine leaves, CO_RUN when the next one is
 * switched in (the yielded one goes back to the run queue without a
 * CO_READY), so about 2 events per yield, plus the create/ready/finish of
 * each coroutine. Without an inspector nothing is emitted.
 *
 * Output (stdout, one line of JSON at the end):
 *   {"yields":N,"coroutines":C,"ms":M,"elapsed_ns":E}
 *
 * usage: event_producer [coroutines] [ms]
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
    uint64_t deadline;
    long yields;
} job;

static void *yielder(void *arg)
{
    job *j = arg;
    long n = 0;
    for (;;) {
        for (int i = 0; i < 256; i++) coroscope_yield();
        n += 256;
        if (now_ns() >= j->deadline) break;
    }
    j->yields = n;
    return NULL;
}

int main(int argc, char **argv)
{
    int ncos = argc > 1 ? atoi(argv[1]) : 4;
    long ms = argc > 2 ? atol(argv[2]) : 1000;
    if (ncos < 1 || ncos > 4096 || ms < 1) {
        fprintf(stderr, "usage: event_producer [coroutines 1..4096] [ms>0]\n");
        return 2;
    }
    job *jobs = calloc((size_t)ncos, sizeof *jobs);
    coroscope_co **cos = calloc((size_t)ncos, sizeof *cos);
    if (!jobs || !cos) {
        fprintf(stderr, "event_producer: out of memory\n");
        return 1;
    }
    uint64_t t0 = now_ns();
    for (int i = 0; i < ncos; i++) {
        jobs[i].deadline = t0 + (uint64_t)ms * 1000000ull;
        int err = coroscope_spawn(&cos[i], "yielder", yielder, &jobs[i]);
        if (err) {
            fprintf(stderr, "event_producer: coroscope_spawn: %s\n", strerror(err));
            return 1;
        }
    }
    long total = 0;
    for (int i = 0; i < ncos; i++) {
        int err = coroscope_join(cos[i], NULL);
        if (err) {
            fprintf(stderr, "event_producer: coroscope_join: %d\n", err);
            return 1;
        }
        total += jobs[i].yields;
    }
    printf("{\"yields\":%ld,\"coroutines\":%d,\"ms\":%ld,\"elapsed_ns\":%llu}\n", total, ncos, ms,
           (unsigned long long)(now_ns() - t0));
    fflush(stdout);
    free(jobs);
    free(cos);
    return 0;
}
