//! The default allocator: blocks carved from 8 MiB chunks in size
//! classes, cached per thread (no system call on the warm path), pooled
//! process-wide, slabs below a page.  Chunks are never unmapped: a foreign
//! libgcc copy may have unmapped a block inside one, and the range may
//! since belong to someone else; adjacent chunks merge into one kernel
//! VMA, so a million segments take a handful of VMAs.
//!
//! Concurrency and signals: the per-thread cache is only touched by its
//! thread, and a `busy` flag keeps a signal handler that allocates while
//! the thread is inside the allocator away from it (such a "nested"
//! caller keeps off the cache and the bump region, and only tries the
//! locks); frees that find everything busy go onto the pool's deferred
//! list.

use super::meta::{self, Block, DEDICATED};
use super::{classes, guard, os, pool, slab};
use crate::diag::Msg;
use crate::layout::{StackSegment, ThreadBlock, ThreadCounters, HEADER, MAX_CLASSES, META_BYTES};
use crate::thread_state::busy;
use crate::{asan, config, copies, stats, sync, thread_state};
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering::*};

/// Chunk size of the default allocator.
const CHUNK: usize = 8 << 20;

/// Largest chunk mapped for many blocks of a big class.
const BIG_CHUNK: usize = 64 << 20;

/// The length of a new chunk whose first block has `size` bytes: room for
/// a whole number of such blocks (at least 4; 64 of a big class, up to
/// [`BIG_CHUNK`]) and the page a packed first block's header starts in.
/// Every chunk costs one resident page that no neighbour's top shares
/// (its first header's), so big blocks get big chunks; untouched pages
/// cost nothing.
fn chunk_len(size: usize) -> Option<usize> {
    let want = CHUNK.max(size.saturating_mul(64).min(BIG_CHUNK)).max(size.saturating_mul(4));
    config::page_round((want / size).checked_mul(size)?.checked_add(config::page_size())?)
}

/// Bytes a thread keeps in its own cache before using the pool.
const THREAD_CACHE_MAX: usize = 8 << 20;

/// Takes a free block of class `class` (`size` bytes) from the calling
/// thread's cache, counting it out of the cache (in the thread's own
/// counters: see `layout::ThreadCounters`).
///
/// # Safety
/// `tb` must be the calling thread's block, its busy flag set by a caller
/// that was not nested.
#[inline]
unsafe fn cache_pop(tb: *mut ThreadBlock, class: usize, size: usize) -> Option<*mut StackSegment> {
    // SAFETY: the caller's promise; cached blocks are free blocks of ours
    // of their class, linked through `next`.
    unsafe {
        let head = (*tb).cache.get(class)?;
        let seg = head.load(Relaxed);
        if seg.is_null() {
            return None;
        }
        head.store((*seg).next, Relaxed);
        (*tb).cache_bytes -= size;
        ThreadCounters::bump(&(*tb).counters.cached, u64::MAX);
        Some(seg)
    }
}

/// Puts a free block of class `class` (`size` bytes, not a slab's) into
/// the calling thread's cache, counting it there, if the thread is listed
/// (`thread_state`: its counts are summed and kept), the class is cached
/// there and there is room; false (nothing done) otherwise.
///
/// # Safety
/// As [`cache_pop`]; `seg` a free block of ours of that class.
#[inline]
unsafe fn cache_push(tb: *mut ThreadBlock, seg: *mut StackSegment, class: usize, size: usize) -> bool {
    // SAFETY: the caller's promise.
    unsafe {
        if (*tb).cache_bytes + size > THREAD_CACHE_MAX || (*tb).listed == 0 {
            return false;
        }
        let Some(head) = (*tb).cache.get(class) else { return false };
        (*seg).next = head.load(Relaxed);
        head.store(seg, Relaxed);
        (*tb).cache_bytes += size;
        ThreadCounters::bump(&(*tb).counters.cached, 1);
        true
    }
}

