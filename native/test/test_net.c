/*
 * test_net — socket, accept, accept4, connect, getsockopt inside coroutines.
 *
 * Sockets created in a coroutine are made non-blocking by the engine at the
 * description level so accept and connect can park; the program must still
 * see the blocking socket it asked for (F_GETFL without O_NONBLOCK, calls
 * that wait) and every result must be that of the real call on a plain
 * thread: ECONNREFUSED, SO_ERROR 0 after a successful connect, accept4's
 * flags on the new socket, SO_RCVTIMEO on accept.
 *
 * Scenarios run on a plain thread and in a coroutine (hook_compare.h); with
 * one worker the client that makes accept return is a coroutine of the same
 * worker, so accept must park.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "hook_compare.h"

static struct sockaddr_in loopback(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = port, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return a;
}

/* A TCP listener on 127.0.0.1:<ephemeral>; *addr gets its address. */
static int listener(struct sockaddr_in *addr)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(l >= 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    *addr = loopback(0);
    socklen_t al = sizeof *addr;
    REQUIRE(bind(l, (struct sockaddr *)addr, sizeof *addr) == 0);
    REQUIRE(listen(l, 64) == 0);
    REQUIRE(getsockname(l, (struct sockaddr *)addr, &al) == 0);
    return l;
}

/* ---- accept parks -------------------------------------------------------------- */

typedef struct accept_ctx {
    int lfd; /* -1: the scenario makes its own listener */
    struct sockaddr_in addr;
    outcome acc, client_connect, xfer;
    int peer_port_ok;
    _Atomic int accepting;
    _Atomic int client_saw_accepting;
} accept_ctx;

static void *client_connects_and_sends(void *arg)
{
    accept_ctx *c = arg;
    pause_ms(20);
    atomic_store(&c->client_saw_accepting, atomic_load(&c->accepting));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(s >= 0);
    c->client_connect = OUTCOME(connect(s, (struct sockaddr *)&c->addr, sizeof c->addr));
    CHECK_EQ_LONG(send(s, "hi", 2, 0), 2);
    close(s);
    return NULL;
}

static void *accept_scenario(void *arg)
{
    accept_ctx *c = arg;
    int own = c->lfd < 0;
    if (own) c->lfd = listener(&c->addr);
    peer p;
    peer_start(&p, client_connects_and_sends, c);
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    atomic_store(&c->accepting, 1);
    c->acc = OUTCOME(accept(c->lfd, (struct sockaddr *)&from, &fl));
    atomic_store(&c->accepting, 0);
    c->peer_port_ok = fl == sizeof from && from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && from.sin_port != 0;
    if (c->acc.ret >= 0) {
        char buf[8];
        c->xfer = OUTCOME(recv((int)c->acc.ret, buf, sizeof buf, MSG_WAITALL));
        close((int)c->acc.ret);
        c->acc.ret = 0; /* fd numbers may differ; success is what is compared */
    }
    peer_join(&p);
    if (own) close(c->lfd);
    return NULL;
}

static void accept_parks(int listener_on_main)
{
    configure_workers(1);
    watchdog(10);
    accept_ctx t = {.lfd = -1}, c = {.lfd = -1};
    if (listener_on_main) c.lfd = listener(&c.addr);
    run_on_thread(accept_scenario, &t);
    run_in_coroutine(accept_scenario, &c);
    CHECK_OUTCOME(c.acc, 0, 0);
    CHECK_OUTCOME(c.client_connect, 0, 0);
    CHECK_OUTCOME(c.xfer, 2, 0);
    CHECK_SAME_OUTCOME(t.acc, c.acc);
    CHECK_SAME_OUTCOME(t.client_connect, c.client_connect);
    CHECK_SAME_OUTCOME(t.xfer, c.xfer);
    CHECK(c.peer_port_ok);
    CHECK(atomic_load(&c.client_saw_accepting)); /* the client ran while accept waited */
    if (listener_on_main) {
        CHECK_EQ_LONG(kernel_fl(c.lfd) & O_NONBLOCK, 0); /* never made non-blocking by the engine */
        close(c.lfd);
    }
}

