//! Process-wide settings: read once at start-up (page size and signal
//! frame size from the auxiliary vector, the `SPLITSTACK_*` environment
//! variables through `secure_getenv`), changeable through the API, and
//! only loaded on the hot path.
//!
//! The two sizes that shape a segment:
//!
//! ```text
//!   top  +----------------------------+
//!        | frames (>= min_segment)    |   what split-stack code uses
//!  limit +----------------------------+
//!        | reserve                    |   what may run below the limit
//!   low  +----------------------------+   without checking
//!        | 56-byte header             |
//!        +----------------------------+
//! ```
//!
//! The reserve holds what runs below a limit unchecked: `__morestack`'s
//! own frame, a non-split callee's use (libgcc's BACKOFF, 3584 bytes) and
//! a signal frame as large as the kernel says one can be
//! (`AT_MINSIGSTKSZ`, 11952 bytes on a machine with AMX state), plus room
//! for a handler's first prologue.  libgcc reserves only BACKOFF, so a
//! signal landing deep in a segment can write below it.  Programs whose
//! signal handlers run on an alternate stack (or are blocked), and whose
//! non-split calls go through gold's `__morestack_non_split`, may shrink
//! the reserve to `SPLITSTACK_MIN_RESERVE` and the segments to 512 bytes.

use crate::arch::current::SS_BACKOFF;
use crate::diag::Msg;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
extern "C" {
    /// The reserve; defined in the assembly, whose warm path reads it (0
    /// until start-up has run).
    static splitstack_reserve_bytes: AtomicUsize;
}

/// The reserve's word.
#[inline(always)]
fn reserve_word() -> &'static AtomicUsize {
    // SAFETY: an 8-byte aligned, zero-initialised word of the assembly's
    // .bss that only this module writes, always atomically.
    unsafe { &*core::ptr::addr_of!(splitstack_reserve_bytes) }
}
static MIN_SEGMENT: AtomicUsize = AtomicUsize::new(0);
static CACHE_MAX: AtomicUsize = AtomicUsize::new(0);
static DEFAULT_RESERVE: AtomicUsize = AtomicUsize::new(0);
static STATS_AT_EXIT: AtomicUsize = AtomicUsize::new(0);
/// The guard-page setting asked for ([`GUARD_OFF`] etc.).
static GUARD: AtomicUsize = AtomicUsize::new(GUARD_OFF);

/// No guard pages (the default).
pub(crate) const GUARD_OFF: usize = 0;
/// A guard page below every segment: `MADV_GUARD_INSTALL` markers, or
/// `mprotect` where the kernel refuses them.
pub(crate) const GUARD_ON: usize = 1;
/// Guard pages made with `mprotect` only (two kernel mappings each, up to
/// a cap: see alloc/guard.rs).
pub(crate) const GUARD_MPROTECT: usize = 2;

/// Room for a handler's first split-stack prologue and the nested
/// `__morestack` frame, on top of the signal frame.
pub(crate) const HANDLER_RESERVE: usize = 1024;
/// Smallest signal frame assumed when the kernel does not say (per
/// architecture: arm64's frames are about 4.7 KiB without SVE).
pub(crate) const MIN_SIGNAL_FRAME: usize = crate::arch::current::SS_MIN_SIGNAL_FRAME;
/// Default minimum of usable bytes above a segment's limit.
pub const SPLITSTACK_DEFAULT_MIN_SEGMENT: usize = 32 * 1024;
/// Smallest minimum segment size accepted.
pub const SPLITSTACK_MIN_MIN_SEGMENT: usize = 512;
/// Largest minimum segment size accepted (1 GiB).
pub const SPLITSTACK_MAX_MIN_SEGMENT: usize = 1 << 30;
/// Smallest reserve accepted: `__morestack`'s frame (256 bytes, its
/// helpers run on a separate runtime stack), the 256 bytes a small-frame
/// prologue may use below the limit without checking, the red zone, and
/// margin.
pub const SPLITSTACK_MIN_RESERVE: usize = 1024;
/// Largest reserve accepted.
pub const SPLITSTACK_MAX_RESERVE: usize = 1 << 30;
/// Default high-water mark of cached (free, resident) segment bytes.
pub const SPLITSTACK_DEFAULT_CACHE_MAX: usize = 256 << 20;

fn round_up(v: usize, to: usize) -> usize {
    v.div_ceil(to) * to
}

