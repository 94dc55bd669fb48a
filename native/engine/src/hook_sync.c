/*
 * hook_sync.c — pthread mutexes and condition variables that park a
 * coroutine instead of blocking its worker: pthread_mutex_lock, _trylock,
 * _timedlock, _clocklock, _unlock; pthread_cond_wait, _timedwait,
 * _clockwait, _signal, _broadcast.
 *
 * Ownership. A pthread mutex belongs to a thread (glibc's __owner is a tid)
 * and every coroutine of a worker runs on the same thread, so the engine
 * keeps, per coroutine, the mutexes it took (co->held; owner thread only)
 * and decides by that:
 *   - lock: the real trylock first (uncontended: one CAS, nothing recorded).
 *     EBUSY: the coroutine parks on the mutex's address (syncq.h) and tries
 *     again when an unlock wakes it, or when a backoff timer fires (250 µs,
 *     doubling to 4 ms), which covers releases the engine cannot see: a
 *     plain thread's pthread_cond_wait releasing the mutex inside libc,
 *     another process unlocking a process-shared mutex.
 *   - a mutex whose __owner is this worker's thread that the coroutine does
 *     not hold is held by a sibling coroutine: lock parks without trying (a
 *     RECURSIVE trylock would succeed for the wrong coroutine), trylock
 *     gives EBUSY, unlock gives EPERM for the kinds that check the owner
 *     (ERRORCHECK, RECURSIVE, robust, PI), as between threads.
 *   - relocking a mutex the coroutine holds: RECURSIVE counts (the real
 *     trylock), ERRORCHECK gives EDEADLK, NORMAL/ADAPTIVE deadlock as on a
 *     thread (that coroutine parks until its timedlock deadline, or for
 *     ever; the worker goes on). Robust: EOWNERDEAD (acquired) and
 *     ENOTRECOVERABLE come from the real trylock. PI and PP mutexes park the
 *     same way (no priority is inherited by a parked coroutine).
 *   - more than CS_CO_HELD_MAX mutexes held at once: those beyond are not
 *     recorded and ownership falls back to per thread (co->held.overflow).
 *   - a coroutine holding a mutex is pinned to its worker: co->locks > 0
 *     (sched.c offer_surplus skips it; preemption defers, preempt.h).
 * Condition variables. In a coroutine, pthread_cond_*wait does
 * cs_wait_begin, links a node on the condvar's address, releases the mutex
 * (the unlock above: its parked waiters are woken), parks until
 * pthread_cond_signal/broadcast wakes it or the deadline passes, then
 * retakes the mutex as lock does and returns 0 or ETIMEDOUT. Signal and
 * broadcast are hooked for every caller, thread or coroutine: they wake
 * parked coroutines (one / all) and always make the real call too, so
 * threads in the real pthread_cond_wait are woken as before (a signal may
 * then wake one of each: a spurious wakeup, which POSIX allows). timedwait
 * uses the condvar's clock (pthread_condattr_setclock; bit 1 of glibc's
 * __wrefs), clockwait the given one; the absolute deadline is converted to
 * CLOCK_MONOTONIC once (a CLOCK_REALTIME step during the wait is not
 * followed). A process-shared condvar can be signalled from another process,
 * past this hook: its waits stay the plain call (the worker blocks; the CALL
 * says blocked).
 * Not parked: outside coroutines every call is the real one (a plain
 * thread's condvar waits and contended locks are observed with their
 * durations); in a coroutine with the hooks off, the real call (ownership
 * still tracked); in a coroutine that has already begun another wait
 * (engine code between cs_wait_begin and cs_wait_park: offload.c's pool
 * lock), the real lock, and its unlock never serves a deferred preemption.
 * Observation: a lock that had to wait is one CALL (parked, the whole
 * wait); uncontended locks, trylock, unlock, signal and broadcast are never
 * recorded (one per critical section would flood the trace). Every condvar
 * wait is a CALL. Results as pthread_join's: 0, or -1 with the error number.
 * Threads: all hooks on any thread; co->held only by the coroutine's own
 * thread; nothing here runs in a signal handler (none of these calls is
 * async-signal-safe).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "emit_call.h"
#include "hook.h"
#include "log.h"
#include "sched.h"
#include "syncq.h"
#include "wait.h"

void cs_lock_acquired(void);
void cs_lock_released(const void *site);

/* glibc's mutex kind bits (nptl/pthreadP.h), stable ABI of the initializers. */
#define KIND_TYPE(k)    ((k)&3)
#define TYPE_RECURSIVE  1
#define TYPE_ERRORCHECK 2
#define KIND_ROBUST     16
#define KIND_PI         32
/* glibc's condvar __wrefs: bit 0 process-shared, bit 1 CLOCK_MONOTONIC. */
#define WREFS_PSHARED   1u
#define WREFS_MONOTONIC 2u

