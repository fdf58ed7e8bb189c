//! Other copies of a split-stack runtime in the process: a shared library
//! built with `-fsplit-stack` and linked with libgcc carries libgcc's
//! runtime, which works on the same chains as this one and frees a
//! segment with `munmap(header, size + 56)` (docs/x86_64.md section 8).
//! The default allocator packs segments (headers sharing a page with a
//! neighbour's top, so not page-aligned) only when no such copy was
//! loaded when the process started: [`scan`] looks for one.
//!
//! A copy is an object that defines `__splitstack_getcontext` in its
//! dynamic symbol table (every libgcc copy exports it, with the rest of
//! the `__splitstack_*` API) and is not the object this code is in.  The
//! lookup reads the objects' GNU (or SysV) hash tables directly: no
//! `dlopen`, which a static program cannot call without a link warning.

use core::ffi::{c_int, c_void, CStr};
use core::sync::atomic::{AtomicUsize, Ordering::*};

/// 0: not scanned yet; 1: no other copy; 2: a copy was found (or
/// SPLITSTACK_PACK=0).
static STATE: AtomicUsize = AtomicUsize::new(0);

/// The symbol every libgcc runtime copy exports.
const PROBE: &[u8] = b"__splitstack_getcontext";

/// Whether no other runtime copy was loaded at start-up (false before the
/// scan has run).
#[inline]
pub fn alone() -> bool {
    STATE.load(Relaxed) == 1
}

/// Scans the loaded objects once (the process's first initialisation).
pub fn scan() {
    if STATE.load(Relaxed) != 0 {
        return;
    }
    // SPLITSTACK_PACK=0: never pack (for a program that loads a library
    // with its own libgcc runtime copy later, with dlopen).
    if crate::config::env_switch(b"SPLITSTACK_PACK\0") == Some(false) {
        STATE.store(2, Relaxed);
        return;
    }
    let mut found = false;
    // SAFETY: the callback only reads the program headers and the
    // dynamic sections the loader passes it, for the duration of the call.
    unsafe { libc::dl_iterate_phdr(Some(visit), &mut found as *mut bool as *mut c_void) };
    STATE.store(if found { 2 } else { 1 }, Relaxed);
}

/// Whether `a` lies in one of the object's loaded segments.
fn contains(info: &libc::dl_phdr_info, a: usize) -> bool {
    (0..info.dlpi_phnum as usize).any(|i| {
        // SAFETY: the loader's program header table has dlpi_phnum entries.
        let ph = unsafe { &*info.dlpi_phdr.add(i) };
        let start = (info.dlpi_addr as usize).wrapping_add(ph.p_vaddr as usize);
        ph.p_type == libc::PT_LOAD && a >= start && a - start < ph.p_memsz as usize
    })
}

unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _size: usize, data: *mut c_void) -> c_int {
    // SAFETY: the loader passes a valid record, `data` is scan's flag.
    let (info, found) = unsafe { (&*info, &mut *(data as *mut bool)) };
    if contains(info, visit as *const () as usize) {
        return 0; // this runtime's own object
    }
    // SAFETY: the object's dynamic section, as the loader mapped it.
    if unsafe { defines(info, PROBE) } {
        *found = true;
        return 1;
    }
    0
}

/// An entry of a dynamic section (ELF64: both supported targets).
#[repr(C)]
struct Dyn {
    tag: i64,
    val: u64,
}

// Dynamic section tags (the ELF specification; GNU's for the GNU hash).
const DT_NULL: i64 = 0;
const DT_HASH: i64 = 4;
const DT_STRTAB: i64 = 5;
const DT_SYMTAB: i64 = 6;
const DT_GNU_HASH: i64 = 0x6fff_fef5;

/// The GNU hash of a symbol name.
fn gnu_hash(name: &[u8]) -> u32 {
    name.iter().fold(5381u32, |h, &c| h.wrapping_mul(33).wrapping_add(c as u32))
}

