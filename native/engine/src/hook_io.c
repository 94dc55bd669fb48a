/*
 * hook_io.c — read, write, readv, writev, recv, recvfrom, recvmsg, send,
 * sendto, sendmsg and the FORTIFY twins __read_chk, __recv_chk,
 * __recvfrom_chk. Outside a coroutine: the real call, observed. Inside: the
 * transfer loop of io.c.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hook.h"
#include "io.h"

/* Bytes an iovec array asks for (the observer's argument summary). */
static uint64_t iov_bytes(const struct iovec *iov, int n)
{
    uint64_t t = 0;
    for (int i = 0; iov && i < n && i < 1024; i++) t += iov[i].iov_len;
    return t;
}

static CS_SLOW ssize_t read_hooked(int fd, void *buf, size_t n)
{
    cs_tls.call_arg = n;
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_read, fd, cs_real.read(fd, buf, n));
    cs_io io = {.hook = CS_HOOK_read, .how = CS_IO_READ, .fd = fd, .buf = buf, .len = n};
    return cs_io_run(co, &io);
}

CS_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    CS_FAST_PASS(read, (fd, buf, n));
    return read_hooked(fd, buf, n);
}

static CS_SLOW ssize_t write_hooked(int fd, const void *buf, size_t n)
{
    cs_tls.call_arg = n;
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_write, fd, cs_real.write(fd, buf, n));
    cs_io io = {.hook = CS_HOOK_write, .how = CS_IO_WRITE, .fd = fd, .buf = (void *)buf, .len = n};
    return cs_io_run(co, &io);
}

CS_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    CS_FAST_PASS(write, (fd, buf, n));
    return write_hooked(fd, buf, n);
}

static CS_SLOW ssize_t readv_hooked(int fd, const struct iovec *iov, int cnt)
{
    cs_tls.call_arg = iov_bytes(iov, cnt);
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_readv, fd, cs_real.readv(fd, iov, cnt));
    cs_io io = {.hook = CS_HOOK_readv, .how = CS_IO_READV, .fd = fd, .iov = iov, .iovcnt = cnt};
    return cs_io_run(co, &io);
}

CS_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    CS_FAST_PASS(readv, (fd, iov, cnt));
    return readv_hooked(fd, iov, cnt);
}

static CS_SLOW ssize_t writev_hooked(int fd, const struct iovec *iov, int cnt)
{
    cs_tls.call_arg = iov_bytes(iov, cnt);
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_writev, fd, cs_real.writev(fd, iov, cnt));
    cs_io io = {.hook = CS_HOOK_writev, .how = CS_IO_WRITEV, .fd = fd, .iov = iov, .iovcnt = cnt};
    return cs_io_run(co, &io);
}

CS_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    CS_FAST_PASS(writev, (fd, iov, cnt));
    return writev_hooked(fd, iov, cnt);
}

static CS_SLOW ssize_t recv_hooked(int fd, void *buf, size_t n, int flags)
{
    cs_tls.call_arg = n;
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_recv, fd, cs_real.recv(fd, buf, n, flags));
    cs_io io = {.hook = CS_HOOK_recv, .how = CS_IO_RECV, .fd = fd, .buf = buf, .len = n, .flags = flags};
    return cs_io_run(co, &io);
}

CS_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    CS_FAST_PASS(recv, (fd, buf, n, flags));
    return recv_hooked(fd, buf, n, flags);
}

static CS_SLOW ssize_t recvfrom_hooked(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
                                       socklen_t *fromlen)
{
    cs_tls.call_arg = n;
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_recvfrom, fd, cs_real.recvfrom(fd, buf, n, flags, from, fromlen));
    cs_io io = {.hook = CS_HOOK_recvfrom,
                .how = CS_IO_RECV,
                .fd = fd,
                .buf = buf,
                .len = n,
                .flags = flags,
                .from = from,
                .fromlen = fromlen};
    return cs_io_run(co, &io);
}

CS_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen)
{
    CS_FAST_PASS(recvfrom, (fd, buf, n, flags, from, fromlen));
    return recvfrom_hooked(fd, buf, n, flags, from, fromlen);
}

static CS_SLOW ssize_t recvmsg_hooked(int fd, struct msghdr *msg, int flags)
{
    cs_tls.call_arg = msg ? iov_bytes(msg->msg_iov, (int)msg->msg_iovlen) : 0;
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_recvmsg, fd, cs_real.recvmsg(fd, msg, flags));
    cs_io io = {.hook = CS_HOOK_recvmsg, .how = CS_IO_RECVMSG, .fd = fd, .msg = msg, .flags = flags};
    return cs_io_run(co, &io);
}

