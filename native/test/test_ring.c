/*
 * test_ring.c — the event ring (native/wire/ring.h): order and bytes,
 * loss accounting with DROP records, a slow consumer on another thread,
 * attaching corrupt or foreign files, the memfd's permissions, overwrite
 * mode (the flight recorder) with its hand-over to a consumer, the lossless
 * policy (a producer waits for room, bounded), the consumer's doorbell, and
 * a final consumer's account of losses nobody reported.
 *
 * ring.c depends on libc and coroscope_events.h only and its symbols are
 * hidden in libcoroscope.so, so it is compiled into this program as is.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include "../wire/ring.c"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

/* A record whose every byte depends on seq (ts = 1000 + seq). */
static coroscope_event ev_of(uint64_t seq)
{
    coroscope_event e;
    e.ts = 1000 + seq;
    e.kind = COROSCOPE_EV_CALL;
    e.worker = (uint16_t)(seq * 7);
    e.tid = (uint32_t)(seq * 2654435761u);
    e.co = seq * 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 5; i++) e.a[i] = seq ^ ((uint64_t)i << 56) ^ (seq << 20);
    e.a[0] = seq;
    return e;
}

static int same_bytes(const coroscope_event *a, const coroscope_event *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

TEST(records_written_are_read_back_in_order_with_identical_bytes)
{
    cs_ring r;
    REQUIRE(cs_ring_create(&r, 64, 1234, 3) == 0);
    coroscope_event out[50];
    uint64_t next_w = 0, next_r = 0;
    /* 40 rounds of 37 writes wrap the 64-slot ring many times; reads of
     * varying size cross the wrap point. */
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 37; i++) {
            coroscope_event e = ev_of(next_w++);
            CHECK_EQ_ERR(cs_ring_write(&r, &e), 0);
        }
        CHECK_EQ_ERR(cs_ring_flush(&r), 0);
        for (;;) {
            ssize_t n = cs_ring_read(&r, out, (size_t)(round % 13) + 1);
            REQUIRE(n >= 0);
            if (n == 0) break;
            for (ssize_t k = 0; k < n; k++) {
                coroscope_event want = ev_of(next_r++);
                if (!same_bytes(&out[k], &want)) {
                    cs_test_fail(__FILE__, __LINE__, "record %lu differs (got a0=%lu)", (unsigned long)(next_r - 1),
                                 (unsigned long)out[k].a[0]);
                    cs_test_abort();
                }
            }
        }
    }
    CHECK_EQ_LONG(next_r, next_w);
    CHECK_EQ_LONG(atomic_load(&r.hdr->dropped), 0);
    CHECK_EQ_LONG(r.hdr->producer_tid, 1234);
    CHECK_EQ_LONG(r.hdr->worker, 3);
    cs_ring_destroy(&r);
}

TEST(records_become_visible_only_when_a_batch_fills_or_the_producer_flushes)
{
    cs_ring r;
    REQUIRE(cs_ring_create(&r, 1024, 0, COROSCOPE_NO_WORKER) == 0);
    REQUIRE(r.batch == CS_RING_BATCH);
    coroscope_event out[64];
    for (uint64_t i = 0; i < CS_RING_BATCH - 1; i++) {
        coroscope_event e = ev_of(i);
        CHECK_EQ_ERR(cs_ring_write(&r, &e), 0);
    }
    CHECK_EQ_LONG(cs_ring_read(&r, out, 64), 0);
    coroscope_event e = ev_of(CS_RING_BATCH - 1);
    CHECK_EQ_ERR(cs_ring_write(&r, &e), 0); /* the batch is full: published */
    CHECK_EQ_LONG(cs_ring_read(&r, out, 64), CS_RING_BATCH);
    e = ev_of(CS_RING_BATCH);
    CHECK_EQ_ERR(cs_ring_write(&r, &e), 0);
    CHECK_EQ_LONG(cs_ring_read(&r, out, 64), 0);
    CHECK_EQ_ERR(cs_ring_flush(&r), 0);
    CHECK_EQ_LONG(cs_ring_read(&r, out, 64), 1);
    CHECK(same_bytes(&out[0], &e));
    cs_ring_destroy(&r);
}

