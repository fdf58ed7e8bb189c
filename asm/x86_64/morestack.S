/*
 * splitstack: the x86_64 half of the split-stack runtime.
 *
 * PROTOCOL
 * A function F compiled with -fsplit-stack starts by comparing its stack
 * pointer (less its frame size N when N >= 256) with the limit kept in the
 * thread control block at %fs:SS_TCB_GUARD_OFFSET.  When the stack is too
 * short it runs a stub:
 *
 *      mov  $N, %r10              # frame size F wants
 *      mov  $A, %r11              # bytes of stack arguments F received
 *      call __morestack           # pushes R1, the address of the `ret` below
 *      ret                        # returns from F to its caller (R2)
 *   body:                         # R1 + 1: F again, past its check
 *
 * so on entry to __morestack:
 *
 *      rsp+16 ... rsp+16+A-1      F's stack arguments ("old_stack")
 *      rsp+8                      R2, return address into F's caller
 *      rsp+0                      R1, return address into F's stub
 *
 * and rdi, rsi, rdx, rcx, r8, r9, rax (static chain or vararg count) and
 * xmm0-xmm7 hold F's register arguments.  __morestack obtains a segment
 * with room for N + A + the runtime's slack, copies the A bytes of
 * arguments to its top, switches to it, sets the new limit, restores the
 * argument registers and calls the body.  A variadic body finds its stack
 * arguments through `lea 0x18(%rbp),%r11`, so %rbp must point at our saved
 * %rbp, 24 bytes below the arguments.  When the body returns (rax, rdx,
 * xmm0, xmm1, st0, st1 live) __morestack switches back and returns to R1,
 * whose `ret` returns to R2.
 *
 * REGISTER CONTRACT
 *   in:   r10 = frame size, r11 = argument bytes, argument registers live.
 *   body: called with every argument register as F received it; r10 and
 *         r11 undefined; rbp = this frame (see above).
 *   out:  rax, rdx, xmm0, xmm1, st0, st1 as the body left them; rcx, rsi,
 *         rdi, r8-r11 clobbered (dead after a return); callee-saved
 *         registers preserved.
 *   Three ways in: the WARM PATHS (the next segment is cached) call
 *   nothing; without stack arguments (r11 = 0, the common case) the warm
 *   path runs in r10, r11 and rdi only, saving and restoring rdi; with
 *   stack arguments it runs in rcx, rdx, rsi, rdi, r8, r10, r11, saving
 *   and restoring the first five.  The COLD PATH saves every argument
 *   register and xmm0-7 and calls the Rust helper.  The Rust helpers are
 *   compiled for the baseline x86-64 target (SSE2, no VEX encodings;
 *   src/lib.rs refuses to build with AVX enabled), so they may touch
 *   xmm0-15 but never the upper halves of ymm/zmm and never x87 state;
 *   with xmm0-7 saved on the cold way in and xmm0-1 on the slow way out,
 *   vector arguments and results stay whole.  Each path calls the body
 *   from a call site of its own (three of the LSDA's four call-site
 *   records; the fourth is the interrupt handler's call).
 *
 * FRAME (on the old stack; offsets from %rbp; names in consts.h)
 *
 *      +24 ..      F's stack arguments            old_stack
 *      +16         R2                             return address (CFA-8)
 *      +8          R1                             return into the stub
 *       0          caller's rbp                   CFA-24
 *      -8          rax (cold path)                SS_FRAME_RAX
 *      -16..-56    rdi rsi rdx rcx r8 r9          SS_FRAME_RDI .. R9
 *                  (rdi always; rsi..r8 with stack arguments and on
 *                  the cold path; r9 on the cold path only)
 *      -64         limit before the call          SS_FRAME_OLD_GUARD
 *      -72         segment before the call        SS_FRAME_OLD_SEGMENT
 *      -80         exception object (unwinding)   SS_FRAME_EXCEPTION
 *      -88         signal mask (when blocking)    SS_FRAME_SIGMASK
 *      -96         1 if signals were blocked      SS_FRAME_BLOCKED
 *      -104        interrupt bits to deliver      SS_FRAME_BITS
 *      -232..-105  xmm0 .. xmm7 (cold path)       SS_FRAME_XMM0
 *      rsp = rbp - SS_FRAME_BYTES, 16-byte aligned (rbp is 8 mod 16)
 *
 * The canonical frame address is rbp + 24 (F's caller's stack pointer
 * after R2 returns) and the return address column is R2, so unwinders and
 * tracebacks step from the body straight to F's caller; the stub frame is
 * invisible, as with libgcc.  The name __morestack is kept because
 * tracebacks (gccgo's among them) skip frames by that name.
 *
 * SIGNALS WITHOUT BLOCKING
 * A signal may arrive at any instruction, and its handler may run
 * split-stack code that needs more stack.  The invariants that make that
 * safe without masking signals:
 *   - the current-segment variable names the segment the stack pointer is
 *     in, or a segment that the interrupted code has not written to yet
 *     (the Rust helper commits the new segment before copying anything
 *     onto it, and the old segment is restored only after leaving it);
 *   - while %rsp moves between segments the limit is all ones, so any
 *     split-stack prologue a handler runs asks __morestack for a fresh
 *     segment rather than trusting a limit that belongs to the other
 *     stack;
 *   - every __morestack invocation restores exactly the segment and limit
 *     it found, so nested invocations (handlers) unwind LIFO.
 * Callers that ask for blocking with __splitstack_block_signals still get
 * it (SS_FRAME_BLOCKED), as the libgcc API promises.
 *
 * INTERRUPTS (docs/x86_64.md, section 9)
 * Another thread interrupts this one by ORing bits into the thread
 * block's pending word (SS_THREAD_PENDING) and then setting bit
 * SS_LIMIT_MARK_BIT of the limit (a compare-and-swap from the real
 * value; never over the all-ones switching value).  Every prologue check
 * then fails, so the next function entry comes here.  Three steps here
 * make that a delivery, and lose no request to this code's own limit
 * writes:
 *   - ENTRY: the limit saved for the way back has the mark cleared
 *     (btr), so a mark never outlives the call that saw it;
 *   - SWITCH-IN: after the new limit is stored the pending word is
 *     tested; nonzero goes to .Lpending, which asks the runtime for the
 *     bits (splitstack_interrupt_take: none while deferred, without a
 *     handler, or inside a signal handler), calls the handler on the new
 *     segment, tells the runtime it returned (splitstack_interrupt_done)
 *     and then calls the body;
 *   - SWITCH-BACK: after the old limit is restored the pending word is
 *     tested again; pending, not deferred and a handler set: the mark is
 *     stored back (REARM), so the caller's next entry delivers.
 * The requester's membarrier between its pending and limit writes makes
 * "store limit, then load pending" here see every request whose mark the
 * store overwrote.  Because an entry that sees the mark always splits,
 * the handler runs on a segment of its own with the body's frame and the
 * reserve below it, and a real overflow at the same time is served by
 * the same split.
 */

