/* Built with -fsplit-stack into a shared library, which makes gcc link a
 * private (hidden) copy of libgcc's split-stack runtime into it: the
 * situation of docs/x86_64.md section 8 (libgo.so does the same).
 * Its TLS references (__morestack_segments & co.) bind to the program's
 * definitions, so both runtimes work on the same segment chain. */
__attribute__((noinline)) long plugin_deep(long n)
{
    volatile char buf[3000];
    buf[0] = (char)n;
    if (n == 0)
        return 0;
    return plugin_deep(n - 1) + 1 + buf[0] - (char)n;
}
