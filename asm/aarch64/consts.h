/*
 * Constants shared by asm/aarch64/morestack.S, the aarch64 test fixtures
 * (tests/c/aarch64/) and the Rust runtime.
 *
 * This file (with ../common/layout.h, which it includes: the layouts
 * both architectures share) is the single definition: build.rs turns
 * every `#define SS_NAME value` line below into `pub const SS_NAME: usize` in
 * src/arch/aarch64.rs, whose unit tests re-read this file and check the
 * values against the Rust struct layouts they describe.  Keep one
 * `#define` per line, the value a decimal or 0x hexadecimal literal.
 */
#ifndef SPLITSTACK_AARCH64_CONSTS_H
#define SPLITSTACK_AARCH64_CONSTS_H

#include "../common/layout.h"

/* Byte offset of the split-stack limit from the thread pointer
   (tpidr_el0).  glibc's aarch64 TCB is { dtv, private }; `private` at +8
   is unused by glibc (NULL in 2.36), so the limit lives there.  The 2019
   GCC proposal used -8, which is live glibc data (and musl's DTV
   pointer).  If a libc reserves a field for the limit later, change this
   one line: every prologue, __morestack and the Rust code follow it. */
#define SS_TCB_GUARD_OFFSET 8

/* BACKOFF: bytes between a segment's lowest usable byte and its limit
   that non-split code and __morestack itself may use (4 KiB, as in the
   2019 proposal: no aarch64 linker moves calls into non-split code to
   __morestack_non_split).  The runtime adds a signal-frame reserve to it
   at start-up (see src/config.rs). */
#define SS_BACKOFF 0x1000

/* Signal frame size assumed when the kernel does not report one
   (AT_MINSIGSTKSZ absent or 0, as under qemu-user). */
#define SS_MIN_SIGNAL_FRAME 5120

/* __morestack's frame on the old stack, offsets from x29 upwards (see the
   table at the top of morestack.S).  The frame lies wholly below the
   stack pointer F had at entry, which is also where F's stack arguments
   start and what the segment header records as `old_stack`; so
   SS_FRAME_BELOW_ARGS (how far the lowest byte of the frame lies below
   old_stack) equals SS_FRAME_BYTES. */
#define SS_FRAME_BYTES 288
#define SS_FRAME_BELOW_ARGS 288
#define SS_FRAME_FP 0
#define SS_FRAME_LR 8
#define SS_FRAME_X0 16
#define SS_FRAME_X8 80
#define SS_FRAME_X18 88
#define SS_FRAME_BODY 96
#define SS_FRAME_NEED 104
#define SS_FRAME_OLD_GUARD 112
#define SS_FRAME_OLD_SEGMENT 120
#define SS_FRAME_BLOCKED 128
#define SS_FRAME_SIGMASK 136
#define SS_FRAME_EXCEPTION 144
#define SS_FRAME_BITS 152
#define SS_FRAME_Q0 160

#endif
