// 3 (continued). The same ping-pong with boost::context::continuation
// (callcc), in its own translation unit (continuation.hpp and fiber.hpp
// cannot share one).
#include <boost/context/continuation.hpp>

#include "common.hpp"

namespace ctx = boost::context;

namespace {

constexpr uint64_t ROUND_TRIPS = 200000;

inline uint64_t value_at(uint64_t i) { return frame_word(i, 0xc0de, 5); }

uint64_t produced = 0, slot = 0, received = 0, mismatches = 0, stale_limits = 0, gen_checksum = 0, main_checksum = 0;

__attribute__((noinline)) void yield_value(ctx::continuation *to) {
    slot = value_at(produced++);
    uintptr_t limit = stack_limit();
    *to = to->resume();
    if (stack_limit() != limit) stale_limits++;
}

__attribute__((noinline)) uint64_t gen_walk(uint64_t n, ctx::continuation *to) {
    uint64_t w[FRAME_WORDS];
    fill_frame(w, n, 33);
    if (produced < ROUND_TRIPS) yield_value(to);
    uint64_t deeper = n == 0 ? 0 : gen_walk(n - 1, to);
    if (produced < ROUND_TRIPS) yield_value(to);
    return fold_frame(w, deeper);
}

__attribute__((noinline)) void take_value(ctx::continuation *gen) {
    uintptr_t limit = stack_limit();
    *gen = gen->resume();
    if (stack_limit() != limit) stale_limits++;
    if (!*gen) return;
    if (slot != value_at(received)) mismatches++;
    received++;
}

__attribute__((noinline)) uint64_t main_walk(uint64_t n, ctx::continuation *gen) {
    uint64_t w[FRAME_WORDS];
    fill_frame(w, n, 44);
    take_value(gen);
    uint64_t deeper = n == 0 || !*gen ? 0 : main_walk(n - 1, gen);
    if (*gen) take_value(gen);
    return fold_frame(w, deeper);
}

} // namespace

void continuation_part() {
    uint64_t walks = 0, main_walks = 0;
    // callcc runs the generator at once, up to its first value: that value
    // is taken here, before the main side's walks.
    ctx::continuation gen = ctx::callcc(std::allocator_arg, ctx::segmented_stack(64 * 1024),
                                        [&](ctx::continuation &&m) {
                                            while (produced < ROUND_TRIPS) {
                                                uint64_t h = gen_walk(1700, &m);
                                                if (produced < ROUND_TRIPS) {
                                                    CHECK(h == expected_checksum(1700, 33));
                                                    walks++;
                                                }
                                                gen_checksum = mix(gen_checksum, h);
                                            }
                                            return std::move(m);
                                        });
    CHECK(gen && slot == value_at(0));
    received = 1;
    while (gen) {
        uint64_t h = main_walk(1200, &gen);
        if (gen) {
            CHECK(h == expected_checksum(1200, 44));
            main_walks++;
        }
        main_checksum = mix(main_checksum, h);
    }
    CHECK(received == ROUND_TRIPS && produced == ROUND_TRIPS);
    CHECK(mismatches == 0 && stale_limits == 0);
    std::printf("continuation: %llu round trips, %llu mismatches, %llu stale limits; generator made %llu whole walks of 1701 "
                "levels, main context %llu of 1201\n",
                (unsigned long long)received, (unsigned long long)mismatches, (unsigned long long)stale_limits,
                (unsigned long long)walks,
                (unsigned long long)main_walks);
    std::printf("continuation: checksums %016llx %016llx\n", (unsigned long long)gen_checksum,
                (unsigned long long)main_checksum);
}
