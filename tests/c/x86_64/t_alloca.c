// alloca and variable-length arrays under split stacks.
//
// A dynamic allocation that may cross the limit is not taken from the
// segment: GCC calls __morestack_allocate_stack_space(size) and uses the
// block it returns.  Sizes from a few bytes to 3 MiB, in a loop and in a
// recursion (so the allocations happen at many positions in many
// segments), contents verified after the callees return.  The leak test
// (many allocations in a loop) is t_alloca_leak.c.
#include <alloca.h>

#include "common.h"

static uint64_t blocks_ok, blocks_off_stack;

/* Is [p, p+n) inside one of the current thread's stack pieces?  A block
 * that is not came from __morestack_allocate_stack_space. */
__attribute__((noinline)) static int on_stack(const void *p, size_t n)
{
    void *seg = NULL, *sp = NULL, *isp = NULL, *base;
    size_t len;
    while ((base = __splitstack_find(seg, sp, &len, &seg, &sp, &isp)) != NULL)
        if ((uintptr_t)p >= (uintptr_t)base && (uintptr_t)p + n <= (uintptr_t)base + len)
            return 1;
    return 0;
}

/* Sizes cycle through small, page-ish, odd and huge values.  3 MiB is more
 * than gold's 1 MiB reserve for functions that call non-split code (and
 * __morestack_allocate_stack_space is such code), so it cannot fit on
 * the segment under any linker. */
static size_t size_for(int i)
{
    static const size_t sizes[] = {1,     7,     64,     255,    4096,  5000,
                                   20000, 65536, 100003, 262144, 1 << 20, 3 << 20};
    return sizes[(unsigned)i % (sizeof sizes / sizeof sizes[0])];
}

/* alloca in a frame that then calls down: the block must survive until
 * this frame returns. */
__attribute__((noinline)) static uint64_t alloca_rec(int depth, int max)
{
    size_t n = size_for(depth);
    uint8_t *p = alloca(n);
    ss_fill(p, n, (uint32_t)depth);
    if (!on_stack(p, n))
        blocks_off_stack++;
    uint64_t below = depth < max ? alloca_rec(depth + 1, max) : 0;
    long bad = ss_verify(p, n, (uint32_t)depth);
    CHECK(bad < 0, "alloca(%zu) at depth %d corrupted at %ld", n, depth, bad);
    blocks_ok++;
    return ss_mix(below, p[n - 1] + n);
}

/* The same with a VLA, whose storage is released at the end of its scope
 * rather than at function return. */
__attribute__((noinline)) static uint64_t vla_rec(int depth, int max)
{
    uint64_t h = 0;
    for (int k = 0; k < 3; k++) {
        size_t n = size_for(depth * 3 + k);
        uint8_t v[n];
        ss_fill(v, n, (uint32_t)(depth * 3 + k));
        uint64_t below = (k == 1 && depth < max) ? vla_rec(depth + 1, max) : 0;
        long bad = ss_verify(v, n, (uint32_t)(depth * 3 + k));
        CHECK(bad < 0, "VLA[%zu] at depth %d/%d corrupted at %ld", n, depth, k, bad);
        blocks_ok++;
        h = ss_mix(h ^ below, v[n / 2] + n);
    }
    return h;
}

/* Several allocas of different sizes in one frame, in a loop. */
__attribute__((noinline)) static uint64_t alloca_loop(int iters, uint32_t seed)
{
    uint8_t *ptrs[16];
    size_t sizes[16];
    uint64_t h = 0;
    for (int i = 0; i < iters && i < 16; i++) {
        sizes[i] = size_for(i + (int)seed);
        ptrs[i] = alloca(sizes[i]);
        ss_fill(ptrs[i], sizes[i], seed + (uint32_t)i);
    }
    /* Only now check them all: a block that overlaps a later one shows. */
    for (int i = 0; i < iters && i < 16; i++) {
        long bad = ss_verify(ptrs[i], sizes[i], seed + (uint32_t)i);
        CHECK(bad < 0, "loop alloca %d (%zu bytes) corrupted at %ld", i, sizes[i], bad);
        for (int j = 0; j < i; j++) {
            uintptr_t a = (uintptr_t)ptrs[i], b = (uintptr_t)ptrs[j];
            CHECK(a + sizes[i] <= b || b + sizes[j] <= a, "alloca blocks %d and %d overlap", i,
                  j);
        }
        blocks_ok++;
        h = ss_mix(h, ptrs[i][0]);
    }
    return h;
}

/* A deep plain recursion that calls fn at its bottom, so the dynamic
 * allocations also happen on split segments rather than only on the
 * initial stack. */
static uint64_t (*at_bottom_fn)(int, int);
__attribute__((noinline)) static uint64_t sink(int depth, int arg)
{
    char pad[2000];
    ss_fill(pad, sizeof pad, (uint32_t)depth);
    uint64_t r = depth > 0 ? sink(depth - 1, arg) : at_bottom_fn(0, arg);
    CHECK(ss_verify(pad, sizeof pad, (uint32_t)depth) < 0, "sink frame %d corrupted", depth);
    return r;
}

int main(void)
{
    uint64_t a = alloca_rec(0, 60);
    uint64_t v = vla_rec(0, 40);
    for (uint32_t s = 0; s < 30; s++)
        alloca_loop(16, s);

    /* The same recursions started deep in a split stack must produce the
     * same results. */
    at_bottom_fn = alloca_rec;
    uint64_t a2 = sink(500, 60);
    at_bottom_fn = vla_rec;
    uint64_t v2 = sink(500, 40);
    CHECK(a == a2, "alloca recursion differs on a split stack");
    CHECK(v == v2, "VLA recursion differs on a split stack");
    CHECK(ss_limit_sane(ss_limit(), ss_sp()), "limit %#lx not sane for sp %#lx after the tests",
          (unsigned long)ss_limit(), (unsigned long)ss_sp());
    /* The 3 MiB allocas cannot fit in what is left of a segment. */
    CHECK(blocks_off_stack > 0, "no alloca block was allocated off the stack");
    printf("%llu dynamic blocks verified, %llu alloca blocks were off the stack pieces\n",
           (unsigned long long)blocks_ok, (unsigned long long)blocks_off_stack);
    return 0;
}
