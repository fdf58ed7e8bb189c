//! Segment chains: growing a thread's chain when a function needs more
//! stack, leaving a segment when the function returns or unwinds,
//! releasing chains, and telling a segment from garbage before following
//! a pointer that came from a caller.
//!
//! The grow path may run with only the slack below a limit to spare,
//! possibly inside a signal handler that interrupted another
//! `__morestack`: no allocation but the allocator's (on the runtime
//! stack), no formatting, no locks, no panics, no libc calls, and no
//! `memcpy`/`memset` (libc's use AVX registers whose upper halves the
//! assembly does not save).

use crate::alloc::{self, AllocError, SegmentKind};
use crate::alloca::{self, AllocaBlock};
use crate::arch::current::SS_FRAME_BELOW_ARGS;
use crate::diag::Msg;
use crate::layout::StackSegment;
use crate::runtime_stack::on_runtime_stack;
use crate::{asan, config, context_sizing, stats, thread_state, valgrind};
use core::ptr;
use core::sync::atomic::{compiler_fence, AtomicPtr, Ordering::*};

pub use crate::layout::low;

/// One past the highest usable stack address of a segment.
///
/// # Safety
/// `seg` must be a live segment.
#[inline]
pub unsafe fn top(seg: *mut StackSegment) -> usize {
    // SAFETY: the caller's promise.
    unsafe { alloc::top(seg) }
}

/// Usable stack bytes of a segment.
///
/// # Safety
/// `seg` must be a live segment.
#[inline]
pub unsafe fn usable(seg: *mut StackSegment) -> usize {
    // SAFETY: the caller's promise.
    unsafe { top(seg) - low(seg) }
}

/// A segment for a frame that needs `need` bytes including the reserve
/// (at least the minimum segment size above the reserve), at chain
/// position `depth`.
pub fn alloc(need: usize, depth: u32) -> Result<*mut StackSegment, AllocError> {
    let want = need.max(config::min_segment().saturating_add(config::slack()));
    alloc::alloc_segment(want, depth)
}

/// As [`alloc`], or ends the process with a message naming the size: for
/// `__morestack`, which has no caller to report to.
pub fn alloc_or_die(need: usize, depth: u32) -> *mut StackSegment {
    match alloc(need, depth) {
        Ok(s) => s,
        Err(e) => out_of_memory(&e),
    }
}

#[cold]
#[inline(never)]
fn out_of_memory(e: &AllocError) -> ! {
    let mut m = Msg::new();
    e.describe(&mut m).s("; aborting").fatal()
}

/// Clears AddressSanitizer's shadow of every segment of the list that
/// starts at `first` (following `next`): all their frames are dead
/// (a context being reset).  Nothing without ASan.
///
/// # Safety
/// Every segment of the list must be live and unused.
pub unsafe fn asan_clear_chain(first: *mut StackSegment) {
    if !asan::active() {
        return;
    }
    let mut s = first;
    while !s.is_null() {
        // SAFETY: the caller's promise: live segments, headers mapped.
        unsafe {
            asan::unpoison(low(s), usable(s));
            s = (*s).next;
        }
    }
}

/// The list field of a segment's alloca blocks.
fn alloca_list(seg: *mut StackSegment) -> *mut *mut AllocaBlock {
    // SAFETY: only the field's address is computed.
    unsafe { ptr::addr_of_mut!((*seg).extra) as *mut *mut AllocaBlock }
}

