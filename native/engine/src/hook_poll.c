/*
 * hook_poll.c — poll, ppoll, select, pselect, epoll_wait, epoll_pwait and the
 * FORTIFY forms __poll_chk, __ppoll_chk.
 *
 * Outside a coroutine: the real call, observed. Inside, one loop (mux_run)
 * serves all of them:
 *   1. snapshot: one cs_wait_item per (fd, direction) asked for, each with
 *      the fd's readiness sequence read now;
 *   2. the real call with a zero timeout (select and pselect on copies of
 *      the sets, so the program's sets are written once, at the end);
 *      anything ready or an error is the answer;
 *   3. park on all items at once (cs_fd_wait_many) until an edge, the
 *      deadline, a close of one of the fds or a user signal; then back to 1,
 *      or 0 (timeout) if the deadline has passed.
 * The snapshot precedes the attempt, so an edge in between makes the park
 * return at once instead of being lost (netpoll.h). A zero timeout is one
 * real call and nothing else.
 *
 * Directions: POLLIN/POLLPRI/POLLRDNORM/POLLRDBAND/POLLRDHUP and select's read
 * and except sets wait for CS_DIR_READ (the netpoller counts EPOLLPRI as a
 * read edge); POLLOUT/POLLWRNORM/POLLWRBAND and the write set for
 * CS_DIR_WRITE. A pollfd asking for nothing still gets POLLHUP/POLLERR from
 * the kernel, so it waits for CS_DIR_READ (whose edges include HUP/ERR).
 * epoll_wait waits on the program's epoll fd itself: an epoll fd is readable
 * while it has events, and the netpoller watches it like any other fd.
 *
 * Results are those of the real call: revents, the sets, the events array
 * all come from the last zero-timeout attempt. Linux select writes the time
 * not slept back to *timeout; the hook does the same (glibc's pselect and
 * ppoll hide the kernel's write-back, so those leave the timeout alone).
 * A user signal handler ending the park gives EINTR: signal(7) never
 * restarts these calls. Closing a polled fd wakes the poller; its retry then
 * reports what the kernel reports (POLLNVAL, EBADF).
 *
 * Signal masks: ppoll, pselect and epoll_pwait install a temporary mask for
 * the duration of the call. The mask belongs to the thread, and a parked
 * coroutine's worker thread runs other coroutines meanwhile, so the engine
 * cannot keep it installed while parked: the temporary mask is honoured only
 * by the zero-timeout attempts (a signal it unblocks that is already pending
 * is delivered there, giving EINTR as the real call would).
 *
 * The engine's preemption signal can land during one of the real calls,
 * which the kernel then ends with EINTR (these calls never restart): such an
 * EINTR is not passed on, the call is made again (mux_attempt, mux_block).
 *
 * Fallbacks to the real blocking call with the remaining timeout (the worker
 * stalls, as any other unparkable call): an fd >= CS_FD_MAX, an fd epoll
 * refuses (regular files: always ready for poll, so this is rare), an
 * out-of-memory for the item array.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fdtable.h"
#include "hook.h"
#include "log.h"
#include "netpoll.h"
#include "sched.h"

#define STACK_ITEMS 16
#define LONG_BITS   ((int)(sizeof(unsigned long) * CHAR_BIT))

enum mux_kind { MX_POLL, MX_PPOLL, MX_SELECT, MX_PSELECT, MX_EPOLL, MX_EPWAIT };

typedef struct mux {
    int kind;
    const sigset_t *mask; /* ppoll, pselect, epoll_pwait */
    /* poll, ppoll */
    struct pollfd *fds;
    nfds_t nfds;
    /* select, pselect */
    int sn;                 /* nfds as the kernel will examine it */
    size_t words;           /* longs per set */
    fd_set *user[3];        /* read, write, except (NULL: not given) */
    unsigned long *work[3]; /* copies the attempts run on */
    int in_work;            /* the latest result is in work[] */
    /* epoll_wait, epoll_pwait */
    int epfd;
    struct epoll_event *evs;
    int maxev;
} mux;

