/*
 * test_io_socket — recv/send families on sockets inside coroutines.
 *
 * On sockets the hook adds MSG_DONTWAIT to each attempt and parks on the
 * netpoller when it would block, so the results must be those of the real
 * blocking call: MSG_DONTWAIT and MSG_WAITALL as asked, full blocking sends,
 * SO_RCVTIMEO/SO_SNDTIMEO as timeouts (EAGAIN), datagram boundaries, ancillary
 * data, EOF and EPIPE.
 *
 * Each scenario runs on a plain thread (the real call) and in a coroutine;
 * outcomes are compared (hook_compare.h). Stream scenarios run on an AF_UNIX
 * socketpair and on a TCP loopback pair (BOTH_PAIRS). Tests that prove
 * parking run with one worker: the peer is a coroutine of the same worker.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "hook_compare.h"

/* FORTIFY twins, called directly (the Makefile builds tests without FORTIFY). */
extern ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);
extern ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
extern ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags, struct sockaddr *from,
                              socklen_t *fromlen);

/* ---- socket pairs ----------------------------------------------------------------- */

enum pair_kind { UNIX_PAIR, TCP_PAIR };

/* A connected stream pair: sv[0] and sv[1]. Made with the hooked calls, so in
 * a coroutine the engine makes them non-blocking internally. */
