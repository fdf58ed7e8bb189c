// REQUIRES: ours
// EXPECT_STDERR: ^splitstack: .*already released
//
// Releasing a context twice: the second call is reported and does nothing
// (it must not free the segments again, which by then may belong to a new
// context), and the program goes on.
#include "common.h"

int main(void)
{
    void *a[10], *b[10];
    size_t size_a, size_b;
    void *stack_a = __splitstack_makecontext(64 * 1024, a, &size_a);
    CHECK(stack_a != NULL, "makecontext failed");
    __splitstack_releasecontext(a);

    /* A new context may well get the memory just released. */
    void *stack_b = __splitstack_makecontext(64 * 1024, b, &size_b);
    CHECK(stack_b != NULL, "second makecontext failed");
    ss_fill(stack_b, size_b, 7);

    __splitstack_releasecontext(a); /* the bad call */

    /* b's memory must be intact and still mapped. */
    CHECK(ss_verify(stack_b, size_b, 7) < 0, "the second release damaged another context's stack");
    __splitstack_releasecontext(b);
    printf("survived a double release (b's stack %s a's)\n",
           stack_a == stack_b ? "reused" : "did not reuse");
    return 0;
}
