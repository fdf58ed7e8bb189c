// Shared helpers of the Boost.Context client programs (tests/boost).
// Everything a program prints on stdout must be the same with libgcc's
// runtime and with ours; what differs (memory, segment statistics) goes
// to stderr as "info:" lines, which run.sh keeps in the log only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// include/splitstack.h (run.sh puts include/ on the path) declares the
// __splitstack_* functions as Boost's headers do, so both can be included.
#include "splitstack.h"

// Weak: defined only when our runtime is linked in (libgcc has no such
// call), so the same program links with either runtime.
extern "C" size_t splitstack_get_stats(struct SplitstackStats *, size_t) __attribute__((weak));

// A failed check: say where on stdout (so the comparison shows it) and
// exit 1.  The report is out of line: gold gives every split-stack
// function that calls non-split code (printf, exit) a 1 MiB stack
// requirement, which would change how the recursions below use their
// segments.
__attribute__((noinline, cold, noreturn)) inline void check_failed(const char *file, int line,
                                                                  const char *what) {
    std::printf("CHECK FAILED %s:%d: %s\n", file, line, what);
    std::fflush(stdout);
    std::exit(1);
}
#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) check_failed(__FILE__, __LINE__, #cond);                       \
    } while (0)

// Resident set size in KiB (VmRSS of /proc/self/status), 0 if unknown.
inline long rss_kib() {
    std::FILE *f = std::fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    long kib = 0;
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::strtol(line + 6, nullptr, 10);
    std::fclose(f);
    return kib;
}

// Our runtime's segment counters, on stderr; nothing with libgcc's.
inline void info_segments(const char *when) {
    if (!splitstack_get_stats) {
        std::fprintf(stderr, "info: %s: libgcc runtime (no statistics)\n", when);
        return;
    }
    SplitstackStats s;
    splitstack_get_stats(&s, sizeof s);
    std::fprintf(stderr,
                 "info: %s: segments allocated %llu freed %llu live %llu cached %llu (%llu KiB counted resident), "
                 "longest chain %llu\n",
                 when, (unsigned long long)s.segments_allocated, (unsigned long long)s.segments_freed,
                 (unsigned long long)s.segments_live, (unsigned long long)s.segments_cached,
                 (unsigned long long)(s.bytes_cached_resident >> 10),
                 (unsigned long long)s.longest_chain);
}

// The split-stack limit of the running thread (the word at %fs:0x70
// that every prologue compares with; both runtimes keep it there).  A
// frame must find the same limit after a switch away and back, and after
// an exception it caught: anything else is a stale limit, which makes
// later frames either split needlessly or run past the end of their
// segment.
inline uintptr_t stack_limit() {
    uintptr_t v;
    asm volatile("movq %%fs:0x70, %0" : "=r"(v));
    return v;
}

// The stack data every recursion below writes into its frame and reads
// back after its deeper calls returned: a change anywhere in a frame's
// words (a segment freed or reused too early, a frame written over)
// changes the checksum.
constexpr int FRAME_WORDS = 32; // 256 bytes of payload per frame

inline uint64_t frame_word(uint64_t depth, uint64_t seed, int i) {
    uint64_t x = depth * 0x9E3779B97F4A7C15ull ^ seed ^ (uint64_t)i * 0xBF58476D1CE4E5B9ull;
    x ^= x >> 31;
    return x * 0x94D049BB133111EBull;
}

inline uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001B3ull + (h >> 29); }

// What fold_frame adds for the frame of `depth`.
inline uint64_t frame_sum(uint64_t depth, uint64_t seed) {
    uint64_t s = 0;
    for (int i = 0; i < FRAME_WORDS; i++) s += frame_word(depth, seed, i) * (uint64_t)(i + 1);
    return s;
}

// What a checked recursion to `depth` must return, computed in a loop.
inline uint64_t expected_checksum(uint64_t depth, uint64_t seed) {
    uint64_t h = 0;
    for (uint64_t d = 0; d <= depth; d++) h = mix(h, frame_sum(d, seed));
    return h;
}

// Fill a frame's payload and make the compiler keep it in memory.
inline void fill_frame(uint64_t *w, uint64_t depth, uint64_t seed) {
    for (int i = 0; i < FRAME_WORDS; i++) w[i] = frame_word(depth, seed, i);
    asm volatile("" : : "r"(w) : "memory");
}

// Fold a frame's payload (read back from memory) into the checksum of
// the deeper frames.
inline uint64_t fold_frame(const uint64_t *w, uint64_t deeper) {
    asm volatile("" : : "r"(w) : "memory");
    uint64_t s = 0;
    for (int i = 0; i < FRAME_WORDS; i++) s += w[i] * (uint64_t)(i + 1);
    return mix(deeper, s);
}
