//! The calling thread's split-stack state: three TLS variables with
//! libgcc's names and layouts (defined in the assembly, because stable
//! Rust cannot define exported thread-locals) reached through
//! initial-exec TLS accesses.

use crate::arch::current;
use crate::segment::StackSegment;
use core::sync::atomic::AtomicPtr;

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

/// `&__morestack_segments` of the calling thread: the head of its list.
#[inline(always)]
pub fn segments() -> &'static AtomicPtr<StackSegment> {
    // SAFETY: the address is the calling thread's TLS slot, valid for the
    // thread's life and 8-byte aligned; it is only ever accessed as a
    // pointer-sized word (by this thread, and by its signal handlers).
    unsafe { &*(crate::arch::tls_segments() as *const AtomicPtr<StackSegment>) }
}

/// `&__morestack_current_segment`: the segment the thread runs on, NULL
/// on its original stack.
#[inline(always)]
pub fn current() -> &'static AtomicPtr<StackSegment> {
    // SAFETY: as for `segments`.
    unsafe { &*(crate::arch::tls_current_segment() as *const AtomicPtr<StackSegment>) }
}

/// Size classes the per-thread cache keeps (see allocator.rs).
pub(crate) const MAX_CLASSES: usize = 64;

/// The runtime's own per-thread state: a hidden TLS block defined in the
/// assembly (`splitstack_thread`, SS_THREAD_BLOCK_SIZE bytes, zero in a
/// new thread).
#[repr(C)]
pub struct ThreadBlock {
    /// `__morestack` calls on this thread (incremented by the assembly).
    pub morestack_calls: u64,
    /// The head of the chain this thread grew from its original stack
    /// (NULL if none): what a context saved on the original stack before
    /// the thread ever split gets back from setcontext (see api.rs).
    pub own_chain: *mut StackSegment,
    /// This thread's runtime stacks (for slow paths), one per nesting
    /// level (a signal handler that needs one while the thread is on
    /// another gets the next): mapping base, length (guard page included)
    /// and top; 0 until first needed.
    pub rt: [RuntimeStack; RT_LEVELS],
    /// Bump region carved from the thread's current chunk.
    pub bump_ptr: usize,
    pub bump_end: usize,
    /// Free segments cached by this thread: bytes and count.
    pub cache_bytes: usize,
    pub cache_count: usize,
    /// Nonzero once the exit destructor is registered for this thread.
    pub registered: usize,
    /// How many runtime stacks are in use on this thread (the level the
    /// next switch takes).
    pub rt_pivots: usize,
    /// Nonzero while the thread is inside the default allocator (a signal
    /// handler that allocates then keeps off the thread's cache).
    pub busy: usize,
    /// Per size class, a LIFO of free segments linked through `next`.
    pub cache: [AtomicPtr<StackSegment>; MAX_CLASSES],
}

const _: () = {
    assert!(core::mem::size_of::<ThreadBlock>() <= current::SS_THREAD_BLOCK_SIZE);
    assert!(core::mem::offset_of!(ThreadBlock, morestack_calls) == current::SS_THREAD_MORESTACK_CALLS);
};

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

/// The calling thread's block.
#[inline(always)]
pub fn thread_block() -> *mut ThreadBlock {
    crate::arch::tls_thread_block() as *mut ThreadBlock
}

/// `__morestack_initial_sp` of the calling thread.
#[inline(always)]
pub fn initial_sp() -> *mut InitialSp {
    crate::arch::tls_initial_sp() as *mut InitialSp
}
