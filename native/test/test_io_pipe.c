/*
 * test_io_pipe — read, write, readv, writev on pipes inside coroutines.
 *
 * The engine never sets O_NONBLOCK on a pipe (the flag is shared with every
 * other holder of the description): inside a coroutine the hook makes
 * non-blocking attempts without it and parks on the netpoller in between, so
 * the results must be those of the real blocking call on a plain thread —
 * partial reads, EOF, EAGAIN on pipes the program made non-blocking, full
 * blocking writes, PIPE_BUF atomicity, EBADF on the wrong end, 0 for 0 bytes —
 * and F_GETFL must show the program's flags only. No attempt may block a
 * worker, not even when coroutines of several workers share the pipe.
 *
 * Every scenario is written once and run twice: on a plain thread (the hooks
 * pass through: the real call) and inside a coroutine (hooked); the peer that
 * makes the pipe ready is a thread in the first case and a coroutine in the
 * second (peer_start). Tests that prove parking run with ONE worker: the peer
 * coroutine can only run if the coroutine waiting in read/write parked
 * instead of blocking the worker; if it blocked, the watchdog ends the test.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "hook_compare.h"

/* ---- a read on an empty pipe parks until another coroutine writes ---------------- */

enum made_by { MADE_BY_PIPE, MADE_ON_MAIN_THREAD, MADE_BY_RAW_SYSCALL };

typedef struct park_ctx {
    int how; /* enum made_by */
    int fds[2];
    _Atomic int reader_waiting;
    _Atomic int peer_saw_reader_waiting;
    outcome rd;
    long kfl_r, kfl_w; /* the kernel's flags after the read */
    char buf[100];
} park_ctx;

static void *peer_writes_hello(void *arg)
{
    park_ctx *c = arg;
    pause_ms(20);
    atomic_store(&c->peer_saw_reader_waiting, atomic_load(&c->reader_waiting));
    CHECK_EQ_LONG(write(c->fds[1], "hello", 5), 5);
    return NULL;
}

static void *read_waits_for_peer(void *arg)
{
    park_ctx *c = arg;
    if (c->how == MADE_BY_PIPE)
        REQUIRE(pipe(c->fds) == 0);
    else if (c->how == MADE_BY_RAW_SYSCALL)
        REQUIRE(syscall(SYS_pipe2, c->fds, 0) == 0);
    peer p;
    peer_start(&p, peer_writes_hello, c);
    atomic_store(&c->reader_waiting, 1);
    c->rd = OUTCOME(read(c->fds[0], c->buf, sizeof c->buf));
    atomic_store(&c->reader_waiting, 0);
    peer_join(&p);
    c->kfl_r = kernel_fl(c->fds[0]);
    c->kfl_w = kernel_fl(c->fds[1]);
    CHECK(!memcmp(c->buf, "hello", 5));
    if (c->how != MADE_ON_MAIN_THREAD) {
        close(c->fds[0]);
        close(c->fds[1]);
    }
    return NULL;
}

static void read_parks_until_peer_writes(int how)
{
    configure_workers(1);
    watchdog(10);
    park_ctx t = {.how = how}, c = {.how = how};
    if (how == MADE_ON_MAIN_THREAD) {
        REQUIRE(pipe(t.fds) == 0);
        REQUIRE(pipe(c.fds) == 0);
    }
    run_on_thread(read_waits_for_peer, &t);
    run_in_coroutine(read_waits_for_peer, &c);
    CHECK_OUTCOME(c.rd, 5, 0);
    CHECK_SAME_OUTCOME(t.rd, c.rd);
    CHECK(atomic_load(&c.peer_saw_reader_waiting)); /* the peer ran while the reader was in read() */
    /* the engine did not make the pipe non-blocking behind the program's back */
    CHECK_EQ_LONG(c.kfl_r, O_RDONLY);
    CHECK_EQ_LONG(c.kfl_w, O_WRONLY);
}

TEST(read_on_an_empty_pipe_parks_until_another_coroutine_of_the_same_worker_writes)
{
    read_parks_until_peer_writes(MADE_BY_PIPE);
}

TEST(read_on_an_empty_pipe_made_on_the_main_thread_parks_until_another_coroutine_writes)
{
    read_parks_until_peer_writes(MADE_ON_MAIN_THREAD);
}

TEST(read_on_an_empty_pipe_made_by_a_raw_syscall_parks_until_another_coroutine_writes)
{
    read_parks_until_peer_writes(MADE_BY_RAW_SYSCALL);
}

/* ---- partial reads --------------------------------------------------------------- */

typedef struct partial_ctx {
    outcome ready; /* 10 bytes already there, read of 100 */
    outcome later; /* empty pipe, read of 100, the peer writes 10 */
    outcome rest;  /* 3 bytes left after a read of 7 */
    outcome first7;
    int fds[2];
} partial_ctx;

