//! The exported `__splitstack_*` API (libgcc's names and semantics) and
//! this runtime's own additions.
//!
//! Every function here runs on whatever stack its split-stack caller had
//! left (callers are not moved to a big segment, see README), so each uses
//! a small, bounded amount of stack: no recursion, no large locals.  Bad
//! arguments get a message on stderr and a defined outcome.

use crate::context::{SplitstackContext, CTX_LIVE, CTX_RELEASED};
use crate::diag::Msg;
use crate::morestack::frame_below;
use crate::segment::{self, StackSegment};
use crate::stats::{self, SplitstackStats};
use crate::{arch::current as arch, config, thread_state};
use core::ffi::{c_int, c_void};
use core::ptr;
use core::sync::atomic::Ordering::*;

#[cold]
#[inline(never)]
fn null_context(func: &str) {
    Msg::new().s(func).s(": NULL context").emit();
}

/// What word 7 of a caller's context says it is.
#[derive(PartialEq, Eq)]
enum Tag {
    /// Made or saved by this runtime.
    Ours,
    /// libgcc's layout (word 7 zero): saved by a libgcc runtime copy, or
    /// a context its owner zeroed and never saved into.
    Libgcc,
    Released,
    /// Anything else: not a context.
    Garbage,
}

fn tag(c: &SplitstackContext) -> Tag {
    match c.state {
        CTX_LIVE => Tag::Ours,
        0 => Tag::Libgcc,
        CTX_RELEASED => Tag::Released,
        _ => Tag::Garbage,
    }
}

/// Reports a context whose tag is neither ours nor libgcc's.
#[cold]
#[inline(never)]
fn not_a_context(func: &str, ctx: *mut SplitstackContext, word7: usize, outcome: &str) {
    Msg::new()
        .s(func)
        .s(": ")
        .hex(ctx as usize)
        .s(" is not a split-stack context (word 7 is ")
        .hex(word7)
        .s(", neither this runtime's tag nor libgcc's 0); ")
        .s(outcome)
        .emit();
}

/// Reports a context word that does not point to a stack segment.
#[cold]
#[inline(never)]
fn bad_segment(func: &str, ctx: *mut SplitstackContext, seg: *mut StackSegment, why: &str, outcome: &str) {
    Msg::new()
        .s(func)
        .s(": context ")
        .hex(ctx as usize)
        .s(": segment ")
        .hex(seg as usize)
        .s(": ")
        .s(why)
        .s("; ")
        .s(outcome)
        .emit();
}

/// Checks the segment words of a context before anything follows them:
/// Err((segment, reason)) for the first that is not a segment.
///
/// # Safety
/// `c` is a readable context.
unsafe fn check_segments(c: &SplitstackContext) -> Result<(), (*mut StackSegment, &'static str)> {
    for seg in [c.current, c.segments] {
        if !seg.is_null() {
            segment::check(seg).map_err(|why| (seg, why))?;
        }
    }
    Ok(())
}

/// The cheap form of [`check_segments`] for `setcontext`, which must stay
/// a few instructions: a segment word must be NULL or a 16-byte aligned
/// user-space address.  (Contexts in libgcc's layout get the full check:
/// they are rare.)
#[inline(always)]
fn plausible(seg: *mut StackSegment) -> bool {
    let a = seg as usize;
    a == 0 || (a % 16 == 0 && a >= 65536 && a < 1 << 48)
}

/// Where a collector's scan of the calling thread's stack starts: this
/// function's own stack pointer, rounded down to a word.  It lies below
/// every word of the caller's frame (and of our callers'), so a scan from
/// it in word steps reads every live word exactly where it is stored.
/// (The address of a byte-sized local would not do: it may be 7 mod 8,
/// and a word-stepping scan from it reads every word misaligned.)
#[inline(always)]
fn scan_start() -> usize {
    word_floor(arch::stack_pointer())
}

/// `a` rounded down to a multiple of the word size.
#[inline(always)]
fn word_floor(a: usize) -> usize {
    a & !(core::mem::size_of::<usize>() - 1)
}

