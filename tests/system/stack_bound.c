/*
 * Item 8 of the contract: callers of the exported API are not moved to
 * 1 MiB segments (the library's objects carry .note.GNU-split-stack), so
 * every entry point must run in the little stack a split-stack caller has
 * left.  This test runs each entry point on a stack of its own, painted
 * with a pattern and with an inaccessible page right under it, measures
 * the deepest byte it touched, and checks that against the documented
 * bound.  __morestack is measured the same way: the painted stack is given
 * a limit just under its top so that the first split-stack call splits.
 *
 * Build: without -fsplit-stack (the harness switches stacks itself), plus
 * bound_split.c with -fsplit-stack.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <pthread.h>
#include "splitstack.h"

/* Documented bounds (README, "Limits"). */
#define API_BOUND 1024        /* every __splitstack_* / splitstack_* entry */
#define MORESTACK_BOUND 768   /* __morestack on the old stack (its slow path pivots) */
#define STACK_BYTES (64 * 1024)
#define PAINT 0xa5

void *__morestack_allocate_stack_space(size_t);
void *__morestack_get_guard(void);
void __morestack_set_guard(void *);
long bound_split_call(long);           /* bound_split.c, -fsplit-stack */

static unsigned char *stack_lo;        /* lowest usable byte */
static size_t stack_len;
static ucontext_t main_uc, run_uc;
static void (*current_fn)(void);
static int failures;

static void trampoline(void)
{
    current_fn();
    /* uc_link returns to main_uc */
}

/* Runs fn on the painted stack; returns the bytes it touched. */
static size_t measure(void (*fn)(void))
{
    memset(stack_lo, PAINT, stack_len);
    current_fn = fn;
    getcontext(&run_uc);
    run_uc.uc_stack.ss_sp = stack_lo;
    run_uc.uc_stack.ss_size = stack_len;
    run_uc.uc_link = &main_uc;
    makecontext(&run_uc, trampoline, 0);
    swapcontext(&main_uc, &run_uc);
    size_t i = 0;
    while (i < stack_len && stack_lo[i] == PAINT)
        i++;
    return stack_len - i;
}

static SplitstackContext ctx, ctx2, self_ctx;
static size_t sz;
static void nothing(void) {}
static void e_getcontext(void) { __splitstack_getcontext(splitstack_context_words(&self_ctx)); }
static void e_setcontext(void) { __splitstack_setcontext(splitstack_context_words(&self_ctx)); }
static void e_makecontext(void) { __splitstack_makecontext(100000, splitstack_context_words(&ctx), &sz); }
static void e_resetcontext(void) { __splitstack_resetcontext(splitstack_context_words(&ctx), &sz); }
static void e_releasecontext(void) { __splitstack_releasecontext(splitstack_context_words(&ctx)); }
static void e_release_twice(void) { __splitstack_releasecontext(splitstack_context_words(&ctx)); }
static void e_release_null(void) { __splitstack_releasecontext(NULL); }
static void e_makecontext_null(void) { __splitstack_makecontext(4096, NULL, &sz); }
static void e_block_signals(void) { int z = 0, o; __splitstack_block_signals(&z, &o); }
static void e_block_signals_context(void) { int z = 0, o; __splitstack_block_signals_context(splitstack_context_words(&ctx2), &z, &o); }
static void e_find(void)
{
    void *ns = NULL, *nsp = NULL, *isp = NULL;
    size_t len;
    void *seg = NULL, *sp = NULL;
    while (__splitstack_find(seg, sp, &len, &ns, &nsp, &isp) != NULL) {
        seg = ns;
        sp = nsp;
    }
}
static void e_find_context(void)
{
    void *ns, *nsp, *isp;
    size_t len;
    __splitstack_find_context(splitstack_context_words(&self_ctx), &len, &ns, &nsp, &isp);
}
static void e_get_stats(void) { SplitstackStats s; splitstack_get_stats(&s, sizeof s); }
static void *dummy_alloc(void *u, size_t n) { (void)u; (void)n; return NULL; }
static void dummy_free(void *u, void *b, size_t n) { (void)u; (void)b; (void)n; }
static void e_set_allocator(void)
{
    SplitstackAllocator a = {SPLITSTACK_ALLOCATOR_VERSION, 0, dummy_alloc, dummy_free, NULL};
    splitstack_set_allocator(&a);
    splitstack_set_allocator(NULL);
}
static void e_set_allocator_bad(void)
{
    SplitstackAllocator a = {99, 0, dummy_alloc, dummy_free, NULL};
    splitstack_set_allocator(&a);
}
static void e_settings(void)
{
    size_t m = splitstack_min_segment_size(), r = splitstack_segment_slack();
    splitstack_set_min_segment_size(m);
    splitstack_set_reserve(r);
    splitstack_set_cache_max(256 << 20);
    (void)splitstack_default_reserve();
}
static void e_settings_bad(void) { splitstack_set_min_segment_size(7); splitstack_set_reserve(3); }
/* The mode in force (segments exist by now, so 1 is refused too: both
 * refusals print a message). */
