/*
 * Frames of many sizes (32 bytes to 4 MiB, around 4, 16 and 64 KiB page
 * boundaries) behind the hand-written prologue:
 *  - forced: the limit set to all ones, so every call splits; the frame
 *    must lie above the new limit, inside its segment, with the slack
 *    below the limit inside the segment too; every byte of it writable;
 *    the eight register and two stack arguments (read through x11) must
 *    arrive; the old limit and segment must be restored exactly;
 *  - natural: at every 512-byte depth across several segment boundaries;
 *  - the non-split entry: in place when 1 MiB is left (limit 0), else a
 *    segment of at least frame + 1 MiB.
 */
#include "common.h"

static size_t slack;
static int fill;
static uint64_t last_lo;
static StackSegment *last_seg;
static size_t last_seg_size;
static uint64_t hook_calls;

/* Called by every frame fixture from its body, on whatever stack it got. */
uint64_t a64_frame_hook(uint64_t lo, uint64_t n, uint64_t sum)
{
    uintptr_t guard = a64_guard();
    StackSegment *s = __morestack_current_segment;
    hook_calls++;
    last_lo = lo;
    last_seg = s;
    last_seg_size = s ? s->size : 0;
    if (lo & 15)
        a64_note_fail("frame not 16-byte aligned", lo, n);
    if (lo < guard)
        a64_note_fail("frame below the limit", lo, guard);
    if (*(volatile uint64_t *)lo != sum || *(volatile uint64_t *)(lo + n - 24) != sum)
        a64_note_fail("frame words changed", lo, n);
    if (s) {
        if (guard < a64_seg_low(s) + slack)
            a64_note_fail("less than the slack below the limit", guard, a64_seg_low(s));
        if (lo < a64_seg_low(s) || lo + n > a64_seg_top(s))
            a64_note_fail("frame outside its segment", lo, (uintptr_t)s);
        if (fill && n > 32) {
            StackSegment *prev = s->prev;
            size_t size = s->size;
            memset((void *)(lo + 8), 0xcd, n - 32);
            if (s->prev != prev || s->size != size)
                a64_note_fail("filling the frame overwrote the segment header", (uintptr_t)s, n);
        }
    }
    return sum;
}

static void args_for(uint64_t frame, uint64_t a[10])
{
    for (int i = 0; i < 10; i++)
        a[i] = frame * 0x9e3779b97f4a7c15ull + (uint64_t)i * 0x1000193 + 7;
}

/* Calls entry e of the table (the split entry or the non-split one) with
 * the limit set to `limit`; checks the result and the restored state. */
