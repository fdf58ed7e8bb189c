//! This runtime's additions to the API: settings, statistics and
//! allocator registration.

use super::types::{SplitstackAllocator, SplitstackResult, SplitstackStats, SPLITSTACK_ALLOCATOR_VERSION};
use crate::alloc::guard;
use crate::alloc::user::{self, RegisterError, Vtable};
use crate::diag::Msg;
use crate::{config, stats, thread_state};
use core::ptr;

/// Copies the runtime's counters into `*out`, at most `out_size` bytes of
/// them (pass `sizeof(SplitstackStats)`: a program built against an
/// older, shorter struct gets the fields it knows).  Returns the number of
/// bytes written, or 0 (with a message) when `out` is NULL.
///
/// # Safety
/// `out` must be NULL or writable for `out_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn splitstack_get_stats(out: *mut SplitstackStats, out_size: usize) -> usize {
    if out.is_null() {
        Msg::new().s("splitstack_get_stats: NULL output pointer").emit();
        return 0;
    }
    let mut snap = SplitstackStats::from(stats::snapshot(thread_state::totals()));
    let g = guard::counts();
    snap.guard_mode = g.mode as u64;
    snap.guard_markers = g.markers as u64;
    snap.guard_mprotects = g.protected as u64;
    snap.guard_unguarded = g.unguarded as u64;
    let n = out_size.min(core::mem::size_of::<SplitstackStats>());
    // SAFETY: the caller says `out` has room for `out_size` bytes (we
    // write at most that); `snap` is a plain struct of u64s.
    unsafe { ptr::copy_nonoverlapping(&snap as *const SplitstackStats as *const u8, out as *mut u8, n) };
    n
}

/// The current reserve: bytes between a segment's lowest usable byte and
/// its stack limit (see `splitstack_set_reserve`).
#[no_mangle]
pub extern "C" fn splitstack_segment_slack() -> usize {
    config::slack()
}

/// Registers the allocator every new segment comes from (process-wide,
/// copied; NULL restores the default).  Segments already allocated go
/// back to the allocator that gave them.  See README, "Allocators".
///
/// # Safety
/// `allocator` must be NULL or point to a readable `SplitstackAllocator`.
#[no_mangle]
pub unsafe extern "C" fn splitstack_set_allocator(allocator: *const SplitstackAllocator) -> SplitstackResult {
    let v = if allocator.is_null() {
        None
    } else {
        // SAFETY: the caller passes a readable struct (checked non-NULL).
        let a = unsafe { allocator.read() };
        if a.version != SPLITSTACK_ALLOCATOR_VERSION {
            Msg::new()
                .s("splitstack_set_allocator: unknown version ")
                .dec(a.version as u64)
                .s(" (this library knows 1)")
                .emit();
            return SplitstackResult::SplitstackBadVersion;
        }
        let (Some(allocate), Some(free)) = (a.allocate, a.free) else {
            Msg::new().s("splitstack_set_allocator: allocate and free must both be set").emit();
            return SplitstackResult::SplitstackNullArgument;
        };
        if a.flags != 0 {
            Msg::new().s("splitstack_set_allocator: flags must be 0").emit();
            return SplitstackResult::SplitstackInvalidValue;
        }
        Some(Vtable { allocate, free, user: a.user })
    };
    match user::register(v) {
        Ok(()) => SplitstackResult::SplitstackOk,
        Err(RegisterError::TooMany) => {
            Msg::new().s("splitstack_set_allocator: more than 64 allocators registered in this process").emit();
            SplitstackResult::SplitstackTooManyAllocators
        }
    }
}

/// Sets the minimum usable bytes above the limit of new segments (the
/// frames a segment holds at least; default 32 KiB).  Must be a multiple
/// of 16 between 512 and 1 GiB; otherwise nothing changes and the
/// result says why (a message too).
#[no_mangle]
pub extern "C" fn splitstack_set_min_segment_size(bytes: usize) -> SplitstackResult {
    match config::check_min_segment(bytes) {
        Some(why) => {
            Msg::new().s("splitstack_set_min_segment_size(").dec(bytes as u64).s("): ").s(why).s("; unchanged").emit();
            SplitstackResult::SplitstackInvalidValue
        }
        None => {
            config::set_min_segment(bytes);
            SplitstackResult::SplitstackOk
        }
    }
}

