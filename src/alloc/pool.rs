//! The default allocator's process-wide pool: free blocks per size class
//! under one lock (blocks freed by exiting threads are reused by others),
//! kept as stacks of addresses in index pages of their own; the unused
//! ends of exited threads' chunks; cold blocks (every page given back
//! beyond the cache's high-water mark); and the deferred list: the
//! blocks whose free found everything busy (a push-only list the next
//! pool or slab user drains).

use super::{classes, meta};
use crate::layout::{StackSegment, HEADER, MAX_CLASSES, META_BYTES};
use crate::sync::{self, Guard, Lock};
use crate::{config, segmap, stats, sys};
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering::*};

/// What the pool lock guards.
pub struct Pool {
    /// Per size class, the free blocks: a stack of their addresses kept
    /// out of line, in index pages, so that a block given back to the OS
    /// (cold) keeps no page resident, not even its header's.
    free: [*mut IndexPage; MAX_CLASSES],
    /// Per size class, free blocks linked through their headers' `next`:
    /// only when no index page could be had (never made cold).
    overflow: [*mut StackSegment; MAX_CLASSES],
    /// Emptied index pages, linked through `next`.
    spare: *mut IndexPage,
    /// Index memory not handed out yet.
    index_next: usize,
    index_end: usize,
    /// The unused ends of exited threads' chunks, linked through their
    /// first word (`[next, end]` at the start of each range).
    remainders: usize,
}

/// One page of a class's stack of free block addresses.  An entry is the
/// block's address, with [`COLD_BIT`] set when its pages went back to the
/// OS.
#[repr(C)]
struct IndexPage {
    /// The page below (older entries), or the next spare page.
    next: *mut IndexPage,
    /// Entries in use.
    len: usize,
    // The entries follow, up to the end of the page.
}

/// Set in an index entry: the block's pages are back with the OS.
const COLD_BIT: usize = 1;

/// Pages of index memory mapped at a time.
const INDEX_MAP_PAGES: usize = 64;

/// Entries an index page holds.
fn index_capacity() -> usize {
    (config::page_size() - core::mem::size_of::<IndexPage>()) / 8
}

/// The address of entry `i` of an index page.
fn entry(page: *mut IndexPage, i: usize) -> *mut usize {
    (page as usize + core::mem::size_of::<IndexPage>() + 8 * i) as *mut usize
}

// SAFETY: the blocks, index pages and ranges belong to the pool, not to
// any thread; whoever holds the lock may use them.
unsafe impl Send for Pool {}

/// The pool (held around fork by the default allocator's handlers).
pub static POOL: Lock<Pool> = Lock::new(Pool {
    free: [ptr::null_mut(); MAX_CLASSES],
    overflow: [ptr::null_mut(); MAX_CLASSES],
    spare: ptr::null_mut(),
    index_next: 0,
    index_end: 0,
    remainders: 0,
});

/// Free blocks whose free found the pool and the thread cache busy.
static DEFERRED: AtomicPtr<StackSegment> = AtomicPtr::new(ptr::null_mut());

/// Takes the pool (see `sync::acquire` for `nested`), first draining the
/// deferred list into it.
pub fn lock(nested: bool) -> Option<Guard<'static, Pool>> {
    let mut g = sync::acquire(&POOL, nested)?;
    // SAFETY: deferred blocks are free blocks of ours; the pool is held.
    unsafe { drain_deferred(&mut g) };
    Some(g)
}

impl Pool {
    /// Takes a free block of class `class`, and whether it is cold (its
    /// pages were given back: none of it is resident, its header and meta
    /// read as zero).
    pub fn take(&mut self, class: usize) -> Option<(*mut StackSegment, bool)> {
        let top = *self.free.get(class)?;
        if !top.is_null() {
            // SAFETY: index pages are the pool's, and a page on a class's
            // stack holds `len` entries (empty pages leave the stack).
            unsafe {
                let len = (*top).len - 1;
                let e = *entry(top, len);
                (*top).len = len;
                if len == 0 {
                    self.free[class] = (*top).next;
                    (*top).next = self.spare;
                    self.spare = top;
                }
                let seg = (e & !COLD_BIT) as *mut StackSegment;
                unmark_cold(seg, classes::class_size(class));
                return Some((seg, e & COLD_BIT != 0));
            }
        }
        let seg = self.overflow[class];
        if seg.is_null() {
            return None;
        }
        // SAFETY: overflow blocks are free blocks of ours, headers resident.
        self.overflow[class] = unsafe { (*seg).next };
        Some((seg, false))
    }