static void call_with_limit(const struct a64_frame_fn *e, int nonsplit, uintptr_t limit)
{
    uint64_t a[10];
    args_for(e->frame, a);
    uintptr_t saved = a64_guard();
    StackSegment *seg = __morestack_current_segment;
    __morestack_set_guard((void *)limit);
    uint64_t r = (nonsplit ? e->nsfn : e->fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
    uintptr_t after = a64_guard();
    __morestack_set_guard((void *)saved);
    a64_report_noted();
    CHECK(r == a64_frame_sum(a), "frame %llu%s: result 0x%llx, want 0x%llx", (unsigned long long)e->frame,
          nonsplit ? " (non-split entry)" : "", (unsigned long long)r, (unsigned long long)a64_frame_sum(a));
    CHECK(after == limit, "frame %llu: limit 0x%llx after the call, was 0x%llx", (unsigned long long)e->frame,
          (unsigned long long)after, (unsigned long long)limit);
    CHECK(__morestack_current_segment == seg, "frame %llu: current segment not restored",
          (unsigned long long)e->frame);
}

/* How many bytes below the caller's stack pointer a forced split writes
 * on the old stack (__morestack's frame and whatever its helpers use
 * there): paint 64 KiB below sp, split, find the lowest byte changed. */
static size_t old_stack_use(const struct a64_frame_fn *e)
{
    enum { SPAN = 65536 };
    uintptr_t saved = a64_guard();
    __morestack_set_guard((void *)saved); /* bind it now, not during the measurement */
    uintptr_t sp = a64_sp();
    volatile uint8_t *lo = (volatile uint8_t *)(sp - SPAN);
    for (size_t i = 0; i < SPAN; i++)
        lo[i] = 0xa5;
    __morestack_set_guard((void *)UINTPTR_MAX);
    e->fn(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    __morestack_set_guard((void *)saved);
    size_t i = 0;
    while (i < SPAN && lo[i] == 0xa5)
        i++;
    return SPAN - i;
}

struct sweep {
    uint64_t max_frame;
    unsigned calls;
};

static void at_depth(void *p)
{
    struct sweep *sw = p;
    for (const struct a64_frame_fn *e = ss_frame_table; e->fn; e++) {
        if (e->frame > sw->max_frame)
            continue;
        for (int ns = 0; ns < 2; ns++) {
            uint64_t a[10];
            args_for(e->frame + ns, a);
            uint64_t r = (ns ? e->nsfn : e->fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
            if (r != a64_frame_sum(a))
                a64_note_fail("wrong result at depth", e->frame, r);
            sw->calls++;
        }
    }
}

int main(void)
{
    slack = splitstack_segment_slack();
    size_t page = getauxval(AT_PAGESZ);
    CHECK(slack >= 4096, "slack %zu", slack);
    uintptr_t guard0 = a64_guard();
    CHECK(guard0 != 0 && guard0 < a64_sp() && a64_sp() - guard0 < 16000 + 65536,
          "main thread limit 0x%llx not set below sp 0x%llx by __stack_split_initialize",
          (unsigned long long)guard0, (unsigned long long)a64_sp());

    /* Forced splits, every size, both entries. */
    fill = 1;
    int sizes = 0;
    for (const struct a64_frame_fn *e = ss_frame_table; e->fn; e++, sizes++) {
        uint64_t before = hook_calls;
        call_with_limit(e, 0, UINTPTR_MAX);
        CHECK(hook_calls == before + 1 && last_seg != NULL, "frame %llu did not run on a segment",
              (unsigned long long)e->frame);
        call_with_limit(e, 1, UINTPTR_MAX);
        CHECK(last_seg != NULL && last_seg_size >= e->frame + 0x100000,
              "non-split entry, frame %llu: segment of %zu bytes, want >= frame + 1 MiB",
              (unsigned long long)e->frame, last_seg_size);
        /* Limit 0: no check fails; the non-split entry runs in place. */
        call_with_limit(e, 1, 0);
        CHECK(last_seg == NULL && last_lo < a64_sp() && a64_sp() - last_lo < e->frame + 4096,
              "non-split entry with room, frame %llu: ran at 0x%llx, sp 0x%llx",
              (unsigned long long)e->frame, (unsigned long long)last_lo, (unsigned long long)a64_sp());
    }
    fill = 0;
    printf("forced: %d frame sizes, split and non-split entries ok (page %zu, slack %zu)\n", sizes, page, slack);

    /* The old stack __morestack uses: on the warm path (segment cached)
     * and the cold one (the 4 MiB frame after a 32-byte one: the cached
     * segment is too small). */
    size_t most = 0;
    for (int round = 0; round < 3; round++) {
        for (const struct a64_frame_fn *e = ss_frame_table; e->fn; e++) {
            size_t use = old_stack_use(e);
            CHECK(use >= 288 && use <= 1536, "frame %llu: __morestack wrote %zu bytes below the caller's sp",
                  (unsigned long long)e->frame, use);
            if (use > most)
                most = use;
        }
    }
    printf("old stack used by a split: at most %zu bytes\n", most);

    /* Natural: every 512-byte depth from the original stack through a few
     * segment boundaries, each frame size up to 64 KiB + 16. */
    struct sweep sw = {65552, 0};
    unsigned depths = 0;
    for (uint64_t d = 0; d < 160; d += 1, depths++) {
        ss_burn(d, at_depth, &sw);
        a64_report_noted();
        CHECK(a64_guard() == guard0, "limit 0x%llx after depth %llu, was 0x%llx",
              (unsigned long long)a64_guard(), (unsigned long long)d, (unsigned long long)guard0);
        CHECK(__morestack_current_segment == NULL, "not back on the original stack after depth %llu",
              (unsigned long long)d);
    }
    printf("natural: %u depths, %u calls ok\n", depths, sw.calls);
    return 0;
}
