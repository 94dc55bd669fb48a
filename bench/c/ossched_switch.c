/*
 * ossched_switch — what the kernel charges per context switch of a thread
 * that records its switches (COROSCOPE_OSSCHED, native/engine/src/ossched.c).
 *
 * Two threads pinned to one CPU ping-pong a byte through two pipes, so every
 * round trip is two context switches between them. In "on" rounds both open
 * the same perf event the engine's workers open (a software dummy event with
 * context_switch=1, CLOCK_MONOTONIC, an 8-page ring nobody reads: the kernel
 * still writes a record at every switch, and the scheduler switches the perf
 * context); in "off" rounds neither does. Rounds alternate, fresh threads
 * each round. No engine library.
 *
 *   ossched_switch [round_trips (100000)] [rounds (6)]
 *   prints {"on_ns": [...], "off_ns": [...]} — ns per round trip per round
 */
#define _GNU_SOURCE
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int n = 100000;

typedef struct side {
    int on, in, out, first;
    double ns;
} side;

static void track(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_DUMMY;
    a.sample_period = 1;
    a.sample_type = PERF_SAMPLE_TIME;
    a.sample_id_all = 1;
    a.context_switch = 1;
    a.use_clockid = 1;
    a.clockid = CLOCK_MONOTONIC;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    a.watermark = 1;
    a.wakeup_watermark = 1u << 30;
    int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
        perror("perf_event_open");
        exit(1);
    }
    if (mmap(NULL, 9 * (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    close(fd);
}

static void *run(void *arg)
{
    side *s = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    sched_setaffinity(0, sizeof set, &set);
    if (s->on) track();
    char c = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        if (s->first && write(s->out, &c, 1) != 1) exit(1);
        if (read(s->in, &c, 1) != 1) exit(1);
        if (!s->first && write(s->out, &c, 1) != 1) exit(1);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    s->ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
    return NULL;
}

static double round_trip(int on)
{
    int p1[2], p2[2];
    if (pipe(p1) || pipe(p2)) exit(1);
    side a = {on, p2[0], p1[1], 1, 0}, b = {on, p1[0], p2[1], 0, 0};
    pthread_t ta, tb;
    pthread_create(&tb, NULL, run, &b);
    pthread_create(&ta, NULL, run, &a);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    close(p1[0]), close(p1[1]), close(p2[0]), close(p2[1]);
    return a.ns;
}

int main(int argc, char **argv)
{
    if (argc > 1) n = atoi(argv[1]);
    int rounds = argc > 2 ? atoi(argv[2]) : 6;
    double on[64], off[64];
    if (rounds > 64) rounds = 64;
    for (int r = 0; r < rounds; r++) {
        int first = r & 1;
        double x = round_trip(first), y = round_trip(!first);
        on[r] = first ? x : y;
        off[r] = first ? y : x;
    }
    printf("{\"on_ns\": [");
    for (int r = 0; r < rounds; r++) printf("%s%.1f", r ? ", " : "", on[r]);
    printf("], \"off_ns\": [");
    for (int r = 0; r < rounds; r++) printf("%s%.1f", r ? ", " : "", off[r]);
    printf("]}\n");
    return 0;
}
