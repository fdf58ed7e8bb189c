/*
 * The hot split: a function with a 20 KB frame.  Called in a loop from the
 * driver's main, which runs near the top of the main thread's stack where
 * only 16000 bytes lie above the split-stack limit, every call crosses a
 * segment boundary and returns (one __morestack round trip per call).
 *
 * Compiled twice: with -fsplit-stack as hot_split, and without it as
 * hot_floor (the same call with no runtime at all: the floor).
 */
#ifndef HOT_NAME
#error "compile with -DHOT_NAME=hot_split or -DHOT_NAME=hot_floor"
#endif

long HOT_NAME(long i)
{
    volatile char frame[20000];
    frame[0] = (char)i;
    frame[sizeof frame - 1] = 1;
    return frame[0] + frame[sizeof frame - 1];
}
