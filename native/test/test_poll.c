/*
 * test_poll — poll, ppoll, select, pselect, epoll_wait, epoll_pwait inside
 * coroutines.
 *
 * Inside a coroutine these park on the netpoller until one of the fds is
 * ready, the timeout passes or a signal handler runs; a zero timeout is one
 * real call and never parks. Results (return value, revents, the sets, the
 * events array, errno, select's timeout write-back) must be those of the real
 * call on a plain thread.
 *
 * Scenarios run on a plain thread and in a coroutine (hook_compare.h). With
 * one worker, the peer that makes an fd ready is a coroutine of the same
 * worker: the wait must park for it to run.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>

#include "hook_compare.h"

/* The observer of the engine's hooks (init.c); see test_passthrough.c. */
typedef struct {
    int hook, fd, in_co, parked;
    long ret;
    int err;
} cs_call;
void coroscope__set_call_observer(void (*)(const cs_call *));

enum api { API_POLL, API_PPOLL, API_SELECT, API_PSELECT, API_EPOLL_WAIT, API_EPOLL_PWAIT };

static const char *api_name[] = {"poll", "ppoll", "select", "pselect", "epoll_wait", "epoll_pwait"};

/* Wait until fd is readable with the given api; timeout_ms < 0: no timeout.
 * *ready: the result says fd is readable. */
static outcome wait_readable(int api, int fd, int timeout_ms, int *ready)
{
    outcome o = {0, 0};
    *ready = 0;
    struct timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * MS};
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    switch (api) {
    case API_POLL:
    case API_PPOLL: {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        o = api == API_POLL ? OUTCOME(poll(&p, 1, timeout_ms))
                            : OUTCOME(ppoll(&p, 1, timeout_ms < 0 ? NULL : &ts, NULL));
        *ready = (p.revents & POLLIN) != 0;
        break;
    }
    case API_SELECT:
    case API_PSELECT: {
        fd_set r;
        FD_ZERO(&r);
        FD_SET(fd, &r);
        o = api == API_SELECT ? OUTCOME(select(fd + 1, &r, NULL, NULL, timeout_ms < 0 ? NULL : &tv))
                              : OUTCOME(pselect(fd + 1, &r, NULL, NULL, timeout_ms < 0 ? NULL : &ts, NULL));
        *ready = FD_ISSET(fd, &r) != 0;
        break;
    }
    case API_EPOLL_WAIT:
    case API_EPOLL_PWAIT: {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        REQUIRE(ep >= 0);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0xabcdef};
        REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
        struct epoll_event out[4];
        memset(out, 0, sizeof out);
        o = api == API_EPOLL_WAIT ? OUTCOME(epoll_wait(ep, out, 4, timeout_ms))
                                  : OUTCOME(epoll_pwait(ep, out, 4, timeout_ms, NULL));
        *ready = o.ret == 1 && out[0].data.u64 == 0xabcdef && (out[0].events & EPOLLIN);
        close(ep);
        break;
    }
    }
    return o;
}

