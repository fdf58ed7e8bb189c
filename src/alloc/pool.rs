//! The default allocator's process-wide pool: free blocks per size class
//! under one lock (blocks freed by exiting threads are reused by others),
//! the unused ends of exited threads' chunks, cold blocks (pages given
//! back beyond the cache's high-water mark), and the deferred list: the
//! blocks whose free found everything busy (a push-only list the next
//! pool or slab user drains).

use super::meta;
use crate::layout::{StackSegment, HEADER, MAX_CLASSES};
use crate::sync::{self, Guard, Lock};
use crate::{config, stats, sys};
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering::*};

/// What the pool lock guards.
pub struct Pool {
    /// Per size class, a LIFO of free blocks linked through `next`.
    free: [*mut StackSegment; MAX_CLASSES],
    /// The unused ends of exited threads' chunks, linked through their
    /// first word (`[next, end]` at the start of each range).
    remainders: usize,
}

// SAFETY: the blocks and ranges belong to the pool, not to any thread;
// whoever holds the lock may use them.
unsafe impl Send for Pool {}

/// The pool (held around fork by the default allocator's handlers).
pub static POOL: Lock<Pool> = Lock::new(Pool { free: [ptr::null_mut(); MAX_CLASSES], remainders: 0 });

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
    /// Takes a free block of class `class`.
    pub fn take(&mut self, class: usize) -> Option<*mut StackSegment> {
        let head = self.free.get_mut(class)?;
        if head.is_null() {
            return None;
        }
        let seg = *head;
        // SAFETY: blocks in the pool are free blocks of ours, headers mapped.
        *head = unsafe { (*seg).next };
        Some(seg)
    }

    /// Puts a free block of `size` bytes into class `class`, making it
    /// cold (pages but the first returned to the OS) if the cache is over
    /// its high-water mark.
    ///
    /// # Safety
    /// `seg` must be a free block of ours of that class, counted as cached.
    pub unsafe fn put(&mut self, seg: *mut StackSegment, class: usize, size: usize) {
        // SAFETY: the caller's promise; its header is mapped.
        unsafe {
            if !is_cold(seg) && stats::cached_resident() > config::cache_max() {
                make_cold(seg, size);
            }
            if let Some(head) = self.free.get_mut(class) {
                (*seg).next = *head;
                *head = seg;
            }
        }
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

    /// A remainder with room for one `size` block at `align`, as
    /// (start, end).
    pub fn take_remainder(&mut self, size: usize, align: usize) -> Option<(usize, usize)> {
        let mut prev: *mut usize = &mut self.remainders;
        let mut r = self.remainders;
        while r != 0 {
            // SAFETY: every remainder starts with its [next, end] words
            // (put_remainder), and remainders are the pool's.
            unsafe {
                let next = *(r as *const usize);
                let end = *((r + 8) as *const usize);
                let start = (r + align - 1) & !(align - 1);
                if start + size <= end {
                    *prev = next;
                    return Some((start, end));
                }
                prev = r as *mut usize;
                r = next;
            }
        }
        None
    }
}

/// Marks a free block whose pages (but the header's) went back to the OS;
/// kept in its header's `free_dynamic_allocation`, which nothing reads
/// while the block is free (its meta page is gone).
const COLD: usize = 1;

/// Whether a free block of ours gave its pages back.
///
/// # Safety
/// `seg` must be a block of ours (its header mapped).
pub unsafe fn is_cold(seg: *mut StackSegment) -> bool {
    // SAFETY: the caller's promise.
    unsafe { (*seg).free_dynamic_allocation as usize == COLD }
}

/// Returns all but the first page of a cached block to the OS.
///
/// # Safety
/// `seg` must be a free block of ours of `size` bytes.
unsafe fn make_cold(seg: *mut StackSegment, size: usize) {
    let page = config::page_size();
    // SAFETY: the block is free: nothing relies on its contents but the
    // header, which stays.
    unsafe {
        if size >= 2 * page
            && (seg as usize).is_multiple_of(page)
            && sys::madvise_dontneed(seg as usize + page, size - page).is_ok()
        {
            stats::cached_resident_sub(size);
            (*seg).free_dynamic_allocation = COLD as *mut c_void;
        }
    }
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
