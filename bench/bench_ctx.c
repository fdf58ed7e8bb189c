/*
 * Coroutine contexts:
 *   ctx.create_destroy  __splitstack_makecontext(BENCH_CORO_STACK = 1024) +
 *                       __splitstack_releasecontext
 *   ctx.lifecycle       makecontext, run a small recursion (8 frames of ~128
 *                       bytes) on it (switch in,
 *                       recurse, switch out), releasecontext
 *   ctx.reset           __splitstack_resetcontext (+ block_signals_context
 *                       off, as gccgo does on reuse)
 *   ctx.reset_run       reset, then run the small recursion again
 *   ctx.switch          one switch: getcontext + setcontext + bench_switch
 *                       (ping-pong between main and a coroutine; per switch)
 *   ctx.switch_floor    one switch with bench_switch alone (no runtime)
 * Results in nanoseconds per operation.
 */
#include "coro.h"

static size_t request;      /* makecontext's stack_size */
static long depth;          /* small recursion depth */
static volatile long sink;

static void body_recurse(struct coro *c)
{
    for (;;) {
        c->result = small_recurse(c->arg);
        coro_yield(c);
    }
}

static void body_pingpong(struct coro *c)
{
    for (;;)
        coro_yield(c);
}

static void body_floor(struct coro *c)
{
    for (;;)
        bench_switch(&c->sp, main_sp);
}

static void loop_create_destroy(long n, void *arg)
{
    (void)arg;
    void *ctx[10];
    size_t size;
    for (long i = 0; i < n; i++) {
        if (!__splitstack_makecontext(request, ctx, &size)) {
            fail("ctx.create_destroy", "makecontext returned NULL");
            exit(1);
        }
        __splitstack_releasecontext(ctx);
    }
}

static void loop_lifecycle(long n, void *arg)
{
    (void)arg;
    struct coro c;
    for (long i = 0; i < n; i++) {
        if (coro_make(&c, request, body_recurse) != 0) {
            fail("ctx.lifecycle", "makecontext returned NULL");
            exit(1);
        }
        c.arg = depth;
        coro_resume(&c);
        sink = c.result;
        __splitstack_releasecontext(c.ctx);
    }
}

static void loop_reset(long n, void *arg)
{
    struct coro *c = arg;
    for (long i = 0; i < n; i++)
        coro_reset(c);
}

static void loop_reset_run(long n, void *arg)
{
    struct coro *c = arg;
    for (long i = 0; i < n; i++) {
        coro_reset(c);
        coro_resume(c);
        sink = c->result;
    }
}

static void loop_switch(long n, void *arg)
{
    struct coro *c = arg;
    for (long i = 0; i < n; i++)
        coro_resume(c);     /* two switches: in and back out */
}

static void loop_switch_floor(long n, void *arg)
{
    struct coro *c = arg;
    for (long i = 0; i < n; i++)
        bench_switch(&main_sp, c->sp);
}

int main(void)
{
    request = (size_t)env_long("BENCH_CORO_STACK", 1024);
    depth = env_long("BENCH_CORO_DEPTH", 8);
    printf("# makecontext request %zu bytes, small recursion depth %ld\n", request, depth);

    struct coro c;
    if (coro_make(&c, request, body_recurse) != 0) {
        fail("ctx.check", "makecontext returned NULL");
        return 1;
    }
    c.arg = depth;
    coro_resume(&c);
    if (c.result != depth + 1) {
        fail("ctx.check", "the coroutine's recursion gave a wrong result");
        return 1;
    }
    printf("# initial segment: %zu usable bytes\n", c.stack_size);

    result("ctx.create_destroy", ns_per_op(loop_create_destroy, NULL), "ns");
    result("ctx.lifecycle", ns_per_op(loop_lifecycle, NULL), "ns");
    result("ctx.reset", ns_per_op(loop_reset, &c), "ns");
    c.arg = depth;
    result("ctx.reset_run", ns_per_op(loop_reset_run, &c), "ns");
    __splitstack_releasecontext(c.ctx);

    struct coro p;
    if (coro_make(&p, request, body_pingpong) != 0) {
        fail("ctx.switch", "makecontext returned NULL");
        return 1;
    }
    result("ctx.switch", ns_per_op(loop_switch, &p) / 2, "ns");
    __splitstack_releasecontext(p.ctx);

    struct coro f;
    if (coro_make(&f, request, body_floor) != 0) {
        fail("ctx.switch_floor", "makecontext returned NULL");
        return 1;
    }
    result("ctx.switch_floor", ns_per_op(loop_switch_floor, &f) / 2, "ns");
    __splitstack_releasecontext(f.ctx);
    return 0;
}
