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
//! Module map:
//! * `arch`: constants shared with the assembly, TLS and register access;
//! * `morestack`: the Rust half of `__morestack`, libgcc's internal helpers;
//! * `segment`: the segment header and mapping;
//! * `alloca`: blocks for alloca/VLAs that do not fit;
//! * `context`, `api`: the exported context API;
//! * `thread`: the pthread_create wrapper and exit-time cleanup;
//! * `config`, `stats`, `diag`, `sys`: settings, counters, messages,
//!   raw system calls;
//! * `valgrind`: stack registration through valgrind's client requests;
//!   `asan`: AddressSanitizer's shadow of dead frames cleared.

#![cfg_attr(not(test), no_std)]

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("splitstack supports x86_64 and aarch64 Linux");

// The assembly saves only the low 128 bits of the vector argument
// registers around the Rust helpers; that is enough only while the helpers
// cannot use VEX/EVEX encodings (which would zero the upper halves).
#[cfg(target_feature = "avx")]
compile_error!("build splitstack for the baseline x86-64 target: the __morestack path must not use AVX");

pub mod allocator;
pub mod api;
pub mod arch;
pub mod alloca;
pub mod asan;
pub mod config;
pub mod context;
pub mod diag;
pub mod morestack;
pub mod segmap;
pub mod segment;
pub mod stats;
pub mod sys;
pub mod thread;
pub mod thread_state;
pub mod valgrind;

#[cfg(test)]
mod tests;

pub use context::SplitstackContext;
pub use stats::SplitstackStats;

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
core::arch::global_asm!(".globl __real_pthread_create", ".hidden __real_pthread_create", ".set __real_pthread_create, 0");

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    diag::Msg::new().s("internal error (a Rust panic in the runtime); aborting").fatal()
}