static void make_pair(int kind, int sv[2])
{
    if (kind == UNIX_PAIR) {
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        return;
    }
    int l = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(l >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    REQUIRE(bind(l, (struct sockaddr *)&a, sizeof a) == 0);
    REQUIRE(listen(l, 4) == 0);
    REQUIRE(getsockname(l, (struct sockaddr *)&a, &al) == 0);
    sv[1] = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(sv[1] >= 0);
    REQUIRE(connect(sv[1], (struct sockaddr *)&a, sizeof a) == 0);
    sv[0] = accept(l, NULL, NULL);
    REQUIRE(sv[0] >= 0);
    close(l);
    int one = 1;
    setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void close_pair(int sv[2])
{
    close(sv[0]);
    close(sv[1]);
}

/* TEST(name_on_a_unix_socketpair) and TEST(name_on_a_tcp_loopback_pair), one body. */
#define BOTH_PAIRS(name)                \
    static void name##_body(int kind);  \
    TEST(name##_on_a_unix_socketpair)   \
    {                                   \
        name##_body(UNIX_PAIR);         \
    }                                   \
    TEST(name##_on_a_tcp_loopback_pair) \
    {                                   \
        name##_body(TCP_PAIR);          \
    }                                   \
    static void name##_body(int kind)

static void set_timeo(int fd, int opt, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    REQUIRE(setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv) == 0);
}

/* ---- recv parks ------------------------------------------------------------------- */

/* A peer that sends message i only once the reader's call i - 1 returned
 * (it waits, parked in a coroutine), then 15 ms more so that call i is
 * likely parked by then. Without that wait a reader slowed down (a loaded
 * machine, ASan) could find two messages in one read, and its last call
 * would then wait for a message that never comes. */
static void wait_for_calls(_Atomic int *calls, int n)
{
    while (atomic_load(calls) < n) pause_ms(1);
    pause_ms(15);
}

typedef struct park_ctx {
    int kind;
    int sv[2];
    outcome recv_, read_, readv_, recvmsg_;
    _Atomic int waiting;
    _Atomic int peer_saw_waiting;
    _Atomic int calls; /* the reader's calls that returned */
} park_ctx;

static void *peer_sends_four_times(void *arg)
{
    park_ctx *c = arg;
    const char *msgs[4] = {"ping", "hello", "abc", "xy"};
    for (int i = 0; i < 4; i++) {
        wait_for_calls(&c->calls, i);
        if (atomic_load(&c->waiting)) atomic_fetch_add(&c->peer_saw_waiting, 1);
        CHECK_EQ_LONG(send(c->sv[1], msgs[i], strlen(msgs[i]), 0), (long)strlen(msgs[i]));
    }
    return NULL;
}

static void *recv_parks_scenario(void *arg)
{
    park_ctx *c = arg;
    char buf[100];
    make_pair(c->kind, c->sv);
    peer p;
    peer_start(&p, peer_sends_four_times, c);
    atomic_store(&c->waiting, 1);
    c->recv_ = OUTCOME(recv(c->sv[0], buf, sizeof buf, 0));
    atomic_fetch_add(&c->calls, 1);
    CHECK(!memcmp(buf, "ping", 4));
    c->read_ = OUTCOME(read(c->sv[0], buf, sizeof buf));
    atomic_fetch_add(&c->calls, 1);
    CHECK(!memcmp(buf, "hello", 5));
    struct iovec iov[2] = {{buf, 2}, {buf + 2, 10}};
    c->readv_ = OUTCOME(readv(c->sv[0], iov, 2));
    atomic_fetch_add(&c->calls, 1);
    CHECK(!memcmp(buf, "abc", 3));
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    c->recvmsg_ = OUTCOME(recvmsg(c->sv[0], &m, 0));
    CHECK(!memcmp(buf, "xy", 2));
    atomic_store(&c->waiting, 0);
    peer_join(&p);
    close_pair(c->sv);
    return NULL;
}

BOTH_PAIRS(recv_read_readv_and_recvmsg_park_until_a_peer_coroutine_of_the_same_worker_sends)
{
    configure_workers(1);
    watchdog(10);
    park_ctx t = {.kind = kind}, c = {.kind = kind};
    run_on_thread(recv_parks_scenario, &t);
    run_in_coroutine(recv_parks_scenario, &c);
    CHECK_OUTCOME(c.recv_, 4, 0);
    CHECK_OUTCOME(c.read_, 5, 0);
    CHECK_OUTCOME(c.readv_, 3, 0);
    CHECK_OUTCOME(c.recvmsg_, 2, 0);
    CHECK_SAME_OUTCOME(t.recv_, c.recv_);
    CHECK_SAME_OUTCOME(t.read_, c.read_);
    CHECK_SAME_OUTCOME(t.readv_, c.readv_);
    CHECK_SAME_OUTCOME(t.recvmsg_, c.recvmsg_);
    CHECK_EQ_LONG(atomic_load(&c.peer_saw_waiting), 4); /* the peer ran during each wait */
}

/* A pair made on the main thread (never made non-blocking by the engine). */
static void *recv_on_main_thread_pair(void *arg)
{
    park_ctx *c = arg;
    char buf[100];
    peer p;
    peer_start(&p, peer_sends_four_times, c);
    atomic_store(&c->waiting, 1);
    c->recv_ = OUTCOME(recv(c->sv[0], buf, sizeof buf, 0));
    atomic_fetch_add(&c->calls, 1);
    c->read_ = OUTCOME(read(c->sv[0], buf, sizeof buf));
    atomic_fetch_add(&c->calls, 1);
    c->readv_ = OUTCOME(recv(c->sv[0], buf, sizeof buf, 0));
    atomic_fetch_add(&c->calls, 1);
    c->recvmsg_ = OUTCOME(recv(c->sv[0], buf, sizeof buf, 0));
    atomic_store(&c->waiting, 0);
    peer_join(&p);
    return NULL;
}

TEST(recv_on_a_socketpair_made_on_the_main_thread_parks_and_the_socket_stays_blocking_in_the_kernel)
{
    configure_workers(1);
    watchdog(10);
    park_ctx c = {0};
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, c.sv) == 0);
    run_in_coroutine(recv_on_main_thread_pair, &c);
    CHECK_OUTCOME(c.recv_, 4, 0);
    CHECK_OUTCOME(c.read_, 5, 0);
    CHECK_OUTCOME(c.readv_, 3, 0);
    CHECK_OUTCOME(c.recvmsg_, 2, 0);
    CHECK_EQ_LONG(atomic_load(&c.peer_saw_waiting), 4);
    CHECK_EQ_LONG(kernel_fl(c.sv[0]) & O_NONBLOCK, 0);
    CHECK_EQ_LONG(kernel_fl(c.sv[1]) & O_NONBLOCK, 0);
}

/* ---- MSG_DONTWAIT and non-blocking sockets ------------------------------------------ */

typedef struct dontwait_ctx {
    int kind;
    outcome recv_dw, recvfrom_dw, recvmsg_dw, read_setfl, recv_sock_nonblock, recv_dw_data;
    long ns;
} dontwait_ctx;

static void *dontwait_scenario(void *arg)
{
    dontwait_ctx *c = arg;
    char buf[16];
    int sv[2];
    make_pair(c->kind, sv);
    uint64_t t0 = now_ns();
    c->recv_dw = OUTCOME(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT));
    c->recvfrom_dw = OUTCOME(recvfrom(sv[0], buf, sizeof buf, MSG_DONTWAIT, NULL, NULL));
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    c->recvmsg_dw = OUTCOME(recvmsg(sv[0], &m, MSG_DONTWAIT));
    REQUIRE(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) == 0);
    c->read_setfl = OUTCOME(read(sv[0], buf, sizeof buf));
    REQUIRE(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) & ~O_NONBLOCK) == 0);
    CHECK_EQ_LONG(send(sv[1], "abc", 3, 0), 3);
    pause_ms(5); /* TCP: let the bytes cross loopback */
    c->recv_dw_data = OUTCOME(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT));
    c->ns = (long)(now_ns() - t0);
    close_pair(sv);
    if (c->kind == UNIX_PAIR) {
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
        c->recv_sock_nonblock = OUTCOME(recv(sv[0], buf, sizeof buf, 0));
        close_pair(sv);
    }
    return NULL;
}