TEST(a_full_ring_drops_then_emits_exactly_one_drop_record_with_the_exact_count_and_first_and_last_timestamps)
{
    enum { CAP = 16 };
    cs_ring r;
    REQUIRE(cs_ring_create(&r, CAP, 77, 2) == 0);
    coroscope_event out[64];
    for (uint64_t i = 0; i < CAP; i++) {
        coroscope_event e = ev_of(i);
        CHECK_EQ_ERR(cs_ring_write(&r, &e), 0);
    }
    /* Full: 5 records are lost (ts 1000+100 .. 1000+104). */
    for (uint64_t i = 100; i < 105; i++) {
        coroscope_event e = ev_of(i);
        CHECK_EQ_ERR(cs_ring_write(&r, &e), ENOBUFS);
    }
    CHECK_EQ_LONG(atomic_load(&r.hdr->dropped), 5);
    CHECK_EQ_LONG(atomic_load(&r.hdr->drop_pending), 5);
    CHECK_EQ_LONG(atomic_load(&r.hdr->drop_first_ts), 1100);
    CHECK_EQ_LONG(atomic_load(&r.hdr->drop_last_ts), 1104);
    /* No room, so flush cannot report the loss yet. */
    CHECK_EQ_ERR(cs_ring_flush(&r), ENOBUFS);

    /* Nothing unread was overwritten: the 16 originals, intact. Read 4. */
    REQUIRE(cs_ring_read(&r, out, 4) == 4);
    for (uint64_t i = 0; i < 4; i++) {
        coroscope_event want = ev_of(i);
        CHECK(same_bytes(&out[i], &want));
    }
    /* Room again: the next write first reports the loss, then goes on. */
    coroscope_event x = ev_of(200);
    CHECK_EQ_ERR(cs_ring_write(&r, &x), 0);
    CHECK_EQ_LONG(atomic_load(&r.hdr->drop_pending), 0);
    CHECK_EQ_ERR(cs_ring_flush(&r), 0);
    ssize_t n = cs_ring_read(&r, out, 64);
    REQUIRE(n == CAP - 4 + 2);
    for (uint64_t i = 4; i < CAP; i++) {
        coroscope_event want = ev_of(i);
        CHECK(same_bytes(&out[i - 4], &want));
    }
    const coroscope_event *d = &out[CAP - 4];
    CHECK_EQ_LONG(d->kind, COROSCOPE_EV_DROP);
    CHECK_EQ_LONG(d->a[0], 5);
    CHECK_EQ_LONG(d->a[1], 1100);
    CHECK_EQ_LONG(d->a[2], 1104);
    CHECK_EQ_LONG(d->a[3], 0);
    CHECK_EQ_LONG(d->ts, 1104);
    CHECK_EQ_LONG(d->tid, 77);
    CHECK_EQ_LONG(d->worker, 2);
    CHECK_EQ_LONG(d->co, 0);
    CHECK(same_bytes(&out[CAP - 3], &x));
    CHECK_EQ_LONG(cs_ring_read(&r, out, 64), 0);
    cs_ring_destroy(&r);
}

TEST(a_loss_reported_into_the_last_free_slot_counts_the_record_that_did_not_fit_in_the_next_drop)
{
    enum { CAP = 8 };
    cs_ring r;
    REQUIRE(cs_ring_create(&r, CAP, 0, 0) == 0);
    coroscope_event out[16];
    for (uint64_t i = 0; i < CAP; i++) {
        coroscope_event e = ev_of(i);
        CHECK_EQ_ERR(cs_ring_write(&r, &e), 0);
    }
    for (uint64_t i = 10; i < 13; i++) {
        coroscope_event e = ev_of(i);
        CHECK_EQ_ERR(cs_ring_write(&r, &e), ENOBUFS);
    }
    REQUIRE(cs_ring_read(&r, out, 1) == 1); /* one slot: the DROP takes it */
    coroscope_event y = ev_of(20);
    CHECK_EQ_ERR(cs_ring_write(&r, &y), ENOBUFS);
    REQUIRE(cs_ring_read(&r, out, 16) == CAP);
    CHECK_EQ_LONG(out[CAP - 1].kind, COROSCOPE_EV_DROP);
    CHECK_EQ_LONG(out[CAP - 1].a[0], 3);
    CHECK_EQ_LONG(out[CAP - 1].a[1], 1010);
    CHECK_EQ_LONG(out[CAP - 1].a[2], 1012);
    CHECK_EQ_ERR(cs_ring_flush(&r), 0); /* reports y's loss */
    REQUIRE(cs_ring_read(&r, out, 16) == 1);
    CHECK_EQ_LONG(out[0].kind, COROSCOPE_EV_DROP);
    CHECK_EQ_LONG(out[0].a[0], 1);
    CHECK_EQ_LONG(out[0].a[1], 1020);
    CHECK_EQ_LONG(out[0].a[2], 1020);
    CHECK_EQ_LONG(atomic_load(&r.hdr->dropped), 4);
    cs_ring_destroy(&r);
}

/* ---- two threads, slow consumer ------------------------------------------------- */

#define STRESS_N 10000000ull

typedef struct {
    cs_ring *r;
    atomic_int done;
    uint64_t produced, refused;
} stress;

static void *producer(void *arg)
{
    stress *s = arg;
    for (uint64_t i = 0; i < STRESS_N; i++) {
        coroscope_event e = ev_of(i);
        if (cs_ring_write(s->r, &e)) s->refused++;
        s->produced++;
    }
    while (cs_ring_flush(s->r) != 0) /* the last loss needs a free slot */
        usleep(100);
    atomic_store(&s->done, 1);
    return NULL;
}

