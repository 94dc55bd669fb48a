/*
 * rec_workload.c — the recording rows (bench/rec_rows.mjs): the coroutine
 * workload of issue 12, recorded and not.
 *
 * `coroutines` coroutines in pairs (default workers). Each pair: a leader,
 * spawned by main, creates a socketpair(AF_UNIX, SOCK_STREAM) and spawns its
 * follower; then each of the two runs `rounds` rounds of
 *
 *     coroscope_yield();
 *     every 4th round (round % 4 == 3): usleep(50);
 *     ping-pong: the leader writes 1 byte and reads the answer, the follower
 *                reads it and writes it back;
 *
 * then the leader joins its follower and closes both ends. main spawns the
 * leaders in batches of at most `batch` pairs and joins each batch before the
 * next (bounded memory and file descriptors at any size); main itself makes
 * no hooked call until the result line, which it writes with the raw system
 * call so that it is not a recorded event either.
 *
 * Operation counts are counted as they are done (not computed) and reported.
 * The events the engine emits per operation (what bench/rec_rows.mjs derives
 * the "made" count from; see bench/README.md, row 13):
 *   CO_CREATE, CO_FINISH   one per coroutine
 *   CO_YIELD (a0 = 0)      one per coroscope_yield() (a yield always switches
 *                          out, even with an empty run queue)
 *   CALL                   one per hooked call: socketpair, write, read,
 *                          usleep, close
 * Everything else (CO_RUN, CO_READY, CO_SUSPEND, WAKE, CALL_ENTER, QUEUES,
 * WORKER_IDLE/BUSY, preemption) depends on timing: how often a read finds
 * its byte already there, when workers go idle.
 *
 * Output (stdout, one line of JSON):
 *   {"coroutines":N,"rounds":R,"yields":Y,"usleeps":U,"writes":W,"reads":D,
 *    "socketpairs":S,"closes":C,"elapsed_ns":E}
 *   elapsed_ns: main's entry to the last join (the process's own work,
 *   without the engine's exit handlers).
 *
 * usage: rec_workload [coroutines (even, >= 2)] [rounds (30)] [batch pairs (1000)]
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <coroscope.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long rounds = 30;
static _Atomic long n_yields, n_usleeps, n_writes, n_reads, n_socketpairs, n_closes, n_failures;

typedef struct {
    long yields, usleeps, writes, reads, socketpairs, closes, failures;
} counts;

static void add(const counts *c)
{
    atomic_fetch_add_explicit(&n_yields, c->yields, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_usleeps, c->usleeps, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_writes, c->writes, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_reads, c->reads, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_socketpairs, c->socketpairs, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_closes, c->closes, memory_order_relaxed);
    atomic_fetch_add_explicit(&n_failures, c->failures, memory_order_relaxed);
}

/* One byte each way; a short transfer or an error is a failure (counted,
 * reported, and the row fails): the counts must be the calls really made. */
static void xfer(int fd, int send_first, counts *c)
{
    char b = 'x';
    for (int step = 0; step < 2; step++) {
        ssize_t r;
        if ((step == 0) == (send_first != 0)) {
            r = write(fd, &b, 1);
            c->writes++;
        } else {
            r = read(fd, &b, 1);
            c->reads++;
        }
        if (r != 1) c->failures++;
    }
}

static void play(int fd, int leader, counts *c)
{
    for (long r = 0; r < rounds; r++) {
        coroscope_yield();
        c->yields++;
        if (r % 4 == 3) {
            usleep(50);
            c->usleeps++;
        }
        xfer(fd, leader, c);
    }
}

static void *follower(void *arg)
{
    counts c = {0};
    play((int)(intptr_t)arg, 0, &c);
    add(&c);
    return NULL;
}

static void *leader(void *arg)
{
    (void)arg;
    counts c = {0};
    int sv[2];
    c.socketpairs++;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
        c.failures++;
        add(&c);
        return NULL;
    }
    coroscope_co *f;
    if (coroscope_spawn(&f, NULL, follower, (void *)(intptr_t)sv[1])) {
        c.failures++;
    } else {
        play(sv[0], 1, &c);
        if (coroscope_join(f, NULL)) c.failures++;
    }
    close(sv[0]);
    close(sv[1]);
    c.closes += 2;
    add(&c);
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t t0 = now_ns();
    long ncos = argc > 1 ? atol(argv[1]) : 2000;
    rounds = argc > 2 ? atol(argv[2]) : 30;
    long batch = argc > 3 ? atol(argv[3]) : 1000;
    if (ncos < 2 || ncos % 2 || rounds < 1 || batch < 1) {
        fprintf(stderr, "usage: rec_workload [coroutines (even, >= 2)] [rounds >= 1] [batch pairs >= 1]\n");
        return 2;
    }
    long pairs = ncos / 2;
    coroscope_co **h = calloc((size_t)(batch < pairs ? batch : pairs), sizeof *h);
    if (!h) {
        perror("calloc");
        return 1;
    }
    for (long done = 0; done < pairs;) {
        long k = pairs - done < batch ? pairs - done : batch;
        for (long i = 0; i < k; i++) {
            int err = coroscope_spawn(&h[i], NULL, leader, NULL);
            if (err) {
                fprintf(stderr, "rec_workload: coroscope_spawn: %s\n", strerror(err));
                return 1;
            }
        }
        for (long i = 0; i < k; i++) {
            int err = coroscope_join(h[i], NULL);
            if (err) {
                fprintf(stderr, "rec_workload: coroscope_join: %s\n", strerror(err));
                return 1;
            }
        }
        done += k;
    }
    uint64_t t1 = now_ns();
    char line[512];
    int n = snprintf(line, sizeof line,
                     "{\"coroutines\":%ld,\"rounds\":%ld,\"yields\":%ld,\"usleeps\":%ld,\"writes\":%ld,\"reads\":%ld,"
                     "\"socketpairs\":%ld,\"closes\":%ld,\"failures\":%ld,\"elapsed_ns\":%llu}\n",
                     ncos, rounds, atomic_load(&n_yields), atomic_load(&n_usleeps), atomic_load(&n_writes),
                     atomic_load(&n_reads), atomic_load(&n_socketpairs), atomic_load(&n_closes),
                     atomic_load(&n_failures), (unsigned long long)(t1 - t0));
    /* The raw system call: not a hooked write, so not an event. */
    if (syscall(SYS_write, 1, line, (size_t)n) != n) return 1;
    return atomic_load(&n_failures) ? 1 : 0;
}
