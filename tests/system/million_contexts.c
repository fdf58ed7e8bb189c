/*
 * One million live contexts in one process (issue: pluggable allocator,
 * dense default allocation).  Each is made with __splitstack_makecontext,
 * entered, runs a small split-stack recursion, and stays suspended with
 * its frames on its stack; then all are released.  Prints the VMA count
 * (lines of /proc/self/maps) and RSS at each step and checks:
 *   - VMAs stay far below vm.max_map_count (65530): under 1,000;
 *   - RSS per live segment stays under 2.5 KiB and per context under
 *     5 KiB (512-byte minimum segments and a 1 KiB reserve: the program
 *     has no signal handlers; each context's recursion takes it into a
 *     second segment);
 *   - after release every segment is back (statistics) and, the cache
 *     being capped at 16 MiB, RSS falls back below a quarter of its peak.
 * Usage: million_contexts [N]   (default 1000000)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

#include "../c/x86_64/ours.h"

static SplitstackContext *ctxs;
static SplitstackContext main_ss;
static ucontext_t main_uc, co_uc;
static long current;
static uint64_t sum;

__attribute__((noinline)) static uint64_t small(int n)
{
    char buf[200];
    ss_fill(buf, sizeof buf, (uint32_t)n);
    uint64_t below = n > 0 ? small(n - 1) : 0;
    return ss_mix(below, (uint8_t)buf[n]);
}

static void body(void)
{
    sum += small(3);
    __splitstack_getcontext(splitstack_context_words(&ctxs[current]));
    __splitstack_setcontext(splitstack_context_words(&main_ss));
    swapcontext(&co_uc, &main_uc);
    abort(); /* never resumed */
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    CHECK(splitstack_set_min_segment_size(512) == SplitstackOk, "min segment");
    CHECK(splitstack_set_reserve(1024) == SplitstackOk, "reserve");
    CHECK(splitstack_set_cache_max(16 << 20) == SplitstackOk, "cache max");
    ctxs = calloc((size_t)n, sizeof *ctxs);
    CHECK(ctxs != NULL, "calloc");
    long rss0 = ss_status_kib("VmRSS"), vma0 = ss_vma_count();
    SplitstackStats st0;
    splitstack_get_stats(&st0, sizeof st0);
    double t0 = now();
    for (current = 0; current < n; current++) {
        size_t size;
        void *stack = __splitstack_makecontext(0, splitstack_context_words(&ctxs[current]), &size);
        CHECK(stack != NULL, "makecontext %ld failed", current);
        getcontext(&co_uc);
        co_uc.uc_stack.ss_sp = stack;
        co_uc.uc_stack.ss_size = size;
        co_uc.uc_link = NULL;
        makecontext(&co_uc, body, 0);
        __splitstack_getcontext(splitstack_context_words(&main_ss));
        __splitstack_setcontext(splitstack_context_words(&ctxs[current]));
        swapcontext(&main_uc, &co_uc);
    }
    double t1 = now();
    long rss1 = ss_status_kib("VmRSS"), vma1 = ss_vma_count();
    CHECK(sum == (uint64_t)n * small(3), "a coroutine computed a wrong result");
    SplitstackStats st1;
    splitstack_get_stats(&st1, sizeof st1);
    double segs = (double)(st1.segments_live - st0.segments_live);
    double per = (double)(rss1 - rss0) * 1024 / n, per_seg = (double)(rss1 - rss0) * 1024 / segs;
    printf("%ld live contexts: %.2f s to create and run, %ld VMAs (+%ld), RSS +%ld KiB: %.0f bytes per "
           "context, %.2f segments per context, %.0f bytes per segment\n",
           n, t1 - t0, vma1, vma1 - vma0, rss1 - rss0, per, segs / n, per_seg);
    CHECK(vma1 < 1000, "%ld VMAs", vma1);
    CHECK(per < 5 * 1024, "%.0f bytes of RSS per context", per);
    CHECK(per_seg < 2.5 * 1024, "%.0f bytes of RSS per segment", per_seg);

    for (long i = 0; i < n; i++)
        __splitstack_releasecontext(splitstack_context_words(&ctxs[i]));
    double t2 = now();
    long rss2 = ss_status_kib("VmRSS"), vma2 = ss_vma_count();
    SplitstackStats st;
    splitstack_get_stats(&st, sizeof st);
    printf("released in %.2f s: %ld VMAs, RSS %ld KiB (peak +%ld), segments live %llu (was %llu), cached %llu, "
           "resident cache %llu KiB\n",
           t2 - t1, vma2, rss2, rss1 - rss0, (unsigned long long)st.segments_live,
           (unsigned long long)st0.segments_live, (unsigned long long)st.segments_cached,
           (unsigned long long)st.bytes_cached_resident / 1024);
    CHECK(st.segments_live == st0.segments_live, "%llu segments still live after release",
          (unsigned long long)(st.segments_live - st0.segments_live));
    CHECK(rss2 - rss0 < (rss1 - rss0) / 4, "RSS did not go back: +%ld KiB after release, +%ld at peak",
          rss2 - rss0, rss1 - rss0);
    printf("million-contexts: ok\n");
    return 0;
}
