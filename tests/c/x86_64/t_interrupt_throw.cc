// An interrupt handler that throws: the exception leaves the handler,
// __morestack's landing pads and every segment the interrupted code had
// grown, and is caught by the interrupted code; after the catch the limit
// is exactly what it was, the handler is no longer "running" (the next
// request is delivered), and no segment is left behind.
// REQUIRES: ours
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "../../../include/splitstack.h"

extern "C" void *__morestack_get_guard(void);

#define CHECK(c, ...)                                                                  \
    do {                                                                               \
        if (!(c)) {                                                                    \
            std::fprintf(stderr, "FAIL: %s:%d: check `%s` failed: ", __FILE__, __LINE__, #c); \
            std::fprintf(stderr, __VA_ARGS__);                                         \
            std::fputc('\n', stderr);                                                  \
            std::exit(1);                                                              \
        }                                                                              \
    } while (0)

struct Interrupted {
    uint64_t bits;
};

static int calls;
static bool throwing = true;
static SplitstackThread *self;

static void handler(uint64_t bits, void *)
{
    calls++;
    if (throwing)
        throw Interrupted{bits};
}

static int identity(int x)
{
    return x;
}
/* Called through a pointer the compiler cannot see through: leaf may
 * throw as far as the compiler knows.  (clang infers `nounwind` for a
 * function whose own code cannot throw, and an exception from the
 * handler at such a function's entry ends in std::terminate; see
 * README, "Interrupts".) */
static int (*volatile opaque)(int) = identity;

__attribute__((noinline)) static int leaf(int x)
{
    asm volatile("" : : "r"(&x) : "memory");
    return opaque(x) + 1;
}

/* Recursion of 1 KiB frames: many segments; the request is made at
 * depth `at`, so the handler throws from the next entry (leaf or the
 * next level), deep in the chain. */
__attribute__((noinline)) static int deep(int d, int at)
{
    volatile char buf[1024];
    buf[0] = (char)d;
    if (d == at)
        splitstack_interrupt(self, 1u << (d % 32));
    int r = d ? deep(d - 1, at) : leaf(d);
    return r + buf[0];
}

static uint64_t live_segments(void)
{
    SplitstackStats s;
    splitstack_get_stats(&s, sizeof s);
    return s.segments_allocated - s.segments_freed;
}

int main()
{
    CHECK(splitstack_set_interrupt_handler(handler, nullptr) == SplitstackOk, "set handler");
    self = splitstack_thread_self();
    void *guard = __morestack_get_guard();

    // Shallow: the next entry is leaf().
    try {
        splitstack_interrupt(self, 2);
        leaf(1);
        CHECK(false, "leaf returned: the handler did not throw");
    } catch (const Interrupted &e) {
        CHECK(e.bits == 2, "bits %llx", (unsigned long long)e.bits);
    }
    CHECK(__morestack_get_guard() == guard, "limit %p after the catch, %p before", __morestack_get_guard(), guard);

    // Deep: thrown across ~300 KiB of segments, many times.
    deep(300, -1); /* warm up the segments */
    uint64_t live = live_segments();
    for (int i = 0; i < 200; i++) {
        try {
            deep(300, 150 + i % 100);
            CHECK(false, "deep returned: the handler did not throw");
        } catch (const Interrupted &e) {
            CHECK(e.bits != 0, "no bits");
        }
        CHECK(__morestack_get_guard() == guard, "round %d: limit %p after the catch, %p before", i,
              __morestack_get_guard(), guard);
    }
    CHECK(calls == 201, "%d handler calls", calls);
    CHECK(live_segments() <= live + 2, "segments live: %llu, before %llu", (unsigned long long)live_segments(),
          (unsigned long long)live);

    // The handler is not left "running": the next request is delivered.
    throwing = false;
    splitstack_interrupt(self, 4);
    leaf(2);
    CHECK(calls == 202, "after the throws a request was not delivered (%d calls)", calls);
    splitstack_thread_release(self);
    std::printf("throwing handler: 201 throws caught, limit exact, %llu segments live\n",
                (unsigned long long)live_segments());
    return 0;
}
