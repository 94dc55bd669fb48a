/*
 * hook_wait.c — waiting for another process or thread: waitpid, wait4,
 * wait3, wait, waitid (children), pthread_join (threads), sem_wait,
 * sem_timedwait, sem_clockwait (semaphores).
 *
 * Nothing the netpoller can watch tells when these end, and the other side
 * may be a thread, another process, or a coroutine of the same worker (a
 * semaphore posted by a sibling coroutine: blocking the worker would
 * deadlock it). Inside a coroutine each hook:
 *   1. tries the non-blocking form (WNOHANG, pthread_tryjoin_np,
 *      sem_trywait); if that settles it, the call returns at once, unparked;
 *   2. else parks the coroutine on the offload wait pool (offload.h
 *      cs_offload_wait: a thread of its own per waiting coroutine) where a
 *      pool thread makes a blocking call, and resumes when it returns.
 * Each is one CALL with its duration, marked parked when step 2 ran.
 *
 * What the pool thread does, and why it keeps the plain-thread semantics:
 *   - children: waitid(..., WNOWAIT) for a state change the caller asked
 *     for (it reaps nothing), then the coroutine repeats step 1 itself, so
 *     the child is reaped by the call the program made, with its own
 *     options, status and rusage. Interruptible: a user signal handler
 *     ends the wait; without SA_RESTART the call fails with EINTR, with
 *     SA_RESTART it waits again (signal(7): the wait calls are restarted).
 *     The abandoned pool wait reaped nothing and ends with the child.
 *   - pthread_join: the pool thread joins (uninterruptible, as on a thread:
 *     pthread_join never fails with EINTR). Joining the calling thread is
 *     EDEADLK without parking (the worker would join itself).
 *   - semaphores: the pool thread waits in slices of SEM_SLICE_MS on the
 *     caller's clock (CLOCK_REALTIME for sem_timedwait, the given clock for
 *     sem_clockwait, CLOCK_MONOTONIC for sem_wait), up to the caller's
 *     deadline (then ETIMEDOUT). Interruptible as the kernel's futex wait
 *     is: sem_timedwait and sem_clockwait end with EINTR on any user signal
 *     handler; sem_wait (no deadline) does without SA_RESTART and goes on
 *     waiting with it (signal(7) says "never restarted", but Linux
 *     restarts a futex wait that has no timeout). The coroutine leaves
 *     at once; the pool thread gives up at its next slice, and if it took a
 *     unit meanwhile it posts it back (offload.h req->abandoned), so the
 *     count is what it would have been. The semaphore must stay valid for
 *     one slice after an interrupted wait returns.
 *   Argument errors come first, as glibc gives them: EINVAL for a bad
 *   timespec or clock before any try.
 * Outside coroutines (and with the hooks off) every call is the plain call,
 * observed with its duration.
 *
 * A child reaped by any of these calls, in or out of a coroutine (a status
 * that ends it: exited, killed by a signal; not stopped or continued, not
 * WNOWAIT) leaves a PROCESS_EXIT record for the child's pid with how it
 * ended (docs/events.md: a3 the signal, a4 source 1 "reaped by its
 * parent"), so a followed child killed by a signal — which never reaches
 * exit — still shows its end. A caller that passes no status pointer gets a
 * local one in its place (the call reaps the same child either way). Pool threads block every signal and run no
 * coroutine: the calls they make pass through cs_real, unobserved.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook.h"
#include "offload.h"
#include "sched.h"
#include "telemetry.h"

#define SEM_SLICE_MS 50

uint32_t cs_signal_norestart_epoch(void);

/* ---- observation ------------------------------------------------------------------------------ */

static inline uint64_t entry_time(void)
{
    return atomic_load_explicit(&cs_observer, memory_order_relaxed) ? cs_now_ns() : 0;
}

/* A call that ran as the plain call (outside a coroutine, or settled
 * without parking inside one), timed from t0; errno left as it is. */
