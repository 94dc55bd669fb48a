/*
 * wait.c — parking and waking (the protocol is in wait.h).
 *
 * Threads: cs_wait_begin, cs_wait_park and cs_wake_cancel run on the owner
 * worker, in the coroutine that waits (never in a signal handler); cs_wake
 * from any thread, including the netpoller and timers of other workers.
 * Counting: w->nparked (owner only) counts the owner's coroutines between
 * cs_wait_begin and the end of that wait: cs_wake_cancel, or the woken
 * coroutine entering the owner's run queue (sched.c: cs_sched_ready on the
 * owner, drain_inbox). Each begun wait ends in exactly one of those.
 * Telemetry: CALL_ENTER (first park of a hooked call, emit_call.h) and
 * CO_SUSPEND from cs_wait_park, before the switch; WAKE from the waker.
 * cs_tls.call_arg (the call's argument summary, for its CALL) is kept across
 * the switch: other coroutines' calls overwrite it meanwhile.
 */
#include "wait.h"

#include "emit_call.h"
#include "emit_stack.h"
#include "log.h"
#include "ossched.h"
#include "telemetry.h"
#include "sched.h"
#include "timer.h"

uint64_t cs_wait_begin(cs_co *co, int interruptible)
{
    uint64_t t = atomic_load_explicit(&co->wait_seq, memory_order_relaxed) + 1;
    co->interruptible = interruptible;
    co->intr_epoch = atomic_load_explicit(&cs_rt.intr_epoch, memory_order_acquire);
    atomic_store_explicit(&co->wake_cause, CS_WAKE_NONE, memory_order_relaxed);
    co->state = CS_CO_SUSPENDED;
    co->owner->nparked++;
    atomic_store_explicit(&co->wait_seq, t, memory_order_seq_cst);
    return t;
}

static void park_link(cs_worker *w, cs_co *co)
{
    co->park_prev = NULL;
    co->park_next = w->parked;
    if (w->parked) w->parked->park_prev = co;
    w->parked = co;
    co->parked_linked = 1;
}

static void park_unlink(cs_worker *w, cs_co *co)
{
    if (!co->parked_linked) return;
    if (co->park_prev)
        co->park_prev->park_next = co->park_next;
    else
        w->parked = co->park_next;
    if (co->park_next) co->park_next->park_prev = co->park_prev;
    co->parked_linked = 0;
}

void cs_wait_detach(cs_worker *w, cs_co *co)
{
    if (co->heap_idx >= 0) cs_timer_del(w, co);
    park_unlink(w, co);
}

int cs_wait_park(cs_co *co, uint64_t token, uint64_t deadline)
{
    cs_worker *w = co->owner;
    int why = co->wait_why ? co->wait_why : COROSCOPE_SUSPEND_CALL;
    cs_ossched_drain(co); /* the run's OFFCPU records precede its CALL_ENTER and CO_SUSPEND (ossched.h) */
    if (cs_tel() && why != COROSCOPE_SUSPEND_JOIN)
        cs_emit_call_enter(co, deadline); /* first: before any WAKE the checks below may cause */
    if (deadline) {
        co->deadline = deadline;
        co->timer_token = token;
        if (cs_timer_add(w, co)) cs_fatal("out of memory growing the timer heap");
    }
    if (co->interruptible) {
        park_link(w, co);
        /* A signal that arrived between begin and here ends the wait now. */
        if (atomic_load_explicit(&cs_rt.intr_epoch, memory_order_acquire) != co->intr_epoch)
            cs_wake(co, token, CS_WAKE_SIGNAL);
    }
    if (cs_tel()) {
        cs_tel_emit(COROSCOPE_EV_CO_SUSPEND, co->id, (uint64_t)why, (uint64_t)(co->cur_hook + 1),
                    why == COROSCOPE_SUSPEND_JOIN ? co->wait_detail : (uint64_t)(int64_t)co->wait_fd,
                    (uint64_t)co->wait_events, deadline);
        cs_stack_emit_park(co); /* its CO_STACK, right after (emit_stack.h) */
    }
    uint64_t call_arg = cs_tls.call_arg;
    cs_co_switch_out(co);
    cs_tls.call_arg = call_arg;
    co->wait_why = 0; /* kept while parked: snapshots read them */
    co->wait_fd = -1;
    co->wait_events = 0;
    /* Resumed on the owner thread. With migration the owner may have
     * changed, but the old owner detached us (timer, park list) before
     * offering us for stealing (sched.c offer_surplus). */
    cs_wait_detach(co->owner, co);
    return atomic_load_explicit(&co->wake_cause, memory_order_acquire);
}

int cs_wake(cs_co *co, uint64_t token, int cause)
{
    return cs_wake_detail(co, token, cause, 0);
}

int cs_wake_detail(cs_co *co, uint64_t token, int cause, uint64_t detail)
{
    return cs_wake_seen(co, token, cause, detail, 0);
}

int cs_wake_seen(cs_co *co, uint64_t token, int cause, uint64_t detail, int seen)
{
    uint64_t expect = token;
    if (!(token & 1)) return 0;
    if (!atomic_compare_exchange_strong_explicit(&co->wait_seq, &expect, token + 1, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return 0;
    atomic_store_explicit(&co->wake_cause, cause, memory_order_release);
    if (cs_tel()) {
        cs_co *waker = cs_tls.co;
        cs_tel_emit(COROSCOPE_EV_WAKE, co->id, cs_tel_ready_why(cause), cause == CS_WAKE_TIMER ? co->deadline : detail,
                    (uint64_t)seen, waker ? waker->id : 0, cs_tls.w ? (uint64_t)cs_tls.w->idx : COROSCOPE_NO_WORKER);
    }
    cs_sched_ready(co);
    return 1;
}

void cs_wait_interrupt_parked(void)
{
    cs_worker *w = cs_tls.w;
    uint32_t epoch = atomic_load_explicit(&cs_rt.intr_epoch, memory_order_acquire);
    if (w->intr_epoch_seen == epoch) return;
    w->intr_epoch_seen = epoch;
    for (cs_co *co = w->parked; co; co = co->park_next) {
        if (co->interruptible && co->intr_epoch != epoch) {
            uint64_t t = atomic_load_explicit(&co->wait_seq, memory_order_acquire);
            cs_wake(co, t, CS_WAKE_SIGNAL);
        }
    }
}

int cs_wake_cancel(cs_co *co, uint64_t token)
{
    uint64_t expect = token;
    if (!atomic_compare_exchange_strong_explicit(&co->wait_seq, &expect, token + 1, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return 0;
    co->state = CS_CO_RUNNING;
    co->owner->nparked--;
    return 1;
}
