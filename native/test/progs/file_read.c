/* A coroutine reads a regular file with read(2) (which the engine cannot
 * park: files are always "ready") and then a pipe (which it parks on until a
 * second coroutine writes). The trace must tell the first from the second. */
#include <coroscope.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static int pfd[2];

static void *reader(void *arg)
{
    char buf[4096];
    int fd = open((const char *)arg, O_RDONLY);
    if (fd < 0) return (void *)1;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    ssize_t m = read(pfd[0], buf, sizeof buf);
    printf("file %zd pipe %zd\n", n, m);
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    usleep(200000); /* the reader is in its pipe read by then, even if its open or file read parked */
    return write(pfd[1], "x", 1) == 1 ? NULL : (void *)1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || pipe(pfd)) return 2;
    coroscope_co *r, *w;
    void *rr, *wr;
    if (coroscope_spawn(&r, "reader", reader, argv[1]) || coroscope_spawn(&w, "writer", writer, NULL) ||
        coroscope_join(r, &rr) || coroscope_join(w, &wr))
        return 1;
    return rr || wr;
}
