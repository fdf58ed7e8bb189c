// 1 (continued). The same deep recursion in a boost::context::continuation
// (callcc); its own translation unit, as continuation.hpp and fiber.hpp
// cannot share one.
#include <boost/context/continuation.hpp>

#include "common.hpp"

namespace ctx = boost::context;

// Out of line: the switch calls non-split code (swapcontext), and gold
// would give the recursion itself a 1 MiB requirement per frame if it
// made that call directly.
__attribute__((noinline)) static void suspend_here(ctx::continuation *f) { *f = f->resume(); }

__attribute__((noinline)) static uint64_t rec(uint64_t n, uint64_t seed, ctx::continuation *suspend) {
    uint64_t w[FRAME_WORDS];
    fill_frame(w, n, seed);
    uint64_t deeper;
    if (n == 0) {
        if (suspend) suspend_here(suspend);
        deeper = 0;
    } else {
        deeper = rec(n - 1, seed, suspend);
    }
    return fold_frame(w, deeper);
}

void continuation_part() {
    const uint64_t depths[] = {80000, 110000};
    uint64_t results[2] = {0, 0};
    int rounds_done = 0;
    // callcc runs the function at once, up to its first resume.
    ctx::continuation c = ctx::callcc(std::allocator_arg, ctx::segmented_stack(32 * 1024),
                                      [&](ctx::continuation &&m) {
                                          for (int r = 0; r < 2; r++) {
                                              results[r] = rec(depths[r], 2000 + r, &m);
                                              rounds_done++;
                                          }
                                          return std::move(m);
                                      });
    for (int r = 0; r < 2; r++) {
        CHECK(c);
        CHECK(rounds_done == r);
        uint64_t n = 25000;
        CHECK(rec(n, 99 + r, nullptr) == expected_checksum(n, 99 + r));
        std::printf("continuation round %d: suspended at depth %llu; main context recursed %llu frames\n", r,
                    (unsigned long long)depths[r], (unsigned long long)n);
        c = c.resume();
        CHECK(rounds_done == r + 1);
        CHECK(results[r] == expected_checksum(depths[r], 2000 + r));
        std::printf("continuation round %d: checksum %016llx ok\n", r, (unsigned long long)results[r]);
    }
    CHECK(!c);
}
