/*
 * san.h — telling AddressSanitizer and ThreadSanitizer about coroutine
 * stack switches. Compiled to nothing unless the engine itself is built
 * with -fsanitize=address or -fsanitize=thread (`make -C native asan`,
 * `make -C native tsan`); the normal build never sees a sanitizer symbol.
 *
 * Design
 *   A fiber is either a coroutine (its own stack) or a worker's scheduler
 *   (the worker thread's stack). Every cs_ctx_switch of the engine is
 *   bracketed by these calls, so the sanitizers always know which stack
 *   runs:
 *
 *       scheduler -> coroutine (sched.c run())
 *           cs_san_enter(&w->san, &co->san); cs_ctx_switch(...); cs_san_back(&w->san);
 *       coroutine side, first thing after it was switched in
 *           cs_san_entered(&co->san, &w->san)   (cs_co_main, cs_co_switch_out)
 *       coroutine -> scheduler (coroutine.c, overflow.c)
 *           cs_san_leave(&co->san, &w->san, dying); cs_ctx_switch(...);
 *
 *   ASan: __sanitizer_start_switch_fiber before the switch names the stack
 *   that will run, __sanitizer_finish_switch_fiber after it confirms the
 *   arrival; without them ASan takes a coroutine stack for a stack overflow
 *   of the thread's stack and reports false errors (or misses true ones).
 *   The scheduler's stack bounds are learned from the first finish on a
 *   coroutine (ASan reports the stack it came from). A coroutine that ends
 *   (returned, or killed by a stack overflow) passes dying = 1, which frees
 *   its fake stack; its stack keeps the shadow of frames that never
 *   returned, so cs_san_stack_reuse clears it before the stack goes back
 *   to the pool (sched.c finish()).
 *
 *   TSan: each coroutine gets a TSan fiber at creation (cs_san_co_init,
 *   any thread) and loses it when it ends (cs_san_co_fini, its worker);
 *   the scheduler's fiber is the worker thread's own (cs_san_sched_init).
 *   __tsan_switch_to_fiber is called right before each switch, with
 *   synchronisation (a switch orders what came before it, as on one
 *   thread).
 *
 * Invariants
 *   - Called only by the thread that does the switch, with the same signal
 *     state as the switch itself (the preemption trampoline reaches the
 *     switch through cs_co_switch_out like any yield; the stack-overflow
 *     exit runs on the worker's exit stack after the signal handler
 *     returned).
 *   - The fields of cs_san_fiber exist only in sanitizer builds: code
 *     outside this header never reads them.
 */
#ifndef CS_SAN_H
#define CS_SAN_H

#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CS_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define CS_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(CS_ASAN)
#define CS_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(CS_TSAN)
#define CS_TSAN 1
#endif

#if defined(CS_ASAN) || defined(CS_TSAN)
#define CS_SAN_FIBERS 1
#endif

#ifdef CS_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef CS_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#ifdef CS_SAN_FIBERS
typedef struct cs_san_fiber {
    void *fake_stack;   /* ASan: the fiber's fake stack while it is switched out */
    const void *bottom; /* ASan: lowest address of its stack */
    size_t size;        /* ASan: size of its stack (0: not known yet) */
    void *tsan;         /* TSan: its fiber */
} cs_san_fiber;
#endif

/* A coroutine's fiber, for its stack [lo, lo + size). Any thread. */
#ifdef CS_SAN_FIBERS
static inline void cs_san_co_init(cs_san_fiber *f, const void *lo, size_t size)
{
    f->fake_stack = NULL;
    f->bottom = lo;
    f->size = size;
#ifdef CS_TSAN
    f->tsan = __tsan_create_fiber(0);
#else
    f->tsan = NULL;
#endif
}

/* The coroutine ended: its TSan fiber goes (never the running fiber). */
static inline void cs_san_co_fini(cs_san_fiber *f)
{
#ifdef CS_TSAN
    if (f->tsan) __tsan_destroy_fiber(f->tsan);
#endif
    f->tsan = NULL;
}

/* A worker's scheduler fiber: the thread itself. On the worker thread. */
static inline void cs_san_sched_init(cs_san_fiber *f)
{
    f->fake_stack = NULL;
    f->bottom = NULL;
    f->size = 0;
#ifdef CS_TSAN
    f->tsan = __tsan_get_current_fiber();
#else
    f->tsan = NULL;
#endif
}

/* Scheduler about to switch into coroutine co. */
static inline void cs_san_enter(cs_san_fiber *sched, cs_san_fiber *co)
{
#ifdef CS_ASAN
    __sanitizer_start_switch_fiber(&sched->fake_stack, co->bottom, co->size);
#endif
#ifdef CS_TSAN
    __tsan_switch_to_fiber(co->tsan, 0);
#endif
    (void)sched;
    (void)co;
}

/* Scheduler, back from a coroutine. */
static inline void cs_san_back(cs_san_fiber *sched)
{
#ifdef CS_ASAN
    __sanitizer_finish_switch_fiber(sched->fake_stack, NULL, NULL);
#endif
    (void)sched;
}

/* Coroutine co, just switched in by the scheduler sched: learn its stack. */
static inline void cs_san_entered(cs_san_fiber *co, cs_san_fiber *sched)
{
#ifdef CS_ASAN
    __sanitizer_finish_switch_fiber(co->fake_stack, &sched->bottom, &sched->size);
#endif
    (void)co;
    (void)sched;
}

/* Coroutine co about to switch to its scheduler; dying: it never runs again. */
static inline void cs_san_leave(cs_san_fiber *co, cs_san_fiber *sched, int dying)
{
#ifdef CS_ASAN
    __sanitizer_start_switch_fiber(dying ? NULL : &co->fake_stack, sched->bottom, sched->size);
#endif
#ifdef CS_TSAN
    __tsan_switch_to_fiber(sched->tsan, 0);
#endif
    (void)co;
    (void)sched;
    (void)dying;
}

/* The stack [lo, lo + size) of an ended coroutine goes back to the pool:
 * clear the ASan shadow its abandoned frames left. */
static inline void cs_san_stack_reuse(void *lo, size_t size)
{
#ifdef CS_ASAN
    __asan_unpoison_memory_region(lo, size);
#endif
    (void)lo;
    (void)size;
}
#else /* no sanitizer: nothing at all */
#define cs_san_co_init(f, lo, size)    ((void)0)
#define cs_san_co_fini(f)              ((void)0)
#define cs_san_sched_init(f)           ((void)0)
#define cs_san_enter(sched, co)        ((void)0)
#define cs_san_back(sched)             ((void)0)
#define cs_san_entered(co, sched)      ((void)0)
#define cs_san_leave(co, sched, dying) ((void)0)
#define cs_san_stack_reuse(lo, size)   ((void)0)
#endif

#endif
