/*
 * hook_compare.h — helpers of the per-hook semantics tests (test_io_pipe.c,
 * test_io_socket.c, test_net.c, test_poll.c, test_signals.c, test_fd.c,
 * test_passthrough.c). Include after cs_test.h.
 *
 * The central pattern: a scenario is written once and run twice, on a plain
 * thread (the hooks pass through: the real call) and inside a coroutine
 * (hooked), and the two outcomes (return value and errno) must be identical:
 *
 *     typedef struct { outcome rd; } ctx;
 *     static void *scenario(void *arg) { ctx *c = arg; c->rd = OUTCOME(read(...)); return NULL; }
 *     ctx t = {0}, c = {0};
 *     run_on_thread(scenario, &t);
 *     run_in_coroutine(scenario, &c);
 *     CHECK_OUTCOME(c.rd, 5, 0);
 *     CHECK_SAME_OUTCOME(t.rd, c.rd);
 *
 * The peer that makes an fd ready (peer_start/peer_join) is a thread when the
 * scenario runs on a thread and a coroutine when it runs in one. With one
 * worker (configure_workers(1)) the peer coroutine can only run if the call
 * waiting for it parked; if it blocked the worker instead, the test hangs and
 * watchdog() ends it with a message saying so.
 */
#ifndef HOOK_COMPARE_H
#define HOOK_COMPARE_H

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef struct outcome {
    long ret;
    int err; /* errno when ret < 0, else 0 */
} outcome;

/* Evaluate a -1/errno call: its return value and errno (0 on success). */
#define OUTCOME(expr)                          \
    ({                                         \
        errno = 0;                             \
        long o_r_ = (long)(expr);              \
        (outcome){o_r_, o_r_ < 0 ? errno : 0}; \
    })

#define CHECK_SAME_OUTCOME(on_thread, in_co)                                                                     \
    do {                                                                                                         \
        outcome t_ = (on_thread), c_ = (in_co);                                                                  \
        if (t_.ret != c_.ret || t_.err != c_.err)                                                                \
            cs_test_fail(__FILE__, __LINE__,                                                                     \
                         "%s vs %s: plain thread returned %ld (errno %s), coroutine %ld (errno %s)", #on_thread, \
                         #in_co, t_.ret, cs_errname(t_.err), c_.ret, cs_errname(c_.err));                        \
    } while (0)

#define CHECK_OUTCOME(o, want_ret, want_err)                                                                \
    do {                                                                                                    \
        outcome o_ = (o);                                                                                   \
        if (o_.ret != (long)(want_ret) || o_.err != (want_err))                                             \
            cs_test_fail(__FILE__, __LINE__, "%s: got %ld (errno %s), expected %ld (errno %s)", #o, o_.ret, \
                         cs_errname(o_.err), (long)(want_ret), cs_errname(want_err));                       \
    } while (0)

static void *hc_watchdog_main(void *arg)
{
    long s = (long)arg;
    struct timespec ts = {s, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) /* a plain thread: the real sleep */
        ;
    fprintf(stderr,
            "watchdog: the test still runs after %ld s: a call that should have parked a "
            "coroutine probably blocked its worker\n",
            s);
    fprintf(stderr, "FAIL %s (watchdog)\n", cs_test_current);
    _exit(1);
}

/* End the test with a clear message if it still runs after s seconds. The
 * watchdog thread blocks every signal, so it never takes one meant for the
 * test's threads. Call it from a plain thread. */
static CS_TEST_UNUSED void watchdog(long s)
{
    pthread_t t;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&t, NULL, hc_watchdog_main, (void *)s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    REQUIRE(err == 0);
    pthread_detach(t);
}

/* Run fn(arg) on a new plain thread and wait for it. */
static CS_TEST_UNUSED void *run_on_thread(coroscope_fn fn, void *arg)
{
    pthread_t t;
    void *res = NULL;
    REQUIRE(pthread_create(&t, NULL, fn, arg) == 0);
    REQUIRE(pthread_join(t, &res) == 0);
    return res;
}

/* The peer of a scenario: a coroutine when the scenario runs in one, a
 * thread otherwise. */
typedef struct peer {
    int is_co;
    coroscope_co *co;
    pthread_t th;
} peer;

static CS_TEST_UNUSED void peer_start(peer *p, coroscope_fn fn, void *arg)
{
    p->is_co = coroscope_id() != 0;
    if (p->is_co)
        REQUIRE(coroscope_spawn(&p->co, "peer", fn, arg) == 0);
    else
        REQUIRE(pthread_create(&p->th, NULL, fn, arg) == 0);
}

static CS_TEST_UNUSED void *peer_join(peer *p)
{
    void *r = NULL;
    if (p->is_co)
        CHECK_EQ_ERR(coroscope_join(p->co, &r), 0);
    else
        REQUIRE(pthread_join(p->th, &r) == 0);
    return r;
}

/* Sleep ms milliseconds (parks in a coroutine), resuming after signals. */
static CS_TEST_UNUSED void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * MS};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A byte pattern without short periods. */
static CS_TEST_UNUSED unsigned char pat(size_t i)
{
    uint32_t x = (uint32_t)i * 2654435761u;
    return (unsigned char)((x >> 24) ^ (i >> 16));
}

/* File status flags as the kernel has them (bypasses the fcntl hook). */
static CS_TEST_UNUSED long kernel_fl(int fd)
{
    return syscall(SYS_fcntl, fd, F_GETFL);
}

/* Plain threads that compute while a test runs (spinners_start/stop), so the
 * kernel preempts the workers at arbitrary points, as on a loaded machine:
 * that is what opens the windows between one worker's readiness check and
 * its call in the races between coroutines of different workers. */
#define HC_SPINNERS 3
static _Atomic int hc_spin_stop;
static pthread_t hc_spinners[HC_SPINNERS];

static void *hc_spin_main(void *arg)
{
    (void)arg;
    volatile unsigned long x = 0;
    while (!atomic_load_explicit(&hc_spin_stop, memory_order_relaxed)) x++;
    return NULL;
}

static CS_TEST_UNUSED void spinners_start(void)
{
    atomic_store(&hc_spin_stop, 0);
    for (int i = 0; i < HC_SPINNERS; i++) REQUIRE(pthread_create(&hc_spinners[i], NULL, hc_spin_main, NULL) == 0);
}

static CS_TEST_UNUSED void spinners_stop(void)
{
    atomic_store(&hc_spin_stop, 1);
    for (int i = 0; i < HC_SPINNERS; i++) pthread_join(hc_spinners[i], NULL);
}

#endif
