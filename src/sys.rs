//! Raw system calls.  The `__morestack` path may not go through libc:
//! no errno, no PLT resolution, no locks, no cancellation points.

use crate::arch::current::*;

/// A system call number of the `libc` crate, as `syscall6` takes it.
#[inline(always)]
const fn nr(n: libc::c_long) -> usize {
    n as usize
}

/// Result of a system call: the value, or the positive errno.
pub type SysResult = Result<usize, i32>;

fn check(ret: isize) -> SysResult {
    if (-4095..0).contains(&ret) {
        Err((-ret) as i32)
    } else {
        Ok(ret as usize)
    }
}

/// Maps `len` bytes of fresh read-write anonymous memory.
pub fn mmap_anon(len: usize) -> SysResult {
    let prot = (libc::PROT_READ | libc::PROT_WRITE) as usize;
    let flags = (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE) as usize;
    // SAFETY: an anonymous mapping at an address of the kernel's choosing
    // cannot alias memory that anyone uses.
    check(unsafe { syscall6(nr(libc::SYS_mmap), 0, len, prot, flags, usize::MAX, 0) })
}

/// Unmaps `[addr, addr + len)`.
///
/// # Safety
/// Nothing may use the range afterwards.
pub unsafe fn munmap(addr: usize, len: usize) -> SysResult {
    // SAFETY: the caller's promise.
    check(unsafe { syscall6(nr(libc::SYS_munmap), addr, len, 0, 0, 0, 0) })
}

/// Makes `[addr, addr + len)` inaccessible (guard pages).
pub fn mprotect_none(addr: usize, len: usize) -> SysResult {
    // SAFETY: only changes protection of a mapping the caller owns.
    check(unsafe { syscall6(nr(libc::SYS_mprotect), addr, len, libc::PROT_NONE as usize, 0, 0, 0) })
}

/// Gives the pages of `[addr, addr + len)` back to the OS (they read as
/// zero afterwards).
///
/// # Safety
/// Nothing may rely on the contents of the range.
pub unsafe fn madvise_dontneed(addr: usize, len: usize) -> SysResult {
    // SAFETY: the caller's promise.
    check(unsafe { syscall6(nr(libc::SYS_madvise), addr, len, libc::MADV_DONTNEED as usize, 0, 0, 0) })
}

/// `MADV_GUARD_INSTALL` (Linux 6.13): the pages become guard markers in
/// the page tables (any access faults with SEGV_MAPERR; no new mapping).
pub(crate) const MADV_GUARD_INSTALL: usize = 102;

/// Makes `[addr, addr + len)` guard pages with `MADV_GUARD_INSTALL`
/// (their contents, if any, are discarded).
///
/// # Safety
/// Nothing may rely on the contents of the range or access it afterwards.
pub unsafe fn madvise_guard_install(addr: usize, len: usize) -> SysResult {
    // SAFETY: the caller's promise.
    check(unsafe { syscall6(nr(libc::SYS_madvise), addr, len, MADV_GUARD_INSTALL, 0, 0, 0) })
}

/// Whether the calling thread is the process's main thread (its thread
/// id is the process id).
pub fn is_main_thread() -> bool {
    // SAFETY: neither call takes arguments or touches memory.
    unsafe { syscall6(nr(libc::SYS_gettid), 0, 0, 0, 0, 0, 0) == syscall6(nr(libc::SYS_getpid), 0, 0, 0, 0, 0, 0) }
}

/// Gives up the CPU (spin-lock back-off).
pub fn sched_yield() {
    // SAFETY: no arguments, no memory.
    unsafe { syscall6(nr(libc::SYS_sched_yield), 0, 0, 0, 0, 0, 0) };
}

/// Writes all of `buf` to file descriptor `fd`, retrying on short writes
/// and EINTR; gives up silently on other errors (used for diagnostics).
pub fn write_all(fd: i32, mut buf: &[u8]) {
    while !buf.is_empty() {
        // SAFETY: the buffer is valid for reads of its length.
        let r = check(unsafe { syscall6(nr(libc::SYS_write), fd as usize, buf.as_ptr() as usize, buf.len(), 0, 0, 0) });
        match r {
            Ok(0) => return,
            Ok(n) => buf = &buf[n.min(buf.len())..],
            Err(e) if e == libc::EINTR => continue,
            Err(_) => return,
        }
    }
}

/// The kernel's sigset_t is 64 bits on x86_64 and aarch64.
pub(crate) const KERNEL_SIGSET_BYTES: usize = 8;

