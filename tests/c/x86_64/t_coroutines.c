// Coroutines on split stacks, switched the way Boost.Context's ucontext
// backend does it:
// XFAIL: libgcc
// (libgcc's makecontext gives less than the 16 KiB asked for where the
// kernel's minimum signal stack is large, as with AVX-512: it rounds the
// request up only when its signal-stack minimum is smaller, 16328 bytes
// then; the size check below fails.)
//     __splitstack_getcontext(from); __splitstack_setcontext(to); swapcontext(...)
//
// Six coroutines, each made with __splitstack_makecontext + makecontext,
// recurse through ~800 KB of 2 KB frames (so each owns many segments) and
// yield to main at several depths on the way down and up.  Every time main
// runs, it walks all suspended coroutines the way a garbage collector does
// (__splitstack_find_context, then __splitstack_find until NULL) and its
// own stack (__splitstack_find(NULL, NULL, ...)), and checks that:
//  - no stack range is reported twice and no two ranges overlap;
//  - every live buffer of every coroutine's frames lies inside one of the
//    ranges reported for that coroutine;
//  - a context that was made but never run gives NULL.
// Finished coroutines are reset with __splitstack_resetcontext (which must
// hand back the same initial segment and restore the default signal
// blocking) and run again, this time with their contexts copied by value on
// every switch;
// finally all contexts are released.  The whole cycle runs four times, and
// VmSize may not grow after the first.
#include <ucontext.h>

#include "common.h"

#define NCORO 6
#define DEPTH 400
#define FRAME 2000
#define MAX_LIVE 64 /* recorded buffers per coroutine */
#define MAX_RANGES 4096

struct coro {
    int id;
    int generation; /* bumped by each reset */
    ucontext_t uc;
    void *ss[10];
    void *stack;
    size_t stack_size;
    int started, done;
    uint64_t result;
    int max_pieces;
    struct {
        uintptr_t p;
        size_t n;
    } live[MAX_LIVE];
    int nlive;
};

static struct coro coros[NCORO];
static struct coro *running;
static ucontext_t main_uc;
static void *main_ss[10];
static int walks, yields;

/* ---- switching ------------------------------------------------------------ */

/* In odd generations the contexts travel by value through temporaries, as
 * gccgo and Boost copy them around: a context must not point into itself. */
static void resume(struct coro *c)
{
    void *copy[10];
    running = c;
    c->started = 1;
    __splitstack_getcontext(main_ss);
    if (c->generation % 2) {
        memcpy(copy, c->ss, sizeof copy);
        memset(c->ss, 0xa5, sizeof c->ss);
        __splitstack_setcontext(copy);
    } else {
        __splitstack_setcontext(c->ss);
    }
    CHECK(swapcontext(&main_uc, &c->uc) == 0, "swapcontext to coroutine %d failed", c->id);
    running = NULL;
}

static void yield(struct coro *c)
{
    void *copy[10];
    yields++;
    if (c->generation % 2) {
        __splitstack_getcontext(copy);
        memcpy(c->ss, copy, sizeof copy);
        memset(copy, 0x5a, sizeof copy);
    } else {
        __splitstack_getcontext(c->ss);
    }
    __splitstack_setcontext(main_ss);
    CHECK(swapcontext(&c->uc, &main_uc) == 0, "swapcontext to main failed");
}

/* ---- what the coroutines do ------------------------------------------------ */

static uint32_t seed_of(const struct coro *c, int depth)
{
    return (uint32_t)(c->id * 100003 + c->generation * 7919 + depth);
}

/* Yields at a few depths going down and coming back up. */
static int yields_here(int depth)
{
    return depth == 37 || depth == 150 || depth == DEPTH || depth == 275;
}

__attribute__((noinline)) static uint64_t dig(struct coro *c, int depth)
{
    char buf[FRAME];
    ss_fill(buf, sizeof buf, seed_of(c, depth));
    int slot = -1;
    if (depth % 10 == 0 && c->nlive < MAX_LIVE) {
        slot = c->nlive++;
        c->live[slot].p = (uintptr_t)buf;
        c->live[slot].n = sizeof buf;
    }
    if (yields_here(depth) && depth != 275)
        yield(c);
    uint64_t below;
    if (depth < DEPTH) {
        below = dig(c, depth + 1);
    } else {
        int pieces = ss_count_pieces();
        if (pieces > c->max_pieces)
            c->max_pieces = pieces;
        below = 0;
    }
    if (depth == 275)
        yield(c);
    long bad = ss_verify(buf, sizeof buf, seed_of(c, depth));
    CHECK(bad < 0, "coroutine %d: frame %d corrupted at %ld after resuming", c->id, depth, bad);
    if (slot >= 0) {
        CHECK(slot == c->nlive - 1, "live buffer bookkeeping");
        c->nlive--;
    }
    return ss_mix(below, (uint64_t)(uint8_t)buf[depth % FRAME]);
}

