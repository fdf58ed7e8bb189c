// __stack_split_initialize runs before other constructors: a constructor
// with the earliest priority a program may use (101) already sees the
// main thread's stack limit, and split-stack code it runs already splits.
#include "common.h"

static uintptr_t limit_in_ctor, sp_in_ctor;
static int pieces_in_ctor;

__attribute__((noinline)) static int deep(int n)
{
    char buf[2000];
    ss_fill(buf, 64, (uint32_t)n);
    int r = n > 0 ? deep(n - 1) : ss_count_pieces();
    CHECK(ss_verify(buf, 64, (uint32_t)n) < 0, "frame %d corrupted", n);
    return r;
}

__attribute__((constructor(101))) static void early(void)
{
    limit_in_ctor = ss_limit();
    sp_in_ctor = ss_sp();
    pieces_in_ctor = deep(100); /* ~200 KB: far beyond the initial 16000 bytes */
}

int main(void)
{
    CHECK(limit_in_ctor != 0, "the earliest constructor ran with no stack limit");
    CHECK(ss_limit_sane(limit_in_ctor, sp_in_ctor), "the limit seen by the constructor is not sane: %#lx",
          (unsigned long)limit_in_ctor);
    CHECK(pieces_in_ctor >= 2, "split-stack code in the earliest constructor did not split (%d piece)",
          pieces_in_ctor);
    printf("constructor(101): limit set, its recursion used %d stack pieces\n", pieces_in_ctor);
    return 0;
}