/// Parses a size: decimal, or with a K/M/G suffix (powers of 1024).
pub fn parse_size(text: &[u8]) -> Option<usize> {
    let (digits, mult) = match text.last()? {
        b'k' | b'K' => (&text[..text.len() - 1], 1usize << 10),
        b'm' | b'M' => (&text[..text.len() - 1], 1 << 20),
        b'g' | b'G' => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut v: usize = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((d - b'0') as usize)?;
    }
    v.checked_mul(mult)
}

/// Checks a minimum segment size; None if acceptable, else why not.
pub fn check_min_segment(v: usize) -> Option<&'static str> {
    if v == 0 {
        Some("must not be 0")
    } else if !v.is_multiple_of(16) {
        Some("must be a multiple of 16")
    } else if v < SPLITSTACK_MIN_MIN_SEGMENT {
        Some("must be at least 512")
    } else if v > SPLITSTACK_MAX_MIN_SEGMENT {
        Some("must be at most 1 GiB")
    } else {
        None
    }
}

/// Checks a reserve size; None if acceptable, else why not.
pub fn check_reserve(v: usize) -> Option<&'static str> {
    if !v.is_multiple_of(16) {
        Some("must be a multiple of 16")
    } else if v < SPLITSTACK_MIN_RESERVE {
        Some("must be at least 1024")
    } else if v > SPLITSTACK_MAX_RESERVE {
        Some("must be at most 1 GiB")
    } else {
        None
    }
}

extern "C" {
    // glibc 2.17+; not in the libc crate.
    fn secure_getenv(name: *const libc::c_char) -> *mut libc::c_char;
}

/// The value of environment variable `name`, through `secure_getenv`.
///
/// # Safety
/// `name` must end with a NUL byte.
unsafe fn env(name: &[u8]) -> Option<&'static [u8]> {
    // SAFETY: name is NUL-terminated (the caller's promise).
    // secure_getenv returns NULL in set-user-ID programs, or a pointer
    // into the environment, which lives as long as the process (nothing
    // here calls setenv), NUL-terminated.
    unsafe {
        let p = secure_getenv(name.as_ptr() as *const libc::c_char);
        if p.is_null() {
            return None;
        }
        Some(core::ffi::CStr::from_ptr(p).to_bytes())
    }
}

/// Whether environment variable `name` (NUL-terminated) is set to `0`
/// (false), to another non-empty value (true), or unset or empty (None).
pub fn env_switch(name: &'static [u8]) -> Option<bool> {
    // SAFETY: callers pass NUL-terminated literals.
    match unsafe { env(name) } {
        None | Some(b"") => None,
        Some(b"0") => Some(false),
        Some(_) => Some(true),
    }
}

/// A message started as `VAR=value ignored: why` (the value cut at 40
/// bytes), for the caller to say what applies instead.
fn env_refused(var: &str, value: &[u8], why: &str) -> Msg {
    let mut m = Msg::new();
    m.s(var).s("=");
    m.s(core::str::from_utf8(&value[..value.len().min(40)]).unwrap_or("(not UTF-8)"));
    m.s(" ignored: ").s(why);
    m
}

fn warn_env(var: &str, value: &[u8], why: &str, default: usize) {
    env_refused(var, value, why).s("; using ").dec(default as u64).emit();
}

/// The value of size variable `name` (NUL-terminated), or `default` with a
/// warning when it is not a size or `check` refuses it.
///
/// # Safety
/// `name` must end with a NUL byte.
unsafe fn size_setting(name: &str, default: usize, check: fn(usize) -> Option<&'static str>) -> usize {
    // SAFETY: the caller's promise.
    let Some(v) = (unsafe { env(name.as_bytes()) }) else { return default };
    let shown = &name[..name.len() - 1];
    match parse_size(v) {
        None => warn_env(shown, v, "not a size (bytes, or with K/M/G)", default),
        Some(n) => match check(n) {
            Some(why) => warn_env(shown, v, why, default),
            None => return n,
        },
    }
    default
}

/// `SPLITSTACK_GUARD`: `0` off, `1` on, `mprotect` on with mprotect
/// guards only; anything else is refused with a message (off).  Unset or
/// empty, libgcc's `SPLIT_STACK_GUARD` turns guards on when it is set at
/// all, as it does in libgcc (whatever its value).
///
/// # Safety
/// None beyond `env`'s (the names here are NUL-terminated).
unsafe fn guard_setting() -> usize {
    // SAFETY: NUL-terminated names.
    match unsafe { env(b"SPLITSTACK_GUARD\0") } {
        Some(b"0") => GUARD_OFF,
        Some(b"1") => GUARD_ON,
        Some(b"mprotect") => GUARD_MPROTECT,
        Some(v) if !v.is_empty() => {
            env_refused("SPLITSTACK_GUARD", v, "not 0, 1 or mprotect").s("; guard pages off").emit();
            GUARD_OFF
        }
        // SAFETY: as above.
        _ if unsafe { env(b"SPLIT_STACK_GUARD\0") }.is_some() => GUARD_ON,
        _ => GUARD_OFF,
    }
}

