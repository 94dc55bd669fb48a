/*
 * call_addr.c — connects and accepts over every address family the engine
 * formats for CALL_ADDR, for native/test/call_events.test.mjs (recorded with
 * COROSCOPE_TRACE, read back with coroscope-dump):
 *
 *   - AF_INET on 127.0.0.1 and AF_INET6 on [::1] (skipped, and said so, when
 *     the machine has no IPv6 loopback): a "server" coroutine accepts with
 *     addr NULL (accept4) and with a buffer (accept); a "client" coroutine
 *     connects;
 *   - AF_UNIX with a path (argv[1]) and an abstract name ("@cs-call-addr-<pid>"):
 *     the accepted peer is unnamed, so the address shown is the listener's;
 *   - a connect that parks: the listener's accept queue is full (backlog 0,
 *     nobody accepts), so the SYN is dropped and the connect waits until its
 *     SO_SNDTIMEO (150 ms) ends it with EINPROGRESS;
 *   - a connect from the main thread, outside any coroutine.
 *
 * Prints one line per step ("inet 127.0.0.1:PORT", "inet6 [::1]:PORT" or
 * "inet6 skipped", "unix PATH", "abstract @NAME", "parked-connect PORT rc ERRNO",
 * "plain-connect PORT") and exits 0 when every step that ran worked.
 *
 * usage: call_addr UNIX_SOCKET_PATH
 */
#define _GNU_SOURCE /* accept4 */
#include <coroscope.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

typedef struct {
    int family;
    struct sockaddr_storage addr;
    socklen_t len;
    int listener;
    int use_accept4;
    int ok;
} pair;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void *server(void *arg)
{
    pair *p = arg;
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    int fd = p->use_accept4 ? accept4(p->listener, NULL, NULL, SOCK_CLOEXEC)
                            : accept(p->listener, (struct sockaddr *)&peer, &plen);
    if (fd < 0) die("accept");
    char c;
    if (read(fd, &c, 1) != 1) /* parks until the client writes */
        die("server read");
    close(fd);
    p->ok++;
    return NULL;
}

static void *client(void *arg)
{
    pair *p = arg;
    usleep(20000); /* let the server park in accept first */
    int fd = socket(p->family, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&p->addr, p->len) < 0) die("connect");
    if (write(fd, "x", 1) != 1) die("client write");
    close(fd);
    p->ok++;
    return NULL;
}

/* Listen on p->addr (port 0: the kernel's choice, read back). */
static void listen_on(pair *p, int backlog)
{
    p->listener = socket(p->family, SOCK_STREAM, 0);
    if (p->listener < 0) die("socket");
    if (bind(p->listener, (struct sockaddr *)&p->addr, p->len) < 0 || listen(p->listener, backlog) < 0)
        die("bind/listen");
    if (p->family != AF_UNIX) {
        socklen_t l = sizeof p->addr;
        getsockname(p->listener, (struct sockaddr *)&p->addr, &l);
        p->len = l;
    }
}

static int run_pair(pair *p)
{
    coroscope_co *s, *c;
    if (coroscope_spawn(&s, "server", server, p) || coroscope_spawn(&c, "client", client, p)) die("spawn");
    coroscope_join(s, NULL);
    coroscope_join(c, NULL);
    close(p->listener);
    return p->ok == 2;
}

static unsigned port_of(const pair *p)
{
    return p->family == AF_INET ? ntohs(((const struct sockaddr_in *)&p->addr)->sin_port)
                                : ntohs(((const struct sockaddr_in6 *)&p->addr)->sin6_port);
}

static void *parked_connect(void *arg)
{
    pair *p = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {0, 150000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int rc = connect(fd, (struct sockaddr *)&p->addr, p->len);
    printf("parked-connect %u rc %d errno %d\n", port_of(p), rc, rc < 0 ? errno : 0);
    p->ok = rc < 0 && errno == EINPROGRESS;
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: call_addr UNIX_SOCKET_PATH\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int ok = 1;

    pair in4 = {.family = AF_INET, .len = sizeof(struct sockaddr_in), .use_accept4 = 1};
    struct sockaddr_in *a4 = (struct sockaddr_in *)&in4.addr;
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listen_on(&in4, 16);
    ok &= run_pair(&in4);
    printf("inet 127.0.0.1:%u\n", port_of(&in4));

    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 lo6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (probe >= 0 && bind(probe, (struct sockaddr *)&lo6, sizeof lo6) == 0) {
        close(probe);
        pair in6 = {.family = AF_INET6, .len = sizeof(struct sockaddr_in6)};
        memcpy(&in6.addr, &lo6, sizeof lo6);
        listen_on(&in6, 16);
        ok &= run_pair(&in6);
        printf("inet6 [::1]:%u\n", port_of(&in6));
    } else {
        if (probe >= 0) close(probe);
        printf("inet6 skipped\n");
    }

    pair un = {.family = AF_UNIX, .len = sizeof(struct sockaddr_un), .use_accept4 = 1};
    struct sockaddr_un *u = (struct sockaddr_un *)&un.addr;
    u->sun_family = AF_UNIX;
    snprintf(u->sun_path, sizeof u->sun_path, "%s", argv[1]);
    unlink(argv[1]);
    listen_on(&un, 16);
    ok &= run_pair(&un);
    unlink(argv[1]);
    printf("unix %s\n", argv[1]);

    pair ab = {.family = AF_UNIX};
    struct sockaddr_un *b = (struct sockaddr_un *)&ab.addr;
    b->sun_family = AF_UNIX;
    char name[64];
    int n = snprintf(name, sizeof name, "cs-call-addr-%d", (int)getpid());
    memcpy(b->sun_path + 1, name, (size_t)n); /* abstract: leading NUL, no terminator */
    ab.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    listen_on(&ab, 16);
    ok &= run_pair(&ab);
    printf("abstract @%s\n", name);

    /* A listener nobody accepts from, its queue filled: the next SYN is dropped. */
    pair full = {.family = AF_INET, .len = sizeof(struct sockaddr_in)};
    struct sockaddr_in *af = (struct sockaddr_in *)&full.addr;
    af->sin_family = AF_INET;
    af->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listen_on(&full, 0);
    int fillers[4];
    for (int i = 0; i < 4; i++) {
        /* Non-blocking: each either completes (queued) or stays in progress. */
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fillers[i], (struct sockaddr *)&full.addr, full.len);
    }
    usleep(50000);
    coroscope_co *pc;
    if (coroscope_spawn(&pc, "parked-connect", parked_connect, &full)) die("spawn");
    coroscope_join(pc, NULL);
    ok &= full.ok;

    /* Outside any coroutine: the CALL and its CALL_ADDR come from this thread. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    a4->sin_port = 0;
    listen_on(&in4, 16);
    if (connect(fd, (struct sockaddr *)&in4.addr, in4.len) < 0) die("plain connect");
    printf("plain-connect %u\n", port_of(&in4));
    close(fd);
    close(in4.listener);
    for (int i = 0; i < 4; i++) close(fillers[i]);
    close(full.listener);
    return ok ? 0 : 1;
}
