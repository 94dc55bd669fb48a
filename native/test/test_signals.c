/*
 * test_signals — the program's own signal handlers and EINTR.
 *
 * A thread blocked in read() returns -1/EINTR when a handler without
 * SA_RESTART runs, and keeps waiting under SA_RESTART where signal(7) says the
 * call restarts; sleeps, poll/select/epoll_wait and socket calls with a
 * timeout always end with EINTR. A coroutine parked in those calls is on no
 * thread, so the engine wraps the program's handlers and ends the parked
 * waits itself: the outcomes must be those of the plain thread. The program
 * must also see its own handlers back from sigaction and signal.
 *
 * Each scenario runs first on the main thread, before the runtime starts (so
 * the process has one thread and SIGALRM can only interrupt it), then in a
 * coroutine on the only worker. Timers: setitimer(ITIMER_REAL), SIGALRM.
 */
#define CS_TEST_MAIN
#include "cs_test.h"
#include "alarm_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include "hook_compare.h"

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000 /* added by glibc on x86-64; not the program's */
#endif


/* A peer thread must not take the SIGALRM meant for the scenario's thread. */
static void peer_ignores_alarm(void)
{
    if (!coroscope_id()) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGALRM);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
    }
}

/* Run the scenario on the main thread, then in a coroutine on one worker. */
static void thread_then_coroutine(coroscope_fn scenario, void *on_thread, void *in_co)
{
    configure_workers(1);
    watchdog(15);
    scenario(on_thread);
    run_in_coroutine(scenario, in_co);
}

/* A TCP listener on loopback. */
static int listener(struct sockaddr_in *addr)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(l >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    REQUIRE(bind(l, (struct sockaddr *)&a, sizeof a) == 0);
    REQUIRE(listen(l, 8) == 0);
    REQUIRE(getsockname(l, (struct sockaddr *)&a, &al) == 0);
    if (addr) *addr = a;
    return l;
}

/* Fill a non-blocking-for-now fd until EAGAIN, then make it blocking again. */
static void fill(int fd)
{
    static char junk[4096];
    int fl = fcntl(fd, F_GETFL);
    REQUIRE(fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0);
    while (write(fd, junk, sizeof junk) > 0)
        ;
    REQUIRE(fcntl(fd, F_SETFL, fl) == 0);
}

/* ---- without SA_RESTART: EINTR ------------------------------------------------------- */

enum { C_READ, C_READV, C_RECV, C_ACCEPT, C_WRITE_FULL_PIPE, C_SEND_FULL_SOCKET, C_PARTIAL_WRITE, NCALLS };
static const char *call_name[NCALLS] = {"read",
                                        "readv",
                                        "recv",
                                        "accept",
                                        "write to a full pipe",
                                        "send to a full socket",
                                        "write of 100 KiB into an empty pipe"};

typedef struct intr_ctx {
    outcome o[NCALLS];
    long ns[NCALLS];
    int handled[NCALLS];
} intr_ctx;

