/*
 * hook_net.c — socket, socketpair, accept, accept4, connect, setsockopt,
 * getsockopt.
 *
 * Sockets created inside a coroutine (socket, socketpair, accept) are made
 * non-blocking at the file-description level by the engine itself, so accept
 * and connect can wait on the netpoller; the program keeps seeing the
 * blocking socket it asked for (hook_fd.c hides the flag from F_GETFL and
 * keeps it under F_SETFL/FIONBIO). Sockets created elsewhere are never given
 * O_NONBLOCK (the flag lives on the shared description, and other holders —
 * a parent shell, another process — would see it): accept on them waits for
 * readiness and then calls; connect on them is the real blocking call.
 *
 * SO_RCVTIMEO/SO_SNDTIMEO set through setsockopt become the timeouts of the
 * parked calls (EAGAIN, or EINPROGRESS for connect, when they expire).
 *
 * Telemetry (emit_call.h): the CALL of connect, accept and accept4 is
 * followed by a CALL_ADDR with the peer; a connect that parks also puts one
 * after its CALL_ENTER (co->call_addr while it waits). Argument summaries:
 * the type for socket/socketpair, the flags for accept4.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "emit_call.h"
#include "fddesc.h"
#include "fdtable.h"
#include "hook.h"
#include "io.h"
#include "netpoll.h"
#include "telemetry.h"

static int sock_stream(int type)
{
    return (type & 0xf) == SOCK_STREAM;
}

CS_EXPORT int socket(int domain, int type, int proto)
{
    cs_tls.call_arg = (uint32_t)type;
    cs_co *co = cs_hook_co();
    int user_nb = (type & SOCK_NONBLOCK) != 0;
    int fd = cs_real.socket(domain, co ? (type | SOCK_NONBLOCK) : type, proto);
    int e = errno;
    if (fd >= 0)
        cs_fd_created(fd, CS_FD_SOCKET, user_nb, co && !user_nb, sock_stream(type)); /* described at first use */
    cs_observe(CS_HOOK_socket, fd, co != NULL, 0, fd, fd < 0 ? e : 0);
    errno = e;
    return fd;
}

CS_EXPORT int socketpair(int domain, int type, int proto, int sv[2])
{
    cs_tls.call_arg = (uint32_t)type;
    cs_co *co = cs_hook_co();
    int user_nb = (type & SOCK_NONBLOCK) != 0;
    int r = cs_real.socketpair(domain, co ? (type | SOCK_NONBLOCK) : type, proto, sv);
    int e = errno;
    if (r == 0) {
        cs_fd_created(sv[0], CS_FD_SOCKET, user_nb, co && !user_nb, sock_stream(type));
        cs_fd_created(sv[1], CS_FD_SOCKET, user_nb, co && !user_nb, sock_stream(type));
        uint32_t k = domain != AF_UNIX                ? COROSCOPE_FD_SOCKET
                     : (type & 0xf) == SOCK_STREAM    ? COROSCOPE_FD_UNIX_STREAM
                     : (type & 0xf) == SOCK_DGRAM     ? COROSCOPE_FD_UNIX_DGRAM
                     : (type & 0xf) == SOCK_SEQPACKET ? COROSCOPE_FD_UNIX_SEQPACKET
                                                      : COROSCOPE_FD_SOCKET;
        cs_fdpeer_pair(sv[0], sv[1], k, k);
    }
    cs_observe(CS_HOOK_socketpair, r == 0 ? sv[0] : -1, co != NULL, 0, r, r < 0 ? e : 0);
    errno = e;
    return r;
}

static int finish(int hook, int fd, int parked, int r)
{
    int e = errno;
    cs_observe(hook, fd, 1, parked, r, r < 0 ? e : 0);
    errno = e;
    return r;
}

