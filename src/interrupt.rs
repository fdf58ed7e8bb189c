//! Interrupts through the stack limit (docs/x86_64.md, section 9): a
//! thread asks another (or itself) to run the process's interrupt
//! handler at its next entry into a split-stack function.
//!
//! A request ORs bits into the target's pending word (in its thread
//! block), orders that store before everything the target does next
//! (membarrier), and sets the mark of the target's limit (`limit`), so
//! that the target's next prologue check fails and `__morestack` runs.
//! `__morestack` splits as always and, on the new segment, asks [`take`]
//! for the bits; the handler runs there, then [`done`].
//!
//! Requesters reach the target through its [`Record`] (the C handle),
//! which outlives the thread: the thread retires it at exit, and waits for
//! requests in flight, so that no request writes into a thread descriptor
//! that glibc has recycled.

use crate::arch::current::{self as arch, SS_TCB_GUARD_OFFSET};
use crate::diag::Msg;
use crate::limit::{self, MARK};
use crate::{runtime_stack, sys, thread_state};
use core::ffi::{c_int, c_void};
use core::ptr;
use core::sync::atomic::{compiler_fence, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};

/// A thread's handle (`SplitstackThread`).
#[repr(C)]
pub struct Record {
    /// [`MAGIC`] while the record is alive.
    magic: AtomicUsize,
    /// One for the live thread, one per handle `splitstack_thread_self`
    /// returned and not yet released.
    refs: AtomicUsize,
    /// [`EXITED`], plus [`WRITER`] per request in flight.
    state: AtomicUsize,
    /// The thread's thread pointer: its limit word and thread block are at
    /// fixed offsets from it.
    tp: usize,
}

/// "SPLITTHR".
const MAGIC: usize = 0x5350_4c49_5454_4852;
const EXITED: usize = 1;
const WRITER: usize = 2;
/// `ThreadBlock::interrupt_record` of a thread whose record was retired:
/// no new one is made.
const RETIRED: usize = 1;

/// Why a request was not made.
#[derive(Debug, PartialEq, Eq)]
pub enum RequestError {
    NotAHandle,
    Exited,
}

/// The handler record the assembly calls: handler and argument.
#[repr(C)]
pub struct Delivery {
    pub handler: usize,
    pub user: *mut c_void,
}

const NO_DELIVERY: Delivery = Delivery { handler: 0, user: ptr::null_mut() };

// ---------------------------------------------------------------------
// The handler: slots written once each (round robin) and published by
// pointer, so that a reader (any thread, any signal handler) never waits
// and never sees half of one.
// ---------------------------------------------------------------------

struct Slot {
    handler: AtomicUsize,
    user: AtomicPtr<c_void>,
}

const SLOTS: usize = 64;
#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SLOT: Slot = Slot { handler: AtomicUsize::new(0), user: AtomicPtr::new(ptr::null_mut()) };
static HANDLER_SLOTS: [Slot; SLOTS] = [EMPTY_SLOT; SLOTS];
static HANDLER_NEXT: spin::Mutex<usize> = spin::Mutex::new(0);
/// Index + 1 of the slot in force, 0 for none.
static HANDLER: AtomicUsize = AtomicUsize::new(0);

/// Sets the process's handler (`h` 0: none).
pub fn set_handler(h: usize, user: *mut c_void) {
    if h == 0 {
        HANDLER.store(0, SeqCst);
        limit::armed_word().store(0, SeqCst);
        return;
    }
    let mut next = HANDLER_NEXT.lock();
    let i = *next % SLOTS;
    *next = next.wrapping_add(1);
    HANDLER_SLOTS[i].handler.store(h, Relaxed);
    HANDLER_SLOTS[i].user.store(user, Relaxed);
    HANDLER.store(i + 1, Release);
    limit::armed_word().store(1, SeqCst);
}

/// The handler in force, if any.
fn handler() -> Option<Delivery> {
    let i = HANDLER.load(Acquire).checked_sub(1)?;
    let s = HANDLER_SLOTS.get(i)?;
    Some(Delivery { handler: s.handler.load(Relaxed), user: s.user.load(Relaxed) })
}

