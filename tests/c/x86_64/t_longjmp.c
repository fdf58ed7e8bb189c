// longjmp out of deep split stacks, with the protocol libgcc documents:
// __splitstack_getcontext just before setjmp, __splitstack_setcontext when
// setjmp returns from the longjmp (the __morestack frames that the jump
// skips cannot restore the segment and limit themselves).  After the jump
// the limit is the one saved, and recursing again reuses the segments the
// jump left behind.  1000 jumps from 1000 frames down.
//
// The context is saved before the thread ever split (its chain words are
// NULL).  libgcc's setcontext then installs an empty chain and orphans
// every segment made since: each jump leaks ~3 MB (expected to fail with
// libgcc).  Here the chain grown from the original stack is kept, so
// memory stays flat after the first jump.
// XFAIL: libgcc
#include <setjmp.h>

#include "common.h"

static jmp_buf env;

__attribute__((noinline)) static void deep(long n)
{
    char buf[3000];
    ss_fill(buf, 32, (uint32_t)n);
    if (n == 0)
        longjmp(env, 1);
    deep(n - 1);
    ESCAPE(buf);
}

int main(void)
{
    void *ctx[10];
    uintptr_t limit0 = ss_limit();
    long pieces0 = ss_count_pieces();
    long rss_after_first = 0;
    for (int i = 0; i < 1000; i++) {
        if (i == 1)
            rss_after_first = ss_proc_status_kib("VmRSS");
        __splitstack_getcontext(ctx);
        if (setjmp(env) == 0) {
            deep(1000);
            CHECK(0, "deep() returned");
        }
        __splitstack_setcontext(ctx);
        CHECK(ss_limit() == limit0, "jump %d: limit %#lx, expected %#lx", i, (unsigned long)ss_limit(),
              (unsigned long)limit0);
        CHECK(ss_count_pieces() == pieces0, "jump %d: %d stack pieces, expected %ld", i, ss_count_pieces(),
              pieces0);
    }
    long rss = ss_proc_status_kib("VmRSS");
    CHECK(rss - rss_after_first < 64 * 1024, "RSS grew by %ld KiB over 999 jumps (segments orphaned)",
          rss - rss_after_first);
    printf("1000 longjmps out of 1000-frame recursions: limit and segments restored, RSS flat\n");
    return 0;
}
