//! splitstack: a replacement for libgcc's split-stack runtime.
//!
//! Programs compiled with `gcc -fsplit-stack` call `__morestack` when a
//! function needs more stack than the current segment has; this crate
//! (with the hand-written assembly in `asm/`) provides that function, the
//! `__splitstack_*` context API that coroutine libraries and gccgo use,
//! and every other symbol of libgcc's `morestack.o`,
//! `generic-morestack.o` and `generic-morestack-thread.o`, so that linking
//! `libsplitstack` before libgcc replaces them entirely.
//!
//! # Layers
//!
//! Modules depend on their own layer and the ones below it, never above;
//! the `use crate::` graph has no cycle (a unit test, `layering`, checks
//! both from the sources).
//!
//! * **L0, leaves:** `arch` (constants shared with the assembly, TLS,
//!   registers, raw system-call instruction), `sys` (system calls),
//!   `diag` (messages without allocation or `core::fmt`), `config`
//!   (settings), `stats` (counters), `sync` (the spin lock and lock-free
//!   list pushes), `segmap` (which memory holds our segments), `valgrind`
//!   and `asan` (what debugging tools are told).
//! * **L1:** `layout` (the `#[repr(C)]` structures shared with the
//!   assembly and libgcc, with every offset assertion), `thread_state`
//!   (the calling thread's TLS state), `limit` (the runtime's stores of
//!   the limit word, which keep a waiting interrupt's mark).
//! * **L2:** `alloc` (where segments come from: the front end, registered
//!   allocators, size classes, the default allocator with its per-thread
//!   cache, pool and slabs), `runtime_stack` (where slow paths run).
//! * **L3:** `chain` (growing, leaving and releasing segment chains),
//!   `alloca` (blocks for alloca/VLAs), `thread` (thread start and exit),
//!   `interrupt` (thread handles, requests and their delivery).
//! * **L4:** `ffi`, every `#[no_mangle]` item and C ABI type and nothing
//!   else: the `__splitstack_*` API, this runtime's additions, libgcc's
//!   internal entry points, and the hooks the assembly calls.
//!
//! Which module answers which question: a crash in `__morestack` — the
//! assembly (asm/), then `chain`; a bad context message — `ffi::context`;
//! memory use — `alloc`; a thread's exit — `thread`; a setting —
//! `config`; an interrupt not delivered — `interrupt`, then `limit`.

#![cfg_attr(not(test), no_std)]
// Every unsafe operation says why it is sound, also inside `unsafe fn`.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("splitstack supports x86_64 and aarch64 Linux");

// The assembly saves only the low 128 bits of the vector argument
// registers around the Rust helpers; that is enough only while the helpers
// cannot use VEX/EVEX encodings (which would zero the upper halves).
#[cfg(target_feature = "avx")]
compile_error!("build splitstack for the baseline x86-64 target: the __morestack path must not use AVX");

// L0
pub mod arch;
pub mod asan;
pub mod config;
pub mod copies;
pub mod diag;
pub mod segmap;
pub mod stats;
pub mod sync;
pub mod sys;
pub mod valgrind;
// L1
pub mod layout;
pub mod limit;
pub mod thread_state;
// L2
pub mod alloc;
pub mod runtime_stack;
// L3
pub mod alloca;
pub mod chain;
pub mod context_sizing;
pub mod interrupt;
pub mod overrun;
pub mod thread;
// L4
pub mod ffi;

#[cfg(test)]
mod layering;
#[cfg(test)]
mod tests;

pub use ffi::context::SplitstackContext;
pub use ffi::types::SplitstackStats;

// Mark the Rust object like the assembly: its entry points use bounded
// stack, so gold must not redirect split-stack callers to
// __morestack_non_split (which would demand 1 MiB segments).
core::arch::global_asm!(
    ".section .note.GNU-split-stack,\"\",@progbits",
    ".section .note.GNU-no-split-stack,\"\",@progbits",
    ".text",
);

// The unit-test executables are linked by rustc, without
// --wrap=pthread_create: they get what the archive's nowrap.S member gives
// plain links (the wrapper then reports that pthread_create is missing).
#[cfg(test)]
core::arch::global_asm!(
    ".globl __real_pthread_create",
    ".hidden __real_pthread_create",
    ".set __real_pthread_create, 0"
);

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    diag::Msg::new().s("internal error (a Rust panic in the runtime); aborting").fatal()
}