/* Between an unlock and the look at the waiters (syncq.h): a full barrier.
 * On x86 the real unlock is a locked instruction (xchg, lock dec/cmpxchg),
 * one already; elsewhere a fence. */
#if defined(__x86_64__) || defined(__i386__)
#define UNLOCK_FENCE() atomic_signal_fence(memory_order_seq_cst)
#else
#define UNLOCK_FENCE() atomic_thread_fence(memory_order_seq_cst)
#endif

#define BACKOFF_MIN_NS 250000ull
#define BACKOFF_MAX_NS 4000000ull

static struct {
    int (*trylock)(pthread_mutex_t *);
    int (*unlock)(pthread_mutex_t *);
    int (*signal)(pthread_cond_t *);
    int (*broadcast)(pthread_cond_t *);
} real_sync;

void cs_sync_hooks_resolve(void)
{
    real_sync.trylock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_trylock");
    real_sync.unlock = (int (*)(pthread_mutex_t *))dlsym(RTLD_NEXT, "pthread_mutex_unlock");
    real_sync.signal = (int (*)(pthread_cond_t *))dlsym(RTLD_NEXT, "pthread_cond_signal");
    real_sync.broadcast = (int (*)(pthread_cond_t *))dlsym(RTLD_NEXT, "pthread_cond_broadcast");
    if (!real_sync.trylock || !real_sync.unlock || !real_sync.signal || !real_sync.broadcast)
        cs_fatal("pthread mutex/condvar functions not found after libcoroscope");
}

/* Before the constructor (a library initialised earlier locking a mutex):
 * resolve on first use. */
#define REAL(name) \
    (__builtin_expect(real_sync.name != NULL, 1) ? real_sync.name : (cs_sync_hooks_resolve(), real_sync.name))

static int mkind(pthread_mutex_t *m)
{
    return __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED);
}
static int mowner(pthread_mutex_t *m)
{
    return __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED);
}
static int checks_owner(int kind)
{
    return KIND_TYPE(kind) == TYPE_RECURSIVE || KIND_TYPE(kind) == TYPE_ERRORCHECK || (kind & (KIND_ROBUST | KIND_PI));
}

/* ---- what a coroutine holds ------------------------------------------------------------------- */

static int held_find(const cs_co *co, const void *m)
{
    for (int i = 0; i < co->held.n; i++)
        if (co->held.m[i] == m) return i;
    return -1;
}

static void held_add(cs_co *co, void *m)
{
    if (co->held.n < CS_CO_HELD_MAX)
        co->held.m[co->held.n++] = m;
    else
        co->held.overflow++;
}

static void held_drop(cs_co *co, int i)
{
    if (i >= 0)
        co->held.m[i] = co->held.m[--co->held.n];
    else if (co->held.overflow)
        co->held.overflow--;
}

/* Held by another coroutine of this worker (the thread owns it, co does not)? */
static int sibling_holds(const cs_co *co, pthread_mutex_t *m, int i)
{
    return i < 0 && !co->held.overflow && co->owner && mowner(m) == co->owner->tid;
}

/* The real trylock for co, with per-coroutine ownership: 0 (or
 * EOWNERDEAD) taken; EBUSY must wait; else the error. */
