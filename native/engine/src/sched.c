#include "sched.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "emit_stack.h"
#include "emit_symbol.h"
#include "fdtable.h"
#include "log.h"
#include "netpoll.h"
#include "overflow.h"
#include "ossched.h"
#include "preempt.h"
#include "stack.h"
#include "telemetry.h"
#include "control.h"
#include "gate.h"
#include "timer.h"
#include "wait.h"

cs_runtime cs_rt = {
    .netpoll_owner = -1,
    .next_id = 1,
};

/* How often a busy worker polls the netpoller without blocking. */
#define BUSY_POLL_NS 1000000ull

/* ---- queues ------------------------------------------------------------ */

static inline void q_push(cs_queue *q, cs_co *co)
{
    co->next = NULL;
    if (q->tail)
        q->tail->next = co;
    else
        q->head = co;
    q->tail = co;
    q->n++;
}

static inline cs_co *q_pop(cs_queue *q)
{
    cs_co *co = q->head;
    if (co) {
        q->head = co->next;
        if (!q->head) q->tail = NULL;
        q->n--;
        co->next = NULL;
    }
    return co;
}

static void spawnq_push(cs_worker *w, cs_co *co)
{
    cs_spin_lock(&w->spawn_lock);
    q_push(&w->spawnq, co);
    atomic_store_explicit(&w->spawnq_n, w->spawnq.n, memory_order_relaxed);
    cs_spin_unlock(&w->spawn_lock);
}

static cs_co *spawnq_pop(cs_worker *w)
{
    cs_spin_lock(&w->spawn_lock);
    cs_co *co = q_pop(&w->spawnq);
    atomic_store_explicit(&w->spawnq_n, w->spawnq.n, memory_order_relaxed);
    cs_spin_unlock(&w->spawn_lock);
    return co;
}

/* ---- waking workers ------------------------------------------------------ */

static void efd_signal(int efd)
{
    uint64_t one = 1;
    syscall(SYS_write, efd, &one, sizeof one);
}

static void efd_drain(int efd)
{
    uint64_t v;
    syscall(SYS_read, efd, &v, sizeof v);
}

void cs_sched_kick(cs_worker *w)
{
    if (atomic_load_explicit(&w->sleeping, memory_order_seq_cst)) efd_signal(w->efd);
}

/* Wake one sleeping worker (other than self) so it can take stealable work.
 * At most one such wake is in flight (cs_rt.kicking, cleared by the worker
 * when it leaves its sleep): a burst of spawns costs one eventfd write, and
 * the woken worker wakes the next if work is left (take_injected). */
static void kick_one_sleeper(cs_worker *self)
{
    if (atomic_load_explicit(&cs_rt.nsleeping, memory_order_seq_cst) == 0 ||
        atomic_load_explicit(&cs_rt.kicking, memory_order_relaxed) ||
        atomic_exchange_explicit(&cs_rt.kicking, 1, memory_order_acq_rel))
        return;
    int n = cs_rt.nworkers;
    int start = self ? self->idx + 1 : 0;
    for (int i = 0; i < n; i++) {
        cs_worker *v = &cs_rt.workers[(start + i) % n];
        if (v != self && atomic_load_explicit(&v->sleeping, memory_order_seq_cst)) {
            efd_signal(v->efd);
            return;
        }
    }
    atomic_store_explicit(&cs_rt.kicking, 0, memory_order_release);
}

/* ---- making coroutines runnable ----------------------------------------- */