/* ---- the three operations of the loop --------------------------------- */

/* The real call with a zero timeout, once. */
static int attempt_once(mux *m)
{
    switch (m->kind) {
    case MX_POLL: return cs_real.poll(m->fds, m->nfds, 0);
    case MX_PPOLL: {
        struct timespec z = {0, 0};
        return cs_real.ppoll(m->fds, m->nfds, &z, m->mask);
    }
    case MX_SELECT:
    case MX_PSELECT:
        for (int s = 0; s < 3; s++)
            if (m->work[s]) memcpy(m->work[s], m->user[s], m->words * sizeof(unsigned long));
        m->in_work = 1;
        if (m->kind == MX_SELECT) {
            struct timeval z = {0, 0};
            return cs_real.select(m->sn, (fd_set *)m->work[0], (fd_set *)m->work[1], (fd_set *)m->work[2], &z);
        } else {
            struct timespec z = {0, 0};
            return cs_real.pselect(m->sn, (fd_set *)m->work[0], (fd_set *)m->work[1], (fd_set *)m->work[2], &z,
                                   m->mask);
        }
    case MX_EPOLL: return cs_real.epoll_wait(m->epfd, m->evs, m->maxev, 0);
    case MX_EPWAIT: return cs_real.epoll_pwait(m->epfd, m->evs, m->maxev, 0, m->mask);
    }
    errno = EINVAL;
    return -1;
}

/* The real blocking call until the deadline (0: none), once. */
static int block_once(mux *m, uint64_t deadline)
{
    uint64_t left = UINT64_MAX;
    if (deadline) {
        uint64_t now = cs_now_ns();
        left = deadline > now ? deadline - now : 0;
    }
    int ms = -1;
    if (left != UINT64_MAX) {
        uint64_t r = left / 1000000 + (left % 1000000 != 0);
        ms = r > INT_MAX ? INT_MAX : (int)r;
    }
    struct timespec ts = cs_ns_ts(left == UINT64_MAX ? 0 : left);
    struct timespec *tsp = left == UINT64_MAX ? NULL : &ts;
    switch (m->kind) {
    case MX_POLL: return cs_real.poll(m->fds, m->nfds, ms);
    case MX_PPOLL: return cs_real.ppoll(m->fds, m->nfds, tsp, m->mask);
    case MX_SELECT: {
        /* The program's sets are still untouched: the kernel writes them. */
        m->in_work = 0;
        uint64_t us = left == UINT64_MAX ? 0 : left / 1000 + (left % 1000 != 0);
        struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
        return cs_real.select(m->sn, m->user[0], m->user[1], m->user[2], left == UINT64_MAX ? NULL : &tv);
    }
    case MX_PSELECT: m->in_work = 0; return cs_real.pselect(m->sn, m->user[0], m->user[1], m->user[2], tsp, m->mask);
    case MX_EPOLL: return cs_real.epoll_wait(m->epfd, m->evs, m->maxev, ms);
    case MX_EPWAIT: return cs_real.epoll_pwait(m->epfd, m->evs, m->maxev, ms, m->mask);
    }
    errno = EINVAL;
    return -1;
}

/* These calls end with EINTR whenever a handler runs, SA_RESTART or not. A
 * handler of the program bumps cs_rt.intr_epoch (hook_signal.c); the
 * engine's preemption signal does not, and must never reach the program as
 * EINTR (preempt.h): then the call is made again. */
static int mux_attempt(mux *m)
{
    for (;;) {
        uint32_t epoch = atomic_load_explicit(&cs_rt.intr_epoch, memory_order_acquire);
        int r = attempt_once(m);
        if (r < 0 && errno == EINTR && atomic_load_explicit(&cs_rt.intr_epoch, memory_order_acquire) == epoch) continue;
        return r;
    }
}

