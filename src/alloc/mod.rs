//! Where segments come from: the registered allocator (a C vtable,
//! `user`), or the default one (`default`: size classes, per-thread
//! caches, the pool, slabs).
//!
//! Every segment is one block `[header | stack ... | meta]`.  The 56-byte
//! libgcc header is at the low end; the last `META_BYTES` hold
//! [`SegmentMeta`], which names the allocator that gave the block, so that
//! the block goes back to it even after another allocator is registered.
//! A segment whose meta does not carry our magic was made by someone else
//! (a libgcc runtime embedded in a shared library, see docs/x86_64.md
//! section 8) and is freed the way libgcc frees: `munmap(header, size+56)`
//! once [`identify`] has recognised it.  Everything here runs on the
//! thread's runtime stack, never on a nearly exhausted segment.

pub mod classes;
pub mod default;
pub mod guard;
pub mod meta;
pub mod os;
pub mod pool;
pub mod slab;
pub mod user;

use crate::diag::Msg;
use crate::layout::{self, SegmentMeta, StackSegment, HEADER, META_BYTES};
use crate::runtime_stack::on_runtime_stack;
use crate::{asan, config, segmap, stats, sys, valgrind};
use core::ffi::c_void;
use core::ptr;
use meta::{Block, DEDICATED};

pub use meta::{depth, flags, set_depth, top};

/// Why a segment could not be had.
pub struct AllocError {
    /// Bytes asked of the allocator.
    pub bytes: usize,
    pub errno: i32,
    /// The registered allocator failed (rather than the OS).
    pub custom: bool,
}

impl AllocError {
    /// Appends "out of memory: cannot allocate a stack segment of N bytes
    /// (why)" to a message (the one wording of every such failure).
    pub fn describe<'m>(&self, m: &'m mut Msg) -> &'m mut Msg {
        m.s("out of memory: cannot allocate a stack segment of ").dec(self.bytes as u64).s(" bytes");
        if self.custom {
            m.s(" (the registered allocator returned NULL)")
        } else {
            m.s(" (errno ").dec(self.errno as u64).s(")")
        }
    }
}

/// Allocates a segment with at least `usable` bytes of stack.  `depth` is
/// its position in a chain (1 = first).  A block in the calling thread's
/// cache is taken right here, on the caller's stack, in a few small
/// frames; anything else runs on the runtime stack.
pub fn alloc_segment(usable: usize, depth: u32) -> Result<*mut StackSegment, AllocError> {
    if let Some(seg) = alloc_segment_cached(usable, depth) {
        return Ok(seg);
    }
    let mut out = Err(AllocError { bytes: 0, errno: libc::ENOMEM, custom: false });
    on_runtime_stack(|| out = alloc_segment_here(usable, depth));
    out
}

/// The warm path of [`alloc_segment`]: the default allocator, natively
/// (no valgrind, no ASan), a block of a cached class in the thread's
/// cache.
#[inline]
fn alloc_segment_cached(usable: usize, depth: u32) -> Option<*mut StackSegment> {
    if !user::current().is_null() || valgrind::active() || asan::active() {
        return None;
    }
    let total = usable.checked_add(HEADER + META_BYTES + 15)? & !15;
    let block = default::alloc_cached(total)?;
    // SAFETY: a block of ours, at least `total` bytes, 16-byte aligned.
    Some(unsafe { init_segment(&block, ptr::null(), depth) })
}

