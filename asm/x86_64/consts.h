/*
 * Constants shared by asm/x86_64/morestack.S and the Rust runtime.
 *
 * This file is the single definition: build.rs turns every
 * `#define SS_NAME value` line below into `pub const SS_NAME: usize` in
 * src/arch/x86_64.rs, and a unit test there re-reads this file and checks
 * the values against the Rust struct layouts they describe.  Keep one
 * `#define` per line, the value a decimal or 0x hexadecimal literal.
 */
#ifndef SPLITSTACK_X86_64_CONSTS_H
#define SPLITSTACK_X86_64_CONSTS_H

/* Byte offset of the split-stack limit in the thread control block
   (glibc's tcbhead_t.__private_ss, read by every prologue as %fs:0x70). */
#define SS_TCB_GUARD_OFFSET 0x70

/* Bytes of stack arguments and frame the libgcc protocol calls BACKOFF:
   the distance between a segment's lowest usable byte and its limit that
   non-split code and __morestack itself may use.  The runtime adds a
   signal-frame reserve to it at start-up (see src/config.rs). */
#define SS_BACKOFF 0xe00

/* Extra stack that __morestack_non_split demands before running a
   non-split callee on the current segment (what gold assumes). */
#define SS_NON_SPLIT_STACK 0x100000

/* Bytes of the thread's original stack below the stack pointer at
   initialisation that split-stack code may use before it splits. */
/* Signal frame size assumed when the kernel does not report one
   (AT_MINSIGSTKSZ absent or 0, as under qemu-user). */
#define SS_MIN_SIGNAL_FRAME 2048

#define SS_INITIAL_STACK 16000

/* struct stack_segment: 7 words at the low end of every segment. */
#define SS_SEG_PREV 0
#define SS_SEG_NEXT 8
#define SS_SEG_SIZE 16
#define SS_SEG_OLD_STACK 24
#define SS_SEG_DYNAMIC 32
#define SS_SEG_FREE_DYNAMIC 40
#define SS_SEG_EXTRA 48
#define SS_SEG_HEADER_SIZE 56
/* Bytes at the top of a segment this runtime keeps for its allocator's
   record (src/allocator.rs); the stack starts below them. */
#define SS_SEG_META 64

/* struct initial_sp: offset of the don't-block-signals flag. */
#define SS_ISP_DONT_BLOCK 0x90
#define SS_ISP_SIZE 184

/* __morestack's frame on the old stack, relative to %rbp (see the table
   at the top of morestack.S).  SS_FRAME_BYTES is what it subtracts from
   %rsp after pushing %rbp; SS_FRAME_BELOW_ARGS is how far the lowest byte
   of the whole frame lies below the caller's stack arguments (the
   `old_stack` recorded in the segment header): return address into the
   stub, return address into the caller's caller, saved %rbp, frame. */
#define SS_FRAME_BYTES 232
#define SS_FRAME_BELOW_ARGS 256
#define SS_FRAME_RAX 8
#define SS_FRAME_RDI 16
#define SS_FRAME_RSI 24
#define SS_FRAME_RDX 32
#define SS_FRAME_RCX 40
#define SS_FRAME_R8 48
#define SS_FRAME_R9 56
#define SS_FRAME_OLD_GUARD 64
#define SS_FRAME_OLD_SEGMENT 72
#define SS_FRAME_EXCEPTION 80
#define SS_FRAME_SIGMASK 88
#define SS_FRAME_BLOCKED 96
#define SS_FRAME_XMM0 232

/* The runtime's own per-thread block (hidden TLS, see src/thread_state.rs):
   its size, and the offset of the __morestack call counter in it. */
#define SS_THREAD_BLOCK_SIZE 1024
#define SS_THREAD_MORESTACK_CALLS 0

#endif