/* The real blocking call until the deadline (0: none). Stalls the worker. */
static int mux_block(mux *m, uint64_t deadline)
{
    for (;;) {
        uint32_t epoch = atomic_load_explicit(&cs_rt.intr_epoch, memory_order_acquire);
        int r = block_once(m, deadline);
        if (r < 0 && errno == EINTR && atomic_load_explicit(&cs_rt.intr_epoch, memory_order_acquire) == epoch)
            continue; /* the remaining time is recomputed from the deadline */
        return r;
    }
}

/* Directions a pollfd waits for. */
static int poll_dirs(short ev, int dirs[2])
{
    int n = 0;
    if (ev & (POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND | POLLRDHUP)) dirs[n++] = CS_DIR_READ;
    if (ev & (POLLOUT | POLLWRNORM | POLLWRBAND)) dirs[n++] = CS_DIR_WRITE;
    if (!n) dirs[n++] = CS_DIR_READ; /* POLLHUP/POLLERR only */
    return n;
}

/* Bits of word wi of a select set that lie below sn. */
static unsigned long sel_word(const mux *m, int s, size_t wi)
{
    unsigned long x = ((const unsigned long *)m->user[s])[wi];
    int rem = m->sn % LONG_BITS;
    if (wi == m->words - 1 && rem) x &= (1ul << rem) - 1;
    return x;
}

/* Number of wait items the call needs. */
static size_t mux_count(const mux *m)
{
    size_t n = 0;
    int dirs[2];
    switch (m->kind) {
    case MX_POLL:
    case MX_PPOLL:
        for (nfds_t i = 0; i < m->nfds; i++)
            if (m->fds[i].fd >= 0) n += (size_t)poll_dirs(m->fds[i].events, dirs);
        return n;
    case MX_SELECT:
    case MX_PSELECT:
        for (int s = 0; s < 3; s++)
            if (m->user[s])
                for (size_t wi = 0; wi < m->words; wi++) n += (size_t)__builtin_popcountl(sel_word(m, s, wi));
        return n;
    default: return 1;
    }
}

static int add_item(cs_wait_item *items, int *n, int fd, int dir)
{
    cs_fd *e = cs_fd_get(fd);
    if (!e) return -1;
    cs_wait_item *it = &items[(*n)++];
    it->fd = fd;
    it->e = e;
    it->dir = dir;
    it->seq0 = cs_fd_seq(e, dir);
    return 0;
}

/* Fill the items (with their seq0 snapshot); -1 if an fd has no table entry. */
static int mux_fill(const mux *m, cs_wait_item *items)
{
    int n = 0, dirs[2];
    switch (m->kind) {
    case MX_POLL:
    case MX_PPOLL:
        for (nfds_t i = 0; i < m->nfds; i++) {
            int fd = m->fds[i].fd;
            if (fd < 0) continue;
            int k = poll_dirs(m->fds[i].events, dirs);
            for (int d = 0; d < k; d++)
                if (add_item(items, &n, fd, dirs[d])) return -1;
        }
        return n;
    case MX_SELECT:
    case MX_PSELECT:
        for (int s = 0; s < 3; s++) {
            if (!m->user[s]) continue;
            int dir = s == 1 ? CS_DIR_WRITE : CS_DIR_READ;
            for (size_t wi = 0; wi < m->words; wi++) {
                unsigned long x = sel_word(m, s, wi);
                while (x) {
                    int fd = (int)wi * LONG_BITS + __builtin_ctzl(x);
                    x &= x - 1;
                    if (add_item(items, &n, fd, dir)) return -1;
                }
            }
        }
        return n;
    default:
        if (add_item(items, &n, m->epfd, CS_DIR_READ)) return -1;
        return n;
    }
}

/* ---- the loop ------------------------------------------------------------ */

/* Inside coroutine co, with a non-zero timeout ending at deadline (0: none).
 * Returns like the libc call, errno set on -1. */
