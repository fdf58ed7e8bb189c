// Split stacks in threads.
//
// gcc links -fsplit-stack programs with --wrap=pthread_create, so that the
// runtime can give each new thread a stack limit and free the thread's
// segments when it exits.  This test:
//  1. runs 8 threads at once (4 with the default stack size, 4 with a
//     64 KiB stack) that each recurse through ~10 MiB of 1 KiB frames and
//     verify their frames, and checks each thread split;
//  2. runs threads created through __real_pthread_create, i.e. bypassing
//     the wrapper (as a foreign thread pool would): the runtime never saw
//     them, and they must still work.  With libgcc a fresh one has limit 0
//     and never splits, while one that gets a cached stack (and TCB) from an
//     exited wrapped thread inherits that thread's limit and does split;
//     the test prints what it observes and keeps their recursion within
//     their ordinary pthread stack (whether such threads leak their
//     segments is t_threads_unwrapped.c);
//  3. churns through 200 threads (8 at a time) that each split, checking
//     that exited threads' segments are freed: under libsplitstack exactly
//     (its live-segment count is back where it was), and under both
//     runtimes that VmSize does not keep growing.
#include <pthread.h>

#include "common.h"

int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                          void *(*start)(void *), void *arg);

#define FRAME 1000

struct job {
    int tid;
    int depth;
    uintptr_t start_limit, deep_limit, end_limit;
    int pieces;
    uint64_t result;
};

static uint8_t pattern(int depth, int i, int tid)
{
    return (uint8_t)(depth * 13 + i * 7 + tid * 101);
}

__attribute__((noinline)) static uint64_t recurse(int depth, struct job *j)
{
    int tid = j->tid;
    uint8_t buf[FRAME];
    for (int i = 0; i < FRAME; i++)
        buf[i] = pattern(depth, i, tid);
    ESCAPE(buf);
    uint64_t below = 0;
    if (depth < j->depth) {
        below = recurse(depth + 1, j);
    } else {
        j->pieces = ss_count_pieces();
        j->deep_limit = ss_limit();
    }
    ESCAPE(buf);
    for (int i = 0; i < FRAME; i++)
        CHECK(buf[i] == pattern(depth, i, tid), "thread %d: frame %d corrupted at byte %d", tid,
              depth, i);
    return ss_mix(below, buf[depth % FRAME]);
}

static uint64_t expected(int target, int tid)
{
    uint64_t h = 0;
    for (int d = target; d >= 0; d--)
        h = ss_mix(h, pattern(d, d % FRAME, tid));
    return h;
}

/* Records the limit before, at the bottom of and after the recursion. */
static void *worker(void *arg)
{
    struct job *j = arg;
    j->start_limit = ss_limit();
    j->result = recurse(0, j);
    j->end_limit = ss_limit();
    return NULL;
}

static void start(pthread_t *t, size_t stack, void *(*fn)(void *), void *arg, int wrapped)
{
    pthread_attr_t attr;
    CHECK(pthread_attr_init(&attr) == 0, "pthread_attr_init");
    if (stack)
        CHECK(pthread_attr_setstacksize(&attr, stack) == 0, "pthread_attr_setstacksize(%zu)",
              stack);
    int rc = wrapped ? pthread_create(t, &attr, fn, arg) : __real_pthread_create(t, &attr, fn, arg);
    CHECK(rc == 0, "pthread_create failed: %d", rc);
    pthread_attr_destroy(&attr);
}

static void part1_wrapped(void)
{
    enum { N = 8 };
    pthread_t t[N];
    struct job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (struct job){.tid = i, .depth = 10000};
        start(&t[i], i < 4 ? 0 : 64 * 1024, worker, &jobs[i], 1);
    }
    for (int i = 0; i < N; i++) {
        CHECK(pthread_join(t[i], NULL) == 0, "pthread_join");
        struct job *j = &jobs[i];
        CHECK(j->result == expected(j->depth, j->tid), "thread %d: wrong checksum", i);
        CHECK(j->start_limit != 0, "thread %d: started with no stack limit", i);
        CHECK(j->pieces >= 2, "thread %d (%s stack): %d stack piece at depth %d, never split", i,
              i < 4 ? "default" : "64 KiB", j->pieces, j->depth);
        CHECK(j->end_limit != 0, "thread %d: no limit after the recursion", i);
    }
    printf("8 wrapped threads: ok (pieces at the bottom: %d .. %d)\n", jobs[0].pieces,
           jobs[N - 1].pieces);
}

/* Present only in libsplitstack: tells the two runtimes apart. */
extern size_t splitstack_get_stats(void *, size_t) __attribute__((weak));

/* A thread the runtime does not know about.  Its recursion (depth frames
 * of 1 KiB) stays within its ordinary pthread stack, so that it also
 * survives a runtime that never splits for it. */