TEST(a_slow_consumer_on_another_thread_reads_every_record_in_order_or_a_drop_that_accounts_for_it_exactly)
{
    cs_ring r;
    REQUIRE(cs_ring_create(&r, 4096, 0, 0) == 0);
    stress s = {.r = &r};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, producer, &s) == 0);
    static coroscope_event out[256];
    uint64_t next = 0, records = 0, drops = 0, lost = 0, reads = 0;
    for (;;) {
        int was_done = atomic_load(&s.done);
        ssize_t n = cs_ring_read(&r, out, 1 + (reads % 256));
        REQUIRE(n >= 0);
        if (n == 0) {
            if (was_done) break;
            continue;
        }
        if (++reads % 512 == 0) usleep(200); /* slow consumer: the producer overruns it */
        for (ssize_t k = 0; k < n; k++) {
            const coroscope_event *e = &out[k];
            if (e->kind == COROSCOPE_EV_DROP) {
                /* the loss is exactly records next .. next+a0-1 */
                if (e->a[0] == 0 || e->a[1] != 1000 + next || e->a[2] != 1000 + next + e->a[0] - 1) {
                    cs_test_fail(__FILE__, __LINE__, "DROP at %lu: count %lu first %lu last %lu", (unsigned long)next,
                                 (unsigned long)e->a[0], (unsigned long)e->a[1], (unsigned long)e->a[2]);
                    cs_test_abort();
                }
                next += e->a[0];
                lost += e->a[0];
                drops++;
                continue;
            }
            coroscope_event want = ev_of(next);
            if (!same_bytes(e, &want)) {
                cs_test_fail(__FILE__, __LINE__, "expected record %lu, got kind %d a0 %lu", (unsigned long)next,
                             e->kind, (unsigned long)e->a[0]);
                cs_test_abort();
            }
            next++;
            records++;
        }
    }
    pthread_join(t, NULL);
    printf("records %lu, lost %lu in %lu DROP records\n", (unsigned long)records, (unsigned long)lost,
           (unsigned long)drops);
    CHECK_EQ_LONG(next, STRESS_N);
    CHECK_EQ_LONG(records + lost, STRESS_N);
    CHECK_EQ_LONG(lost, s.refused);
    CHECK_EQ_LONG(atomic_load(&r.hdr->dropped), s.refused);
    CHECK_GT_LONG(drops, 0);      /* the consumer really was overrun... */
    CHECK_GT_LONG(records, 4096); /* ...and really read */
    cs_ring_destroy(&r);
}

/* ---- overwrite mode (the flight recorder) ------------------------------------------- */

/* Like ev_of, but every `every` records one is a THREAD record (the point
 * where a consumer may resynchronise after a gap). */
static coroscope_event flight_ev(uint64_t seq, uint64_t every)
{
    coroscope_event e = ev_of(seq);
    if (seq % every == 0) e.kind = COROSCOPE_EV_THREAD;
    return e;
}

TEST(an_overwriting_ring_keeps_the_most_recent_records_and_a_consumer_starts_at_a_thread_record)
{
    cs_ring r;
    REQUIRE(cs_ring_create(&r, 256, 0, 0) == 0);
    cs_ring_set_overwrite(&r, 1);
    const uint64_t total = 256 * 10 + 17;
    for (uint64_t i = 0; i < total; i++) {
        coroscope_event e = flight_ev(i, 32);
        CHECK_EQ_ERR(cs_ring_write(&r, &e), 0); /* never refused: the oldest chunk is given up */
    }
    CHECK_EQ_ERR(cs_ring_flush(&r), 0);
    CHECK_EQ_LONG(atomic_load(&r.hdr->dropped), 0);
    uint64_t given = atomic_load(&r.hdr->overwritten);
    CHECK_EQ_LONG(given % 32, 0); /* whole chunks of capacity / 8 */
    CHECK_EQ_LONG(total - given, atomic_load(&r.hdr->head) - atomic_load(&r.hdr->tail));
    CHECK_GE_LONG(total - given, 256 - 32); /* at least 7/8 of the ring is kept */

    /* An inspector arrives (another handle on the same memfd), turns
     * overwrite mode off, and reads: the records from the first THREAD
     * record after the kept window's start, in order, up to the last one. */
    cs_ring c;
    REQUIRE(cs_ring_attach(&c, r.fd) == 0);
    cs_ring_set_overwrite(&c, 0);
    coroscope_event out[512];
    ssize_t n = cs_ring_read(&c, out, 512);
    REQUIRE(n > 0);
    uint64_t first = given % 32 == 0 ? given : given + (32 - given % 32); /* the first THREAD in the window */
    CHECK_EQ_LONG(out[0].kind, COROSCOPE_EV_THREAD);
    CHECK_EQ_LONG(out[0].a[0], first);
    CHECK_EQ_LONG((uint64_t)n, total - first);
    for (ssize_t k = 0; k < n; k++) {
        coroscope_event want = flight_ev(first + (uint64_t)k, 32);
        if (!same_bytes(&out[k], &want)) {
            cs_test_fail(__FILE__, __LINE__, "record %ld differs", (long)k);
            break;
        }
    }
    /* Overwrite mode is off now: a full ring drops again (and says so). */
    for (uint64_t i = 0; i < 300; i++) {
        coroscope_event e = flight_ev(total + i, 32);
        cs_ring_write(&r, &e);
    }
    CHECK_EQ_LONG(atomic_load(&r.hdr->dropped), 300 - 256);
    CHECK_EQ_LONG(atomic_load(&r.hdr->overwritten), given);
    cs_ring_detach(&c);
    cs_ring_destroy(&r);
}

TEST(a_gap_drops_records_up_to_the_next_thread_record_but_keeps_string_definitions)
{
    cs_ring r;
    REQUIRE(cs_ring_create(&r, 64, 0, 0) == 0);
    cs_ring c;
    REQUIRE(cs_ring_attach(&c, r.fd) == 0);
    cs_ring_set_overwrite(&r, 1);
    /* 64 + 8 records: the producer gives up records 0..7; record 9 is a
     * STRING, 12 a THREAD. */
    for (uint64_t i = 0; i < 72; i++) {
        coroscope_event e = ev_of(i);
        if (i == 9) e.kind = COROSCOPE_EV_STRING;
        if (i == 12) e.kind = COROSCOPE_EV_THREAD;
        CHECK_EQ_ERR(cs_ring_write(&r, &e), 0);
    }
    CHECK_EQ_ERR(cs_ring_flush(&r), 0);
    coroscope_event out[128];
    ssize_t n = cs_ring_read(&c, out, 128);
    CHECK_EQ_LONG(c.c_given_up, 8);
    CHECK_EQ_LONG(c.c_skipped, 3); /* 8, 10, 11 */
    REQUIRE(n == 72 - 8 - 3);
    CHECK_EQ_LONG(out[0].a[0], 9);
    CHECK_EQ_LONG(out[0].kind, COROSCOPE_EV_STRING);
    CHECK_EQ_LONG(out[1].a[0], 12);
    CHECK_EQ_LONG(out[n - 1].a[0], 71);
    cs_ring_detach(&c);
    cs_ring_destroy(&r);
}

