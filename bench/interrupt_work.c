/*
 * Split-stack workload of bench_interrupt (compiled with -fsplit-stack).
 * Like work.c it calls nothing outside this file, so gold rewrites none of
 * its prologues and the same object runs on every runtime (see common.h).
 *
 * Every call of intr_tick is a function entry, where a pending interrupt
 * is delivered: a target thread looping in intr_spin is interruptible
 * every few nanoseconds.  None of these functions needs a new segment.
 *
 * The empty asm keeps intr_tick from being treated as a const function
 * (GCC could otherwise hoist or merge the calls in the loops).
 */
#define FRAME __attribute__((noinline, noclone))

/* A small split-stack call: the compiler's prologue (compare the stack
 * pointer with the limit, branch) and a couple of instructions. */
FRAME long intr_tick(long i)
{
    __asm__ volatile("" : "+r"(i));
    return i + 1;
}

/* n calls of intr_tick from split-stack code. */
FRAME long intr_calls(long n)
{
    long s = 0;
    for (long i = 0; i < n; i++)
        s = intr_tick(s);
    return s;
}

/* The target thread's loop: calls intr_tick until *stop; the number of
 * calls made. */
FRAME long intr_spin(const volatile int *stop)
{
    long s = 0;
    while (!*stop)
        s = intr_tick(s);
    return s;
}
