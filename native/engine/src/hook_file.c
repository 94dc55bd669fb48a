/*
 * hook_file.c — regular files: pread, pread64, preadv, preadv64, pwrite,
 * pwrite64, pwritev, pwritev64, fsync, fdatasync (and read/write/readv/
 * writev on a regular file, through io.c's cs_file_io); open, open64,
 * openat, openat64, stat, stat64, lstat, lstat64, fstat, fstat64, fstatat,
 * fstatat64 observed.
 *
 * A regular file is always "ready": the netpoller cannot say when a read
 * will not wait for the disk. Inside a coroutine:
 *   - reads first try preadv2(..., RWF_NOWAIT): served from the page cache
 *     without blocking, the common case, at the cost of one system call. If
 *     the kernel would have to wait for the device (EAGAIN), or could serve
 *     only a part, the rest runs on the offload pool (offload.h) while the
 *     coroutine parks. A filesystem without RWF_NOWAIT (EOPNOTSUPP) is
 *     remembered per fd (cs_fd.nowait) and its reads always go to the pool.
 *   - writes (pwrite*, write/writev to a regular file) always go to the pool:
 *     a buffered write can wait for dirty-page throttling or block
 *     allocation, and RWF_NOWAIT for buffered writes is not supported by
 *     every filesystem (and would need O_APPEND care); one offload costs
 *     microseconds (README).
 *   - fsync/fdatasync always go to the pool, on any fd.
 *   - open/stat family: the path lookup is tried against the kernel's
 *     lookup cache alone (openat2 with RESOLVE_CACHED, which fails with
 *     EAGAIN where the walk would need I/O or a revalidation: a cold
 *     directory, NFS/FUSE attributes that expired). open* makes that very
 *     call (its fd is the answer: no extra cost); stat* probes with an
 *     O_PATH openat2, closes it and makes the real call inline (0.73
 *     instead of 0.26 µs for a cached stat). A miss, and every open that creates or truncates
 *     (O_CREAT, O_TRUNC, O_TMPFILE: the journal or block freeing may wait),
 *     goes to the pool. Offloading every path call was measured at about
 *     3.7-5 µs each against 0.26-0.5 µs inline (bench/c/file_meta.c): the
 *     probe keeps the common case inline. Where openat2 is missing
 *     (ENOSYS, EPERM under seccomp) or refuses the flags (EINVAL: bits
 *     open ignores), the call runs inline as before. The path is the
 *     CALL_ADDR of their CALL.
 *   - stdio refills (cs_stdio_refill, hook_stdio.c): before a stdio read on
 *     a regular file whose buffer is empty, a one-byte RWF_NOWAIT probe at
 *     the file position; on a miss a pool thread reads the range the
 *     refill will ask for into the page cache, then the stdio call runs
 *     inline as the program made it (its FILE lock and buffer stay the
 *     coroutine's, on the worker) and is served from the cache.
 * Semantics are the plain call's: the pool runs exactly the call the
 * program made (same fd, so the same file position for read/write), whole
 * transfers stay whole (a partial RWF_NOWAIT read is completed, never
 * returned short), errno comes back from the pool thread. The waits are not
 * interruptible: a user signal does not cut a file read short on a thread
 * either. Outside coroutines every call is the plain call, observed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdtable.h"
#include "hook.h"
#include "io.h"
#include "emit_call.h"
#include "offload.h"
#include "telemetry.h"

/* ---- the transfers ------------------------------------------------------------------------------ */

enum { OP_READ, OP_WRITE, OP_FSYNC, OP_FDATASYNC };

typedef struct file_job {
    cs_offload_req req;
    int op;
    int fd;
    const struct iovec *iov;
    int iovcnt;
    off_t off; /* -1: the file position (read/write/readv/writev) */
} file_job;

static void file_run(cs_offload_req *r)
{
    file_job *j = (file_job *)r;
    errno = 0;
    switch (j->op) {
    case OP_READ:
        r->ret =
            j->off < 0 ? cs_real.readv(j->fd, j->iov, j->iovcnt) : cs_real.preadv(j->fd, j->iov, j->iovcnt, j->off);
        break;
    case OP_WRITE:
        r->ret =
            j->off < 0 ? cs_real.writev(j->fd, j->iov, j->iovcnt) : cs_real.pwritev(j->fd, j->iov, j->iovcnt, j->off);
        break;
    case OP_FSYNC: r->ret = cs_real.fsync(j->fd); break;
    default: r->ret = cs_real.fdatasync(j->fd); break;
    }
    r->err = r->ret < 0 ? errno : 0;
}

