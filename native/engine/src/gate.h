/*
 * gate.h — the scheduler's gate: pause, step and slow motion.
 *
 * Every worker passes the gate at the top of each scheduling decision
 * (sched.c, cs_gate). Open (the common case) it costs one relaxed load.
 * Closed — paused, or a slow-motion delay set — the worker waits in
 * cs_gate_wait: while paused until a step is available (it takes one: one
 * coroutine switched in) or the gate opens; with a delay, that long before
 * each decision. A worker that took a step and then found nothing to run
 * gives it back (cs_gate_refund) before it sleeps.
 *
 * Who touches what: the control thread (control.c) closes and opens the
 * gate and adds steps (cs_gate_pause, cs_gate_step, cs_gate_set_delay);
 * the constructor may start it closed (cs_gate_start_paused, before any
 * worker exists); workers wait and take or give back steps. Every field is
 * an atomic; waits are on a private futex (gate_seq, bumped on every
 * change), so no lock is held anywhere. Signals: workers wait with their
 * usual mask (a preemption signal ends a futex wait early; it is looked at
 * again).
 */
#ifndef CS_GATE_H
#define CS_GATE_H

#include <stdatomic.h>
#include <stdint.h>

/* Nonzero while the scheduler is paused (or stepping) or a slow-motion
 * delay is set: workers then call cs_gate_wait. */
extern _Atomic int cs_gate_closed;

/* Worker, before picking the next coroutine: wait while paused, unless a
 * step is available (taken here: returns 1); with a delay, wait it. */
int cs_gate_wait(void);
/* Worker that took a step and found nothing to run: give it back. */
void cs_gate_refund(void);

static inline int cs_gate(void)
{
    if (__builtin_expect(atomic_load_explicit(&cs_gate_closed, memory_order_relaxed), 0)) return cs_gate_wait();
    return 0;
}

/* Control: pause (1) or resume (0); either clears the steps left. */
void cs_gate_pause(int on);
int cs_gate_paused(void);
/* Control: allow n more decisions while paused. EINVAL unless paused. */
int cs_gate_step(long n);
/* Control: slow motion, wait ns before each decision (0: off). */
void cs_gate_set_delay(uint64_t ns);
uint64_t cs_gate_delay(void);

/* Constructor (no worker yet): the scheduler starts paused. */
void cs_gate_start_paused(void);
/* Forked child: open. */
void cs_gate_atfork_child(void);

#endif