static void *peer_writes_10(void *arg)
{
    partial_ctx *c = arg;
    pause_ms(20);
    CHECK_EQ_LONG(write(c->fds[1], "0123456789", 10), 10);
    return NULL;
}

static void *partial_reads(void *arg)
{
    partial_ctx *c = arg;
    char buf[100];
    REQUIRE(pipe(c->fds) == 0);
    CHECK_EQ_LONG(write(c->fds[1], "abcdefghij", 10), 10);
    c->ready = OUTCOME(read(c->fds[0], buf, sizeof buf));
    CHECK(!memcmp(buf, "abcdefghij", 10));

    peer p;
    peer_start(&p, peer_writes_10, c);
    c->later = OUTCOME(read(c->fds[0], buf, sizeof buf));
    peer_join(&p);
    CHECK(!memcmp(buf, "0123456789", 10));

    CHECK_EQ_LONG(write(c->fds[1], "ABCDEFGHIJ", 10), 10);
    c->first7 = OUTCOME(read(c->fds[0], buf, 7));
    c->rest = OUTCOME(read(c->fds[0], buf, sizeof buf));
    CHECK(!memcmp(buf, "HIJ", 3));
    close(c->fds[0]);
    close(c->fds[1]);
    return NULL;
}

TEST(read_of_100_bytes_returns_the_10_available_like_on_a_plain_thread)
{
    configure_workers(1);
    watchdog(10);
    partial_ctx t = {0}, c = {0};
    run_on_thread(partial_reads, &t);
    run_in_coroutine(partial_reads, &c);
    CHECK_OUTCOME(c.ready, 10, 0);
    CHECK_OUTCOME(c.later, 10, 0);
    CHECK_OUTCOME(c.first7, 7, 0);
    CHECK_OUTCOME(c.rest, 3, 0);
    CHECK_SAME_OUTCOME(t.ready, c.ready);
    CHECK_SAME_OUTCOME(t.later, c.later);
    CHECK_SAME_OUTCOME(t.first7, c.first7);
    CHECK_SAME_OUTCOME(t.rest, c.rest);
}

/* ---- EOF --------------------------------------------------------------------------- */

typedef struct eof_ctx {
    int fds[2];
    outcome data, eof_parked, eof_again, eof_closed_before;
} eof_ctx;

static void *peer_writes_then_closes(void *arg)
{
    eof_ctx *c = arg;
    pause_ms(20);
    CHECK_EQ_LONG(write(c->fds[1], "xyz", 3), 3);
    pause_ms(20);
    CHECK_EQ_LONG(close(c->fds[1]), 0);
    return NULL;
}

static void *eof_scenario(void *arg)
{
    eof_ctx *c = arg;
    char buf[64];
    REQUIRE(pipe(c->fds) == 0);
    peer p;
    peer_start(&p, peer_writes_then_closes, c);
    c->data = OUTCOME(read(c->fds[0], buf, sizeof buf));
    c->eof_parked = OUTCOME(read(c->fds[0], buf, sizeof buf)); /* waits for the close */
    peer_join(&p);
    c->eof_again = OUTCOME(read(c->fds[0], buf, sizeof buf));
    close(c->fds[0]);

    /* writer closed before the read starts */
    REQUIRE(pipe(c->fds) == 0);
    close(c->fds[1]);
    c->eof_closed_before = OUTCOME(read(c->fds[0], buf, sizeof buf));
    close(c->fds[0]);
    return NULL;
}

TEST(read_returns_0_at_eof_when_the_writer_coroutine_closes_its_end)
{
    configure_workers(1);
    watchdog(10);
    eof_ctx t = {0}, c = {0};
    run_on_thread(eof_scenario, &t);
    run_in_coroutine(eof_scenario, &c);
    CHECK_OUTCOME(c.data, 3, 0);
    CHECK_OUTCOME(c.eof_parked, 0, 0);
    CHECK_OUTCOME(c.eof_again, 0, 0);
    CHECK_OUTCOME(c.eof_closed_before, 0, 0);
    CHECK_SAME_OUTCOME(t.data, c.data);
    CHECK_SAME_OUTCOME(t.eof_parked, c.eof_parked);
    CHECK_SAME_OUTCOME(t.eof_again, c.eof_again);
    CHECK_SAME_OUTCOME(t.eof_closed_before, c.eof_closed_before);
}

/* ---- pipes the program made non-blocking ------------------------------------------ */

typedef struct nb_ctx {
    outcome pipe2_read, pipe2_readv, setfl_read, full_write, partial_write;
    long pipe2_ns, setfl_ns;
    long getfl_r, getfl_w;
} nb_ctx;

