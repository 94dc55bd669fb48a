/*
 * api.c — the public C API (coroscope.h).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../include/coroscope.h"
#include "config.h"
#include "coroutine.h"
#include "hook.h"
#include "preempt.h"
#include "sched.h"
#include "wait.h"

/* handle states, in cs_co.refs' companion: a handle may be consumed once */
struct coroscope_co; /* opaque: a cs_co */

static cs_co *co_of(coroscope_co *h)
{
    return (cs_co *)h;
}

CS_EXPORT int coroscope_config_get(coroscope_config *out)
{
    if (!out) return EINVAL;
    out->workers = cs_cfg.workers;
    out->stack_size = cs_cfg.stack_size;
    out->time_slice_ns = atomic_load(&cs_cfg.time_slice_ns);
    out->hooks = atomic_load(&cs_cfg.hooks);
    out->preempt = atomic_load(&cs_cfg.preempt);
    out->migrate = cs_cfg.migrate;
    return 0;
}

CS_EXPORT int coroscope_configure(const coroscope_config *c)
{
    if (!c) return EINVAL;
    long page = sysconf(_SC_PAGESIZE);
    if (c->workers < 1 || c->workers > 256 || c->stack_size < 16 * 1024 || c->stack_size > 1024ul * 1024 * 1024 ||
        c->stack_size % (size_t)page || c->time_slice_ns < 100000 || (c->hooks != 0 && c->hooks != 1) ||
        (c->preempt != 0 && c->preempt != 1) || (c->migrate != 0 && c->migrate != 1))
        return EINVAL;
    int started = atomic_load(&cs_rt.started) != 0;
    if (started && (c->workers != cs_cfg.workers || c->stack_size != cs_cfg.stack_size || c->migrate != cs_cfg.migrate))
        return EBUSY;
    if (!started) { /* once started they are read by every thread: never written again (they equal c's) */
        cs_cfg.workers = c->workers;
        cs_cfg.stack_size = c->stack_size;
        cs_cfg.migrate = c->migrate;
    }
    atomic_store(&cs_cfg.time_slice_ns, c->time_slice_ns);
    atomic_store(&cs_cfg.hooks, c->hooks);
    atomic_store(&cs_cfg.preempt, c->preempt);
    if (c->preempt) cs_preempt_switched_on(); /* a monitor asleep while preemption was off looks again */
    cs_config_changed();
    return 0;
}

CS_EXPORT int coroscope_spawn(coroscope_co **out, const char *name, coroscope_fn fn, void *arg)
{
    if (!out || !fn) return EINVAL;
    int saved = errno;    /* starting the runtime makes system calls: errno is the caller's */
    cs_forkguard_check(); /* a child made without fork handlers rebuilds its runtime first */
    int err = cs_sched_start();
    cs_co *co = err ? NULL : cs_co_new(name, fn, arg, &err);
    if (co) {
        *out = (coroscope_co *)co;
        cs_sched_spawn(co);
    }
    errno = saved;
    return co ? 0 : err;
}

static int consume_handle(cs_co *co)
{
    /* The handle's reference is taken exactly once. refs counts body+handle;
     * `joined` marks the handle consumed. */
    int expect = 0;
    return atomic_compare_exchange_strong(&co->handle_used, &expect, 1) ? 0 : EINVAL;
}

CS_EXPORT int coroscope_join(coroscope_co *h, void **result)
{
    cs_co *co = co_of(h);
    if (!co) return EINVAL;
    cs_co *self = cs_tls.co;
    if (self == co) return EDEADLK;
    if (consume_handle(co)) return EINVAL;
    if (self) {
        for (;;) {
            cs_spin_lock(&co->join_lock);
            if (atomic_load(&co->done) == 1) {
                cs_spin_unlock(&co->join_lock);
                break;
            }
            uint64_t t = cs_wait_begin(self, 0);
            self->wait_why = COROSCOPE_SUSPEND_JOIN;
            self->wait_detail = co->id;
            co->joiner = self;
            co->joiner_token = t;
            cs_spin_unlock(&co->join_lock);
            cs_wait_park(self, t, 0);
        }
    } else {
        int saved = errno; /* the futex wait must not leak EINTR/EAGAIN */
        for (;;) {
            int v = atomic_load(&co->done);
            if (v == 1) break;
            if (v == 0 && !atomic_compare_exchange_strong(&co->done, &v, 2)) continue;
            syscall(SYS_futex, &co->done, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        }
        errno = saved;
    }
    int rc = co->exit == CS_EXIT_OVERFLOW ? COROSCOPE_ESTACKOVERFLOW : 0;
    if (result) *result = co->result;
    cs_co_unref(co);
    return rc;
}

CS_EXPORT int coroscope_detach(coroscope_co *h)
{
    cs_co *co = co_of(h);
    if (!co || consume_handle(co)) return EINVAL;
    cs_co_unref(co);
    return 0;
}

CS_EXPORT void coroscope_yield(void)
{
    cs_co *co = cs_tls.co;
    if (co)
        cs_sched_yield(co);
    else
        sched_yield();
}

CS_EXPORT uint64_t coroscope_id(void)
{
    cs_co *co = cs_tls.co;
    return co ? co->id : 0;
}

CS_EXPORT uint64_t coroscope_co_id(const coroscope_co *h)
{
    return h ? ((const cs_co *)h)->id : 0;
}
