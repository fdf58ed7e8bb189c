//! The record at the top of every block (`layout::SegmentMeta`): its
//! magic words, and reading it.  A live segment's magic is `MAGIC` XOR its
//! address, a free default-allocator block's `MAGIC_FREE` XOR its address,
//! so that neither a copied header nor a stale pointer can pass for one.

use crate::layout::{SegmentMeta, StackSegment, HEADER, META_BYTES};
use core::ptr;

const MAGIC: usize = 0x5350_4c54_5345_474d;
const MAGIC_FREE: usize = 0x5350_4c54_4652_4545;

/// Class index of blocks mapped on their own.
pub(crate) const DEDICATED: u32 = u32::MAX;

/// A block the default allocator hands out.
pub struct Block {
    pub addr: usize,
    pub size: usize,
    pub class: u32,
    /// Its slab (an `alloc::slab::Slab`) for a sub-page block, else NULL.
    pub slab: *mut core::ffi::c_void,
}

/// The meta of a block of `block_size` bytes at `seg`.
#[inline]
pub fn at(seg: *mut StackSegment, block_size: usize) -> *mut SegmentMeta {
    (seg as usize + block_size - META_BYTES) as *mut SegmentMeta
}

/// The magic of a live segment at `seg`.
#[inline]
pub fn live_magic(seg: *mut StackSegment) -> usize {
    MAGIC ^ seg as usize
}

/// The magic of a free default-allocator block at `seg`.
#[inline]
pub fn free_magic(seg: *mut StackSegment) -> usize {
    MAGIC_FREE ^ seg as usize
}

/// The meta of a segment if we made it and it is live, else NULL.
///
/// # Safety
/// `seg` must be a live segment (ours or a foreign libgcc one).
#[inline]
pub unsafe fn ours(seg: *mut StackSegment) -> *mut SegmentMeta {
    // SAFETY: a live segment's header and the last word of its block are
    // mapped (the caller's promise), and the meta lies inside the block.
    unsafe {
        let m = at(seg, (*seg).size + HEADER);
        if (*m).magic == live_magic(seg) {
            m
        } else {
            ptr::null_mut()
        }
    }
}

/// Usable top of a segment (its stack starts below it).
///
/// # Safety
/// `seg` must be a live segment.
#[inline]
pub unsafe fn top(seg: *mut StackSegment) -> usize {
    // SAFETY: as for `ours`.
    unsafe {
        let end = seg as usize + HEADER + (*seg).size;
        if ours(seg).is_null() {
            end
        } else {
            end - META_BYTES
        }
    }
}

/// Depth of a segment in its chain (1 for a first segment).
///
/// # Safety
/// `seg` must be a live segment.
pub unsafe fn depth(seg: *mut StackSegment) -> u32 {
    // SAFETY: as for `ours`.
    unsafe {
        let m = ours(seg);
        if m.is_null() {
            1
        } else {
            (*m).depth
        }
    }
}

/// Sets the chain depth recorded for a segment.
///
/// # Safety
/// `seg` must be a live segment.
pub unsafe fn set_depth(seg: *mut StackSegment, d: u32) {
    // SAFETY: as for `ours`; the meta of our own segment is ours to write.
    unsafe {
        let m = ours(seg);
        if !m.is_null() {
            (*m).depth = d;
        }
    }
}

/// The `flags` word of a segment of ours (NULL for anyone else's).
///
/// # Safety
/// `seg` must be a live segment.
pub unsafe fn flags(seg: *mut StackSegment) -> *mut usize {
    // SAFETY: as for `ours`.
    unsafe {
        let m = ours(seg);
        if m.is_null() {
            ptr::null_mut()
        } else {
            ptr::addr_of_mut!((*m).flags)
        }
    }
}
