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

fn null_context(func: &str) {
    Msg::new().s(func).s(": NULL context").emit();
}

/// Saves the calling thread's split-stack state in `ctx` (call it just
/// before `getcontext`/`swapcontext`/`setjmp`).
#[no_mangle]
pub unsafe extern "C" fn __splitstack_getcontext(ctx: *mut SplitstackContext) {
    if ctx.is_null() {
        return null_context("__splitstack_getcontext");
    }
    let isp = thread_state::initial_sp();
    let marker = 0u8;
    ctx.write(SplitstackContext {
        segments: thread_state::segments().load(Relaxed),
        current: thread_state::current().load(Relaxed),
        sp: ptr::addr_of!(marker) as *mut c_void,
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
pub unsafe extern "C" fn __splitstack_setcontext(ctx: *mut SplitstackContext) {
    if ctx.is_null() {
        Msg::new().s("__splitstack_setcontext: NULL context; aborting").fatal();
    }
    let c = ctx.read();
    if c.state == CTX_RELEASED {
        Msg::new()
            .s("__splitstack_setcontext: context ")
            .hex(ctx as usize)
            .s(" was released; its stack is gone; aborting")
            .fatal();
    }
    let isp = thread_state::initial_sp();
    // Order: the limit last, so that a signal between these stores sees
    // the old limit with the new lists at worst, which only makes a
    // handler split early.
    thread_state::segments().store(c.segments, Relaxed);
    thread_state::current().store(c.current, Relaxed);
    (*isp).sp = c.initial_sp as *mut u8;
    (*isp).len = c.initial_sp_len;
    (*isp).dont_block_signals = c.dont_block_signals as i32;
    core::sync::atomic::compiler_fence(SeqCst);
    arch::set_guard(c.guard);
}

/// Creates a context with a fresh segment of at least `stack_size` usable
/// bytes above its limit.  Returns the segment's lowest usable address
/// and stores its usable size in `*size` (for `makecontext`'s uc_stack).
/// Returns NULL (with a message) when memory is exhausted.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_makecontext(stack_size: usize, ctx: *mut SplitstackContext, size: *mut usize) -> *mut c_void {
    if ctx.is_null() {
        null_context("__splitstack_makecontext");
        return ptr::null_mut();
    }
    let seg = match segment::map(stack_size.saturating_add(config::slack())) {
        Ok(s) => s,
        Err(e) => {
            Msg::new()
                .s("__splitstack_makecontext: out of memory: cannot map a stack segment of ")
                .dec(e.bytes as u64)
                .s(" bytes (errno ")
                .dec(e.errno as u64)
                .s(")")
                .emit();
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
        *size = (*seg).size;
    }
    segment::low(seg) as *mut c_void
}

/// Resets a context (whose coroutine has finished) to the start of its
/// first segment, for reuse by a new coroutine; frees its alloca blocks.
/// Signals stay unblocked (this runtime's default).
#[no_mangle]
pub unsafe extern "C" fn __splitstack_resetcontext(ctx: *mut SplitstackContext, size: *mut usize) -> *mut c_void {
    if ctx.is_null() {
        null_context("__splitstack_resetcontext");
        return ptr::null_mut();
    }
    let c = &mut *ctx;
    if c.state == CTX_RELEASED {
        Msg::new().s("__splitstack_resetcontext: context ").hex(ctx as usize).s(" was released").emit();
        return ptr::null_mut();
    }
    let seg = c.segments;
    c.current = seg;
    c.sp = ptr::null_mut();
    c.dont_block_signals = 1;
    let (low, len) = if seg.is_null() {
        let len = c.initial_sp_len;
        ((c.initial_sp as usize).wrapping_sub(len), len)
    } else {
        let mut s = seg;
        while !s.is_null() {
            crate::alloca::free_list(ptr::addr_of_mut!((*s).extra) as *mut *mut crate::alloca::AllocaBlock);
            s = (*s).next;
        }
        (segment::low(seg), (*seg).size)
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
pub unsafe extern "C" fn __splitstack_releasecontext(ctx: *mut SplitstackContext) {
    if ctx.is_null() {
        return null_context("__splitstack_releasecontext");
    }
    let c = &mut *ctx;
    if c.state == CTX_RELEASED {
        Msg::new()
            .s("__splitstack_releasecontext: context ")
            .hex(ctx as usize)
            .s(" was already released; ignoring")
            .emit();
        return;
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
    segment::release_list(&mut c.segments);
    c.current = ptr::null_mut();
    c.sp = ptr::null_mut();
    c.state = CTX_RELEASED;
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
pub unsafe extern "C" fn __splitstack_block_signals_context(ctx: *mut SplitstackContext, new: *mut c_int, old: *mut c_int) {
    if ctx.is_null() {
        return null_context("__splitstack_block_signals_context");
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
    let mut sp = sp as usize;
    let segment: *mut StackSegment = match seg as usize {
        FIND_INITIAL => {
            let top = *initial_sp as usize;
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
            let marker = 0u8;
            sp = ptr::addr_of!(marker) as usize;
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
        _ => seg as *mut StackSegment,
    };
    *next_seg = if (*segment).prev.is_null() { FIND_INITIAL as *mut c_void } else { (*segment).prev as *mut c_void };
    let old = (*segment).old_stack as usize;
    if old == 0 {
        *next_seg = FIND_DONE as *mut c_void;
    } else {
        *next_sp = frame_below(old) as *mut c_void;
    }
    let top = segment::top(segment);
    *len = top.saturating_sub(sp);
    sp as *mut c_void
}

/// Starts a `__splitstack_find` walk over a suspended context.  Returns
/// NULL for a context that was made but never run.
#[no_mangle]
pub unsafe extern "C" fn __splitstack_find_context(
    ctx: *mut SplitstackContext,
    len: *mut usize,
    next_seg: *mut *mut c_void,
    next_sp: *mut *mut c_void,
    initial_sp: *mut *mut c_void,
) -> *mut c_void {
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
    if c.sp.is_null() || c.state == CTX_RELEASED {
        *next_seg = FIND_DONE as *mut c_void;
        *next_sp = ptr::null_mut();
        *initial_sp = ptr::null_mut();
        return ptr::null_mut();
    }
    let seg = if c.current.is_null() { FIND_INITIAL as *mut c_void } else { c.current as *mut c_void };
    __splitstack_find(seg, c.sp, len, next_seg, next_sp, initial_sp)
}

/// Copies the runtime's counters into `*out`.  Returns 0, or -1 (with a
/// message) when `out` is NULL.
#[no_mangle]
pub unsafe extern "C" fn splitstack_get_stats(out: *mut SplitstackStats) -> c_int {
    if out.is_null() {
        Msg::new().s("splitstack_get_stats: NULL output pointer").emit();
        return -1;
    }
    out.write(stats::snapshot());
    0
}

/// Bytes between a segment's lowest usable byte and its stack limit (the
/// reserve for non-split code and signal frames), as configured at start.
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

