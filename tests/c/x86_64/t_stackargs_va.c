// CLANG: unsupported split-stack variadic functions (LLVM: "Segmented stacks do not support vararg functions")
// CLANG_ERROR: Segmented stacks do not support vararg functions
//
// t_stackargs.c with its variadic callees as well: va_pairs (12 long and
// double pairs, most of them on the stack) and va_structs (structs by
// value among the variadic arguments), each with a 20 KB frame, called at
// the bottom of a segment so that it splits.  A variadic callee does not
// get its stack arguments copied: it reads them from the old stack through
// __morestack's frame (GCC's prologue computes `lea 0x18(%rbp),%r11` after
// the call).  LLVM refuses to give a variadic function a split-stack
// prologue, hence the CLANG directive.
#define STACKARGS_VARIADIC 1
#include "t_stackargs.c"
