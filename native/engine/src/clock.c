/*
 * clock.c — calibration and re-anchoring of the counter clock (clock.h).
 *
 * Invariants: the parameters in cs_clk change only under its sequence lock,
 * taken with a compare-and-swap by whichever thread's read found the
 * counter past next_tsc (never waited for: a thread that loses the race
 * reads CLOCK_MONOTONIC once). `first` is written once, by the constructor,
 * before any other thread exists. System calls: clock_gettime only (vDSO),
 * and at init a raw read of one sysfs file.
 */
#include "clock.h"

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CALIBRATE_NS 2000000ull  /* first rate after 2 ms of run time */
#define STEP_NS 1000000ull       /* re-anchor every ms at first, while the rate is young */

cs_clock_params cs_clk;

static int usable;               /* the counter may be used */
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
    if (fd < 0)
        return 0;
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
    atomic_store(&cs_clk.next_tsc, 0);
    usable = use_tsc && kernel_uses_tsc();
    if (usable)
        first_tsc = pair(&first_ns);
}

static uint64_t ticks_for(uint64_t ns, uint64_t mult)
{
    unsigned __int128 t = ((unsigned __int128)ns << 32) / mult;
    return t > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)t;
}

uint64_t cs_clock_slow(uint64_t t)
{
    (void)t;
    if (!usable)
        return cs_clock_mono();
    uint32_t s = atomic_load_explicit(&cs_clk.seq, memory_order_relaxed);
    if ((s & 1) || !atomic_compare_exchange_strong_explicit(&cs_clk.seq, &s, s + 1, memory_order_acquire,
                                                            memory_order_relaxed))
        return cs_clock_mono(); /* another thread re-anchors right now */
    atomic_thread_fence(memory_order_release); /* the odd seq is visible before the new parameters */
    uint64_t mono, tsc = pair(&mono), now = mono;
    uint64_t next = atomic_load_explicit(&cs_clk.next_tsc, memory_order_relaxed);
    uint64_t elapsed = mono - first_ns;
    if (tsc > first_tsc && elapsed >= CALIBRATE_NS) {
        /* The rate over the whole run so far: the longer the baseline, the
         * smaller its error. */
        uint64_t rate = (uint64_t)(((unsigned __int128)elapsed << 32) / (tsc - first_tsc));
        uint64_t period_ns = elapsed / 4 < STEP_NS ? STEP_NS : elapsed / 4;
        if (period_ns > CS_CLOCK_PERIOD_NS)
            period_ns = CS_CLOCK_PERIOD_NS;
        uint64_t mult = rate;
        if (next && rate) {
            /* Where the current line is now; slew from there to meet
             * CLOCK_MONOTONIC one period later, never stepping back. */
            uint64_t bt = atomic_load_explicit(&cs_clk.base_tsc, memory_order_relaxed);
            uint64_t d = (int64_t)(tsc - bt) > 0 ? tsc - bt : 0;
            uint64_t old = atomic_load_explicit(&cs_clk.base_ns, memory_order_relaxed) +
                           (uint64_t)(((unsigned __int128)d * atomic_load_explicit(&cs_clk.mult, memory_order_relaxed)) >> 32);
            uint64_t target = mono + period_ns;
            if (old <= mono + period_ns / 2 && old + period_ns >= mono) {
                now = old;
                mult = (uint64_t)((((unsigned __int128)(target - old)) << 32) / ticks_for(period_ns, rate));
            } else if (old > mono) {
                now = old; /* far ahead (cannot go back): half speed until CLOCK_MONOTONIC catches up */
                mult = rate / 2;
            } /* far behind (a stopped counter, a suspended VM): step forward to CLOCK_MONOTONIC */
        }
        if (rate) {
            atomic_store_explicit(&cs_clk.base_tsc, tsc, memory_order_relaxed);
            atomic_store_explicit(&cs_clk.base_ns, now, memory_order_relaxed);
            atomic_store_explicit(&cs_clk.mult, mult, memory_order_relaxed);
            atomic_store_explicit(&cs_clk.next_tsc, tsc + ticks_for(period_ns, rate), memory_order_relaxed);
        }
    }
    atomic_store_explicit(&cs_clk.seq, s + 2, memory_order_release);
    return now;
}
