/* The default allocator's warm path: makecontext + releasecontext in a
 * loop, N times (argv[1]).  tests/run.sh runs it under strace with two
 * different N and checks that the system call count does not grow with N
 * (segments come from and go back to the thread's cache).
 *
 * With "getset" as argv[2], the loop is instead one half of a coroutine
 * switch, N times: getcontext of the running state, setcontext of a
 * coroutine's context made once (bench/measure.py counts its
 * instructions under callgrind).  Nothing runs on the coroutine's stack,
 * and the original state is set back before anything else runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../../include/splitstack.h"

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    if (argc > 2 && strcmp(argv[2], "getset") == 0) {
        SplitstackContext self, coro;
        size_t size;
        if (__splitstack_makecontext(16384, splitstack_context_words(&coro), &size) == NULL) {
            printf("FAIL: makecontext\n");
            return 1;
        }
        for (long i = 0; i < n; i++) {
            __splitstack_getcontext(splitstack_context_words(&self));
            __splitstack_setcontext(splitstack_context_words(&coro));
        }
        __splitstack_setcontext(splitstack_context_words(&self));
        __splitstack_releasecontext(splitstack_context_words(&coro));
        printf("make_release getset: %ld ok\n", n);
        return 0;
    }
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