/// The SysV ELF hash of a symbol name.
fn elf_hash(name: &[u8]) -> u32 {
    let mut h = 0u32;
    for &c in name {
        h = (h << 4).wrapping_add(c as u32);
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

/// Whether the object defines `name` in its dynamic symbol table.
///
/// # Safety
/// `info` must describe a loaded object (its dynamic section mapped).
unsafe fn defines(info: &libc::dl_phdr_info, name: &[u8]) -> bool {
    let base = info.dlpi_addr as usize;
    let Some(dynamic) = (0..info.dlpi_phnum as usize)
        // SAFETY: dlpi_phnum entries.
        .map(|i| unsafe { &*info.dlpi_phdr.add(i) })
        .find(|ph| ph.p_type == libc::PT_DYNAMIC)
        .map(|ph| base.wrapping_add(ph.p_vaddr as usize) as *const Dyn)
    else {
        return false;
    };
    let (mut symtab, mut strtab, mut gnu, mut sysv) = (0usize, 0usize, 0usize, 0usize);
    // The loader relocates most objects' dynamic entries in place, but not
    // every object's (the vDSO's): an address below the base is relative.
    let abs = |p: u64| if (p as usize) < base { base.wrapping_add(p as usize) } else { p as usize };
    let mut d = dynamic;
    // SAFETY: the dynamic section ends with DT_NULL.
    unsafe {
        while (*d).tag != DT_NULL {
            let v = (*d).val;
            match (*d).tag {
                DT_SYMTAB => symtab = abs(v),
                DT_STRTAB => strtab = abs(v),
                DT_GNU_HASH => gnu = abs(v),
                DT_HASH => sysv = abs(v),
                _ => {}
            }
            d = d.add(1);
        }
    }
    if symtab == 0 || strtab == 0 {
        return false;
    }
    let sym = |i: usize| (symtab + i * core::mem::size_of::<libc::Elf64_Sym>()) as *const libc::Elf64_Sym;
    // SAFETY: an entry of the object's symbol table, its name in strtab.
    let matches = |i: usize| unsafe {
        let s = &*sym(i);
        s.st_shndx != 0 && CStr::from_ptr((strtab + s.st_name as usize) as *const libc::c_char).to_bytes() == name
    };
    // SAFETY: the hash tables' layouts are the ELF ones; every index read
    // is within the counts the tables state.
    unsafe {
        if gnu != 0 {
            let w = gnu as *const u32;
            let (nbuckets, symoffset, bloom_words) = (*w as usize, *w.add(1) as usize, *w.add(2) as usize);
            if nbuckets == 0 {
                return false;
            }
            let buckets = (gnu + 16 + bloom_words * 8) as *const u32;
            let chain = buckets.add(nbuckets);
            let h = gnu_hash(name);
            let mut i = *buckets.add(h as usize % nbuckets) as usize;
            if i < symoffset {
                return false;
            }
            loop {
                let c = *chain.add(i - symoffset);
                if (c | 1) == (h | 1) && matches(i) {
                    return true;
                }
                if c & 1 != 0 {
                    return false;
                }
                i += 1;
            }
        }
        if sysv != 0 {
            let w = sysv as *const u32;
            let (nbucket, nchain) = (*w as usize, *w.add(1) as usize);
            if nbucket == 0 {
                return false;
            }
            let mut i = *w.add(2 + elf_hash(name) as usize % nbucket) as usize;
            while i != 0 && i < nchain {
                if matches(i) {
                    return true;
                }
                i = *w.add(2 + nbucket + i) as usize;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_the_elf_definitions() {
        // Values from the ELF and GNU hash definitions.
        assert_eq!(gnu_hash(b""), 5381);
        assert_eq!(gnu_hash(b"printf"), 0x156b_2bb8);
        assert_eq!(elf_hash(b"printf"), 0x0779_05a6);
    }

    #[test]
    fn finds_a_symbol_libc_defines() {
        unsafe extern "C" fn look(info: *mut libc::dl_phdr_info, _: usize, data: *mut c_void) -> c_int {
            // SAFETY: the loader's record; data is the counter below.
            unsafe {
                if defines(&*info, b"malloc") {
                    *(data as *mut usize) += 1;
                }
            }
            0
        }
        let mut n = 0usize;
        // SAFETY: the callback reads the loader's records only.
        unsafe { libc::dl_iterate_phdr(Some(look), &mut n as *mut usize as *mut c_void) };
        assert!(n >= 1, "no loaded object defines malloc");
    }
}