/// The current minimum segment size (see `splitstack_set_min_segment_size`).
#[no_mangle]
pub extern "C" fn splitstack_min_segment_size() -> usize {
    config::min_segment()
}

/// Sets the reserve: bytes kept under the limit of new segments for code
/// that does not check it (signal frames, non-split callees, the
/// runtime).  The default covers a full signal frame; programs whose
/// handlers run on an alternate stack (or are blocked) may go down to
/// 1024.  Multiple of 16, 1024 .. 1 GiB; otherwise nothing changes.
#[no_mangle]
pub extern "C" fn splitstack_set_reserve(bytes: usize) -> SplitstackResult {
    match config::check_reserve(bytes) {
        Some(why) => {
            Msg::new().s("splitstack_set_reserve(").dec(bytes as u64).s("): ").s(why).s("; unchanged").emit();
            SplitstackResult::SplitstackInvalidValue
        }
        None => {
            config::set_reserve(bytes);
            SplitstackResult::SplitstackOk
        }
    }
}

/// The default reserve on this machine (what `SPLITSTACK_RESERVE` unset
/// gives).
#[no_mangle]
pub extern "C" fn splitstack_default_reserve() -> usize {
    config::default_reserve()
}

/// Sets the high-water mark of cached segment memory: beyond it, freed
/// segments give their pages back to the OS (default 256 MiB).  It bounds
/// the process-wide pool; each thread's own cache (at most 8 MiB, for its
/// warm paths) comes on top.
#[no_mangle]
pub extern "C" fn splitstack_set_cache_max(bytes: usize) -> SplitstackResult {
    config::set_cache_max(bytes);
    SplitstackResult::SplitstackOk
}

/// Guard pages below segments: `SPLITSTACK_GUARD_OFF` (0),
/// `SPLITSTACK_GUARD_ON` (1: page-table markers, `mprotect` where the
/// kernel refuses them) or `SPLITSTACK_GUARD_MPROTECT` (2).  As the
/// `SPLITSTACK_GUARD` variable, which it overrides; only before the first
/// segment exists (the mode is fixed then): afterwards, or for another
/// value, nothing changes and the result says why (a message too).  See
/// README, "Guard pages".
#[no_mangle]
pub extern "C" fn splitstack_set_guard_pages(mode: u32) -> SplitstackResult {
    let mode = mode as usize;
    if mode > config::GUARD_MPROTECT {
        return guard_refused(mode, None);
    }
    let fixed = guard::counts().mode;
    if !guard::undecided() && fixed != mode && !(mode == config::GUARD_ON && fixed == config::GUARD_MPROTECT) {
        return guard_refused(mode, Some(fixed));
    }
    config::set_guard(mode);
    crate::overrun::init();
    SplitstackResult::SplitstackOk
}

/// The message of a refused `splitstack_set_guard_pages` (out of line:
/// one message buffer on the stack, only when there is something to say).
#[cold]
#[inline(never)]
fn guard_refused(mode: usize, fixed: Option<usize>) -> SplitstackResult {
    let mut m = Msg::new();
    m.s("splitstack_set_guard_pages(").dec(mode as u64);
    match fixed {
        None => m.s("): not 0, 1 or 2; unchanged"),
        Some(f) => m
            .s("): segments exist already, with mode ")
            .dec(f as u64)
            .s("; unchanged (call it before the first split-stack call, or use SPLITSTACK_GUARD)"),
    };
    m.emit();
    SplitstackResult::SplitstackInvalidValue
}

/// The guard-page mode in force: 0 off, 1 page-table markers, 2
/// `mprotect` pages (also when markers were asked for and refused).
#[no_mangle]
pub extern "C" fn splitstack_guard_pages() -> u32 {
    guard::counts().mode as u32
}