void cs_sched_spawn(cs_co *co)
{
    cs_worker *w = cs_tls.w;
    co->state = CS_CO_NEW;
    co->spawn_worker = w ? w->idx : -1;
    cs_co *parent = cs_tls.co;
    if (cs_tel()) {
        /* Before the push: once queued, another worker may run it at once,
         * and its CO_RUN must not precede this CO_READY. The depth is the
         * queue's length plus this one, read just before. */
        uint64_t name = cs_tel_string(co->name);
        cs_tel_emit(COROSCOPE_EV_CO_CREATE, co->id, parent ? parent->id : 0, name, cs_emit_entry_symbol((void *)co->fn),
                    co->stack.size, 0);
        uint64_t depth = w ? atomic_load_explicit(&w->spawnq_n, memory_order_relaxed) + 1
                           : (uint64_t)atomic_load_explicit(&cs_rt.inject_n, memory_order_relaxed) + 1;
        cs_tel_emit(COROSCOPE_EV_CO_READY, co->id, COROSCOPE_READY_SPAWNED, parent ? parent->id : 0, w ? 1 : 2, depth,
                    0);
    }
    if (w) {
        /* From a coroutine (or scheduler) on worker w: w's stealable queue. */
        spawnq_push(w, co);
        kick_one_sleeper(w);
        return;
    }
    cs_spin_lock(&cs_rt.inject_lock);
    q_push(&cs_rt.injectq, co);
    atomic_store_explicit(&cs_rt.inject_n, cs_rt.injectq.n, memory_order_seq_cst);
    cs_spin_unlock(&cs_rt.inject_lock);
    kick_one_sleeper(NULL);
}

void cs_sched_ready(cs_co *co)
{
    cs_worker *w = co->owner;
    co->state = CS_CO_READY;
    if (cs_tls.w == w) {
        q_push(&w->runq, co);
        w->nparked--; /* its wait ended (wait.c) */
        if (cs_tel()) /* depth of the owner's run queue after the push */
            cs_tel_emit(COROSCOPE_EV_CO_READY, co->id,
                        cs_tel_ready_why(atomic_load_explicit(&co->wake_cause, memory_order_relaxed)), 0, 0,
                        (uint64_t)w->runq.n, 0);
        return;
    }
    if (cs_tel()) /* another thread's wake: through the owner's inbox; its depth is the owner's to know */
        cs_tel_emit(COROSCOPE_EV_CO_READY, co->id,
                    cs_tel_ready_why(atomic_load_explicit(&co->wake_cause, memory_order_relaxed)), 0, 0, 0, 0);
    cs_co *h = atomic_load_explicit(&w->inbox, memory_order_relaxed);
    do {
        co->next = h;
    } while (!atomic_compare_exchange_weak_explicit(&w->inbox, &h, co, memory_order_seq_cst, memory_order_relaxed));
    cs_sched_kick(w);
}

void cs_sched_yield(cs_co *co)
{
    co->yielding = 1;
    co->state = CS_CO_READY;
    cs_co_switch_out(co);
}

static void drain_inbox(cs_worker *w)
{
    cs_co *l = atomic_exchange_explicit(&w->inbox, NULL, memory_order_acquire);
    cs_co *rev = NULL;
    while (l) {
        cs_co *n = l->next;
        l->next = rev;
        rev = l;
        l = n;
    }
    while (rev) {
        cs_co *n = rev->next;
        q_push(&w->runq, rev);
        w->nparked--; /* woken by another thread: its wait ended (wait.c) */
        rev = n;
    }
}

/* Take a batch from the injection queue: one to run, the rest to our
 * stealable spawn queue. */
static cs_co *take_injected(cs_worker *w)
{
    if (!atomic_load_explicit(&cs_rt.inject_n, memory_order_relaxed)) return NULL;
    cs_spin_lock(&cs_rt.inject_lock);
    size_t n = cs_rt.injectq.n;
    size_t batch = n / (size_t)cs_rt.nworkers + 1;
    if (batch > 128) batch = 128;
    cs_co *first = q_pop(&cs_rt.injectq);
    cs_queue rest = {0};
    for (size_t i = 1; i < batch && cs_rt.injectq.n; i++) q_push(&rest, q_pop(&cs_rt.injectq));
    atomic_store_explicit(&cs_rt.inject_n, cs_rt.injectq.n, memory_order_relaxed);
    size_t left = cs_rt.injectq.n;
    cs_spin_unlock(&cs_rt.inject_lock);
    if (rest.n) {
        cs_spin_lock(&w->spawn_lock);
        for (cs_co *c; (c = q_pop(&rest));) q_push(&w->spawnq, c);
        atomic_store_explicit(&w->spawnq_n, w->spawnq.n, memory_order_relaxed);
        cs_spin_unlock(&w->spawn_lock);
    }
    if (left || rest.n > 1) kick_one_sleeper(w);
    return first;
}

