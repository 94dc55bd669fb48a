#include "fdtable.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fddesc.h"
#include "log.h"
#include "netpoll.h"

#define CHUNK_BITS 10
#define CHUNK      (1 << CHUNK_BITS)
#define NCHUNKS    (CS_FD_MAX / CHUNK)

static _Atomic(cs_fd *) chunks[NCHUNKS];
static _Atomic uint32_t next_desc = 1;

static uint32_t new_desc(void)
{
    return atomic_fetch_add_explicit(&next_desc, 1, memory_order_relaxed);
}

void cs_fd_set_user_nb(cs_fd *e, int nb)
{
    atomic_store_explicit(&e->user_nb, (uint8_t)nb, memory_order_relaxed);
    uint32_t d = atomic_load_explicit(&e->desc, memory_order_relaxed);
    if (!d) return;
    for (int c = 0; c < NCHUNKS; c++) {
        cs_fd *ch = atomic_load_explicit(&chunks[c], memory_order_acquire);
        if (!ch) continue;
        for (int i = 0; i < CHUNK; i++)
            if (&ch[i] != e && atomic_load_explicit(&ch[i].desc, memory_order_relaxed) == d &&
                atomic_load_explicit(&ch[i].kind, memory_order_relaxed) != CS_FD_UNKNOWN)
                atomic_store_explicit(&ch[i].user_nb, (uint8_t)nb, memory_order_relaxed);
    }
}

/* hidden (engine) fds */
static cs_spin hidden_lock;
static int *hidden;
static int nhidden, cap_hidden;
static _Atomic uint64_t hidden_bits[CS_FD_MAX / 64];

/* Close the fifo shadow of e, if any (lock of e held or entry private). */
static void drop_shadow(cs_fd *e)
{
    int sh = atomic_exchange_explicit(&e->shadow, 0, memory_order_acq_rel);
    if (sh > 0) {
        syscall(SYS_close, sh);
        cs_fd_unhide(sh);
    }
}

