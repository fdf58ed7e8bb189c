/*
 * Minimal coroutines for the benchmarks, switched the way Boost.Context's
 * segmented stacks and gccgo do it:
 *     __splitstack_getcontext(from); __splitstack_setcontext(to); switch
 * with switch = bench_switch (switch.S), a few instructions with no system
 * call.  Each coroutine runs on the initial segment that
 * __splitstack_makecontext gives it.  Non-split code only (see common.h).
 *
 * One level: main resumes a coroutine, the coroutine yields back to main.
 */
#ifndef BENCH_CORO_H
#define BENCH_CORO_H

#include "common.h"

void bench_switch(void **save_sp, void *new_sp);
void bench_coro_start(void);

struct coro {
    void *sp;                       /* its saved stack pointer while suspended */
    void *ctx[10];                  /* its split-stack context */
    char *stack;                    /* from makecontext */
    size_t stack_size;
    void (*body)(struct coro *);
    long arg;
    long result;
};

static void *main_sp;
static void *main_ctx[10];

/* Builds a fresh frame at the top of the coroutine's segment (see the
 * table in switch.S): the next resume starts body(c) from scratch. */
static inline void coro_prepare(struct coro *c)
{
    uintptr_t top = ((uintptr_t)c->stack + c->stack_size) & ~(uintptr_t)15;
    void **f = (void **)(top - 72);
    memset(f, 0, 72);
    f[2] = c;                       /* r13: argument */
    f[3] = (void *)c->body;         /* r12: entry */
    f[6] = (void *)bench_coro_start;
    c->sp = f;
}

/* makecontext, then signals unblocked as every real client does (libgcc's
 * contexts block by default; ours do not, so the call is a no-op there).
 * Returns 0, or -1 when makecontext fails. */
static inline int coro_make(struct coro *c, size_t request, void (*body)(struct coro *))
{
    int zero = 0;
    c->stack = __splitstack_makecontext(request, c->ctx, &c->stack_size);
    if (!c->stack)
        return -1;
    __splitstack_block_signals_context(c->ctx, &zero, NULL);
    c->body = body;
    coro_prepare(c);
    return 0;
}

/* resetcontext for a finished coroutine (gccgo's goroutine reuse). */
static inline void coro_reset(struct coro *c)
{
    int zero = 0;
    c->stack = __splitstack_resetcontext(c->ctx, &c->stack_size);
    __splitstack_block_signals_context(c->ctx, &zero, NULL);
    coro_prepare(c);
}

static inline void coro_resume(struct coro *c)
{
    __splitstack_getcontext(main_ctx);
    __splitstack_setcontext(c->ctx);
    bench_switch(&main_sp, c->sp);
}

static inline void coro_yield(struct coro *c)
{
    __splitstack_getcontext(c->ctx);
    __splitstack_setcontext(main_ctx);
    bench_switch(&c->sp, main_sp);
}

#endif
