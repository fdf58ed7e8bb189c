// REQUIRES: ours
//
// An allocator callback may use at least 16 KiB of stack, even when it is
// called at the stack limit.  This one uses ~12 KiB (a 12 KiB buffer it
// writes and checks) and is itself split-stack code.  The reserve below
// each limit is set to its minimum (1 KiB) and every block the callback
// hands out has an inaccessible page right under it: had the callback run
// on the nearly exhausted segment, it would fault.  Checks the callback
// ran, that signals were blocked inside it, and that everything it
// allocated came back.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ours.h"

static long page;
static unsigned long allocs, frees, unblocked;

__attribute__((noinline)) static int use_12k(size_t size)
{
    volatile char buf[12 * 1024];
    for (size_t i = 0; i < sizeof buf; i += 64)
        buf[i] = (char)(i + size);
    int ok = 1;
    for (size_t i = 0; i < sizeof buf; i += 64)
        ok &= buf[i] == (char)(i + size);
    return ok;
}

static void *guarded_allocate(void *user, size_t size)
{
    (void)user;
    if (!use_12k(size))
        return NULL;
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    if (!sigismember(&now, SIGALRM) || !sigismember(&now, SIGUSR1))
        unblocked++;
    /* [guard page][block, rounded up to pages] */
    size_t len = ((size + page - 1) / page) * page;
    char *m = mmap(NULL, len + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    mprotect(m, page, PROT_NONE);
    allocs++;
    return m + page;
}

static void guarded_free(void *user, void *block, size_t size)
{
    (void)user;
    (void)use_12k(size);
    size_t len = ((size + page - 1) / page) * page;
    char *m = (char *)((uintptr_t)block & ~(uintptr_t)(page - 1)) - page;
    munmap(m, len + page);
    frees++;
}

__attribute__((noinline)) static uint64_t recurse(int n)
{
    char buf[600];
    ss_fill(buf, sizeof buf, (uint32_t)n);
    uint64_t below = n > 0 ? recurse(n - 1) : 0;
    CHECK(ss_verify(buf, sizeof buf, (uint32_t)n) < 0, "frame %d corrupted", n);
    return ss_mix(below, (uint8_t)buf[n % 600]);
}

int main(void)
{
    page = sysconf(_SC_PAGESIZE);
    CHECK(splitstack_set_reserve(1024) == SplitstackOk, "reserve 1024 refused");
    CHECK(splitstack_set_min_segment_size(512) == SplitstackOk, "min segment 512 refused");
    SplitstackAllocator a = {SPLITSTACK_ALLOCATOR_VERSION, 0, guarded_allocate, guarded_free, NULL};
    CHECK(splitstack_set_allocator(&a) == SplitstackOk, "register");
    uint64_t h1 = recurse(3000);
    uint64_t h2 = recurse(3000);
    CHECK(h1 == h2, "recursion results differ");
    CHECK(allocs > 100, "the callback was hardly called (%lu): the test proves nothing", allocs);
    CHECK(unblocked == 0, "the callback ran %lu times with signals unblocked", unblocked);
    SplitstackContext c;
    size_t sz;
    CHECK(__splitstack_makecontext(4096, splitstack_context_words(&c), &sz) != NULL, "makecontext");
    __splitstack_releasecontext(splitstack_context_words(&c));
    CHECK(splitstack_set_allocator(NULL) == SplitstackOk, "restore");
    printf("callback with a 12 KiB frame ran %lu times at the limit (reserve 1024), %lu frees\n",
           allocs, frees);
    return 0;
}
