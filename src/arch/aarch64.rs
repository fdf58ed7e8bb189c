//! aarch64 constants shared with `asm/aarch64/morestack.S`, and the
//! thread-pointer, TLS and system-call primitives of the runtime.
//!
//! The values are defined once, in `asm/aarch64/consts.h`; build.rs turns
//! each `#define SS_*` line into a constant below.  The assertions here
//! check the frame's own arithmetic; `layout` ties the shared layouts to
//! the Rust structs, and a test in arch/mod.rs re-reads the headers.
//!
//! The split-stack limit lives at `[tpidr_el0 + SS_TCB_GUARD_OFFSET]`
//! (glibc's `tcbhead_t.private`, see the header and
//! docs/aarch64.md).

include!(concat!(env!("OUT_DIR"), "/asm_consts.rs"));

const _: () = {
    // glibc's aarch64 TCB is two words ({dtv, private}); the limit must be
    // one of them and never the DTV pointer at +0.
    assert!(SS_TCB_GUARD_OFFSET == 8);
    // The whole frame lies below F's entry sp, which is `old_stack`.
    assert!(SS_FRAME_BELOW_ARGS == SS_FRAME_BYTES);
    // sp stays 16-byte aligned (AAPCS64; the hardware checks sp-based
    // accesses), and `stp x29, x30, [sp, #-N]!` takes N <= 512.
    assert!(SS_FRAME_BYTES % 16 == 0 && SS_FRAME_BYTES <= 512);
    // Slots: x0..x8 are consecutive words, x18 follows x8, the q
    // registers are 16-byte aligned and end inside the frame, and the
    // word pairs read with ldp/stp are adjacent.
    assert!(SS_FRAME_X8 == SS_FRAME_X0 + 8 * 8);
    assert!(SS_FRAME_X18 == SS_FRAME_X8 + 8);
    assert!(SS_FRAME_NEED == SS_FRAME_BODY + 8);
    assert!(SS_FRAME_OLD_SEGMENT == SS_FRAME_OLD_GUARD + 8);
    assert!(SS_FRAME_Q0 % 16 == 0 && SS_FRAME_Q0 + 8 * 16 == SS_FRAME_BYTES);
    assert!(SS_FRAME_EXCEPTION + 8 <= SS_FRAME_BITS && SS_FRAME_BITS + 8 <= SS_FRAME_Q0);
    assert!(SS_FRAME_BITS > SS_FRAME_BLOCKED && SS_FRAME_BITS % 8 == 0);
    // REARM reads the pending and defer words with one ldp.
    assert!(SS_THREAD_DEFER == SS_THREAD_PENDING + 8 && SS_THREAD_PENDING % 8 == 0);
    assert!(SS_FRAME_X0 == SS_FRAME_LR + 8 && SS_FRAME_LR == SS_FRAME_FP + 8);
    // Immediates the assembly encodes directly: `mov x13, #SS_NON_SPLIT_STACK`
    // and `sub x10, x10, #(SS_NON_SPLIT_STACK >> 12), lsl #12` need a
    // multiple of 4 KiB below 16 MiB; `mov x1, #SS_INITIAL_STACK` 16 bits.
    assert!(SS_NON_SPLIT_STACK % 4096 == 0 && SS_NON_SPLIT_STACK < 1 << 24);
    assert!(SS_INITIAL_STACK < 1 << 16);
};

/// Reads the calling thread's split-stack limit.
#[inline(always)]
pub fn get_guard() -> usize {
    let v: usize;
    // SAFETY: tpidr_el0 holds the running thread's TCB pointer on aarch64
    // Linux, and the word at SS_TCB_GUARD_OFFSET is reserved for the
    // limit (glibc leaves tcbhead_t.private unused); this only reads it.
    unsafe {
        core::arch::asm!("mrs {0}, tpidr_el0", "ldr {0}, [{0}, #{off}]", out(reg) v,
            off = const SS_TCB_GUARD_OFFSET, options(nostack, readonly, preserves_flags));
    }
    v
}

/// Sets the calling thread's split-stack limit.
#[inline(always)]
pub fn set_guard(v: usize) {
    // SAFETY: writes the running thread's TCB word reserved for the
    // split-stack limit (see get_guard); nothing else lives there.
    unsafe {
        core::arch::asm!("mrs {t}, tpidr_el0", "str {v}, [{t}, #{off}]", v = in(reg) v, t = out(reg) _,
            off = const SS_TCB_GUARD_OFFSET, options(nostack, preserves_flags));
    }
}

