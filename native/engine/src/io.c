#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fddesc.h"
#include "fdtable.h"
#include "hook.h"
#include "netpoll.h"
#include "procfs.h"
#include "sched.h"
#include "wait.h"

#define LOCAL_IOV 8

static int is_write(int how)
{
    return how == CS_IO_WRITE || how == CS_IO_WRITEV || how == CS_IO_SEND || how == CS_IO_SENDMSG;
}

static int is_socket_call(int how)
{
    return how == CS_IO_RECV || how == CS_IO_SEND || how == CS_IO_RECVMSG || how == CS_IO_SENDMSG;
}

/* The call exactly as the program made it. */
static ssize_t plain(cs_io *io)
{
    switch (io->how) {
    case CS_IO_READ: return cs_real.read(io->fd, io->buf, io->len);
    case CS_IO_WRITE: return cs_real.write(io->fd, io->buf, io->len);
    case CS_IO_READV: return cs_real.readv(io->fd, io->iov, io->iovcnt);
    case CS_IO_WRITEV: return cs_real.writev(io->fd, io->iov, io->iovcnt);
    case CS_IO_RECV: return cs_real.recvfrom(io->fd, io->buf, io->len, io->flags, io->from, io->fromlen);
    case CS_IO_SEND: return cs_real.sendto(io->fd, io->buf, io->len, io->flags, io->to, io->tolen);
    case CS_IO_RECVMSG: return cs_real.recvmsg(io->fd, io->msg, io->flags);
    case CS_IO_SENDMSG: return cs_real.sendmsg(io->fd, io->msg, io->flags);
    }
    errno = EINVAL;
    return -1;
}

/* Working copy of an iovec array that advances as bytes are transferred. */
typedef struct iovcur {
    struct iovec local[LOCAL_IOV];
    struct iovec *base; /* what to free: local or malloc'd */
    struct iovec *v;    /* first entry not fully transferred */
    int n;
} iovcur;

static int iovcur_init(iovcur *c, const struct iovec *iov, int n)
{
    c->base = n <= LOCAL_IOV ? c->local : malloc(sizeof(struct iovec) * (size_t)(n ? n : 1));
    if (!c->base) return ENOMEM;
    c->v = c->base;
    memcpy(c->v, iov, sizeof(struct iovec) * (size_t)n);
    c->n = n;
    return 0;
}

static void iovcur_advance(iovcur *c, size_t k)
{
    while (c->n && k >= c->v->iov_len) {
        k -= c->v->iov_len;
        c->v++;
        c->n--;
    }
    if (c->n && k) {
        c->v->iov_base = (char *)c->v->iov_base + k;
        c->v->iov_len -= k;
    }
}

/* Copy at most `max` bytes worth of the cursor into out[]; returns entries. */
static int iovcur_trim(const iovcur *c, size_t max, struct iovec *out, int outcap)
{
    int k = 0;
    for (int i = 0; i < c->n && k < outcap && max; i++) {
        if (!c->v[i].iov_len) continue;
        out[k] = c->v[i];
        if (out[k].iov_len > max) out[k].iov_len = max;
        max -= out[k].iov_len;
        k++;
    }
    return k;
}

static size_t iov_total(const struct iovec *v, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++) t += v[i].iov_len;
    return t;
}

int cs_poll_now(int fd, short events)
{
    for (;;) {
        uint32_t epoch = atomic_load_explicit(&cs_rt.intr_epoch, memory_order_acquire);
        struct pollfd p = {.fd = fd, .events = events};
        struct timespec zero = {0, 0};
        long r = syscall(SYS_ppoll, &p, 1, &zero, NULL, (size_t)8);
        if (r >= 0) return r ? p.revents : 0;
        /* ppoll ends with EINTR whenever a handler runs, even with a zero
         * timeout: the engine's preemption signal must not count. */
        if (errno == EINTR && atomic_load_explicit(&cs_rt.intr_epoch, memory_order_acquire) == epoch) continue;
        return POLLERR; /* let the real call report the error */
    }
}

