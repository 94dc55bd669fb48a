/*
 * fddesc.c — FD_DESC, FD_CLOSE and WAKER records (fddesc.h has the design
 * and the invariants).
 *
 * Every system call here is a raw syscall(2), never a hooked libc entry
 * (fstat, getsockopt and readlink would be observed as the program's calls).
 */
#include "fddesc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "emit_call.h"
#include "fdtable.h"
#include "hook.h"
#include "telemetry.h"

#define TEXT_MAX 256

typedef struct fd_info {
    uint32_t kind; /* enum coroscope_fd_kind | flags (bits 16..23) */
    char local[TEXT_MAX];
    char peer[TEXT_MAX];
} fd_info;

static long link_of(int fd, char *buf, size_t cap)
{
    char path[40];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    long n = syscall(SYS_readlinkat, AT_FDCWD, path, buf, cap - 1);
    if (n < 0) n = 0;
    buf[n] = '\0';
    return n;
}

static int sockopt_int(int fd, int name)
{
    int v = -1;
    socklen_t l = sizeof v;
    if (syscall(SYS_getsockopt, fd, SOL_SOCKET, name, &v, &l) < 0) return -1;
    return v;
}

static void sock_name(int fd, long nr, char *buf)
{
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;
    buf[0] = '\0';
    if (syscall(nr, fd, (struct sockaddr *)&ss, &l) == 0) cs_format_sockaddr((struct sockaddr *)&ss, l, buf, TEXT_MAX);
}

/* What fd is; 0 if it is not open. */
static int describe(int fd, fd_info *in)
{
    struct stat st;
    in->kind = COROSCOPE_FD_UNKNOWN;
    in->local[0] = in->peer[0] = '\0';
    if (syscall(SYS_fstat, fd, &st) < 0) return 0;
    switch (st.st_mode & S_IFMT) {
    case S_IFSOCK: {
        int dom = sockopt_int(fd, SO_DOMAIN), type = sockopt_int(fd, SO_TYPE);
        if (dom == AF_INET || dom == AF_INET6)
            in->kind = type == SOCK_STREAM  ? COROSCOPE_FD_TCP
                       : type == SOCK_DGRAM ? COROSCOPE_FD_UDP
                                            : COROSCOPE_FD_SOCKET;
        else if (dom == AF_UNIX)
            in->kind = type == SOCK_STREAM      ? COROSCOPE_FD_UNIX_STREAM
                       : type == SOCK_DGRAM     ? COROSCOPE_FD_UNIX_DGRAM
                       : type == SOCK_SEQPACKET ? COROSCOPE_FD_UNIX_SEQPACKET
                                                : COROSCOPE_FD_SOCKET;
        else
            in->kind = COROSCOPE_FD_SOCKET;
        if (type == SOCK_STREAM || type == SOCK_SEQPACKET)
            if (sockopt_int(fd, SO_ACCEPTCONN) == 1) in->kind |= COROSCOPE_FDF_LISTENING;
        sock_name(fd, SYS_getsockname, in->local);
        sock_name(fd, SYS_getpeername, in->peer);
        if (in->kind == COROSCOPE_FD_SOCKET && !in->local[0]) link_of(fd, in->local, TEXT_MAX);
        return 1;
    }
    case S_IFREG: in->kind = COROSCOPE_FD_FILE; break;
    case S_IFDIR: in->kind = COROSCOPE_FD_DIR; break;
    case S_IFCHR: in->kind = COROSCOPE_FD_CHAR; break;
    case S_IFBLK: in->kind = COROSCOPE_FD_BLOCK; break;
    case S_IFIFO: in->kind = COROSCOPE_FD_FIFO; break;
    default: in->kind = COROSCOPE_FD_OTHER; break;
    }
    link_of(fd, in->local, TEXT_MAX);
    uint32_t k = in->kind;
    if (k == COROSCOPE_FD_FIFO) {
        if (strncmp(in->local, "pipe:[", 6) == 0) in->kind = COROSCOPE_FD_PIPE;
        long fl = syscall(SYS_fcntl, fd, F_GETFL);
        if (fl >= 0 && (fl & O_ACCMODE) == O_RDONLY) in->kind |= COROSCOPE_FDF_READ_END;
        if (fl >= 0 && (fl & O_ACCMODE) == O_WRONLY) in->kind |= COROSCOPE_FDF_WRITE_END;
    } else if (k == COROSCOPE_FD_OTHER) {
        static const struct {
            const char *link;
            uint32_t kind;
        } anon[] = {{"anon_inode:[eventfd]", COROSCOPE_FD_EVENTFD},
                    {"anon_inode:[timerfd]", COROSCOPE_FD_TIMERFD},
                    {"anon_inode:[signalfd]", COROSCOPE_FD_SIGNALFD},
                    {"anon_inode:[eventpoll]", COROSCOPE_FD_EPOLL}};
        for (size_t i = 0; i < sizeof anon / sizeof anon[0]; i++)
            if (strcmp(in->local, anon[i].link) == 0) {
                in->kind = anon[i].kind;
                in->local[0] = '\0'; /* the kind says it all */
            }
    }
    return 1;
}