static int co_accept(cs_co *co, int hook, int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    co->cur_hook = hook;
    co->call_pc = (uintptr_t)cs_tls.call_pc;
    co->call_fd = fd;
    cs_fd *e = cs_fd_get(fd);
    if (e) cs_fd_probe(fd, e);
    if (!e || atomic_load(&e->kind) != CS_FD_SOCKET || atomic_load(&e->user_nb) || e->unpollable)
        return finish(hook, fd, 0, cs_real.accept4(fd, addr, len, flags));
    int engine_nb = atomic_load(&e->engine_nb);
    int64_t timeo = atomic_load(&e->timeo_ns[CS_DIR_READ]);
    uint64_t deadline = timeo > 0 ? cs_deadline_after((uint64_t)timeo) : 0;
    uint32_t nr0 = cs_signal_norestart_epoch();
    int user_nb_new = (flags & SOCK_NONBLOCK) != 0;
    int parked = 0;
    for (;;) {
        uint32_t seq0 = cs_fd_seq(e, CS_DIR_READ);
        int r;
        if (engine_nb) {
            r = cs_real.accept4(fd, addr, len, flags | SOCK_NONBLOCK);
        } else {
            if (cs_poll_now(fd, POLLIN))
                r = cs_real.accept4(fd, addr, len, flags | SOCK_NONBLOCK);
            else
                r = -1, errno = EAGAIN;
        }
        if (r >= 0) {
            cs_fd_created(r, CS_FD_SOCKET, user_nb_new, !user_nb_new, atomic_load(&e->stream));
            cs_fddesc_socket(r, atomic_load(&e->stream), COROSCOPE_FDO_CREATED, NULL, 0);
            return finish(hook, fd, parked, r);
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) return finish(hook, fd, parked, -1);
        if (deadline && cs_now_ns() >= deadline) {
            errno = EAGAIN;
            return finish(hook, fd, parked, -1);
        }
        int cause = cs_fd_wait(fd, e, CS_DIR_READ, seq0, deadline, 1);
        parked = 1;
        if (cause == -EPERM) return finish(hook, fd, parked, cs_real.accept4(fd, addr, len, flags));
        if (cause == CS_WAKE_SIGNAL && !(timeo <= 0 && cs_signal_norestart_epoch() == nr0)) {
            errno = EINTR;
            return finish(hook, fd, parked, -1);
        }
    }
}

static CS_SLOW int accept_hooked(int fd, struct sockaddr *addr, socklen_t *len)
{
    cs_tls.call_arg = 0;
    cs_co *co = cs_hook_co();
    int r;
    if (!co) {
        r = CS_PASS(CS_HOOK_accept, fd, cs_real.accept(fd, addr, len));
        if (r >= 0) cs_fd_created(r, CS_FD_SOCKET, 0, 0, 1);
        if (r >= 0) cs_fddesc_socket(r, 1, COROSCOPE_FDO_CREATED, NULL, 0);
    } else {
        r = co_accept(co, CS_HOOK_accept, fd, addr, len, 0);
    }
    if (r >= 0 && cs_tel()) cs_emit_accepted(r);
    return r;
}

CS_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    CS_FAST_PASS(accept, (fd, addr, len));
    return accept_hooked(fd, addr, len);
}

static CS_SLOW int accept4_hooked(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    cs_tls.call_arg = (uint32_t)flags;
    cs_co *co = cs_hook_co();
    int r;
    if (!co) {
        r = CS_PASS(CS_HOOK_accept4, fd, cs_real.accept4(fd, addr, len, flags));
        if (r >= 0) cs_fd_created(r, CS_FD_SOCKET, (flags & SOCK_NONBLOCK) != 0, 0, 1);
        if (r >= 0) cs_fddesc_socket(r, 1, COROSCOPE_FDO_CREATED, NULL, 0);
    } else {
        r = co_accept(co, CS_HOOK_accept4, fd, addr, len, flags);
    }
    if (r >= 0 && cs_tel()) cs_emit_accepted(r);
    return r;
}

CS_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    CS_FAST_PASS(accept4, (fd, addr, len, flags));
    return accept4_hooked(fd, addr, len, flags);
}

