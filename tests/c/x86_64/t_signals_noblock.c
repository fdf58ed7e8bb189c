// XFAIL: libgcc
//
// t_signals.c with signal blocking turned off, as real clients do:
// int zero = 0; __splitstack_block_signals(&zero, NULL);
// and SIGPROF from a POSIX timer (timer_create) instead of SIGALRM.
// libgcc: see t_signals.c.
#define NO_BLOCK 1
#define SIGNAL SIGPROF
#include "t_signals.c"