/// Takes a block of `total` bytes (16-byte multiple) from the calling
/// thread's cache, if it holds one of that class: the warm path, which
/// touches nothing shared.  None: use [`alloc`].
#[inline]
pub fn alloc_cached(total: usize) -> Option<Block> {
    let (class, size) = classes::class_for(total)?;
    if size < config::page_size() {
        return None;
    }
    // SAFETY: `tb` is the calling thread's block, busy for us.
    let seg = busy(|tb, nested| unsafe {
        if nested {
            return None;
        }
        let seg = cache_pop(tb, class, size)?;
        // Handed out as a segment (the caller makes it one).
        ThreadCounters::bump(&(*tb).counters.allocated, 1);
        Some(seg)
    })?;
    Some(Block { addr: seg as usize, size, class: class as u32, slab: ptr::null_mut() })
}

/// Gives a segment's block back to the calling thread's cache if there is
/// room for it there (the warm path), counting the segment freed; false
/// (nothing done) otherwise.  Marks it free.
///
/// # Safety
/// As [`free`].
#[inline]
pub unsafe fn free_cached(seg: *mut StackSegment, size: usize, class: u32) -> bool {
    // SAFETY: the caller's promise; `tb` is the calling thread's block.
    busy(|tb, nested| unsafe {
        let m = meta::at(seg, size);
        if nested || class == DEDICATED || !(*m).slab.is_null() || !cache_push(tb, seg, class as usize, size) {
            return false;
        }
        (*m).magic = meta::free_magic(seg);
        ThreadCounters::bump(&(*tb).counters.freed, 1);
        true
    })
}

/// Takes a block of `total` bytes (16-byte multiple).
pub fn alloc(total: usize) -> Result<Block, i32> {
    // SAFETY: `tb` is the calling thread's block, busy for us.
    busy(|tb, nested| unsafe { alloc_busy(tb, total, nested) })
}

/// # Safety
/// `tb` must be the calling thread's block, its busy flag set.
unsafe fn alloc_busy(tb: *mut ThreadBlock, total: usize, nested: bool) -> Result<Block, i32> {
    // Under AddressSanitizer, segments over 1 MiB are mapped on their own
    // and unmapped when freed, as before they had classes: reusing them
    // made ASan report an overflow inside its own sigaltstack check when a
    // thread that had exited deep was followed by another
    // (tests/asan t_thread_exit_deep); the cause is not understood yet.
    let Some((class, size)) = classes::class_for(total).filter(|&(_, s)| s <= 1 << 20 || !asan::active()) else {
        let len = config::page_round(total).ok_or(libc::ENOMEM)?;
        let addr = os::map(len)?;
        return Ok(Block { addr, size: len, class: DEDICATED, slab: ptr::null_mut() });
    };
    if size < config::page_size() {
        return slab::alloc(class, size, nested);
    }
    let block = |addr| Block { addr, size, class: class as u32, slab: ptr::null_mut() };
    // SAFETY: the thread's own block (the caller's promise); cached and
    // pooled blocks are free blocks of ours of this class.
    unsafe {
        // 1. This thread's cache.
        if !nested {
            if let Some(seg) = cache_pop(tb, class, size) {
                return Ok(block(seg as usize));
            }
        }
        // 2. The pool.
        if let Some(mut p) = pool::lock(nested) {
            if let Some((seg, cold)) = p.take(class) {
                drop(p);
                // A cold block's pages are already back with the OS.
                if !cold {
                    stats::cached_resident_sub(size);
                }
                stats::cached_delta(-1);
                return Ok(block(seg as usize));
            }
        }
        // 3. Carve from this thread's chunk (a nested caller takes a chunk
        //    of its own rather than racing the interrupted carve), or from
        //    what an exited thread left of its own, or from a new chunk.
        //    With guards on, each block carved in a chunk has one below
        //    it, made here; a new chunk's first block has the chunk's.
        let packed = pack();
        if !nested {
            let start = place((*tb).bump_ptr, size, packed);
            if (*tb).bump_ptr != 0 && start + size <= (*tb).bump_end {
                guard_below(start);
                (*tb).bump_ptr = start + size;
                return Ok(block(start));
            }
            let remainder = pool::lock(false).and_then(|mut p| p.take_remainder(size, |r| place(r, size, packed)));
            if let Some((range, start, end)) = remainder {
                guard_below(start);
                if packed {
                    // Only the remainder's own padding: the bytes below it
                    // may be the top of a live block of the exited thread.
                    fence_below(start, range);
                    fence_above((*tb).bump_ptr, (*tb).bump_end);
                }
                (*tb).bump_ptr = start + size;
                (*tb).bump_end = end;
                return Ok(block(start));
            }
        }
        let len = chunk_len(size).ok_or(libc::ENOMEM)?;
        let chunk = os::map(len)?;
        let start = if guard::on() { chunk } else { place(chunk, size, packed) };
        if packed {
            fence_below(start, chunk);
        }
        if !nested {
            if packed {
                fence_above((*tb).bump_ptr, (*tb).bump_end);
            }
            (*tb).bump_ptr = start + size;
            (*tb).bump_end = chunk + len;
        }
        // (A nested caller leaves the rest of its chunk to no one: rare, a
        // signal handler splitting while its thread allocates.)
        Ok(block(start))
    }
}