// ---------------------------------------------------------------------
// Ordering: the requester's membarrier.
// ---------------------------------------------------------------------

const MEMBARRIER_CMD_PRIVATE_EXPEDITED: usize = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: usize = 1 << 4;
/// 0: not registered yet; 1: membarrier; 2: unavailable (fences only).
static ORDER: AtomicUsize = AtomicUsize::new(0);

fn membarrier(cmd: usize) -> isize {
    // SAFETY: membarrier takes no pointers.
    unsafe { arch::syscall6(libc::SYS_membarrier as usize, cmd, 0, 0, 0, 0, 0) }
}

/// Registers the process for expedited membarriers (once).
fn register_order() {
    if ORDER.load(Acquire) != 0 {
        return;
    }
    let r = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
    let how = if r == 0 { 1 } else { 2 };
    if ORDER.compare_exchange(0, how, AcqRel, Acquire).is_ok() && how == 2 {
        Msg::new()
            .s("membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) failed (errno ")
            .dec(r.unsigned_abs() as u64)
            .s("): an interrupt request may wait for its thread's next split or limit write")
            .emit();
    }
}

/// Orders this thread's pending store before every load each other
/// thread of the process makes after this returns.
fn order() {
    if ORDER.load(Relaxed) == 1 && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0 {
        return;
    }
    core::sync::atomic::fence(SeqCst);
}

// ---------------------------------------------------------------------
// Records.
// ---------------------------------------------------------------------

/// The pending word of the thread whose thread pointer is `tp`.
fn pending_word(tp: usize) -> *const AtomicU64 {
    tp.wrapping_add(crate::arch::tls_thread_block_offset())
        .wrapping_add(core::mem::offset_of!(crate::layout::ThreadBlock, interrupt_pending)) as *const AtomicU64
}

/// The limit word of the thread whose thread pointer is `tp`.
fn limit_word(tp: usize) -> *const AtomicUsize {
    tp.wrapping_add(SS_TCB_GUARD_OFFSET) as *const AtomicUsize
}

/// Why [`thread_self`] made no handle.
pub enum SelfError {
    Exiting,
    NoMemory,
    /// The exit destructor could not be armed (errno).
    NoDestructor(c_int),
}

/// The calling thread's record, with one more reference.
pub fn thread_self() -> Result<*mut Record, SelfError> {
    let tb = thread_state::thread_block();
    // SAFETY: tb is the calling thread's block; a record it names is
    // alive (the thread's own reference).
    unsafe {
        let r = (*tb).interrupt_record as *mut Record;
        if r as usize == RETIRED {
            return Err(SelfError::Exiting);
        }
        if !r.is_null() {
            (*r).refs.fetch_add(1, Relaxed);
            return Ok(r);
        }
        register_order();
        thread_state::register_exit_destructor().map_err(SelfError::NoDestructor)?;
        if (*tb).registered == 0 && !sys::is_main_thread() {
            // Only the main thread's descriptor is never recycled: every
            // other thread must retire its record at exit.
            return Err(SelfError::NoDestructor(libc::EAGAIN));
        }
        let r = libc::malloc(core::mem::size_of::<Record>()) as *mut Record;
        if r.is_null() {
            return Err(SelfError::NoMemory);
        }
        r.write(Record {
            magic: AtomicUsize::new(MAGIC),
            refs: AtomicUsize::new(2),
            state: AtomicUsize::new(0),
            tp: arch::thread_pointer(),
        });
        (*tb).interrupt_record = r as *mut c_void;
        Ok(r)
    }
}

/// Whether `r` looks like a live record (best effort: a released one's
/// magic is cleared before it is freed).
///
/// # Safety
/// `r` must be readable (a handle, live or released).
pub unsafe fn is_record(r: *const Record) -> bool {
    // SAFETY: the caller's promise.
    unsafe { (*r).magic.load(Relaxed) == MAGIC }
}

/// Drops one reference to `r`.
///
/// # Safety
/// `r` must be a live record with a reference the caller owns.
pub unsafe fn release(r: *mut Record) {
    // SAFETY: the caller owns a reference, so the record is alive until
    // this drops it; the last reference frees it.
    unsafe {
        if (*r).refs.fetch_sub(1, AcqRel) == 1 {
            (*r).magic.store(0, Relaxed);
            libc::free(r as *mut c_void);
        }
    }
}

