/*
 * libsplitstack_stubs.o: linked into every program that links the shared
 * library (build/libsplitstack.so is a linker script naming
 * libsplitstack.so.0 and this object).
 *
 * Why: gold (and lld) treat a call from split-stack code to a function
 * that is not defined in an object carrying .note.GNU-split-stack as a
 * call into non-split code, and rewrite the caller to demand 1 MiB more
 * stack through __morestack_non_split.  A shared library carries no such
 * note, so if the prologues' __morestack resolved to libsplitstack.so.0,
 * gold would rewrite every split-stack function of the program.  And the
 * rewrite happens after PLT entries are decided, so a __morestack_non_split
 * that lives only in a shared library has none ("internal error in
 * relocate" from gold, "R_X86_64_PLT32 out of range" from lld).
 *
 * So the program gets its own __morestack and __morestack_non_split:
 * hidden, in an object marked split-stack, each one indirect jump into the
 * shared library through the GOT (bound at load time: the library must be
 * linked with -z now, see README).
 *
 * Register contract: identical to the targets' (see morestack.S).  The
 * stubs use no register at all (a memory-indirect jmp) and push nothing,
 * so the target sees exactly the entry state the prologue made.  Frame:
 * none; CFI as at the targets' entry (CFA = rsp + 16, return address R2
 * at CFA - 8).
 */
	.text
	.globl	__morestack
	.hidden	__morestack
	.type	__morestack, @function
	.p2align 4
__morestack:
	.cfi_startproc
	.cfi_def_cfa %rsp, 16
	.cfi_offset %rip, -8
	jmp	*__splitstack_morestack_impl@GOTPCREL(%rip)
	.cfi_endproc
	.size	__morestack, . - __morestack

	.globl	__morestack_non_split
	.hidden	__morestack_non_split
	.type	__morestack_non_split, @function
	.p2align 4
__morestack_non_split:
	.cfi_startproc
	.cfi_def_cfa %rsp, 16
	.cfi_offset %rip, -8
	jmp	*__splitstack_morestack_non_split_impl@GOTPCREL(%rip)
	.cfi_endproc
	.size	__morestack_non_split, . - __morestack_non_split

	.section .note.GNU-split-stack,"",@progbits
	.section .note.GNU-no-split-stack,"",@progbits
	.section .note.GNU-stack,"",@progbits
