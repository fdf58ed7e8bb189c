//! Slabs: blocks smaller than a page (only with a small minimum segment
//! size and reserve).  A slab holds `SLAB_BLOCKS` blocks of one class;
//! when every block of a slab is free and the cache is over its
//! high-water mark, its pages go back to the OS.

use super::meta::{self, Block, DEDICATED};
use super::{os, pool};
use crate::layout::{StackSegment, HEADER, MAX_CLASSES};
use crate::sync::{self, Lock};
use crate::{config, stats, sys};
use core::ffi::c_void;
use core::ptr;

const SLAB_BLOCKS: usize = 64;

/// A slab's descriptor.  Descriptors live apart from the slabs (carved
/// from their own mappings, never freed, like the slabs), so that a slab
/// is exactly SLAB_BLOCKS blocks: with sizes that are multiples of 128
/// bytes that is a whole number of 4 KiB pages, nothing wasted.
#[repr(C)]
pub struct Slab {
    base: usize,
    class: usize,
    size: usize,
    len: usize,
    /// Bit i set: block i is free.
    free_mask: u64,
    /// Bit i set: block i is free and its memory counted as resident.
    resident_mask: u64,
    /// Doubly linked list of slabs with a free block, per class.
    next: *mut Slab,
    prev: *mut Slab,
}

/// What the slab lock guards: the slabs with a free block, per class, and
/// the descriptor storage (bump-allocated from 64 KiB mappings).
pub struct Slabs {
    partial: [*mut Slab; MAX_CLASSES],
    desc_next: usize,
    desc_end: usize,
}

// SAFETY: slabs and descriptors belong to the allocator, not to a thread;
// whoever holds the lock may use them.
unsafe impl Send for Slabs {}

/// The slabs (held around fork by the default allocator's handlers).
pub static SLABS: Lock<Slabs> = Lock::new(Slabs { partial: [ptr::null_mut(); MAX_CLASSES], desc_next: 0, desc_end: 0 });

impl Slabs {
    fn new_descriptor(&mut self) -> Option<*mut Slab> {
        let size = (core::mem::size_of::<Slab>() + 15) & !15;
        if self.desc_next == 0 || self.desc_next + size > self.desc_end {
            let len = config::page_round(64 << 10)?;
            let m = sys::mmap_anon(len).ok()?;
            stats::os_mapped(len);
            self.desc_next = m;
            self.desc_end = m + len;
        }
        let d = self.desc_next as *mut Slab;
        self.desc_next += size;
        Some(d)
    }

    /// # Safety
    /// `s` must be a slab of ours not on the list.
    unsafe fn partial_push(&mut self, s: *mut Slab) {
        // SAFETY: the caller's promise; slabs on the list are ours.
        unsafe {
            let Some(head) = self.partial.get_mut((*s).class) else { return };
            (*s).prev = ptr::null_mut();
            (*s).next = *head;
            if !head.is_null() {
                (**head).prev = s;
            }
            *head = s;
        }
    }

    /// # Safety
    /// `s` must be a slab of ours on the list.
    unsafe fn partial_remove(&mut self, s: *mut Slab) {
        // SAFETY: the caller's promise; its neighbours are on the list.
        unsafe {
            let Some(head) = self.partial.get_mut((*s).class) else { return };
            if (*s).prev.is_null() {
                *head = (*s).next;
            } else {
                (*(*s).prev).next = (*s).next;
            }
            if !(*s).next.is_null() {
                (*(*s).next).prev = (*s).prev;
            }
            (*s).next = ptr::null_mut();
            (*s).prev = ptr::null_mut();
        }
    }

