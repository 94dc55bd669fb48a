/*
 * context.h — the machine context of a coroutine and the switch between two.
 *
 * Design
 *   A context is the callee-saved state of the System V ABI plus the stack
 *   pointer and the address to resume at. Everything caller-saved is, by the
 *   ABI, already dead (or spilled by the compiler) at the call to
 *   cs_ctx_switch, so the switch saves nothing else.
 *
 *   FP control state (MXCSR and the x87 control word) is kept per thread:
 *   the switch never touches it. Every switch of a coroutine goes through
 *   its worker's scheduler, which compares the thread's FP control with the
 *   worker's own when the coroutine switches out; only a coroutine that
 *   changed it (fesetround, _mm_setcsr, inline ldmxcsr, or just raised an
 *   exception flag) gets it saved in mxcsr/fpucw and marked fp_saved, the
 *   worker's state is put back, and the saved state is loaded again right
 *   before the coroutine next switches in (sched.c run()). So rounding
 *   modes, exception masks and flags stay per coroutine, as per thread, and
 *   coroutines that never change them pay nothing in the switch.
 *
 *   The switch ends in an indirect jmp to the saved resume address, never a
 *   ret: a ret to a different stack mispredicts on every switch because the
 *   return stack buffer holds the caller of the *outgoing* side.
 *
 * Invariants
 *   - Only the thread that owns `from` calls cs_ctx_switch(from, to), and `to`
 *     is not running on any thread.
 *   - The signal mask is never read or written here.
 *   - Every call of cs_ctx_switch is bracketed by the sanitizer calls of
 *     san.h (nothing in a normal build), so ASan and TSan know which stack
 *     runs: sched.c run(), coroutine.c, overflow.c.
 *   - Field offsets are used by the assembly: change them together.
 *
 * Porting: aarch64 needs the same struct with x19-x29, lr, sp, d8-d15 and
 * FPCR, and a context_aarch64.S with the same two entry points.
 */
#ifndef CS_CONTEXT_H
#define CS_CONTEXT_H

#include <stdint.h>
#include <stddef.h>

#if defined(__x86_64__)
typedef struct cs_ctx {
    void *rsp;         /* 0  */
    void *rip;         /* 8  resume address: jumped to, not returned to */
    uint64_t rbx;      /* 16 */
    uint64_t rbp;      /* 24 */
    uint64_t r12;      /* 32 for a new context: the argument of the entry */
    uint64_t r13;      /* 40 for a new context: the entry function */
    uint64_t r14;      /* 48 */
    uint64_t r15;      /* 56 */
    uint32_t mxcsr;    /* 64 saved FP control, valid when fp_saved */
    uint16_t fpucw;    /* 68 */
    uint16_t fp_saved; /* 70 */
} cs_ctx;
#else
#error "coroscope: only x86-64 has a context switch yet (see the porting note in context.h)"
#endif

/* ABI defaults of the FP control registers. */
#define CS_MXCSR_DEFAULT 0x1f80u
#define CS_FPUCW_DEFAULT 0x037fu

static inline void cs_fp_read(uint32_t *mxcsr, uint16_t *fpucw)
{
    __asm__ volatile("stmxcsr %0" : "=m"(*mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(*fpucw));
}

static inline void cs_fp_write(const uint32_t *mxcsr, const uint16_t *fpucw)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(*mxcsr));
    __asm__ volatile("fldcw %0" : : "m"(*fpucw));
}

/* Save the current context into *from and resume *to. Returns when some
 * thread switches back to *from. */
void cs_ctx_switch(cs_ctx *from, const cs_ctx *to);

/* First code run by a new context: calls entry(arg) (r13(r12)); entry must
 * never return. */
void cs_ctx_start(void);

/* Prepare *ctx to run entry(arg) on the stack whose highest address is top.
 * The FP control state is inherited from the calling thread (saved in ctx
 * when it differs from the ABI default). */
void cs_ctx_make(cs_ctx *ctx, void *top, void (*entry)(void *), void *arg);

#endif
