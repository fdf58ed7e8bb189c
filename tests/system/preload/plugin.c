/* A split-stack plugin built with plain `gcc -shared -fsplit-stack`: gcc
 * links libgcc's runtime into it, whose __splitstack_* functions (and the
 * three TLS variables) the plugin exports and calls through its PLT, while
 * its __morestack is private.  LD_PRELOAD=libsplitstack.so.0 takes the
 * exported part over (docs/x86_64.md section 8): then the coroutines
 * below get their stacks from libsplitstack, and libgcc's private
 * __morestack extends them, on the same thread state. */
#include <stdio.h>
#include <ucontext.h>
void __splitstack_getcontext(void *ctx[10]);
void __splitstack_setcontext(void *ctx[10]);
void *__splitstack_makecontext(size_t, void *ctx[10], size_t *);
void __splitstack_releasecontext(void *ctx[10]);
void __splitstack_block_signals_context(void *ctx[10], int *, int *);

__attribute__((noinline)) static long deep(long n)
{
    volatile char buf[2000];
    buf[0] = (char)n;
    return n > 0 ? deep(n - 1) + 1 + buf[0] - (char)n : 0;
}

static ucontext_t main_uc, co_uc;
static void *main_ctx[10], *co_ctx[10];
static long co_result;

static void co_body(void)
{
    co_result = deep(3000);
    __splitstack_getcontext(co_ctx);
    __splitstack_setcontext(main_ctx);
    swapcontext(&co_uc, &main_uc);
}

long plugin_run(int rounds)
{
    long total = 0;
    for (int r = 0; r < rounds; r++) {
        size_t size;
        void *stack = __splitstack_makecontext(64 * 1024, co_ctx, &size);
        if (!stack)
            return -1;
        int zero = 0;
        __splitstack_block_signals_context(co_ctx, &zero, NULL);
        getcontext(&co_uc);
        co_uc.uc_stack.ss_sp = stack;
        co_uc.uc_stack.ss_size = size;
        co_uc.uc_link = NULL;
        makecontext(&co_uc, co_body, 0);
        __splitstack_getcontext(main_ctx);
        __splitstack_setcontext(co_ctx);
        swapcontext(&main_uc, &co_uc);
        total += co_result;
        __splitstack_releasecontext(co_ctx);
    }
    return total + deep(500);
}
