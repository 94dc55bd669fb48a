/*
 * test_wire.c — the wire layer around the rings (native/wire): the one
 * consumer hands records over in time order across rings and batches (its
 * low watermark, bounded in latency and memory), and the control channel's
 * line splitter gives each line the fd that came with it, whatever junk
 * came before; and where a reader looks for an engine's control socket.
 *
 * Links libcoroscope-trace.a (the wire layer as the tools and the addon use
 * it); the producers are real event rings on real threads.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "wire/consumer.h"
#include "wire/control_path.h"
#include "wire/recv_fds.h"
#include "wire/ring.h"

/* ---- the consumer's order ----------------------------------------------------------------- */

typedef struct collected {
    coroscope_event ev[4096];
    size_t n;
    size_t batches;
} collected;

static void collect(void *ctx, coroscope_event *ev, size_t n)
{
    collected *c = ctx;
    for (size_t i = 0; i < n; i++) {
        REQUIRE(c->n < sizeof c->ev / sizeof c->ev[0]);
        c->ev[c->n++] = ev[i];
    }
    c->batches++;
}

static coroscope_event rec(uint16_t kind, uint64_t co, uint64_t a0)
{
    coroscope_event e;
    memset(&e, 0, sizeof e);
    e.ts = now_ns();
    e.kind = kind;
    e.co = co;
    e.a[0] = a0;
    return e;
}

/* Index of the first record of `kind` for coroutine co, or -1. */
static long find(const collected *c, uint16_t kind, uint64_t co)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->ev[i].kind == kind && c->ev[i].co == co) return (long)i;
    return -1;
}

static int sorted_by_ts(const collected *c)
{
    for (size_t i = 1; i < c->n; i++)
        if (c->ev[i - 1].ts > c->ev[i].ts) return 0;
    return 1;
}

/* Two producer threads driven step by step: each step runs on its thread
 * when the test posts its semaphore, and the test waits for it to end. */
typedef struct stepper {
    cs_ring *ring;
    sem_t go, done;
    void (*step)(cs_ring *);
    pthread_t t;
} stepper;

static void *stepper_main(void *arg)
{
    stepper *s = arg;
    for (;;) {
        sem_wait(&s->go);
        if (!s->step) return NULL;
        s->step(s->ring);
        sem_post(&s->done);
    }
}

static void run_step(stepper *s, void (*step)(cs_ring *))
{
    s->step = step;
    sem_post(&s->go);
    while (sem_wait(&s->done) != 0)
        ;
}

static void stepper_start(stepper *s, cs_ring *r)
{
    memset(s, 0, sizeof *s);
    s->ring = r;
    sem_init(&s->go, 0, 0);
    sem_init(&s->done, 0, 0);
    REQUIRE(pthread_create(&s->t, NULL, stepper_main, s) == 0);
}

static void stepper_stop(stepper *s)
{
    s->step = NULL;
    sem_post(&s->go);
    pthread_join(s->t, NULL);
    sem_destroy(&s->go);
    sem_destroy(&s->done);
}

/* Thread A creates coroutine 7: the record is written but not published
 * (a producer publishes every CS_RING_BATCH records or when it flushes). */
static void a_creates(cs_ring *r)
{
    coroscope_event e = rec(COROSCOPE_EV_CO_CREATE, 7, 0);
    CHECK_EQ_ERR(cs_ring_write(r, &e), 0);
}

/* Worker B runs coroutine 7, which then moves to worker 1; B publishes. */
static void b_runs_and_migrates(cs_ring *r)
{
    coroscope_event e = rec(COROSCOPE_EV_CO_RUN, 7, 1);
    CHECK_EQ_ERR(cs_ring_write(r, &e), 0);
    e = rec(COROSCOPE_EV_CO_MIGRATE, 7, 0);
    e.a[1] = 1;
    CHECK_EQ_ERR(cs_ring_write(r, &e), 0);
    CHECK_EQ_ERR(cs_ring_flush(r), 0);
}

