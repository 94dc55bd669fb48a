/*
 * fd_wake — what each fd is and who woke whom (docs/events.md "File
 * descriptors"), for native/test/fd_wake.test.mjs:
 *
 *     fd_wake FILE
 *
 *   1. "ping" and "pong", two coroutines, ping-pong one byte ROUNDS times over
 *      a socketpair: each parks in read until the other writes to its end.
 *   2. "reader" opens FILE, reads it, closes it; then makes a pipe, whose
 *      read end takes the number FILE had (the lowest free fd), writes one
 *      byte to it and reads it back.
 *   3. With --park: "waiter" connects to a TCP listener of this process
 *      (127.0.0.1, never accepted) and parks in read on it; main exits
 *      200 ms later with "waiter" still parked (for the app's detail).
 * Prints one line: "file_fd=N pipe_fds=R,W sv=A,B".
 */
#define _GNU_SOURCE
#include <coroscope.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUNDS 20

static int sv[2];

static void *ping(void *arg)
{
    (void)arg;
    char c = 'x';
    for (int i = 0; i < ROUNDS; i++)
        if (write(sv[0], &c, 1) != 1 || read(sv[0], &c, 1) != 1) {
            perror("ping");
            exit(1);
        }
    return NULL;
}

static void *pong(void *arg)
{
    (void)arg;
    char c;
    for (int i = 0; i < ROUNDS; i++)
        if (read(sv[1], &c, 1) != 1 || write(sv[1], &c, 1) != 1) {
            perror("pong");
            exit(1);
        }
    return NULL;
}

static const char *path;
static int file_fd, pfd[2];

static void *reader(void *arg)
{
    (void)arg;
    char buf[256];
    file_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (file_fd < 0 || read(file_fd, buf, sizeof buf) < 0) {
        perror("file");
        exit(1);
    }
    close(file_fd);
    if (pipe(pfd)) {
        perror("pipe");
        exit(1);
    }
    if (write(pfd[1], "z", 1) != 1 || read(pfd[0], buf, 1) != 1) {
        perror("pipe io");
        exit(1);
    }
    return NULL;
}

static struct sockaddr_in listen_addr;

static void *waiter(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char c;
    if (fd < 0 || connect(fd, (struct sockaddr *)&listen_addr, sizeof listen_addr)) {
        perror("waiter connect");
        exit(1);
    }
    if (read(fd, &c, 1) < 0) perror("waiter read"); /* nobody writes: parked until the process ends */
    return NULL;
}

static int start_waiter(void)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len = sizeof listen_addr;
    listen_addr.sin_family = AF_INET;
    listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&listen_addr, sizeof listen_addr) || listen(l, 4) ||
        getsockname(l, (struct sockaddr *)&listen_addr, &len)) {
        perror("listener");
        return 1;
    }
    coroscope_co *w;
    return coroscope_spawn(&w, "waiter", waiter, NULL);
}

int main(int argc, char **argv)
{
    int park = argc == 3 && strcmp(argv[2], "--park") == 0;
    if (argc != 2 && !park) {
        fprintf(stderr, "usage: fd_wake FILE [--park]\n");
        return 2;
    }
    path = argv[1];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        perror("socketpair");
        return 1;
    }
    coroscope_co *a, *b, *r;
    /* pong first: it parks in read before ping writes */
    if (coroscope_spawn(&b, "pong", pong, NULL) || coroscope_spawn(&a, "ping", ping, NULL)) return 1;
    coroscope_join(a, NULL);
    coroscope_join(b, NULL);
    if (coroscope_spawn(&r, "reader", reader, NULL)) return 1;
    coroscope_join(r, NULL);
    printf("file_fd=%d pipe_fds=%d,%d sv=%d,%d\n", file_fd, pfd[0], pfd[1], sv[0], sv[1]);
    fflush(stdout);
    if (park) {
        if (start_waiter()) return 1;
        usleep(200000);
    }
    return 0;
}
