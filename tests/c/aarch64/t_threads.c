/*
 * Threads: each thread created through the wrapper (the program is linked
 * with --wrap=pthread_create, as gcc -fsplit-stack would do) starts with
 * its own limit below its own stack pointer, grows its own chain of
 * segments concurrently with the others (recursion through 400 segments,
 * forced splits of every frame size), and gives its segments back when it
 * exits.  A thread made by the wrapper of a wrapper-made thread too.
 */
#include "common.h"
#include <pthread.h>

#define THREADS 4
#define ROUNDS 3

struct result {
    int id;
    uintptr_t guard_at_start, sp_at_start;
    StackSegment *deepest;
    unsigned chain;
    uint64_t sum;
    int child_ok;
};

static void leaf(void *p)
{
    struct result *r = p;
    r->deepest = __morestack_current_segment;
    r->chain = a64_chain_depth();
}

static void *child(void *p)
{
    int *ok = p;
    *ok = a64_guard() != 0 && ss_rec(50, 1, NULL, NULL) == 1 + 3ull * 50 * 51 / 2;
    return NULL;
}

static void *worker(void *p)
{
    struct result *r = p;
    r->guard_at_start = a64_guard();
    r->sp_at_start = a64_sp();
    uint64_t sum = 0;
    for (int round = 0; round < ROUNDS; round++) {
        sum += ss_rec(400, (uint64_t)r->id, leaf, r);
        for (const struct a64_frame_fn *e = ss_frame_table; e->fn; e++) {
            uint64_t a[10];
            for (int i = 0; i < 10; i++)
                a[i] = (uint64_t)r->id * 1000 + e->frame + (uint64_t)i;
            uintptr_t g = a64_guard();
            __morestack_set_guard((void *)UINTPTR_MAX);
            uint64_t got = e->fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
            __morestack_set_guard((void *)g);
            if (got != a64_frame_sum(a))
                a64_note_fail("thread: wrong frame result", e->frame, got);
        }
    }
    r->sum = sum;
    pthread_t t;
    if (pthread_create(&t, NULL, child, &r->child_ok) == 0)
        pthread_join(t, NULL);
    return NULL;
}

static uint64_t live_segments(void)
{
    SplitstackStats st;
    memset(&st, 0, sizeof st);
    splitstack_get_stats(&st, sizeof st);
    return st.segments_live;
}

int main(void)
{
    uint64_t live0 = live_segments();
    pthread_t t[THREADS];
    struct result r[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].id = i + 1;
        CHECK(pthread_create(&t[i], NULL, worker, &r[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(t[i], NULL) == 0, "pthread_join");
    a64_report_noted();
    for (int i = 0; i < THREADS; i++) {
        uint64_t want = ROUNDS * ((uint64_t)r[i].id + 3ull * 400 * 401 / 2);
        CHECK(r[i].sum == want, "thread %d: sum %llu, want %llu", i, (unsigned long long)r[i].sum,
              (unsigned long long)want);
        CHECK(r[i].guard_at_start != 0 && r[i].guard_at_start < r[i].sp_at_start &&
                  r[i].sp_at_start - r[i].guard_at_start <= 16000 + 4096,
              "thread %d: limit 0x%llx at start, sp 0x%llx", i, (unsigned long long)r[i].guard_at_start,
              (unsigned long long)r[i].sp_at_start);
        CHECK(r[i].chain >= 200, "thread %d: %u segments for 400 levels", i, r[i].chain);
        CHECK(r[i].child_ok, "thread %d: its own thread did not get a limit or could not split", i);
        for (int j = 0; j < i; j++)
            CHECK(r[i].deepest != r[j].deepest, "threads %d and %d shared a segment", i, j);
    }
    uint64_t live1 = live_segments();
    CHECK(live1 <= live0, "%llu segments still live after every thread exited (%llu before)",
          (unsigned long long)live1, (unsigned long long)live0);
    printf("%d threads x %d rounds: 400 levels each, every frame size; segments given back at exit\n", THREADS,
           ROUNDS);
    return 0;
}