static int try_take(cs_co *co, pthread_mutex_t *m)
{
    int i = held_find(co, m);
    if (sibling_holds(co, m, i)) return EBUSY;
    if (i >= 0 || (co->held.overflow && co->owner && mowner(m) == co->owner->tid)) { /* relock by its holder */
        int type = KIND_TYPE(mkind(m));
        if (type == TYPE_ERRORCHECK) return EDEADLK;
        if (type != TYPE_RECURSIVE) return EBUSY; /* NORMAL/ADAPTIVE: deadlock, as on a thread */
    }
    int r = REAL(trylock)(m);
    if (r == 0 || r == EOWNERDEAD) {
        if (i < 0) held_add(co, m);
        cs_lock_acquired();
    }
    return r;
}

/* The lock's deadline on CLOCK_MONOTONIC from an absolute time on clk; 0 or EINVAL. */
static int mono_deadline(clockid_t clk, const struct timespec *abs, uint64_t *out)
{
    if (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000L) return EINVAL;
    struct timespec now;
    clock_gettime(clk, &now);
    int64_t ds = (int64_t)abs->tv_sec - (int64_t)now.tv_sec;
    int64_t dn = (int64_t)abs->tv_nsec - (int64_t)now.tv_nsec;
    uint64_t t = cs_now_ns();
    if (ds < 0 || (ds == 0 && dn <= 0))
        *out = t; /* already past: expires at once */
    else if (ds > 100LL * 365 * 86400)
        *out = UINT64_MAX;
    else
        *out = cs_deadline_after((uint64_t)(ds * 1000000000LL + dn));
    return 0;
}

/* Park co until it takes m (try_take's result) or, if timed, the deadline
 * passes (ETIMEDOUT). *parked set when it parked. */
static int park_take(cs_co *co, pthread_mutex_t *m, int timed, uint64_t deadline, int hook, int *parked)
{
    uint64_t backoff = BACKOFF_MIN_NS;
    for (;;) {
        if (timed && cs_now_ns() >= deadline) return ETIMEDOUT;
        cs_syncq_node n;
        uint64_t t = cs_wait_begin(co, 0);
        cs_syncq_add(&n, m, co, t, (uint64_t)hook + 1);
        int r = try_take(co, m);
        if (r != EBUSY) {
            cs_syncq_remove(&n);
            if (!cs_wake_cancel(co, t))
                cs_wait_park(co, t, 0); /* an unlock claimed the wait first: we are queued, go through */
            return r;
        }
        uint64_t until = cs_deadline_after(backoff);
        if (timed && deadline < until) until = deadline;
        if (cs_tel()) cs_emit_call_enter(co, timed ? deadline : 0); /* the call's own timeout, not the backoff's */
        cs_wait_park(co, t, until);
        *parked = 1;
        cs_syncq_remove(&n);
        if (backoff < BACKOFF_MAX_NS) backoff *= 2;
    }
}

/* The real blocking lock for hook (the plain call). */
static int real_lock(int hook, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    switch (hook) {
    case CS_HOOK_pthread_mutex_lock: return cs_real.pthread_mutex_lock(m);
    case CS_HOOK_pthread_mutex_timedlock: return cs_real.pthread_mutex_timedlock(m, abs);
    default: return cs_real.pthread_mutex_clocklock(m, clk, abs);
    }
}

/* A call observed from entry time t0 (plain threads; calls that could not park). */
static void observe_timed(int hook, int r, uint64_t t0, int in_co, int blocked)
{
    cs_observer_fn f = atomic_load_explicit(&cs_observer, memory_order_relaxed);
    if (!f) return;
    uint64_t t1 = cs_now_ns();
    if (f == cs_tel_call_observer) {
        if (cs_tel()) cs_tel_call(t1, hook, -1, in_co, 0, blocked, r ? -1 : 0, r, 0, t1 - t0);
    } else {
        cs_observe_foreign(f, hook, -1, in_co, r ? -1 : 0, r, t0, t1);
    }
}

/* A plain thread's lock: the real one; observed only when the trylock
 * says it has to wait. */