/* FD_DESC of fd: from `known` when the caller knows what it made (no
 * system call), else described from the fd itself. */
static void emit_known(uint64_t ts, int fd, cs_fd *e, int origin, int other, const struct sockaddr *peer_sa,
                       socklen_t peer_len, const fd_info *known)
{
    fd_info in;
    if (known)
        in = *known;
    else if (!describe(fd, &in))
        return;
    if (!in.peer[0] && peer_sa) cs_format_sockaddr(peer_sa, peer_len, in.peer, TEXT_MAX);
    if (other < 0 && e) {
        int p = atomic_load_explicit(&e->pair, memory_order_relaxed);
        other = p - 1;
    }
    cs_co *co = cs_tls.co;
    uint64_t ls = cs_tel_string(in.local), ps = cs_tel_string(in.peer);
    cs_tel_emit_at(ts, COROSCOPE_EV_FD_DESC, co ? co->id : 0, (uint64_t)fd, (uint64_t)in.kind | (uint64_t)origin << 8,
                   ls, ps, (uint64_t)(int64_t)other);
    /* A stream socket neither listening nor connected yet (socket() before
     * bind/listen, which are not hooked) is described again at its next
     * hooked call: its accept shows it listening. Accepted and connected
     * sockets have a peer (or, AF_UNIX, the listening path), so this never
     * repeats for them. */
    uint32_t k = in.kind & 0xff;
    int provisional = (k == COROSCOPE_FD_TCP ||
                       ((k == COROSCOPE_FD_UNIX_STREAM || k == COROSCOPE_FD_UNIX_SEQPACKET) && !in.local[0])) &&
                      !(in.kind & COROSCOPE_FDF_LISTENING) && !in.peer[0] && other < 0;
    if (e)
        atomic_store_explicit(&e->dmark,
                              atomic_load_explicit(&cs_tel_epoch, memory_order_relaxed) << 1 | (uint32_t)provisional,
                              memory_order_relaxed);
}

static void emit(uint64_t ts, int fd, cs_fd *e, int origin, int other, const struct sockaddr *peer_sa,
                 socklen_t peer_len)
{
    emit_known(ts, fd, e, origin, other, peer_sa, peer_len, NULL);
}