/// Whether blocks of a page or more are packed: each placed so that its
/// header lies in the last [`HEADER_SLOT`] bytes of a page, the page that
/// holds the top of the block carved before it.  An idle coroutine then
/// keeps one page resident (its top page, which also holds the next
/// block's header) instead of two.  Only when no libgcc runtime copy was
/// loaded at start-up (such a copy frees segments with `munmap`, which
/// needs them page-aligned: see copies.rs), and not under
/// AddressSanitizer (whose own stack bookkeeping then reports frames on
/// a packed segment as overflows: tests/asan).
/// Not with guard pages either: a guard needs a whole page below the
/// block.
#[inline]
fn pack() -> bool {
    copies::alone() && !asan::active() && !guard::on()
}

/// With guards on, makes the page below a block placed at `start` (by
/// [`place`], which left it free) a guard.
fn guard_below(start: usize) {
    if guard::on() {
        guard::install(start - config::page_size());
    }
}

/// Where a packed block's header starts, below a page boundary.
pub(crate) const HEADER_SLOT: usize = 64;

/// The first address at or above `p` where a block of `size` bytes goes:
/// 16-byte aligned below a page (slabs place those), else page-aligned
/// (with guards on, a page above the first boundary, leaving the page
/// for the guard), or (packed) [`HEADER_SLOT`] bytes below a page
/// boundary.
fn place(p: usize, size: usize, packed: bool) -> usize {
    let page = config::page_size();
    if size < page {
        (p + 15) & !15
    } else if guard::on() {
        ((p + page - 1) & !(page - 1)) + page
    } else if packed {
        ((p + HEADER_SLOT + page - 1) & !(page - 1)) - HEADER_SLOT
    } else {
        (p + page - 1) & !(page - 1)
    }
}

/// Marks the unused bytes below a packed block placed at `start` (the
/// padding at the start of a chunk or remainder, from `floor`) as a cold
/// block's top would be marked, so that the block's header page can go
/// back to the OS when the block goes cold (`pool::make_cold`): only when
/// the padding fills that page below `start`, so that the page holds
/// nothing else (a remainder may start in the middle of the page that
/// holds the top of a live block of the thread that left it).
///
/// # Safety
/// `[floor, start)` must be unused memory of ours.
unsafe fn fence_below(start: usize, floor: usize) {
    let page = config::page_size();
    let m = start.wrapping_sub(META_BYTES);
    if floor <= start & !(page - 1) && m >= floor && !start.is_multiple_of(page) {
        // SAFETY: the caller's promise; 8-byte aligned.
        unsafe { *(m as *mut usize) = pool::cold_meta_mark(m) };
    }
}

/// Marks the unused end `[p, end)` of a chunk a thread leaves for a new
/// one as a cold block's header would be marked, so that the top page of
/// the block below it can go back to the OS when that block goes cold.
///
/// # Safety
/// `[p, end)` must be the calling thread's bump region (or `p` 0).
unsafe fn fence_above(p: usize, end: usize) {
    if p != 0 && end >= p + HEADER && p.is_multiple_of(16) {
        // SAFETY: the caller's promise: unused memory of ours, no block
        // will be carved there.
        unsafe { pool::mark_cold_header(p as *mut StackSegment) };
    }
}