typedef struct flight {
    cs_ring *r;
    _Atomic int stop;
    uint64_t written;
    _Atomic uint64_t progress; /* written, for the reader to wait on */
} flight;

static void *flight_producer(void *arg)
{
    flight *f = arg;
    while (!atomic_load(&f->stop)) {
        coroscope_event e = flight_ev(f->written, 64);
        if (cs_ring_write(&f->r[0], &e) == 0)
            atomic_store_explicit(&f->progress, ++f->written, memory_order_relaxed);
        else
            usleep(50); /* overwrite mode is off and the ring is full: let the consumer catch up */
    }
    cs_ring_flush(f->r);
    return NULL;
}

/* Check one record read from a flight ring: intact bytes, after `*next`
 * (a jump only to a THREAD record: resynchronised after a gap). */
static int flight_check(const coroscope_event *e, uint64_t *next, uint64_t *gaps, int round)
{
    if (e->kind == COROSCOPE_EV_DROP)
        return 0; /* overwrite mode off, ring full: the producer retries the refused record */
    uint64_t seq = e->a[0];
    coroscope_event want = flight_ev(seq, 64);
    if (!same_bytes(e, &want)) {
        cs_test_fail(__FILE__, __LINE__, "round %d: record a0=%lu is torn (overwritten while read)", round,
                     (unsigned long)seq);
        return -1;
    }
    if (*next != UINT64_MAX && seq != *next) {
        if (seq < *next || e->kind != COROSCOPE_EV_THREAD) {
            cs_test_fail(__FILE__, __LINE__, "round %d: expected record %lu, got %lu (kind %d)", round,
                         (unsigned long)*next, (unsigned long)seq, e->kind);
            return -1;
        }
        (*gaps)++;
    }
    if (*next == UINT64_MAX && e->kind != COROSCOPE_EV_THREAD) {
        cs_test_fail(__FILE__, __LINE__, "round %d: the first record is not a THREAD record", round);
        return -1;
    }
    *next = seq + 1;
    return 0;
}

TEST(
    reading_an_overwriting_ring_while_its_producer_laps_the_reader_then_handing_it_over_never_yields_a_torn_or_reordered_record)
{
    uint64_t gaps = 0;
    for (int round = 0; round < 10; round++) {
        cs_ring r;
        REQUIRE(cs_ring_create(&r, 1024, 0, 0) == 0);
        cs_ring_set_overwrite(&r, 1);
        flight f = {.r = &r};
        pthread_t t;
        REQUIRE(pthread_create(&t, NULL, flight_producer, &f) == 0);
        /* Not a sleep: on a loaded machine the producer may not have run yet. */
        while (atomic_load_explicit(&f.progress, memory_order_relaxed) < 2 * 1024)
            sched_yield(); /* it lapped the ring at least once */
        cs_ring c;
        REQUIRE(cs_ring_attach(&c, r.fd) == 0);
        static coroscope_event out[300];
        uint64_t next = UINT64_MAX, gaps_before = gaps;
        /* Overwrite mode still on: the producer laps this slow reader, at
         * least once in this round, however the threads are scheduled. */
        for (int reads = 0; reads < 3000 || gaps == gaps_before; reads++) {
            ssize_t n = cs_ring_read(&c, out, 1 + (size_t)(reads % 300));
            REQUIRE(n >= 0);
            for (ssize_t k = 0; k < n; k++)
                if (flight_check(&out[k], &next, &gaps, round)) cs_test_abort();
            if (reads % 64 == 0) usleep(100);
        }
        /* The hand-over, while the producer writes: from here nothing is lost. */
        cs_ring_set_overwrite(&c, 0);
        uint64_t handed = atomic_load(&r.hdr->overwritten);
        for (int reads = 0; reads < 2000; reads++) {
            ssize_t n = cs_ring_read(&c, out, 300);
            REQUIRE(n >= 0);
            for (ssize_t k = 0; k < n; k++)
                if (flight_check(&out[k], &next, &gaps, round)) cs_test_abort();
        }
        atomic_store(&f.stop, 1);
        pthread_join(t, NULL);
        for (ssize_t n; (n = cs_ring_read(&c, out, 300)) > 0;)
            for (ssize_t k = 0; k < n; k++)
                if (flight_check(&out[k], &next, &gaps, round)) cs_test_abort();
        CHECK_EQ_LONG(next, f.written); /* read up to the last record written */
        /* At most the one chunk step the producer had decided on before it saw the flag. */
        CHECK_LE_LONG(atomic_load(&r.hdr->overwritten), handed + 1024 / 8);
        cs_ring_detach(&c);
        cs_ring_destroy(&r);
    }
    printf("gaps while lapped: %lu\n", (unsigned long)gaps);
    CHECK_GT_LONG(gaps, 0); /* the producer really lapped the reader */
}

/* A producer that laps a tiny ring as fast as it can. */
typedef struct lapper {
    cs_ring *r;
    _Atomic int stop;
    _Atomic uint64_t written;
} lapper;

