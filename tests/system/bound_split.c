/* Compiled with -fsplit-stack: a function whose 20 KB frame cannot fit
   under the limit stack_bound.c sets, so calling it runs __morestack. */
#include <string.h>

__attribute__((noinline)) long bound_split_call(long x)
{
    volatile char big[20000];
    big[0] = (char)x;
    big[sizeof big - 1] = (char)(x * 2);
    return big[0] + big[sizeof big - 1];
}
