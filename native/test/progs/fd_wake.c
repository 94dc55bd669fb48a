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
 * Prints one line: "file_fd=N pipe_fds=R,W sv=A,B".
 */
#define _GNU_SOURCE
#include <coroscope.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fd_wake FILE\n");
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
    return 0;
}
