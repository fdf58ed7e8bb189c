/*
 * Deep recursion: BENCH_DEPTH (default 10^6) frames of 64 bytes down and
 * back, on the main thread.
 *   deep.first_ms   first descent and return (segments are mapped)
 *   deep.again_ms   the same again (both runtimes keep the segments)
 *   deep.peak_rss   VmHWM at the end minus VmRSS before, MiB
 *   deep.vmas       mappings added (lines of /proc/self/maps), after
 */
#include "common.h"

int main(void)
{
    long depth = env_long("BENCH_DEPTH", 1000000);
    long rss0 = status_kib("VmRSS");
    long vma0 = vma_count();
    double t0 = now_s();
    long r1 = deep_recurse(depth);
    double t1 = now_s();
    long r2 = deep_recurse(depth);
    double t2 = now_s();
    long hwm = status_kib("VmHWM");
    long vma1 = vma_count();
    if (r1 != (depth + 1) / 2 || r2 != r1) { /* one per odd n in 1..depth */
        fail("deep.check", "the recursion gave a wrong result");
        return 1;
    }
    printf("# depth %ld\n", depth);
    result("deep.first_ms", (t1 - t0) * 1e3, "ms");
    result("deep.again_ms", (t2 - t1) * 1e3, "ms");
    result("deep.peak_rss", (double)(hwm - rss0) / 1024.0, "MiB");
    result("deep.vmas", (double)(vma1 - vma0), "count");
    return 0;
}