#include "consts.h"

#ifdef __CET__
#define ENDBR endbr64
#else
#define ENDBR
#endif

#define GUARD %fs:SS_TCB_GUARD_OFFSET
/* While %rsp is between stacks every split-stack check must fail. */
#define SWITCHING_GUARD $-1

/* Thread-local variables.  TLS_OFF(var, reg) prepares reg for
   TLS(var, off, reg), the operand of the word at byte `off` of var.  The
   static library is for executables, whose thread-local variables the
   local-exec model reaches in one instruction (%fs:var@tpoff); the
   shared library's copy (built without SS_TLS_LOCAL_EXEC) loads var's
   offset from the GOT first (initial-exec).  `reg` is only written in the
   second case; TLS_OFF(var, reg) followed by a load into reg is fine. */
#ifdef SS_TLS_LOCAL_EXEC
#define TLS_OFF(var, reg)
#define TLS(var, off, reg) %fs:var@tpoff+off
#else
#define TLS_OFF(var, reg) movq var@gottpoff(%rip), reg
#define TLS(var, off, reg) %fs:off(reg)
#endif

/* Back to the old stack: the limit all ones while %rsp moves, %rsp =
   %rbp - \below (the frame's bottom, 16-byte aligned, for paths that
   still use the frame), the segment saved at entry made current again,
   then the limit saved at entry, re-marked if a request is waiting
   (REARM).  Clobbers rcx, rsi, rdi.  SWITCH_BACK_TO: the same with rdi
   prepared for __morestack_current_segment (TLS_OFF). */
.macro	SWITCH_BACK
	TLS_OFF(__morestack_current_segment, %rdi)
	SWITCH_BACK_TO SS_FRAME_BYTES
.endm

.macro	SWITCH_BACK_TO below
	movq	-SS_FRAME_OLD_GUARD(%rbp), %rcx
	movq	-SS_FRAME_OLD_SEGMENT(%rbp), %rsi
	movq	SWITCHING_GUARD, GUARD
	leaq	-\below(%rbp), %rsp
	movq	%rsi, TLS(__morestack_current_segment, 0, %rdi)
	movq	%rcx, GUARD
	REARM	%rcx, %rsi
.endm

/* The argument registers the warm path with stack arguments uses: saved
   at its entry and at the cold path's, restored before the body. */
.macro	SAVE_ARGREGS
	movq	%rcx, -SS_FRAME_RCX(%rbp)
	movq	%rdx, -SS_FRAME_RDX(%rbp)
	movq	%rsi, -SS_FRAME_RSI(%rbp)
	movq	%rdi, -SS_FRAME_RDI(%rbp)
	movq	%r8, -SS_FRAME_R8(%rbp)
.endm

.macro	RESTORE_ARGREGS
	movq	-SS_FRAME_RCX(%rbp), %rcx
	movq	-SS_FRAME_RDX(%rbp), %rdx
	movq	-SS_FRAME_RSI(%rbp), %rsi
	movq	-SS_FRAME_RDI(%rbp), %rdi
	movq	-SS_FRAME_R8(%rbp), %r8
.endm

/* What the cold path saves besides SAVE_ARGREGS: rax, r9 and xmm0-7,
   with the signals-blocked flag cleared.  Used by the cold path and by
   the warm paths' interrupt delivery. */
.macro	SAVE_COLD
	movq	%rax, -SS_FRAME_RAX(%rbp)
	movq	%r9, -SS_FRAME_R9(%rbp)
	movq	$0, -SS_FRAME_BLOCKED(%rbp)
	movups	%xmm0, -SS_FRAME_XMM0+0x00(%rbp)
	movups	%xmm1, -SS_FRAME_XMM0+0x10(%rbp)
	movups	%xmm2, -SS_FRAME_XMM0+0x20(%rbp)
	movups	%xmm3, -SS_FRAME_XMM0+0x30(%rbp)
	movups	%xmm4, -SS_FRAME_XMM0+0x40(%rbp)
	movups	%xmm5, -SS_FRAME_XMM0+0x50(%rbp)
	movups	%xmm6, -SS_FRAME_XMM0+0x60(%rbp)
	movups	%xmm7, -SS_FRAME_XMM0+0x70(%rbp)
.endm

/* After storing the real limit \lim: if interrupt bits are pending, not
   deferred, and a handler is set, store it again with the mark, so that
   the next entry delivers.  Only this thread stores unmarked values, and
   requesters only mark, so a plain store is safe.  Clobbers \tmp and
   the flags; \lim is marked if the mark was stored. */
.macro	REARM lim, tmp
	TLS_OFF(splitstack_thread, \tmp)
	cmpq	$0, TLS(splitstack_thread, SS_THREAD_PENDING, \tmp)
	je	.Lrearm_done\@
	cmpq	$0, TLS(splitstack_thread, SS_THREAD_DEFER, \tmp)
	jne	.Lrearm_done\@
	cmpq	$0, splitstack_interrupt_armed(%rip)
	je	.Lrearm_done\@
	btsq	$SS_LIMIT_MARK_BIT, \lim
	movq	\lim, GUARD
.Lrearm_done\@:
.endm

	.text

/* ---------------------------------------------------------------------
 * void __morestack(void)   -- special calling convention, see above.
 * ------------------------------------------------------------------- */
	.globl	__morestack
	.type	__morestack, @function
	/* The name a program linked with the shared library reaches it by
	 * (see shared_stubs.S). */
	.globl	__splitstack_morestack_impl
	.type	__splitstack_morestack_impl, @function
	.p2align 4