TEST(accept_parks_until_a_client_coroutine_of_the_same_worker_connects)
{
    accept_parks(0);
}

TEST(accept_on_a_listener_made_on_the_main_thread_parks_until_a_client_coroutine_connects)
{
    accept_parks(1);
}

typedef struct many_ctx {
    struct sockaddr_in addr;
    _Atomic int connected;
    int accepted;
} many_ctx;

#define CLIENTS 50

static void *many_client(void *arg)
{
    many_ctx *c = arg;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(s >= 0);
    if (connect(s, (struct sockaddr *)&c->addr, sizeof c->addr) == 0) atomic_fetch_add(&c->connected, 1);
    char b;
    CHECK_EQ_LONG(recv(s, &b, 1, 0), 1); /* the server's byte */
    close(s);
    return NULL;
}

static void *many_server(void *arg)
{
    many_ctx *c = arg;
    int l = listener(&c->addr);
    coroscope_co *cl[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) REQUIRE(coroscope_spawn(&cl[i], "client", many_client, c) == 0);
    for (int i = 0; i < CLIENTS; i++) {
        int s = accept(l, NULL, NULL);
        if (s < 0) {
            CHECK_GE_LONG(s, 0);
            break;
        }
        c->accepted++;
        CHECK_EQ_LONG(send(s, "!", 1, 0), 1);
        close(s);
    }
    for (int i = 0; i < CLIENTS; i++) CHECK_EQ_ERR(coroscope_join(cl[i], NULL), 0);
    close(l);
    return NULL;
}

TEST(an_accept_loop_serves_50_client_coroutines_of_the_same_worker)
{
    configure_workers(1);
    watchdog(10);
    many_ctx c = {0};
    run_in_coroutine(many_server, &c);
    CHECK_EQ_LONG(c.accepted, CLIENTS);
    CHECK_EQ_LONG(atomic_load(&c.connected), CLIENTS);
}

/* ---- accept4 flags -------------------------------------------------------------- */

typedef struct flags_ctx {
    struct sockaddr_in addr;
    long fl_plain, fl_nb, fl_cloexec, fd_cloexec, fd_plain;
    outcome recv_plain, recv_nb;
    int client[3];
} flags_ctx;

static void *three_clients(void *arg)
{
    flags_ctx *c = arg;
    for (int i = 0; i < 3; i++) {
        c->client[i] = socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(c->client[i] >= 0);
        CHECK_EQ_LONG(connect(c->client[i], (struct sockaddr *)&c->addr, sizeof c->addr), 0);
    }
    pause_ms(30);
    CHECK_EQ_LONG(send(c->client[0], "late", 4, 0), 4); /* for the blocking socket's recv */
    return NULL;
}

static void *accept4_scenario(void *arg)
{
    flags_ctx *c = arg;
    int l = listener(&c->addr);
    peer p;
    peer_start(&p, three_clients, c);
    int plain = accept(l, NULL, NULL);
    int nb = accept4(l, NULL, NULL, SOCK_NONBLOCK);
    int cx = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    REQUIRE(plain >= 0 && nb >= 0 && cx >= 0);
    c->fl_plain = fcntl(plain, F_GETFL);
    c->fl_nb = fcntl(nb, F_GETFL);
    c->fl_cloexec = fcntl(cx, F_GETFL);
    c->fd_cloexec = fcntl(cx, F_GETFD);
    c->fd_plain = fcntl(plain, F_GETFD);
    char buf[8];
    c->recv_nb = OUTCOME(recv(nb, buf, sizeof buf, 0));       /* non-blocking as asked: EAGAIN */
    c->recv_plain = OUTCOME(recv(plain, buf, sizeof buf, 0)); /* blocking as asked: waits for "late" */
    peer_join(&p);
    for (int i = 0; i < 3; i++) close(c->client[i]);
    close(plain);
    close(nb);
    close(cx);
    close(l);
    return NULL;
}

