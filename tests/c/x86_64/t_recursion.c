// ULIMIT_S: 256
//
// Deep recursion across thousands of segments: 100,000 frames of ~1 KiB
// (about 100 MiB of stack) under a 256 KiB stack rlimit, so the program can
// only survive if the stack really is split.  Every frame fills its buffer
// with a depth-dependent pattern and checks it after the recursive call
// returns, so a segment that was reused or freed too early, or a frame
// copied to the wrong place, shows up as a checksum mismatch.
#include "common.h"

#define DEPTH 100000
#define FRAME 1000

static int max_pieces;
static uintptr_t deepest_limit;
static uintptr_t deepest_local;

static uint8_t pattern(int depth, int i)
{
    return (uint8_t)(depth * 131 + i * 7 + (depth >> 8));
}

__attribute__((noinline)) static uint64_t recurse(int depth, int target)
{
    uint8_t buf[FRAME];
    for (int i = 0; i < FRAME; i++)
        buf[i] = pattern(depth, i);
    ESCAPE(buf);

    uint64_t below = 0;
    if (depth < target) {
        below = recurse(depth + 1, target);
    } else {
        max_pieces = ss_count_pieces();
        deepest_limit = ss_limit();
        deepest_local = (uintptr_t)buf;
    }

    ESCAPE(buf);
    for (int i = 0; i < FRAME; i++)
        CHECK(buf[i] == pattern(depth, i),
              "frame at depth %d corrupted at byte %d after the recursive call", depth, i);
    return ss_mix(below, buf[depth % FRAME] + (uint64_t)depth);
}

/* The value recurse() must produce, computed without recursion. */
static uint64_t expected(int target)
{
    uint64_t h = 0;
    for (int d = target; d >= 0; d--)
        h = ss_mix(h, pattern(d, d % FRAME) + (uint64_t)d);
    return h;
}

int main(void)
{
    char top;
    uintptr_t top_limit = ss_limit();
    uint64_t want = expected(DEPTH);

    /* Twice: the second pass runs on segments left over from the first. */
    for (int pass = 0; pass < 2; pass++) {
        uint64_t got = recurse(0, DEPTH);
        CHECK(got == want, "pass %d: checksum %#llx, expected %#llx", pass,
              (unsigned long long)got, (unsigned long long)want);
        /* ~100 MiB cannot fit in a few segments: demand thousands. */
        CHECK(max_pieces > 1000, "pass %d: only %d stack pieces at depth %d", pass,
              max_pieces, DEPTH);
        CHECK(deepest_limit != top_limit, "pass %d: stack limit never changed", pass);
        uintptr_t dist = (uintptr_t)&top > deepest_local ? (uintptr_t)&top - deepest_local
                                                         : deepest_local - (uintptr_t)&top;
        CHECK(dist > 256 * 1024, "pass %d: deepest frame only %lu bytes from main's", pass,
              (unsigned long)dist);
        /* Not necessarily equal to top_limit: libgcc recomputes the limit of
         * the initial stack from its recorded size when coming back to it. */
        CHECK(ss_limit_sane(ss_limit(), ss_sp()), "pass %d: limit %#lx after return, sp %#lx",
              pass, (unsigned long)ss_limit(), (unsigned long)ss_sp());
        printf("pass %d: depth %d ok, %d stack pieces at the bottom\n", pass, DEPTH, max_pieces);
    }
    CHECK(ss_count_pieces() < 10, "%d stack pieces still in use back at the top",
          ss_count_pieces());
    return 0;
}