static void observe_plain(int hook, long ret, int err, uint64_t t0)
{
    cs_observer_fn f = atomic_load_explicit(&cs_observer, memory_order_relaxed);
    if (!f || !t0) return;
    int saved = errno;
    uint64_t t1 = cs_now_ns();
    if (f == cs_tel_call_observer) {
        if (cs_tel()) cs_tel_call(t1, hook, -1, cs_in_co(), 0, 0, ret, err, cs_tls.call_arg, t1 - t0);
        cs_tls.call_arg = 0;
    } else {
        cs_observe_foreign(f, hook, -1, cs_in_co(), ret, err, t0, t1);
    }
    errno = saved;
}

static void begin_park(cs_co *co, int hook)
{
    co->cur_hook = hook;
    co->call_pc = (uintptr_t)cs_tls.call_pc;
    co->call_fd = -1;
}

/* ---- children --------------------------------------------------------------------------------- */

struct child_call;
static long child_wait_call(int hook, struct child_call *c);

enum { W_WAITPID, W_WAIT4, W_WAITID };

typedef struct child_call {
    int kind;
    pid_t pid; /* waitpid/wait4 */
    int *status;
    int options;
    struct rusage *ru;
    idtype_t idtype; /* waitid */
    id_t id;
    siginfo_t *info;
} child_call;

typedef struct child_job {
    cs_offload_req req;
    idtype_t idtype;
    id_t id;
    int flags;
} child_job;

static void child_run(cs_offload_req *r)
{
    child_job *j = (child_job *)r;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int rc;
    do rc = cs_real.waitid(j->idtype, j->id, &si, j->flags);
    while (rc < 0 && errno == EINTR);
    r->ret = rc;
    r->err = rc < 0 ? errno : 0;
}

/* Step 1: the call with WNOHANG; 1 if it settled (*ret, errno set), 0 if it would block. */
static int child_try(const child_call *c, long *ret)
{
    switch (c->kind) {
    case W_WAITPID: *ret = cs_real.waitpid(c->pid, c->status, c->options | WNOHANG); return *ret != 0;
    case W_WAIT4: *ret = cs_real.wait4(c->pid, c->status, c->options | WNOHANG, c->ru); return *ret != 0;
    default: {
        c->info->si_pid = 0;
        *ret = cs_real.waitid(c->idtype, c->id, c->info, c->options | WNOHANG);
        return *ret != 0 || c->info->si_pid != 0;
    }
    }
}

/* What the pool waits for: the caller's set of children and kinds of change, without reaping. */
static void child_target(const child_call *c, child_job *j)
{
    if (c->kind == W_WAITID) {
        j->idtype = c->idtype;
        j->id = c->id;
        j->flags = (c->options & ~WNOHANG) | WNOWAIT;
        return;
    }
    if (c->pid < -1) {
        j->idtype = P_PGID;
        j->id = (id_t)-c->pid;
    } else if (c->pid == -1) {
        j->idtype = P_ALL;
        j->id = 0;
    } else if (c->pid == 0) {
        j->idtype = P_PGID;
        j->id = (id_t)getpgrp();
    } else {
        j->idtype = P_PID;
        j->id = (id_t)c->pid;
    }
    j->flags = WEXITED | WNOWAIT | (c->options & WUNTRACED ? WSTOPPED : 0) |
               (c->options & (WCONTINUED | __WALL | __WCLONE | __WNOTHREAD));
}