static int plain_lock(int hook, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    if (!atomic_load_explicit(&cs_observer, memory_order_relaxed)) return real_lock(hook, m, clk, abs);
    int r = REAL(trylock)(m);
    if (r != EBUSY) return r;
    uint64_t t0 = cs_now_ns();
    r = real_lock(hook, m, clk, abs);
    observe_timed(hook, r, t0, 0, 0);
    return r;
}

static int co_lock(cs_co *co, int hook, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    if (hook == CS_HOOK_pthread_mutex_clocklock && clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC) return EINVAL;
    int r = try_take(co, m);
    if (r != EBUSY) return r;
    int saved = errno;
    if (!atomic_load_explicit(&cs_cfg.hooks, memory_order_relaxed) || co->state != CS_CO_RUNNING) {
        int i = held_find(co, m);
        r = real_lock(hook, m, clk, abs); /* the plain call: the worker waits */
        if (r == 0 || r == EOWNERDEAD) {
            if (i < 0) held_add(co, m);
            cs_lock_acquired();
        }
        errno = saved;
        return r;
    }
    cs_hook_co(); /* a safe point (deferred preemption), and the call's entry time */
    cs_tls.call_arg = 0;
    co->cur_hook = hook;
    co->call_pc = (uintptr_t)cs_tls.call_pc;
    co->call_fd = -1;
    uint64_t deadline = 0;
    int parked = 0;
    if (abs && (r = mono_deadline(clk, abs, &deadline)) != 0) {
        /* EINVAL, as glibc says it only once it has to wait */
    } else {
        r = park_take(co, m, abs != NULL, deadline, hook, &parked);
    }
    cs_observe(hook, -1, 1, parked, r ? -1 : 0, r);
    errno = saved;
    return r;
}

CS_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    cs_co *co = cs_tls.co;
    if (__builtin_expect(co == NULL, 1)) return plain_lock(CS_HOOK_pthread_mutex_lock, m, CLOCK_REALTIME, NULL);
    cs_tls.call_pc = __builtin_return_address(0);
    return co_lock(co, CS_HOOK_pthread_mutex_lock, m, CLOCK_REALTIME, NULL);
}

CS_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abs)
{
    cs_co *co = cs_tls.co;
    if (co == NULL) return plain_lock(CS_HOOK_pthread_mutex_timedlock, m, CLOCK_REALTIME, abs);
    cs_tls.call_pc = __builtin_return_address(0);
    return co_lock(co, CS_HOOK_pthread_mutex_timedlock, m, CLOCK_REALTIME, abs);
}

CS_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    cs_co *co = cs_tls.co;
    if (co == NULL) return plain_lock(CS_HOOK_pthread_mutex_clocklock, m, clk, abs);
    cs_tls.call_pc = __builtin_return_address(0);
    return co_lock(co, CS_HOOK_pthread_mutex_clocklock, m, clk, abs);
}

CS_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    cs_co *co = cs_tls.co;
    if (__builtin_expect(co == NULL, 1)) return REAL(trylock)(m);
    return try_take(co, m);
}

/* Release m for co. serve: the release may serve a deferred preemption
 * (the program's own unlock, site = its return address). */
static int co_unlock(cs_co *co, pthread_mutex_t *m, const void *site, int serve)
{
    int kind = mkind(m);
    int i = held_find(co, m);
    if (sibling_holds(co, m, i) && checks_owner(kind))
        return EPERM; /* another coroutine's: as unlocking another thread's */
    int r = REAL(unlock)(m);
    if (r != 0) return r;
    if (KIND_TYPE(kind) != TYPE_RECURSIVE || !co->owner || mowner(m) != co->owner->tid)
        held_drop(co, i); /* a RECURSIVE one still counted stays held */
    UNLOCK_FENCE();       /* the unlock before the look at the waiters (syncq.h) */
    if (cs_syncq_waiting()) cs_syncq_wake(m, 0);
    if (serve && co->state == CS_CO_RUNNING)
        cs_lock_released(site);
    else if (co->locks > 0)
        co->locks--;
    return 0;
}