/// Blocks every signal the kernel lets us block, storing the previous mask.
///
/// glibc reserves its two lowest real-time signals (cancellation and
/// setxid); they are left unblocked, as glibc's own pthread_sigmask does.
pub fn block_all(old: &mut u64) {
    let sigcancel = 1u64 << (32 - 1);
    let sigsetxid = 1u64 << (33 - 1);
    let all: u64 = !(sigcancel | sigsetxid);
    // SAFETY: both pointers are valid for an 8-byte kernel sigset.
    unsafe {
        syscall6(
            nr(libc::SYS_rt_sigprocmask),
            libc::SIG_BLOCK as usize,
            &all as *const u64 as usize,
            old as *mut u64 as usize,
            KERNEL_SIGSET_BYTES,
            0,
            0,
        );
    }
}

/// Restores a mask saved by [`block_all`].
pub fn restore_mask(mask: &u64) {
    // SAFETY: the pointer is valid for an 8-byte kernel sigset.
    unsafe {
        syscall6(
            nr(libc::SYS_rt_sigprocmask),
            libc::SIG_SETMASK as usize,
            mask as *const u64 as usize,
            0,
            KERNEL_SIGSET_BYTES,
            0,
            0,
        );
    }
}

/// Copies `out.len()` bytes from `addr` into `out` if that memory is
/// readable, without faulting when it is not: the kernel does the read
/// (`process_vm_readv` on our own process, which needs no privilege).
/// Where a seccomp policy refuses that call, `mincore` tells whether the
/// pages are mapped and the copy is made directly (a mapped but
/// inaccessible page would then still fault: documented in README).
/// Returns false when the memory is not readable.
pub fn probe_read(addr: usize, out: &mut [u8]) -> bool {
    if out.is_empty() {
        return true;
    }
    let Some(end) = addr.checked_add(out.len()) else { return false };
    match vm_read(addr, out) {
        Ok(n) => n == out.len(),
        Err(e) if e == libc::EPERM || e == libc::ENOSYS => {
            let page = kernel_page_size();
            if !page_mapped(addr, page) || !page_mapped(end - 1, page) {
                return false;
            }
            for (i, b) in out.iter_mut().enumerate() {
                // SAFETY: mincore said the pages of the range are mapped
                // (`out` is at most a few dozen bytes: two pages at most).
                *b = unsafe { core::ptr::read_volatile((addr + i) as *const u8) };
            }
            true
        }
        Err(_) => false,
    }
}

/// Whether the kernel can read the byte at `addr`, asked without a fault
/// (and without a file descriptor): `faccessat` reads a path name from
/// there, so it fails with EFAULT exactly when the byte is not readable
/// (a readable page of zeros names "", ENOENT).  qemu-user checks the
/// guest's page protections the same way.
pub fn kernel_can_read(addr: usize) -> bool {
    // SAFETY: the kernel only reads the string at `addr` (reporting
    // EFAULT rather than faulting); nothing is written.
    let r = unsafe { syscall6(nr(libc::SYS_faccessat), libc::AT_FDCWD as usize, addr, libc::F_OK as usize, 0, 0, 0) };
    check(r) != Err(libc::EFAULT)
}

/// `process_vm_readv` of `out.len()` bytes at `addr` of our own process.
fn vm_read(addr: usize, out: &mut [u8]) -> SysResult {
    let local = libc::iovec { iov_base: out.as_mut_ptr() as *mut libc::c_void, iov_len: out.len() };
    let remote = libc::iovec { iov_base: addr as *mut libc::c_void, iov_len: out.len() };
    // SAFETY: getpid has no arguments; process_vm_readv writes only into
    // `out` (described by `local`) and reads `remote` through the kernel,
    // which reports EFAULT instead of faulting.
    unsafe {
        let pid = syscall6(nr(libc::SYS_getpid), 0, 0, 0, 0, 0, 0);
        check(syscall6(
            nr(libc::SYS_process_vm_readv),
            pid as usize,
            &local as *const libc::iovec as usize,
            1,
            &remote as *const libc::iovec as usize,
            1,
            0,
        ))
    }
}

/// Whether the page holding `addr` is mapped (`mincore`).  The vector
/// has room for 64 bytes although one page needs one: qemu-user running a
/// guest whose pages are larger than the host's writes one byte per host
/// page.
pub fn page_mapped(addr: usize, page: usize) -> bool {
    let mut vec = [0u8; 64];
    // SAFETY: mincore writes at most one byte per (host) page of the one
    // guest page asked about into `vec`.
    let r = unsafe { syscall6(nr(libc::SYS_mincore), addr & !(page - 1), page, vec.as_mut_ptr() as usize, 0, 0, 0) };
    check(r).is_ok()
}

/// The page size the kernel reports (`AT_PAGESZ`; 4096 if it says
/// nothing), read here without the settings module.
pub fn kernel_page_size() -> usize {
    // SAFETY: getauxval only reads the auxiliary vector (async-signal-safe).
    let p = unsafe { libc::getauxval(libc::AT_PAGESZ) } as usize;
    if p.is_power_of_two() {
        p
    } else {
        4096
    }
}
