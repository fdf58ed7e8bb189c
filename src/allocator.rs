//! Where segments come from: the registered allocator (a C vtable), or
//! the default one.
//!
//! Every segment is one block `[header | stack ... | meta]`.  The 56-byte
//! libgcc header is at the low end; the last `META_BYTES` hold
//! [`SegmentMeta`], which names the allocator that gave the block, so that
//! the block goes back to it even after another allocator is registered.
//! A segment whose meta does not carry our magic was made by someone else
//! (a libgcc runtime embedded in a shared library, see docs/x86_64.md
//! section 8) and is freed the way libgcc frees: `munmap(header, size+56)`.
//!
//! The default allocator carves blocks from 8 MiB chunks, in size classes
//! (sub-page classes only when a small minimum segment size is set),
//! caches free blocks per thread (no system call on the warm path) and in
//! a process-wide pool (blocks freed by exiting threads are reused by
//! others), and gives the memory of cached blocks beyond a high-water mark
//! back to the OS with `madvise(MADV_DONTNEED)`.  Chunks are never
//! unmapped: a foreign libgcc copy may have unmapped a block inside one,
//! and the range may since belong to someone else.  Adjacent chunks merge
//! into one kernel VMA, so a million segments take a handful of VMAs.
//!
//! Concurrency and signals: the per-thread cache is only touched by its
//! thread, and a `busy` flag keeps a signal handler that allocates while
//! the thread is inside the allocator away from it; the pool is guarded by
//! a try-lock that a nested (same-thread) caller never waits for.  Frees
//! that find both busy go onto a push-only list that the next pool user
//! drains.  Everything here runs on the thread's runtime stack (see
//! `runtime_stack`), never on a nearly exhausted segment.

use crate::config::{self, SplitstackResult};
use crate::diag::Msg;
use crate::segment::{StackSegment, HEADER};
use crate::thread_state::{self, ThreadBlock, MAX_CLASSES, RT_LEVELS};
use crate::{asan, segmap, stats, sys, valgrind};
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{compiler_fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering::*};

/// Bytes at the top of each block holding [`SegmentMeta`] (the assembly's
/// SS_SEG_META).
pub(crate) const META_BYTES: usize = crate::arch::current::SS_SEG_META;
const MAGIC: usize = 0x5350_4c54_5345_474d;
/// The meta magic of a free (cached) default-allocator block.
const MAGIC_FREE: usize = 0x5350_4c54_4652_4545;
/// Class index of blocks mapped on their own.
const DEDICATED: u32 = u32::MAX;
/// Chunk size of the default allocator.
const CHUNK: usize = 8 << 20;
/// Bytes a thread keeps in its own cache before using the pool.
const THREAD_CACHE_MAX: usize = 2 << 20;
/// Runtime stack per thread (plus a guard page).
pub(crate) const RUNTIME_STACK: usize = 64 << 10;

/// What the allocator records about a block (at its top).
#[repr(C)]
pub struct SegmentMeta {
    magic: usize,
    origin: *const AllocatorRecord,
    block_size: usize,
    class: u32,
    depth: u32,
    /// The slab of a sub-page block (NULL for other blocks).
    slab: *mut Slab,
    /// valgrind's handle for the segment's stack (0 when not running
    /// under valgrind; see valgrind.rs).
    vg_stack: usize,
}

const _: () = assert!(core::mem::size_of::<SegmentMeta>() <= META_BYTES);

/// Current version of [`SplitstackAllocator`].
pub const SPLITSTACK_ALLOCATOR_VERSION: u32 = 1;

/// A stack allocator the program registers with
/// `splitstack_set_allocator`.  The runtime copies the struct; the
/// callbacks and `user` must stay valid as long as any segment they gave
/// is alive.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SplitstackAllocator {
    /// `SPLITSTACK_ALLOCATOR_VERSION`.
    pub version: u32,
    /// Reserved; must be 0.
    pub flags: u32,
    /// Returns `size` bytes aligned to 16, or NULL.  `size` is a multiple
    /// of 16.
    pub allocate: Option<unsafe extern "C" fn(user: *mut c_void, size: usize) -> *mut c_void>,
    /// Takes back a block `allocate` returned, with the same size.
    pub free: Option<unsafe extern "C" fn(user: *mut c_void, block: *mut c_void, size: usize)>,
    /// Passed to both callbacks.
    pub user: *mut c_void,
}

/// A registered allocator; records are never freed, so a segment can
/// always find the allocator that gave it.
pub struct AllocatorRecord {
    a: SplitstackAllocator,
}

const MAX_ALLOCATORS: usize = 64;

struct Records(UnsafeCell<[AllocatorRecord; MAX_ALLOCATORS]>);
// SAFETY: a record is written once, by the thread that reserved its index,
// before its address is published (Release); afterwards it is only read.
unsafe impl Sync for Records {}

const EMPTY_RECORD: AllocatorRecord = AllocatorRecord {
    a: SplitstackAllocator { version: 0, flags: 0, allocate: None, free: None, user: ptr::null_mut() },
};
static RECORDS: Records = Records(UnsafeCell::new([EMPTY_RECORD; MAX_ALLOCATORS]));
static RECORD_COUNT: AtomicUsize = AtomicUsize::new(0);
static CURRENT: AtomicPtr<AllocatorRecord> = AtomicPtr::new(ptr::null_mut());

