/*
 * libsplitstack_stubs.o for aarch64: linked into every program that links
 * the shared library (build/aarch64/libsplitstack.so is a linker script
 * naming libsplitstack.so.0 and this object).
 *
 * Why: the contract (docs/aarch64.md) requires
 * __morestack to be statically bound, never reached through a PLT entry:
 * the lazy resolver saves only x0-x8 and q0-q7 and would clobber x9-x12,
 * which carry the prologue's state.  So the program gets its own hidden
 * __morestack and __morestack_non_split; each loads the address of the
 * shared library's entry from the GOT (a GLOB_DAT relocation, resolved
 * when the library is loaded, never lazily) and branches to it.
 *
 * Register contract: identical to the targets' (see morestack.S).  The
 * stubs use x16 only (IP0: AAPCS64 lets any veneer or stub between a call
 * and its target clobber it; it carries nothing in the split-stack
 * contract), push nothing and leave x30 alone, so the target sees exactly
 * the entry state the prologue made.  `br x16` may land on the targets'
 * `bti c`.  CFI: CFA = sp, return address in x30 (the defaults).
 */
#define BTI_C	hint	#34

	.text
	.globl	__morestack
	.hidden	__morestack
	.type	__morestack, %function
	.p2align 4
__morestack:
	.cfi_startproc
	BTI_C
	adrp	x16, :got:__splitstack_morestack_impl
	ldr	x16, [x16, #:got_lo12:__splitstack_morestack_impl]
	br	x16
	.cfi_endproc
	.size	__morestack, . - __morestack

	.globl	__morestack_non_split
	.hidden	__morestack_non_split
	.type	__morestack_non_split, %function
	.p2align 4
__morestack_non_split:
	.cfi_startproc
	BTI_C
	adrp	x16, :got:__splitstack_morestack_non_split_impl
	ldr	x16, [x16, #:got_lo12:__splitstack_morestack_non_split_impl]
	br	x16
	.cfi_endproc
	.size	__morestack_non_split, . - __morestack_non_split

#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
/* Both entries have their landing pad: BTI-compatible. */
	.section .note.gnu.property,"a",%note
	.p2align 3
	.word	4				/* n_namesz: "GNU\0" */
	.word	16				/* n_descsz */
	.word	5				/* NT_GNU_PROPERTY_TYPE_0 */
	.asciz	"GNU"
	.word	0xc0000000			/* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
	.word	4				/* pr_datasz */
	.word	1				/* BTI */
	.word	0				/* pad to 8 bytes */
#endif

	.section .note.GNU-split-stack,"",%progbits
	.section .note.GNU-no-split-stack,"",%progbits
	.section .note.GNU-stack,"",%progbits
