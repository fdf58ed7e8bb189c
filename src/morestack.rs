//! The Rust half of `__morestack` and libgcc's internal helpers.
//!
//! Everything here may run with only the slack below a limit to spare,
//! possibly inside a signal handler that interrupted another
//! `__morestack`: no allocation, no formatting, no locks, no panics, no
//! libc calls (raw system calls only), and no `memcpy`/`memset` (libc's
//! versions use AVX registers whose upper halves the assembly does not
//! save).

use crate::arch::current::SS_FRAME_BELOW_ARGS;
use crate::segment::{self, StackSegment};
use crate::{alloca, allocator, asan, config, stats, sys, thread_state, valgrind};
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{compiler_fence, AtomicPtr, Ordering::*};

/// Where `__morestack` switches to: returned in rax:rdx.
#[repr(C)]
pub struct SwitchTo {
    pub sp: usize,
    pub guard: usize,
}

/// Copies `n` bytes with volatile accesses so that the compiler cannot
/// turn the loop into a `memcpy` call.
unsafe fn copy_args(from: *const u8, to: *mut u8, n: usize) {
    let words = n / 8;
    let fw = from as *const u64;
    let tw = to as *mut u64;
    for i in 0..words {
        ptr::write_volatile(tw.add(i), ptr::read_unaligned(fw.add(i)));
    }
    for i in words * 8..n {
        ptr::write_volatile(to.add(i), ptr::read_volatile(from.add(i)));
    }
}

/// Finds or makes the segment after the current one with at least `need`
/// usable bytes, makes it current, and returns it.
///
/// Signal safety: the only shared words changed are the `next` link
/// (compare-and-swap) and the current-segment variable (one store, made
/// before anything is written to the new segment).  A handler that
/// interrupts us and splits itself either sees the old current segment
/// (and uses or links segments after it, never writing to one we have
/// already written) or the new one (and works beyond it).
///
/// The warm path (the next segment is cached and big enough) makes no
/// call at all; the cold path allocates on the thread's runtime stack.
#[inline(always)]
unsafe fn enter_next(need: usize) -> *mut StackSegment {
    let cur_var = thread_state::current();
    let cur = cur_var.load(Relaxed);
    let link: &AtomicPtr<StackSegment> = if cur.is_null() {
        thread_state::segments()
    } else {
        &*(ptr::addr_of_mut!((*cur).next) as *const AtomicPtr<StackSegment>)
    };
    let next = link.load(Acquire);
    let seg = if !next.is_null() && segment::usable(next) >= need { next } else { link_new(cur, link, need) };
    cur_var.store(seg, Release);
    compiler_fence(SeqCst);
    // A handler may have inserted a segment in front of `seg` between our
    // choice and the commit; the segment we came from is `cur`.
    (*seg).prev = cur;
    seg
}

/// The cold path of `enter_next`, on the thread's runtime stack so that
/// the old stack only holds a couple of small frames.
#[inline(never)]
#[cold]
unsafe fn link_new(cur: *mut StackSegment, link: &AtomicPtr<StackSegment>, need: usize) -> *mut StackSegment {
    let mut out = ptr::null_mut();
    allocator::on_runtime_stack(|| out = link_new_here(cur, link, need));
    out
}

unsafe fn link_new_here(cur: *mut StackSegment, link: &AtomicPtr<StackSegment>, need: usize) -> *mut StackSegment {
    let depth = if cur.is_null() { 1 } else { allocator::depth(cur).saturating_add(1) };
    loop {
        let next = link.load(Acquire);
        if !next.is_null() && segment::usable(next) >= need {
            return next;
        }
        // Too small or none: put a new one in front of it (a smaller
        // cached segment stays usable deeper in the chain).
        let fresh = segment::alloc_or_die(need, depth);
        (*fresh).prev = cur;
        (*fresh).next = next;
        if link.compare_exchange(next, fresh, AcqRel, Acquire).is_ok() {
            if cur.is_null() {
                // The new head of the chain grown from the original stack.
                (*thread_state::thread_block()).own_chain = fresh;
            }
            if !next.is_null() {
                (*next).prev = fresh;
                // Everything after the new one is one deeper now.
                let mut s = next;
                let mut d = depth;
                while !s.is_null() {
                    d = d.saturating_add(1);
                    allocator::set_depth(s, d);
                    s = (*s).next;
                }
                stats::chain_depth(d);
            }
            return fresh;
        }
        // A signal handler linked a segment meanwhile: look again.
        (*fresh).next = ptr::null_mut();
        let mut one = fresh;
        segment::release_list(&mut one);
    }
}

