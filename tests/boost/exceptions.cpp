// 4. C++ exceptions thrown and caught across segments inside a fiber.
//
// In a boost::context::fiber, a recursion of 300 to 4,000 frames (over
// many segments) throws from its deepest frame; the exception unwinds
// through every segment boundary to a catch near the top of the fiber.
// Each frame holds an object whose destructor is counted, so the number
// of frames unwound is checked exactly.  Some rounds catch the exception
// half-way down, count it, and rethrow it (`throw;`) to the top; some
// throw a second exception from a catch block deep in the recursion.
// After each catch the fiber checks that the split-stack limit is the one
// its frame had before the throw, recurses again, suspends to the main
// context and is resumed (the limit checked again), so unwinding and
// switching alternate.
#include <boost/context/fiber.hpp>

#include <stdexcept>

#include "common.hpp"

namespace ctx = boost::context;

struct Deep {
    uint64_t depth, seed;
};

static uint64_t destroyed = 0, rethrows = 0;

struct Counted {
    ~Counted() { destroyed++; }
};

__attribute__((noinline, noreturn)) static void throw_deep(uint64_t depth, uint64_t seed) {
    throw Deep{depth, seed};
}

// Recurses n levels, then throws.  At level `rethrow_at` (if not ~0) it
// catches the exception, counts it and rethrows it; at level `replace_at`
// it catches it and throws a std::runtime_error instead.
__attribute__((noinline)) static uint64_t rec_throw(uint64_t n, uint64_t seed, uint64_t rethrow_at,
                                                   uint64_t replace_at) {
    Counted c;
    uint64_t w[FRAME_WORDS];
    fill_frame(w, n, seed);
    if (n == 0) throw_deep(n, seed);
    if (n == rethrow_at) {
        try {
            return fold_frame(w, rec_throw(n - 1, seed, rethrow_at, replace_at));
        } catch (Deep &) {
            rethrows++;
            throw;
        }
    }
    if (n == replace_at) {
        try {
            return fold_frame(w, rec_throw(n - 1, seed, rethrow_at, replace_at));
        } catch (Deep &d) {
            // The frame's data must have survived the unwinding below it.
            uint64_t fresh[FRAME_WORDS];
            fill_frame(fresh, n, seed);
            CHECK(fold_frame(w, 0) == fold_frame(fresh, 0));
            throw std::runtime_error(d.seed % 2 ? "odd" : "even");
        }
    }
    return fold_frame(w, rec_throw(n - 1, seed, rethrow_at, replace_at));
}

// A plain checked recursion.
__attribute__((noinline)) static uint64_t rec(uint64_t n, uint64_t seed) {
    uint64_t w[FRAME_WORDS];
    fill_frame(w, n, seed);
    return fold_frame(w, n == 0 ? 0 : rec(n - 1, seed));
}

static uint64_t limit_changed = 0;

// A switch to the main context and back: the limit must be this frame's
// again afterwards.
__attribute__((noinline)) static void suspend_here(ctx::fiber *f) {
    uintptr_t before = stack_limit();
    *f = std::move(*f).resume();
    if (stack_limit() != before) limit_changed++;
}

constexpr int ROUNDS = 120;

int main() {
    uint64_t caught_deep = 0, caught_runtime = 0, bad = 0, frames_unwound = 0;
    int rounds = 0;
    ctx::fiber f{std::allocator_arg, ctx::segmented_stack(64 * 1024), [&](ctx::fiber &&m) {
                     for (int r = 0; r < ROUNDS; r++) {
                         uint64_t depth = 300 + (r * 7919) % 3700; // 100 KiB - 1.3 MiB of frames
                         uint64_t rethrow_at = r % 3 == 1 ? depth / 2 : ~0ull;
                         uint64_t replace_at = r % 5 == 2 ? depth / 3 : ~0ull;
                         uint64_t before = destroyed;
                         uintptr_t limit = stack_limit();
                         try {
                             rec_throw(depth, r, rethrow_at, replace_at);
                             bad++;
                         } catch (Deep &d) {
                             if (replace_at != ~0ull || d.depth != 0 || d.seed != (uint64_t)r) bad++;
                             caught_deep++;
                         } catch (std::runtime_error &e) {
                             if (replace_at == ~0ull || std::strcmp(e.what(), r % 2 ? "odd" : "even") != 0) bad++;
                             caught_runtime++;
                         }
                         // The catching frame has its own limit back.
                         if (stack_limit() != limit) limit_changed++;
                         // Every frame of the recursion was unwound, and only those.
                         if (destroyed - before != depth + 1) bad++;
                         frames_unwound += destroyed - before;
                         // The stack works after the catch: a recursion as deep again.
                         if (rec(depth, r + 1000) != expected_checksum(depth, r + 1000)) bad++;
                         rounds++;
                         suspend_here(&m);
                     }
                     return std::move(m);
                 }};
    for (int r = 0; r < ROUNDS; r++) {
        f = std::move(f).resume();
        CHECK(f);
        CHECK(rounds == r + 1);
        CHECK(bad == 0);
    }
    f = std::move(f).resume();
    CHECK(!f);
    std::printf("%d rounds: %llu Deep caught at the top, %llu runtime_error thrown from a catch block, "
                "%llu rethrown half-way\n",
                rounds, (unsigned long long)caught_deep, (unsigned long long)caught_runtime,
                (unsigned long long)rethrows);
    std::printf("%llu frames unwound (destructors counted), %llu failed checks, %llu stale limits\n",
                (unsigned long long)frames_unwound, (unsigned long long)bad, (unsigned long long)limit_changed);
    CHECK(bad == 0 && limit_changed == 0);
    info_segments("at the end");
    std::printf("exceptions: ok\n");
    return 0;
}
