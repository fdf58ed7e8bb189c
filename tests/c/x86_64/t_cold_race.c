// REQUIRES: ours
//
// Blocks going cold on one thread never take pages from a block another
// thread has just been handed.  With the cache's high-water mark at 0,
// every released segment goes to the pool cold (its pages given back,
// with the pages it shares with cold neighbours), and segments too big
// for a thread's cache come back out of the pool.  Two threads each keep
// a ring of live contexts, write a pattern at the bottom and at the top
// of every new one, and check all of theirs after every step.  A block
// leaving the pool once kept its cold marks until its new owner wrote its
// header and meta, after the pool lock was released: a neighbour made cold
// in that window gave back the page holding the new segment's header or
// its top (the intermittent Boost migrate crash).
#include <pthread.h>

#include "ours.h"

#define THREADS 2
#define RING 6
#define STEPS 50000
#define SIZE (9u << 20) /* over a thread cache's 8 MiB: pooled on release */
#define PATTERN 192

struct ctx {
    void *c[10];
    char *low, *top;
    uint32_t seed;
};

static void make(struct ctx *x, uint32_t seed)
{
    size_t size;
    x->low = __splitstack_makecontext(SIZE, x->c, &size);
    CHECK(x->low != NULL, "makecontext(%u) failed", SIZE);
    x->top = x->low + size;
    x->seed = seed;
    ss_fill(x->low, PATTERN, seed);
    ss_fill(x->top - PATTERN, PATTERN, seed + 1);
}

static void verify(const struct ctx *x, int step)
{
    long bad = ss_verify(x->low, PATTERN, x->seed);
    CHECK(bad < 0, "step %d: the bottom of a live context's stack changed at byte %ld", step, bad);
    bad = ss_verify(x->top - PATTERN, PATTERN, x->seed + 1);
    CHECK(bad < 0, "step %d: the top of a live context's stack changed at byte %ld", step, bad);
}

static void *worker(void *arg)
{
    uint32_t id = (uint32_t)(uintptr_t)arg;
    struct ctx ring[RING];
    for (int i = 0; i < RING; i++)
        make(&ring[i], id * 1000003u + (uint32_t)i);
    for (int step = 0; step < STEPS; step++) {
        struct ctx *x = &ring[step % RING];
        __splitstack_releasecontext(x->c);
        make(x, id * 1000003u + (uint32_t)(step + RING));
        for (int i = 0; i < RING; i++)
            verify(&ring[i], step);
    }
    for (int i = 0; i < RING; i++)
        __splitstack_releasecontext(ring[i].c);
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    CHECK(splitstack_set_cache_max(0) == SplitstackOk, "set_cache_max(0)");
    struct SplitstackStats before, after;
    splitstack_get_stats(&before, sizeof before);
    for (uintptr_t i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0, "pthread_create");
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(t[i], NULL) == 0, "pthread_join");
    splitstack_get_stats(&after, sizeof after);
    uint64_t made = after.segments_allocated - before.segments_allocated;
    uint64_t freed = after.segments_freed - before.segments_freed;
    // (The threads' own first splits, where the linker makes any, count too.)
    CHECK(made >= (uint64_t)THREADS * (STEPS + RING) && freed == made,
          "%llu segments made, %llu freed (expected at least %d, all freed)", (unsigned long long)made, (unsigned long long)freed,
          THREADS * (STEPS + RING));
    printf("%d threads x %d steps: every live context intact beside cold neighbours\n", THREADS, STEPS);
    return 0;
}
