/*
 * A user-level context switch for the benchmarks: no system call, no
 * signal mask, so what the benchmark times around it is the split-stack
 * runtime's own cost (swapcontext would add two rt_sigprocmask calls).
 *
 * Saved frame (on the stack being left, lowest address first):
 *
 *     sp+0   r15
 *     sp+8   r14
 *     sp+16  r13        for a new context: the entry's argument
 *     sp+24  r12        for a new context: the entry function
 *     sp+32  rbx
 *     sp+40  rbp
 *     sp+48  return address (bench_coro_start for a new context)
 *
 * Assembled as a non-split object: only the (non-split) drivers call it.
 */
        .text

/* void bench_switch(void **save_sp, void *new_sp)
 *   rdi = where to store the stack pointer of the context being left
 *   rsi = stack pointer of the context to resume (a frame as above) */
        .globl  bench_switch
        .type   bench_switch, @function
bench_switch:
        .cfi_startproc
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, (%rdi)            /* the left context's frame */
        movq    %rsi, %rsp              /* now on the resumed context */
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .cfi_endproc
        .size   bench_switch, . - bench_switch

/* First code of a new context: entry(arg) with entry in r12, arg in r13.
 * rsp is 16-byte aligned here (the C side builds the frame that way), so
 * the entry starts with rsp = 8 mod 16 as the ABI requires.  The entry
 * never returns (it parks itself by switching away). */
        .globl  bench_coro_start
        .type   bench_coro_start, @function
bench_coro_start:
        .cfi_startproc
        .cfi_undefined rip              /* outermost frame for unwinders */
        movq    %r13, %rdi
        callq   *%r12
        ud2
        .cfi_endproc
        .size   bench_coro_start, . - bench_coro_start

        .section .note.GNU-stack, "", @progbits