/// Called by `__morestack` on the old stack: see the assembly.
#[no_mangle]
pub unsafe extern "C" fn splitstack_grow(frame: usize, old_stack: *mut u8, arg_bytes: usize) -> SwitchTo {
    let args = arg_bytes.saturating_add(31) & !31;
    let need = frame.saturating_add(args).saturating_add(config::slack());
    let seg = enter_next(need);
    (*seg).old_stack = old_stack;
    let top = segment::top(seg);
    let sp = top - args;
    fresh_frame_for_valgrind(sp, top);
    copy_args(old_stack, sp as *mut u8, arg_bytes);
    SwitchTo { sp, guard: segment::low(seg) + config::slack() }
}

/// Under valgrind: makes the argument area and the red zone below the new
/// stack pointer addressable before they are written.  A cached segment
/// last left with a higher stack pointer (fewer stack arguments) has them
/// inaccessible, and memcheck does not paint anything at a switch between
/// registered stacks.  (The warm path in the assembly gets the same
/// effect by moving the stack pointer to the top first, then down.)
#[inline(always)]
fn fresh_frame_for_valgrind(sp: usize, top: usize) {
    let low = sp - valgrind::RED_ZONE;
    valgrind::make_undefined(low, top - low);
}

/// Called by `__morestack`'s landing pad when an exception or a forced
/// unwind leaves the current segment; `frame` is the lowest byte of
/// `__morestack`'s frame on the old stack.  Under AddressSanitizer the
/// frames the unwinder skipped left their poison behind: the whole
/// segment being left is dead, and on the old stack everything from the
/// frame up to that stack's top is cleared, as `__asan_handle_no_return`
/// clears a normal stack from the stack pointer up (src/asan.rs).  Then
/// as [`splitstack_leave_segment`].
#[no_mangle]
pub unsafe extern "C" fn splitstack_unwind_segment(frame: usize) {
    let cur = thread_state::current().load(Relaxed);
    if !cur.is_null() && asan::active() {
        asan::unpoison(segment::low(cur), segment::usable(cur));
        let old = (*cur).prev;
        let top = if old.is_null() { (*thread_state::initial_sp()).sp as usize } else { segment::top(old) };
        if top > frame {
            asan::unpoison(frame, top - frame);
        }
    }
    splitstack_leave_segment();
}

/// Called by `__morestack` when the body returned or unwound out of the
/// current segment: every frame on it is dead, so are its alloca blocks.
/// Of the idle segments beyond it, the next one stays cached (the next
/// split at this depth reuses it); the rest go back to the allocator.
#[no_mangle]
pub unsafe extern "C" fn splitstack_leave_segment() {
    let cur = thread_state::current().load(Relaxed);
    if cur.is_null() {
        return;
    }
    alloca::free_list(ptr::addr_of_mut!((*cur).extra) as *mut *mut alloca::AllocaBlock);
    let keep = (*cur).next;
    if keep.is_null() {
        return;
    }
    // One atomic exchange detaches the rest, so a signal handler that
    // splits from here on sees either the whole chain or the short one.
    let link = &*(ptr::addr_of_mut!((*keep).next) as *const AtomicPtr<StackSegment>);
    let mut rest = link.swap(ptr::null_mut(), AcqRel);
    if !rest.is_null() {
        segment::release_list(&mut rest);
    }
}

#[no_mangle]
pub extern "C" fn splitstack_block_all(old: &mut u64) {
    sys::block_all(old);
}

#[no_mangle]
pub extern "C" fn splitstack_restore_mask(mask: &u64) {
    sys::restore_mask(mask);
}

// ---------------------------------------------------------------------
// libgcc's internal entry points.  Our assembly does not use the
// `__generic_*` ones, but they are defined (with libgcc's semantics) so
// that a link never pulls libgcc's objects in to supply them.
// ---------------------------------------------------------------------

