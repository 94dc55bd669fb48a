/*
 * preempt_overhead.c — row preempt_overhead: what the preemption monitor costs
 * a busy process whose coroutines never run long enough to be preempted.
 *
 * `ncos` coroutines on every worker (the engine's default: one per online
 * core) share `ncos * rounds` compute bursts (`burst` dependent integer
 * operations each, ~20 us, far below the 10 ms slice): each coroutine takes
 * one burst from the pool, computes it, calls coroscope_yield(), and so on.
 * The runner starts it with COROSCOPE_PREEMPT=1 and =0 and compares wall
 * times. The runtime is started by a throw-away coroutine first; the clock
 * runs from the first spawn to the last join.
 *
 * Output (stdout, one line of JSON):
 *   {"preempt":1,"workers":2,"coroutines":256,"rounds":400,"burst":20000,
 *    "wall_s":..,"cpu_s":..,"monitor_cpu_s":..,"sent":0,"done":0}
 * cpu_s: the process's user+system time; monitor_cpu_s: the monitor thread's
 * own run time (/proc/self/task/<tid>/schedstat of "cs-monitor"); sent/done:
 * preemption events seen by the observer (0 expected: nothing runs a slice);
 * split: how many coroutines each worker ran (the shared pool keeps the work
 * even when the split is not).
 *
 * usage: preempt_overhead [coroutines] [rounds] [burst]
 */
#include <coroscope.h>
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <time.h>

typedef struct cs_preempt_event {
    int kind, worker;
    uint64_t co_id, ran_ns, latency_ns;
    int reason;
    uintptr_t pc;
    int at_safe_point;
} cs_preempt_event;
void coroscope__set_preempt_observer(void (*fn)(const cs_preempt_event *));

static _Atomic long n_sent, n_done;

