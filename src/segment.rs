//! Stack segments: libgcc's 56-byte header at the low end of each block,
//! the stack above it, the allocator's record at the top (allocator.rs).
//!
//! Layout compatibility matters beyond this crate: a shared library that
//! embeds libgcc's runtime may walk the thread's list, use our segments
//! and free one with `munmap(header, header.size + 56)`; with the default
//! allocator and its default sizes every segment is page-aligned and a
//! whole number of pages, so that unmaps exactly that segment.

use crate::alloca::{self, AllocaBlock};
use crate::allocator;
use crate::arch::current::SS_SEG_HEADER_SIZE;
use crate::config;
use core::ffi::c_void;
use core::ptr;

/// libgcc's `struct stack_segment`.
#[repr(C)]
pub struct StackSegment {
    /// The segment used before this one (toward the original stack).
    pub prev: *mut StackSegment,
    /// The next segment, in use deeper in the stack or cached.
    pub next: *mut StackSegment,
    /// Bytes of the block above the header.
    pub size: usize,
    /// Stack arguments of the function that split onto this segment, on
    /// the previous stack (what `__splitstack_find` reports).
    pub old_stack: *mut u8,
    /// libgcc's malloc'd alloca blocks; always NULL here (a foreign libgcc
    /// copy would `free` them).
    pub dynamic_allocation: *mut c_void,
    /// As above.
    pub free_dynamic_allocation: *mut c_void,
    /// This runtime's alloca blocks made on this segment (an
    /// `AllocaBlock` list; libgcc leaves the field NULL and never reads it).
    pub extra: *mut c_void,
}

pub(crate) const HEADER: usize = SS_SEG_HEADER_SIZE;

/// Lowest usable address of a segment.
#[inline]
pub fn low(seg: *mut StackSegment) -> usize {
    seg as usize + HEADER
}

/// One past the highest usable stack address of a segment.
///
/// # Safety
/// `seg` must be a live segment.
#[inline]
pub unsafe fn top(seg: *mut StackSegment) -> usize {
    allocator::top(seg)
}

/// Usable stack bytes of a segment.
///
/// # Safety
/// `seg` must be a live segment.
#[inline]
pub unsafe fn usable(seg: *mut StackSegment) -> usize {
    top(seg) - low(seg)
}

/// Why a segment could not be had.
pub use crate::allocator::AllocError as MapError;

/// A segment for a frame that needs `need` bytes including the reserve
/// (at least the minimum segment size above the reserve), at chain
/// position `depth`.
pub fn alloc(need: usize, depth: u32) -> Result<*mut StackSegment, MapError> {
    let want = need.max(config::min_segment().saturating_add(config::slack()));
    allocator::alloc_segment(want, depth)
}

/// As [`alloc`], or ends the process with a message naming the size: for
/// `__morestack`, which has no caller to report to.
pub fn alloc_or_die(need: usize, depth: u32) -> *mut StackSegment {
    match alloc(need, depth) {
        Ok(s) => s,
        Err(e) => out_of_memory(e),
    }
}

#[cold]
#[inline(never)]
fn out_of_memory(e: MapError) -> ! {
    {
        {
            let mut m = crate::diag::Msg::new();
            m.s("out of memory: cannot allocate a stack segment of ").dec(e.bytes as u64).s(" bytes");
            if e.custom {
                m.s(" (the registered allocator returned NULL)");
            } else {
                m.s(" (errno ").dec(e.errno as u64).s(")");
            }
            m.s("; aborting").fatal()
        }
    }
}

/// Clears AddressSanitizer's shadow of every segment of the list that
/// starts at `first` (following `next`): all their frames are dead
/// (a context being reset).  Nothing without ASan.
///
/// # Safety
/// Every segment of the list must be live and unused.
pub unsafe fn asan_clear_chain(first: *mut StackSegment) {
    if !crate::asan::active() {
        return;
    }
    let mut s = first;
    while !s.is_null() {
        crate::asan::unpoison(low(s), usable(s));
        s = (*s).next;
    }
}

/// Frees the list that starts at `*head` (following `next`) and its alloca
/// blocks, and sets `*head` to NULL.  Returns how many segments were freed.
///
/// # Safety
/// No segment of the list may be in use.
pub unsafe fn release_list(head: &mut *mut StackSegment) -> usize {
    let first = *head;
    *head = ptr::null_mut();
    let mut n = 0;
    if first.is_null() {
        return 0;
    }
    allocator::on_runtime_stack(|| {
        let mut seg = first;
        while !seg.is_null() {
            let next = (*seg).next;
            alloca::free_list(ptr::addr_of_mut!((*seg).extra) as *mut *mut AllocaBlock);
            allocator::free_segment_here(seg);
            n += 1;
            seg = next;
        }
    });
    n
}

/// As [`release_list`], for a chain that came from a caller's context:
/// each segment is identified before it is read or freed (see
/// [`allocator::identify`]).  At the first one that is not a segment the
/// walk stops, leaving it and the rest alone, and its address and the
/// reason are returned.  A cycle ends the same way: the second visit
/// finds the segment already freed.
///
/// # Safety
/// No segment of the list may be in use.
pub unsafe fn release_list_checked(head: &mut *mut StackSegment) -> Result<usize, (*mut StackSegment, &'static str)> {
    let first = *head;
    *head = ptr::null_mut();
    let mut out = Ok(0);
    if first.is_null() {
        return out;
    }
    allocator::on_runtime_stack(|| {
        let mut seg = first;
        let mut n = 0;
        while !seg.is_null() {
            if let allocator::SegmentKind::Bad(why) = allocator::identify(seg) {
                out = Err((seg, why));
                return;
            }
            let next = (*seg).next;
            alloca::free_list(ptr::addr_of_mut!((*seg).extra) as *mut *mut AllocaBlock);
            allocator::free_segment_here(seg);
            n += 1;
            seg = next;
        }
        out = Ok(n);
    });
    out
}

/// Whether `seg` can be followed: NULL is not checked here (callers
/// handle it); otherwise one of ours or a libgcc copy's.
///
/// # Safety
/// As [`allocator::identify`].
pub unsafe fn check(seg: *mut StackSegment) -> Result<(), &'static str> {
    match allocator::identify(seg) {
        allocator::SegmentKind::Bad(why) => Err(why),
        _ => Ok(()),
    }
}
