/*
 * splitstack: the aarch64 half of the split-stack runtime.
 *
 * PROTOCOL (defined by this project: no shipping compiler emits aarch64
 * split-stack code; see docs/aarch64.md)
 * A split-stack function F whose frame needs N bytes starts with
 *
 *      mrs   x9, tpidr_el0
 *      ldr   x9, [x9, #SS_TCB_GUARD_OFFSET]    // the limit
 *      mov   x10, #(N & 0xffff)                // always movz + movk, so a
 *      movk  x10, #(N >> 16), lsl #16          //   linker could patch N
 *      sub   x10, sp, x10                      // the sp F wants
 *      mov   x11, sp                           // if F has stack arguments
 *      adr   x12, body
 *      cmp   x10, x9
 *      b.hs  body                              // unsigned: limit 0 never
 *      b     __morestack                       //   splits, all ones always
 *   body:
 *      bti   c                                 // reached by `blr x12`
 *      ...F's own prologue; stack arguments are read through x11...
 *
 * __morestack is reached by a plain branch, so x30 still holds the return
 * address into F's caller and sp is F's stack pointer at entry: to the
 * unwinder __morestack simply *is* F's outermost frame.  It builds a
 * frame below sp, obtains a segment with room for N bytes plus the
 * runtime's slack, switches sp to it, sets the new limit, restores the
 * argument registers, points x11 at F's stack arguments (which stay on
 * the old stack: nothing is copied) and calls the body with `blr x12`.
 * When the body returns it switches back, restores the old limit, x29 and
 * x30, and returns straight to F's caller.
 *
 * REGISTER CONTRACT
 *   in:   x10 = the sp F wants, x11 = F's sp (if it has stack arguments),
 *         x12 = body, x30 = return address into F's caller, x9 scratch;
 *         x0-x7, x8 (indirect result), x18 (static chain) and q0-q7 hold
 *         F's arguments.  sp is 16-byte aligned (AAPCS64).
 *   body: called with x0-x8, x18 and q0-q7 (all 128 bits) exactly as F
 *         received them, x11 = F's stack arguments (the old stack), x29 =
 *         this frame, x30 = the return into __morestack, sp 16-byte
 *         aligned on the new segment; x9, x10, x12 undefined.
 *   out:  x0-x8 and q0-q3 as the body left them (every register AAPCS64
 *         returns a value in, and x8); callee-saved registers (x19-x28,
 *         x29, sp, d8-d15) preserved; x9-x18 and q4-q7 clobbered (all
 *         dead once F has returned).
 *   Two ways in: the WARM PATH (the next segment is cached) runs in
 *   x9-x17 only and calls nothing; the COLD PATH (and the delivery of an
 *   interrupt, see INTERRUPTS) saves x0-x8, x18 and q0-q7 in the frame
 *   and calls the Rust helpers.  Each calls the body from a call site of
 *   its own.
 *   The Rust helpers follow AAPCS64: they may clobber x0-x18 and q0-q7
 *   (everything caller-saved), so the argument registers, x18 included,
 *   are saved around them.  Only the low 128 bits of z0-z7 are kept: an
 *   SVE argument passed in z registers (the SVE vector PCS) loses its
 *   upper bits, as it would across any AAPCS64 call.
 *
 * FRAME (on the old stack; offsets from x29 upwards; names in consts.h)
 *
 *      +288 ..     F's stack arguments            old_stack = CFA
 *      +160..+287  q0 .. q7 (16 bytes each)       SS_FRAME_Q0
 *      +152        interrupt bits to deliver      SS_FRAME_BITS
 *      +144        exception object (unwinding)   SS_FRAME_EXCEPTION
 *      +136        signal mask (when blocking)    SS_FRAME_SIGMASK
 *      +128        1 if signals were blocked      SS_FRAME_BLOCKED
 *      +120        segment before the call        SS_FRAME_OLD_SEGMENT
 *      +112        limit before the call          SS_FRAME_OLD_GUARD
 *      +104        bytes F asked for (sp - x10)   SS_FRAME_NEED
 *      +96         body address (x12)             SS_FRAME_BODY
 *      +88         x18                            SS_FRAME_X18
 *      +16..+87    x0 .. x8                       SS_FRAME_X0, SS_FRAME_X8
 *      +8          x30: return into F's caller    SS_FRAME_LR
 *       0          F's caller's x29               SS_FRAME_FP
 *      x29 = sp after `stp x29, x30, [sp, #-SS_FRAME_BYTES]!`
 *
 * CFI: CFA = x29 + SS_FRAME_BYTES (F's caller's sp), x29 and x30 saved
 * at CFA-288 and CFA-280, return address column x30.  So unwinders and
 * tracebacks step body -> __morestack -> F's caller, on whichever stack
 * sp happens to be.  The name __morestack is kept because tracebacks
 * (gccgo's among them) skip frames by that name.
 *
 * SIGNALS WITHOUT BLOCKING (the invariants of asm/x86_64/morestack.S)
 *   - the current-segment variable names the segment sp is in, or a
 *     segment the interrupted code has not written to yet
 *     (splitstack_grow commits the new segment before anything is
 *     written to it; the old segment is restored only after sp left the
 *     new one);
 *   - while sp moves between segments the limit is all ones, so any
 *     split-stack prologue a handler runs asks for a fresh segment
 *     instead of trusting a limit that belongs to the other stack;
 *   - every __morestack invocation restores exactly the segment and limit
 *     it found, so nested invocations (handlers) unwind LIFO.
 * Threads that ask for blocking with __splitstack_block_signals still get
 * it (SS_FRAME_BLOCKED).
 *
 * INTERRUPTS (the protocol of asm/x86_64/morestack.S, docs/x86_64.md
 * section 9; docs/aarch64.md section 8)
 * Another thread interrupts this one by ORing bits into the thread
 * block's pending word (SS_THREAD_PENDING) and then setting bit
 * SS_LIMIT_MARK_BIT of the limit word (a compare-and-swap from a real
 * value, never over the all-ones switching value).  Every prologue's
 * unsigned `cmp x10, x9; b.hs body` then fails, so the next function
 * entry comes here, where three steps make it a delivery and lose no
 * request to this code's own limit writes:
 *   - ENTRY: the limit saved for the way back (SS_FRAME_OLD_GUARD) has
 *     the mark cleared (UNMARK, one `sbfx`, which leaves the all-ones
 *     switching value all ones), so a mark never outlives the call that
 *     saw it;
 *   - SWITCH-IN: after the new limit is stored the pending word is
 *     loaded (warm path: through x14, the thread block's address, kept
 *     from the call count at entry; cold path: recomputed after
 *     splitstack_grow); nonzero goes to .Lpending (the warm path first
 *     saves what the cold path saves, .Lwarm_pending), which asks
 *     splitstack_interrupt_take(&bits) for the handler: (x0, x1) =
 *     (handler, user), the bits in SS_FRAME_BITS, handler NULL when
 *     there is nothing to run now (deferred, no handler set, inside a
 *     signal handler).  Otherwise handler(bits, user) runs on the new
 *     segment, with the body's frame and the reserve below it, then
 *     splitstack_interrupt_done(), then the body (the cold path's call);
 *   - SWITCH-BACK: after the old limit is restored, REARM: pending, not
 *     deferred (SS_THREAD_DEFER) and a handler set
 *     (splitstack_interrupt_armed): the limit is stored again with the
 *     mark, so the caller's next entry delivers a request whose mark
 *     went to the segment just left.
 * The requester's membarrier between its pending and limit writes makes
 * "store the limit, then load pending" (program order here) see every
 * request whose mark the store overwrote.  __morestack_set_guard and
 * splitstack_on_stack REARM after their limit stores too, and
 * __morestack_get_guard returns the limit without the mark.
 *
 * EXCEPTIONS: the calls of the body are covered by call-site records of
 * __gcc_personality_v0 whose landing pad (a cleanup) restores the segment
 * and the exact limit of F's caller and resumes unwinding from the old
 * stack.  The call of the interrupt handler has a record of its own,
 * whose landing pad first ends the handler (splitstack_interrupt_done)
 * and then joins that cleanup.
 *
 * BTI: every global entry point starts with `bti c`; the landing pads
 * start with `bti j` (what GCC puts at landing pads); __morestack_non_split
 * enters the body through x16, which a `bti c` pad accepts.  The GNU
 * property note that marks the object BTI-compatible is emitted when the
 * file is assembled with -mbranch-protection=bti (or standard).
 *
 * __morestack is called by a branch that must bind locally: it is never
 * reached through a lazily bound PLT entry (the resolver would clobber
 * x9-x12).  A program linked with the static library binds it directly;
 * one linked with the shared library gets a hidden stub of its own that
 * jumps through the GOT to __splitstack_morestack_impl, the same code
 * under a second name (shared_stubs.S).
 */