CS_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    CS_FAST_PASS(recvmsg, (fd, msg, flags));
    return recvmsg_hooked(fd, msg, flags);
}

static CS_SLOW ssize_t send_hooked(int fd, const void *buf, size_t n, int flags)
{
    cs_tls.call_arg = n;
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_send, fd, cs_real.send(fd, buf, n, flags));
    cs_io io = {.hook = CS_HOOK_send, .how = CS_IO_SEND, .fd = fd, .buf = (void *)buf, .len = n, .flags = flags};
    return cs_io_run(co, &io);
}

CS_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    CS_FAST_PASS(send, (fd, buf, n, flags));
    return send_hooked(fd, buf, n, flags);
}

static CS_SLOW ssize_t sendto_hooked(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
                                     socklen_t tolen)
{
    cs_tls.call_arg = n;
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_sendto, fd, cs_real.sendto(fd, buf, n, flags, to, tolen));
    cs_io io = {.hook = CS_HOOK_sendto,
                .how = CS_IO_SEND,
                .fd = fd,
                .buf = (void *)buf,
                .len = n,
                .flags = flags,
                .to = to,
                .tolen = tolen};
    return cs_io_run(co, &io);
}

CS_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen)
{
    CS_FAST_PASS(sendto, (fd, buf, n, flags, to, tolen));
    return sendto_hooked(fd, buf, n, flags, to, tolen);
}

static CS_SLOW ssize_t sendmsg_hooked(int fd, const struct msghdr *msg, int flags)
{
    cs_tls.call_arg = msg ? iov_bytes(msg->msg_iov, (int)msg->msg_iovlen) : 0;
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_sendmsg, fd, cs_real.sendmsg(fd, msg, flags));
    cs_io io = {.hook = CS_HOOK_sendmsg, .how = CS_IO_SENDMSG, .fd = fd, .msg = (struct msghdr *)msg, .flags = flags};
    return cs_io_run(co, &io);
}

CS_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    CS_FAST_PASS(sendmsg, (fd, msg, flags));
    return sendmsg_hooked(fd, msg, flags);
}

/* FORTIFY twins: the size check is glibc's (its abort message included). */

static CS_SLOW ssize_t __read_chk_hooked(int fd, void *buf, size_t n, size_t buflen)
{
    cs_tls.call_arg = n;
    cs_co *co = cs_hook_co();
    if (!co || n > buflen) return CS_PASS(CS_HOOK___read_chk, fd, cs_real.__read_chk(fd, buf, n, buflen));
    cs_io io = {.hook = CS_HOOK___read_chk, .how = CS_IO_READ, .fd = fd, .buf = buf, .len = n};
    return cs_io_run(co, &io);
}

CS_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    CS_FAST_PASS(__read_chk, (fd, buf, n, buflen));
    return __read_chk_hooked(fd, buf, n, buflen);
}

static CS_SLOW ssize_t __recv_chk_hooked(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    cs_tls.call_arg = n;
    cs_co *co = cs_hook_co();
    if (!co || n > buflen) return CS_PASS(CS_HOOK___recv_chk, fd, cs_real.__recv_chk(fd, buf, n, buflen, flags));
    cs_io io = {.hook = CS_HOOK___recv_chk, .how = CS_IO_RECV, .fd = fd, .buf = buf, .len = n, .flags = flags};
    return cs_io_run(co, &io);
}

CS_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    CS_FAST_PASS(__recv_chk, (fd, buf, n, buflen, flags));
    return __recv_chk_hooked(fd, buf, n, buflen, flags);
}

static CS_SLOW ssize_t __recvfrom_chk_hooked(int fd, void *buf, size_t n, size_t buflen, int flags,
                                             struct sockaddr *from, socklen_t *fromlen)
{
    cs_tls.call_arg = n;
    cs_co *co = cs_hook_co();
    if (!co || n > buflen)
        return CS_PASS(CS_HOOK___recvfrom_chk, fd, cs_real.__recvfrom_chk(fd, buf, n, buflen, flags, from, fromlen));
    cs_io io = {.hook = CS_HOOK___recvfrom_chk,
                .how = CS_IO_RECV,
                .fd = fd,
                .buf = buf,
                .len = n,
                .flags = flags,
                .from = from,
                .fromlen = fromlen};
    return cs_io_run(co, &io);
}

CS_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *from,
                                 socklen_t *fromlen)
{
    CS_FAST_PASS(__recvfrom_chk, (fd, buf, n, buflen, flags, from, fromlen));
    return __recvfrom_chk_hooked(fd, buf, n, buflen, flags, from, fromlen);
}
