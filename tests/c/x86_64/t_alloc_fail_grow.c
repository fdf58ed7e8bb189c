// REQUIRES: ours
// EXPECT_SIGNAL: ABRT
// EXPECT_STDERR: splitstack: out of memory: cannot allocate a stack segment of [0-9]+ bytes \(the registered allocator returned NULL\); aborting
//
// An allocator that fails while the stack grows: __morestack has no
// caller to report to, so the runtime says what it asked for and aborts.
#include "ours.h"

static void *failing_allocate(void *user, size_t size) { (void)user; (void)size; return NULL; }
static void no_free(void *user, void *block, size_t size) { (void)user; (void)block; (void)size; }

__attribute__((noinline)) static long deep(long n)
{
    char buf[4000];
    ss_fill(buf, sizeof buf, (uint32_t)n);
    return n > 0 ? deep(n - 1) + buf[n % 4000] : 0;
}

int main(void)
{
    SplitstackAllocator a = {SPLITSTACK_ALLOCATOR_VERSION, 0, failing_allocate, no_free, NULL};
    CHECK(splitstack_set_allocator(&a) == SplitstackOk, "register");
    printf("%ld\n", deep(100000));
    fprintf(stderr, "FAIL: the recursion completed although no segment could be allocated\n");
    return 1;
}
