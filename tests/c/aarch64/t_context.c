/*
 * The context API the way gccgo and Boost use it, with ucontext
 * coroutines: makecontext gives a coroutine its first segment (and
 * find_context reports nothing for it before it runs), the coroutine
 * switches in with setcontext, recurses through 60 segments and yields
 * from the bottom (getcontext/setcontext around swapcontext); main is
 * back on its own stack with its own limit, walks the suspended
 * coroutine's stack with find_context/find (every segment, the yielding
 * frame's locals among the pieces), changes its block-signals flag,
 * resumes it to the end; resetcontext hands the same first segment to a
 * second coroutine; releasecontext gives every segment back, once.
 */
#include "common.h"
#include <ucontext.h>

#define DEPTH 60

static ucontext_t main_uc, co_uc;
static SplitstackContext main_ctx, co_ctx;
static volatile uintptr_t marker_addr;
static volatile int finished;
static volatile uint64_t co_result;

static void yield_to_main(void)
{
    __splitstack_getcontext(splitstack_context_words(&co_ctx));
    __splitstack_setcontext(splitstack_context_words(&main_ctx));
    swapcontext(&co_uc, &main_uc);
    __splitstack_setcontext(splitstack_context_words(&co_ctx));
}

static void co_leaf(void *p)
{
    (void)p;
    volatile uint64_t marker = 0xfeedfacecafef00dull;
    marker_addr = (uintptr_t)&marker;
    yield_to_main();
    if (marker != 0xfeedfacecafef00dull)
        a64_note_fail("coroutine local changed while suspended", marker, 0);
}

static void co_entry(void)
{
    __splitstack_setcontext(splitstack_context_words(&co_ctx));
    co_result = ss_rec(DEPTH, 5, co_leaf, NULL);
    finished = 1;
    yield_to_main();
    a64_note_fail("finished coroutine resumed", 0, 0);
}

static void start_coroutine(void *low, size_t size)
{
    CHECK(getcontext(&co_uc) == 0, "getcontext");
    co_uc.uc_stack.ss_sp = low;
    co_uc.uc_stack.ss_size = size;
    co_uc.uc_link = NULL;
    makecontext(&co_uc, co_entry, 0);
}

static void switch_to_coroutine(uintptr_t guard0)
{
    __splitstack_getcontext(splitstack_context_words(&main_ctx));
    CHECK(swapcontext(&main_uc, &co_uc) == 0, "swapcontext");
    __splitstack_setcontext(splitstack_context_words(&main_ctx));
    a64_report_noted();
    CHECK(a64_guard() == guard0, "main's limit 0x%llx after the switch back, was 0x%llx",
          (unsigned long long)a64_guard(), (unsigned long long)guard0);
    CHECK(__morestack_current_segment == NULL, "main not on its original stack after the switch back");
}

static uint64_t freed_segments(void)
{
    SplitstackStats st;
    memset(&st, 0, sizeof st);
    splitstack_get_stats(&st, sizeof st);
    return st.segments_freed;
}

int main(void)
{
    uintptr_t guard0 = a64_guard();
    size_t size = 0, len;
    void *next_seg, *next_sp, *isp;

    void *low = __splitstack_makecontext(64 * 1024, splitstack_context_words(&co_ctx), &size);
    CHECK(low != NULL && size >= 64 * 1024, "makecontext: %p, %zu bytes", low, size);
    CHECK(__splitstack_find_context(splitstack_context_words(&co_ctx), &len, &next_seg, &next_sp, &isp) == NULL,
          "find_context found pieces of a context never run");
    int old = -1, one = 1;
    __splitstack_block_signals_context(splitstack_context_words(&co_ctx), NULL, &old);
    CHECK(old == 0, "a made context blocks signals (%d)", old);

    /* Run to the bottom; it yields from DEPTH segments down. */
    start_coroutine(low, size);
    switch_to_coroutine(guard0);
    CHECK(!finished && marker_addr != 0, "the coroutine did not yield from the bottom");

    /* Walk the suspended coroutine. */
    unsigned pieces = 0, marker_found = 0, in_first = 0;
    void *piece = __splitstack_find_context(splitstack_context_words(&co_ctx), &len, &next_seg, &next_sp, &isp);
    while (piece) {
        uintptr_t lo = (uintptr_t)piece;
        CHECK(len > 0 && len < (64u << 20), "piece %u: %zu bytes", pieces, len);
        if (marker_addr >= lo && marker_addr < lo + len)
            marker_found++;
        if (lo >= (uintptr_t)low && lo < (uintptr_t)low + size)
            in_first++;
        pieces++;
        CHECK(pieces <= 4 * DEPTH, "find does not end");
        piece = __splitstack_find(next_seg, next_sp, &len, &next_seg, &next_sp, &isp);
    }
    CHECK(pieces >= DEPTH / 2 + 1, "%u pieces for a coroutine %d segments deep", pieces, DEPTH);
    CHECK(marker_found == 1, "the yielding frame's local is in %u pieces", marker_found);
    CHECK(in_first == 1, "the made segment is in %u pieces", in_first);

    __splitstack_block_signals_context(splitstack_context_words(&co_ctx), &one, &old);
    CHECK(old == 0 && co_ctx.dont_block_signals == 0, "block_signals_context");
    int zero = 0;
    __splitstack_block_signals_context(splitstack_context_words(&co_ctx), &zero, NULL);

    /* Resume to the end. */
    switch_to_coroutine(guard0);
    CHECK(finished, "the coroutine did not finish");
    CHECK(co_result == 5 + 3ull * DEPTH * (DEPTH + 1) / 2, "coroutine result %llu",
          (unsigned long long)co_result);

    /* Reset: the same first segment for a second coroutine. */
    size_t size2 = 0;
    void *low2 = __splitstack_resetcontext(splitstack_context_words(&co_ctx), &size2);
    CHECK(low2 == low && size2 == size, "resetcontext: %p/%zu, made %p/%zu", low2, size2, low, size);
    CHECK(__splitstack_find_context(splitstack_context_words(&co_ctx), &len, &next_seg, &next_sp, &isp) == NULL,
          "find_context found pieces of a reset context");
    finished = 0;
    marker_addr = 0;
    start_coroutine(low2, size2);
    switch_to_coroutine(guard0);
    switch_to_coroutine(guard0);
    CHECK(finished && co_result == 5 + 3ull * DEPTH * (DEPTH + 1) / 2, "second coroutine");

    /* Release: every segment of the context, once. */
    uint64_t f0 = freed_segments();
    __splitstack_releasecontext(splitstack_context_words(&co_ctx));
    uint64_t f1 = freed_segments();
    CHECK(f1 - f0 >= 2, "releasecontext freed %llu segments", (unsigned long long)(f1 - f0));
    __splitstack_releasecontext(splitstack_context_words(&co_ctx)); /* reported, ignored */
    CHECK(freed_segments() == f1, "a second releasecontext freed segments");

    CHECK(ss_rec(100, 0, NULL, NULL) == 3ull * 100 * 101 / 2, "main still splits");
    printf("coroutine %d segments deep: %u pieces walked; reset, resumed, released (%llu segments)\n", DEPTH,
           pieces, (unsigned long long)(f1 - f0));
    return 0;
}
