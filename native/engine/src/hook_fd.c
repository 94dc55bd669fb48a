/*
 * hook_fd.c — fd bookkeeping: pipe, pipe2, eventfd, close, close_range, dup,
 * dup2, dup3, fcntl, fcntl64, ioctl.
 *
 * These hooks never park. They keep the fd table (fdtable.h) in step with the
 * kernel's fd table, inside and outside coroutines alike (a pipe made on the
 * main thread is read in a coroutine later; hooks may be switched on and off
 * at run time), and they are cheap and not hot, so there is no separate
 * pass-through path:
 *   - fds created here are recorded as pollable with the program's
 *     O_NONBLOCK; the engine never sets O_NONBLOCK on them;
 *   - before an fd number stops naming its description (close, close_range,
 *     the target of dup2/dup3) its netpoller registration is dropped and its
 *     parked waiters are woken (cs_fd_closing), while the fd is still valid;
 *   - engine fds (the netpoller's epoll, the workers' eventfds) are hidden:
 *     close sees EBADF, dup2/dup3 onto them EBUSY, close_range skips them;
 *   - O_NONBLOCK as the program sets it (F_SETFL, ioctl FIONBIO) is
 *     recorded in user_nb. Where the engine itself made a description
 *     non-blocking (engine_nb: sockets created in coroutines, hook_net.c) the
 *     flag stays set in the kernel and is hidden from F_GETFL while the
 *     program believes the fd is blocking.
 * Bookkeeping uses raw system calls or cs_real only: never a hooked name.
 */

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/close_range.h>)
#include <linux/close_range.h>
#endif
#endif
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#include "fddesc.h"
#include "fdtable.h"
#include "hook.h"
#include "log.h"

/* fd-table chunks are at least this many entries, aligned (fdtable.c uses
 * 1024): close_range skips a missing chunk this many fds at a time. */
#define PEEK_STRIDE 64

/* Observe a bookkeeping call and leave errno as the program must see it:
 * the call's error, or what it was before the call on success. "In a
 * coroutine" is read without cs_hook_co(): these hooks never park, so they
 * are not preemption safe points (close and fcntl are common in signal
 * handlers, where yielding would be wrong). */
static inline long done(int hook, int fd, long r, int err, int saved)
{
    int e = r < 0 ? err : saved;
    if (__builtin_expect(atomic_load_explicit(&cs_observer, memory_order_relaxed) != NULL, 0)) {
        cs_observe(hook, fd, cs_in_co(), 0, r, r < 0 ? e : 0);
    }
    errno = e;
    return r;
}

/* The entry of fd if it describes the current lifetime of fd. */
static cs_fd *known(int fd)
{
    cs_fd *e = cs_fd_peek(fd);
    if (e && atomic_load_explicit(&e->kind, memory_order_acquire) != CS_FD_UNKNOWN) return e;
    return NULL;
}

static int fd_valid(int fd)
{
    return syscall(SYS_fcntl, fd, F_GETFD) >= 0;
}

/* ---- creation ---------------------------------------------------------- */

CS_EXPORT int pipe(int fds[2])
{
    cs_observe_start();
    int saved = errno;
    int r = cs_real.pipe(fds);
    int err = errno;
    if (r == 0) {
        cs_fd_created(fds[0], CS_FD_POLLABLE, 0, 0, 0);
        cs_fd_created(fds[1], CS_FD_POLLABLE, 0, 0, 0);
        cs_fdpeer_pair(fds[0], fds[1], COROSCOPE_FD_PIPE | COROSCOPE_FDF_READ_END,
                       COROSCOPE_FD_PIPE | COROSCOPE_FDF_WRITE_END);
    }
    return (int)done(CS_HOOK_pipe, r == 0 ? fds[0] : -1, r, err, saved);
}

