#include "coroutine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sched.h"
#include "spin.h"

#define CO_BATCH 64 /* coroutine objects per allocation */

__thread cs_tls_t cs_tls __attribute__((tls_model("initial-exec")));

/* Type-stable free list of coroutine objects (never freed, see coroutine.h). */
static cs_spin free_lock;
static cs_co *free_cos;
/* Every batch ever allocated, so the control channel can walk all coroutine
 * objects without a registry on the spawn/finish paths. Append-only. */
#define MAX_CO_BATCHES 65536 /* 4 M coroutine objects */
static cs_co *batches[MAX_CO_BATCHES];
static _Atomic int nbatches;

static cs_co *co_alloc(void)
{
    cs_spin_lock(&free_lock);
    cs_co *co = free_cos;
    if (co) free_cos = co->next;
    cs_spin_unlock(&free_lock);
    if (co) return co;
    /* Allocate a batch so 100k spawns do not make 100k malloc calls. */
    cs_co *b = aligned_alloc(64, sizeof(cs_co) * CO_BATCH);
    if (!b) return NULL;
    memset(b, 0, sizeof(cs_co) * CO_BATCH);
    cs_spin_lock(&free_lock);
    int k = atomic_load(&nbatches);
    if (k < MAX_CO_BATCHES) {
        batches[k] = b;
        atomic_store(&nbatches, k + 1);
    }
    for (int i = 1; i < CO_BATCH; i++) {
        b[i].next = free_cos;
        free_cos = &b[i];
    }
    cs_spin_unlock(&free_lock);
    return &b[0];
}

cs_co *cs_co_new(const char *name, void *(*fn)(void *), void *arg, int *err)
{
    cs_co *co = co_alloc();
    if (!co) {
        *err = ENOMEM;
        return NULL;
    }
    uint64_t seq = atomic_load_explicit(&co->wait_seq, memory_order_relaxed);
    memset(co, 0, offsetof(cs_co, wait_seq));
    co->wait_seq = seq + (seq & 1); /* keep growing; even = not waiting */
    co->wake_cause = CS_WAKE_SPAWN;
    co->heap_idx = -1;
    co->park_prev = co->park_next = NULL;
    co->parked_linked = 0;
    co->intr_epoch = 0;
    co->interruptible = 0;
    co->timer_token = 0;
    co->deadline = 0;
    cs_spin_init(&co->join_lock);
    co->joiner = NULL;
    co->joiner_token = 0;
    atomic_store(&co->done, 0);
    atomic_store(&co->refs, 2);
    atomic_store(&co->handle_used, 0);
    co->cur_hook = -1;
    co->wait_why = 0;
    co->wait_fd = -1;
    co->wait_events = 0;
    co->wait_detail = 0;
    co->yield_preempted = 0;
    co->call_t0 = 0;
    co->call_fd = -1;
    co->call_entered = 0;
    co->call_addr = NULL;
    co->call_addrlen = 0;
    co->spawn_worker = -1;
    co->switches = 0;
    co->locks = 0;
    co->held.n = co->held.overflow = 0;
    co->preempt_pending = 0;
    co->defer_reason = 0;
    co->preempt_pc = 0;
    co->preempts = 0;
    co->name[0] = '\0';
    if (name) {
        strncpy(co->name, name, CS_CO_NAME_MAX - 1);
        co->name[CS_CO_NAME_MAX - 1] = '\0';
    }
    int e = cs_stack_alloc(&co->stack);
    if (e) {
        *err = e;
        cs_spin_lock(&free_lock);
        co->next = free_cos;
        free_cos = co;
        cs_spin_unlock(&free_lock);
        return NULL;
    }
    co->fn = fn;
    co->arg = arg;
    co->id = atomic_fetch_add_explicit(&cs_rt.next_id, 1, memory_order_relaxed);
    /* The free-list node of the stack pool sits at the top of the stack; the
     * initial frame starts below it, 16-byte aligned. */
    char *top = (char *)(((uintptr_t)co->stack.hi - 64) & ~(uintptr_t)15);
    cs_ctx_make(&co->ctx, top, cs_co_main, co);
    cs_san_co_init(&co->san, co->stack.lo, co->stack.size);
    return co;
}

void cs_co_visit(void (*visit)(void *ctx, const cs_co *co), void *ctx)
{
    int n = atomic_load(&nbatches);
    for (int b = 0; b < n; b++)
        for (int i = 0; i < CO_BATCH; i++) {
            const cs_co *co = &batches[b][i];
            if (co->id && co->state != CS_CO_DONE) visit(ctx, co);
        }
}

void cs_co_atfork_child(void)
{
    cs_spin_init(&free_lock);
}

void cs_co_unref(cs_co *co)
{
    if (atomic_fetch_sub_explicit(&co->refs, 1, memory_order_acq_rel) != 1) return;
    cs_spin_lock(&free_lock);
    co->next = free_cos;
    free_cos = co;
    cs_spin_unlock(&free_lock);
}

void cs_co_switch_out(cs_co *co)
{
    int e = errno;
    cs_san_leave(&co->san, &co->owner->san, 0);
    cs_ctx_switch(&co->ctx, &co->owner->sched_ctx);
    cs_san_entered(&co->san, &co->owner->san); /* owner: the worker that switched it back in */
    errno = e;
}

void cs_co_main(void *arg)
{
    cs_co *co = arg;
    cs_san_entered(&co->san, &co->owner->san);
    co->result = co->fn(co->arg);
    co->exit = CS_EXIT_RETURN;
    co->state = CS_CO_DONE;
    cs_san_leave(&co->san, &co->owner->san, 1);
    cs_ctx_switch(&co->ctx, &co->owner->sched_ctx);
    __builtin_unreachable();
}

void cs_ctx_make(cs_ctx *ctx, void *top, void (*entry)(void *), void *arg)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->rsp = top;
    ctx->rip = (void *)cs_ctx_start;
    ctx->r12 = (uint64_t)(uintptr_t)arg;
    ctx->r13 = (uint64_t)(uintptr_t)entry;
    /* Inherit the creating thread's FP control, as a new thread would. */
    cs_fp_read(&ctx->mxcsr, &ctx->fpucw);
    ctx->fp_saved = ctx->mxcsr != CS_MXCSR_DEFAULT || ctx->fpucw != CS_FPUCW_DEFAULT;
}
