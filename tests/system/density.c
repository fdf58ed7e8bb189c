/*
 * Idle coroutines' memory (the density targets of README "Memory").
 *
 *   density SHAPE N REQUEST [MAX_RSS MAX_PTE MAX_AFTER]
 *
 * Makes N contexts with __splitstack_makecontext(REQUEST), runs each
 * through a small recursion and parks it in swapcontext:
 *   direct  the entry calls __splitstack_getcontext/setcontext and
 *           swapcontext directly: gold gives it the 1 MiB non-split demand
 *   ptr     it calls them through pointers: no demand
 * Prints RSS and page tables (VmPTE) per context and the mappings added,
 * then releases every context and prints how much stays resident.  With
 * the limits given, exits 1 when RSS or VmPTE per context (bytes) or the
 * resident growth after release (KiB) exceeds them.  Built with
 * -fsplit-stack and linked with gold; run with libgcc's runtime too (no
 * limits) for the comparison.  Also prints `result` lines (KiB per
 * context, mappings, MiB after release) for bench/measure.py.
 */
#include <ucontext.h>

/* ss_status_kib, ss_vma_count; the libgcc-compatible prototypes (only
 * those are called: the libgcc build links without this runtime). */
#include "../c/x86_64/ours.h"

struct co {
    ucontext_t uc;
    void *ctx[10];
};

static ucontext_t main_uc;
static void *main_ctx[10];
static struct co *current;

void (*volatile get_p)(void **) = __splitstack_getcontext;
void (*volatile set_p)(void **) = __splitstack_setcontext;
int (*volatile swap_p)(ucontext_t *, const ucontext_t *) = swapcontext;

__attribute__((noinline)) static long recurse(long n)
{
    volatile char b[96];
    b[0] = (char)n;
    if (n <= 0)
        return b[0];
    return recurse(n - 1) + b[0];
}

static void entry_direct(void)
{
    struct co *c = current;
    recurse(8);
    __splitstack_getcontext(c->ctx);
    __splitstack_setcontext(main_ctx);
    swapcontext(&c->uc, &main_uc);
    abort(); /* never resumed */
}

static void entry_ptr(void)
{
    struct co *c = current;
    recurse(8);
    get_p(c->ctx);
    set_p(main_ctx);
    swap_p(&c->uc, &main_uc);
    for (;;)
        ; /* never resumed */
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: density direct|ptr N REQUEST [MAX_RSS MAX_PTE MAX_AFTER_KIB]\n");
        return 2;
    }
    int direct = strcmp(argv[1], "direct") == 0;
    long n = atol(argv[2]);
    size_t request = (size_t)atol(argv[3]);
    struct co *cs = calloc((size_t)n, sizeof *cs);
    if (!cs)
        return 2;
    /* The table is resident before the first reading. */
    for (long i = 0; i < n; i++)
        ((volatile char *)&cs[i])[0] = ((volatile char *)&cs[i])[sizeof *cs - 1] = 1;
    long rss0 = ss_status_kib("VmRSS"), pte0 = ss_status_kib("VmPTE"), maps0 = ss_vma_count();
    for (long i = 0; i < n; i++) {
        struct co *c = &cs[i];
        size_t size;
        int zero = 0;
        void *stack = __splitstack_makecontext(request, c->ctx, &size);
        if (!stack) {
            printf("makecontext failed at context %ld\n", i);
            return 1;
        }
        __splitstack_block_signals_context(c->ctx, &zero, NULL);
        getcontext(&c->uc);
        c->uc.uc_stack.ss_sp = stack;
        c->uc.uc_stack.ss_size = size;
        c->uc.uc_link = NULL;
        makecontext(&c->uc, direct ? entry_direct : entry_ptr, 0);
        current = c;
        __splitstack_getcontext(main_ctx);
        __splitstack_setcontext(c->ctx);
        swapcontext(&main_uc, &c->uc);
    }
    double rss = (ss_status_kib("VmRSS") - rss0) * 1024.0 / n;
    double pte = (ss_status_kib("VmPTE") - pte0) * 1024.0 / n;
    long maps = ss_vma_count() - maps0;
    for (long i = 0; i < n; i++)
        __splitstack_releasecontext(cs[i].ctx);
    long after = ss_status_kib("VmRSS") - rss0;
    printf("%s, %ld contexts of %zu bytes: RSS %.0f B and page tables %.0f B per context, %ld mappings added;"
           " %ld KiB resident after release\n",
           argv[1], n, request, rss, pte, maps, after);
    /* For bench/measure.py. */
    printf("result density.%s.%zu.rss_per_ctx %.3f\n", argv[1], request, rss / 1024.0);
    printf("result density.%s.%zu.pte_per_ctx %.3f\n", argv[1], request, pte / 1024.0);
    printf("result density.%s.%zu.maps %ld\n", argv[1], request, maps);
    printf("result density.%s.%zu.after_release %.3f\n", argv[1], request, after / 1024.0);
    if (argc >= 7) {
        double max_rss = atof(argv[4]), max_pte = atof(argv[5]);
        long max_after = atol(argv[6]);
        int bad = 0;
        if (rss > max_rss)
            bad = printf("FAIL: RSS per context %.0f B > %.0f B\n", rss, max_rss);
        if (pte > max_pte)
            bad = printf("FAIL: page tables per context %.0f B > %.0f B\n", pte, max_pte);
        if (after > max_after)
            bad = printf("FAIL: %ld KiB resident after release > %ld KiB\n", after, max_after);
        return bad ? 1 : 0;
    }
    return 0;
}