static int mux_run(mux *m, uint64_t deadline, int *parked)
{
    cs_wait_item stack_items[STACK_ITEMS], *items = stack_items;
    size_t want = mux_count(m);
    if (want > (size_t)INT_MAX / 2) return mux_block(m, deadline);
    if (want > STACK_ITEMS) {
        items = malloc(want * sizeof *items);
        if (!items) return mux_block(m, deadline);
    }
    int r, n = mux_fill(m, items);
    if (n < 0) {
        r = mux_block(m, deadline);
        goto out;
    }
    for (;;) {
        r = mux_attempt(m);
        if (r != 0) break;
        if (deadline && cs_now_ns() >= deadline) break; /* timeout: r == 0, results (all empty) from the attempt */
        int cause = cs_fd_wait_many(items, n, deadline, 1);
        *parked = 1;
        if (cause == CS_WAKE_SIGNAL) {
            errno = EINTR;
            r = -1;
            break;
        }
        if (cause < 0) {
            /* -EPERM: an fd epoll cannot watch; any other registration error
             * (ENOMEM, ENOSPC for max_user_watches, ELOOP for deep epoll
             * nesting): the real call can still do it. */
            r = mux_block(m, deadline);
            break;
        }
        for (int i = 0; i < n; i++) items[i].seq0 = cs_fd_seq(items[i].e, items[i].dir);
    }
out:
    if (items != stack_items) {
        int e = errno;
        free(items);
        errno = e;
    }
    return r;
}

/* Run the call inside a coroutine (zero: the user's timeout is 0) and
 * observe it. errno is the caller's on success. */
static int mux_hook(int hook, int obs_fd, mux *m, int zero, uint64_t deadline)
{
    if (cs_tls.co) {
        cs_tls.co->cur_hook = hook;
        cs_tls.co->call_pc = (uintptr_t)cs_tls.call_pc;
        cs_tls.co->call_fd = obs_fd;
    }
    int saved = errno, parked = 0;
    int r = zero ? mux_attempt(m) : mux_run(m, deadline, &parked);
    int e = r < 0 ? errno : saved;
    cs_observe(hook, obs_fd, 1, parked, r, r < 0 ? e : 0);
    errno = e;
    return r;
}

/* Monotonic deadline for a relative timeout; 0 (none) when it saturates. */
static uint64_t deadline_ns(uint64_t ns)
{
    uint64_t d = cs_deadline_after(ns);
    return d == UINT64_MAX ? 0 : d;
}

static uint64_t ts_timeout_ns(const struct timespec *ts)
{
    if ((uint64_t)ts->tv_sec > (UINT64_MAX - 1000000000ull) / 1000000000ull) return UINT64_MAX;
    return cs_ts_ns(ts);
}

/* ---- poll, ppoll ----------------------------------------------------------- */

static int co_poll(int hook, struct pollfd *fds, nfds_t nfds, int timeout)
{
    mux m = {.kind = MX_POLL, .fds = fds, .nfds = nfds};
    int obs = nfds == 1 ? fds[0].fd : -1;
    if (nfds > CS_FD_MAX) {
        /* More than any RLIMIT_NOFILE the engine supports: EINVAL (or a real
         * wait); never walk such an array ourselves. */
        int saved = errno, r = mux_block(&m, timeout < 0 ? 0 : deadline_ns((uint64_t)timeout * 1000000ull));
        int e = r < 0 ? errno : saved;
        cs_observe(hook, -1, 1, 0, r, r < 0 ? e : 0);
        errno = e;
        return r;
    }
    uint64_t deadline = timeout > 0 ? deadline_ns((uint64_t)timeout * 1000000ull) : 0;
    return mux_hook(hook, obs, &m, timeout == 0, deadline);
}