BOTH_PAIRS(recv_with_msg_dontwait_or_on_a_nonblocking_socket_returns_eagain_at_once_like_on_a_plain_thread)
{
    configure_workers(1);
    watchdog(10);
    dontwait_ctx t = {.kind = kind}, c = {.kind = kind};
    run_on_thread(dontwait_scenario, &t);
    run_in_coroutine(dontwait_scenario, &c);
    CHECK_OUTCOME(c.recv_dw, -1, EAGAIN);
    CHECK_OUTCOME(c.recvfrom_dw, -1, EAGAIN);
    CHECK_OUTCOME(c.recvmsg_dw, -1, EAGAIN);
    CHECK_OUTCOME(c.read_setfl, -1, EAGAIN);
    CHECK_OUTCOME(c.recv_dw_data, 3, 0);
    CHECK_SAME_OUTCOME(t.recv_dw, c.recv_dw);
    CHECK_SAME_OUTCOME(t.recvfrom_dw, c.recvfrom_dw);
    CHECK_SAME_OUTCOME(t.recvmsg_dw, c.recvmsg_dw);
    CHECK_SAME_OUTCOME(t.read_setfl, c.read_setfl);
    CHECK_SAME_OUTCOME(t.recv_dw_data, c.recv_dw_data);
    CHECK_SAME_OUTCOME(t.recv_sock_nonblock, c.recv_sock_nonblock);
    if (kind == UNIX_PAIR) CHECK_OUTCOME(c.recv_sock_nonblock, -1, EAGAIN);
    CHECK_LT_LONG(c.ns, 100 * MS);
}

/* ---- MSG_WAITALL ---------------------------------------------------------------- */

typedef struct waitall_ctx {
    int kind;
    int sv[2];
    outcome all, short_at_eof;
    char buf[4000];
    int pieces_ok;
} waitall_ctx;

static void *peer_sends_in_pieces(void *arg)
{
    waitall_ctx *c = arg;
    char piece[1000];
    for (int i = 0; i < 4; i++) {
        memset(piece, 'a' + i, sizeof piece);
        pause_ms(10);
        CHECK_EQ_LONG(send(c->sv[1], piece, sizeof piece, 0), (long)sizeof piece);
    }
    /* then 3000 bytes and the end of the stream */
    for (int i = 0; i < 3; i++) {
        memset(piece, 'A' + i, sizeof piece);
        pause_ms(10);
        CHECK_EQ_LONG(send(c->sv[1], piece, sizeof piece, 0), (long)sizeof piece);
    }
    pause_ms(10);
    CHECK_EQ_LONG(shutdown(c->sv[1], SHUT_WR), 0);
    return NULL;
}

static void *waitall_scenario(void *arg)
{
    waitall_ctx *c = arg;
    make_pair(c->kind, c->sv);
    peer p;
    peer_start(&p, peer_sends_in_pieces, c);
    c->all = OUTCOME(recv(c->sv[0], c->buf, sizeof c->buf, MSG_WAITALL));
    int ok = 1;
    for (int i = 0; i < 4000; i++) ok &= c->buf[i] == 'a' + i / 1000;
    c->short_at_eof = OUTCOME(recv(c->sv[0], c->buf, sizeof c->buf, MSG_WAITALL));
    for (int i = 0; i < 3000; i++) ok &= c->buf[i] == 'A' + i / 1000;
    c->pieces_ok = ok;
    peer_join(&p);
    close_pair(c->sv);
    return NULL;
}

BOTH_PAIRS(recv_with_msg_waitall_waits_for_all_bytes_sent_in_pieces_by_a_peer_coroutine)
{
    configure_workers(1);
    watchdog(10);
    waitall_ctx t = {.kind = kind}, c = {.kind = kind};
    run_on_thread(waitall_scenario, &t);
    run_in_coroutine(waitall_scenario, &c);
    CHECK_OUTCOME(c.all, 4000, 0);
    CHECK_OUTCOME(c.short_at_eof, 3000, 0); /* the stream ended: what arrived */
    CHECK_SAME_OUTCOME(t.all, c.all);
    CHECK_SAME_OUTCOME(t.short_at_eof, c.short_at_eof);
    CHECK(c.pieces_ok);
    CHECK(t.pieces_ok);
}

/* ---- 8 MiB blocking sends --------------------------------------------------------- */

#define BIG (8 << 20)

typedef struct big_ctx {
    int kind;
    int sv[2];
    int use_write;
    unsigned char *src, *dst;
    outcome sent;
    long got;
} big_ctx;

