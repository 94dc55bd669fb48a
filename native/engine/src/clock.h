/*
 * clock.h — the engine's monotonic clock (cs_now_ns): CLOCK_MONOTONIC
 * nanoseconds, read in a few ns from the CPU's time-stamp counter.
 *
 * Why: every recorded event carries a timestamp and every observed call two
 * (entry and end, for its duration). clock_gettime through the vDSO costs
 * ~16 ns here, ~38 ns for the pair around a system call; rdtsc ~7 ns. On a
 * program making a million cheap calls a second that difference is a large
 * part of what recording costs.
 *
 * Design
 *   ns = base_ns + ((tsc - base_tsc) * mult) >> 32, mult = ns per tick in
 *   32.32 fixed point: a "line" (an anchor and a rate). Two lines, of which
 *   readers use line[seq & 1] (a latch: the writer fills the other one and
 *   then bumps seq, so a reader never waits for a writer, even one that was
 *   preempted or interrupted mid-update; a reader whose seq changed while it
 *   read retries). Lines follow CLOCK_MONOTONIC: when the counter passes the
 *   line's `next_tsc` (every CS_CLOCK_PERIOD_NS at most), the reader that
 *   sees it and wins a try-lock re-anchors (clock.c): it reads
 *   CLOCK_MONOTONIC, measures the rate over the whole run so far, and slews:
 *   the new line starts where the old one is at that moment (so the clock
 *   never steps back) and meets CLOCK_MONOTONIC again one period later.
 *   Readers that lose the try-lock use the current line a little longer.
 *   The difference from CLOCK_MONOTONIC therefore stays within the rate's
 *   error over one period (well under a microsecond once the run is a few
 *   ms old).
 *
 *   The counter is used only when the kernel itself uses it for
 *   CLOCK_MONOTONIC (clocksource "tsc": it found it invariant — constant
 *   rate, running in every C-state — and synchronised across CPUs), and
 *   not with COROSCOPE_TSC=0. Otherwise, and until the first calibration
 *   (2 ms after load: the rate is measured, never assumed), cs_now_ns is
 *   clock_gettime(CLOCK_MONOTONIC). A line with next_tsc = 0 means "not
 *   calibrated": every read takes the slow path.
 *
 * Threads and signals: cs_now_ns from any thread, in signal handlers too
 * (nothing is waited for). errno is left alone. The lines are relaxed
 * atomics ordered by seq (TSan sees no race).
 */
#ifndef CS_CLOCK_H
#define CS_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>
#include <x86intrin.h>

#define CS_CLOCK_PERIOD_NS 50000000ull /* re-anchor at least every 50 ms of run time */

typedef struct cs_clock_line {
    _Atomic uint64_t base_tsc;
    _Atomic uint64_t base_ns;
    _Atomic uint64_t mult;     /* ns per tick << 32 */
    _Atomic uint64_t next_tsc; /* re-anchor once the counter passes this; 0: slow path always */
} cs_clock_line;

typedef struct cs_clock_params {
    _Atomic uint32_t seq;  /* readers use line[seq & 1]; bumped after the other line was filled */
    _Atomic uint32_t lock; /* 1: a thread is re-anchoring */
    cs_clock_line line[2];
} cs_clock_params;

extern cs_clock_params cs_clk;

/* Constructor: decide whether the counter can be used (COROSCOPE_TSC=0: never). */
void cs_clock_init(int use_tsc);

/* The slow path: calibration, re-anchoring, or CLOCK_MONOTONIC. */
uint64_t cs_clock_slow(uint64_t tsc);

/* CLOCK_MONOTONIC via clock_gettime (the reference). */
uint64_t cs_clock_mono(void);

/* The line's time at counter value t (a counter a little behind the one
 * that anchored the line, on another CPU: the anchor's time). */
static inline uint64_t cs_clock_at(uint64_t t, uint64_t bt, uint64_t bn, uint64_t m)
{
    uint64_t d = (int64_t)(t - bt) > 0 ? t - bt : 0;
    return bn + (uint64_t)(((unsigned __int128)d * m) >> 32);
}

static inline __attribute__((always_inline)) uint64_t cs_now_ns(void)
{
    for (;;) {
        uint32_t s = atomic_load_explicit(&cs_clk.seq, memory_order_acquire);
        cs_clock_line *l = &cs_clk.line[s & 1];
        uint64_t next = atomic_load_explicit(&l->next_tsc, memory_order_relaxed);
        uint64_t bt = atomic_load_explicit(&l->base_tsc, memory_order_relaxed);
        uint64_t bn = atomic_load_explicit(&l->base_ns, memory_order_relaxed);
        uint64_t m = atomic_load_explicit(&l->mult, memory_order_relaxed);
        uint64_t t = __rdtsc();
        atomic_thread_fence(memory_order_acquire);
        if (__builtin_expect(atomic_load_explicit(&cs_clk.seq, memory_order_relaxed) != s, 0))
            continue; /* a new line meanwhile: read it */
        if (__builtin_expect(t >= next, 0)) return cs_clock_slow(t);
        return cs_clock_at(t, bt, bn, m);
    }
}

#endif