static void *lapper_main(void *arg)
{
    lapper *l = arg;
    uint64_t i = 0;
    while (!atomic_load_explicit(&l->stop, memory_order_relaxed)) {
        coroscope_event e = flight_ev(i, 4);
        if (cs_ring_write(l->r, &e) == 0) atomic_store_explicit(&l->written, ++i, memory_order_relaxed);
    }
    return NULL;
}

/* The race under the lapping test's TSan failure: the consumer loads tail,
 * the producer gives a chunk up (moves tail) and publishes into it, the
 * consumer loads head: head is then more than a capacity past the tail it
 * holds, which is no corruption. A ring of 16 records is lapped every few
 * hundred nanoseconds, so the window is hit within some millions of reads (without the fix: most runs of this test failed). */
TEST(a_reader_lapped_between_its_loads_of_tail_and_head_retries_instead_of_reporting_corruption)
{
    cs_ring r, c;
    REQUIRE(cs_ring_create(&r, 16, 0, 0) == 0);
    cs_ring_set_overwrite(&r, 1);
    REQUIRE(cs_ring_attach(&c, r.fd) == 0);
    lapper l = {.r = &r};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, lapper_main, &l) == 0);
    while (atomic_load_explicit(&l.written, memory_order_relaxed) < 64)
        sched_yield(); /* it lapped the ring (on a loaded machine it may start late) */
    static coroscope_event out[8];
    uint64_t records = 0, given_before = atomic_load(&r.hdr->overwritten);
    long errors = 0, reads = 0;
    /* 40 M reads, or fewer once the producer gave 5 M records up or after
     * 5 s of effort (a slow build: TSan reads ~1 M/s), and at least until it
     * gave 100 k up (a slow producer). */
    uint64_t start = now_ns();
    int spent = 0;
    for (uint64_t given = 0; (reads < 40000000 && given < 5000000 && !spent) || given < 100000; reads++) {
        given = atomic_load(&r.hdr->overwritten) - given_before;
        if ((reads & 0xffff) == 0) spent = now_ns() - start > 5000000000ull;
        ssize_t n = cs_ring_read(&c, out, 1 + (size_t)(reads % 8));
        if (n < 0) {
            errors++;
            if (errors == 1) printf("read %ld: %s\n", reads, cs_ring_strerror((int)-n));
            c.c_tail = atomic_load(&c.hdr->tail);
            c.c_head = c.c_tail;
            continue;
        }
        for (ssize_t k = 0; k < n; k++) {
            coroscope_event want = flight_ev(out[k].a[0], 4);
            if (!same_bytes(&out[k], &want)) {
                cs_test_fail(__FILE__, __LINE__, "record a0=%lu is torn", (unsigned long)out[k].a[0]);
                cs_test_abort();
            }
        }
        records += (uint64_t)n;
    }
    atomic_store(&l.stop, 1);
    pthread_join(t, NULL);
    printf("reads %ld, records %lu, given up by the producer %lu, errors %ld\n", reads, (unsigned long)records,
           (unsigned long)(atomic_load(&r.hdr->overwritten) - given_before), errors);
    CHECK_EQ_LONG(errors, 0);
    CHECK_GT_LONG(records, 0);
    cs_ring_detach(&c);
    cs_ring_destroy(&r);
}

/* ---- attaching -------------------------------------------------------------------- */

TEST(a_consumer_in_another_process_attached_to_the_fd_reads_what_the_producer_wrote)
{
    cs_ring r;
    REQUIRE(cs_ring_create(&r, 256, 42, 1) == 0);
    for (uint64_t i = 0; i < 100; i++) {
        coroscope_event e = ev_of(i);
        CHECK_EQ_ERR(cs_ring_write(&r, &e), 0);
    }
    CHECK_EQ_ERR(cs_ring_flush(&r), 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        cs_ring c;
        if (cs_ring_attach(&c, r.fd) != 0) _exit(10);
        if (c.hdr->producer_tid != 42 || c.hdr->worker != 1) _exit(11);
        coroscope_event out[128];
        if (cs_ring_read(&c, out, 128) != 100) _exit(12);
        for (uint64_t i = 0; i < 100; i++) {
            coroscope_event want = ev_of(i);
            if (!same_bytes(&out[i], &want)) _exit(13);
        }
        cs_ring_detach(&c);
        _exit(0);
    }
    int st;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st));
    CHECK_EQ_LONG(WEXITSTATUS(st), 0);
    /* The child's reads gave the slots back through the shared tail. */
    CHECK_EQ_LONG(atomic_load(&r.hdr->tail), 100);
    cs_ring_destroy(&r);
}

/* An unsealed memfd of `size` bytes starting with header h. */
static int fake_ring(const cs_ring_header *h, size_t size)
{
    int fd = memfd_create("fake-ring", MFD_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, (off_t)size) == 0);
    size_t n = size < sizeof *h ? size : sizeof *h;
    REQUIRE(pwrite(fd, h, n, 0) == (ssize_t)n);
    return fd;
}