#include "consts.h"

#define BTI_C	hint	#34		/* bti c: a target of blr / br x16,x17 */
#define BTI_J	hint	#36		/* bti j: a target of br */

#define GUARD_OFF	SS_TCB_GUARD_OFFSET
/* The interrupt mark of the limit word. */
#define MARK_BIT	(1 << SS_LIMIT_MARK_BIT)

/* reg = the address of this thread's copy of the initial-exec TLS
   variable sym; tp must already hold tpidr_el0 (and be another
   register than reg). */
/* The argument registers into the frame (x0-x8, x18, q0-q7): what the
   cold path saves, and the warm path before an interrupt delivery. */
.macro	SAVE_ARGS
	stp	x0, x1, [x29, #SS_FRAME_X0]
	stp	x2, x3, [x29, #SS_FRAME_X0 + 16]
	stp	x4, x5, [x29, #SS_FRAME_X0 + 32]
	stp	x6, x7, [x29, #SS_FRAME_X0 + 48]
	stp	x8, x18, [x29, #SS_FRAME_X8]
	stp	q0, q1, [x29, #SS_FRAME_Q0]
	stp	q2, q3, [x29, #SS_FRAME_Q0 + 32]
	stp	q4, q5, [x29, #SS_FRAME_Q0 + 64]
	stp	q6, q7, [x29, #SS_FRAME_Q0 + 96]
.endm

.macro	TLS_ADDR reg, tp, sym
	adrp	\reg, :gottprel:\sym
	ldr	\reg, [\reg, #:gottprel_lo12:\sym]
	add	\reg, \reg, \tp
.endm

/* reg = the real limit in reg: the interrupt mark (bit 63) replaced by a
   copy of bit 62 (sign extension of the low 63 bits).  Real limits are
   user-space addresses, bit 62 clear, so the mark is cleared; the
   all-ones switching value stays all ones, so a call that found it
   restores exactly that (t_frames and t_regs force splits with it). */
.macro	UNMARK reg
	sbfx	\reg, \reg, #0, #SS_LIMIT_MARK_BIT
.endm

/* Back to the old stack: limit all ones while sp moves, sp = x29 (the
   frame), current segment = the one saved, then the saved limit,
   re-marked if a request is waiting (REARM).  Clobbers x9-x13.
   SWITCH_BACK_X10: the same with x9 = tpidr_el0 and x10 =
   &__morestack_current_segment already loaded (by .Lreturn_checks, with
   no call since, so on the thread the switch runs on). */
.macro	SWITCH_BACK
	mrs	x9, tpidr_el0
	TLS_ADDR x10, x9, __morestack_current_segment
	SWITCH_BACK_X10
.endm

.macro	SWITCH_BACK_X10
	ldp	x12, x13, [x29, #SS_FRAME_OLD_GUARD]	/* limit, segment */
	mov	x11, #-1
	str	x11, [x9, #GUARD_OFF]		/* every check fails meanwhile */
	mov	sp, x29
	str	x13, [x10]
	str	x12, [x9, #GUARD_OFF]
	REARM	x12, x9, x10, x11
.endm

/* After storing the real limit \lim (tp = tpidr_el0): if interrupt bits
   are pending, not deferred, and a handler is set, store it again with
   the mark, so that the next entry delivers.  Only this thread stores
   unmarked values and requesters only mark, so a plain store is safe.
   Clobbers \t1, \t2; \lim is marked if the mark was stored.  Five
   instructions when nothing is pending. */
.macro	REARM lim, tp, t1, t2
	TLS_ADDR \t1, \tp, splitstack_thread
	ldp	\t2, \t1, [\t1, #SS_THREAD_PENDING]	/* pending, defer */
	cbz	\t2, .Lrearm_done\@
	cbnz	\t1, .Lrearm_done\@
	adrp	\t1, splitstack_interrupt_armed
	ldr	\t1, [\t1, #:lo12:splitstack_interrupt_armed]
	cbz	\t1, .Lrearm_done\@
	orr	\lim, \lim, #MARK_BIT
	str	\lim, [\tp, #GUARD_OFF]
.Lrearm_done\@:
.endm

	.text

/* ---------------------------------------------------------------------
 * void __morestack(void)   -- special calling convention, see above.
 * ------------------------------------------------------------------- */
	.globl	__morestack
	.type	__morestack, %function
	/* The name a program linked with the shared library reaches it by
	 * (see shared_stubs.S). */
	.globl	__splitstack_morestack_impl
	.type	__splitstack_morestack_impl, %function
	.p2align 4
__morestack:
__splitstack_morestack_impl:
.Lmorestack:
	.cfi_startproc
	.cfi_personality 0x9b, DW.ref.__gcc_personality_v0
	.cfi_lsda 0x1b, .Lmorestack_lsda
	/* CFA = sp (F's sp at entry), return address in x30: the defaults. */
	BTI_C
	stp	x29, x30, [sp, #-SS_FRAME_BYTES]!
	.cfi_def_cfa_offset SS_FRAME_BYTES
	.cfi_offset x29, -SS_FRAME_BYTES
	.cfi_offset x30, -SS_FRAME_BYTES + 8
	mov	x29, sp
	.cfi_def_cfa_register x29

	add	x9, x29, #SS_FRAME_BYTES	/* F's sp at entry */
	sub	x10, x9, x10			/* bytes F asked for */
	stp	x12, x10, [x29, #SS_FRAME_BODY]	/* body, need */

	mrs	x13, tpidr_el0
	/* Count the call (per thread, no atomic needed).  x14 keeps the
	 * thread block's address for the warm path's pending test. */
	TLS_ADDR x14, x13, splitstack_thread
	ldr	x15, [x14, #SS_THREAD_MORESTACK_CALLS]
	add	x15, x15, #1
	str	x15, [x14, #SS_THREAD_MORESTACK_CALLS]

	/* Remember what to go back to: the limit without an interrupt mark
	 * (see INTERRUPTS). */
	ldr	x9, [x13, #GUARD_OFF]
	UNMARK	x9
	TLS_ADDR x15, x13, __morestack_current_segment	/* x15 = &current */
	ldr	x16, [x15]				/* x16 = cur */
	stp	x9, x16, [x29, #SS_FRAME_OLD_GUARD]

	/* WARM PATH, in the scratch registers x9-x17 only (AAPCS64 gives them
	 * to us at a call boundary; x0-x8, x18 and q0-q7 are never touched,
	 * nothing is called): the segment after the current one is cached
	 * and big enough.  The same steps, in the same order, as
	 * splitstack_grow (see asm/x86_64/morestack.S and src/chain.rs
	 * for why the order is signal-safe):
	 *   next = cur ? cur->next : __morestack_segments
	 *   if next->size < need + reserve + SS_SEG_META: cold path
	 *   current = next; next->prev = cur; next->old_stack = F's sp
	 * Threads that asked for signal blocking take the cold path (which
	 * reloads `need` from the frame: x10 is reused below). */
	TLS_ADDR x9, x13, __morestack_initial_sp
	ldr	w9, [x9, #SS_ISP_DONT_BLOCK]
	cbz	w9, .Lcold
	adrp	x17, splitstack_reserve_bytes
	ldr	x17, [x17, #:lo12:splitstack_reserve_bytes]	/* 0 before start-up */
	cbz	x17, .Lcold
	add	x10, x10, x17
	add	x10, x10, #SS_SEG_META			/* x10 = need + reserve + meta */
	cbnz	x16, 1f
	TLS_ADDR x9, x13, __morestack_segments
	ldr	x9, [x9]				/* next = first segment */
	b	2f
1:	ldr	x9, [x16, #SS_SEG_NEXT]			/* next = cur->next */
2:	cbz	x9, .Lcold
	ldr	x11, [x9, #SS_SEG_SIZE]
	cmp	x11, x10
	b.lo	.Lcold
	str	x9, [x15]				/* commit: current = next */
	str	x16, [x9, #SS_SEG_PREV]
	add	x15, x29, #SS_FRAME_BYTES
	str	x15, [x9, #SS_SEG_OLD_STACK]
	add	x11, x9, x11
	sub	x11, x11, #(SS_SEG_META - SS_SEG_HEADER_SIZE)	/* x11 = top */
	add	x17, x9, x17
	add	x17, x17, #SS_SEG_HEADER_SIZE		/* x17 = new limit */
	mov	x15, #-1
	str	x15, [x13, #GUARD_OFF]			/* all ones while sp moves */
	mov	sp, x11
	str	x17, [x13, #GUARD_OFF]
	/* A request the limit store above overwrote, or one made before
	 * this call: deliver it before the body (see INTERRUPTS). */
	ldr	x15, [x14, #SS_THREAD_PENDING]
	cbnz	x15, .Lwarm_pending
	add	x11, x29, #SS_FRAME_BYTES		/* F's stack arguments */
	/* sp is the segment's top: 16-byte aligned. */
.Lwarm_call_begin:
	blr	x12
.Lwarm_call_end:
	/* Back from the body (x0-x8, q0-q3 may hold results): fast unless
	 * alloca blocks are to be freed or more than one idle segment is
	 * cached beyond this one (more go back to the allocator on the slow
	 * path, so a deep recursion does not keep its segments forever).
	 * Signals are not blocked here (the cold path's return checks that
	 * before it comes here). */
.Lreturn_checks:
	mrs	x9, tpidr_el0
	TLS_ADDR x10, x9, __morestack_current_segment	/* kept: SWITCH_BACK_X10 */
	ldr	x11, [x10]
	ldr	x12, [x11, #SS_SEG_EXTRA]
	cbnz	x12, .Lwarm_slow_return
	ldr	x11, [x11, #SS_SEG_NEXT]
	cbz	x11, .Lswitch_back
	ldr	x11, [x11, #SS_SEG_NEXT]
	cbz	x11, .Lswitch_back
.Lwarm_slow_return:
	str	xzr, [x29, #SS_FRAME_BLOCKED]		/* unset on the warm path */
	b	.Lslow_return

	/* Pending interrupt bits after the warm switch (sp is the new
	 * segment's top): save what the cold path saves and deliver there. */
.Lwarm_pending:
	SAVE_ARGS
	str	xzr, [x29, #SS_FRAME_BLOCKED]
	b	.Lpending

	/* COLD PATH: save the argument registers, then the Rust helper finds
	 * or allocates the segment. */
.Lcold:
	SAVE_ARGS

	/* Block signals only if this thread asked for it. */
	str	xzr, [x29, #SS_FRAME_BLOCKED]
	mrs	x9, tpidr_el0
	TLS_ADDR x1, x9, __morestack_initial_sp
	ldr	w1, [x1, #SS_ISP_DONT_BLOCK]
	cbnz	w1, 1f
	mov	x1, #1
	str	x1, [x29, #SS_FRAME_BLOCKED]
	add	x0, x29, #SS_FRAME_SIGMASK
	/* void splitstack_block_all(uint64_t *old_mask) */
	bl	splitstack_block_all
1:
	/* struct { sp, limit } splitstack_grow(size_t frame, void *old_stack,
	 *                                      size_t arg_bytes)
	 * Commits the new segment as current, records old_stack in it and
	 * returns (x0, x1) = the stack pointer to use (its top, 32-byte
	 * aligned) and the limit for it.  No arguments are copied: they stay
	 * on the old stack, reached through x11.  Never returns on failure
	 * (message, then abort). */
	ldr	x0, [x29, #SS_FRAME_NEED]
	add	x1, x29, #SS_FRAME_BYTES
	mov	x2, #0
	bl	splitstack_grow

	mrs	x9, tpidr_el0
	mov	x2, #-1
	str	x2, [x9, #GUARD_OFF]		/* all ones while sp moves */
	mov	sp, x0
	str	x1, [x9, #GUARD_OFF]

	ldr	x2, [x29, #SS_FRAME_BLOCKED]
	cbz	x2, 2f
	add	x0, x29, #SS_FRAME_SIGMASK
	/* void splitstack_restore_mask(const uint64_t *mask) */
	bl	splitstack_restore_mask
2:
	mrs	x10, tpidr_el0
	TLS_ADDR x9, x10, splitstack_thread
	ldr	x9, [x9, #SS_THREAD_PENDING]
	cbz	x9, .Lcold_restore
.Lpending:
	/* struct { handler, user } splitstack_interrupt_take(uint64_t *bits):
	 * the handler to call and its argument in (x0, x1), the bits in
	 * *bits, or a NULL handler (nothing to run now).  Every argument
	 * register is saved in the frame; sp is the body's (the new
	 * segment's top, 16-byte aligned). */
	add	x0, x29, #SS_FRAME_BITS
	bl	splitstack_interrupt_take
	cbz	x0, .Lcold_restore
	mov	x9, x0
	ldr	x0, [x29, #SS_FRAME_BITS]
	/* void handler(uint64_t bits, void *user), x1 = user: it may split,
	 * switch contexts and throw (the landing pad .Lhandler_cleanup). */
.Lhandler_call_begin:
	blr	x9
.Lhandler_call_end:
	/* void splitstack_interrupt_done(void) */
	bl	splitstack_interrupt_done
.Lcold_restore:
	ldp	x0, x1, [x29, #SS_FRAME_X0]
	ldp	x2, x3, [x29, #SS_FRAME_X0 + 16]
	ldp	x4, x5, [x29, #SS_FRAME_X0 + 32]
	ldp	x6, x7, [x29, #SS_FRAME_X0 + 48]
	ldp	x8, x18, [x29, #SS_FRAME_X8]
	ldp	q0, q1, [x29, #SS_FRAME_Q0]
	ldp	q2, q3, [x29, #SS_FRAME_Q0 + 32]
	ldp	q4, q5, [x29, #SS_FRAME_Q0 + 64]
	ldp	q6, q7, [x29, #SS_FRAME_Q0 + 96]
	ldr	x12, [x29, #SS_FRAME_BODY]
	add	x11, x29, #SS_FRAME_BYTES	/* F's stack arguments */
	/* sp is the segment's top less nothing: 16-byte aligned. */
.Lcold_call_begin:
	blr	x12
.Lcold_call_end:
	/* Signals blocked for this round trip: the slow way back, which
	 * blocks them again around the switch; otherwise the same checks as
	 * after the warm call. */
	ldr	x11, [x29, #SS_FRAME_BLOCKED]
	cbnz	x11, .Lslow_return
	b	.Lreturn_checks
.Lswitch_back:
	SWITCH_BACK_X10				/* x9, x10: from .Lreturn_checks */
.Lleave:
	ldp	x29, x30, [sp], #SS_FRAME_BYTES
	.cfi_remember_state
	.cfi_def_cfa sp, 0
	.cfi_restore x29
	.cfi_restore x30
	ret					/* to F's caller */
	.cfi_restore_state

.Lslow_return:
	/* Park the results in the (now dead) argument slots of the frame. */
	stp	x0, x1, [x29, #SS_FRAME_X0]
	stp	x2, x3, [x29, #SS_FRAME_X0 + 16]
	stp	x4, x5, [x29, #SS_FRAME_X0 + 32]
	stp	x6, x7, [x29, #SS_FRAME_X0 + 48]
	str	x8, [x29, #SS_FRAME_X8]
	stp	q0, q1, [x29, #SS_FRAME_Q0]
	stp	q2, q3, [x29, #SS_FRAME_Q0 + 32]
	/* sp is still the aligned value the body was called with. */
	ldr	x0, [x29, #SS_FRAME_BLOCKED]
	cbz	x0, 3f
	add	x0, x29, #SS_FRAME_SIGMASK
	bl	splitstack_block_all
3:
	/* void splitstack_leave_segment(void): frees the alloca blocks of
	 * the segment being left (every frame on it is dead now) and returns
	 * the idle segments beyond the next one to the allocator. */
	bl	splitstack_leave_segment
	SWITCH_BACK
	ldr	x0, [x29, #SS_FRAME_BLOCKED]
	cbz	x0, 4f
	add	x0, x29, #SS_FRAME_SIGMASK
	bl	splitstack_restore_mask
4:
	ldp	x0, x1, [x29, #SS_FRAME_X0]
	ldp	x2, x3, [x29, #SS_FRAME_X0 + 16]
	ldp	x4, x5, [x29, #SS_FRAME_X0 + 32]
	ldp	x6, x7, [x29, #SS_FRAME_X0 + 48]
	ldr	x8, [x29, #SS_FRAME_X8]
	ldp	q0, q1, [x29, #SS_FRAME_Q0]
	ldp	q2, q3, [x29, #SS_FRAME_Q0 + 32]
	b	.Lleave

	/* Landing pad of the interrupt handler's call: the handler threw
	 * (or a forced unwind left it); it has stopped running (done), then
	 * the body's landing pad.  x0 = exception object. */
.Lhandler_cleanup:
	BTI_J
	str	x0, [x29, #SS_FRAME_EXCEPTION]
	bl	splitstack_interrupt_done
	b	.Lcleanup_saved

	/* Landing pad: an exception (or a forced unwind: pthread_exit,
	 * cancellation) is leaving the body.  x0 = exception object, x29 =
	 * this frame, sp = the value at the call (on the new segment).
	 * Restore the segment and the exact limit F's caller had (marked
	 * again by REARM if a request waits), free the segment's alloca
	 * blocks, and keep unwinding from the old stack. */
.Lcleanup:
	BTI_J
	str	x0, [x29, #SS_FRAME_EXCEPTION]
.Lcleanup_saved:
	/* void splitstack_unwind_segment(void *frame): leave_segment, and
	 * under AddressSanitizer the shadow of the skipped frames cleared
	 * (src/asan.rs); `frame` = the lowest byte of this frame. */
	mov	x0, x29
	bl	splitstack_unwind_segment
	SWITCH_BACK
	ldr	x0, [x29, #SS_FRAME_EXCEPTION]
	bl	_Unwind_Resume
	brk	#0x3e8				/* _Unwind_Resume does not return */
	.cfi_endproc
	.size	__morestack, . - __morestack

/* LSDA for __morestack, read by __gcc_personality_v0: three call-site
 * records, the calls of the body on the warm and the cold path, whose
 * landing pad is the same cleanup, and the call of the interrupt handler
 * between them, whose pad first ends the handler.  Call-site records
 * must be sorted by address: warm call, handler call, cold call. */
	.section .gcc_except_table,"a",%progbits
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
	.section .data.rel.local.DW.ref.__gcc_personality_v0,"awG",%progbits,DW.ref.__gcc_personality_v0,comdat
	.p2align 3
	.type	DW.ref.__gcc_personality_v0, %object
	.size	DW.ref.__gcc_personality_v0, 8
DW.ref.__gcc_personality_v0:
	.xword	__gcc_personality_v0

	.text
/* ---------------------------------------------------------------------
 * __morestack_non_split: where a linker that knows split-stack code
 * would send the prologue of a split-stack function F that calls code
 * without split-stack prologues (no aarch64 linker does yet).  Same entry
 * state as __morestack, with x10 = sp - N for F's own frame N (the
 * linker leaves the frame size alone).  The linker may also make the
 * prologue's check fail always (replace `b.hs body` by a nop, as gold
 * does to small x86_64 frames); either way, if the current stack has
 * SS_NON_SPLIT_STACK bytes to spare beyond the frame, the body runs right
 * here: a branch to it with x30 untouched, so it returns straight to F's
 * caller, and x11 = sp, as __morestack would set it.  Otherwise
 * __morestack is asked for N + SS_NON_SPLIT_STACK.  Uses x13 and x16
 * (free at a call boundary under AAPCS64).
 * ------------------------------------------------------------------- */
	.globl	__morestack_non_split
	.type	__morestack_non_split, %function
	.globl	__splitstack_morestack_non_split_impl
	.type	__splitstack_morestack_non_split_impl, %function
	.p2align 4
__morestack_non_split:
__splitstack_morestack_non_split_impl:
	.cfi_startproc
	BTI_C
	mov	x16, sp
	cmp	x10, x16
	b.hi	1f				/* sp - N wrapped: take the long way */
	mrs	x9, tpidr_el0
	ldr	x9, [x9, #GUARD_OFF]
	mov	x13, #SS_NON_SPLIT_STACK
	subs	x13, x10, x13			/* the sp F would reach, less the reserve */
	b.lo	1f				/* below address 0: take the long way */
	cmp	x13, x9
	b.lo	1f
	mov	x11, sp
	mov	x16, x12			/* br x16 may land on `bti c` */
	br	x16
1:
	sub	x10, x10, #(SS_NON_SPLIT_STACK >> 12), lsl #12
	b	.Lmorestack
	.cfi_endproc
	.size	__morestack_non_split, . - __morestack_non_split

/* ---------------------------------------------------------------------
 * void __stack_split_initialize(void)
 * Gives the calling thread SS_INITIAL_STACK bytes of its own stack below
 * the current stack pointer before split-stack code splits, and records
 * that stack for __splitstack_find.  Run for the main thread from
 * .init_array.00000 (before other constructors) and for each thread the
 * wrapper starts.  AAPCS64 leaf; tail-calls the Rust recorder.
 * ------------------------------------------------------------------- */
	.globl	__stack_split_initialize
	.type	__stack_split_initialize, %function
	.p2align 4
__stack_split_initialize:
	.cfi_startproc
	BTI_C
	mov	x0, sp
	mov	x1, #SS_INITIAL_STACK
	sub	x2, x0, x1
	mrs	x9, tpidr_el0
	str	x2, [x9, #GUARD_OFF]
	/* void __generic_morestack_set_initial_sp(void *sp, size_t len) */
	b	__generic_morestack_set_initial_sp
	.cfi_endproc
	.size	__stack_split_initialize, . - __stack_split_initialize

	.section .init_array.00000,"aw"
	.p2align 3
	.xword	__stack_split_initialize

	/* Frees the exiting thread's idle segments when the program (or
	 * this shared library) is finalised. */
	.section .fini_array,"aw"
	.p2align 3
	.xword	splitstack_process_exit

	.text
/* void *__morestack_get_guard(void) / void __morestack_set_guard(void *)
 * AAPCS64 leaves: x0 in/out, x9-x11 scratch.  get returns the real limit
 * (an interrupt mark left out); set stores x0 and then REARMs. */
	.globl	__morestack_get_guard
	.type	__morestack_get_guard, %function
	.p2align 4
__morestack_get_guard:
	.cfi_startproc
	BTI_C
	mrs	x9, tpidr_el0
	ldr	x0, [x9, #GUARD_OFF]
	UNMARK	x0				/* the real limit, not the mark */
	ret
	.cfi_endproc
	.size	__morestack_get_guard, . - __morestack_get_guard

	.globl	__morestack_set_guard
	.type	__morestack_set_guard, %function
	.p2align 4
__morestack_set_guard:
	.cfi_startproc
	BTI_C
	mrs	x9, tpidr_el0
	str	x0, [x9, #GUARD_OFF]
	REARM	x0, x9, x10, x11
	ret
	.cfi_endproc
	.size	__morestack_set_guard, . - __morestack_set_guard

/* void *__morestack_allocate_stack_space(size_t size)
 * Called by split-stack code for alloca/VLA blocks that may not fit on the
 * current segment.  Passes the caller's stack pointer (sp itself: `bl`
 * pushes nothing) so that blocks of frames that have returned can be
 * recognised and freed. */
	.globl	__morestack_allocate_stack_space
	.type	__morestack_allocate_stack_space, %function
	.p2align 4
__morestack_allocate_stack_space:
	.cfi_startproc
	BTI_C
	mov	x1, sp
	/* void *splitstack_allocate_stack_space(size_t size, void *caller_sp) */
	b	splitstack_allocate_stack_space
	.cfi_endproc
	.size	__morestack_allocate_stack_space, . - __morestack_allocate_stack_space

/* ---------------------------------------------------------------------
 * void splitstack_on_stack(void (*fn)(void *), void *arg, void *top)
 * Runs fn(arg) with the stack pointer at `top` (16-byte aligned), or on
 * the current stack when `top` is NULL, and the split-stack limit all ones
 * meanwhile: the runtime's slow paths (allocation, user allocator
 * callbacks) run on a per-thread runtime stack, and any split-stack code
 * a signal handler runs there asks for a fresh segment instead of
 * trusting a limit that belongs to another stack.  Afterwards the saved
 * limit is stored back without its interrupt mark, then REARM.  AAPCS64
 * otherwise.
 *   frame (x29 = sp after the push): +0 caller's x29, +8 x30,
 *          +16 saved limit, +24 padding.
 * ------------------------------------------------------------------- */
	.globl	splitstack_on_stack
	.hidden	splitstack_on_stack
	.type	splitstack_on_stack, %function
	.p2align 4
splitstack_on_stack:
	.cfi_startproc
	BTI_C
	stp	x29, x30, [sp, #-32]!
	.cfi_def_cfa_offset 32
	.cfi_offset x29, -32
	.cfi_offset x30, -24
	mov	x29, sp
	.cfi_def_cfa_register x29
	mrs	x9, tpidr_el0
	ldr	x10, [x9, #GUARD_OFF]
	str	x10, [x29, #16]
	mov	x10, #-1
	str	x10, [x9, #GUARD_OFF]
	mov	x9, x0
	mov	x0, x1
	cbz	x2, 1f
	mov	sp, x2
1:	blr	x9
	mov	sp, x29
	mrs	x9, tpidr_el0
	ldr	x10, [x29, #16]
	UNMARK	x10
	str	x10, [x9, #GUARD_OFF]
	REARM	x10, x9, x11, x12
	ldp	x29, x30, [sp], #32
	.cfi_def_cfa sp, 0
	.cfi_restore x29
	.cfi_restore x30
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
	.type	splitstack_real_pthread_create_ptr, %function
	.p2align 4
splitstack_real_pthread_create_ptr:
	.cfi_startproc
	BTI_C
	adrp	x0, :got:__real_pthread_create
	ldr	x0, [x0, #:got_lo12:__real_pthread_create]
	ret
	.cfi_endproc
	.size	splitstack_real_pthread_create_ptr, . - splitstack_real_pthread_create_ptr

/* void (*splitstack_asan_unpoison_ptr(void))(const void *, size_t)
 * AddressSanitizer's __asan_unpoison_memory_region when the program runs
 * with it, else NULL (a weak reference: nothing is pulled in). */
	.weak	__asan_unpoison_memory_region
	.globl	splitstack_asan_unpoison_ptr
	.hidden	splitstack_asan_unpoison_ptr
	.type	splitstack_asan_unpoison_ptr, %function
	.p2align 4
splitstack_asan_unpoison_ptr:
	.cfi_startproc
	BTI_C
	adrp	x0, :got:__asan_unpoison_memory_region
	ldr	x0, [x0, #:got_lo12:__asan_unpoison_memory_region]
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

/* size_t splitstack_reserve_bytes: the reserve under each limit (the
 * setting of src/config.rs, which owns it; the warm path reads it).  0
 * until start-up has read the settings: the warm path then takes the cold
 * one, which reads them. */
	.bss
	.globl	splitstack_reserve_bytes
	.hidden	splitstack_reserve_bytes
	.type	splitstack_reserve_bytes, %object
	.size	splitstack_reserve_bytes, 8
	.p2align 3
splitstack_reserve_bytes:
	.zero	8

/* size_t splitstack_interrupt_armed: nonzero while an interrupt handler is
 * set (src/interrupt.rs owns it; REARM reads it). */
	.globl	splitstack_interrupt_armed
	.hidden	splitstack_interrupt_armed
	.type	splitstack_interrupt_armed, %object
	.size	splitstack_interrupt_armed, 8
	.p2align 3
splitstack_interrupt_armed:
	.zero	8

/* ---------------------------------------------------------------------
 * The three per-thread variables of libgcc's runtime, same names, sizes
 * and layouts.
 * ------------------------------------------------------------------- */
	.section .tbss,"awT",%nobits
	.p2align 3
	.globl	__morestack_segments
	.type	__morestack_segments, %object
	.size	__morestack_segments, 8
__morestack_segments:
	.zero	8
	.globl	__morestack_current_segment
	.type	__morestack_current_segment, %object
	.size	__morestack_current_segment, 8
__morestack_current_segment:
	.zero	8
	.globl	__morestack_initial_sp
	.type	__morestack_initial_sp, %object
	.size	__morestack_initial_sp, SS_ISP_SIZE
__morestack_initial_sp:
	.zero	SS_ISP_SIZE
	/* The runtime's own per-thread state (src/thread_state.rs). */
	.p2align 4
	.globl	splitstack_thread
	.hidden	splitstack_thread
	.type	splitstack_thread, %object
	.size	splitstack_thread, SS_THREAD_BLOCK_SIZE
splitstack_thread:
	.zero	SS_THREAD_BLOCK_SIZE

#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
/* Every indirect-branch target above has its landing pad: mark the object
 * BTI-compatible (GNU_PROPERTY_AARCH64_FEATURE_1_AND, bit 0 = BTI). */
	.section .note.gnu.property,"a",%note
	.p2align 3
	.word	4				/* n_namesz: "GNU\0" */
	.word	16				/* n_descsz */
	.word	5				/* NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.word	0xc0000000			/* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
	.word	4				/* pr_datasz */
	.word	1				/* BTI */
	.word	0				/* pad to 8 bytes */
#endif

/* Every entry point here uses a bounded amount of stack; the stack is not
 * executable. */
	.section .note.GNU-split-stack,"",%progbits
	.section .note.GNU-no-split-stack,"",%progbits
	.section .note.GNU-stack,"",%progbits