/// `splitstack_set_allocator`: registers `a` (copied) for every segment
/// allocated from now on; NULL restores the default.
pub fn register(a: *const SplitstackAllocator) -> SplitstackResult {
    if a.is_null() {
        CURRENT.store(ptr::null_mut(), Release);
        return SplitstackResult::SplitstackOk;
    }
    // SAFETY: the caller passes a readable struct (checked non-NULL).
    let a = unsafe { a.read() };
    if a.version != SPLITSTACK_ALLOCATOR_VERSION {
        Msg::new().s("splitstack_set_allocator: unknown version ").dec(a.version as u64).s(" (this library knows 1)").emit();
        return SplitstackResult::SplitstackBadVersion;
    }
    if a.allocate.is_none() || a.free.is_none() {
        Msg::new().s("splitstack_set_allocator: allocate and free must both be set").emit();
        return SplitstackResult::SplitstackNullArgument;
    }
    if a.flags != 0 {
        Msg::new().s("splitstack_set_allocator: flags must be 0").emit();
        return SplitstackResult::SplitstackInvalidValue;
    }
    let idx = RECORD_COUNT.fetch_add(1, AcqRel);
    if idx >= MAX_ALLOCATORS {
        RECORD_COUNT.fetch_sub(1, AcqRel);
        Msg::new().s("splitstack_set_allocator: more than 64 allocators registered in this process").emit();
        return SplitstackResult::SplitstackTooManyAllocators;
    }
    // SAFETY: index `idx` was reserved by the fetch_add above for us alone.
    let rec = unsafe {
        let r = (RECORDS.0.get() as *mut AllocatorRecord).add(idx);
        r.write(AllocatorRecord { a });
        r
    };
    CURRENT.store(rec, Release);
    SplitstackResult::SplitstackOk
}

// ---------------------------------------------------------------------
// Size classes
// ---------------------------------------------------------------------

struct Classes {
    n: AtomicUsize,
    size: [AtomicUsize; MAX_CLASSES],
}

static CLASSES: Classes = Classes { n: AtomicUsize::new(0), size: [const { AtomicUsize::new(0) }; MAX_CLASSES] };

/// Class sizes: 1 KiB to 4 KiB in 128-byte steps and then doubling up to
/// the page (sub-page classes: slabs), whole pages up to 16 pages, then
/// doubling up to 1 MiB (or 64 pages).  At most 25 + 4 + 16 + 6 classes
/// for pages of 4 to 64 KiB.  Idempotent (threads racing here store the
/// same values; `n` is published last).
///
/// Runs on the first segment allocation, i.e. inside the `__morestack`
/// of whatever function splits first, whose vector arguments are live:
/// the sizes go straight into `CLASSES`, with no local array, whose
/// zeroing compiled to a call of libc's `memset` (AVX2 in glibc: it
/// zeroed the upper halves of the ymm/zmm argument registers).
fn init_classes() {
    if CLASSES.n.load(Acquire) != 0 {
        return;
    }
    let page = config::page_size();
    let mut n = 0;
    let mut last = 0;
    let mut push = |v: usize, n: &mut usize| {
        if *n < MAX_CLASSES && (*n == 0 || last < v) {
            CLASSES.size[*n].store(v, Relaxed);
            last = v;
            *n += 1;
        }
    };
    let mut s = 1024;
    while s < page && s <= 4096 {
        push(s, &mut n);
        s += 128;
    }
    let mut s = 8192;
    while s < page {
        push(s, &mut n);
        s *= 2;
    }
    for p in 1..=16 {
        push(p * page, &mut n);
    }
    let limit = (1usize << 20).max(64 * page);
    let mut s = 32 * page;
    while s <= limit {
        push(s, &mut n);
        s *= 2;
    }
    CLASSES.n.store(n, Release);
}

fn class_for(total: usize) -> Option<(usize, usize)> {
    init_classes();
    let n = CLASSES.n.load(Acquire);
    for i in 0..n {
        let s = CLASSES.size[i].load(Relaxed);
        if s >= total {
            return Some((i, s));
        }
    }
    None
}

fn class_size(c: usize) -> usize {
    CLASSES.size.get(c).map(|s| s.load(Relaxed)).unwrap_or(0)
}

// ---------------------------------------------------------------------
// Process-wide pool
// ---------------------------------------------------------------------

static POOL_LOCK: AtomicBool = AtomicBool::new(false);
struct Pool(UnsafeCell<[*mut StackSegment; MAX_CLASSES]>);
// SAFETY: only touched with POOL_LOCK held.
unsafe impl Sync for Pool {}
static POOL: Pool = Pool(UnsafeCell::new([ptr::null_mut(); MAX_CLASSES]));
/// Free blocks whose free found the pool and the thread cache busy.
static DEFERRED: AtomicPtr<StackSegment> = AtomicPtr::new(ptr::null_mut());
/// Resident bytes of cached blocks (thread caches and pool), process-wide.
static CACHED_RESIDENT: AtomicUsize = AtomicUsize::new(0);

/// Takes a spin lock.  A nested caller (a signal handler on a thread that
/// is inside the allocator, which may hold the lock itself) only tries
/// once; others wait, yielding the CPU now and then (the holder is another
/// thread, inside a few dozen instructions).
fn spin_lock(lock: &AtomicBool, nested: bool) -> bool {
    let mut spins = 0u32;
    loop {
        if lock.compare_exchange_weak(false, true, Acquire, Relaxed).is_ok() {
            return true;
        }
        if nested {
            return false;
        }
        spins = spins.wrapping_add(1);
        if spins % 1024 == 0 {
            sys::sched_yield();
        } else {
            core::hint::spin_loop();
        }
    }
}

fn pool_lock(nested: bool) -> bool {
    spin_lock(&POOL_LOCK, nested)
}

// fork(): the child has only the forking thread, so a lock another thread
// held at that moment would stay held forever.  The handlers take both
// locks around the fork (no code path holds one while taking the other)
// and release them on both sides.
extern "C" fn fork_prepare() {
    pool_lock(false);
    SLAB_LOCK.lock(false);
}

extern "C" fn fork_parent() {
    SLAB_LOCK.unlock();
    pool_unlock();
}

extern "C" fn fork_child() {
    SLAB_LOCK.unlock();
    pool_unlock();
}

static FORK_HANDLERS: AtomicBool = AtomicBool::new(false);

