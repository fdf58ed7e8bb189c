//! The calling thread's split-stack state: the three TLS variables with
//! libgcc's names and layouts and the runtime's own per-thread block
//! (defined in the assembly, because stable Rust cannot define exported
//! thread-locals; reached through initial-exec TLS accesses), and the
//! registration of the destructor that frees a thread's runtime state
//! when it exits.

use crate::layout::{InitialSp, StackSegment, ThreadBlock};
use crate::stats;
use crate::sync::{self, Lock};
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{compiler_fence, AtomicBool, AtomicPtr, Ordering::*};

/// The calling thread's TLS, located once: one read of the thread
/// pointer serves every variable (each variable's offset is a constant).
/// Hold it only while no call or switch can move the code to another
/// thread (a coroutine may migrate): within one function, between calls.
#[derive(Clone, Copy)]
pub struct Tls(usize);

impl Tls {
    /// The running thread's.
    #[inline(always)]
    pub fn here() -> Tls {
        Tls(crate::arch::current::thread_pointer())
    }

    /// `&__morestack_segments`: the head of the thread's list.
    #[inline(always)]
    pub fn segments(self) -> &'static AtomicPtr<StackSegment> {
        // SAFETY: the thread pointer plus the variable's offset is the
        // thread's TLS slot, valid for the thread's life and 8-byte
        // aligned; it is only ever accessed as a pointer-sized word (by
        // this thread, and by its signal handlers).
        unsafe { &*((self.0 + crate::arch::tls_segments_offset()) as *const AtomicPtr<StackSegment>) }
    }

    /// `&__morestack_current_segment`: the segment the thread runs on,
    /// NULL on its original stack.
    #[inline(always)]
    pub fn current(self) -> &'static AtomicPtr<StackSegment> {
        // SAFETY: as for `segments`.
        unsafe { &*((self.0 + crate::arch::tls_current_segment_offset()) as *const AtomicPtr<StackSegment>) }
    }

    /// `__morestack_initial_sp`.
    #[inline(always)]
    pub fn initial_sp(self) -> *mut InitialSp {
        (self.0 + crate::arch::tls_initial_sp_offset()) as *mut InitialSp
    }

    /// The runtime's own block.
    #[inline(always)]
    pub fn thread_block(self) -> *mut ThreadBlock {
        (self.0 + crate::arch::tls_thread_block_offset()) as *mut ThreadBlock
    }
}

/// `&__morestack_segments` of the calling thread: the head of its list.
#[inline(always)]
pub fn segments() -> &'static AtomicPtr<StackSegment> {
    Tls::here().segments()
}

/// `&__morestack_current_segment`: the segment the thread runs on, NULL
/// on its original stack.
#[inline(always)]
pub fn current() -> &'static AtomicPtr<StackSegment> {
    Tls::here().current()
}

/// The calling thread's block.
#[inline(always)]
pub fn thread_block() -> *mut ThreadBlock {
    Tls::here().thread_block()
}

/// `__morestack_initial_sp` of the calling thread.
#[inline(always)]
pub fn initial_sp() -> *mut InitialSp {
    Tls::here().initial_sp()
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
            0 => {
                // The destructor will run: the thread may count for itself.
                list(tb);
                Ok(())
            }
            e => Err(e),
        }
    }
}

// ---------------------------------------------------------------------
// The threads that count for themselves (layout::ThreadCounters): a list
// of their blocks, under a lock that only listing, unlisting and reading
// the totals take (never a warm path).  A thread is listed once its exit
// destructor is armed, and unlisted by it; only a listed thread uses its
// cache, so that nothing it counts is lost.
// ---------------------------------------------------------------------

struct Listed {
    head: *mut ThreadBlock,
}

// SAFETY: the blocks on the list belong to live threads, which unlist
// themselves (under the lock) before their TLS goes away.
unsafe impl Send for Listed {}

static LISTED: Lock<Listed> = Lock::new(Listed { head: ptr::null_mut() });

/// Runs `f(tb, nested)` with the calling thread's busy flag set: `nested`
/// says that the thread was already inside the runtime's allocator or
/// thread list (this is a signal handler that interrupted it).
pub fn busy<R>(f: impl FnOnce(*mut ThreadBlock, bool) -> R) -> R {
    let tb = thread_block();
    // SAFETY: tb is the calling thread's block; a signal handler that
    // interrupts us restores the flag before we resume.
    let saved = unsafe { (*tb).busy };
    // SAFETY: as above.
    unsafe { (*tb).busy = 1 };
    compiler_fence(SeqCst);
    let r = f(tb, saved != 0);
    compiler_fence(SeqCst);
    // SAFETY: as above.
    unsafe { (*tb).busy = saved };
    r
}

/// Runs `f` with the list held, inside [`busy`], so that a signal handler
/// that needs the list meanwhile only tries the lock.  None when nested
/// and the lock was busy.
fn with_list<R>(f: impl FnOnce(&mut Listed) -> R) -> Option<R> {
    busy(|_, nested| sync::acquire(&LISTED, nested).map(|mut g| f(&mut g)))
}

/// Takes the list's lock and keeps it (fork's prepare handler).
pub fn hold_list() {
    sync::hold(&LISTED);
}

