// REQUIRES: ours
// EXPECT_SIGNAL: ABRT
// EXPECT_STDERR: ^splitstack: __splitstack_setcontext: 0x[0-9a-f]+ is not a split-stack context .*aborting
//
// Switching to a context whose words are garbage (every word a small odd
// address) cannot go on: the library must say so and abort, not install
// a garbage limit and segment that crash at the next function entry.
#include "common.h"

int main(void)
{
    void *ctx[10];
    for (int i = 0; i < 10; i++)
        ctx[i] = (void *)(uintptr_t)(0x11 + 0x22 * i);
    fflush(stdout);
    __splitstack_setcontext(ctx);
    printf("setcontext on a garbage context returned\n");
    return 1;
}
