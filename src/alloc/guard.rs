//! Guard pages below segments (`SPLITSTACK_GUARD`, off by default): one
//! inaccessible page under every block of a page or more and under every
//! slab of smaller blocks, made when the memory is mapped or carved from
//! a chunk, never per makecontext or per split.  Cached, pooled and cold
//! blocks keep theirs (guards survive `MADV_DONTNEED`; munmap clears
//! them).  A fork child inherits them (no stack memory is ever
//! `MADV_WIPEONFORK`).
//!
//! The guards are `MADV_GUARD_INSTALL` markers (Linux 6.13+): page-table
//! entries, not mappings, so a million of them add no kernel mapping.
//! Where the kernel refuses them (older kernels; mlock'd memory) or
//! accepts but ignores them (the first marker made is probed: qemu-user
//! says yes to advice it does not know), under valgrind (which passes
//! the advice on but knows nothing of markers), or with
//! `SPLITSTACK_GUARD=mprotect`, they are `PROT_NONE` pages made with
//! `mprotect`: each splits its mapping in two, so at most
//! [`MPROTECT_CAP`] are made (a sixth of the default vm.max_map_count of
//! 65530); memory carved beyond that is unguarded, said once on stderr
//! and counted.
//!
//! The mode is fixed when the first segment memory is carved: the
//! setting can change only before.

use crate::diag::Msg;
use crate::{config, sys, valgrind};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};

/// Guard pages at most made with `mprotect`.
pub(crate) const MPROTECT_CAP: usize = 10_000;

/// Not fixed yet (no segment memory carved).
const UNDECIDED: usize = usize::MAX;

/// The mode in force once fixed: `config::GUARD_OFF`, `GUARD_ON`
/// (markers) or `GUARD_MPROTECT` (also after a refused marker).
static MODE: AtomicUsize = AtomicUsize::new(UNDECIDED);
/// Guards made, by kind, and blocks left unguarded past the cap.
static MARKERS: AtomicUsize = AtomicUsize::new(0);
static PROTECTED: AtomicUsize = AtomicUsize::new(0);
static UNGUARDED: AtomicUsize = AtomicUsize::new(0);
static CAP_SAID: AtomicBool = AtomicBool::new(false);
/// A marker was seen to work (the first one made is probed).
static VERIFIED: AtomicBool = AtomicBool::new(false);

/// The mode in force, fixing it from the setting on first use.
#[inline]
pub fn mode() -> usize {
    let m = MODE.load(Relaxed);
    if m != UNDECIDED {
        return m;
    }
    let mut want = config::guard();
    // Valgrind passes the advice to the kernel but knows nothing of
    // markers: its own reads of system-call arguments (the probe's
    // among them) would fault inside it.  mprotect it does track.
    if want == config::GUARD_ON && valgrind::active() {
        want = config::GUARD_MPROTECT;
    }
    match MODE.compare_exchange(UNDECIDED, want, Relaxed, Relaxed) {
        Ok(_) => want,
        Err(now) => now,
    }
}

/// Whether segment memory gets guards.
#[inline]
pub fn on() -> bool {
    mode() != config::GUARD_OFF
}

/// Whether the mode is still open to change (nothing carved yet).
pub fn undecided() -> bool {
    MODE.load(Relaxed) == UNDECIDED
}

/// Bytes kept below each guarded range for its guard: a page when guards
/// are on, else 0.
#[inline]
pub fn below() -> usize {
    if on() {
        config::page_size()
    } else {
        0
    }
}

/// Makes the page at `page_addr` (page-aligned, segment memory that
/// nothing has used) a guard page, in the mode in force.
pub fn install(page_addr: usize) {
    let page = config::page_size();
    if mode() == config::GUARD_ON {
        // SAFETY: the caller's promise: unused memory of ours.
        match unsafe { sys::madvise_guard_install(page_addr, page) } {
            // The first one is checked: an emulator (qemu-user) may
            // accept advice it does not implement.
            Ok(_) if VERIFIED.load(Relaxed) || !sys::kernel_can_read(page_addr) => {
                VERIFIED.store(true, Relaxed);
                MARKERS.fetch_add(1, Relaxed);
                return;
            }
            // Accepted but without effect, or refused (no such advice
            // before 6.13, EINVAL; mlock'd memory): mprotect guards from
            // now on.
            _ => MODE.store(config::GUARD_MPROTECT, Relaxed),
        }
    }
    if PROTECTED.fetch_add(1, Relaxed) < MPROTECT_CAP && sys::mprotect_none(page_addr, page).is_ok() {
        return;
    }
    PROTECTED.fetch_sub(1, Relaxed);
    UNGUARDED.fetch_add(1, Relaxed);
    if !CAP_SAID.swap(true, Relaxed) {
        Msg::new()
            .s("guard pages: ")
            .dec(MPROTECT_CAP as u64)
            .s(" mprotect guards made (the cap) or mprotect refused; segment memory carved from now on is unguarded")
            .emit();
    }
}

/// What the guards cost and cover, for the statistics.
pub struct Counts {
    pub mode: usize,
    pub markers: usize,
    pub protected: usize,
    pub unguarded: usize,
}

pub fn counts() -> Counts {
    let m = MODE.load(Relaxed);
    Counts {
        mode: if m == UNDECIDED { config::guard() } else { m },
        markers: MARKERS.load(Relaxed),
        protected: PROTECTED.load(Relaxed),
        unguarded: UNGUARDED.load(Relaxed),
    }
}

/// Prints the guard counts (at exit, with SPLITSTACK_STATS).
pub fn report() {
    let c = counts();
    let line = |name: &str, v: usize| {
        Msg::new().s("stats: ").s(name).s(" ").dec(v as u64).emit();
    };
    line("guard_mode", c.mode);
    line("guard_markers", c.markers);
    line("guard_mprotects", c.protected);
    line("guard_unguarded", c.unguarded);
}
