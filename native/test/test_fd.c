/*
 * test_fd — the fd bookkeeping hooks: close, close_range, dup, dup2, dup3,
 * fcntl, eventfd, and the engine's own fds.
 *
 * The engine keeps a table of what it knows about each fd (kind, O_NONBLOCK
 * as the program set it, netpoller registration). Closing an fd a coroutine
 * is parked on must wake it (its read then fails with EBADF); duplicates must
 * behave like the original; the engine's own fds (its epoll instance, the
 * workers' eventfds) must survive the program's close/close_range/dup2, and
 * what the program sees must follow the kernel's file descriptions even when
 * an fd changes behind the engine's back (an fd shared through dup, an fd
 * closed by fclose, which does not go through the close hook).
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "hook_compare.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ---- close wakes a parked coroutine ------------------------------------------------- */

enum waiter_kind { W_PIPE_READ, W_SOCKET_RECV, W_POLL, W_PIPE_WRITE_FULL };

typedef struct close_ctx {
    int kind;
    int fds[2];
    int target; /* the fd the waiter waits on and the closer closes */
    outcome o;
    short revents;
    _Atomic int waiting;
    _Atomic int closer_saw_waiting;
    long ns;
} close_ctx;

static void *closer(void *arg)
{
    close_ctx *c = arg;
    pause_ms(30);
    atomic_store(&c->closer_saw_waiting, atomic_load(&c->waiting));
    CHECK_EQ_LONG(close(c->target), 0);
    return NULL;
}

static void *waiter_scenario(void *arg)
{
    close_ctx *c = arg;
    char buf[16];
    if (c->kind == W_SOCKET_RECV)
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, c->fds) == 0);
    else
        REQUIRE(pipe(c->fds) == 0);
    c->target = c->fds[0];
    if (c->kind == W_PIPE_WRITE_FULL) {
        c->target = c->fds[1];
        static char junk[4096];
        REQUIRE(fcntl(c->fds[1], F_SETFL, O_NONBLOCK) == 0);
        while (write(c->fds[1], junk, sizeof junk) > 0)
            ;
        REQUIRE(fcntl(c->fds[1], F_SETFL, 0) == 0);
    }
    coroscope_co *cl;
    REQUIRE(coroscope_spawn(&cl, "closer", closer, c) == 0);
    atomic_store(&c->waiting, 1);
    uint64_t t0 = now_ns();
    switch (c->kind) {
    case W_PIPE_READ: c->o = OUTCOME(read(c->target, buf, sizeof buf)); break;
    case W_SOCKET_RECV: c->o = OUTCOME(recv(c->target, buf, sizeof buf, 0)); break;
    case W_POLL: {
        struct pollfd p = {.fd = c->target, .events = POLLIN};
        c->o = OUTCOME(poll(&p, 1, -1));
        c->revents = p.revents;
        break;
    }
    case W_PIPE_WRITE_FULL: c->o = OUTCOME(write(c->target, "x", 1)); break;
    }
    c->ns = (long)(now_ns() - t0);
    atomic_store(&c->waiting, 0);
    CHECK_EQ_ERR(coroscope_join(cl, NULL), 0);
    close(c->kind == W_PIPE_WRITE_FULL ? c->fds[0] : c->fds[1]);
    return NULL;
}

static close_ctx close_while_parked(int kind)
{
    configure_workers(1);
    watchdog(10);
    close_ctx c = {.kind = kind};
    run_in_coroutine(waiter_scenario, &c);
    CHECK(atomic_load(&c.closer_saw_waiting)); /* the closer ran while the waiter was parked */
    CHECK_LT_LONG(c.ns, 2000 * MS);
    return c;
}

TEST(closing_a_pipe_another_coroutine_is_parked_reading_wakes_it_and_its_read_fails_with_ebadf)
{
    close_ctx c = close_while_parked(W_PIPE_READ);
    CHECK_OUTCOME(c.o, -1, EBADF);
}

TEST(closing_a_socket_another_coroutine_is_parked_receiving_wakes_it_and_its_recv_fails_with_ebadf)
{
    close_ctx c = close_while_parked(W_SOCKET_RECV);
    CHECK_OUTCOME(c.o, -1, EBADF);
}

