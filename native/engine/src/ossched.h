/*
 * ossched.h — the OS's share: when the kernel took a worker thread off its
 * CPU, for how long, and whether it was taken (preempted while runnable:
 * CPU contention) or gave it up (slept in the kernel: a call the engine
 * could not park, a page fault, the worker's own idle sleep).
 *
 * Mechanism (chosen by measured cost, docs in README "The OS's share"):
 *   each worker opens, for its own thread, a perf software event
 *   (PERF_COUNT_SW_DUMMY) with context_switch=1 and an 8-page ring mapped
 *   into the process. The kernel appends a PERF_RECORD_SWITCH record,
 *   stamped with CLOCK_MONOTONIC, each time the thread leaves or gets a CPU
 *   (MISC_SWITCH_OUT_PREEMPT tells a preemption from a sleep). Nothing is
 *   read on the switch path but the ring's head: one load compared with our
 *   tail. Reading the thread's CPU clock instead costs a system call here
 *   (CLOCK_THREAD_CPUTIME_ID ~300 ns, getrusage ~250 ns, schedstat ~550 ns;
 *   no vDSO path), twice per switch.
 *   No privileges needed at perf_event_paranoid <= 2 (own thread); where
 *   perf_event_open is refused (seccomp, paranoid 3) the worker logs it once
 *   and tracks nothing. COROSCOPE_OSSCHED=0 turns it off (read at start).
 *   The ring is open only while telemetry is on (cs_ossched_follow at each
 *   switch-in): an open perf event makes every context switch of the thread
 *   dearer (~0.7 µs here, bench row ossched_kswitch), disabled or not, and
 *   with nobody recording its records would be thrown away.
 *
 * Emission: OFFCPU records (coroscope_events.h) — one per interval off the
 *   CPU of at least CS_OSSCHED_MIN_NS: taken intervals always, slept ones
 *   only while a coroutine runs (a worker sleeping while idle is WORKER_IDLE).
 *   Stamped when emitted (after the interval), a0 the moment the thread left
 *   the CPU. Emitted by the worker when it drains its ring: before a
 *   coroutine's CO_SUSPEND (wait.c), after it switches back (sched.c, before
 *   CO_YIELD/CO_FINISH) and before each CO_RUN — so a run's OFFCPU records
 *   precede the record that ends it.
 *
 * Warm-up: the first perf event with context_switch in a while makes the
 *   kernel enable its scheduler hooks (a static key, switched off again about
 *   a second after the last such event closes), which took 8-20 ms here — on
 *   a worker, a stall of every coroutine queued on it. So the monitor thread
 *   (cs_ossched_monitor_round, each round) opens one such event on itself
 *   while telemetry is on and holds it; workers open their rings only once it
 *   is held (cs_ossched_warm), each open then a few µs. A program recorded
 *   from its start warms up in the engine's start, before any worker runs
 *   (sched.c); telemetry turned on later (an attach) is not tracked for the
 *   first monitor round.
 *
 * Threads: everything here runs on the worker's own thread (its ring has
 * one reader: the owner), never in a signal handler, but the warm-up event
 * (the monitor's). The ring outlives the
 * perf fd (closed after mmap, so a program's close_range cannot hit it). A
 * forked child forgets the parent's ring (pthread_atfork).
 */
#ifndef CS_OSSCHED_H
#define CS_OSSCHED_H

#include <stdatomic.h>
#include <stdint.h>

#include "coroutine.h"

#define CS_OSSCHED_MIN_NS 20000 /* shorter intervals off the CPU are not reported */

/* One worker's ring and what it has read of it; owner thread only. */
typedef struct cs_ossched {
    const volatile uint64_t *head; /* the kernel's data_head in the mapped page */
    volatile uint64_t *tail;       /* our data_tail there (the kernel reads it) */
    uint64_t read;                 /* what we consumed (published to *tail) */
    unsigned char *data;           /* the data pages */
    uint64_t size;                 /* their size, a power of two */
    uint64_t out_ts;               /* the last SWITCH_OUT not yet matched by an IN (0: none) */
    int out_preempt;               /* it was a preemption */
    int worker;
    uint64_t lost; /* records the kernel could not write (LOST) */
    void *map;     /* the mapping (header page + data), for munmap */
    size_t map_len;
} cs_ossched;

/* The calling worker thread's ring (NULL: not tracking now). */
extern __thread cs_ossched *cs_ossched_self __attribute__((tls_model("initial-exec")));
/* 1: this thread never tracks (not a worker, COROSCOPE_OSSCHED=0, or the kernel refused). */
extern __thread int cs_ossched_never __attribute__((tls_model("initial-exec")));

/* Worker start (worker_main): this thread may track (COROSCOPE_OSSCHED). */
void cs_ossched_thread_init(int worker);

/* Open the ring (telemetry went on) or close it (telemetry went off). */
void cs_ossched_toggle(void);

/* 1 while the monitor holds its warm-up event (worker opens are cheap). */
extern _Atomic int cs_ossched_warm;

/* The monitor, each round (and the engine's start, before the monitor and the
 * workers run): hold the warm-up event exactly while telemetry is on. */
void cs_ossched_monitor_round(void);

/* At each switch-in, before draining: the ring is open exactly while
 * telemetry is on (recording, subscribed or flight recorder), since its
 * records are only ever turned into events then. One compare when nothing
 * changed. */
static inline void cs_ossched_follow(int tel)
{
    if (__builtin_expect(cs_ossched_self != NULL, 1)) {
        if (__builtin_expect(!tel, 0)) cs_ossched_toggle();
    } else if (__builtin_expect(tel && !cs_ossched_never, 0) &&
               atomic_load_explicit(&cs_ossched_warm, memory_order_relaxed)) {
        cs_ossched_toggle();
    }
}

/* Read the records the kernel appended; emit OFFCPU for co (NULL: the
 * scheduler is running). */
void cs_ossched_drain_slow(cs_co *co);

static inline void cs_ossched_drain(cs_co *co)
{
    cs_ossched *o = cs_ossched_self;
    /* A stale head only defers the drain to the next switch. */
    if (__builtin_expect(o != NULL, 1) && *o->head != o->read) cs_ossched_drain_slow(co);
}

#endif
