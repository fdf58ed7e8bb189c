// A conservative collector's view of split stacks, the way libgo scans
// goroutines: walk the ranges __splitstack_find_context (a parked
// context) or __splitstack_find(NULL, ...) (the calling thread) returns
// and read each range in word steps from its start.  Every frame on the
// way down plants one pointer-sized sentinel; the walk must see each
// sentinel exactly once, at the address where it was planted.  That fails
// if a range starts or ends off a word boundary (a word-stepping scan then
// reads every word misaligned and finds nothing), if the saved stack
// pointer lies above a live word of the frame that called getcontext, if a
// segment is missing from the walk, or if two ranges overlap.
//
// Cases: a coroutine parked on its first segment (one segment) and parked
// after a recursion over many segments; the calling thread on its initial
// stack and deep in segments; and main's own context parked while a
// coroutine scans it (a parked context whose walk ends on the original
// stack).
//
// The sentinels never exist whole outside their slots: each is the XOR of
// two random halves, combined and stored by one asm block that clears its
// register, and compared by XOR-ing the word read with one half (so no
// register copy of a sentinel can be spilled into a scanned frame).
#include <ucontext.h>

#include "common.h"

#define MAXLEVELS 64
#define MAXRANGES 256

static uintptr_t half_a[MAXLEVELS], half_b[MAXLEVELS];
static uintptr_t *slot_addr[MAXLEVELS];

/* *slot = a ^ b; the combined value lives in a register for one
 * instruction only. */
__attribute__((noinline)) static void plant(uintptr_t *slot, uintptr_t a, uintptr_t b)
{
#if defined(__x86_64__)
    __asm__ volatile("mov %1, %%rax\n\t"
                     "xor %2, %%rax\n\t"
                     "mov %%rax, (%0)\n\t"
                     "xor %%eax, %%eax"
                     :
                     : "r"(slot), "r"(a), "r"(b)
                     : "rax", "memory");
#elif defined(__aarch64__)
    __asm__ volatile("eor x9, %1, %2\n\t"
                     "str x9, [%0]\n\t"
                     "mov x9, xzr"
                     :
                     : "r"(slot), "r"(a), "r"(b)
                     : "x9", "memory");
#else
#error "unsupported architecture"
#endif
}

/* Whether word w is sentinel i: (w ^ a) == b, with the XOR hidden from
 * the compiler so that it cannot fold a ^ b into one register. */
static inline int is_sentinel(uintptr_t w, int i)
{
    uintptr_t t = w;
#if defined(__x86_64__)
    __asm__("xor %1, %0" : "+r"(t) : "r"(half_a[i]));
#else
    __asm__("eor %0, %0, %1" : "+r"(t) : "r"(half_a[i]));
#endif
    return t == half_b[i];
}

struct scan {
    int nranges;
    uintptr_t lo[MAXRANGES], hi[MAXRANGES];
    int seen[MAXLEVELS];       /* times sentinel i was read */
    int seen_at_slot[MAXLEVELS]; /* ... at its own slot */
    int first_range[MAXLEVELS];  /* index of the range it was seen in */
};

/* Reads one range in word steps, the way libgo's scanstackblock does. */
__attribute__((noinline)) static void scan_range(struct scan *s, void *p, size_t len, int levels)
{
    uintptr_t lo = (uintptr_t)p, hi = lo + len;
    CHECK(lo % sizeof(uintptr_t) == 0, "range %d starts at %#lx, not on a word boundary", s->nranges,
          (unsigned long)lo);
    CHECK(hi % sizeof(uintptr_t) == 0, "range %d ends at %#lx, not on a word boundary", s->nranges,
          (unsigned long)hi);
    CHECK(len > 0 && len < ((size_t)1 << 32), "range %d has length %zu", s->nranges, len);
    for (int r = 0; r < s->nranges; r++)
        CHECK(hi <= s->lo[r] || lo >= s->hi[r], "ranges %d [%#lx,%#lx) and %d [%#lx,%#lx) overlap", r,
              (unsigned long)s->lo[r], (unsigned long)s->hi[r], s->nranges, (unsigned long)lo,
              (unsigned long)hi);
    CHECK(s->nranges < MAXRANGES, "too many ranges");
    for (uintptr_t a = lo; a + sizeof(uintptr_t) <= hi; a += sizeof(uintptr_t)) {
        uintptr_t w = *(volatile uintptr_t *)a;
        for (int i = 0; i < levels; i++) {
            if (is_sentinel(w, i)) {
                if (s->seen[i]++ == 0)
                    s->first_range[i] = s->nranges;
                if ((uintptr_t *)a == slot_addr[i])
                    s->seen_at_slot[i]++;
            }
        }
    }
    s->lo[s->nranges] = lo;
    s->hi[s->nranges] = hi;
    s->nranges++;
}

