/*
 * stall.h — blocking calls that escaped the engine: a worker stuck inside
 * one coroutine's run in a system call the engine did not park (a stdio
 * read of a regular file, a raw syscall(2), sem_wait without its hook, any
 * unhooked blocking call).
 *
 * Who: the monitor thread (preempt.c, "cs-monitor") calls cs_stall_check
 * for every worker at every sampling round; all state here is the
 * monitor's own (one slot per worker), nothing is touched by workers. It
 * watches while COROSCOPE_STALL_MS is not 0, with preemption on or off.
 *
 * How: a run is the span between two changes of the worker's switch counter
 * as the monitor sees them; its start is the worker's CO_RUN stamp
 * (w->run_ns, written after the counter) when that falls between the
 * monitor's two rounds, else the round that saw the change. Once a run is older than COROSCOPE_STALL_MS
 * (default 20 ms), the monitor reads /proc/self/task/TID/syscall (a few
 * µs; only for runs that long). In a system call: a STALL record names the
 * worker, the coroutine, the call's number, its fd (first argument, for
 * the calls that take one) and what the fd is (readlink of
 * /proc/self/fd/N), once per (run, call, fd). Running user code is a long
 * run, not a stall (OFFCPU and the preemption records tell those apart).
 * The stall ends — STALL_END with the total — when the run switches out,
 * the thread leaves that call, or the worker stops running a coroutine.
 *
 * The coroutine's stack is not read: a running coroutine has no saved
 * context to walk, and /proc/self/task/TID/stack is the kernel's stack and
 * needs root.
 */
#ifndef CS_STALL_H
#define CS_STALL_H

#include <stdint.h>

#include "coroutine.h"

struct cs_worker;

/* Monitor thread, once per worker per round: sw the worker's switch
 * counter, cur its running coroutine (NULL: none), now cs_now_ns. */
void cs_stall_check(int idx, struct cs_worker *w, cs_co *cur, uint64_t sw, uint64_t now);

/* True if the monitor must keep sampling for stalls (COROSCOPE_STALL_MS). */
int cs_stall_watching(void);

#endif
