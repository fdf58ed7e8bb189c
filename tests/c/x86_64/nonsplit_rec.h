/* The non-split half of the guard-page overrun tests (t_guard_overrun.c,
 * t_guard_chain.c; compiled in their NOSPLIT_PART, without
 * -fsplit-stack): n frames of 1 KiB, so that the stack pointer itself
 * walks down through a segment's reserve into the guard below it (no
 * signal frame fits where it ends up: the report needs an alternate
 * stack). */
__attribute__((noinline)) long nonsplit_rec(int n)
{
    volatile char buf[1024];
    buf[sizeof buf - 1] = (char)n;
    buf[0] = 1;
    /* The whole frame, also to clang (which keeps only what is used). */
    __asm__ volatile("" : : "r"(buf) : "memory");
    if (n == 0)
        return buf[0];
    return nonsplit_rec(n - 1) + buf[sizeof buf - 1];
}
