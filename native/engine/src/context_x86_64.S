/*
 * context_x86_64.S — the coroutine context switch (System V x86-64).
 *
 * void cs_ctx_switch(cs_ctx *from, const cs_ctx *to)
 *   rdi = from, rsi = to. Layout: see context.h (offsets below).
 *   Saves rsp/rip/rbx/rbp/r12-r15 of the caller, loads those of `to`, and
 *   jumps (indirect jmp, never ret) to to->rip. FP control is not touched
 *   here: it stays per thread, and the scheduler saves it for a coroutine
 *   only when that coroutine changed it (sched.c run()).
 *   Clobbers only caller-saved registers (rax, rcx), as a call may.
 */
    .text

    .globl  cs_ctx_switch
    .hidden cs_ctx_switch
    .type   cs_ctx_switch, @function
    .p2align 4
cs_ctx_switch:
    .cfi_startproc
    movq    (%rsp), %rax          /* rax = our return address: where `from` resumes */
    leaq    8(%rsp), %rcx         /* rcx = the caller's rsp once that address is popped */
    movq    %rcx,   0(%rdi)       /* from->rsp */
    movq    %rax,   8(%rdi)       /* from->rip */
    movq    %rbx,  16(%rdi)       /* callee-saved general registers */
    movq    %rbp,  24(%rdi)
    movq    %r12,  32(%rdi)
    movq    %r13,  40(%rdi)
    movq    %r14,  48(%rdi)
    movq    %r15,  56(%rdi)
    movq    16(%rsi), %rbx        /* callee-saved registers of `to` */
    movq    24(%rsi), %rbp
    movq    32(%rsi), %r12
    movq    40(%rsi), %r13
    movq    48(%rsi), %r14
    movq    56(%rsi), %r15
    movq     0(%rsi), %rsp        /* switch stacks */
    jmpq    *8(%rsi)              /* resume `to`: indirect jump, no ret */
    .cfi_endproc
    .size   cs_ctx_switch, .-cs_ctx_switch

/*
 * cs_ctx_start: the first instruction a new context runs.
 *   r12 = argument, r13 = entry function (set by cs_ctx_make).
 *   rsp is 16-byte aligned here, so the call leaves it at 8 mod 16 in the
 *   callee as the ABI requires. The entry never returns; ud2 traps if it does.
 */
    .globl  cs_ctx_start
    .hidden cs_ctx_start
    .type   cs_ctx_start, @function
    .p2align 4
cs_ctx_start:
    .cfi_startproc
    .cfi_undefined rip            /* tell unwinders this is the outermost frame */
    movq    %r12, %rdi            /* rdi = arg */
    callq   *%r13                 /* entry(arg) */
    ud2
    .cfi_endproc
    .size   cs_ctx_start, .-cs_ctx_start

    .section .note.GNU-stack,"",@progbits
