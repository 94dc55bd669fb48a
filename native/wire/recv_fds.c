#include "recv_fds.h"

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
    if (k < 0)
        return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
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