int cs_fd_fifo_shadow(int fd, cs_fd *e)
{
    int sh = atomic_load_explicit(&e->shadow, memory_order_acquire);
    if (sh) return sh;
    cs_spin_lock(&e->lock);
    sh = atomic_load_explicit(&e->shadow, memory_order_relaxed);
    if (!sh) {
        long fl = syscall(SYS_fcntl, fd, F_GETFL);
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        long nfd = fl < 0
                       ? -1
                       : syscall(SYS_openat, AT_FDCWD, path, (int)(fl & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        sh = nfd < 0 ? -1 : cs_fd_hide((int)nfd);
        atomic_store_explicit(&e->shadow, sh, memory_order_release);
    }
    cs_spin_unlock(&e->lock);
    return sh;
}

cs_fd *cs_fd_peek(int fd)
{
    if ((unsigned)fd >= CS_FD_MAX) return NULL;
    cs_fd *c = atomic_load_explicit(&chunks[fd >> CHUNK_BITS], memory_order_acquire);
    return c ? &c[fd & (CHUNK - 1)] : NULL;
}

cs_fd *cs_fd_get(int fd)
{
    if ((unsigned)fd >= CS_FD_MAX) return NULL;
    _Atomic(cs_fd *) *slot = &chunks[fd >> CHUNK_BITS];
    cs_fd *c = atomic_load_explicit(slot, memory_order_acquire);
    if (!c) {
        cs_fd *n = calloc(CHUNK, sizeof(cs_fd));
        if (!n) return NULL;
        cs_fd *expect = NULL;
        if (atomic_compare_exchange_strong(slot, &expect, n))
            c = n;
        else {
            free(n);
            c = expect;
        }
    }
    return &c[fd & (CHUNK - 1)];
}

static int64_t tv_ns(const struct timeval *tv)
{
    return (int64_t)tv->tv_sec * 1000000000ll + (int64_t)tv->tv_usec * 1000ll;
}

void cs_fd_probe(int fd, cs_fd *e)
{
    if (atomic_load_explicit(&e->kind, memory_order_acquire) != CS_FD_UNKNOWN) return;
    struct stat st;
    int kind = CS_FD_POLLABLE, stream = 0;
    if (syscall(SYS_fstat, fd, &st) == 0) {
        if (S_ISSOCK(st.st_mode)) {
            kind = CS_FD_SOCKET;
            int type = 0;
            socklen_t len = sizeof type;
            if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) stream = (type == SOCK_STREAM);
            struct timeval tv;
            len = sizeof tv;
            if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) == 0)
                atomic_store_explicit(&e->timeo_ns[CS_DIR_READ], tv_ns(&tv), memory_order_relaxed);
            len = sizeof tv;
            if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) == 0)
                atomic_store_explicit(&e->timeo_ns[CS_DIR_WRITE], tv_ns(&tv), memory_order_relaxed);
        } else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode)) {
            kind = CS_FD_FILE;
        }
    } else {
        return; /* EBADF: leave unknown, the call itself will report it */
    }
    long fl = syscall(SYS_fcntl, fd, F_GETFL);
    atomic_store_explicit(&e->user_nb, fl >= 0 && (fl & O_NONBLOCK), memory_order_relaxed);
    atomic_store_explicit(&e->engine_nb, 0, memory_order_relaxed);
    /* RWF_NOWAIT is tried on pipes, fifos and eventfd reads only: some
     * files accept the flag and still block (eventfd writes). */
    drop_shadow(e);
    atomic_store_explicit(&e->fifo, S_ISFIFO(st.st_mode), memory_order_relaxed);
    int efd = 0;
    if ((st.st_mode & S_IFMT) == 0) { /* an anonymous inode: which one? */
        char path[64], link[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        long n = syscall(SYS_readlinkat, AT_FDCWD, path, link, sizeof link - 1);
        efd = n > 0 && (link[n] = '\0', strcmp(link, "anon_inode:[eventfd]") == 0);
    }
    atomic_store_explicit(&e->eventfd, (uint8_t)efd, memory_order_relaxed);
    /* Regular files: reads from the page cache (hook_file.c). */
    atomic_store_explicit(&e->nowait[CS_DIR_READ], S_ISFIFO(st.st_mode) || efd || S_ISREG(st.st_mode) ? 0 : 2,
                          memory_order_relaxed);
    atomic_store_explicit(&e->nowait[CS_DIR_WRITE], S_ISFIFO(st.st_mode) ? 0 : 2, memory_order_relaxed);
    atomic_store_explicit(&e->desc, new_desc(), memory_order_relaxed);
    atomic_store_explicit(&e->stream, (uint8_t)stream, memory_order_relaxed);
    atomic_store_explicit(&e->kind, (uint8_t)kind, memory_order_release);
}

/* A new lifetime: nothing described, no other end, no notes (lock held). */
static void reset_desc(cs_fd *e)
{
    atomic_store_explicit(&e->dmark, 0, memory_order_relaxed);
    atomic_store_explicit(&e->pair, 0, memory_order_relaxed);
    for (int d = 0; d < 2; d++) {
        atomic_store_explicit(&e->note_ts[d], 0, memory_order_relaxed);
        atomic_store_explicit(&e->note_co[d], 0, memory_order_relaxed);
    }
}

void cs_fd_created(int fd, int kind, int user_nb, int engine_nb, int stream)
{
    cs_fd *e = cs_fd_get(fd);
    if (!e) return;
    cs_spin_lock(&e->lock);
    if (e->registered) cs_netpoll_unregister(fd, e);
    e->unpollable = 0;
    e->gen++;
    reset_desc(e);
    atomic_store_explicit(&e->timeo_ns[0], 0, memory_order_relaxed);
    atomic_store_explicit(&e->timeo_ns[1], 0, memory_order_relaxed);
    atomic_store_explicit(&e->user_nb, (uint8_t)user_nb, memory_order_relaxed);
    atomic_store_explicit(&e->engine_nb, (uint8_t)engine_nb, memory_order_relaxed);
    atomic_store_explicit(&e->stream, (uint8_t)stream, memory_order_relaxed);
    drop_shadow(e);
    atomic_store_explicit(&e->nowait[0], 0, memory_order_relaxed);
    atomic_store_explicit(&e->nowait[1], 0, memory_order_relaxed);
    atomic_store_explicit(&e->eventfd, 0, memory_order_relaxed);
    atomic_store_explicit(&e->fifo, kind == CS_FD_POLLABLE, memory_order_relaxed);
    atomic_store_explicit(&e->desc, kind == CS_FD_UNKNOWN ? 0 : new_desc(), memory_order_relaxed);
    atomic_store_explicit(&e->kind, (uint8_t)kind, memory_order_release);
    cs_spin_unlock(&e->lock);
}