static void *peer_receives_all(void *arg)
{
    big_ctx *c = arg;
    size_t chunk = 7;
    while (c->got < BIG) {
        size_t want = chunk < (size_t)(BIG - c->got) ? chunk : (size_t)(BIG - c->got);
        ssize_t r = recv(c->sv[1], c->dst + c->got, want, 0);
        if (r <= 0) {
            CHECK_GT_LONG(r, 0);
            break;
        }
        c->got += r;
        chunk = chunk < 300000 ? chunk * 2 + 1 : 7;
    }
    return NULL;
}

static void *big_send_scenario(void *arg)
{
    big_ctx *c = arg;
    make_pair(c->kind, c->sv);
    peer p;
    peer_start(&p, peer_receives_all, c);
    if (c->use_write)
        c->sent = OUTCOME(write(c->sv[0], c->src, BIG));
    else
        c->sent = OUTCOME(send(c->sv[0], c->src, BIG, 0));
    peer_join(&p);
    close_pair(c->sv);
    return NULL;
}

static void big_send(int kind, int use_write)
{
    configure_workers(1);
    watchdog(15);
    unsigned char *src = malloc(BIG);
    REQUIRE(src);
    for (size_t i = 0; i < BIG; i++) src[i] = pat(i);
    big_ctx t = {.kind = kind, .use_write = use_write, .src = src, .dst = calloc(1, BIG)};
    big_ctx c = {.kind = kind, .use_write = use_write, .src = src, .dst = calloc(1, BIG)};
    REQUIRE(t.dst && c.dst);
    run_on_thread(big_send_scenario, &t);
    run_in_coroutine(big_send_scenario, &c);
    CHECK_OUTCOME(c.sent, BIG, 0);
    CHECK_SAME_OUTCOME(t.sent, c.sent);
    CHECK_EQ_LONG(c.got, BIG);
    CHECK(!memcmp(c.dst, src, BIG));
    CHECK(!memcmp(t.dst, src, BIG));
}

BOTH_PAIRS(send_of_8_mib_to_a_peer_coroutine_of_the_same_worker_completes_fully_in_order)
{
    big_send(kind, 0);
}

BOTH_PAIRS(write_of_8_mib_to_a_peer_coroutine_of_the_same_worker_completes_fully_in_order)
{
    big_send(kind, 1);
}

/* ---- SO_RCVTIMEO / SO_SNDTIMEO ---------------------------------------------------- */

typedef struct timeo_ctx {
    int kind;
    outcome recv_, read_;
    long recv_ns, read_ns;
    _Atomic int ticks; /* witness coroutine ticks during the waits */
    _Atomic int stop;
} timeo_ctx;

static void *ticker(void *arg)
{
    timeo_ctx *c = arg;
    while (!atomic_load(&c->stop)) {
        atomic_fetch_add(&c->ticks, 1);
        pause_ms(5);
    }
    return NULL;
}

static void *rcvtimeo_scenario(void *arg)
{
    timeo_ctx *c = arg;
    char buf[16];
    int sv[2];
    make_pair(c->kind, sv);
    set_timeo(sv[0], SO_RCVTIMEO, 100);
    peer p;
    peer_start(&p, ticker, c);
    uint64_t t0 = now_ns();
    c->recv_ = OUTCOME(recv(sv[0], buf, sizeof buf, 0));
    c->recv_ns = (long)(now_ns() - t0);
    t0 = now_ns();
    c->read_ = OUTCOME(read(sv[0], buf, sizeof buf));
    c->read_ns = (long)(now_ns() - t0);
    atomic_store(&c->stop, 1);
    peer_join(&p);
    close_pair(sv);
    return NULL;
}

BOTH_PAIRS(so_rcvtimeo_of_100_ms_makes_recv_and_read_fail_with_eagain_after_about_100_ms)
{
    configure_workers(1);
    watchdog(10);
    timeo_ctx t = {.kind = kind}, c = {.kind = kind};
    run_on_thread(rcvtimeo_scenario, &t);
    run_in_coroutine(rcvtimeo_scenario, &c);
    CHECK_OUTCOME(c.recv_, -1, EAGAIN);
    CHECK_OUTCOME(c.read_, -1, EAGAIN);
    CHECK_SAME_OUTCOME(t.recv_, c.recv_);
    CHECK_SAME_OUTCOME(t.read_, c.read_);
    CHECK_GE_LONG(c.recv_ns, 99 * MS);
    CHECK_LT_LONG(c.recv_ns, 300 * MS);
    CHECK_GE_LONG(c.read_ns, 99 * MS);
    CHECK_LT_LONG(c.read_ns, 300 * MS);
    CHECK_GE_LONG(atomic_load(&c.ticks), 10); /* the ticker ran meanwhile: the waits parked */
}

