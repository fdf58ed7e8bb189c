//! Keeping AddressSanitizer's shadow of the stacks clean.
//!
//! An instrumented function poisons the shadow of its frame's redzones on
//! entry and clears it on return; a frame that never returns (skipped by
//! an exception or a forced unwind, parked in a coroutine that is reset)
//! leaves its poison behind.  On a normal stack ASan clears it itself:
//! its `__cxa_throw` and `longjmp` interceptors call
//! `__asan_handle_no_return`, which unpoisons from the stack pointer to
//! the top of the thread's stack.  On a segment that range is meaningless
//! (the thread's stack is elsewhere): ASan either refuses ("ASan is
//! ignoring requested __asan_handle_no_return", more than 64 MiB) or
//! clears whatever lies between.  Stale poison then turns into false
//! `stack-buffer-overflow` / `stack-use-after-scope` reports when later
//! frames land on it (GCC only writes the shadow of a frame's redzones,
//! trusting the rest to be clean).
//!
//! So the runtime clears the shadow wherever it knows frames are dead, on
//! cold paths only and only when the program runs with ASan (a weak
//! reference to `__asan_unpoison_memory_region`, resolved in the
//! assembly, is non-NULL):
//! - a segment when it is allocated (its memory may have been a stack
//!   before), and a block given back to a registered allocator;
//! - the segment an exception leaves, and the old stack below the frames
//!   it unwinds into, as `__asan_handle_no_return` would have done on a
//!   normal stack (`splitstack_unwind_segment`);
//! - every segment of a context `__splitstack_resetcontext` resets;
//! - an alloca block when it is unmapped (its redzones were poisoned by
//!   the instrumented caller, and the range may be mapped again).
//!
//! Nothing is done on the `__morestack` paths of a normal call and return.

use core::ffi::c_void;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

extern "C" {
    /// `__asan_unpoison_memory_region`, or NULL (morestack.S).
    fn splitstack_asan_unpoison_ptr() -> usize;
}

/// 0: not looked up yet, 1: no ASan, else `__asan_unpoison_memory_region`.
static UNPOISON: AtomicUsize = AtomicUsize::new(0);

#[inline]
fn unpoison_fn() -> usize {
    match UNPOISON.load(Relaxed) {
        0 => look_up(),
        f => f,
    }
}

#[cold]
#[inline(never)]
fn look_up() -> usize {
    // SAFETY: the helper only loads a GOT entry (the weak reference is
    // resolved at load time and never changes).
    let f = unsafe { splitstack_asan_unpoison_ptr() };
    let v = if f == 0 { 1 } else { f };
    UNPOISON.store(v, Relaxed);
    v
}

/// Whether the program runs with AddressSanitizer.
#[inline]
pub fn active() -> bool {
    unpoison_fn() != 1
}

/// Clears ASan's shadow of `[addr, addr + len)` (nothing without ASan).
#[inline]
pub fn unpoison(addr: usize, len: usize) {
    let f = unpoison_fn();
    if f != 1 && len != 0 {
        // SAFETY: `f` is ASan's `__asan_unpoison_memory_region(const void
        // *, size_t)`, which only writes the shadow of the range (ASan's
        // own memory), whatever the range.
        unsafe {
            let f: unsafe extern "C" fn(*const c_void, usize) = core::mem::transmute(f);
            f(addr as *const c_void, len);
        }
    }
}