static int co_connect(cs_co *co, int fd, const struct sockaddr *addr, socklen_t len)
{
    cs_fd *e = cs_fd_get(fd);
    if (e) cs_fd_probe(fd, e);
    if (!e || atomic_load(&e->kind) != CS_FD_SOCKET || atomic_load(&e->user_nb) || !atomic_load(&e->engine_nb) ||
        e->unpollable)
        return finish(CS_HOOK_connect, fd, 0, cs_real.connect(fd, addr, len));
    uint32_t seq0 = cs_fd_seq(e, CS_DIR_WRITE);
    co->cur_hook = CS_HOOK_connect;
    co->call_pc = (uintptr_t)cs_tls.call_pc;
    co->call_fd = fd;
    /* Linux bounds a blocking connect by SO_SNDTIMEO (counted from the call)
     * and then says EINPROGRESS. */
    int64_t timeo = atomic_load(&e->timeo_ns[CS_DIR_WRITE]);
    uint64_t deadline = timeo > 0 ? cs_deadline_after((uint64_t)timeo) : 0;
    int r = cs_real.connect(fd, addr, len);
    if (r == 0 || errno != EINPROGRESS) return finish(CS_HOOK_connect, fd, 0, r);
    uint32_t nr0 = cs_signal_norestart_epoch();
    co->call_addr = addr; /* the kernel read it: safe to format after CALL_ENTER (connect_hooked clears it) */
    co->call_addrlen = len;
    for (;;) {
        int cause = cs_fd_wait(fd, e, CS_DIR_WRITE, seq0, deadline, 1);
        seq0 = cs_fd_seq(e, CS_DIR_WRITE);
        if (cause == -EPERM || cs_poll_now(fd, POLLOUT)) {
            int err = 0;
            socklen_t el = sizeof err;
            if (cs_real.getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0) return finish(CS_HOOK_connect, fd, 1, -1);
            if (err) {
                errno = err;
                return finish(CS_HOOK_connect, fd, 1, -1);
            }
            return finish(CS_HOOK_connect, fd, 1, 0);
        }
        if (cause == CS_WAKE_SIGNAL && !(timeo <= 0 && cs_signal_norestart_epoch() == nr0)) {
            errno = EINTR; /* the connection attempt goes on, as with the real call */
            return finish(CS_HOOK_connect, fd, 1, -1);
        }
        if (deadline && cs_now_ns() >= deadline) {
            errno = EINPROGRESS;
            return finish(CS_HOOK_connect, fd, 1, -1);
        }
    }
}

static CS_SLOW int connect_hooked(int fd, const struct sockaddr *addr, socklen_t len)
{
    cs_tls.call_arg = 0;
    cs_co *co = cs_hook_co();
    int r;
    if (!co) {
        r = CS_PASS(CS_HOOK_connect, fd, cs_real.connect(fd, addr, len));
    } else {
        r = co_connect(co, fd, addr, len);
        co->call_addr = NULL;
    }
    /* The address, unless the kernel never read it (then it may be bad). */
    if (cs_tel() && (r == 0 || (errno != EBADF && errno != EFAULT && errno != EINVAL))) {
        int e = errno;
        cs_emit_sockaddr(addr, len);
        /* Described again, now with its peer (a connect in progress: the address it was given). */
        if (r == 0 || e == EINPROGRESS || e == EINTR) {
            cs_fd *ent = cs_fd_peek(fd);
            if (ent && atomic_load(&ent->kind) == CS_FD_SOCKET && atomic_load(&ent->stream))
                cs_fddesc_socket(fd, 1, COROSCOPE_FDO_CONNECTED, addr, len);
            else
                cs_fddesc_new(fd, COROSCOPE_FDO_CONNECTED, -1, addr, len);
        }
        errno = e;
    }
    return r;
}

CS_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    CS_FAST_PASS(connect, (fd, addr, len));
    return connect_hooked(fd, addr, len);
}

static int64_t tv_ns(const void *v, socklen_t len)
{
    if (len < (socklen_t)sizeof(struct timeval)) return 0;
    const struct timeval *tv = v;
    return (int64_t)tv->tv_sec * 1000000000ll + (int64_t)tv->tv_usec * 1000ll;
}

CS_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
    cs_observe_start();
    int r = cs_real.setsockopt(fd, level, name, val, len);
    int e = errno;
    if (r == 0 && level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
        cs_fd *ent = cs_fd_get(fd);
        if (ent) {
            cs_fd_probe(fd, ent);
            atomic_store(&ent->timeo_ns[name == SO_RCVTIMEO ? CS_DIR_READ : CS_DIR_WRITE], tv_ns(val, len));
        }
    }
    cs_observe(CS_HOOK_setsockopt, fd, cs_in_co(), 0, r, r < 0 ? e : 0);
    errno = e;
    return r;
}

static CS_SLOW int getsockopt_hooked(int fd, int level, int name, void *val, socklen_t *len)
{
    return CS_PASS(CS_HOOK_getsockopt, fd, cs_real.getsockopt(fd, level, name, val, len));
}

CS_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    CS_FAST_PASS(getsockopt, (fd, level, name, val, len));
    return getsockopt_hooked(fd, level, name, val, len);
}
