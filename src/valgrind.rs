//! Telling valgrind about the runtime's stacks (client requests).
//!
//! # Why
//!
//! Memcheck follows every change of the stack pointer.  A move down makes
//! the bytes uncovered addressable (undefined); a move up makes the bytes
//! left behind inaccessible.  A move between two *registered* stacks is a
//! switch and changes nothing; any other move counts as growth or
//! shrinkage when it is smaller than `--max-stackframe` (2 MiB by
//! default).  Valgrind registers the main stack and every thread's stack
//! itself, but not segments or runtime stacks: they are carved from the
//! same 8 MiB chunks, a few KiB apart, so without registration every
//! `__morestack` looked like a huge frame being pushed or popped, and
//! memcheck painted the segment headers and allocator records in between
//! as inaccessible or undefined (hundreds of thousands of false errors per
//! program, with libgcc's runtime too).
//!
//! So every segment is registered while it is a segment (allocation to
//! free: `alloc::alloc_segment_here` / `free_segment_here`) and every
//! runtime stack while it is mapped.  Reusing a segment cached on a chain
//! makes no request: it stays registered, and the warm `__morestack` path
//! switches to its top before it moves the stack pointer down to the
//! arguments (asm/x86_64/morestack.S), which memcheck sees as ordinary
//! stack growth.  The requests are made on cold paths only, and only
//! after one request found the process running under valgrind (a load and
//! a branch otherwise).
//!
//! # The protocol (facts from valgrind's documentation and `valgrind.h`)
//!
//! A client request is a sequence of instructions that does nothing on a
//! real CPU but that valgrind's code translator recognises: four rotations
//! of one register whose amounts add up to 128 (a full turn, twice, so the
//! register keeps its value), then a marker instruction that is also a
//! no-op (`xchg rbx, rbx` on x86_64, `orr x10, x10, x10` on aarch64).
//! Before it, one register points at six machine words, the request code
//! and up to five arguments, and another holds a default result; valgrind
//! replaces the default by the request's result.  Natively the default
//! simply stays, which is how a program finds out whether it runs under
//! valgrind (`RUNNING_ON_VALGRIND` answers 0 natively, the nesting depth
//! under valgrind).
//!
//! | arch    | rotated | marker            | args pointer | default/result |
//! |---------|---------|-------------------|--------------|----------------|
//! | x86_64  | `rdi`: 3, 13, 61, 51 | `xchg rbx, rbx` | `rax` | `rdx` |
//! | aarch64 | `x12`: 3, 13, 51, 61 (ror) | `orr x10, x10, x10` | `x4` | `x3` |
//!
//! Request codes: core requests are small numbers (`RUNNING_ON_VALGRIND`
//! 0x1001, `COUNT_ERRORS` 0x1201, `STACK_REGISTER` 0x1501,
//! `STACK_DEREGISTER` 0x1502); a tool's requests are its two-letter code in
//! the top 16 bits plus an index (memcheck is `'M' << 24 | 'C' << 16`:
//! `MAKE_MEM_NOACCESS` +0, `MAKE_MEM_UNDEFINED` +1, `MAKE_MEM_DEFINED` +2).
//! `STACK_REGISTER(lowest, highest)` takes the lowest and the highest
//! byte of the stack and returns an id (the main stack has id 0);
//! `STACK_DEREGISTER(id)` forgets it.  A request for another tool (a
//! memcheck request under callgrind) is ignored and answers the default.

use core::sync::atomic::{AtomicU8, Ordering::Relaxed};

const RUNNING_ON_VALGRIND: usize = 0x1001;
const COUNT_ERRORS: usize = 0x1201;
const STACK_REGISTER: usize = 0x1501;
const STACK_DEREGISTER: usize = 0x1502;
const MEMCHECK_BASE: usize = ((b'M' as usize) << 24) | ((b'C' as usize) << 16);
const MAKE_MEM_NOACCESS: usize = MEMCHECK_BASE;
const MAKE_MEM_UNDEFINED: usize = MEMCHECK_BASE + 1;

/// Bytes below the stack pointer that the ABI lets a function use without
/// moving it (x86_64's red zone); memcheck keeps them addressable.
#[cfg(target_arch = "x86_64")]
pub(crate) const RED_ZONE: usize = 128;
#[cfg(target_arch = "aarch64")]
pub(crate) const RED_ZONE: usize = 0;