CS_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    cs_co *co = cs_tls.co;
    if (__builtin_expect(co != NULL, 0)) return co_unlock(co, m, __builtin_return_address(0), 1);
    int r = REAL(unlock)(m);
    if (r == 0) {
        UNLOCK_FENCE();
        if (cs_syncq_waiting()) cs_syncq_wake(m, 0);
    }
    return r;
}

/* ---- condition variables ---------------------------------------------------------------------- */

static int real_wait(int hook, pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    switch (hook) {
    case CS_HOOK_pthread_cond_wait: return cs_real.pthread_cond_wait(c, m);
    case CS_HOOK_pthread_cond_timedwait: return cs_real.pthread_cond_timedwait(c, m, abs);
    default: return cs_real.pthread_cond_clockwait(c, m, clk, abs);
    }
}

static int cond_wait_hook(int hook, pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    cs_co *co = cs_tls.co;
    int saved = errno;
    if (!co) {
        uint64_t t0 = atomic_load_explicit(&cs_observer, memory_order_relaxed) ? cs_now_ns() : 0;
        int r = real_wait(hook, c, m, clk, abs);
        if (t0) observe_timed(hook, r, t0, 0, 0);
        errno = saved;
        return r;
    }
    unsigned wrefs = __atomic_load_n(&c->__data.__wrefs, __ATOMIC_RELAXED);
    if (hook == CS_HOOK_pthread_cond_clockwait && clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC) return EINVAL;
    if (abs && (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000L)) return EINVAL;
    if ((wrefs & WREFS_PSHARED) || !atomic_load_explicit(&cs_cfg.hooks, memory_order_relaxed) ||
        co->state != CS_CO_RUNNING) {
        /* The plain call: libc releases and retakes m on this thread, for this coroutine. */
        uint64_t t0 = atomic_load_explicit(&cs_observer, memory_order_relaxed) ? cs_now_ns() : 0;
        int r = real_wait(hook, c, m, clk, abs);
        if (t0) observe_timed(hook, r, t0, cs_in_co(), (wrefs & WREFS_PSHARED) != 0);
        errno = saved;
        return r;
    }
    cs_hook_co(); /* a safe point, and the call's entry time */
    cs_tls.call_arg = 0;
    co->cur_hook = hook;
    co->call_pc = (uintptr_t)cs_tls.call_pc;
    co->call_fd = -1;
    if (hook == CS_HOOK_pthread_cond_timedwait) clk = (wrefs & WREFS_MONOTONIC) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
    uint64_t deadline = 0;
    if (abs) mono_deadline(clk, abs, &deadline); /* the arguments were checked above */

    cs_syncq_node n;
    uint64_t t = cs_wait_begin(co, 0);
    cs_syncq_add(&n, c, co, t, (uint64_t)hook + 1);
    int r = co_unlock(co, m, NULL, 0); /* we are in a wait: no preemption served here */
    int parked = 0;
    if (r != 0) { /* EPERM: not ours to release; nothing waited */
        cs_syncq_remove(&n);
        if (!cs_wake_cancel(co, t)) cs_wait_park(co, t, 0);
    } else {
        int cause = cs_wait_park(co, t, deadline ? deadline : 0);
        parked = 1;
        cs_syncq_remove(&n);
        r = park_take(co, m, 0, 0, hook, &parked); /* retake it, parked while contended */
        if (r == 0 && cause == CS_WAKE_TIMER) r = ETIMEDOUT;
    }
    cs_observe(hook, -1, 1, parked, r ? -1 : 0, r);
    errno = saved;
    return r;
}

CS_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    cs_tls.call_pc = __builtin_return_address(0);
    return cond_wait_hook(CS_HOOK_pthread_cond_wait, c, m, CLOCK_REALTIME, NULL);
}

CS_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abs)
{
    cs_tls.call_pc = __builtin_return_address(0);
    return cond_wait_hook(CS_HOOK_pthread_cond_timedwait, c, m, CLOCK_REALTIME, abs);
}