__morestack:
__splitstack_morestack_impl:
.Lmorestack:
	.cfi_startproc
	.cfi_personality 0x9b, DW.ref.__gcc_personality_v0
	.cfi_lsda 0x1b, .Lmorestack_lsda
	/* CFA = F's caller's rsp after R2 returns = rsp + 16; R2 at CFA-8. */
	.cfi_def_cfa %rsp, 16
	.cfi_offset %rip, -8
	ENDBR
	pushq	%rbp
	.cfi_def_cfa_offset 24
	.cfi_offset %rbp, -24
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	subq	$SS_FRAME_BYTES, %rsp		/* rsp 16-byte aligned from here */

	/* Remember what to go back to: the limit without an interrupt mark
	 * (see INTERRUPTS) and the current segment.  Stack arguments go to
	 * the general warm path. */
	testq	%r11, %r11
	jne	.Lwarm_args
	movq	%rdi, -SS_FRAME_RDI(%rbp)
	movq	GUARD, %r11
	btrq	$SS_LIMIT_MARK_BIT, %r11
	movq	%r11, -SS_FRAME_OLD_GUARD(%rbp)

	/* WARM PATH WITHOUT STACK ARGUMENTS (the common case), in r10, r11
	 * and rdi only: the segment after the current one is cached and big
	 * enough.  The same steps as splitstack_grow's (see src/chain.rs for
	 * why the order is signal-safe):
	 *   next = cur ? cur->next : __morestack_segments
	 *   if next->size < frame + reserve + SS_SEG_META: cold path
	 *   current = next; next->prev = cur; next->old_stack = args
	 *   rsp = top; limit = next + header + reserve
	 * Threads that asked for signal blocking take the cold path.  The
	 * reserve is read once (splitstack_set_reserve may change it
	 * meanwhile); it is 0 only before start-up, when no thread has a
	 * segment yet.  No sum here can overflow: the frame size comes from
	 * the compiler (a 32-bit immediate), the reserve is at most 1 GiB. */
	TLS_OFF(__morestack_current_segment, %r11)
	movq	TLS(__morestack_current_segment, 0, %r11), %rdi	/* cur */
	movq	%rdi, -SS_FRAME_OLD_SEGMENT(%rbp)
	TLS_OFF(__morestack_initial_sp, %r11)
	cmpl	$0, TLS(__morestack_initial_sp, SS_ISP_DONT_BLOCK, %r11)
	je	.Lcold_noargs
	testq	%rdi, %rdi
	je	.Lfirst_noargs
	movq	SS_SEG_NEXT(%rdi), %rdi		/* rdi = next = cur->next */
.Lnext_noargs:
	testq	%rdi, %rdi
	je	.Lcold_noargs
	movq	splitstack_reserve_bytes(%rip), %r11
	leaq	SS_SEG_META(%r10,%r11), %r10	/* r10 = need + SS_SEG_META */
	cmpq	%r10, SS_SEG_SIZE(%rdi)
	jb	.Lcold_noargs_need
	/* Committed: r10 is free; r11 = the reserve.  Count the call (per
	 * thread, no atomic needed), make next current, link it back. */
	TLS_OFF(splitstack_thread, %r10)
	incq	TLS(splitstack_thread, SS_THREAD_MORESTACK_CALLS, %r10)
	TLS_OFF(__morestack_current_segment, %r10)
	movq	%rdi, TLS(__morestack_current_segment, 0, %r10)	/* commit */
	movq	-SS_FRAME_OLD_SEGMENT(%rbp), %r10
	movq	%r10, SS_SEG_PREV(%rdi)
	leaq	24(%rbp), %r10
	movq	%r10, SS_SEG_OLD_STACK(%rdi)
	leaq	SS_SEG_HEADER_SIZE(%rdi,%r11), %r11	/* r11 = new limit */
	movq	SS_SEG_SIZE(%rdi), %r10
	leaq	SS_SEG_HEADER_SIZE-SS_SEG_META(%rdi,%r10), %r10	/* top */
	movq	SWITCHING_GUARD, GUARD
	movq	%r10, %rsp			/* rsp = top, 16-byte aligned */
	movq	%r11, GUARD
	/* A request the limit store above overwrote, or one made before
	 * this call: deliver it before the body (see INTERRUPTS). */
	TLS_OFF(splitstack_thread, %r10)
	cmpq	$0, TLS(splitstack_thread, SS_THREAD_PENDING, %r10)
	jne	.Lwarm_pending_noargs
	movq	-SS_FRAME_RDI(%rbp), %rdi
	movq	8(%rbp), %r11			/* R1 */
	addq	$1, %r11			/* body = R1 + 1 */
.Lwarm_call_begin:
	call	*%r11
.Lwarm_call_end:
	/* Back from the body: rax, rdx, xmm0, xmm1, st0/st1 hold its
	 * results.  Fast when there are no alloca blocks to free and at most
	 * one idle segment cached beyond this one (more go back to the
	 * allocator on the slow path, so that a deep recursion does not keep
	 * its segments forever).  Signals are not blocked here (the cold
	 * path's return checks that before it comes here). */
.Lreturn_checks:
	TLS_OFF(__morestack_current_segment, %rdi)
	movq	TLS(__morestack_current_segment, 0, %rdi), %rcx
	cmpq	$0, SS_SEG_EXTRA(%rcx)
	jne	.Lwarm_slow_return
	movq	SS_SEG_NEXT(%rcx), %rcx
	testq	%rcx, %rcx
	je	.Lswitch_back
	cmpq	$0, SS_SEG_NEXT(%rcx)
	jne	.Lwarm_slow_return
.Lswitch_back:
	/* SWITCH_BACK with %rsp at this frame's top: nothing below it is
	 * read again. */
	SWITCH_BACK_TO 0		/* rdi: from .Lreturn_checks */
	popq	%rbp
	.cfi_remember_state
	.cfi_def_cfa %rsp, 16
	.cfi_restore %rbp
	ret					/* to R1, whose ret goes to R2 */
	.cfi_restore_state
.Lleave:
	movq	%rbp, %rsp
	popq	%rbp
	.cfi_remember_state
	.cfi_def_cfa %rsp, 16
	.cfi_restore %rbp
	ret
	.cfi_restore_state

	/* cur == NULL: the thread's first segment follows its own stack. */
.Lfirst_noargs:
	TLS_OFF(__morestack_segments, %rdi)
	movq	TLS(__morestack_segments, 0, %rdi), %rdi
	jmp	.Lnext_noargs

	/* Not warm: the cold path, with the registers as they came in (r10
	 * the frame size, r11 = 0 bytes of arguments). */
.Lcold_noargs_need:
	subq	%r11, %r10
	subq	$SS_SEG_META, %r10
.Lcold_noargs:
	movq	-SS_FRAME_RDI(%rbp), %rdi
	xorl	%r11d, %r11d
	jmp	.Lcold

	/* Pending interrupt bits after the warm switch: save what the cold
	 * path saves (rdi is saved already) and deliver there. */
.Lwarm_pending_noargs:
	movq	%rcx, -SS_FRAME_RCX(%rbp)
	movq	%rdx, -SS_FRAME_RDX(%rbp)
	movq	%rsi, -SS_FRAME_RSI(%rbp)
	movq	%r8, -SS_FRAME_R8(%rbp)
	SAVE_COLD
	jmp	.Lpending

