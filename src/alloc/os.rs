//! Memory from the OS for segments: mapped, recorded in the segment map
//! (so that the API recognises segments carved from it) and counted.

use crate::{segmap, stats, sys};

/// Maps `len` bytes (a page multiple) for segments.
pub fn map(len: usize) -> Result<usize, i32> {
    let addr = sys::mmap_anon(len)?;
    if !segmap::insert(addr, len) {
        // SAFETY: mapped just above, never handed out.
        let _ = unsafe { sys::munmap(addr, len) };
        return Err(libc::ENOMEM);
    }
    stats::os_mapped(len);
    Ok(addr)
}

/// Unmaps a range `map` gave (a block mapped on its own).
///
/// # Safety
/// Nothing may use the range afterwards.
pub unsafe fn unmap(addr: usize, len: usize) {
    segmap::remove(addr, len);
    // SAFETY: the caller's promise.
    if unsafe { sys::munmap(addr, len) }.is_ok() {
        stats::os_unmapped(len);
    }
}