CS_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk, const struct timespec *abs)
{
    cs_tls.call_pc = __builtin_return_address(0);
    return cond_wait_hook(CS_HOOK_pthread_cond_clockwait, c, m, clk, abs);
}

CS_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
    if (cs_syncq_waiting()) cs_syncq_wake(c, 0);
    return REAL(signal)(c);
}

CS_EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
    if (cs_syncq_waiting()) cs_syncq_wake(c, 1);
    return REAL(broadcast)(c);
}

/* ---- rwlocks ---------------------------------------------------------------------------------- */

/*
 * pthread_rwlock_rdlock, _wrlock, _timedrdlock, _timedwrlock, _clockrdlock,
 * _clockwrlock, _unlock (any thread), _tryrdlock, _trywrlock.
 * In a coroutine a lock is the real try first (tryrdlock / trywrlock: the
 * rwlock's own policy decides, as for a thread: glibc's default
 * PTHREAD_RWLOCK_PREFER_READER_NP lets a reader in while readers hold it,
 * writers waiting or not); EBUSY: the coroutine parks on the rwlock's
 * address and tries again when an unlock wakes every coroutine parked on it
 * (readers may all get in; writers race, the losers park again), or when
 * the backoff timer fires (an unlock in another process). A write lock
 * belongs to the coroutine that took it (co->held, with the mutexes):
 * its own second wrlock or rdlock is EDEADLK, as glibc gives a thread whose
 * tid is the writer; a sibling coroutine of the same worker thread parks
 * instead (glibc would take it for the writer thread: EDEADLK for the
 * wrong coroutine). A parked writer is not one of glibc's waiting writers:
 * with PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP new readers are not
 * held back for it (README limits). Every hold is counted (co->locks):
 * no preemption and no migration inside it. The unlock of a write lock
 * must come from the thread that took it (glibc tells a write unlock by
 * its tid): a coroutine holding one is pinned to its worker.
 */

static struct {
    int (*tryrd)(pthread_rwlock_t *);
    int (*trywr)(pthread_rwlock_t *);
    int (*unlock)(pthread_rwlock_t *);
    int (*spin_try)(pthread_spinlock_t *);
} real_rw;

void cs_rwlock_hooks_resolve(void)
{
    real_rw.tryrd = (int (*)(pthread_rwlock_t *))dlsym(RTLD_NEXT, "pthread_rwlock_tryrdlock");
    real_rw.trywr = (int (*)(pthread_rwlock_t *))dlsym(RTLD_NEXT, "pthread_rwlock_trywrlock");
    real_rw.unlock = (int (*)(pthread_rwlock_t *))dlsym(RTLD_NEXT, "pthread_rwlock_unlock");
    real_rw.spin_try = (int (*)(pthread_spinlock_t *))dlsym(RTLD_NEXT, "pthread_spin_trylock");
    if (!real_rw.tryrd || !real_rw.trywr || !real_rw.unlock || !real_rw.spin_try)
        cs_fatal("pthread rwlock/spin lock functions not found after libcoroscope");
}

#define REAL_RW(name) \
    (__builtin_expect(real_rw.name != NULL, 1) ? real_rw.name : (cs_rwlock_hooks_resolve(), real_rw.name))

/* The real try for co: 0 taken, EBUSY must wait, else the error (EDEADLK, EAGAIN: too many readers). */
static int rw_try(cs_co *co, pthread_rwlock_t *l, int wr)
{
    if (held_find(co, l) >= 0) return EDEADLK; /* it holds the write lock already */
    int r = wr ? REAL_RW(trywr)(l) : REAL_RW(tryrd)(l);
    if (r == 0) {
        if (wr) held_add(co, l);
        cs_lock_acquired();
    }
    return r;
}