static void *nonblocking_scenario(void *arg)
{
    nb_ctx *c = arg;
    char buf[16];
    int fds[2];

    REQUIRE(pipe2(fds, O_NONBLOCK) == 0);
    uint64_t t0 = now_ns();
    c->pipe2_read = OUTCOME(read(fds[0], buf, sizeof buf));
    struct iovec iov = {buf, sizeof buf};
    c->pipe2_readv = OUTCOME(readv(fds[0], &iov, 1));
    c->pipe2_ns = (long)(now_ns() - t0);
    c->getfl_r = fcntl(fds[0], F_GETFL);
    c->getfl_w = fcntl(fds[1], F_GETFL);
    /* fill the pipe: the write that does not fit says EAGAIN, a partial one its count */
    static char big[1 << 20];
    long n = 0, r;
    while ((r = write(fds[1], big, 4096)) > 0) n += r;
    c->full_write = OUTCOME(write(fds[1], big, 4096));
    CHECK_EQ_LONG(read(fds[0], big, 100), 100); /* 100 bytes free */
    c->partial_write = OUTCOME(write(fds[1], big, 1 << 20));
    close(fds[0]);
    close(fds[1]);

    REQUIRE(pipe(fds) == 0);
    REQUIRE(fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK) == 0);
    t0 = now_ns();
    c->setfl_read = OUTCOME(read(fds[0], buf, sizeof buf));
    c->setfl_ns = (long)(now_ns() - t0);
    close(fds[0]);
    close(fds[1]);
    return NULL;
}

TEST(read_on_a_pipe_the_program_made_nonblocking_returns_eagain_at_once_like_on_a_plain_thread)
{
    configure_workers(1);
    watchdog(10);
    nb_ctx t = {0}, c = {0};
    run_on_thread(nonblocking_scenario, &t);
    run_in_coroutine(nonblocking_scenario, &c);
    CHECK_OUTCOME(c.pipe2_read, -1, EAGAIN);
    CHECK_OUTCOME(c.pipe2_readv, -1, EAGAIN);
    CHECK_OUTCOME(c.setfl_read, -1, EAGAIN);
    CHECK_OUTCOME(c.full_write, -1, EAGAIN);
    CHECK_SAME_OUTCOME(t.pipe2_read, c.pipe2_read);
    CHECK_SAME_OUTCOME(t.pipe2_readv, c.pipe2_readv);
    CHECK_SAME_OUTCOME(t.setfl_read, c.setfl_read);
    CHECK_SAME_OUTCOME(t.full_write, c.full_write);
    /* a non-blocking write into a nearly full pipe: whatever the kernel takes, on both */
    CHECK_SAME_OUTCOME(t.partial_write, c.partial_write);
    CHECK_EQ_LONG(c.getfl_r, t.getfl_r);
    CHECK_EQ_LONG(c.getfl_w, t.getfl_w);
    CHECK(c.getfl_r & O_NONBLOCK);
    CHECK_LT_LONG(c.pipe2_ns, 50 * MS);
    CHECK_LT_LONG(c.setfl_ns, 50 * MS);
}

/* ---- a 1 MiB write to a reader coroutine on the same worker ------------------------- */

#define BIG (1 << 20)

typedef struct big_ctx {
    int fds[2];
    unsigned char *src, *dst;
    outcome wr;
    long got;
    int use_writev;
} big_ctx;

static void *peer_reads_all(void *arg)
{
    big_ctx *c = arg;
    size_t chunk = 1;
    while (c->got < BIG) {
        size_t want = chunk < (size_t)(BIG - c->got) ? chunk : (size_t)(BIG - c->got);
        ssize_t r = read(c->fds[0], c->dst + c->got, want);
        if (r <= 0) {
            CHECK_GT_LONG(r, 0);
            break;
        }
        c->got += r;
        chunk = chunk * 3 + 1; /* odd sizes, growing: 1, 4, 13, 40, ... */
        if (chunk > 100000) chunk = 777;
    }
    return NULL;
}

static void *big_write_scenario(void *arg)
{
    big_ctx *c = arg;
    REQUIRE(pipe(c->fds) == 0);
    peer p;
    peer_start(&p, peer_reads_all, c);
    if (c->use_writev) {
        /* uneven pieces crossing PIPE_BUF boundaries */
        struct iovec iov[5];
        size_t cuts[6] = {0, 1, 5000, 5001, 700000, BIG};
        for (int i = 0; i < 5; i++) iov[i] = (struct iovec){c->src + cuts[i], cuts[i + 1] - cuts[i]};
        c->wr = OUTCOME(writev(c->fds[1], iov, 5));
    } else {
        c->wr = OUTCOME(write(c->fds[1], c->src, BIG));
    }
    peer_join(&p);
    close(c->fds[0]);
    close(c->fds[1]);
    return NULL;
}