.Lwarm_slow_return:
	movq	$0, -SS_FRAME_BLOCKED(%rbp)	/* unset on the warm path */
	jmp	.Lslow_return

	/* WARM PATH WITH STACK ARGUMENTS: as above, in rcx, rdx, rsi, rdi,
	 * r8, r10 and r11, saving the first five; the arguments are copied
	 * after the switch (nothing is written to the segment before it is
	 * current either way):
	 *   need = frame + round_up(args, 32) + reserve
	 *   rsp = top - round_up(args, 32); copy the arguments there */
.Lwarm_args:
	SAVE_ARGREGS
	movq	GUARD, %rdx
	btrq	$SS_LIMIT_MARK_BIT, %rdx
	movq	%rdx, -SS_FRAME_OLD_GUARD(%rbp)
	TLS_OFF(__morestack_current_segment, %rsi)
	movq	TLS(__morestack_current_segment, 0, %rsi), %rcx	/* cur */
	movq	%rcx, -SS_FRAME_OLD_SEGMENT(%rbp)
	TLS_OFF(__morestack_initial_sp, %rdx)
	cmpl	$0, TLS(__morestack_initial_sp, SS_ISP_DONT_BLOCK, %rdx)
	je	.Lcold_saved
	movq	splitstack_reserve_bytes(%rip), %rdx
	leaq	31(%r11), %rdi
	andq	$-32, %rdi			/* rdi = argument area */
	leaq	SS_SEG_META(%r10,%rdi), %r8
	addq	%rdx, %r8			/* r8 = need + SS_SEG_META */
	testq	%rcx, %rcx
	jne	1f
	TLS_OFF(__morestack_segments, %rsi)
	movq	TLS(__morestack_segments, 0, %rsi), %rsi	/* first segment */
	jmp	2f
1:	movq	SS_SEG_NEXT(%rcx), %rsi		/* next = cur->next */
2:	testq	%rsi, %rsi
	je	.Lcold_saved
	cmpq	%r8, SS_SEG_SIZE(%rsi)
	jb	.Lcold_saved
	/* Committed: r10 (the frame size) is free. */
	TLS_OFF(splitstack_thread, %r10)
	incq	TLS(splitstack_thread, SS_THREAD_MORESTACK_CALLS, %r10)
	TLS_OFF(__morestack_current_segment, %r8)
	movq	%rsi, TLS(__morestack_current_segment, 0, %r8)	/* commit */
	movq	%rcx, SS_SEG_PREV(%rsi)
	leaq	24(%rbp), %rcx			/* rcx = the arguments */
	movq	%rcx, SS_SEG_OLD_STACK(%rsi)
	movq	SS_SEG_SIZE(%rsi), %r8
	leaq	SS_SEG_HEADER_SIZE-SS_SEG_META(%rsi,%r8), %r8	/* r8 = top */
	leaq	SS_SEG_HEADER_SIZE(%rsi,%rdx), %rdx	/* rdx = new limit */
	/* Switch to the top, set the limit, move down over the argument
	 * area, and only then copy the arguments (above %rsp: no signal
	 * handler writes there).  To valgrind the first move is a switch
	 * between registered stacks and the second ordinary stack growth,
	 * which makes the area addressable even when this cached segment
	 * was last left with a higher stack pointer (src/valgrind.rs).  The
	 * store of the limit between the two keeps valgrind from merging
	 * them into one move (its translator keeps %rsp exact at every
	 * memory access, and only there).  Natively this costs what
	 * `sub; mov` did. */
	movq	SWITCHING_GUARD, GUARD
	movq	%r8, %rsp			/* rsp = top */
	movq	%rdx, GUARD
	subq	%rdi, %rsp			/* rsp = top - argument area */
	/* Copy r11 bytes (whole words) of stack arguments from rcx. */
	xorl	%edi, %edi
3:	movq	(%rcx,%rdi), %rsi
	movq	%rsi, (%rsp,%rdi)
	addq	$8, %rdi
	cmpq	%r11, %rdi
	jb	3b
	TLS_OFF(splitstack_thread, %r10)
	cmpq	$0, TLS(splitstack_thread, SS_THREAD_PENDING, %r10)
	jne	.Lwarm_pending
	RESTORE_ARGREGS
	movq	8(%rbp), %r11			/* R1 */
	addq	$1, %r11			/* body = R1 + 1 */
.Lwarm_args_call_begin:
	call	*%r11
.Lwarm_args_call_end:
	jmp	.Lreturn_checks

	/* Pending interrupt bits after the warm switch: save what the cold
	 * path saves and deliver there. */
.Lwarm_pending:
	SAVE_COLD
	jmp	.Lpending

	/* COLD PATH: the Rust helper finds or allocates the segment. */
.Lcold:
	SAVE_ARGREGS
.Lcold_saved:
	SAVE_COLD
	TLS_OFF(splitstack_thread, %rax)
	incq	TLS(splitstack_thread, SS_THREAD_MORESTACK_CALLS, %rax)

	/* Block signals only if this thread asked for it. */
	TLS_OFF(__morestack_initial_sp, %rax)
	cmpl	$0, TLS(__morestack_initial_sp, SS_ISP_DONT_BLOCK, %rax)
	jne	1f
	movq	$1, -SS_FRAME_BLOCKED(%rbp)
	leaq	-SS_FRAME_SIGMASK(%rbp), %rdi
	/* void splitstack_block_all(uint64_t *old_mask) */
	call	splitstack_block_all
1:
	/* struct { sp, limit } splitstack_grow(size_t frame, void *old_stack,
	 *                                      size_t arg_bytes)
	 * Commits the new segment as current, copies the arguments to its
	 * top and returns the stack pointer to use (32-byte aligned) and the
	 * limit for it.  Never returns on failure (message, then abort). */
	movq	%r10, %rdi
	leaq	24(%rbp), %rsi
	movq	%r11, %rdx
	call	splitstack_grow

	movq	SWITCHING_GUARD, GUARD
	movq	%rax, %rsp
	movq	%rdx, GUARD

	cmpq	$0, -SS_FRAME_BLOCKED(%rbp)
	je	2f
	leaq	-SS_FRAME_SIGMASK(%rbp), %rdi
	/* void splitstack_restore_mask(const uint64_t *mask) */
	call	splitstack_restore_mask
2:
	TLS_OFF(splitstack_thread, %rax)
	cmpq	$0, TLS(splitstack_thread, SS_THREAD_PENDING, %rax)
	je	.Lcold_restore