fn alloc_segment_here(usable: usize, depth: u32) -> Result<*mut StackSegment, AllocError> {
    let Some(total) = usable.checked_add(HEADER + META_BYTES + 15).map(|v| v & !15) else {
        return Err(AllocError { bytes: usize::MAX, errno: libc::ENOMEM, custom: false });
    };
    let rec = user::current();
    let (block, origin) = if rec.is_null() {
        match default::alloc(total) {
            Ok(b) => (b, ptr::null()),
            Err(errno) => return Err(AllocError { bytes: total, errno, custom: false }),
        }
    } else {
        // SAFETY: records are never freed or changed once published.
        let v = unsafe { (*rec).v };
        // SAFETY: the program registered the callback for this.
        let p = user::call(|| unsafe { (v.allocate)(v.user, total) });
        if p.is_null() {
            return Err(AllocError { bytes: total, errno: libc::ENOMEM, custom: true });
        }
        if !(p as usize).is_multiple_of(16) {
            Msg::new()
                .s("the registered allocator returned ")
                .hex(p as usize)
                .s(", which is not 16-byte aligned; giving it back")
                .emit();
            // SAFETY: the block the same allocator just returned.
            user::call(|| unsafe { (v.free)(v.user, p, total) });
            return Err(AllocError { bytes: total, errno: libc::EINVAL, custom: true });
        }
        (Block { addr: p as usize, size: total, class: DEDICATED, slab: ptr::null_mut() }, rec as *const c_void)
    };
    // A reused block may hold what memcheck saw of an earlier stack (freed
    // ranges inaccessible, popped frames too): all of it is fresh now.
    let vg = valgrind::active();
    if vg {
        valgrind::make_undefined(block.addr, block.size);
    }
    // Likewise for ASan: frames that never returned may have left poison.
    asan::unpoison(block.addr, block.size);
    // SAFETY: the block is ours (or the registered allocator's, for us),
    // at least `total` bytes, 16-byte aligned.
    unsafe {
        let seg = init_segment(&block, origin, depth);
        // (The warm path's are counted by the thread's cache.)
        stats::segment_allocated();
        if vg {
            register_stack(seg);
        }
        Ok(seg)
    }
}

/// Writes a new segment's header and meta into `block` (and records its
/// depth).
///
/// # Safety
/// The block must be ours to use, 16-byte aligned, of `block.size` bytes.
#[inline]
unsafe fn init_segment(block: &Block, origin: *const c_void, depth: u32) -> *mut StackSegment {
    let seg = block.addr as *mut StackSegment;
    // SAFETY: the caller's promise.
    unsafe {
        seg.write(StackSegment {
            prev: ptr::null_mut(),
            next: ptr::null_mut(),
            size: block.size - HEADER,
            old_stack: ptr::null_mut(),
            dynamic_allocation: ptr::null_mut(),
            free_dynamic_allocation: ptr::null_mut(),
            extra: ptr::null_mut(),
        });
        meta::at(seg, block.size).write(SegmentMeta {
            magic: meta::live_magic(seg),
            origin,
            block_size: block.size,
            class: block.class,
            depth,
            slab: block.slab,
            vg_stack: 0,
            flags: 0,
        });
    }
    stats::chain_depth(depth);
    seg
}

/// The warm path of freeing: a segment of the default allocator with no
/// alloca block, natively, goes into the calling thread's cache right
/// here, on the caller's stack.  False (nothing done) otherwise: then
/// [`free_segment_here`] must run, on the runtime stack.
///
/// # Safety
/// As [`free_segment_here`].
#[inline]
pub unsafe fn free_segment_cached(seg: *mut StackSegment) -> bool {
    // SAFETY: the caller's promise: the header is mapped; the meta is read
    // only once `ours` recognised it.
    unsafe {
        let m = meta::ours(seg);
        if m.is_null() || !(*m).origin.is_null() || (*m).vg_stack != 0 || !(*seg).extra.is_null() {
            return false;
        }
        // (It counts the segment freed.)
        default::free_cached(seg, (*m).block_size, (*m).class)
    }
}

/// Registers a new segment's stack with valgrind (a no-op natively).  The
/// range ends at the segment's top itself: a segment entered with no
/// stack arguments has its stack pointer there, which must count as
/// inside it (that byte is the first of the meta record, never stack).
///
/// # Safety
/// `seg` must be a segment just made by `alloc_segment_here` (header and
/// meta written).
unsafe fn register_stack(seg: *mut StackSegment) {
    // SAFETY: the caller's promise.
    unsafe {
        let m = meta::ours(seg);
        if !m.is_null() {
            (*m).vg_stack = valgrind::stack_register(layout::low(seg), top(seg));
        }
    }
}

/// Ends a segment's life as a stack for valgrind: deregisters it, and
/// (default allocator) makes its stack inaccessible while it is free, so
/// that memcheck reports a program still using a released context's
/// stack; a registered allocator gets the whole block back addressable
/// (its own bookkeeping may live there).
///
/// # Safety
/// `seg` must be a segment of ours about to be freed, `m` its meta; no
/// frame may live on it any more.
unsafe fn unregister_stack(seg: *mut StackSegment, m: *mut SegmentMeta) {
    // SAFETY: the caller's promise.
    unsafe {
        let handle = (*m).vg_stack;
        if handle == 0 {
            return;
        }
        (*m).vg_stack = 0;
        valgrind::stack_deregister(handle);
        let (low, top) = (layout::low(seg), top(seg));
        if (*m).origin.is_null() {
            valgrind::make_noaccess(low, top - low);
        } else {
            valgrind::make_undefined(low, top - low);
        }
    }
}

