//! Unit tests of the runtime's Rust parts (run with `cargo test`; the
//! C suite in tests/c/ tests the library as programs use it).

use crate::ffi::context::*;
use crate::ffi::walk::*;
use crate::{chain, config, diag::Msg, stats, thread_state};
use core::ptr;
use std::sync::Mutex;

/// A typed context as the `void **` the API takes.
fn words(c: &mut SplitstackContext) -> *mut *mut core::ffi::c_void {
    c as *mut SplitstackContext as *mut *mut core::ffi::c_void
}

// Tests that read process-wide counters run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn msg_formats_numbers_without_fmt() {
    let mut m = Msg::new();
    m.s("a").dec(0).s(" ").dec(18446744073709551615).s(" ").hex(0).s(" ").hex(0xdead_beef);
    assert_eq!(m.text(), "splitstack: a0 18446744073709551615 0x0 0xdeadbeef");
}

#[test]
fn msg_truncates_instead_of_overflowing() {
    let mut m = Msg::new();
    for _ in 0..100 {
        m.s("0123456789");
    }
    assert_eq!(m.text().len(), Msg::CAP);
}

#[test]
fn page_size_and_slack_come_from_the_kernel() {
    config::init();
    // SAFETY: plain libc queries.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    assert_eq!(config::page_size(), page);
    // SAFETY: as above.
    let minsig = unsafe { libc::getauxval(libc::AT_MINSIGSTKSZ) } as usize;
    assert!(config::slack() >= crate::arch::current::SS_BACKOFF + minsig.max(config::MIN_SIGNAL_FRAME));
    assert_eq!(config::slack() % 16, 0);
    assert_eq!(config::page_round(1), Some(page));
    assert_eq!(config::page_round(usize::MAX), None);
}

#[test]
fn default_segments_are_whole_pages_with_room_above_the_reserve() {
    let _g = SERIAL.lock().unwrap();
    let seg = chain::alloc(100, 1).ok().unwrap();
    // SAFETY: a fresh segment, freed once.
    unsafe {
        let total = (*seg).size + crate::layout::HEADER;
        let page = config::page_size();
        if total >= page {
            assert_eq!(total % page, 0);
            if crate::copies::alone() {
                // Packed: the header in the last bytes of a page.
                assert_eq!(seg as usize % page, page - crate::alloc::default::HEADER_SLOT);
            } else {
                // What a libgcc copy's munmap(header, size + 56) needs.
                assert_eq!(seg as usize % page, 0);
            }
        } else {
            // Smaller than a page (64 KiB pages): a slab block.
            assert_eq!(seg as usize % 16, 0);
        }
        assert!(chain::usable(seg) >= config::min_segment() + config::slack());
        assert!(!crate::alloc::meta::ours(seg).is_null());
        let mut one = seg;
        assert_eq!(chain::release(&mut one, false).ok(), Some(1));
    }
}

#[test]
fn makecontext_then_releasecontext_frees_every_segment() {
    let _g = SERIAL.lock().unwrap();
    let before = stats::snapshot(crate::thread_state::totals());
    let mut ctx = SplitstackContext::empty();
    let mut size = 0usize;
    // SAFETY: the context is ours and never run; extra segments are
    // linked by hand the way __morestack would link them.
    unsafe {
        let low = __splitstack_makecontext(64 * 1024, words(&mut ctx), &mut size);
        assert!(!low.is_null());
        assert!(size >= 64 * 1024 && size >= config::min_segment() + config::slack());
        assert_eq!(size, chain::usable(ctx.segments));
        assert_eq!(low as usize, chain::low(ctx.segments));
        assert_eq!(ctx.guard, low as usize + config::slack());
        let mut last = ctx.segments;
        for _ in 0..5 {
            let s = chain::alloc(1, 2).ok().unwrap();
            (*s).prev = last;
            (*last).next = s;
            last = s;
        }
        let mid = stats::snapshot(crate::thread_state::totals());
        assert_eq!(mid.segments_allocated - before.segments_allocated, 6);
        __splitstack_releasecontext(words(&mut ctx));
        let after = stats::snapshot(crate::thread_state::totals());
        assert_eq!(after.segments_freed - mid.segments_freed, 6, "every segment freed, once");
        assert!(ctx.segments.is_null());
        assert_eq!(ctx.state, CTX_RELEASED);
        // A second release is reported and frees nothing.
        __splitstack_releasecontext(words(&mut ctx));
        assert_eq!(stats::snapshot(crate::thread_state::totals()).segments_freed, after.segments_freed);
    }
}

#[test]
fn a_context_copied_by_value_stays_valid() {
    let _g = SERIAL.lock().unwrap();
    let mut a = SplitstackContext::empty();
    let mut size = 0;
    // SAFETY: a fresh context, released through its copy only.
    unsafe {
        __splitstack_makecontext(8192, words(&mut a), &mut size);
        let mut b = a; // what gccgo and Boost do
        let mut n = 0usize;
        let mut next_seg = ptr::null_mut();
        let mut next_sp = ptr::null_mut();
        let mut isp = ptr::null_mut();
        // Made but never run: find_context reports nothing.
        assert!(__splitstack_find_context(words(&mut b), &mut n, &mut next_seg, &mut next_sp, &mut isp).is_null());
        assert_eq!(b.segments, a.segments);
        let before = stats::snapshot(crate::thread_state::totals()).segments_freed;
        __splitstack_releasecontext(words(&mut b));
        assert_eq!(stats::snapshot(crate::thread_state::totals()).segments_freed - before, 1);
    }
}

