// REQUIRES: ours
// EXPECT_STDERR: ^splitstack: .*NULL context
//
// __splitstack_makecontext(size, NULL, &size) is reported, returns NULL
// and allocates nothing.
#include "common.h"

int main(void)
{
    size_t size = 12345;
    void *stack = __splitstack_makecontext(64 * 1024, NULL, &size);
    CHECK(stack == NULL, "makecontext with a NULL context returned %p", stack);
    printf("makecontext(NULL) returned NULL (size left at %zu)\n", size);
    return 0;
}