static uint64_t expected(const struct coro *c)
{
    uint64_t h = 0;
    for (int d = DEPTH; d >= 0; d--) {
        size_t i = (size_t)(d % FRAME);
        h = ss_mix(h, (uint8_t)(seed_of(c, d) + i * 31 + (i >> 9)));
    }
    return h;
}

/* The coroutine's entry point.  It must never return (its uc_link would
 * continue on a stack whose split-stack context is not set up for that),
 * so a finished coroutine parks itself by yielding forever. */
static void coro_main(void)
{
    struct coro *c = running;
    c->result = dig(c, 0);
    c->done = 1;
    for (;;)
        yield(c);
}

/* ---- the garbage-collector walk ----------------------------------------------- */

struct range {
    uintptr_t lo, hi;
    int owner; /* coroutine id, or -1 for main */
};
static struct range ranges[MAX_RANGES];
static int nranges;

static void add_range(void *base, size_t len, int owner)
{
    CHECK(nranges < MAX_RANGES, "too many stack ranges");
    CHECK(base != NULL && len > 0 && len < ((size_t)1 << 32), "strange stack range %p+%zu", base,
          len);
    ranges[nranges].lo = (uintptr_t)base;
    ranges[nranges].hi = (uintptr_t)base + len;
    ranges[nranges].owner = owner;
    nranges++;
}

static int walk_context(struct coro *c)
{
    void *next_seg, *next_sp, *isp;
    size_t len;
    int n = 0;
    void *base = __splitstack_find_context(c->ss, &len, &next_seg, &next_sp, &isp);
    while (base != NULL) {
        add_range(base, len, c->id);
        n++;
        base = __splitstack_find(next_seg, next_sp, &len, &next_seg, &next_sp, &isp);
    }
    return n;
}

