//! Stack segments: the 56-byte libgcc header at the low end of each
//! mapping, usable stack above it.
//!
//! Layout compatibility matters beyond this crate: a shared library that
//! embeds libgcc's runtime may walk the thread's list and free a segment
//! with `munmap(header, header.size + 56)`, so every segment is exactly
//! one mapping of `size + 56` bytes starting at its header.

use crate::alloca::{self, AllocaBlock};
use crate::arch::current::SS_SEG_HEADER_SIZE;
use crate::{config, stats, sys};
use core::ffi::c_void;
use core::ptr;

/// libgcc's `struct stack_segment`.
#[repr(C)]
pub struct StackSegment {
    /// The segment used before this one (toward the original stack).
    pub prev: *mut StackSegment,
    /// The next segment, in use deeper in the stack or cached.
    pub next: *mut StackSegment,
    /// Usable bytes above the header.
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

pub const HEADER: usize = SS_SEG_HEADER_SIZE;

/// Lowest usable address of a segment.
#[inline]
pub fn low(seg: *mut StackSegment) -> usize {
    seg as usize + HEADER
}

/// One past the highest usable address of a segment.
///
/// # Safety
/// `seg` must be a live segment.
#[inline]
pub unsafe fn top(seg: *mut StackSegment) -> usize {
    low(seg) + (*seg).size
}

/// Why a mapping failed: how many bytes were asked for, and the errno.
pub struct MapError {
    pub bytes: usize,
    pub errno: i32,
}

/// Maps a segment with at least `usable` bytes above its header (and at
/// least the configured minimum).
pub fn map(usable: usize) -> Result<*mut StackSegment, MapError> {
    let want = usable.max(config::min_segment());
    let Some(total) = want.checked_add(HEADER).and_then(config::page_round) else {
        return Err(MapError { bytes: usize::MAX, errno: libc::ENOMEM });
    };
    match sys::mmap_anon(total) {
        Ok(addr) => {
            let seg = addr as *mut StackSegment;
            // SAFETY: the mapping is fresh, writable and at least a page,
            // so the header fits; nobody else can see it yet.
            unsafe {
                seg.write(StackSegment {
                    prev: ptr::null_mut(),
                    next: ptr::null_mut(),
                    size: total - HEADER,
                    old_stack: ptr::null_mut(),
                    dynamic_allocation: ptr::null_mut(),
                    free_dynamic_allocation: ptr::null_mut(),
                    extra: ptr::null_mut(),
                });
            }
            stats::segment_mapped(total);
            Ok(seg)
        }
        Err(errno) => Err(MapError { bytes: total, errno }),
    }
}

/// Maps a segment or ends the process with a message naming the size:
/// for `__morestack`, which has no caller to report to.
pub fn map_or_die(usable: usize) -> *mut StackSegment {
    match map(usable) {
        Ok(s) => s,
        Err(e) => crate::diag::Msg::new()
            .s("out of memory: cannot map a stack segment of ")
            .dec(e.bytes as u64)
            .s(" bytes (errno ")
            .dec(e.errno as u64)
            .s("); aborting")
            .fatal(),
    }
}

/// Frees one segment and the alloca blocks recorded on it.
///
/// # Safety
/// `seg` must be a live segment that nothing runs on or links to any more.
pub unsafe fn unmap(seg: *mut StackSegment) {
    alloca::free_list(ptr::addr_of_mut!((*seg).extra) as *mut *mut AllocaBlock);
    let total = (*seg).size + HEADER;
    if let Err(errno) = sys::munmap(seg as usize, total) {
        crate::diag::Msg::new()
            .s("munmap of the stack segment at ")
            .hex(seg as usize)
            .s(" failed (errno ")
            .dec(errno as u64)
            .s("): its header is corrupt; aborting")
            .fatal();
    }
    stats::segment_unmapped(total);
}

/// Frees the list that starts at `*head` (following `next`) and sets
/// `*head` to NULL.  Returns how many segments were freed.
///
/// # Safety
/// No segment of the list may be in use.
pub unsafe fn release_list(head: &mut *mut StackSegment) -> usize {
    let mut seg = *head;
    *head = ptr::null_mut();
    let mut n = 0;
    while !seg.is_null() {
        let next = (*seg).next;
        unmap(seg);
        n += 1;
        seg = next;
    }
    n
}