/// Saves the calling thread's split-stack state in `ctx` (call it just
/// before `getcontext`/`swapcontext`/`setjmp`).
///
/// Every `ctx` of this API is libgcc's `void *ctx[10]`, declared so that
/// libgcc-style prototypes match; a `SplitstackContext` is the same ten
/// words, typed (pass `splitstack_context_words(&c)`).
#[no_mangle]
pub unsafe extern "C" fn __splitstack_getcontext(ctx: *mut *mut c_void) {
    let ctx = ctx as *mut SplitstackContext;
    if ctx.is_null() {
        return null_context("__splitstack_getcontext");
    }
    let isp = thread_state::initial_sp();
    ctx.write(SplitstackContext {
        segments: thread_state::segments().load(Relaxed),
        current: thread_state::current().load(Relaxed),
        sp: scan_start() as *mut c_void,
        guard: arch::get_guard(),
        initial_sp: (*isp).sp as *mut c_void,
        initial_sp_len: (*isp).len,
        dont_block_signals: (*isp).dont_block_signals as usize,
        state: CTX_LIVE,
        reserved: [0; 2],
    });
}

/// Makes `ctx` the calling thread's split-stack state (call it just after
/// switching to the context's stack, or just before).
#[no_mangle]
pub unsafe extern "C" fn __splitstack_setcontext(ctx: *mut *mut c_void) {
    let ctx = ctx as *mut SplitstackContext;
    if ctx.is_null() {
        Msg::new().s("__splitstack_setcontext: NULL context; aborting").fatal();
    }
    let c = ctx.read();
    match tag(&c) {
        Tag::Ours => {
            if !plausible(c.segments) || !plausible(c.current) {
                set_bad(ctx, if plausible(c.current) { c.segments } else { c.current }, "is not a segment address");
            }
        }
        Tag::Libgcc => {
            if let Err((seg, why)) = check_segments(&c) {
                set_bad(ctx, seg, why);
            }
        }
        Tag::Released => {
            Msg::new()
                .s("__splitstack_setcontext: context ")
                .hex(ctx as usize)
                .s(" was released; its stack is gone; aborting")
                .fatal();
        }
        Tag::Garbage => {
            not_a_context("__splitstack_setcontext", ctx, c.state, "aborting (there is no stack to switch to)");
            crate::diag::abort();
        }
    }
    let isp = thread_state::initial_sp();
    let segments = if c.segments.is_null() && c.current.is_null() {
        original_stack_chain(&c, isp)
    } else {
        c.segments
    };
    // Order: the limit last, so that a signal between these stores sees
    // the old limit with the new lists at worst, which only makes a
    // handler split early.
    thread_state::segments().store(segments, Relaxed);
    thread_state::current().store(c.current, Relaxed);
    (*isp).sp = c.initial_sp as *mut u8;
    (*isp).len = c.initial_sp_len;
    (*isp).dont_block_signals = c.dont_block_signals as i32;
    core::sync::atomic::compiler_fence(SeqCst);
    arch::set_guard(c.guard);
}

/// The chain to install for a context saved on this thread's original
/// stack before the thread had any segment (its words 0 and 1 are NULL):
/// the chain the thread has grown from its original stack since, if any.
/// Every frame on that chain is deeper than the frame that saved the
/// context (it was saved before the chain existed), so switching back
/// (a longjmp) leaves them all dead and the chain idle, ready for the
/// next split.  Installing NULL, as libgcc does, orphans the chain: each
/// jump would leak every segment made since.  A context of another stack
/// or thread gets NULL.
#[cold]
unsafe fn original_stack_chain(c: &SplitstackContext, isp: *mut crate::thread_state::InitialSp) -> *mut StackSegment {
    if c.initial_sp.is_null() || c.initial_sp != (*isp).sp as *mut c_void {
        return ptr::null_mut();
    }
    let own = (*thread_state::thread_block()).own_chain;
    if own.is_null() || segment::check(own).is_err() {
        return ptr::null_mut();
    }
    own
}

#[cold]
#[inline(never)]
fn set_bad(ctx: *mut SplitstackContext, seg: *mut StackSegment, why: &str) -> ! {
    bad_segment("__splitstack_setcontext", ctx, seg, why, "aborting (there is no stack to switch to)");
    crate::diag::abort()
}

