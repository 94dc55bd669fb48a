/*
 * io.h — the one loop behind every hooked transfer (read/write/recv/send
 * families, their vector and FORTIFY forms).
 *
 * How a transfer parks without changing the program's file flags
 *   - sockets: the attempt adds MSG_DONTWAIT (read → recv, readv → recvmsg,
 *     write → send, writev → sendmsg have the same semantics on sockets),
 *     so O_NONBLOCK is never needed;
 *   - pipes, fifos and eventfds: preadv2/pwritev2 with RWF_NOWAIT, the
 *     per-call equivalent of O_NONBLOCK (EAGAIN, partial writes, PIPE_BUF
 *     atomicity, EBADF on the wrong end), so several coroutines sharing a
 *     pipe never block a worker;
 *   - ttys and other pollable fds without RWF_NOWAIT support: ppoll with a
 *     zero timeout, then the plain call only when it will not block (writes
 *     go in chunks of at most PIPE_BUF);
 *   - regular files, directories, block devices: read from the page cache
 *     with RWF_NOWAIT, else (and writes always) on the offload pool while
 *     the coroutine parks (hook_file.c);
 *   - other fds epoll refuses: the plain call (the worker stalls; the
 *     observer is told the call could not park).
 * Before the attempt the hook reads the fd's readiness sequence; if the
 * attempt would block it parks on the netpoller with that snapshot, so an
 * edge in between is never lost (netpoll.h).
 *
 * Semantics kept identical to a blocking call on a thread
 *   - fds the program made non-blocking: one plain attempt, EAGAIN and all;
 *   - blocking writes on stream sockets and pipes transfer everything, unless
 *     a timeout or signal ends them after partial progress (then the partial
 *     count, as the kernel returns);
 *   - recv/recvfrom with MSG_WAITALL on stream sockets wait for all bytes;
 *   - SO_RCVTIMEO/SO_SNDTIMEO: EAGAIN after the timeout;
 *   - a user signal handler: EINTR, or a transparent restart when the handler
 *     has SA_RESTART and the call is restartable (signal(7)).
 */
#ifndef CS_IO_H
#define CS_IO_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "coroutine.h"

enum cs_io_how {
    CS_IO_READ,
    CS_IO_WRITE,
    CS_IO_READV,
    CS_IO_WRITEV,
    CS_IO_RECV, /* recv and recvfrom */
    CS_IO_SEND, /* send and sendto */
    CS_IO_RECVMSG,
    CS_IO_SENDMSG,
};

typedef struct cs_io {
    int hook; /* enum cs_hook_id, for the observer */
    int how;  /* enum cs_io_how */
    int fd;
    int flags; /* MSG_* for the socket calls */
    void *buf; /* READ/WRITE/RECV/SEND */
    size_t len;
    const struct iovec *iov; /* READV/WRITEV */
    int iovcnt;
    struct msghdr *msg;    /* RECVMSG/SENDMSG */
    struct sockaddr *from; /* RECV (recvfrom) */
    socklen_t *fromlen;
    const struct sockaddr *to; /* SEND (sendto) */
    socklen_t tolen;
} cs_io;

/* Run the transfer inside coroutine co; returns like the libc call, errno set. */
ssize_t cs_io_run(cs_co *co, cs_io *io);

/* The same transfer on a regular file (hook_file.c): a read from the page
 * cache without blocking, else on the offload pool while co parks (1 in
 * *parked). Not observed: the caller reports it. */
ssize_t cs_file_io(cs_co *co, cs_io *io, int *parked);

/* revents of fd for `events` right now (zero-timeout ppoll; an EINTR caused
 * by the engine's own preemption signal is retried). POLLERR on failure. */
int cs_poll_now(int fd, short events);

/* User-signal bookkeeping for restart decisions (hook_signal.c). */
uint32_t cs_signal_norestart_epoch(void);

#endif