void cs_fddesc_made(int fd, uint32_t kind, const char *path)
{
    if (!cs_tel() || !cs_cfg.fddesc || fd < 0 || cs_fd_is_hidden(fd)) return;
    int saved = errno;
    fd_info in = {.kind = kind};
    in.local[0] = in.peer[0] = '\0';
    if (kind == COROSCOPE_FD_UNKNOWN) {
        /* open*: what the path is (a file, a directory, a FIFO, a device) from fstat; the path as given
         * when absolute (interned already for the CALL_ADDR), else the kernel's. */
        struct stat st;
        if (syscall(SYS_fstat, fd, &st) < 0 || !path || path[0] != '/') {
            emit(0, fd, cs_fd_get(fd), COROSCOPE_FDO_CREATED, -1, NULL, 0);
            errno = saved;
            return;
        }
        switch (st.st_mode & S_IFMT) {
        case S_IFREG: in.kind = COROSCOPE_FD_FILE; break;
        case S_IFDIR: in.kind = COROSCOPE_FD_DIR; break;
        case S_IFCHR: in.kind = COROSCOPE_FD_CHAR; break;
        case S_IFBLK: in.kind = COROSCOPE_FD_BLOCK; break;
        case S_IFIFO: {
            long fl = syscall(SYS_fcntl, fd, F_GETFL);
            in.kind = COROSCOPE_FD_FIFO | (fl >= 0 && (fl & O_ACCMODE) == O_RDONLY ? COROSCOPE_FDF_READ_END : 0) |
                      (fl >= 0 && (fl & O_ACCMODE) == O_WRONLY ? COROSCOPE_FDF_WRITE_END : 0);
            break;
        }
        default: in.kind = COROSCOPE_FD_OTHER; break;
        }
        snprintf(in.local, TEXT_MAX, "%s", path);
    }
    emit_known(0, fd, cs_fd_get(fd), COROSCOPE_FDO_CREATED, -1, NULL, 0, &in);
    errno = saved;
}

void cs_fddesc_socket(int fd, int stream, int origin, const struct sockaddr *peer_sa, socklen_t peer_len)
{
    if (!cs_tel() || !cs_cfg.fddesc || fd < 0) return;
    int saved = errno;
    /* A connected stream socket: its family says TCP or Unix, no fstat or getsockopt. */
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;
    fd_info in = {.kind = COROSCOPE_FD_SOCKET};
    in.local[0] = in.peer[0] = '\0';
    if (syscall(SYS_getsockname, fd, (struct sockaddr *)&ss, &l) == 0) {
        int fam = ss.ss_family;
        if (stream && (fam == AF_INET || fam == AF_INET6))
            in.kind = COROSCOPE_FD_TCP;
        else if (stream && fam == AF_UNIX)
            in.kind = COROSCOPE_FD_UNIX_STREAM;
        cs_format_sockaddr((struct sockaddr *)&ss, l, in.local, TEXT_MAX);
    }
    sock_name(fd, SYS_getpeername, in.peer);
    emit_known(0, fd, cs_fd_get(fd), origin, -1, peer_sa, peer_len, &in);
    errno = saved;
}

void cs_fddesc_new(int fd, int origin, int other, const struct sockaddr *peer_sa, socklen_t peer_len)
{
    if (!cs_tel() || !cs_cfg.fddesc || fd < 0 || cs_fd_is_hidden(fd)) return;
    int saved = errno;
    emit(0, fd, cs_fd_get(fd), origin, other, peer_sa, peer_len);
    errno = saved;
}

void cs_fddesc_touch(int fd, int hook, uint64_t ts)
{
    cs_fd *e = cs_fd_get(fd);
    if (!e) return;
    uint32_t ep = atomic_load_explicit(&cs_tel_epoch, memory_order_relaxed) << 1; /* described, not provisional */
    if (__builtin_expect(atomic_load_explicit(&e->dmark, memory_order_relaxed) == ep, 1)) return;
    /* close: it is going; socket: no address yet (its next call describes it); connect: described
     * when connected (connect_hooked). */
    if (hook == CS_HOOK_close || hook == CS_HOOK_close_range || hook == CS_HOOK_socket || hook == CS_HOOK_connect ||
        !cs_cfg.fddesc || cs_fd_is_hidden(fd))
        return;
    int saved = errno;
    emit(ts, fd, e, COROSCOPE_FDO_FIRST_USE, -1, NULL, 0);
    errno = saved;
}