TEST(accept4_with_sock_nonblock_gives_o_nonblock_in_f_getfl_while_plain_accept_gives_a_blocking_socket)
{
    configure_workers(1);
    watchdog(10);
    flags_ctx t = {0}, c = {0};
    run_on_thread(accept4_scenario, &t);
    run_in_coroutine(accept4_scenario, &c);
    CHECK_EQ_LONG(c.fl_plain, O_RDWR);
    CHECK_EQ_LONG(c.fl_nb, O_RDWR | O_NONBLOCK);
    CHECK_EQ_LONG(c.fl_cloexec, O_RDWR);
    CHECK_EQ_LONG(c.fd_cloexec, FD_CLOEXEC);
    CHECK_EQ_LONG(c.fd_plain, 0);
    CHECK_EQ_LONG(c.fl_plain, t.fl_plain);
    CHECK_EQ_LONG(c.fl_nb, t.fl_nb);
    CHECK_EQ_LONG(c.fl_cloexec, t.fl_cloexec);
    CHECK_EQ_LONG(c.fd_cloexec, t.fd_cloexec);
    CHECK_EQ_LONG(c.fd_plain, t.fd_plain);
    CHECK_OUTCOME(c.recv_nb, -1, EAGAIN);
    CHECK_OUTCOME(c.recv_plain, 4, 0);
    CHECK_SAME_OUTCOME(t.recv_nb, c.recv_nb);
    CHECK_SAME_OUTCOME(t.recv_plain, c.recv_plain);
}

/* ---- connect ---------------------------------------------------------------------- */

typedef struct connect_ctx {
    struct sockaddr_in closed, open;
    int premade; /* socket made before the scenario (on the main thread), or -1 */
    outcome refused, ok, so_error_call, nb_connect, nb_so_error_call, refused_premade;
    int so_error, nb_so_error;
    long peer_ok;
} connect_ctx;

static void *connect_scenario(void *arg)
{
    connect_ctx *c = arg;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(s >= 0);
    c->refused = OUTCOME(connect(s, (struct sockaddr *)&c->closed, sizeof c->closed));
    close(s);

    s = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(s >= 0);
    c->ok = OUTCOME(connect(s, (struct sockaddr *)&c->open, sizeof c->open));
    socklen_t el = sizeof c->so_error;
    c->so_error = -1;
    c->so_error_call = OUTCOME(getsockopt(s, SOL_SOCKET, SO_ERROR, &c->so_error, &el));
    struct sockaddr_in peer_addr;
    socklen_t pl = sizeof peer_addr;
    c->peer_ok = getpeername(s, (struct sockaddr *)&peer_addr, &pl) == 0 && peer_addr.sin_port == c->open.sin_port;
    close(s);

    /* a socket the program made non-blocking: the real call's EINPROGRESS (or 0) */
    s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REQUIRE(s >= 0);
    c->nb_connect = OUTCOME(connect(s, (struct sockaddr *)&c->open, sizeof c->open));
    struct pollfd pfd = {.fd = s, .events = POLLOUT};
    CHECK_EQ_LONG(poll(&pfd, 1, 5000), 1);
    el = sizeof c->nb_so_error;
    c->nb_so_error = -1;
    c->nb_so_error_call = OUTCOME(getsockopt(s, SOL_SOCKET, SO_ERROR, &c->nb_so_error, &el));
    close(s);

    if (c->premade >= 0) {
        c->refused_premade = OUTCOME(connect(c->premade, (struct sockaddr *)&c->closed, sizeof c->closed));
        close(c->premade);
    }
    return NULL;
}