/* The child's end, as its parent saw it when it reaped it (telemetry on). */
static void say_reaped(const child_call *c, long ret)
{
    if (!cs_tel() || ret <= 0) return;
    int saved = errno;
    pid_t pid = 0;
    int code = 0, sig = 0, core = 0;
    if (c->kind == W_WAITID) {
        if ((c->options & WNOWAIT) || !c->info->si_pid) return;
        pid = c->info->si_pid;
        if (c->info->si_code == CLD_EXITED)
            code = c->info->si_status;
        else if (c->info->si_code == CLD_KILLED || c->info->si_code == CLD_DUMPED)
            sig = c->info->si_status, core = c->info->si_code == CLD_DUMPED;
        else
            return;
    } else {
        int st = *c->status;
        pid = (pid_t)ret;
        if (WIFEXITED(st))
            code = WEXITSTATUS(st);
        else if (WIFSIGNALED(st))
            sig = WTERMSIG(st), core = WCOREDUMP(st) != 0;
        else
            return;
    }
    cs_co *co = cs_tls.co;
    cs_tel_emit(COROSCOPE_EV_PROCESS_EXIT, co ? co->id : 0, (uint64_t)pid, (uint64_t)(int64_t)code,
                COROSCOPE_SERIAL_UNKNOWN, (uint64_t)sig, COROSCOPE_EXIT_REAPED | (core ? COROSCOPE_EXIT_CORE : 0));
    cs_tel_flush();
    errno = saved;
}

static long child_wait(int hook, child_call *c)
{
    int local_status;
    if (c->kind != W_WAITID && !c->status) c->status = &local_status;
    long ret = child_wait_call(hook, c);
    say_reaped(c, ret);
    return ret;
}

static long child_wait_call(int hook, child_call *c)
{
    uint64_t t0 = entry_time();
    cs_co *co = cs_hook_co();
    long ret;
    if (!co || (c->options & WNOHANG)) {
        switch (c->kind) {
        case W_WAITPID: ret = cs_real.waitpid(c->pid, c->status, c->options); break;
        case W_WAIT4: ret = cs_real.wait4(c->pid, c->status, c->options, c->ru); break;
        default: ret = cs_real.waitid(c->idtype, c->id, c->info, c->options); break;
        }
        observe_plain(hook, ret, ret < 0 ? errno : 0, t0);
        return ret;
    }
    int saved = errno, parked = 0;
    uint32_t nr0 = cs_signal_norestart_epoch();
    begin_park(co, hook);
    for (;;) {
        if (child_try(c, &ret)) {
            if (ret >= 0) errno = saved;
            break;
        }
        child_job *j = calloc(1, sizeof *j);
        if (!j) { /* no memory for the request: the plain call, on the worker */
            cs_tls.call_blocked = 1;
            ret = c->kind == W_WAITPID ? cs_real.waitpid(c->pid, c->status, c->options)
                  : c->kind == W_WAIT4 ? cs_real.wait4(c->pid, c->status, c->options, c->ru)
                                       : cs_real.waitid(c->idtype, c->id, c->info, c->options);
            break;
        }
        child_target(c, j);
        j->req.fn = child_run;
        int p = 0;
        int cause = cs_offload_wait(co, &j->req, 1, &p);
        parked |= p;
        if (cause == CS_WAKE_SIGNAL) { /* j is the pool's */
            if (cs_signal_norestart_epoch() != nr0) {
                errno = EINTR;
                ret = -1;
                break;
            }
            continue; /* every handler had SA_RESTART: the call goes on */
        }
        long r = j->req.ret;
        int e = j->req.err;
        free(j);
        if (r < 0) { /* ECHILD, EINVAL: what the call itself says (step 1 again) */
            if (!child_try(c, &ret)) {
                errno = e;
                ret = -1;
            }
            break;
        }
    }
    int e = errno;
    cs_observe(hook, -1, 1, parked, ret, ret < 0 ? e : 0);
    errno = e;
    return ret;
}

CS_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
    cs_tls.call_pc = __builtin_return_address(0);
    cs_tls.call_arg = 0; /* no argument summary (docs/events.md) */
    child_call c = {.kind = W_WAITPID, .pid = pid, .status = status, .options = options};
    return (pid_t)child_wait(CS_HOOK_waitpid, &c);
}

CS_EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
    cs_tls.call_pc = __builtin_return_address(0);
    cs_tls.call_arg = 0; /* no argument summary (docs/events.md) */
    child_call c = {.kind = W_WAIT4, .pid = pid, .status = status, .options = options, .ru = ru};
    return (pid_t)child_wait(CS_HOOK_wait4, &c);
}

/* wait3 is wait4(-1, ...) (glibc makes it so without the PLT: dash reaps
 * its children with it); recorded as wait4. */
