//! Sizing a context's first segment for the demand contexts make.
//!
//! A coroutine whose entry calls code without split-stack prologues
//! through gold's rewrite asks for 1 MiB more stack the moment it calls
//! it (docs/x86_64.md section 5), so a context made with a small stack
//! soon links a second segment over 1 MiB: two segments, and (with two
//! resident pages each) twice the memory of one.  As Go sizes new stacks
//! from what earlier ones used, makecontext gives a new context a first
//! segment big enough for what recent contexts needed once most of them
//! needed it, so that it holds the whole demand alone.  Only address
//! space grows: the segment's untouched pages are never resident.
//!
//! The estimate is process-wide, kept with relaxed atomics (a race only
//! blurs an estimate):
//! - a context made at the size asked for is a probe ([`FIRST_PROBE`] in
//!   its first segment's meta);
//! - a probe whose first segment overflows for the non-split demand (a
//!   request of at least `SS_NON_SPLIT_STACK`) raises the score by 2 and
//!   sets the hint to what was in use on it plus what the overflow asked
//!   for (other overflows, an ordinary deep recursion, are not followed);
//! - a probe released without ever overflowing lowers it by 1;
//! - while the score is at least [`ENLARGE_AT`], contexts are made at the
//!   hint, except every [`PROBE_EVERY`]th, made as asked (a probe), so
//!   that a workload that stops overflowing brings the score back down.

use crate::alloc;
use crate::arch::current::SS_NON_SPLIT_STACK;
use crate::layout::{StackSegment, FIRST_PROBE};
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Score at which contexts are made at the hint.
pub(crate) const ENLARGE_AT: usize = 4;
/// The score's ceiling.
const SCORE_MAX: usize = 8;
/// One context in this many is a probe while contexts are enlarged.
pub(crate) const PROBE_EVERY: usize = 64;
/// The largest hint followed (bytes): deeper demands split as usual.
pub(crate) const HINT_MAX: usize = 8 << 20;

static SCORE: AtomicUsize = AtomicUsize::new(0);
static HINT: AtomicUsize = AtomicUsize::new(0);
static MADE: AtomicUsize = AtomicUsize::new(0);

/// The usable size to give a new context that asked for `asked`, and
/// whether it is a probe.
pub fn first_size(asked: usize) -> (usize, bool) {
    let hint = HINT.load(Relaxed);
    if SCORE.load(Relaxed) >= ENLARGE_AT && hint > asked {
        // A load and a store, not a locked add: a count lost to a race
        // only moves the next probe.
        let n = MADE.load(Relaxed);
        MADE.store(n.wrapping_add(1), Relaxed);
        if !n.is_multiple_of(PROBE_EVERY) {
            return (hint, false);
        }
    }
    (asked, true)
}

/// Marks a new context's first segment as a probe.
///
/// # Safety
/// `seg` must be a live segment nothing else uses yet.
pub unsafe fn mark_probe(seg: *mut StackSegment) {
    // SAFETY: the caller's promise.
    unsafe {
        let f = alloc::flags(seg);
        if !f.is_null() {
            *f |= FIRST_PROBE;
        }
    }
}

/// `cur`, a segment of the running chain with `used` bytes of it in use,
/// overflows: the next segment must hold `need` bytes.  Counts it if
/// `cur` is a probe.
///
/// # Safety
/// `cur` must be a live segment.
pub unsafe fn overflowed(cur: *mut StackSegment, used: usize, need: usize) {
    // SAFETY: the caller's promise; the flag word is the chain's.
    unsafe {
        let f = alloc::flags(cur);
        if f.is_null() || *f & FIRST_PROBE == 0 {
            return;
        }
        *f &= !FIRST_PROBE;
        // Only gold's non-split demand is followed: an ordinary deep
        // recursion gains nothing from a bigger first segment (and tests
        // that mean to leave it would not).
        if need < SS_NON_SPLIT_STACK {
            return;
        }
        let want = used.saturating_add(need);
        if want <= HINT_MAX {
            HINT.store(want, Relaxed);
            let s = SCORE.load(Relaxed);
            SCORE.store((s + 2).min(SCORE_MAX), Relaxed);
        }
    }
}

/// `seg` goes back to its allocator: a probe that never overflowed lowers
/// the score.
///
/// # Safety
/// `seg` must be a live segment.
pub unsafe fn released(seg: *mut StackSegment) {
    // SAFETY: the caller's promise.
    unsafe {
        let f = alloc::flags(seg);
        if !f.is_null() && *f & FIRST_PROBE != 0 {
            let s = SCORE.load(Relaxed);
            SCORE.store(s.saturating_sub(1), Relaxed);
        }
    }
}
