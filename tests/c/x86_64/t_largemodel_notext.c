// CFLAGS: -mcmodel=large
// LIBS: -Wl,-z,notext
//
// t_largemodel.c as a PIE linked with -z notext: text relocations are
// allowed, so lld, too, relocates clang's __morestack_addr word in
// .rodata at load time (R_X86_64_RELATIVE, DT_TEXTREL), as gold and bfd
// do by default (README: clang's large code model).  For GCC's prologue
// (through the GOT) the option changes nothing.
#include "t_largemodel.c"
