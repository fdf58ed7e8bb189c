//! Process-wide counters, updated on slow paths only.  What warm paths
//! count (the `__morestack` calls, kept by the assembly; segments handed
//! out, taken back and cached by a thread's cache) each thread keeps in
//! its own block (`layout::ThreadCounters`), added here when it exits;
//! read by `splitstack_get_stats` (with the live threads' shares) and
//! printed at exit when `SPLITSTACK_STATS` is set.

use crate::diag::Msg;
use core::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};

static SEGMENTS_ALLOCATED: AtomicU64 = AtomicU64::new(0);
static SEGMENTS_FREED: AtomicU64 = AtomicU64::new(0);
static SEGMENTS_CACHED: AtomicI64 = AtomicI64::new(0);
static FOREIGN_FREED: AtomicU64 = AtomicU64::new(0);
static BYTES_MAPPED: AtomicU64 = AtomicU64::new(0);
static OS_MAPS: AtomicU64 = AtomicU64::new(0);
static ALLOCA_MAPPED: AtomicU64 = AtomicU64::new(0);
static ALLOCA_UNMAPPED: AtomicU64 = AtomicU64::new(0);
static EXITED_MORESTACK_CALLS: AtomicU64 = AtomicU64::new(0);
static LONGEST_CHAIN: AtomicU64 = AtomicU64::new(0);
/// Resident bytes of cached blocks outside the live threads' own caches
/// (the pool's; threads count theirs in their `cache_bytes`); the default
/// allocator compares it with its high-water mark.
static CACHED_RESIDENT: AtomicUsize = AtomicUsize::new(0);

/// Cached resident bytes now.
pub fn cached_resident() -> usize {
    CACHED_RESIDENT.load(Relaxed)
}

/// More cached resident bytes.
pub fn cached_resident_add(bytes: usize) {
    CACHED_RESIDENT.fetch_add(bytes, Relaxed);
}

/// Fewer cached resident bytes.
pub fn cached_resident_sub(bytes: usize) {
    CACHED_RESIDENT.fetch_sub(bytes, Relaxed);
}

pub fn segment_allocated() {
    SEGMENTS_ALLOCATED.fetch_add(1, Relaxed);
}

/// A chain reached `depth` segments.  (A plain load first: the maximum
/// rarely moves, and a locked compare-and-swap loop on every allocation
/// would cost more than the rest of the warm path's bookkeeping.)
#[inline]
pub fn chain_depth(depth: u32) {
    if depth as u64 > LONGEST_CHAIN.load(Relaxed) {
        LONGEST_CHAIN.fetch_max(depth as u64, Relaxed);
    }
}

pub fn segment_freed() {
    SEGMENTS_FREED.fetch_add(1, Relaxed);
}

pub fn foreign_freed() {
    FOREIGN_FREED.fetch_add(1, Relaxed);
}

pub fn cached_delta(d: i64) {
    SEGMENTS_CACHED.fetch_add(d, Relaxed);
}

pub fn os_mapped(bytes: usize) {
    OS_MAPS.fetch_add(1, Relaxed);
    BYTES_MAPPED.fetch_add(bytes as u64, Relaxed);
}

pub fn os_unmapped(bytes: usize) {
    BYTES_MAPPED.fetch_sub(bytes as u64, Relaxed);
}

pub fn alloca_mapped(bytes: usize) {
    ALLOCA_MAPPED.fetch_add(1, Relaxed);
    os_mapped(bytes);
}

pub fn alloca_unmapped(bytes: usize) {
    ALLOCA_UNMAPPED.fetch_add(1, Relaxed);
    os_unmapped(bytes);
}

/// Whether any alloca block is mapped now (cheap test for slow paths).
pub fn alloca_blocks_live() -> bool {
    ALLOCA_MAPPED.load(Relaxed) != ALLOCA_UNMAPPED.load(Relaxed)
}

