//! Threads: what `__wrap_pthread_create` does (the gcc driver links every
//! -fsplit-stack program with `--wrap=pthread_create`: each new thread
//! gets its initial limit and a destructor that frees its segments when it
//! exits), and the teardown of a thread's runtime state at its exit and of
//! the finalising thread's at process exit.

use crate::diag::Msg;
use crate::{alloc, chain, config, interrupt, overrun, runtime_stack, stats, thread_state};
use core::ffi::{c_int, c_void};

/// A thread's start routine.
pub type StartRoutine = extern "C" fn(*mut c_void) -> *mut c_void;

type PthreadCreate =
    unsafe extern "C" fn(*mut libc::pthread_t, *const libc::pthread_attr_t, StartRoutine, *mut c_void) -> c_int;

extern "C" {
    fn __stack_split_initialize();
    fn splitstack_real_pthread_create_ptr() -> *const c_void;
}

struct Start {
    routine: StartRoutine,
    arg: *mut c_void,
}

/// At start-up: the exit-destructor key (so that no slow path has to make
/// it) and the allocator's fork handlers.
pub fn init() {
    if let Err(e) = thread_state::create_exit_key(thread_exit) {
        key_failed(e, "threads' segments will not be freed at their exit");
    }
    alloc::default::register_fork_handlers();
}

#[cold]
fn key_failed(errno: c_int, what: &str) {
    Msg::new().s("pthread_key_create failed (errno ").dec(errno as u64).s("); ").s(what).emit();
}

/// Everything the calling thread holds, for its exit: idle segments, its
/// segment cache (to the pool, for other threads), its runtime stack, and
/// its `__morestack` count (into the process total).
fn teardown() {
    chain::release_idle_segments();
    // SAFETY: the thread is exiting (or the process is finalising) and is
    // on its own stack, not on the runtime stack being freed; tb is its
    // own block.
    unsafe {
        alloc::default::flush_thread_cache();
        runtime_stack::free_runtime_stack();
    }
    // Its own counts into the process totals (after the cache went to
    // the pool, which counted the cached segments there).
    thread_state::unlist();
}

/// The exit destructor of the pthread key (see `thread_state`).
///
/// # Safety
/// Called by glibc at thread exit only, on the exiting thread.
unsafe extern "C" fn thread_exit(_segments: *mut c_void) {
    // First: no request may reach the thread once its descriptor can be
    // recycled; after this they get SplitstackThreadExited.
    interrupt::thread_exiting();
    teardown();
    overrun::thread_exiting();
    // glibc reuses thread descriptors (and with them the limit word) for
    // new threads; a thread created without the wrapper must start with
    // limit 0, as on a fresh descriptor, not with this one's.
    crate::arch::current::set_guard(0);
}

/// At process exit (from .fini_array): free the finalising thread's idle
/// segments, then report the statistics if asked (so the report shows
/// what was left).
pub fn process_exit() {
    teardown();
    if config::stats_at_exit() {
        stats::report(thread_state::totals());
        alloc::guard::report();
    }
}

extern "C" fn thread_start(p: *mut c_void) -> *mut c_void {
    // SAFETY: `p` is the Start the wrapper malloc'd for this thread and
    // nothing else uses; __stack_split_initialize has no preconditions.
    unsafe {
        __stack_split_initialize();
        overrun::thread_started();
        if let Err(err) = thread_state::register_exit_destructor() {
            Msg::new()
                .s("pthread_setspecific failed (errno ")
                .dec(err as u64)
                .s("); this thread's segments will not be freed at exit")
                .emit();
        }
        let start = (p as *mut Start).read();
        libc::free(p);
        (start.routine)(start.arg)
    }
}

/// `__wrap_pthread_create`: glibc's `pthread_create` (which the linker
/// gave the wrapper as `__real_pthread_create`), with the new thread
/// started through `thread_start`.
///
/// # Safety
/// As `pthread_create`: `tid` writable, `attr` NULL or initialised.
pub unsafe fn create(
    tid: *mut libc::pthread_t,
    attr: *const libc::pthread_attr_t,
    routine: StartRoutine,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: an assembly accessor with no preconditions.
    let real = unsafe { splitstack_real_pthread_create_ptr() };
    if real.is_null() {
        Msg::new()
            .s("pthread_create: the real pthread_create is not linked in: link with gcc -fsplit-stack ")
            .s("(it adds --wrap=pthread_create)")
            .emit();
        return libc::ENOSYS;
    }
    // SAFETY: the linker resolved __real_pthread_create to pthread_create,
    // whose type this is.
    let real: PthreadCreate = unsafe { core::mem::transmute::<*const c_void, PthreadCreate>(real) };
    if let Err(e) = thread_state::create_exit_key(thread_exit) {
        key_failed(e, "cannot create split-stack threads");
        return libc::EAGAIN;
    }
    // SAFETY: malloc has no preconditions; the block is written before it
    // is handed to the new thread, and freed here if the thread is not
    // created.
    unsafe {
        let start = libc::malloc(core::mem::size_of::<Start>()) as *mut Start;
        if start.is_null() {
            return libc::EAGAIN;
        }
        start.write(Start { routine, arg });
        let err = real(tid, attr, thread_start, start as *mut c_void);
        if err != 0 {
            libc::free(start as *mut c_void);
        }
        err
    }
}