static void e_guard_pages(void)
{
    splitstack_set_guard_pages(splitstack_guard_pages());
    splitstack_set_guard_pages(9);
    splitstack_set_guard_pages(SPLITSTACK_GUARD_ON);
}
static void e_allocate_stack_space(void) { __morestack_allocate_stack_space(100); }
static void *thread_fn(void *a) { return a; }
static pthread_t tid;
static int create_err;
static void e_pthread_create(void) { create_err = pthread_create(&tid, NULL, thread_fn, NULL); }

static void *saved_guard;
static long split_result;
static void e_morestack(void)
{
    /* Limit just under the current sp: the next split-stack prologue
       calls __morestack while we are on the painted stack. */
    char here;
    saved_guard = __morestack_get_guard();
    __morestack_set_guard(&here - 64);
    split_result = bound_split_call(7);
    __morestack_set_guard(saved_guard);
}

struct entry { const char *name; void (*fn)(void); size_t bound; };

static void check(const struct entry *e, size_t base)
{
    size_t used = measure(e->fn);
    size_t own = used > base ? used - base : 0;
    int ok = own <= e->bound;
    /* Then run it again on a stack only base + bound bytes deep, right
       on top of the inaccessible page: going past the bound faults. */
    size_t full = stack_len;
    stack_len = (base + e->bound + 15) & ~(size_t)15;
    measure(e->fn);
    stack_len = full;
    printf("%-4s %-40s %5zu bytes of stack (bound %zu; ran on %zu bytes over a guard page)\n",
           ok ? "ok" : "FAIL", e->name, own, e->bound, (base + e->bound + 15) & ~(size_t)15);
    if (!ok)
        failures++;
}

int main(void)
{
    long page = sysconf(_SC_PAGESIZE);
    /* [guard page][stack]: a fault under the stack cannot go unnoticed. */
    unsigned char *map = mmap(NULL, STACK_BYTES + page, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) { perror("mmap"); return 1; }
    if (mprotect(map, page, PROT_NONE) != 0) { perror("mprotect"); return 1; }
    stack_lo = map + page;
    stack_len = STACK_BYTES;

    __splitstack_getcontext(splitstack_context_words(&self_ctx));
    size_t base = measure(nothing);
    printf("baseline (ucontext trampoline): %zu bytes\n", base);

    const struct entry entries[] = {
        { "__splitstack_getcontext", e_getcontext, API_BOUND },
        { "__splitstack_setcontext", e_setcontext, API_BOUND },
        { "__splitstack_makecontext", e_makecontext, API_BOUND },
        { "__splitstack_resetcontext", e_resetcontext, API_BOUND },
        { "__splitstack_releasecontext", e_releasecontext, API_BOUND },
        { "__splitstack_releasecontext (twice)", e_release_twice, API_BOUND },
        { "__splitstack_releasecontext (NULL)", e_release_null, API_BOUND },
        { "__splitstack_makecontext (NULL ctx)", e_makecontext_null, API_BOUND },
        { "__splitstack_block_signals", e_block_signals, API_BOUND },
        { "__splitstack_block_signals_context", e_block_signals_context, API_BOUND },
        { "__splitstack_find (whole walk)", e_find, API_BOUND },
        { "__splitstack_find_context", e_find_context, API_BOUND },
        { "splitstack_get_stats", e_get_stats, API_BOUND },
        { "splitstack_set_allocator (set, NULL)", e_set_allocator, API_BOUND },
        { "splitstack_set_allocator (bad version)", e_set_allocator_bad, API_BOUND },
        { "splitstack_set_*/min_segment/reserve", e_settings, API_BOUND },
        { "splitstack_set_* (invalid values)", e_settings_bad, API_BOUND },
        { "splitstack_set_guard_pages, splitstack_guard_pages", e_guard_pages, API_BOUND },
        { "__morestack_allocate_stack_space", e_allocate_stack_space, API_BOUND },
        { "__morestack (first split, maps)", e_morestack, MORESTACK_BOUND },
        { "__morestack (segment cached)", e_morestack, MORESTACK_BOUND },
    };
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
        check(&entries[i], base);
    if (split_result != 7 * 3) {
        printf("FAIL split call returned %ld, expected %d\n", split_result, 7 * 3);
        failures++;
    }

    /* pthread_create goes through the wrapper into glibc, whose stack use
       is glibc's business: reported, and bounded by the runtime's slack. */
    size_t pc = measure(e_pthread_create);
    pc = pc > base ? pc - base : 0;
    size_t slack = splitstack_segment_slack();
    int pc_ok = create_err == 0 && pc <= slack;
    printf("%-4s %-40s %5zu bytes of stack (within the %zu-byte slack)\n",
           pc_ok ? "ok" : "FAIL", "__wrap_pthread_create (into glibc)", pc, slack);
    if (!pc_ok)
        failures++;
    if (create_err == 0)
        pthread_join(tid, NULL);

    printf("%s\n", failures ? "stack-bound: FAILED" : "stack-bound: all entry points within their bounds");
    return failures != 0;
}