typedef struct sndtimeo_ctx {
    int kind;
    outcome nothing_fits, some_fits;
    long nothing_ns, some_ns;
} sndtimeo_ctx;

static void *sndtimeo_scenario(void *arg)
{
    sndtimeo_ctx *c = arg;
    int sv[2];
    make_pair(c->kind, sv);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    static char junk[1 << 20];
    /* fill: non-blocking sends until EAGAIN, again after a pause until nothing
     * more fits twice in a row (TCP moves queued bytes to the receiver, and
     * opens more room some 20 ms after the window closed) */
    for (int round = 0, empty = 0; round < 100; round++) {
        long n = 0;
        while (send(sv[0], junk, 1024, MSG_DONTWAIT) > 0) n++;
        if (n || !round)
            empty = 0;
        else if (++empty == 2)
            break;
        pause_ms(60);
    }
    set_timeo(sv[0], SO_SNDTIMEO, 100);
    uint64_t t0 = now_ns();
    c->nothing_fits = OUTCOME(send(sv[0], junk, 1000, 0));
    c->nothing_ns = (long)(now_ns() - t0);
    /* drain some, then a send bigger than the room: the partial count after the timeout */
    char sink[8192];
    long drained = 0;
    while (drained < 4096) {
        ssize_t r = recv(sv[1], sink, sizeof sink, MSG_DONTWAIT);
        if (r <= 0) break;
        drained += r;
    }
    pause_ms(10);
    t0 = now_ns();
    c->some_fits = OUTCOME(send(sv[0], junk, sizeof junk, 0));
    c->some_ns = (long)(now_ns() - t0);
    close_pair(sv);
    return NULL;
}

TEST(so_sndtimeo_of_100_ms_on_a_full_unix_socket_makes_send_fail_with_eagain_or_return_the_partial_count)
{
    configure_workers(1);
    watchdog(10);
    sndtimeo_ctx t = {.kind = UNIX_PAIR}, c = {.kind = UNIX_PAIR};
    run_on_thread(sndtimeo_scenario, &t);
    run_in_coroutine(sndtimeo_scenario, &c);
    CHECK_OUTCOME(c.nothing_fits, -1, EAGAIN);
    CHECK_SAME_OUTCOME(t.nothing_fits, c.nothing_fits);
    CHECK_GE_LONG(c.nothing_ns, 99 * MS);
    CHECK_LT_LONG(c.nothing_ns, 300 * MS);
    /* partial progress, then the timeout: the count, no error (amounts may differ) */
    CHECK_GT_LONG(c.some_fits.ret, 0);
    CHECK_LT_LONG(c.some_fits.ret, 1 << 20);
    CHECK_GT_LONG(t.some_fits.ret, 0);
    CHECK_GE_LONG(c.some_ns, 99 * MS);
    CHECK_LT_LONG(c.some_ns, 300 * MS);
}

TEST(so_sndtimeo_of_100_ms_on_a_full_tcp_socket_makes_send_fail_with_eagain_after_about_100_ms)
{
    configure_workers(1);
    watchdog(10);
    sndtimeo_ctx t = {.kind = TCP_PAIR}, c = {.kind = TCP_PAIR};
    run_on_thread(sndtimeo_scenario, &t);
    run_in_coroutine(sndtimeo_scenario, &c);
    CHECK_OUTCOME(c.nothing_fits, -1, EAGAIN);
    CHECK_SAME_OUTCOME(t.nothing_fits, c.nothing_fits);
    CHECK_GE_LONG(c.nothing_ns, 99 * MS);
    CHECK_LT_LONG(c.nothing_ns, 300 * MS);
    /* (TCP reopens its window on its own schedule: the partial case is left to
     * the unix socket test) */
}

/* ---- UDP ---------------------------------------------------------------------- */

typedef struct udp_ctx {
    int rx, tx;
    struct sockaddr_in rx_addr, tx_addr;
    outcome got[3], trunc, trunc_flag, dw;
    int from_ok[3];
    long sizes_ok;
} udp_ctx;

static const size_t dgram_sizes[3] = {1, 200, 3000};

static void *peer_sends_datagrams(void *arg)
{
    udp_ctx *c = arg;
    static char d[3000];
    for (int i = 0; i < 3; i++) {
        memset(d, '0' + i, dgram_sizes[i]);
        pause_ms(10);
        CHECK_EQ_LONG(sendto(c->tx, d, dgram_sizes[i], 0, (struct sockaddr *)&c->rx_addr, sizeof c->rx_addr),
                      (long)dgram_sizes[i]);
    }
    /* two more, for the truncation checks */
    pause_ms(10);
    memset(d, 'T', 200);
    CHECK_EQ_LONG(sendto(c->tx, d, 200, 0, (struct sockaddr *)&c->rx_addr, sizeof c->rx_addr), 200);
    CHECK_EQ_LONG(sendto(c->tx, d, 200, 0, (struct sockaddr *)&c->rx_addr, sizeof c->rx_addr), 200);
    return NULL;
}