/* Thread A goes on and publishes, late. */
static void a_publishes(cs_ring *r)
{
    coroscope_event e = rec(COROSCOPE_EV_CO_CREATE, 8, 0);
    CHECK_EQ_ERR(cs_ring_write(r, &e), 0);
    CHECK_EQ_ERR(cs_ring_flush(r), 0);
}

/* Two rings — a plain thread's (a) and a worker's (b) — read by one
 * consumer whose hand-overs are collected in `out`. */
typedef struct two_rings {
    cs_ring a, b;
    cs_consumer c;
    cs_consumer_sink sink;
    collected out;
} two_rings;

static two_rings *two_rings_new(uint32_t b_capacity, size_t buffer, uint64_t hold_ns)
{
    two_rings *t = calloc(1, sizeof *t);
    REQUIRE(t != NULL);
    REQUIRE(cs_ring_create(&t->a, 1024, 0, COROSCOPE_NO_WORKER) == 0);
    REQUIRE(cs_ring_create(&t->b, b_capacity, 0, 0) == 0);
    REQUIRE(cs_consumer_init(&t->c, buffer) == 0);
    t->c.hold_ns = hold_ns;
    REQUIRE(cs_consumer_add(&t->c, &t->a) == 0);
    REQUIRE(cs_consumer_add(&t->c, &t->b) == 0);
    t->sink = (cs_consumer_sink){.ctx = &t->out, .batch = collect};
    return t;
}

static void two_rings_free(two_rings *t)
{
    cs_consumer_free(&t->c);
    cs_ring_destroy(&t->a);
    cs_ring_destroy(&t->b);
    free(t);
}

#define LONG_HOLD (600ull * 1000 * MS) /* a silent ring holds the others back as long as a test needs */

TEST(a_coroutines_create_is_handed_over_before_its_migrate_even_when_the_creating_thread_publishes_late)
{
    two_rings *t = two_rings_new(1024, 1024, LONG_HOLD);
    stepper a, b;
    stepper_start(&a, &t->a);
    stepper_start(&b, &t->b);

    run_step(&a, a_creates);
    run_step(&b, b_runs_and_migrates);
    CHECK_EQ_LONG(cs_consumer_drain(&t->c, &t->sink), 2); /* B's two records; A's create is not published yet */
    cs_consumer_flush(&t->c, &t->sink);
    run_step(&a, a_publishes);
    CHECK_EQ_LONG(cs_consumer_drain(&t->c, &t->sink), 2);
    cs_consumer_flush(&t->c, &t->sink);
    cs_consumer_finish(&t->c, &t->sink);

    stepper_stop(&a);
    stepper_stop(&b);
    const collected *out = &t->out;
    CHECK_EQ_LONG(out->n, 4);
    long create = find(out, COROSCOPE_EV_CO_CREATE, 7), run = find(out, COROSCOPE_EV_CO_RUN, 7),
         migrate = find(out, COROSCOPE_EV_CO_MIGRATE, 7);
    CHECK(create >= 0 && run >= 0 && migrate >= 0);
    CHECK_LT_LONG(create, run);
    CHECK_LT_LONG(run, migrate);
    CHECK(sorted_by_ts(out)); /* across the batches, not only inside each */
    CHECK_EQ_LONG(t->c.late, 0);
    two_rings_free(t);
}