/* Steal half of another worker's unstarted coroutines. */
static cs_co *steal(cs_worker *w)
{
    int n = cs_rt.nworkers;
    for (int i = 1; i < n; i++) {
        cs_worker *v = &cs_rt.workers[(w->idx + i) % n];
        if (!atomic_load_explicit(&v->spawnq_n, memory_order_relaxed)) continue;
        cs_queue got = {0};
        cs_spin_lock(&v->spawn_lock);
        size_t take = (v->spawnq.n + 1) / 2;
        for (size_t k = 0; k < take; k++) q_push(&got, q_pop(&v->spawnq));
        atomic_store_explicit(&v->spawnq_n, v->spawnq.n, memory_order_relaxed);
        cs_spin_unlock(&v->spawn_lock);
        cs_co *first = q_pop(&got);
        if (!first) continue;
        if (got.n) {
            cs_spin_lock(&w->spawn_lock);
            for (cs_co *c; (c = q_pop(&got));) q_push(&w->spawnq, c);
            atomic_store_explicit(&w->spawnq_n, w->spawnq.n, memory_order_relaxed);
            cs_spin_unlock(&w->spawn_lock);
        }
        return first;
    }
    return NULL;
}

/* With migration on, offer surplus ready coroutines to idle workers by moving
 * them to the stealable queue. Their timer and park-list entries belong to
 * this worker, so they are removed here, on the owner thread. A coroutine
 * holding a counted lock (a pthread mutex: its owner is this thread) stays. */
static void offer_surplus(cs_worker *w)
{
    if (!cs_cfg.migrate || w->runq.n < 2 || !atomic_load_explicit(&cs_rt.nsleeping, memory_order_relaxed)) return;
    size_t give = w->runq.n / 2;
    cs_queue pinned = {0};
    cs_spin_lock(&w->spawn_lock);
    for (size_t i = 0; i < give; i++) {
        cs_co *co = q_pop(&w->runq);
        if (co->locks > 0) {
            q_push(&pinned, co);
            continue;
        }
        cs_wait_detach(w, co);
        q_push(&w->spawnq, co);
    }
    while (w->runq.n) /* the pinned ones keep their place at the front */
        q_push(&pinned, q_pop(&w->runq));
    w->runq = pinned;
    atomic_store_explicit(&w->spawnq_n, w->spawnq.n, memory_order_relaxed);
    cs_spin_unlock(&w->spawn_lock);
    kick_one_sleeper(w);
}

static int has_work(cs_worker *w, uint64_t now)
{
    if (atomic_load_explicit(&w->inbox, memory_order_seq_cst) || w->runq.n ||
        atomic_load_explicit(&w->spawnq_n, memory_order_seq_cst) ||
        atomic_load_explicit(&cs_rt.inject_n, memory_order_seq_cst))
        return 1;
    if (cs_timer_next(w) <= now) return 1;
    if (atomic_load_explicit(&cs_rt.intr_epoch, memory_order_relaxed) != w->intr_epoch_seen) return 1;
    for (int i = 0; i < cs_rt.nworkers; i++)
        if (atomic_load_explicit(&cs_rt.workers[i].spawnq_n, memory_order_relaxed)) return 1;
    return 0;
}

/* A QUEUES sample of w (telemetry on), unless it would repeat the worker's
 * last one within 100 ms. */
#define QUEUES_REPEAT_NS 100000000ull

static void sample_queues(cs_worker *w)
{
    w->queues_due = 0;
    uint64_t q[5] = {w->runq.n, atomic_load_explicit(&w->spawnq_n, memory_order_relaxed),
                     atomic_load_explicit(&cs_rt.inject_n, memory_order_relaxed), (uint64_t)w->heap_n,
                     w->nparked > 0 ? (uint64_t)w->nparked : 0};
    uint64_t now = cs_now_ns();
    if (!memcmp(q, w->queues_last, sizeof q) && now - w->queues_last_ns < QUEUES_REPEAT_NS) return;
    memcpy(w->queues_last, q, sizeof q);
    w->queues_last_ns = now;
    cs_tel_emit(COROSCOPE_EV_QUEUES, 0, q[0], q[1], q[2], q[3], q[4]);
}

