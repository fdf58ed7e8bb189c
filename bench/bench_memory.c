/*
 * Memory: N idle coroutines (argv[1]), each made with
 * __splitstack_makecontext(BENCH_CORO_STACK = 2048: a small coroutine,
 * enough for its ~1 KiB recursion above the smallest reserve; both
 * runtimes round it up to their minimum segment), run once through a
 * small recursion (BENCH_CORO_DEPTH = 8 frames of ~128 bytes) and left
 * suspended after it (parked in a yield, its stack and context kept).
 *   mem.N.rss_per_coro   (VmRSS after - before) / N, KiB
 *   mem.N.vm_per_coro    (VmSize after - before) / N, KiB (address space)
 *   mem.N.vmas           mappings added, all N together
 *   mem.N.create_us      microseconds per coroutine: makecontext, run,
 *                        suspend
 * The coroutine table is mapped and touched before the "before" reading,
 * so only the runtimes' memory is counted.
 *
 * When the runtime cannot make N (mmap fails, vm.max_map_count, or the
 * harness's RSS cap, BENCH_MEM_CAP_MIB, default 60% of MemAvailable),
 * prints "fail mem.N failed at I coroutines: REASON" and exits 0.  A
 * runtime that aborts instead (libgcc's __morestack_fail) is reported by
 * the runner from the last "# progress" line and its stderr.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coro.h"

static void body(struct coro *c)
{
    c->result = small_recurse(c->arg);
    for (;;)
        coro_yield(c); /* parked: suspended for good after its recursion */
}

/* Which pages of a coroutine's initial segment are resident (mincore),
 * from the page holding the 56-byte header below makecontext's pointer
 * (libgcc's layout, which ours keeps) to the top. */
static void resident_pages(struct coro *c)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)c->stack - 56) & ~(uintptr_t)(page - 1);
    uintptr_t hi = ((uintptr_t)c->stack + c->stack_size + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
    size_t n = (hi - lo) / (uintptr_t)page;
    unsigned char vec[4096];
    if (n > sizeof vec || mincore((void *)lo, hi - lo, vec) != 0)
        return;
    printf("# a coroutine's initial segment: %zu pages, resident:", n);
    for (size_t i = 0; i < n; i++)
        if (vec[i] & 1)
            printf(" %zu%s", i, n == 1 ? " (header and top)" : i == 0 ? " (header)" : i == n - 1 ? " (top)" : "");
    printf("\n");
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10000;
    size_t request = (size_t)env_long("BENCH_CORO_STACK", 2048);
    long depth = env_long("BENCH_CORO_DEPTH", 8);
    long cap_kib = env_long("BENCH_MEM_CAP_MIB", 0) * 1024;
    if (cap_kib <= 0)
        cap_kib = mem_available_kib() / 10 * 6;
    char key[64];
    snprintf(key, sizeof key, "mem.%ld", n);

    size_t table = (size_t)n * sizeof(struct coro);
    struct coro *cs = mmap(NULL, table, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (cs == MAP_FAILED) {
        fail(key, "cannot map the coroutine table");
        return 1;
    }
    memset(cs, 0, table);

    long rss0 = status_kib("VmRSS");
    long vm0 = status_kib("VmSize");
    long vma0 = vma_count();
    char reason[200] = "";
    long made = 0;
    double t0 = now_s();
    for (; made < n; made++) {
        if (made % 8192 == 0 && made) {
            long grown = status_kib("VmRSS") - rss0;
            if (grown > cap_kib) {
                snprintf(reason, sizeof reason, "RSS grew past the harness cap (%ld MiB)", cap_kib / 1024);
                break;
            }
            printf("# progress %ld\n", made);
            fflush(stdout);
        }
        struct coro *c = &cs[made];
        errno = 0;
        if (coro_make(c, request, body) != 0) {
            snprintf(reason, sizeof reason, "makecontext returned NULL%s%s%s", errno ? " (" : "",
                     errno ? strerror(errno) : "", errno ? ")" : "");
            break;
        }
        c->arg = depth;
        coro_resume(c);
        if (c->result != depth + 1) {
            snprintf(reason, sizeof reason, "wrong result from the coroutine's recursion");
            break;
        }
    }
    double t1 = now_s();
    long rss1 = status_kib("VmRSS");
    long vm1 = status_kib("VmSize");
    long vma1 = vma_count();
    printf("# %ld coroutines, request %zu, depth %ld, initial segment %zu usable bytes\n", made, request,
           depth, made ? cs[0].stack_size : (size_t)0);
    if (made)
        resident_pages(&cs[made / 2]);
    if (made < n) {
        char msg[300];
        snprintf(msg, sizeof msg, "failed at %ld coroutines: %s", made, reason);
        fail(key, msg);
        if (made)
            printf("# at that point: %.2f KiB RSS and %.3f mappings per coroutine\n",
                   (double)(rss1 - rss0) / (double)made, (double)(vma1 - vma0) / (double)made);
        return 0;
    }
    char k[96];
    snprintf(k, sizeof k, "%s.rss_per_coro", key);
    result(k, (double)(rss1 - rss0) / (double)n, "KiB");
    snprintf(k, sizeof k, "%s.vm_per_coro", key);
    result(k, (double)(vm1 - vm0) / (double)n, "KiB");
    snprintf(k, sizeof k, "%s.vmas", key);
    result(k, (double)(vma1 - vma0), "count");
    snprintf(k, sizeof k, "%s.create_us", key);
    result(k, (t1 - t0) / (double)n * 1e6, "us");
    return 0;
}
