// 5 (continued). Forced unwinding of suspended continuations: the same
// as forced_unwind.cpp with boost::context::continuation (callcc), in its
// own translation unit (continuation.hpp and fiber.hpp cannot share one).
// Here every continuation also runs its recursion once to the end before
// it recurses a second time and is destroyed there.
#include <boost/context/continuation.hpp>

#include <vector>

#include "common.hpp"

namespace ctx = boost::context;

namespace {

uint64_t destructors = 0, damaged = 0, rethrown = 0, ran_past_suspend = 0, completed = 0;

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

__attribute__((noinline)) void suspend_here(ctx::continuation *c) { *c = c->resume(); }

// n levels with a Guard each, a catch (...) at every 5th; suspends at the
// bottom.  `past` counts returns from the suspension.
__attribute__((noinline)) void rec(uint64_t n, uint64_t seed, ctx::continuation *m, uint64_t *past) {
    Guard g(n, seed);
    if (n == 0) {
        suspend_here(m);
        (*past)++;
        return;
    }
    if (n % 5 == 1) {
        try {
            rec(n - 1, seed, m, past);
        } catch (...) {
            rethrown++;
            throw;
        }
        return;
    }
    rec(n - 1, seed, m, past);
}

constexpr uint64_t N = 60;
uint64_t depth1(uint64_t i) { return 30 + (i * 53) % 600; }
uint64_t depth2(uint64_t i) { return 10 + (i * 29) % 500; }
uint64_t catches(uint64_t n) { return n < 1 ? 0 : (n - 1) / 5 + 1; }

} // namespace

void continuation_part() {
    std::vector<ctx::continuation> cs;
    uint64_t back = 0;
    for (uint64_t i = 0; i < N; i++)
        // callcc runs each at once, to the bottom of its first recursion.
        cs.push_back(ctx::callcc(std::allocator_arg, ctx::segmented_stack(32 * 1024), [i, &back](ctx::continuation &&m) {
            rec(depth1(i), i, &m, &back); // resumed once: runs to its end
            completed++;
            rec(depth2(i), i + 7, &m, &ran_past_suspend); // destroyed here
            return std::move(m);
        }));
    uint64_t expect_destructors = 0, expect_rethrown = 0;
    for (uint64_t i = 0; i < N; i++) expect_destructors += depth1(i) + 1; // the normal returns
    CHECK(destructors == 0);
    for (uint64_t i = 0; i < N; i++) {
        cs[i] = cs[i].resume(); // first recursion returns normally; second suspends
        CHECK(cs[i]);
    }
    CHECK(completed == N && back == N && destructors == expect_destructors && rethrown == 0);
    for (uint64_t i = 0; i < N; i++) {
        expect_destructors += depth2(i) + 1;
        expect_rethrown += catches(depth2(i));
    }
    for (uint64_t k = 0; k < N; k++) cs[k * 37 % N] = ctx::continuation{}; // 37 is prime to 60
    std::printf("continuation: %llu completed a recursion, then were destroyed in a second: %llu destructors "
                "run (expected %llu), %llu catch (...) rethrows (expected %llu), %llu damaged, %llu ran past "
                "a suspension\n",
                (unsigned long long)completed, (unsigned long long)destructors,
                (unsigned long long)expect_destructors, (unsigned long long)rethrown,
                (unsigned long long)expect_rethrown, (unsigned long long)damaged,
                (unsigned long long)ran_past_suspend);
    CHECK(destructors == expect_destructors);
    CHECK(rethrown == expect_rethrown);
    CHECK(damaged == 0 && ran_past_suspend == 0);
}