static void observer(const cs_preempt_event *ev)
{
    if (ev->kind == 1)
        atomic_fetch_add(&n_sent, 1);
    else if (ev->kind == 2)
        atomic_fetch_add(&n_done, 1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long rounds = 400, burst = 20000;
static _Atomic long pool; /* bursts left: coroutines x rounds */
static pid_t *ran_on;
static _Atomic uint64_t sink;

static void *worker(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
    /* The bursts come from one shared pool: each worker stays busy until the
     * pool is empty, however many coroutines each one happens to run. */
    while (atomic_fetch_sub_explicit(&pool, 1, memory_order_relaxed) > 0) {
        for (long i = 0; i < burst; i++) { /* a dependent chain: ~3 cycles per step */
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        coroscope_yield();
    }
    atomic_fetch_add_explicit(&sink, x, memory_order_relaxed);
    ran_on[(uintptr_t)arg] = (pid_t)syscall(SYS_gettid);
    return NULL;
}

static void *nothing(void *arg)
{
    return arg;
}

static int ncos = 256, nleaders = 1;
static coroscope_co **cos;
static _Atomic int spawn_err;

/* ran_on[i]: the worker thread that ran coroutine i, to report the split. */

/* main -> one spawner coroutine -> one leader per worker -> the bursting
 * coroutines. Spawned from coroutines, they start from a worker's own
 * stealable queue, and an idle worker steals half of what is there when it
 * looks: one leader per worker spreads the coroutines (started coroutines
 * never move; the shared pool evens out the rest). */
static void *leader(void *arg)
{
    int k = (int)(intptr_t)arg;
    for (int i = k; i < ncos && !atomic_load(&spawn_err); i += nleaders) {
        int err = coroscope_spawn(&cos[i], "burst", worker, (void *)(uintptr_t)i);
        if (err) atomic_store(&spawn_err, err);
    }
    return NULL;
}

static void *spawner(void *arg)
{
    (void)arg;
    coroscope_co *l[256];
    int n = nleaders < 256 ? nleaders : 256;
    for (int k = 0; k < n; k++)
        if (coroscope_spawn(&l[k], "leader", leader, (void *)(intptr_t)k)) {
            atomic_store(&spawn_err, EAGAIN);
            n = k;
            break;
        }
    for (int k = 0; k < n; k++) coroscope_join(l[k], NULL);
    return NULL;
}

/* Run time of the thread named cs-monitor, in seconds (-1 if not found). */
static double monitor_cpu_s(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    double r = -1;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[320], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (!fgets(comm, sizeof comm, f)) comm[0] = '\0';
        fclose(f);
        if (strncmp(comm, "cs-monitor", 10)) continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
        f = fopen(path, "r");
        unsigned long long ns = 0;
        if (f && fscanf(f, "%llu", &ns) == 1) r = (double)ns / 1e9;
        if (f) fclose(f);
        break;
    }
    closedir(d);
    return r;
}

int main(int argc, char **argv)
{
    if (argc > 1) ncos = atoi(argv[1]);
    if (argc > 2) rounds = atol(argv[2]);
    if (argc > 3) burst = atol(argv[3]);
    if (ncos < 1 || rounds < 1 || burst < 1) {
        fprintf(stderr, "usage: preempt_overhead [coroutines>0] [rounds>0] [burst>0]\n");
        return 2;
    }
    coroscope_config cfg;
    if (coroscope_config_get(&cfg)) {
        fprintf(stderr, "preempt_overhead: coroscope_config_get failed\n");
        return 1;
    }
    coroscope__set_preempt_observer(observer);
    cos = calloc((size_t)ncos, sizeof *cos);
    ran_on = calloc((size_t)ncos, sizeof *ran_on);
    if (!cos || !ran_on) return 1;
    nleaders = cfg.workers;
    atomic_store(&pool, (long)ncos * rounds);
    /* start the runtime (workers and monitor) outside the timed part */
    coroscope_co *warm;
    if (coroscope_spawn(&warm, "warm-up", nothing, NULL) || coroscope_join(warm, NULL)) {
        fprintf(stderr, "preempt_overhead: cannot start the runtime\n");
        return 1;
    }
    double mon0 = monitor_cpu_s();
    for (int i = 0; i < 100 && mon0 < 0; i++) { /* the monitor names itself when it starts */
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        mon0 = monitor_cpu_s();
    }
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t t0 = now_ns();
    coroscope_co *sp;
    if (coroscope_spawn(&sp, "spawner", spawner, NULL) || coroscope_join(sp, NULL) || spawn_err) {
        fprintf(stderr, "preempt_overhead: coroscope_spawn: %s\n", strerror(spawn_err ? spawn_err : EAGAIN));
        return 1;
    }
    for (int i = 0; i < ncos; i++)
        if (coroscope_join(cos[i], NULL)) {
            fprintf(stderr, "preempt_overhead: coroscope_join failed\n");
            return 1;
        }
    double wall = (double)(now_ns() - t0) / 1e9;
    double mon1 = monitor_cpu_s();
    getrusage(RUSAGE_SELF, &ru1);
    double cpu =
        (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
        (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    /* coroutines per worker thread, largest first */
    int split[256] = {0}, nsplit = 0;
    pid_t tids[256];
    for (int i = 0; i < ncos; i++) {
        int k = 0;
        while (k < nsplit && tids[k] != ran_on[i]) k++;
        if (k == nsplit && nsplit < 256) tids[nsplit++] = ran_on[i];
        if (k < nsplit) split[k]++;
    }
    for (int a = 0; a < nsplit; a++)
        for (int b = a + 1; b < nsplit; b++)
            if (split[b] > split[a]) {
                int t = split[a];
                split[a] = split[b];
                split[b] = t;
            }
    printf("{\"preempt\":%d,\"workers\":%d,\"coroutines\":%d,\"rounds\":%ld,\"burst\":%ld,\"wall_s\":%.6f,"
           "\"cpu_s\":%.6f,\"monitor_cpu_s\":%.6f,\"sent\":%ld,\"done\":%ld,\"split\":[",
           cfg.preempt, cfg.workers, ncos, rounds, burst, wall, cpu, mon0 >= 0 && mon1 >= 0 ? mon1 - mon0 : -1.0,
           atomic_load(&n_sent), atomic_load(&n_done));
    for (int k = 0; k < nsplit; k++) printf("%s%d", k ? "," : "", split[k]);
    printf("]}\n");
    return 0;
}