/* Sleep until work arrives or the next timer of w is due. */
/* WORKER_IDLE just before the worker blocks: until when, and whether it
 * blocks in the netpoller (1) or on its own eventfd (0). */
static void emit_idle(cs_worker *w, uint64_t next, int netpoller)
{
    if (!cs_tel()) return;
    cs_tel_emit(COROSCOPE_EV_WORKER_IDLE, 0, next == UINT64_MAX ? 0 : next, (uint64_t)netpoller, 0, 0, 0);
    sample_queues(w);
    cs_tel_flush(); /* an idle worker publishes what it has */
}

static void worker_sleep(cs_worker *w)
{
    if (cs_tel()) cs_tel_flush(); /* what it did so far is visible while it looks for work */
    atomic_store_explicit(&w->sleeping, 1, memory_order_seq_cst);
    atomic_fetch_add_explicit(&cs_rt.nsleeping, 1, memory_order_seq_cst);
    uint64_t now = cs_now_ns();
    int slept = 0, why = 2; /* WORKER_BUSY a0: 0 timer, 1 fd, 2 kicked (new work) */
    if (!has_work(w, now)) {
        uint64_t next = cs_timer_next(w);
        if (next == UINT64_MAX || next - now > 1000000) {
            /* Idle for a while: return some cached stack pages, then look
             * again before sleeping (work may have come meanwhile). */
            cs_stack_trim();
            now = cs_now_ns();
            if (has_work(w, now)) goto awake;
        }
        int64_t timeout = next == UINT64_MAX ? -1 : (int64_t)(next > now ? next - now : 0);
        int none = -1;
        slept = 1;
        if (atomic_compare_exchange_strong(&cs_rt.netpoll_owner, &none, w->idx)) {
            int own = 0, woke = 0;
            uint64_t v;
            emit_idle(w, next, 1);
            /* A kick whose epoll edge another worker's poll consumed before we
             * became the owner left only the counter (see cs_netpoll_wait). */
            if (syscall(SYS_read, w->efd, &v, sizeof v) != (long)sizeof v)
                woke = cs_netpoll_wait(timeout, w, &own);
            else
                own = 1;
            atomic_store(&cs_rt.netpoll_owner, -1);
            if (own) efd_drain(w->efd);
            why = own ? 2 : woke > 0 ? 1 : cs_now_ns() >= next ? 0 : 2; /* nothing woken early: a kick */
        } else {
            struct pollfd p = {.fd = w->efd, .events = POLLIN};
            struct timespec ts, *tsp = NULL;
            if (timeout >= 0) {
                ts.tv_sec = timeout / 1000000000;
                ts.tv_nsec = timeout % 1000000000;
                tsp = &ts;
            }
            emit_idle(w, next, 0);
            long r = syscall(SYS_ppoll, &p, 1, tsp, NULL, (size_t)8);
            if (r > 0) efd_drain(w->efd);
            why = r > 0 ? 2 : 0;
        }
    }
awake:
    if (slept && cs_tel()) cs_tel_emit(COROSCOPE_EV_WORKER_BUSY, 0, (uint64_t)why, 0, 0, 0, 0);
    w->queues_due = 1; /* what it woke up to, once it picked (run) */
    atomic_store_explicit(&w->sleeping, 0, memory_order_seq_cst);
    atomic_fetch_sub_explicit(&cs_rt.nsleeping, 1, memory_order_seq_cst);
    atomic_store_explicit(&cs_rt.kicking, 0, memory_order_release);
}