TEST(closing_a_pipe_another_coroutine_is_parked_writing_wakes_it_and_its_write_fails_with_ebadf)
{
    close_ctx c = close_while_parked(W_PIPE_WRITE_FULL);
    CHECK_OUTCOME(c.o, -1, EBADF);
}

TEST(closing_an_fd_another_coroutine_is_polling_wakes_it_with_pollnval)
{
    close_ctx c = close_while_parked(W_POLL);
    CHECK_OUTCOME(c.o, 1, 0);
    CHECK_EQ_LONG(c.revents, POLLNVAL);
}

/* ---- duplicates ------------------------------------------------------------------------- */

typedef struct dup_ctx {
    int sv[2];
    int premade; /* the pair was made on the main thread */
    int d, d2, d3;
    long fl_d, fl_d2, fl_d3, fd_d3;
    outcome r_d, r_d2, r_d3, r_after_close;
} dup_ctx;

static void *peer_sends_4(void *arg)
{
    dup_ctx *c = arg;
    const char *m[4] = {"one", "two", "six", "ten"};
    for (int i = 0; i < 4; i++) {
        pause_ms(15);
        CHECK_EQ_LONG(send(c->sv[1], m[i], 3, 0), 3);
    }
    return NULL;
}

static void *dup_scenario(void *arg)
{
    dup_ctx *c = arg;
    char buf[16];
    if (!c->premade) REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, c->sv) == 0);
    c->d = dup(c->sv[0]);
    c->d2 = dup2(c->sv[0], 150);
    c->d3 = fcntl(c->sv[0], F_DUPFD_CLOEXEC, 160);
    REQUIRE(c->d >= 0 && c->d2 == 150 && c->d3 >= 160);
    c->fl_d = fcntl(c->d, F_GETFL);
    c->fl_d2 = fcntl(c->d2, F_GETFL);
    c->fl_d3 = fcntl(c->d3, F_GETFL);
    c->fd_d3 = fcntl(c->d3, F_GETFD);
    peer p;
    peer_start(&p, peer_sends_4, c);
    c->r_d = OUTCOME(recv(c->d, buf, sizeof buf, 0));
    c->r_d2 = OUTCOME(read(c->d2, buf, sizeof buf));
    c->r_d3 = OUTCOME(recv(c->d3, buf, sizeof buf, 0));
    close(c->sv[0]); /* the duplicates keep the socket open */
    c->r_after_close = OUTCOME(recv(c->d, buf, sizeof buf, 0));
    peer_join(&p);
    close(c->d);
    close(c->d2);
    close(c->d3);
    close(c->sv[1]);
    return NULL;
}

static void check_dups(int premade)
{
    configure_workers(1);
    watchdog(10);
    dup_ctx t = {.premade = premade}, c = {.premade = premade};
    if (premade) {
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, t.sv) == 0);
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, c.sv) == 0);
    }
    run_on_thread(dup_scenario, &t);
    run_in_coroutine(dup_scenario, &c);
    CHECK_EQ_LONG(c.fl_d, O_RDWR);
    CHECK_EQ_LONG(c.fl_d2, O_RDWR);
    CHECK_EQ_LONG(c.fl_d3, O_RDWR);
    CHECK_EQ_LONG(c.fd_d3, FD_CLOEXEC);
    CHECK_EQ_LONG(c.fl_d, t.fl_d);
    CHECK_EQ_LONG(c.fd_d3, t.fd_d3);
    CHECK_OUTCOME(c.r_d, 3, 0);
    CHECK_OUTCOME(c.r_d2, 3, 0);
    CHECK_OUTCOME(c.r_d3, 3, 0);
    CHECK_OUTCOME(c.r_after_close, 3, 0);
    CHECK_SAME_OUTCOME(t.r_d, c.r_d);
    CHECK_SAME_OUTCOME(t.r_d2, c.r_d2);
    CHECK_SAME_OUTCOME(t.r_d3, c.r_d3);
    CHECK_SAME_OUTCOME(t.r_after_close, c.r_after_close);
}

TEST(dup_dup2_and_f_dupfd_of_a_socket_made_in_a_coroutine_park_and_receive_like_the_original)
{
    check_dups(0);
}

