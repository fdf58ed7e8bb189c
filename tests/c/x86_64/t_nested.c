// CLANG: unsupported GCC nested functions (a GNU C extension clang does not implement)
// CLANG_ERROR: function definition is not allowed here
//
// GCC nested functions across a split.
//
// A nested function gets its static chain (a pointer to the enclosing
// frame) in r10, which is also where the prologue puts the frame size for
// __morestack; GCC moves the chain to rax around the __morestack call, so
// the runtime must preserve rax.  Here nested functions with big frames
// recurse (each call splits: the frame is larger than what is left), and
// read and update the enclosing function's variables through the chain,
// two levels deep.  Only direct calls are used: taking a nested function's
// address would build a trampoline on the stack, and split segments are
// deliberately not executable.
#include "common.h"

static int splits, calls, first_call_split;

__attribute__((noinline)) static long outer(int depth_max, long seed)
{
    long total = 0;           /* updated by the nested functions */
    int deepest = 0;          /* read and written through the chain */
    uintptr_t limit_seen = 0; /* the caller's limit, for the split check */

    /* Nested function with a 20 KB frame that recurses, so calls keep
     * crossing into new segments. */
    __attribute__((noinline)) long level(int d, long acc)
    {
        char frame[20000];
        calls++;
        if (ss_limit() != limit_seen) {
            splits++;
            if (d == 0)
                first_call_split = 1;
        }
        ss_fill(frame, sizeof frame, (uint32_t)(seed + d));
        if (d > deepest)
            deepest = d;
        total += d;

        /* A nested function inside the nested function: its chain points at
         * level's frame, whose own chain points at outer's. */
        __attribute__((noinline)) long inner(int k)
        {
            char buf[20000];
            uintptr_t mine = ss_limit();
            ss_fill(buf, sizeof buf, (uint32_t)k);
            CHECK(ss_verify(buf, sizeof buf, (uint32_t)k) < 0, "inner frame corrupted");
            total += 1000000; /* two chain hops */
            return acc + k + seed + (long)(mine != 0);
        }

        long r = acc;
        if (d < depth_max) {
            limit_seen = ss_limit();
            r = level(d + 1, acc * 3 + d);
        }
        if (d % 10 == 0)
            r += inner(d) - acc - seed - 1;
        long bad = ss_verify(frame, sizeof frame, (uint32_t)(seed + d));
        CHECK(bad < 0, "nested frame %d corrupted at %ld", d, bad);
        return r;
    }

    limit_seen = ss_limit();
    long r = level(0, seed);
    CHECK(deepest == depth_max, "deepest level %d, want %d", deepest, depth_max);
    long want_total = (long)depth_max * (depth_max + 1) / 2 + 1000000L * (depth_max / 10 + 1);
    CHECK(total == want_total, "enclosing variable is %ld, want %ld", total, want_total);
    return r;
}

static long expected(int depth_max, long seed)
{
    long acc = seed, extra = 0;
    for (int d = 0; d < depth_max; d++)
        acc = acc * 3 + d;
    for (int d = 0; d <= depth_max; d += 10)
        extra += d;
    return acc + extra;
}

/* One round, run at the bottom of a segment so that the first nested
 * call (20 KB frame) certainly splits; how often the deeper ones do
 * depends on the runtime's segment sizes. */
__attribute__((noinline)) static void *round_at_limit(void *arg)
{
    int round = *(int *)arg;
    int depth = 100 + round * 10;
    first_call_split = 0;
    long got = outer(depth, round * 7 + 1);
    long want = expected(depth, round * 7 + 1);
    CHECK(got == want, "round %d: got %ld, want %ld", round, got, want);
    CHECK(first_call_split, "round %d: the first nested call did not split", round);
    return NULL;
}

int main(void)
{
    for (int round = 0; round < 20; round++)
        ss_near_limit(round_at_limit, &round, 2048);
    printf("%d nested calls, %d on a new segment\n", calls, splits);
    CHECK(splits >= 40, "only %d of %d nested calls split", splits, calls);
    return 0;
}
