//! The split-stack limit word as the runtime writes it: with room for an
//! interrupt mark (docs/x86_64.md, section 9).
//!
//! A thread's limit (`%fs:0x70`, `[tpidr_el0 + 8]`) is written by the
//! thread itself (its `__morestack`, setcontext, the runtime's slow
//! paths) and, for interrupts, by requesters on other threads, which only
//! ever set bit [`MARK`] of a real value with a compare-and-swap.  Real
//! limits are user-space addresses (or 0, or the all-ones switching
//! value), so the mark is free to mean "make every check fail; the real
//! limit is the rest".  Each owner write of a real value is followed by
//! [`rearm`]: if a request is waiting, the value is stored again marked,
//! so a mark the write overwrote is not lost (the requester's membarrier
//! orders its pending store before its look at the limit).

use crate::arch::current::{get_guard, set_guard, SS_LIMIT_MARK_BIT};
use crate::layout::ThreadBlock;
use crate::thread_state;
use core::sync::atomic::{AtomicUsize, Ordering::*};

/// The interrupt mark.
pub const MARK: usize = 1 << SS_LIMIT_MARK_BIT;

extern "C" {
    /// Nonzero while an interrupt handler is set; defined in the assembly,
    /// whose REARM reads it (`interrupt` owns it).
    static splitstack_interrupt_armed: AtomicUsize;
}

/// The word that says whether a handler is set.
#[inline(always)]
pub fn armed_word() -> &'static AtomicUsize {
    // SAFETY: an 8-byte aligned, zero-initialised word of the assembly's
    // .bss, always accessed atomically.
    unsafe { &*core::ptr::addr_of!(splitstack_interrupt_armed) }
}

/// `v` without the mark.
#[inline(always)]
pub fn real(v: usize) -> usize {
    clear_mark(v)
}

/// Clears bit [`MARK`] in one instruction (`btr`; LLVM's `and` needs the
/// mask in a register first): getcontext and setcontext are hot paths.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn clear_mark(mut v: usize) -> usize {
    // SAFETY: a register-only bit operation.
    unsafe {
        core::arch::asm!("btr {0}, {bit}", inout(reg) v, bit = const SS_LIMIT_MARK_BIT, options(pure, nomem, nostack))
    };
    v
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn clear_mark(v: usize) -> usize {
    v & !MARK
}

/// The calling thread's real limit (the mark, if any, left out).
#[inline(always)]
pub fn get() -> usize {
    real(get_guard())
}

/// Stores `v` (its real part) as the calling thread's limit, then keeps a
/// waiting request (see [`rearm`]).
#[inline(always)]
pub fn store(v: usize) {
    let v = real(v);
    set_guard(v);
    rearm(v);
}

/// After the calling thread stored its real limit `v`: if interrupt bits
/// are pending, not deferred, and a handler is set, stores `v` marked, so
/// that the thread's next function entry delivers them.
#[inline(always)]
pub fn rearm(v: usize) {
    let tb = thread_state::thread_block();
    // SAFETY: tb is the calling thread's block; `interrupt_pending` is
    // atomic (other threads OR into it), `interrupt_defer` is the
    // thread's own.
    let waiting = unsafe { (*tb).interrupt_pending.load(Relaxed) != 0 && (*tb).interrupt_defer == 0 };
    if waiting && armed_word().load(Relaxed) != 0 {
        set_guard(v | MARK);
    }
}

/// [`rearm`] for a caller that has the thread's block `tb` and its
/// nesting `defer` at hand (setcontext, which just stored both).
///
/// # Safety
/// `tb` must be the calling thread's block.
#[inline(always)]
pub unsafe fn rearm_with(tb: *mut ThreadBlock, v: usize, defer: usize) {
    // SAFETY: the caller's promise; the pending word is atomic.
    if unsafe { (*tb).interrupt_pending.load(Relaxed) } != 0 {
        rearm_pending(v, defer);
    }
}

/// The rest of [`rearm_with`], out of line: bits are pending.
#[cold]
#[inline(never)]
fn rearm_pending(v: usize, defer: usize) {
    if defer == 0 && armed_word().load(Relaxed) != 0 {
        set_guard(v | MARK);
    }
}

/// Clears the mark of the calling thread's own limit, if any (the
/// handler is about to run, or cannot run now: its entries use the real
/// limit).
#[inline]
pub fn unmark_self() {
    set_guard(get());
}

/// Sets the mark in another thread's limit word at `word` (which the
/// caller keeps valid), unless it is already set or the word holds the
/// all-ones switching value (its thread then stores a real limit next and
/// rearms).
///
/// # Safety
/// `word` must be a live thread's limit word.
pub unsafe fn mark_remote(word: *const AtomicUsize) {
    // SAFETY: the caller's promise.
    let w = unsafe { &*word };
    let mut v = w.load(Relaxed);
    while v != usize::MAX && v & MARK == 0 {
        match w.compare_exchange_weak(v, v | MARK, SeqCst, Relaxed) {
            Ok(_) => return,
            Err(now) => v = now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_is_above_every_user_address() {
        assert_eq!(MARK, 1 << 63);
        assert_eq!(real(0x7ffd_0000_1000 | MARK), 0x7ffd_0000_1000);
        assert_eq!(real(0), 0);
        // The switching value keeps failing every check without its mark.
        assert!(real(usize::MAX) > 0x00ff_ffff_ffff_ffff);
    }

    #[test]
    fn mark_remote_leaves_the_switching_value() {
        let w = AtomicUsize::new(usize::MAX);
        // SAFETY: a live word of this test.
        unsafe { mark_remote(&w) };
        assert_eq!(w.load(Relaxed), usize::MAX);
        w.store(0x1000, Relaxed);
        // SAFETY: as above.
        unsafe { mark_remote(&w) };
        assert_eq!(w.load(Relaxed), 0x1000 | MARK);
        // SAFETY: as above.
        unsafe { mark_remote(&w) };
        assert_eq!(w.load(Relaxed), 0x1000 | MARK);
    }
}
