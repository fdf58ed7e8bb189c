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
    assert!(SS_FRAME_XMM0 - 8 * 16 >= SS_FRAME_BLOCKED);
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

/// Addresses of the three exported thread-local variables, resolved with
/// the initial-exec model (a `%fs`-relative offset from the GOT).
/// Used by the accessors in arch/mod.rs.
macro_rules! tls_address {
    ($sym:literal) => {{
        let p: usize;
        // SAFETY: the symbol is a TLS variable defined in morestack.S; the
        // GOT entry holds its offset from the thread pointer, and %fs:0
        // holds the thread pointer itself (glibc's tcbhead_t.tcb).
        unsafe {
            core::arch::asm!(
                concat!("mov {0}, qword ptr [rip + ", $sym, "@GOTTPOFF]"),
                "add {0}, qword ptr fs:[0]",
                out(reg) p, options(nostack, readonly, pure));
        }
        p
    }};
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