static void *interrupted_calls(void *arg)
{
    intr_ctx *c = arg;
    install(0);
    int p[2], sv[2];
    REQUIRE(pipe(p) == 0);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int l = listener(NULL);
    char buf[64];
    static char big[100 << 10];
    for (int k = 0; k < NCALLS; k++) {
        int h0 = atomic_load(&handled);
        int wp[2];
        if (k == C_WRITE_FULL_PIPE) {
            REQUIRE(pipe(wp) == 0);
            fill(wp[1]);
        } else if (k == C_PARTIAL_WRITE) {
            REQUIRE(pipe(wp) == 0);
        } else if (k == C_SEND_FULL_SOCKET) {
            fill(sv[1]);
        }
        struct iovec iov = {buf, sizeof buf};
        arm_ms(100);
        uint64_t t0 = now_ns();
        switch (k) {
        case C_READ: c->o[k] = OUTCOME(read(p[0], buf, sizeof buf)); break;
        case C_READV: c->o[k] = OUTCOME(readv(p[0], &iov, 1)); break;
        case C_RECV: c->o[k] = OUTCOME(recv(sv[0], buf, sizeof buf, 0)); break;
        case C_ACCEPT: c->o[k] = OUTCOME(accept(l, NULL, NULL)); break;
        case C_WRITE_FULL_PIPE: c->o[k] = OUTCOME(write(wp[1], "x", 1)); break;
        case C_SEND_FULL_SOCKET: c->o[k] = OUTCOME(send(sv[1], big, 1000, 0)); break;
        case C_PARTIAL_WRITE:
            c->o[k] = OUTCOME(write(wp[1], big, sizeof big)); /* 64 KiB fit, then the wait */
            break;
        }
        c->ns[k] = (long)(now_ns() - t0);
        c->handled[k] = atomic_load(&handled) - h0;
        if (k == C_WRITE_FULL_PIPE || k == C_PARTIAL_WRITE) {
            close(wp[0]);
            close(wp[1]);
        }
    }
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
    close(l);
    return NULL;
}

TEST(parked_reads_writes_and_accept_return_eintr_when_a_handler_without_sa_restart_runs)
{
    intr_ctx t = {0}, c = {0};
    thread_then_coroutine(interrupted_calls, &t, &c);
    for (int k = 0; k < NCALLS; k++) {
        if (k == C_PARTIAL_WRITE)
            CHECK_OUTCOME(c.o[k], 65536, 0); /* the partial count, as the kernel returns it */
        else
            CHECK_OUTCOME(c.o[k], -1, EINTR);
        CHECK_SAME_OUTCOME(t.o[k], c.o[k]);
        CHECK_EQ_LONG(c.handled[k], 1);
        CHECK_EQ_LONG(t.handled[k], 1);
        CHECK_GE_LONG(c.ns[k], 95 * MS);
        CHECK_LT_LONG(c.ns[k], 400 * MS);
        if (test_failed()) {
            fprintf(stderr, "(failed at or before the \"%s\" case)\n", call_name[k]);
            break;
        }
    }
}

/* ---- with SA_RESTART: the call goes on --------------------------------------------------- */

typedef struct restart_ctx {
    int p[2], sv[2], l;
    struct sockaddr_in addr;
    outcome rd, rcv, acc;
    long ns;
    int handled;
} restart_ctx;

static void *late_peer(void *arg)
{
    restart_ctx *c = arg;
    peer_ignores_alarm();
    pause_ms(200); /* the timer fires at 50 ms */
    CHECK_EQ_LONG(write(c->p[1], "late", 4), 4);
    CHECK_EQ_LONG(send(c->sv[1], "later", 5, 0), 5);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_EQ_LONG(connect(s, (struct sockaddr *)&c->addr, sizeof c->addr), 0);
    close(s);
    return NULL;
}

static void *restarted_calls(void *arg)
{
    restart_ctx *c = arg;
    install(SA_RESTART);
    REQUIRE(pipe(c->p) == 0);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, c->sv) == 0);
    c->l = listener(&c->addr);
    peer pe;
    peer_start(&pe, late_peer, c);
    char buf[16];
    int h0 = atomic_load(&handled);
    uint64_t t0 = now_ns();
    arm_ms(50);
    c->rd = OUTCOME(read(c->p[0], buf, sizeof buf));
    c->ns = (long)(now_ns() - t0);
    c->handled = atomic_load(&handled) - h0;
    c->rcv = OUTCOME(recv(c->sv[0], buf, sizeof buf, 0));
    int s = accept(c->l, NULL, NULL);
    c->acc = (outcome){s >= 0 ? 0 : -1, s >= 0 ? 0 : errno};
    if (s >= 0) close(s);
    peer_join(&pe);
    close(c->p[0]);
    close(c->p[1]);
    close(c->sv[0]);
    close(c->sv[1]);
    close(c->l);
    return NULL;
}