static void big_write(int use_writev)
{
    configure_workers(1);
    watchdog(15);
    unsigned char *src = malloc(BIG);
    REQUIRE(src);
    for (size_t i = 0; i < BIG; i++) src[i] = pat(i);
    big_ctx t = {.src = src, .dst = calloc(1, BIG), .use_writev = use_writev};
    big_ctx c = {.src = src, .dst = calloc(1, BIG), .use_writev = use_writev};
    REQUIRE(t.dst && c.dst);
    run_on_thread(big_write_scenario, &t);
    run_in_coroutine(big_write_scenario, &c);
    CHECK_OUTCOME(c.wr, BIG, 0);
    CHECK_SAME_OUTCOME(t.wr, c.wr);
    CHECK_EQ_LONG(c.got, BIG);
    CHECK(!memcmp(src, c.dst, BIG)); /* every byte, in order */
    CHECK(!memcmp(src, t.dst, BIG));
}

TEST(write_of_1_mib_into_a_pipe_read_by_a_coroutine_of_the_same_worker_completes_in_order)
{
    big_write(0);
}

TEST(writev_of_1_mib_in_uneven_pieces_into_a_pipe_read_by_a_coroutine_completes_in_order)
{
    big_write(1);
}

/* The reader goes away in the middle of a blocking write: the write returns
 * the bytes it got through (the kernel's partial count), the next one EPIPE. */
typedef struct gone_ctx {
    int fds[2];
    outcome wr, next;
} gone_ctx;

static void *peer_reads_100000_then_closes(void *arg)
{
    gone_ctx *c = arg;
    static char sink[4096];
    long got = 0;
    while (got < 100000) {
        ssize_t r = read(c->fds[0], sink, sizeof sink < (size_t)(100000 - got) ? sizeof sink : (size_t)(100000 - got));
        if (r <= 0) break;
        got += r;
    }
    CHECK_EQ_LONG(got, 100000);
    pause_ms(20);
    close(c->fds[0]);
    return NULL;
}

static void *reader_gone_scenario(void *arg)
{
    gone_ctx *c = arg;
    static char src[BIG];
    REQUIRE(pipe(c->fds) == 0);
    peer p;
    peer_start(&p, peer_reads_100000_then_closes, c);
    c->wr = OUTCOME(write(c->fds[1], src, BIG));
    c->next = OUTCOME(write(c->fds[1], src, 10));
    peer_join(&p);
    close(c->fds[1]);
    return NULL;
}

TEST(a_blocking_write_whose_reader_coroutine_closes_midway_returns_the_partial_count_then_epipe)
{
    configure_workers(1);
    watchdog(10);
    signal(SIGPIPE, SIG_IGN);
    gone_ctx t = {0}, c = {0};
    run_on_thread(reader_gone_scenario, &t);
    run_in_coroutine(reader_gone_scenario, &c);
    /* the exact count depends on how full the pipe was at the close */
    CHECK_GE_LONG(t.wr.ret, 100000);
    CHECK_LE_LONG(t.wr.ret, 100000 + 65536);
    CHECK_GE_LONG(c.wr.ret, 100000);
    CHECK_LE_LONG(c.wr.ret, 100000 + 65536);
    CHECK_EQ_LONG(c.wr.err, 0);
    CHECK_OUTCOME(c.next, -1, EPIPE);
    CHECK_SAME_OUTCOME(t.next, c.next);
}

/* ---- PIPE_BUF atomicity with several writers --------------------------------------- */

#define WRITERS 4
#define MSGS    64

typedef struct atomic_ctx {
    int fds[2];
    size_t msg_len;
    long wrote[WRITERS];
} atomic_ctx;

typedef struct writer_arg {
    atomic_ctx *c;
    int id;
} writer_arg;

static void *atomic_writer(void *arg)
{
    writer_arg *a = arg;
    atomic_ctx *c = a->c;
    unsigned char *msg = malloc(c->msg_len);
    REQUIRE(msg);
    for (int s = 0; s < MSGS; s++) {
        msg[0] = (unsigned char)a->id;
        msg[1] = (unsigned char)s;
        memset(msg + 2, 'A' + a->id * 8 + (s & 7), c->msg_len - 2);
        ssize_t r = write(c->fds[1], msg, c->msg_len);
        CHECK_EQ_LONG(r, (long)c->msg_len);
        if (r > 0) c->wrote[a->id] += r;
        if (s % 5 == 0) coroscope_yield();
    }
    free(msg);
    return NULL;
}

static void *atomic_reader(void *arg)
{
    atomic_ctx *c = arg;
    size_t total = WRITERS * MSGS * c->msg_len, got = 0;
    unsigned char *all = malloc(total);
    REQUIRE(all);
    coroscope_co *w[WRITERS];
    writer_arg wa[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        wa[i] = (writer_arg){c, i};
        REQUIRE(coroscope_spawn(&w[i], "writer", atomic_writer, &wa[i]) == 0);
    }
    while (got < total) {
        ssize_t r = read(c->fds[0], all + got, total - got < 1000 ? total - got : 1000);
        if (r <= 0) {
            CHECK_GT_LONG(r, 0);
            break;
        }
        got += (size_t)r;
    }
    for (int i = 0; i < WRITERS; i++) CHECK_EQ_ERR(coroscope_join(w[i], NULL), 0);
    CHECK_EQ_LONG(got, total);
    int next[WRITERS] = {0};
    int torn = 0;
    for (size_t off = 0; off + c->msg_len <= got; off += c->msg_len) {
        unsigned char *m = all + off;
        int id = m[0], s = m[1];
        if (id >= WRITERS || s != next[id]) {
            torn++;
            continue;
        }
        next[id]++;
        for (size_t k = 2; k < c->msg_len; k++)
            if (m[k] != 'A' + id * 8 + (s & 7)) {
                torn++;
                break;
            }
    }
    CHECK_EQ_LONG(torn, 0);
    for (int i = 0; i < WRITERS; i++) CHECK_EQ_LONG(next[i], MSGS);
    free(all);
    return NULL;
}