static void *udp_scenario(void *arg)
{
    udp_ctx *c = arg;
    c->rx = socket(AF_INET, SOCK_DGRAM, 0);
    c->tx = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(c->rx >= 0 && c->tx >= 0);
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    REQUIRE(bind(c->rx, (struct sockaddr *)&lo, sizeof lo) == 0);
    REQUIRE(bind(c->tx, (struct sockaddr *)&lo, sizeof lo) == 0);
    socklen_t l = sizeof c->rx_addr;
    REQUIRE(getsockname(c->rx, (struct sockaddr *)&c->rx_addr, &l) == 0);
    l = sizeof c->tx_addr;
    REQUIRE(getsockname(c->tx, (struct sockaddr *)&c->tx_addr, &l) == 0);

    char buf[4096];
    c->dw = OUTCOME(recvfrom(c->rx, buf, sizeof buf, MSG_DONTWAIT, NULL, NULL));
    peer p;
    peer_start(&p, peer_sends_datagrams, c);
    for (int i = 0; i < 3; i++) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        memset(&from, 0, sizeof from);
        c->got[i] = OUTCOME(recvfrom(c->rx, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
        c->from_ok[i] = fl == sizeof from && from.sin_port == c->tx_addr.sin_port &&
                        from.sin_addr.s_addr == c->tx_addr.sin_addr.s_addr;
        if (c->got[i].ret > 0 && buf[0] == '0' + i && buf[c->got[i].ret - 1] == '0' + i) c->sizes_ok++;
    }
    c->trunc = OUTCOME(recv(c->rx, buf, 50, 0));              /* 50 of 200, the rest discarded */
    c->trunc_flag = OUTCOME(recv(c->rx, buf, 50, MSG_TRUNC)); /* the real length */
    peer_join(&p);
    close(c->rx);
    close(c->tx);
    return NULL;
}

TEST(recvfrom_and_sendto_on_udp_loopback_keep_datagram_boundaries_and_report_the_sender)
{
    configure_workers(1);
    watchdog(10);
    udp_ctx t = {0}, c = {0};
    run_on_thread(udp_scenario, &t);
    run_in_coroutine(udp_scenario, &c);
    CHECK_OUTCOME(c.dw, -1, EAGAIN);
    CHECK_SAME_OUTCOME(t.dw, c.dw);
    for (int i = 0; i < 3; i++) {
        CHECK_OUTCOME(c.got[i], (long)dgram_sizes[i], 0);
        CHECK_SAME_OUTCOME(t.got[i], c.got[i]);
        CHECK(c.from_ok[i]);
    }
    CHECK_EQ_LONG(c.sizes_ok, 3);
    CHECK_OUTCOME(c.trunc, 50, 0);
    CHECK_OUTCOME(c.trunc_flag, 200, 0);
    CHECK_SAME_OUTCOME(t.trunc, c.trunc);
    CHECK_SAME_OUTCOME(t.trunc_flag, c.trunc_flag);
}

/* ---- SCM_RIGHTS ------------------------------------------------------------------- */

typedef struct rights_ctx {
    int sv[2];
    int pipefd[2];
    outcome sent, got, via_fd;
    int msg_flags, cmsg_level, cmsg_type;
    long cmsg_len;
    int fd_received;
} rights_ctx;

static void *peer_sends_an_fd(void *arg)
{
    rights_ctx *c = arg;
    pause_ms(20);
    char data[2] = {'f', 'd'};
    struct iovec iov = {data, 2};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &c->pipefd[1], sizeof(int));
    c->sent = OUTCOME(sendmsg(c->sv[1], &m, 0));
    return NULL;
}

static void *rights_scenario(void *arg)
{
    rights_ctx *c = arg;
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, c->sv) == 0);
    REQUIRE(pipe(c->pipefd) == 0);
    peer p;
    peer_start(&p, peer_sends_an_fd, c);
    char data[16];
    struct iovec iov = {data, sizeof data};
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    c->got = OUTCOME(recvmsg(c->sv[0], &m, 0)); /* parks until the peer sends */
    peer_join(&p);
    c->msg_flags = m.msg_flags;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    if (cm) {
        c->cmsg_level = cm->cmsg_level;
        c->cmsg_type = cm->cmsg_type;
        c->cmsg_len = (long)cm->cmsg_len;
        int fd;
        memcpy(&fd, CMSG_DATA(cm), sizeof fd);
        c->fd_received = fd >= 0 && fd != c->pipefd[1];
        /* the received fd is the pipe's write end */
        c->via_fd = OUTCOME(write(fd, "via", 3));
        char r[8];
        CHECK_EQ_LONG(read(c->pipefd[0], r, sizeof r), 3);
        CHECK(!memcmp(r, "via", 3));
        close(fd);
    }
    close(c->pipefd[0]);
    close(c->pipefd[1]);
    close_pair(c->sv);
    return NULL;
}

