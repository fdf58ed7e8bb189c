// REQUIRES: ours
// EXPECT_STDERR: ^splitstack: .*NULL context
//
// __splitstack_getcontext(NULL) is reported and otherwise ignored.
#include "common.h"

int main(void)
{
    __splitstack_getcontext(NULL);
    void *ctx[10];
    memset(ctx, 0xcc, sizeof ctx);
    __splitstack_getcontext(ctx);
    CHECK(ctx[2] != NULL, "getcontext after the bad call saved no stack pointer");
    printf("survived getcontext(NULL)\n");
    return 0;
}