/// Frees one segment (its alloca blocks were freed by the caller) to the
/// allocator that gave it; a libgcc copy's segment the way libgcc frees
/// it; anything else is reported and left alone.  Runs on the runtime
/// stack.
///
/// # Safety
/// `seg` must not be in use; if it is ours or libgcc's, nothing may use it
/// afterwards.
pub unsafe fn free_segment_here(seg: *mut StackSegment) {
    // SAFETY: identify first when the meta does not say ours (it reads
    // nothing it has not checked); ours: header and meta are mapped.
    unsafe {
        let m = meta::ours(seg);
        if m.is_null() {
            match identify(seg) {
                SegmentKind::Foreign => {
                    let len = (*seg).size + HEADER;
                    if let Err(errno) = sys::munmap(seg as usize, len) {
                        Msg::new()
                            .s("cannot free the libgcc-made stack segment at ")
                            .hex(seg as usize)
                            .s(": munmap failed (errno ")
                            .dec(errno as u64)
                            .s("); leaving it")
                            .emit();
                        return;
                    }
                    stats::foreign_freed();
                }
                // Not reachable (meta::ours said it is not ours), but never
                // free what is not recognised.
                SegmentKind::Ours => {}
                SegmentKind::Bad(why) => {
                    Msg::new().s("not freeing the stack segment at ").hex(seg as usize).s(": ").s(why).emit();
                }
            }
            return;
        }
        unregister_stack(seg, m);
        let origin = (*m).origin as *const user::Record;
        let size = (*m).block_size;
        let class = (*m).class;
        stats::segment_freed();
        if origin.is_null() {
            // Marked free, so that freeing it again (a released context's
            // copy, a corrupt chain) is recognised while it waits for reuse.
            (*m).magic = meta::free_magic(seg);
            default::free(seg, size, class);
        } else {
            let v = (*origin).v;
            (*m).magic = 0;
            // The allocator may keep its bookkeeping in the block.
            asan::unpoison(seg as usize, size);
            user::call(|| (v.free)(v.user, seg as *mut c_void, size));
        }
    }
}