#define ALL_APIS(name)                \
    static void name##_body(int api); \
    TEST(poll_##name)                 \
    {                                 \
        name##_body(API_POLL);        \
    }                                 \
    TEST(ppoll_##name)                \
    {                                 \
        name##_body(API_PPOLL);       \
    }                                 \
    TEST(select_##name)               \
    {                                 \
        name##_body(API_SELECT);      \
    }                                 \
    TEST(pselect_##name)              \
    {                                 \
        name##_body(API_PSELECT);     \
    }                                 \
    TEST(epoll_wait_##name)           \
    {                                 \
        name##_body(API_EPOLL_WAIT);  \
    }                                 \
    TEST(epoll_pwait_##name)          \
    {                                 \
        name##_body(API_EPOLL_PWAIT); \
    }                                 \
    static void name##_body(int api)

/* ---- parking until another coroutine makes the fd ready --------------------------- */

typedef struct ready_ctx {
    int api;
    int use_socket;
    int fds[2];
    outcome o;
    int ready;
    _Atomic int waiting;
    _Atomic int peer_saw_waiting;
} ready_ctx;

static void *peer_makes_readable(void *arg)
{
    ready_ctx *c = arg;
    pause_ms(20);
    atomic_store(&c->peer_saw_waiting, atomic_load(&c->waiting));
    CHECK_EQ_LONG(write(c->fds[1], "!", 1), 1);
    return NULL;
}

static void *ready_scenario(void *arg)
{
    ready_ctx *c = arg;
    if (c->use_socket)
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, c->fds) == 0);
    else
        REQUIRE(pipe(c->fds) == 0);
    peer p;
    peer_start(&p, peer_makes_readable, c);
    atomic_store(&c->waiting, 1);
    c->o = wait_readable(c->api, c->fds[0], -1, &c->ready);
    atomic_store(&c->waiting, 0);
    peer_join(&p);
    close(c->fds[0]);
    close(c->fds[1]);
    return NULL;
}

static void parks_until_ready(int api, int use_socket)
{
    configure_workers(1);
    watchdog(10);
    ready_ctx t = {.api = api, .use_socket = use_socket}, c = {.api = api, .use_socket = use_socket};
    run_on_thread(ready_scenario, &t);
    run_in_coroutine(ready_scenario, &c);
    CHECK_OUTCOME(c.o, 1, 0);
    CHECK_SAME_OUTCOME(t.o, c.o);
    CHECK(c.ready);
    CHECK(t.ready);
    CHECK(atomic_load(&c.peer_saw_waiting)); /* the peer ran while the wait was on */
}

ALL_APIS(parks_until_another_coroutine_of_the_same_worker_makes_a_pipe_readable)
{
    parks_until_ready(api, 0);
}

ALL_APIS(parks_until_another_coroutine_of_the_same_worker_makes_a_socket_readable)
{
    parks_until_ready(api, 1);
}

/* ---- timeouts ------------------------------------------------------------------------- */

typedef struct timeout_ctx {
    int api;
    outcome o;
    int ready;
    long ns;
    _Atomic int ticks;
    _Atomic int stop;
} timeout_ctx;

static void *ticker(void *arg)
{
    timeout_ctx *c = arg;
    while (!atomic_load(&c->stop)) {
        atomic_fetch_add(&c->ticks, 1);
        pause_ms(5);
    }
    return NULL;
}

static void *timeout_scenario(void *arg)
{
    timeout_ctx *c = arg;
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    peer p;
    peer_start(&p, ticker, c);
    uint64_t t0 = now_ns();
    c->o = wait_readable(c->api, fds[0], 50, &c->ready);
    c->ns = (long)(now_ns() - t0);
    atomic_store(&c->stop, 1);
    peer_join(&p);
    close(fds[0]);
    close(fds[1]);
    return NULL;
}

ALL_APIS(with_a_timeout_of_50_ms_returns_0_after_about_50_ms_and_parks_meanwhile)
{
    configure_workers(1);
    watchdog(10);
    timeout_ctx t = {.api = api}, c = {.api = api};
    run_on_thread(timeout_scenario, &t);
    run_in_coroutine(timeout_scenario, &c);
    CHECK_OUTCOME(c.o, 0, 0);
    CHECK_SAME_OUTCOME(t.o, c.o);
    CHECK(!c.ready);
    CHECK_GE_LONG(c.ns, 49 * MS);
    CHECK_LT_LONG(c.ns, 2000 * MS); /* it ends: late only by what a loaded machine adds */
    /* The ticker, on the same (only) worker, ran during the wait and woke
     * from its own 5 ms sleep at least once before the wait ended: its
     * timer is due before the wait's, so even a worker that was not
     * scheduled for the whole 50 ms runs it first. A wait that blocked the
     * worker leaves it 0 (it first runs when the waiter has set stop). */
    CHECK_GE_LONG(atomic_load(&c.ticks), 2);
}

/* ---- zero timeout ------------------------------------------------------------------- */

static _Atomic int observed_parks, observed_calls;

static void count_parks(const cs_call *call)
{
    if (call->in_co) {
        atomic_fetch_add(&observed_calls, 1);
        if (call->parked) atomic_fetch_add(&observed_parks, 1);
    }
}

static _Atomic int witness_ran;

static void *witness(void *arg)
{
    (void)arg;
    atomic_store(&witness_ran, 1);
    return NULL;
}

typedef struct zero_ctx {
    outcome empty[6], full[6];
    int ready_empty[6], ready_full[6];
    int witness_ran_during;
} zero_ctx;

static void *zero_scenario(void *arg)
{
    zero_ctx *c = arg;
    int fds[2], full[2];
    REQUIRE(pipe(fds) == 0);
    REQUIRE(pipe(full) == 0);
    CHECK_EQ_LONG(write(full[1], "x", 1), 1);
    coroscope_co *w = NULL;
    if (coroscope_id()) REQUIRE(coroscope_spawn(&w, "witness", witness, NULL) == 0);
    for (int api = 0; api < 6; api++) {
        c->empty[api] = wait_readable(api, fds[0], 0, &c->ready_empty[api]);
        c->full[api] = wait_readable(api, full[0], 0, &c->ready_full[api]);
    }
    c->witness_ran_during = atomic_load(&witness_ran);
    if (w) CHECK_EQ_ERR(coroscope_join(w, NULL), 0);
    close(fds[0]);
    close(fds[1]);
    close(full[0]);
    close(full[1]);
    return NULL;
}

TEST(a_zero_timeout_never_parks_and_returns_what_a_plain_thread_gets)
{
    configure_workers(1);
    zero_ctx t = {0}, c = {0};
    run_on_thread(zero_scenario, &t);
    coroscope__set_call_observer(count_parks);
    run_in_coroutine(zero_scenario, &c);
    coroscope__set_call_observer(NULL);
    for (int api = 0; api < 6; api++) {
        int failures_before = atomic_load(&cs_test_failures);
        CHECK_OUTCOME(c.empty[api], 0, 0);
        CHECK_OUTCOME(c.full[api], 1, 0);
        CHECK_SAME_OUTCOME(t.empty[api], c.empty[api]);
        CHECK_SAME_OUTCOME(t.full[api], c.full[api]);
        CHECK(!c.ready_empty[api]);
        CHECK(c.ready_full[api]);
        if (atomic_load(&cs_test_failures) != failures_before)
            fprintf(stderr, "(the failures above are %s's)\n", api_name[api]);
    }
    CHECK(!c.witness_ran_during); /* nothing else ran on the worker: no park, no yield */
    CHECK_GT_LONG(atomic_load(&observed_calls), 0);
    CHECK_EQ_LONG(atomic_load(&observed_parks), 0);
}

/* ---- poll details ---------------------------------------------------------------------- */

typedef struct pollfd_ctx {
    outcome neg, all_neg, none, nval, ppoll_nval, hup;
    short neg_rev[3], nval_rev[2], ppoll_nval_rev, hup_rev;
    long all_neg_ns, none_ns;
    int fds[2];
} pollfd_ctx;

static void *peer_closes_writer(void *arg)
{
    pollfd_ctx *c = arg;
    pause_ms(20);
    CHECK_EQ_LONG(close(c->fds[1]), 0);
    return NULL;
}

static void *pollfd_scenario(void *arg)
{
    pollfd_ctx *c = arg;
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    CHECK_EQ_LONG(write(fds[1], "x", 1), 1);
    struct pollfd p[3] = {{.fd = -1, .events = POLLIN, .revents = 0x7},
                          {.fd = fds[0], .events = POLLIN},
                          {.fd = -5, .events = POLLOUT, .revents = 0x40}};
    c->neg = OUTCOME(poll(p, 3, 1000));
    for (int i = 0; i < 3; i++) c->neg_rev[i] = p[i].revents;

    struct pollfd only_neg[2] = {{.fd = -1, .events = POLLIN}, {.fd = -2, .events = POLLIN}};
    uint64_t t0 = now_ns();
    c->all_neg = OUTCOME(poll(only_neg, 2, 50)); /* nothing to watch: a 50 ms sleep */
    c->all_neg_ns = (long)(now_ns() - t0);
    t0 = now_ns();
    c->none = OUTCOME(poll(NULL, 0, 50));
    c->none_ns = (long)(now_ns() - t0);

    /* a closed fd: POLLNVAL */
    int closed = fds[0];
    close(fds[0]);
    close(fds[1]);
    int live[2];
    REQUIRE(pipe2(live, O_CLOEXEC) == 0);
    REQUIRE(dup2(live[0], 900) == 900); /* a number surely free after this: closed below */
    close(900);
    struct pollfd q[2] = {{.fd = 900, .events = POLLIN}, {.fd = live[1], .events = POLLOUT}};
    c->nval = OUTCOME(poll(q, 2, -1));
    c->nval_rev[0] = q[0].revents;
    c->nval_rev[1] = q[1].revents;
    struct pollfd r = {.fd = 900, .events = POLLIN | POLLOUT};
    struct timespec ts = {1, 0};
    c->ppoll_nval = OUTCOME(ppoll(&r, 1, &ts, NULL));
    c->ppoll_nval_rev = r.revents;
    (void)closed;
    close(live[0]);
    close(live[1]);

    /* POLLHUP when the writer goes away */
    REQUIRE(pipe(c->fds) == 0);
    peer pe;
    peer_start(&pe, peer_closes_writer, c);
    struct pollfd h = {.fd = c->fds[0], .events = POLLIN};
    c->hup = OUTCOME(poll(&h, 1, -1));
    c->hup_rev = h.revents;
    peer_join(&pe);
    close(c->fds[0]);
    return NULL;
}

TEST(poll_ignores_negative_fds_reports_pollnval_and_pollhup_like_a_plain_thread)
{
    configure_workers(1);
    watchdog(10);
    pollfd_ctx t = {0}, c = {0};
    run_on_thread(pollfd_scenario, &t);
    run_in_coroutine(pollfd_scenario, &c);
    CHECK_OUTCOME(c.neg, 1, 0);
    CHECK_EQ_LONG(c.neg_rev[0], 0);
    CHECK_EQ_LONG(c.neg_rev[1], POLLIN);
    CHECK_EQ_LONG(c.neg_rev[2], 0);
    CHECK_OUTCOME(c.all_neg, 0, 0);
    CHECK_OUTCOME(c.none, 0, 0);
    CHECK_GE_LONG(c.all_neg_ns, 49 * MS);
    CHECK_LT_LONG(c.all_neg_ns, 300 * MS);
    CHECK_GE_LONG(c.none_ns, 49 * MS);
    CHECK_LT_LONG(c.none_ns, 300 * MS);
    CHECK_OUTCOME(c.nval, 2, 0);
    CHECK_EQ_LONG(c.nval_rev[0], POLLNVAL);
    CHECK_EQ_LONG(c.nval_rev[1], POLLOUT);
    CHECK_OUTCOME(c.ppoll_nval, 1, 0);
    CHECK_EQ_LONG(c.ppoll_nval_rev, POLLNVAL);
    CHECK_OUTCOME(c.hup, 1, 0);
    CHECK_EQ_LONG(c.hup_rev, POLLHUP);
    CHECK_SAME_OUTCOME(t.neg, c.neg);
    CHECK_SAME_OUTCOME(t.all_neg, c.all_neg);
    CHECK_SAME_OUTCOME(t.none, c.none);
    CHECK_SAME_OUTCOME(t.nval, c.nval);
    CHECK_SAME_OUTCOME(t.ppoll_nval, c.ppoll_nval);
    CHECK_SAME_OUTCOME(t.hup, c.hup);
    for (int i = 0; i < 3; i++) CHECK_EQ_LONG(t.neg_rev[i], c.neg_rev[i]);
    CHECK_EQ_LONG(t.nval_rev[0], c.nval_rev[0]);
    CHECK_EQ_LONG(t.nval_rev[1], c.nval_rev[1]);
    CHECK_EQ_LONG(t.ppoll_nval_rev, c.ppoll_nval_rev);
    CHECK_EQ_LONG(t.hup_rev, c.hup_rev);
}

/* POLLOUT on a full pipe: parks until a reader coroutine makes room. */
typedef struct pollout_ctx {
    int fds[2];
    outcome o;
    short rev;
} pollout_ctx;

static void *peer_drains(void *arg)
{
    pollout_ctx *c = arg;
    pause_ms(20);
    static char sink[1 << 16];
    CHECK_GT_LONG(read(c->fds[0], sink, sizeof sink), 4096);
    return NULL;
}

static void *pollout_scenario(void *arg)
{
    pollout_ctx *c = arg;
    REQUIRE(pipe2(c->fds, O_NONBLOCK) == 0);
    static char junk[4096];
    while (write(c->fds[1], junk, sizeof junk) > 0)
        ;
    peer p;
    peer_start(&p, peer_drains, c);
    struct pollfd q = {.fd = c->fds[1], .events = POLLOUT};
    c->o = OUTCOME(poll(&q, 1, -1));
    c->rev = q.revents;
    peer_join(&p);
    close(c->fds[0]);
    close(c->fds[1]);
    return NULL;
}

TEST(poll_for_pollout_on_a_full_pipe_parks_until_a_reader_coroutine_makes_room)
{
    configure_workers(1);
    watchdog(10);
    pollout_ctx t = {0}, c = {0};
    run_on_thread(pollout_scenario, &t);
    run_in_coroutine(pollout_scenario, &c);
    CHECK_OUTCOME(c.o, 1, 0);
    CHECK_EQ_LONG(c.rev, POLLOUT);
    CHECK_SAME_OUTCOME(t.o, c.o);
    CHECK_EQ_LONG(t.rev, c.rev);
}

/* ---- select: nfds, sets, timeout write-back ---------------------------------------------- */

typedef struct select_ctx {
    outcome sel, psel, badf, neg_nfds, bad_tv, timed_out;
    fd_set r, w, e, pr, pw;
    long tv_left_us, tv_after_timeout_us;
} select_ctx;

static void *select_scenario(void *arg)
{
    select_ctx *c = arg;
    int a[2], b[2], full[2];
    REQUIRE(pipe(a) == 0);
    REQUIRE(pipe(b) == 0);
    REQUIRE(pipe2(full, O_NONBLOCK) == 0);
    static char junk[4096];
    while (write(full[1], junk, sizeof junk) > 0)
        ;
    CHECK_EQ_LONG(write(a[1], "x", 1), 1);
    /* Use fixed numbers, so the thread and the coroutine build identical sets. */
    REQUIRE(dup2(a[0], 200) == 200 && dup2(a[1], 201) == 201 && dup2(b[0], 202) == 202 && dup2(b[1], 203) == 203 &&
            dup2(full[1], 204) == 204 && dup2(full[0], 206) == 206);
    int nfds = 206; /* 206 itself is beyond nfds: ignored */
    FD_ZERO(&c->r);
    FD_ZERO(&c->w);
    FD_ZERO(&c->e);
    FD_SET(200, &c->r);
    FD_SET(202, &c->r);
    FD_SET(206, &c->r); /* readable (a full pipe) but not examined */
    FD_SET(201, &c->w);
    FD_SET(203, &c->w);
    FD_SET(204, &c->w);
    FD_SET(200, &c->e);
    c->pr = c->r;
    c->pw = c->w;
    struct timeval tv = {0, 500000};
    c->sel = OUTCOME(select(nfds, &c->r, &c->w, &c->e, &tv));
    c->tv_left_us = tv.tv_sec * 1000000L + tv.tv_usec;
    struct timespec ts = {0, 500 * MS};
    c->psel = OUTCOME(pselect(nfds, &c->pr, &c->pw, NULL, &ts, NULL));

    /* nothing ready: the timeout passes, tv is written back as 0 */
    fd_set only_b;
    FD_ZERO(&only_b);
    FD_SET(202, &only_b);
    struct timeval tv2 = {0, 30000};
    c->timed_out = OUTCOME(select(203, &only_b, NULL, NULL, &tv2));
    c->tv_after_timeout_us = tv2.tv_sec * 1000000L + tv2.tv_usec;

    /* errors */
    close(203);
    fd_set bad;
    FD_ZERO(&bad);
    FD_SET(203, &bad);
    struct timeval tv3 = {1, 0};
    c->badf = OUTCOME(select(204, &bad, NULL, NULL, &tv3));
    c->neg_nfds = OUTCOME(select(-1, NULL, NULL, NULL, &tv3));
    struct timeval neg = {-1, 0};
    c->bad_tv = OUTCOME(select(0, NULL, NULL, NULL, &neg));
    for (int fd = 200; fd <= 206; fd++) close(fd);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    close(full[0]);
    close(full[1]);
    return NULL;
}

TEST(select_and_pselect_results_for_nfds_and_sets_are_those_of_a_plain_thread)
{
    select_ctx t = {0}, c = {0};
    run_on_thread(select_scenario, &t);
    run_in_coroutine(select_scenario, &c);
    CHECK_OUTCOME(c.sel, 3, 0); /* 200 readable, 201 and 203 writable, no exception */
    CHECK_OUTCOME(c.psel, 3, 0);
    CHECK_SAME_OUTCOME(t.sel, c.sel);
    CHECK_SAME_OUTCOME(t.psel, c.psel);
    CHECK(FD_ISSET(200, &c.r) && !FD_ISSET(202, &c.r));
    CHECK(FD_ISSET(201, &c.w) && FD_ISSET(203, &c.w) && !FD_ISSET(204, &c.w));
    CHECK(!memcmp(&t.r, &c.r, sizeof c.r));
    CHECK(!memcmp(&t.w, &c.w, sizeof c.w));
    CHECK(!memcmp(&t.e, &c.e, sizeof c.e));
    CHECK(!memcmp(&t.pr, &c.pr, sizeof c.pr));
    CHECK(!memcmp(&t.pw, &c.pw, sizeof c.pw));
    /* Linux writes the time not slept back into tv */
    CHECK_GT_LONG(c.tv_left_us, 400000);
    CHECK_LE_LONG(c.tv_left_us, 500000);
    CHECK_GT_LONG(t.tv_left_us, 400000);
    CHECK_OUTCOME(c.timed_out, 0, 0);
    CHECK_SAME_OUTCOME(t.timed_out, c.timed_out);
    CHECK_EQ_LONG(c.tv_after_timeout_us, 0);
    CHECK_EQ_LONG(t.tv_after_timeout_us, 0);
    CHECK_OUTCOME(c.badf, -1, EBADF);
    CHECK_OUTCOME(c.neg_nfds, -1, EINVAL);
    CHECK_OUTCOME(c.bad_tv, -1, EINVAL);
    CHECK_SAME_OUTCOME(t.badf, c.badf);
    CHECK_SAME_OUTCOME(t.neg_nfds, c.neg_nfds);
    CHECK_SAME_OUTCOME(t.bad_tv, c.bad_tv);
}

/* ---- epoll on a user epoll set -------------------------------------------------------------- */

typedef struct epoll_ctx {
    int p[3][2];
    outcome first, again_lt, et_first, et_again, maxev1, badf, notepoll, einval_maxev;
    int first_has[3], seen[3];
    long et_again_ns;
} epoll_ctx;

static void *peer_writes_pipes_0_and_2(void *arg)
{
    epoll_ctx *c = arg;
    pause_ms(20);
    CHECK_EQ_LONG(write(c->p[0][1], "a", 1), 1);
    CHECK_EQ_LONG(write(c->p[2][1], "c", 1), 1);
    return NULL;
}

static void *epoll_scenario(void *arg)
{
    epoll_ctx *c = arg;
    int ep = epoll_create1(0), et = epoll_create1(0);
    REQUIRE(ep >= 0 && et >= 0);
    for (int i = 0; i < 3; i++) {
        REQUIRE(pipe(c->p[i]) == 0);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
        REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, c->p[i][0], &ev) == 0);
        ev.events = EPOLLIN | EPOLLET;
        REQUIRE(epoll_ctl(et, EPOLL_CTL_ADD, c->p[i][0], &ev) == 0);
    }
    peer pe;
    peer_start(&pe, peer_writes_pipes_0_and_2, c);
    struct epoll_event out[8];
    c->first = OUTCOME(epoll_wait(ep, out, 8, -1));
    for (int i = 0; i < c->first.ret; i++)
        if (out[i].data.u64 < 3 && (out[i].events & EPOLLIN))
            c->first_has[out[i].data.u64] = c->seen[out[i].data.u64] = 1;
    /* a thread may wake between the peer's two writes: wait for the second too */
    for (int tries = 0; tries < 10 && !(c->seen[0] && c->seen[2]); tries++) {
        int n = epoll_wait(ep, out, 8, 1000);
        for (int i = 0; i < n; i++)
            if (out[i].data.u64 < 3) c->seen[out[i].data.u64] = 1;
    }
    peer_join(&pe);
    c->again_lt = OUTCOME(epoll_wait(ep, out, 8, 0)); /* level-triggered: both again */
    c->maxev1 = OUTCOME(epoll_pwait(ep, out, 1, 100, NULL));
    c->et_first = OUTCOME(epoll_wait(et, out, 8, 100)); /* edge-triggered: once */
    uint64_t t0 = now_ns();
    c->et_again = OUTCOME(epoll_wait(et, out, 8, 50)); /* no new edge: times out */
    c->et_again_ns = (long)(now_ns() - t0);
    c->einval_maxev = OUTCOME(epoll_wait(ep, out, 0, 10));
    c->notepoll = OUTCOME(epoll_wait(c->p[1][0], out, 8, 10));
    close(ep);
    close(et);
    c->badf = OUTCOME(epoll_wait(ep, out, 8, 10));
    for (int i = 0; i < 3; i++) {
        close(c->p[i][0]);
        close(c->p[i][1]);
    }
    return NULL;
}

TEST(epoll_wait_on_a_user_epoll_set_with_several_fds_parks_and_returns_the_ready_ones)
{
    configure_workers(1);
    watchdog(10);
    epoll_ctx t = {0}, c = {0};
    run_on_thread(epoll_scenario, &t);
    run_in_coroutine(epoll_scenario, &c);
    /* one worker: the peer wrote both before the coroutine resumed */
    CHECK_OUTCOME(c.first, 2, 0);
    CHECK(c.first_has[0] && !c.first_has[1] && c.first_has[2]);
    CHECK(t.seen[0] && !t.seen[1] && t.seen[2]);
    CHECK_OUTCOME(c.again_lt, 2, 0);
    CHECK_OUTCOME(c.maxev1, 1, 0);
    CHECK_OUTCOME(c.et_first, 2, 0);
    CHECK_OUTCOME(c.et_again, 0, 0);
    CHECK_GE_LONG(c.et_again_ns, 49 * MS);
    CHECK_OUTCOME(c.einval_maxev, -1, EINVAL);
    CHECK_OUTCOME(c.notepoll, -1, EINVAL);
    CHECK_OUTCOME(c.badf, -1, EBADF);
    CHECK_SAME_OUTCOME(t.again_lt, c.again_lt);
    CHECK_SAME_OUTCOME(t.maxev1, c.maxev1);
    CHECK_SAME_OUTCOME(t.et_first, c.et_first);
    CHECK_SAME_OUTCOME(t.et_again, c.et_again);
    CHECK_SAME_OUTCOME(t.einval_maxev, c.einval_maxev);
    CHECK_SAME_OUTCOME(t.notepoll, c.notepoll);
    CHECK_SAME_OUTCOME(t.badf, c.badf);
}
