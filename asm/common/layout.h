/*
 * Constants shared by both architectures' assembly (asm/x86_64/morestack.S,
 * asm/aarch64/morestack.S) and the Rust runtime: the layouts libgcc's
 * runtime shares with every other copy of it (docs/x86_64.md, section 4),
 * which are the same on every 64-bit target, and the runtime's own
 * per-thread block.
 *
 * Each architecture's consts.h includes this file.  build.rs turns every
 * `#define SS_NAME value` line here and there into `pub const SS_NAME:
 * usize`; a unit test (src/arch/mod.rs) re-reads both files and checks the
 * values, and compile-time assertions tie them to the Rust structs.  Keep
 * one `#define` per line, the value a decimal or 0x hexadecimal literal.
 */
#ifndef SPLITSTACK_COMMON_LAYOUT_H
#define SPLITSTACK_COMMON_LAYOUT_H

/* Extra stack that __morestack_non_split demands before running a
   non-split callee on the current segment (what gold assumes). */
#define SS_NON_SPLIT_STACK 0x100000

/* Bytes of the thread's original stack below the stack pointer at
   initialisation that split-stack code may use before it splits. */
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
   record (src/alloc/meta.rs); the stack starts below them. */
#define SS_SEG_META 64

/* struct initial_sp: offsets of the original stack's top, its usable
   length and the don't-block-signals flag, and the size. */
#define SS_ISP_SP 0
#define SS_ISP_LEN 8
#define SS_ISP_DONT_BLOCK 0x90
#define SS_ISP_SIZE 184

/* A context (libgcc's `void *ctx[10]`, src/ffi/context.rs): the byte
   offsets of its words, and the state word of a live context of this
   runtime ("SPLITLIV"). */
#define SS_CTX_SEGMENTS 0
#define SS_CTX_CURRENT 8
#define SS_CTX_SP 16
#define SS_CTX_GUARD 24
#define SS_CTX_INITIAL_SP 32
#define SS_CTX_INITIAL_SP_LEN 40
#define SS_CTX_DONT_BLOCK 48
#define SS_CTX_STATE 56
#define SS_CTX_DEFER 64
#define SS_CTX_ZERO 72
#define SS_CTX_LIVE 0x53504c49544c4956

/* The runtime's own per-thread block (hidden TLS, see src/thread_state.rs):
   its size, and the offset of the __morestack call counter in it. */
#define SS_THREAD_BLOCK_SIZE 1152
#define SS_THREAD_MORESTACK_CALLS 0
/* ... the interrupt bits requested and not yet taken (another thread ORs
   into it; the assembly tests it after each limit write), and the
   interrupt nesting depth (defer calls plus a running handler: nonzero
   means requests wait). */
#define SS_THREAD_PENDING 8
#define SS_THREAD_DEFER 16

/* The interrupt mark: a requester sets this bit of the target's limit
   (src/limit.rs), which makes every split-stack check fail; the real
   limit is the rest.  Real limits are user-space addresses, below it. */
#define SS_LIMIT_MARK_BIT 63

#endif