/// Frees the list that starts at `*head` (following `next`) and its alloca
/// blocks, and sets `*head` to NULL.  With `check`, every segment is
/// identified before it is read or freed (a chain that came from a
/// caller's context): at the first one that is not a segment the walk
/// stops, leaving it and the rest alone, and its address and the reason
/// are returned.  A cycle ends the same way: the second visit finds the
/// segment already freed.  Returns how many segments were freed.
///
/// # Safety
/// No segment of the list may be in use; without `check`, every one must
/// be a segment.
pub unsafe fn release(head: &mut *mut StackSegment, check: bool) -> Result<usize, (*mut StackSegment, &'static str)> {
    let mut seg = *head;
    *head = ptr::null_mut();
    let mut n = 0;
    while !seg.is_null() {
        // SAFETY: live_default reads nothing it has not checked.
        if check && !unsafe { alloc::live_default(seg) } {
            // SAFETY: nor does identify.
            if let SegmentKind::Bad(why) = unsafe { alloc::identify(seg) } {
                return Err((seg, why));
            }
        }
        // SAFETY: a segment nothing runs on (the caller's promise, or just
        // identified); `next` is read before it is freed.  The thread's
        // cache takes it on the caller's stack (the warm path); anything
        // else is freed on the runtime stack.
        unsafe {
            let next = (*seg).next;
            context_sizing::released(seg);
            if !alloc::free_segment_cached(seg) {
                on_runtime_stack(|| {
                    alloca::free_list(alloca_list(seg));
                    alloc::free_segment_here(seg);
                });
            }
            seg = next;
        }
        n += 1;
    }
    Ok(n)
}

/// [`release`] of a chain of this runtime's own making (unchecked).
///
/// # Safety
/// As [`release`] without `check`.
pub unsafe fn release_list(head: &mut *mut StackSegment) {
    // SAFETY: the caller's promise.
    let _ = unsafe { release(head, false) };
}

/// Whether `seg` can be followed: NULL is not checked here (callers
/// handle it); otherwise one of ours or a libgcc copy's.
///
/// # Safety
/// As [`alloc::identify`].
pub unsafe fn check(seg: *mut StackSegment) -> Result<(), &'static str> {
    // SAFETY: the caller's promise.
    match unsafe { alloc::identify(seg) } {
        SegmentKind::Bad(why) => Err(why),
        _ => Ok(()),
    }
}

/// Copies `n` bytes with volatile accesses so that the compiler cannot
/// turn the loop into a `memcpy` call.
///
/// # Safety
/// `from` must be readable and `to` writable for `n` bytes.
unsafe fn copy_args(from: *const u8, to: *mut u8, n: usize) {
    let words = n / 8;
    let fw = from as *const u64;
    let tw = to as *mut u64;
    // SAFETY: the caller's promise.
    unsafe {
        for i in 0..words {
            ptr::write_volatile(tw.add(i), ptr::read_unaligned(fw.add(i)));
        }
        for i in words * 8..n {
            ptr::write_volatile(to.add(i), ptr::read_volatile(from.add(i)));
        }
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
///
/// # Safety
/// The thread's chain must be intact (segments of ours or libgcc's).
#[inline(always)]
unsafe fn enter_next(need: usize, sp: usize) -> *mut StackSegment {
    let cur_var = thread_state::current();
    let cur = cur_var.load(Relaxed);
    let link: &AtomicPtr<StackSegment> = if cur.is_null() {
        thread_state::segments()
    } else {
        // SAFETY: `cur` is the thread's current segment (live): its `next`
        // word is a pointer-sized, aligned field, used atomically.
        unsafe { &*(ptr::addr_of_mut!((*cur).next) as *const AtomicPtr<StackSegment>) }
    };
    let next = link.load(Acquire);
    // SAFETY: a segment of the thread's chain.
    let seg = if !next.is_null() && unsafe { usable(next) } >= need {
        next
    } else {
        // SAFETY: as above.
        unsafe { link_new(cur, link, need, sp) }
    };
    cur_var.store(seg, Release);
    compiler_fence(SeqCst);
    // A handler may have inserted a segment in front of `seg` between our
    // choice and the commit; the segment we came from is `cur`.
    // SAFETY: `seg` is ours to write now (current, nothing on it yet).
    unsafe { (*seg).prev = cur };
    seg
}

/// The cold path of `enter_next`, on the thread's runtime stack so that
/// the old stack only holds a couple of small frames.
///
/// # Safety
/// As [`enter_next`]; `link` is `cur`'s link word.
#[inline(never)]
#[cold]
unsafe fn link_new(
    cur: *mut StackSegment,
    link: &AtomicPtr<StackSegment>,
    need: usize,
    sp: usize,
) -> *mut StackSegment {
    let mut out = ptr::null_mut();
    // SAFETY: the caller's promise.
    on_runtime_stack(|| out = unsafe { link_new_here(cur, link, need, sp) });
    out
}

/// # Safety
/// As [`link_new`], on the runtime stack.
unsafe fn link_new_here(
    cur: *mut StackSegment,
    link: &AtomicPtr<StackSegment>,
    need: usize,
    sp: usize,
) -> *mut StackSegment {
    // SAFETY: segments of the thread's chain are live; a fresh segment is
    // ours until it is published by the compare-and-swap.
    unsafe {
        let depth = if cur.is_null() { 1 } else { alloc::depth(cur).saturating_add(1) };
        loop {
            let next = link.load(Acquire);
            if !next.is_null() && usable(next) >= need {
                return next;
            }
            // Too small or none: put a new one in front of it (a smaller
            // cached segment stays usable deeper in the chain).
            if !cur.is_null() {
                context_sizing::overflowed(cur, top(cur).saturating_sub(sp), need);
            }
            let fresh = alloc_or_die(need, depth);
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
                        alloc::set_depth(s, d);
                        s = (*s).next;
                    }
                    stats::chain_depth(d);
                }
                return fresh;
            }
            // A signal handler linked a segment meanwhile: look again.
            (*fresh).next = ptr::null_mut();
            let mut one = fresh;
            release_list(&mut one);
        }
    }
}

