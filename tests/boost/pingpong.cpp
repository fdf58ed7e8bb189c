// 3. Ping-pong switching, from many stack depths on both sides.
//
// A generator fiber walks a recursion 2,000 frames deep and back up
// (about 600 KiB of frames, over a dozen segments), handing one value of
// a fixed sequence to the main context at every level on the way down
// and on the way up; the main context receives them from inside its own
// walk of 1,500 frames, so the two sides switch from every combination
// of depths and segments.  Each value is checked against the sequence
// and every frame's data on both sides is checked on the way back up,
// and each side checks that a switch away and back leaves its limit as it
// was.
// 200,000 round trips with boost::context::fiber, then 200,000 with
// boost::context::continuation (pingpong_cont.cpp).
#include <boost/context/fiber.hpp>

#include "common.hpp"

namespace ctx = boost::context;

void continuation_part(); // pingpong_cont.cpp

constexpr uint64_t ROUND_TRIPS = 200000;

inline uint64_t value_at(uint64_t i) { return frame_word(i, 0x5eed, 3); }

static uint64_t produced = 0; // values handed over so far
static uint64_t slot = 0;     // the value in transit
static uint64_t received = 0, mismatches = 0, stale_limits = 0, gen_checksum = 0, main_checksum = 0;

__attribute__((noinline)) static void yield_value(ctx::fiber *to) {
    slot = value_at(produced++);
    uintptr_t limit = stack_limit();
    *to = std::move(*to).resume();
    if (stack_limit() != limit) stale_limits++;
}

// The generator's walk: a value at every level, down and up.
__attribute__((noinline)) static uint64_t gen_walk(uint64_t n, ctx::fiber *to) {
    uint64_t w[FRAME_WORDS];
    fill_frame(w, n, 11);
    if (produced < ROUND_TRIPS) yield_value(to);
    uint64_t deeper = n == 0 ? 0 : gen_walk(n - 1, to);
    if (produced < ROUND_TRIPS) yield_value(to);
    return fold_frame(w, deeper);
}

__attribute__((noinline)) static void take_value(ctx::fiber *gen) {
    uintptr_t limit = stack_limit();
    *gen = std::move(*gen).resume();
    if (stack_limit() != limit) stale_limits++;
    if (!*gen) return;
    if (slot != value_at(received)) mismatches++;
    received++;
}

// The main side's walk: takes a value at every level, down and up.
__attribute__((noinline)) static uint64_t main_walk(uint64_t n, ctx::fiber *gen) {
    uint64_t w[FRAME_WORDS];
    fill_frame(w, n, 22);
    take_value(gen);
    uint64_t deeper = n == 0 || !*gen ? 0 : main_walk(n - 1, gen);
    if (*gen) take_value(gen);
    return fold_frame(w, deeper);
}

int main() {
    uint64_t walks = 0;
    ctx::fiber gen{std::allocator_arg, ctx::segmented_stack(64 * 1024), [&](ctx::fiber &&m) {
                       while (produced < ROUND_TRIPS) {
                           uint64_t h = gen_walk(2000, &m);
                           // A walk cut short by the end of the sequence folds fewer
                           // levels; only whole walks are compared.
                           if (produced < ROUND_TRIPS) {
                               CHECK(h == expected_checksum(2000, 11));
                               walks++;
                           }
                           gen_checksum = mix(gen_checksum, h);
                       }
                       return std::move(m);
                   }};
    uint64_t main_walks = 0;
    while (gen) {
        uint64_t h = main_walk(1500, &gen);
        if (gen) {
            CHECK(h == expected_checksum(1500, 22));
            main_walks++;
        }
        main_checksum = mix(main_checksum, h);
    }
    CHECK(received == ROUND_TRIPS && produced == ROUND_TRIPS);
    CHECK(mismatches == 0 && stale_limits == 0);
    std::printf("fiber: %llu round trips, %llu mismatches, %llu stale limits; generator made %llu whole walks of 2001 levels, "
                "main context %llu of 1501\n",
                (unsigned long long)received, (unsigned long long)mismatches, (unsigned long long)stale_limits,
                (unsigned long long)walks,
                (unsigned long long)main_walks);
    std::printf("fiber: checksums %016llx %016llx\n", (unsigned long long)gen_checksum,
                (unsigned long long)main_checksum);
    info_segments("after the fiber");
    continuation_part();
    std::printf("pingpong: ok\n");
    return 0;
}
