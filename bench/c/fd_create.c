/*
 * fd_create.c — the cost of describing fds (FD_DESC, native/engine/src/fddesc.h):
 * in one coroutine, `n` times each: a TCP connection over loopback to a
 * listener of this process (socket, connect, accept, two closes: 2 fds), a
 * pipe and its two closes (2 fds), an open of this program's own file then
 * its close (1 fd). Run recording (COROSCOPE_TRACE) with COROSCOPE_FDDESC=1
 * and =0: the difference per iteration is the price of describing the fds
 * made and of their FD_CLOSE records on the thread that makes them.
 *
 * Times are the worker thread's CPU time (CLOCK_THREAD_CPUTIME_ID, read in
 * the coroutine, which never parks here): on a loaded machine wall time
 * mostly measures the other processes. The recorder thread's work for the
 * extra records is not in it.
 *
 * Output (stdout, one line of JSON):
 *   {"socket_ns":[...],"pipe_ns":[...],"open_ns":[...],"n":N}
 * CPU ns per iteration of each kind (TCP connection, pipe, file), one value
 * per round.
 *
 * usage: fd_create [n] [rounds]
 */
#define _GNU_SOURCE
#include <coroscope.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

typedef struct {
    long n;
    const char *self;
    double socket_ns, pipe_ns, open_ns;
} job;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void *run(void *arg)
{
    job *j = arg;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 64) ||
        getsockname(l, (struct sockaddr *)&a, &al))
        die("listener");
    uint64_t t0 = now_ns();
    for (long i = 0; i < j->n; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a)) die("connect");
        int s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        if (s < 0) die("accept");
        close(s);
        close(c);
    }
    uint64_t t1 = now_ns();
    close(l);
    for (long i = 0; i < j->n; i++) {
        int p[2];
        if (pipe(p)) die("pipe");
        close(p[0]);
        close(p[1]);
    }
    uint64_t t2 = now_ns();
    for (long i = 0; i < j->n; i++) {
        int f = open(j->self, O_RDONLY | O_CLOEXEC);
        if (f < 0) die("open");
        close(f);
    }
    uint64_t t3 = now_ns();
    j->socket_ns = (double)(t1 - t0) / (double)j->n;
    j->pipe_ns = (double)(t2 - t1) / (double)j->n;
    j->open_ns = (double)(t3 - t2) / (double)j->n;
    return NULL;
}

static void list(const char *key, const double *v, int k, int last)
{
    printf("\"%s\":[", key);
    for (int i = 0; i < k; i++) printf("%s%.1f", i ? "," : "", v[i]);
    printf("]%s", last ? "" : ",");
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    if (n < 1 || rounds < 1 || rounds > 64) {
        fprintf(stderr, "usage: fd_create [n] [rounds]\n");
        return 2;
    }
    double s[64], p[64], o[64];
    for (int r = -1; r < rounds; r++) { /* round -1 warms up */
        job j = {.n = r < 0 ? n / 10 + 1 : n, .self = argv[0]};
        coroscope_co *co;
        if (coroscope_spawn(&co, "fd_create", run, &j)) return 1;
        coroscope_join(co, NULL);
        if (r >= 0) s[r] = j.socket_ns, p[r] = j.pipe_ns, o[r] = j.open_ns;
    }
    printf("{");
    list("socket_ns", s, rounds, 0);
    list("pipe_ns", p, rounds, 0);
    list("open_ns", o, rounds, 0);
    printf("\"n\":%ld}\n", n);
    return 0;
}
