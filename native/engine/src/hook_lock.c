/*
 * hook_lock.c — counting the locks a coroutine holds, so preemption never
 * switches away from a coroutine inside a critical section (spin trylock
 * and unlock, stdio FILE locks here; pthread mutexes, rwlocks and
 * pthread_spin_lock in hook_sync.c, which count them through
 * cs_lock_acquired/cs_lock_released).
 *
 * pthread mutexes, rwlocks and spin locks belong to the OS thread: if a
 * coroutine were switched out while holding one, the next coroutine on the
 * same worker would run "inside" it, and stdio FILE locks (flockfile) would
 * let two coroutines interleave on one FILE. Each hook calls the real
 * function and, inside a coroutine, counts successful acquisitions in
 * co->locks. The signal handler defers preemption while co->locks > 0; the
 * release that brings the count back to zero performs the deferred yield.
 *
 * The hooks here never park or yield: pthread_spin_trylock/unlock and the
 * FILE locks are counted only. Mutexes, condition variables, rwlocks and
 * pthread_spin_lock (which yields between tries) are hook_sync.c's. Resolution happens in the
 * constructor, which runs before every other library's (the library is
 * linked with -z initfirst), so the pointers are always set when a hook
 * runs.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "hook.h"
#include "log.h"
#include "preempt.h"
#include "sched.h"

#define CS_LOCK_FUNCS(X)                                         \
    X(int, pthread_spin_trylock, (pthread_spinlock_t *), (m), 1) \
    X(int, pthread_spin_unlock, (pthread_spinlock_t *), (m), -1)

static struct {
#define FIELD(ret, name, params, args, delta) ret(*name) params;
    CS_LOCK_FUNCS(FIELD)
#undef FIELD
    void (*flockfile)(FILE *);
    int (*ftrylockfile)(FILE *);
    void (*funlockfile)(FILE *);
} real_lock;

void cs_sync_hooks_resolve(void);
void cs_rwlock_hooks_resolve(void);

void cs_lock_hooks_resolve(void)
{
    cs_sync_hooks_resolve();
    cs_rwlock_hooks_resolve();
#define RESOLVE(ret, name, params, args, delta) real_lock.name = (ret(*) params)dlsym(RTLD_NEXT, #name);
    CS_LOCK_FUNCS(RESOLVE)
#undef RESOLVE
    real_lock.flockfile = (void (*)(FILE *))dlsym(RTLD_NEXT, "flockfile");
    real_lock.ftrylockfile = (int (*)(FILE *))dlsym(RTLD_NEXT, "ftrylockfile");
    real_lock.funlockfile = (void (*)(FILE *))dlsym(RTLD_NEXT, "funlockfile");
}

void cs_lock_acquired(void);
void cs_lock_released(const void *site);

static inline void acquired(void)
{
    cs_co *co = cs_tls.co;
    if (co) co->locks++;
}

/* site: the unlock's return address; the deferred preemption is served here
 * only if the program's own code released the lock (preempt.h). */
static inline void released(const void *site)
{
    cs_co *co = cs_tls.co;
    if (co && co->locks > 0 && --co->locks == 0 && co->preempt_pending) {
        if (cs_preempt_site_ok(site, NULL))
            cs_preempt_deferred_yield(co);
        else /* a library released it: no longer waiting for a lock, the monitor signals again */
            co->owner->deferred_reason = CS_DEFER_LIBRARY_CODE;
    }
}

void cs_lock_acquired(void)
{
    acquired();
}
void cs_lock_released(const void *site)
{
    released(site);
}

static _Noreturn void unresolved(const char *name)
{
    cs_fatal("%s called before the engine's constructor ran (another library was initialised first?)", name);
}

#define HOOK(ret, name, params, args, delta)                         \
    CS_EXPORT ret name params_named_##name                           \
    {                                                                \
        if (__builtin_expect(!real_lock.name, 0)) unresolved(#name); \
        ret r = real_lock.name args;                                 \
        if (r == 0) {                                                \
            if ((delta) > 0)                                         \
                acquired();                                          \
            else                                                     \
                released(__builtin_return_address(0));               \
        }                                                            \
        return r;                                                    \
    }

#define params_named_pthread_spin_trylock (pthread_spinlock_t * m)
#define params_named_pthread_spin_unlock  (pthread_spinlock_t * m)

CS_LOCK_FUNCS(HOOK)

CS_EXPORT void flockfile(FILE *f)
{
    if (__builtin_expect(!real_lock.flockfile, 0)) unresolved("flockfile");
    real_lock.flockfile(f);
    acquired();
}

CS_EXPORT int ftrylockfile(FILE *f)
{
    if (__builtin_expect(!real_lock.ftrylockfile, 0)) unresolved("ftrylockfile");
    int r = real_lock.ftrylockfile(f);
    if (r == 0) acquired();
    return r;
}

CS_EXPORT void funlockfile(FILE *f)
{
    if (__builtin_expect(!real_lock.funlockfile, 0)) unresolved("funlockfile");
    real_lock.funlockfile(f);
    released(__builtin_return_address(0));
}
