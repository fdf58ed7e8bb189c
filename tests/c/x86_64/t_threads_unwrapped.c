// XFAIL: libgcc
//
// Threads created behind the wrapper's back (__real_pthread_create, as a
// foreign thread pool would).
//
// 1. glibc recycles the stacks of exited threads together with their
//    thread descriptor, limit word included.  libgcc leaves an exited
//    thread's limit there, so a thread that gets the recycled descriptor
//    starts with it, splits although no runtime saw it start, and leaks
//    its segments (~650 MB over 200 threads here).  A runtime must clear
//    the limit when a thread exits, so that such a thread starts with limit
//    0, like one with a fresh descriptor.
// 2. An unwrapped thread that uses the runtime all the same (it runs a
//    coroutine made with __splitstack_makecontext, which splits) must not
//    leak what the runtime set up for it: 200 of them may not grow VmSize
//    by more than 64 MiB after the first 20.
#include <pthread.h>
#include <ucontext.h>

#include "common.h"

int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                          void *(*start)(void *), void *arg);

__attribute__((noinline)) static long recurse(int depth)
{
    char buf[1000];
    ss_fill(buf, 64, (uint32_t)depth);
    long r = depth > 0 ? recurse(depth - 1) : ss_count_pieces();
    CHECK(ss_verify(buf, 64, (uint32_t)depth) < 0, "frame %d corrupted", depth);
    return r;
}

struct job {
    uintptr_t start_limit;
    long pieces;
};

static void *wrapped_worker(void *arg)
{
    ((struct job *)arg)->pieces = recurse(2000);
    return NULL;
}

/* Unwrapped, on a 64 KiB stack: records the limit it starts with and
 * recurses only as deep as its own stack allows. */
static void *plain_worker(void *arg)
{
    struct job *j = arg;
    j->start_limit = ss_limit();
    j->pieces = recurse(24);
    return NULL;
}

/* Unwrapped, running a coroutine on split stacks. */
static __thread ucontext_t co_uc, back_uc;
static __thread void *co_ctx[10], *back_ctx[10];
static __thread long co_pieces;

static void co_body(void)
{
    co_pieces = recurse(2000);
    __splitstack_getcontext(co_ctx);
    __splitstack_setcontext(back_ctx);
    swapcontext(&co_uc, &back_uc);
}

static void *coroutine_worker(void *arg)
{
    struct job *j = arg;
    size_t size;
    void *stack = __splitstack_makecontext(64 * 1024, co_ctx, &size);
    CHECK(stack != NULL, "makecontext");
    CHECK(getcontext(&co_uc) == 0, "getcontext");
    co_uc.uc_stack.ss_sp = stack;
    co_uc.uc_stack.ss_size = size;
    co_uc.uc_link = NULL;
    makecontext(&co_uc, co_body, 0);
    __splitstack_getcontext(back_ctx);
    __splitstack_setcontext(co_ctx);
    CHECK(swapcontext(&back_uc, &co_uc) == 0, "swapcontext");
    j->pieces = co_pieces;
    __splitstack_releasecontext(co_ctx);
    return NULL;
}

int main(void)
{
    pthread_attr_t attr;
    pthread_t t;
    struct job j = {0, 0};
    CHECK(pthread_attr_init(&attr) == 0, "pthread_attr_init");
    CHECK(pthread_attr_setstacksize(&attr, 64 * 1024) == 0, "pthread_attr_setstacksize");

    /* 1. A wrapped thread first, whose stack (and descriptor) glibc will
          recycle; then unwrapped threads of the same stack size. */
    CHECK(pthread_create(&t, &attr, wrapped_worker, &j) == 0, "pthread_create");
    CHECK(pthread_join(t, NULL) == 0, "pthread_join");
    CHECK(j.pieces >= 2, "the wrapped thread did not split");
    int stale = 0;
    for (int i = 0; i < 50; i++) {
        j = (struct job){0, 0};
        CHECK(__real_pthread_create(&t, &attr, plain_worker, &j) == 0, "pthread_create");
        CHECK(pthread_join(t, NULL) == 0, "pthread_join");
        stale += j.start_limit != 0;
    }
    printf("50 unwrapped threads after a wrapped one: %d started with a stale limit\n", stale);
    CHECK(stale == 0, "%d unwrapped threads inherited an exited thread's limit", stale);

    /* 2. Unwrapped threads that run split-stack coroutines. */
    long size_after_warmup = 0;
    for (int i = 0; i < 200; i++) {
        j = (struct job){0, 0};
        CHECK(__real_pthread_create(&t, &attr, coroutine_worker, &j) == 0, "pthread_create");
        CHECK(pthread_join(t, NULL) == 0, "pthread_join");
        CHECK(j.pieces >= 2, "thread %d: the coroutine did not split", i);
        if (i == 19)
            size_after_warmup = ss_proc_status_kib("VmSize");
    }
    long growth = ss_proc_status_kib("VmSize") - size_after_warmup;
    printf("200 unwrapped threads running split coroutines: VmSize grew by %ld KiB after the "
           "first 20\n", growth);
    CHECK(growth < 64 * 1024, "VmSize grew by %ld KiB: what the runtime set up for unwrapped "
                              "threads is never freed", growth);
    return 0;
}
