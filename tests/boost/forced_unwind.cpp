// 5. Forced unwinding of suspended fibers, with destructors counted.
//
// 150 boost::context::fiber objects each recurse (50 to 750 frames,
// over segments) with an RAII object in every frame, and suspend at the
// bottom; a third of them are resumed once and recurse further (a second
// recursion below the first) before suspending again.  Every 7th level
// has a catch (...) block that counts and rethrows.  The main context then
// destroys the suspended fibers in a scrambled order: Boost resumes each
// with its forced_unwind exception, which unwinds the fiber's whole stack
// through its segments.  Every destructor checks the data its object
// kept on the stack; the number of destructor runs and of catch-rethrows
// must be exact, and no code after a suspension point may run.  The same
// with continuations follows (forced_unwind_cont.cpp).
#include <boost/context/fiber.hpp>

#include <vector>

#include "common.hpp"

namespace ctx = boost::context;

void continuation_part(); // forced_unwind_cont.cpp

static uint64_t destructors = 0, damaged = 0, rethrown = 0, ran_past_suspend = 0;

// A frame's RAII object: its payload lives on the fiber's stack until
// the destructor checks it.
struct Guard {
    uint64_t depth, seed;
    uint64_t w[FRAME_WORDS];
    Guard(uint64_t d, uint64_t s) : depth(d), seed(s) { fill_frame(w, d, s); }
    ~Guard() {
        uint64_t fresh[FRAME_WORDS];
        fill_frame(fresh, depth, seed);
        if (fold_frame(w, 0) != fold_frame(fresh, 0)) damaged++;
        destructors++;
    }
};

__attribute__((noinline)) static void suspend_here(ctx::fiber *f) {
    *f = std::move(*f).resume();
}

// n levels, each with a Guard; at the bottom it suspends and, once
// resumed, calls `then` (a second recursion) if given.
__attribute__((noinline)) static void rec(uint64_t n, uint64_t seed, ctx::fiber *m, uint64_t then) {
    Guard g(n, seed);
    if (n == 0) {
        suspend_here(m);
        if (then) rec(then, seed + 1, m, 0);
        ran_past_suspend++; // only fibers that are never destroyed here get this far
        return;
    }
    if (n % 7 == 3) {
        try {
            rec(n - 1, seed, m, then);
        } catch (...) {
            rethrown++;
            throw;
        }
        return;
    }
    rec(n - 1, seed, m, then);
}

constexpr uint64_t N = 150;
static uint64_t depth1(uint64_t i) { return 50 + (i * 37) % 700; }
static uint64_t depth2(uint64_t i) { return i % 3 == 0 ? 20 + (i * 11) % 400 : 0; }

// Catch blocks (n % 7 == 3) in levels 1..n of a recursion of depth n.
static uint64_t catches(uint64_t n) { return n < 3 ? 0 : (n - 3) / 7 + 1; }

int main() {
    std::vector<ctx::fiber> fibers;
    for (uint64_t i = 0; i < N; i++)
        fibers.emplace_back(std::allocator_arg, ctx::segmented_stack(32 * 1024), [i](ctx::fiber &&m) {
            rec(depth1(i), i, &m, depth2(i));
            return std::move(m);
        });
    uint64_t expect_destructors = 0, expect_rethrown = 0;
    for (uint64_t i = 0; i < N; i++) {
        fibers[i] = std::move(fibers[i]).resume();
        CHECK(fibers[i]);
        expect_destructors += depth1(i) + 1;
        expect_rethrown += catches(depth1(i));
        if (depth2(i)) {
            fibers[i] = std::move(fibers[i]).resume(); // into the second recursion
            CHECK(fibers[i]);
            expect_destructors += depth2(i) + 1;
            expect_rethrown += catches(depth2(i));
        }
    }
    CHECK(destructors == 0 && rethrown == 0 && ran_past_suspend == 0);
    std::printf("fiber: %llu fibers suspended, %llu of them twice\n", (unsigned long long)N,
                (unsigned long long)(N / 3));
    // Destroy them in a scrambled order (a permutation: 101 is prime to 150).
    for (uint64_t k = 0; k < N; k++) {
        uint64_t i = k * 101 % N;
        CHECK(fibers[i]);
        fibers[i] = ctx::fiber{};
    }
    std::printf("fiber: destroyed all: %llu destructors run (expected %llu), %llu catch (...) rethrows "
                "(expected %llu), %llu damaged, %llu ran past a suspension\n",
                (unsigned long long)destructors, (unsigned long long)expect_destructors,
                (unsigned long long)rethrown, (unsigned long long)expect_rethrown, (unsigned long long)damaged,
                (unsigned long long)ran_past_suspend);
    CHECK(destructors == expect_destructors);
    CHECK(rethrown == expect_rethrown);
    CHECK(damaged == 0 && ran_past_suspend == 0);
    info_segments("after destroying the fibers");
    continuation_part();
    info_segments("at exit");
    std::printf("forced_unwind: ok\n");
    return 0;
}
