/*
 * echo_server — a TCP echo server written as plain blocking code, one coroutine per connection.
 *
 * An "acceptor" coroutine creates the listening socket (SO_REUSEADDR, backlog
 * 4096), prints "listening on <host>:<port>" (the real port, also when
 * --port 0 lets the kernel pick one) and loops on accept(); every connection
 * gets its own detached coroutine "conn-<n>" that loops read() -> write-all
 * until EOF and closes. Nothing is printed per connection or per request, so
 * it can be benchmarked (see echo_client.c). main only waits for SIGINT or
 * SIGTERM (sigtimedwait on the plain main thread; the signals are blocked in
 * every thread, so they never interrupt a worker), then stops the acceptor
 * (shutdown of the listening socket), prints a summary on stderr and exits 0
 * without waiting for open connections. Exit status 1 if the listener cannot
 * be set up or accept fails for good.
 *
 *   echo_server [--port N] [--host 127.0.0.1] [--max-conns N]
 *     --max-conns N   at most N connections open at once (0, the default: no
 *                     limit); at the limit the acceptor waits before accepting
 *
 *   - With the hooks (default) accept/read/write park the coroutines, so one
 *     worker serves thousands of connections:
 *         COROSCOPE_WORKERS=1 native/build/examples/echo_server --port 7000
 *   - With COROSCOPE_HOOK=0 every blocked accept/read pins a worker thread:
 *     with COROSCOPE_WORKERS=W the server serves at most W-1 connections at a
 *     time and the next client hangs until one of them disconnects.
 */
#include <coroscope.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *opt_host = "127.0.0.1";
static int opt_port = 0;
static long opt_max_conns = 0;

static atomic_int listen_fd = -1;
static atomic_int stopping;
static atomic_int acceptor_done;
static atomic_int acceptor_failed;
static atomic_long active_conns;
static atomic_ulong accepted_total;

static void usage(void)
{
    fprintf(stderr, "usage: echo_server [--port N] [--host 127.0.0.1] [--max-conns N]\n");
    exit(2);
}

static long parse_num(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) usage();
    return v;
}

/* Let the process open as many descriptors as its hard limit allows. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            fprintf(stderr, "echo_server: cannot raise RLIMIT_NOFILE: %s\n", strerror(errno));
    }
}

/* write() until all of buf went out. 0, or -1 with errno. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16384];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) /* EOF, or an error such as ECONNRESET: done either way */
            break;
        if (write_all(fd, buf, (size_t)n) < 0) break;
    }
    close(fd);
    atomic_fetch_sub(&active_conns, 1);
    return NULL;
}

static int setup_listener(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port)};
    if (inet_pton(AF_INET, opt_host, &addr.sin_addr) != 1) {
        fprintf(stderr, "echo_server: --host %s is not an IPv4 address\n", opt_host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "echo_server: socket: %s\n", strerror(errno));
        return -1;
    }
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        fprintf(stderr, "echo_server: SO_REUSEADDR: %s\n", strerror(errno));
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fprintf(stderr, "echo_server: bind %s:%d: %s\n", opt_host, opt_port, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, 4096) < 0) {
        fprintf(stderr, "echo_server: listen: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    socklen_t len = sizeof addr;
    if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        fprintf(stderr, "echo_server: getsockname: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof ip);
    printf("listening on %s:%d\n", ip, ntohs(addr.sin_port));
    fflush(stdout);
    return fd;
}

static void *acceptor_main(void *arg)
{
    (void)arg;
    int lfd = setup_listener();
    if (lfd < 0) {
        atomic_store(&acceptor_failed, 1);
        atomic_store(&acceptor_done, 1);
        return NULL;
    }
    atomic_store(&listen_fd, lfd);
    int reported_emfile = 0;
    while (!atomic_load(&stopping)) {
        /* --max-conns: wait (parked) for a connection to end. */
        while (opt_max_conns > 0 && atomic_load(&active_conns) >= opt_max_conns && !atomic_load(&stopping))
            usleep(1000);
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (atomic_load(&stopping)) break;
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                if (!reported_emfile++) fprintf(stderr, "echo_server: accept: %s (retrying)\n", strerror(errno));
                usleep(10000);
                continue;
            }
            fprintf(stderr, "echo_server: accept: %s\n", strerror(errno));
            break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        unsigned long n = atomic_fetch_add(&accepted_total, 1) + 1;
        char name[32];
        snprintf(name, sizeof name, "conn-%lu", n);
        atomic_fetch_add(&active_conns, 1);
        coroscope_co *co;
        int err = coroscope_spawn(&co, name, conn_main, (void *)(intptr_t)fd);
        if (err) {
            fprintf(stderr, "echo_server: cannot spawn %s: %s\n", name, strerror(err));
            atomic_fetch_sub(&active_conns, 1);
            close(fd);
            continue;
        }
        coroscope_detach(co);
    }
    atomic_store(&listen_fd, -1);
    close(lfd);
    atomic_store(&acceptor_done, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            opt_port = (int)parse_num(argv[++i], 0, 65535);
        else if (!strcmp(argv[i], "--host") && i + 1 < argc)
            opt_host = argv[++i];
        else if (!strcmp(argv[i], "--max-conns") && i + 1 < argc)
            opt_max_conns = parse_num(argv[++i], 0, 100000000);
        else
            usage();
    }
    raise_nofile();

    /* A peer that resets its connection must not kill the server. */
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigaction(SIGPIPE, &ign, NULL);

    /* Block SIGINT/SIGTERM before the first spawn: the worker threads inherit
     * the mask, so the signals stay pending until main takes them. */
    sigset_t stop_sigs;
    sigemptyset(&stop_sigs);
    sigaddset(&stop_sigs, SIGINT);
    sigaddset(&stop_sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);

    coroscope_co *acceptor;
    int err = coroscope_spawn(&acceptor, "acceptor", acceptor_main, NULL);
    if (err) {
        fprintf(stderr, "echo_server: cannot spawn the acceptor: %s\n", strerror(err));
        return 1;
    }

    int sig = 0;
    while (!atomic_load(&acceptor_done)) {
        struct timespec tick = {0, 100 * 1000 * 1000};
        int s = sigtimedwait(&stop_sigs, NULL, &tick);
        if (s > 0) {
            sig = s;
            break;
        }
    }
    if (atomic_load(&acceptor_failed)) {
        coroscope_join(acceptor, NULL);
        return 1;
    }

    /* Stop accepting: shutdown() wakes an accept() blocked on the socket. The
     * acceptor gets a second to notice; the open connections are not waited
     * for (exiting closes them). */
    atomic_store(&stopping, 1);
    int lfd = atomic_load(&listen_fd);
    if (lfd >= 0) shutdown(lfd, SHUT_RDWR);
    for (int i = 0; i < 100 && !atomic_load(&acceptor_done); i++) {
        struct timespec ms10 = {0, 10 * 1000 * 1000};
        nanosleep(&ms10, NULL);
    }
    if (atomic_load(&acceptor_done))
        coroscope_join(acceptor, NULL);
    else
        coroscope_detach(acceptor);
    fprintf(stderr, "echo_server: %s, exiting (%lu connections accepted, %ld open)%s\n",
            sig == SIGTERM  ? "SIGTERM"
            : sig == SIGINT ? "SIGINT"
                            : "acceptor stopped",
            atomic_load(&accepted_total), atomic_load(&active_conns),
            atomic_load(&acceptor_done) ? "" : " [acceptor did not stop in time]");
    return sig ? 0 : 1;
}