/// Grows the thread's chain for a function that needs `need` bytes (its
/// frame, its argument area and the reserve): enters the next segment
/// (cached or new), records `old_stack`, copies `arg_bytes` of stack
/// arguments to its top, and returns the segment and the new stack
/// pointer (below the argument area, rounded to 32 bytes).  What both
/// `__morestack` (through its hook) and libgcc's `__generic_morestack`
/// do.
///
/// # Safety
/// `old_stack` must be readable for `arg_bytes`; the thread's chain
/// intact.
pub unsafe fn grow(need: usize, old_stack: *mut u8, arg_bytes: usize) -> (*mut StackSegment, usize) {
    let args = arg_bytes.saturating_add(31) & !31;
    // SAFETY: the caller's promise; the entered segment is ours to write.
    unsafe {
        let seg = enter_next(need.saturating_add(args), old_stack as usize);
        (*seg).old_stack = old_stack;
        let top = top(seg);
        let sp = top - args;
        fresh_frame_for_valgrind(sp, top);
        copy_args(old_stack, sp as *mut u8, arg_bytes);
        (seg, sp)
    }
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

/// When a function returned or unwound out of the current segment: every
/// frame on it is dead, so are its alloca blocks.  Of the idle segments
/// beyond it, the next one stays cached (the next split at this depth
/// reuses it); the rest go back to the allocator.
pub fn leave_segment() {
    let cur = thread_state::current().load(Relaxed);
    if cur.is_null() {
        return;
    }
    // SAFETY: `cur` is the thread's current segment; the segments after
    // `keep` hold no frame.
    unsafe {
        alloca::free_list(alloca_list(cur));
        let keep = (*cur).next;
        if keep.is_null() {
            return;
        }
        // One atomic exchange detaches the rest, so a signal handler that
        // splits from here on sees either the whole chain or the short one.
        let link = &*(ptr::addr_of_mut!((*keep).next) as *const AtomicPtr<StackSegment>);
        let mut rest = link.swap(ptr::null_mut(), AcqRel);
        if !rest.is_null() {
            release_list(&mut rest);
        }
    }
}

/// When an exception or a forced unwind leaves the current segment;
/// `frame` is the lowest byte of `__morestack`'s frame on the old stack.
/// Under AddressSanitizer the frames the unwinder skipped left their
/// poison behind: the whole segment being left is dead, and on the old
/// stack everything from the frame up to that stack's top is cleared, as
/// `__asan_handle_no_return` clears a normal stack from the stack pointer
/// up (src/asan.rs).  Then as [`leave_segment`].
pub fn unwind_segment(frame: usize) {
    let cur = thread_state::current().load(Relaxed);
    if !cur.is_null() && asan::active() {
        // SAFETY: the current segment and its predecessor are live.
        unsafe {
            asan::unpoison(low(cur), usable(cur));
            let old = (*cur).prev;
            let top = if old.is_null() { (*thread_state::initial_sp()).sp as usize } else { top(old) };
            if top > frame {
                asan::unpoison(frame, top - frame);
            }
        }
    }
    leave_segment();
}

/// Where the registers `__morestack` saved lie below `old_stack`.
pub fn frame_below(old_stack: usize) -> usize {
    old_stack.wrapping_sub(SS_FRAME_BELOW_ARGS)
}

/// Bytes of the thread's original stack still usable at `sp`.
pub fn initial_available(sp: usize) -> usize {
    let isp = thread_state::initial_sp();
    // SAFETY: the calling thread's record.
    let (top, len) = unsafe { ((*isp).sp as usize, (*isp).len) };
    len.saturating_sub(top.saturating_sub(sp))
}

/// libgcc's `__generic_releasestack`: back to the previous segment;
/// returns the stack pointer saved when the current one was entered
/// (NULL on the original stack) and the bytes available there.
pub fn release_to_previous() -> (*mut u8, usize) {
    let cur_var = thread_state::current();
    let cur = cur_var.load(Relaxed);
    if cur.is_null() {
        return (ptr::null_mut(), 0);
    }
    // SAFETY: the current segment is live, so is its predecessor.
    unsafe {
        let old = (*cur).old_stack;
        let prev = (*cur).prev;
        cur_var.store(prev, Release);
        let avail =
            if prev.is_null() { initial_available(old as usize) } else { (old as usize).saturating_sub(low(prev)) };
        (old, avail)
    }
}

/// libgcc's `__generic_findstack`: makes the segment holding `s` current
/// (searching back from the current one) and returns the bytes available
/// below `s`.
pub fn find_current(s: usize) -> usize {
    let mut seg = thread_state::current().load(Relaxed);
    while !seg.is_null() {
        // SAFETY: segments of the thread's chain are live.
        unsafe {
            if low(seg) <= s && s < top(seg) {
                thread_state::current().store(seg, Release);
                return s - low(seg);
            }
            seg = (*seg).prev;
        }
    }
    thread_state::current().store(ptr::null_mut(), Release);
    // SAFETY: the calling thread's record.
    if unsafe { (*thread_state::initial_sp()).sp.is_null() } {
        return 0;
    }
    initial_available(s)
}

/// Frees the calling thread's segments that nothing runs on: all of them
/// when it is back on its original stack, else the ones after the
/// current segment.  Also frees its original-stack alloca blocks.
pub fn release_idle_segments() {
    let cur = thread_state::current().load(Acquire);
    // SAFETY: only this thread uses its own list, and segments after the
    // current one (or all, on the original stack) hold no live frame.
    unsafe {
        if cur.is_null() {
            let mut head = thread_state::segments().swap(ptr::null_mut(), AcqRel);
            forget_own_chain(head);
            release_list(&mut head);
            alloca::free_initial_stack_blocks();
        } else {
            let mut rest = (*cur).next;
            (*cur).next = ptr::null_mut();
            release_list(&mut rest);
        }
    }
}

/// Called before `head`'s chain is freed: if it is the chain the thread
/// grew from its original stack, the thread forgets it.
pub fn forget_own_chain(head: *mut StackSegment) {
    let tb = thread_state::thread_block();
    // SAFETY: tb is the calling thread's block.
    unsafe {
        if !head.is_null() && (*tb).own_chain == head {
            (*tb).own_chain = ptr::null_mut();
        }
    }
}

/// The head of the chain the calling thread grew from its original stack,
/// if it is still a segment (see `ffi::context`'s setcontext).
pub fn own_chain() -> *mut StackSegment {
    // SAFETY: the calling thread's block; check identifies before reading.
    unsafe {
        let own = (*thread_state::thread_block()).own_chain;
        if own.is_null() || check(own).is_err() {
            return ptr::null_mut();
        }
        own
    }
}

/// The alloca-block list of `seg`, for walks over a context's chain.
pub fn alloca_blocks_of(seg: *mut StackSegment) -> *mut *mut AllocaBlock {
    alloca_list(seg)
}
