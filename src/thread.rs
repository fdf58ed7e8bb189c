//! Threads: `__wrap_pthread_create` (the gcc driver links every
//! -fsplit-stack program with `--wrap=pthread_create`) gives each new
//! thread its initial limit and a destructor that frees its segments when
//! it exits; the thread that finalises the process frees its idle ones.

use crate::diag::Msg;
use crate::{alloca, allocator, config, segment, stats, thread_state};
use core::ffi::{c_int, c_void};
use core::ptr;
use core::sync::atomic::Ordering::*;

type StartRoutine = extern "C" fn(*mut c_void) -> *mut c_void;
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

static mut KEY: libc::pthread_key_t = 0;
static mut KEY_ONCE: libc::pthread_once_t = libc::PTHREAD_ONCE_INIT;
static mut KEY_ERR: c_int = 0;

extern "C" fn create_key() {
    // SAFETY: runs once, under pthread_once, before anyone reads KEY.
    unsafe {
        KEY_ERR = libc::pthread_key_create(ptr::addr_of_mut!(KEY), Some(thread_exit));
    }
}

/// Creates the exit-destructor key (at start-up, so that the slow path
/// never has to).  Returns false if it could not be created.
pub fn ensure_key() -> bool {
    // SAFETY: pthread_once with a static once-control.
    unsafe { libc::pthread_once(ptr::addr_of_mut!(KEY_ONCE), create_key) == 0 && KEY_ERR == 0 }
}

/// Makes sure the calling thread's segments are freed when it exits, also
/// for a thread that was not created through the wrapper (a foreign
/// thread pool, `__real_pthread_create`) but splits all the same (a
/// recycled stack's limit, or a context it switched to).  Called on the
/// allocation slow path; `pthread_setspecific` with one of the first 32
/// keys only stores into the thread descriptor.
pub fn register_exit_destructor() {
    let tb = thread_state::thread_block();
    // SAFETY: tb is this thread's block; KEY was created at start-up.
    unsafe {
        if (*tb).registered != 0 || !KEY_READY.load(Acquire) {
            return;
        }
        (*tb).registered = 1;
        libc::pthread_setspecific(KEY, thread_state::segments() as *const _ as *const c_void);
    }
}

static KEY_READY: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// At start-up: create the key (see `register_exit_destructor`).
pub fn init_key() {
    if ensure_key() {
        KEY_READY.store(true, Release);
    }
    allocator::register_fork_handlers();
}

/// Frees the calling thread's segments that nothing runs on: all of them
/// when it is back on its original stack, else the ones after the
/// current segment.  Also frees its original-stack alloca blocks.
pub fn release_idle_segments() {
    let cur = thread_state::current().load(Acquire);
    // SAFETY: only this thread uses its own list, and segments after the
    // current one (or all, on the original stack) hold no live frame.
    unsafe {
        if cur.is_null() {
            let mut head = thread_state::segments().swap(ptr::null_mut(), AcqRel);
            forget_own_chain(head);
            segment::release_list(&mut head);
            alloca::free_initial_stack_blocks();
        } else {
            let mut rest = (*cur).next;
            (*cur).next = ptr::null_mut();
            segment::release_list(&mut rest);
        }
    }
}

/// Called before `head`'s chain is freed: if it is the chain the thread
/// grew from its original stack, the thread forgets it.
pub fn forget_own_chain(head: *mut crate::segment::StackSegment) {
    let tb = thread_state::thread_block();
    // SAFETY: tb is the calling thread's block.
    unsafe {
        if !head.is_null() && (*tb).own_chain == head {
            (*tb).own_chain = ptr::null_mut();
        }
    }
}

/// Everything the calling thread holds, for its exit: idle segments, its
/// segment cache (to the pool, for other threads), its runtime stack, and
/// its `__morestack` count (into the process total).
fn thread_teardown() {
    release_idle_segments();
    // SAFETY: the thread is exiting (or the process is finalising) and is
    // on its own stack, not on the runtime stack being freed.
    unsafe {
        allocator::flush_thread_cache();
        allocator::free_runtime_stack();
        let tb = thread_state::thread_block();
        stats::thread_exited((*tb).morestack_calls);
        (*tb).morestack_calls = 0;
    }
}

extern "C" fn thread_exit(_segments: *mut c_void) {
    thread_teardown();
    // glibc reuses thread descriptors (and with them the limit word) for
    // new threads; a thread created without the wrapper must start with
    // limit 0, as on a fresh descriptor, not with this one's.
    crate::arch::current::set_guard(0);
}

/// Run from .fini_array: free the finalising thread's idle segments, then
/// report the statistics if asked (so the report shows what was left).
#[no_mangle]
pub extern "C" fn splitstack_process_exit() {
    thread_teardown();
    if config::stats_at_exit() {
        stats::report();
    }
}

extern "C" fn thread_start(p: *mut c_void) -> *mut c_void {
    // SAFETY: `p` is the Start we boxed with malloc in the wrapper; the
    // key was created before the thread was.
    unsafe {
        __stack_split_initialize();
        let err = libc::pthread_setspecific(KEY, thread_state::segments() as *const _ as *const c_void);
        (*thread_state::thread_block()).registered = 1;
        if err != 0 {
            Msg::new().s("pthread_setspecific failed (errno ").dec(err as u64).s("); this thread's segments will not be freed at exit").emit();
        }
        let start = (p as *mut Start).read();
        libc::free(p);
        (start.routine)(start.arg)
    }
}

/// What `pthread_create` becomes in -fsplit-stack programs.
#[no_mangle]
pub unsafe extern "C" fn __wrap_pthread_create(
    tid: *mut libc::pthread_t,
    attr: *const libc::pthread_attr_t,
    routine: StartRoutine,
    arg: *mut c_void,
) -> c_int {
    let real = splitstack_real_pthread_create_ptr();
    if real.is_null() {
        Msg::new()
            .s("pthread_create: the real pthread_create is not linked in: link with gcc -fsplit-stack ")
            .s("(it adds --wrap=pthread_create)")
            .emit();
        return libc::ENOSYS;
    }
    // SAFETY: the linker resolved __real_pthread_create to pthread_create.
    let real: PthreadCreate = core::mem::transmute(real);
    if !ensure_key() {
        let e = KEY_ERR;
        Msg::new().s("pthread_key_create failed (errno ").dec(e as u64).s("); cannot create split-stack threads").emit();
        return libc::EAGAIN;
    }
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
