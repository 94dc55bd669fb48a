/*
 * stack_capture.c — the cost of one stack capture as the engine takes it at
 * a park (native/engine/src/emit_stack.h): a coroutine 10 calls deep (this
 * file is built with frame pointers) captures its stack `n` times through
 * coroscope__stack_capture, in the mode COROSCOPE_STACKS selects (fp: the
 * frame-pointer walk; unwind: glibc's backtrace; libunwind: unw_backtrace).
 * The capture is what a park adds beyond it: the interning (a hash of the
 * addresses and a per-thread cache probe) and one CO_STACK record.
 *
 * Output (stdout, one line of JSON): {"ns_per_capture":[...per round...],"frames":F}
 *
 * usage: stack_capture [captures_per_round] [rounds]
 */
#include <coroscope.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int coroscope__stack_capture(int mode, uintptr_t *out, int max);

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long n_per_round = 200000;
static int rounds = 5;
static double results[64];
static int frames;
volatile uintptr_t sink;

__attribute__((noinline)) static void capture_loop(void)
{
    uintptr_t pc[32];
    for (int r = 0; r < rounds + 1; r++) { /* round 0 warms up */
        uint64_t t0 = now_ns();
        for (long i = 0; i < n_per_round; i++) {
            frames = coroscope__stack_capture(0, pc, 32);
            sink += pc[0];
        }
        if (r) results[r - 1] = (double)(now_ns() - t0) / (double)n_per_round;
    }
}

__attribute__((noinline)) static void deeper(int d)
{
    if (d == 0)
        capture_loop();
    else
        deeper(d - 1);
    sink++;
}

static void *body(void *arg)
{
    (void)arg;
    deeper(8);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1) n_per_round = atol(argv[1]);
    if (argc > 2) rounds = atoi(argv[2]);
    if (rounds < 1 || rounds > 64 || n_per_round < 1) return 2;
    coroscope_co *co;
    coroscope_spawn(&co, "capture", body, NULL);
    coroscope_join(co, NULL);
    printf("{\"ns_per_capture\":[");
    for (int r = 0; r < rounds; r++) printf("%s%.2f", r ? "," : "", results[r]);
    printf("],\"frames\":%d}\n", frames);
    return 0;
}