/// Reads the settings; idempotent and cheap after the first call.
pub fn init() {
    if PAGE_SIZE.load(Relaxed) != 0 {
        return;
    }
    // SAFETY: getauxval only reads the auxiliary vector.
    let (page, minsig) = unsafe { (libc::getauxval(libc::AT_PAGESZ), libc::getauxval(libc::AT_MINSIGSTKSZ)) };
    let page = if page == 0 || !(page as usize).is_power_of_two() { 4096 } else { page as usize };
    let sigframe = (minsig as usize).max(MIN_SIGNAL_FRAME);
    let default_reserve = round_up(SS_BACKOFF + sigframe + HANDLER_RESERVE, 64);
    DEFAULT_RESERVE.store(default_reserve, Relaxed);

    // SAFETY: NUL-terminated names.
    let (min_segment, reserve, cache_max) = unsafe {
        (
            size_setting("SPLITSTACK_MIN_SEGMENT\0", SPLITSTACK_DEFAULT_MIN_SEGMENT, check_min_segment),
            size_setting("SPLITSTACK_RESERVE\0", default_reserve, check_reserve),
            size_setting("SPLITSTACK_CACHE_MAX\0", SPLITSTACK_DEFAULT_CACHE_MAX, |_| None),
        )
    };
    // SAFETY: as above.
    if let Some(v) = unsafe { env(b"SPLITSTACK_STATS\0") } {
        if !v.is_empty() && v != b"0" {
            STATS_AT_EXIT.store(1, Relaxed);
        }
    }
    // SAFETY: as above.
    GUARD.store(unsafe { guard_setting() }, Relaxed);
    reserve_word().store(reserve, Relaxed);
    MIN_SEGMENT.store(min_segment, Relaxed);
    CACHE_MAX.store(cache_max, Relaxed);
    PAGE_SIZE.store(page, Relaxed);
}

#[inline]
fn load_or_init(v: &AtomicUsize) -> usize {
    let x = v.load(Relaxed);
    if x != 0 {
        return x;
    }
    init();
    v.load(Relaxed)
}

#[inline]
pub fn page_size() -> usize {
    load_or_init(&PAGE_SIZE)
}

/// Bytes between a segment's lowest usable byte and its limit.
#[inline]
pub fn slack() -> usize {
    load_or_init(reserve_word())
}

/// The reserve the runtime would use by default on this machine.
pub fn default_reserve() -> usize {
    load_or_init(&DEFAULT_RESERVE)
}

/// Minimum usable bytes above a new segment's limit.
#[inline]
pub fn min_segment() -> usize {
    load_or_init(&MIN_SEGMENT)
}

/// High-water mark of resident cached segment bytes.
#[inline]
pub fn cache_max() -> usize {
    init();
    CACHE_MAX.load(Relaxed)
}

pub fn stats_at_exit() -> bool {
    init();
    STATS_AT_EXIT.load(Relaxed) != 0
}

/// The guard-page setting ([`GUARD_OFF`], [`GUARD_ON`],
/// [`GUARD_MPROTECT`]); alloc/guard.rs says what is in force.
#[inline]
pub fn guard() -> usize {
    init();
    GUARD.load(Relaxed)
}

/// Changes the guard-page setting (alloc/guard.rs allows it only before
/// any segment memory was carved).
pub fn set_guard(v: usize) {
    init();
    GUARD.store(v, Relaxed);
}

pub fn set_min_segment(v: usize) {
    init();
    MIN_SEGMENT.store(v, Relaxed);
}

pub fn set_reserve(v: usize) {
    init();
    reserve_word().store(v, Relaxed);
}

pub fn set_cache_max(v: usize) {
    init();
    CACHE_MAX.store(v, Relaxed);
}

/// Rounds `v` up to a multiple of the page size; None on overflow.
pub fn page_round(v: usize) -> Option<usize> {
    let p = page_size();
    v.checked_add(p - 1).map(|x| x & !(p - 1))
}
