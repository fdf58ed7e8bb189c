/* The main thread's segments are freed at exit: after a deep recursion
 * (and with a coroutine context still holding none), the thread keeps
 * segments cached on its chain; the runtime's finaliser frees them, and
 * the statistics report it prints afterwards (SPLITSTACK_STATS=1) must
 * show none live.  tests/run.sh checks both lines. */
#include <stdio.h>
#include "../../include/splitstack.h"

__attribute__((noinline)) static long deep(long n)
{
    volatile char frame[3000];
    frame[0] = (char)n;
    return n > 0 ? deep(n - 1) + 1 + frame[0] - (char)n : 0;
}

int main(void)
{
    long r = deep(5000);
    SplitstackStats s;
    splitstack_get_stats(&s, sizeof s);
    printf("recursion %ld\nlive before exit: %llu\n", r, (unsigned long long)s.segments_live);
    return r == 5000 ? 0 : 1;
}
