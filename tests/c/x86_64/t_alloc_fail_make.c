// REQUIRES: ours
// EXPECT_STDERR: __splitstack_makecontext: out of memory: cannot allocate a stack segment of [0-9]+ bytes \(the registered allocator returned NULL\)
//
// An allocator that fails: __splitstack_makecontext says so on stderr,
// with the size asked for, and returns NULL (the program goes on; the
// context is left empty and releasing it is harmless).
#include "ours.h"

static unsigned long calls;
static void *failing_allocate(void *user, size_t size) { (void)user; (void)size; calls++; return NULL; }
static void never_free(void *user, void *block, size_t size) { (void)user; (void)block; (void)size; abort(); }

int main(void)
{
    SplitstackAllocator a = {SPLITSTACK_ALLOCATOR_VERSION, 0, failing_allocate, never_free, NULL};
    CHECK(splitstack_set_allocator(&a) == SplitstackOk, "register");
    SplitstackContext c;
    size_t size = 12345;
    void *p = __splitstack_makecontext(64 * 1024, splitstack_context_words(&c), &size);
    CHECK(p == NULL, "makecontext returned %p from a failing allocator", p);
    CHECK(calls == 1, "allocator called %lu times", calls);
    CHECK(c.segments == NULL, "the failed context holds a segment");
    __splitstack_releasecontext(splitstack_context_words(&c));
    CHECK(splitstack_set_allocator(NULL) == SplitstackOk, "restore");
    p = __splitstack_makecontext(64 * 1024, splitstack_context_words(&c), &size);
    CHECK(p != NULL && size >= 64 * 1024, "the default allocator does not work again");
    __splitstack_releasecontext(splitstack_context_words(&c));
    printf("failing allocator: makecontext returned NULL with a message; default restored\n");
    return 0;
}