/* Checks that sentinels 0 .. levels-1 were each seen once, at their slot;
 * returns the number of ranges. */
__attribute__((noinline)) static int check_scan(const char *what, struct scan *s, int levels)
{
    for (int i = 0; i < levels; i++) {
        CHECK(s->seen[i] == 1 && s->seen_at_slot[i] == 1,
              "%s: sentinel of level %d (slot %p) seen %d times, %d at its slot, in %d ranges", what, i,
              (void *)slot_addr[i], s->seen[i], s->seen_at_slot[i], s->nranges);
    }
    printf("%s: %d levels, every sentinel seen once, %d ranges\n", what, levels, s->nranges);
    return s->nranges;
}

/* The walk of a parked context. */
__attribute__((noinline)) static int scan_context(const char *what, void **ctx, int levels)
{
    static struct scan s;
    memset(&s, 0, sizeof s);
    size_t len;
    void *seg, *sp, *isp;
    void *p = __splitstack_find_context(ctx, &len, &seg, &sp, &isp);
    CHECK(p != NULL, "%s: find_context found nothing", what);
    while (p != NULL) {
        scan_range(&s, p, len, levels);
        p = __splitstack_find(seg, sp, &len, &seg, &sp, &isp);
    }
    return check_scan(what, &s, levels);
}

/* The walk of the calling thread, from the frame of its caller down. */
__attribute__((noinline)) static int scan_self(const char *what, int levels)
{
    static struct scan s;
    memset(&s, 0, sizeof s);
    size_t len;
    void *seg = NULL, *sp = NULL, *isp = NULL;
    void *p;
    while ((p = __splitstack_find(seg, sp, &len, &seg, &sp, &isp)) != NULL)
        scan_range(&s, p, len, levels);
    return check_scan(what, &s, levels);
}

static void new_halves(void)
{
    static uint64_t x;
    if (x == 0)
        x = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&x;
    for (int i = 0; i < MAXLEVELS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        half_a[i] = (uintptr_t)x;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        half_b[i] = (uintptr_t)x | 1;
    }
}

/* ---- a coroutine that parks at the bottom of a recursion ----------------- */

static ucontext_t main_uc, coro_uc;
static void *main_ctx[10], *coro_ctx[10];
static int coro_levels; /* frames the coroutine plants */

/* Bytes of padding per recursion frame. */
#define PAD 4000

/* Through pointers: gold would move a split-stack function that refers to
 * a non-split one (libc; libgcc's API) to a 1 MiB segment, and the
 * single-segment cases must stay on one segment. */
static int (*volatile swap)(ucontext_t *, const ucontext_t *) = swapcontext;
static void (*volatile ss_get)(void **) = __splitstack_getcontext;
static void (*volatile ss_set)(void **) = __splitstack_setcontext;
static int scan_main_from_coro;
static int main_levels;

/* The frame that calls getcontext: its sentinel is the one a saved stack
 * pointer above it would hide. */
__attribute__((noinline)) static void park(int level)
{
    uintptr_t slot;
    slot_addr[level] = &slot;
    plant(&slot, half_a[level], half_b[level]);
    ESCAPE(&slot);
    ss_get(coro_ctx);
    ss_set(main_ctx);
    swap(&coro_uc, &main_uc);
    ESCAPE(&slot);
}

__attribute__((noinline)) static void descend(int level)
{
    uintptr_t slot;
    char pad[PAD];
    ESCAPE(pad);
    slot_addr[level] = &slot;
    plant(&slot, half_a[level], half_b[level]);
    ESCAPE(&slot);
    if (level + 1 == coro_levels - 1)
        park(level + 1);
    else
        descend(level + 1);
    ESCAPE(pad);
    ESCAPE(&slot);
}

static void coro_entry(void)
{
    if (scan_main_from_coro) {
        /* main parked itself in main_ctx; scan it from here. */
        scan_context("main's parked context, scanned from a coroutine", main_ctx, main_levels);
        ss_get(coro_ctx);
        ss_set(main_ctx);
        swap(&coro_uc, &main_uc);
    } else if (coro_levels == 1) {
        park(0);
    } else {
        descend(0);
    }
    ss_get(coro_ctx);
    ss_set(main_ctx);
    swap(&coro_uc, &main_uc);
    for (;;) /* never resumed again */
        ;
}

