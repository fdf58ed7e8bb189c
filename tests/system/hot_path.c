/*
 * The hot split: a function with a 20 KB frame called in a loop from a
 * frame that cannot hold it, so every call is a __morestack round trip.
 * Run it as `hot_path N [block]`; tests/run.sh runs it under strace
 * with two different N and checks that the number of system calls does
 * not grow with N (no system call per round trip once the segment is
 * cached), and, with `block`, that asking for signal blocking through
 * __splitstack_block_signals does block (rt_sigprocmask per round trip).
 * It also checks, when count_libc.so is preloaded, that neither the round
 * trips nor the cold paths (the first split of the process, which sets
 * up the allocator, and a recursion that maps and releases segments) call
 * malloc/free/memcpy/memset/memmove: glibc's use AVX registers, whose
 * upper halves the runtime does not save (a first split once zeroed those
 * of the splitting function's ymm arguments through an AVX2 memset), and
 * malloc is not async-signal-safe.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void __splitstack_block_signals(int *, int *);
void *__morestack_get_guard(void);

__attribute__((noinline)) static long hot(long i)
{
    volatile char frame[20000];
    frame[0] = (char)i;
    frame[sizeof frame - 1] = 1;
    return frame[0] + frame[sizeof frame - 1];
}

/* Through many new segments and back: each one is allocated on the way
 * down, and the idle ones are released on the way up. */
__attribute__((noinline)) static long deep(int n)
{
    volatile char frame[4000];
    frame[0] = (char)n;
    frame[sizeof frame - 1] = 1;
    long r = n > 0 ? deep(n - 1) : 0;
    return r + frame[0] + frame[sizeof frame - 1];
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    if (argc > 2 && strcmp(argv[2], "block") == 0) {
        int one = 1;
        __splitstack_block_signals(&one, NULL);
    }
    unsigned long (*counter)(void) = (unsigned long (*)(void))dlsym(RTLD_DEFAULT, "count_libc_calls");
    unsigned long cold_before = counter ? counter() : 0;
    hot(0);                                 /* the first split of the process */
    long d = deep(3000);                    /* ~12 MB of new segments, then released */
    unsigned long cold_after = counter ? counter() : 0;
    long dwant = 0;
    for (int k = 0; k <= 3000; k++)
        dwant += (char)k + 1;
    if (d != dwant) {
        printf("FAIL: deep recursion returned %ld, expected %ld\n", d, dwant);
        return 1;
    }
    void *guard = __morestack_get_guard();
    unsigned long before = counter ? counter() : 0;
    long sum = 0;
    for (long i = 0; i < n; i++)
        sum += hot(i);
    unsigned long after = counter ? counter() : 0;
    long want = 0;
    for (long i = 0; i < n; i++)
        want += (char)i + 1;
    if (sum != want) {
        printf("FAIL: sum %ld, expected %ld\n", sum, want);
        return 1;
    }
    if (__morestack_get_guard() != guard) {
        printf("FAIL: the limit changed across round trips\n");
        return 1;
    }
    if (counter) {
        printf("libc calls during the first split and a deep recursion: %lu\n", cold_after - cold_before);
        if (cold_after != cold_before) {
            printf("FAIL: the __morestack cold path called malloc/free/mem*\n");
            return 1;
        }
        printf("libc calls during %ld round trips: %lu\n", n, after - before);
        if (after != before) {
            printf("FAIL: the __morestack path called malloc/free/mem*\n");
            return 1;
        }
    }
    printf("hot_path: %ld round trips ok\n", n);
    return 0;
}