/// ORs `bits` (nonzero) into `r`'s thread's pending set and marks its
/// limit.  Async-signal-safe.
///
/// # Safety
/// `r` must be a live record (a handle not yet released).
pub unsafe fn request(r: *mut Record, bits: u64) -> Result<(), RequestError> {
    // SAFETY: the caller's promise; the target's words are written only
    // while our WRITER count keeps it from finishing its exit (retire).
    unsafe {
        if !is_record(r) {
            return Err(RequestError::NotAHandle);
        }
        let s = (*r).state.fetch_add(WRITER, SeqCst);
        if s & EXITED != 0 {
            (*r).state.fetch_sub(WRITER, Release);
            return Err(RequestError::Exited);
        }
        let tp = (*r).tp;
        (*pending_word(tp)).fetch_or(bits, SeqCst);
        if tp != arch::thread_pointer() {
            order();
        }
        limit::mark_remote(limit_word(tp));
        (*r).state.fetch_sub(WRITER, Release);
        Ok(())
    }
}

/// At the calling thread's exit: retires its record (after this, requests
/// get `Exited`), waiting for requests in flight.
pub fn thread_exiting() {
    let tb = thread_state::thread_block();
    // SAFETY: tb is the calling thread's block; the record it names is
    // alive (the thread's reference, dropped last here).
    unsafe {
        let r = (*tb).interrupt_record as *mut Record;
        (*tb).interrupt_record = RETIRED as *mut c_void;
        if r.is_null() || r as usize == RETIRED {
            return;
        }
        (*r).state.fetch_or(EXITED, SeqCst);
        let mut spins = 0u32;
        while (*r).state.load(Acquire) >= WRITER {
            spins += 1;
            if spins < 64 {
                core::hint::spin_loop();
            } else {
                sys::sched_yield();
            }
        }
        release(r);
    }
}

// ---------------------------------------------------------------------
// The target's side: delivery, defer, poll.
// ---------------------------------------------------------------------

/// `__morestack` on a new segment, the pending word nonzero: the handler
/// to run now with `*bits`, or none (deferred, no handler, nothing left,
/// or inside a signal handler).
pub fn take(bits: &mut u64) -> Delivery {
    let tb = thread_state::thread_block();
    // SAFETY: tb is the calling thread's block.
    unsafe {
        if (*tb).interrupt_defer != 0 || (*tb).interrupt_pending.load(Relaxed) == 0 {
            return NO_DELIVERY;
        }
        let Some(d) = handler() else { return NO_DELIVERY };
        // Inside a signal handler the handler does not run.  Finding that
        // out walks the stack, so after a walk that found a signal frame
        // none is made for PARK_NS: entries meanwhile run against the
        // real limit (the bits stay pending, and REARM brings the mark
        // back when a split returns), and the first entry after that
        // outside the signal handler delivers.
        let now = now_ns();
        let parked = (*tb).interrupt_parked;
        if parked != 0 && now.wrapping_sub(parked) < PARK_NS {
            limit::unmark_self();
            return NO_DELIVERY;
        }
        if in_signal_handler() {
            (*tb).interrupt_parked = now.max(1);
            limit::unmark_self();
            return NO_DELIVERY;
        }
        (*tb).interrupt_parked = 0;
        let b = (*tb).interrupt_pending.swap(0, AcqRel);
        if b == 0 || d.handler == 0 {
            return NO_DELIVERY;
        }
        (*tb).interrupt_defer += 1;
        // A mark a request set since the switch (the bits are taken):
        // the handler's own entries run against the real limit.
        limit::unmark_self();
        *bits = b;
        d
    }
}

/// After the handler returned or threw (on whichever thread the code now
/// runs): requests made meanwhile become deliverable at the next entry.
pub fn done() {
    let tb = thread_state::thread_block();
    // SAFETY: tb is the calling thread's block.
    unsafe {
        (*tb).interrupt_defer = (*tb).interrupt_defer.saturating_sub(1);
    }
    limit::rearm(limit::get());
}

