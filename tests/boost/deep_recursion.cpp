// 1. Deep recursion in a fiber and in a continuation.
//
// A recursion of about 30 MiB of frames (each keeps 256 bytes of data
// that it reads back after its deeper calls return; every 4096th level
// also makes a 96 KiB frame, larger than a default segment) runs in a
// boost::context::fiber on a segmented_stack.  At its deepest point it
// suspends; the main context then runs a recursion of its own (on the
// main thread's segments) and resumes the fiber, which returns through
// all its segments.  Three rounds of different depths run in the same
// fiber (segments reused, the chain grown and shrunk), then the same in a
// continuation (deep_recursion_cont.cpp).  Every checksum is compared
// with the one computed in a loop.
#include <boost/context/fiber.hpp>

#include "common.hpp"

namespace ctx = boost::context;

void continuation_part(); // deep_recursion_cont.cpp

static uint64_t big_frames = 0;

__attribute__((noinline)) static uint64_t big_frame(uint64_t depth, uint64_t seed) {
    volatile uint64_t big[12288]; // 96 KiB
    big[0] = depth ^ seed;
    big[12287] = depth + seed;
    big_frames++;
    return big[0] ^ big[12287];
}

// The suspension is out of line: the switch calls non-split code
// (swapcontext), and gold would give the recursion a 1 MiB requirement
// per frame if it made that call itself.
__attribute__((noinline)) static void suspend_here(ctx::fiber *f) { *f = std::move(*f).resume(); }

// The recursion; at depth 0 it suspends, if asked to.
__attribute__((noinline)) static uint64_t rec(uint64_t n, uint64_t seed, ctx::fiber *suspend) {
    uint64_t w[FRAME_WORDS];
    fill_frame(w, n, seed);
    uint64_t deeper;
    if (n == 0) {
        if (suspend) suspend_here(suspend);
        deeper = 0;
    } else {
        deeper = rec(n - 1, seed, suspend);
    }
    if (n % 4096 == 2048) CHECK(big_frame(n, seed) == ((n ^ seed) ^ (n + seed)));
    return fold_frame(w, deeper);
}

int main() {
    const uint64_t depths[] = {100000, 60000, 120000};
    uint64_t results[3] = {0, 0, 0};
    int rounds_done = 0;

    ctx::fiber f{std::allocator_arg, ctx::segmented_stack(64 * 1024), [&](ctx::fiber &&m) {
                     for (int r = 0; r < 3; r++) {
                         results[r] = rec(depths[r], 1000 + r, &m);
                         rounds_done++;
                     }
                     return std::move(m);
                 }};
    f = std::move(f).resume(); // to the bottom of round 0
    for (int r = 0; r < 3; r++) {
        CHECK(f);
        CHECK(rounds_done == r);
        // The main context recurses while the fiber sits deep in its segments.
        uint64_t n = 30000 + 10000 * r;
        CHECK(rec(n, 77 + r, nullptr) == expected_checksum(n, 77 + r));
        std::printf("fiber round %d: suspended at depth %llu; main context recursed %llu frames\n", r,
                    (unsigned long long)depths[r], (unsigned long long)n);
        f = std::move(f).resume(); // round r returns; round r+1 runs to its bottom
        CHECK(rounds_done == r + 1);
        CHECK(results[r] == expected_checksum(depths[r], 1000 + r));
        std::printf("fiber round %d: checksum %016llx ok\n", r, (unsigned long long)results[r]);
    }
    CHECK(!f);
    std::printf("fiber: 3 rounds, %llu big frames\n", (unsigned long long)big_frames);
    info_segments("after the fiber");
    continuation_part();
    info_segments("at exit");
    std::printf("deep_recursion: ok\n");
    return 0;
}
