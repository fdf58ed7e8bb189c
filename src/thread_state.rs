//! The calling thread's split-stack state: three TLS variables with
//! libgcc's names and layouts (defined in the assembly, because stable
//! Rust cannot define exported thread-locals) reached through
//! initial-exec TLS accesses.

use crate::arch::current;
use crate::segment::StackSegment;
use core::sync::atomic::AtomicPtr;

/// `__morestack_initial_sp`: the thread's original stack, as libgcc lays
/// it out (184 bytes; `dont_block_signals` at 0x90, checked against the
/// assembly's constants in arch).
#[repr(C)]
pub struct InitialSp {
    /// Top of the original stack (rounded up to 512 bytes).
    pub sp: *mut u8,
    /// Bytes of it that split-stack code may use.
    pub len: usize,
    /// libgcc's saved signal mask (kept for layout; unused here).
    pub mask: [u64; 16],
    /// Nonzero: do not block signals in `__morestack`.
    pub dont_block_signals: i32,
    pad: i32,
    /// Reserved by libgcc; `extra[0]` holds this thread's alloca blocks
    /// made on the original stack (see alloca.rs).
    pub extra: [usize; 4],
}

/// `&__morestack_segments` of the calling thread: the head of its list.
#[inline(always)]
pub fn segments() -> &'static AtomicPtr<StackSegment> {
    // SAFETY: the address is the calling thread's TLS slot, valid for the
    // thread's life and 8-byte aligned; it is only ever accessed as a
    // pointer-sized word (by this thread, and by its signal handlers).
    unsafe { &*(current::tls_segments() as *const AtomicPtr<StackSegment>) }
}

/// `&__morestack_current_segment`: the segment the thread runs on, NULL
/// on its original stack.
#[inline(always)]
pub fn current() -> &'static AtomicPtr<StackSegment> {
    // SAFETY: as for `segments`.
    unsafe { &*(current::tls_current_segment() as *const AtomicPtr<StackSegment>) }
}

/// `__morestack_initial_sp` of the calling thread.
#[inline(always)]
pub fn initial_sp() -> *mut InitialSp {
    current::tls_initial_sp() as *mut InitialSp
}
