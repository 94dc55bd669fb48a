/*
 * ctx_switch.cpp — row 1: raw context switch, Coroscope vs Boost.Context.
 *
 * Two contexts ping-pong: main switches to the coroutine, the coroutine
 * switches straight back. Each round trip is two switches; we report ns per
 * switch. Ours is cs_ctx_switch from native/engine/src/context_x86_64.S (the
 * engine's own object, compiled into this binary; context.h included as is),
 * Boost's is jump_fcontext from libboost_context. Both run in the same
 * process, alternating rounds, so they see the same machine state.
 *
 * cs_ctx_switch never touches FP control (the engine's scheduler saves it
 * only for coroutines that changed it, see context.h); ours_fp_differs_ns
 * runs the same switch with different FP state on the two sides, as a check
 * that it costs the same. Boost always saves and reloads both words.
 *
 * Output (stdout, one line of JSON):
 *   {"switches_per_round":N,"ours_ns":[...per round...],"ours_fp_differs_ns":[...],"boost_ns":[...]}
 *
 * usage: ctx_switch [round_trips_per_round] [rounds]
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <sys/mman.h>

#include <boost/context/detail/fcontext.hpp>

extern "C" {
#include "context.h"
}

namespace bc = boost::context::detail;

static uint64_t now_ns()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const size_t STACK = 64 * 1024;

static void *map_stack()
{
    void *p = mmap(nullptr, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return p;
}

/* ---- ours ----------------------------------------------------------------
 * The equivalent of coroutine.c's cs_ctx_make (which lives in the engine's
 * coroutine.c with the rest of the coroutine machinery): zero the context,
 * resume at cs_ctx_start with r12 = arg and r13 = entry, inherit the FP
 * control words of this thread. */
static void bench_ctx_make(cs_ctx *ctx, void *top, void (*entry)(void *), void *arg)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->rsp = top;
    ctx->rip = (void *)cs_ctx_start;
    ctx->r12 = (uint64_t)(uintptr_t)arg;
    ctx->r13 = (uint64_t)(uintptr_t)entry;
    __asm__ volatile("stmxcsr %0" : "=m"(ctx->mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(ctx->fpucw));
}

static cs_ctx main_ctx, co_ctx;

static void ours_entry(void *)
{
    for (;;) cs_ctx_switch(&co_ctx, &main_ctx);
}

/* MXCSR's low 6 bits are sticky exception flags: the division that turns
 * each round's time into ns/switch sets "inexact" in this thread's MXCSR.
 * Each round first puts this thread's flags where the benchmark wants them:
 * equal to the coroutine's (clear), or deliberately different. */
static void set_fp_flags(bool inexact)
{
    uint32_t m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    m = (m & ~0x3fu) | (inexact ? 0x20u : 0u);
    __asm__ volatile("ldmxcsr %0" : : "m"(m));
}

static double run_ours(long trips, bool fp_differs = false)
{
    set_fp_flags(fp_differs);
    uint64_t t0 = now_ns();
    for (long i = 0; i < trips; i++) cs_ctx_switch(&main_ctx, &co_ctx);
    uint64_t t1 = now_ns();
    return (double)(t1 - t0) / (double)(2 * trips);
}

/* ---- Boost.Context fcontext --------------------------------------------- */

static void boost_entry(bc::transfer_t t)
{
    for (;;) t = bc::jump_fcontext(t.fctx, nullptr);
}

static bc::fcontext_t boost_co;

static double run_boost(long trips)
{
    uint64_t t0 = now_ns();
    for (long i = 0; i < trips; i++) boost_co = bc::jump_fcontext(boost_co, nullptr).fctx;
    uint64_t t1 = now_ns();
    return (double)(t1 - t0) / (double)(2 * trips);
}

int main(int argc, char **argv)
{
    long trips = argc > 1 ? atol(argv[1]) : 5000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (trips < 1 || rounds < 1) {
        fprintf(stderr, "usage: ctx_switch [round_trips_per_round>0] [rounds>0]\n");
        return 2;
    }

    char *s1 = (char *)map_stack();
    bench_ctx_make(&co_ctx, s1 + STACK, ours_entry, nullptr);
    char *s2 = (char *)map_stack();
    boost_co = bc::make_fcontext(s2 + STACK, STACK, boost_entry);

    /* warm-up: fault in the stacks, train the predictors */
    run_ours(trips / 10 + 1);
    run_boost(trips / 10 + 1);

    double *ours = new double[rounds], *slow = new double[rounds], *boost = new double[rounds];
    for (int r = 0; r < rounds; r++) {
        /* alternate which goes first so neither always runs on a "cold" slot */
        if (r & 1) {
            boost[r] = run_boost(trips);
            slow[r] = run_ours(trips, true);
            ours[r] = run_ours(trips);
        } else {
            ours[r] = run_ours(trips);
            slow[r] = run_ours(trips, true);
            boost[r] = run_boost(trips);
        }
    }
    printf("{\"switches_per_round\":%ld,\"ours_ns\":[", 2 * trips);
    for (int r = 0; r < rounds; r++) printf("%s%.4f", r ? "," : "", ours[r]);
    printf("],\"ours_fp_differs_ns\":[");
    for (int r = 0; r < rounds; r++) printf("%s%.4f", r ? "," : "", slow[r]);
    printf("],\"boost_ns\":[");
    for (int r = 0; r < rounds; r++) printf("%s%.4f", r ? "," : "", boost[r]);
    printf("]}\n");
    return 0;
}
