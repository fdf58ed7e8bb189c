// CFLAGS: -mcmodel=large -fno-pie
// LIBS: -no-pie
//
// t_largemodel.c in a position-dependent executable: GCC's prologue then
// loads __morestack_large_model's absolute address (movabs), and clang's
// __morestack_addr word in .rodata is resolved at link time, so every
// linker links it without a text relocation (README: clang's large code
// model).
#include "t_largemodel.c"
