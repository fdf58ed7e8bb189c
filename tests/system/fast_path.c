/* The fast paths, for callgrind (tests/run.sh): `call N` makes N calls of
 * a split-stack function that does not split (its prologue is the
 * compiler's, whatever the runtime), `split N` makes N warm split round
 * trips (a frame larger than the segment left, on a cached segment).
 * Built once against libgcc's runtime and once against ours; with ours an
 * interrupt handler is set, as a runtime using interrupts would have it
 * (the API is declared weak, so the libgcc build links without it). */
#include <stdint.h>
#include <stdlib.h>

typedef void (*handler_fn)(uint64_t, void *);
extern int splitstack_set_interrupt_handler(handler_fn, void *) __attribute__((weak));

static void handler(uint64_t bits, void *user)
{
    (void)bits;
    (void)user;
}

__attribute__((noinline)) static long leaf(long x)
{
    __asm__ volatile("" : : "r"(&x) : "memory");
    return x + 1;
}

__attribute__((noinline)) static long big(long x)
{
    char buf[64 << 10];
    buf[0] = (char)x;
    __asm__ volatile("" : : "r"(buf) : "memory");
    return buf[0] + 1;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    if (splitstack_set_interrupt_handler)
        splitstack_set_interrupt_handler(handler, NULL);
    long n = atol(argv[2]), s = 0;
    if (argv[1][0] == 'c')
        for (long i = 0; i < n; i++)
            s = leaf(s);
    else
        for (long i = 0; i < n; i++)
            s += big(i);
    return s == 42;
}
