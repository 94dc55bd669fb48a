/*
 * echo_client — a load generator for echo_server: one coroutine per connection, blocking-style code.
 *
 * Every connection is a coroutine ("client-<n>") that connects with a plain
 * blocking connect(), then loops: write <size> bytes, read until the same
 * <size> bytes came back (checked), count one round trip. main is the
 * coordinator: it sleeps through the warm-up, samples the shared atomic
 * counter, sleeps through the measurement window, samples it again and prints
 * one machine-readable line on stdout
 *
 *   requests_per_sec=<float> conns=<n> size=<n> duration=<s> errors=<n>
 *
 * where requests_per_sec counts only the round trips completed inside the
 * window, duration is the measured window in seconds and errors counts failed
 * connects, I/O errors, early EOFs and corrupted echoes (each one ends its
 * connection; the first ones are described on stderr with the errno message).
 * Then it exits at once, without closing the connections gracefully. The exit
 * status is 0 if at least one round trip completed in the window.
 *
 *   echo_client --port N [--host 127.0.0.1] [--conns 1000] [--size 64]
 *               [--duration 5] [--warmup 1]
 *
 * The soft RLIMIT_NOFILE is raised to the hard limit so that 1000 connections
 * fit. Requests larger than 64 KiB are written and read back in 64 KiB steps
 * (a blocking client that wrote everything before reading could deadlock with
 * the server once both socket buffers are full).
 *
 *   - With the hooks (default) connect/read/write park the coroutines; a
 *     couple of workers drive thousands of connections:
 *         native/build/examples/echo_server --port 7000 &
 *         native/build/examples/echo_client --port 7000 --conns 1000 --duration 3
 *   - With COROSCOPE_HOOK=0 each connection pins a worker in read(): only as
 *     many connections as there are workers make progress, the others never
 *     even connect ("echo_client: 2/10 connected" on stderr). The result
 *     line still comes on time: main is a plain thread.
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

#define CHUNK               65536
#define MAX_REPORTED_ERRORS 10

static const char *opt_host = "127.0.0.1";
static long opt_port = -1;
static long opt_conns = 1000;
static long opt_size = 64;
static double opt_duration = 5;
static double opt_warmup = 1;

static struct sockaddr_in server_addr;

static atomic_ulong completed; /* round trips, all connections */
static atomic_ulong errors;
static atomic_long connected;

static void usage(void)
{
    fprintf(stderr, "usage: echo_client --port N [--host 127.0.0.1] [--conns 1000] [--size 64] "
                    "[--duration 5] [--warmup 1]\n");
    exit(2);
}

static long parse_long(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) usage();
    return v;
}

static double parse_secs(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 86400) usage();
    return v;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            fprintf(stderr, "echo_client: cannot raise RLIMIT_NOFILE: %s\n", strerror(errno));
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)opt_conns + 16 > rl.rlim_cur)
        fprintf(stderr, "echo_client: RLIMIT_NOFILE is %llu, too low for %ld connections\n",
                (unsigned long long)rl.rlim_cur, opt_conns);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep on the main thread (a plain thread: the real nanosleep). */
static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Count an error; describe the first few on stderr. */
static void fail(long conn, const char *what, int err)
{
    unsigned long n = atomic_fetch_add(&errors, 1) + 1;
    if (n <= MAX_REPORTED_ERRORS)
        fprintf(stderr, "echo_client: connection %ld: %s: %s\n", conn, what,
                err ? strerror(err) : "connection closed by the server");
    if (n == MAX_REPORTED_ERRORS) fprintf(stderr, "echo_client: (further errors are only counted)\n");
}

static void *conn_main(void *arg)
{
    long id = (long)(intptr_t)arg;
    char *out = malloc((size_t)opt_size), *in = malloc(opt_size < CHUNK ? (size_t)opt_size : CHUNK);
    if (!out || !in) {
        fail(id, "malloc", ENOMEM);
        goto done;
    }
    for (long i = 0; i < opt_size; i++) out[i] = (char)('a' + (id + i) % 26);

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail(id, "socket", errno);
        goto done;
    }
    if (connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0) {
        fail(id, "connect", errno);
        close(fd);
        goto done;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    atomic_fetch_add(&connected, 1);

    for (;;) {
        for (long off = 0; off < opt_size;) {
            size_t step = (size_t)(opt_size - off < CHUNK ? opt_size - off : CHUNK);
            for (size_t w = 0; w < step;) {
                ssize_t n = write(fd, out + off + w, step - w);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) {
                    fail(id, "write", errno);
                    goto closing;
                }
                w += (size_t)n;
            }
            for (size_t r = 0; r < step;) {
                ssize_t n = read(fd, in + r, step - r);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) {
                    fail(id, "read", n < 0 ? errno : 0);
                    goto closing;
                }
                r += (size_t)n;
            }
            if (memcmp(in, out + off, step) != 0) {
                fail(id, "echo differs from what was sent", EPROTO);
                goto closing;
            }
            off += (long)step;
        }
        atomic_fetch_add_explicit(&completed, 1, memory_order_relaxed);
    }
closing:
    close(fd);
done:
    free(out);
    free(in);
    return NULL;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        if (!strcmp(a, "--port"))
            opt_port = parse_long(argv[++i], 1, 65535);
        else if (!strcmp(a, "--host"))
            opt_host = argv[++i];
        else if (!strcmp(a, "--conns"))
            opt_conns = parse_long(argv[++i], 1, 1000000);
        else if (!strcmp(a, "--size"))
            opt_size = parse_long(argv[++i], 1, 1L << 30);
        else if (!strcmp(a, "--duration"))
            opt_duration = parse_secs(argv[++i]);
        else if (!strcmp(a, "--warmup"))
            opt_warmup = parse_secs(argv[++i]);
        else
            usage();
    }
    if (opt_port < 0 || opt_duration <= 0) usage();
    server_addr.sin_family = AF_INET;
    server_addr.sin_port = htons((uint16_t)opt_port);
    if (inet_pton(AF_INET, opt_host, &server_addr.sin_addr) != 1) {
        fprintf(stderr, "echo_client: --host %s is not an IPv4 address\n", opt_host);
        return 2;
    }
    raise_nofile();
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigaction(SIGPIPE, &ign, NULL);

    for (long i = 0; i < opt_conns; i++) {
        char name[32];
        snprintf(name, sizeof name, "client-%ld", i + 1);
        coroscope_co *co;
        int err = coroscope_spawn(&co, name, conn_main, (void *)(intptr_t)(i + 1));
        if (err) {
            fail(i + 1, "spawn", err);
            continue;
        }
        coroscope_detach(co);
    }

    sleep_s(opt_warmup);
    unsigned long c0 = atomic_load(&completed);
    double t0 = now_s();
    sleep_s(opt_duration);
    unsigned long c1 = atomic_load(&completed);
    double t1 = now_s();

    double window = t1 - t0;
    printf("requests_per_sec=%.1f conns=%ld size=%ld duration=%.3f errors=%lu\n", (double)(c1 - c0) / window, opt_conns,
           opt_size, window, atomic_load(&errors));
    fprintf(stderr, "echo_client: %ld/%ld connected, %lu round trips in the window, %lu in all\n",
            atomic_load(&connected), opt_conns, c1 - c0, c1);
    fflush(stdout);
    fflush(stderr);
    /* The connection coroutines are still running: leave without them. */
    _exit(c1 > c0 ? 0 : 1);
}