CS_EXPORT pid_t wait3(int *status, int options, struct rusage *ru)
{
    cs_tls.call_pc = __builtin_return_address(0);
    cs_tls.call_arg = 0; /* no argument summary (docs/events.md) */
    child_call c = {.kind = W_WAIT4, .pid = -1, .status = status, .options = options, .ru = ru};
    return (pid_t)child_wait(CS_HOOK_wait4, &c);
}

CS_EXPORT pid_t wait(int *status)
{
    cs_tls.call_pc = __builtin_return_address(0);
    cs_tls.call_arg = 0; /* no argument summary (docs/events.md) */
    child_call c = {.kind = W_WAITPID, .pid = -1, .status = status, .options = 0};
    return (pid_t)child_wait(CS_HOOK_wait, &c);
}

CS_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    cs_tls.call_pc = __builtin_return_address(0);
    cs_tls.call_arg = 0; /* no argument summary (docs/events.md) */
    siginfo_t local;
    child_call c = {.kind = W_WAITID, .idtype = idtype, .id = id, .info = info ? info : &local, .options = options};
    return (int)child_wait(CS_HOOK_waitid, &c);
}

/* ---- pthread_join ----------------------------------------------------------------------------- */

typedef struct join_job {
    cs_offload_req req;
    pthread_t th;
    void *result;
} join_job;

static void join_run(cs_offload_req *r)
{
    join_job *j = (join_job *)r;
    r->ret = cs_real.pthread_join(j->th, &j->result);
    r->err = 0;
}

CS_EXPORT int pthread_join(pthread_t th, void **result)
{
    cs_tls.call_pc = __builtin_return_address(0);
    cs_tls.call_arg = 0; /* no argument summary (docs/events.md) */
    uint64_t t0 = entry_time();
    cs_co *co = cs_hook_co();
    int r;
    if (!co) {
        r = cs_real.pthread_join(th, result);
        observe_plain(CS_HOOK_pthread_join, r ? -1 : 0, r, t0);
        return r;
    }
    int saved = errno, parked = 0;
    if (pthread_equal(th, pthread_self())) {
        r = EDEADLK; /* as glibc: the worker cannot join itself */
    } else if ((r = pthread_tryjoin_np(th, result)) == EBUSY) {
        join_job *j = calloc(1, sizeof *j);
        if (!j) {
            cs_tls.call_blocked = 1;
            r = cs_real.pthread_join(th, result);
        } else {
            begin_park(co, CS_HOOK_pthread_join);
            j->th = th;
            j->req.fn = join_run;
            cs_offload_wait(co, &j->req, 0, &parked); /* not interruptible: always its result */
            r = (int)j->req.ret;
            if (r == 0 && result) *result = j->result;
            free(j);
        }
    }
    errno = saved;
    cs_observe(CS_HOOK_pthread_join, -1, 1, parked, r ? -1 : 0, r);
    errno = saved;
    return r;
}

/* ---- semaphores ------------------------------------------------------------------------------- */

typedef struct sem_job {
    cs_offload_req req;
    sem_t *sem;
    clockid_t clk;
    int timed;
    struct timespec deadline; /* on clk, when timed */
} sem_job;

static int ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void sem_run(cs_offload_req *r)
{
    sem_job *j = (sem_job *)r;
    for (;;) {
        if (atomic_load(&r->state) == CS_OFFLOAD_ABANDONED) {
            r->ret = -1;
            r->err = EINTR;
            return;
        }
        struct timespec until;
        clock_gettime(j->clk, &until);
        until.tv_nsec += SEM_SLICE_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int last = j->timed && !ts_before(&until, &j->deadline);
        if (last) until = j->deadline;
        if (cs_real.sem_clockwait(j->sem, j->clk, &until) == 0) {
            r->ret = 0;
            r->err = 0;
            return;
        }
        int e = errno;
        if (e == ETIMEDOUT && !last) continue;
        if (e == EINTR) continue;
        r->ret = -1;
        r->err = e;
        return;
    }
}