/* Runs a coroutine down to its park and scans it from main. */
__attribute__((noinline)) static int run_parked(const char *what, int levels)
{
    size_t size;
    new_halves();
    memset(coro_ctx, 0, sizeof coro_ctx);
    coro_levels = levels;
    scan_main_from_coro = 0;
    void *stack = __splitstack_makecontext(16384, coro_ctx, &size);
    CHECK(stack != NULL, "makecontext failed");
    getcontext(&coro_uc);
    coro_uc.uc_stack.ss_sp = stack;
    coro_uc.uc_stack.ss_size = size;
    coro_uc.uc_link = NULL;
    makecontext(&coro_uc, coro_entry, 0);
    __splitstack_getcontext(main_ctx);
    __splitstack_setcontext(coro_ctx);
    swapcontext(&main_uc, &coro_uc);
    /* Word [2] is the saved stack pointer (libgcc's layout): on a word
     * boundary, and not above the slot of the frame that called
     * getcontext. */
    uintptr_t saved_sp = (uintptr_t)coro_ctx[2];
    CHECK(saved_sp % sizeof(uintptr_t) == 0, "%s: saved stack pointer %#lx is not word-aligned", what,
          (unsigned long)saved_sp);
    CHECK(saved_sp <= (uintptr_t)slot_addr[levels - 1], "%s: saved stack pointer %#lx above the slot %p of getcontext's caller",
          what, (unsigned long)saved_sp, (void *)slot_addr[levels - 1]);
    int n = scan_context(what, coro_ctx, levels);
    /* A copy of the context walks the same way (clients copy it by value). */
    void *copy[10];
    memcpy(copy, coro_ctx, sizeof copy);
    CHECK(scan_context(what, copy, levels) == n, "%s: a copy walks differently", what);
    __splitstack_releasecontext(coro_ctx);
    return n;
}

/* ---- the calling thread -------------------------------------------------- */

static int self_levels;
static int (*self_at_bottom)(int);

__attribute__((noinline)) static int self_descend(int level)
{
    uintptr_t slot;
    char pad[PAD * 8]; /* beyond the 1 MiB gold gives main's callers */
    ESCAPE(pad);
    slot_addr[level] = &slot;
    plant(&slot, half_a[level], half_b[level]);
    ESCAPE(&slot);
    int r = level + 1 == self_levels ? self_at_bottom(self_levels) : self_descend(level + 1);
    ESCAPE(pad);
    ESCAPE(&slot);
    return r;
}

static int self_scan(int levels)
{
    return scan_self("calling thread", levels);
}


/* main parks itself, a coroutine scans it, main resumes. */
static int park_main(int levels)
{
    size_t size;
    memset(coro_ctx, 0, sizeof coro_ctx);
    scan_main_from_coro = 1;
    main_levels = levels;
    void *stack = __splitstack_makecontext(16384, coro_ctx, &size);
    CHECK(stack != NULL, "makecontext failed");
    getcontext(&coro_uc);
    coro_uc.uc_stack.ss_sp = stack;
    coro_uc.uc_stack.ss_size = size;
    coro_uc.uc_link = NULL;
    makecontext(&coro_uc, coro_entry, 0);
    __splitstack_getcontext(main_ctx);
    __splitstack_setcontext(coro_ctx);
    swapcontext(&main_uc, &coro_uc);
    __splitstack_releasecontext(coro_ctx);
    return 1;
}

__attribute__((noinline)) static int run_self(int levels, int (*bottom)(int))
{
    new_halves();
    self_levels = levels;
    self_at_bottom = bottom;
    return self_descend(0);
}

int main(void)
{
    int n;

    n = run_parked("coroutine parked on its first segment", 1);
    CHECK(n == 1, "a coroutine that never split gave %d ranges", n);

    n = run_parked("coroutine parked after a short recursion", 3);
    CHECK(n == 1, "a coroutine that never split gave %d ranges", n);

    n = run_parked("coroutine parked over many segments", 48);
    CHECK(n >= 4, "a 190 KB recursion gave only %d ranges", n);

    /* The calling thread: on its original stack (no split yet: the first
     * 16000 bytes are the thread's own), then deep in segments. */
    run_self(1, self_scan);
    n = run_self(48, self_scan);
    CHECK(n >= 3, "a 1.5 MB recursion of the calling thread gave only %d ranges", n);

    /* main parked (deep in segments, and on its original stack), scanned
     * by a coroutine: the walk ends with main's original stack. */
    run_self(48, park_main);
    run_self(1, park_main);

    puts("ok");
    return 0;
}