    /// Puts a free block of `size` bytes into class `class`, making it
    /// cold (every page of it returned to the OS) if the cache is over its
    /// high-water mark.
    ///
    /// # Safety
    /// `seg` must be a free block of ours of that class, counted as cached
    /// resident.
    pub unsafe fn put(&mut self, seg: *mut StackSegment, class: usize, size: usize) {
        if class >= MAX_CLASSES {
            return;
        }
        let top = self.free[class];
        // SAFETY: index pages are the pool's; `seg` is the caller's.
        unsafe {
            let page = if !top.is_null() && (*top).len < index_capacity() { top } else { self.new_index_page(class) };
            if page.is_null() {
                (*seg).next = self.overflow[class];
                self.overflow[class] = seg;
                return;
            }
            let cold = stats::cached_resident() > config::cache_max() && make_cold(seg, size);
            *entry(page, (*page).len) = seg as usize | if cold { COLD_BIT } else { 0 };
            (*page).len += 1;
        }
    }

    /// An empty index page pushed on class `class`'s stack (NULL when no
    /// memory could be mapped).
    ///
    /// # Safety
    /// The pool's index pages must be intact.
    unsafe fn new_index_page(&mut self, class: usize) -> *mut IndexPage {
        let psize = config::page_size();
        let page = if !self.spare.is_null() {
            let p = self.spare;
            // SAFETY: spare pages are the pool's.
            self.spare = unsafe { (*p).next };
            p
        } else {
            if self.index_next + psize > self.index_end {
                let len = INDEX_MAP_PAGES * psize;
                let Ok(a) = sys::mmap_anon(len) else { return ptr::null_mut() };
                stats::os_mapped(len);
                self.index_next = a;
                self.index_end = a + len;
            }
            let p = self.index_next as *mut IndexPage;
            self.index_next += psize;
            p
        };
        // SAFETY: a page of index memory nothing else uses.
        unsafe {
            (*page).next = self.free[class];
            (*page).len = 0;
        }
        self.free[class] = page;
        page
    }

    /// Leaves `[start, end)`, the unused end of a chunk, for other threads.
    ///
    /// # Safety
    /// The range must be unused chunk memory of ours, 16-byte aligned.
    pub unsafe fn put_remainder(&mut self, start: usize, end: usize) {
        // SAFETY: the caller's promise: the first two words are ours.
        unsafe {
            *(start as *mut usize) = self.remainders;
            *((start + 8) as *mut usize) = end;
        }
        self.remainders = start;
    }

    /// A remainder with room for one `size` block placed by `place` (the
    /// block's start in a range that starts at its argument), as (the
    /// range's start, the block's start, the range's end).
    pub fn take_remainder(&mut self, size: usize, place: impl Fn(usize) -> usize) -> Option<(usize, usize, usize)> {
        let mut prev: *mut usize = &mut self.remainders;
        let mut r = self.remainders;
        while r != 0 {
            // SAFETY: every remainder starts with its [next, end] words
            // (put_remainder), and remainders are the pool's.
            unsafe {
                let next = *(r as *const usize);
                let end = *((r + 8) as *const usize);
                let start = place(r);
                if start + size <= end {
                    *prev = next;
                    return Some((r, start, end));
                }
                prev = r as *mut usize;
                r = next;
            }
        }
        None
    }
}