TEST(a_ring_that_stays_silent_holds_the_others_back_no_longer_than_the_consumers_hold_time)
{
    two_rings *t = two_rings_new(1024, 1024, 20 * MS); /* a stays silent */
    for (uint64_t i = 0; i < 10; i++) {
        coroscope_event e = rec(COROSCOPE_EV_CO_YIELD, 1, i);
        CHECK_EQ_ERR(cs_ring_write(&t->b, &e), 0);
    }
    CHECK_EQ_ERR(cs_ring_flush(&t->b), 0);
    CHECK_EQ_LONG(cs_consumer_drain(&t->c, &t->sink), 10);
    /* Without finish: flushes alone let them go once hold_ns passed (the
     * deadline only ends a broken run; it asserts no speed). */
    uint64_t deadline = now_ns() + 30000 * MS;
    while (t->out.n < 10 && now_ns() < deadline) {
        usleep(5000);
        cs_consumer_flush(&t->c, &t->sink);
    }
    CHECK_EQ_LONG(t->out.n, 10);
    CHECK(sorted_by_ts(&t->out));
    CHECK_EQ_LONG(t->c.n, 0);
    two_rings_free(t);
}

TEST(a_full_buffer_hands_its_older_half_over_and_a_record_that_arrives_older_than_what_went_out_is_counted_late)
{
    two_rings *t = two_rings_new(2048, 256, LONG_HOLD); /* a lags */
    coroscope_event old = rec(COROSCOPE_EV_CO_CREATE, 99, 0);
    CHECK_EQ_ERR(cs_ring_write(&t->a, &old), 0); /* not published */
    for (uint64_t i = 0; i < 1000; i++) {
        coroscope_event e = rec(COROSCOPE_EV_CO_YIELD, 1, i);
        e.ts = old.ts + 1 + i;
        CHECK_EQ_ERR(cs_ring_write(&t->b, &e), 0);
    }
    CHECK_EQ_ERR(cs_ring_flush(&t->b), 0);
    CHECK_EQ_LONG(cs_consumer_drain(&t->c, &t->sink), 1000);
    CHECK_LE_LONG(t->c.n, 256);          /* memory: never more than the buffer */
    CHECK_GE_LONG(t->out.n, 1000 - 256); /* the rest went out, in order */
    CHECK(sorted_by_ts(&t->out));
    CHECK_EQ_LONG(t->c.late, 0);
    CHECK_EQ_ERR(cs_ring_flush(&t->a), 0);
    CHECK_EQ_LONG(cs_consumer_drain(&t->c, &t->sink), 1);
    cs_consumer_flush(&t->c, &t->sink);
    cs_consumer_finish(&t->c, &t->sink);
    CHECK_EQ_LONG(t->out.n, 1001);
    CHECK_EQ_LONG(t->c.late, 1);
    CHECK(find(&t->out, COROSCOPE_EV_CO_CREATE, 99) > 0);
    two_rings_free(t);
}

TEST(a_quiet_ring_whose_producer_publishes_each_record_at_once_does_not_hold_the_others_back)
{
    for (int each = 0; each <= 1; each++) {
        two_rings *t = two_rings_new(1024, 1024, LONG_HOLD); /* a (a plain thread) is silent */
        if (each) cs_ring_set_publish_each(&t->a);
        t->c.quiet_ns = 1 * MS;
        for (uint64_t i = 0; i < 10; i++) {
            coroscope_event e = rec(COROSCOPE_EV_CO_YIELD, 1, i);
            CHECK_EQ_ERR(cs_ring_write(&t->b, &e), 0);
        }
        CHECK_EQ_ERR(cs_ring_flush(&t->b), 0);
        usleep(3000); /* b's records are now more than quiet_ns older than a's emptiness */
        CHECK_EQ_LONG(cs_consumer_drain(&t->c, &t->sink), 10);
        cs_consumer_flush(&t->c, &t->sink);
        /* publish_each: a was read empty after b's records were stamped,
         * so nothing a publishes later can be older: they go out at once.
         * Otherwise a may hold unpublished older records: b's wait. */
        CHECK_EQ_LONG(t->out.n, each ? 10 : 0);
        coroscope_event e = rec(COROSCOPE_EV_CO_CREATE, 2, 0);
        CHECK_EQ_ERR(cs_ring_write(&t->a, &e), 0);
        CHECK_EQ_ERR(cs_ring_flush(&t->a), 0);
        CHECK_EQ_LONG(cs_consumer_drain(&t->c, &t->sink), 1);
        cs_consumer_flush(&t->c, &t->sink);
        cs_consumer_finish(&t->c, &t->sink);
        CHECK_EQ_LONG(t->out.n, 11);
        CHECK(sorted_by_ts(&t->out));
        CHECK_EQ_LONG(t->c.late, 0);
        two_rings_free(t);
    }
}

