// 2. 100,000 live fibers.
//
// All 100,000 boost::context::fiber objects are created first, then each
// is started and recurses (most a few frames, every 1000th some 2,000
// frames over several segments) and suspends at the bottom of its
// recursion, so that all of them are alive and suspended at once.  Then
// all are resumed, in a scrambled order, to completion: each finishes
// its recursion and its result is checked against the one computed in a
// loop.  Resident memory per fiber is logged on stderr (not compared)
// and must stay under 32 KiB per suspended fiber.
#include <boost/context/fiber.hpp>

#include <vector>

#include "common.hpp"

namespace ctx = boost::context;

constexpr uint64_t N = 100000;

static uint64_t depth_of(uint64_t i) { return i % 1000 == 7 ? 2000 : 4 + i % 8; }

__attribute__((noinline)) static void suspend_here(ctx::fiber *f) { *f = std::move(*f).resume(); }

__attribute__((noinline)) static uint64_t rec(uint64_t n, uint64_t seed, ctx::fiber *suspend) {
    uint64_t w[FRAME_WORDS];
    fill_frame(w, n, seed);
    uint64_t deeper;
    if (n == 0) {
        suspend_here(suspend);
        deeper = 0;
    } else {
        deeper = rec(n - 1, seed, suspend);
    }
    return fold_frame(w, deeper);
}

int main() {
    std::vector<uint64_t> result(N, 0);
    std::vector<ctx::fiber> fibers;
    fibers.reserve(N);
    uint64_t started = 0, finished = 0;

    long rss0 = rss_kib();
    for (uint64_t i = 0; i < N; i++)
        fibers.emplace_back(std::allocator_arg, ctx::segmented_stack(32 * 1024), [i, &result, &started, &finished](ctx::fiber &&m) {
            started++;
            result[i] = rec(depth_of(i), i, &m);
            finished++;
            return std::move(m);
        });
    long rss1 = rss_kib();
    std::printf("created %llu fibers\n", (unsigned long long)fibers.size());

    for (uint64_t i = 0; i < N; i++) {
        fibers[i] = std::move(fibers[i]).resume();
        CHECK(fibers[i]);
    }
    long rss2 = rss_kib();
    CHECK(started == N && finished == 0);
    std::printf("started %llu fibers, all suspended at the bottom of their recursions\n", (unsigned long long)started);
    info_segments("all suspended");
    std::fprintf(stderr, "info: RSS %ld KiB before, %ld KiB after creating (%.2f KiB per fiber), "
                 "%ld KiB with all suspended (%.2f KiB per fiber)\n",
                 rss0, rss1, (rss1 - rss0) / double(N), rss2, (rss2 - rss0) / double(N));
    // A loose bound, the same for both runtimes (each is near 17 KiB with
    // gold, 11 KiB with bfd): an idle fiber must not hold tens of KiB.
    CHECK(rss0 == 0 || (rss2 - rss0) < 32 * (long)N);

    // Resume to completion in a scrambled order (a permutation: 7919 is prime
    // and does not divide N).
    uint64_t sum = 0;
    for (uint64_t k = 0; k < N; k++) {
        uint64_t i = k * 7919 % N;
        CHECK(fibers[i]);
        fibers[i] = std::move(fibers[i]).resume();
        CHECK(!fibers[i]);
        CHECK(result[i] == expected_checksum(depth_of(i), i));
        sum += result[i];
    }
    CHECK(finished == N);
    std::printf("resumed %llu fibers to completion, every result checked, sum %016llx\n",
                (unsigned long long)finished, (unsigned long long)sum);
    fibers.clear();
    info_segments("all destroyed");
    std::fprintf(stderr, "info: RSS %ld KiB after destroying them\n", rss_kib());
    std::printf("many_fibers: ok\n");
    return 0;
}
