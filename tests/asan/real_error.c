// AddressSanitizer must still see a real mistake on a split stack: a write
// one element past a local array, in a frame deep in the recursion (on a
// segment).  tests/asan/run.sh expects ASan's "stack-buffer-overflow"
// report.  Without ASan it runs quietly (the byte lands in padding).
#include <stdio.h>

static volatile int sink;

__attribute__((noinline)) static int overflow(volatile int i)
{
    int a[8];
    for (int k = 0; k < 8; k++)
        a[k] = k;
    a[i] = 1; /* i == 8: one past the end */
    return a[3];
}

__attribute__((noinline)) static int deep(int n)
{
    char pad[2000];
    for (int i = 0; i < (int)sizeof pad; i += 64)
        pad[i] = (char)n;
    __asm__ volatile("" : : "r"(pad) : "memory");
    int r = n > 0 ? deep(n - 1) : overflow(8);
    return r + pad[n % sizeof pad];
}

int main(void)
{
    sink = deep(100);
    printf("done\n");
    return 0;
}
