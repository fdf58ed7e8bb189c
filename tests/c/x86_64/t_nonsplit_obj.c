// NOSPLIT_PART
// XFAIL: bfd
//
// Calls from split-stack code into a non-split function with a 12 KB frame
// that lives in another object (t_nonsplit_obj_big.c: 200 KB).  The driver
// compiles this file a second time with -DNOSPLIT_PART and without
// -fsplit-stack, so the linker sees calls into an object without
// .note.GNU-split-stack: gold and lld then make the caller's prologue
// demand a reserve below the limit (gold: 1 MiB, lld: 16 KiB by default,
// -z split-stack-adjust-size) and call __morestack_non_split when it is
// not there, so the non-split frame fits.  ld.bfd does no such rewriting
// and the non-split frame runs off the end of its segment: expected to
// fail (crash or corruption) with bfd whatever the runtime.
// (A no_split_stack function in the same object would not help: gold and
// lld leave calls within an object that has .note.GNU-split-stack alone.)
#include "common.h"

#ifndef NONSPLIT_FRAME
#define NONSPLIT_FRAME 12000
#endif

#ifdef NOSPLIT_PART

/* Not split-stack code: no prologue check, whatever the stack holds. */
long nonsplit_big(long x, long (*callback)(long))
{
    volatile unsigned char frame[NONSPLIT_FRAME];
    for (size_t i = 0; i < sizeof frame; i += 16)
        frame[i] = (unsigned char)(x + i);
    long r = callback ? callback(x) : 0;
    for (size_t i = 0; i < sizeof frame; i += 16)
        if (frame[i] != (unsigned char)(x + i))
            return -1;
    return r + x;
}

#else

long nonsplit_big(long x, long (*callback)(long));

/* Split-stack code called back from the non-split frame; it splits
 * because its frame is large. */
static long callback(long x)
{
    char frame[20000];
    ss_fill(frame, sizeof frame, (uint32_t)x);
    CHECK(ss_verify(frame, sizeof frame, (uint32_t)x) < 0, "callback frame corrupted");
    return x * 3;
}

__attribute__((noinline)) static uint64_t recurse(int depth)
{
    char pad[1500];
    ss_fill(pad, sizeof pad, (uint32_t)depth);
    uint64_t below = depth > 0 ? recurse(depth - 1) : 0;
    long r = nonsplit_big(depth, depth % 3 == 0 ? callback : NULL);
    long want = depth % 3 == 0 ? depth * 4L : depth;
    CHECK(r == want, "depth %d: nonsplit_big returned %ld, want %ld", depth, r, want);
    CHECK(ss_verify(pad, sizeof pad, (uint32_t)depth) < 0, "frame %d corrupted", depth);
    return below + (uint64_t)r;
}

int main(void)
{
    uint64_t want = 0;
    for (int d = 0; d <= 2000; d++)
        want += d % 3 == 0 ? d * 4L : d;
    uint64_t got = recurse(2000);
    CHECK(got == want, "sum %llu, want %llu", (unsigned long long)got, (unsigned long long)want);
    printf("2001 calls into a non-split %d-byte frame ok\n", NONSPLIT_FRAME);
    return 0;
}

#endif
