// REQUIRES: ours
// EXPECT_SIGNAL: ABRT
// EXPECT_STDERR: ^splitstack: .*released
//
// Switching to a context that was released is a use after free: the
// library must say so and abort, not run on freed memory.
#include "common.h"

int main(void)
{
    void *ctx[10];
    size_t size;
    CHECK(__splitstack_makecontext(64 * 1024, ctx, &size) != NULL, "makecontext failed");
    __splitstack_releasecontext(ctx);
    fflush(stdout);
    __splitstack_setcontext(ctx);
    printf("setcontext on a released context returned\n");
    return 1;
}