TEST(attaching_a_corrupt_or_foreign_file_returns_a_clear_error_and_never_crashes)
{
    cs_ring r, c;
    REQUIRE(cs_ring_create(&r, 1024, 0, 0) == 0);
    cs_ring_header *h = r.hdr;
    CHECK_EQ_ERR(cs_ring_attach(&c, r.fd), 0);
    cs_ring_detach(&c);

    /* Corrupt the real (sealed) ring's header one field at a time. */
    h->magic ^= 1;
    CHECK_EQ_ERR(cs_ring_attach(&c, r.fd), CS_RING_EMAGIC);
    h->magic ^= 1;
    h->version = 99;
    CHECK_EQ_ERR(cs_ring_attach(&c, r.fd), CS_RING_EVERSION);
    h->version = CS_RING_VERSION;
    h->record_size = 32;
    CHECK_EQ_ERR(cs_ring_attach(&c, r.fd), CS_RING_ERECSIZE);
    h->record_size = COROSCOPE_EVENT_SIZE;
    uint32_t bad_caps[] = {0, 1, 3, 1000, 1025, 0x80000000u, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad_caps / sizeof bad_caps[0]; i++) {
        h->capacity = bad_caps[i];
        CHECK_EQ_ERR(cs_ring_attach(&c, r.fd), CS_RING_ECAPACITY);
    }
    h->capacity = 2048; /* valid, but the file holds only 1024 slots */
    CHECK_EQ_ERR(cs_ring_attach(&c, r.fd), CS_RING_ETRUNCATED);
    h->capacity = 1024;
    CHECK_EQ_ERR(cs_ring_attach(&c, r.fd), 0);

    /* A corrupt head seen at read time. */
    atomic_store(&h->head, 1024 + 1);
    CHECK_EQ_LONG(cs_ring_read(&c, (coroscope_event[1]){0}, 1), -CS_RING_ECORRUPT);
    atomic_store(&h->head, (uint64_t)-1); /* "behind" the tail */
    CHECK_EQ_LONG(cs_ring_read(&c, (coroscope_event[1]){0}, 1), -CS_RING_ECORRUPT);
    atomic_store(&h->head, 0);
    CHECK_EQ_LONG(cs_ring_read(&c, (coroscope_event[1]){0}, 1), 0);
    cs_ring_detach(&c);

    /* Truncated memfds: shorter than the header page, shorter than the slots. */
    cs_ring_header good;
    memcpy(&good, h, sizeof good);
    int fd = fake_ring(&good, 100);
    CHECK_EQ_ERR(cs_ring_attach(&c, fd), CS_RING_ETRUNCATED);
    close(fd);
    fd = fake_ring(&good, 0);
    CHECK_EQ_ERR(cs_ring_attach(&c, fd), CS_RING_ETRUNCATED);
    close(fd);
    fd = fake_ring(&good, CS_RING_HEADER_SIZE + 1023 * 64);
    CHECK_EQ_ERR(cs_ring_attach(&c, fd), CS_RING_ETRUNCATED);
    close(fd);
    /* Right size, but it could be shrunk under the mapping. */
    fd = fake_ring(&good, CS_RING_HEADER_SIZE + 1024 * 64);
    CHECK_EQ_ERR(cs_ring_attach(&c, fd), CS_RING_EUNSEALED);
    close(fd);

    /* Not a ring at all. */
    int p[2];
    REQUIRE(pipe(p) == 0);
    CHECK_EQ_ERR(cs_ring_attach(&c, p[0]), CS_RING_EMAGIC);
    close(p[0]);
    close(p[1]);
    CHECK_EQ_ERR(cs_ring_attach(&c, p[0]), EBADF);
    fd = fake_ring(&(cs_ring_header){0}, CS_RING_HEADER_SIZE + 1024 * 64);
    CHECK_EQ_ERR(cs_ring_attach(&c, fd), CS_RING_EMAGIC);
    close(fd);

    /* Every code has a message naming the problem. */
    CHECK_STR_CONTAINS(cs_ring_strerror(CS_RING_EMAGIC), "magic");
    CHECK_STR_CONTAINS(cs_ring_strerror(CS_RING_ECAPACITY), "power of two");
    CHECK_STR_CONTAINS(cs_ring_strerror(CS_RING_ETRUNCATED), "smaller");
    cs_ring_destroy(&r);
}

TEST(creating_a_ring_with_a_capacity_that_is_not_a_power_of_two_in_range_fails_with_einval)
{
    cs_ring r;
    CHECK_EQ_ERR(cs_ring_create(&r, 0, 0, 0), EINVAL);
    CHECK_EQ_ERR(cs_ring_create(&r, 1, 0, 0), EINVAL);
    CHECK_EQ_ERR(cs_ring_create(&r, 1000, 0, 0), EINVAL);
    CHECK_EQ_ERR(cs_ring_create(&r, CS_RING_MAX_CAPACITY * 2, 0, 0), EINVAL);
    CHECK_EQ_ERR(cs_ring_create(&r, 2, 0, 0), 0);
    cs_ring_destroy(&r);
}

TEST(the_ring_memfd_is_mode_0600_owned_by_us_close_on_exec_and_sealed_against_resizing)
{
    cs_ring r;
    REQUIRE(cs_ring_create(&r, 1024, 0, 0) == 0);
    struct stat st;
    REQUIRE(fstat(r.fd, &st) == 0);
    CHECK_EQ_LONG(st.st_mode & 07777, 0600);
    CHECK(S_ISREG(st.st_mode));
    CHECK_EQ_LONG(st.st_uid, geteuid());
    CHECK_EQ_LONG(st.st_size, CS_RING_HEADER_SIZE + 1024 * 64);
    CHECK(fcntl(r.fd, F_GETFD) & FD_CLOEXEC);
    int seals = fcntl(r.fd, F_GET_SEALS);
    CHECK(seals & F_SEAL_SHRINK);
    CHECK(seals & F_SEAL_GROW);
    CHECK(seals & F_SEAL_SEAL);
    CHECK_ERRNO(ftruncate(r.fd, 4096), EPERM);
    cs_ring_destroy(&r);
}