TEST(dup_dup2_and_f_dupfd_of_a_socket_made_on_the_main_thread_park_and_receive_in_a_coroutine)
{
    check_dups(1);
}

/* O_NONBLOCK lives on the file description: setting it through a duplicate
 * changes the original too. */
typedef struct shared_nb_ctx {
    int use_socket;
    int fds[2];
    long fl_orig;
    outcome rd;
    long ns;
} shared_nb_ctx;

static void *peer_writes_late(void *arg)
{
    shared_nb_ctx *c = arg;
    pause_ms(300);
    CHECK_EQ_LONG(write(c->fds[1], "late", 4), 4);
    return NULL;
}

static void *shared_nonblock_scenario(void *arg)
{
    shared_nb_ctx *c = arg;
    char buf[8];
    if (c->use_socket)
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, c->fds) == 0);
    else
        REQUIRE(pipe(c->fds) == 0);
    int d = dup(c->fds[0]);
    REQUIRE(d >= 0);
    REQUIRE(fcntl(d, F_SETFL, fcntl(d, F_GETFL) | O_NONBLOCK) == 0);
    c->fl_orig = fcntl(c->fds[0], F_GETFL);
    peer p;
    peer_start(&p, peer_writes_late, c);
    uint64_t t0 = now_ns();
    c->rd = OUTCOME(read(c->fds[0], buf, sizeof buf)); /* the description is non-blocking: EAGAIN */
    c->ns = (long)(now_ns() - t0);
    peer_join(&p);
    close(d);
    close(c->fds[0]);
    close(c->fds[1]);
    return NULL;
}

static void check_shared_nonblock(int use_socket)
{
    configure_workers(1);
    watchdog(10);
    shared_nb_ctx t = {.use_socket = use_socket}, c = {.use_socket = use_socket};
    run_on_thread(shared_nonblock_scenario, &t);
    run_in_coroutine(shared_nonblock_scenario, &c);
    CHECK_EQ_LONG(t.fl_orig, O_RDWR * use_socket | O_NONBLOCK);
    CHECK_EQ_LONG(c.fl_orig, t.fl_orig);
    CHECK_OUTCOME(t.rd, -1, EAGAIN);
    CHECK_SAME_OUTCOME(t.rd, c.rd);
    CHECK_LT_LONG(c.ns, 100 * MS);
}

TEST(o_nonblock_set_on_a_dup_of_a_pipe_applies_to_the_original_fd_as_on_a_plain_thread)
{
    check_shared_nonblock(0);
}

TEST(o_nonblock_set_on_a_dup_of_a_socket_made_in_a_coroutine_applies_to_the_original_fd_as_on_a_plain_thread)
{
    check_shared_nonblock(1);
}

/* ---- fds closed behind the engine's back ---------------------------------------------------- */

/* fclose closes the fd inside glibc, not through the close hook; the next fd
 * with that number must still be seen for what it is. */
typedef struct stale_ctx {
    int use_socket;
    int reused;
    int tfd;
    long fl;
    outcome rd;
    long ns;
} stale_ctx;

/* Arms the timer late: ends a read that wrongly parked, instead of a hang. */
static void *peer_arms_timer_late(void *arg)
{
    stale_ctx *c = arg;
    pause_ms(300);
    struct itimerspec its = {{0, 0}, {0, 1}};
    CHECK_EQ_LONG(timerfd_settime(c->tfd, 0, &its, NULL), 0);
    return NULL;
}

static void *stale_scenario(void *arg)
{
    stale_ctx *c = arg;
    int fds[2];
    /* A non-blocking timerfd (created without a hook) takes the lowest free
     * number: the one fclose freed, unless another thread of the process (a
     * recorder, a sanitizer's runtime) took it in between; then again. */
    for (int attempt = 0; attempt < 20; attempt++) {
        if (c->use_socket)
            REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        else
            REQUIRE(pipe(fds) == 0);
        int num = fds[0];
        FILE *f = fdopen(fds[0], "r");
        REQUIRE(f);
        fclose(f);
        c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
        REQUIRE(c->tfd >= 0);
        c->reused = c->tfd == num;
        if (c->reused) break;
        close(c->tfd);
        close(fds[1]);
    }
    REQUIRE(c->reused);
    c->fl = fcntl(c->tfd, F_GETFL);
    peer p;
    peer_start(&p, peer_arms_timer_late, c);
    uint64_t ticks;
    uint64_t t0 = now_ns();
    c->rd = OUTCOME(read(c->tfd, &ticks, sizeof ticks)); /* never armed yet: EAGAIN at once */
    c->ns = (long)(now_ns() - t0);
    peer_join(&p);
    close(c->tfd);
    close(fds[1]);
    return NULL;
}