/* Would a plain call on a pollable fd go ahead without blocking? */
static int pollable_ready(int fd, int dir)
{
    return cs_poll_now(fd, dir == CS_DIR_READ ? POLLIN : POLLOUT) != 0;
}

/* Would adding `add` to the eventfd's counter exceed its maximum (and so
 * block)? The counter is read from /proc/self/fdinfo without consuming it. */
static int eventfd_write_would_block(int fd, uint64_t add)
{
    char path[64];
    unsigned long long count;
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    if (cs_proc_hex_field(path, "eventfd-count:", &count)) return 0;
    return add == UINT64_MAX || count > 0xfffffffffffffffeull - add;
}

/* Pollable fds: one attempt with RWF_NOWAIT, which gives a pipe, fifo or
 * eventfd exactly the semantics of a non-blocking call (EAGAIN, partial
 * writes, PIPE_BUF atomicity) without touching the shared O_NONBLOCK flag.
 * Returns -2 when the fd does not support it (EOPNOTSUPP: ttys, most
 * character devices, older kernels); the caller then polls. */
static ssize_t attempt_nowait(cs_io *io, cs_fd *e, size_t done, iovcur *cur)
{
    int dir = is_write(io->how) ? CS_DIR_WRITE : CS_DIR_READ;
    if (atomic_load_explicit(&e->nowait[dir], memory_order_relaxed) == 2) return -2;
    struct iovec one;
    ssize_t r;
    switch (io->how) {
    case CS_IO_READ:
        one = (struct iovec){io->buf, io->len};
        r = preadv2(io->fd, &one, 1, -1, RWF_NOWAIT);
        break;
    case CS_IO_WRITE:
        one = (struct iovec){(char *)io->buf + done, io->len - done};
        r = pwritev2(io->fd, &one, 1, -1, RWF_NOWAIT);
        break;
    case CS_IO_READV: r = preadv2(io->fd, io->iov, io->iovcnt, -1, RWF_NOWAIT); break;
    case CS_IO_WRITEV: r = pwritev2(io->fd, cur->v, cur->n, -1, RWF_NOWAIT); break;
    default: return -2;
    }
    if (r < 0 && (errno == EOPNOTSUPP || errno == EINVAL || errno == ESPIPE)) {
        atomic_store_explicit(&e->nowait[dir], 2, memory_order_relaxed);
        return -2;
    }
    if (r >= 0) atomic_store_explicit(&e->nowait[dir], 1, memory_order_relaxed);
    return r;
}

/* A named fifo without RWF_NOWAIT: the same transfer through the engine's
 * own non-blocking description of the fifo. -2 if there is none. */
static ssize_t attempt_shadow(cs_io *io, cs_fd *e, size_t done, iovcur *cur)
{
    if (!atomic_load_explicit(&e->fifo, memory_order_relaxed)) return -2;
    int sh = cs_fd_fifo_shadow(io->fd, e);
    if (sh < 0) return -2;
    switch (io->how) {
    case CS_IO_READ: return cs_real.read(sh, io->buf, io->len);
    case CS_IO_WRITE: return cs_real.write(sh, (char *)io->buf + done, io->len - done);
    case CS_IO_READV: return cs_real.readv(sh, io->iov, io->iovcnt);
    case CS_IO_WRITEV: return cs_real.writev(sh, cur->v, cur->n);
    }
    return -2;
}

/* One non-blocking attempt at the rest of the transfer (`done` bytes are
 * already through; cur is the iovec cursor for vector forms). */