TEST(hand_overs_of_many_interleaved_runs_come_out_in_time_order_and_stable_across_many_rings)
{
    /* 12 rings, each publishing records whose ts interleave with the
     * others' and repeat (equal ts within a ring keep their ring order):
     * one hand-over merges 12 runs. */
    enum { NR = 12, PER = 300 };
    cs_ring r[NR];
    cs_consumer c;
    collected *out = calloc(1, sizeof *out);
    REQUIRE(out != NULL);
    REQUIRE(cs_consumer_init(&c, 4096) == 0);
    c.hold_ns = LONG_HOLD;
    for (int i = 0; i < NR; i++) {
        REQUIRE(cs_ring_create(&r[i], 1024, (uint32_t)i + 1, (uint32_t)i) == 0);
        REQUIRE(cs_consumer_add(&c, &r[i]) == 0);
    }
    uint64_t base = now_ns();
    for (int k = 0; k < PER; k++)
        for (int i = 0; i < NR; i++) {
            coroscope_event e = rec(COROSCOPE_EV_CO_YIELD, (uint64_t)i, (uint64_t)k);
            e.ts = base + (uint64_t)(k / 2) * 7 + (uint64_t)(i % 5); /* pairs of equal ts per ring */
            e.tid = (uint32_t)i + 1;
            CHECK_EQ_ERR(cs_ring_write(&r[i], &e), 0);
        }
    for (int i = 0; i < NR; i++) CHECK_EQ_ERR(cs_ring_flush(&r[i]), 0);
    cs_consumer_sink sink = {.ctx = out, .batch = collect};
    CHECK_EQ_LONG(cs_consumer_drain(&c, &sink), NR * PER);
    cs_consumer_flush(&c, &sink);
    cs_consumer_finish(&c, &sink);
    CHECK_EQ_LONG(out->n, NR * PER);
    CHECK(sorted_by_ts(out));
    uint64_t next[NR] = {0};
    int in_order = 1;
    for (size_t j = 0; j < out->n; j++) { /* each ring's records in its own order */
        uint64_t i = out->ev[j].co;
        in_order &= out->ev[j].a[0] == next[i];
        next[i]++;
    }
    CHECK(in_order);
    CHECK_EQ_LONG(c.late, 0);
    cs_consumer_free(&c);
    for (int i = 0; i < NR; i++) cs_ring_destroy(&r[i]);
    free(out);
}

/* ---- lines and their fds -------------------------------------------------------------------- */

typedef struct got_lines {
    char text[8][256];
    ino_t ino[8]; /* inode of the fd that came with the line (0: none) */
    int n;
    int keep; /* keep every fd (the test closes them) */
    int kept[8];
} got_lines;

static int on_line(void *ctx, const char *line, int fd)
{
    got_lines *g = ctx;
    REQUIRE(g->n < 8);
    snprintf(g->text[g->n], sizeof g->text[0], "%s", line ? line : "(too long)");
    struct stat st;
    g->ino[g->n] = fd >= 0 && fstat(fd, &st) == 0 ? st.st_ino : 0;
    g->kept[g->n] = g->keep ? fd : -1;
    g->n++;
    return g->keep && fd >= 0;
}

static ino_t ino_of(int fd)
{
    struct stat st;
    REQUIRE(fstat(fd, &st) == 0);
    return st.st_ino;
}

static void send_line(int sock, const char *text, int fd)
{
    REQUIRE(cs_send_fd(sock, text, strlen(text), fd) == (ssize_t)strlen(text));
}

