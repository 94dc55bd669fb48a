/*
 * hook_sleep.c — sleep, usleep, nanosleep, clock_nanosleep.
 *
 * glibc's sleep and usleep call its internal __nanosleep without the PLT, so
 * each entry point is hooked on its own. Inside a coroutine the sleep becomes
 * a timer on the owner worker's heap and the coroutine parks; a user signal
 * handler running meanwhile ends it with EINTR and the remaining time, as the
 * real call would (signal(7): sleeps are never restarted).
 */

#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"
#include "wait.h"

/* Park until the CLOCK_MONOTONIC deadline (UINT64_MAX: forever). Returns 0
 * when reached or EINTR; *left gets the time still to go. */
static int sleep_until(cs_co *co, uint64_t deadline, uint64_t *left)
{
    for (;;) {
        uint64_t now = cs_now_ns();
        if (deadline != UINT64_MAX && now >= deadline) {
            *left = 0;
            return 0;
        }
        uint64_t t = cs_wait_begin(co, 1);
        co->wait_why = COROSCOPE_SUSPEND_SLEEP;
        int cause = cs_wait_park(co, t, deadline == UINT64_MAX ? 0 : deadline);
        if (cause == CS_WAKE_SIGNAL) {
            now = cs_now_ns();
            *left = deadline == UINT64_MAX ? UINT64_MAX : (deadline > now ? deadline - now : 0);
            return EINTR;
        }
    }
}

static int valid_ts(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

static uint64_t rel_deadline(const struct timespec *req)
{
    uint64_t ns;
    if ((uint64_t)req->tv_sec > (UINT64_MAX - 1000000000ull) / 1000000000ull) return UINT64_MAX;
    ns = cs_ts_ns(req);
    return cs_deadline_after(ns);
}

static void fill_rem(struct timespec *rem, uint64_t left)
{
    if (!rem) return;
    if (left == UINT64_MAX) {
        rem->tv_sec = (time_t)(UINT64_MAX >> 2);
        rem->tv_nsec = 0;
    } else {
        *rem = cs_ns_ts(left);
    }
}

static int co_nanosleep(cs_co *co, const struct timespec *req, struct timespec *rem)
{
    if (!req) {
        errno = EFAULT; /* what the kernel says for an unreadable request */
        return -1;
    }
    if (!valid_ts(req)) {
        errno = EINVAL;
        return -1;
    }
    uint64_t left;
    if (sleep_until(co, rel_deadline(req), &left) == EINTR) {
        fill_rem(rem, left);
        errno = EINTR;
        return -1;
    }
    return 0;
}

static CS_SLOW int nanosleep_hooked(const struct timespec *req, struct timespec *rem)
{
    cs_tls.call_arg =
        (req ? ((uint64_t)req->tv_sec * 1000u + (uint64_t)(req->tv_nsec + 999999) / 1000000u) : UINT64_MAX);
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_nanosleep, -1, cs_real.nanosleep(req, rem));
    co->cur_hook = CS_HOOK_nanosleep;
    co->call_pc = (uintptr_t)cs_tls.call_pc;
    co->call_fd = -1;
    int r = co_nanosleep(co, req, rem);
    int e = errno;
    cs_observe(CS_HOOK_nanosleep, -1, 1, 1, r, r < 0 ? e : 0);
    errno = e;
    return r;
}

CS_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
    CS_FAST_PASS(nanosleep, (req, rem));
    return nanosleep_hooked(req, rem);
}

static CS_SLOW int usleep_hooked(useconds_t us)
{
    cs_tls.call_arg = ((uint64_t)us + 999) / 1000;
    cs_co *co = cs_hook_co();
    if (!co) return CS_PASS(CS_HOOK_usleep, -1, cs_real.usleep(us));
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    co->cur_hook = CS_HOOK_usleep;
    co->call_pc = (uintptr_t)cs_tls.call_pc;
    co->call_fd = -1;
    int r = co_nanosleep(co, &ts, NULL);
    int e = errno;
    cs_observe(CS_HOOK_usleep, -1, 1, 1, r, r < 0 ? e : 0);
    errno = e;
    return r;
}

CS_EXPORT int usleep(useconds_t us)
{
    CS_FAST_PASS(usleep, (us));
    return usleep_hooked(us);
}

static CS_SLOW unsigned int sleep_hooked(unsigned int seconds)
{
    cs_tls.call_arg = (uint64_t)seconds * 1000u;
    cs_co *co = cs_hook_co();
    if (!co) {
        unsigned int r = cs_real.sleep(seconds);
        cs_observe(CS_HOOK_sleep, -1, 0, 0, (long)r, 0);
        return r;
    }
    int saved = errno;
    struct timespec ts = {(time_t)seconds, 0}, rem = {0, 0};
    unsigned int r = 0;
    co->cur_hook = CS_HOOK_sleep;
    co->call_pc = (uintptr_t)cs_tls.call_pc;
    co->call_fd = -1;
    if (co_nanosleep(co, &ts, &rem) < 0)
        r = (unsigned int)rem.tv_sec; /* whole seconds not slept, as glibc */
    else
        errno = saved;
    cs_observe(CS_HOOK_sleep, -1, 1, 1, (long)r, 0);
    return r;
}

CS_EXPORT unsigned int sleep(unsigned int seconds)
{
    CS_FAST_PASS(sleep, (seconds));
    return sleep_hooked(seconds);
}

static CS_SLOW int clock_nanosleep_hooked(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem)
{
    cs_tls.call_arg =
        (flags & TIMER_ABSTIME)
            ? 0
            : (req ? ((uint64_t)req->tv_sec * 1000u + (uint64_t)(req->tv_nsec + 999999) / 1000000u) : UINT64_MAX);
    cs_co *co = cs_hook_co();
    if (!co || !(clk == CLOCK_MONOTONIC || clk == CLOCK_REALTIME || clk == CLOCK_BOOTTIME || clk == CLOCK_TAI)) {
        /* CPU-time clocks cannot be waited on by a timer: real call. */
        int r = cs_real.clock_nanosleep(clk, flags, req, rem);
        cs_observe(CS_HOOK_clock_nanosleep, -1, co != NULL, 0, r ? -1 : 0, r);
        return r;
    }
    if (!req || !valid_ts(req)) {
        int err = req ? EINVAL : EFAULT;
        cs_observe(CS_HOOK_clock_nanosleep, -1, 1, 0, -1, err);
        return err;
    }
    uint64_t deadline;
    if (flags & TIMER_ABSTIME) {
        struct timespec now;
        clock_gettime(clk, &now);
        uint64_t target = cs_ts_ns(req), cur = cs_ts_ns(&now);
        uint64_t mono = cs_now_ns();
        /* Converted once to the monotonic clock: a later jump of a settable
         * clock (CLOCK_REALTIME) does not move the deadline. */
        deadline = target > cur ? mono + (target - cur) : mono;
    } else {
        deadline = rel_deadline(req);
    }
    uint64_t left;
    co->cur_hook = CS_HOOK_clock_nanosleep;
    co->call_pc = (uintptr_t)cs_tls.call_pc;
    co->call_fd = -1;
    int r = sleep_until(co, deadline, &left);
    if (r == EINTR && !(flags & TIMER_ABSTIME)) fill_rem(rem, left);
    cs_observe(CS_HOOK_clock_nanosleep, -1, 1, 1, r ? -1 : 0, r);
    return r;
}

CS_EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req, struct timespec *rem)
{
    CS_FAST_PASS(clock_nanosleep, (clk, flags, req, rem));
    return clock_nanosleep_hooked(clk, flags, req, rem);
}
