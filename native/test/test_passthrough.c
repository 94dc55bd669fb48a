/*
 * test_passthrough — hooked calls outside coroutines, and the call observer.
 *
 * Outside a coroutine (the main thread, any pthread) every hook must pass
 * straight through to libc: same results, same errno, real blocking, no
 * O_NONBLOCK added to anything, and no engine thread started by a program
 * that never spawns. Every hooked call, in or out of coroutines, is reported
 * to the observer set with coroscope__set_call_observer, which tells whether
 * the call ran in a coroutine and whether it parked.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "hook_compare.h"

/* The observer API (engine/src/init.c, hook.h). */
typedef struct {
    int hook, fd, in_co, parked;
    long ret;
    int err;
} cs_call;
void coroscope__set_call_observer(void (*)(const cs_call *));

/* ---- observer recording ------------------------------------------------------------------ */

#define MAX_OBS 4096
static cs_call obs[MAX_OBS];
static _Atomic int nobs;
static _Atomic int obs_fd = -2; /* record calls on this fd only (-2: all) */

static void record(const cs_call *c)
{
    int want = atomic_load(&obs_fd);
    if (want != -2 && c->fd != want) return;
    int i = atomic_fetch_add(&nobs, 1);
    if (i < MAX_OBS) obs[i] = *c;
    errno = 9999; /* an observer that clobbers errno must not change what the program sees */
}

static void observe_fd(int fd)
{
    atomic_store(&nobs, 0);
    atomic_store(&obs_fd, fd);
    coroscope__set_call_observer(record);
}

static void observe_none(void)
{
    coroscope__set_call_observer(NULL);
}

/* The last observation with this fd and return value, or NULL. */
static const cs_call *find_obs(int fd, long ret)
{
    int n = atomic_load(&nobs);
    if (n > MAX_OBS) n = MAX_OBS;
    for (int i = n - 1; i >= 0; i--)
        if (obs[i].fd == fd && obs[i].ret == ret) return &obs[i];
    return NULL;
}

/* ---- plain calls behave like libc ---------------------------------------------------------- */

