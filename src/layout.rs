//! The `#[repr(C)]` structures shared with the assembly and with libgcc's
//! runtime (docs/x86_64.md, section 4): the segment header, the record
//! this runtime keeps at the top of each segment, `__morestack_initial_sp`
//! and the runtime's per-thread block, with every offset checked at
//! compile time against the constants the assembly uses
//! (asm/common/layout.h, asm/*/consts.h).
//!
//! Layout compatibility matters beyond this crate: a shared library that
//! embeds libgcc's runtime may walk the thread's list, use our segments
//! and free one with `munmap(header, header.size + 56)`; with the default
//! allocator and its default sizes every segment is page-aligned and a
//! whole number of pages, so that unmaps exactly that segment.

use crate::arch::current::*;
use core::ffi::c_void;
use core::mem::{offset_of, size_of};
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering::Relaxed};

/// libgcc's `struct stack_segment`.
#[repr(C)]
pub struct StackSegment {
    /// The segment used before this one (toward the original stack).
    pub prev: *mut StackSegment,
    /// The next segment, in use deeper in the stack or cached.
    pub next: *mut StackSegment,
    /// Bytes of the block above the header.
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

pub(crate) const HEADER: usize = SS_SEG_HEADER_SIZE;

/// Lowest usable address of a segment.
#[inline]
pub fn low(seg: *mut StackSegment) -> usize {
    seg as usize + HEADER
}

/// Bytes at the top of each block holding [`SegmentMeta`] (the assembly's
/// SS_SEG_META).
pub(crate) const META_BYTES: usize = SS_SEG_META;

/// What the allocator records about a block (at its top).  The two
/// pointers are opaque here; `alloc` knows what they point to.
#[repr(C)]
pub struct SegmentMeta {
    /// `alloc`'s magic XOR the block's address: live or free.
    pub magic: usize,
    /// The registered allocator's record that gave the block (an
    /// `alloc::user` record), NULL for the default allocator.
    pub origin: *const c_void,
    /// Bytes of the whole block.
    pub block_size: usize,
    /// The default allocator's size class of the block.
    pub class: u32,
    /// Position of the segment in its chain (1 for a first segment).
    pub depth: u32,
    /// The slab of a sub-page block (an `alloc::slab` descriptor; NULL for
    /// other blocks).
    pub slab: *mut c_void,
    /// valgrind's handle for the segment's stack (0 when not running
    /// under valgrind; see valgrind.rs).
    pub vg_stack: usize,
    /// `FIRST_*` flags of a context's first segment (context_sizing.rs).
    pub flags: usize,
}

/// [`SegmentMeta::flags`]: a context's first segment, of the size asked
/// for, whose overflow has not been seen yet.
pub(crate) const FIRST_PROBE: usize = 1;

/// `__morestack_initial_sp`: the thread's original stack, as libgcc lays
/// it out (184 bytes; `dont_block_signals` at 0x90, checked against the
/// assembly's constants in arch).
#[repr(C)]
pub struct InitialSp {
    /// Top of the original stack (rounded up to 512 bytes).
    pub sp: *mut u8,
    /// Bytes of it that split-stack code may use.
    pub len: usize,
    /// libgcc's saved signal mask (kept for layout; unused here).
    pub mask: [u64; 16],
    /// Nonzero: do not block signals in `__morestack`.
    pub dont_block_signals: i32,
    pad: i32,
    /// Reserved by libgcc; `extra[0]` holds this thread's alloca blocks
    /// made on the original stack (see alloca.rs).
    pub extra: [usize; 4],
}

/// Size classes of the default allocator (see alloc/classes.rs).
pub(crate) const MAX_CLASSES: usize = 128;

/// The smallest this many classes are what a thread's own cache keeps
/// (larger free segments go straight to the pool); bounded by the thread
/// block's size.
pub(crate) const THREAD_CACHE_CLASSES: usize = 96;

/// The runtime's own per-thread state: a hidden TLS block defined in the
/// assembly (`splitstack_thread`, SS_THREAD_BLOCK_SIZE bytes, zero in a
/// new thread).
#[repr(C)]
pub struct ThreadBlock {
    /// `__morestack` calls on this thread (incremented by the assembly).
    pub morestack_calls: u64,
    /// Interrupt bits requested of this thread and not yet taken
    /// (`interrupt`): ORed by requesting threads while the thread is
    /// alive (its record guarantees that), swapped out by the thread.
    pub interrupt_pending: AtomicU64,
    /// Interrupt nesting: `splitstack_interrupt_defer` depth plus one while
    /// a handler runs.  Nonzero: requests wait.  Saved in and restored
    /// from contexts (word 8), so that it follows the coroutine.
    pub interrupt_defer: usize,
    /// The thread's `interrupt` record (its handle), NULL until
    /// `splitstack_thread_self` made one.
    pub interrupt_record: *mut c_void,
    /// When (CLOCK_MONOTONIC, ns) a delivery last found the thread inside
    /// a signal handler; 0 if it did not.  For a while after that, no new
    /// walk of the stack is made (`interrupt::take`).
    pub interrupt_parked: u64,
    /// Nonzero while a delivery walks the thread's frames: a delivery
    /// that finds it set is inside a signal handler that interrupted the
    /// walk (and must not walk again: the unwinder may hold a lock).
    pub interrupt_walking: usize,
    /// The head of the chain this thread grew from its original stack
    /// (NULL if none): what a context saved on the original stack before
    /// the thread ever split gets back from setcontext (see ffi/context.rs).
    pub own_chain: *mut StackSegment,
    /// This thread's runtime stacks (for slow paths), one per nesting
    /// level (a signal handler that needs one while the thread is on
    /// another gets the next): mapping base, length (guard page included)
    /// and top; 0 until first needed.
    pub rt: [RuntimeStack; RT_LEVELS],
    /// Bump region carved from the thread's current chunk.
    pub bump_ptr: usize,
    pub bump_end: usize,
    /// Bytes of the free segments cached by this thread.
    pub cache_bytes: usize,
    /// Nonzero once the exit destructor is registered for this thread.
    pub registered: usize,
    /// How many runtime stacks are in use on this thread (the level the
    /// next switch takes).
    pub rt_pivots: usize,
    /// Nonzero while the thread is inside the default allocator (a signal
    /// handler that allocates then keeps off the thread's cache).
    pub busy: usize,
    /// Per size class, a LIFO of free segments linked through `next`.
    pub cache: [AtomicPtr<StackSegment>; THREAD_CACHE_CLASSES],
    /// This thread's share of the counters its warm paths move (see
    /// [`ThreadCounters`]).
    pub counters: ThreadCounters,
    /// Nonzero while the thread is on the list of threads whose counters
    /// are summed (`thread_state`): only then does it use its cache.
    pub listed: usize,
    /// That list's links.
    pub listed_next: *mut ThreadBlock,
    pub listed_prev: *mut ThreadBlock,
}

/// Statistics counters a thread keeps itself, so that its warm paths make
/// no locked read-modify-write on a shared word.  Written only by their
/// thread, with its busy flag set (a load and a store: a signal handler
/// that interrupts the thread there sees the flag and counts in the
/// process totals instead); read by any thread, summed with the process
/// totals (`thread_state::totals`); folded into those when the thread
/// exits.  The thread's cached resident bytes are its `cache_bytes`.
#[repr(C)]
pub struct ThreadCounters {
    /// Segments its warm path handed out.
    pub allocated: AtomicU64,
    /// Segments its warm path took back.
    pub freed: AtomicU64,
    /// Free segments in its cache.
    pub cached: AtomicU64,
}

impl ThreadCounters {
    /// Adds `d` (wrapping: -1 is `u64::MAX`) to one counter, without a
    /// locked instruction.
    #[inline(always)]
    pub fn bump(c: &AtomicU64, d: u64) {
        c.store(c.load(Relaxed).wrapping_add(d), Relaxed);
    }
}

/// Runtime stacks a thread can have in use at once: the thread's own slow
/// path, and signal handlers nested on top of it.
pub(crate) const RT_LEVELS: usize = 4;

/// One runtime stack.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RuntimeStack {
    pub base: usize,
    pub len: usize,
    pub top: usize,
    /// valgrind's handle for it (0 when not under valgrind).
    pub vg_stack: usize,
}