/// Creates a context with a fresh segment of at least `stack_size` usable
/// bytes (as in libgcc, the reserve under the limit counts; the segment
/// also has at least the minimum segment size above its limit).  Returns
/// the segment's lowest usable address and stores its usable size in
/// `*size` (for `makecontext`'s uc_stack).  Returns NULL (with a message)
/// when memory is exhausted.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_makecontext(stack_size: usize, ctx: *mut *mut c_void, size: *mut usize) -> *mut c_void {
    let ctx = ctx as *mut SplitstackContext;
    if ctx.is_null() {
        null_context("__splitstack_makecontext");
        return ptr::null_mut();
    }
    let seg = match segment::alloc(stack_size, 1) {
        Ok(s) => s,
        Err(e) => {
            makecontext_failed(&e);
            ctx.write(SplitstackContext::empty());
            return ptr::null_mut();
        }
    };
    ctx.write(SplitstackContext {
        segments: seg,
        current: seg,
        sp: ptr::null_mut(),
        guard: segment::low(seg) + config::slack(),
        initial_sp: ptr::null_mut(),
        initial_sp_len: 0,
        dont_block_signals: 1,
        state: CTX_LIVE,
        reserved: [0; 2],
    });
    if !size.is_null() {
        *size = segment::usable(seg);
    }
    segment::low(seg) as *mut c_void
}

#[cold]
#[inline(never)]
fn makecontext_failed(e: &segment::MapError) {
    let mut m = Msg::new();
    m.s("__splitstack_makecontext: out of memory: cannot allocate a stack segment of ").dec(e.bytes as u64).s(" bytes");
    if e.custom {
        m.s(" (the registered allocator returned NULL)");
    } else {
        m.s(" (errno ").dec(e.errno as u64).s(")");
    }
    m.emit();
}

/// Resets a context (whose coroutine has finished) to the start of its
/// first segment, for reuse by a new coroutine; frees its alloca blocks.
/// Signals stay unblocked (this runtime's default).
#[no_mangle]
pub unsafe extern "C" fn __splitstack_resetcontext(ctx: *mut *mut c_void, size: *mut usize) -> *mut c_void {
    let ctx = ctx as *mut SplitstackContext;
    if ctx.is_null() {
        null_context("__splitstack_resetcontext");
        return ptr::null_mut();
    }
    let c = &mut *ctx;
    match tag(c) {
        Tag::Ours | Tag::Libgcc => {}
        Tag::Released => {
            Msg::new().s("__splitstack_resetcontext: context ").hex(ctx as usize).s(" was released").emit();
            return ptr::null_mut();
        }
        Tag::Garbage => {
            not_a_context("__splitstack_resetcontext", ctx, c.state, "returning NULL");
            return ptr::null_mut();
        }
    }
    if !c.segments.is_null() {
        if let Err(why) = segment::check(c.segments) {
            bad_segment("__splitstack_resetcontext", ctx, c.segments, why, "returning NULL");
            return ptr::null_mut();
        }
    }
    let seg = c.segments;
    c.current = seg;
    c.sp = ptr::null_mut();
    c.dont_block_signals = 1;
    let (low, len) = if seg.is_null() {
        let len = c.initial_sp_len;
        ((c.initial_sp as usize).wrapping_sub(len), len)
    } else {
        // The coroutine is over: its alloca blocks are dead (a walk only
        // when any block exists at all).
        if stats::alloca_blocks_live() {
            let mut s = seg;
            while !s.is_null() {
                crate::alloca::free_list(ptr::addr_of_mut!((*s).extra) as *mut *mut crate::alloca::AllocaBlock);
                s = (*s).next;
                if !s.is_null() {
                    if let Err(why) = segment::check(s) {
                        bad_segment("__splitstack_resetcontext", ctx, s, why, "its chain is cut there");
                        (*seg).next = ptr::null_mut();
                        break;
                    }
                }
            }
        }
        // So are its frames (parked ones never returned): ASan's shadow.
        segment::asan_clear_chain(seg);
        (segment::low(seg), segment::usable(seg))
    };
    c.guard = low.wrapping_add(config::slack());
    if !size.is_null() {
        *size = len;
    }
    low as *mut c_void
}

/// Frees every segment of a context (and their alloca blocks).  The
/// context must not be running.  Releasing twice is reported and ignored.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_releasecontext(ctx: *mut *mut c_void) {
    let ctx = ctx as *mut SplitstackContext;
    if ctx.is_null() {
        return null_context("__splitstack_releasecontext");
    }
    let c = &mut *ctx;
    match tag(c) {
        Tag::Ours | Tag::Libgcc => {}
        Tag::Released => {
            Msg::new()
                .s("__splitstack_releasecontext: context ")
                .hex(ctx as usize)
                .s(" was already released; ignoring")
                .emit();
            return;
        }
        Tag::Garbage => return not_a_context("__splitstack_releasecontext", ctx, c.state, "nothing released"),
    }
    if !c.segments.is_null()
        && c.segments == thread_state::segments().load(Relaxed)
        && !thread_state::current().load(Relaxed).is_null()
    {
        Msg::new()
            .s("__splitstack_releasecontext: context ")
            .hex(ctx as usize)
            .s(" is the one running on this thread; not released")
            .emit();
        return;
    }
    crate::thread::forget_own_chain(c.segments);
    let result = segment::release_list_checked(&mut c.segments);
    c.current = ptr::null_mut();
    c.sp = ptr::null_mut();
    c.state = CTX_RELEASED;
    if let Err((seg, why)) = result {
        bad_segment("__splitstack_releasecontext", ctx, seg, why, "it and the rest of the chain were not freed");
    }
}

