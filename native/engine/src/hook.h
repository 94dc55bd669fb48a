/*
 * hook.h — what every hook shares: the in-coroutine test, the observation
 * point, and time helpers.
 *
 * A hook is the exported libc name (read, sleep, ...). Its first line decides:
 *     cs_co *co = cs_hook_co();
 *     if (!co) -> pass through: cs_real.x(...), observed, nothing else
 * cs_hook_co() is one initial-exec TLS load plus a relaxed global load (the
 * run-time hooks switch), so the pass-through costs a few nanoseconds.
 *
 * Inside a coroutine the hook must give the same result and errno as the
 * real call would have given on a thread: partial transfers, EOF, EAGAIN on
 * fds the program made non-blocking, timeouts (SO_RCVTIMEO/SO_SNDTIMEO),
 * and EINTR from the program's own signal handlers (hook_signal.c).
 *
 * Observation: every hooked call, in or out of coroutines, reports to the
 * observer installed with coroscope__set_call_observer (the telemetry layer;
 * NULL by default, then the cost is one load and a predicted branch).
 * Around it, with telemetry on, emit_call.h adds CALL_ENTER when a call first
 * parks (wait.c) and CALL_ADDR after connect/accept. A hook that can park sets
 * co->cur_hook and co->call_fd before its first wait; cs_tls.call_arg (the
 * argument summary) survives the coroutine's switches away (wait.c, and the
 * deferred preemption below).
 */
#ifndef CS_HOOK_H
#define CS_HOOK_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "coroutine.h"
#include "real.h"
#include "telemetry.h"

#define CS_EXPORT __attribute__((visibility("default")))

enum cs_hook_id {
#define CS_HOOK_ID(ret, name, params) CS_HOOK_##name,
    CS_REAL_FUNCS(CS_HOOK_ID) CS_HOOK_signal,
    CS_REAL_FUNCS_EXT(CS_HOOK_ID) /* after signal: ids are append-only */
#undef CS_HOOK_ID
    CS_HOOK_COUNT
};

#include "../include/coroscope_events.h"
/* The schema numbers hooks from 1 in the same order (coroscope_events.h). */
_Static_assert(CS_HOOK_read + 1 == COROSCOPE_HOOK_read && CS_HOOK_signal + 1 == COROSCOPE_HOOK_signal &&
                   CS_HOOK_getaddrinfo + 1 == COROSCOPE_HOOK_getaddrinfo && CS_HOOK_open + 1 == COROSCOPE_HOOK_open &&
                   CS_HOOK_fread + 1 == COROSCOPE_HOOK_fread && CS_HOOK_waitpid + 1 == COROSCOPE_HOOK_waitpid &&
                   CS_HOOK_COUNT + 1 == COROSCOPE_HOOK_COUNT,
               "engine hook ids must match the event schema");

/* One observed call. `parked` tells whether the coroutine was suspended. */
typedef struct cs_call {
    int hook;  /* enum cs_hook_id */
    int fd;    /* -1 when the call has no fd */
    int in_co; /* ran inside a coroutine with hooks on */
    int parked;
    long ret;
    int err;         /* errno when ret < 0 (or the returned error for clock_nanosleep) */
    uint64_t dur_ns; /* how long the call took */
    uint64_t arg;    /* summary of the arguments: bytes asked for, or timeout in ms (UINT64_MAX: none) */
    int blocked;     /* in a coroutine, it could not park: the worker ran the plain call */
    uint64_t end_ns; /* when it returned (cs_now_ns), if the hook read the clock then; 0: not read */
} cs_call;

typedef void (*cs_observer_fn)(const cs_call *call);
extern _Atomic(cs_observer_fn) cs_observer;

/* Telemetry's observer. A hook that finds it installed does not call it:
 * it emits the CALL record inline (telemetry.h cs_tel_call), errno
 * untouched; any other observer (tests) is called with a cs_call. */
void cs_tel_call_observer(const cs_call *call);

void cs_preempt_deferred_yield(cs_co *co);

/* Whether the calling thread runs a coroutine with the hooks on: the in_co
 * of a call observed without cs_hook_co (pass-through and bookkeeping
 * hooks; not a safe point, no preemption served). Every observed call is
 * "in co" exactly when this holds, whatever path its hook took. */
static inline int cs_in_co(void)
{
    return cs_tls.co != NULL && atomic_load_explicit(&cs_cfg.hooks, memory_order_relaxed);
}

int cs_preempt_site_ok(const void *ret_addr, const void *call_pc);

/* Inside a coroutine with hooks on: the coroutine, after taking a preemption
 * the signal handler had to defer (hook entry is a safe point when the
 * program's own code made the call; a library's call is not: preempt.h).
 * Always inlined: __builtin_return_address(0) is then the return address of
 * the hook that calls it — the program's call site, or (in a CS_SLOW path)
 * the hook's own text, and then cs_tls.call_pc is the call site. */
