/* Section 8 of docs/x86_64.md: this runtime and a libgcc runtime copy
 * in a shared library (plugin.c) in one process, on one segment chain.
 * Recursions alternate between the program (our __morestack) and the
 * plugin (libgcc's), from many depths, so that each runtime reuses,
 * links after, and frees the other's segments (libgcc frees ours with
 * munmap(header, size + 56) when they are too small for it).  Every
 * result is checked; the statistics must show that this runtime freed
 * segments libgcc made (the mix really happened). */
#include <stdio.h>
#include "../../../include/splitstack.h"

long plugin_deep(long n);

__attribute__((noinline)) static long ours_deep(long n, long into_plugin)
{
    volatile char buf[1500];
    buf[0] = (char)n;
    if (n == 0)
        return plugin_deep(into_plugin);
    return ours_deep(n - 1, into_plugin) + 1 + buf[0] - (char)n;
}

int main(void)
{
    for (int round = 0; round < 300; round++) {
        long a = round % 7 * 300, b = (round * 37) % 900;
        long r = ours_deep(a, b);
        if (r != a + b) {
            printf("FAIL round %d: %ld, expected %ld\n", round, r, a + b);
            return 1;
        }
    }
    SplitstackStats s;
    splitstack_get_stats(&s, sizeof s);
    printf("300 mixed rounds ok; segments made by libgcc's copy and freed by this runtime: %llu\n",
           (unsigned long long)s.foreign_segments_freed);
    if (s.foreign_segments_freed == 0) {
        printf("FAIL: the two runtimes never shared a chain (nothing tested)\n");
        return 1;
    }
    return 0;
}