/// Lets go of the lock [`hold_list`] took (fork's parent and child
/// handlers).  In the child the list keeps the blocks of the threads that
/// did not follow (their counts, frozen, stay in the totals).
///
/// # Safety
/// The lock must be held by [`hold_list`], with no guard alive.
pub unsafe fn release_held_list() {
    // SAFETY: the caller's promise.
    unsafe { sync::release_held(&LISTED) }
}

/// Puts the calling thread's block on the list.
///
/// # Safety
/// `tb` must be the calling thread's block, its exit destructor armed.
unsafe fn list(tb: *mut ThreadBlock) {
    // SAFETY: the caller's promise; listed blocks are live (see Listed).
    // (From a signal handler that interrupted the list's holder the lock
    // is only tried: the thread then stays unlisted, without a cache.)
    let _ = with_list(|l| unsafe {
        if (*tb).listed != 0 {
            return;
        }
        (*tb).listed_prev = ptr::null_mut();
        (*tb).listed_next = l.head;
        if !l.head.is_null() {
            (*l.head).listed_prev = tb;
        }
        l.head = tb;
        (*tb).listed = 1;
    });
}

/// Takes the calling thread off the list (its exit, after its cache went
/// to the pool) and adds what it counted to the process totals.
pub fn unlist() {
    let tb = thread_block();
    // SAFETY: tb is the calling thread's block; listed blocks are live.
    let _ = with_list(|l| unsafe {
        let own = own_totals(tb);
        if (*tb).listed != 0 {
            let (prev, next) = ((*tb).listed_prev, (*tb).listed_next);
            if prev.is_null() {
                l.head = next;
            } else {
                (*prev).listed_next = next;
            }
            if !next.is_null() {
                (*next).listed_prev = prev;
            }
            (*tb).listed = 0;
        }
        stats::thread_exited(&own);
        (*tb).morestack_calls = 0;
        let c = &(*tb).counters;
        for w in [&c.allocated, &c.freed, &c.cached] {
            w.store(0, Relaxed);
        }
        (*tb).cache_bytes = 0;
    });
}

/// What the thread of block `tb` counted itself.
///
/// # Safety
/// `tb` must be a live thread's block.
unsafe fn own_totals(tb: *mut ThreadBlock) -> stats::ThreadTotals {
    // SAFETY: the caller's promise; the words another thread writes are
    // read with single loads (a moment's value).
    unsafe {
        let c = &(*tb).counters;
        stats::ThreadTotals {
            allocated: c.allocated.load(Relaxed),
            freed: c.freed.load(Relaxed),
            cached: c.cached.load(Relaxed),
            cache_bytes: ptr::read_volatile(ptr::addr_of!((*tb).cache_bytes)) as u64,
            morestack_calls: ptr::read_volatile(ptr::addr_of!((*tb).morestack_calls)),
        }
    }
}

/// What the live threads counted themselves, summed: every listed thread,
/// and the calling one if it is not listed.  A signal handler that
/// interrupted its thread inside the list gets the calling thread's
/// share only.
pub fn totals() -> stats::ThreadTotals {
    let tb = thread_block();
    let add = |t: &mut stats::ThreadTotals, o: stats::ThreadTotals| {
        t.allocated += o.allocated;
        t.freed += o.freed;
        t.cached += o.cached;
        t.cache_bytes += o.cache_bytes;
        t.morestack_calls += o.morestack_calls;
    };
    let mut t = stats::ThreadTotals::default();
    // SAFETY: listed blocks are live while the list is held.
    let counted = with_list(|l| unsafe {
        let mut b = l.head;
        while !b.is_null() {
            add(&mut t, own_totals(b));
            b = (*b).listed_next;
        }
    });
    // SAFETY: the calling thread's block.
    if counted.is_none() || unsafe { (*tb).listed == 0 } {
        // SAFETY: as above.
        add(&mut t, unsafe { own_totals(tb) });
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The TLS handle finds the variables where the assembly's own
    /// accesses do: `__splitstack_find(NULL, ...)` reads
    /// `__morestack_segments` in Rust, while `__morestack` writes it in
    /// the assembly; here a value stored through the handle must read back
    /// through a second handle, and the slots are distinct, per thread,
    /// and laid out as morestack.S defines them.
    #[test]
    fn tls_handle_reaches_each_variable_once_per_thread() {
        let t = Tls::here();
        let addrs = [
            t.segments() as *const _ as usize,
            t.current() as *const _ as usize,
            t.initial_sp() as usize,
            t.thread_block() as usize,
        ];
        // morestack.S: segments, current, initial_sp, in that order.
        assert_eq!(addrs[1], addrs[0] + 8);
        assert_eq!(addrs[2], addrs[0] + 16);
        assert!(addrs[3] >= addrs[2] + core::mem::size_of::<InitialSp>() || addrs[3] + 8 <= addrs[0]);
        assert_eq!(segments() as *const _ as usize, addrs[0]);
        let other: [usize; 2] = std::thread::spawn(|| {
            let t = Tls::here();
            [t.segments() as *const _ as usize, t.thread_block() as usize]
        })
        .join()
        .unwrap();
        assert_ne!(other[0], addrs[0]);
        assert_eq!(other[1] - other[0], addrs[3].wrapping_sub(addrs[0]));
    }
}
