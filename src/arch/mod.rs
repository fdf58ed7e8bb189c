//! Per-architecture constants shared with the assembly.

#[cfg(target_arch = "x86_64")]
#[macro_use]
pub mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use self::x86_64 as current;
#[cfg(target_arch = "aarch64")]
#[macro_use]
pub mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use self::aarch64 as current;

// Offsets from the thread pointer (`current::thread_pointer`) of the TLS
// variables defined in the assembly, through each architecture's
// initial-exec access (`tls_offset!`).

#[inline(always)]
pub fn tls_segments_offset() -> usize {
    tls_offset!("__morestack_segments")
}
#[inline(always)]
pub fn tls_current_segment_offset() -> usize {
    tls_offset!("__morestack_current_segment")
}
#[inline(always)]
pub fn tls_initial_sp_offset() -> usize {
    tls_offset!("__morestack_initial_sp")
}
#[inline(always)]
pub fn tls_thread_block_offset() -> usize {
    tls_offset!("splitstack_thread")
}

extern "C" {
    /// Runs `f(arg)` on the stack whose top is `top` (the current stack
    /// if NULL) with the split-stack limit all ones (morestack.S).
    pub fn splitstack_on_stack(f: extern "C" fn(*mut core::ffi::c_void), arg: *mut core::ffi::c_void, top: usize);
}

#[cfg(test)]
mod tests {
    //! The assembly reads its constants from consts.h through the C
    //! preprocessor and the Rust code through build.rs; this re-reads the
    //! header independently and checks every value both ways, so a build.rs
    //! bug or a stale build cannot make the two disagree silently.

    const HEADER: &str = concat!(
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", env!("SPLITSTACK_ASM_DIR"), "/consts.h")),
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/asm/common/layout.h"))
    );

    /// Every `#define SS_* value` of the header, parsed here on its own.
    fn header_defines() -> Vec<(String, usize)> {
        let mut out = Vec::new();
        for line in HEADER.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.len() >= 3 && w[0] == "#define" && w[1].starts_with("SS_") {
                let v = match w[2].strip_prefix("0x") {
                    Some(h) => usize::from_str_radix(h, 16).unwrap(),
                    None => w[2].parse().unwrap(),
                };
                out.push((w[1].to_string(), v));
            }
        }
        out
    }

    #[test]
    fn header_and_rust_constants_agree() {
        let header = header_defines();
        assert!(header.len() > 20, "consts.h defines too few constants");
        for (name, value) in &header {
            let rust = super::current::ASM_CONSTS.iter().find(|(n, _)| n == name);
            assert_eq!(rust.map(|(_, v)| *v), Some(*value), "{name}");
        }
        assert_eq!(header.len(), super::current::ASM_CONSTS.len());
    }
}