/* ---- policy, doorbell, final account -------------------------------------------------- */

typedef struct slow_reader {
    cs_ring *r;
    int delay_ms; /* sleep this long before reading */
    _Atomic int done;
    uint64_t read;
} slow_reader;

static void *read_after_delay(void *arg)
{
    slow_reader *sr = arg;
    usleep((useconds_t)sr->delay_ms * 1000);
    coroscope_event out[64];
    while (!atomic_load(&sr->done)) {
        ssize_t n = cs_ring_read(sr->r, out, 64);
        if (n > 0)
            sr->read += (uint64_t)n;
        else
            usleep(100);
    }
    for (ssize_t n; (n = cs_ring_read(sr->r, out, 64)) > 0;) sr->read += (uint64_t)n;
    return NULL;
}

TEST(a_lossless_producer_finding_its_ring_full_waits_until_the_consumer_makes_room_and_loses_nothing)
{
    enum { CAP = 64, N = 5000 };
    cs_ring r;
    REQUIRE(cs_ring_create(&r, CAP, 1, 0) == 0);
    cs_ring_set_policy(&r, CS_RING_BLOCK, 0);
    slow_reader sr = {.r = &r, .delay_ms = 50};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, read_after_delay, &sr) == 0);
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < N; i++) {
        coroscope_event e = ev_of(i);
        CHECK_EQ_ERR(cs_ring_write(&r, &e), 0);
    }
    CHECK_EQ_ERR(cs_ring_flush(&r), 0);
    uint64_t took = now_ns() - t0;
    atomic_store(&sr.done, 1);
    pthread_join(t, NULL);
    CHECK_EQ_LONG(sr.read, N);
    CHECK_EQ_LONG(atomic_load(&r.hdr->dropped), 0);
    CHECK_GE_LONG(atomic_load(&r.hdr->waits), 1);
    CHECK_EQ_LONG(atomic_load(&r.hdr->stalls), 0);
    /* It did wait for the late consumer (it could not have written 5000
     * records into 64 slots otherwise). */
    CHECK_GE_LONG((long)took, 40 * 1000000L);
    cs_ring_destroy(&r);
}

TEST(a_lossless_producer_gives_up_after_its_bound_counts_the_loss_and_does_not_wait_again_until_the_consumer_moves)
{
    enum { CAP = 16 };
    cs_ring r;
    REQUIRE(cs_ring_create(&r, CAP, 1, 0) == 0);
    cs_ring_set_policy(&r, CS_RING_BLOCK, 100 * 1000000ull); /* 100 ms */
    for (uint64_t i = 0; i < CAP; i++) {
        coroscope_event e = ev_of(i);
        CHECK_EQ_ERR(cs_ring_write(&r, &e), 0);
    }
    /* Nobody reads: the first record that does not fit waits the bound... */
    uint64_t t0 = now_ns();
    coroscope_event e = ev_of(100);
    CHECK_EQ_ERR(cs_ring_write(&r, &e), ENOBUFS);
    uint64_t first = now_ns() - t0;
    CHECK_GE_LONG((long)first, 90 * 1000000L);
    /* ...and the next thousand do not wait at all: they are dropped. */
    for (uint64_t i = 101; i < 1101; i++) {
        coroscope_event x = ev_of(i);
        CHECK_EQ_ERR(cs_ring_write(&r, &x), ENOBUFS);
    }
    CHECK_EQ_LONG(atomic_load(&r.hdr->waits), 1);
    CHECK_EQ_LONG(atomic_load(&r.hdr->stalls), 1);
    CHECK_EQ_LONG(atomic_load(&r.hdr->drop_pending), 1001);
    /* The consumer comes back: the loss is reported, and the producer waits
     * for room again rather than dropping. */
    coroscope_event out[CAP + 4];
    REQUIRE(cs_ring_read(&r, out, CAP) == CAP);
    coroscope_event y = ev_of(2000);
    CHECK_EQ_ERR(cs_ring_write(&r, &y), 0);
    CHECK_EQ_ERR(cs_ring_flush(&r), 0);
    REQUIRE(cs_ring_read(&r, out, CAP) == 2);
    CHECK_EQ_LONG(out[0].kind, COROSCOPE_EV_DROP);
    CHECK_EQ_LONG(out[0].a[0], 1001);
    CHECK(same_bytes(&out[1], &y));
    slow_reader sr = {.r = &r, .delay_ms = 30};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, read_after_delay, &sr) == 0);
    for (uint64_t i = 3000; i < 3000 + 4 * CAP; i++) {
        coroscope_event x = ev_of(i);
        CHECK_EQ_ERR(cs_ring_write(&r, &x), 0);
    }
    CHECK_EQ_ERR(cs_ring_flush(&r), 0);
    atomic_store(&sr.done, 1);
    pthread_join(t, NULL);
    CHECK_EQ_LONG(sr.read, 4 * CAP);
    CHECK_EQ_LONG(atomic_load(&r.hdr->stalls), 1);
    cs_ring_destroy(&r);
}

typedef struct blocked_writer {
    cs_ring *r;
    int err;
    uint64_t took;
} blocked_writer;

static void *write_one_more(void *arg)
{
    blocked_writer *b = arg;
    coroscope_event e = ev_of(999);
    uint64_t t0 = now_ns();
    b->err = cs_ring_write(b->r, &e);
    b->took = now_ns() - t0;
    return NULL;
}