TEST(with_sa_restart_a_parked_read_keeps_waiting_and_returns_the_data_written_later)
{
    restart_ctx t = {0}, c = {0};
    thread_then_coroutine(restarted_calls, &t, &c);
    CHECK_OUTCOME(c.rd, 4, 0);
    CHECK_OUTCOME(c.rcv, 5, 0);
    CHECK_OUTCOME(c.acc, 0, 0);
    CHECK_SAME_OUTCOME(t.rd, c.rd);
    CHECK_SAME_OUTCOME(t.rcv, c.rcv);
    CHECK_SAME_OUTCOME(t.acc, c.acc);
    CHECK_EQ_LONG(c.handled, 1); /* the handler ran while the read waited */
    CHECK_EQ_LONG(t.handled, 1);
    CHECK_GE_LONG(c.ns, 190 * MS);
}

/* A restarted accept in a coroutine, on its own (the timer fires while accept waits). */
static void *restarted_accept(void *arg)
{
    restart_ctx *c = arg;
    install(SA_RESTART);
    REQUIRE(pipe(c->p) == 0);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, c->sv) == 0);
    c->l = listener(&c->addr);
    peer pe;
    /* the peer writes first (200 ms): drain those, then accept waits */
    peer_start(&pe, late_peer, c);
    int h0 = atomic_load(&handled);
    arm_ms(50);
    int s = accept(c->l, NULL, NULL);
    c->acc = (outcome){s >= 0 ? 0 : -1, s >= 0 ? 0 : errno};
    c->handled = atomic_load(&handled) - h0;
    if (s >= 0) close(s);
    peer_join(&pe);
    close(c->p[0]);
    close(c->p[1]);
    close(c->sv[0]);
    close(c->sv[1]);
    close(c->l);
    return NULL;
}

TEST(with_sa_restart_a_parked_accept_keeps_waiting_for_the_connection)
{
    restart_ctx t = {0}, c = {0};
    thread_then_coroutine(restarted_accept, &t, &c);
    CHECK_OUTCOME(c.acc, 0, 0);
    CHECK_SAME_OUTCOME(t.acc, c.acc);
    CHECK_EQ_LONG(c.handled, 1);
    CHECK_EQ_LONG(t.handled, 1);
}

/* ---- sleeps ------------------------------------------------------------------------------ */

typedef struct sleep_ctx {
    int flags;
    outcome nano, usl;
    int clk_ret;
    unsigned sleep_ret;
    struct timespec rem, clk_rem;
    long nano_ns;
} sleep_ctx;

static void *interrupted_sleeps(void *arg)
{
    sleep_ctx *c = arg;
    install(c->flags);
    struct timespec one = {1, 0};
    arm_ms(100);
    uint64_t t0 = now_ns();
    c->nano = OUTCOME(nanosleep(&one, &c->rem));
    c->nano_ns = (long)(now_ns() - t0);
    arm_ms(100);
    c->usl = OUTCOME(usleep(900000));
    arm_ms(100);
    c->clk_ret = clock_nanosleep(CLOCK_MONOTONIC, 0, &one, &c->clk_rem);
    arm_ms(100);
    c->sleep_ret = sleep(2);
    return NULL;
}