TEST(recvmsg_parks_until_a_peer_coroutine_sendmsgs_an_fd_with_scm_rights_and_the_fd_arrives)
{
    configure_workers(1);
    watchdog(10);
    rights_ctx t = {0}, c = {0};
    run_on_thread(rights_scenario, &t);
    run_in_coroutine(rights_scenario, &c);
    CHECK_OUTCOME(c.sent, 2, 0);
    CHECK_OUTCOME(c.got, 2, 0);
    CHECK_SAME_OUTCOME(t.sent, c.sent);
    CHECK_SAME_OUTCOME(t.got, c.got);
    CHECK_EQ_LONG(c.msg_flags, t.msg_flags);
    CHECK_EQ_LONG(c.msg_flags & MSG_CTRUNC, 0);
    CHECK_EQ_LONG(c.cmsg_level, SOL_SOCKET);
    CHECK_EQ_LONG(c.cmsg_type, SCM_RIGHTS);
    CHECK_EQ_LONG(c.cmsg_len, (long)CMSG_LEN(sizeof(int)));
    CHECK_EQ_LONG(c.cmsg_len, t.cmsg_len);
    CHECK(c.fd_received);
    CHECK_OUTCOME(c.via_fd, 3, 0);
}

/* ---- peer closed: EOF and EPIPE --------------------------------------------------- */

typedef struct closed_ctx {
    int kind;
    int sv[2];
    outcome eof, eof_again, sends[3];
} closed_ctx;

static void *peer_closes(void *arg)
{
    closed_ctx *c = arg;
    pause_ms(20);
    CHECK_EQ_LONG(close(c->sv[1]), 0);
    return NULL;
}

static void *peer_closed_scenario(void *arg)
{
    closed_ctx *c = arg;
    char buf[16];
    make_pair(c->kind, c->sv);
    peer p;
    peer_start(&p, peer_closes, c);
    c->eof = OUTCOME(recv(c->sv[0], buf, sizeof buf, 0)); /* parks until the close */
    peer_join(&p);
    c->eof_again = OUTCOME(read(c->sv[0], buf, sizeof buf));
    for (int i = 0; i < 3; i++) {
        c->sends[i] = OUTCOME(send(c->sv[0], "hello", 5, 0));
        pause_ms(20); /* TCP: the peer's RST comes back */
    }
    close(c->sv[0]);
    return NULL;
}

BOTH_PAIRS(reading_gives_0_and_writing_gives_epipe_once_the_peer_coroutine_closed_its_socket)
{
    configure_workers(1);
    watchdog(10);
    signal(SIGPIPE, SIG_IGN);
    closed_ctx t = {.kind = kind}, c = {.kind = kind};
    run_on_thread(peer_closed_scenario, &t);
    run_in_coroutine(peer_closed_scenario, &c);
    CHECK_OUTCOME(c.eof, 0, 0);
    CHECK_OUTCOME(c.eof_again, 0, 0);
    CHECK_SAME_OUTCOME(t.eof, c.eof);
    CHECK_SAME_OUTCOME(t.eof_again, c.eof_again);
    for (int i = 0; i < 3; i++) CHECK_SAME_OUTCOME(t.sends[i], c.sends[i]);
    CHECK_OUTCOME(c.sends[2], -1, EPIPE);
    if (kind == UNIX_PAIR) CHECK_OUTCOME(c.sends[0], -1, EPIPE);
}

/* ---- FORTIFY twins ----------------------------------------------------------------- */

typedef struct chk_ctx {
    int sv[2];
    outcome read_chk, recv_chk, recvfrom_chk, recv_chk_dw;
    char buf[32];
    _Atomic int calls; /* the reader's blocking calls that returned */
} chk_ctx;

static void *peer_sends_abc_three_times(void *arg)
{
    chk_ctx *c = arg;
    for (int i = 0; i < 3; i++) {
        wait_for_calls(&c->calls, i);
        CHECK_EQ_LONG(send(c->sv[1], "abc", 3, 0), 3);
    }
    return NULL;
}

