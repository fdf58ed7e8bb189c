/*
 * Hand-written aarch64 split-stack functions: what a compiler following
 * docs/aarch64.md would emit (no shipping compiler
 * does).  Every function starts with `bti c`, then the prologue of the
 * contract (SPLIT_PROLOGUE), then its body at a `bti c` landing pad, with
 * complete CFI so that unwinders step through it.
 *
 * REGISTER CONTRACT of the prologue: x9-x12 scratch (x9 = limit, x10 =
 * wanted sp, x11 = sp at entry, x12 = body); x30 untouched, so
 * __morestack returns straight to the caller.  Bodies read their stack
 * arguments through x11, never through sp (after a split sp is on another
 * segment).
 *
 * FRAMES: each body pushes x29/x30 (16 bytes) and then allocates the rest
 * of its declared frame, so the bytes it uses below its entry sp are
 * exactly the frame size its prologue announced.  Frame sizes are
 * multiples of 16.
 */

#include "consts.h"

#define BTI_C	hint	#34

/* The prologue.  frame: bytes the function will use below sp; body: its
 * label; entry: __morestack, or __morestack_non_split.  always=1 replaces
 * the conditional branch by a nop, so the entry is called every time:
 * what a linker that knows split-stack code would make of a function
 * that calls non-split code (gold does this to small x86_64 frames), with
 * __morestack_non_split deciding whether SS_NON_SPLIT_STACK bytes are
 * left. */