/* The coroutine left: a unit taken after that goes back. */
static void sem_abandoned(cs_offload_req *r)
{
    if (r->ret == 0) sem_post(((sem_job *)r)->sem);
}

static int sem_hook(int hook, sem_t *sem, clockid_t clk, const struct timespec *abs)
{
    uint64_t t0 = entry_time();
    cs_co *co = cs_hook_co();
    int r;
    if (!co) {
        r = hook == CS_HOOK_sem_wait        ? cs_real.sem_wait(sem)
            : hook == CS_HOOK_sem_timedwait ? cs_real.sem_timedwait(sem, abs)
                                            : cs_real.sem_clockwait(sem, clk, abs);
        observe_plain(hook, r, r < 0 ? errno : 0, t0);
        return r;
    }
    int saved = errno, parked = 0, e = 0;
    if (hook == CS_HOOK_sem_clockwait && clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC) {
        r = -1;
        e = EINVAL;
    } else if (abs && (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000L)) {
        r = -1;
        e = EINVAL;
    } else if ((r = sem_trywait(sem)) == 0) {
        e = 0;
    } else if ((e = errno) != EAGAIN) {
        r = -1;
    } else {
        sem_job *j = calloc(1, sizeof *j);
        if (!j) {
            cs_tls.call_blocked = 1;
            r = hook == CS_HOOK_sem_wait        ? cs_real.sem_wait(sem)
                : hook == CS_HOOK_sem_timedwait ? cs_real.sem_timedwait(sem, abs)
                                                : cs_real.sem_clockwait(sem, clk, abs);
            e = r < 0 ? errno : 0;
        } else {
            begin_park(co, hook);
            j->sem = sem;
            j->clk = hook == CS_HOOK_sem_wait ? CLOCK_MONOTONIC : clk;
            j->timed = hook != CS_HOOK_sem_wait;
            if (abs) j->deadline = *abs;
            j->req.fn = sem_run;
            j->req.abandoned = sem_abandoned;
            uint32_t nr0 = cs_signal_norestart_epoch();
            for (;;) {
                int p = 0;
                int cause = cs_offload_wait(co, &j->req, 1, &p);
                parked |= p;
                if (cause != CS_WAKE_SIGNAL) {
                    r = (int)j->req.ret;
                    e = j->req.err;
                    free(j);
                    break;
                }
                /* j is the pool's. As the kernel does: a wait without a
                 * deadline is restarted when every handler had SA_RESTART,
                 * one with a deadline never is. */
                if (j->timed || cs_signal_norestart_epoch() != nr0 || !(j = calloc(1, sizeof *j))) {
                    r = -1;
                    e = EINTR;
                    break;
                }
                j->sem = sem;
                j->clk = CLOCK_MONOTONIC;
                j->req.fn = sem_run;
                j->req.abandoned = sem_abandoned;
            }
        }
    }
    cs_observe(hook, -1, 1, parked, r, r < 0 ? e : 0);
    errno = r < 0 ? e : saved;
    return r;
}

CS_EXPORT int sem_wait(sem_t *sem)
{
    cs_tls.call_pc = __builtin_return_address(0);
    cs_tls.call_arg = 0; /* no argument summary (docs/events.md) */
    return sem_hook(CS_HOOK_sem_wait, sem, CLOCK_MONOTONIC, NULL);
}

CS_EXPORT int sem_timedwait(sem_t *sem, const struct timespec *abs)
{
    cs_tls.call_pc = __builtin_return_address(0);
    cs_tls.call_arg = 0; /* no argument summary (docs/events.md) */
    return sem_hook(CS_HOOK_sem_timedwait, sem, CLOCK_REALTIME, abs);
}

CS_EXPORT int sem_clockwait(sem_t *sem, clockid_t clk, const struct timespec *abs)
{
    cs_tls.call_pc = __builtin_return_address(0);
    cs_tls.call_arg = 0; /* no argument summary (docs/events.md) */
    return sem_hook(CS_HOOK_sem_clockwait, sem, clk, abs);
}