static int co_ppoll(int hook, struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *mask)
{
    if (nfds > CS_FD_MAX || (tmo && (tmo->tv_sec < 0 || tmo->tv_nsec < 0 || tmo->tv_nsec >= 1000000000L))) {
        /* Invalid: the real call fails at once with the kernel's errno. */
        int saved = errno, r = cs_real.ppoll(fds, nfds, tmo, mask);
        int e = r < 0 ? errno : saved;
        cs_observe(hook, -1, 1, 0, r, r < 0 ? e : 0);
        errno = e;
        return r;
    }
    mux m = {.kind = MX_PPOLL, .fds = fds, .nfds = nfds, .mask = mask};
    int obs = nfds == 1 ? fds[0].fd : -1;
    int zero = tmo && tmo->tv_sec == 0 && tmo->tv_nsec == 0;
    uint64_t deadline = tmo && !zero ? deadline_ns(ts_timeout_ns(tmo)) : 0;
    return mux_hook(hook, obs, &m, zero, deadline);
}

static CS_SLOW int poll_hooked(struct pollfd *fds, nfds_t nfds, int timeout)
{
    cs_tls.call_arg = timeout < 0 ? UINT64_MAX : (uint64_t)timeout;
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_poll, -1, cs_real.poll(fds, nfds, timeout));
    return co_poll(CS_HOOK_poll, fds, nfds, timeout);
}

CS_EXPORT int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    CS_FAST_PASS(poll, (fds, nfds, timeout));
    return poll_hooked(fds, nfds, timeout);
}

static CS_SLOW int __poll_chk_hooked(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
    cs_tls.call_arg = timeout < 0 ? UINT64_MAX : (uint64_t)timeout;
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK___poll_chk, -1, cs_real.__poll_chk(fds, nfds, timeout, fdslen));
    if (fdslen / sizeof(*fds) < nfds)
        cs_fatal("*** buffer overflow detected ***: poll: %lu pollfds in a buffer of %zu bytes", (unsigned long)nfds,
                 fdslen);
    return co_poll(CS_HOOK___poll_chk, fds, nfds, timeout);
}

CS_EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
    CS_FAST_PASS(__poll_chk, (fds, nfds, timeout, fdslen));
    return __poll_chk_hooked(fds, nfds, timeout, fdslen);
}

static CS_SLOW int ppoll_hooked(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *mask)
{
    cs_tls.call_arg =
        (tmo ? ((uint64_t)tmo->tv_sec * 1000u + (uint64_t)(tmo->tv_nsec + 999999) / 1000000u) : UINT64_MAX);
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_ppoll, -1, cs_real.ppoll(fds, nfds, tmo, mask));
    return co_ppoll(CS_HOOK_ppoll, fds, nfds, tmo, mask);
}

CS_EXPORT int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *mask)
{
    CS_FAST_PASS(ppoll, (fds, nfds, tmo, mask));
    return ppoll_hooked(fds, nfds, tmo, mask);
}

static CS_SLOW int __ppoll_chk_hooked(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *mask,
                                      size_t fdslen)
{
    cs_tls.call_arg =
        (tmo ? ((uint64_t)tmo->tv_sec * 1000u + (uint64_t)(tmo->tv_nsec + 999999) / 1000000u) : UINT64_MAX);
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK___ppoll_chk, -1, cs_real.__ppoll_chk(fds, nfds, tmo, mask, fdslen));
    if (fdslen / sizeof(*fds) < nfds)
        cs_fatal("*** buffer overflow detected ***: ppoll: %lu pollfds in a buffer of %zu bytes", (unsigned long)nfds,
                 fdslen);
    return co_ppoll(CS_HOOK___ppoll_chk, fds, nfds, tmo, mask);
}

CS_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo, const sigset_t *mask,
                          size_t fdslen)
{
    CS_FAST_PASS(__ppoll_chk, (fds, nfds, tmo, mask, fdslen));
    return __ppoll_chk_hooked(fds, nfds, tmo, mask, fdslen);
}

/* ---- select, pselect ------------------------------------------------------- */

/* The kernel's fd table size (fdt->max_fds, "FDSize" in /proc/self/status):
 * select examines min(nfds, that) bits of each set. -1 if unknown. */
static int kernel_fdsize(void)
{
    char buf[4096];
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t len = 0;
    for (;;) {
        long r = syscall(SYS_read, fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0) break;
        len += (size_t)r;
        if (len == sizeof buf - 1) break;
    }
    syscall(SYS_close, fd);
    buf[len] = '\0';
    const char *p = strstr(buf, "\nFDSize:");
    if (!p) return -1;
    long v = strtol(p + 8, NULL, 10);
    return v > 0 && v <= INT_MAX ? (int)v : -1;
}

