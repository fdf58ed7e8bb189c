//! The two synchronisation tools of the runtime, usable from signal
//! handlers: spin locks (the `spin` crate's, yielding through a raw
//! system call) that a nested caller (a signal handler on the thread that
//! may hold one) only ever tries once, and a lock-free push of a chain
//! onto an intrusive list.

use crate::sys;
use core::sync::atomic::{AtomicPtr, Ordering::*};

/// Waiting for a lock: give the CPU up (the holder is another thread, a
/// few dozen instructions from letting go; a raw system call, no libc).
pub struct Yield;

impl spin::relax::RelaxStrategy for Yield {
    fn relax() {
        sys::sched_yield();
    }
}

/// A spin lock around `T` (spin's mutex, which cannot fail and never
/// allocates).
pub type Lock<T> = spin::mutex::SpinMutex<T, Yield>;
/// What holding a [`Lock`] gives.
pub type Guard<'a, T> = spin::mutex::SpinMutexGuard<'a, T, Yield>;

/// Takes `lock`.  A `nested` caller (a signal handler on a thread that is
/// inside the runtime, and may hold this very lock) tries once and gets
/// None rather than wait for itself.
pub fn acquire<T>(lock: &Lock<T>, nested: bool) -> Option<Guard<'_, T>> {
    if nested {
        lock.try_lock()
    } else {
        Some(lock.lock())
    }
}

/// Takes `lock` and keeps it past this call (fork's prepare handler).
pub fn hold<T>(lock: &Lock<T>) {
    core::mem::forget(lock.lock());
}

/// Lets go of a lock [`hold`] took (fork's parent and child handlers).
///
/// # Safety
/// The lock must be held by [`hold`], with no guard alive.
pub unsafe fn release_held<T>(lock: &Lock<T>) {
    // SAFETY: the caller's promise: held, and no guard will unlock it.
    unsafe { lock.force_unlock() }
}

/// Pushes the chain `first ..= last` (linked through `next_of`) in front
/// of the list at `head`, atomically: a signal handler or another thread
/// that pushes at the same time sees the list before or after, never in
/// between.  Push-only lists have no ABA problem.
///
/// # Safety
/// `first ..= last` must be a chain that nothing else reaches yet, linked
/// from `first` to `last` through `next_of`, which must return the
/// address of an element's link word.
pub unsafe fn push_chain<T>(head: &AtomicPtr<T>, first: *mut T, last: *mut T, next_of: impl Fn(*mut T) -> *mut *mut T) {
    let mut cur = head.load(Acquire);
    loop {
        // SAFETY: `last` is ours until the exchange publishes it, and
        // `next_of` gives its link word (the caller's promise).
        unsafe { *next_of(last) = cur };
        match head.compare_exchange(cur, first, AcqRel, Acquire) {
            Ok(_) => return,
            Err(now) => cur = now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ptr;

    struct Node {
        next: *mut Node,
        v: u32,
    }

    fn next_of(n: *mut Node) -> *mut *mut Node {
        // SAFETY: tests pass live nodes.
        unsafe { ptr::addr_of_mut!((*n).next) }
    }

    fn values(head: &AtomicPtr<Node>) -> Vec<u32> {
        let mut out = Vec::new();
        let mut n = head.load(Acquire);
        while !n.is_null() {
            // SAFETY: the nodes live in the test's boxes.
            unsafe {
                out.push((*n).v);
                n = (*n).next;
            }
        }
        out
    }

    #[test]
    fn push_single_and_chain() {
        let head = AtomicPtr::new(ptr::null_mut());
        let mut nodes: Vec<Box<Node>> = (0..5).map(|v| Box::new(Node { next: ptr::null_mut(), v })).collect();
        let p: Vec<*mut Node> = nodes.iter_mut().map(|b| &mut **b as *mut Node).collect();
        // SAFETY: every node is pushed once, linked as documented.
        unsafe {
            push_chain(&head, p[0], p[0], next_of);
            push_chain(&head, p[1], p[1], next_of);
            (*{ p[2] }).next = p[3];
            (*{ p[3] }).next = p[4];
            push_chain(&head, p[2], p[4], next_of);
        }
        assert_eq!(values(&head), vec![2, 3, 4, 1, 0]);
    }

    #[test]
    fn concurrent_pushes_lose_nothing() {
        let head: &'static AtomicPtr<Node> = Box::leak(Box::new(AtomicPtr::new(ptr::null_mut())));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..10_000 {
                        let n = Box::into_raw(Box::new(Node { next: ptr::null_mut(), v: t * 100_000 + i }));
                        // SAFETY: a fresh node, pushed once.
                        unsafe { push_chain(head, n, n, next_of) };
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut v = values(head);
        v.sort();
        let mut want: Vec<u32> = (0..4).flat_map(|t| (0..10_000).map(move |i| t * 100_000 + i)).collect();
        want.sort();
        assert_eq!(v, want);
    }

    #[test]
    fn nested_lock_tries_once() {
        let l: Lock<u32> = Lock::new(7);
        let g = acquire(&l, false).unwrap();
        assert!(acquire(&l, true).is_none());
        drop(g);
        assert_eq!(*acquire(&l, true).unwrap(), 7);
        hold(&l);
        assert!(acquire(&l, true).is_none());
        // SAFETY: held by `hold`, no guard alive.
        unsafe { release_held(&l) };
        assert!(acquire(&l, true).is_some());
    }
}