static int rw_park(cs_co *co, pthread_rwlock_t *l, int wr, int timed, uint64_t deadline, int hook, int *parked)
{
    uint64_t backoff = BACKOFF_MIN_NS;
    for (;;) {
        if (timed && cs_now_ns() >= deadline) return ETIMEDOUT;
        cs_syncq_node n;
        uint64_t t = cs_wait_begin(co, 0);
        cs_syncq_add(&n, l, co, t, (uint64_t)hook + 1);
        int r = rw_try(co, l, wr);
        if (r != EBUSY) {
            cs_syncq_remove(&n);
            if (!cs_wake_cancel(co, t)) cs_wait_park(co, t, 0);
            return r;
        }
        uint64_t until = cs_deadline_after(backoff);
        if (timed && deadline < until) until = deadline;
        if (cs_tel()) cs_emit_call_enter(co, timed ? deadline : 0);
        cs_wait_park(co, t, until);
        *parked = 1;
        cs_syncq_remove(&n);
        if (backoff < BACKOFF_MAX_NS) backoff *= 2;
    }
}

static int rw_real(int hook, pthread_rwlock_t *l, clockid_t clk, const struct timespec *abs)
{
    switch (hook) {
    case CS_HOOK_pthread_rwlock_rdlock: return cs_real.pthread_rwlock_rdlock(l);
    case CS_HOOK_pthread_rwlock_wrlock: return cs_real.pthread_rwlock_wrlock(l);
    case CS_HOOK_pthread_rwlock_timedrdlock: return cs_real.pthread_rwlock_timedrdlock(l, abs);
    case CS_HOOK_pthread_rwlock_timedwrlock: return cs_real.pthread_rwlock_timedwrlock(l, abs);
    case CS_HOOK_pthread_rwlock_clockrdlock: return cs_real.pthread_rwlock_clockrdlock(l, clk, abs);
    default: return cs_real.pthread_rwlock_clockwrlock(l, clk, abs);
    }
}

static int rw_lock(int hook, int wr, pthread_rwlock_t *l, clockid_t clk, const struct timespec *abs)
{
    cs_co *co = cs_tls.co;
    if (__builtin_expect(co == NULL, 1)) return rw_real(hook, l, clk, abs);
    if ((hook == CS_HOOK_pthread_rwlock_clockrdlock || hook == CS_HOOK_pthread_rwlock_clockwrlock) &&
        clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC)
        return EINVAL;
    int r = rw_try(co, l, wr);
    if (r != EBUSY) return r;
    int saved = errno;
    if (!atomic_load_explicit(&cs_cfg.hooks, memory_order_relaxed) || co->state != CS_CO_RUNNING) {
        r = rw_real(hook, l, clk, abs); /* the plain call: the worker waits */
        if (r == 0) {
            if (wr) held_add(co, l);
            cs_lock_acquired();
        }
        errno = saved;
        return r;
    }
    cs_hook_co(); /* a safe point, and the call's entry time */
    cs_tls.call_arg = 0;
    co->cur_hook = hook;
    co->call_pc = (uintptr_t)cs_tls.call_pc;
    co->call_fd = -1;
    uint64_t deadline = 0;
    int parked = 0;
    if (abs && (r = mono_deadline(clk, abs, &deadline)) != 0) {
        /* EINVAL, as glibc says it only once it has to wait */
    } else {
        r = rw_park(co, l, wr, abs != NULL, deadline, hook, &parked);
    }
    cs_observe(hook, -1, 1, parked, r ? -1 : 0, r);
    errno = saved;
    return r;
}

#define RW_HOOK(name, wr, params, clk, abs)                             \
    CS_EXPORT int pthread_rwlock_##name params                          \
    {                                                                   \
        cs_tls.call_pc = __builtin_return_address(0);                   \
        return rw_lock(CS_HOOK_pthread_rwlock_##name, wr, l, clk, abs); \
    }
RW_HOOK(rdlock, 0, (pthread_rwlock_t * l), CLOCK_REALTIME, NULL)
RW_HOOK(wrlock, 1, (pthread_rwlock_t * l), CLOCK_REALTIME, NULL)
RW_HOOK(timedrdlock, 0, (pthread_rwlock_t * l, const struct timespec *t), CLOCK_REALTIME, t)
RW_HOOK(timedwrlock, 1, (pthread_rwlock_t * l, const struct timespec *t), CLOCK_REALTIME, t)
RW_HOOK(clockrdlock, 0, (pthread_rwlock_t * l, clockid_t c, const struct timespec *t), c, t)
RW_HOOK(clockwrlock, 1, (pthread_rwlock_t * l, clockid_t c, const struct timespec *t), c, t)
#undef RW_HOOK

CS_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
    cs_co *co = cs_tls.co;
    if (__builtin_expect(co == NULL, 1)) return REAL_RW(tryrd)(l);
    int r = rw_try(co, l, 0);
    return r == EDEADLK ? EBUSY : r;
}

