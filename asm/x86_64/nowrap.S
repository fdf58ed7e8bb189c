/*
 * splitstack_nowrap.o: an archive member of libsplitstack.a that the
 * linker takes only when a link is made WITHOUT --wrap=pthread_create
 * (a program that uses the API but is not linked by `gcc -fsplit-stack`).
 *
 * The main object refers to __real_pthread_create strongly (see
 * splitstack_real_pthread_create_ptr in morestack.S).  Under --wrap that
 * reference is renamed to pthread_create and nothing asks for this member;
 * without --wrap it would be undefined, and this member defines it as the
 * absolute address 0: the wrapper then reports that the real
 * pthread_create is not linked in (README, Errors).
 *
 * No code, no registers, no frame: one absolute symbol.
 */
	.globl	__real_pthread_create
	.hidden	__real_pthread_create
	.set	__real_pthread_create, 0

	.section .note.GNU-split-stack,"",@progbits
	.section .note.GNU-no-split-stack,"",@progbits
	.section .note.GNU-stack,"",@progbits