static cs_co *next_co(cs_worker *w)
{
    for (;;) {
        /* An inspector may hold the scheduler here, before it picks; also
         * after every sleep, so a pause meets workers that were idle. */
        int stepped = cs_gate();
        cs_co *co;
        w->tick++;
        if (atomic_load_explicit(&w->inbox, memory_order_relaxed)) drain_inbox(w);
        /* The clock is read only when a timer is pending, or every 64th
         * decision so a busy worker still polls fds about once per ms. */
        if (w->heap_n || (w->tick & 63) == 0) {
            uint64_t now = cs_now_ns();
            if (w->heap_n) cs_timer_run(w, now);
            if (now - w->last_poll_ns > BUSY_POLL_NS) {
                w->last_poll_ns = now;
                w->queues_due = 1; /* a QUEUES sample at the next switch-in: at most one per ms */
                int own = 0;
                cs_netpoll_wait(0, w, &own);
                if (own) efd_drain(w->efd);
                if (atomic_load_explicit(&w->inbox, memory_order_relaxed)) drain_inbox(w);
            }
        }
        if (atomic_load_explicit(&cs_rt.intr_epoch, memory_order_relaxed) != w->intr_epoch_seen)
            cs_wait_interrupt_parked();
        if (w->yielded) {
            /* Behind everything that became ready meanwhile (timers, fds,
             * wakes from other workers): a preempted hog goes to the back. */
            q_push(&w->runq, w->yielded);
            w->yielded = NULL;
        }
        /* Coroutines spawned by plain threads get every other decision when
         * there are any, so a hog being preempted cannot starve them. */
        if (atomic_load_explicit(&cs_rt.inject_n, memory_order_relaxed) && (w->tick & 1) && (co = take_injected(w)))
            return co;
        offer_surplus(w);
        if (atomic_load_explicit(&w->spawnq_n, memory_order_relaxed) && ((w->tick & 1) || !w->runq.n) &&
            (co = spawnq_pop(w)))
            return co;
        if ((co = q_pop(&w->runq))) return co;
        if ((co = take_injected(w)) || (co = steal(w))) return co;
        if (stepped) cs_gate_refund(); /* nothing to run: the step is not used */
        w->last_poll_ns = cs_now_ns();
        int own = 0;
        int woke = cs_netpoll_wait(0, w, &own);
        if (own) efd_drain(w->efd);
        if (woke > 0) continue;
        worker_sleep(w);
    }
}

