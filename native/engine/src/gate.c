/*
 * gate.c — the scheduler's gate (gate.h).
 */
#include "gate.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "telemetry.h"

_Atomic int cs_gate_closed; /* paused, or a slow-motion delay is set: workers call cs_gate_wait */
static _Atomic int paused;
static _Atomic uint64_t delay_ns; /* slow motion: wait this long before each decision (0: none) */
static _Atomic int64_t steps;     /* decisions allowed while paused */
static _Atomic uint32_t gate_seq; /* futex word: bumped on every change */

static void changed(void)
{
    atomic_fetch_add(&gate_seq, 1);
    syscall(SYS_futex, &gate_seq, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

int cs_gate_wait(void)
{
    for (;;) {
        uint32_t seq = atomic_load(&gate_seq);
        if (!atomic_load(&paused)) {
            uint64_t d = atomic_load(&delay_ns);
            if (!d) return 0;
            /* Slow motion: one decision per delay. A change of the gate
             * (pause, resume, a new delay) ends the wait early and is
             * looked at again. */
            if (cs_tel()) cs_tel_flush();
            struct timespec ts = {(time_t)(d / 1000000000u), (long)(d % 1000000000u)};
            long r = syscall(SYS_futex, &gate_seq, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
            if (r && errno == ETIMEDOUT) return 0;
            continue;
        }
        int64_t s = atomic_load(&steps);
        while (s > 0)
            if (atomic_compare_exchange_weak(&steps, &s, s - 1)) return 1;
        if (cs_tel()) cs_tel_flush(); /* what happened before the pause is visible while paused */
        syscall(SYS_futex, &gate_seq, FUTEX_WAIT_PRIVATE, seq, NULL, NULL, 0);
    }
}

void cs_gate_refund(void)
{
    /* A resume in between leaves a stray step; the next pause clears it. */
    if (atomic_load(&paused)) {
        atomic_fetch_add(&steps, 1);
        changed();
    }
}

static void update(void)
{
    atomic_store(&cs_gate_closed, atomic_load(&paused) || atomic_load(&delay_ns) != 0);
    changed();
}

void cs_gate_pause(int on)
{
    atomic_store(&steps, 0);
    atomic_store(&paused, on);
    update();
}

int cs_gate_paused(void)
{
    return atomic_load(&paused);
}

int cs_gate_step(long n)
{
    if (!atomic_load(&paused) || n < 1) return EINVAL;
    atomic_fetch_add(&steps, n);
    changed();
    return 0;
}

void cs_gate_set_delay(uint64_t ns)
{
    atomic_store(&delay_ns, ns);
    update();
}

uint64_t cs_gate_delay(void)
{
    return atomic_load(&delay_ns);
}

void cs_gate_start_paused(void)
{
    atomic_store(&paused, 1);
    atomic_store(&cs_gate_closed, 1);
}

void cs_gate_atfork_child(void)
{
    atomic_store(&paused, 0);
    atomic_store(&delay_ns, 0);
    atomic_store(&cs_gate_closed, 0);
    atomic_store(&steps, 0);
}
