// REQUIRES: ours
//
// Statistics count every thread's work while it is still running.  A
// thread's warm paths (makecontext and releasecontext served by its own
// cache) count in the thread's own block, with no locked instruction;
// splitstack_get_stats must add every live thread's share.  A worker makes
// and releases N contexts (its cache serves all but the first), parks
// with its cache full, and the main thread, whose own counts stay put,
// must see all N allocations and frees, and the cached segment, before
// the worker exits; afterwards the same totals stay (folded into the
// process totals at its exit, its cache and its own stack's segments
// cached in the pool), and nothing is counted twice.
#include <pthread.h>

#include "ours.h"

#define N 5000

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stage;

static void wait_stage(int s)
{
    pthread_mutex_lock(&m);
    while (stage < s)
        pthread_cond_wait(&cv, &m);
    pthread_mutex_unlock(&m);
}

static void set_stage(int s)
{
    pthread_mutex_lock(&m);
    stage = s;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&m);
}

static void *worker(void *arg)
{
    (void)arg;
    size_t size;
    for (int i = 0; i < N; i++) {
        void *c[10];
        CHECK(__splitstack_makecontext(16384, c, &size) != NULL, "makecontext %d failed", i);
        __splitstack_releasecontext(c);
    }
    set_stage(1);
    wait_stage(2);
    return NULL;
}

static struct SplitstackStats stats(void)
{
    struct SplitstackStats s;
    CHECK(splitstack_get_stats(&s, sizeof s) == sizeof s, "splitstack_get_stats");
    return s;
}

int main(void)
{
    struct SplitstackStats before = stats();
    pthread_t t;
    CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "pthread_create");
    wait_stage(1);
    struct SplitstackStats live = stats();
    uint64_t made = live.segments_allocated - before.segments_allocated;
    uint64_t freed = live.segments_freed - before.segments_freed;
    printf("while the worker runs: %llu segments made, %llu freed, %llu cached\n", (unsigned long long)made,
           (unsigned long long)freed, (unsigned long long)live.segments_cached);
    // (The worker's own first splits, where the linker makes any, count too.)
    CHECK(made >= N && made < N + 8, "the live worker's %d makecontexts show as %llu allocations", N,
          (unsigned long long)made);
    CHECK(freed >= N && freed <= made, "the live worker's %d releasecontexts show as %llu frees", N,
          (unsigned long long)freed);
    CHECK(live.segments_cached > before.segments_cached, "the worker's cached segment is not counted (%llu, was %llu)",
          (unsigned long long)live.segments_cached, (unsigned long long)before.segments_cached);
    CHECK(live.bytes_cached_resident >= before.bytes_cached_resident + 16384,
          "the worker's cached bytes are not counted (%llu, was %llu)", (unsigned long long)live.bytes_cached_resident,
          (unsigned long long)before.bytes_cached_resident);
    set_stage(2);
    CHECK(pthread_join(t, NULL) == 0, "pthread_join");
    struct SplitstackStats after = stats();
    CHECK(after.segments_allocated - before.segments_allocated >= made &&
              after.segments_allocated - before.segments_allocated < made + 8,
          "after the worker's exit: %llu allocations (%llu while it ran)",
          (unsigned long long)(after.segments_allocated - before.segments_allocated), (unsigned long long)made);
    CHECK(after.segments_freed - before.segments_freed == after.segments_allocated - before.segments_allocated,
          "after the worker's exit: %llu frees of %llu allocations",
          (unsigned long long)(after.segments_freed - before.segments_freed),
          (unsigned long long)(after.segments_allocated - before.segments_allocated));
    // Its cache went to the pool, and the segments its own stack still
    // held there too.
    CHECK(after.segments_cached == live.segments_cached + (made - freed),
          "after the worker's exit: %llu cached, %llu while it ran, with %llu of its segments live",
          (unsigned long long)after.segments_cached, (unsigned long long)live.segments_cached,
          (unsigned long long)(made - freed));
    printf("after its exit: the same totals, every segment freed\n");
    return 0;
}
