//! Memory from the OS for segments: mapped, recorded in the segment map
//! (so that the API recognises segments carved from it) and counted.
//! With guard pages on, every mapping has one more page, at its bottom,
//! made a guard (guard.rs): the range handed out starts above it.

use super::guard;
use crate::{segmap, stats, sys};

/// Maps `len` bytes (a page multiple) for segments, above a guard page
/// when guards are on; returns the start of the `len` bytes.
pub fn map(len: usize) -> Result<usize, i32> {
    let below = guard::below();
    let total = len.checked_add(below).ok_or(libc::ENOMEM)?;
    let addr = sys::mmap_anon(total)?;
    if !segmap::insert(addr, total) {
        // SAFETY: mapped just above, never handed out.
        let _ = unsafe { sys::munmap(addr, total) };
        return Err(libc::ENOMEM);
    }
    if below != 0 {
        guard::install(addr);
    }
    stats::os_mapped(total);
    Ok(addr + below)
}

/// Unmaps a range `map` gave (a block mapped on its own), with its guard.
///
/// # Safety
/// Nothing may use the range afterwards.
pub unsafe fn unmap(addr: usize, len: usize) {
    let below = guard::below();
    let (addr, len) = (addr - below, len + below);
    segmap::remove(addr, len);
    // SAFETY: the caller's promise.
    if unsafe { sys::munmap(addr, len) }.is_ok() {
        stats::os_unmapped(len);
    }
}
