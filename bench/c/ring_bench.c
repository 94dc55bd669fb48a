/*
 * ring_bench.c — rows ring_producer and ring_consumer: the event ring
 * (native/wire/ring.c, compiled in as is).
 *
 * producer: one thread writes `n` events with cs_ring_write (then one
 *   cs_ring_flush) into a ring of 1 Mi records while a consumer thread
 *   drains it with cs_ring_read in batches of 256; ns/event = producer loop
 *   time / n. The records are built in the loop (ts, kind, co and a0 vary),
 *   no clock is read in it. The ring is large enough that nothing is dropped
 *   (the count of lost records is printed; it should be 0).
 * consumer: one thread, a ring of 64 Ki records (4 MiB) filled and flushed,
 *   then drained with cs_ring_read in batches of 256 into a 16 KiB buffer;
 *   M events/s over `passes` fills. Reference: memcpy of the same bytes
 *   (the slots, in the same 256-record chunks, into the same buffer) after
 *   the same fill.
 *
 * Output (stdout, one line of JSON):
 *   {"producer_ns":[per round],"consumer_meps":[...],"memcpy_meps":[...],"dropped":N}
 *
 * usage: ring_bench [events_per_round] [rounds]
 */
#include "../../native/wire/ring.c"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "ring_bench: %s: %s\n", what, cs_ring_strerror(err));
    exit(1);
}

static coroscope_event batch_buf[256];

typedef struct {
    cs_ring *r;
    atomic_int stop;
    uint64_t read;
} drain;

static void *drainer(void *arg)
{
    drain *d = arg;
    static coroscope_event out[256];
    for (;;) {
        int stop = atomic_load_explicit(&d->stop, memory_order_acquire);
        ssize_t n = cs_ring_read(d->r, out, 256);
        if (n < 0) die("cs_ring_read", (int)-n);
        d->read += (uint64_t)n;
        if (n == 0 && stop) return NULL;
    }
}

static double producer_round(long n, uint64_t *dropped)
{
    cs_ring r;
    int err = cs_ring_create(&r, 1u << 20, 1, 0);
    if (err) die("cs_ring_create", err);
    drain d = {.r = &r};
    pthread_t t;
    if ((err = pthread_create(&t, NULL, drainer, &d))) die("pthread_create", err);
    coroscope_event e = {.kind = COROSCOPE_EV_CALL, .worker = 0, .tid = 1};
    uint64_t lost = 0;
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        e.ts = (uint64_t)i;
        e.co = (uint64_t)i >> 4;
        e.a[0] = (uint64_t)i;
        lost += cs_ring_write(&r, &e) != 0;
    }
    cs_ring_flush(&r);
    uint64_t t1 = now_ns();
    atomic_store_explicit(&d.stop, 1, memory_order_release);
    pthread_join(t, NULL);
    *dropped += lost;
    cs_ring_destroy(&r);
    return (double)(t1 - t0) / (double)n;
}

static void fill(cs_ring *r)
{
    coroscope_event e = {.kind = COROSCOPE_EV_CALL};
    for (uint32_t i = 0; i < r->capacity; i++) {
        e.ts = i;
        e.a[0] = i;
        if (cs_ring_write(r, &e)) die("fill", ENOBUFS);
    }
    cs_ring_flush(r);
}

static void consumer_round(int passes, double *ring_meps, double *memcpy_meps)
{
    cs_ring r;
    int err = cs_ring_create(&r, 1u << 16, 1, 0);
    if (err) die("cs_ring_create", err);
    uint64_t ring_ns = 0, copy_ns = 0, sum = 0;
    for (int p = 0; p < passes; p++) {
        fill(&r);
        uint64_t t0 = now_ns();
        uint64_t got = 0;
        ssize_t n;
        while ((n = cs_ring_read(&r, batch_buf, 256)) > 0) {
            got += (uint64_t)n;
            sum += batch_buf[n - 1].a[0];
        }
        ring_ns += now_ns() - t0;
        if (got != r.capacity) die("drain", CS_RING_ECORRUPT);

        fill(&r); /* same memory state for the reference */
        const char *src = (const char *)r.slots;
        t0 = now_ns();
        for (uint32_t i = 0; i < r.capacity; i += 256) {
            memcpy(batch_buf, src + (size_t)i * 64, 256 * 64);
            __asm__ volatile("" : : "r"(batch_buf) : "memory");
            sum += batch_buf[255].a[0];
        }
        copy_ns += now_ns() - t0;
        while (cs_ring_read(&r, batch_buf, 256) > 0) /* empty it for the next fill */
            ;
    }
    if (sum == 42) /* keep sum alive */
        fputc(' ', stderr);
    double total = (double)r.capacity * passes;
    *ring_meps = total / ((double)ring_ns / 1e9) / 1e6;
    *memcpy_meps = total / ((double)copy_ns / 1e9) / 1e6;
    cs_ring_destroy(&r);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    if (n <= 0 || rounds <= 0) {
        fprintf(stderr, "usage: ring_bench [events_per_round] [rounds]\n");
        return 2;
    }
    uint64_t dropped = 0;
    producer_round(n / 10, &dropped); /* warm-up */
    dropped = 0;
    printf("{\"producer_ns\":[");
    for (int i = 0; i < rounds; i++) printf("%s%.4f", i ? "," : "", producer_round(n, &dropped));
    double rm[64], cm[64];
    if (rounds > 64) rounds = 64;
    for (int i = 0; i < rounds; i++) consumer_round(20, &rm[i], &cm[i]);
    printf("],\"consumer_meps\":[");
    for (int i = 0; i < rounds; i++) printf("%s%.2f", i ? "," : "", rm[i]);
    printf("],\"memcpy_meps\":[");
    for (int i = 0; i < rounds; i++) printf("%s%.2f", i ? "," : "", cm[i]);
    printf("],\"dropped\":%lu}\n", (unsigned long)dropped);
    return 0;
}