static int thread_count(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    REQUIRE(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void *peer_writes_after_20ms(void *arg)
{
    int fd = *(int *)arg;
    pause_ms(20);
    CHECK_EQ_LONG(write(fd, "late", 4), 4);
    return NULL;
}

/* A battery of hooked calls with their libc results written out; on a plain
 * thread they must all hold. */
static void *plain_battery(void *arg)
{
    (void)arg;
    char buf[64];
    int p[2];
    REQUIRE(pipe(p) == 0);
    CHECK_EQ_LONG(fcntl(p[0], F_GETFL), O_RDONLY);
    CHECK_EQ_LONG(fcntl(p[1], F_GETFL), O_WRONLY);
    errno = 1234;
    CHECK_EQ_LONG(write(p[1], "hello", 5), 5);
    CHECK_EQ_LONG(errno, 1234); /* success leaves errno alone */
    CHECK_EQ_LONG(read(p[0], buf, sizeof buf), 5);
    struct iovec out[2] = {{"ab", 2}, {"cde", 3}};
    CHECK_EQ_LONG(writev(p[1], out, 2), 5);
    struct iovec in = {buf, sizeof buf};
    CHECK_EQ_LONG(readv(p[0], &in, 1), 5);
    CHECK(!memcmp(buf, "abcde", 5));

    /* a real blocking read: waits for the writer thread */
    pthread_t w;
    REQUIRE(pthread_create(&w, NULL, peer_writes_after_20ms, &p[1]) == 0);
    uint64_t t0 = now_ns();
    CHECK_EQ_LONG(read(p[0], buf, sizeof buf), 4);
    CHECK_GE_LONG(now_ns() - t0, 15 * MS);
    pthread_join(w, NULL);

    /* non-blocking as asked */
    int q[2];
    REQUIRE(pipe2(q, O_NONBLOCK) == 0);
    CHECK_ERRNO(read(q[0], buf, sizeof buf), EAGAIN);
    CHECK_EQ_LONG(fcntl(q[0], F_GETFL), O_RDONLY | O_NONBLOCK);
    close(q[0]);
    close(q[1]);

    /* poll, select, epoll */
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    CHECK_EQ_LONG(poll(&pf, 1, 0), 0);
    t0 = now_ns();
    CHECK_EQ_LONG(poll(&pf, 1, 30), 0);
    CHECK_GE_LONG(now_ns() - t0, 29 * MS);
    CHECK_EQ_LONG(write(p[1], "x", 1), 1);
    CHECK_EQ_LONG(poll(&pf, 1, -1), 1);
    CHECK_EQ_LONG(pf.revents, POLLIN);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timeval tv = {1, 0};
    CHECK_EQ_LONG(select(p[0] + 1, &r, NULL, NULL, &tv), 1);
    CHECK(FD_ISSET(p[0], &r));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]};
    CHECK_EQ_LONG(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
    CHECK_EQ_LONG(epoll_wait(ep, &ev, 1, 1000), 1);
    CHECK_EQ_LONG(ev.data.fd, p[0]);
    close(ep);
    CHECK_EQ_LONG(read(p[0], buf, 1), 1);

    /* sockets: never made non-blocking outside coroutines */
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK_EQ_LONG(kernel_fl(sv[0]), O_RDWR);
    CHECK_EQ_LONG(fcntl(sv[0], F_GETFL), O_RDWR);
    CHECK_EQ_LONG(send(sv[0], "ping", 4, 0), 4);
    CHECK_EQ_LONG(recv(sv[1], buf, sizeof buf, 0), 4);
    CHECK_ERRNO(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    struct msghdr m = {.msg_iov = out, .msg_iovlen = 2};
    CHECK_EQ_LONG(sendmsg(sv[0], &m, 0), 5);
    struct msghdr mi = {.msg_iov = &in, .msg_iovlen = 1};
    CHECK_EQ_LONG(recvmsg(sv[1], &mi, 0), 5);
    close(sv[0]);
    close(sv[1]);

    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    REQUIRE(bind(l, (struct sockaddr *)&a, sizeof a) == 0);
    REQUIRE(listen(l, 4) == 0);
    REQUIRE(getsockname(l, (struct sockaddr *)&a, &al) == 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_EQ_LONG(kernel_fl(c), O_RDWR);
    CHECK_EQ_LONG(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    int s = accept(l, NULL, NULL);
    CHECK_GE_LONG(s, 0);
    CHECK_EQ_LONG(kernel_fl(s), O_RDWR);
    CHECK_EQ_LONG(sendto(c, "u", 1, 0, NULL, 0), 1);
    CHECK_EQ_LONG(recvfrom(s, buf, sizeof buf, 0, NULL, NULL), 1);
    close(s);
    close(c);
    close(l);

    int e = eventfd(3, 0);
    uint64_t v = 0;
    CHECK_EQ_LONG(read(e, &v, sizeof v), 8);
    CHECK_EQ_LONG(v, 3);
    close(e);

    /* sleeps */
    struct timespec ts = {0, 10 * MS};
    t0 = now_ns();
    CHECK_EQ_LONG(nanosleep(&ts, NULL), 0);
    CHECK_EQ_LONG(usleep(10000), 0);
    CHECK_EQ_LONG(sleep(0), 0);
    CHECK_GE_LONG(now_ns() - t0, 20 * MS);

    /* errors */
    CHECK_ERRNO(read(-1, buf, 1), EBADF);
    CHECK_ERRNO(write(-1, buf, 1), EBADF);
    CHECK_ERRNO(close(-1), EBADF);
    CHECK_ERRNO(dup2(-1, 5), EBADF);
    CHECK_ERRNO(recv(p[0], buf, 1, 0), ENOTSOCK);
    CHECK_ERRNO(accept(p[0], NULL, NULL), ENOTSOCK);
    close(p[0]);
    close(p[1]);
    CHECK_ERRNO(read(p[0], buf, 1), EBADF);
    return NULL;
}

TEST(hooked_calls_on_the_main_thread_of_a_program_that_never_spawns_behave_like_libc_and_start_no_thread)
{
    int before = thread_count();
    plain_battery(NULL);
    CHECK_EQ_LONG(thread_count(), before); /* the peer pthread came and went; no engine thread */
}

static void *nothing(void *arg)
{
    return arg;
}

TEST(hooked_calls_on_the_main_thread_and_on_a_pthread_behave_like_libc_while_the_runtime_runs)
{
    run_in_coroutine(nothing, NULL); /* the runtime runs: workers, netpoller, monitor */
    plain_battery(NULL);
    run_on_thread(plain_battery, NULL);
}

/* ---- the observer -------------------------------------------------------------------------- */

typedef struct obs_ctx {
    int fds[2];
    outcome ready, waited;
} obs_ctx;

static void *peer_writes_two(void *arg)
{
    obs_ctx *c = arg;
    pause_ms(20);
    CHECK_EQ_LONG(write(c->fds[1], "ab", 2), 2);
    return NULL;
}

static void *read_in_coroutine(void *arg)
{
    obs_ctx *c = arg;
    char buf[8];
    CHECK_EQ_LONG(write(c->fds[1], "xyz", 3), 3);
    c->ready = OUTCOME(read(c->fds[0], buf, sizeof buf)); /* 3, no wait */
    coroscope_co *p;
    REQUIRE(coroscope_spawn(&p, "peer", peer_writes_two, c) == 0);
    c->waited = OUTCOME(read(c->fds[0], buf, sizeof buf)); /* 2, after a park */
    CHECK_EQ_ERR(coroscope_join(p, NULL), 0);
    return NULL;
}

TEST(the_call_observer_sees_a_plain_thread_read_unparked_and_a_coroutine_read_that_waited_parked)
{
    configure_workers(1);
    watchdog(10);
    obs_ctx c = {0};
    REQUIRE(pipe(c.fds) == 0);
    observe_fd(c.fds[0]);

    char buf[8];
    CHECK_EQ_LONG(write(c.fds[1], "1234", 4), 4);
    errno = 777;
    CHECK_EQ_LONG(read(c.fds[0], buf, sizeof buf), 4); /* main thread */
    CHECK_EQ_LONG(errno, 777);                         /* the observer's errno did not leak */
    run_in_coroutine(read_in_coroutine, &c);
    observe_none();

    const cs_call *plain = find_obs(c.fds[0], 4);
    const cs_call *ready = find_obs(c.fds[0], 3);
    const cs_call *waited = find_obs(c.fds[0], 2);
    REQUIRE(plain && ready && waited);
    CHECK_EQ_LONG(plain->in_co, 0);
    CHECK_EQ_LONG(plain->parked, 0);
    CHECK_EQ_LONG(plain->err, 0);
    CHECK_EQ_LONG(ready->in_co, 1);
    CHECK_EQ_LONG(ready->parked, 0);
    CHECK_EQ_LONG(waited->in_co, 1);
    CHECK_EQ_LONG(waited->parked, 1);
    CHECK_EQ_LONG(waited->err, 0);
    CHECK_EQ_LONG(plain->hook, ready->hook); /* all three are the read hook */
    CHECK_EQ_LONG(plain->hook, waited->hook);
    CHECK_OUTCOME(c.ready, 3, 0);
    CHECK_OUTCOME(c.waited, 2, 0);
    close(c.fds[0]);
    close(c.fds[1]);
}

static void *failing_read_on_thread(void *arg)
{
    int fd = *(int *)arg;
    char b;
    errno = 0;
    long r = read(fd, &b, 1);
    CHECK_EQ_LONG(r, -1);
    CHECK_EQ_ERR(errno, EBADF); /* not the observer's 9999 */
    return NULL;
}

static void *failing_read_in_coroutine(void *arg)
{
    return failing_read_on_thread(arg);
}

TEST(the_call_observer_sees_failed_calls_with_their_errno_and_the_program_keeps_its_errno)
{
    int fd = 777; /* not open */
    observe_fd(fd);
    run_on_thread(failing_read_on_thread, &fd);
    const cs_call *t = find_obs(fd, -1);
    REQUIRE(t);
    CHECK_EQ_ERR(t->err, EBADF);
    CHECK_EQ_LONG(t->in_co, 0);
    atomic_store(&nobs, 0);
    run_in_coroutine(failing_read_in_coroutine, &fd);
    observe_none();
    const cs_call *c = find_obs(fd, -1);
    REQUIRE(c);
    CHECK_EQ_ERR(c->err, EBADF);
    CHECK_EQ_LONG(c->in_co, 1);
    CHECK_EQ_LONG(c->parked, 0);
}

/* With the hooks switched off at run time, a coroutine's calls pass through. */
typedef struct off_ctx {
    int fds[2];
    outcome rd;
} off_ctx;

static void *writer_thread(void *arg)
{
    off_ctx *c = arg;
    pause_ms(30);
    CHECK_EQ_LONG(write(c->fds[1], "off", 3), 3);
    return NULL;
}

static void *read_with_hooks_off(void *arg)
{
    off_ctx *c = arg;
    char buf[8];
    c->rd = OUTCOME(read(c->fds[0], buf, sizeof buf));
    return NULL;
}

TEST(with_hooks_switched_off_a_read_in_a_coroutine_passes_straight_through)
{
    configure_workers(1);
    watchdog(10);
    run_in_coroutine(read_with_hooks_off, &(off_ctx){{-1, -1}, {0, 0}}); /* runtime up; EBADF read */
    coroscope_config cfg;
    REQUIRE(coroscope_config_get(&cfg) == 0);
    cfg.hooks = 0;
    REQUIRE(coroscope_configure(&cfg) == 0);
    off_ctx c = {0};
    REQUIRE(pipe(c.fds) == 0);
    observe_fd(c.fds[0]);
    pthread_t w; /* the writer is a thread: the worker really blocks in read */
    REQUIRE(pthread_create(&w, NULL, writer_thread, &c) == 0);
    run_in_coroutine(read_with_hooks_off, &c);
    pthread_join(w, NULL);
    observe_none();
    CHECK_OUTCOME(c.rd, 3, 0);
    const cs_call *o = find_obs(c.fds[0], 3);
    REQUIRE(o);
    CHECK_EQ_LONG(o->in_co, 0);
    CHECK_EQ_LONG(o->parked, 0);
    CHECK_EQ_LONG(kernel_fl(c.fds[0]), O_RDONLY);
    close(c.fds[0]);
    close(c.fds[1]);
}

/* A pass-through hook (getsockopt: nothing to park on) made by a coroutine is
 * that coroutine's call: in_co 1; the same call on the main thread: 0. */
static void *getsockopt_here(void *arg)
{
    int type = 0;
    socklen_t len = sizeof type;
    CHECK_EQ_LONG(getsockopt(*(int *)arg, SOL_SOCKET, SO_TYPE, &type, &len), 0);
    CHECK_EQ_LONG(type, SOCK_STREAM);
    return NULL;
}

TEST(the_call_observer_sees_a_pass_through_call_made_by_a_coroutine_as_in_co_and_the_same_call_on_a_thread_as_not)
{
    configure_workers(1);
    watchdog(10);
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    observe_fd(sv[0]);
    getsockopt_here(&sv[0]);
    REQUIRE(atomic_load(&nobs) == 1);
    run_in_coroutine(getsockopt_here, &sv[0]);
    observe_none();
    REQUIRE(atomic_load(&nobs) == 2);
    CHECK_EQ_LONG(obs[0].in_co, 0);
    CHECK_EQ_LONG(obs[1].in_co, 1);
    CHECK_EQ_LONG(obs[0].hook, obs[1].hook);
    CHECK_EQ_LONG(obs[1].ret, 0);
    close(sv[0]);
    close(sv[1]);
}