static long ts_ms(struct timespec ts)
{
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void check_interrupted_sleeps(int flags)
{
    sleep_ctx t = {.flags = flags}, c = {.flags = flags};
    thread_then_coroutine(interrupted_sleeps, &t, &c);
    CHECK_OUTCOME(c.nano, -1, EINTR);
    CHECK_SAME_OUTCOME(t.nano, c.nano);
    CHECK_OUTCOME(c.usl, -1, EINTR);
    CHECK_SAME_OUTCOME(t.usl, c.usl);
    CHECK_EQ_ERR(c.clk_ret, EINTR);
    CHECK_EQ_ERR(t.clk_ret, c.clk_ret);
    CHECK_EQ_LONG(c.sleep_ret, 1); /* the whole seconds not slept (glibc truncates) */
    CHECK_EQ_LONG(t.sleep_ret, c.sleep_ret);
    /* rem: about 900 ms of the second were left */
    CHECK_GT_LONG(ts_ms(c.rem), 600);
    CHECK_LE_LONG(ts_ms(c.rem), 905);
    CHECK_GT_LONG(ts_ms(c.clk_rem), 600);
    CHECK_LE_LONG(ts_ms(c.clk_rem), 905);
    CHECK_GT_LONG(ts_ms(t.rem), 600);
    CHECK_GE_LONG(c.nano_ns, 95 * MS);
    CHECK_LT_LONG(c.nano_ns, 400 * MS);
}

TEST(sleeps_interrupted_by_a_handler_without_sa_restart_return_eintr_and_the_remaining_time)
{
    check_interrupted_sleeps(0);
}

TEST(sleeps_interrupted_by_a_handler_with_sa_restart_still_return_eintr_and_the_remaining_time)
{
    check_interrupted_sleeps(SA_RESTART);
}

/* ---- poll, select, epoll_wait: never restarted -------------------------------------------------- */

typedef struct mux_ctx {
    outcome poll_, ppoll_, select_, pselect_, epoll_;
    int handled;
} mux_ctx;

static void *interrupted_waits(void *arg)
{
    mux_ctx *c = arg;
    install(SA_RESTART);
    int p[2];
    REQUIRE(pipe(p) == 0);
    int h0 = atomic_load(&handled);
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    arm_ms(50);
    c->poll_ = OUTCOME(poll(&pf, 1, -1));
    arm_ms(50);
    c->ppoll_ = OUTCOME(ppoll(&pf, 1, NULL, NULL));
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    arm_ms(50);
    c->select_ = OUTCOME(select(p[0] + 1, &r, NULL, NULL, NULL));
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    arm_ms(50);
    c->pselect_ = OUTCOME(pselect(p[0] + 1, &r, NULL, NULL, NULL, NULL));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
    arm_ms(50);
    c->epoll_ = OUTCOME(epoll_wait(ep, &ev, 1, 5000));
    c->handled = atomic_load(&handled) - h0;
    close(ep);
    close(p[0]);
    close(p[1]);
    return NULL;
}

TEST(poll_select_and_epoll_wait_interrupted_by_a_handler_return_eintr_even_under_sa_restart)
{
    mux_ctx t = {0}, c = {0};
    thread_then_coroutine(interrupted_waits, &t, &c);
    CHECK_OUTCOME(c.poll_, -1, EINTR);
    CHECK_OUTCOME(c.ppoll_, -1, EINTR);
    CHECK_OUTCOME(c.select_, -1, EINTR);
    CHECK_OUTCOME(c.pselect_, -1, EINTR);
    CHECK_OUTCOME(c.epoll_, -1, EINTR);
    CHECK_SAME_OUTCOME(t.poll_, c.poll_);
    CHECK_SAME_OUTCOME(t.ppoll_, c.ppoll_);
    CHECK_SAME_OUTCOME(t.select_, c.select_);
    CHECK_SAME_OUTCOME(t.pselect_, c.pselect_);
    CHECK_SAME_OUTCOME(t.epoll_, c.epoll_);
    CHECK_EQ_LONG(c.handled, 5);
    CHECK_EQ_LONG(t.handled, 5);
}

/* ---- socket timeouts: never restarted ----------------------------------------------------------- */

typedef struct sotimeo_ctx {
    outcome rcv, acc, snd;
    long rcv_ns;
} sotimeo_ctx;

static void *interrupted_timed_socket_calls(void *arg)
{
    sotimeo_ctx *c = arg;
    install(SA_RESTART);
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    struct timeval tv = {2, 0};
    REQUIRE(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    char buf[16];
    arm_ms(100);
    uint64_t t0 = now_ns();
    c->rcv = OUTCOME(recv(sv[0], buf, sizeof buf, 0));
    c->rcv_ns = (long)(now_ns() - t0);

    int l = listener(NULL);
    REQUIRE(setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    arm_ms(100);
    c->acc = OUTCOME(accept(l, NULL, NULL));
    close(l);

    fill(sv[1]);
    REQUIRE(setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0);
    arm_ms(100);
    c->snd = OUTCOME(send(sv[1], buf, sizeof buf, 0));
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

TEST(recv_accept_and_send_with_socket_timeouts_interrupted_by_a_handler_return_eintr_even_under_sa_restart)
{
    sotimeo_ctx t = {0}, c = {0};
    thread_then_coroutine(interrupted_timed_socket_calls, &t, &c);
    CHECK_OUTCOME(c.rcv, -1, EINTR);
    CHECK_OUTCOME(c.acc, -1, EINTR);
    CHECK_OUTCOME(c.snd, -1, EINTR);
    CHECK_SAME_OUTCOME(t.rcv, c.rcv);
    CHECK_SAME_OUTCOME(t.acc, c.acc);
    CHECK_SAME_OUTCOME(t.snd, c.snd);
    CHECK_GE_LONG(c.rcv_ns, 95 * MS);
    CHECK_LT_LONG(c.rcv_ns, 1000 * MS);
}

/* ---- what the program sees of its handlers -------------------------------------------------------- */

static void h1(int sig)
{
    (void)sig;
}
static void h2(int sig)
{
    (void)sig;
}
static void h_info(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si, (void)uc;
}

typedef struct readback_ctx {
    struct sigaction plain, info, ign, replaced_old, dfl_old;
    int r_plain, r_info, r_ign;
} readback_ctx;

static void *read_back_handlers(void *arg)
{
    readback_ctx *c = arg;
    struct sigaction a;
    memset(&a, 0, sizeof a);
    a.sa_handler = h1;
    a.sa_flags = SA_RESTART | SA_NODEFER;
    sigemptyset(&a.sa_mask);
    sigaddset(&a.sa_mask, SIGUSR2);
    sigaddset(&a.sa_mask, SIGTERM);
    REQUIRE(sigaction(SIGUSR1, &a, NULL) == 0);
    c->r_plain = sigaction(SIGUSR1, NULL, &c->plain);

    memset(&a, 0, sizeof a);
    a.sa_sigaction = h_info;
    a.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&a.sa_mask);
    REQUIRE(sigaction(SIGUSR2, &a, NULL) == 0);
    c->r_info = sigaction(SIGUSR2, NULL, &c->info);

    memset(&a, 0, sizeof a);
    a.sa_handler = SIG_IGN;
    sigemptyset(&a.sa_mask);
    REQUIRE(sigaction(SIGHUP, &a, NULL) == 0);
    c->r_ign = sigaction(SIGHUP, NULL, &c->ign);

    /* replacing returns the previous action */
    memset(&a, 0, sizeof a);
    a.sa_handler = h2;
    sigemptyset(&a.sa_mask);
    REQUIRE(sigaction(SIGUSR1, &a, &c->replaced_old) == 0);
    memset(&a, 0, sizeof a);
    a.sa_handler = SIG_DFL;
    sigemptyset(&a.sa_mask);
    REQUIRE(sigaction(SIGUSR1, &a, &c->dfl_old) == 0);
    REQUIRE(sigaction(SIGUSR2, &a, NULL) == 0);
    REQUIRE(sigaction(SIGHUP, &a, NULL) == 0);
    return NULL;
}

static void check_readback(const readback_ctx *c)
{
    CHECK_EQ_LONG(c->r_plain, 0);
    CHECK(c->plain.sa_handler == h1);
    CHECK_EQ_LONG(c->plain.sa_flags & ~SA_RESTORER, SA_RESTART | SA_NODEFER);
    CHECK(sigismember(&c->plain.sa_mask, SIGUSR2) == 1);
    CHECK(sigismember(&c->plain.sa_mask, SIGTERM) == 1);
    CHECK(sigismember(&c->plain.sa_mask, SIGINT) == 0);
    CHECK_EQ_LONG(c->r_info, 0);
    CHECK(c->info.sa_sigaction == h_info);
    CHECK_EQ_LONG(c->info.sa_flags & ~SA_RESTORER, SA_SIGINFO | SA_ONSTACK);
    CHECK_EQ_LONG(c->r_ign, 0);
    CHECK(c->ign.sa_handler == SIG_IGN);
    CHECK(c->replaced_old.sa_handler == h1);
    CHECK_EQ_LONG(c->replaced_old.sa_flags & ~SA_RESTORER, SA_RESTART | SA_NODEFER);
    CHECK(c->dfl_old.sa_handler == h2);
    CHECK_EQ_LONG(c->dfl_old.sa_flags & ~SA_RESTORER, 0);
}

TEST(sigaction_with_a_null_act_returns_exactly_the_handler_flags_and_mask_the_program_installed)
{
    readback_ctx t, c;
    memset(&t, 0, sizeof t);
    memset(&c, 0, sizeof c);
    read_back_handlers(&t); /* main thread, no runtime yet */
    check_readback(&t);
    run_in_coroutine(read_back_handlers, &c);
    check_readback(&c);
    /* and from the main thread while the runtime runs */
    memset(&t, 0, sizeof t);
    read_back_handlers(&t);
    check_readback(&t);
}

static _Atomic int h1_runs, h2_runs;
static void count_h1(int sig)
{
    (void)sig, atomic_fetch_add(&h1_runs, 1);
}
static void count_h2(int sig)
{
    (void)sig, atomic_fetch_add(&h2_runs, 1);
}

typedef struct signal_ctx {
    sighandler_t first, second, third, fourth;
    int h1_ran, h2_ran;
    struct sigaction after_signal;
} signal_ctx;

static void *signal_returns_previous(void *arg)
{
    signal_ctx *c = arg;
    atomic_store(&h1_runs, 0);
    atomic_store(&h2_runs, 0);
    c->first = signal(SIGUSR1, count_h1);
    raise(SIGUSR1);
    c->h1_ran = atomic_load(&h1_runs);
    c->second = signal(SIGUSR1, count_h2);
    sigaction(SIGUSR1, NULL, &c->after_signal);
    raise(SIGUSR1);
    c->h2_ran = atomic_load(&h2_runs);
    c->third = signal(SIGUSR1, SIG_IGN);
    raise(SIGUSR1); /* ignored */
    c->fourth = signal(SIGUSR1, SIG_DFL);
    return NULL;
}

static void check_signal_ctx(const signal_ctx *c)
{
    CHECK(c->first == SIG_DFL);
    CHECK(c->second == count_h1);
    CHECK(c->third == count_h2);
    CHECK(c->fourth == SIG_IGN);
    CHECK_EQ_LONG(c->h1_ran, 1);
    CHECK_EQ_LONG(c->h2_ran, 1);
    /* glibc's signal(): BSD semantics, the signal blocked in its handler */
    CHECK(c->after_signal.sa_handler == count_h2);
    CHECK_EQ_LONG(c->after_signal.sa_flags & ~SA_RESTORER, SA_RESTART);
    CHECK(sigismember(&c->after_signal.sa_mask, SIGUSR1) == 1);
}

TEST(signal_returns_the_previous_handler_and_installs_a_restarting_handler_that_runs_once_per_signal)
{
    signal_ctx t = {0}, c = {0};
    signal_returns_previous(&t);
    check_signal_ctx(&t);
    run_in_coroutine(signal_returns_previous, &c);
    check_signal_ctx(&c);
}

typedef struct resethand_ctx {
    struct sigaction after;
    int ran;
} resethand_ctx;

static void *resethand_scenario(void *arg)
{
    resethand_ctx *c = arg;
    atomic_store(&h1_runs, 0);
    struct sigaction a;
    memset(&a, 0, sizeof a);
    a.sa_handler = count_h1;
    a.sa_flags = SA_RESETHAND;
    sigemptyset(&a.sa_mask);
    REQUIRE(sigaction(SIGUSR2, &a, NULL) == 0);
    raise(SIGUSR2);
    c->ran = atomic_load(&h1_runs);
    REQUIRE(sigaction(SIGUSR2, NULL, &c->after) == 0);
    return NULL;
}

TEST(after_a_sa_resethand_handler_ran_sigaction_reports_sig_dfl_with_the_programs_flags)
{
    /* The sigaction hook applies on plain threads too, so the expected values
     * are written out: without the engine, glibc on Linux reports SIG_DFL with
     * the flags the program set (plus SA_RESTORER) — the kernel resets the
     * handler only. */
    resethand_ctx t, c;
    memset(&t, 0, sizeof t);
    memset(&c, 0, sizeof c);
    resethand_scenario(&t);
    run_in_coroutine(resethand_scenario, &c);
    CHECK_EQ_LONG(t.ran, 1);
    CHECK_EQ_LONG(c.ran, 1);
    CHECK(t.after.sa_handler == SIG_DFL);
    CHECK(c.after.sa_handler == SIG_DFL);
    CHECK_EQ_LONG((unsigned)(t.after.sa_flags & ~SA_RESTORER), (unsigned)SA_RESETHAND);
    CHECK_EQ_LONG((unsigned)(c.after.sa_flags & ~SA_RESTORER), (unsigned)SA_RESETHAND);
}

/* ---- the handler's siginfo --------------------------------------------------------------------------- */

static _Atomic int info_signo, info_code, info_pid, info_val;

static void record_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    atomic_store(&info_signo, sig == si->si_signo ? sig : -1);
    atomic_store(&info_code, si->si_code);
    atomic_store(&info_pid, si->si_pid);
    atomic_store(&info_val, si->si_value.sival_int);
}

typedef struct info_ctx {
    int signo, code, pid, val;
} info_ctx;

static void *queue_to_self(void *arg)
{
    info_ctx *c = arg;
    struct sigaction a;
    memset(&a, 0, sizeof a);
    a.sa_sigaction = record_info;
    a.sa_flags = SA_SIGINFO;
    sigemptyset(&a.sa_mask);
    REQUIRE(sigaction(SIGUSR1, &a, NULL) == 0);
    /* to this thread: sigqueue would pick any thread of the process */
    union sigval v = {.sival_int = 4242};
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value = v;
    REQUIRE(syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGUSR1, &si) == 0);
    c->signo = atomic_load(&info_signo);
    c->code = atomic_load(&info_code);
    c->pid = atomic_load(&info_pid);
    c->val = atomic_load(&info_val);
    return NULL;
}

TEST(a_sa_siginfo_handler_receives_the_signals_siginfo_in_a_coroutine_as_on_a_thread)
{
    info_ctx t = {0}, c = {0};
    queue_to_self(&t);
    run_in_coroutine(queue_to_self, &c);
    CHECK_EQ_LONG(c.signo, SIGUSR1);
    CHECK_EQ_LONG(c.code, SI_QUEUE);
    CHECK_EQ_LONG(c.pid, getpid());
    CHECK_EQ_LONG(c.val, 4242);
    CHECK_EQ_LONG(t.signo, c.signo);
    CHECK_EQ_LONG(t.code, c.code);
    CHECK_EQ_LONG(t.val, c.val);
}
