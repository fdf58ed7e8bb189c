//! The report of a guard-page hit (alloc/guard.rs): with guard pages on,
//! a SIGSEGV handler, installed at start-up (or by
//! `splitstack_set_guard_pages`), recognises a fault inside this
//! runtime's segment memory — all of it readable and writable except the
//! guard pages, so the address decides, not si_code (a marker faults
//! with SEGV_MAPERR, an mprotect page with SEGV_ACCERR) — and stops the
//! program with a message naming the fault address, the segment above
//! the guard and the likely cause.  Other faults go to the handler the
//! program had when ours was installed, or to the default action.
//!
//! The handler runs on an alternate signal stack, since the faulting
//! stack is the one that ran out: the main thread's is made at install
//! time, and every thread started through the pthread_create wrapper
//! gets one of its own (unmapped at its exit) unless it has one already.
//! A program that installs its own SIGSEGV handler later replaces ours
//! (its handler then sees guard hits); a thread not started through the
//! wrapper has no alternate stack of ours, so a hit whose stack pointer
//! is inside the guard cannot be delivered and the kernel kills the
//! process with SIGSEGV (not silently either).

use crate::alloc::guard;
use crate::diag::Msg;
use crate::{config, segmap, sys};
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering::*};

static INSTALLED: AtomicBool = AtomicBool::new(false);
/// The SIGSEGV action the program had before ours (written once, under
/// INSTALLED, before the handler can run).
// SAFETY: all-zero bytes are a valid sigaction (SIG_DFL, no flags).
static mut PREVIOUS: libc::sigaction = unsafe { core::mem::zeroed() };

/// Bytes of an alternate stack of ours (the first word holds [`ALT_MAGIC`]).
const ALT_BYTES: usize = 64 << 10;
const ALT_MAGIC: usize = 0x5350_4c49_5453_4947;

/// Installs the handler and the calling thread's alternate stack, once,
/// if guard pages are asked for.
pub fn init() {
    if config::guard() == config::GUARD_OFF || INSTALLED.swap(true, AcqRel) {
        return;
    }
    thread_started();
    // SAFETY: a zeroed sigaction is valid; PREVIOUS is written here only,
    // once (INSTALLED), before SIGSEGV can reach on_segv.
    unsafe {
        let mut sa: libc::sigaction = core::mem::zeroed();
        sa.sa_sigaction = on_segv as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(libc::SIGSEGV, &sa, ptr::addr_of_mut!(PREVIOUS)) != 0 {
            Msg::new().s("guard pages: cannot install the SIGSEGV handler; overruns will not be reported").emit();
        }
    }
}

/// Gives the calling thread an alternate signal stack of ours, if the
/// handler is installed and the thread has none.
pub fn thread_started() {
    if !INSTALLED.load(Acquire) {
        return;
    }
    // SAFETY: sigaltstack only reads/writes the structs passed; the stack
    // handed to it is a fresh mapping of ours that nothing else uses.
    unsafe {
        let mut old: libc::stack_t = core::mem::zeroed();
        if libc::sigaltstack(ptr::null(), &mut old) != 0 || old.ss_flags & libc::SS_DISABLE == 0 {
            return;
        }
        let Ok(base) = sys::mmap_anon(ALT_BYTES) else { return };
        *(base as *mut usize) = ALT_MAGIC;
        let st = libc::stack_t { ss_sp: base as *mut libc::c_void, ss_flags: 0, ss_size: ALT_BYTES };
        if libc::sigaltstack(&st, ptr::null_mut()) != 0 {
            let _ = sys::munmap(base, ALT_BYTES);
        }
    }
}

/// At a thread's exit: removes and unmaps its alternate stack if it is
/// ours.
pub fn thread_exiting() {
    if !INSTALLED.load(Acquire) {
        return;
    }
    // SAFETY: as in thread_started; the stack is unmapped only when it is
    // one of ours (its magic word) and after it is disabled, and the
    // exiting thread is not running on it.
    unsafe {
        let mut old: libc::stack_t = core::mem::zeroed();
        if libc::sigaltstack(ptr::null(), &mut old) != 0
            || old.ss_flags & (libc::SS_DISABLE | libc::SS_ONSTACK) != 0
            || old.ss_size != ALT_BYTES
            || *(old.ss_sp as *const usize) != ALT_MAGIC
        {
            return;
        }
        let off = libc::stack_t { ss_sp: ptr::null_mut(), ss_flags: libc::SS_DISABLE, ss_size: 0 };
        if libc::sigaltstack(&off, ptr::null_mut()) == 0 {
            let _ = sys::munmap(old.ss_sp as usize, ALT_BYTES);
        }
    }
}

/// Whether `addr` is in a guard page of ours: segment memory (guards are
/// on and lie inside it), where only guard pages fault.
fn in_guard(addr: usize) -> bool {
    guard::on() && segmap::contains(addr)
}

extern "C" fn on_segv(sig: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo; PREVIOUS was written
    // before the handler was installed and is only read here.
    unsafe {
        let addr = (*info).si_addr() as usize;
        let prev = ptr::addr_of!(PREVIOUS).read();
        let program_handler = prev.sa_sigaction != libc::SIG_DFL && prev.sa_sigaction != libc::SIG_IGN;
        if in_guard(addr) {
            let page = config::page_size();
            let seg = (addr & !(page - 1)) + page;
            let mut m = Msg::new();
            m.s("stack overrun: fault at ")
                .hex(addr)
                .s(" in the guard page below the stack segment at ")
                .hex(seg)
                .s(": stack used below its limit beyond the ")
                .dec(config::slack() as u64)
                .s("-byte reserve, likely by non-split code or a signal frame");
            if program_handler {
                m.s("; to the program's handler").emit();
            } else {
                m.s("; aborting").fatal();
            }
        }
        if program_handler {
            if prev.sa_flags & libc::SA_SIGINFO != 0 {
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    core::mem::transmute(prev.sa_sigaction);
                f(sig, info, uctx);
            } else {
                let f: extern "C" fn(libc::c_int) = core::mem::transmute(prev.sa_sigaction);
                f(sig);
            }
            return;
        }
        // The default action: returning re-runs the faulting access, which
        // then kills the process as it would have without us.
        let mut dfl: libc::sigaction = core::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGSEGV, &dfl, ptr::null_mut());
    }
}