static ssize_t attempt(cs_io *io, cs_fd *e, int kind, size_t done, iovcur *cur, int first)
{
    const int dw = MSG_DONTWAIT;
    if (kind == CS_FD_SOCKET) {
        struct msghdr m;
        switch (io->how) {
        case CS_IO_READ: return cs_real.recvfrom(io->fd, io->buf, io->len, dw, NULL, NULL);
        case CS_IO_WRITE: return cs_real.sendto(io->fd, (char *)io->buf + done, io->len - done, dw, NULL, 0);
        case CS_IO_RECV:
            return cs_real.recvfrom(io->fd, (char *)io->buf + done, io->len - done, (io->flags & ~MSG_WAITALL) | dw,
                                    io->from, io->fromlen);
        case CS_IO_SEND:
            return cs_real.sendto(io->fd, (char *)io->buf + done, io->len - done, io->flags | dw, io->to, io->tolen);
        case CS_IO_READV:
            memset(&m, 0, sizeof m);
            m.msg_iov = (struct iovec *)io->iov;
            m.msg_iovlen = (size_t)io->iovcnt;
            return cs_real.recvmsg(io->fd, &m, dw);
        case CS_IO_WRITEV:
            memset(&m, 0, sizeof m);
            m.msg_iov = cur->v;
            m.msg_iovlen = (size_t)cur->n;
            return cs_real.sendmsg(io->fd, &m, dw);
        case CS_IO_RECVMSG: return cs_real.recvmsg(io->fd, io->msg, io->flags | dw);
        case CS_IO_SENDMSG:
            m = *io->msg;
            m.msg_iov = cur->v;
            m.msg_iovlen = (size_t)cur->n;
            if (!first) {
                m.msg_control = NULL; /* ancillary data goes with the first part only */
                m.msg_controllen = 0;
            }
            return cs_real.sendmsg(io->fd, &m, io->flags | dw);
        }
    }
    if (!is_socket_call(io->how)) {
        ssize_t r = attempt_nowait(io, e, done, cur);
        if (r == -2) r = attempt_shadow(io, e, done, cur);
        if (r != -2) return r;
    }
    /* no RWF_NOWAIT: the plain call only when it will not block; writes in
     * PIPE_BUF chunks, which a writable pipe always takes whole */
    if (!pollable_ready(io->fd, is_write(io->how) ? CS_DIR_WRITE : CS_DIR_READ)) {
        errno = EAGAIN;
        return -1;
    }
    if (io->how == CS_IO_WRITE && io->len == 8 && atomic_load_explicit(&e->eventfd, memory_order_relaxed)) {
        /* Writable means room for 1; a larger add may still have to wait. */
        uint64_t add;
        memcpy(&add, io->buf, sizeof add);
        if (add > 1 && eventfd_write_would_block(io->fd, add)) {
            errno = EAGAIN;
            return -1;
        }
    }
    switch (io->how) {
    case CS_IO_READ: return cs_real.read(io->fd, io->buf, io->len);
    case CS_IO_READV: return cs_real.readv(io->fd, io->iov, io->iovcnt);
    case CS_IO_WRITE: {
        size_t n = io->len - done;
        return cs_real.write(io->fd, (char *)io->buf + done, n > PIPE_BUF ? PIPE_BUF : n);
    }
    case CS_IO_WRITEV: {
        struct iovec chunk[16];
        int k = iovcur_trim(cur, PIPE_BUF, chunk, 16);
        if (k == 0) return 0;
        return cs_real.writev(io->fd, chunk, k);
    }
    }
    return plain(io); /* socket calls on a non-socket: ENOTSOCK from the kernel */
}

static ssize_t finish(cs_io *io, ssize_t r, int parked)
{
    int e = errno;
    cs_observe(io->hook, io->fd, 1, parked, (long)r, r < 0 ? e : 0);
    errno = e;
    return r;
}