TEST(connect_gives_econnrefused_on_a_closed_loopback_port_and_succeeds_with_so_error_0_on_a_listening_one)
{
    configure_workers(1);
    /* closed: bound (so the port stays ours) but not listening */
    int holder = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(holder >= 0);
    struct sockaddr_in closed = loopback(0);
    socklen_t al = sizeof closed;
    REQUIRE(bind(holder, (struct sockaddr *)&closed, sizeof closed) == 0);
    REQUIRE(getsockname(holder, (struct sockaddr *)&closed, &al) == 0);
    struct sockaddr_in open;
    int l = listener(&open);

    connect_ctx t = {.closed = closed, .open = open, .premade = socket(AF_INET, SOCK_STREAM, 0)};
    connect_ctx c = {.closed = closed, .open = open, .premade = socket(AF_INET, SOCK_STREAM, 0)};
    REQUIRE(t.premade >= 0 && c.premade >= 0);
    run_on_thread(connect_scenario, &t);
    run_in_coroutine(connect_scenario, &c);
    CHECK_OUTCOME(c.refused, -1, ECONNREFUSED);
    CHECK_OUTCOME(c.refused_premade, -1, ECONNREFUSED);
    CHECK_OUTCOME(c.ok, 0, 0);
    CHECK_OUTCOME(c.so_error_call, 0, 0);
    CHECK_EQ_LONG(c.so_error, 0);
    CHECK(c.peer_ok);
    CHECK_SAME_OUTCOME(t.refused, c.refused);
    CHECK_SAME_OUTCOME(t.refused_premade, c.refused_premade);
    CHECK_SAME_OUTCOME(t.ok, c.ok);
    CHECK_SAME_OUTCOME(t.so_error_call, c.so_error_call);
    CHECK_EQ_LONG(t.so_error, c.so_error);
    CHECK_SAME_OUTCOME(t.nb_connect, c.nb_connect);
    CHECK_OUTCOME(c.nb_so_error_call, 0, 0);
    CHECK_EQ_LONG(c.nb_so_error, 0);
    CHECK_EQ_LONG(t.nb_so_error, c.nb_so_error);
    close(l);
    close(holder);
}

/* connect parks: the listener's accept queue is served by another coroutine. */
typedef struct cpark_ctx {
    struct sockaddr_in addr;
    outcome conn;
    int lfd;
} cpark_ctx;

static void *acceptor(void *arg)
{
    cpark_ctx *c = arg;
    int s = accept(c->lfd, NULL, NULL);
    CHECK_GE_LONG(s, 0);
    char b[4];
    CHECK_EQ_LONG(recv(s, b, sizeof b, MSG_WAITALL), 4);
    CHECK(!memcmp(b, "ping", 4));
    CHECK_EQ_LONG(send(s, "pong", 4, 0), 4);
    close(s);
    return NULL;
}

static void *connect_then_talk(void *arg)
{
    cpark_ctx *c = arg;
    c->lfd = listener(&c->addr);
    peer p;
    peer_start(&p, acceptor, c);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(s >= 0);
    c->conn = OUTCOME(connect(s, (struct sockaddr *)&c->addr, sizeof c->addr));
    CHECK_EQ_LONG(send(s, "ping", 4, 0), 4);
    char b[4];
    CHECK_EQ_LONG(recv(s, b, sizeof b, MSG_WAITALL), 4);
    CHECK(!memcmp(b, "pong", 4));
    peer_join(&p);
    close(s);
    close(c->lfd);
    return NULL;
}

TEST(a_client_and_a_server_coroutine_on_one_worker_connect_accept_and_exchange_a_request)
{
    configure_workers(1);
    watchdog(10);
    cpark_ctx t = {0}, c = {0};
    run_on_thread(connect_then_talk, &t);
    run_in_coroutine(connect_then_talk, &c);
    CHECK_OUTCOME(c.conn, 0, 0);
    CHECK_SAME_OUTCOME(t.conn, c.conn);
}

/* ---- F_GETFL / FIONBIO on sockets made in a coroutine ---------------------------------- */

typedef struct getfl_ctx {
    long tcp, udp, unix_pair0, unix_pair1, tcp_nb, after_setfl_nb, after_setfl_clear, after_fionbio_on,
        after_fionbio_off;
    outcome recv_after_setfl_nb, recv_after_clear, recv_after_fionbio_on, recv_after_fionbio_off;
    int sv[2];
} getfl_ctx;

static void *peer_sends_x_twice(void *arg)
{
    getfl_ctx *c = arg;
    for (int i = 0; i < 2; i++) {
        pause_ms(20);
        CHECK_EQ_LONG(send(c->sv[1], "x", 1, 0), 1);
    }
    return NULL;
}

