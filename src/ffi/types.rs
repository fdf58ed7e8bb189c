//! The C ABI types of this runtime's own additions.  Their layouts and
//! values are part of the ABI: fields are only ever appended, result codes
//! never reused or renumbered.

use crate::stats::Snapshot;
use core::ffi::c_void;

/// Current version of [`SplitstackAllocator`].
pub const SPLITSTACK_ALLOCATOR_VERSION: u32 = 1;

/// `splitstack_set_guard_pages` modes (and `SplitstackStats.guard_mode`).
pub const SPLITSTACK_GUARD_OFF: u32 = 0;
pub const SPLITSTACK_GUARD_ON: u32 = 1;
pub const SPLITSTACK_GUARD_MPROTECT: u32 = 2;

/// Result codes of the configuration and allocator API.  The values are
/// part of the ABI: never reused or renumbered.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitstackResult {
    /// Done.
    SplitstackOk = 0,
    /// A required pointer argument was NULL.
    SplitstackNullArgument = 1,
    /// The value is out of range or malformed (nothing was changed).
    SplitstackInvalidValue = 2,
    /// The allocator's `version` is not one this library knows.
    SplitstackBadVersion = 3,
    /// Too many allocators were registered in this process.
    SplitstackTooManyAllocators = 4,
    /// The thread of the handle has exited (`splitstack_interrupt`).
    SplitstackThreadExited = 5,
}

/// A thread, as `splitstack_interrupt` reaches it: an opaque,
/// reference-counted handle from `splitstack_thread_self`, valid until
/// released, also after the thread exits.
pub struct SplitstackThread {
    _opaque: [u8; 0],
}

/// The process's interrupt handler: `bits` are every bit requested of
/// this thread since its last delivery, `user` the pointer given with the
/// handler.  Runs on the interrupted thread at a function entry, before
/// the function's body (see README, "Interrupts").
pub type SplitstackInterruptHandler = Option<unsafe extern "C" fn(bits: u64, user: *mut c_void)>;

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

/// A snapshot of the runtime's counters.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SplitstackStats {
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
    /// Guard pages in force (`SPLITSTACK_GUARD`): 0 off, 1 page-table
    /// markers (`MADV_GUARD_INSTALL`), 2 `mprotect` pages (asked for, or
    /// the kernel refused markers).
    pub guard_mode: u64,
    /// Guard pages made: as markers, and with `mprotect` (two kernel
    /// mappings each, capped).
    pub guard_markers: u64,
    pub guard_mprotects: u64,
    /// Memory ranges left unguarded because the `mprotect` cap was reached
    /// or `mprotect` failed (said once on stderr).
    pub guard_unguarded: u64,
}

impl From<Snapshot> for SplitstackStats {
    fn from(s: Snapshot) -> SplitstackStats {
        SplitstackStats {
            segments_allocated: s.segments_allocated,
            segments_freed: s.segments_freed,
            segments_live: s.segments_live,
            segments_cached: s.segments_cached,
            bytes_cached_resident: s.bytes_cached_resident,
            bytes_mapped: s.bytes_mapped,
            os_mappings: s.os_mappings,
            morestack_calls: s.morestack_calls,
            longest_chain: s.longest_chain,
            alloca_blocks_allocated: s.alloca_blocks_allocated,
            alloca_blocks_freed: s.alloca_blocks_freed,
            foreign_segments_freed: s.foreign_segments_freed,
            guard_mode: 0,
            guard_markers: 0,
            guard_mprotects: 0,
            guard_unguarded: 0,
        }
    }
}

const _: () = {
    assert!(SPLITSTACK_GUARD_OFF as usize == crate::config::GUARD_OFF);
    assert!(SPLITSTACK_GUARD_ON as usize == crate::config::GUARD_ON);
    assert!(SPLITSTACK_GUARD_MPROTECT as usize == crate::config::GUARD_MPROTECT);
};
