/* The default allocator's warm path: makecontext + releasecontext in a
 * loop, N times (argv[1]).  tests/run.sh runs it under strace with two
 * different N and checks that the system call count does not grow with N
 * (segments come from and go back to the thread's cache). */
#include <stdio.h>
#include <stdlib.h>
#include "../../include/splitstack.h"

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    for (long i = 0; i < n; i++) {
        SplitstackContext c;
        size_t size;
        void *p = __splitstack_makecontext(16384, splitstack_context_words(&c), &size);
        if (p == NULL || size < 16384) {
            printf("FAIL: makecontext %ld\n", i);
            return 1;
        }
        ((volatile char *)p)[size - 1] = 1;
        __splitstack_releasecontext(splitstack_context_words(&c));
    }
    printf("make_release: %ld ok\n", n);
    return 0;
}
