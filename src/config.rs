//! Process-wide settings, read once at start-up and then only loaded.
//!
//! * the page size, from the auxiliary vector (never assumed);
//! * the slack: bytes between a segment's lowest usable byte and its
//!   limit.  It holds what may run below the limit without checking:
//!   libgcc's BACKOFF for non-split callees and `__morestack` itself, plus
//!   a full signal frame (AT_MINSIGSTKSZ, 11952 bytes on a machine with
//!   AMX state) and room for a handler's first prologue to call
//!   `__morestack` again.  libgcc reserves only BACKOFF, so a signal that
//!   lands deep in a segment can write below it;
//! * the minimum usable size of a segment.

use crate::arch::current::SS_BACKOFF;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
static SLACK: AtomicUsize = AtomicUsize::new(0);
static MIN_SEGMENT: AtomicUsize = AtomicUsize::new(0);

/// Room for a handler's first split-stack prologue and the nested
/// `__morestack` frame plus its helper, on top of the signal frame.
pub const HANDLER_RESERVE: usize = 1024;
/// Smallest signal frame assumed when the kernel does not say.
pub const MIN_SIGNAL_FRAME: usize = 2048;
/// Usable bytes of a segment above its limit, at least.
pub const DEFAULT_MIN_ABOVE_LIMIT: usize = 16 * 1024;

const AT_MINSIGSTKSZ: libc::c_ulong = 51;

fn round_up(v: usize, to: usize) -> usize {
    (v + to - 1) / to * to
}

/// Reads the settings; idempotent and cheap after the first call.
pub fn init() {
    if PAGE_SIZE.load(Relaxed) != 0 {
        return;
    }
    // SAFETY: getauxval only reads the auxiliary vector.
    let (page, minsig) = unsafe { (libc::getauxval(libc::AT_PAGESZ), libc::getauxval(AT_MINSIGSTKSZ)) };
    let page = if page == 0 || !(page as usize).is_power_of_two() { 4096 } else { page as usize };
    let sigframe = (minsig as usize).max(MIN_SIGNAL_FRAME);
    let slack = round_up(SS_BACKOFF + sigframe + HANDLER_RESERVE, 64);
    SLACK.store(slack, Relaxed);
    MIN_SEGMENT.store(slack + DEFAULT_MIN_ABOVE_LIMIT, Relaxed);
    PAGE_SIZE.store(page, Relaxed);
}

#[inline]
pub fn page_size() -> usize {
    let p = PAGE_SIZE.load(Relaxed);
    if p != 0 {
        return p;
    }
    init();
    PAGE_SIZE.load(Relaxed)
}

#[inline]
pub fn slack() -> usize {
    let s = SLACK.load(Relaxed);
    if s != 0 {
        return s;
    }
    init();
    SLACK.load(Relaxed)
}

#[inline]
pub fn min_segment() -> usize {
    let s = MIN_SEGMENT.load(Relaxed);
    if s != 0 {
        return s;
    }
    init();
    MIN_SEGMENT.load(Relaxed)
}

/// Rounds `v` up to a multiple of the page size; None on overflow.
pub fn page_round(v: usize) -> Option<usize> {
    let p = page_size();
    v.checked_add(p - 1).map(|x| x & !(p - 1))
}
