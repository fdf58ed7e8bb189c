//! libgcc's internal entry points.  Our assembly does not use the
//! `__generic_*` ones, but they are defined (with libgcc's semantics) so
//! that a link never pulls libgcc's objects in to supply them.

use crate::diag::Msg;
use crate::layout::StackSegment;
use crate::{chain, config, copies, overrun, sys, thread, thread_state};
use core::ffi::c_void;
use core::ptr;

/// libgcc: allocate (or reuse) the next segment for a frame of
/// `*pframe_size` bytes, copy `param_size` bytes of arguments from
/// `old_stack` to its top, make it current; return the new stack pointer
/// and set `*pframe_size` to the bytes available below it.
#[no_mangle]
///
/// # Safety
/// `pframe_size` must be writable, `old_stack` readable for `param_size`.
pub unsafe extern "C" fn __generic_morestack(
    pframe_size: *mut usize,
    old_stack: *mut u8,
    param_size: usize,
) -> *mut c_void {
    // SAFETY: the caller's promise; the new segment is live.
    unsafe {
        let (seg, sp) = chain::grow(*pframe_size, old_stack, param_size);
        *pframe_size = sp - chain::low(seg);
        sp as *mut c_void
    }
}

/// libgcc: go back to the previous segment; return the stack pointer saved
/// when this one was entered and set `*pavailable` to the space left there.
#[no_mangle]
///
/// # Safety
/// `pavailable` must be writable.
pub unsafe extern "C" fn __generic_releasestack(pavailable: *mut usize) -> *mut c_void {
    let (old, avail) = chain::release_to_previous();
    // SAFETY: the caller's promise.
    unsafe { *pavailable = avail };
    old as *mut c_void
}

/// libgcc: make the segment holding `stack` current (searching back from
/// the current one) and return the bytes available below `stack`.
#[no_mangle]
pub extern "C" fn __generic_findstack(stack: *mut c_void) -> usize {
    chain::find_current(stack as usize)
}

/// libgcc: the limit for a stack whose top is `stack` and usable size
/// `size` (the runtime's slack above its lowest byte).
#[no_mangle]
pub extern "C" fn __morestack_make_guard(stack: *mut c_void, size: usize) -> *mut c_void {
    ((stack as usize).wrapping_sub(size).wrapping_add(config::slack())) as *mut c_void
}

/// libgcc: record the thread's original stack (top and usable length);
/// also reads the process settings on first use.
#[no_mangle]
pub extern "C" fn __generic_morestack_set_initial_sp(sp: *mut c_void, len: usize) {
    config::init();
    // The first call is the process's (a constructor): the loaded objects
    // are all mapped and relocated.
    copies::scan();
    thread::init();
    overrun::init();
    let isp = thread_state::initial_sp();
    // SAFETY: the calling thread's record.
    unsafe {
        (*isp).sp = (((sp as usize) + 511) & !511) as *mut u8;
        (*isp).len = len;
        // This runtime's default: __morestack never needs signals blocked.
        (*isp).dont_block_signals = 1;
    }
}

/// libgcc: block signals if the thread asked for it (compatibility
/// entry; our `__morestack` does the same inline).  The mask is saved in
/// the thread's initial_sp record, as libgcc does.
#[no_mangle]
pub extern "C" fn __morestack_block_signals() {
    let isp = thread_state::initial_sp();
    // SAFETY: the calling thread's record.
    unsafe {
        if (*isp).dont_block_signals == 0 {
            sys::block_all(&mut (*isp).mask[0]);
        }
    }
}

/// libgcc: undo `__morestack_block_signals`.
#[no_mangle]
pub extern "C" fn __morestack_unblock_signals() {
    let isp = thread_state::initial_sp();
    // SAFETY: the calling thread's record.
    unsafe {
        if (*isp).dont_block_signals == 0 {
            sys::restore_mask(&(*isp).mask[0]);
        }
    }
}

/// libgcc: resolve mmap & co. before stack is short.  Raw system calls
/// need no resolving; this only makes sure the settings are read.
#[no_mangle]
pub extern "C" fn __morestack_load_mmap() {
    config::init();
}

/// libgcc: report a fatal error (`msg` of `len` bytes, then the errno)
/// and abort.
#[no_mangle]
///
/// # Safety
/// `msg` must be NULL or readable for `len` bytes.
pub unsafe extern "C" fn __morestack_fail(msg: *const u8, len: usize, err: i32) -> ! {
    let mut m = Msg::new();
    if !msg.is_null() {
        // SAFETY: the caller's promise.
        let bytes = unsafe { core::slice::from_raw_parts(msg, len) };
        m.s(core::str::from_utf8(bytes).unwrap_or("(message not UTF-8)"));
    }
    m.dec(err as u64).fatal()
}

/// libgcc: free the segment list at `*pp` (following `next`) and clear
/// it.  Returns libgcc's leftover dynamic blocks: always NULL here.
#[no_mangle]
///
/// # Safety
/// `pp` must be NULL or point to the head of a chain nothing runs on.
pub unsafe extern "C" fn __morestack_release_segments(pp: *mut *mut StackSegment, _free_dynamic: i32) -> *mut c_void {
    if !pp.is_null() {
        // SAFETY: the caller's promise.
        unsafe {
            chain::forget_own_chain(*pp);
            chain::release_list(&mut *pp);
        }
    }
    ptr::null_mut()
}