static void check_stale(int use_socket)
{
    configure_workers(1);
    watchdog(10);
    stale_ctx t = {.use_socket = use_socket}, c = {.use_socket = use_socket};
    run_on_thread(stale_scenario, &t);
    run_in_coroutine(stale_scenario, &c);
    REQUIRE(t.reused && c.reused);
    CHECK_EQ_LONG(t.fl, O_RDWR | O_NONBLOCK);
    CHECK_EQ_LONG(c.fl, t.fl);
    CHECK_OUTCOME(t.rd, -1, EAGAIN);
    CHECK_SAME_OUTCOME(t.rd, c.rd);
    CHECK_LT_LONG(c.ns, 100 * MS);
}

TEST(an_fd_number_reused_after_fclose_of_a_pipe_is_seen_for_what_it_now_is)
{
    check_stale(0);
}

TEST(an_fd_number_reused_after_fclose_of_a_socket_made_in_a_coroutine_is_seen_for_what_it_now_is)
{
    check_stale(1);
}

/* ---- eventfd ------------------------------------------------------------------------------- */

typedef struct efd_ctx {
    int efd;
    outcome parked, nb;
    uint64_t value;
} efd_ctx;

static void *peer_adds_5(void *arg)
{
    efd_ctx *c = arg;
    pause_ms(20);
    uint64_t v = 5;
    CHECK_EQ_LONG(write(c->efd, &v, sizeof v), 8);
    return NULL;
}

static void *eventfd_scenario(void *arg)
{
    efd_ctx *c = arg;
    c->efd = eventfd(0, 0);
    REQUIRE(c->efd >= 0);
    peer p;
    peer_start(&p, peer_adds_5, c);
    c->parked = OUTCOME(read(c->efd, &c->value, sizeof c->value));
    peer_join(&p);
    close(c->efd);
    int nb = eventfd(0, EFD_NONBLOCK);
    uint64_t v;
    c->nb = OUTCOME(read(nb, &v, sizeof v));
    close(nb);
    return NULL;
}

TEST(eventfd_read_parks_until_another_coroutine_writes_and_efd_nonblock_gives_eagain)
{
    configure_workers(1);
    watchdog(10);
    efd_ctx t = {0}, c = {0};
    run_on_thread(eventfd_scenario, &t);
    run_in_coroutine(eventfd_scenario, &c);
    CHECK_OUTCOME(c.parked, 8, 0);
    CHECK_EQ_LONG(c.value, 5);
    CHECK_OUTCOME(c.nb, -1, EAGAIN);
    CHECK_SAME_OUTCOME(t.parked, c.parked);
    CHECK_SAME_OUTCOME(t.nb, c.nb);
}

/* An eventfd is writable (POLLOUT) while its counter is below the maximum,
 * yet a write that would overflow the counter blocks until a reader takes
 * it: "writable" does not mean this write will not block. */
typedef struct efd_full_ctx {
    int efd;
    outcome wr, peer_rd;
    uint64_t peer_value;
} efd_full_ctx;

static void *peer_reads_counter(void *arg)
{
    efd_full_ctx *c = arg;
    pause_ms(30);
    c->peer_rd = OUTCOME(read(c->efd, &c->peer_value, sizeof c->peer_value));
    return NULL;
}

static void *eventfd_overflow_scenario(void *arg)
{
    efd_full_ctx *c = arg;
    c->efd = eventfd(1, 0);
    REQUIRE(c->efd >= 0);
    peer p;
    peer_start(&p, peer_reads_counter, c);
    uint64_t big = 0xfffffffffffffffeull; /* 1 + big overflows: waits for the read */
    c->wr = OUTCOME(write(c->efd, &big, sizeof big));
    peer_join(&p);
    close(c->efd);
    return NULL;
}

