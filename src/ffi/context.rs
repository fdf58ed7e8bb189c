//! The context half of the exported `__splitstack_*` API (libgcc's names,
//! prototypes and semantics): saving, installing, making, resetting and
//! releasing contexts, and their signal-blocking flags.
//!
//! Every function here runs on whatever stack its split-stack caller had
//! left (callers are not moved to a big segment, see README), so each uses
//! a small, bounded amount of stack: no recursion, no large locals.  Bad
//! arguments get a message on stderr and a defined outcome.

use crate::arch::current::{
    SS_CTX_CURRENT, SS_CTX_DEFER, SS_CTX_DONT_BLOCK, SS_CTX_GUARD, SS_CTX_INITIAL_SP, SS_CTX_INITIAL_SP_LEN,
    SS_CTX_LIVE, SS_CTX_SEGMENTS, SS_CTX_SP, SS_CTX_STATE, SS_CTX_ZERO,
};
use crate::diag::Msg;
use crate::layout::{InitialSp, StackSegment};
use crate::thread_state::{self, Tls};
use crate::{arch::current as arch, chain, config, context_sizing, limit, stats};
use core::ffi::{c_int, c_void};
use core::mem::{offset_of, size_of};
use core::ptr;
use core::sync::atomic::Ordering::*;

/// A split-stack context: what `__splitstack_getcontext` saves and
/// `__splitstack_setcontext` restores.  Exactly `void *[10]`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SplitstackContext {
    /// [0] First segment of the context's list (owned by the context).
    pub segments: *mut StackSegment,
    /// [1] Segment in use when the context was saved (NULL: original stack).
    pub current: *mut StackSegment,
    /// [2] Stack pointer when saved; NULL for a context never run.
    pub sp: *mut c_void,
    /// [3] Stack limit.
    pub guard: usize,
    /// [4] Top of the thread's original stack (libgcc's initial_sp.sp).
    pub initial_sp: *mut c_void,
    /// [5] Usable length of the original stack.
    pub initial_sp_len: usize,
    /// [6] Nonzero: `__morestack` does not block signals.
    pub dont_block_signals: usize,
    /// [7] This runtime's state tag (`CTX_LIVE`, `CTX_RELEASED`, or 0 for a
    /// context filled by other code); libgcc leaves it zero.
    pub state: usize,
    /// [8] This runtime's interrupt nesting (`splitstack_interrupt_defer`
    /// depth, plus one inside a handler) when saved: it follows the
    /// coroutine, so that a handler that switches away leaves the next
    /// coroutine interruptible.  Zero in a new context and in libgcc's.
    /// [9] Zero.
    pub reserved: [usize; 2],
}

// The offsets the assembly's getcontext and setcontext use (x86_64).
const _: () = {
    assert!(size_of::<SplitstackContext>() == size_of::<[*mut c_void; 10]>());
    assert!(offset_of!(SplitstackContext, segments) == SS_CTX_SEGMENTS);
    assert!(offset_of!(SplitstackContext, current) == SS_CTX_CURRENT);
    assert!(offset_of!(SplitstackContext, sp) == SS_CTX_SP);
    assert!(offset_of!(SplitstackContext, guard) == SS_CTX_GUARD);
    assert!(offset_of!(SplitstackContext, initial_sp) == SS_CTX_INITIAL_SP);
    assert!(offset_of!(SplitstackContext, initial_sp_len) == SS_CTX_INITIAL_SP_LEN);
    assert!(offset_of!(SplitstackContext, dont_block_signals) == SS_CTX_DONT_BLOCK);
    assert!(offset_of!(SplitstackContext, state) == SS_CTX_STATE);
    assert!(offset_of!(SplitstackContext, reserved) == SS_CTX_DEFER);
    assert!(offset_of!(SplitstackContext, reserved) + size_of::<usize>() == SS_CTX_ZERO);
};

/// State tag of a context made or saved by this runtime ("SPLITLIV").
pub(crate) const CTX_LIVE: usize = SS_CTX_LIVE;

/// State tag of a released context ("SPLITREL").
pub(crate) const CTX_RELEASED: usize = 0x5350_4c49_5452_454c;

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

#[cold]
#[inline(never)]
pub(super) fn null_context(func: &str) {
    Msg::new().s(func).s(": NULL context").emit();
}