ssize_t cs_io_run(cs_co *co, cs_io *io)
{
    int fd = io->fd;
    int dir = is_write(io->how) ? CS_DIR_WRITE : CS_DIR_READ;
    co->cur_hook = io->hook;
    co->call_pc = (uintptr_t)cs_tls.call_pc;
    co->call_fd = fd;
    cs_fd *e = cs_fd_get(fd);
    if (!e) return finish(io, plain(io), 0);
    cs_fd_probe(fd, e);
    int kind = atomic_load_explicit(&e->kind, memory_order_acquire);
    int user_nb = atomic_load_explicit(&e->user_nb, memory_order_relaxed);
    if (kind == CS_FD_FILE) { /* regular files, directories, block devices: hook_file.c */
        int parked;
        ssize_t r = cs_file_io(co, io, &parked);
        return finish(io, r, parked);
    }
    if (kind == CS_FD_UNKNOWN || kind == CS_FD_FILE || e->unpollable) {
        /* Nothing to wait on in the netpoller: the worker runs the plain call
         * (a regular file, a device, an fd epoll refused) and may block in it. */
        cs_tls.call_blocked = !user_nb;
        return finish(io, plain(io), 0);
    }
    if (user_nb || (is_socket_call(io->how) && ((io->flags & MSG_DONTWAIT) || kind != CS_FD_SOCKET)))
        return finish(io, plain(io), 0);
    if ((io->how == CS_IO_READV || io->how == CS_IO_WRITEV) && (io->iovcnt < 0 || io->iovcnt > IOV_MAX))
        return finish(io, plain(io), 0);

    int stream = atomic_load_explicit(&e->stream, memory_order_relaxed);
    int accumulate = dir == CS_DIR_WRITE ? (kind != CS_FD_SOCKET || stream)
                                         : (io->how == CS_IO_RECV && (io->flags & MSG_WAITALL) && stream);
    size_t total = io->len;
    iovcur cur = {.base = NULL, .v = NULL, .n = 0};
    if (io->how == CS_IO_WRITEV || io->how == CS_IO_SENDMSG) {
        const struct iovec *v = io->how == CS_IO_WRITEV ? io->iov : io->msg->msg_iov;
        int n = io->how == CS_IO_WRITEV ? io->iovcnt : (int)io->msg->msg_iovlen;
        if (iovcur_init(&cur, v, n)) {
            errno = ENOMEM;
            return finish(io, -1, 0);
        }
        total = iov_total(v, n);
    }
    int64_t timeo = kind == CS_FD_SOCKET ? atomic_load_explicit(&e->timeo_ns[dir], memory_order_relaxed) : 0;
    uint64_t deadline = timeo > 0 ? cs_deadline_after((uint64_t)timeo) : 0;
    int restartable = timeo <= 0; /* socket calls with a timeout are never restarted */
    uint32_t nr0 = cs_signal_norestart_epoch();
    size_t done = 0;
    int parked = 0, first = 1, reprobed = 0;
    ssize_t ret;

    for (;;) {
        uint32_t seq0 = cs_fd_seq(e, dir);
        cs_fdpeer_note(e, fd, dir,
                       atomic_load_explicit(&e->pair, memory_order_relaxed)); /* before it can wake anyone */
        ssize_t r = attempt(io, e, kind, done, &cur, first);
        if (r >= 0) {
            first = 0;
            if (!accumulate || r == 0) {
                ret = accumulate ? (ssize_t)done : r;
                break;
            }
            done += (size_t)r;
            if (cur.base) iovcur_advance(&cur, (size_t)r);
            if (done >= total) {
                ret = (ssize_t)done;
                break;
            }
            continue;
        }
        if (errno == ENOTSOCK && kind == CS_FD_SOCKET && !reprobed && !is_socket_call(io->how)) {
            /* The fd was reused by a call we do not hook: learn it again. */
            reprobed = 1;
            atomic_store(&e->kind, CS_FD_UNKNOWN);
            cs_fd_probe(fd, e);
            kind = atomic_load(&e->kind);
            if (kind == CS_FD_UNKNOWN || kind == CS_FD_FILE) {
                ret = plain(io);
                break;
            }
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            ret = done ? (ssize_t)done : -1;
            break;
        }
        if (deadline && cs_now_ns() >= deadline) {
            if (done) {
                ret = (ssize_t)done;
            } else {
                errno = EAGAIN;
                ret = -1;
            }
            break;
        }
        int cause = cs_fd_wait(fd, e, dir, seq0, deadline, 1);
        parked = 1;
        if (cause == -EPERM) {
            /* Cannot be watched after all: finish with the plain call. */
            ret = done ? (ssize_t)done : plain(io);
            break;
        }
        if (cause == CS_WAKE_SIGNAL) {
            if (restartable && cs_signal_norestart_epoch() == nr0) continue;
            if (done) {
                ret = (ssize_t)done;
            } else {
                errno = EINTR;
                ret = -1;
            }
            break;
        }
    }
    if (cur.base && cur.base != cur.local) {
        int saved = errno;
        free(cur.base);
        errno = saved;
    }
    return finish(io, ret, parked);
}