/// Gives a block back.
///
/// # Safety
/// `seg` must be a block of `size` bytes and class `class` this allocator
/// gave, that nothing uses any more, its meta intact.
pub unsafe fn free(seg: *mut StackSegment, size: usize, class: u32) {
    // SAFETY: the caller's promise; `tb` is the calling thread's block.
    busy(|tb, nested| unsafe { free_busy(tb, seg, size, class, nested) })
}

/// # Safety
/// As [`free`]; `tb` the calling thread's block, its busy flag set.
unsafe fn free_busy(tb: *mut ThreadBlock, seg: *mut StackSegment, size: usize, class: u32, nested: bool) {
    // SAFETY: the caller's promise.
    unsafe {
        if class == DEDICATED {
            os::unmap(seg as usize, size);
            return;
        }
        let class = class as usize;
        let s = (*meta::at(seg, size)).slab;
        if !s.is_null() {
            stats::cached_delta(1);
            slab::free(seg, s, nested);
            return;
        }
        // (The cache counts what it takes in the thread's own counters.)
        if !nested && cache_push(tb, seg, class, size) {
            return;
        }
        stats::cached_delta(1);
        stats::cached_resident_add(size);
        match pool::lock(nested) {
            Some(mut p) => p.put(seg, class, size),
            None => {
                stats::cached_resident_sub(size);
                pool::defer(seg);
            }
        }
    }
}

/// Moves the calling thread's cache into the pool and the rest of its
/// chunk onto the remainder list (thread exit).
pub fn flush_thread_cache() {
    busy(|tb, _| {
        let Some(mut p) = pool::lock(false) else { return };
        // SAFETY: the thread's own block; its cached blocks are free
        // blocks of ours of their classes; the bump region is unused
        // chunk memory of ours.
        unsafe {
            let (start, end) = (((*tb).bump_ptr + 15) & !15, (*tb).bump_end);
            if (*tb).bump_ptr != 0 && end > start && end - start >= 1024 {
                p.put_remainder(start, end);
            }
            (*tb).bump_ptr = 0;
            (*tb).bump_end = 0;
            // The cache's blocks now count in the process totals (before
            // `put` may make some cold, which counts them out).
            stats::cached_delta((*tb).counters.cached.swap(0, Relaxed) as i64);
            stats::cached_resident_add((*tb).cache_bytes);
            for c in 0..MAX_CLASSES {
                let Some(head) = (*tb).cache.get(c) else { break };
                let mut s = head.swap(ptr::null_mut(), Relaxed);
                let size = classes::class_size(c);
                while !s.is_null() {
                    let next = (*s).next;
                    p.put(s, c, size);
                    s = next;
                }
            }
            (*tb).cache_bytes = 0;
        }
    })
}

// fork(): the child has only the forking thread, so a lock another thread
// held at that moment would stay held forever.  The handlers take the
// pool's, the slabs' and the thread list's locks around the fork (no code
// path holds one while taking another) and release them on both sides.
extern "C" fn fork_prepare() {
    sync::hold(&pool::POOL);
    sync::hold(&slab::SLABS);
    thread_state::hold_list();
}

extern "C" fn fork_release() {
    // SAFETY: fork_prepare holds all three, with no guard alive.
    unsafe {
        thread_state::release_held_list();
        sync::release_held(&slab::SLABS);
        sync::release_held(&pool::POOL);
    }
}

static FORK_HANDLERS: AtomicBool = AtomicBool::new(false);

/// Registers the fork handlers (once per process, at start-up).
pub fn register_fork_handlers() {
    if FORK_HANDLERS.swap(true, AcqRel) {
        return;
    }
    // SAFETY: the handlers are plain functions of this library that only
    // take and release the two locks.
    let err = unsafe { libc::pthread_atfork(Some(fork_prepare), Some(fork_release), Some(fork_release)) };
    if err != 0 {
        Msg::new()
            .s("pthread_atfork failed (errno ")
            .dec(err as u64)
            .s("); fork() while other threads allocate stacks may hang the child")
            .emit();
    }
}