TEST(switching_a_waiting_producers_ring_to_drop_releases_it_at_once)
{
    enum { CAP = 16 };
    cs_ring r;
    REQUIRE(cs_ring_create(&r, CAP, 1, 0) == 0);
    cs_ring_set_policy(&r, CS_RING_BLOCK, 30 * 1000000000ull); /* 30 s: far longer than this test */
    for (uint64_t i = 0; i < CAP; i++) {
        coroscope_event e = ev_of(i);
        CHECK_EQ_ERR(cs_ring_write(&r, &e), 0);
    }
    blocked_writer b = {.r = &r};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, write_one_more, &b) == 0);
    while (!atomic_load(&r.hdr->waiting)) usleep(1000);
    cs_ring_set_policy(&r, CS_RING_DROP, 0); /* the inspector went away */
    pthread_join(t, NULL);
    CHECK_EQ_ERR(b.err, ENOBUFS);
    CHECK_LT_LONG((long)b.took, 10 * 1000000000L);
    CHECK_EQ_LONG(atomic_load(&r.hdr->dropped), 1);
    cs_ring_destroy(&r);
}

TEST(a_sleeping_consumer_is_woken_through_its_doorbell_once_a_quarter_of_the_ring_is_unread_and_not_before)
{
    enum { CAP = 256 };
    cs_ring r;
    REQUIRE(cs_ring_create(&r, CAP, 1, 0) == 0);
    int bell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    REQUIRE(bell >= 0);
    cs_ring_set_doorbell(&r, bell);
    CHECK_EQ_LONG(r.hdr->watermark, CAP / 4);
    CHECK_EQ_LONG(cs_ring_arm(&r), 1);
    struct pollfd p = {.fd = bell, .events = POLLIN};
    uint64_t i = 0;
    for (; i < CAP / 4 - 1; i++) {
        coroscope_event e = ev_of(i);
        CHECK_EQ_ERR(cs_ring_write(&r, &e), 0);
        CHECK_EQ_ERR(cs_ring_flush(&r), 0);
    }
    CHECK_EQ_LONG(poll(&p, 1, 0), 0); /* below the watermark: nobody rang */
    coroscope_event e = ev_of(i++);
    CHECK_EQ_ERR(cs_ring_write(&r, &e), 0);
    CHECK_EQ_ERR(cs_ring_flush(&r), 0);
    CHECK_EQ_LONG(poll(&p, 1, 0), 1); /* at the watermark: rung, once */
    uint64_t v = 0;
    CHECK_EQ_LONG(read(bell, &v, sizeof v), (long)sizeof v);
    CHECK_EQ_LONG(v, 1);
    CHECK_EQ_LONG(atomic_load(&r.hdr->sleeping), 0);
    for (int k = 0; k < 10; k++, i++) {
        coroscope_event x = ev_of(i);
        CHECK_EQ_ERR(cs_ring_write(&r, &x), 0);
        CHECK_EQ_ERR(cs_ring_flush(&r), 0);
    }
    CHECK_EQ_LONG(poll(&p, 1, 0), 0); /* the consumer is awake now: no more rings */
    /* A consumer must not sleep on a ring already at its watermark. */
    CHECK_EQ_LONG(cs_ring_arm(&r), 0);
    CHECK_EQ_LONG(atomic_load(&r.hdr->sleeping), 0);
    close(bell);
    cs_ring_destroy(&r);
}

TEST(a_loss_pending_at_the_end_is_taken_exactly_once_by_either_the_consumer_or_the_producer)
{
    enum { CAP = 8 };
    cs_ring r;
    REQUIRE(cs_ring_create(&r, CAP, 5, 1) == 0);
    for (uint64_t i = 0; i < CAP + 3; i++) {
        coroscope_event e = ev_of(i);
        cs_ring_write(&r, &e);
    }
    coroscope_event out[CAP + 2], d;
    REQUIRE(cs_ring_read(&r, out, CAP + 2) == CAP);
    /* The consumer ends the stream: it takes the 3 lost records... */
    CHECK_EQ_LONG(cs_ring_take_pending(&r, &d), 3);
    CHECK_EQ_LONG(d.kind, COROSCOPE_EV_DROP);
    CHECK_EQ_LONG(d.a[0], 3);
    CHECK_EQ_LONG(d.a[1], 1000 + CAP);
    CHECK_EQ_LONG(d.a[2], 1000 + CAP + 2);
    CHECK_EQ_LONG(d.tid, 5);
    CHECK_EQ_LONG(d.worker, 1);
    CHECK_EQ_LONG(cs_ring_take_pending(&r, &d), 0);
    /* ...so the producer, finding room later, reports nothing twice. */
    coroscope_event x = ev_of(50);
    CHECK_EQ_ERR(cs_ring_write(&r, &x), 0);
    CHECK_EQ_ERR(cs_ring_flush(&r), 0);
    REQUIRE(cs_ring_read(&r, out, CAP) == 1);
    CHECK(same_bytes(&out[0], &x));
    /* And a loss the producer reported itself is not taken again. */
    for (uint64_t i = 0; i < CAP + 2; i++) {
        coroscope_event e = ev_of(100 + i);
        cs_ring_write(&r, &e);
    }
    REQUIRE(cs_ring_read(&r, out, 1) == 1);
    CHECK_EQ_ERR(cs_ring_flush(&r), 0); /* the DROP for 2 goes into the freed slot */
    CHECK_EQ_LONG(cs_ring_take_pending(&r, &d), 0);
    cs_ring_destroy(&r);
}