    /// Returns block `addr` to its slab `s`.
    ///
    /// # Safety
    /// `addr` must be a block of `s` in use.
    unsafe fn free_block(&mut self, s: *mut Slab, addr: usize) {
        // SAFETY: the caller's promise; the slab's memory is ours.
        unsafe {
            let size = (*s).size;
            let i = (addr - (*s).base) / size;
            let bit = 1u64 << (i & 63);
            if (*s).free_mask == 0 {
                self.partial_push(s);
            }
            (*s).free_mask |= bit;
            (*s).resident_mask |= bit;
            stats::cached_resident_add(size);
            if (*s).free_mask == u64::MAX
                && stats::cached_resident() > config::cache_max()
                && sys::madvise_dontneed((*s).base, (*s).len).is_ok()
            {
                let n = (*s).resident_mask.count_ones() as usize;
                stats::cached_resident_sub(n * size);
                stats::cached_delta(-(n as i64));
                (*s).resident_mask = 0;
            }
        }
    }

    /// Frees the deferred blocks that belong to slabs; the others stay
    /// deferred for the pool.
    ///
    /// # Safety
    /// The deferred blocks must be free blocks of ours.
    unsafe fn drain_deferred(&mut self) {
        let mut s = pool::take_deferred();
        while !s.is_null() {
            // SAFETY: a free block of ours: header and meta mapped.
            unsafe {
                let next = (*s).next;
                let m = meta::at(s, (*s).size + HEADER);
                if !(*m).slab.is_null() {
                    self.free_block((*m).slab as *mut Slab, s as usize);
                } else {
                    pool::defer(s);
                }
                s = next;
            }
        }
    }
}

/// A block of class `class` (`size` bytes, below a page).
pub fn alloc(class: usize, size: usize, nested: bool) -> Result<Block, i32> {
    let Some(mut g) = sync::acquire(&SLABS, nested) else {
        // A signal handler on a thread that holds the slab lock: give it
        // a block of its own rather than wait for ourselves.
        let len = config::page_round(size).ok_or(libc::ENOMEM)?;
        let addr = os::map(len)?;
        return Ok(Block { addr, size: len, class: DEDICATED, slab: ptr::null_mut() });
    };
    // SAFETY: deferred blocks are free blocks of ours.
    unsafe { g.drain_deferred() };
    let mut s = g.partial.get(class).copied().unwrap_or(ptr::null_mut());
    if s.is_null() {
        let d = g.new_descriptor().ok_or(libc::ENOMEM)?;
        let len = config::page_round(SLAB_BLOCKS * size).ok_or(libc::ENOMEM)?;
        let base = os::map(len)?;
        s = d;
        // SAFETY: a fresh descriptor of ours, written before use.
        unsafe {
            s.write(Slab {
                base,
                class,
                size,
                len,
                free_mask: u64::MAX,
                resident_mask: 0,
                next: ptr::null_mut(),
                prev: ptr::null_mut(),
            });
            g.partial_push(s);
        }
    }
    // SAFETY: `s` is a slab of ours with a free block (it is on the
    // partial list, or fresh).
    unsafe {
        let i = (*s).free_mask.trailing_zeros() as usize;
        let bit = 1u64 << i;
        (*s).free_mask &= !bit;
        if (*s).resident_mask & bit != 0 {
            (*s).resident_mask &= !bit;
            stats::cached_resident_sub(size);
            stats::cached_delta(-1);
        }
        if (*s).free_mask == 0 {
            g.partial_remove(s);
        }
        Ok(Block { addr: (*s).base + i * size, size, class: class as u32, slab: s as *mut c_void })
    }
}

/// Gives a block back to its slab, or to the deferred list when the slab
/// lock is busy on a nested call.
///
/// # Safety
/// `seg` must be a block of slab `slab`, in use, that nothing uses any
/// more.
pub unsafe fn free(seg: *mut StackSegment, slab: *mut c_void, nested: bool) {
    // SAFETY: the caller's promise.
    unsafe {
        match sync::acquire(&SLABS, nested) {
            Some(mut g) => g.free_block(slab as *mut Slab, seg as usize),
            None => pool::defer(seg),
        }
    }
}