static int by_lo(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

__attribute__((noinline)) static void gc_walk(void)
{
    walks++;
    nranges = 0;

    /* main's own stack, from here up. */
    void *seg = NULL, *sp = NULL, *isp = NULL, *base;
    size_t len;
    while ((base = __splitstack_find(seg, sp, &len, &seg, &sp, &isp)) != NULL)
        add_range(base, len, -1);

    for (int i = 0; i < NCORO; i++) {
        struct coro *c = &coros[i];
        int first = nranges;
        int n = walk_context(c);
        if (!c->started) {
            CHECK(n == 0, "coroutine %d was made but never run, yet find_context gave %d ranges",
                  c->id, n);
            continue;
        }
        CHECK(n >= 1, "suspended coroutine %d has no stack ranges", c->id);
        /* Every live buffer of this coroutine inside one of its ranges. */
        for (int k = 0; k < c->nlive; k++) {
            int found = 0;
            for (int r = first; r < nranges; r++)
                if (c->live[k].p >= ranges[r].lo && c->live[k].p + c->live[k].n <= ranges[r].hi)
                    found = 1;
            CHECK(found, "coroutine %d: live buffer %d at %#lx is in none of its %d ranges",
                  c->id, k, (unsigned long)c->live[k].p, n);
        }
    }

    /* Each piece of stack reported once: sorted, the ranges must not touch
     * each other's interiors. */
    qsort(ranges, (size_t)nranges, sizeof ranges[0], by_lo);
    for (int r = 1; r < nranges; r++)
        CHECK(ranges[r - 1].hi <= ranges[r].lo,
              "stack ranges overlap: [%#lx,%#lx) of %d and [%#lx,%#lx) of %d",
              (unsigned long)ranges[r - 1].lo, (unsigned long)ranges[r - 1].hi,
              ranges[r - 1].owner, (unsigned long)ranges[r].lo, (unsigned long)ranges[r].hi,
              ranges[r].owner);
}

/* ---- setting coroutines up ----------------------------------------------------- */

static void make_coro(struct coro *c)
{
    CHECK(getcontext(&c->uc) == 0, "getcontext");
    c->uc.uc_stack.ss_sp = c->stack;
    c->uc.uc_stack.ss_size = c->stack_size;
    c->uc.uc_link = NULL;
    makecontext(&c->uc, coro_main, 0);
    c->started = c->done = 0;
    c->nlive = 0;
    c->max_pieces = 0;
}

static void run_all(void)
{
    int remaining;
    do {
        remaining = 0;
        for (int i = 0; i < NCORO; i++) {
            if (coros[i].done)
                continue;
            resume(&coros[i]);
            gc_walk();
            remaining += !coros[i].done;
        }
    } while (remaining > 0);

    for (int i = 0; i < NCORO; i++) {
        struct coro *c = &coros[i];
        CHECK(c->result == expected(c), "coroutine %d generation %d: wrong checksum", c->id,
              c->generation);
        /* A first segment too small for the recursion must have been left
         * (libsplitstack may size first segments for the demand earlier
         * contexts made: README "Memory"; then one piece is right). */
        CHECK(c->max_pieces > 1 || c->stack_size >= (size_t)DEPTH * FRAME,
              "coroutine %d never left its first segment (%zu bytes)", c->id, c->stack_size);
        CHECK(c->nlive == 0, "coroutine %d: live buffers left over", c->id);
    }
}

/* One full life cycle: make, run, reset, run again, release. */
static void cycle(int n)
{
    int zero = 0, old = -1, default_blocking = -1;

    for (int i = 0; i < NCORO; i++) {
        struct coro *c = &coros[i];
        memset(c, 0, sizeof *c);
        c->id = i;
        c->stack = __splitstack_makecontext(16 * 1024, c->ss, &c->stack_size);
        CHECK(c->stack != NULL && c->stack_size >= 16 * 1024,
              "makecontext gave %p, size %zu", c->stack, c->stack_size);
        /* The default differs between runtimes (libgcc blocks, libsplitstack
         * does not); it must at least be a flag and be the same everywhere. */
        __splitstack_block_signals_context(c->ss, NULL, &old);
        CHECK(old == 0 || old == 1, "block_signals_context reported %d", old);
        if (i == 0)
            default_blocking = old;
        CHECK(old == default_blocking, "contexts made with different defaults");
        __splitstack_block_signals_context(c->ss, &zero, &old);
        __splitstack_block_signals_context(c->ss, NULL, &old);
        CHECK(old == 0, "signal blocking still on after turning it off");
        make_coro(c);
    }

    /* Not one of them has run yet: every find_context must say NULL. */
    gc_walk();

    run_all();
    if (n == 0)
        printf("first generation ok: %d yields, %d walks\n", yields, walks);

    /* Reuse every context for a second generation. */
    for (int i = 0; i < NCORO; i++) {
        struct coro *c = &coros[i];
        size_t size = 0;
        void *stack = __splitstack_resetcontext(c->ss, &size);
        CHECK(stack == c->stack && size == c->stack_size,
              "resetcontext gave %p/%zu, makecontext had given %p/%zu", stack, size, c->stack,
              c->stack_size);
        __splitstack_block_signals_context(c->ss, NULL, &old);
        CHECK(old == default_blocking,
              "resetcontext should restore the default signal blocking %d (got %d)",
              default_blocking, old);
        __splitstack_block_signals_context(c->ss, &zero, NULL);
        c->generation++;
        make_coro(c);
        /* A reset context has not run: find_context must say NULL. */
        void *ns, *nsp, *isp;
        size_t len;
        CHECK(__splitstack_find_context(c->ss, &len, &ns, &nsp, &isp) == NULL,
              "find_context on reset context %d did not return NULL", i);
    }
    run_all();
    if (n == 0)
        printf("second generation (after resetcontext) ok: %d yields, %d walks\n", yields,
               walks);

    for (int i = 0; i < NCORO; i++)
        __splitstack_releasecontext(coros[i].ss);
}

int main(void)
{
    /* Memory must level off across cycles: the runtime may keep released
     * segments for reuse (libsplitstack caches up to 64 MiB), but a later
     * cycle must not need new memory. */
    cycle(0);
    long size_after_first = ss_proc_status_kib("VmSize");
    for (int n = 1; n < 4; n++)
        cycle(n);
    long size_after_last = ss_proc_status_kib("VmSize");
    printf("VmSize after the first cycle %ld KiB, after the fourth %ld KiB\n", size_after_first,
           size_after_last);
    CHECK(size_after_last - size_after_first < 4 * 1024,
          "VmSize grew by %ld KiB over three more make/run/release cycles: released contexts "
          "leak",
          size_after_last - size_after_first);
    return 0;
}
