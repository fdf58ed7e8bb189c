//! Process-wide counters, updated only on slow paths (mapping and
//! unmapping), read by `splitstack_get_stats`.

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

static SEGMENTS_MAPPED: AtomicU64 = AtomicU64::new(0);
static SEGMENTS_UNMAPPED: AtomicU64 = AtomicU64::new(0);
static BYTES_MAPPED: AtomicU64 = AtomicU64::new(0);
static ALLOCA_MAPPED: AtomicU64 = AtomicU64::new(0);
static ALLOCA_UNMAPPED: AtomicU64 = AtomicU64::new(0);

pub fn segment_mapped(bytes: usize) {
    SEGMENTS_MAPPED.fetch_add(1, Relaxed);
    BYTES_MAPPED.fetch_add(bytes as u64, Relaxed);
}

pub fn segment_unmapped(bytes: usize) {
    SEGMENTS_UNMAPPED.fetch_add(1, Relaxed);
    BYTES_MAPPED.fetch_sub(bytes as u64, Relaxed);
}

pub fn alloca_mapped() {
    ALLOCA_MAPPED.fetch_add(1, Relaxed);
}

pub fn alloca_unmapped() {
    ALLOCA_UNMAPPED.fetch_add(1, Relaxed);
}

/// A snapshot of the runtime's counters (process-wide, since start).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SplitstackStats {
    /// Stack segments mapped.
    pub segments_allocated: u64,
    /// Stack segments unmapped.
    pub segments_freed: u64,
    /// Segments mapped now (allocated - freed).
    pub segments_live: u64,
    /// Bytes of segment mappings now.
    pub bytes_mapped: u64,
    /// alloca/VLA blocks mapped.
    pub alloca_blocks_allocated: u64,
    /// alloca/VLA blocks unmapped.
    pub alloca_blocks_freed: u64,
}

pub fn snapshot() -> SplitstackStats {
    let a = SEGMENTS_MAPPED.load(Relaxed);
    let f = SEGMENTS_UNMAPPED.load(Relaxed);
    SplitstackStats {
        segments_allocated: a,
        segments_freed: f,
        segments_live: a.saturating_sub(f),
        bytes_mapped: BYTES_MAPPED.load(Relaxed),
        alloca_blocks_allocated: ALLOCA_MAPPED.load(Relaxed),
        alloca_blocks_freed: ALLOCA_UNMAPPED.load(Relaxed),
    }
}