/// What a segment pointer that came from outside the runtime (a caller's
/// context, a chain a foreign runtime copy also works on) points to.
pub enum SegmentKind {
    /// A live segment of this runtime (default or registered allocator).
    Ours,
    /// A segment made by a libgcc runtime copy: one mapping of exactly
    /// `size + 56` bytes, page-aligned.
    Foreign,
    /// Anything else, with the reason; it must not be followed or freed.
    Bad(&'static str),
}

/// Largest segment size believed (1 TiB): bigger is a corrupt header.
const MAX_PLAUSIBLE_SIZE: usize = 1 << 40;

/// Whether a header at `a` with `size` has the shape of a libgcc copy's
/// segment: one mapping of exactly `size + 56` bytes, page-aligned, whose
/// last page is mapped (the header's has been read).
fn libgcc_shaped(a: usize, size: usize) -> bool {
    let page = config::page_size();
    a.is_multiple_of(page) && (size + HEADER).is_multiple_of(page) && sys::page_mapped(a + size + HEADER - 1, page)
}

/// Says what `seg` points to without faulting, whatever it holds.
///
/// Memory the default allocator mapped is recognised through the segment
/// map, with no system call (the cost on every valid context); anything
/// else (a registered allocator's block, a libgcc copy's segment, garbage)
/// is read through [`sys::probe_read`] first.
///
/// # Safety
/// Memory the segment map records must still be mapped (the map is
/// updated before anything of ours is unmapped; a libgcc copy that
/// unmapped one of our segments leaves a hole the map cannot see).
pub unsafe fn identify(seg: *mut StackSegment) -> SegmentKind {
    // SAFETY: the caller's promise.
    if unsafe { live_default(seg) } {
        return SegmentKind::Ours;
    }
    // SAFETY: the caller's promise.
    unsafe { identify_general(seg) }
}

/// The common case of [`identify`], inline (every releasecontext asks):
/// whether `seg` is a live segment of the default allocator, its header
/// and meta in memory the segment map records as ours.  False says
/// nothing: ask [`identify`].
///
/// # Safety
/// As [`identify`].
#[inline(always)]
pub unsafe fn live_default(seg: *mut StackSegment) -> bool {
    let a = seg as usize;
    if !a.is_multiple_of(16) || !(65536..1 << 48).contains(&a) || !segmap::contains_range(a, HEADER) {
        return false;
    }
    // SAFETY: the header lies in memory the map records as ours (mapped:
    // the caller's promise).
    let size = unsafe { (*seg).size };
    if !(META_BYTES..=MAX_PLAUSIBLE_SIZE).contains(&size) {
        return false;
    }
    let m = a + HEADER + size - META_BYTES;
    // SAFETY: the meta lies in memory the map records as ours.
    segmap::contains_range(m, META_BYTES) && unsafe { *(m as *const usize) } == meta::live_magic(seg)
}

/// [`identify`] for everything but a live segment of the default
/// allocator.
///
/// # Safety
/// As [`identify`].
#[cold]
#[inline(never)]
unsafe fn identify_general(seg: *mut StackSegment) -> SegmentKind {
    let a = seg as usize;
    if !a.is_multiple_of(16) || !(65536..1 << 48).contains(&a) {
        return SegmentKind::Bad("not a stack segment (misaligned, or not a user-space address)");
    }
    if segmap::contains_range(a, HEADER) {
        // SAFETY: the header lies in memory the map records as ours
        // (mapped: the caller's promise).
        let size = unsafe { (*seg).size };
        if size == 0 {
            // What a block reads as once its pages went back to the OS
            // (the pool's cold blocks), or memory never handed out.
            return SegmentKind::Bad(
                "not a live segment (already freed, or never allocated) in this runtime's stack memory",
            );
        }
        if !(META_BYTES..=MAX_PLAUSIBLE_SIZE).contains(&size) {
            return SegmentKind::Bad("corrupt segment header (impossible size) in this runtime's stack memory");
        }
        let end = a + HEADER + size;
        if !segmap::contains_range(end - META_BYTES, META_BYTES) {
            return SegmentKind::Bad("corrupt segment header (size beyond this runtime's stack memory)");
        }
        // SAFETY: the meta lies in memory the map records as ours, so does
        // the header.
        let magic = unsafe { (*meta::at(seg, size + HEADER)).magic };
        return if magic == meta::live_magic(seg) {
            SegmentKind::Ours
        } else if magic == meta::free_magic(seg) || magic == pool::cold_meta_mark(end - META_BYTES) {
            SegmentKind::Bad("already freed (its context was released, or this is a copy of a released context)")
        } else if libgcc_shaped(a, size) {
            // A libgcc copy frees a segment of ours that is too small for
            // it with munmap and maps its own, which the kernel may place
            // in the hole: inside memory the map still records as ours.
            SegmentKind::Foreign
        } else {
            SegmentKind::Bad("not a live segment header in this runtime's stack memory (corrupt, or a pointer into the middle of a stack)")
        };
    }
    let mut h = [0u8; HEADER];
    if !sys::probe_read(a, &mut h) {
        return SegmentKind::Bad("not a stack segment (unreadable memory)");
    }
    // SAFETY: `h` holds a copy of the header (StackSegment is plain data;
    // read unaligned).
    let size = unsafe { (h.as_ptr() as *const StackSegment).read_unaligned() }.size;
    if !(META_BYTES..=MAX_PLAUSIBLE_SIZE).contains(&size) {
        return SegmentKind::Bad("not a stack segment (impossible size in its header)");
    }
    let end = a + HEADER + size;
    if user::any_registered() {
        let mut mb = [0u8; core::mem::size_of::<SegmentMeta>()];
        if sys::probe_read(end - META_BYTES, &mut mb) {
            // SAFETY: `mb` holds a copy of a would-be SegmentMeta (plain
            // data; read unaligned).
            let m = unsafe { (mb.as_ptr() as *const SegmentMeta).read_unaligned() };
            if m.magic == meta::live_magic(seg) && user::is_record(m.origin) {
                return SegmentKind::Ours;
            }
        }
    }
    // Outside our memory altogether (first and last page).
    if libgcc_shaped(a, size) && !segmap::contains(end - 1) {
        return SegmentKind::Foreign;
    }
    SegmentKind::Bad("not a stack segment (neither this runtime's layout nor libgcc's)")
}
