//! Thread handles and interrupts through the stack limit (see README,
//! "Interrupts"): `splitstack_thread_self`, `splitstack_thread_release`,
//! `splitstack_set_interrupt_handler`, `splitstack_interrupt`,
//! `splitstack_interrupt_poll`, `splitstack_interrupt_defer` and
//! `splitstack_interrupt_undefer`.

use super::types::{SplitstackInterruptHandler, SplitstackResult, SplitstackThread};
use crate::diag::Msg;
use crate::interrupt::{self, Record, RequestError, SelfError};
use core::ffi::c_void;
use core::ptr;

/// The calling thread's handle: the same pointer on every call from the
/// thread, with one more reference each time (release each with
/// `splitstack_thread_release`).  NULL, with a message, when no handle can
/// be made (out of memory, the thread is exiting, or its exit could not
/// be hooked).  Not async-signal-safe on the thread's first call.
#[no_mangle]
pub extern "C" fn splitstack_thread_self() -> *mut SplitstackThread {
    match interrupt::thread_self() {
        Ok(r) => r as *mut SplitstackThread,
        Err(e) => {
            let mut m = Msg::new();
            m.s("splitstack_thread_self: ");
            match e {
                SelfError::Exiting => m.s("the thread is exiting"),
                SelfError::NoMemory => m.s("out of memory"),
                SelfError::NoDestructor(errno) => {
                    m.s("cannot hook the thread's exit (errno ").dec(errno as u64).s("), which a handle needs")
                }
            };
            m.s("; returning NULL").emit();
            ptr::null_mut()
        }
    }
}

/// Drops one reference to a handle (the last frees it).  NULL, or a
/// pointer that is not a live handle, gets a message and changes nothing.
///
/// # Safety
/// `t` must be NULL or a handle from `splitstack_thread_self` with a
/// reference not yet released.
#[no_mangle]
pub unsafe extern "C" fn splitstack_thread_release(t: *mut SplitstackThread) {
    if t.is_null() {
        Msg::new().s("splitstack_thread_release: NULL thread").emit();
        return;
    }
    let r = t as *mut Record;
    // SAFETY: the caller passes a handle (checked, best effort, below).
    unsafe {
        if !interrupt::is_record(r) {
            not_a_handle("splitstack_thread_release", t, "nothing released");
            return;
        }
        interrupt::release(r);
    }
}

/// Sets the process's interrupt handler (NULL: none) and the pointer
/// passed to it.  Requests made while there is no handler stay pending
/// (`splitstack_interrupt_poll` takes them).  Not async-signal-safe.
///
/// The handler runs once per delivery, on the requested thread, with
/// every bit requested since the previous delivery, at the thread's next
/// entry into a split-stack function and before that function's body;
/// requests made while it runs wait for the next entry after it returns.
/// It runs on the stack segment the interrupted function got, with at
/// least that function's frame plus the reserve
/// (`splitstack_segment_slack()`) below it.  It may run any split-stack
/// code, throw a C++ exception (caught by the interrupted code, with the
/// exact limit restored), and switch coroutines with
/// `__splitstack_getcontext` + `__splitstack_setcontext` + `swapcontext`
/// (the interrupt nesting follows the context).  It never runs inside a
/// signal handler: the bits then wait for the first entry after the
/// signal handler returned.
#[no_mangle]
pub extern "C" fn splitstack_set_interrupt_handler(
    h: SplitstackInterruptHandler,
    user: *mut c_void,
) -> SplitstackResult {
    interrupt::set_handler(h.map_or(0, |f| f as usize), user);
    SplitstackResult::SplitstackOk
}

/// Asks thread `t` to run the interrupt handler with `bits` (ORed into
/// what is pending) at its next entry into a split-stack function.
/// Callable from any thread, from `t` itself and from signal handlers
/// (async-signal-safe).  A request to another thread makes one
/// `membarrier` system call, so that it is seen at the thread's next
/// entry whatever the thread is doing.  Returns `SplitstackOk`,
/// `SplitstackNullArgument` (NULL `t`), `SplitstackInvalidValue` (`bits`
/// 0, or `t` not a live handle) or `SplitstackThreadExited`.
///
/// # Safety
/// `t` must be NULL or a handle with a reference not yet released.
#[no_mangle]
pub unsafe extern "C" fn splitstack_interrupt(t: *mut SplitstackThread, bits: u64) -> SplitstackResult {
    if t.is_null() {
        Msg::new().s("splitstack_interrupt: NULL thread").emit();
        return SplitstackResult::SplitstackNullArgument;
    }
    if bits == 0 {
        Msg::new().s("splitstack_interrupt: no bits (0): nothing requested").emit();
        return SplitstackResult::SplitstackInvalidValue;
    }
    // SAFETY: the caller passes a live handle.
    match unsafe { interrupt::request(t as *mut Record, bits) } {
        Ok(()) => SplitstackResult::SplitstackOk,
        Err(RequestError::Exited) => SplitstackResult::SplitstackThreadExited,
        Err(RequestError::NotAHandle) => {
            not_a_handle("splitstack_interrupt", t, "nothing requested");
            SplitstackResult::SplitstackInvalidValue
        }
    }
}

/// Takes and clears the calling thread's pending bits (0 if none), for
/// loops that make no calls and for signal handlers.
#[no_mangle]
pub extern "C" fn splitstack_interrupt_poll() -> u64 {
    interrupt::poll()
}

/// Defers delivery on the calling thread (nests) until the matching
/// `splitstack_interrupt_undefer`.
#[no_mangle]
pub extern "C" fn splitstack_interrupt_defer() {
    interrupt::defer()
}

/// Ends one `splitstack_interrupt_defer`; at the outermost, pending bits
/// are delivered at the next function entry.  Without a matching defer:
/// a message, and nothing changes.
#[no_mangle]
pub extern "C" fn splitstack_interrupt_undefer() {
    if !interrupt::undefer() {
        Msg::new().s("splitstack_interrupt_undefer: nothing is deferred; ignored").emit();
    }
}

#[cold]
#[inline(never)]
fn not_a_handle(func: &str, t: *mut SplitstackThread, outcome: &str) {
    Msg::new().s(func).s(": ").hex(t as usize).s(" is not a thread handle (or was released); ").s(outcome).emit();
}
