//! x86_64 constants shared with `asm/x86_64/morestack.S`.
//!
//! The values are defined once, in `asm/x86_64/consts.h`; build.rs turns
//! each `#define SS_*` line into a constant below.  The assertions here
//! check the frame's own arithmetic; `layout` ties the shared layouts to
//! the Rust structs, and a test in arch/mod.rs re-reads the headers to
//! check that nothing drifted.

include!(concat!(env!("OUT_DIR"), "/asm_consts.rs"));

const _: () = {
    // The frame: pushes of R1, R2 and rbp plus the frame itself.
    assert!(SS_FRAME_BELOW_ARGS == SS_FRAME_BYTES + 24);
    // rbp is 8 mod 16 after the push, so the frame must be 8 mod 16 for
    // the calls __morestack makes to be 16-byte aligned.
    assert!(SS_FRAME_BYTES % 16 == 8);
    assert!(SS_FRAME_XMM0 <= SS_FRAME_BYTES);
    assert!(SS_FRAME_XMM0 - 8 * 16 >= SS_FRAME_BITS);
    assert!(SS_FRAME_BITS - 8 >= SS_FRAME_BLOCKED);
};

/// Reads the calling thread's split-stack limit.
#[inline(always)]
pub fn get_guard() -> usize {
    let v: usize;
    // SAFETY: reads one word of this thread's TCB at the fixed offset
    // glibc reserves for the split-stack limit; %fs always points at the
    // TCB of the running thread on x86_64 Linux.
    unsafe {
        core::arch::asm!("mov {0}, qword ptr fs:[{off}]", out(reg) v,
            off = const SS_TCB_GUARD_OFFSET, options(nostack, readonly, preserves_flags));
    }
    v
}

/// Sets the calling thread's split-stack limit.
#[inline(always)]
pub fn set_guard(v: usize) {
    // SAFETY: writes the TCB word reserved for the split-stack limit of
    // the running thread; nothing else lives there.
    unsafe {
        core::arch::asm!("mov qword ptr fs:[{off}], {0}", in(reg) v,
            off = const SS_TCB_GUARD_OFFSET, options(nostack, preserves_flags));
    }
}

/// The current stack pointer (approximately: the caller's frame).
#[inline(always)]
pub fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: copies rsp into a register; no memory is touched.
    unsafe { core::arch::asm!("mov {0}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}

/// Raw Linux system call with up to six arguments.
///
/// # Safety
/// The caller must pass arguments that are valid for system call `n`.
#[inline(always)]
pub unsafe fn syscall6(n: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> isize {
    let ret: isize;
    // SAFETY: the system call instruction itself touches no memory of
    // ours; what the call does with its arguments is the caller's
    // promise.
    unsafe {
        core::arch::asm!("syscall",
            inlateout("rax") n as isize => ret,
            in("rdi") a1, in("rsi") a2, in("rdx") a3, in("r10") a4, in("r8") a5, in("r9") a6,
            lateout("rcx") _, lateout("r11") _,
            options(nostack));
    }
    ret
}

/// The offset from the thread pointer of an exported thread-local
/// variable, resolved with the initial-exec model (the GOT entry holds it;
/// a static link relaxes the load to an immediate).  Used by the accessors
/// in arch/mod.rs.
macro_rules! tls_offset {
    ($sym:literal) => {{
        let off: usize;
        // SAFETY: the symbol is a TLS variable defined in morestack.S; its
        // GOT entry is written by the dynamic linker before any code of
        // ours runs and never again (so reading it is pure, like a
        // constant).
        unsafe {
            core::arch::asm!(
                concat!("mov {0}, qword ptr [rip + ", $sym, "@GOTTPOFF]"),
                out(reg) off, options(nostack, nomem, pure, preserves_flags));
        }
        off
    }};
}

/// The running thread's thread pointer (glibc's `tcbhead_t.tcb`, which
/// %fs:0 holds).  Read as memory (`readonly`), so that the compiler does
/// not carry it across a call or a store, after which a coroutine may run
/// on another thread.
#[inline(always)]
pub fn thread_pointer() -> usize {
    let tp: usize;
    // SAFETY: %fs:0 is the first word of the running thread's TCB, which
    // glibc sets to the TCB's own address.
    unsafe {
        core::arch::asm!("mov {0}, qword ptr fs:[0]", out(reg) tp,
            options(nostack, readonly, pure, preserves_flags));
    }
    tp
}

#[cfg(test)]
mod tests {
    //! Layout and register checks for this architecture (the constants
    //! themselves are checked against consts.h in arch/mod.rs).
    use super::*;

    #[test]
    fn limit_is_glibcs_split_stack_word() {
        assert_eq!(SS_TCB_GUARD_OFFSET, 0x70);
    }

    #[test]
    fn guard_round_trips_through_the_tcb() {
        let saved = get_guard();
        set_guard(0x1234_5000);
        assert_eq!(get_guard(), 0x1234_5000);
        set_guard(saved);
        assert_eq!(get_guard(), saved);
    }
}