CS_EXPORT int pipe2(int fds[2], int flags)
{
    cs_observe_start();
    int saved = errno;
    cs_tls.call_arg = (uint32_t)flags; /* the CALL's argument summary */
    int r = cs_real.pipe2(fds, flags);
    int err = errno;
    if (r == 0) {
        int nb = (flags & O_NONBLOCK) != 0;
        cs_fd_created(fds[0], CS_FD_POLLABLE, nb, 0, 0);
        cs_fd_created(fds[1], CS_FD_POLLABLE, nb, 0, 0);
        cs_fdpeer_pair(fds[0], fds[1], COROSCOPE_FD_PIPE | COROSCOPE_FDF_READ_END,
                       COROSCOPE_FD_PIPE | COROSCOPE_FDF_WRITE_END);
    }
    return (int)done(CS_HOOK_pipe2, r == 0 ? fds[0] : -1, r, err, saved);
}

CS_EXPORT int eventfd(unsigned int initval, int flags)
{
    cs_observe_start();
    int saved = errno;
    cs_tls.call_arg = (uint32_t)flags;
    int r = cs_real.eventfd(initval, flags);
    int err = errno;
    if (r >= 0) {
        cs_fd_created(r, CS_FD_POLLABLE, (flags & EFD_NONBLOCK) != 0, 0, 0);
        cs_fd *e = cs_fd_peek(r);
        if (e) { /* eventfd writes accept RWF_NOWAIT but still block: poll, then call */
            atomic_store_explicit(&e->nowait[CS_DIR_WRITE], 2, memory_order_relaxed);
            atomic_store_explicit(&e->eventfd, 1, memory_order_relaxed);
            atomic_store_explicit(&e->fifo, 0, memory_order_relaxed);
        }
        cs_fddesc_made(r, COROSCOPE_FD_EVENTFD, NULL);
    }
    return (int)done(CS_HOOK_eventfd, r, r, err, saved);
}

/* ---- close, close_range ------------------------------------------------ */

CS_EXPORT int close(int fd)
{
    cs_observe_start();
    int saved = errno;
    if (cs_fd_is_hidden(fd)) return (int)done(CS_HOOK_close, fd, -1, EBADF, saved);
    cs_fd_closing(fd);
    int r = cs_real.close(fd);
    return (int)done(CS_HOOK_close, fd, r, errno, saved);
}

/* cs_fd_closing for every fd in [first, last] that has a table entry, engine
 * fds excepted. Only existing chunks are visited. */
static void closing_range(unsigned first, unsigned last)
{
    if (first >= CS_FD_MAX) return;
    unsigned end = last >= CS_FD_MAX ? CS_FD_MAX - 1 : last;
    for (unsigned fd = first; fd <= end;) {
        if (!cs_fd_peek((int)fd)) {
            fd = (fd | (PEEK_STRIDE - 1)) + 1;
            continue;
        }
        if (!cs_fd_is_hidden((int)fd)) cs_fd_closing((int)fd);
        fd++;
    }
}

CS_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
    cs_observe_start();
    int saved = errno;
    if (first > last || ((unsigned)flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))) {
        /* EINVAL from the kernel before it touches anything (or flags newer
         * than this file: passed on as they are). */
        int r = cs_real.close_range(first, last, flags);
        return (int)done(CS_HOOK_close_range, -1, r, errno, saved);
    }
    if (!((unsigned)flags & CLOSE_RANGE_CLOEXEC)) closing_range(first, last);
    /* The real call on the sub-ranges between engine fds (which are
     * close-on-exec already, so skipping them is right for CLOEXEC too). */
    int r = 0;
    unsigned lo = first;
    for (;;) {
        int h = lo < CS_FD_MAX ? cs_fd_next_hidden((int)lo, last) : -1;
        if (h < 0) {
            r = cs_real.close_range(lo, last, flags);
            break;
        }
        if ((unsigned)h > lo && (r = cs_real.close_range(lo, (unsigned)h - 1, flags)) < 0) break;
        if ((unsigned)h == last) break;
        lo = (unsigned)h + 1;
    }
    return (int)done(CS_HOOK_close_range, -1, r, errno, saved);
}

