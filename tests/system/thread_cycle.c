/* Threads one after another (N, argv[1]): each is created through the
 * runtime's pthread_create wrapper, recurses through ~50 KB of 1 KB
 * frames (several splits, a slow path on its runtime stack) and exits;
 * main joins it.  tests/run.sh counts the mmap, munmap and mprotect calls
 * under strace for two different N: they must not grow with N (a new
 * thread takes an exited one's runtime stack and segments, glibc its
 * stack). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static long recurse(long n)
{
    volatile char frame[1024];
    memset((char *)frame, (int)n, sizeof frame);
    return n == 0 ? frame[7] : recurse(n - 1) + frame[n % 1024];
}

static void *body(void *arg)
{
    return (void *)recurse((long)arg);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100;
    long expect = -1;
    for (long i = 0; i < n; i++) {
        pthread_t t;
        void *r;
        if (pthread_create(&t, NULL, body, (void *)48L) != 0 || pthread_join(t, &r) != 0) {
            printf("FAIL: thread %ld\n", i);
            return 1;
        }
        if (i == 0)
            expect = (long)r;
        else if ((long)r != expect) {
            printf("FAIL: thread %ld returned %ld, the first %ld\n", i, (long)r, expect);
            return 1;
        }
    }
    printf("thread_cycle: %ld threads ok\n", n);
    return 0;
}