static void unwrapped_thread(const char *what, size_t stack, int depth)
{
    pthread_t t;
    struct job j = {.tid = 100, .depth = depth};
    start(&t, stack, worker, &j, 0);
    CHECK(pthread_join(t, NULL) == 0, "pthread_join");
    CHECK(j.result == expected(j.depth, j.tid), "unwrapped thread (%s): wrong checksum", what);
    printf("unwrapped thread, %s: ok; observed: limit at start %#lx, at depth %d %#lx, after "
           "%#lx; %d stack piece(s) seen by __splitstack_find at the bottom (%s)\n",
           what, (unsigned long)j.start_limit, j.depth, (unsigned long)j.deep_limit,
           (unsigned long)j.end_limit, j.pieces,
           j.start_limit == 0   ? "no limit: it never splits"
           : j.deep_limit != j.start_limit ? "it has a limit and split"
                                           : "it has a limit");
    /* libsplitstack clears the limit word when a thread exits, so a thread
       that gets a recycled descriptor starts like a fresh one (libgcc
       leaves the old limit there: such a thread splits, and leaks). */
    if (splitstack_get_stats)
        CHECK(j.start_limit == 0, "unwrapped thread (%s) started with a stale limit %#lx", what,
              (unsigned long)j.start_limit);
}

/* The first fields of libsplitstack's SplitstackStats (splitstack.h):
 * the test also runs against libgcc's runtime, so it cannot include the
 * header and link the function unconditionally. */
struct stats_prefix {
    uint64_t allocated, freed, live, cached, cached_resident, mapped, mmaps;
};

static struct stats_prefix stats_now(void)
{
    struct stats_prefix s = {0};
    if (splitstack_get_stats)
        CHECK(splitstack_get_stats(&s, sizeof s) == sizeof s, "splitstack_get_stats");
    return s;
}

/* 200 threads that each split; memory must level off. */
static void part3_churn(void)
{
    enum { BATCH = 8, BATCHES = 25 };
    long size_after_warmup = 0;
    struct stats_prefix warm = {0};
    for (int b = 0; b < BATCHES; b++) {
        pthread_t t[BATCH];
        struct job jobs[BATCH];
        for (int i = 0; i < BATCH; i++) {
            jobs[i] = (struct job){.tid = b * BATCH + i, .depth = 2000};
            start(&t[i], 64 * 1024, worker, &jobs[i], 1);
        }
        for (int i = 0; i < BATCH; i++) {
            CHECK(pthread_join(t[i], NULL) == 0, "pthread_join");
            CHECK(jobs[i].result == expected(jobs[i].depth, jobs[i].tid),
                  "churn thread %d: wrong checksum", jobs[i].tid);
            CHECK(jobs[i].pieces >= 2, "churn thread %d never split", jobs[i].tid);
        }
        if (b == 2) {
            size_after_warmup = ss_proc_status_kib("VmSize");
            warm = stats_now();
        }
    }
    long growth = ss_proc_status_kib("VmSize") - size_after_warmup;
    struct stats_prefix end = stats_now();
    printf("200 threads: ok, VmSize grew by %ld KiB after the warm-up", growth);
    if (splitstack_get_stats)
        printf(" (the runtime's mappings by %lld KiB in %llu mmap calls; %llu segments handed "
               "out and %llu freed)",
               ((long long)end.mapped - (long long)warm.mapped) / 1024,
               (unsigned long long)(end.mmaps - warm.mmaps),
               (unsigned long long)(end.allocated - warm.allocated),
               (unsigned long long)(end.freed - warm.freed));
    printf("\n");
    if (splitstack_get_stats) {
        /* Exact: every segment the 176 threads were handed went back. */
        CHECK(end.live == warm.live,
              "%lld segments more live after 176 threads exited: segments of exited threads are "
              "not freed",
              (long long)end.live - (long long)warm.live);
        CHECK(end.allocated - warm.allocated >= 176 * 2, "the churn threads never split");
    }
    /* Each thread used ~2 MiB of segments: leaking them would add ~350 MiB.
     * libsplitstack reserves address space in chunks of up to 64 MiB for
     * big segments (src/alloc/default.rs), and eight threads at once may
     * ask for more blocks of one class than the pool holds at that
     * moment: allow two such chunks. */
    long allowed = splitstack_get_stats ? 2 * 64 * 1024 + 1024 : 64 * 1024;
    CHECK(growth < allowed,
          "VmSize grew by %ld KiB over 176 threads: segments of exited threads are not freed",
          growth);
}

int main(void)
{
    /* A stack size used by no other thread, before any other thread
     * exists: glibc has to map a fresh stack and a zeroed TCB. */
    unwrapped_thread("fresh stack", (3 << 20) + (64 << 10), 1000);
    part1_wrapped();
    /* Same size as the wrapped threads that just exited: glibc usually
     * hands out one of their cached stacks, TCB included, and the limit
     * field in the TCB is not cleared. */
    unwrapped_thread("stack reused from an exited wrapped thread", 64 * 1024, 24);
    part3_churn();
    return 0;
}
