/*
 * clock.c — calibration and re-anchoring of the counter clock (clock.h).
 *
 * Invariants: a line changes only while it is not the one readers use
 * (line[seq & 1]), by the one thread holding cs_clk.lock (a try-lock, never
 * waited for: a reader that loses it goes on with the current line, or
 * reads CLOCK_MONOTONIC before the first calibration). `first` is written
 * once, by the constructor, before any other thread exists. System calls:
 * clock_gettime only (vDSO), and at init a raw read of one sysfs file.
 */
#include "clock.h"

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CALIBRATE_NS 2000000ull /* first rate after 2 ms of run time */
#define STEP_NS      1000000ull /* re-anchor every ms at first, while the rate is young */

cs_clock_params cs_clk;

static int usable;                   /* the counter may be used */
static uint64_t first_tsc, first_ns; /* the whole run's baseline for the rate */

uint64_t cs_clock_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The kernel's clocksource: "tsc" means it found the counter invariant and
 * synchronised, and derives CLOCK_MONOTONIC from it. */
static int kernel_uses_tsc(void)
{
    char buf[32] = {0};
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/sys/devices/system/clocksource/clocksource0/current_clocksource",
                          O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
    syscall(SYS_close, fd);
    return n >= 3 && !strncmp(buf, "tsc", 3) && (n == 3 || buf[3] == '\n');
}

/* A (counter, CLOCK_MONOTONIC) pair read as close together as we can: the
 * tightest of three tries, the counter taken at the middle. */
static uint64_t pair(uint64_t *ns)
{
    uint64_t best = UINT64_MAX, tsc = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t a = __rdtsc(), m = cs_clock_mono(), b = __rdtsc();
        if (b - a < best) {
            best = b - a;
            tsc = a + (b - a) / 2;
            *ns = m;
        }
    }
    return tsc;
}

void cs_clock_init(int use_tsc)
{
    memset(&cs_clk, 0, sizeof cs_clk); /* next_tsc 0: not calibrated */
    usable = use_tsc && kernel_uses_tsc();
    if (usable) first_tsc = pair(&first_ns);
}

static uint64_t ticks_for(uint64_t ns, uint64_t mult)
{
    unsigned __int128 t = ((unsigned __int128)ns << 32) / mult;
    return t > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)t;
}

/* The current line's time at t; CLOCK_MONOTONIC before the first calibration. */
static uint64_t current(uint64_t t)
{
    for (;;) {
        uint32_t s = atomic_load_explicit(&cs_clk.seq, memory_order_acquire);
        cs_clock_line *l = &cs_clk.line[s & 1];
        uint64_t bt = atomic_load_explicit(&l->base_tsc, memory_order_relaxed);
        uint64_t bn = atomic_load_explicit(&l->base_ns, memory_order_relaxed);
        uint64_t m = atomic_load_explicit(&l->mult, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&cs_clk.seq, memory_order_relaxed) != s) continue;
        return m ? cs_clock_at(t, bt, bn, m) : cs_clock_mono();
    }
}

uint64_t cs_clock_slow(uint64_t t)
{
    if (!usable) return cs_clock_mono();
    uint32_t unlocked = 0;
    if (atomic_load_explicit(&cs_clk.lock, memory_order_relaxed) ||
        !atomic_compare_exchange_strong_explicit(&cs_clk.lock, &unlocked, 1, memory_order_acquire,
                                                 memory_order_relaxed))
        return current(t); /* another thread re-anchors right now */
    uint32_t s = atomic_load_explicit(&cs_clk.seq, memory_order_relaxed);
    cs_clock_line *cur = &cs_clk.line[s & 1], *nl = &cs_clk.line[(s + 1) & 1];
    uint64_t mono = 0, tsc = pair(&mono), now = mono;
    uint64_t elapsed = mono - first_ns;
    if (tsc <= first_tsc || elapsed < CALIBRATE_NS) {
        atomic_store_explicit(&cs_clk.lock, 0, memory_order_release);
        return mono; /* not calibrated yet: CLOCK_MONOTONIC */
    }
    /* The rate over the whole run so far: the longer the baseline, the
     * smaller its error. */
    uint64_t rate = (uint64_t)(((unsigned __int128)elapsed << 32) / (tsc - first_tsc));
    if (!rate) {
        atomic_store_explicit(&cs_clk.lock, 0, memory_order_release);
        return mono;
    }
    uint64_t period_ns = elapsed / 4 < STEP_NS ? STEP_NS : elapsed / 4;
    if (period_ns > CS_CLOCK_PERIOD_NS) period_ns = CS_CLOCK_PERIOD_NS;
    uint64_t mult = rate, m_old = atomic_load_explicit(&cur->mult, memory_order_relaxed);
    if (m_old) {
        /* Where the current line is now; slew from there to meet
         * CLOCK_MONOTONIC one period later, never stepping back. */
        uint64_t old = cs_clock_at(tsc, atomic_load_explicit(&cur->base_tsc, memory_order_relaxed),
                                   atomic_load_explicit(&cur->base_ns, memory_order_relaxed), m_old);
        if (old <= mono + period_ns / 2 && old + period_ns >= mono) {
            now = old;
            mult = (uint64_t)((((unsigned __int128)(mono + period_ns - old)) << 32) / ticks_for(period_ns, rate));
        } else if (old > mono) {
            now = old; /* far ahead (it cannot go back): half speed until CLOCK_MONOTONIC catches up */
            mult = rate / 2;
        } /* far behind (a stopped counter, a suspended VM): step forward to CLOCK_MONOTONIC */
    }
    atomic_store_explicit(&nl->base_tsc, tsc, memory_order_relaxed);
    atomic_store_explicit(&nl->base_ns, now, memory_order_relaxed);
    atomic_store_explicit(&nl->mult, mult, memory_order_relaxed);
    atomic_store_explicit(&nl->next_tsc, tsc + ticks_for(period_ns, rate), memory_order_relaxed);
    atomic_store_explicit(&cs_clk.seq, s + 1, memory_order_release); /* readers take the new line */
    atomic_store_explicit(&cs_clk.lock, 0, memory_order_release);
    return cs_clock_at(t > tsc ? t : tsc, tsc, now, mult);
}
