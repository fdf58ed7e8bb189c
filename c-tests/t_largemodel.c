// CFLAGS: -mcmodel=large
//
// -mcmodel=large: the prologue calls __morestack_large_model through a
// register, with the frame size and the argument bytes packed into r10
// ((args << 32) | frame).  A recursion with stack arguments through
// thousands of segments, every argument checked; the binary must really
// call __morestack_large_model (checked by the runner's link map: the
// symbol is referenced).
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