static inline __attribute__((always_inline)) cs_co *cs_hook_co(void)
{
    cs_co *co = cs_tls.co;
    if (__builtin_expect(co != NULL, 0) && atomic_load_explicit(&cs_cfg.hooks, memory_order_relaxed)) {
        if (__builtin_expect(co->preempt_pending && co->locks == 0, 0) &&
            cs_preempt_site_ok(__builtin_return_address(0), cs_tls.call_pc)) {
            uint64_t arg = cs_tls.call_arg; /* the hook set it; other coroutines run meanwhile */
            cs_preempt_deferred_yield(co);
            cs_tls.call_arg = arg;
        }
        if (__builtin_expect(atomic_load_explicit(&cs_observer, memory_order_relaxed) != NULL, 0)) {
            co->call_t0 = cs_now_ns(); /* the call's duration, for the observer */
            co->call_entered = 0;      /* no CALL_ENTER yet for this call (emit_call.h) */
            cs_tls.call_blocked = 0;   /* left from a call made while nobody observed */
        }
        return co;
    }
    return NULL;
}

/* Report a call that ran inside a coroutine (or a bookkeeping call): its
 * duration runs from the hook's entry (cs_hook_co) when there is one.
 * errno is left as it is (a foreign observer's changes are undone). */
static inline __attribute__((always_inline)) void cs_observe(int hook, int fd, int in_co, int parked, long ret, int err)
{
    cs_observer_fn f = atomic_load_explicit(&cs_observer, memory_order_relaxed);
    if (__builtin_expect(f != NULL, 0)) {
        cs_co *co = cs_tls.co;
        uint64_t t0 = in_co && co ? co->call_t0 : 0, t1 = t0 ? cs_now_ns() : 0;
        uint64_t arg = cs_tls.call_arg;
        int blocked = in_co && cs_tls.call_blocked;
        cs_tls.call_arg = 0;
        cs_tls.call_blocked = 0;
        if (co) co->call_t0 = 0; /* consumed: a later call without an entry time reports 0, not this one's */
        if (__builtin_expect(f == cs_tel_call_observer, 1)) {
            if (cs_tel()) cs_tel_call(t1, hook, fd, in_co, parked, blocked, ret, err, arg, t0 ? t1 - t0 : 0);
        } else {
            int e = errno;
            cs_call c = {hook, fd, in_co, parked, ret, err, t0 ? t1 - t0 : 0, arg, blocked, t1};
            f(&c);
            errno = e;
        }
    }
}

/* Entry time of a call observed without cs_hook_co (the bookkeeping hooks:
 * close, fcntl, setsockopt...; not safe points), for its CALL duration. */
static inline void cs_observe_start(void)
{
    cs_co *co = cs_tls.co;
    if (__builtin_expect(co != NULL, 0) &&
        __builtin_expect(atomic_load_explicit(&cs_observer, memory_order_relaxed) != NULL, 0))
        co->call_t0 = cs_now_ns();
}

/* The pass-through fast path at the top of a hot hook: outside coroutines
 * with no observer installed, tail-call the real function (a few
 * instructions; the rest of the hook lives in a separate CS_SLOW function so
 * this path sets up no stack frame). */
#define CS_SLOW __attribute__((noinline))
#define CS_FAST_PASS(name, args)                                                                   \
    do {                                                                                           \
        if (__builtin_expect(cs_tls.co == NULL, 1) &&                                              \
            __builtin_expect(atomic_load_explicit(&cs_observer, memory_order_relaxed) == NULL, 1)) \
            return cs_real.name args;                                                              \
        cs_tls.call_pc = __builtin_return_address(0); /* the program's call site, for snapshots */ \
    } while (0)

/* Observe a call that returns -1/errno style and pass its result on, errno
 * intact; in_co is cs_in_co() (a pass-through made by a coroutine, such as
 * getsockopt, is that coroutine's call). With telemetry's observer: two
 * clock reads around the call and the CALL record stored inline (errno read
 * only when the call failed). */
void cs_observe_foreign(cs_observer_fn f, int hook, int fd, int in_co, long ret, int err, uint64_t t0, uint64_t t1);
#define CS_PASS(hook, fd, expr)                                                                                       \
    ({                                                                                                                \
        __typeof__(expr) r_;                                                                                          \
        cs_observer_fn f_ = atomic_load_explicit(&cs_observer, memory_order_relaxed);                                 \
        if (__builtin_expect(f_ != NULL, 0)) {                                                                        \
            uint64_t t0_ = cs_now_ns();                                                                               \
            r_ = (expr);                                                                                              \
            uint64_t t1_ = cs_now_ns();                                                                               \
            int e_ = r_ < 0 ? errno : 0;                                                                              \
            if (__builtin_expect(f_ == cs_tel_call_observer, 1)) {                                                    \
                if (cs_tel()) cs_tel_call(t1_, hook, fd, cs_in_co(), 0, 0, (long)r_, e_, cs_tls.call_arg, t1_ - t0_); \
                cs_tls.call_arg = 0;                                                                                  \
            } else {                                                                                                  \
                cs_observe_foreign(f_, hook, fd, cs_in_co(), (long)r_, e_, t0_, t1_);                                 \
            }                                                                                                         \
        } else {                                                                                                      \
            r_ = (expr);                                                                                              \
        }                                                                                                             \
        r_;                                                                                                           \
    })

static inline uint64_t cs_ts_ns(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
}

static inline struct timespec cs_ns_ts(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    return ts;
}

/* Deadline on CLOCK_MONOTONIC for a relative timeout in ns (saturating). */
static inline uint64_t cs_deadline_after(uint64_t ns)
{
    uint64_t now = cs_now_ns();
    return ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
}

#endif
