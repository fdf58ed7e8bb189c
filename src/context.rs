//! The 10-word context of the `__splitstack_*` API as a typed struct.
//!
//! Clients declare it as `void *ctx[10]` and copy it by value (gccgo keeps
//! it in each goroutine, Boost in each fiber), so the layout is libgcc's
//! word for word and nothing in it points into the array itself.

use crate::segment::StackSegment;
use core::ffi::c_void;
use core::mem::{offset_of, size_of};

/// A split-stack context: what `__splitstack_getcontext` saves and
/// `__splitstack_setcontext` restores.  Exactly `void *[10]`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SplitstackContext {
    /// [0] First segment of the context's list (owned by the context).
    pub segments: *mut StackSegment,
    /// [1] Segment in use when the context was saved (NULL: original stack).
    pub current: *mut StackSegment,
    /// [2] Stack pointer when saved; NULL for a context never run.
    pub sp: *mut c_void,
    /// [3] Stack limit.
    pub guard: usize,
    /// [4] Top of the thread's original stack (libgcc's initial_sp.sp).
    pub initial_sp: *mut c_void,
    /// [5] Usable length of the original stack.
    pub initial_sp_len: usize,
    /// [6] Nonzero: `__morestack` does not block signals.
    pub dont_block_signals: usize,
    /// [7] This runtime's state tag (`CTX_LIVE`, `CTX_RELEASED`, or 0 for a
    /// context filled by other code); libgcc leaves it zero.
    pub state: usize,
    /// [8], [9] Zero.
    pub reserved: [usize; 2],
}

const _: () = {
    assert!(size_of::<SplitstackContext>() == size_of::<[*mut c_void; 10]>());
    assert!(offset_of!(SplitstackContext, segments) == 0 * 8);
    assert!(offset_of!(SplitstackContext, current) == 1 * 8);
    assert!(offset_of!(SplitstackContext, sp) == 2 * 8);
    assert!(offset_of!(SplitstackContext, guard) == 3 * 8);
    assert!(offset_of!(SplitstackContext, initial_sp) == 4 * 8);
    assert!(offset_of!(SplitstackContext, initial_sp_len) == 5 * 8);
    assert!(offset_of!(SplitstackContext, dont_block_signals) == 6 * 8);
    assert!(offset_of!(SplitstackContext, state) == 7 * 8);
    assert!(offset_of!(SplitstackContext, reserved) == 8 * 8);
};

/// State tag of a context made or saved by this runtime ("SPLITLIV").
pub(crate) const CTX_LIVE: usize = 0x5350_4c49_544c_4956;
/// State tag of a released context ("SPLITREL").
pub(crate) const CTX_RELEASED: usize = 0x5350_4c49_5452_454c;