/// The current stack pointer (approximately: the caller's frame).
#[inline(always)]
pub fn stack_pointer() -> usize {
    let sp: usize;
    // SAFETY: copies sp into a register; no memory is touched.
    unsafe { core::arch::asm!("mov {0}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}

/// Raw Linux system call with up to six arguments (`svc #0`, number in
/// x8, arguments in x0-x5, result in x0).
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
        core::arch::asm!("svc #0",
            in("x8") n,
            inlateout("x0") a1 as isize => ret,
            in("x1") a2, in("x2") a3, in("x3") a4, in("x4") a5, in("x5") a6,
            options(nostack));
    }
    ret
}

/// The offset from the thread pointer of an exported thread-local
/// variable, resolved with the initial-exec model: the GOT entry
/// (`:gottprel:`) holds it.  Used by the accessors in arch/mod.rs.
macro_rules! tls_offset {
    ($sym:literal) => {{
        let off: usize;
        // SAFETY: the symbol is a TLS variable defined in morestack.S; its
        // GOT entry is written by the dynamic linker before any code of
        // ours runs and never again (so reading it is pure, like a
        // constant).
        unsafe {
            core::arch::asm!(
                concat!("adrp {0}, :gottprel:", $sym),
                concat!("ldr {0}, [{0}, #:gottprel_lo12:", $sym, "]"),
                out(reg) off, options(nostack, nomem, pure, preserves_flags));
        }
        off
    }};
}

/// The running thread's thread pointer (tpidr_el0).  Declared as reading
/// memory (`readonly`), so that the compiler does not carry it across a
/// call or a store, after which a coroutine may run on another thread.
#[inline(always)]
pub fn thread_pointer() -> usize {
    let tp: usize;
    // SAFETY: reads the thread-pointer register; nothing else is touched.
    unsafe {
        core::arch::asm!("mrs {0}, tpidr_el0", out(reg) tp, options(nostack, readonly, pure, preserves_flags));
    }
    tp
}

#[cfg(test)]
mod tests {
    //! Layout and register checks for this architecture (the constants
    //! themselves are checked against consts.h in arch/mod.rs).  (Run on
    //! aarch64 under qemu by tests/c/aarch64/run.sh.)
    use super::*;

    #[test]
    fn guard_is_the_tcb_private_word() {
        let saved = get_guard();
        set_guard(0x1234_5000);
        assert_eq!(get_guard(), 0x1234_5000);
        // SAFETY: reads the TCB word through the thread pointer directly,
        // independently of get_guard's encoding.
        let direct = unsafe {
            let tp: usize;
            core::arch::asm!("mrs {0}, tpidr_el0", out(reg) tp, options(nomem, nostack));
            *((tp + SS_TCB_GUARD_OFFSET) as *const usize)
        };
        assert_eq!(direct, 0x1234_5000);
        set_guard(saved);
        assert_eq!(get_guard(), saved);
    }

    #[test]
    fn tls_variables_are_distinct_and_thread_local() {
        use crate::arch::{tls_current_segment_offset, tls_initial_sp_offset, tls_segments_offset};
        fn tls_segments() -> usize {
            thread_pointer() + tls_segments_offset()
        }
        let (a, b, c) = (
            tls_segments(),
            thread_pointer() + tls_current_segment_offset(),
            thread_pointer() + tls_initial_sp_offset(),
        );
        assert_eq!(b, a + 8);
        assert_eq!(c, a + 16);
        let other = std::thread::spawn(|| tls_segments()).join().unwrap();
        assert_ne!(other, a);
    }

    #[test]
    fn raw_syscall_write_and_mmap() {
        // SAFETY: a zero-length write and an anonymous mapping that is
        // unmapped again.
        unsafe {
            assert_eq!(syscall6(libc::SYS_write as usize, 2, 0, 0, 0, 0, 0), 0);
            let len = 65536;
            let p = syscall6(libc::SYS_mmap as usize, 0, len, 3, 0x22, usize::MAX, 0);
            assert!(p > 0);
            *(p as *mut u8) = 1;
            assert_eq!(syscall6(libc::SYS_munmap as usize, p as usize, len, 0, 0, 0, 0), 0);
        }
    }
}