/// Registers the fork handlers (once per process, at start-up).
pub fn register_fork_handlers() {
    if FORK_HANDLERS.swap(true, AcqRel) {
        return;
    }
    // SAFETY: the handlers are plain functions of this library that only
    // touch the two spin locks.
    let err = unsafe { libc::pthread_atfork(Some(fork_prepare), Some(fork_parent), Some(fork_child)) };
    if err != 0 {
        Msg::new().s("pthread_atfork failed (errno ").dec(err as u64).s("); fork() while other threads allocate stacks may hang the child").emit();
    }
}

fn pool_unlock() {
    POOL_LOCK.store(false, Release);
}

unsafe fn meta(seg: *mut StackSegment, block_size: usize) -> *mut SegmentMeta {
    (seg as usize + block_size - META_BYTES) as *mut SegmentMeta
}

/// The meta of a segment if we made it (magic matches), else NULL.
///
/// # Safety
/// `seg` must be a live segment (ours or a foreign libgcc one).
pub unsafe fn our_meta(seg: *mut StackSegment) -> *mut SegmentMeta {
    let m = meta(seg, (*seg).size + HEADER);
    if (*m).magic == MAGIC ^ seg as usize {
        m
    } else {
        ptr::null_mut()
    }
}

/// Usable top of a segment (its stack starts below it).
///
/// # Safety
/// `seg` must be a live segment.
#[inline]
pub unsafe fn top(seg: *mut StackSegment) -> usize {
    let end = seg as usize + HEADER + (*seg).size;
    if our_meta(seg).is_null() {
        end
    } else {
        end - META_BYTES
    }
}

/// Puts a pool-bound free block into the pool (lock held), making it cold
/// (pages but the first returned to the OS) if the cache is over its
/// high-water mark.
unsafe fn pool_push_locked(seg: *mut StackSegment, class: usize, size: usize) {
    if !is_cold(seg) && CACHED_RESIDENT.load(Relaxed) > config::cache_max() {
        make_cold(seg, size);
    }
    let pool = &mut *POOL.0.get();
    if let Some(head) = pool.get_mut(class) {
        (*seg).next = *head;
        *head = seg;
    }
}

/// Marks a free block whose pages (but the header's) went back to the OS;
/// kept in its header's `free_dynamic_allocation`, which nothing reads
/// while the block is free (its meta page is gone).
const COLD: usize = 1;

fn is_cold(seg: *mut StackSegment) -> bool {
    // SAFETY: callers pass a free block of ours; its header is mapped.
    unsafe { (*seg).free_dynamic_allocation as usize == COLD }
}

/// Returns all but the first page of a cached block to the OS.
unsafe fn make_cold(seg: *mut StackSegment, size: usize) {
    let page = config::page_size();
    if size >= 2 * page && (seg as usize) % page == 0 && sys::madvise_dontneed(seg as usize + page, size - page).is_ok() {
        CACHED_RESIDENT.fetch_sub(size, Relaxed);
        (*seg).free_dynamic_allocation = COLD as *mut c_void;
    }
}

unsafe fn drain_deferred_locked() {
    let mut s = DEFERRED.swap(ptr::null_mut(), AcqRel);
    while !s.is_null() {
        let next = (*s).next;
        let m = meta(s, (*s).size + HEADER);
        if (*m).slab.is_null() {
            let size = (*m).block_size;
            CACHED_RESIDENT.fetch_add(size, Relaxed);
            pool_push_locked(s, (*m).class as usize, size);
        } else {
            // Belongs to a slab: leave it for the slab path.
            defer(s);
        }
        s = next;
    }
}

// ---------------------------------------------------------------------
// Default allocator
// ---------------------------------------------------------------------

struct Block {
    addr: usize,
    size: usize,
    class: u32,
    slab: *mut Slab,
}

/// Maps `len` bytes (a page multiple) for segments and records them in
/// the segment map, so that the API recognises the segments carved from
/// them.
fn map_segment_memory(len: usize) -> Result<usize, i32> {
    let addr = sys::mmap_anon(len)?;
    if !segmap::insert(addr, len) {
        // SAFETY: mapped just above, never handed out.
        let _ = unsafe { sys::munmap(addr, len) };
        return Err(libc::ENOMEM);
    }
    stats::os_mapped(len);
    Ok(addr)
}

/// Takes a block of `total` bytes (16-byte multiple) from the default
/// allocator.
unsafe fn default_alloc(tb: *mut ThreadBlock, total: usize, nested: bool) -> Result<Block, i32> {
    let Some((class, size)) = class_for(total) else {
        let len = config::page_round(total).ok_or(libc::ENOMEM)?;
        let addr = map_segment_memory(len)?;
        return Ok(Block { addr, size: len, class: DEDICATED, slab: ptr::null_mut() });
    };
    if size < config::page_size() {
        return slab_alloc(class, size, nested);
    }
    // 1. This thread's cache.
    if !nested {
        if let Some(head) = (*tb).cache.get(class) {
            let seg = head.load(Relaxed);
            if !seg.is_null() {
                head.store((*seg).next, Relaxed);
                (*tb).cache_bytes -= size;
                (*tb).cache_count -= 1;
                CACHED_RESIDENT.fetch_sub(size, Relaxed);
                stats::cached_delta(-1);
                return Ok(Block { addr: seg as usize, size, class: class as u32, slab: ptr::null_mut() });
            }
        }
    }
    // 2. The pool.
    if pool_lock(nested) {
        drain_deferred_locked();
        let pool = &mut *POOL.0.get();
        let got = match pool.get_mut(class) {
            Some(head) if !head.is_null() => {
                let seg = *head;
                *head = (*seg).next;
                Some(seg)
            }
            _ => None,
        };
        pool_unlock();
        if let Some(seg) = got {
            // A cold block's pages are already back with the OS.
            if !is_cold(seg) {
                CACHED_RESIDENT.fetch_sub(size, Relaxed);
            }
            stats::cached_delta(-1);
            return Ok(Block { addr: seg as usize, size, class: class as u32, slab: ptr::null_mut() });
        }
    }
    // 3. Carve from this thread's chunk (a nested caller takes a chunk
    //    of its own rather than racing the interrupted carve).
    let align = if size >= config::page_size() { config::page_size() } else { 16 };
    if !nested {
        let start = ((*tb).bump_ptr + align - 1) & !(align - 1);
        if (*tb).bump_ptr != 0 && start + size <= (*tb).bump_end {
            (*tb).bump_ptr = start + size;
            return Ok(Block { addr: start, size, class: class as u32, slab: ptr::null_mut() });
        }
    }
    // Before mapping a new chunk, take over what an exited thread left of
    // its own.
    if !nested {
        if let Some((start, end)) = take_remainder(size, align) {
            (*tb).bump_ptr = start + size;
            (*tb).bump_end = end;
            return Ok(Block { addr: start, size, class: class as u32, slab: ptr::null_mut() });
        }
    }
    let len = CHUNK.max(size * 4);
    let len = config::page_round(len).ok_or(libc::ENOMEM)?;
    let chunk = map_segment_memory(len)?;
    if !nested {
        (*tb).bump_ptr = chunk + size;
        (*tb).bump_end = chunk + len;
    } else {
        // The rest of this chunk is left for no one: rare (signal
        // handler splitting while its thread allocates).
    }
    Ok(Block { addr: chunk, size, class: class as u32, slab: ptr::null_mut() })
}

