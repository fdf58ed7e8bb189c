// REQUIRES: ours
// NOSPLIT_PART
// EXPECT_SIGNAL: ABRT
// EXPECT_STDERR: ^splitstack: stack overrun: fault at 0x[0-9a-f]+ in the guard page below the stack segment at 0x[0-9a-f]+: .*non-split
//
// t_guard_overrun.c in a thread made with pthread_create: the report runs
// on the alternate signal stack the runtime gave that thread.
#define IN_THREAD 1
#include "t_guard_overrun.c"
