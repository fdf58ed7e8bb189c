// REQUIRES: ours
// EXPECT_STDERR: ^splitstack: .*NULL context
//
// __splitstack_releasecontext(NULL) is reported and otherwise ignored: the
// program goes on.
#include "common.h"

int main(void)
{
    __splitstack_releasecontext(NULL);
    /* Still usable afterwards. */
    void *ctx[10];
    size_t size;
    void *stack = __splitstack_makecontext(64 * 1024, ctx, &size);
    CHECK(stack != NULL && size >= 64 * 1024, "makecontext after the bad call failed");
    __splitstack_releasecontext(ctx);
    printf("survived releasecontext(NULL)\n");
    return 0;
}
