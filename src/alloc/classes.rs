//! The default allocator's size classes.

use crate::config;
use crate::layout::MAX_CLASSES;
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering::*};

/// The largest class: bigger segments are mapped on their own.
pub(crate) const MAX_CLASS_BYTES: usize = 64 << 20;

struct Classes {
    n: AtomicUsize,
    size: [AtomicUsize; MAX_CLASSES],
    /// The class of sizes up to `GRANULE * LOOKUP`, by `(size - 1) /
    /// GRANULE` (makecontext's and most splits' sizes): no search.
    lookup: [AtomicU8; LOOKUP],
}

/// Granule of the lookup table (the sub-page classes' step).
const GRANULE: usize = 128;
/// Entries of the lookup table: sizes up to 64 KiB.
const LOOKUP: usize = 512;

static CLASSES: Classes = Classes {
    n: AtomicUsize::new(0),
    size: [const { AtomicUsize::new(0) }; MAX_CLASSES],
    lookup: [const { AtomicU8::new(0) }; LOOKUP],
};

/// Class sizes: 1 KiB to 4 KiB in 128-byte steps and then doubling up to
/// the page (sub-page classes: slabs), whole pages up to 16 pages, then
/// four per doubling up to [`MAX_CLASS_BYTES`] (thirty-two between 1 and
/// 2 MiB): 108 classes with 4 KiB pages, 102 with 16 KiB, 96 with 64 KiB
/// (a unit test checks that they fit `MAX_CLASSES`).  Idempotent (threads racing here store the
/// same values; `n` is published last).
///
/// Runs on the first segment allocation, i.e. inside the `__morestack`
/// of whatever function splits first, whose vector arguments are live:
/// the sizes go straight into `CLASSES`, with no local array, whose
/// zeroing compiled to a call of libc's `memset` (AVX2 in glibc: it
/// zeroed the upper halves of the ymm/zmm argument registers).
fn init_classes() {
    if CLASSES.n.load(Acquire) != 0 {
        return;
    }
    let page = config::page_size();
    let mut n = 0;
    let mut last = 0;
    let mut push = |v: usize, n: &mut usize| {
        if *n < MAX_CLASSES && (*n == 0 || last < v) {
            CLASSES.size[*n].store(v, Relaxed);
            last = v;
            *n += 1;
        }
    };
    let mut s = 1024;
    while s < page && s <= 4096 {
        push(s, &mut n);
        s += 128;
    }
    let mut s = 8192;
    while s < page {
        push(s, &mut n);
        s *= 2;
    }
    for p in 1..=16 {
        push(p * page, &mut n);
    }
    // Four classes per doubling from 16 pages up to 64 MiB: a segment of
    // any size a program asks for (gold's 1 MiB non-split demand
    // included) comes from a class, and is cached and reused, with at most
    // a quarter of it unused address space (never resident).
    // Between 1 and 2 MiB, thirty-two per doubling: gold's demand is just
    // over 1 MiB, and a context sized for it (context_sizing.rs) wastes at
    // most 32 KiB of address space (page tables are its cost at scale).
    let mut base = 16 * page;
    while base < MAX_CLASS_BYTES {
        let steps = if base == 1 << 20 { 32 } else { 4 };
        for q in 1..=steps {
            push(base + q * base / steps, &mut n);
        }
        base *= 2;
    }
    // The table, from the sizes (every granule's last byte, so that each
    // entry is right for the whole granule: sizes are granule multiples
    // up to 64 KiB).
    let mut c = 0;
    for (g, slot) in CLASSES.lookup.iter().enumerate() {
        let v = (g + 1) * GRANULE;
        while c < n && CLASSES.size[c].load(Relaxed) < v {
            c += 1;
        }
        slot.store(c.min(u8::MAX as usize) as u8, Relaxed);
    }
    CLASSES.n.store(n, Release);
}

/// The smallest class that holds `total` bytes, as (index, size): from
/// the lookup table up to 64 KiB, else a binary search over the
/// (ascending) sizes.
#[inline]
pub fn class_for(total: usize) -> Option<(usize, usize)> {
    let mut n = CLASSES.n.load(Acquire);
    if n == 0 {
        init_classes();
        n = CLASSES.n.load(Acquire);
    }
    if total != 0 && total <= GRANULE * LOOKUP {
        let c = CLASSES.lookup[(total - 1) / GRANULE].load(Relaxed) as usize;
        if c < n {
            return Some((c, CLASSES.size[c].load(Relaxed)));
        }
    }
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if CLASSES.size[mid].load(Relaxed) >= total {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if lo < n {
        Some((lo, CLASSES.size[lo].load(Relaxed)))
    } else {
        None
    }
}

/// The size of class `c` (0 for no class).
pub fn class_size(c: usize) -> usize {
    CLASSES.size.get(c).map(|s| s.load(Relaxed)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_class_that_fits() {
        init_classes();
        let n = CLASSES.n.load(Acquire);
        assert!(n > 10);
        for i in 0..n {
            let s = class_size(i);
            assert_eq!(class_for(s), Some((i, s)));
            // Classes are at least 128 bytes apart.
            assert_eq!(class_for(s - 1), Some((i, s)));
            if i + 1 < n {
                assert_eq!(class_for(s + 1), Some((i + 1, class_size(i + 1))));
            }
        }
        assert_eq!(class_for(1), Some((0, class_size(0))));
        assert_eq!(class_size(n - 1), MAX_CLASS_BYTES, "the classes do not fit MAX_CLASSES");
        // gold's non-split demand (1 MiB more than the frame) has a class.
        assert!(class_for((1 << 20) + 4096).is_some());
        assert_eq!(class_for(class_size(n - 1) + 1), None);
    }
}