/// What word 7 of a caller's context says it is.
#[derive(PartialEq, Eq)]
pub(super) enum Tag {
    /// Made or saved by this runtime.
    Ours,
    /// libgcc's layout (word 7 zero): saved by a libgcc runtime copy, or
    /// a context its owner zeroed and never saved into.
    Libgcc,
    Released,
    /// Anything else: not a context.
    Garbage,
}

pub(super) fn tag(c: &SplitstackContext) -> Tag {
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
pub(super) fn not_a_context(func: &str, ctx: *mut SplitstackContext, word7: usize, outcome: &str) {
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
pub(super) fn bad_segment(func: &str, ctx: *mut SplitstackContext, seg: *mut StackSegment, why: &str, outcome: &str) {
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
pub(super) unsafe fn check_segments(c: &SplitstackContext) -> Result<(), (*mut StackSegment, &'static str)> {
    // SAFETY: check identifies each pointer before anything reads it.
    unsafe {
        for seg in [c.current, c.segments] {
            if !seg.is_null() {
                chain::check(seg).map_err(|why| (seg, why))?;
            }
        }
        Ok(())
    }
}

/// The cheap form of [`check_segments`], for contexts in our layout: a
/// segment word must be NULL or a 16-byte aligned user-space address at
/// or above 64 KiB.  (Contexts in libgcc's layout get the full check:
/// they are rare.)
#[inline(always)]
fn plausible(seg: *mut StackSegment) -> bool {
    let a = seg as usize;
    a == 0 || (a.is_multiple_of(16) && (65536..1 << 48).contains(&a))
}

/// The `setcontext` fast path's check, which must stay a few
/// instructions: both words [`plausible`], and not both NULL (a context
/// of the original stack, which goes the general way).  Exactly
/// `plausible(a) && plausible(b) && !(a and b NULL)` (a test checks).
#[cfg(any(not(splitstack_context_asm), test))]
#[inline(always)]
fn plausible_pair(segments: *mut StackSegment, current: *mut StackSegment) -> bool {
    let (a, b) = (segments as usize, current as usize);
    let both = a | b;
    // Misaligned or beyond user space (one test of the two together); not
    // both NULL; then neither a non-NULL word below 64 KiB (a - 1 wraps
    // NULL to the top).
    both & !((1usize << 48) - 16) == 0 && both != 0 && a.wrapping_sub(1) >= 65535 && b.wrapping_sub(1) >= 65535
}

/// Where a collector's scan of the calling thread's stack starts: this
/// function's own stack pointer, rounded down to a word.  It lies below
/// every word of the caller's frame (and of our callers'), so a scan from
/// it in word steps reads every live word exactly where it is stored.
/// (The address of a byte-sized local would not do: it may be 7 mod 8,
/// and a word-stepping scan from it reads every word misaligned.)
#[inline(always)]
pub(super) fn scan_start() -> usize {
    word_floor(arch::stack_pointer())
}

/// `a` rounded down to a multiple of the word size.
#[inline(always)]
pub(super) fn word_floor(a: usize) -> usize {
    a & !(core::mem::size_of::<usize>() - 1)
}

/// Saves the calling thread's split-stack state in `ctx` (call it just
/// before `getcontext`/`swapcontext`/`setjmp`).
///
/// Every `ctx` of this API is libgcc's `void *ctx[10]`, declared so that
/// libgcc-style prototypes match; a `SplitstackContext` is the same ten
/// words, typed (pass `splitstack_context_words(&c)`).
///
/// # Safety
/// `ctx` must be NULL or point to ten readable and writable words (a
/// `void *ctx[10]`, the C contract).
// On x86_64 the assembly defines it (asm/x86_64/morestack.S: ten stores,
// the thread-local variables reached directly); this is the other
// architectures' definition.
#[cfg(not(splitstack_context_asm))]
#[no_mangle]
pub unsafe extern "C" fn __splitstack_getcontext(ctx: *mut *mut c_void) {
    // SAFETY: `ctx` is checked against NULL before use and then points to
    // the caller's ten words (the C contract); everything else touched is
    // the calling thread's own TLS state or a segment that was checked.
    unsafe {
        let ctx = ctx as *mut SplitstackContext;
        if ctx.is_null() {
            return null_context("__splitstack_getcontext");
        }
        let tls = Tls::here();
        let isp = tls.initial_sp();
        ctx.write(SplitstackContext {
            segments: tls.segments().load(Relaxed),
            current: tls.current().load(Relaxed),
            sp: scan_start() as *mut c_void,
            // The real limit, also while a request has marked it.
            guard: limit::get(),
            initial_sp: (*isp).sp as *mut c_void,
            initial_sp_len: (*isp).len,
            dont_block_signals: (*isp).dont_block_signals as usize,
            state: CTX_LIVE,
            reserved: [(*tls.thread_block()).interrupt_defer, 0],
        });
    }
}

/// Makes `ctx` the calling thread's split-stack state (call it just after
/// switching to the context's stack, or just before).
///
/// # Safety
/// `ctx` must be NULL or point to ten readable and writable words (a
/// `void *ctx[10]`, the C contract).
// On x86_64 the assembly defines it (asm/x86_64/morestack.S), with the
// same fast path as here and the same way out of line
// (`splitstack_setcontext_general`); this is the other architectures'
// definition.
#[cfg(not(splitstack_context_asm))]
#[no_mangle]
pub unsafe extern "C" fn __splitstack_setcontext(ctx: *mut *mut c_void) {
    let c = ctx as *const SplitstackContext;
    // The common case, a context of ours with a segment (a coroutine
    // switch), read in place; everything else (NULL, libgcc's layout,
    // released or garbage contexts, a context of the original stack) goes
    // the general way, out of line.
    // SAFETY: `c` is checked against NULL before it is read, and then
    // points to the caller's ten words (the C contract).
    unsafe {
        if c.is_null() || (*c).state != CTX_LIVE {
            return setcontext_general(ctx as *mut SplitstackContext);
        }
        let (segments, current) = ((*c).segments, (*c).current);
        if !plausible_pair(segments, current) {
            return setcontext_general(ctx as *mut SplitstackContext);
        }
        // Our getcontext and makecontext store real limits: no mark to
        // clear here.
        install(c, segments, current, (*c).reserved[0], (*c).guard);
    }
}

/// Makes the context at `c` the calling thread's state, with `segments`
/// as its chain and `current` (the context's, already read) as the
/// segment it runs on, `defer` as its interrupt nesting and `guard` (a
/// real limit, without the interrupt mark) as its limit.  Order: the
/// limit last, so that a signal between these stores sees the old limit
/// with the new lists at worst, which only makes a handler split early;
/// then a request waiting for this thread is kept (`limit::rearm_with`).
///
/// # Safety
/// `c` must be a readable context whose segment words were checked.
#[inline(always)]
unsafe fn install(
    c: *const SplitstackContext,
    segments: *mut StackSegment,
    current: *mut StackSegment,
    defer: usize,
    guard: usize,
) {
    // SAFETY: the caller's promise; the rest is the calling thread's own
    // TLS state.
    unsafe {
        let tls = Tls::here();
        let isp = tls.initial_sp();
        tls.segments().store(segments, Relaxed);
        tls.current().store(current, Relaxed);
        (*isp).sp = (*c).initial_sp as *mut u8;
        (*isp).len = (*c).initial_sp_len;
        (*isp).dont_block_signals = (*c).dont_block_signals as i32;
        let tb = tls.thread_block();
        (*tb).interrupt_defer = defer;
        core::sync::atomic::compiler_fence(SeqCst);
        arch::set_guard(guard);
        limit::rearm_with(tb, guard, defer);
    }
}

/// [`__splitstack_setcontext`] for every context but a plain one of ours:
/// checks it (aborting, with a message, on one that cannot be switched
/// to) and installs it.
///
/// # Safety
/// As [`__splitstack_setcontext`].
#[cold]
#[inline(never)]
unsafe fn setcontext_general(ctx: *mut SplitstackContext) {
    // SAFETY: `ctx` is checked against NULL before use and then points to
    // the caller's ten words (the C contract); the segment words are
    // checked before anything follows them.
    unsafe {
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
        let segments = if c.segments.is_null() && c.current.is_null() {
            original_stack_chain(&c, thread_state::initial_sp())
        } else {
            c.segments
        };
        // Word 8 is ours only in our contexts.
        let defer = if tag(&c) == Tag::Ours { c.reserved[0] } else { 0 };
        install(&c, segments, c.current, defer, limit::real(c.guard));
    }
}

// The Rust code the assembly's getcontext and setcontext (x86_64) leave
// to.

/// The assembly's getcontext, given NULL.
#[cfg(splitstack_context_asm)]
#[no_mangle]
extern "C" fn splitstack_getcontext_null() {
    null_context("__splitstack_getcontext");
}

/// The assembly's setcontext for every context but a plain one of ours.
///
/// # Safety
/// As [`__splitstack_setcontext`].
#[cfg(splitstack_context_asm)]
#[no_mangle]
unsafe extern "C" fn splitstack_setcontext_general(ctx: *mut SplitstackContext) {
    // SAFETY: the caller's promise.
    unsafe { setcontext_general(ctx) }
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
///
/// # Safety
/// `isp` must be the calling thread's record.
#[cold]
unsafe fn original_stack_chain(c: &SplitstackContext, isp: *mut InitialSp) -> *mut StackSegment {
    // SAFETY: the caller's promise.
    unsafe {
        if c.initial_sp.is_null() || c.initial_sp != (*isp).sp as *mut c_void {
            return ptr::null_mut();
        }
        chain::own_chain()
    }
}

/// Reports a failed makecontext (out of line: its message buffer must not
/// sit in `__splitstack_makecontext`'s frame, which the caller's stack
/// holds).
#[cold]
#[inline(never)]
fn makecontext_failed(e: &crate::alloc::AllocError) {
    e.describe(Msg::new().s("__splitstack_makecontext: ")).emit();
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
///
/// # Safety
/// `ctx` must be NULL or point to ten readable and writable words (a
/// `void *ctx[10]`, the C contract).
/// `size` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_makecontext(
    stack_size: usize,
    ctx: *mut *mut c_void,
    size: *mut usize,
) -> *mut c_void {
    // SAFETY: `ctx` is checked against NULL before use and then points to
    // the caller's ten words (the C contract); everything else touched is
    // the calling thread's own TLS state or a segment that was checked.
    unsafe {
        let ctx = ctx as *mut SplitstackContext;
        if ctx.is_null() {
            null_context("__splitstack_makecontext");
            return ptr::null_mut();
        }
        // At least what was asked for; more when recent contexts needed
        // more (context_sizing.rs).
        let (want, probe) = context_sizing::first_size(stack_size);
        let seg =
            match chain::alloc(want, 1)
                .or_else(|e| if want > stack_size { chain::alloc(stack_size, 1) } else { Err(e) })
            {
                Ok(s) => s,
                Err(e) => {
                    makecontext_failed(&e);
                    ctx.write(SplitstackContext::empty());
                    return ptr::null_mut();
                }
            };
        if probe {
            context_sizing::mark_probe(seg);
        }
        ctx.write(SplitstackContext {
            segments: seg,
            current: seg,
            sp: ptr::null_mut(),
            guard: chain::low(seg) + config::slack(),
            initial_sp: ptr::null_mut(),
            initial_sp_len: 0,
            dont_block_signals: 1,
            state: CTX_LIVE,
            reserved: [0; 2],
        });
        if !size.is_null() {
            *size = chain::usable(seg);
        }
        chain::low(seg) as *mut c_void
    }
}

/// Resets a context (whose coroutine has finished) to the start of its
/// first segment, for reuse by a new coroutine; frees its alloca blocks.
/// Signals stay unblocked (this runtime's default).
///
/// # Safety
/// `ctx` must be NULL or point to ten readable and writable words (a
/// `void *ctx[10]`, the C contract).
/// `size` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_resetcontext(ctx: *mut *mut c_void, size: *mut usize) -> *mut c_void {
    // SAFETY: `ctx` is checked against NULL before use and then points to
    // the caller's ten words (the C contract); everything else touched is
    // the calling thread's own TLS state or a segment that was checked.
    unsafe {
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
            if let Err(why) = chain::check(c.segments) {
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
                    crate::alloca::free_list(chain::alloca_blocks_of(s));
                    s = (*s).next;
                    if !s.is_null() {
                        if let Err(why) = chain::check(s) {
                            bad_segment("__splitstack_resetcontext", ctx, s, why, "its chain is cut there");
                            (*seg).next = ptr::null_mut();
                            break;
                        }
                    }
                }
            }
            // So are its frames (parked ones never returned): ASan's shadow.
            chain::asan_clear_chain(seg);
            (chain::low(seg), chain::usable(seg))
        };
        c.guard = low.wrapping_add(config::slack());
        c.reserved = [0; 2];
        if !size.is_null() {
            *size = len;
        }
        low as *mut c_void
    }
}

/// Frees every segment of a context (and their alloca blocks).  The
/// context must not be running.  Releasing twice is reported and ignored.
///
/// # Safety
/// `ctx` must be NULL or point to ten readable and writable words (a
/// `void *ctx[10]`, the C contract).
#[no_mangle]
pub unsafe extern "C" fn __splitstack_releasecontext(ctx: *mut *mut c_void) {
    // SAFETY: `ctx` is checked against NULL before use and then points to
    // the caller's ten words (the C contract); everything else touched is
    // the calling thread's own TLS state or a segment that was checked.
    unsafe {
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
        chain::forget_own_chain(c.segments);
        let result = chain::release(&mut c.segments, true);
        c.current = ptr::null_mut();
        c.sp = ptr::null_mut();
        c.state = CTX_RELEASED;
        if let Err((seg, why)) = result {
            bad_segment("__splitstack_releasecontext", ctx, seg, why, "it and the rest of the chain were not freed");
        }
    }
}

/// Reads and/or sets whether `__morestack` blocks signals on this thread
/// (libgcc semantics: `*new` nonzero asks for blocking; `*old` receives
/// the previous setting).  This runtime's default is not to block: its
/// stack switch is safe at every instruction.
///
/// # Safety
/// `new` and `old` must each be NULL or point to an `int`.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_block_signals(new: *mut c_int, old: *mut c_int) {
    // SAFETY: each pointer is checked against NULL; the rest is the calling
    // thread's record.
    unsafe {
        let isp = thread_state::initial_sp();
        if !old.is_null() {
            *old = ((*isp).dont_block_signals == 0) as c_int;
        }
        if !new.is_null() {
            (*isp).dont_block_signals = (*new == 0) as i32;
        }
    }
}

