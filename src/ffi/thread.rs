//! `__wrap_pthread_create` (what `pthread_create` becomes under the
//! linker's `--wrap=pthread_create`, which the gcc driver adds for
//! -fsplit-stack) and the process-exit hook the assembly's `.fini_array`
//! entry calls.

use crate::thread::{self, StartRoutine};
use core::ffi::{c_int, c_void};

/// What `pthread_create` becomes in -fsplit-stack programs.
///
/// # Safety
/// As `pthread_create`.
#[no_mangle]
pub unsafe extern "C" fn __wrap_pthread_create(
    tid: *mut libc::pthread_t,
    attr: *const libc::pthread_attr_t,
    routine: StartRoutine,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: the caller's arguments, as pthread_create takes them.
    unsafe { thread::create(tid, attr, routine, arg) }
}

/// Run from .fini_array (morestack.S).
#[no_mangle]
pub extern "C" fn splitstack_process_exit() {
    thread::process_exit();
}