/// Reads and/or sets whether `__morestack` blocks signals on this thread
/// (libgcc semantics: `*new` nonzero asks for blocking; `*old` receives
/// the previous setting).  This runtime's default is not to block: its
/// stack switch is safe at every instruction.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_block_signals(new: *mut c_int, old: *mut c_int) {
    let isp = thread_state::initial_sp();
    if !old.is_null() {
        *old = ((*isp).dont_block_signals == 0) as c_int;
    }
    if !new.is_null() {
        (*isp).dont_block_signals = (*new == 0) as i32;
    }
}

/// As `__splitstack_block_signals`, for a saved context.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_block_signals_context(ctx: *mut *mut c_void, new: *mut c_int, old: *mut c_int) {
    let ctx = ctx as *mut SplitstackContext;
    if ctx.is_null() {
        return null_context("__splitstack_block_signals_context");
    }
    if tag(&*ctx) == Tag::Garbage {
        return not_a_context("__splitstack_block_signals_context", ctx, (*ctx).state, "nothing done");
    }
    if !old.is_null() {
        *old = ((*ctx).dont_block_signals == 0) as c_int;
    }
    if !new.is_null() {
        (*ctx).dont_block_signals = (*new == 0) as usize;
    }
}

// Codes for the walk's `segment` cursor, as libgcc defines them.
const FIND_INITIAL: usize = 1;
const FIND_DONE: usize = 2;

/// Walks the stack pieces of the calling thread (start with `seg` and
/// `sp` NULL) or of a suspended context (continue with the values
/// returned in `*next_seg`, `*next_sp`, `*initial_sp`).  Each call returns
/// the lowest address of one piece and its length in `*len`; NULL at the
/// end.  Pieces include the registers `__morestack` saved on each old
/// stack, so a conservative collector sees every live pointer.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_find(
    seg: *mut c_void,
    sp: *mut c_void,
    len: *mut usize,
    next_seg: *mut *mut c_void,
    next_sp: *mut *mut c_void,
    initial_sp: *mut *mut c_void,
) -> *mut c_void {
    if len.is_null() || next_seg.is_null() || next_sp.is_null() || initial_sp.is_null() {
        Msg::new().s("__splitstack_find: NULL output pointer").emit();
        return ptr::null_mut();
    }
    // Ranges start and end on word boundaries (a collector scans them in
    // word steps); the values this runtime hands out already are.
    let mut sp = word_floor(sp as usize);
    let segment: *mut StackSegment = match seg as usize {
        FIND_INITIAL => {
            let top = word_floor(*initial_sp as usize);
            *next_seg = FIND_DONE as *mut c_void;
            *next_sp = ptr::null_mut();
            if top == 0 || sp >= top {
                return ptr::null_mut();
            }
            *len = top - sp;
            return sp as *mut c_void;
        }
        FIND_DONE => return ptr::null_mut(),
        0 => {
            // Start with the calling thread: find the segment we run on.
            *initial_sp = (*thread_state::initial_sp()).sp as *mut c_void;
            sp = scan_start();
            let mut s = thread_state::current().load(Relaxed);
            loop {
                if s.is_null() {
                    return __splitstack_find(FIND_INITIAL as *mut c_void, sp as *mut c_void, len, next_seg, next_sp, initial_sp);
                }
                if segment::low(s) <= sp && sp <= segment::top(s) {
                    break s;
                }
                s = (*s).prev;
            }
        }
        _ => {
            let seg = seg as *mut StackSegment;
            if let Err(why) = segment::check(seg) {
                Msg::new().s("__splitstack_find: segment ").hex(seg as usize).s(": ").s(why).s("; returning NULL").emit();
                *next_seg = FIND_DONE as *mut c_void;
                return ptr::null_mut();
            }
            seg
        }
    };
    *next_seg = if (*segment).prev.is_null() { FIND_INITIAL as *mut c_void } else { (*segment).prev as *mut c_void };
    let old = (*segment).old_stack as usize;
    if old == 0 {
        *next_seg = FIND_DONE as *mut c_void;
    } else {
        *next_sp = frame_below(old) as *mut c_void;
    }
    let top = word_floor(segment::top(segment));
    *len = top.saturating_sub(sp);
    sp as *mut c_void
}