/// libgcc: allocate (or reuse) the next segment for a frame of
/// `*pframe_size` bytes, copy `param_size` bytes of arguments from
/// `old_stack` to its top, make it current; return the new stack pointer
/// and set `*pframe_size` to the bytes available below it.
#[no_mangle]
pub unsafe extern "C" fn __generic_morestack(pframe_size: *mut usize, old_stack: *mut u8, param_size: usize) -> *mut c_void {
    let args = param_size.saturating_add(31) & !31;
    let seg = enter_next((*pframe_size).saturating_add(args));
    (*seg).old_stack = old_stack;
    let top = segment::top(seg);
    let sp = top - args;
    fresh_frame_for_valgrind(sp, top);
    copy_args(old_stack, sp as *mut u8, param_size);
    *pframe_size = segment::usable(seg) - args;
    sp as *mut c_void
}

/// Bytes of the thread's original stack still usable at `sp`.
unsafe fn initial_available(sp: usize) -> usize {
    let isp = thread_state::initial_sp();
    let top = (*isp).sp as usize;
    let used = top.saturating_sub(sp);
    (*isp).len.saturating_sub(used)
}

/// libgcc: go back to the previous segment; return the stack pointer saved
/// when this one was entered and set `*pavailable` to the space left there.
#[no_mangle]
pub unsafe extern "C" fn __generic_releasestack(pavailable: *mut usize) -> *mut c_void {
    let cur_var = thread_state::current();
    let cur = cur_var.load(Relaxed);
    if cur.is_null() {
        *pavailable = 0;
        return ptr::null_mut();
    }
    let old = (*cur).old_stack;
    let prev = (*cur).prev;
    cur_var.store(prev, Release);
    *pavailable = if prev.is_null() {
        initial_available(old as usize)
    } else {
        (old as usize).saturating_sub(segment::low(prev))
    };
    old as *mut c_void
}

/// libgcc: make the segment holding `stack` current (searching back from
/// the current one) and return the bytes available below `stack`.
#[no_mangle]
pub unsafe extern "C" fn __generic_findstack(stack: *mut c_void) -> usize {
    let s = stack as usize;
    let mut seg = thread_state::current().load(Relaxed);
    while !seg.is_null() {
        if segment::low(seg) <= s && s < segment::top(seg) {
            thread_state::current().store(seg, Release);
            return s - segment::low(seg);
        }
        seg = (*seg).prev;
    }
    thread_state::current().store(ptr::null_mut(), Release);
    if (*thread_state::initial_sp()).sp.is_null() {
        return 0;
    }
    initial_available(s)
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
pub unsafe extern "C" fn __generic_morestack_set_initial_sp(sp: *mut c_void, len: usize) {
    config::init();
    crate::thread::init_key();
    let isp = thread_state::initial_sp();
    (*isp).sp = (((sp as usize) + 511) & !511) as *mut u8;
    (*isp).len = len;
    // This runtime's default: __morestack never needs signals blocked.
    (*isp).dont_block_signals = 1;
}

/// libgcc: block signals if the thread asked for it (compatibility
/// entry; our `__morestack` does the same inline).  The mask is saved in
/// the thread's initial_sp record, as libgcc does.
#[no_mangle]
pub unsafe extern "C" fn __morestack_block_signals() {
    let isp = thread_state::initial_sp();
    if (*isp).dont_block_signals == 0 {
        sys::block_all(&mut (*isp).mask[0]);
    }
}

/// libgcc: undo `__morestack_block_signals`.
#[no_mangle]
pub unsafe extern "C" fn __morestack_unblock_signals() {
    let isp = thread_state::initial_sp();
    if (*isp).dont_block_signals == 0 {
        sys::restore_mask(&(*isp).mask[0]);
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
pub unsafe extern "C" fn __morestack_fail(msg: *const u8, len: usize, err: i32) -> ! {
    let mut m = crate::diag::Msg::new();
    if !msg.is_null() {
        let bytes = core::slice::from_raw_parts(msg, len);
        m.s(core::str::from_utf8(bytes).unwrap_or("(message not UTF-8)"));
    }
    m.dec(err as u64).fatal()
}

/// libgcc: free the segment list at `*pp` (following `next`) and clear
/// it.  Returns libgcc's leftover dynamic blocks: always NULL here.
#[no_mangle]
pub unsafe extern "C" fn __morestack_release_segments(pp: *mut *mut StackSegment, _free_dynamic: i32) -> *mut c_void {
    if !pp.is_null() {
        crate::thread::forget_own_chain(*pp);
        segment::release_list(&mut *pp);
    }
    ptr::null_mut()
}

/// Where the registers `__morestack` saved lie below `old_stack`.
pub fn frame_below(old_stack: usize) -> usize {
    old_stack.wrapping_sub(SS_FRAME_BELOW_ARGS)
}