/* Rounds per test: the races between coroutines of different workers are
 * rare per round; each round takes a few milliseconds. */
#define ROUNDS 20

static void open_fifo(int fds[2]);

static void atomic_writes(int workers, size_t msg_len, int fifo)
{
    configure_workers(workers);
    watchdog(15);
    if (workers > 1) spinners_start();
    for (int round = 0; round < ROUNDS && !test_failed(); round++) {
        atomic_ctx c = {.msg_len = msg_len};
        if (fifo)
            open_fifo(c.fds);
        else
            REQUIRE(pipe(c.fds) == 0);
        run_in_coroutine(atomic_reader, &c);
        for (int i = 0; i < WRITERS; i++) CHECK_EQ_LONG(c.wrote[i], (long)(MSGS * msg_len));
        close(c.fds[0]);
        close(c.fds[1]);
    }
    if (workers > 1) spinners_stop();
}

TEST(writes_of_pipe_buf_bytes_from_several_writer_coroutines_arrive_whole_on_one_worker)
{
    atomic_writes(1, PIPE_BUF, 0);
}

TEST(writes_of_pipe_buf_bytes_from_several_writer_coroutines_arrive_whole_on_several_workers)
{
    atomic_writes(4, PIPE_BUF, 0);
}

TEST(writes_of_pipe_buf_bytes_from_writer_coroutines_on_several_workers_into_a_fifo_arrive_whole)
{
    atomic_writes(4, PIPE_BUF, 1);
}

TEST(writes_of_100_bytes_from_several_writer_coroutines_arrive_whole)
{
    atomic_writes(1, 100, 0);
}

/* Several readers on several workers: a reader that sees POLLIN may lose the
 * bytes to another reader; it must park again, not block its worker in the
 * real read (the writer may be queued on that very worker). */

#define READERS 4
#define RMSGS   3000

typedef struct readers_ctx {
    int fds[2];
    _Atomic long got_bytes;
    _Atomic int eofs;
} readers_ctx;

static void *pipe_reader(void *arg)
{
    readers_ctx *c = arg;
    char buf[8];
    for (;;) {
        ssize_t r = read(c->fds[0], buf, sizeof buf);
        if (r == 0) {
            atomic_fetch_add(&c->eofs, 1);
            break;
        }
        if (r < 0) {
            CHECK_GE_LONG(r, 0);
            break;
        }
        atomic_fetch_add(&c->got_bytes, r);
    }
    return NULL;
}

static void *readers_scenario(void *arg)
{
    readers_ctx *c = arg;
    coroscope_co *rd[READERS];
    for (int i = 0; i < READERS; i++) REQUIRE(coroscope_spawn(&rd[i], "reader", pipe_reader, c) == 0);
    for (int m = 0; m < RMSGS; m++) {
        CHECK_EQ_LONG(write(c->fds[1], "12345678", 8), 8);
        if (m % 3 == 0) coroscope_yield();
    }
    close(c->fds[1]);
    for (int i = 0; i < READERS; i++) CHECK_EQ_ERR(coroscope_join(rd[i], NULL), 0);
    return NULL;
}

/* A fifo's two ends, opened without blocking; the read end is then made
 * blocking again (the program's view: a plain blocking fifo). */
static void open_fifo(int fds[2])
{
    char dir[] = "/tmp/cs_fifo_XXXXXX", path[64];
    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f", dir);
    REQUIRE(mkfifo(path, 0600) == 0);
    fds[0] = open(path, O_RDONLY | O_NONBLOCK);
    REQUIRE(fds[0] >= 0);
    fds[1] = open(path, O_WRONLY);
    REQUIRE(fds[1] >= 0);
    REQUIRE(fcntl(fds[0], F_SETFL, O_RDONLY) == 0);
    unlink(path);
    rmdir(dir);
}

static void shared_readers(int fifo)
{
    configure_workers(4);
    watchdog(15);
    spinners_start();
    for (int round = 0; round < ROUNDS && !test_failed(); round++) {
        readers_ctx c = {0};
        if (fifo)
            open_fifo(c.fds);
        else
            REQUIRE(pipe(c.fds) == 0);
        run_in_coroutine(readers_scenario, &c);
        CHECK_EQ_LONG(atomic_load(&c.got_bytes), RMSGS * 8);
        CHECK_EQ_LONG(atomic_load(&c.eofs), READERS);
        close(c.fds[0]);
    }
    spinners_stop();
}

