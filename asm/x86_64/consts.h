/*
 * Constants shared by asm/x86_64/morestack.S and the Rust runtime.
 *
 * This file (with ../common/layout.h, which it includes: the layouts
 * both architectures share) is the single definition: build.rs turns
 * every `#define SS_NAME value` line below into `pub const SS_NAME: usize` in
 * src/arch/x86_64.rs, and a unit test there re-reads this file and checks
 * the values against the Rust struct layouts they describe.  Keep one
 * `#define` per line, the value a decimal or 0x hexadecimal literal.
 */
#ifndef SPLITSTACK_X86_64_CONSTS_H
#define SPLITSTACK_X86_64_CONSTS_H

#include "../common/layout.h"

/* Byte offset of the split-stack limit in the thread control block
   (glibc's tcbhead_t.__private_ss, read by every prologue as %fs:0x70). */
#define SS_TCB_GUARD_OFFSET 0x70

/* Bytes of stack arguments and frame the libgcc protocol calls BACKOFF:
   the distance between a segment's lowest usable byte and its limit that
   non-split code and __morestack itself may use.  The runtime adds a
   signal-frame reserve to it at start-up (see src/config.rs). */
#define SS_BACKOFF 0xe00

/* Signal frame size assumed when the kernel does not report one
   (AT_MINSIGSTKSZ absent or 0, as under qemu-user). */
#define SS_MIN_SIGNAL_FRAME 2048

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
#define SS_FRAME_BITS 104
#define SS_FRAME_XMM0 232

#endif