.macro	SPLIT_PROLOGUE frame, body, entry=__morestack, always=0
	mrs	x9, tpidr_el0
	ldr	x9, [x9, #SS_TCB_GUARD_OFFSET]
	movz	x10, #((\frame) & 0xffff)
	movk	x10, #(((\frame) >> 16) & 0xffff), lsl #16
	sub	x10, sp, x10
	mov	x11, sp
	adr	x12, \body
	cmp	x10, x9
	.if \always
	nop					/* the check made to fail always */
	.else
	b.hs	\body
	.endif
	b	\entry
\body:
	BTI_C
.endm

/* Frame record plus CFI (x29-based from here on). */
.macro	PUSH_FRAME
	stp	x29, x30, [sp, #-16]!
	.cfi_def_cfa_offset 16
	.cfi_offset x29, -16
	.cfi_offset x30, -8
	mov	x29, sp
	.cfi_def_cfa_register x29
.endm

.macro	POP_FRAME_RET
	mov	sp, x29
	ldp	x29, x30, [sp], #16
	.cfi_def_cfa sp, 0
	.cfi_restore x29
	.cfi_restore x30
	ret
.endm

/* sp -= bytes (any 32-bit multiple of 16), through x15. */
.macro	ALLOC bytes
	movz	x15, #((\bytes) & 0xffff)
	movk	x15, #(((\bytes) >> 16) & 0xffff), lsl #16
	sub	sp, sp, x15
.endm

.macro	FUNC name
	.globl	\name
	.type	\name, %function
	.p2align 4
\name:
	.cfi_startproc
	BTI_C
.endm

.macro	ENDFUNC name
	.cfi_endproc
	.size	\name, . - \name
.endm

	.text

/* ---------------------------------------------------------------------
 * uint64_t ss_frame_N(uint64_t a0, ..., uint64_t a7, uint64_t s0, uint64_t s1)
 * A frame of N bytes.  Reads s0/s1 through x11, computes
 *   sum = a0 + 2 a1 + 4 a2 + ... + 128 a7 + 256 s0 + 512 s1,
 * and returns a64_frame_hook(lowest byte of its frame, N, sum).
 * ss_nsframe_N: the same, calling __morestack_non_split every time.
 * ------------------------------------------------------------------- */
.macro	FRAME_BODY n
	ldp	x13, x14, [x11]			/* the stack arguments */
	PUSH_FRAME
	ALLOC	(\n)-16
	add	x9, x0, x1, lsl #1
	add	x9, x9, x2, lsl #2
	add	x9, x9, x3, lsl #3
	add	x9, x9, x4, lsl #4
	add	x9, x9, x5, lsl #5
	add	x9, x9, x6, lsl #6
	add	x9, x9, x7, lsl #7
	add	x9, x9, x13, lsl #8
	add	x9, x9, x14, lsl #9
	str	x9, [sp]			/* lowest word of the frame */
	str	x9, [x29, #-8]			/* highest word below the record */
	mov	x0, sp
	movz	x1, #((\n) & 0xffff)
	movk	x1, #(((\n) >> 16) & 0xffff), lsl #16
	mov	x2, x9
	bl	a64_frame_hook
	POP_FRAME_RET
.endm

.macro	FRAME_FUNC n
FUNC	ss_frame_\n
	SPLIT_PROLOGUE \n, .Lframe_body_\n
	FRAME_BODY \n
ENDFUNC	ss_frame_\n

FUNC	ss_nsframe_\n
	SPLIT_PROLOGUE \n, .Lnsframe_body_\n, __morestack_non_split, 1
	FRAME_BODY \n
ENDFUNC	ss_nsframe_\n
.endm

	.irp	n, 32, 48, 256, 1024, 4080, 4096, 4112, 8192, 12288, 16000, 16384, 16400, 24576, 32768, 65520, 65536, 65552, 100000, 262144, 1048576, 4194304
	FRAME_FUNC \n
	.endr

/* The table C walks: { function, non-split entry, frame size }. */
	.section .data.rel.ro, "aw"
	.p2align 3
	.globl	ss_frame_table
ss_frame_table:
	.irp	n, 32, 48, 256, 1024, 4080, 4096, 4112, 8192, 12288, 16000, 16384, 16400, 24576, 32768, 65520, 65536, 65552, 100000, 262144, 1048576, 4194304
	.xword	ss_frame_\n, ss_nsframe_\n, \n
	.endr
	.xword	0, 0, 0
	.text

/* ---------------------------------------------------------------------
 * void ss_burn(uint64_t n, void (*fn)(void *), void *arg)
 * A 512-byte frame that recurses n times, then calls fn(arg): puts the
 * stack pointer at every 512-byte step across segment boundaries.
 * ------------------------------------------------------------------- */
FUNC	ss_burn
	SPLIT_PROLOGUE 512, .Lburn_body
	PUSH_FRAME
	ALLOC	512-16
	str	x0, [sp]
	cbz	x0, 1f
	sub	x0, x0, #1
	bl	ss_burn
	b	2f
1:	mov	x0, x2
	blr	x1
2:	POP_FRAME_RET
ENDFUNC	ss_burn

/* ---------------------------------------------------------------------
 * uint64_t ss_rec(uint64_t n, uint64_t acc, void (*leaf)(void *), void *arg)
 * A 40000-byte frame (more than a default segment holds twice, at every
 * page size) recursing n times; each level stores a marker at both ends
 * of its frame and checks them after the inner call.  At the bottom it
 * calls leaf(arg) (if not NULL).  Returns acc + sum(1..n) * 3, or
 * 0xbad if a marker changed.
 * ------------------------------------------------------------------- */
#define REC_FRAME 40000
FUNC	ss_rec
	SPLIT_PROLOGUE REC_FRAME, .Lrec_body
	PUSH_FRAME
	ALLOC	REC_FRAME-16
	eor	x9, x0, #0x5555555555555555
	str	x9, [sp]
	str	x9, [x29, #-8]
	str	x0, [sp, #8]
	cbz	x0, 1f
	add	x1, x1, x0
	add	x1, x1, x0, lsl #1
	sub	x0, x0, #1
	bl	ss_rec
	b	2f
1:	mov	x9, x1
	str	x9, [sp, #16]
	cbz	x2, 3f
	mov	x0, x3
	blr	x2
3:	ldr	x0, [sp, #16]
2:	ldr	x10, [sp, #8]
	eor	x10, x10, #0x5555555555555555
	ldr	x9, [sp]
	cmp	x9, x10
	b.ne	4f
	ldr	x9, [x29, #-8]
	cmp	x9, x10
	b.ne	4f
	POP_FRAME_RET
4:	mov	x0, #0xbad
	mov	sp, x29
	ldp	x29, x30, [sp], #16
	ret
ENDFUNC	ss_rec

/* What makes __morestack take its slow return path, per a64_slow_mode:
 * 1: an alloca block on the segment (__morestack_allocate_stack_space);
 * 2: a chain of idle segments beyond the next one (a 3-deep ss_rec),
 *    which the return gives back to the allocator.  Clobbers x0-x18. */
.macro	SLOW_RETURN_SETUP
	adrp	x9, a64_slow_mode
	ldr	w9, [x9, :lo12:a64_slow_mode]
	cbz	w9, 1f
	cmp	w9, #2
	b.eq	2f
	mov	x0, #64
	bl	__morestack_allocate_stack_space
	str	xzr, [x0]
	b	1f
2:	mov	x0, #3
	mov	x1, #0
	mov	x2, #0
	mov	x3, #0
	bl	ss_rec
1:
.endm

/* ---------------------------------------------------------------------
 * struct hva4 ss_vec8(v128 q0, ..., v128 q7)   (frame 4096)
 * Stores the eight vector arguments (all 128 bits) in a64_vec_seen[8],
 * clobbers q0-q7 and x0-x18 through a64_clobber(), optionally sets up
 * __morestack's slow return path (SLOW_RETURN_SETUP), and returns
 * the homogeneous vector aggregate { q7', q6', q5', q4' } in q0-q3, where
 * v' = v with every byte xor 0xa5.
 * ------------------------------------------------------------------- */
FUNC	ss_vec8
	SPLIT_PROLOGUE 4096, .Lvec8_body
	PUSH_FRAME
	ALLOC	4096-16
	adrp	x9, a64_vec_seen
	add	x9, x9, :lo12:a64_vec_seen
	stp	q0, q1, [x9]
	stp	q2, q3, [x9, #32]
	stp	q4, q5, [x9, #64]
	stp	q6, q7, [x9, #96]
	bl	a64_clobber
	SLOW_RETURN_SETUP
	adrp	x9, a64_vec_seen
	add	x9, x9, :lo12:a64_vec_seen
	movi	v16.16b, #0xa5
	ldp	q4, q5, [x9, #64]
	ldp	q6, q7, [x9, #96]
	eor	v0.16b, v7.16b, v16.16b
	eor	v1.16b, v6.16b, v16.16b
	eor	v2.16b, v5.16b, v16.16b
	eor	v3.16b, v4.16b, v16.16b
	POP_FRAME_RET
ENDFUNC	ss_vec8

/* ---------------------------------------------------------------------
 * struct hfa4 ss_fp(double d0, ..., double d7, double s0, double s1)
 * (frame 8192): the two stack doubles read through x11; returns the
 * homogeneous float aggregate
 *   { d0+d1+s0, d2*d3, d4-d5+s1, d6/d7 }   in d0-d3,
 * after clobbering every caller-saved register (a64_clobber) and
 * optionally taking the slow return path (SLOW_RETURN_SETUP).
 * ------------------------------------------------------------------- */
FUNC	ss_fp
	SPLIT_PROLOGUE 8192, .Lfp_body
	ldp	d16, d17, [x11]			/* stack arguments */
	PUSH_FRAME
	ALLOC	8192-16
	fadd	d0, d0, d1
	fadd	d0, d0, d16
	fmul	d1, d2, d3
	fsub	d2, d4, d5
	fadd	d2, d2, d17
	fdiv	d3, d6, d7
	stp	d0, d1, [sp]
	stp	d2, d3, [sp, #16]
	bl	a64_clobber
	SLOW_RETURN_SETUP
	ldp	d0, d1, [sp]
	ldp	d2, d3, [sp, #16]
	POP_FRAME_RET
ENDFUNC	ss_fp

/* ---------------------------------------------------------------------
 * struct big ss_big(uint64_t seed)   (frame 2048)
 * A 64-byte struct returned through x8: fills words i = seed * 3 + i, and
 * returns (in the struct's word 7, overwritten) nothing else.  Also
 * records x18 in a64_x18_seen (the static chain of GCC's aarch64 port).
 * ------------------------------------------------------------------- */
FUNC	ss_big
	SPLIT_PROLOGUE 2048, .Lbig_body
	PUSH_FRAME
	ALLOC	2048-16
	adrp	x9, a64_x18_seen
	str	x18, [x9, :lo12:a64_x18_seen]
	mov	x10, #3
	mul	x9, x0, x10
	mov	x10, #0
1:	add	x11, x9, x10
	str	x11, [x8, x10, lsl #3]
	add	x10, x10, #1
	cmp	x10, #8
	b.ne	1b
	POP_FRAME_RET
ENDFUNC	ss_big

/* uint64_t a64_call_with_x18(uint64_t x18, struct big *out, uint64_t seed)
 * Calls ss_big(seed) into *out with x18 set: the static chain a nested
 * function would receive.  Saves x18 around the call (AAPCS64 leaves it
 * to the platform; Linux treats it as a temporary). */
FUNC	a64_call_with_x18
	stp	x29, x30, [sp, #-32]!
	.cfi_def_cfa_offset 32
	.cfi_offset x29, -32
	.cfi_offset x30, -24
	mov	x29, sp
	str	x18, [sp, #16]
	mov	x18, x0
	mov	x8, x1
	mov	x0, x2
	bl	ss_big
	ldr	x18, [sp, #16]
	ldp	x29, x30, [sp], #32
	.cfi_def_cfa_offset 0
	.cfi_restore x29
	.cfi_restore x30
	ret
ENDFUNC	a64_call_with_x18

/* ---------------------------------------------------------------------
 * void ss_throw_rec(uint64_t n, void (*leaf)(void *), void *arg)
 * A 20000-byte frame recursing n times, then calling leaf(arg) (which may
 * throw: the frames need nothing but CFI to be unwound through).
 * ------------------------------------------------------------------- */
FUNC	ss_throw_rec
	SPLIT_PROLOGUE 20000, .Lthrow_body
	PUSH_FRAME
	ALLOC	20000-16
	str	x0, [sp]
	cbz	x0, 1f
	sub	x0, x0, #1
	bl	ss_throw_rec
	b	2f
1:	mov	x0, x2
	blr	x1
2:	POP_FRAME_RET
ENDFUNC	ss_throw_rec

/* void a64_outer(void (*fn)(void *), void *arg): a plain (non-split)
 * frame whose code range a backtrace must reach (a64_outer_begin ..
 * a64_outer_end). */
	.globl	a64_outer_begin
	.globl	a64_outer_end
FUNC	a64_outer
a64_outer_begin:
	stp	x29, x30, [sp, #-16]!
	.cfi_def_cfa_offset 16
	.cfi_offset x29, -16
	.cfi_offset x30, -8
	mov	x29, sp
	mov	x9, x0
	mov	x0, x1
	blr	x9
	ldp	x29, x30, [sp], #16
	.cfi_def_cfa_offset 0
	.cfi_restore x29
	.cfi_restore x30
	ret
a64_outer_end:
ENDFUNC	a64_outer

/* uint64_t a64_frame_hook(uint64_t lo, uint64_t frame, uint64_t sum):
 * the frame fixtures' callback; this weak default returns sum (t_frames.c
 * defines the checking one). */
	.weak	a64_frame_hook
FUNC	a64_frame_hook
	mov	x0, x2
	ret
ENDFUNC	a64_frame_hook

/* void a64_clobber(void): trashes every caller-saved register
 * (x0-x18, q0-q7, q16-q31), as any AAPCS64 callee may. */
FUNC	a64_clobber
	mov	x0, #0xdead
	.irp	r, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18
	mov	x\r, x0
	.endr
	movi	v0.16b, #0xee
	.irp	r, 1,2,3,4,5,6,7,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	mov	v\r\().16b, v0.16b
	.endr
	ret
ENDFUNC	a64_clobber

	.bss
	.p2align 4
	.globl	a64_vec_seen
a64_vec_seen:
	.zero	128
	.globl	a64_x18_seen
	.p2align 3
a64_x18_seen:
	.zero	8
	.globl	a64_slow_mode
	.p2align 2
a64_slow_mode:
	.zero	4

	.section .note.GNU-stack,"",%progbits
