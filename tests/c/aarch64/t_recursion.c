/*
 * Recursion across thousands of segments: ss_rec's 40000-byte frames do
 * not fit twice in a default segment, so 2000 levels take well over a
 * thousand segments.  At the bottom: the chain is as deep as expected,
 * the limit lies inside the current segment, and __splitstack_find walks
 * every piece (one per segment plus the original stack, whose piece
 * holds main's locals).  Every level checks its own frame on the way
 * back; the limit and segment are restored at the end.  Twice: the
 * second time on the segments the first one left.
 */
#include "common.h"

#define LEVELS 2000

struct leaf_info {
    unsigned chain;
    unsigned pieces;
    int main_local_found;
    uintptr_t main_local;
};

static void leaf(void *p)
{
    struct leaf_info *li = p;
    li->chain = a64_chain_depth();
    StackSegment *s = __morestack_current_segment;
    uintptr_t guard = a64_guard();
    if (!s || guard < a64_seg_low(s) || guard >= a64_seg_top(s))
        a64_note_fail("limit outside the current segment", guard, (uintptr_t)s);
    size_t len;
    void *next_seg, *next_sp, *isp;
    void *piece = __splitstack_find(NULL, NULL, &len, &next_seg, &next_sp, &isp);
    unsigned n = 0;
    while (piece) {
        n++;
        uintptr_t lo = (uintptr_t)piece;
        if (li->main_local >= lo && li->main_local < lo + len)
            li->main_local_found = 1;
        if (n > LEVELS * 2 + 10) {
            a64_note_fail("__splitstack_find does not end", n, 0);
            break;
        }
        piece = __splitstack_find(next_seg, next_sp, &len, &next_seg, &next_sp, &isp);
    }
    li->pieces = n;
}

int main(void)
{
    volatile uint64_t main_local = 42;
    uintptr_t guard0 = a64_guard();
    for (int round = 0; round < 2; round++) {
        struct leaf_info li = {0, 0, 0, (uintptr_t)&main_local};
        uint64_t r = ss_rec(LEVELS, 7, leaf, &li);
        a64_report_noted();
        uint64_t want = 7 + 3ull * LEVELS * (LEVELS + 1) / 2;
        CHECK(r == want, "round %d: ss_rec returned %llu, want %llu (0xbad: a frame changed)", round,
              (unsigned long long)r, (unsigned long long)want);
        CHECK(li.chain >= LEVELS / 2, "round %d: only %u segments for %d levels", round, li.chain, LEVELS);
        CHECK(li.pieces == li.chain + 1, "round %d: __splitstack_find gave %u pieces for %u segments", round,
              li.pieces, li.chain);
        CHECK(li.main_local_found, "round %d: main's locals are in no piece", round);
        CHECK(a64_guard() == guard0, "round %d: limit 0x%llx, was 0x%llx", round,
              (unsigned long long)a64_guard(), (unsigned long long)guard0);
        CHECK(__morestack_current_segment == NULL, "round %d: not back on the original stack", round);
        printf("round %d: %d levels on %u segments, %u pieces found\n", round, LEVELS, li.chain, li.pieces);
    }
    (void)main_local;
    return 0;
}
