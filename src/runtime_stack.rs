//! Each thread's runtime stacks: where the slow paths run (allocation,
//! registered allocators' callbacks, freeing), whatever stack the program
//! was on, even a segment at its limit.  One per nesting level: a signal
//! handler that needs the runtime while its thread is inside it gets a
//! stack of its own.

use crate::diag::Msg;
use crate::layout::{ThreadBlock, RT_LEVELS};
use crate::sync::Lock;
use crate::{asan, config, stats, sys, thread_state, valgrind};
use core::ffi::c_void;
use core::sync::atomic::{compiler_fence, Ordering::*};

/// Runtime stack per thread (plus a guard page).
pub(crate) const RUNTIME_STACK: usize = 64 << 10;

/// Runtime stacks kept for new threads when threads exit, at most.
const SPARE_MAX: usize = 64;

/// The runtime stacks of exited threads, kept (mapped, guard page and
/// all) for the next threads: a thread's first slow path then makes no
/// system call, and its exit none for its runtime stack.  Taken with
/// `try_lock` only, never waited for: whoever finds it busy (another
/// thread, or a signal handler that interrupted this one there) maps or
/// unmaps as if it were empty or full.
struct Spare {
    n: usize,
    /// (base, length) of each kept mapping.
    stacks: [(usize, usize); SPARE_MAX],
}

static SPARE: Lock<Spare> = Lock::new(Spare { n: 0, stacks: [(0, 0); SPARE_MAX] });

/// A kept runtime stack of `len` bytes (its base), if there is one.
fn take_spare(len: usize) -> Option<usize> {
    let mut g = SPARE.try_lock()?;
    let i = g.n.checked_sub(1)?;
    let (base, l) = *g.stacks.get(i)?;
    if l != len {
        return None;
    }
    g.n = i;
    Some(base)
}

/// Keeps a runtime stack for the next thread; false when there is no
/// room (the caller unmaps it).
fn keep_spare(base: usize, len: usize) -> bool {
    let Some(mut g) = SPARE.try_lock() else { return false };
    let n = g.n;
    let Some(slot) = g.stacks.get_mut(n) else { return false };
    *slot = (base, len);
    g.n = n + 1;
    true
}

/// Maps runtime stack `level` of the calling thread if needed; its top,
/// or None if it cannot be mapped.
///
/// # Safety
/// `tb` must be the calling thread's block.
unsafe fn runtime_stack_top(tb: *mut ThreadBlock, level: usize) -> Option<usize> {
    // SAFETY: the caller's promise.
    let rt = unsafe { (*tb).rt.get_mut(level)? };
    if rt.top == 0 {
        let page = config::page_size();
        let len = config::page_round(RUNTIME_STACK)? + page;
        let base = match take_spare(len) {
            Some(b) => {
                // An exited thread's frames may have left what valgrind
                // and ASan saw of them (popped frames, poison).
                valgrind::make_undefined(b + page, len - page);
                asan::unpoison(b + page, len - page);
                b
            }
            None => {
                let base = sys::mmap_anon(len).ok()?;
                // The lowest page is a guard: an overflow faults instead
                // of writing into whatever lies below.
                let _ = sys::mprotect_none(base, page);
                stats::os_mapped(len);
                base
            }
        };
        rt.base = base;
        rt.len = len;
        // Entered at its top (one past the mapping), which must count as
        // inside it for valgrind.
        rt.vg_stack = valgrind::stack_register(base + page, base + len);
        compiler_fence(SeqCst);
        rt.top = base + len;
        // A thread that needs a runtime stack holds runtime resources:
        // make sure they are freed when it exits, wrapper or not (on
        // failure they are not; nothing better to do on a slow path).
        let _ = thread_state::register_exit_destructor();
    }
    Some(rt.top)
}

/// Runs `f` on a runtime stack of the calling thread (at least
/// `RUNTIME_STACK` bytes, whatever stack the caller was on) with the
/// split-stack limit all ones.
///
/// Already on the runtime stack in use: carry on below.  Otherwise take
/// the next level: a signal handler that needs the runtime while the
/// thread is in it (its own frames are on the alternate stack or on
/// small split segments) gets a stack of its own, and gives it back
/// before the interrupted code resumes.  Ends the process if no runtime
/// stack can be mapped or handlers nest too deep.
pub fn on_runtime_stack<F: FnOnce()>(f: F) {
    extern "C" fn tramp<F: FnOnce()>(p: *mut c_void) {
        // SAFETY: `p` is the `Option<F>` below, alive for the whole call.
        unsafe {
            if let Some(f) = (*(p as *mut Option<F>)).take() {
                f()
            }
        }
    }
    let tb = thread_state::thread_block();
    // SAFETY: tb is this thread's block; on_stack switches to a mapped,
    // 16-byte aligned stack top (or stays) and comes back.  A handler
    // that interrupts between the level check and the switch finishes
    // with that level before we write to it.
    unsafe {
        let mut slot = Some(f);
        let arg = &mut slot as *mut Option<F> as *mut c_void;
        let level = (*tb).rt_pivots;
        let sp = crate::arch::current::stack_pointer();
        if level > 0 {
            if let Some(rt) = (*tb).rt.get(level - 1) {
                if sp > rt.base && sp <= rt.top {
                    crate::arch::splitstack_on_stack(tramp::<F>, arg, 0);
                    return;
                }
            }
        }
        if level >= RT_LEVELS {
            nested_too_deep();
        }
        let Some(top) = runtime_stack_top(tb, level) else { no_runtime_stack() };
        (*tb).rt_pivots = level + 1;
        compiler_fence(SeqCst);
        crate::arch::splitstack_on_stack(tramp::<F>, arg, top);
        compiler_fence(SeqCst);
        (*tb).rt_pivots = level;
    }
}

#[cold]
#[inline(never)]
fn no_runtime_stack() -> ! {
    Msg::new().s("out of memory: cannot map the ").dec(RUNTIME_STACK as u64).s("-byte runtime stack; aborting").fatal()
}

#[cold]
#[inline(never)]
fn nested_too_deep() -> ! {
    Msg::new().s("signal handlers nested more than 4 deep inside the runtime; aborting").fatal()
}

/// Frees the calling thread's runtime stacks (thread exit), keeping up to
/// [`SPARE_MAX`] for the next threads.  The thread block forgets each
/// first: a signal handler that needs one from here on maps a new one
/// instead of using the range being given up.
///
/// # Safety
/// The caller must not be on a runtime stack.
pub unsafe fn free_runtime_stack() {
    let tb = thread_state::thread_block();
    // SAFETY: the calling thread's block.
    if unsafe { (*tb).rt_pivots } != 0 {
        return;
    }
    for level in 0..RT_LEVELS {
        // SAFETY: as above.
        let Some(rt) = (unsafe { &mut *tb }).rt.get_mut(level) else { break };
        if rt.top == 0 {
            continue;
        }
        let (base, len, vg) = (rt.base, rt.len, rt.vg_stack);
        rt.top = 0;
        rt.base = 0;
        rt.len = 0;
        rt.vg_stack = 0;
        compiler_fence(SeqCst);
        valgrind::stack_deregister(vg);
        if keep_spare(base, len) {
            continue;
        }
        // SAFETY: the caller is not on it, and the block forgot it.
        if unsafe { sys::munmap(base, len) }.is_ok() {
            stats::os_unmapped(len);
        }
    }
}