.Lpending:
	/* SplitstackDelivery splitstack_interrupt_take(uint64_t *bits):
	 * the handler to call and its argument, with the bits in *bits, or
	 * a NULL handler (nothing to run now).  Every argument register is
	 * saved in the frame; rsp is the body's, 16-byte aligned. */
	leaq	-SS_FRAME_BITS(%rbp), %rdi
	call	splitstack_interrupt_take
	testq	%rax, %rax
	je	.Lcold_restore
	movq	-SS_FRAME_BITS(%rbp), %rdi
	movq	%rdx, %rsi
	/* void handler(uint64_t bits, void *user): it may split, switch
	 * contexts and throw (the landing pad below). */
.Lhandler_call_begin:
	call	*%rax
.Lhandler_call_end:
	/* void splitstack_interrupt_done(void) */
	call	splitstack_interrupt_done
.Lcold_restore:
	movq	-SS_FRAME_RAX(%rbp), %rax
	movq	-SS_FRAME_RDI(%rbp), %rdi
	movq	-SS_FRAME_RSI(%rbp), %rsi
	movq	-SS_FRAME_RDX(%rbp), %rdx
	movq	-SS_FRAME_RCX(%rbp), %rcx
	movq	-SS_FRAME_R8(%rbp), %r8
	movq	-SS_FRAME_R9(%rbp), %r9
	movups	-SS_FRAME_XMM0+0x00(%rbp), %xmm0
	movups	-SS_FRAME_XMM0+0x10(%rbp), %xmm1
	movups	-SS_FRAME_XMM0+0x20(%rbp), %xmm2
	movups	-SS_FRAME_XMM0+0x30(%rbp), %xmm3
	movups	-SS_FRAME_XMM0+0x40(%rbp), %xmm4
	movups	-SS_FRAME_XMM0+0x50(%rbp), %xmm5
	movups	-SS_FRAME_XMM0+0x60(%rbp), %xmm6
	movups	-SS_FRAME_XMM0+0x70(%rbp), %xmm7

	movq	8(%rbp), %r11			/* R1 */
	addq	$1, %r11			/* body = R1 + 1 */
.Lcold_call_begin:
	call	*%r11
.Lcold_call_end:
	/* Signals blocked for this round trip: the slow way back, which
	 * blocks them again around the switch; otherwise the same checks as
	 * after the warm call. */
	cmpq	$0, -SS_FRAME_BLOCKED(%rbp)
	jne	.Lslow_return
	jmp	.Lreturn_checks

.Lslow_return:
	/* Park the results in the (now dead) argument slots of the frame. */
	movq	%rax, -SS_FRAME_RDI(%rbp)
	movq	%rdx, -SS_FRAME_RSI(%rbp)
	movups	%xmm0, -SS_FRAME_XMM0+0x00(%rbp)
	movups	%xmm1, -SS_FRAME_XMM0+0x10(%rbp)
	/* rsp is still the aligned value the body was called with. */
	cmpq	$0, -SS_FRAME_BLOCKED(%rbp)
	je	3f
	leaq	-SS_FRAME_SIGMASK(%rbp), %rdi
	call	splitstack_block_all
3:
	/* void splitstack_leave_segment(void): frees the alloca blocks of
	 * the segment being left (every frame on it is dead now) and returns
	 * the idle segments beyond the next one to the allocator. */
	call	splitstack_leave_segment
	SWITCH_BACK
	cmpq	$0, -SS_FRAME_BLOCKED(%rbp)
	je	4f
	leaq	-SS_FRAME_SIGMASK(%rbp), %rdi
	call	splitstack_restore_mask
4:
	movq	-SS_FRAME_RDI(%rbp), %rax
	movq	-SS_FRAME_RSI(%rbp), %rdx
	movups	-SS_FRAME_XMM0+0x00(%rbp), %xmm0
	movups	-SS_FRAME_XMM0+0x10(%rbp), %xmm1
	jmp	.Lleave

	/* Landing pad of the interrupt handler's call: the handler threw;
	 * it has stopped running (done), then the body's landing pad. */
.Lhandler_cleanup:
	movq	%rax, -SS_FRAME_EXCEPTION(%rbp)
	call	splitstack_interrupt_done
	movq	-SS_FRAME_EXCEPTION(%rbp), %rax
	jmp	.Lcleanup

	/* Landing pad: an exception (or a forced unwind: pthread_exit,
	 * cancellation) is leaving the body.  rax = exception object, rbp =
	 * this frame, rsp = the value at the call (on the new segment).
	 * Restore the segment and the exact limit the caller had, free the
	 * segment's alloca blocks, and keep unwinding from the old stack.
	 * (libgcc recomputes the limit here and gets it wrong on the
	 * original stack.) */
.Lcleanup:
	movq	%rax, -SS_FRAME_EXCEPTION(%rbp)
	/* void splitstack_unwind_segment(void *frame): leave_segment, and
	 * under AddressSanitizer the shadow of the skipped frames cleared
	 * (src/asan.rs); `frame` = the lowest byte of this frame. */
	leaq	-SS_FRAME_BYTES(%rbp), %rdi
	call	splitstack_unwind_segment
	SWITCH_BACK
	movq	-SS_FRAME_EXCEPTION(%rbp), %rdi
	call	_Unwind_Resume@PLT
	ud2					/* _Unwind_Resume does not return */
	.cfi_endproc
	.size	__morestack, . - __morestack

/* LSDA for __morestack, read by __gcc_personality_v0: four call-site
 * records, the calls of the body on the two warm paths and the cold path,
 * whose landing pad is the same cleanup, and the call of the interrupt
 * handler, whose pad first ends the handler.  Call-site records must be
 * sorted by address: warm call, warm call with arguments, handler call,
 * cold call. */
	.section .gcc_except_table,"a",@progbits
	.p2align 2
.Lmorestack_lsda:
	.byte	0xff				/* @LPStart: omitted (function start) */
	.byte	0xff				/* @TType: omitted (no catch clauses) */
	.byte	0x01				/* call sites: DW_EH_PE_uleb128 */
	.uleb128 .Lcall_sites_end - .Lcall_sites
.Lcall_sites:
	.uleb128 .Lwarm_call_begin - .Lmorestack	/* region start */
	.uleb128 .Lwarm_call_end - .Lwarm_call_begin	/* region length */
	.uleb128 .Lcleanup - .Lmorestack		/* landing pad */
	.uleb128 0					/* action: cleanup only */
	.uleb128 .Lwarm_args_call_begin - .Lmorestack
	.uleb128 .Lwarm_args_call_end - .Lwarm_args_call_begin
	.uleb128 .Lcleanup - .Lmorestack
	.uleb128 0
	.uleb128 .Lhandler_call_begin - .Lmorestack
	.uleb128 .Lhandler_call_end - .Lhandler_call_begin
	.uleb128 .Lhandler_cleanup - .Lmorestack
	.uleb128 0
	.uleb128 .Lcold_call_begin - .Lmorestack
	.uleb128 .Lcold_call_end - .Lcold_call_begin
	.uleb128 .Lcleanup - .Lmorestack
	.uleb128 0
