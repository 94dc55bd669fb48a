/*
 * emit_stack.h — the stack of a coroutine where it parks or is preempted
 * (CO_STACK records) and the program's code mappings (MAPPING records), so
 * an inspector can symbolise the return addresses offline.
 *
 * Capture
 *   Return addresses of the coroutine, innermost first, at most
 *   COROSCOPE_STACK_DEPTH (32; 1..64), leading and trailing frames of the
 *   engine itself left out (the innermost kept frame is the program's call
 *   site of the hook that parks). Two ways:
 *     - frame pointers: follow the rbp chain; each frame pointer must lie in
 *       the coroutine's stack [lo, hi), 8-aligned, and strictly above the
 *       previous one, so the walk never faults and always ends. The engine
 *       is built with -fno-omit-frame-pointer, so the chain runs through it.
 *     - a real unwinder (DWARF CFI): libunwind's unw_backtrace (dlopen'd at
 *       the runtime's start, no link dependency; it caches what it learnt
 *       of each frame: ~0.4-0.9 us for 11 frames here), else glibc's
 *       backtrace (libgcc's unwinder: no cache, ~5-13 us for 11 frames).
 *       libunwind checks the memory it reads by writing it to a pipe of
 *       its own; while it runs the thread is hidden from the hooks and
 *       muted (emit_stack.c unwind()), so those calls are not recorded as
 *       the program's and leave the parked call's state alone.
 *   COROSCOPE_STACKS: 0 off; 1 (default) auto — frame pointers when the
 *   coroutine's entry function sets up a frame pointer and the chain ends
 *   at the coroutine's root frame, else the unwinder; fp (always);
 *   unwind (the unwinder always: libunwind, or glibc's backtrace when
 *   libunwind.so.8 is not there); backtrace (glibc's always).
 *   COROSCOPE_STACK_SAMPLE=N: one park (or preemption) in N per thread.
 *
 *   Preemption: the signal handler (async-signal-safe: loads, compares and
 *   stores only) takes the interrupted pc and walks the interrupted rbp
 *   chain into a per-thread buffer; the trampoline's yield (normal context,
 *   same thread, before anything else runs on it) emits it. For a coroutine
 *   whose entry has no frame-pointer prologue the handler keeps the pc only
 *   (an unwinder is not async-signal-safe).
 *
 * Trace
 *   A stack is interned like a string: its text is the addresses in
 *   lowercase hex separated by spaces, defined by STRING records once per
 *   thread and string epoch (a small per-thread cache keyed by the address
 *   tuple's hash, cleared with the thread's strings), and CO_STACK (co, a0
 *   that string id, a1 why, a2 frames, a3 how) follows the CO_SUSPEND or
 *   PREEMPTED it belongs to, in the same thread's stream.
 *   MAPPING records (one per executable segment of each loaded object:
 *   start, end, load bias, path, build id) are emitted with the process
 *   metadata of each epoch and again when a new stack is interned after an
 *   object was loaded (dl_iterate_phdr's adds counter moved).
 *
 * Threads: cs_stack_emit_park/emit_preempt on the coroutine's worker in
 * normal context; cs_stack_on_signal in the preemption handler only;
 * cs_stack_emit_mappings on any emitting thread. None of it runs while
 * telemetry is off.
 */
#ifndef CS_EMIT_STACK_H
#define CS_EMIT_STACK_H

#include <stdint.h>

#include "coroutine.h"

struct cs_worker;

#define CS_STACK_MAX_DEPTH 64

enum cs_stack_mode {
    CS_STACKS_OFF = 0,
    CS_STACKS_AUTO = 1,
    CS_STACKS_FP = 2,
    CS_STACKS_UNWIND = 3,
    CS_STACKS_BACKTRACE = 4
};

/* Runtime start (normal context, before any coroutine runs): the self
 * text range; dlopen libunwind when the mode may use it. */
void cs_stack_init(void);

/* co parks (cs_wait_park), right after its CO_SUSPEND; telemetry on. */
void cs_stack_emit_park(cs_co *co);

/* Preemption handler, at a safe point: remember pc and the interrupted
 * frame-pointer chain for the yield that follows. Async-signal-safe. */
void cs_stack_on_signal(cs_co *co, uintptr_t pc, uintptr_t rbp);

/* co yields to a preemption, right after its PREEMPTED: deferred = 0 the
 * trampoline's yield (emits what the handler captured), 1 a deferred yield
 * at a hook entry (captures here). */
void cs_stack_emit_preempt(cs_co *co, int deferred);

/* Preemption signal handler, first: an inspector asked for the stack of
 * the coroutine running on w (cs_stack_on_demand). Captures it if co is
 * that coroutine. Returns 1 if a request was pending (the signal was the
 * request's, or also the request's). Async-signal-safe. */
int cs_stack_on_request(struct cs_worker *w, cs_co *co, uintptr_t pc, uintptr_t rbp);

/* Control thread (`stack CO`): the stack of coroutine co_id right now.
 * Running: its worker is signalled and the handler walks the interrupted
 * frame-pointer chain (pc only without frame pointers); up to `max`
 * addresses into out, innermost first; returns the count, or -1 (not
 * running: suspended, ready, finished or unknown; *state says which) or
 * -2 (its worker did not answer within 100 ms). With telemetry on, a
 * CO_STACK (why 4) from the calling thread records it too. */
int cs_stack_on_demand(uint64_t co_id, uintptr_t *out, int max, const char **state);

/* MAPPING records for every executable segment loaded now. */
void cs_stack_emit_mappings(void);

/* Capture the calling coroutine's stack as the park path would (mode as
 * configured, sampling ignored); returns the number of frames. For the
 * benchmark of the capture cost (coroscope__stack_capture). */
int cs_stack_capture(cs_co *co, int mode, uintptr_t *out, int max);

#endif