static void *chk_scenario(void *arg)
{
    chk_ctx *c = arg;
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, c->sv) == 0);
    c->recv_chk_dw = OUTCOME(__recv_chk(c->sv[0], c->buf, 10, sizeof c->buf, MSG_DONTWAIT));
    peer p;
    peer_start(&p, peer_sends_abc_three_times, c);
    c->read_chk = OUTCOME(__read_chk(c->sv[0], c->buf, 10, sizeof c->buf));
    atomic_fetch_add(&c->calls, 1);
    c->recv_chk = OUTCOME(__recv_chk(c->sv[0], c->buf, 10, sizeof c->buf, 0));
    atomic_fetch_add(&c->calls, 1);
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    c->recvfrom_chk = OUTCOME(__recvfrom_chk(c->sv[0], c->buf, 10, sizeof c->buf, 0, (struct sockaddr *)&from, &fl));
    peer_join(&p);
    close_pair(c->sv);
    return NULL;
}

TEST(fortify_twins_read_chk_recv_chk_and_recvfrom_chk_park_and_return_like_the_plain_calls)
{
    configure_workers(1);
    watchdog(10);
    chk_ctx t = {0}, c = {0};
    run_on_thread(chk_scenario, &t);
    run_in_coroutine(chk_scenario, &c);
    CHECK_OUTCOME(c.recv_chk_dw, -1, EAGAIN);
    CHECK_OUTCOME(c.read_chk, 3, 0);
    CHECK_OUTCOME(c.recv_chk, 3, 0);
    CHECK_OUTCOME(c.recvfrom_chk, 3, 0);
    CHECK_SAME_OUTCOME(t.recv_chk_dw, c.recv_chk_dw);
    CHECK_SAME_OUTCOME(t.read_chk, c.read_chk);
    CHECK_SAME_OUTCOME(t.recv_chk, c.recv_chk);
    CHECK_SAME_OUTCOME(t.recvfrom_chk, c.recvfrom_chk);
}

static void *read_chk_on_a_pipe(void *arg)
{
    chk_ctx *c = arg;
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    CHECK_EQ_LONG(write(fds[1], "pipe", 4), 4);
    c->read_chk = OUTCOME(__read_chk(fds[0], c->buf, sizeof c->buf, sizeof c->buf));
    close(fds[0]);
    close(fds[1]);
    return NULL;
}

TEST(read_chk_on_a_pipe_returns_the_bytes_available_like_read)
{
    chk_ctx t = {0}, c = {0};
    run_on_thread(read_chk_on_a_pipe, &t);
    run_in_coroutine(read_chk_on_a_pipe, &c);
    CHECK_OUTCOME(c.read_chk, 4, 0);
    CHECK_SAME_OUTCOME(t.read_chk, c.read_chk);
}

/* ---- vector sends ------------------------------------------------------------------ */

typedef struct vsend_ctx {
    int kind;
    int sv[2];
    outcome wv, sm;
    long got;
    int ok;
} vsend_ctx;

#define VBIG (3 << 20)

static void *peer_receives_vbig(void *arg)
{
    vsend_ctx *c = arg;
    static unsigned char buf[65536];
    long want = 2L * VBIG, pos = 0;
    int ok = 1;
    while (pos < want) {
        ssize_t r = recv(c->sv[1], buf, sizeof buf, 0);
        if (r <= 0) break;
        for (ssize_t i = 0; i < r; i++) ok &= buf[i] == pat((size_t)((pos + i) % VBIG));
        pos += r;
    }
    c->got = pos;
    c->ok = ok;
    return NULL;
}

static void *vector_send_scenario(void *arg)
{
    vsend_ctx *c = arg;
    static unsigned char *src;
    if (!src) {
        src = malloc(VBIG);
        REQUIRE(src);
        for (size_t i = 0; i < VBIG; i++) src[i] = pat(i);
    }
    make_pair(c->kind, c->sv);
    peer p;
    peer_start(&p, peer_receives_vbig, c);
    struct iovec iov[4] = {{src, 1}, {src + 1, 100000}, {src + 100001, 0}, {src + 100001, VBIG - 100001}};
    c->wv = OUTCOME(writev(c->sv[0], iov, 4));
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 4};
    c->sm = OUTCOME(sendmsg(c->sv[0], &m, 0));
    peer_join(&p);
    close_pair(c->sv);
    return NULL;
}

BOTH_PAIRS(writev_and_sendmsg_of_3_mib_in_uneven_pieces_complete_fully_in_order)
{
    configure_workers(1);
    watchdog(15);
    vsend_ctx t = {.kind = kind}, c = {.kind = kind};
    run_on_thread(vector_send_scenario, &t);
    run_in_coroutine(vector_send_scenario, &c);
    CHECK_OUTCOME(c.wv, VBIG, 0);
    CHECK_OUTCOME(c.sm, VBIG, 0);
    CHECK_SAME_OUTCOME(t.wv, c.wv);
    CHECK_SAME_OUTCOME(t.sm, c.sm);
    CHECK_EQ_LONG(c.got, 2L * VBIG);
    CHECK(c.ok);
}