TEST(an_eventfd_write_that_must_wait_for_a_reader_coroutine_parks_instead_of_blocking_the_worker)
{
    configure_workers(1);
    watchdog(10);
    efd_full_ctx t = {0}, c = {0};
    run_on_thread(eventfd_overflow_scenario, &t);
    run_in_coroutine(eventfd_overflow_scenario, &c);
    CHECK_OUTCOME(t.wr, 8, 0);
    CHECK_OUTCOME(t.peer_rd, 8, 0);
    CHECK_EQ_LONG(t.peer_value, 1);
    CHECK_SAME_OUTCOME(t.wr, c.wr);
    CHECK_SAME_OUTCOME(t.peer_rd, c.peer_rd);
    CHECK_EQ_LONG(c.peer_value, 1);
}

/* Reader coroutines on several workers share an EFD_SEMAPHORE eventfd fed by
 * a writer coroutine: a reader that saw it readable may lose the count to
 * another reader; it must park again, not block its worker in the read (the
 * writer may be queued on that very worker). */
#define EFD_READERS 4
#define EFD_TOKENS  3000
#define EFD_ROUNDS  20

typedef struct efd_share_ctx {
    int efd;
    _Atomic long consumed;
    _Atomic int readers_done;
} efd_share_ctx;

static void *efd_reader(void *arg)
{
    efd_share_ctx *c = arg;
    for (;;) {
        uint64_t v;
        if (read(c->efd, &v, sizeof v) != 8) {
            CHECK(0);
            break;
        }
        if (atomic_fetch_add(&c->consumed, 1) >= EFD_TOKENS) break; /* one of the extra tokens: this reader is done */
    }
    atomic_fetch_add(&c->readers_done, 1);
    return NULL;
}

static void *efd_share_scenario(void *arg)
{
    efd_share_ctx *c = arg;
    c->efd = eventfd(0, EFD_SEMAPHORE);
    REQUIRE(c->efd >= 0);
    coroscope_co *rd[EFD_READERS];
    for (int i = 0; i < EFD_READERS; i++) REQUIRE(coroscope_spawn(&rd[i], "reader", efd_reader, c) == 0);
    uint64_t one = 1;
    for (int m = 0; m < EFD_TOKENS + EFD_READERS; m++) {
        CHECK_EQ_LONG(write(c->efd, &one, sizeof one), 8);
        if (m % 3 == 0) coroscope_yield();
    }
    for (int i = 0; i < EFD_READERS; i++) CHECK_EQ_ERR(coroscope_join(rd[i], NULL), 0);
    close(c->efd);
    return NULL;
}

TEST(reader_coroutines_on_several_workers_sharing_an_eventfd_never_block_a_worker_in_read)
{
    configure_workers(4);
    watchdog(15);
    spinners_start();
    for (int round = 0; round < EFD_ROUNDS && !test_failed(); round++) {
        efd_share_ctx c = {0};
        run_in_coroutine(efd_share_scenario, &c);
        CHECK_EQ_LONG(atomic_load(&c.consumed), EFD_TOKENS + EFD_READERS);
        CHECK_EQ_LONG(atomic_load(&c.readers_done), EFD_READERS);
    }
    spinners_stop();
}

/* ---- the engine keeps working -------------------------------------------------------------- */

typedef struct alive_ctx {
    int fds[2];
    outcome rd, sl;
    _Atomic int witness_ran_in_sleep;
    _Atomic int sleeping;
} alive_ctx;

static void *alive_peer(void *arg)
{
    alive_ctx *c = arg;
    atomic_store(&c->witness_ran_in_sleep, atomic_load(&c->sleeping));
    pause_ms(10);
    CHECK_EQ_LONG(write(c->fds[1], "ok", 2), 2);
    return NULL;
}

/* A hooked sleep parks (the peer runs meanwhile) and a pipe read parks until
 * the peer writes: the netpoller, the timers and the worker's wakeups work. */