static void *getfl_scenario(void *arg)
{
    getfl_ctx *c = arg;
    char b[4];
    int s = socket(AF_INET, SOCK_STREAM, 0);
    c->tcp = fcntl(s, F_GETFL);
    close(s);
    s = socket(AF_INET, SOCK_DGRAM, 0);
    c->udp = fcntl(s, F_GETFL);
    close(s);
    s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    c->tcp_nb = fcntl(s, F_GETFL);
    close(s);

    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, c->sv) == 0);
    c->unix_pair0 = fcntl(c->sv[0], F_GETFL);
    c->unix_pair1 = fcntl(c->sv[1], F_GETFL);
    CHECK_EQ_LONG(fcntl(c->sv[0], F_SETFL, c->unix_pair0 | O_NONBLOCK), 0);
    c->after_setfl_nb = fcntl(c->sv[0], F_GETFL);
    c->recv_after_setfl_nb = OUTCOME(recv(c->sv[0], b, sizeof b, 0));
    CHECK_EQ_LONG(fcntl(c->sv[0], F_SETFL, c->after_setfl_nb & ~O_NONBLOCK), 0);
    c->after_setfl_clear = fcntl(c->sv[0], F_GETFL);
    peer p;
    peer_start(&p, peer_sends_x_twice, c);
    c->recv_after_clear = OUTCOME(recv(c->sv[0], b, sizeof b, 0)); /* blocking again: waits */
    int on = 1, off = 0;
    CHECK_EQ_LONG(ioctl(c->sv[0], FIONBIO, &on), 0);
    c->after_fionbio_on = fcntl(c->sv[0], F_GETFL);
    c->recv_after_fionbio_on = OUTCOME(recv(c->sv[0], b, sizeof b, 0));
    CHECK_EQ_LONG(ioctl(c->sv[0], FIONBIO, &off), 0);
    c->after_fionbio_off = fcntl(c->sv[0], F_GETFL);
    c->recv_after_fionbio_off = OUTCOME(recv(c->sv[0], b, sizeof b, 0)); /* waits */
    peer_join(&p);
    close(c->sv[0]);
    close(c->sv[1]);
    return NULL;
}

TEST(sockets_created_in_a_coroutine_report_f_getfl_without_o_nonblock_unless_the_program_set_it)
{
    configure_workers(1);
    watchdog(10);
    getfl_ctx t = {0}, c = {0};
    run_on_thread(getfl_scenario, &t);
    run_in_coroutine(getfl_scenario, &c);
    CHECK_EQ_LONG(c.tcp, O_RDWR);
    CHECK_EQ_LONG(c.udp, O_RDWR);
    CHECK_EQ_LONG(c.unix_pair0, O_RDWR);
    CHECK_EQ_LONG(c.unix_pair1, O_RDWR);
    CHECK_EQ_LONG(c.tcp_nb, O_RDWR | O_NONBLOCK);
    CHECK_EQ_LONG(c.after_setfl_nb, O_RDWR | O_NONBLOCK);
    CHECK_EQ_LONG(c.after_setfl_clear, O_RDWR);
    CHECK_EQ_LONG(c.after_fionbio_on, O_RDWR | O_NONBLOCK);
    CHECK_EQ_LONG(c.after_fionbio_off, O_RDWR);
    CHECK_EQ_LONG(c.tcp, t.tcp);
    CHECK_EQ_LONG(c.udp, t.udp);
    CHECK_EQ_LONG(c.unix_pair0, t.unix_pair0);
    CHECK_EQ_LONG(c.tcp_nb, t.tcp_nb);
    CHECK_EQ_LONG(c.after_setfl_nb, t.after_setfl_nb);
    CHECK_EQ_LONG(c.after_setfl_clear, t.after_setfl_clear);
    CHECK_EQ_LONG(c.after_fionbio_on, t.after_fionbio_on);
    CHECK_EQ_LONG(c.after_fionbio_off, t.after_fionbio_off);
    CHECK_OUTCOME(c.recv_after_setfl_nb, -1, EAGAIN);
    CHECK_OUTCOME(c.recv_after_clear, 1, 0);
    CHECK_OUTCOME(c.recv_after_fionbio_on, -1, EAGAIN);
    CHECK_OUTCOME(c.recv_after_fionbio_off, 1, 0);
    CHECK_SAME_OUTCOME(t.recv_after_setfl_nb, c.recv_after_setfl_nb);
    CHECK_SAME_OUTCOME(t.recv_after_clear, c.recv_after_clear);
    CHECK_SAME_OUTCOME(t.recv_after_fionbio_on, c.recv_after_fionbio_on);
    CHECK_SAME_OUTCOME(t.recv_after_fionbio_off, c.recv_after_fionbio_off);
}