/// Returns every whole page of a free block to the OS (its header and
/// meta included: the pool keeps its address out of line); true when it
/// did, and the block no longer counts as cached resident.
///
/// A packed block (see `default::pack`) shares its header's page with the
/// top of the block below it, and its top page with the header of the
/// block above it.  It marks itself cold in its header and its meta, and
/// gives a shared page back too when the neighbour on that page is marked
/// cold: neither holds anything live there, and both are in the pool,
/// whose lock the caller holds, so neither can be handed out meanwhile.
///
/// # Safety
/// `seg` must be a free block of ours of `size` bytes that nothing reads
/// until it is handed out again; the pool must be held.
unsafe fn make_cold(seg: *mut StackSegment, size: usize) -> bool {
    let page = config::page_size();
    let (lo, hi) = (seg as usize, seg as usize + size);
    let mut start = (lo + page - 1) & !(page - 1);
    let mut end = hi & !(page - 1);
    // SAFETY: the block's header and meta are the caller's; a neighbour's
    // is read only inside memory the segment map records as ours, and a
    // page is dropped only when both blocks on it are cold pool blocks.
    unsafe {
        mark_cold_header(seg);
        *(meta::at(seg, size) as *mut usize) = cold_meta_mark(hi - META_BYTES);
        if !lo.is_multiple_of(page) && *((lo - META_BYTES) as *const usize) == cold_meta_mark(lo - META_BYTES) {
            start = lo & !(page - 1);
        }
        if !hi.is_multiple_of(page)
            && segmap::contains_range(hi, HEADER)
            && (*(hi as *const StackSegment)).free_dynamic_allocation as usize == cold_header_mark(hi)
        {
            end = (hi + page - 1) & !(page - 1);
        }
    }
    // SAFETY: the caller's promise: nothing relies on the block's contents,
    // nor on a cold neighbour's.
    if end > start && unsafe { sys::madvise_dontneed(start, end - start) }.is_ok() {
        stats::cached_resident_sub(size);
        return true;
    }
    false
}

/// Clears the cold marks of a block leaving the pool, while the pool is
/// still held: a neighbour made cold after the lock is released must not
/// read them and give back the page its new owner is writing its header
/// or its first frames into (the owner writes a live header and meta only
/// after the lock is released).  A cold block's two pages fault back in
/// here, as they would a moment later anyway.
///
/// # Safety
/// `seg` must be a free block of ours of `size` bytes, just taken from
/// the pool, which must be held.
unsafe fn unmark_cold(seg: *mut StackSegment, size: usize) {
    // SAFETY: the caller's promise: the block's header and meta are ours.
    unsafe {
        (*seg).free_dynamic_allocation = ptr::null_mut();
        *(meta::at(seg, size) as *mut usize) = 0;
    }
}

/// What a cold block's header holds in `free_dynamic_allocation` (which
/// nothing else reads while the block is free), at header address `a`.
fn cold_header_mark(a: usize) -> usize {
    0x434f_4c44_4845_4144 ^ a
}

/// Marks the header at `seg` cold (a cold block's, or the unused end of a
/// chunk).
///
/// # Safety
/// `seg` must be a cold block of ours or unused memory of ours with room
/// for a header.
pub unsafe fn mark_cold_header(seg: *mut StackSegment) {
    // SAFETY: the caller's promise.
    unsafe { (*seg).free_dynamic_allocation = cold_header_mark(seg as usize) as *mut c_void };
}

/// What a cold block's meta holds in its magic word, at meta address `m`.
pub fn cold_meta_mark(m: usize) -> usize {
    0x434f_4c44_4d45_5441 ^ m
}

/// Moves the deferred blocks that belong to no slab into the pool; the
/// others stay deferred for the slab path.
///
/// # Safety
/// The deferred blocks must be free blocks of ours.
unsafe fn drain_deferred(pool: &mut Pool) {
    let mut s = DEFERRED.swap(ptr::null_mut(), AcqRel);
    while !s.is_null() {
        // SAFETY: a free block of ours: header and meta mapped.
        unsafe {
            let next = (*s).next;
            let m = meta::at(s, (*s).size + HEADER);
            if (*m).slab.is_null() {
                let size = (*m).block_size;
                stats::cached_resident_add(size);
                pool.put(s, (*m).class as usize, size);
            } else {
                defer(s);
            }
            s = next;
        }
    }
}

/// Leaves a free block for the next pool or slab user (safe from any
/// context: a lock-free push).
///
/// # Safety
/// `seg` must be a free block of ours that nothing else reaches.
pub unsafe fn defer(seg: *mut StackSegment) {
    // SAFETY: a lone block, linked through its header's `next`.
    unsafe { sync::push_chain(&DEFERRED, seg, seg, |s| ptr::addr_of_mut!((*s).next)) }
}

/// Takes the whole deferred list (for the slab path).
pub fn take_deferred() -> *mut StackSegment {
    DEFERRED.swap(ptr::null_mut(), AcqRel)
}
