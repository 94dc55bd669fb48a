#include "netpoll.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "telemetry.h"
#include "wait.h"

#define TAG_WORKER      (1ull << 63)
#define EVENTS_PER_WAIT 256

static int epfd = -1;

static const uint32_t dir_mask[2] = {
    EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI,
    EPOLLOUT | EPOLLHUP | EPOLLERR,
};

int cs_netpoll_init(void)
{
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) return errno;
    epfd = cs_fd_hide(fd);
    return 0;
}

void cs_netpoll_atfork_child(void)
{
    /* The parent's epoll instance is shared with us: leave it to the parent. */
    syscall(SYS_close, epfd);
    cs_fd_unhide(epfd);
    cs_fd_atfork_child();
    if (cs_netpoll_init()) cs_fatal("forked child: cannot create the netpoller");
}

int cs_netpoll_add_worker(cs_worker *w)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = TAG_WORKER | (uint64_t)w->idx};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, w->efd, &ev) ? errno : 0;
}

int cs_netpoll_register(int fd, cs_fd *e)
{
    if (e->registered) return 0;
    if (e->unpollable) return EPERM;
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET,
        .data.u64 = ((uint64_t)e->gen << 32) | (uint32_t)fd,
    };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
        e->registered = 1;
        return 0;
    }
    int err = errno;
    if (err == EEXIST) {
        /* Left over from a lifetime we did not see end (closed by a path we do
         * not hook): take it over with the current generation. */
        if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0) {
            e->registered = 1;
            return 0;
        }
        err = errno;
    }
    if (err == EPERM) e->unpollable = 1;
    return err;
}

void cs_netpoll_unregister(int fd, cs_fd *e)
{
    if (!e->registered) return;
    struct epoll_event ev = {0};
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev);
    e->registered = 0;
}

/* Wake all waiters of one direction; lock of e held. */
static int wake_dir(cs_fd *e, int dir, int cause)
{
    int n = 0;
    cs_waiter *w = e->waiters[dir];
    e->waiters[dir] = NULL;
    while (w) {
        cs_waiter *next = w->next;
        w->linked = 0;
        uint64_t co_id = w->co->id; /* w lives on the waiter's stack: read before it may resume */
        int fd = w->fd;
        int won = cs_wake_seen(w->co, w->token, cause, (uint64_t)(int64_t)fd, cause == CS_WAKE_FD ? 1 << dir : 0);
        if (won && cause == CS_WAKE_FD && cs_tel()) cs_fdpeer_emit(e, dir, co_id, fd); /* WAKER right after the WAKE */
        n += won;
        w = next;
    }
    return n;
}

int cs_netpoll_wait(int64_t timeout_ns, cs_worker *self, int *own_efd)
{
    struct epoll_event evs[EVENTS_PER_WAIT];
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000;
        ts.tv_nsec = timeout_ns % 1000000000;
        tsp = &ts;
    }
    long r = syscall(SYS_epoll_pwait2, epfd, evs, EVENTS_PER_WAIT, tsp, NULL, (size_t)8);
    if (r < 0 && errno == ENOSYS) {
        int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
        r = syscall(SYS_epoll_pwait, epfd, evs, EVENTS_PER_WAIT, ms, NULL, (size_t)8);
    }
    if (r <= 0) return 0;
    int woke = 0;
    for (long i = 0; i < r; i++) {
        uint64_t d = evs[i].data.u64;
        if (d & TAG_WORKER) {
            int idx = (int)(d & 0xffff);
            if (self && idx == self->idx) {
                *own_efd = 1;
            } else if (idx < cs_rt.nworkers &&
                       atomic_load_explicit(&cs_rt.netpoll_owner, memory_order_seq_cst) == idx) {
                /* We took the edge that was to wake the worker blocked in this
                 * epoll (edge-triggered: it gets no other). Pass it on. Owners
                 * that had not blocked yet check their counter (worker_sleep);
                 * non-owners sleep in a level-triggered ppoll on it. */
                uint64_t one = 1;
                syscall(SYS_write, cs_rt.workers[idx].efd, &one, sizeof one);
            }
            continue;
        }
        int fd = (int)(uint32_t)d;
        uint32_t gen = (uint32_t)(d >> 32);
        cs_fd *e = cs_fd_peek(fd);
        if (!e) continue;
        cs_spin_lock(&e->lock);
        if (e->gen == gen && e->registered) {
            for (int dir = 0; dir < 2; dir++) {
                if (evs[i].events & dir_mask[dir]) {
                    atomic_fetch_add_explicit(&e->seq[dir], 1, memory_order_release);
                    woke += wake_dir(e, dir, CS_WAKE_FD);
                }
            }
        }
        cs_spin_unlock(&e->lock);
    }
    return woke;
}