static long offload(cs_co *co, file_job *j, int *parked)
{
    j->req.fn = file_run;
    int p = 0;
    long r = cs_offload_run(co, &j->req, &p);
    *parked |= p;
    if (r < 0) errno = j->req.err;
    return r;
}

static size_t iov_total(const struct iovec *v, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++) t += v[i].iov_len;
    return t;
}

/* The iovecs after the first `skip` bytes, into out (local, or malloc'd:
 * *heap); the count. */
static int iov_skip(const struct iovec *v, int n, size_t skip, struct iovec *local, int cap, struct iovec **out,
                    struct iovec **heap)
{
    while (n && skip >= v->iov_len) {
        skip -= v->iov_len;
        v++;
        n--;
    }
    *heap = NULL;
    struct iovec *o = local;
    if (n > cap) {
        o = *heap = malloc(sizeof *o * (size_t)n);
        if (!o) return -1;
    }
    memcpy(o, v, sizeof *o * (size_t)n);
    if (n && skip) {
        o[0].iov_base = (char *)o[0].iov_base + skip;
        o[0].iov_len -= skip;
    }
    *out = o;
    return n;
}

/* A transfer on a regular file inside coroutine co (off -1: file position). */
static ssize_t file_transfer(cs_co *co, int write, int fd, const struct iovec *iov, int iovcnt, off_t off, int *parked)
{
    file_job j = {.op = write ? OP_WRITE : OP_READ, .fd = fd, .iov = iov, .iovcnt = iovcnt, .off = off};
    if (write || iovcnt < 0 || iovcnt > IOV_MAX) return offload(co, &j, parked);
    cs_fd *e = cs_fd_get(fd);
    if (e && atomic_load_explicit(&e->nowait[CS_DIR_READ], memory_order_relaxed) == 2) return offload(co, &j, parked);
    ssize_t got = preadv2(fd, iov, iovcnt, off, RWF_NOWAIT);
    if (got < 0) {
        if (errno == EOPNOTSUPP && e) atomic_store_explicit(&e->nowait[CS_DIR_READ], 2, memory_order_relaxed);
        if (errno != EAGAIN && errno != EOPNOTSUPP) return -1; /* EBADF, EISDIR, EINVAL...: what the plain call says */
        return offload(co, &j, parked);
    }
    size_t total = iov_total(iov, iovcnt);
    if (got == 0 || (size_t)got >= total) return got;
    /* Part of it was cached: the rest may have to wait for the device. */
    struct iovec local[8], *rest, *heap;
    int n = iov_skip(iov, iovcnt, (size_t)got, local, 8, &rest, &heap);
    if (n < 0) return got;
    j.iov = rest;
    j.iovcnt = n;
    if (off >= 0) j.off = off + got;
    int saved = errno;
    ssize_t more = offload(co, &j, parked);
    free(heap);
    errno = saved;
    return more > 0 ? got + more : got; /* an error after progress: the progress, as the kernel would */
}

ssize_t cs_file_io(cs_co *co, cs_io *io, int *parked)
{
    struct iovec one;
    *parked = 0;
    switch (io->how) {
    case CS_IO_READ: one = (struct iovec){io->buf, io->len}; return file_transfer(co, 0, io->fd, &one, 1, -1, parked);
    case CS_IO_WRITE: one = (struct iovec){io->buf, io->len}; return file_transfer(co, 1, io->fd, &one, 1, -1, parked);
    case CS_IO_READV: return file_transfer(co, 0, io->fd, io->iov, io->iovcnt, -1, parked);
    case CS_IO_WRITEV: return file_transfer(co, 1, io->fd, io->iov, io->iovcnt, -1, parked);
    default:
        errno = ENOTSOCK; /* a socket call on a regular file: what the kernel says */
        return -1;
    }
}

/* Inside a coroutine: is fd a regular file (or another kind the netpoller
 * cannot wait on that the engine treats as one)? */
static int is_file(int fd)
{
    cs_fd *e = cs_fd_get(fd);
    if (!e) return 0;
    cs_fd_probe(fd, e);
    return atomic_load_explicit(&e->kind, memory_order_acquire) == CS_FD_FILE;
}