TEST(reader_coroutines_on_several_workers_sharing_a_pipe_never_block_a_worker_in_read)
{
    shared_readers(0);
}

TEST(reader_coroutines_on_several_workers_sharing_a_fifo_never_block_a_worker_in_read)
{
    shared_readers(1);
}

/* ---- readv / writev ---------------------------------------------------------------- */

typedef struct vec_ctx {
    int fds[2];
    outcome wv, rv_ready, rv_parked, rv_partial;
    char a[4], b[8], whole[32];
} vec_ctx;

static void *peer_writevs(void *arg)
{
    vec_ctx *c = arg;
    pause_ms(20);
    struct iovec iov[3] = {{"ab", 2}, {"", 0}, {"cdefg", 5}};
    CHECK_EQ_LONG(writev(c->fds[1], iov, 3), 7);
    return NULL;
}

static void *vector_scenario(void *arg)
{
    vec_ctx *c = arg;
    REQUIRE(pipe(c->fds) == 0);
    struct iovec out[3] = {{"0123", 4}, {"456789", 6}, {"ABCDEFGHIJKL", 12}};
    c->wv = OUTCOME(writev(c->fds[1], out, 3));
    struct iovec in[2] = {{c->a, sizeof c->a}, {c->b, sizeof c->b}};
    c->rv_ready = OUTCOME(readv(c->fds[0], in, 2)); /* 12 of the 22 */
    CHECK(!memcmp(c->a, "0123", 4));
    CHECK(!memcmp(c->b, "456789AB", 8));
    struct iovec rest = {c->whole, sizeof c->whole};
    c->rv_partial = OUTCOME(readv(c->fds[0], &rest, 1)); /* the other 10 */
    CHECK(!memcmp(c->whole, "CDEFGHIJKL", 10));

    peer p;
    peer_start(&p, peer_writevs, c);
    memset(c->a, 0, sizeof c->a);
    memset(c->b, 0, sizeof c->b);
    c->rv_parked = OUTCOME(readv(c->fds[0], in, 2)); /* waits for the peer's 7 */
    peer_join(&p);
    CHECK(!memcmp(c->a, "abcd", 4));
    CHECK(!memcmp(c->b, "efg", 3));
    close(c->fds[0]);
    close(c->fds[1]);
    return NULL;
}

TEST(readv_parks_until_a_writev_from_another_coroutine_and_both_return_what_a_plain_thread_gets)
{
    configure_workers(1);
    watchdog(10);
    vec_ctx t = {0}, c = {0};
    run_on_thread(vector_scenario, &t);
    run_in_coroutine(vector_scenario, &c);
    CHECK_OUTCOME(c.wv, 22, 0);
    CHECK_OUTCOME(c.rv_ready, 12, 0);
    CHECK_OUTCOME(c.rv_partial, 10, 0);
    CHECK_OUTCOME(c.rv_parked, 7, 0);
    CHECK_SAME_OUTCOME(t.wv, c.wv);
    CHECK_SAME_OUTCOME(t.rv_ready, c.rv_ready);
    CHECK_SAME_OUTCOME(t.rv_partial, c.rv_partial);
    CHECK_SAME_OUTCOME(t.rv_parked, c.rv_parked);
}

/* ---- errors ----------------------------------------------------------------------- */

typedef struct err_ctx {
    outcome read_closed, write_closed, readv_bad_count, write_no_reader;
} err_ctx;

static void *errors_scenario(void *arg)
{
    err_ctx *c = arg;
    char buf[8];
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    struct iovec iov = {buf, sizeof buf};
    volatile int bad_count = -1;
    c->readv_bad_count = OUTCOME(readv(fds[0], &iov, bad_count));
    close(fds[0]);
    c->write_no_reader = OUTCOME(write(fds[1], "x", 1)); /* SIGPIPE ignored: EPIPE */
    close(fds[1]);
    c->read_closed = OUTCOME(read(fds[0], buf, sizeof buf));
    c->write_closed = OUTCOME(write(fds[1], "x", 1));
    return NULL;
}

TEST(pipe_errors_in_a_coroutine_are_those_of_a_plain_thread)
{
    watchdog(10);
    signal(SIGPIPE, SIG_IGN);
    err_ctx t = {0}, c = {0};
    run_on_thread(errors_scenario, &t);
    run_in_coroutine(errors_scenario, &c);
    CHECK_OUTCOME(c.read_closed, -1, EBADF);
    CHECK_OUTCOME(c.write_closed, -1, EBADF);
    CHECK_OUTCOME(c.write_no_reader, -1, EPIPE);
    CHECK_OUTCOME(c.readv_bad_count, -1, EINVAL);
    CHECK_SAME_OUTCOME(t.read_closed, c.read_closed);
    CHECK_SAME_OUTCOME(t.write_closed, c.write_closed);
    CHECK_SAME_OUTCOME(t.readv_bad_count, c.readv_bad_count);
    CHECK_SAME_OUTCOME(t.write_no_reader, c.write_no_reader);
}

