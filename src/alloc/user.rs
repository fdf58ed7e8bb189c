//! Allocators the program registers (`splitstack_set_allocator`): a
//! registry of records that are never freed, so that every segment can go
//! back to the allocator that gave it, and the way callbacks are run.

use crate::sys;
use core::cell::UnsafeCell;
use core::ffi::c_void;
use core::mem::MaybeUninit;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::*};

/// A registered allocator's callbacks (checked and copied by `ffi` from
/// the C `SplitstackAllocator`).
#[derive(Clone, Copy)]
pub struct Vtable {
    pub allocate: unsafe extern "C" fn(user: *mut c_void, size: usize) -> *mut c_void,
    pub free: unsafe extern "C" fn(user: *mut c_void, block: *mut c_void, size: usize),
    pub user: *mut c_void,
}

/// A registered allocator; records are never freed, so a segment can
/// always find the allocator that gave it.
pub struct Record {
    pub v: Vtable,
}

/// Allocators a process can register.
pub(crate) const MAX_ALLOCATORS: usize = 64;

struct Records(UnsafeCell<[MaybeUninit<Record>; MAX_ALLOCATORS]>);

// SAFETY: a record is written once, by the thread that reserved its index,
// before its address is published (Release); afterwards it is only read.
unsafe impl Sync for Records {}

static RECORDS: Records = Records(UnsafeCell::new([const { MaybeUninit::uninit() }; MAX_ALLOCATORS]));
static RECORD_COUNT: AtomicUsize = AtomicUsize::new(0);
static CURRENT: AtomicPtr<Record> = AtomicPtr::new(ptr::null_mut());

/// Why a registration failed.
pub enum RegisterError {
    /// `MAX_ALLOCATORS` are registered already.
    TooMany,
}

/// Registers `v` for every segment allocated from now on (None: the
/// default allocator again).
pub fn register(v: Option<Vtable>) -> Result<(), RegisterError> {
    let Some(v) = v else {
        CURRENT.store(ptr::null_mut(), Release);
        return Ok(());
    };
    let idx = RECORD_COUNT.fetch_add(1, AcqRel);
    if idx >= MAX_ALLOCATORS {
        RECORD_COUNT.fetch_sub(1, AcqRel);
        return Err(RegisterError::TooMany);
    }
    // SAFETY: index `idx` was reserved by the fetch_add above for us alone,
    // and nothing reads a slot before its address is published below.
    let rec = unsafe {
        let slot = (RECORDS.0.get() as *mut Record).add(idx);
        slot.write(Record { v });
        slot
    };
    CURRENT.store(rec, Release);
    Ok(())
}

/// The allocator new segments come from (NULL: the default one).
#[inline]
pub fn current() -> *const Record {
    CURRENT.load(Acquire)
}

/// Whether any allocator was ever registered.
#[inline]
pub fn any_registered() -> bool {
    RECORD_COUNT.load(Acquire) > 0
}

/// Whether `p` is the address of a written record of the registry (so
/// that a segment's meta that names it can be trusted).
pub fn is_record(p: *const c_void) -> bool {
    let base = RECORDS.0.get() as usize;
    let size = core::mem::size_of::<Record>();
    let o = p as usize;
    o >= base && o < base + RECORD_COUNT.load(Acquire).min(MAX_ALLOCATORS) * size && (o - base).is_multiple_of(size)
}

/// Runs a registered allocator's callback (on the runtime stack): signals
/// blocked, so callbacks never nest on a thread and no handler runs while
/// the limit is off; the limit 0, so a callback compiled with
/// -fsplit-stack never splits (it has the runtime stack to itself) and
/// cannot re-enter the allocator.
#[inline(always)]
pub fn call<R>(f: impl FnOnce() -> R) -> R {
    let mut mask = 0u64;
    sys::block_all(&mut mask);
    let saved = crate::arch::current::get_guard();
    crate::arch::current::set_guard(0);
    let r = f();
    crate::arch::current::set_guard(saved);
    sys::restore_mask(&mask);
    r
}
