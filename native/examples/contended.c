/*
 * contended — an echo-like handler whose worker the OS takes away.
 *
 * Coroutine "handler" serves `requests` requests; each costs `work_ms` of
 * its own CPU time (measured with the thread's CPU clock, so the work is the
 * same however often the kernel interrupts it) and then parks for 1 ms in
 * usleep (hooked), like a handler waiting for its next request. Nothing in
 * it runs long: each run uses work_ms of CPU.
 *
 * With --cpu N the process pins itself to CPU N (sched_setaffinity, before
 * the workers start, which inherit it). Pin a busy process to the same CPU
 * (taskset -c N sh -c 'while :; do :; done') and the kernel splits that CPU
 * between the two: a run's wall time grows well past its CPU time. An
 * inspector must say the OS descheduled the worker, not that the handler
 * ran long.
 *
 *   contended [--cpu N] [requests (20)] [work_ms (4)]
 *   prints "requests=<n> cpu_ms=<handler's CPU> wall_ms=<handler's wall>"
 */
#include <coroscope.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int requests = 20;
static double work_ms = 4;

static uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *handler(void *arg)
{
    uint64_t *cpu = arg;
    for (int i = 0; i < requests; i++) {
        uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), c;
        volatile uint64_t x = 0;
        do {
            for (int k = 0; k < 10000; k++) x += (uint64_t)k * 2654435761u;
            c = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        } while (c - c0 < (uint64_t)(work_ms * 1e6));
        *cpu += c - c0;
        usleep(1000);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int a = 1;
    if (a + 1 < argc && !strcmp(argv[a], "--cpu")) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(atoi(argv[a + 1]), &set);
        if (sched_setaffinity(0, sizeof set, &set)) {
            perror("sched_setaffinity");
            return 1;
        }
        a += 2;
    }
    if (a < argc) requests = atoi(argv[a++]);
    if (a < argc) work_ms = atof(argv[a++]);
    uint64_t cpu = 0, w0 = clock_ns(CLOCK_MONOTONIC);
    coroscope_co *co;
    coroscope_spawn(&co, "handler", handler, &cpu);
    coroscope_join(co, NULL);
    printf("requests=%d cpu_ms=%.1f wall_ms=%.1f\n", requests, (double)cpu / 1e6,
           (double)(clock_ns(CLOCK_MONOTONIC) - w0) / 1e6);
    return 0;
}