TEST(after_junk_without_a_newline_each_later_announcement_line_still_gets_its_own_fd_and_the_junk_lines_fd_is_closed)
{
    signal(SIGPIPE, SIG_IGN);
    int sv[2], p1[2], p2[2], p3[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    REQUIRE(pipe(p1) == 0 && pipe(p2) == 0 && pipe(p3) == 0);
    cs_fd_lines b;
    REQUIRE(cs_fd_lines_init(&b, 4096) == 0);
    got_lines g = {.n = 0};
    /* junk, then an announcement that now ends the junk's line: the fd that
     * came with it is that line's (and nobody wants it) */
    send_line(sv[1], "garbage with no newline ", -1);
    CHECK_GT_LONG(cs_fd_lines_read(&b, sv[0], 0, on_line, &g), 0);
    ino_t ino1 = ino_of(p1[0]);
    send_line(sv[1], "{\"event\":\"ring\",\"tid\":1,\"worker\":-1}\n", p1[0]);
    close(p1[0]); /* the copy in flight is the only reader left */
    CHECK_GT_LONG(cs_fd_lines_read(&b, sv[0], 0, on_line, &g), 0);
    /* two announcements, each with its own fd, read in one go or not */
    g.keep = 1;
    send_line(sv[1], "{\"event\":\"ring\",\"tid\":2,\"worker\":0}\n", p2[0]);
    send_line(sv[1], "{\"reply\":1}\n", -1);
    send_line(sv[1], "{\"event\":\"ring\",\"tid\":3,\"worker\":1}\n", p3[0]);
    while (g.n < 4) CHECK_GT_LONG(cs_fd_lines_read(&b, sv[0], 0, on_line, &g), 0);
    REQUIRE(g.n == 4);
    CHECK_STR_CONTAINS(g.text[0], "garbage with no newline {\"event\":\"ring\",\"tid\":1");
    CHECK_EQ_LONG(g.ino[0], ino1);
    CHECK_EQ_LONG(g.ino[1], ino_of(p2[0]));
    CHECK_EQ_LONG(g.ino[2], 0);
    CHECK_EQ_LONG(g.ino[3], ino_of(p3[0]));
    /* the splitter closed the copy nobody kept: p1 has no reader left */
    CHECK_ERRNO(write(p1[1], "x", 1), EPIPE);
    CHECK_EQ_LONG(write(p2[1], "x", 1), 1); /* kept: its reader is g.kept[1] */
    close(g.kept[1]);
    close(g.kept[3]);
    cs_fd_lines_free(&b);
    int fds[] = {sv[0], sv[1], p1[1], p2[0], p2[1], p3[0], p3[1]};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) close(fds[i]);
}

TEST(an_fd_read_with_the_first_part_of_a_line_belongs_to_that_line_not_to_the_lines_read_before_it)
{
    int p[2];
    REQUIRE(pipe(p) == 0);
    cs_fd_lines b;
    REQUIRE(cs_fd_lines_init(&b, 4096) == 0);
    got_lines g = {.keep = 1};
    /* a read returns earlier lines glued before the message that carried the
     * fd, and a short buffer cuts that message: the fd's line is the one the
     * read ends in */
    const char first[] = "{\"reply\":1}\n{\"reply\":2}\n{\"event\":\"ri";
    int fd = dup(p[0]);
    cs_fd_lines_feed(&b, first, sizeof first - 1, &fd, 1, on_line, &g);
    CHECK_EQ_LONG(g.n, 2);
    const char rest[] = "ng\",\"tid\":4,\"worker\":0}\n";
    cs_fd_lines_feed(&b, rest, sizeof rest - 1, NULL, 0, on_line, &g);
    REQUIRE(g.n == 3);
    CHECK_EQ_LONG(g.ino[0], 0);
    CHECK_EQ_LONG(g.ino[1], 0);
    CHECK_STR_CONTAINS(g.text[2], "{\"event\":\"ring\",\"tid\":4");
    CHECK_EQ_LONG(g.ino[2], ino_of(p[0]));
    close(g.kept[2]);
    cs_fd_lines_free(&b);
    close(p[0]);
    close(p[1]);
}