/* ---- dup family ----------------------------------------------------------- */

CS_EXPORT int dup(int oldfd)
{
    cs_observe_start();
    int saved = errno;
    int r = cs_real.dup(oldfd);
    int err = errno;
    if (r >= 0) {
        cs_fd_duplicated(oldfd, r);
        cs_fddesc_new(r, COROSCOPE_FDO_CREATED, -1, NULL, 0);
    }
    return (int)done(CS_HOOK_dup, oldfd, r, err, saved);
}

/* dup2 (is3 0) and dup3 (is3 1). */
static int dup_to(int hook, int oldfd, int newfd, int flags, int is3)
{
    cs_observe_start();
    int saved = errno;
    if (oldfd == newfd) {
        /* dup2: a validity check; dup3: EINVAL. Nothing changes. */
        int r = is3 ? cs_real.dup3(oldfd, newfd, flags) : cs_real.dup2(oldfd, newfd);
        return (int)done(hook, newfd, r, errno, saved);
    }
    if (cs_fd_is_hidden(newfd)) return (int)done(hook, newfd, -1, EBUSY, saved);
    /* newfd's current description goes away: drop what the engine holds on
     * it while newfd is still valid. Skipped when the call must fail. */
    if (newfd >= 0 && fd_valid(oldfd)) cs_fd_closing(newfd);
    int r = is3 ? cs_real.dup3(oldfd, newfd, flags) : cs_real.dup2(oldfd, newfd);
    int err = errno;
    if (r >= 0) {
        cs_fd_duplicated(oldfd, r);
        cs_fddesc_new(r, COROSCOPE_FDO_CREATED, -1, NULL, 0);
    }
    return (int)done(hook, newfd, r, err, saved);
}

CS_EXPORT int dup2(int oldfd, int newfd)
{
    return dup_to(CS_HOOK_dup2, oldfd, newfd, 0, 0);
}

CS_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    return dup_to(CS_HOOK_dup3, oldfd, newfd, flags, 1);
}

/* ---- fcntl, fcntl64 --------------------------------------------------------- */

/* Commands whose third argument is a pointer. */
static int fcntl_ptr_arg(int cmd)
{
    switch (cmd) {
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
#ifdef F_OFD_GETLK
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW:
#endif
#ifdef F_GETOWN_EX
    case F_GETOWN_EX:
    case F_SETOWN_EX:
#endif
#ifdef F_GET_RW_HINT
    case F_GET_RW_HINT:
    case F_SET_RW_HINT:
    case F_GET_FILE_RW_HINT:
    case F_SET_FILE_RW_HINT:
#endif
        return 1;
    default: return 0;
    }
}

static int do_fcntl(int hook, int (*real)(int, int, ...), int fd, int cmd, long iarg, void *parg, int isptr)
{
    cs_observe_start();
    int saved = errno, r, err;
    cs_fd *e;
    cs_tls.call_arg = (uint32_t)cmd;
    if (isptr) {
        r = real(fd, cmd, parg);
        return (int)done(hook, fd, r, errno, saved);
    }
    switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        r = real(fd, cmd, iarg);
        err = errno;
        if (r >= 0) {
            cs_fd_duplicated(fd, r);
            cs_fddesc_new(r, COROSCOPE_FDO_CREATED, -1, NULL, 0);
        }
        return (int)done(hook, fd, r, err, saved);
    case F_SETFL: {
        int fl = (int)iarg;
        int user_nb = (fl & O_NONBLOCK) != 0;
        e = known(fd);
        if (e && atomic_load_explicit(&e->engine_nb, memory_order_relaxed))
            fl |= O_NONBLOCK; /* the engine relies on it */
        r = real(fd, cmd, (long)fl);
        err = errno;
        if (r >= 0 && (e || (e = cs_fd_peek(fd)))) cs_fd_set_user_nb(e, user_nb);
        return (int)done(hook, fd, r, err, saved);
    }
    case F_GETFL:
        r = real(fd, cmd, iarg);
        err = errno;
        if (r >= 0 && (r & O_NONBLOCK) && (e = known(fd)) &&
            atomic_load_explicit(&e->engine_nb, memory_order_relaxed) &&
            !atomic_load_explicit(&e->user_nb, memory_order_relaxed))
            r &= ~O_NONBLOCK;
        return (int)done(hook, fd, r, err, saved);
    default: r = real(fd, cmd, iarg); return (int)done(hook, fd, r, errno, saved);
    }
}