// Every layout the assembly or libgcc also sees, against the constants
// they use.
const _: () = {
    assert!(offset_of!(StackSegment, prev) == SS_SEG_PREV);
    assert!(offset_of!(StackSegment, next) == SS_SEG_NEXT);
    assert!(offset_of!(StackSegment, size) == SS_SEG_SIZE);
    assert!(offset_of!(StackSegment, old_stack) == SS_SEG_OLD_STACK);
    assert!(offset_of!(StackSegment, dynamic_allocation) == SS_SEG_DYNAMIC);
    assert!(offset_of!(StackSegment, free_dynamic_allocation) == SS_SEG_FREE_DYNAMIC);
    assert!(offset_of!(StackSegment, extra) == SS_SEG_EXTRA);
    assert!(size_of::<StackSegment>() == SS_SEG_HEADER_SIZE);
    assert!(size_of::<SegmentMeta>() <= META_BYTES);
    assert!(offset_of!(InitialSp, sp) == SS_ISP_SP);
    assert!(offset_of!(InitialSp, len) == SS_ISP_LEN);
    assert!(offset_of!(InitialSp, dont_block_signals) == SS_ISP_DONT_BLOCK);
    assert!(offset_of!(InitialSp, extra) == 0x98);
    assert!(size_of::<InitialSp>() == SS_ISP_SIZE);
    assert!(size_of::<ThreadBlock>() <= SS_THREAD_BLOCK_SIZE);
    assert!(offset_of!(ThreadBlock, morestack_calls) == SS_THREAD_MORESTACK_CALLS);
    assert!(offset_of!(ThreadBlock, interrupt_pending) == SS_THREAD_PENDING);
    assert!(offset_of!(ThreadBlock, interrupt_defer) == SS_THREAD_DEFER);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_libgcc() {
        assert_eq!(size_of::<StackSegment>(), 56);
        assert_eq!(size_of::<InitialSp>(), 184);
        assert_eq!(offset_of!(InitialSp, dont_block_signals), 0x90);
        assert_eq!(offset_of!(InitialSp, extra), 0x98);
    }
}
