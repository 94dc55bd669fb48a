/*
 * preempt_x86_64.S — the trampoline a preempted coroutine resumes into.
 *
 * The preemption signal handler (preempt.c) found the coroutine at a safe
 * point in user code, wrote the interrupted rip at (interrupted rsp - 136),
 * i.e. just below the 128-byte red zone, and made sigreturn resume here with
 *     rsp = interrupted rsp - 136, every other register and rflags untouched.
 * We save all general registers, rflags and the complete FP/SIMD state
 * (xsave with every enabled component, or fxsave), call cs_preempt_yield
 * (which switches to the scheduler and returns when the coroutine is picked
 * again), restore everything and `ret $128`: ret pops the interrupted rip and
 * the immediate skips the red zone, so rsp is exactly the interrupted rsp.
 * Nothing above the interrupted rsp - 136 is ever written.
 */
    .text
    .globl  cs_preempt_trampoline
    .hidden cs_preempt_trampoline
    .type   cs_preempt_trampoline, @function
    .p2align 4
cs_preempt_trampoline:
    pushfq                            /* interrupted rflags */
    pushq   %rax                      /* all 15 general registers but rsp */
    pushq   %rbx
    pushq   %rcx
    pushq   %rdx
    pushq   %rsi
    pushq   %rdi
    pushq   %rbp
    pushq   %r8
    pushq   %r9
    pushq   %r10
    pushq   %r11
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    cld                               /* the ABI wants DF clear in C code */
    movq    %rsp, %rbp                /* rbp = the register block (callee-saved) */
    andq    $-64, %rsp                /* xsave needs 64-byte alignment */
    movl    cs_fpstate_size(%rip), %ecx
    subq    %rcx, %rsp                /* rsp = FP/SIMD save area */
    xorl    %eax, %eax                /* zero the 64-byte xsave header (512..575) */
    movq    %rax, 512(%rsp)
    movq    %rax, 520(%rsp)
    movq    %rax, 528(%rsp)
    movq    %rax, 536(%rsp)
    movq    %rax, 544(%rsp)
    movq    %rax, 552(%rsp)
    movq    %rax, 560(%rsp)
    movq    %rax, 568(%rsp)
    cmpl    $0, cs_fpstate_xsave(%rip)
    je      1f
    movl    $-1, %eax                 /* edx:eax = all components enabled in XCR0 */
    movl    $-1, %edx
    xsave64 (%rsp)
    jmp     2f
1:  fxsave64 (%rsp)
2:  call    cs_preempt_yield          /* rsp is 64-byte aligned here */
    cmpl    $0, cs_fpstate_xsave(%rip)
    je      3f
    movl    $-1, %eax
    movl    $-1, %edx
    xrstor64 (%rsp)
    jmp     4f
3:  fxrstor64 (%rsp)
4:  movq    %rbp, %rsp                /* back to the register block */
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %r11
    popq    %r10
    popq    %r9
    popq    %r8
    popq    %rbp
    popq    %rdi
    popq    %rsi
    popq    %rdx
    popq    %rcx
    popq    %rbx
    popq    %rax
    popfq
    retq    $128                      /* pop the interrupted rip, skip the red zone */
    .size   cs_preempt_trampoline, .-cs_preempt_trampoline

    .section .note.GNU-stack,"",@progbits