/// Issues one client request: `args` = request code and five arguments;
/// returns valgrind's answer, or `default` when not under valgrind.
#[inline(always)]
fn request(default: usize, args: &[usize; 6]) -> usize {
    let result;
    // SAFETY: natively the sequence changes no register but the flags
    // (the rotated register turns a whole number of times and is back to
    // its value at the end; the marker exchanges a register with itself),
    // touches no memory and no stack.  Under valgrind the request reads
    // the six words `args` points to (alive for the whole asm block) and
    // writes only the result register; memory is not declared untouched,
    // so the compiler has stored `args` before the sequence.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        core::arch::asm!(
            "rol rdi, 3",
            "rol rdi, 13",
            "rol rdi, 61",
            "rol rdi, 51",
            "xchg rbx, rbx",
            in("rax") args.as_ptr(),
            inout("rdx") default => result,
            options(nostack),
        );
        #[cfg(target_arch = "aarch64")]
        core::arch::asm!(
            "ror x12, x12, #3",
            "ror x12, x12, #13",
            "ror x12, x12, #51",
            "ror x12, x12, #61",
            "orr x10, x10, x10",
            in("x4") args.as_ptr(),
            inout("x3") default => result,
            options(nostack),
        );
    }
    result
}

/// 0: not asked yet, 1: native, 2: under valgrind.
static STATE: AtomicU8 = AtomicU8::new(0);

/// Whether the process runs under valgrind (asked once, then cached: a
/// process does not move in or out of valgrind).
#[inline]
pub fn active() -> bool {
    match STATE.load(Relaxed) {
        1 => false,
        2 => true,
        _ => probe(),
    }
}

#[cold]
#[inline(never)]
fn probe() -> bool {
    // SPLITSTACK_VALGRIND=0: behave as natively (callgrind then counts the
    // native path's instructions; memcheck would report what it cannot see).
    let on = crate::config::env_switch(b"SPLITSTACK_VALGRIND\0") != Some(false)
        && request(0, &[RUNNING_ON_VALGRIND, 0, 0, 0, 0, 0]) != 0;
    STATE.store(if on { 2 } else { 1 }, Relaxed);
    on
}

/// Registers the stack `[lowest, highest]` (both bytes included) and
/// returns a handle for [`stack_deregister`]: valgrind's id plus one, so
/// that 0 means "not registered" (not under valgrind).
pub fn stack_register(lowest: usize, highest: usize) -> usize {
    if !active() {
        return 0;
    }
    request(usize::MAX, &[STACK_REGISTER, lowest, highest, 0, 0, 0]).wrapping_add(1)
}

/// Forgets a stack registered by [`stack_register`] (0: nothing to do).
pub fn stack_deregister(handle: usize) {
    if handle != 0 && active() {
        request(0, &[STACK_DEREGISTER, handle - 1, 0, 0, 0, 0]);
    }
}

/// Memcheck: `[addr, addr + len)` may be written, its contents are
/// undefined (a fresh stack, an alloca block).
pub fn make_undefined(addr: usize, len: usize) {
    if len != 0 && active() {
        request(0, &[MAKE_MEM_UNDEFINED, addr, len, 0, 0, 0]);
    }
}

/// Memcheck: `[addr, addr + len)` must not be touched (a freed stack).
pub fn make_noaccess(addr: usize, len: usize) {
    if len != 0 && active() {
        request(0, &[MAKE_MEM_NOACCESS, addr, len, 0, 0, 0]);
    }
}

/// Errors the valgrind tool has reported so far (0 natively).
pub fn count_errors() -> usize {
    if !active() {
        return 0;
    }
    request(0, &[COUNT_ERRORS, 0, 0, 0, 0, 0])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Natively (cargo test, and the aarch64 suite under qemu) every
    /// request answers its default and changes nothing.
    #[test]
    fn requests_are_no_ops_natively() {
        if request(0, &[RUNNING_ON_VALGRIND, 0, 0, 0, 0, 0]) != 0 {
            return; // under valgrind: not the case this test is about
        }
        let live = [3usize, 1, 4, 1, 5, 9];
        assert_eq!(request(12345, &[STACK_REGISTER, 0x1000, 0x2000, 0, 0, 0]), 12345);
        assert_eq!(live, [3, 1, 4, 1, 5, 9]);
        assert!(!active());
        assert_eq!(stack_register(0x1000, 0x2000), 0);
        stack_deregister(0);
        make_undefined(0x1000, 16);
        make_noaccess(0x1000, 16);
        assert_eq!(count_errors(), 0);
        assert!(!crate::asan::active());
    }
}
