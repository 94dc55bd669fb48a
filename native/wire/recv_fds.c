/*
 * recv_fds.c — see recv_fds.h.
 */
#include "recv_fds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

ssize_t cs_recv_fds(int sock, void *buf, size_t cap, int flags, int *fds, int max, int *nfds)
{
    union {
        char c[CMSG_SPACE(sizeof(int) * CS_RECV_FDS_MAX)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {buf, cap};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.c, .msg_controllen = sizeof u.c};
    *nfds = 0;
    ssize_t k = recvmsg(sock, &m, flags | MSG_CMSG_CLOEXEC);
    if (k < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + (size_t)i * sizeof(int), sizeof fd);
            if (*nfds < max)
                fds[(*nfds)++] = fd;
            else
                close(fd);
        }
    }
    return k;
}

ssize_t cs_send_fd(int sock, const void *buf, size_t n, int fd)
{
    struct iovec iov = {(void *)buf, n};
    union {
        char c[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        m.msg_control = u.c;
        m.msg_controllen = sizeof u.c;
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    return sendmsg(sock, &m, MSG_NOSIGNAL);
}

int cs_fd_lines_init(cs_fd_lines *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max ? max : 4096;
    b->cap = b->max < 4096 ? b->max + 1 : 4096;
    b->line = malloc(b->cap);
    return b->line ? 0 : ENOMEM;
}

static void close_fds(cs_fd_lines *b)
{
    for (int i = 0; i < b->nfd; i++) close(b->fd[i]);
    b->nfd = 0;
}

void cs_fd_lines_free(cs_fd_lines *b)
{
    close_fds(b);
    free(b->line);
    memset(b, 0, sizeof *b);
}

/* The line ends: hand it over with its first fd; close the others. */
static void end_line(cs_fd_lines *b, cs_fd_line_fn on_line, void *ctx)
{
    int mine = b->nfd && b->fd_seq == b->seq; /* else they belong to a later line of this read */
    int fd = mine ? b->fd[0] : -1;
    b->line[b->n] = '\0';
    if ((b->n || b->overlong || fd >= 0) && on_line(ctx, b->overlong ? NULL : b->line, fd)) fd = -1; /* kept */
    if (mine) {
        if (fd >= 0) close(fd);
        for (int i = 1; i < b->nfd; i++) close(b->fd[i]);
        b->nfd = 0;
    }
    b->n = 0;
    b->overlong = 0;
    b->seq++;
}

/* Take fds for line `seq` (the one open now; any earlier fds are its too). */
static void add_fds(cs_fd_lines *b, const int *fds, int nfds)
{
    b->fd_seq = b->seq;
    for (int i = 0; i < nfds; i++) {
        if (b->nfd < CS_RECV_FDS_MAX)
            b->fd[b->nfd++] = fds[i];
        else
            close(fds[i]);
    }
}

void cs_fd_lines_feed(cs_fd_lines *b, const char *buf, size_t k, const int *fds, int nfds, cs_fd_line_fn on_line,
                      void *ctx)
{
    /* The fds belong to the line that holds the last byte read with them:
     * the one open when the newlines before that byte have been read. */
    uint64_t target = b->seq;
    for (size_t i = 0; i + 1 < k; i++) target += buf[i] == '\n';
    if (nfds > 0 && k == 0) {
        add_fds(b, fds, nfds);
        nfds = 0;
    }
    for (size_t i = 0; i < k; i++) {
        if (nfds > 0 && b->seq == target) {
            add_fds(b, fds, nfds);
            nfds = 0;
        }
        if (buf[i] == '\n') {
            end_line(b, on_line, ctx);
            continue;
        }
        if (b->overlong) continue;
        if (b->n + 1 >= b->cap) {
            size_t cap = b->cap * 2 < b->max + 1 ? b->cap * 2 : b->max + 1;
            char *g = cap > b->cap ? realloc(b->line, cap) : NULL;
            if (!g) { /* longer than max (or no memory): the line is dropped */
                b->overlong = 1;
                continue;
            }
            b->line = g;
            b->cap = cap;
        }
        b->line[b->n++] = buf[i];
    }
}

ssize_t cs_fd_lines_read(cs_fd_lines *b, int sock, int flags, cs_fd_line_fn on_line, void *ctx)
{
    char buf[65536];
    int fds[CS_RECV_FDS_MAX], nfds;
    ssize_t k = cs_recv_fds(sock, buf, sizeof buf, flags, fds, CS_RECV_FDS_MAX, &nfds);
    if (k < 0) return -1;
    if (k == 0) {
        for (int i = 0; i < nfds; i++) close(fds[i]);
        return 0;
    }
    cs_fd_lines_feed(b, buf, (size_t)k, fds, nfds, on_line, ctx);
    return k;
}
