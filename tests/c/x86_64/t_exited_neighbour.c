// REQUIRES: ours
//
// A context made by a thread that has exited stays intact while other
// threads carve and cache segments next to it.  Thread A makes context X
// (a packed segment: its top page also holds the header of whatever is
// carved after it), fills the top of X's stack with a pattern and exits,
// leaving the unused rest of its chunk to the pool.  Thread B then makes
// contexts from that rest, the first right above X, and releases them,
// last made first, with the cache's high-water mark at 0, so that they go
// cold and give their pages back.  X's pattern must survive, and
// releasing X must free exactly one segment, with no message: X's meta
// (which lies just below the first header B carves) was once overwritten
// there, and the page holding X's top given back with it.
#include <pthread.h>

#include "ours.h"

#define N 1000
#define PATTERN 2048

static void *x_ctx[10];
static char *x_top;
static void *b_ctx[N][10];

static void *thread_a(void *arg)
{
    (void)arg;
    size_t size;
    char *low = __splitstack_makecontext(4096, x_ctx, &size);
    CHECK(low != NULL, "thread A: makecontext failed");
    x_top = low + size;
    ss_fill(x_top - PATTERN, PATTERN, 7);
    return NULL;
}

static void *thread_b(void *arg)
{
    (void)arg;
    size_t size;
    for (int i = 0; i < N; i++)
        CHECK(__splitstack_makecontext(4096, b_ctx[i], &size) != NULL, "thread B: makecontext %d failed", i);
    for (int i = N - 1; i >= 0; i--)
        __splitstack_releasecontext(b_ctx[i]);
    return NULL;
}

static uint64_t freed(void)
{
    struct SplitstackStats s;
    splitstack_get_stats(&s, sizeof s);
    return s.segments_freed;
}

int main(void)
{
    pthread_t t;
    CHECK(splitstack_set_cache_max(0) == SplitstackOk, "set_cache_max(0)");
    CHECK(pthread_create(&t, NULL, thread_a, NULL) == 0 && pthread_join(t, NULL) == 0, "thread A");
    CHECK(pthread_create(&t, NULL, thread_b, NULL) == 0 && pthread_join(t, NULL) == 0, "thread B");
    long bad = ss_verify(x_top - PATTERN, PATTERN, 7);
    CHECK(bad < 0, "the top of thread A's context changed at byte %ld of the last %d", bad, PATTERN);
    uint64_t before = freed();
    __splitstack_releasecontext(x_ctx);
    CHECK(freed() == before + 1, "releasing thread A's context freed %llu segments",
          (unsigned long long)(freed() - before));
    printf("thread A's context intact beside %d cold neighbours\n", N);
    return 0;
}