.Lcall_sites_end:

	.hidden	DW.ref.__gcc_personality_v0
	.weak	DW.ref.__gcc_personality_v0
	.section .data.rel.local.DW.ref.__gcc_personality_v0,"awG",@progbits,DW.ref.__gcc_personality_v0,comdat
	.p2align 3
	.type	DW.ref.__gcc_personality_v0, @object
	.size	DW.ref.__gcc_personality_v0, 8
DW.ref.__gcc_personality_v0:
	.quad	__gcc_personality_v0

	.text
/* ---------------------------------------------------------------------
 * __morestack_non_split: where gold sends split-stack calls into code
 * without split-stack prologues.  Same entry state as __morestack.  If
 * the current segment has SS_NON_SPLIT_STACK bytes to spare beyond the
 * frame, run the body right here (return into it); otherwise ask
 * __morestack for that much more.  A variadic body (it starts with
 * `lea 0x18(%rbp),%r11`, optionally after endbr64) needs __morestack's
 * frame, so it always takes the long way.
 * ------------------------------------------------------------------- */
	.globl	__morestack_non_split
	.type	__morestack_non_split, @function
	.globl	__splitstack_morestack_non_split_impl
	.type	__splitstack_morestack_non_split_impl, @function
	.p2align 4
__morestack_non_split:
__splitstack_morestack_non_split_impl:
	.cfi_startproc
	.cfi_def_cfa %rsp, 16
	.cfi_offset %rip, -8
	ENDBR
	pushq	%rax
	.cfi_adjust_cfa_offset 8
	movq	%rsp, %rax
	subq	%r10, %rax
	jb	2f				/* frame larger than the address */
	subq	$SS_NON_SPLIT_STACK, %rax
	jb	2f
	cmpq	GUARD, %rax
	jb	2f
	movq	8(%rsp), %rax			/* R1: the stub's ret */
	cmpl	$0xfa1e0ff3, 1(%rax)		/* endbr64 first? */
	jne	1f
	addq	$4, %rax
1:	cmpl	$0x185d8d4c, 1(%rax)		/* lea 0x18(%rbp),%r11 */
	je	2f
	incq	8(%rsp)				/* return into the body */
	popq	%rax
	.cfi_adjust_cfa_offset -8
	ret
2:
	.cfi_adjust_cfa_offset 8
	popq	%rax
	.cfi_adjust_cfa_offset -8
	addq	$SS_NON_SPLIT_STACK+0x1000+SS_BACKOFF, %r10
	jmp	.Lmorestack
	.cfi_endproc
	.size	__morestack_non_split, . - __morestack_non_split

/* ---------------------------------------------------------------------
 * __morestack_large_model: -mcmodel=large passes
 * r10 = (argument bytes << 32) | frame size.
 * ------------------------------------------------------------------- */
	.globl	__morestack_large_model
	.type	__morestack_large_model, @function
	.p2align 4
__morestack_large_model:
	.cfi_startproc
	.cfi_def_cfa %rsp, 16
	.cfi_offset %rip, -8
	ENDBR
	movq	%r10, %r11
	movl	%r10d, %r10d			/* zero-extends: low 32 bits */
	shrq	$32, %r11
	jmp	.Lmorestack
	.cfi_endproc
	.size	__morestack_large_model, . - __morestack_large_model

/* ---------------------------------------------------------------------
 * void __stack_split_initialize(void)
 * Gives the calling thread SS_INITIAL_STACK bytes of its own stack below
 * the current stack pointer before split-stack code splits, and records
 * that stack for __splitstack_find.  Run for the main thread from
 * .init_array.00000 (before other constructors) and for each thread the
 * wrapper starts.
 * ------------------------------------------------------------------- */
	.globl	__stack_split_initialize
	.type	__stack_split_initialize, @function
	.p2align 4
__stack_split_initialize:
	.cfi_startproc
	ENDBR
	leaq	-SS_INITIAL_STACK(%rsp), %rax
	movq	%rax, GUARD
	movq	%rsp, %rdi
	movq	$SS_INITIAL_STACK, %rsi
	/* void __generic_morestack_set_initial_sp(void *sp, size_t len) */
	jmp	__generic_morestack_set_initial_sp@PLT
	.cfi_endproc
	.size	__stack_split_initialize, . - __stack_split_initialize

	.section .init_array.00000,"aw"
	.p2align 3
	.quad	__stack_split_initialize

	/* Frees the exiting thread's idle segments when the program (or
	 * this shared library) is finalised. */
	.section .fini_array,"aw"
	.p2align 3
	.quad	splitstack_process_exit

	.text
/* void *__morestack_get_guard(void) / void __morestack_set_guard(void *) */
	.globl	__morestack_get_guard
	.type	__morestack_get_guard, @function
	.p2align 4
__morestack_get_guard:
	.cfi_startproc
	ENDBR
	movq	GUARD, %rax
	btrq	$SS_LIMIT_MARK_BIT, %rax	/* the real limit, not the mark */
	ret
	.cfi_endproc
	.size	__morestack_get_guard, . - __morestack_get_guard

	.globl	__morestack_set_guard
	.type	__morestack_set_guard, @function
	.p2align 4
__morestack_set_guard:
	.cfi_startproc
	ENDBR
	movq	%rdi, GUARD
	REARM	%rdi, %rsi
	ret
	.cfi_endproc
	.size	__morestack_set_guard, . - __morestack_set_guard

/* ---------------------------------------------------------------------
 * void __splitstack_getcontext(void *ctx[10])
 * void __splitstack_setcontext(void *ctx[10])
 * The context API's two halves of a coroutine switch, here so that the
 * thread-local variables are reached as __morestack reaches them (one
 * instruction each in the static library).  The layout of the ten words
 * is src/ffi/context.rs's SplitstackContext (SS_CTX_* in layout.h); the
 * other architectures' definitions, and everything off the fast path,
 * are there.  Ordinary C functions: rdi = ctx; rax, rcx, rdx, rsi, r8
 * clobbered; no frame (leaves: CFA = rsp + 8 throughout).
 * ------------------------------------------------------------------- */
	.globl	__splitstack_getcontext
	.type	__splitstack_getcontext, @function
	.p2align 4