/// Gives a default-allocator block back.
unsafe fn default_free(tb: *mut ThreadBlock, seg: *mut StackSegment, size: usize, class: u32, nested: bool) {
    if class == DEDICATED {
        segmap::remove(seg as usize, size);
        if sys::munmap(seg as usize, size).is_ok() {
            stats::os_unmapped(size);
        }
        return;
    }
    let class = class as usize;
    stats::cached_delta(1);
    let slab = (*meta(seg, size)).slab;
    if !slab.is_null() {
        if SLAB_LOCK.lock(nested) {
            slab_free_locked(slab, seg as usize);
            SLAB_LOCK.unlock();
        } else {
            defer(seg);
        }
        return;
    }
    CACHED_RESIDENT.fetch_add(size, Relaxed);
    if !nested && (*tb).cache_bytes + size <= THREAD_CACHE_MAX {
        if let Some(head) = (*tb).cache.get(class) {
            (*seg).next = head.load(Relaxed);
            head.store(seg, Relaxed);
            (*tb).cache_bytes += size;
            (*tb).cache_count += 1;
            return;
        }
    }
    if pool_lock(nested) {
        drain_deferred_locked();
        pool_push_locked(seg, class, size);
        pool_unlock();
        return;
    }
    CACHED_RESIDENT.fetch_sub(size, Relaxed);
    defer(seg);
}

/// Leaves a free block for the next pool or slab user (push-only list:
/// safe from any context, no ABA).
unsafe fn defer(seg: *mut StackSegment) {
    let mut head = DEFERRED.load(Acquire);
    loop {
        (*seg).next = head;
        match DEFERRED.compare_exchange(head, seg, AcqRel, Acquire) {
            Ok(_) => return,
            Err(h) => head = h,
        }
    }
}

// ---------------------------------------------------------------------
// Slabs: blocks smaller than a page (only with a small minimum segment
// size and reserve).  A slab holds SLAB_BLOCKS blocks of one class after a
// 64-byte header; when every block of a slab is free and the cache is over
// its high-water mark, all its pages but the header's go back to the OS.
// ---------------------------------------------------------------------

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

struct SlabLock(AtomicBool);
impl SlabLock {
    fn lock(&self, nested: bool) -> bool {
        spin_lock(&self.0, nested)
    }
    fn unlock(&self) {
        self.0.store(false, Release);
    }
}
static SLAB_LOCK: SlabLock = SlabLock(AtomicBool::new(false));
struct Partial(UnsafeCell<[*mut Slab; MAX_CLASSES]>);
// SAFETY: only touched with SLAB_LOCK held.
unsafe impl Sync for Partial {}
static PARTIAL: Partial = Partial(UnsafeCell::new([ptr::null_mut(); MAX_CLASSES]));

/// Descriptor storage: bump-allocated from 64 KiB mappings (slab lock held).
struct Descriptors(UnsafeCell<(usize, usize)>);
// SAFETY: only touched with SLAB_LOCK held.
unsafe impl Sync for Descriptors {}
static DESCRIPTORS: Descriptors = Descriptors(UnsafeCell::new((0, 0)));

unsafe fn new_descriptor() -> Option<*mut Slab> {
    let (next, end) = &mut *DESCRIPTORS.0.get();
    let size = (core::mem::size_of::<Slab>() + 15) & !15;
    if *next == 0 || *next + size > *end {
        let len = config::page_round(64 << 10)?;
        let m = sys::mmap_anon(len).ok()?;
        stats::os_mapped(len);
        *next = m;
        *end = m + len;
    }
    let d = *next as *mut Slab;
    *next += size;
    Some(d)
}

unsafe fn partial_push(s: *mut Slab) {
    let list = &mut *PARTIAL.0.get();
    let Some(head) = list.get_mut((*s).class) else { return };
    (*s).prev = ptr::null_mut();
    (*s).next = *head;
    if !head.is_null() {
        (**head).prev = s;
    }
    *head = s;
}