/* Common body of select (tv, pselect 0) and pselect (ts, mask, pselect 1). */
static int co_select(int hook, int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv,
                     const struct timespec *ts, const sigset_t *mask, int is_pselect)
{
    int saved = errno;
    uint64_t tmo_ns = UINT64_MAX; /* none */
    int bad = nfds < 0;
    if (is_pselect && ts) {
        if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
            bad = 1;
        else
            tmo_ns = ts_timeout_ns(ts);
    } else if (!is_pselect && tv) {
        if (tv->tv_sec < 0 || tv->tv_usec < 0) {
            bad = 1;
        } else {
            /* Normalised as glibc does (tv_usec may exceed a second). */
            uint64_t s = (uint64_t)tv->tv_sec + (uint64_t)tv->tv_usec / 1000000u;
            uint64_t us = (uint64_t)tv->tv_usec % 1000000u;
            tmo_ns = s > (UINT64_MAX - 1000000000ull) / 1000000000ull ? UINT64_MAX : s * 1000000000ull + us * 1000u;
        }
    }
    int sn = nfds;
    if (!bad && sn > FD_SETSIZE) {
        /* Copy no more of the program's sets than the kernel reads. */
        int k = kernel_fdsize();
        if (k < 0)
            bad = 1; /* cannot tell: let the real call do it all */
        else if (sn > k)
            sn = k;
    }
    if (bad) {
        /* Invalid arguments fail at once in the real call, with its errno and
         * its timeout write-back; an unknown table size just blocks. */
        int r = is_pselect ? cs_real.pselect(nfds, rd, wr, ex, ts, mask) : cs_real.select(nfds, rd, wr, ex, tv);
        int e = r < 0 ? errno : saved;
        cs_observe(hook, -1, 1, 0, r, r < 0 ? e : 0);
        errno = e;
        return r;
    }

    mux m = {.kind = is_pselect ? MX_PSELECT : MX_SELECT, .mask = mask, .sn = sn};
    m.words = ((size_t)sn + LONG_BITS - 1) / LONG_BITS;
    m.user[0] = rd, m.user[1] = wr, m.user[2] = ex;
    unsigned long stack_sets[3][FD_SETSIZE / (sizeof(unsigned long) * CHAR_BIT)];
    unsigned long *heap_sets = NULL;
    for (int s = 0; s < 3; s++) {
        if (!m.user[s] || !m.words) continue;
        if (sn <= FD_SETSIZE) {
            m.work[s] = stack_sets[s];
        } else {
            if (!heap_sets && !(heap_sets = malloc(3 * m.words * sizeof(unsigned long)))) {
                int r = is_pselect ? cs_real.pselect(nfds, rd, wr, ex, ts, mask) : cs_real.select(nfds, rd, wr, ex, tv);
                int e = r < 0 ? errno : saved;
                cs_observe(hook, -1, 1, 0, r, r < 0 ? e : 0);
                errno = e;
                return r;
            }
            m.work[s] = heap_sets + (size_t)s * m.words;
        }
    }
    if (!m.words) m.user[0] = m.user[1] = m.user[2] = NULL; /* nfds 0: a plain sleep */

    int zero = tmo_ns == 0;
    uint64_t deadline = tmo_ns == UINT64_MAX || zero ? 0 : deadline_ns(tmo_ns);
    int r = mux_hook(hook, -1, &m, zero, deadline);
    int e = errno;
    if (r >= 0 && m.in_work) {
        for (int s = 0; s < 3; s++)
            if (m.work[s]) memcpy(m.user[s], m.work[s], m.words * sizeof(unsigned long));
    }
    if (!is_pselect && tv && !zero) {
        /* Linux writes back the time not slept (also on EINTR and errors). */
        uint64_t left = 0;
        if (deadline) {
            uint64_t now = cs_now_ns();
            left = deadline > now ? deadline - now : 0;
        } else {
            left = tmo_ns; /* saturated: as good as untouched */
        }
        if (left != UINT64_MAX) {
            tv->tv_sec = (time_t)(left / 1000000000ull);
            tv->tv_usec = (suseconds_t)(left % 1000000000ull / 1000u);
        }
    }
    free(heap_sets);
    errno = e;
    return r;
}