__splitstack_getcontext:
	.cfi_startproc
	ENDBR
	testq	%rdi, %rdi
	je	splitstack_getcontext_null	/* message, nothing saved */
	TLS_OFF(__morestack_segments, %rax)
	movq	TLS(__morestack_segments, 0, %rax), %rax
	movq	%rax, SS_CTX_SEGMENTS(%rdi)
	TLS_OFF(__morestack_current_segment, %rax)
	movq	TLS(__morestack_current_segment, 0, %rax), %rax
	movq	%rax, SS_CTX_CURRENT(%rdi)
	/* Where a collector's scan of this stack starts: below every word of
	 * the caller's frame, word-aligned (it holds our return address). */
	movq	%rsp, SS_CTX_SP(%rdi)
	movq	GUARD, %rax
	btrq	$SS_LIMIT_MARK_BIT, %rax	/* the real limit, not the mark */
	movq	%rax, SS_CTX_GUARD(%rdi)
	TLS_OFF(__morestack_initial_sp, %rax)
	movq	TLS(__morestack_initial_sp, SS_ISP_SP, %rax), %rdx
	movq	%rdx, SS_CTX_INITIAL_SP(%rdi)
	movq	TLS(__morestack_initial_sp, SS_ISP_LEN, %rax), %rdx
	movq	%rdx, SS_CTX_INITIAL_SP_LEN(%rdi)
	movslq	TLS(__morestack_initial_sp, SS_ISP_DONT_BLOCK, %rax), %rdx
	movq	%rdx, SS_CTX_DONT_BLOCK(%rdi)
	movabsq	$SS_CTX_LIVE, %rdx
	movq	%rdx, SS_CTX_STATE(%rdi)
	TLS_OFF(splitstack_thread, %rax)
	movq	TLS(splitstack_thread, SS_THREAD_DEFER, %rax), %rdx
	movq	%rdx, SS_CTX_DEFER(%rdi)
	movq	$0, SS_CTX_ZERO(%rdi)
	ret
	.cfi_endproc
	.size	__splitstack_getcontext, . - __splitstack_getcontext

/* Jumps to \bad unless the segment words \a and \b could be a live
   context of ours: both 16-byte aligned user-space addresses (below
   2^48) or NULL, not both NULL (a context of the original stack), and
   neither a non-NULL address below 64 KiB.  src/ffi/context.rs's
   plausible_pair, which a unit test compares with this one.  Clobbers
   \t, \u and the flags. */
.macro	PLAUSIBLE_PAIR a, b, t, u, bad
	movq	\a, \t
	orq	\b, \t
	je	\bad				/* both NULL */
	movabsq	$0xffff00000000000f, \u
	testq	\u, \t
	jne	\bad				/* misaligned or beyond 2^48 */
	leaq	-1(\a), \t			/* NULL wraps to the top */
	cmpq	$65534, \t
	jbe	\bad
	leaq	-1(\b), \t
	cmpq	$65534, \t
	jbe	\bad
.endm

	.globl	__splitstack_setcontext
	.type	__splitstack_setcontext, @function
	.p2align 4
__splitstack_setcontext:
	.cfi_startproc
	ENDBR
	/* The common case, a context of ours with a segment (a coroutine
	 * switch), read in place; everything else (NULL, libgcc's layout,
	 * released or garbage contexts, a context of the original stack)
	 * goes to splitstack_setcontext_general. */
	testq	%rdi, %rdi
	je	splitstack_setcontext_general
	movabsq	$SS_CTX_LIVE, %rax
	cmpq	%rax, SS_CTX_STATE(%rdi)
	jne	splitstack_setcontext_general
	movq	SS_CTX_SEGMENTS(%rdi), %rdx
	movq	SS_CTX_CURRENT(%rdi), %rcx
	PLAUSIBLE_PAIR %rdx, %rcx, %rax, %rsi, splitstack_setcontext_general
	/* Install: the lists, the original stack, the interrupt nesting, and
	 * the limit last, so that a signal between these stores sees the old
	 * limit with the new lists at worst, which only makes a handler split
	 * early; then a request waiting for this thread is kept (REARM).  Our
	 * getcontext and makecontext store real limits: no mark to clear. */
	movq	SS_CTX_GUARD(%rdi), %rax
	TLS_OFF(__morestack_segments, %rsi)
	movq	%rdx, TLS(__morestack_segments, 0, %rsi)
	TLS_OFF(__morestack_current_segment, %rsi)
	movq	%rcx, TLS(__morestack_current_segment, 0, %rsi)
	TLS_OFF(__morestack_initial_sp, %rsi)
	movq	SS_CTX_INITIAL_SP(%rdi), %rdx
	movq	%rdx, TLS(__morestack_initial_sp, SS_ISP_SP, %rsi)
	movq	SS_CTX_INITIAL_SP_LEN(%rdi), %rdx
	movq	%rdx, TLS(__morestack_initial_sp, SS_ISP_LEN, %rsi)
	movl	SS_CTX_DONT_BLOCK(%rdi), %edx
	movl	%edx, TLS(__morestack_initial_sp, SS_ISP_DONT_BLOCK, %rsi)
	TLS_OFF(splitstack_thread, %rsi)
	movq	SS_CTX_DEFER(%rdi), %rdx
	movq	%rdx, TLS(splitstack_thread, SS_THREAD_DEFER, %rsi)
	movq	%rax, GUARD
	REARM	%rax, %rsi
	ret
	.cfi_endproc
	.size	__splitstack_setcontext, . - __splitstack_setcontext

/* size_t splitstack_plausible_pair_asm(size_t a, size_t b): 1 if
 * PLAUSIBLE_PAIR accepts the two words, else 0 (for the unit test; its
 * own section, so that links of the library drop it). */
	.section .text.splitstack_plausible_pair_asm,"ax",@progbits
	.globl	splitstack_plausible_pair_asm
	.hidden	splitstack_plausible_pair_asm
	.type	splitstack_plausible_pair_asm, @function
	.p2align 4
splitstack_plausible_pair_asm:
	.cfi_startproc
	PLAUSIBLE_PAIR %rdi, %rsi, %rax, %rdx, 1f
	movl	$1, %eax
	ret
1:	xorl	%eax, %eax
	ret
	.cfi_endproc
	.size	splitstack_plausible_pair_asm, . - splitstack_plausible_pair_asm
	.text

/* void *__morestack_allocate_stack_space(size_t size)
 * Called by split-stack code for alloca/VLA blocks that may not fit on the
 * current segment.  Passes the caller's stack pointer along so that blocks
 * of frames that have returned can be recognised and freed. */
	.globl	__morestack_allocate_stack_space
	.type	__morestack_allocate_stack_space, @function
	.p2align 4
