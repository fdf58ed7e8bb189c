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
//! Nothing is done on the `__morestack` paths of a normal call and return.

use core::ffi::c_void;

extern "C" {
    /// `__asan_unpoison_memory_region`, or NULL (morestack.S).
    fn splitstack_asan_unpoison_ptr() -> Option<unsafe extern "C" fn(*const c_void, usize)>;
}

/// Whether the program runs with AddressSanitizer.
#[inline]
pub fn active() -> bool {
    // SAFETY: the helper only loads a GOT entry.
    unsafe { splitstack_asan_unpoison_ptr().is_some() }
}

/// Clears ASan's shadow of `[addr, addr + len)` (nothing without ASan).
pub fn unpoison(addr: usize, len: usize) {
    // SAFETY: the helper only loads a GOT entry; ASan's function only
    // writes the shadow of the range (its own memory), whatever the range.
    unsafe {
        if let Some(f) = splitstack_asan_unpoison_ptr() {
            if len != 0 {
                f(addr as *const c_void, len);
            }
        }
    }
}