static CS_SLOW int select_hooked(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    cs_tls.call_arg = (tv ? ((uint64_t)tv->tv_sec * 1000u + (uint64_t)(tv->tv_usec + 999) / 1000u) : UINT64_MAX);
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_select, -1, cs_real.select(nfds, rd, wr, ex, tv));
    return co_select(CS_HOOK_select, nfds, rd, wr, ex, tv, NULL, NULL, 0);
}

CS_EXPORT int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    CS_FAST_PASS(select, (nfds, rd, wr, ex, tv));
    return select_hooked(nfds, rd, wr, ex, tv);
}

static CS_SLOW int pselect_hooked(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts,
                                  const sigset_t *mask)
{
    cs_tls.call_arg = (ts ? ((uint64_t)ts->tv_sec * 1000u + (uint64_t)(ts->tv_nsec + 999999) / 1000000u) : UINT64_MAX);
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_pselect, -1, cs_real.pselect(nfds, rd, wr, ex, ts, mask));
    return co_select(CS_HOOK_pselect, nfds, rd, wr, ex, NULL, ts, mask, 1);
}

CS_EXPORT int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts, const sigset_t *mask)
{
    CS_FAST_PASS(pselect, (nfds, rd, wr, ex, ts, mask));
    return pselect_hooked(nfds, rd, wr, ex, ts, mask);
}

/* ---- epoll_wait, epoll_pwait ------------------------------------------------ */

static int co_epoll(int hook, int epfd, struct epoll_event *evs, int maxev, int timeout, const sigset_t *mask,
                    int is_pwait)
{
    mux m = {.kind = is_pwait ? MX_EPWAIT : MX_EPOLL, .epfd = epfd, .evs = evs, .maxev = maxev, .mask = mask};
    uint64_t deadline = timeout > 0 ? deadline_ns((uint64_t)timeout * 1000000ull) : 0;
    return mux_hook(hook, epfd, &m, timeout == 0, deadline);
}

static CS_SLOW int epoll_wait_hooked(int epfd, struct epoll_event *evs, int maxev, int timeout)
{
    cs_tls.call_arg = timeout < 0 ? UINT64_MAX : (uint64_t)timeout;
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_epoll_wait, epfd, cs_real.epoll_wait(epfd, evs, maxev, timeout));
    return co_epoll(CS_HOOK_epoll_wait, epfd, evs, maxev, timeout, NULL, 0);
}

CS_EXPORT int epoll_wait(int epfd, struct epoll_event *evs, int maxev, int timeout)
{
    CS_FAST_PASS(epoll_wait, (epfd, evs, maxev, timeout));
    return epoll_wait_hooked(epfd, evs, maxev, timeout);
}

static CS_SLOW int epoll_pwait_hooked(int epfd, struct epoll_event *evs, int maxev, int timeout, const sigset_t *mask)
{
    cs_tls.call_arg = timeout < 0 ? UINT64_MAX : (uint64_t)timeout;
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_epoll_pwait, epfd, cs_real.epoll_pwait(epfd, evs, maxev, timeout, mask));
    return co_epoll(CS_HOOK_epoll_pwait, epfd, evs, maxev, timeout, mask, 1);
}

CS_EXPORT int epoll_pwait(int epfd, struct epoll_event *evs, int maxev, int timeout, const sigset_t *mask)
{
    CS_FAST_PASS(epoll_pwait, (epfd, evs, maxev, timeout, mask));
    return epoll_pwait_hooked(epfd, evs, maxev, timeout, mask);
}
