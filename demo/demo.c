/* A small program built with -fsplit-stack and linked against
 * libsplitstack: a recursion far deeper than its 256 KiB stack limit
 * allows, and two coroutines that swap back and forth on split stacks. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <ucontext.h>
#include "splitstack.h"

/* Sum of 1..n, one 2 KiB frame per step; the frame is read after the
 * recursive call so the compiler cannot turn the recursion into a loop. */
__attribute__((noinline)) static long depth_sum(long n)
{
    volatile char frame[2048];
    frame[n % sizeof frame] = (char)n;
    if (n == 0)
        return 0;
    long below = depth_sum(n - 1);
    return below + n + frame[n % sizeof frame] - (char)n;
}

static ucontext_t main_uc, co_uc;
static SplitstackContext main_ss, co_ss;
static int co_steps;

static void co_body(void)
{
    for (;;) {
        co_steps++;
        long s = depth_sum(1000);           /* splits inside the coroutine */
        (void)s;
        __splitstack_getcontext(splitstack_context_words(&co_ss));
        __splitstack_setcontext(splitstack_context_words(&main_ss));
        swapcontext(&co_uc, &main_uc);
    }
}

int main(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_STACK, &rl);
    long n = 200000;
    long got = depth_sum(n);
    printf("recursion: %ld frames of 2 KiB, sum %ld (expected %ld), stack rlimit %ld KiB\n",
           n, got, n * (n + 1) / 2, (long)(rl.rlim_cur / 1024));

    size_t size;
    void *stack = __splitstack_makecontext(64 * 1024, splitstack_context_words(&co_ss), &size);
    getcontext(&co_uc);
    co_uc.uc_stack.ss_sp = stack;
    co_uc.uc_stack.ss_size = size;
    co_uc.uc_link = NULL;
    makecontext(&co_uc, co_body, 0);
    for (int i = 0; i < 3; i++) {
        __splitstack_getcontext(splitstack_context_words(&main_ss));
        __splitstack_setcontext(splitstack_context_words(&co_ss));
        swapcontext(&main_uc, &co_uc);
    }
    __splitstack_releasecontext(splitstack_context_words(&co_ss));
    SplitstackStats st;
    splitstack_get_stats(&st, sizeof st);
    printf("coroutine ran %d times; segments allocated %llu, live %llu\n", co_steps,
           (unsigned long long)st.segments_allocated, (unsigned long long)st.segments_live);
    return got == n * (n + 1) / 2 && co_steps == 3 ? 0 : 1;
}