CS_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
    cs_co *co = cs_tls.co;
    if (__builtin_expect(co == NULL, 1)) return REAL_RW(trywr)(l);
    int r = rw_try(co, l, 1);
    return r == EDEADLK ? EBUSY : r;
}

CS_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
    cs_co *co = cs_tls.co;
    int r = REAL_RW(unlock)(l);
    if (r != 0) return r;
    UNLOCK_FENCE(); /* the unlock before the look at the waiters (syncq.h) */
    if (cs_syncq_waiting()) cs_syncq_wake(l, 1);
    if (co) {
        int i = held_find(co, l); /* a write lock it holds (a read lock is never in the list) */
        if (i >= 0) held_drop(co, i);
        if (co->state == CS_CO_RUNNING)
            cs_lock_released(__builtin_return_address(0));
        else if (co->locks > 0)
            co->locks--;
    }
    return 0;
}

/* ---- spin locks ------------------------------------------------------------------------------- */

/*
 * pthread_spin_lock in a coroutine: a spin lock held by a sibling coroutine
 * of the same worker is released only when that coroutine runs again, which
 * spinning on the worker prevents for ever. So: the real trylock; on EBUSY
 * spin SPIN_TRIES more tries (a holder on another thread releases within
 * them), then yield the worker (the holder, or anything else ready, runs)
 * and try again. Cost: while it waits the coroutine stays ready and its
 * worker never sleeps — as a spinning thread burns its CPU, except that the
 * worker's other coroutines run in between (README limits). A wait that had
 * to yield is one CALL (pthread_spin_lock, not parked). Outside coroutines
 * the real spin lock.
 */
#define SPIN_TRIES 64

CS_EXPORT int pthread_spin_lock(pthread_spinlock_t *l)
{
    cs_co *co = cs_tls.co;
    if (__builtin_expect(co == NULL, 1)) return cs_real.pthread_spin_lock(l);
    int r = REAL_RW(spin_try)(l);
    if (r == 0) {
        cs_lock_acquired();
        return 0;
    }
    cs_tls.call_pc = __builtin_return_address(0);
    int yielded = 0;
    for (;;) {
        for (int i = 0; i < SPIN_TRIES; i++) {
            __builtin_ia32_pause();
            if (__atomic_load_n(l, __ATOMIC_RELAXED) == 0 && REAL_RW(spin_try)(l) == 0) goto taken;
        }
        if (!atomic_load_explicit(&cs_cfg.hooks, memory_order_relaxed) || co->state != CS_CO_RUNNING) {
            /* hooks off, or inside engine code between a wait's begin and park: the plain spin */
            r = cs_real.pthread_spin_lock(l);
            goto taken;
        }
        if (!yielded) {
            cs_hook_co(); /* the call's entry time */
            cs_tls.call_arg = 0;
            co->cur_hook = CS_HOOK_pthread_spin_lock;
            co->call_pc = (uintptr_t)cs_tls.call_pc;
            co->call_fd = -1;
        }
        yielded = 1;
        cs_sched_yield(co);
        if (REAL_RW(spin_try)(l) == 0) goto taken;
    }
taken:
    cs_lock_acquired();
    if (yielded) {
        int saved = errno;
        cs_observe(CS_HOOK_pthread_spin_lock, -1, 1, 0, 0, 0);
        errno = saved;
    }
    return 0;
}