/// `splitstack_interrupt_poll`: takes the calling thread's pending bits
/// and clears its mark.
pub fn poll() -> u64 {
    let tb = thread_state::thread_block();
    // SAFETY: tb is the calling thread's block.
    let bits = unsafe { (*tb).interrupt_pending.swap(0, AcqRel) };
    let v = arch::get_guard();
    if v != usize::MAX && v & MARK != 0 {
        limit::store(v);
    }
    bits
}

/// `splitstack_interrupt_defer`.
pub fn defer() {
    let tb = thread_state::thread_block();
    // SAFETY: tb is the calling thread's block.
    unsafe { (*tb).interrupt_defer += 1 };
}

/// `splitstack_interrupt_undefer`; false (nothing changed) when nothing
/// was deferred.
pub fn undefer() -> bool {
    let tb = thread_state::thread_block();
    // SAFETY: tb is the calling thread's block.
    unsafe {
        if (*tb).interrupt_defer == 0 {
            return false;
        }
        (*tb).interrupt_defer -= 1;
    }
    limit::rearm(limit::get());
    true
}

// ---------------------------------------------------------------------
// Signal context: a walk of the calling thread's frames with the
// unwinder, which flags the frame a signal interrupted.
// ---------------------------------------------------------------------

extern "C" {
    fn _Unwind_Backtrace(trace: extern "C" fn(*mut c_void, *mut c_void) -> c_int, arg: *mut c_void) -> c_int;
    fn _Unwind_GetIPInfo(ctx: *mut c_void, ip_before_insn: *mut c_int) -> usize;
}

/// How long after finding the thread inside a signal handler delivery
/// does not look again (ns).
const PARK_NS: u64 = 100_000;

/// CLOCK_MONOTONIC in ns (through the vDSO: async-signal-safe, no system
/// call).
fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is writable.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64)
}

/// Frames walked at most.
const WALK_MAX: usize = 1 << 16;
/// _URC_END_OF_STACK: stops the walk.
const STOP: c_int = 5;

struct Walk {
    frames: usize,
    signal: bool,
}

extern "C" fn step(ctx: *mut c_void, arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Walk below; ctx is the unwinder's context for
    // this frame, valid during the callback.
    unsafe {
        let w = &mut *(arg as *mut Walk);
        let mut before: c_int = 0;
        _Unwind_GetIPInfo(ctx, &mut before);
        if before != 0 {
            w.signal = true;
            return STOP;
        }
        w.frames += 1;
        if w.frames >= WALK_MAX {
            return STOP;
        }
    }
    0
}

/// Whether the calling code runs inside a signal handler: some frame
/// between here and the base of the stack was interrupted by a signal.
/// Walks on the runtime stack (the unwinder is not split-stack code).
fn in_signal_handler() -> bool {
    let tb = thread_state::thread_block();
    // SAFETY: tb is the calling thread's block; a signal handler that
    // interrupts us between these accesses restores the flag before we
    // resume.
    unsafe {
        if (*tb).interrupt_walking != 0 {
            // A signal handler interrupted this thread's own walk.
            return true;
        }
        (*tb).interrupt_walking = 1;
    }
    compiler_fence(SeqCst);
    let mut w = Walk { frames: 0, signal: false };
    let p = &mut w as *mut Walk as *mut c_void;
    runtime_stack::on_runtime_stack(|| {
        // SAFETY: `p` is `w`, alive for the call; the callback only
        // touches it.
        unsafe { _Unwind_Backtrace(step, p) };
    });
    compiler_fence(SeqCst);
    // SAFETY: as above.
    unsafe { (*tb).interrupt_walking = 0 };
    w.signal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_word_is_the_tcb_slot() {
        let tp = arch::thread_pointer();
        let w = limit_word(tp);
        // SAFETY: this thread's own limit word.
        assert_eq!(unsafe { (*w).load(Relaxed) }, arch::get_guard());
    }

    #[test]
    fn pending_word_is_the_thread_blocks() {
        let tp = arch::thread_pointer();
        let tb = thread_state::thread_block();
        // SAFETY: both name this thread's block.
        unsafe {
            assert_eq!(pending_word(tp), &(*tb).interrupt_pending as *const AtomicU64);
        }
    }
}
