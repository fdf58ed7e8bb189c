//! Blocks for `alloca` and variable-length arrays that do not fit on the
//! current segment (`__morestack_allocate_stack_space`).
//!
//! libgcc mallocs them, frees them only when a segment is reused, and
//! leaks those made on the original stack (GCC PR 106949).  Here each
//! block is its own mapping whose first 64 bytes record the stack pointer
//! of the frame that asked for it.  A block is dead once the stack pointer
//! of a later request on the same stack is above that frame's (the frame
//! returned), and every block of a segment is dead when `__morestack`
//! leaves the segment or an exception unwinds out of it.  Lists are
//! changed with single atomic instructions so that a signal handler that
//! allocates in the middle of an update leaves nothing inconsistent.

use crate::{asan, config, diag, stats, sync, sys, thread_state, valgrind};
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering::*};

/// The header of a block's mapping.
#[repr(C)]
pub struct AllocaBlock {
    next: *mut AllocaBlock,
    /// Length of the whole mapping.
    map_len: usize,
    /// Stack pointer of the requesting frame.
    owner_sp: usize,
    /// Which stack the frame was on: the segment, or the original
    /// stack's top.
    stack_id: usize,
}

/// Offset of the usable block in the mapping (keeps 64-byte alignment).
const BLOCK_OFFSET: usize = 64;

/// The list at `head` as an atomic word.
///
/// # Safety
/// `head` must be the address of a pointer-sized, aligned list field of a
/// live segment header or of the thread's initial_sp record.
unsafe fn list<'a>(head: *mut *mut AllocaBlock) -> &'a AtomicPtr<AllocaBlock> {
    // SAFETY: the caller's promise.
    unsafe { &*(head as *const AtomicPtr<AllocaBlock>) }
}

fn next_of(b: *mut AllocaBlock) -> *mut *mut AllocaBlock {
    // SAFETY: only the field's address is computed.
    unsafe { ptr::addr_of_mut!((*b).next) }
}

/// # Safety
/// `b` must be a block of ours nothing uses.
unsafe fn unmap_block(b: *mut AllocaBlock) {
    // SAFETY: the caller's promise: the header is ours to read, the
    // mapping ours to unmap.
    unsafe {
        let len = (*b).map_len;
        // The instrumented caller poisoned redzones around its block, and
        // the range may be mapped again for something else.
        asan::unpoison(b as usize, len);
        // A failure here means the header was overwritten: nothing sane to
        // do but leave the mapping alone.
        let _ = sys::munmap(b as usize, len);
        stats::alloca_unmapped(len);
    }
}

/// Frees every block of a list (the owning frames are all gone).
///
/// # Safety
/// `head` must be the list field of a live segment or initial_sp record.
pub unsafe fn free_list(head: *mut *mut AllocaBlock) {
    // SAFETY: the caller's promise; the detached blocks are ours alone.
    unsafe {
        let mut b = list(head).swap(ptr::null_mut(), AcqRel);
        while !b.is_null() {
            let next = (*b).next;
            unmap_block(b);
            b = next;
        }
    }
}

/// Frees the blocks of `head` made on stack `stack_id` by frames below
/// `sp` (returned frames), keeping the others.
///
/// # Safety
/// As [`free_list`].
unsafe fn prune(head: *mut *mut AllocaBlock, stack_id: usize, sp: usize) {
    // SAFETY: the caller's promise; the detached blocks are ours alone
    // until the survivors are pushed back.
    unsafe {
        let l = list(head);
        let mut b = l.swap(ptr::null_mut(), AcqRel);
        let mut keep_head: *mut AllocaBlock = ptr::null_mut();
        let mut keep_tail: *mut AllocaBlock = ptr::null_mut();
        while !b.is_null() {
            let next = (*b).next;
            if (*b).stack_id == stack_id && (*b).owner_sp < sp {
                unmap_block(b);
            } else {
                (*b).next = ptr::null_mut();
                if keep_tail.is_null() {
                    keep_head = b;
                } else {
                    (*keep_tail).next = b;
                }
                keep_tail = b;
            }
            b = next;
        }
        if !keep_head.is_null() {
            // Back in front of anything a signal handler added meanwhile.
            sync::push_chain(l, keep_head, keep_tail, next_of);
        }
    }
}

/// `__morestack_allocate_stack_space`: a block of `size` bytes for the
/// frame whose stack pointer is `caller_sp`, on the current stack.
pub fn allocate(size: usize, caller_sp: usize) -> *mut u8 {
    let cur = thread_state::current().load(Relaxed);
    // SAFETY: the fields of the current segment or of the thread's
    // initial_sp record; only their addresses and identity are taken.
    let (head, stack_id): (*mut *mut AllocaBlock, usize) = unsafe {
        if cur.is_null() {
            let isp = thread_state::initial_sp();
            (ptr::addr_of_mut!((*isp).extra[0]) as *mut *mut AllocaBlock, (*isp).sp as usize)
        } else {
            (ptr::addr_of_mut!((*cur).extra) as *mut *mut AllocaBlock, cur as usize)
        }
    };
    // SAFETY: a list field of the current stack.
    unsafe { prune(head, stack_id, caller_sp) };

    let Some(len) = size.checked_add(BLOCK_OFFSET).and_then(config::page_round) else {
        diag::Msg::new()
            .s("alloca of ")
            .dec(size as u64)
            .s(" bytes is larger than the address space; aborting")
            .fatal();
    };
    let addr = match sys::mmap_anon(len) {
        Ok(a) => a,
        Err(errno) => diag::Msg::new()
            .s("out of memory: cannot map ")
            .dec(len as u64)
            .s(" bytes for an alloca/VLA block (errno ")
            .dec(errno as u64)
            .s("); aborting")
            .fatal(),
    };
    stats::alloca_mapped(len);
    // For memcheck the block is stack memory: its contents undefined, as
    // a frame's would be, and the rest of the mapping out of bounds.
    valgrind::make_undefined(addr + BLOCK_OFFSET, size);
    valgrind::make_noaccess(addr + BLOCK_OFFSET + size, len - BLOCK_OFFSET - size);
    let b = addr as *mut AllocaBlock;
    // SAFETY: a fresh mapping of ours, pushed once onto the current
    // stack's list.
    unsafe {
        b.write(AllocaBlock { next: ptr::null_mut(), map_len: len, owner_sp: caller_sp, stack_id });
        sync::push_chain(list(head), b, b, next_of);
    }
    (addr + BLOCK_OFFSET) as *mut u8
}

/// Frees the alloca blocks made on the calling thread's original stack.
pub fn free_initial_stack_blocks() {
    let isp = thread_state::initial_sp();
    // SAFETY: initial_sp is this thread's TLS record.
    unsafe { free_list(ptr::addr_of_mut!((*isp).extra[0]) as *mut *mut AllocaBlock) }
}