/// Starts a `__splitstack_find` walk over a suspended context.  Returns
/// NULL for a context that was made but never run.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_find_context(
    ctx: *mut *mut c_void,
    len: *mut usize,
    next_seg: *mut *mut c_void,
    next_sp: *mut *mut c_void,
    initial_sp: *mut *mut c_void,
) -> *mut c_void {
    let ctx = ctx as *mut SplitstackContext;
    if ctx.is_null() {
        null_context("__splitstack_find_context");
        return ptr::null_mut();
    }
    if len.is_null() || next_seg.is_null() || next_sp.is_null() || initial_sp.is_null() {
        Msg::new().s("__splitstack_find_context: NULL output pointer").emit();
        return ptr::null_mut();
    }
    let c = &*ctx;
    *initial_sp = c.initial_sp;
    let t = tag(c);
    if t == Tag::Garbage {
        not_a_context("__splitstack_find_context", ctx, c.state, "returning NULL");
    } else if t != Tag::Released && !c.sp.is_null() {
        if let Err((seg, why)) = check_segments(c) {
            bad_segment("__splitstack_find_context", ctx, seg, why, "returning NULL");
            *next_seg = FIND_DONE as *mut c_void;
            *next_sp = ptr::null_mut();
            *initial_sp = ptr::null_mut();
            return ptr::null_mut();
        }
    }
    if c.sp.is_null() || t == Tag::Released || t == Tag::Garbage {
        *next_seg = FIND_DONE as *mut c_void;
        *next_sp = ptr::null_mut();
        *initial_sp = ptr::null_mut();
        return ptr::null_mut();
    }
    let seg = if c.current.is_null() { FIND_INITIAL as *mut c_void } else { c.current as *mut c_void };
    __splitstack_find(seg, c.sp, len, next_seg, next_sp, initial_sp)
}

/// Copies the runtime's counters into `*out`, at most `out_size` bytes of
/// them (pass `sizeof(SplitstackStats)`: a program built against an
/// older, shorter struct gets the fields it knows).  Returns the number of
/// bytes written, or 0 (with a message) when `out` is NULL.
#[no_mangle]
pub unsafe extern "C" fn splitstack_get_stats(out: *mut SplitstackStats, out_size: usize) -> usize {
    if out.is_null() {
        Msg::new().s("splitstack_get_stats: NULL output pointer").emit();
        return 0;
    }
    let snap = stats::snapshot();
    let n = out_size.min(core::mem::size_of::<SplitstackStats>());
    // SAFETY: the caller says `out` has room for `out_size` bytes; `snap`
    // is a plain struct of u64s.
    ptr::copy_nonoverlapping(&snap as *const SplitstackStats as *const u8, out as *mut u8, n);
    n
}

/// The current reserve: bytes between a segment's lowest usable byte and
/// its stack limit (see `splitstack_set_reserve`).
#[no_mangle]
pub extern "C" fn splitstack_segment_slack() -> usize {
    config::slack()
}

impl SplitstackContext {
    pub const fn empty() -> SplitstackContext {
        SplitstackContext {
            segments: ptr::null_mut(),
            current: ptr::null_mut(),
            sp: ptr::null_mut(),
            guard: 0,
            initial_sp: ptr::null_mut(),
            initial_sp_len: 0,
            dont_block_signals: 0,
            state: 0,
            reserved: [0; 2],
        }
    }
}


// ---------------------------------------------------------------------
// Configuration and allocator registration
// ---------------------------------------------------------------------

pub use crate::allocator::{SplitstackAllocator, SPLITSTACK_ALLOCATOR_VERSION};
pub use crate::config::SplitstackResult;

/// Registers the allocator every new segment comes from (process-wide,
/// copied; NULL restores the default).  Segments already allocated go
/// back to the allocator that gave them.  See README, "Allocators".
#[no_mangle]
pub unsafe extern "C" fn splitstack_set_allocator(allocator: *const SplitstackAllocator) -> SplitstackResult {
    crate::allocator::register(allocator)
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
/// segments give their pages back to the OS (default 256 MiB).
#[no_mangle]
pub extern "C" fn splitstack_set_cache_max(bytes: usize) -> SplitstackResult {
    config::set_cache_max(bytes);
    SplitstackResult::SplitstackOk
}
