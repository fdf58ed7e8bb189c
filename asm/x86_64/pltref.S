/*
 * libsplitstack_pltref.o: linked into every program that links the
 * shared library (build/libsplitstack.so is a linker script naming
 * libsplitstack.so.0 and this object).
 *
 * gold and lld rewrite split-stack calls into non-split code to call
 * __morestack_non_split, but only after they have decided which symbols
 * get PLT entries; if nothing else in the program refers to
 * __morestack_non_split and it lives in a shared library, the rewritten
 * call has no PLT entry to go to (gold: "internal error in relocate",
 * lld: "relocation R_X86_64_PLT32 out of range").  This never-called
 * function refers to it through the PLT, so the entry always exists.
 * The object has no split-stack note, so the linkers leave it alone.
 */
	.text
	.globl	splitstack_pltref_morestack_non_split
	.hidden	splitstack_pltref_morestack_non_split
	.type	splitstack_pltref_morestack_non_split, @function
splitstack_pltref_morestack_non_split:
	.cfi_startproc
	call	__morestack_non_split@PLT
	call	__morestack@PLT
	ud2
	.cfi_endproc
	.size	splitstack_pltref_morestack_non_split, . - splitstack_pltref_morestack_non_split

	.section .note.GNU-stack,"",@progbits