TEST(a_line_longer_than_the_limit_is_reported_once_as_too_long_and_the_next_line_is_whole)
{
    cs_fd_lines b;
    REQUIRE(cs_fd_lines_init(&b, 16) == 0);
    got_lines g = {.n = 0};
    const char text[] = "0123456789abcdefghijklmnopqrstuvwxyz\nshort\n";
    cs_fd_lines_feed(&b, text, sizeof text - 1, NULL, 0, on_line, &g);
    REQUIRE(g.n == 2);
    CHECK_STR_CONTAINS(g.text[0], "(too long)");
    CHECK_STR_CONTAINS(g.text[1], "short");
    CHECK_EQ_LONG(strlen(g.text[1]), 5);
    cs_fd_lines_free(&b);
}

/* ---- where the control socket is (control_path.h) ------------------------------------------ */

TEST(the_control_directories_are_xdg_runtime_dir_then_tmp_and_a_relative_xdg_runtime_dir_is_not_one)
{
    char d[256], want[256];
    snprintf(want, sizeof want, "/tmp/coroscope-%u", (unsigned)getuid());
    REQUIRE(setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1) == 0);
    CHECK_EQ_LONG(cs_control_dir(0, d, sizeof d), 0);
    CHECK_STR_CONTAINS(d, "/run/user/4242/coroscope");
    CHECK_EQ_LONG(cs_control_dir(1, d, sizeof d), 0);
    CHECK_EQ_LONG(strcmp(d, want), 0);
    CHECK_EQ_LONG(cs_control_dir(2, d, sizeof d), ENOENT);
    REQUIRE(setenv("XDG_RUNTIME_DIR", "run/user", 1) == 0);
    CHECK_EQ_LONG(cs_control_dir(0, d, sizeof d), ENOENT);
    REQUIRE(unsetenv("XDG_RUNTIME_DIR") == 0);
    CHECK_EQ_LONG(cs_control_dir(0, d, sizeof d), ENOENT);
    CHECK_EQ_LONG(cs_control_dir(0, d, 4), ENOENT);
    CHECK_EQ_LONG(cs_control_dir(1, d, 8), ENAMETOOLONG);
}

TEST(a_reader_finds_a_socket_in_the_second_directory_when_the_first_has_none)
{
    char base[] = "/tmp/cs-ctlpath-XXXXXX";
    REQUIRE(mkdtemp(base) != NULL);
    REQUIRE(setenv("XDG_RUNTIME_DIR", base, 1) == 0);
    char first[256], second[256], path[256], found[256];
    REQUIRE(cs_control_dir(0, first, sizeof first) == 0);
    REQUIRE(cs_control_dir(1, second, sizeof second) == 0);
    REQUIRE(mkdir(first, 0700) == 0);
    mkdir(second, 0700);    /* may exist: other tests, other engines of this user */
    pid_t pid = 0x7ffffff0; /* no such process: its socket name is free */
    CHECK_EQ_LONG(cs_control_socket_find(pid, found, sizeof found), ENOENT);
    REQUIRE(cs_control_socket_in(second, pid, path, sizeof path) == 0);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    CHECK_EQ_LONG(cs_control_socket_find(pid, found, sizeof found), 0);
    CHECK_EQ_LONG(strcmp(found, path), 0);
    unlink(path);
    REQUIRE(cs_control_socket_in(first, pid, path, sizeof path) == 0);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    CHECK_EQ_LONG(cs_control_socket_find(pid, found, sizeof found), 0);
    CHECK_EQ_LONG(strcmp(found, path), 0);
    unlink(path);
    rmdir(first);
    rmdir(base);
    unsetenv("XDG_RUNTIME_DIR");
}
