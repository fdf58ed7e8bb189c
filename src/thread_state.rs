//! The calling thread's split-stack state: the three TLS variables with
//! libgcc's names and layouts and the runtime's own per-thread block
//! (defined in the assembly, because stable Rust cannot define exported
//! thread-locals; reached through initial-exec TLS accesses), and the
//! registration of the destructor that frees a thread's runtime state
//! when it exits.

use crate::layout::{InitialSp, StackSegment, ThreadBlock};
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering::*};

/// `&__morestack_segments` of the calling thread: the head of its list.
#[inline(always)]
pub fn segments() -> &'static AtomicPtr<StackSegment> {
    // SAFETY: the address is the calling thread's TLS slot, valid for the
    // thread's life and 8-byte aligned; it is only ever accessed as a
    // pointer-sized word (by this thread, and by its signal handlers).
    unsafe { &*(crate::arch::tls_segments() as *const AtomicPtr<StackSegment>) }
}

/// `&__morestack_current_segment`: the segment the thread runs on, NULL
/// on its original stack.
#[inline(always)]
pub fn current() -> &'static AtomicPtr<StackSegment> {
    // SAFETY: as for `segments`.
    unsafe { &*(crate::arch::tls_current_segment() as *const AtomicPtr<StackSegment>) }
}

/// The calling thread's block.
#[inline(always)]
pub fn thread_block() -> *mut ThreadBlock {
    crate::arch::tls_thread_block() as *mut ThreadBlock
}

/// `__morestack_initial_sp` of the calling thread.
#[inline(always)]
pub fn initial_sp() -> *mut InitialSp {
    crate::arch::tls_initial_sp() as *mut InitialSp
}

// ---------------------------------------------------------------------
// The exit destructor: a pthread key whose destructor (thread.rs) frees
// what a thread holds of the runtime when the thread exits.
// ---------------------------------------------------------------------

static mut KEY: libc::pthread_key_t = 0;
static mut KEY_ONCE: libc::pthread_once_t = libc::PTHREAD_ONCE_INIT;
static mut KEY_ERR: libc::c_int = 0;
static KEY_READY: AtomicBool = AtomicBool::new(false);
/// The destructor `create_key` installs (set before the `pthread_once`).
static DESTRUCTOR: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());

extern "C" fn create_key() {
    let d = DESTRUCTOR.load(Acquire);
    // SAFETY: runs once, under pthread_once, before anyone reads KEY; `d`
    // is the `unsafe extern "C" fn(*mut c_void)` create_exit_key stored.
    unsafe {
        let dtor: Option<unsafe extern "C" fn(*mut c_void)> = if d.is_null() {
            None
        } else {
            Some(core::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void)>(d))
        };
        KEY_ERR = libc::pthread_key_create(ptr::addr_of_mut!(KEY), dtor);
    }
}

/// Creates the exit-destructor key (once per process; at start-up, so
/// that no slow path ever has to) with `destructor`.  Err(errno) when it
/// cannot be created.
pub fn create_exit_key(destructor: unsafe extern "C" fn(*mut c_void)) -> Result<(), libc::c_int> {
    let _ = DESTRUCTOR.compare_exchange(ptr::null_mut(), destructor as *mut c_void, AcqRel, Acquire);
    // SAFETY: pthread_once with a static once-control; KEY_ERR is written
    // by create_key under it and only read after it returned.
    let err = unsafe {
        if libc::pthread_once(ptr::addr_of_mut!(KEY_ONCE), create_key) != 0 {
            libc::EAGAIN
        } else {
            KEY_ERR
        }
    };
    if err != 0 {
        return Err(err);
    }
    KEY_READY.store(true, Release);
    Ok(())
}

/// Arms the exit destructor for the calling thread, also for a thread that
/// was not created through the wrapper (a foreign thread pool,
/// `__real_pthread_create`) but uses the runtime all the same (a recycled
/// stack's limit, or a context it switched to).  Called on slow paths;
/// `pthread_setspecific` with one of the first 32 keys only stores into
/// the thread descriptor.  Returns the errno of a failure.
pub fn register_exit_destructor() -> Result<(), libc::c_int> {
    let tb = thread_block();
    // SAFETY: tb is this thread's block; KEY was created (KEY_READY).
    unsafe {
        if (*tb).registered != 0 || !KEY_READY.load(Acquire) {
            return Ok(());
        }
        (*tb).registered = 1;
        match libc::pthread_setspecific(KEY, segments() as *const _ as *const c_void) {
            0 => Ok(()),
            e => Err(e),
        }
    }
}
