/*
 * Split-stack workloads (compiled with -fsplit-stack).  They call nothing
 * outside this file, so gold rewrites none of their prologues (see
 * common.h), and the same object runs on both runtimes.
 *
 * The empty asm with a "memory" clobber after each recursive call keeps the
 * frame's buffer live across the call, so GCC can neither turn the
 * recursion into a loop nor shrink the frame.
 */
#define KEEP(p) __asm__ volatile("" : : "r"(p) : "memory")
/* One frame per level: no recursive inlining. */
#define FRAME __attribute__((noinline, noclone))

/* n frames of 64 bytes, down and back: 10^6 of them need ~64 MB. */
FRAME long deep_recurse(long n)
{
    char buf[48];
    buf[0] = (char)n;
    KEEP(buf);
    if (n <= 0)
        return 0;
    long r = deep_recurse(n - 1);
    KEEP(buf);
    return r + (buf[0] & 1);
}

/* ~128-byte frames: a coroutine's "small recursion" (8 levels, ~1 KB: less
 * than a quarter of the two pages an idle libgcc coroutine keeps, so that
 * the memory benchmark measures the runtimes, not the workload). */
FRAME long small_recurse(long n)
{
    char buf[96];
    buf[0] = (char)n;
    buf[95] = 1;
    KEEP(buf);
    if (n <= 0)
        return buf[95];
    long r = small_recurse(n - 1);
    KEEP(buf);
    return r + buf[95];
}

/* ~1 KB frames: a thread's recursion (48 levels, ~50 KB: several splits). */
FRAME long thread_recurse(long n)
{
    char buf[1000];
    buf[0] = (char)n;
    buf[999] = 1;
    KEEP(buf);
    if (n <= 0)
        return buf[999];
    long r = thread_recurse(n - 1);
    KEEP(buf);
    return r + buf[999];
}