/* ---- accept with SO_RCVTIMEO ----------------------------------------------------------- */

typedef struct acc_timeo_ctx {
    outcome acc;
    long ns;
} acc_timeo_ctx;

static void *accept_timeout_scenario(void *arg)
{
    acc_timeo_ctx *c = arg;
    struct sockaddr_in a;
    int l = listener(&a);
    struct timeval tv = {0, 100000};
    REQUIRE(setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    uint64_t t0 = now_ns();
    c->acc = OUTCOME(accept(l, NULL, NULL));
    c->ns = (long)(now_ns() - t0);
    close(l);
    return NULL;
}

TEST(accept_with_so_rcvtimeo_of_100_ms_fails_with_eagain_after_about_100_ms_like_on_a_plain_thread)
{
    configure_workers(1);
    watchdog(10);
    acc_timeo_ctx t = {0}, c = {0};
    run_on_thread(accept_timeout_scenario, &t);
    run_in_coroutine(accept_timeout_scenario, &c);
    CHECK_OUTCOME(c.acc, -1, EAGAIN);
    CHECK_SAME_OUTCOME(t.acc, c.acc);
    CHECK_GE_LONG(c.ns, 99 * MS);
    CHECK_LT_LONG(c.ns, 300 * MS);
}

/* ---- socket errors ---------------------------------------------------------------------- */

typedef struct sockerr_ctx {
    outcome bad_domain, bad_type, accept_not_listening, accept_not_socket, connect_bad_fd, connect_not_socket,
        getsockopt_bad;
} sockerr_ctx;

static void *socket_errors_scenario(void *arg)
{
    sockerr_ctx *c = arg;
    c->bad_domain = OUTCOME(socket(12345, SOCK_STREAM, 0));
    c->bad_type = OUTCOME(socket(AF_INET, 12345, 0));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    c->accept_not_listening = OUTCOME(accept(s, NULL, NULL));
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    c->accept_not_socket = OUTCOME(accept(fds[0], NULL, NULL));
    struct sockaddr_in a = loopback(htons(9));
    c->connect_not_socket = OUTCOME(connect(fds[0], (struct sockaddr *)&a, sizeof a));
    close(fds[0]);
    close(fds[1]);
    c->connect_bad_fd = OUTCOME(connect(fds[0], (struct sockaddr *)&a, sizeof a));
    int v;
    socklen_t vl = sizeof v;
    c->getsockopt_bad = OUTCOME(getsockopt(fds[0], SOL_SOCKET, SO_ERROR, &v, &vl));
    close(s);
    return NULL;
}

TEST(socket_accept_and_connect_errors_in_a_coroutine_are_those_of_a_plain_thread)
{
    sockerr_ctx t = {0}, c = {0};
    run_on_thread(socket_errors_scenario, &t);
    run_in_coroutine(socket_errors_scenario, &c);
    CHECK_OUTCOME(c.accept_not_listening, -1, EINVAL);
    CHECK_OUTCOME(c.accept_not_socket, -1, ENOTSOCK);
    CHECK_OUTCOME(c.connect_bad_fd, -1, EBADF);
    CHECK_SAME_OUTCOME(t.bad_domain, c.bad_domain);
    CHECK_SAME_OUTCOME(t.bad_type, c.bad_type);
    CHECK_SAME_OUTCOME(t.accept_not_listening, c.accept_not_listening);
    CHECK_SAME_OUTCOME(t.accept_not_socket, c.accept_not_socket);
    CHECK_SAME_OUTCOME(t.connect_not_socket, c.connect_not_socket);
    CHECK_SAME_OUTCOME(t.connect_bad_fd, c.connect_bad_fd);
    CHECK_SAME_OUTCOME(t.getsockopt_bad, c.getsockopt_bad);
}