/* Reading the write end (or writing the read end) fails at once with EBADF:
 * the fd is not open for that direction, it will never become "ready". */
typedef struct wrong_end_ctx {
    int fds[2];
    int closing;
    outcome rd, wr;
    long rd_ns, wr_ns;
} wrong_end_ctx;

/* Ends a wrongly parked call (close wakes it) instead of letting the test hang. */
static void *peer_closes_wrong_end(void *arg)
{
    wrong_end_ctx *c = arg;
    pause_ms(300);
    close(c->closing);
    return NULL;
}

static void *wrong_end_scenario(void *arg)
{
    wrong_end_ctx *c = arg;
    char buf[8];
    peer p;
    REQUIRE(pipe(c->fds) == 0);
    c->closing = c->fds[1];
    peer_start(&p, peer_closes_wrong_end, c);
    uint64_t t0 = now_ns();
    c->rd = OUTCOME(read(c->fds[1], buf, sizeof buf));
    c->rd_ns = (long)(now_ns() - t0);
    peer_join(&p);
    close(c->fds[0]);

    REQUIRE(pipe(c->fds) == 0);
    c->closing = c->fds[0];
    peer_start(&p, peer_closes_wrong_end, c);
    t0 = now_ns();
    c->wr = OUTCOME(write(c->fds[0], "x", 1));
    c->wr_ns = (long)(now_ns() - t0);
    peer_join(&p);
    close(c->fds[1]);
    return NULL;
}

TEST(read_on_the_write_end_and_write_on_the_read_end_of_a_pipe_fail_with_ebadf_at_once)
{
    watchdog(10);
    wrong_end_ctx t = {0}, c = {0};
    run_on_thread(wrong_end_scenario, &t);
    run_in_coroutine(wrong_end_scenario, &c);
    CHECK_OUTCOME(t.rd, -1, EBADF);
    CHECK_OUTCOME(t.wr, -1, EBADF);
    CHECK_SAME_OUTCOME(t.rd, c.rd);
    CHECK_SAME_OUTCOME(t.wr, c.wr);
    CHECK_LT_LONG(c.rd_ns, 100 * MS); /* not woken by the close 300 ms later */
    CHECK_LT_LONG(c.wr_ns, 100 * MS);
}

/* Transfers of 0 bytes return 0 at once on a pipe (the kernel checks the
 * length first), whether or not it is readable or writable. */
typedef struct zero_len_ctx {
    int fds[2];
    outcome rd, wr, rv;
    long rd_ns, wr_ns, rv_ns;
} zero_len_ctx;

/* These end a wrong park after 300 ms instead of letting the test hang. */
static void *peer_drains_late(void *arg)
{
    zero_len_ctx *c = arg;
    pause_ms(300);
    static char sink[1 << 16];
    CHECK_GT_LONG(read(c->fds[0], sink, sizeof sink), 0);
    return NULL;
}

static void *peer_writes_late(void *arg)
{
    zero_len_ctx *c = arg;
    pause_ms(300);
    CHECK_EQ_LONG(write(c->fds[1], "x", 1), 1);
    return NULL;
}

static void *zero_length_scenario(void *arg)
{
    zero_len_ctx *c = arg;
    char buf[8];
    static char junk[4096];
    peer p;

    /* a full pipe: write of 0 bytes */
    REQUIRE(pipe2(c->fds, O_NONBLOCK) == 0);
    while (write(c->fds[1], junk, sizeof junk) > 0)
        ;
    REQUIRE(fcntl(c->fds[1], F_SETFL, 0) == 0);
    REQUIRE(fcntl(c->fds[0], F_SETFL, 0) == 0);
    peer_start(&p, peer_drains_late, c);
    uint64_t t0 = now_ns();
    c->wr = OUTCOME(write(c->fds[1], junk, 0));
    c->wr_ns = (long)(now_ns() - t0);
    peer_join(&p);
    close(c->fds[0]);
    close(c->fds[1]);

    /* an empty pipe: read and readv of 0 bytes */
    REQUIRE(pipe(c->fds) == 0);
    peer_start(&p, peer_writes_late, c);
    t0 = now_ns();
    c->rd = OUTCOME(read(c->fds[0], buf, 0));
    c->rd_ns = (long)(now_ns() - t0);
    struct iovec iov = {buf, 0};
    t0 = now_ns();
    c->rv = OUTCOME(readv(c->fds[0], &iov, 1));
    c->rv_ns = (long)(now_ns() - t0);
    peer_join(&p);
    close(c->fds[0]);
    close(c->fds[1]);
    return NULL;
}

