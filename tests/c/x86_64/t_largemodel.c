// CFLAGS: -mcmodel=large
// LINK_ERROR: clang/lld cannot preempt symbol: __morestack
//
// -mcmodel=large.  GCC: the prologue calls __morestack_large_model
// through a register, with the frame size and the argument bytes packed
// into r10 ((args << 32) | frame), its address from the GOT in a PIE.
// clang: the prologue calls __morestack (r10 and r11 as usual) through a
// word in .rodata, `__morestack_addr: .quad __morestack`, which in a PIE
// needs a relocation in a read-only section: gold and bfd make it a text
// relocation, lld must refuse the link (with lld 14, libgcc's runtime and
// ours, whose __morestack is hidden in both libraries, get "cannot preempt
// symbol: __morestack"; a default-visibility __morestack linked without
// an error and the program jumped to an unrelocated address).  The same
// test as a non-PIE and with -z notext: t_largemodel_nopie.c and
// t_largemodel_notext.c.  A recursion with stack arguments through
// thousands of segments, every argument checked.
#include "common.h"

SS_KEEP_ARGS uint64_t rec(int n, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                          uint64_t e, uint64_t f, uint64_t g, uint64_t h)
{
    char buf[2000];
    ss_fill(buf, 64, (uint32_t)n);
    CHECK(g == (uint64_t)n * 7 && h == (uint64_t)n * 11, "stack arguments wrong at depth %d", n);
    uint64_t below = n > 0 ? rec(n - 1, a + 1, b, c, d, e, f, (uint64_t)(n - 1) * 7, (uint64_t)(n - 1) * 11) : 0;
    CHECK(ss_verify(buf, 64, (uint32_t)n) < 0, "frame %d corrupted", n);
    return ss_mix(below, a + b + c + d + e + f + g + h);
}

int main(void)
{
    uint64_t r1 = rec(5000, 1, 2, 3, 4, 5, 6, 5000 * 7, 5000 * 11);
    uint64_t r2 = rec(5000, 1, 2, 3, 4, 5, 6, 5000 * 7, 5000 * 11);
    CHECK(r1 == r2, "results differ");
    CHECK(ss_count_pieces() >= 1, "pieces");
    printf("large code model: 5000 frames with stack arguments, ok\n");
    return 0;
}
