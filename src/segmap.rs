//! Which addresses hold this runtime's segment memory.
//!
//! A two-level bitmap over the user address space, one bit per 4 KiB
//! granule: the root has one entry per GiB, each pointing to a 32 KiB leaf
//! of bits mapped on first use.  The default allocator sets the bits of
//! every range it maps for segments (chunks, slabs, blocks mapped on their
//! own) and clears them before it unmaps one.  The API asks the map before
//! it follows a segment pointer that came from a caller's context, so a
//! garbage pointer is recognised without touching the memory it names and
//! without a system call.
//!
//! Bits are set and cleared with atomic read-modify-writes and read with
//! plain atomic loads, so lookups take no lock and are safe from signal
//! handlers.  Leaves are never freed.  The granule is 4 KiB whatever the
//! page size: every mapping is a whole number of pages, hence of granules.

use crate::sys;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering::*};

const GRAIN_SHIFT: u32 = 12;
const LEAF_SHIFT: u32 = 30;
/// Addresses at or above 2^48 are never in the map (the kernel hands them
/// out only to programs that ask for them with a hint).
const ADDR_SHIFT: u32 = 48;
const ROOT_LEN: usize = 1 << (ADDR_SHIFT - LEAF_SHIFT);
const LEAF_WORDS: usize = 1 << (LEAF_SHIFT - GRAIN_SHIFT - 6);
const LEAF_BYTES: usize = LEAF_WORDS * 8;

/// 2 MiB of zeros in .bss: only the pages covering used GiBs are touched.
static ROOT: [AtomicPtr<AtomicU64>; ROOT_LEN] = [const { AtomicPtr::new(ptr::null_mut()) }; ROOT_LEN];

/// The leaf covering `addr`, if one exists (or was made, with `create`).
fn leaf(addr: usize, create: bool) -> Option<*mut AtomicU64> {
    let slot = ROOT.get(addr >> LEAF_SHIFT)?;
    let l = slot.load(Acquire);
    if !l.is_null() || !create {
        return if l.is_null() { None } else { Some(l) };
    }
    // Whole pages (up to 64 KiB on aarch64).
    let map_len = crate::config::page_round(LEAF_BYTES)?;
    let fresh = sys::mmap_anon(map_len).ok()? as *mut AtomicU64;
    crate::stats::os_mapped(map_len);
    match slot.compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire) {
        Ok(_) => Some(fresh),
        Err(other) => {
            // Another thread (or a signal handler) installed one first.
            // SAFETY: `fresh` was mapped above and never published.
            if unsafe { sys::munmap(fresh as usize, map_len) }.is_ok() {
                crate::stats::os_unmapped(map_len);
            }
            Some(other)
        }
    }
}

/// Applies `f(word, mask)` to the bits of the granules of `[base, base+len)`;
/// false if a leaf was missing (and could not be made with `create`).
fn for_bits(base: usize, len: usize, create: bool, f: impl Fn(&AtomicU64, u64)) -> bool {
    if len == 0 {
        return true;
    }
    let Some(end) = base.checked_add(len) else { return false };
    let mut g = base >> GRAIN_SHIFT;
    let g_end = (end + (1 << GRAIN_SHIFT) - 1) >> GRAIN_SHIFT;
    while g < g_end {
        let Some(l) = leaf(g << GRAIN_SHIFT, create) else { return false };
        let in_leaf = g & ((1 << (LEAF_SHIFT - GRAIN_SHIFT)) - 1);
        let word = in_leaf / 64;
        let bit = in_leaf % 64;
        let n = (64 - bit).min(g_end - g);
        let mask = if n == 64 { u64::MAX } else { ((1u64 << n) - 1) << bit };
        // SAFETY: `word` < LEAF_WORDS: `in_leaf` indexes the granules of
        // one leaf; the leaf is a live mapping of LEAF_WORDS words.
        f(unsafe { &*l.add(word) }, mask);
        g += n;
    }
    true
}

/// Records `[base, base+len)` as segment memory of this runtime.  False
/// when the map cannot hold it (no memory for a leaf, or an address
/// beyond 2^48): the caller must then not use the range for segments.
pub fn insert(base: usize, len: usize) -> bool {
    for_bits(base, len, true, |w, m| {
        w.fetch_or(m, AcqRel);
    })
}

/// Forgets `[base, base+len)` (before it is unmapped).
pub fn remove(base: usize, len: usize) {
    for_bits(base, len, false, |w, m| {
        w.fetch_and(!m, AcqRel);
    });
}

/// Whether the granule holding `addr` is segment memory of this runtime.
#[inline]
pub fn contains(addr: usize) -> bool {
    let Some(slot) = ROOT.get(addr >> LEAF_SHIFT) else { return false };
    let l = slot.load(Acquire);
    if l.is_null() {
        return false;
    }
    let g = (addr >> GRAIN_SHIFT) & ((1 << (LEAF_SHIFT - GRAIN_SHIFT)) - 1);
    // SAFETY: g / 64 < LEAF_WORDS (g indexes the granules of one leaf).
    let w = unsafe { &*l.add(g / 64) }.load(Acquire);
    w & (1 << (g % 64)) != 0
}

/// Whether every granule of `[base, base+len)` is segment memory of this
/// runtime (`len` > 0).  Spans of up to one granule (headers, meta
/// records) cost one or two lookups.
#[inline]
pub fn contains_range(base: usize, len: usize) -> bool {
    let Some(last) = base.checked_add(len.max(1) - 1) else { return false };
    if base >> GRAIN_SHIFT == last >> GRAIN_SHIFT {
        return contains(base);
    }
    let mut a = base & !((1 << GRAIN_SHIFT) - 1);
    while a <= last {
        if !contains(a) {
            return false;
        }
        a += 1 << GRAIN_SHIFT;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_lookup_remove() {
        let len = 5 << 20;
        let base = sys::mmap_anon(len).unwrap();
        assert!(!contains(base));
        assert!(insert(base + 4096, len - 8192));
        assert!(!contains(base));
        assert!(!contains(base + 4095));
        assert!(contains(base + 4096));
        assert!(contains(base + len - 4097));
        assert!(!contains(base + len - 4096));
        assert!(contains_range(base + 4096, len - 8192));
        assert!(!contains_range(base, len));
        remove(base + 8192, 4096);
        assert!(contains(base + 4096));
        assert!(!contains(base + 8192));
        assert!(contains(base + 12288));
        remove(base, len);
        assert!(!contains(base + 4096));
        assert!(!contains(usize::MAX));
        assert!(!insert(1 << 60, 4096));
        // SAFETY: the test's own mapping, used no more.
        unsafe { sys::munmap(base, len).unwrap() };
    }
}