void cs_fd_closing(int fd)
{
    cs_fd *e = cs_fd_peek(fd);
    if (!e) return;
    cs_spin_lock(&e->lock);
    cs_fddesc_closing(fd, e);
    if (e->registered) cs_netpoll_unregister(fd, e);
    e->unpollable = 0;
    e->gen++;
    reset_desc(e);
    drop_shadow(e);
    atomic_store_explicit(&e->kind, CS_FD_UNKNOWN, memory_order_release);
    cs_netpoll_wake_closed(e);
    cs_spin_unlock(&e->lock);
}

void cs_fd_duplicated(int oldfd, int newfd)
{
    cs_fd *o = cs_fd_peek(oldfd);
    if (!o || atomic_load_explicit(&o->kind, memory_order_acquire) == CS_FD_UNKNOWN) {
        cs_fd *n = cs_fd_peek(newfd);
        if (n) cs_fd_created(newfd, CS_FD_UNKNOWN, 0, 0, 0);
        return;
    }
    cs_fd_created(newfd, atomic_load(&o->kind), atomic_load(&o->user_nb), atomic_load(&o->engine_nb),
                  atomic_load(&o->stream));
    cs_fd *n = cs_fd_peek(newfd);
    if (n) {
        atomic_store(&n->desc, atomic_load(&o->desc));
        atomic_store(&n->timeo_ns[0], atomic_load(&o->timeo_ns[0]));
        atomic_store(&n->timeo_ns[1], atomic_load(&o->timeo_ns[1]));
    }
}

void cs_fd_atfork_child(void)
{
    for (int c = 0; c < NCHUNKS; c++) {
        cs_fd *ch = atomic_load(&chunks[c]);
        if (!ch) continue;
        for (int i = 0; i < CHUNK; i++) {
            cs_spin_init(&ch[i].lock);
            ch[i].registered = 0;
            ch[i].waiters[0] = ch[i].waiters[1] = NULL;
        }
    }
    cs_spin_init(&hidden_lock);
}

/* ---- hidden engine fds --------------------------------------------------- */

static int hidden_base(void)
{
    struct rlimit rl;
    long lim = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) lim = (long)rl.rlim_cur;
    if (lim > 4096) lim = 4096;
    long base = lim - 128;
    return base < 64 ? 64 : (int)base;
}

int cs_fd_hide(int fd)
{
    long nfd = syscall(SYS_fcntl, fd, F_DUPFD_CLOEXEC, hidden_base());
    if (nfd >= 0) {
        syscall(SYS_close, fd);
        fd = (int)nfd;
    }
    cs_spin_lock(&hidden_lock);
    if (nhidden == cap_hidden) {
        int cap = cap_hidden ? cap_hidden * 2 : 64;
        int *h = realloc(hidden, sizeof(int) * (size_t)cap);
        if (h) hidden = h, cap_hidden = cap;
    }
    if (nhidden < cap_hidden) hidden[nhidden++] = fd;
    cs_spin_unlock(&hidden_lock);
    if ((unsigned)fd < CS_FD_MAX) atomic_fetch_or(&hidden_bits[fd / 64], 1ull << (fd % 64));
    return fd;
}

void cs_fd_unhide(int fd)
{
    cs_spin_lock(&hidden_lock);
    for (int i = 0; i < nhidden; i++)
        if (hidden[i] == fd) {
            hidden[i] = hidden[--nhidden];
            break;
        }
    cs_spin_unlock(&hidden_lock);
    if ((unsigned)fd < CS_FD_MAX) atomic_fetch_and(&hidden_bits[fd / 64], ~(1ull << (fd % 64)));
}

int cs_fd_is_hidden(int fd)
{
    if ((unsigned)fd >= CS_FD_MAX) return 0;
    return (atomic_load_explicit(&hidden_bits[fd / 64], memory_order_relaxed) >> (fd % 64)) & 1;
}

int cs_fd_next_hidden(int lo, unsigned hi)
{
    int best = -1;
    cs_spin_lock(&hidden_lock);
    for (int i = 0; i < nhidden; i++)
        if (hidden[i] >= lo && (unsigned)hidden[i] <= hi && (best < 0 || hidden[i] < best)) best = hidden[i];
    cs_spin_unlock(&hidden_lock);
    return best;
}
