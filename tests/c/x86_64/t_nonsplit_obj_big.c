// NOSPLIT_PART
// XFAIL: bfd lld
//
// t_nonsplit_obj.c with a 200 KB non-split frame.  gold's reserve for
// calls into non-split code is 1 MiB, so this fits with gold.  lld's
// default reserve is only 16 KiB (-z split-stack-adjust-size=16384): a
// caller that still has 16 KiB + its frame below the limit calls the
// non-split function without any split, and the 200 KB frame runs off the
// segment, so lld is expected to fail here unless the adjust size is
// raised.  ld.bfd: see t_nonsplit_obj.c.
#define NONSPLIT_FRAME 200000
#include "t_nonsplit_obj.c"