void cs_fddesc_closing(int fd, cs_fd *e)
{
    int saved = errno;
    int p = atomic_load_explicit(&e->pair, memory_order_relaxed);
    if (p > 0) { /* the other end sees end of file / hang-up: this closer woke its waiters */
        cs_fd *o = cs_fd_peek(p - 1);
        if (o && atomic_load_explicit(&o->pair, memory_order_relaxed) == fd + 1) {
            cs_co *co = cs_tls.co;
            uint64_t now = cs_now_ns();
            for (int d = 0; d < 2; d++) {
                atomic_store_explicit(&o->note_how[d], COROSCOPE_WAKER_CLOSED, memory_order_relaxed);
                atomic_store_explicit(&o->note_fd[d], fd, memory_order_relaxed);
                atomic_store_explicit(&o->note_co[d], co ? co->id : 0, memory_order_relaxed);
                atomic_store_explicit(&o->note_ts[d], now, memory_order_release);
            }
            atomic_store_explicit(&o->pair, 0, memory_order_relaxed);
        }
    }
    uint32_t mark = atomic_load_explicit(&e->dmark, memory_order_relaxed);
    if (cs_tel() && mark && mark >> 1 == atomic_load_explicit(&cs_tel_epoch, memory_order_relaxed)) {
        cs_co *co = cs_tls.co;
        cs_tel_emit(COROSCOPE_EV_FD_CLOSE, co ? co->id : 0, (uint64_t)fd, 0, 0, 0, 0);
    }
    errno = saved;
}

void cs_fddesc_existing(void)
{
    if (!cs_tel() || !cs_cfg.fddesc) return;
    int saved = errno;
    int dfd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        errno = saved;
        return;
    }
    char buf[4096];
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (n <= 0) break;
        for (long off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
            int fd = atoi(d->d_name);
            if (fd == dfd || cs_fd_is_hidden(fd)) continue;
            emit(0, fd, cs_fd_get(fd), COROSCOPE_FDO_EXISTING, -1, NULL, 0);
        }
    }
    syscall(SYS_close, dfd);
    errno = saved;
}

void cs_fdpeer_pair(int a, int b, uint32_t kind_a, uint32_t kind_b)
{
    cs_fd *ea = cs_fd_get(a), *eb = cs_fd_get(b);
    if (ea && eb) {
        atomic_store_explicit(&ea->pair, b + 1, memory_order_relaxed);
        atomic_store_explicit(&eb->pair, a + 1, memory_order_relaxed);
    }
    if (!cs_tel() || !cs_cfg.fddesc) return;
    int saved = errno;
    fd_info in = {.kind = kind_a}; /* the hook knows what it made: no system call */
    in.local[0] = in.peer[0] = '\0';
    emit_known(0, a, ea, COROSCOPE_FDO_CREATED, b, NULL, 0, &in);
    in.kind = kind_b;
    emit_known(0, b, eb, COROSCOPE_FDO_CREATED, a, NULL, 0, &in);
    errno = saved;
}

void cs_fdpeer_note_slow(cs_fd *e, int fd, int dir)
{
    int p = atomic_load_explicit(&e->pair, memory_order_relaxed);
    if (p <= 0 || !cs_tel() || !cs_cfg.fddesc) return;
    cs_fd *o = cs_fd_peek(p - 1);
    if (!o || atomic_load_explicit(&o->pair, memory_order_relaxed) != fd + 1) return;
    /* A write here makes the other end readable; a read here makes room for its writers. */
    int od = dir == CS_DIR_WRITE ? CS_DIR_READ : CS_DIR_WRITE;
    cs_co *co = cs_tls.co;
    atomic_store_explicit(&o->note_how[od], dir == CS_DIR_WRITE ? COROSCOPE_WAKER_WROTE : COROSCOPE_WAKER_READ,
                          memory_order_relaxed);
    atomic_store_explicit(&o->note_fd[od], fd, memory_order_relaxed);
    atomic_store_explicit(&o->note_co[od], co ? co->id : 0, memory_order_relaxed);
    atomic_store_explicit(&o->note_ts[od], cs_now_ns(), memory_order_release);
}

void cs_fdpeer_emit(cs_fd *e, int dir, uint64_t co_id, int fd)
{
    uint64_t ts = atomic_load_explicit(&e->note_ts[dir], memory_order_acquire);
    if (!ts) return;
    cs_tel_emit(COROSCOPE_EV_WAKER, co_id, atomic_load_explicit(&e->note_how[dir], memory_order_relaxed),
                atomic_load_explicit(&e->note_co[dir], memory_order_relaxed),
                (uint64_t)(int64_t)atomic_load_explicit(&e->note_fd[dir], memory_order_relaxed), ts,
                (uint64_t)(int64_t)fd);
}
