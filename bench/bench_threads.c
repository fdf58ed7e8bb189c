/*
 * Threads: BENCH_THREADS (default 10,000) times, one after the other:
 * pthread_create (through the runtime's __wrap_pthread_create), the thread
 * recurses through ~50 KB of 1 KB frames (several splits) and exits, and
 * main joins it.
 *   threads.cycle   microseconds per create + recurse + exit + join (wall
 *                   time: main waits in pthread_join while the thread runs)
 */
#include <pthread.h>

#include "common.h"

static long depth;

static void *thread_main(void *arg)
{
    (void)arg;
    return (void *)thread_recurse(depth);
}

int main(void)
{
    long n = env_long("BENCH_THREADS", 10000);
    depth = env_long("BENCH_THREAD_DEPTH", 48);
    pthread_t t;
    void *ret;
    /* one warm-up thread, checked */
    if (pthread_create(&t, NULL, thread_main, NULL) != 0 || pthread_join(t, &ret) != 0
        || (long)ret != depth + 1) {
        fail("threads.cycle", "pthread_create/join failed or wrong result");
        return 1;
    }
    double t0 = wall_s(); /* main waits in join: CPU time would miss it */
    for (long i = 0; i < n; i++) {
        if (pthread_create(&t, NULL, thread_main, NULL) != 0) {
            fail("threads.cycle", "pthread_create failed");
            return 1;
        }
        pthread_join(t, &ret);
    }
    double t1 = wall_s();
    printf("# %ld threads, recursion depth %ld\n", n, depth);
    result("threads.cycle", (t1 - t0) / (double)n * 1e6, "us");
    return 0;
}