static ssize_t co_positioned(cs_co *co, int hook, int write, int fd, const struct iovec *iov, int cnt, off_t off)
{
    co->cur_hook = hook;
    co->call_pc = (uintptr_t)cs_tls.call_pc;
    co->call_fd = fd;
    int parked = 0;
    ssize_t r;
    if (off < 0) {
        errno = EINVAL; /* what pread/pwrite say for a negative offset, without -1's "file position" meaning */
        r = -1;
    } else if (is_file(fd)) {
        r = file_transfer(co, write, fd, iov, cnt, off, &parked);
    } else {
        r = write ? cs_real.pwritev(fd, iov, cnt, off) : cs_real.preadv(fd, iov, cnt, off);
    }
    int e = errno;
    cs_observe(hook, fd, 1, parked, (long)r, r < 0 ? e : 0);
    errno = e;
    return r;
}

#define PRW_HOOK(name, write, bufty, offty)                                         \
    static CS_SLOW ssize_t name##_hooked(int fd, bufty buf, size_t n, offty off)    \
    {                                                                               \
        cs_tls.call_arg = n;                                                        \
        cs_co *co = cs_hook_co();                                                   \
        if (!co) return CS_PASS(CS_HOOK_##name, fd, cs_real.name(fd, buf, n, off)); \
        struct iovec one = {(void *)buf, n};                                        \
        return co_positioned(co, CS_HOOK_##name, write, fd, &one, 1, (off_t)off);   \
    }                                                                               \
    CS_EXPORT ssize_t name(int fd, bufty buf, size_t n, offty off)                  \
    {                                                                               \
        CS_FAST_PASS(name, (fd, buf, n, off));                                      \
        return name##_hooked(fd, buf, n, off);                                      \
    }
PRW_HOOK(pread, 0, void *, off_t)
PRW_HOOK(pread64, 0, void *, off64_t)
PRW_HOOK(pwrite, 1, const void *, off_t)
PRW_HOOK(pwrite64, 1, const void *, off64_t)

static uint64_t iov_bytes(const struct iovec *iov, int n)
{
    uint64_t t = 0;
    for (int i = 0; iov && i < n && i < 1024; i++) t += iov[i].iov_len;
    return t;
}

#define PRWV_HOOK(name, write, offty)                                                         \
    static CS_SLOW ssize_t name##_hooked(int fd, const struct iovec *iov, int cnt, offty off) \
    {                                                                                         \
        cs_tls.call_arg = iov_bytes(iov, cnt);                                                \
        cs_co *co = cs_hook_co();                                                             \
        if (!co) return CS_PASS(CS_HOOK_##name, fd, cs_real.name(fd, iov, cnt, off));         \
        return co_positioned(co, CS_HOOK_##name, write, fd, iov, cnt, (off_t)off);            \
    }                                                                                         \
    CS_EXPORT ssize_t name(int fd, const struct iovec *iov, int cnt, offty off)               \
    {                                                                                         \
        CS_FAST_PASS(name, (fd, iov, cnt, off));                                              \
        return name##_hooked(fd, iov, cnt, off);                                              \
    }
PRWV_HOOK(preadv, 0, off_t)
PRWV_HOOK(preadv64, 0, off64_t)
PRWV_HOOK(pwritev, 1, off_t)
PRWV_HOOK(pwritev64, 1, off64_t)

#define SYNC_HOOK(name, what)                                          \
    static CS_SLOW int name##_hooked(int fd)                           \
    {                                                                  \
        cs_tls.call_arg = 0;                                           \
        cs_co *co = cs_hook_co();                                      \
        if (!co) return CS_PASS(CS_HOOK_##name, fd, cs_real.name(fd)); \
        co->cur_hook = CS_HOOK_##name;                                 \
        co->call_pc = (uintptr_t)cs_tls.call_pc;                       \
        co->call_fd = fd;                                              \
        file_job j = {.op = what, .fd = fd};                           \
        int parked = 0;                                                \
        int r = (int)offload(co, &j, &parked);                         \
        int e = errno;                                                 \
        cs_observe(CS_HOOK_##name, fd, 1, parked, r, r < 0 ? e : 0);   \
        errno = e;                                                     \
        return r;                                                      \
    }                                                                  \
    CS_EXPORT int name(int fd)                                         \
    {                                                                  \
        CS_FAST_PASS(name, (fd));                                      \
        return name##_hooked(fd);                                      \
    }
SYNC_HOOK(fsync, OP_FSYNC)
SYNC_HOOK(fdatasync, OP_FDATASYNC)

/* ---- open and stat families: inline when the lookup is cached, else on the pool ------------------ */

/* openat2 here: 0 not tried yet, 1 works, -1 not usable (ENOSYS, EPERM). */
static _Atomic int openat2_state;

/* openat2(dirfd, path, how) with RESOLVE_CACHED: its result, errno set. */
static int open_cached(int dirfd, const char *path, uint64_t flags)
{
    struct open_how how = {.flags = flags, .mode = 0, .resolve = RESOLVE_CACHED};
    int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd < 0 && (errno == ENOSYS || errno == EPERM) && !atomic_load_explicit(&openat2_state, memory_order_relaxed)) {
        /* EPERM also means "not permitted to open": ask once what openat2 says for "/" */
        struct open_how probe = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_CACHED};
        int e = errno, t = (int)syscall(SYS_openat2, AT_FDCWD, "/", &probe, sizeof probe);
        if (t >= 0) syscall(SYS_close, t);
        atomic_store_explicit(&openat2_state, t >= 0 ? 1 : -1, memory_order_relaxed);
        errno = e;
    }
    return fd;
}

typedef struct path_job {
    cs_offload_req req;
    int hook;
    int dirfd;
    const char *path;
    int flags;
    mode_t mode;
    void *st;
} path_job;

/* The real path call, on the pool thread or inline. */
static long path_real(const path_job *j)
{
    switch (j->hook) {
    case CS_HOOK_open: return cs_real.open(j->path, j->flags, j->mode);
    case CS_HOOK_open64: return cs_real.open64(j->path, j->flags, j->mode);
    case CS_HOOK_openat: return cs_real.openat(j->dirfd, j->path, j->flags, j->mode);
    case CS_HOOK_openat64: return cs_real.openat64(j->dirfd, j->path, j->flags, j->mode);
    case CS_HOOK_stat: return cs_real.stat(j->path, j->st);
    case CS_HOOK_stat64: return cs_real.stat64(j->path, j->st);
    case CS_HOOK_lstat: return cs_real.lstat(j->path, j->st);
    case CS_HOOK_lstat64: return cs_real.lstat64(j->path, j->st);
    case CS_HOOK_fstatat: return cs_real.fstatat(j->dirfd, j->path, j->st, j->flags);
    default: return cs_real.fstatat64(j->dirfd, j->path, j->st, j->flags);
    }
}

static void path_run(cs_offload_req *r)
{
    path_job *j = (path_job *)r;
    errno = 0;
    r->ret = path_real(j);
    r->err = r->ret < 0 ? errno : 0;
}

static int is_open(int hook)
{
    return hook == CS_HOOK_open || hook == CS_HOOK_open64 || hook == CS_HOOK_openat || hook == CS_HOOK_openat64;
}

/* Inside coroutine co: the cached attempt, or the pool. */
static long path_in_co(cs_co *co, path_job *j, int *parked)
{
    int saved = errno;
    int usable = atomic_load_explicit(&openat2_state, memory_order_relaxed) >= 0;
    int dirfd = j->hook == CS_HOOK_open || j->hook == CS_HOOK_open64 || j->hook == CS_HOOK_stat ||
                        j->hook == CS_HOOK_stat64 || j->hook == CS_HOOK_lstat || j->hook == CS_HOOK_lstat64
                    ? AT_FDCWD
                    : j->dirfd;
    int offload_it = 0;
    if (!usable || !j->path) {
        /* inline */
    } else if (is_open(j->hook)) {
        if ((j->flags & (O_CREAT | O_TRUNC)) || (j->flags & __O_TMPFILE) == __O_TMPFILE) {
            offload_it = 1;
        } else {
            int fd = open_cached(dirfd, j->path, (uint64_t)(unsigned)j->flags);
            if (fd >= 0 || (errno != EAGAIN && errno != EINVAL && errno != ENOSYS && errno != EPERM))
                return fd; /* the open itself, from the cache: its fd or its error */
            offload_it = errno == EAGAIN;
        }
    } else if (!((j->hook == CS_HOOK_fstatat || j->hook == CS_HOOK_fstatat64) &&
                 (j->flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT)))) {
        int nofollow =
            j->hook == CS_HOOK_lstat || j->hook == CS_HOOK_lstat64 ||
            ((j->hook == CS_HOOK_fstatat || j->hook == CS_HOOK_fstatat64) && (j->flags & AT_SYMLINK_NOFOLLOW));
        int fd = open_cached(dirfd, j->path, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
        if (fd >= 0)
            syscall(SYS_close, fd); /* cached: the real call below finds it so */
        else
            offload_it = errno == EAGAIN;
    }
    errno = saved;
    if (!offload_it) return path_real(j);
    j->req.fn = path_run;
    int p = 0;
    long r = cs_offload_run(co, &j->req, &p);
    *parked |= p;
    errno = r < 0 ? j->req.err : saved;
    return r;
}

/* A path call (fd: the directory fd of the *at forms, or -1), observed with its path. */
static long path_call(path_job *j, int fd)
{
    cs_co *co = cs_hook_co();
    long r;
    if (!co) {
        r = CS_PASS(j->hook, fd, path_real(j));
    } else {
        co->cur_hook = j->hook;
        co->call_pc = (uintptr_t)cs_tls.call_pc;
        co->call_fd = fd;
        int parked = 0;
        r = path_in_co(co, j, &parked);
        int e = errno;
        cs_observe(j->hook, fd, 1, parked, r, r < 0 ? e : 0);
        errno = e;
    }
    if (atomic_load_explicit(&cs_observer, memory_order_relaxed)) cs_emit_call_text(j->path);
    if (r >= 0 && is_open(j->hook)) cs_fddesc_made((int)r, COROSCOPE_FD_UNKNOWN, j->path); /* after its CALL_ADDR */
    return r;
}

static int needs_mode(int flags)
{
    return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE;
}

/* Declares `mode`: the variadic mode argument of an open call, read only
 * when the flags say the caller passed one (0 otherwise). */
#define OPEN_MODE(flags, mode)     \
    mode_t mode = 0;               \
    if (needs_mode(flags)) {       \
        va_list ap;                \
        va_start(ap, flags);       \
        mode = va_arg(ap, mode_t); \
        va_end(ap);                \
    }

static CS_SLOW int open_hooked(int hook, int dirfd, const char *path, int flags, mode_t mode)
{
    cs_tls.call_arg = (uint32_t)flags;
    path_job j = {.hook = hook, .dirfd = dirfd, .path = path, .flags = flags, .mode = mode};
    return (int)path_call(&j, hook == CS_HOOK_openat || hook == CS_HOOK_openat64 ? dirfd : -1);
}

#define OPEN_FAST(name, args)                                                                      \
    do {                                                                                           \
        if (__builtin_expect(cs_tls.co == NULL, 1) &&                                              \
            __builtin_expect(atomic_load_explicit(&cs_observer, memory_order_relaxed) == NULL, 1)) \
            return cs_real.name args;                                                              \
        cs_tls.call_pc = __builtin_return_address(0);                                              \
    } while (0)

CS_EXPORT int open(const char *path, int flags, ...)
{
    OPEN_MODE(flags, mode);
    OPEN_FAST(open, (path, flags, mode));
    return open_hooked(CS_HOOK_open, AT_FDCWD, path, flags, mode);
}

CS_EXPORT int open64(const char *path, int flags, ...)
{
    OPEN_MODE(flags, mode);
    OPEN_FAST(open64, (path, flags, mode));
    return open_hooked(CS_HOOK_open64, AT_FDCWD, path, flags, mode);
}

CS_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    OPEN_MODE(flags, mode);
    OPEN_FAST(openat, (dirfd, path, flags, mode));
    return open_hooked(CS_HOOK_openat, dirfd, path, flags, mode);
}

CS_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    OPEN_MODE(flags, mode);
    OPEN_FAST(openat64, (dirfd, path, flags, mode));
    return open_hooked(CS_HOOK_openat64, dirfd, path, flags, mode);
}

#define STAT_HOOK(name, sty)                                                              \
    static CS_SLOW int name##_hooked(const char *path, sty *st)                           \
    {                                                                                     \
        cs_tls.call_arg = 0;                                                              \
        path_job j = {.hook = CS_HOOK_##name, .dirfd = AT_FDCWD, .path = path, .st = st}; \
        return (int)path_call(&j, -1);                                                    \
    }                                                                                     \
    CS_EXPORT int name(const char *path, sty *st)                                         \
    {                                                                                     \
        CS_FAST_PASS(name, (path, st));                                                   \
        return name##_hooked(path, st);                                                   \
    }
STAT_HOOK(stat, struct stat)
STAT_HOOK(stat64, struct stat64)
STAT_HOOK(lstat, struct stat)
STAT_HOOK(lstat64, struct stat64)

#define FSTATAT_HOOK(name, sty)                                                                        \
    static CS_SLOW int name##_hooked(int dirfd, const char *path, sty *st, int flags)                  \
    {                                                                                                  \
        cs_tls.call_arg = (uint32_t)flags;                                                             \
        path_job j = {.hook = CS_HOOK_##name, .dirfd = dirfd, .path = path, .st = st, .flags = flags}; \
        return (int)path_call(&j, dirfd);                                                              \
    }                                                                                                  \
    CS_EXPORT int name(int dirfd, const char *path, sty *st, int flags)                                \
    {                                                                                                  \
        CS_FAST_PASS(name, (dirfd, path, st, flags));                                                  \
        return name##_hooked(dirfd, path, st, flags);                                                  \
    }
FSTATAT_HOOK(fstatat, struct stat)
FSTATAT_HOOK(fstatat64, struct stat64)

/* ---- stdio refills ------------------------------------------------------------------------------ */

typedef struct fill_job {
    cs_offload_req req;
    int fd;
    off_t off;
    size_t len;
} fill_job;

/* Read [off, off+len) once, into the page cache (the bytes are dropped). */
static void fill_run(cs_offload_req *r)
{
    fill_job *j = (fill_job *)r;
    size_t chunk = j->len < 65536 ? j->len : 65536;
    char *buf = malloc(chunk);
    r->ret = 0;
    r->err = 0;
    if (!buf) return;
    for (size_t done = 0; done < j->len;) {
        size_t n = j->len - done < chunk ? j->len - done : chunk;
        ssize_t got = cs_real.pread(j->fd, buf, n, j->off + (off_t)done);
        if (got <= 0) break;
        done += (size_t)got;
    }
    free(buf);
}

int cs_stdio_refill(cs_co *co, int hook, FILE *fp, size_t want)
{
    if (!fp || fp->_IO_read_ptr < fp->_IO_read_end || (fp->_flags & 4 /* _IO_NO_READS */))
        return 0; /* served from its buffer, or not readable: nothing to fetch */
    int fd = fp->_fileno;
    if (fd < 0 || !is_file(fd)) return 0;
    int saved = errno;
    off_t pos = lseek(fd, 0, SEEK_CUR);
    char one;
    struct iovec v = {&one, 1};
    int parked = 0;
    if (pos >= 0 && preadv2(fd, &v, 1, pos, RWF_NOWAIT) < 0 && errno == EAGAIN) {
        size_t buf = fp->_IO_buf_base ? (size_t)(fp->_IO_buf_end - fp->_IO_buf_base) : 4096;
        size_t len = want > buf ? want : buf;
        fill_job j = {.fd = fd, .off = pos, .len = len > (1u << 20) ? (1u << 20) : len};
        j.req.fn = fill_run;
        co->cur_hook = hook;
        co->call_pc = (uintptr_t)cs_tls.call_pc;
        co->call_fd = fd;
        cs_offload_run(co, &j.req, &parked);
    }
    errno = saved;
    return parked;
}

#define FSTAT_HOOK(name, sty)                                              \
    static CS_SLOW int name##_hooked(int fd, sty *st)                      \
    {                                                                      \
        cs_tls.call_arg = 0;                                               \
        cs_co *co = cs_hook_co();                                          \
        if (!co) return CS_PASS(CS_HOOK_##name, fd, cs_real.name(fd, st)); \
        int r = cs_real.name(fd, st);                                      \
        int e = errno;                                                     \
        cs_observe(CS_HOOK_##name, fd, 1, 0, r, r < 0 ? e : 0);            \
        errno = e;                                                         \
        return r;                                                          \
    }                                                                      \
    CS_EXPORT int name(int fd, sty *st)                                    \
    {                                                                      \
        CS_FAST_PASS(name, (fd, st));                                      \
        return name##_hooked(fd, st);                                      \
    }
FSTAT_HOOK(fstat, struct stat)
FSTAT_HOOK(fstat64, struct stat64)