/// As `__splitstack_block_signals`, for a saved context.
///
/// # Safety
/// `ctx` must be NULL or point to ten readable and writable words (a
/// `void *ctx[10]`, the C contract).
/// `new` and `old` must each be NULL or point to an `int`.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_block_signals_context(ctx: *mut *mut c_void, new: *mut c_int, old: *mut c_int) {
    // SAFETY: `ctx` is checked against NULL before use and then points to
    // the caller's ten words (the C contract); everything else touched is
    // the calling thread's own TLS state or a segment that was checked.
    unsafe {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_pair_is_the_two_word_checks() {
        // (Declared here, where cbindgen does not look.)
        #[cfg(splitstack_context_asm)]
        extern "C" {
            /// 1 if the assembly's setcontext fast path takes a context
            /// with these segment words, else 0 (its PLAUSIBLE_PAIR).
            fn splitstack_plausible_pair_asm(segments: usize, current: usize) -> usize;
        }
        let edges: [usize; 16] = [
            0,
            1,
            8,
            16,
            0xfff0,
            0xffff,
            0x1_0000,
            0x1_0008,
            0x1_0010,
            0x7fff_ffff_fff0,
            0xffff_ffff_fff0,
            0xffff_ffff_fff8,
            0x1_0000_0000_0000,
            0x1_0000_0000_0010,
            0xffff_8000_0000_0000,
            usize::MAX & !15,
        ];
        for &a in &edges {
            for &b in &edges {
                let (sa, sb) = (a as *mut StackSegment, b as *mut StackSegment);
                let want = plausible(sa) && plausible(sb) && !(a == 0 && b == 0);
                assert_eq!(plausible_pair(sa, sb), want, "{a:#x} {b:#x}");
                // The assembly's fast path applies the same test.
                #[cfg(splitstack_context_asm)]
                // SAFETY: a pure function of its two arguments.
                assert_eq!(unsafe { splitstack_plausible_pair_asm(a, b) } == 1, want, "asm: {a:#x} {b:#x}");
            }
        }
    }
}
