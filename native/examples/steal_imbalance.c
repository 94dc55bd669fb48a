/*
 * steal_imbalance — coroutines all spawned on one worker get spread over the others by work stealing.
 *
 * A "spawner" coroutine spawns N short CPU-bound coroutines ("work-<i>",
 * default N = 1000, or argv[1]). Spawned from a coroutine, they all go to the
 * spawner's worker's queue of unstarted coroutines; a worker with nothing to
 * do steals half of such a queue. Each coroutine does ~1 ms of arithmetic
 * (the loop length is calibrated at start), then records which worker thread
 * ran it (gettid() and the thread name, "cs-worker-<k>"). The spawner joins
 * them all; main prints, per worker, how many coroutines it ran, and
 * "workers_used=<k>".
 *
 *   steal_imbalance [N]
 *
 *   - Default configuration (one worker per core): several workers appear in
 *     the table, each with a share of the N coroutines; the wall time is
 *     about N ms divided by the number of cores.
 *   - COROSCOPE_WORKERS=1: nothing to steal from, cs-worker-0 runs all N and
 *     the wall time is about N ms.
 */
#include <coroscope.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 256

struct ran_on {
    pid_t tid;
    char name[16];
};

static long n_co = 1000;
static uint64_t loop_len; /* iterations for ~1 ms */
static struct ran_on *ran;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Some arithmetic the compiler cannot drop. */
static uint64_t work(uint64_t iters, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (uint64_t i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

static void calibrate(void)
{
    uint64_t iters = 1 << 16;
    for (;;) {
        uint64_t t0 = now_ns();
        volatile uint64_t sink = work(iters, t0);
        (void)sink;
        uint64_t dt = now_ns() - t0;
        if (dt >= 20 * 1000000ull || iters >= (1ull << 40)) {
            loop_len = iters * 1000000ull / (dt ? dt : 1);
            return;
        }
        iters *= 2;
    }
}

static void *work_main(void *arg)
{
    long i = (long)(intptr_t)arg;
    volatile uint64_t sink = work(loop_len, (uint64_t)i);
    (void)sink;
    ran[i].tid = gettid();
    if (pthread_getname_np(pthread_self(), ran[i].name, sizeof ran[i].name) != 0)
        snprintf(ran[i].name, sizeof ran[i].name, "tid-%d", (int)ran[i].tid);
    return NULL;
}

static void *spawner_main(void *arg)
{
    (void)arg;
    coroscope_co **cos = calloc((size_t)n_co, sizeof *cos);
    if (!cos) {
        fprintf(stderr, "steal_imbalance: out of memory\n");
        exit(1);
    }
    char self[16] = "?";
    pthread_getname_np(pthread_self(), self, sizeof self);
    printf("spawner on %s: spawning %ld coroutines of ~1 ms each\n", self, n_co);
    fflush(stdout);
    for (long i = 0; i < n_co; i++) {
        char name[32];
        snprintf(name, sizeof name, "work-%ld", i);
        int err = coroscope_spawn(&cos[i], name, work_main, (void *)(intptr_t)i);
        if (err) {
            fprintf(stderr, "steal_imbalance: spawn %s: %s\n", name, strerror(err));
            exit(1);
        }
    }
    for (long i = 0; i < n_co; i++) coroscope_join(cos[i], NULL);
    free(cos);
    return NULL;
}

struct row {
    char name[16];
    pid_t tid;
    long count;
};

static int by_name(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    size_t lx = strlen(x->name), ly = strlen(y->name); /* cs-worker-2 before cs-worker-10 */
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->name, y->name);
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && (n_co = strtol(argv[1], NULL, 10)) <= 0)) {
        fprintf(stderr, "usage: steal_imbalance [N]   (N > 0, default 1000)\n");
        return 2;
    }
    ran = calloc((size_t)n_co, sizeof *ran);
    if (!ran) return 1;
    calibrate();
    coroscope_config cfg;
    coroscope_config_get(&cfg);
    printf("workers=%d, ~1 ms of work = %llu loop iterations\n", cfg.workers, (unsigned long long)loop_len);

    uint64_t t0 = now_ns();
    coroscope_co *sp;
    if (coroscope_spawn(&sp, "spawner", spawner_main, NULL)) {
        fprintf(stderr, "steal_imbalance: cannot spawn\n");
        return 1;
    }
    coroscope_join(sp, NULL);
    double wall_ms = (double)(now_ns() - t0) / 1e6;

    /* Count per worker thread. */
    static struct row rows[MAX_WORKERS];
    int nw = 0;
    for (long i = 0; i < n_co; i++) {
        int k = 0;
        while (k < nw && rows[k].tid != ran[i].tid) k++;
        if (k == nw) {
            if (nw == MAX_WORKERS) continue;
            memcpy(rows[k].name, ran[i].name, sizeof rows[k].name);
            rows[k].tid = ran[i].tid;
            nw++;
        }
        rows[k].count++;
    }
    qsort(rows, (size_t)nw, sizeof rows[0], by_name);

    printf("%-16s %8s %8s\n", "worker", "tid", "ran");
    for (int k = 0; k < nw; k++) printf("%-16s %8d %8ld\n", rows[k].name, (int)rows[k].tid, rows[k].count);
    printf("wall_ms=%.0f\n", wall_ms);
    printf("workers_used=%d\n", nw);
    return 0;
}