static void *engine_still_works(void *arg)
{
    alive_ctx *c = arg;
    REQUIRE(pipe(c->fds) == 0);
    coroscope_co *p;
    REQUIRE(coroscope_spawn(&p, "peer", alive_peer, c) == 0);
    atomic_store(&c->sleeping, 1);
    c->sl = OUTCOME(usleep(30000));
    atomic_store(&c->sleeping, 0);
    char buf[4];
    c->rd = OUTCOME(read(c->fds[0], buf, sizeof buf));
    CHECK_EQ_ERR(coroscope_join(p, NULL), 0);
    close(c->fds[0]);
    close(c->fds[1]);
    return NULL;
}

static void check_engine_alive(void)
{
    alive_ctx c = {0};
    run_in_coroutine(engine_still_works, &c);
    CHECK_OUTCOME(c.sl, 0, 0);
    CHECK_OUTCOME(c.rd, 2, 0);
    CHECK(atomic_load(&c.witness_ran_in_sleep));
}

static void *nothing(void *arg)
{
    return arg;
}

static void *close_range_in_coroutine(void *arg)
{
    outcome *o = arg;
    *o = OUTCOME(close_range(3, ~0U, 0));
    return NULL;
}

TEST(close_range_3_to_max_on_the_main_thread_leaves_the_engine_working)
{
    configure_workers(1);
    watchdog(10);
    run_in_coroutine(nothing, NULL); /* the runtime runs */
    CHECK_EQ_LONG(close_range(3, ~0U, 0), 0);
    check_engine_alive();
    check_engine_alive();
}

TEST(close_range_3_to_max_in_a_coroutine_leaves_the_engine_working)
{
    configure_workers(1);
    watchdog(10);
    outcome o = {0, 0};
    run_in_coroutine(close_range_in_coroutine, &o);
    CHECK_OUTCOME(o, 0, 0);
    check_engine_alive();
}

TEST(close_range_with_cloexec_leaves_the_engine_working_and_marks_the_programs_fds)
{
    configure_workers(1);
    watchdog(10);
    run_in_coroutine(nothing, NULL);
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    CHECK_EQ_LONG(close_range(3, ~0U, CLOSE_RANGE_CLOEXEC), 0);
    CHECK_EQ_LONG(fcntl(fds[0], F_GETFD), FD_CLOEXEC);
    CHECK_EQ_LONG(fcntl(fds[1], F_GETFD), FD_CLOEXEC);
    close(fds[0]);
    close(fds[1]);
    check_engine_alive();
}

/* The fds in /proc/self/fd, as a bitmap over [0, 8192). */
#define MAXFD 8192
static void open_fds(unsigned char *bits)
{
    memset(bits, 0, MAXFD / 8);
    DIR *d = opendir("/proc/self/fd");
    REQUIRE(d);
    int self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd != self && fd < MAXFD) bits[fd / 8] |= (unsigned char)(1 << (fd % 8));
    }
    closedir(d);
}

TEST(closing_or_dup2_onto_an_engine_fd_fails_and_the_engine_keeps_working)
{
    configure_workers(1); /* check_engine_alive needs the peer on the sleeper's worker */
    watchdog(10);
    static unsigned char before[MAXFD / 8], after[MAXFD / 8];
    open_fds(before);
    run_in_coroutine(nothing, NULL);
    open_fds(after);
    int engine_fds[64], n = 0;
    for (int fd = 900; fd < MAXFD && n < 64; fd++)
        if ((after[fd / 8] >> (fd % 8) & 1) && !(before[fd / 8] >> (fd % 8) & 1)) engine_fds[n++] = fd;
    CHECK_GE_LONG(n, 2); /* the epoll instance and the worker's eventfd */
    int p[2];
    REQUIRE(pipe(p) == 0);
    for (int i = 0; i < n; i++) {
        CHECK_ERRNO(close(engine_fds[i]), EBADF);
        CHECK_ERRNO(dup2(p[0], engine_fds[i]), EBUSY);
        CHECK_ERRNO(dup3(p[0], engine_fds[i], O_CLOEXEC), EBUSY);
        CHECK_GE_LONG(syscall(SYS_fcntl, engine_fds[i], F_GETFD), 0); /* still open */
    }
    close(p[0]);
    close(p[1]);
    check_engine_alive();
}