static void link_waiter(cs_fd *e, cs_waiter *w)
{
    w->prev = NULL;
    w->next = e->waiters[w->dir];
    if (w->next) w->next->prev = w;
    e->waiters[w->dir] = w;
    w->linked = 1;
}

static void unlink_waiter(cs_fd *e, cs_waiter *w)
{
    cs_spin_lock(&e->lock);
    if (w->linked) {
        if (w->prev)
            w->prev->next = w->next;
        else
            e->waiters[w->dir] = w->next;
        if (w->next) w->next->prev = w->prev;
        w->linked = 0;
    }
    cs_spin_unlock(&e->lock);
}

int cs_fd_wait_many(cs_wait_item *items, int n, uint64_t deadline, int interruptible)
{
    cs_co *co = cs_tls.co;
    uint64_t t = cs_wait_begin(co, interruptible);
    co->wait_why = COROSCOPE_SUSPEND_CALL;
    co->wait_fd = n ? items[0].fd : -1;
    co->wait_events = 0;
    for (int i = 0; i < n; i++) co->wait_events |= items[i].dir == CS_DIR_READ ? 1 : 2;
    int linked = 0, early = 0, err = 0;
    for (int i = 0; i < n; i++) {
        cs_wait_item *it = &items[i];
        cs_spin_lock(&it->e->lock);
        err = cs_netpoll_register(it->fd, it->e);
        if (err) {
            cs_spin_unlock(&it->e->lock);
            break;
        }
        if (cs_fd_seq(it->e, it->dir) != it->seq0) {
            cs_spin_unlock(&it->e->lock);
            early = 1;
            break;
        }
        it->w.co = co;
        it->w.token = t;
        it->w.fd = it->fd;
        it->w.dir = it->dir;
        link_waiter(it->e, &it->w);
        cs_spin_unlock(&it->e->lock);
        linked = i + 1;
    }
    int cause;
    if (err || early) {
        /* Cancel the wait we began: claim it ourselves. If a waker claimed it
         * first, we are already queued and must switch out once. */
        if (!cs_wake_cancel(co, t)) cs_wait_park(co, t, 0);
        cause = err ? -err : CS_WAKE_FD;
    } else {
        cause = cs_wait_park(co, t, deadline);
    }
    for (int i = 0; i < linked; i++) unlink_waiter(items[i].e, &items[i].w);
    if (err == EPERM) return -EPERM;
    return cause;
}

int cs_fd_wait(int fd, cs_fd *e, int dir, uint32_t seq0, uint64_t deadline, int interruptible)
{
    cs_wait_item it = {.fd = fd, .e = e, .dir = dir, .seq0 = seq0};
    return cs_fd_wait_many(&it, 1, deadline, interruptible);
}

/* Wake everyone waiting on a closing fd (lock of e held). */
int cs_netpoll_wake_closed(cs_fd *e)
{
    return wake_dir(e, CS_DIR_READ, CS_WAKE_CLOSED) + wake_dir(e, CS_DIR_WRITE, CS_WAKE_CLOSED);
}
