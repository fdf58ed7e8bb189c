//! What the assembly calls: the Rust halves of `__morestack` (growing
//! onto a segment, leaving one, unwinding out of one), signal masking for
//! threads that ask for it, and `__morestack_allocate_stack_space`'s
//! blocks.  These (and `splitstack_process_exit` in `thread`) are the only
//! Rust functions the assembly calls; each is a thin shell over `chain`,
//! `alloca` or `sys`.

use crate::{alloca, chain, config, interrupt, sys};

/// Where `__morestack` switches to: returned in rax:rdx (x0:x1).
#[repr(C)]
pub struct SwitchTo {
    pub sp: usize,
    pub guard: usize,
}

/// `__morestack`'s cold path, on the old stack: a segment for a frame of
/// `frame` bytes with `arg_bytes` of stack arguments at `old_stack`.
///
/// # Safety
/// Called by the assembly only, with the prologue's values.
#[no_mangle]
pub unsafe extern "C" fn splitstack_grow(frame: usize, old_stack: *mut u8, arg_bytes: usize) -> SwitchTo {
    // SAFETY: the assembly passes the caller's argument area.
    let (seg, sp) = unsafe { chain::grow(frame.saturating_add(config::slack()), old_stack, arg_bytes) };
    SwitchTo { sp, guard: chain::low(seg) + config::slack() }
}

/// `__morestack`'s landing pad: an exception or a forced unwind leaves
/// the current segment; `frame` is the lowest byte of `__morestack`'s
/// frame on the old stack.
#[no_mangle]
pub extern "C" fn splitstack_unwind_segment(frame: usize) {
    chain::unwind_segment(frame);
}

/// `__morestack` after the body returned from the current segment.
#[no_mangle]
pub extern "C" fn splitstack_leave_segment() {
    chain::leave_segment();
}

/// Blocks all signals but glibc's own two, saving the mask in `*old`.
#[no_mangle]
pub extern "C" fn splitstack_block_all(old: &mut u64) {
    sys::block_all(old);
}

/// Restores a mask `splitstack_block_all` saved.
#[no_mangle]
pub extern "C" fn splitstack_restore_mask(mask: &u64) {
    sys::restore_mask(mask);
}

/// `__morestack_allocate_stack_space`, given the caller's stack pointer.
#[no_mangle]
pub extern "C" fn splitstack_allocate_stack_space(size: usize, caller_sp: usize) -> *mut u8 {
    alloca::allocate(size, caller_sp)
}

/// `__morestack` on a new segment with interrupt bits pending: the
/// handler to call now (NULL: none) and its argument, the bits in `*bits`.
#[no_mangle]
pub extern "C" fn splitstack_interrupt_take(bits: &mut u64) -> interrupt::Delivery {
    interrupt::take(bits)
}

/// `__morestack` after the interrupt handler returned or threw.
#[no_mangle]
pub extern "C" fn splitstack_interrupt_done() {
    interrupt::done()
}
