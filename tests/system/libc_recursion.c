/*
 * A recursion whose frames call libc (3000 deep, REPS times, argv[1]):
 * gold moves every frame's prologue to __morestack_non_split, which asks
 * for 1 MiB more than the frame whenever the segment has less left.
 * Prints the checksum and the time per descent; tests/run.sh counts its
 * system calls at two repetition counts (they must not grow: the
 * segments of the 1 MiB demand are cached and reused), bench/measure.py
 * times it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEEP(p) __asm__ volatile("" : : "r"(p) : "memory")

__attribute__((noinline)) long descend(long n)
{
    char b[256];
    snprintf(b, sizeof b, "%ld", n);
    KEEP(b);
    if (n <= 0)
        return (long)strlen(b);
    long r = descend(n - 1) + b[0];
    KEEP(b);
    return r;
}

int main(int argc, char **argv)
{
    long reps = argc > 1 ? atol(argv[1]) : 100, sum = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < reps; i++)
        sum += descend(3000);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%ld\n", sum);
    /* For bench/measure.py: microseconds per descent. */
    printf("result librec.descent %.3f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / reps);
    return 0;
}