static void finish(cs_worker *w, cs_co *co)
{
    (void)w;
    cs_san_co_fini(&co->san);
    cs_san_stack_reuse(co->stack.lo, co->stack.size);
    cs_stack_free(&co->stack);
    co->stack.base = NULL;
    cs_spin_lock(&co->join_lock);
    cs_co *j = co->joiner;
    uint64_t t = co->joiner_token;
    co->joiner = NULL;
    int old = atomic_exchange_explicit(&co->done, 1, memory_order_acq_rel);
    cs_spin_unlock(&co->join_lock);
    if (j) cs_wake_detail(j, t, CS_WAKE_JOIN, co->id);
    if (old == 2) syscall(SYS_futex, &co->done, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    cs_co_unref(co);
}

static void run(cs_worker *w, cs_co *co)
{
    if (co->state == CS_CO_NEW || co->owner != w) {
        /* Moved: migrated since it last ran, or stolen before its first run. */
        int from = co->state == CS_CO_NEW ? co->spawn_worker : co->owner ? co->owner->idx : -1;
        if (from >= 0 && from != w->idx && cs_tel())
            cs_tel_emit(COROSCOPE_EV_CO_MIGRATE, co->id, (uint64_t)from, (uint64_t)w->idx, 0, 0, 0);
        co->owner = w;
    }
    int tel = cs_tel();
    /* Before the coroutine is published as running (w->cur, nswitch): opening or
     * closing the ring is the engine's work, which the monitor must not take for
     * the coroutine's (stall.h: perf_event_open took 25 ms under load and was
     * reported as a blocked worker). */
    cs_ossched_follow(tel);
    cs_ossched_drain(NULL); /* the OS's share while the scheduler ran (ossched.h) */
    co->state = CS_CO_RUNNING;
    __atomic_store_n(&w->cur, co, __ATOMIC_RELAXED);
    __atomic_store_n(&w->nswitch, w->nswitch + 1, __ATOMIC_RELAXED);
    if (__builtin_expect(atomic_load_explicit(&cs_monitor_idle, memory_order_relaxed), 0)) cs_preempt_note_busy();
    cs_tls.co = co;
    if (__builtin_expect(co->ctx.fp_saved, 0)) cs_fp_write(&co->ctx.mxcsr, &co->ctx.fpucw);
    co->switches++;
    if (tel) {
        if (w->queues_due) sample_queues(w);
        uint64_t t = cs_now_ns();
        __atomic_store_n(&w->run_ns, t, __ATOMIC_RELAXED);
        cs_tel_emit_at(t, COROSCOPE_EV_CO_RUN, co->id, co->switches, 0, 0, 0, 0);
        cs_tel_flush(); /* a coroutine may now run a whole slice: what led here is visible meanwhile */
    }
    cs_san_enter(&w->san, &co->san);
    cs_ctx_switch(&w->sched_ctx, &co->ctx);
    cs_san_back(&w->san);
    /* Did the coroutine change the thread's FP control? Then it is its own:
     * keep it with the coroutine and give the worker its own back. */
    uint32_t mx;
    uint16_t cw;
    cs_fp_read(&mx, &cw);
    if (__builtin_expect(mx != w->sched_ctx.mxcsr || cw != w->sched_ctx.fpucw, 0)) {
        co->ctx.mxcsr = mx;
        co->ctx.fpucw = cw;
        co->ctx.fp_saved = 1;
        cs_fp_write(&w->sched_ctx.mxcsr, &w->sched_ctx.fpucw);
    } else {
        co->ctx.fp_saved = 0;
    }
    cs_tls.co = NULL;
    __atomic_store_n(&w->cur, NULL, __ATOMIC_RELAXED);
    cs_ossched_drain(co); /* its run's OFFCPU records, before the record that ends the run */
    if (co->state == CS_CO_DONE) {
        if (cs_tel())
            cs_tel_emit(COROSCOPE_EV_CO_FINISH, co->id,
                        co->exit == CS_EXIT_OVERFLOW ? COROSCOPE_EXIT_STACK_OVERFLOW : COROSCOPE_EXIT_RETURN, 0, 0, 0,
                        0);
        if (cs_tel()) cs_tel_flush(); /* before finish() wakes a joiner that may exit the process at once */
        finish(w, co);
    } else if (co->yielding) {
        co->yielding = 0;
        co->state = CS_CO_READY;
        if (cs_tel()) cs_tel_emit(COROSCOPE_EV_CO_YIELD, co->id, (uint64_t)co->yield_preempted, 0, 0, 0, 0);
        co->yield_preempted = 0;
        w->yielded = co;
    }
    if (cs_tel()) cs_tel_flush(); /* every switch is visible to a live inspector within its drain period */
}

static void *worker_main(void *arg)
{
    cs_worker *w = arg;
    cs_tls.w = w;
    cs_tls.co = NULL;
    w->tid = (pid_t)syscall(SYS_gettid);
    char name[16];
    snprintf(name, sizeof name, "cs-worker-%d", w->idx);
    pthread_setname_np(pthread_self(), name);
    cs_overflow_thread_init(w);
    cs_preempt_thread_init();
    cs_ossched_thread_init(w->idx);
    cs_fp_read(&w->sched_ctx.mxcsr, &w->sched_ctx.fpucw); /* the worker's own FP control */
    cs_san_sched_init(&w->san);

    for (;;) {
        cs_co *co = next_co(w);
        run(w, co);
    }
    return NULL;
}

static int worker_init(cs_worker *w, int idx)
{
    memset(w, 0, sizeof *w);
    w->idx = idx;
    cs_spin_init(&w->spawn_lock);
    /* raw system call: eventfd is a hook (hook_fd.c) */
    int efd = (int)syscall(SYS_eventfd2, 0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) return errno;
    w->efd = cs_fd_hide(efd);
    return cs_netpoll_add_worker(w);
}

static int start_worker(cs_worker *w)
{
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    /* Workers run the scheduler loop and hooks' slow paths only: coroutine
     * code runs on coroutine stacks. */
    pthread_attr_setstacksize(&a, 256 * 1024);
    int err = pthread_create(&w->thread, &a, worker_main, w);
    pthread_attr_destroy(&a);
    return err;
}

int cs_sched_start(void)
{
    int st = atomic_load_explicit(&cs_rt.started, memory_order_acquire);
    if (st == 2) return 0;
    int zero = 0;
    if (!atomic_compare_exchange_strong(&cs_rt.started, &zero, 1)) {
        while (atomic_load_explicit(&cs_rt.started, memory_order_acquire) == 1) sched_yield();
        return atomic_load(&cs_rt.started) == 2 ? 0 : EAGAIN;
    }
    int err = cs_netpoll_init();
    if (!err) err = cs_overflow_install();
    if (!err) {
        cs_rt.nworkers = cs_cfg.workers;
        cs_rt.workers = calloc((size_t)cs_rt.nworkers, sizeof(cs_worker));
        if (!cs_rt.workers) err = ENOMEM;
    }
    for (int i = 0; !err && i < cs_rt.nworkers; i++) err = worker_init(&cs_rt.workers[i], i);
    /* Recording from the start: the kernel's perf hooks are switched on here, before the
     * workers run anything, so the first runs' OS share is tracked (ossched.h "Warm-up"). */
    if (!err && cs_tel()) cs_ossched_monitor_round();
    for (int i = 0; !err && i < cs_rt.nworkers; i++) err = start_worker(&cs_rt.workers[i]);
    if (!err) cs_stack_init(); /* before any coroutine runs (emit_stack.h) */
    if (!err) err = cs_preempt_start();
    if (!err && cs_tel()) cs_tel_start();
    if (!err) {
        int cerr = cs_control_start();
        if (cerr) cs_log("no control socket (%s): this process cannot be attached to", strerror(cerr));
    }
    if (err) {
        cs_log("cannot start the runtime: %s", strerror(err));
        atomic_store(&cs_rt.started, 0);
        return err;
    }
    atomic_store_explicit(&cs_rt.started, 2, memory_order_release);
    return 0;
}

void cs_sched_atfork_child(void)
{
    cs_spin_init(&cs_rt.inject_lock);
    if (atomic_load(&cs_rt.started) != 2) return;
    /* Only the forking thread survives. The parent's coroutines other than
     * the current one stay behind (like the parent's other threads). The
     * epoll instance and eventfds are shared with the parent: replace them. */
    cs_worker *self = cs_tls.w;
    cs_rt.injectq = (cs_queue){0};
    atomic_store(&cs_rt.inject_n, 0);
    atomic_store(&cs_rt.nsleeping, 0);
    atomic_store(&cs_rt.kicking, 0);
    atomic_store(&cs_rt.netpoll_owner, -1);
    cs_netpoll_atfork_child();
    for (int i = 0; i < cs_rt.nworkers; i++) {
        cs_worker *w = &cs_rt.workers[i];
        syscall(SYS_close, w->efd);
        cs_fd_unhide(w->efd);
        cs_co *keep = (w == self) ? w->cur : NULL;
        free(w->heap);
        void *alt = w->altstack, *ex = w->exit_stack;
        size_t alts = w->altstack_size, exs = w->exit_stack_size;
        cs_ctx sched = w->sched_ctx;
#ifdef CS_SAN_FIBERS
        cs_san_fiber san = w->san; /* the forking thread's scheduler fiber lives on */
#endif
        if (worker_init(w, i)) cs_fatal("cannot rebuild worker %d in the forked child", i);
        if (w == self) {
            w->sched_ctx = sched;
#ifdef CS_SAN_FIBERS
            w->san = san;
#endif
            w->cur = keep;
            w->altstack = alt, w->altstack_size = alts;
            w->exit_stack = ex, w->exit_stack_size = exs;
            w->thread = pthread_self();
            w->tid = (pid_t)syscall(SYS_gettid);
            if (keep) {
                keep->heap_idx = -1;
                keep->parked_linked = 0;
            }
        } else if (alt) {
            munmap(alt, alts);
            munmap(ex, exs);
        }
    }
}

void cs_sched_atfork_child_start(void)
{
    if (atomic_load(&cs_rt.started) != 2) return;
    for (int i = 0; i < cs_rt.nworkers; i++) {
        cs_worker *w = &cs_rt.workers[i];
        if (w != cs_tls.w && start_worker(w)) cs_log("forked child: cannot restart worker %d", i);
    }
}
