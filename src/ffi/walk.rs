//! Walking stacks for a garbage collector: `__splitstack_find` and
//! `__splitstack_find_context` (docs/x86_64.md, section 5).

use super::context::{
    bad_segment, check_segments, not_a_context, null_context, scan_start, tag, word_floor, SplitstackContext, Tag,
};
use crate::diag::Msg;
use crate::layout::StackSegment;
use crate::{chain, thread_state};
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::Ordering::*;

// Codes for the walk's `segment` cursor, as libgcc defines them.
const FIND_INITIAL: usize = 1;

const FIND_DONE: usize = 2;

/// Walks the stack pieces of the calling thread (start with `seg` and
/// `sp` NULL) or of a suspended context (continue with the values
/// returned in `*next_seg`, `*next_sp`, `*initial_sp`).  Each call returns
/// the lowest address of one piece and its length in `*len`; NULL at the
/// end.  Pieces include the registers `__morestack` saved on each old
/// stack, so a conservative collector sees every live pointer.
///
/// # Safety
/// The output pointers must be writable; `seg`/`sp` must be NULL or values
/// an earlier call of the walk returned.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_find(
    seg: *mut c_void,
    sp: *mut c_void,
    len: *mut usize,
    next_seg: *mut *mut c_void,
    next_sp: *mut *mut c_void,
    initial_sp: *mut *mut c_void,
) -> *mut c_void {
    // SAFETY: the outputs are checked against NULL; segments are identified
    // before they are read (the calling thread's own chain is trusted).
    unsafe {
        if len.is_null() || next_seg.is_null() || next_sp.is_null() || initial_sp.is_null() {
            Msg::new().s("__splitstack_find: NULL output pointer").emit();
            return ptr::null_mut();
        }
        // Ranges start and end on word boundaries (a collector scans them in
        // word steps); the values this runtime hands out already are.
        let mut sp = word_floor(sp as usize);
        let segment: *mut StackSegment = match seg as usize {
            FIND_INITIAL => {
                let top = word_floor(*initial_sp as usize);
                *next_seg = FIND_DONE as *mut c_void;
                *next_sp = ptr::null_mut();
                if top == 0 || sp >= top {
                    return ptr::null_mut();
                }
                *len = top - sp;
                return sp as *mut c_void;
            }
            FIND_DONE => return ptr::null_mut(),
            0 => {
                // Start with the calling thread: find the segment we run on.
                *initial_sp = (*thread_state::initial_sp()).sp as *mut c_void;
                sp = scan_start();
                let mut s = thread_state::current().load(Relaxed);
                loop {
                    if s.is_null() {
                        return __splitstack_find(
                            FIND_INITIAL as *mut c_void,
                            sp as *mut c_void,
                            len,
                            next_seg,
                            next_sp,
                            initial_sp,
                        );
                    }
                    if chain::low(s) <= sp && sp <= chain::top(s) {
                        break s;
                    }
                    s = (*s).prev;
                }
            }
            _ => {
                let seg = seg as *mut StackSegment;
                if let Err(why) = chain::check(seg) {
                    Msg::new()
                        .s("__splitstack_find: segment ")
                        .hex(seg as usize)
                        .s(": ")
                        .s(why)
                        .s("; returning NULL")
                        .emit();
                    *next_seg = FIND_DONE as *mut c_void;
                    return ptr::null_mut();
                }
                seg
            }
        };
        *next_seg =
            if (*segment).prev.is_null() { FIND_INITIAL as *mut c_void } else { (*segment).prev as *mut c_void };
        let old = (*segment).old_stack as usize;
        if old == 0 {
            *next_seg = FIND_DONE as *mut c_void;
        } else {
            *next_sp = chain::frame_below(old) as *mut c_void;
        }
        let top = word_floor(chain::top(segment));
        *len = top.saturating_sub(sp);
        sp as *mut c_void
    }
}

/// Starts a `__splitstack_find` walk over a suspended context.  Returns
/// NULL for a context that was made but never run.
///
/// # Safety
/// `ctx` must be NULL or point to ten readable words; the outputs as for
/// `__splitstack_find`.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_find_context(
    ctx: *mut *mut c_void,
    len: *mut usize,
    next_seg: *mut *mut c_void,
    next_sp: *mut *mut c_void,
    initial_sp: *mut *mut c_void,
) -> *mut c_void {
    // SAFETY: as for `__splitstack_find`; `ctx` is checked against NULL.
    unsafe {
        let ctx = ctx as *mut SplitstackContext;
        if ctx.is_null() {
            null_context("__splitstack_find_context");
            return ptr::null_mut();
        }
        if len.is_null() || next_seg.is_null() || next_sp.is_null() || initial_sp.is_null() {
            Msg::new().s("__splitstack_find_context: NULL output pointer").emit();
            return ptr::null_mut();
        }
        let c = &*ctx;
        *initial_sp = c.initial_sp;
        let t = tag(c);
        if t == Tag::Garbage {
            not_a_context("__splitstack_find_context", ctx, c.state, "returning NULL");
        } else if t != Tag::Released && !c.sp.is_null() {
            if let Err((seg, why)) = check_segments(c) {
                bad_segment("__splitstack_find_context", ctx, seg, why, "returning NULL");
                *next_seg = FIND_DONE as *mut c_void;
                *next_sp = ptr::null_mut();
                *initial_sp = ptr::null_mut();
                return ptr::null_mut();
            }
        }
        if c.sp.is_null() || t == Tag::Released || t == Tag::Garbage {
            *next_seg = FIND_DONE as *mut c_void;
            *next_sp = ptr::null_mut();
            *initial_sp = ptr::null_mut();
            return ptr::null_mut();
        }
        let seg = if c.current.is_null() { FIND_INITIAL as *mut c_void } else { c.current as *mut c_void };
        __splitstack_find(seg, c.sp, len, next_seg, next_sp, initial_sp)
    }
}
