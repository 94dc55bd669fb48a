/*
 * coroscope.h — the C API of the Coroscope engine (libcoroscope.so).
 *
 * Coroscope runs stackful coroutines on a pool of worker threads. Inside a
 * coroutine, blocking libc calls (sleep, read, accept, poll, ...) park the
 * coroutine instead of blocking the thread, so the other coroutines run.
 *
 *   #include <coroscope.h>
 *   #include <stdio.h>
 *   #include <unistd.h>
 *
 *   static void *hello(void *arg) { sleep(1); puts(arg); return NULL; }
 *
 *   int main(void) {
 *       coroscope_co *co;
 *       coroscope_spawn(&co, "hello", hello, "hi");   // starts the workers
 *       return coroscope_join(co, NULL);             // blocks this thread
 *   }
 *
 *   cc hello.c -I native/engine/include -L native/build -lcoroscope -Wl,-rpath,native/build
 *
 * Every function returns 0 or a positive errno value; none of them sets
 * errno. A program that does not use this API can still be run with the
 * library preloaded (LD_PRELOAD=libcoroscope.so): its calls pass through the
 * hooks unchanged, because it never runs inside a coroutine.
 */
#ifndef COROSCOPE_H
#define COROSCOPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define COROSCOPE_VERSION_MAJOR 0
#define COROSCOPE_VERSION_MINOR 1
#define COROSCOPE_VERSION_PATCH 0

/* Returned by coroscope_join when the coroutine was ended because it
 * overflowed its stack (a report naming it is printed on stderr). Outside the
 * errno range on purpose. */
#define COROSCOPE_ESTACKOVERFLOW 10001

typedef struct coroscope_co coroscope_co;
typedef void *(*coroscope_fn)(void *arg);

/* Runtime configuration. Preloaded programs set it through environment
 * variables (see the README); programs linked with the library may also call
 * coroscope_configure. */
typedef struct coroscope_config {
    int workers;            /* worker threads; default: online cores (COROSCOPE_WORKERS) */
    size_t stack_size;      /* usable bytes per coroutine stack, multiple of the page size;
                                 default 256 KiB (COROSCOPE_STACK_SIZE) */
    uint64_t time_slice_ns; /* preemption time slice; default 10 ms (COROSCOPE_TIME_SLICE) */
    int hooks;              /* 1: blocking calls park coroutines; 0: they block the worker
                                 (COROSCOPE_HOOK) */
    int preempt;            /* 1: long-running coroutines are preempted (COROSCOPE_PREEMPT) */
    int migrate;            /* 1: coroutines that already ran may move to another worker when
                                 it steals; 0 (default): only unstarted ones move. See the README
                                 on why migration is unsafe for code that caches TLS/errno
                                 addresses (COROSCOPE_MIGRATE) */
} coroscope_config;

/* Fill *out with the configuration in effect (or that will take effect when
 * the runtime starts). */
int coroscope_config_get(coroscope_config *out);

/* Change the configuration. workers, stack_size and migrate can only change
 * before the first spawn (EBUSY afterwards, nothing changed); hooks, preempt
 * and time_slice_ns change at any time. EINVAL for out-of-range values. */
int coroscope_configure(const coroscope_config *cfg);

/* Create a coroutine named `name` (copied; may be NULL) running fn(arg) and
 * make it ready. Starts the worker threads on first use. On success *out is a
 * handle that must be passed to coroscope_join or coroscope_detach exactly
 * once. Errors: EAGAIN/ENOMEM when no stack could be mapped. */
int coroscope_spawn(coroscope_co **out, const char *name, coroscope_fn fn, void *arg);

/* Wait for `co` to finish and release its handle. Inside a coroutine the
 * caller is suspended; on a plain thread the thread blocks. *result (if not
 * NULL) receives fn's return value. Returns 0, COROSCOPE_ESTACKOVERFLOW if
 * the coroutine overflowed its stack, EDEADLK if a coroutine joins itself,
 * EINVAL if the handle was already joined or detached. */
int coroscope_join(coroscope_co *co, void **result);

/* Release the handle without waiting; the coroutine's resources go when it
 * finishes. */
int coroscope_detach(coroscope_co *co);

/* Inside a coroutine: let the other ready coroutines of this worker run, then
 * continue. On a plain thread: sched_yield(). */
void coroscope_yield(void);

/* Id of the calling coroutine (ids start at 1 and are never reused), or 0 on
 * a plain thread. */
uint64_t coroscope_id(void);

/* Id of the coroutine behind a handle that has not been joined yet. */
uint64_t coroscope_co_id(const coroscope_co *co);

#ifdef __cplusplus
}
#endif
#endif