TEST(reads_and_writes_of_0_bytes_on_a_pipe_return_0_at_once_like_on_a_plain_thread)
{
    configure_workers(1);
    watchdog(10);
    zero_len_ctx t = {0}, c = {0};
    run_on_thread(zero_length_scenario, &t);
    run_in_coroutine(zero_length_scenario, &c);
    CHECK_OUTCOME(t.wr, 0, 0);
    CHECK_OUTCOME(t.rd, 0, 0);
    CHECK_OUTCOME(t.rv, 0, 0);
    CHECK_SAME_OUTCOME(t.wr, c.wr);
    CHECK_SAME_OUTCOME(t.rd, c.rd);
    CHECK_SAME_OUTCOME(t.rv, c.rv);
    CHECK_LT_LONG(c.wr_ns, 100 * MS);
    CHECK_LT_LONG(c.rd_ns, 100 * MS);
    CHECK_LT_LONG(c.rv_ns, 100 * MS);
}

/* ---- F_GETFL -------------------------------------------------------------------- */

typedef struct fl_ctx {
    long r0, w0, r_nb, r_cleared, w_append, kernel_r_after_park;
    outcome parked;
    int fds[2];
} fl_ctx;

static void *peer_writes_1(void *arg)
{
    fl_ctx *c = arg;
    pause_ms(20);
    CHECK_EQ_LONG(write(c->fds[1], "z", 1), 1);
    return NULL;
}

static void *getfl_scenario(void *arg)
{
    fl_ctx *c = arg;
    char buf[4];
    REQUIRE(pipe(c->fds) == 0);
    peer p;
    peer_start(&p, peer_writes_1, c);
    c->parked = OUTCOME(read(c->fds[0], buf, sizeof buf));
    peer_join(&p);
    c->kernel_r_after_park = kernel_fl(c->fds[0]);
    c->r0 = fcntl(c->fds[0], F_GETFL);
    c->w0 = fcntl(c->fds[1], F_GETFL);
    CHECK_EQ_LONG(fcntl(c->fds[0], F_SETFL, O_NONBLOCK), 0);
    c->r_nb = fcntl(c->fds[0], F_GETFL);
    CHECK_EQ_LONG(fcntl(c->fds[0], F_SETFL, 0), 0);
    c->r_cleared = fcntl(c->fds[0], F_GETFL);
    CHECK_EQ_LONG(fcntl(c->fds[1], F_SETFL, O_APPEND), 0);
    c->w_append = fcntl(c->fds[1], F_GETFL);
    close(c->fds[0]);
    close(c->fds[1]);
    return NULL;
}

TEST(f_getfl_on_a_pipe_used_in_a_coroutine_shows_exactly_the_flags_the_program_set)
{
    configure_workers(1);
    watchdog(10);
    fl_ctx t = {0}, c = {0};
    run_on_thread(getfl_scenario, &t);
    run_in_coroutine(getfl_scenario, &c);
    CHECK_OUTCOME(c.parked, 1, 0);
    CHECK_EQ_LONG(c.r0, O_RDONLY);
    CHECK_EQ_LONG(c.w0, O_WRONLY);
    CHECK_EQ_LONG(c.r_nb, O_RDONLY | O_NONBLOCK);
    CHECK_EQ_LONG(c.r_cleared, O_RDONLY);
    CHECK_EQ_LONG(c.kernel_r_after_park, O_RDONLY);
    CHECK_EQ_LONG(c.r0, t.r0);
    CHECK_EQ_LONG(c.w0, t.w0);
    CHECK_EQ_LONG(c.r_nb, t.r_nb);
    CHECK_EQ_LONG(c.r_cleared, t.r_cleared);
    CHECK_EQ_LONG(c.w_append, t.w_append);
    CHECK_EQ_LONG(c.kernel_r_after_park, t.kernel_r_after_park);
}

/* After the program clears O_NONBLOCK again, reads in a coroutine block (park) again. */
static void *clear_nb_then_park(void *arg)
{
    fl_ctx *c = arg;
    char buf[4];
    REQUIRE(pipe2(c->fds, O_NONBLOCK) == 0);
    CHECK_ERRNO(read(c->fds[0], buf, sizeof buf), EAGAIN);
    CHECK_EQ_LONG(fcntl(c->fds[0], F_SETFL, 0), 0);
    peer p;
    peer_start(&p, peer_writes_1, c);
    c->parked = OUTCOME(read(c->fds[0], buf, sizeof buf));
    peer_join(&p);
    close(c->fds[0]);
    close(c->fds[1]);
    return NULL;
}

TEST(read_parks_again_after_the_program_clears_o_nonblock_with_f_setfl)
{
    configure_workers(1);
    watchdog(10);
    fl_ctx t = {0}, c = {0};
    run_on_thread(clear_nb_then_park, &t);
    run_in_coroutine(clear_nb_then_park, &c);
    CHECK_OUTCOME(c.parked, 1, 0);
    CHECK_SAME_OUTCOME(t.parked, c.parked);
}