/* glibc, too, reads the optional argument whatever the command; for
 * commands without one the value is never used. */
#define FCNTL_BODY(hook, realfn)    \
    va_list ap;                     \
    long iarg = 0;                  \
    void *parg = NULL;              \
    int isptr = fcntl_ptr_arg(cmd); \
    va_start(ap, cmd);              \
    if (isptr)                      \
        parg = va_arg(ap, void *);  \
    else                            \
        iarg = va_arg(ap, long);    \
    va_end(ap);                     \
    return do_fcntl(hook, realfn, fd, cmd, iarg, parg, isptr)

CS_EXPORT int fcntl(int fd, int cmd, ...)
{
    FCNTL_BODY(CS_HOOK_fcntl, cs_real.fcntl);
}

CS_EXPORT int fcntl64(int fd, int cmd, ...)
{
    FCNTL_BODY(CS_HOOK_fcntl64, cs_real.fcntl64);
}

/* ---- ioctl ------------------------------------------------------------------- */

CS_EXPORT int ioctl(int fd, unsigned long req, ...)
{
    cs_observe_start();
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int saved = errno, r;
    cs_tls.call_arg = (uint32_t)req;
    if (req != FIONBIO || !arg) {
        r = cs_real.ioctl(fd, req, arg);
        return (int)done(CS_HOOK_ioctl, fd, r, errno, saved);
    }
    int on = *(const int *)arg != 0;
    cs_fd *e = known(fd);
    if (e && atomic_load_explicit(&e->engine_nb, memory_order_relaxed) && !on) {
        /* The engine keeps the description non-blocking: only the program's
         * view changes. Still EBADF for an fd that is not open. */
        if (!fd_valid(fd)) return (int)done(CS_HOOK_ioctl, fd, -1, EBADF, saved);
        cs_fd_set_user_nb(e, 0);
        return (int)done(CS_HOOK_ioctl, fd, 0, 0, saved);
    }
    r = cs_real.ioctl(fd, req, arg);
    int err = errno;
    if (r >= 0 && (e || (e = cs_fd_peek(fd)))) cs_fd_set_user_nb(e, on);
    return (int)done(CS_HOOK_ioctl, fd, r, err, saved);
}

/* ---- fclose, closedir ------------------------------------------------------- */

/* glibc closes the fd of a FILE or DIR internally, without the close hook:
 * forget what the engine knew about it first, so a later fd reusing the
 * number (even one made by a call the engine does not hook, like open) is
 * learnt afresh instead of inheriting a stale registration or flag. */

static struct {
    int (*fclose)(FILE *);
    int (*closedir)(DIR *);
} real_close;

void cs_fd_hooks_resolve(void)
{
    real_close.fclose = (int (*)(FILE *))dlsym(RTLD_NEXT, "fclose");
    real_close.closedir = (int (*)(DIR *))dlsym(RTLD_NEXT, "closedir");
}

CS_EXPORT int fclose(FILE *f)
{
    if (__builtin_expect(!real_close.fclose, 0)) cs_fatal("fclose called before the engine's constructor ran");
    int fd = f ? fileno(f) : -1;
    if (fd >= 0) cs_fd_closing(fd);
    return real_close.fclose(f);
}

CS_EXPORT int closedir(DIR *d)
{
    if (__builtin_expect(!real_close.closedir, 0)) cs_fatal("closedir called before the engine's constructor ran");
    int fd = dirfd(d);
    if (fd >= 0) cs_fd_closing(fd);
    return real_close.closedir(d);
}