/// Adds an exiting thread's own counts to the process totals.
pub fn thread_exited(t: &ThreadTotals) {
    EXITED_MORESTACK_CALLS.fetch_add(t.morestack_calls, Relaxed);
    SEGMENTS_ALLOCATED.fetch_add(t.allocated, Relaxed);
    SEGMENTS_FREED.fetch_add(t.freed, Relaxed);
    cached_delta(t.cached as i64);
    cached_resident_add(t.cache_bytes as usize);
}

/// What threads count themselves (their thread blocks' counters, summed
/// over threads by `thread_state::totals`).
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadTotals {
    pub allocated: u64,
    pub freed: u64,
    /// Free segments in threads' caches, and their bytes (all resident).
    pub cached: u64,
    pub cache_bytes: u64,
    pub morestack_calls: u64,
}

/// The runtime's counters at one moment (`ffi::types::SplitstackStats`
/// is the C view of it).
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    /// Segments handed out by an allocator since start.
    pub segments_allocated: u64,
    /// Segments given back to their allocator since start.
    pub segments_freed: u64,
    /// Segments in use or held in threads' chains (allocated - freed).
    pub segments_live: u64,
    /// Free segments the default allocator keeps for reuse.
    pub segments_cached: u64,
    /// Bytes of those cached segments still resident (beyond the
    /// high-water mark, cached segments give their pages back).
    pub bytes_cached_resident: u64,
    /// Bytes the runtime has mapped from the OS now (chunks, dedicated
    /// segments, runtime stacks, alloca blocks).
    pub bytes_mapped: u64,
    /// mmap calls the runtime made since start.
    pub os_mappings: u64,
    /// `__morestack` calls of every thread, live or exited.
    pub morestack_calls: u64,
    /// Longest chain of segments any thread linked.
    pub longest_chain: u64,
    /// alloca/VLA blocks mapped and unmapped since start.
    pub alloca_blocks_allocated: u64,
    pub alloca_blocks_freed: u64,
    /// Segments made by another runtime copy (libgcc's) that this one freed.
    pub foreign_segments_freed: u64,
}

/// The counters now: the process totals plus `threads`, what live
/// threads counted themselves.
pub fn snapshot(threads: ThreadTotals) -> Snapshot {
    let a = SEGMENTS_ALLOCATED.load(Relaxed) + threads.allocated;
    let f = SEGMENTS_FREED.load(Relaxed) + threads.freed;
    Snapshot {
        segments_allocated: a,
        segments_freed: f,
        segments_live: a.saturating_sub(f),
        segments_cached: (SEGMENTS_CACHED.load(Relaxed) + threads.cached as i64).max(0) as u64,
        bytes_cached_resident: cached_resident() as u64 + threads.cache_bytes,
        bytes_mapped: BYTES_MAPPED.load(Relaxed),
        os_mappings: OS_MAPS.load(Relaxed),
        morestack_calls: EXITED_MORESTACK_CALLS.load(Relaxed) + threads.morestack_calls,
        longest_chain: LONGEST_CHAIN.load(Relaxed),
        alloca_blocks_allocated: ALLOCA_MAPPED.load(Relaxed),
        alloca_blocks_freed: ALLOCA_UNMAPPED.load(Relaxed),
        foreign_segments_freed: FOREIGN_FREED.load(Relaxed),
    }
}

/// Prints the counters on stderr (at exit, when SPLITSTACK_STATS is set).
pub fn report(threads: ThreadTotals) {
    let s = snapshot(threads);
    let line = |name: &str, v: u64| {
        Msg::new().s("stats: ").s(name).s(" ").dec(v).emit();
    };
    line("segments_allocated", s.segments_allocated);
    line("segments_freed", s.segments_freed);
    line("segments_live", s.segments_live);
    line("segments_cached", s.segments_cached);
    line("bytes_cached_resident", s.bytes_cached_resident);
    line("bytes_mapped", s.bytes_mapped);
    line("os_mappings", s.os_mappings);
    line("morestack_calls", s.morestack_calls);
    line("longest_chain", s.longest_chain);
    line("alloca_blocks_allocated", s.alloca_blocks_allocated);
    line("alloca_blocks_freed", s.alloca_blocks_freed);
}