unsafe fn partial_remove(s: *mut Slab) {
    let list = &mut *PARTIAL.0.get();
    let Some(head) = list.get_mut((*s).class) else { return };
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

unsafe fn slab_alloc(class: usize, size: usize, nested: bool) -> Result<Block, i32> {
    if !SLAB_LOCK.lock(nested) {
        // A signal handler on a thread that holds the slab lock: give it
        // a block of its own rather than wait for ourselves.
        let len = config::page_round(size).ok_or(libc::ENOMEM)?;
        let addr = map_segment_memory(len)?;
        return Ok(Block { addr, size: len, class: DEDICATED, slab: ptr::null_mut() });
    }
    drain_deferred_slab_locked();
    let list = &mut *PARTIAL.0.get();
    let mut s = list.get(class).copied().unwrap_or(ptr::null_mut());
    if s.is_null() {
        let d = match new_descriptor() {
            Some(d) => d,
            None => {
                SLAB_LOCK.unlock();
                return Err(libc::ENOMEM);
            }
        };
        let len = match config::page_round(SLAB_BLOCKS * size) {
            Some(l) => l,
            None => {
                SLAB_LOCK.unlock();
                return Err(libc::ENOMEM);
            }
        };
        let base = match map_segment_memory(len) {
            Ok(b) => b,
            Err(e) => {
                SLAB_LOCK.unlock();
                return Err(e);
            }
        };
        s = d;
        s.write(Slab { base, class, size, len, free_mask: u64::MAX, resident_mask: 0, next: ptr::null_mut(), prev: ptr::null_mut() });
        partial_push(s);
    }
    let i = (*s).free_mask.trailing_zeros() as usize;
    let bit = 1u64 << i;
    (*s).free_mask &= !bit;
    if (*s).resident_mask & bit != 0 {
        (*s).resident_mask &= !bit;
        CACHED_RESIDENT.fetch_sub(size, Relaxed);
        stats::cached_delta(-1);
    }
    if (*s).free_mask == 0 {
        partial_remove(s);
    }
    SLAB_LOCK.unlock();
    Ok(Block { addr: (*s).base + i * size, size, class: class as u32, slab: s })
}

/// Returns block `addr` to its slab (lock held).
unsafe fn slab_free_locked(s: *mut Slab, addr: usize) {
    let size = (*s).size;
    let i = (addr - (*s).base) / size;
    let bit = 1u64 << (i & 63);
    if (*s).free_mask == 0 {
        partial_push(s);
    }
    (*s).free_mask |= bit;
    (*s).resident_mask |= bit;
    CACHED_RESIDENT.fetch_add(size, Relaxed);
    if (*s).free_mask == u64::MAX && CACHED_RESIDENT.load(Relaxed) > config::cache_max() {
        if sys::madvise_dontneed((*s).base, (*s).len).is_ok() {
            let n = (*s).resident_mask.count_ones() as usize;
            CACHED_RESIDENT.fetch_sub(n * size, Relaxed);
            stats::cached_delta(-(n as i64));
            (*s).resident_mask = 0;
        }
    }
}

/// Frees the deferred blocks that belong to slabs (slab lock held); the
/// others stay deferred for the pool.
unsafe fn drain_deferred_slab_locked() {
    let mut s = DEFERRED.swap(ptr::null_mut(), AcqRel);
    while !s.is_null() {
        let next = (*s).next;
        let m = meta(s, (*s).size + HEADER);
        if !(*m).slab.is_null() {
            slab_free_locked((*m).slab, s as usize);
        } else {
            defer(s);
        }
        s = next;
    }
}

/// The unused ends of exited threads' chunks, linked through their first
/// word (`[next, end]` at the start of each range), under the pool lock.
struct Remainders(UnsafeCell<usize>);
// SAFETY: only touched with POOL_LOCK held.
unsafe impl Sync for Remainders {}
static REMAINDERS: Remainders = Remainders(UnsafeCell::new(0));

/// A remainder with room for one `size` block at `align`, as (start, end).
unsafe fn take_remainder(size: usize, align: usize) -> Option<(usize, usize)> {
    if !pool_lock(false) {
        return None;
    }
    let mut prev: *mut usize = REMAINDERS.0.get();
    let mut r = *prev;
    let mut found = None;
    while r != 0 {
        let next = *(r as *const usize);
        let end = *((r + 8) as *const usize);
        let start = (r + align - 1) & !(align - 1);
        if start + size <= end {
            *prev = next;
            found = Some((start, end));
            break;
        }
        prev = r as *mut usize;
        r = next;
    }
    pool_unlock();
    found
}

/// Moves a thread's cache into the pool and the rest of its chunk onto
/// the remainder list (thread exit).
pub unsafe fn flush_thread_cache() {
    let tb = thread_state::thread_block();
    // A signal handler that allocates meanwhile keeps off the cache.
    let saved = (*tb).busy;
    (*tb).busy = 1;
    compiler_fence(SeqCst);
    flush_thread_cache_busy(tb);
    compiler_fence(SeqCst);
    (*tb).busy = saved;
}

unsafe fn flush_thread_cache_busy(tb: *mut ThreadBlock) {
    if !pool_lock(false) {
        return;
    }
    drain_deferred_locked();
    let (start, end) = (((*tb).bump_ptr + 15) & !15, (*tb).bump_end);
    if (*tb).bump_ptr != 0 && end > start && end - start >= 1024 {
        *(start as *mut usize) = *REMAINDERS.0.get();
        *((start + 8) as *mut usize) = end;
        *REMAINDERS.0.get() = start;
    }
    (*tb).bump_ptr = 0;
    (*tb).bump_end = 0;
    for c in 0..MAX_CLASSES {
        let Some(head) = (*tb).cache.get(c) else { break };
        let mut s = head.swap(ptr::null_mut(), Relaxed);
        let size = class_size(c);
        while !s.is_null() {
            let next = (*s).next;
            pool_push_locked(s, c, size);
            s = next;
        }
    }
    (*tb).cache_bytes = 0;
    (*tb).cache_count = 0;
    pool_unlock();
}

// ---------------------------------------------------------------------
// The runtime stack
// ---------------------------------------------------------------------

/// Maps runtime stack `level` of the calling thread if needed; its top,
/// or None if it cannot be mapped.
unsafe fn runtime_stack_top(tb: *mut ThreadBlock, level: usize) -> Option<usize> {
    let rt = (*tb).rt.get_mut(level)?;
    if rt.top == 0 {
        let page = config::page_size();
        let len = config::page_round(RUNTIME_STACK)? + page;
        let base = sys::mmap_anon(len).ok()?;
        // The lowest page is a guard: an overflow faults instead of
        // writing into whatever lies below.
        let _ = sys::mprotect_none(base, page);
        stats::os_mapped(len);
        rt.base = base;
        rt.len = len;
        // Entered at its top (one past the mapping), which must count as
        // inside it for valgrind.
        rt.vg_stack = valgrind::stack_register(base + page, base + len);
        compiler_fence(SeqCst);
        rt.top = base + len;
        // A thread that needs a runtime stack holds runtime resources:
        // make sure they are freed when it exits, wrapper or not.
        crate::thread::register_exit_destructor();
    }
    Some(rt.top)
}

/// Runs `f` on a runtime stack of the calling thread (at least
/// `RUNTIME_STACK` bytes, whatever stack the caller was on) with the
/// split-stack limit all ones.
///
/// Already on the runtime stack in use: carry on below.  Otherwise take
/// the next level: a signal handler that needs the runtime while the
/// thread is in it (its own frames are on the alternate stack or on
/// small split segments) gets a stack of its own, and gives it back
/// before the interrupted code resumes.  Ends the process if no runtime
/// stack can be mapped or handlers nest too deep.
pub fn on_runtime_stack<F: FnOnce()>(f: F) {
    extern "C" fn tramp<F: FnOnce()>(p: *mut c_void) {
        // SAFETY: `p` is the `Option<F>` below, alive for the whole call.
        unsafe {
            if let Some(f) = (*(p as *mut Option<F>)).take() {
                f()
            }
        }
    }
    let tb = thread_state::thread_block();
    // SAFETY: tb is this thread's block; on_stack switches to a mapped,
    // 16-byte aligned stack top (or stays) and comes back.  A handler
    // that interrupts between the level check and the switch finishes
    // with that level before we write to it.
    unsafe {
        let mut slot = Some(f);
        let arg = &mut slot as *mut Option<F> as *mut c_void;
        let level = (*tb).rt_pivots;
        let sp = crate::arch::current::stack_pointer();
        if level > 0 {
            if let Some(rt) = (*tb).rt.get(level - 1) {
                if sp > rt.base && sp <= rt.top {
                    crate::arch::splitstack_on_stack(tramp::<F>, arg, 0);
                    return;
                }
            }
        }
        if level >= RT_LEVELS {
            nested_too_deep();
        }
        let Some(top) = runtime_stack_top(tb, level) else { no_runtime_stack() };
        (*tb).rt_pivots = level + 1;
        compiler_fence(SeqCst);
        crate::arch::splitstack_on_stack(tramp::<F>, arg, top);
        compiler_fence(SeqCst);
        (*tb).rt_pivots = level;
    }
}

#[cold]
#[inline(never)]
fn no_runtime_stack() -> ! {
    Msg::new().s("out of memory: cannot map the ").dec(RUNTIME_STACK as u64).s("-byte runtime stack; aborting").fatal()
}

#[cold]
#[inline(never)]
fn nested_too_deep() -> ! {
    Msg::new().s("signal handlers nested more than 4 deep inside the runtime; aborting").fatal()
}

/// Frees the calling thread's runtime stacks (thread exit; the caller is
/// not on one).  The thread block forgets each first: a signal handler
/// that needs one from here on maps a new one instead of using the range
/// being unmapped.
pub unsafe fn free_runtime_stack() {
    let tb = thread_state::thread_block();
    if (*tb).rt_pivots != 0 {
        return;
    }
    for level in 0..RT_LEVELS {
        let Some(rt) = (*tb).rt.get_mut(level) else { break };
        if rt.top == 0 {
            continue;
        }
        let (base, len, vg) = (rt.base, rt.len, rt.vg_stack);
        rt.top = 0;
        rt.base = 0;
        rt.len = 0;
        rt.vg_stack = 0;
        compiler_fence(SeqCst);
        valgrind::stack_deregister(vg);
        if sys::munmap(base, len).is_ok() {
            stats::os_unmapped(len);
        }
    }
}

// ---------------------------------------------------------------------
// Segments
// ---------------------------------------------------------------------

/// Why a segment could not be had.
pub struct AllocError {
    /// Bytes asked of the allocator.
    pub bytes: usize,
    pub errno: i32,
    /// The registered allocator failed (rather than the OS).
    pub custom: bool,
}

/// Allocates a segment with at least `usable` bytes of stack; runs on the
/// runtime stack.  `depth` is its position in a chain (1 = first).
pub fn alloc_segment(usable: usize, depth: u32) -> Result<*mut StackSegment, AllocError> {
    let mut out = Err(AllocError { bytes: 0, errno: libc::ENOMEM, custom: false });
    on_runtime_stack(|| {
        // SAFETY: runs on this thread's runtime stack; every block comes
        // from an allocator and is at least `total` bytes.
        out = unsafe { alloc_segment_here(usable, depth) };
    });
    out
}

unsafe fn alloc_segment_here(usable: usize, depth: u32) -> Result<*mut StackSegment, AllocError> {
    let Some(total) = usable.checked_add(HEADER + META_BYTES + 15).map(|v| v & !15) else {
        return Err(AllocError { bytes: usize::MAX, errno: libc::ENOMEM, custom: false });
    };
    let tb = thread_state::thread_block();
    let rec = CURRENT.load(Acquire);
    let (block, origin) = if rec.is_null() {
        // A signal handler that allocates while this thread is already in
        // here is "nested": it keeps off the thread's cache and bump region.
        let saved = (*tb).busy;
        (*tb).busy = 1;
        compiler_fence(SeqCst);
        let r = default_alloc(tb, total, saved != 0);
        compiler_fence(SeqCst);
        (*tb).busy = saved;
        match r {
            Ok(b) => (b, ptr::null()),
            Err(errno) => return Err(AllocError { bytes: total, errno, custom: false }),
        }
    } else {
        let a = &(*rec).a;
        let Some(alloc) = a.allocate else {
            return Err(AllocError { bytes: total, errno: libc::EINVAL, custom: true });
        };
        let mut mask = 0u64;
        let p = call_user(&mut mask, || alloc(a.user, total));
        if p.is_null() {
            return Err(AllocError { bytes: total, errno: libc::ENOMEM, custom: true });
        }
        if (p as usize) % 16 != 0 {
            Msg::new().s("the registered allocator returned ").hex(p as usize).s(", which is not 16-byte aligned; giving it back").emit();
            if let Some(free) = a.free {
                call_user(&mut mask, || free(a.user, p, total));
            }
            return Err(AllocError { bytes: total, errno: libc::EINVAL, custom: true });
        }
        (Block { addr: p as usize, size: total, class: DEDICATED, slab: ptr::null_mut() }, rec as *const AllocatorRecord)
    };
    let seg = block.addr as *mut StackSegment;
    // A reused block may hold what memcheck saw of an earlier stack (freed
    // ranges inaccessible, popped frames too): all of it is fresh now.
    let vg = valgrind::active();
    if vg {
        valgrind::make_undefined(block.addr, block.size);
    }
    // Likewise for ASan: frames that never returned may have left poison.
    asan::unpoison(block.addr, block.size);
    seg.write(StackSegment {
        prev: ptr::null_mut(),
        next: ptr::null_mut(),
        size: block.size - HEADER,
        old_stack: ptr::null_mut(),
        dynamic_allocation: ptr::null_mut(),
        free_dynamic_allocation: ptr::null_mut(),
        extra: ptr::null_mut(),
    });
    meta(seg, block.size).write(SegmentMeta {
        magic: MAGIC ^ seg as usize,
        origin,
        block_size: block.size,
        class: block.class,
        depth,
        slab: block.slab,
        vg_stack: 0,
    });
    if vg {
        register_stack(seg);
    }
    stats::segment_allocated(depth);
    Ok(seg)
}

/// Registers a new segment's stack with valgrind (a no-op natively).  The
/// range ends at the segment's top itself: a segment entered with no
/// stack arguments has its stack pointer there, which must count as
/// inside it (that byte is the first of the meta record, never stack).
///
/// # Safety
/// `seg` must be a segment just made by `alloc_segment_here` (header and
/// meta written).
unsafe fn register_stack(seg: *mut StackSegment) {
    let m = our_meta(seg);
    if !m.is_null() {
        (*m).vg_stack = valgrind::stack_register(crate::segment::low(seg), top(seg));
    }
}

/// Ends a segment's life as a stack for valgrind: deregisters it, and
/// (default allocator) makes its stack inaccessible while it is free, so
/// that memcheck reports a program still using a released context's
/// stack; a registered allocator gets the whole block back addressable
/// (its own bookkeeping may live there).
///
/// # Safety
/// `seg` must be a segment of ours about to be freed, `m` its meta; no
/// frame may live on it any more.
unsafe fn unregister_stack(seg: *mut StackSegment, m: *mut SegmentMeta) {
    let handle = (*m).vg_stack;
    if handle == 0 {
        return;
    }
    (*m).vg_stack = 0;
    valgrind::stack_deregister(handle);
    let (low, top) = (crate::segment::low(seg), top(seg));
    if (*m).origin.is_null() {
        valgrind::make_noaccess(low, top - low);
    } else {
        valgrind::make_undefined(low, top - low);
    }
}

/// Runs a registered allocator's callback (on the runtime stack): signals
/// blocked, so callbacks never nest on a thread and no handler runs while
/// the limit is off; the limit 0, so a callback compiled with
/// -fsplit-stack never splits (it has the runtime stack, `RUNTIME_STACK`
/// bytes above a guard page, to itself) and cannot re-enter the allocator.
#[inline(always)]
unsafe fn call_user<R>(mask: &mut u64, f: impl FnOnce() -> R) -> R {
    sys::block_all(mask);
    let saved = crate::arch::current::get_guard();
    crate::arch::current::set_guard(0);
    let r = f();
    crate::arch::current::set_guard(saved);
    sys::restore_mask(mask);
    r
}

/// Depth of a segment in its chain (1 for a first segment).
pub unsafe fn depth(seg: *mut StackSegment) -> u32 {
    let m = our_meta(seg);
    if m.is_null() {
        1
    } else {
        (*m).depth
    }
}

/// Sets the chain depth recorded for a segment.
pub unsafe fn set_depth(seg: *mut StackSegment, d: u32) {
    let m = our_meta(seg);
    if !m.is_null() {
        (*m).depth = d;
    }
}

/// Frees one segment (its alloca blocks were freed by the caller) to the
/// allocator that gave it.  Must run on the runtime stack.
pub unsafe fn free_segment_here(seg: *mut StackSegment) {
    let m = our_meta(seg);
    if m.is_null() {
        match identify(seg) {
            // A libgcc runtime copy made it with one mmap.
            SegmentKind::Foreign => {
                let len = (*seg).size + HEADER;
                if let Err(errno) = sys::munmap(seg as usize, len) {
                    Msg::new()
                        .s("cannot free the libgcc-made stack segment at ")
                        .hex(seg as usize)
                        .s(": munmap failed (errno ")
                        .dec(errno as u64)
                        .s("); leaving it")
                        .emit();
                    return;
                }
                stats::foreign_freed();
            }
            // Not reachable (our_meta said it is not ours), but never
            // free what is not recognised.
            SegmentKind::Ours => {}
            SegmentKind::Bad(why) => {
                Msg::new().s("not freeing the stack segment at ").hex(seg as usize).s(": ").s(why).emit();
            }
        }
        return;
    }
    unregister_stack(seg, m);
    let origin = (*m).origin;
    let size = (*m).block_size;
    let class = (*m).class;
    stats::segment_freed();
    if origin.is_null() {
        // Marked free, so that freeing it again (a released context's
        // copy, a corrupt chain) is recognised while it waits for reuse.
        (*m).magic = MAGIC_FREE ^ seg as usize;
        let tb = thread_state::thread_block();
        let saved = (*tb).busy;
        (*tb).busy = 1;
        compiler_fence(SeqCst);
        default_free(tb, seg, size, class, saved != 0);
        compiler_fence(SeqCst);
        (*tb).busy = saved;
    } else {
        let a = &(*origin).a;
        if let Some(free) = a.free {
            (*m).magic = 0;
            // The allocator may keep its bookkeeping in the block.
            asan::unpoison(seg as usize, size);
            let mut mask = 0u64;
            call_user(&mut mask, || free(a.user, seg as *mut c_void, size));
        }
    }
}

/// What a segment pointer that came from outside the runtime (a caller's
/// context, a chain a foreign runtime copy also works on) points to.
pub enum SegmentKind {
    /// A live segment of this runtime (default or registered allocator).
    Ours,
    /// A segment made by a libgcc runtime copy: one mapping of exactly
    /// `size + 56` bytes, page-aligned.
    Foreign,
    /// Anything else, with the reason; it must not be followed or freed.
    Bad(&'static str),
}

/// Largest segment size believed (1 TiB): bigger is a corrupt header.
const MAX_PLAUSIBLE_SIZE: usize = 1 << 40;

/// Whether a header at `a` with `size` has the shape of a libgcc copy's
/// segment: one mapping of exactly `size + 56` bytes, page-aligned, whose
/// last page is mapped (the header's has been read).
fn libgcc_shaped(a: usize, size: usize) -> bool {
    let page = config::page_size();
    a % page == 0 && (size + HEADER) % page == 0 && sys::page_mapped(a + size + HEADER - 1)
}

/// Says what `seg` points to without faulting, whatever it holds.
///
/// Memory the default allocator mapped is recognised through the segment
/// map, with no system call (the cost on every valid context); anything
/// else (a registered allocator's block, a libgcc copy's segment, garbage)
/// is read through [`sys::probe_read`] first.
///
/// # Safety
/// Memory the segment map records must still be mapped (the map is
/// updated before anything of ours is unmapped; a libgcc copy that
/// unmapped one of our segments leaves a hole the map cannot see).
pub unsafe fn identify(seg: *mut StackSegment) -> SegmentKind {
    let a = seg as usize;
    if a % 16 != 0 || a < 65536 || a >= 1 << 48 {
        return SegmentKind::Bad("not a stack segment (misaligned, or not a user-space address)");
    }
    if segmap::contains_range(a, HEADER) {
        let size = (*seg).size;
        if !(META_BYTES..=MAX_PLAUSIBLE_SIZE).contains(&size) {
            return SegmentKind::Bad("corrupt segment header (impossible size) in this runtime's stack memory");
        }
        let end = a + HEADER + size;
        if !segmap::contains_range(end - META_BYTES, META_BYTES) {
            return SegmentKind::Bad("corrupt segment header (size beyond this runtime's stack memory)");
        }
        let magic = (*meta(seg, size + HEADER)).magic;
        return if magic == MAGIC ^ a {
            SegmentKind::Ours
        } else if magic == MAGIC_FREE ^ a || is_cold(seg) {
            SegmentKind::Bad("already freed (its context was released, or this is a copy of a released context)")
        } else if libgcc_shaped(a, size) {
            // A libgcc copy frees a segment of ours that is too small for
            // it with munmap and maps its own, which the kernel may place
            // in the hole: inside memory the map still records as ours.
            SegmentKind::Foreign
        } else {
            SegmentKind::Bad("not a live segment header in this runtime's stack memory (corrupt, or a pointer into the middle of a stack)")
        };
    }
    let mut h = [0u8; HEADER];
    if !sys::probe_read(a, &mut h) {
        return SegmentKind::Bad("not a stack segment (unreadable memory)");
    }
    // SAFETY: `h` holds a copy of the header (StackSegment is plain data).
    let size = (*(h.as_ptr() as *const StackSegment)).size;
    if !(META_BYTES..=MAX_PLAUSIBLE_SIZE).contains(&size) {
        return SegmentKind::Bad("not a stack segment (impossible size in its header)");
    }
    let end = a + HEADER + size;
    if RECORD_COUNT.load(Acquire) > 0 {
        let mut mb = [0u8; core::mem::size_of::<SegmentMeta>()];
        if sys::probe_read(end - META_BYTES, &mut mb) {
            // SAFETY: `mb` holds a copy of a would-be SegmentMeta.
            let m = &*(mb.as_ptr() as *const SegmentMeta);
            let records = RECORDS.0.get() as usize;
            let o = m.origin as usize;
            let in_records = o >= records
                && o < records + MAX_ALLOCATORS * core::mem::size_of::<AllocatorRecord>()
                && (o - records) % core::mem::size_of::<AllocatorRecord>() == 0;
            if m.magic == MAGIC ^ a && in_records {
                return SegmentKind::Ours;
            }
        }
    }
    // Outside our memory altogether (first and last page).
    if libgcc_shaped(a, size) && !segmap::contains(end - 1) {
        return SegmentKind::Foreign;
    }
    SegmentKind::Bad("not a stack segment (neither this runtime's layout nor libgcc's)")
}

/// Total cached resident bytes (for statistics).
pub fn cached_resident() -> usize {
    CACHED_RESIDENT.load(Relaxed)
}