__morestack_allocate_stack_space:
	.cfi_startproc
	ENDBR
	leaq	8(%rsp), %rsi			/* caller's sp before the call */
	/* void *splitstack_allocate_stack_space(size_t size, void *caller_sp) */
	jmp	splitstack_allocate_stack_space
	.cfi_endproc
	.size	__morestack_allocate_stack_space, . - __morestack_allocate_stack_space

/* ---------------------------------------------------------------------
 * void splitstack_on_stack(void (*fn)(void *), void *arg, void *top)
 * Runs fn(arg) with the stack pointer at `top` (16-byte aligned), or on
 * the current stack when `top` is NULL, and the split-stack limit all ones
 * meanwhile: the runtime's slow paths (allocation, user allocator
 * callbacks) run on a per-thread runtime stack, and any split-stack code
 * a signal handler runs there asks for a fresh segment instead of
 * trusting a limit that belongs to another stack.
 *   frame: rbp+8 return address, rbp+0 saved rbp, rbp-8 saved limit,
 *          rbp-16 padding.
 * ------------------------------------------------------------------- */
	.globl	splitstack_on_stack
	.hidden	splitstack_on_stack
	.type	splitstack_on_stack, @function
	.p2align 4
splitstack_on_stack:
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	subq	$16, %rsp
	movq	GUARD, %rax
	movq	%rax, -8(%rbp)
	movq	SWITCHING_GUARD, GUARD
	movq	%rdi, %rax
	movq	%rsi, %rdi
	testq	%rdx, %rdx
	je	1f
	movq	%rdx, %rsp
1:	call	*%rax
	leaq	-16(%rbp), %rsp
	movq	-8(%rbp), %rax
	btrq	$SS_LIMIT_MARK_BIT, %rax
	movq	%rax, GUARD
	REARM	%rax, %rdi
	movq	%rbp, %rsp
	popq	%rbp
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_endproc
	.size	splitstack_on_stack, . - splitstack_on_stack

/* void *splitstack_real_pthread_create_ptr(void)
 * The address the linker's --wrap=pthread_create gave __real_pthread_create
 * (glibc's pthread_create), or NULL when the program was linked without
 * --wrap.  The reference is strong: under --wrap it becomes a reference to
 * pthread_create, which is what pulls pthread_create out of libc.a in a
 * -static link.  Without --wrap it stays __real_pthread_create, and the
 * archive member nowrap.S (NULL) satisfies it, so that plain links of the
 * library (programs that only use the API) work too. */
	.globl	splitstack_real_pthread_create_ptr
	.hidden	splitstack_real_pthread_create_ptr
	.type	splitstack_real_pthread_create_ptr, @function
	.p2align 4
splitstack_real_pthread_create_ptr:
	.cfi_startproc
	movq	__real_pthread_create@GOTPCREL(%rip), %rax
	ret
	.cfi_endproc
	.size	splitstack_real_pthread_create_ptr, . - splitstack_real_pthread_create_ptr

/* void (*splitstack_asan_unpoison_ptr(void))(const void *, size_t)
 * AddressSanitizer's __asan_unpoison_memory_region when the program runs
 * with it, else NULL (a weak reference: nothing is pulled in). */
	.weak	__asan_unpoison_memory_region
	.globl	splitstack_asan_unpoison_ptr
	.hidden	splitstack_asan_unpoison_ptr
	.type	splitstack_asan_unpoison_ptr, @function
	.p2align 4
splitstack_asan_unpoison_ptr:
	.cfi_startproc
	movq	__asan_unpoison_memory_region@GOTPCREL(%rip), %rax
	ret
	.cfi_endproc
	.size	splitstack_asan_unpoison_ptr, . - splitstack_asan_unpoison_ptr

/* Helpers implemented in Rust: bound locally, never through a PLT. */
	.hidden	splitstack_unwind_segment
	.hidden	splitstack_grow
	.hidden	splitstack_leave_segment
	.hidden	splitstack_block_all
	.hidden	splitstack_restore_mask
	.hidden	splitstack_process_exit
	.hidden	splitstack_allocate_stack_space
	.hidden	splitstack_interrupt_take
	.hidden	splitstack_interrupt_done
	.hidden	splitstack_interrupt_armed
	.hidden	splitstack_getcontext_null
	.hidden	splitstack_setcontext_general

/* size_t splitstack_reserve_bytes: the reserve under each limit (the
 * setting of src/config.rs, which owns it; the warm paths read it).  0
 * until start-up has read the settings, when no thread has a segment
 * yet, so no warm path runs: the cold one reads them. */
	.bss
	.globl	splitstack_reserve_bytes
	.hidden	splitstack_reserve_bytes
	.type	splitstack_reserve_bytes, @object
	.size	splitstack_reserve_bytes, 8
	.p2align 3
splitstack_reserve_bytes:
	.zero	8

/* size_t splitstack_interrupt_armed: nonzero while an interrupt handler is
 * set (src/interrupt.rs owns it; REARM reads it). */
	.globl	splitstack_interrupt_armed
	.hidden	splitstack_interrupt_armed
	.type	splitstack_interrupt_armed, @object
	.size	splitstack_interrupt_armed, 8
	.p2align 3
splitstack_interrupt_armed:
	.zero	8

/* ---------------------------------------------------------------------
 * The three per-thread variables of libgcc's runtime, same names, sizes
 * and layouts (other code reads them, and a shared library embedding
 * libgcc's runtime binds its accesses to them).
 * ------------------------------------------------------------------- */
	.section .tbss,"awT",@nobits
	.p2align 3
	.globl	__morestack_segments
	.type	__morestack_segments, @object
	.size	__morestack_segments, 8
__morestack_segments:
	.zero	8
	.globl	__morestack_current_segment
	.type	__morestack_current_segment, @object
	.size	__morestack_current_segment, 8
__morestack_current_segment:
	.zero	8
	.globl	__morestack_initial_sp
	.type	__morestack_initial_sp, @object
	.size	__morestack_initial_sp, SS_ISP_SIZE
__morestack_initial_sp:
	.zero	SS_ISP_SIZE
	/* The runtime's own per-thread state (src/thread_state.rs). */
	.p2align 4
	.globl	splitstack_thread
	.hidden	splitstack_thread
	.type	splitstack_thread, @object
	.size	splitstack_thread, SS_THREAD_BLOCK_SIZE
splitstack_thread:
	.zero	SS_THREAD_BLOCK_SIZE

/* Every entry point here uses a bounded amount of stack, so callers need
 * not be moved to __morestack_non_split by gold; the stack is not
 * executable. */
	.section .note.GNU-split-stack,"",@progbits
	.section .note.GNU-no-split-stack,"",@progbits
	.section .note.GNU-stack,"",@progbits

