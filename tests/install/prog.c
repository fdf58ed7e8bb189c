/* Built by tests/install/run.sh with nothing but the pkg-config flags of
 * the installed library (shared and static): a recursion much deeper than
 * the 1 MiB stack limit the test runs it under (so it only finishes by
 * splitting), a context made and released, the counters, and the version
 * macros of the installed header. */
#include <splitstack.h>
#include <stdio.h>
#include <string.h>

static int deep(int n)
{
    volatile unsigned char frame[2048];
    memset((unsigned char *)frame, n & 0xff, sizeof frame);
    if (n == 0)
        return frame[7];
    return deep(n - 1) + frame[11] - (n & 0xff) + 1;
}

int main(void)
{
    /* 8192 frames of more than 2 KiB: about 17 MiB of stack. */
    int r = deep(8192);
    if (r != 8192) {
        printf("deep recursion: %d, expected 8192\n", r);
        return 1;
    }
    void *ctx[10];
    size_t size = 0;
    void *stack = __splitstack_makecontext(64 * 1024, ctx, &size);
    if (stack == NULL || size < 64 * 1024) {
        printf("makecontext failed\n");
        return 1;
    }
    __splitstack_releasecontext(ctx);
    SplitstackStats s;
    if (splitstack_get_stats(&s, sizeof s) != sizeof s || s.segments_allocated < 2 || s.morestack_calls == 0) {
        printf("stats: unexpected\n");
        return 1;
    }
    printf("version %d.%d.%d %s\n", SPLITSTACK_VERSION_MAJOR, SPLITSTACK_VERSION_MINOR,
           SPLITSTACK_VERSION_PATCH, SPLITSTACK_VERSION_STRING);
    printf("ok: %llu segments, %llu __morestack calls\n", (unsigned long long)s.segments_allocated,
           (unsigned long long)s.morestack_calls);
    return 0;
}