#[test]
fn resetcontext_returns_the_first_segment() {
    let _g = SERIAL.lock().unwrap();
    let mut c = SplitstackContext::empty();
    let (mut s1, mut s2) = (0, 0);
    // SAFETY: a fresh context of ours.
    unsafe {
        let low = __splitstack_makecontext(4096, words(&mut c), &mut s1);
        c.sp = 0x1000 as *mut _; // pretend it ran
        c.dont_block_signals = 0;
        let again = __splitstack_resetcontext(words(&mut c), &mut s2);
        assert_eq!(low, again);
        assert_eq!(s1, s2);
        assert!(c.sp.is_null());
        assert_eq!(c.dont_block_signals, 1);
        __splitstack_releasecontext(words(&mut c));
        assert!(__splitstack_resetcontext(words(&mut c), &mut s2).is_null());
    }
}

#[test]
fn block_signals_keeps_libgcc_meaning() {
    // SAFETY: this thread's own state.
    unsafe {
        let saved = (*thread_state::initial_sp()).dont_block_signals;
        let (mut one, mut zero, mut old) = (1, 0, -1);
        __splitstack_block_signals(&mut one, &mut old);
        __splitstack_block_signals(ptr::null_mut(), &mut old);
        assert_eq!(old, 1);
        assert_eq!((*thread_state::initial_sp()).dont_block_signals, 0);
        __splitstack_block_signals(&mut zero, &mut old);
        assert_eq!(old, 1);
        __splitstack_block_signals(ptr::null_mut(), &mut old);
        assert_eq!(old, 0);
        (*thread_state::initial_sp()).dont_block_signals = saved;
        let mut c = SplitstackContext::empty();
        __splitstack_block_signals_context(words(&mut c), &mut one, &mut old);
        assert_eq!(old, 1); // an all-zero context blocks, as in libgcc
        assert_eq!(c.dont_block_signals, 0);
    }
}

#[test]
fn getcontext_setcontext_round_trip() {
    // The assembly's on x86_64 (declared here, where cbindgen does not
    // look); the Rust ones elsewhere.
    #[cfg(splitstack_context_asm)]
    extern "C" {
        fn __splitstack_getcontext(ctx: *mut *mut core::ffi::c_void);
        fn __splitstack_setcontext(ctx: *mut *mut core::ffi::c_void);
    }
    // SAFETY: this thread's own state, restored at the end.
    unsafe {
        let mut saved = SplitstackContext::empty();
        __splitstack_getcontext(words(&mut saved));
        assert_eq!(saved.guard, crate::arch::current::get_guard());
        assert_eq!(saved.state, CTX_LIVE);
        let mut other = saved;
        other.guard = 0x4000;
        other.initial_sp_len = 77;
        __splitstack_setcontext(words(&mut other));
        assert_eq!(crate::arch::current::get_guard(), 0x4000);
        assert_eq!((*thread_state::initial_sp()).len, 77);
        __splitstack_setcontext(words(&mut saved));
        assert_eq!(crate::arch::current::get_guard(), saved.guard);
    }
}

#[test]
fn libgcc_internal_helpers_keep_libgcc_semantics() {
    use crate::ffi::libgcc::*;
    let _g = SERIAL.lock().unwrap();
    // SAFETY: this thread's own state, on the test's stack: the helpers are
    // driven the way libgcc's __morestack drives them, without switching.
    unsafe {
        let cur = thread_state::current();
        let saved = cur.load(core::sync::atomic::Ordering::Relaxed);
        let args: [u64; 4] = [11, 22, 33, 44];
        let mut frame = 20000usize;
        let sp = __generic_morestack(&mut frame, args.as_ptr() as *mut u8, 32) as *const u64;
        let seg = cur.load(core::sync::atomic::Ordering::Relaxed);
        assert!(!seg.is_null() && seg != saved);
        // The arguments were copied to the new stack's top, 32-byte aligned.
        assert_eq!(core::slice::from_raw_parts(sp, 4), &args);
        assert_eq!(sp as usize % 32, 0);
        assert_eq!(sp as usize + 32, chain::top(seg));
        assert!(frame >= 20000, "available {frame}");
        // findstack finds the segment holding an address in it.
        cur.store(saved, core::sync::atomic::Ordering::Relaxed);
        cur.store(seg, core::sync::atomic::Ordering::Relaxed);
        assert_eq!(__generic_findstack((sp as usize - 100) as *mut _), sp as usize - 100 - chain::low(seg));
        // releasestack goes back and returns where the arguments were.
        let mut avail = 0usize;
        let old = __generic_releasestack(&mut avail);
        assert_eq!(old as *const u64, args.as_ptr());
        assert_eq!(cur.load(core::sync::atomic::Ordering::Relaxed), saved);
        // The guard helper: the reserve above the lowest byte.
        assert_eq!(__morestack_make_guard(0x10000 as *mut _, 0x1000) as usize, 0xf000 + config::slack());
    }
}
