/*
 * The settings at every page size: the minimum segment size (a segment
 * holds at least that much above its limit, and invalid sizes are
 * refused), and a registered allocator (every segment of a thread that
 * starts after registration comes from it, 16-byte aligned, frames lie
 * inside its blocks, and every block goes back to it by the time the
 * thread has exited).
 */
#include "common.h"
#include <pthread.h>

static size_t slack;
static StackSegment *seen_seg;

uint64_t a64_frame_hook(uint64_t lo, uint64_t n, uint64_t sum)
{
    StackSegment *s = __morestack_current_segment;
    seen_seg = s;
    if (s && (lo < a64_seg_low(s) || lo + n > a64_seg_top(s)))
        a64_note_fail("frame outside its segment", lo, (uintptr_t)s);
    if (s && a64_guard() < a64_seg_low(s) + slack)
        a64_note_fail("less than the reserve below the limit", a64_guard(), (uintptr_t)s);
    return sum;
}

/* A counting allocator over malloc: block addresses are remembered so
 * that frees can be matched. */
#define MAXB 4096
static struct { void *p; size_t size; } blocks[MAXB];
static unsigned long allocs, frees, bad_frees, misaligned, odd_sizes;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *count_allocate(void *user, size_t size)
{
    (void)user;
    void *p = NULL;
    if (posix_memalign(&p, 16, size))
        return NULL;
    pthread_mutex_lock(&lock);
    allocs++;
    if ((uintptr_t)p % 16)
        misaligned++;
    if (size % 16)
        odd_sizes++;
    for (int i = 0; i < MAXB; i++)
        if (!blocks[i].p) {
            blocks[i].p = p;
            blocks[i].size = size;
            break;
        }
    pthread_mutex_unlock(&lock);
    return p;
}

static void count_free(void *user, void *p, size_t size)
{
    (void)user;
    pthread_mutex_lock(&lock);
    frees++;
    int found = 0;
    for (int i = 0; i < MAXB; i++)
        if (blocks[i].p == p) {
            found = blocks[i].size == size;
            blocks[i].p = NULL;
            break;
        }
    if (!found)
        bad_frees++;
    pthread_mutex_unlock(&lock);
    free(p);
}

static int block_of(const void *seg)
{
    for (int i = 0; i < MAXB; i++)
        if (blocks[i].p && (uintptr_t)seg >= (uintptr_t)blocks[i].p &&
            (uintptr_t)seg < (uintptr_t)blocks[i].p + blocks[i].size)
            return 1;
    return 0;
}

struct job {
    StackSegment *seg;
    int from_allocator;
    uint64_t sum;
};

static void leaf(void *p)
{
    struct job *j = p;
    j->seg = __morestack_current_segment;
    pthread_mutex_lock(&lock);
    j->from_allocator = block_of(j->seg);
    pthread_mutex_unlock(&lock);
}

static void *alloc_thread(void *p)
{
    struct job *j = p;
    j->sum = ss_rec(200, 0, leaf, j);
    return NULL;
}

/* A forced split of the smallest frame in a new thread: the segment it
 * gets is a fresh one, sized by the current minimum. */
static void *min_thread(void *p)
{
    size_t *got = p;
    const struct a64_frame_fn *e = &ss_frame_table[0];
    __morestack_set_guard((void *)UINTPTR_MAX);
    e->fn(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    *got = seen_seg ? seen_seg->size : 0;
    return NULL;
}

static size_t segment_for_min(size_t min)
{
    CHECK(splitstack_set_min_segment_size(min) == SplitstackOk, "set_min_segment_size(%zu)", min);
    CHECK(splitstack_min_segment_size() == min, "min_segment_size() = %zu, want %zu", splitstack_min_segment_size(),
          min);
    size_t got = 0;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, min_thread, &got) == 0, "pthread_create");
    pthread_join(t, NULL);
    a64_report_noted();
    return got;
}

int main(void)
{
    slack = splitstack_segment_slack();
    size_t page = getauxval(AT_PAGESZ);

    /* Minimum segment size. */
    size_t def = splitstack_min_segment_size();
    CHECK(def == SPLITSTACK_DEFAULT_MIN_SEGMENT, "default minimum %zu", def);
    size_t big = segment_for_min(1 << 20);
    CHECK(big >= (1 << 20) + slack, "minimum 1 MiB: a %zu-byte segment", big);
    size_t small = segment_for_min(SPLITSTACK_MIN_MIN_SEGMENT);
    CHECK(small >= SPLITSTACK_MIN_MIN_SEGMENT + slack && small < (1 << 20), "minimum 512: a %zu-byte segment",
          small);
    CHECK(splitstack_set_min_segment_size(496) != SplitstackOk, "a 496-byte minimum was accepted");
    CHECK(splitstack_set_min_segment_size(1000) != SplitstackOk, "a minimum not a multiple of 16 was accepted");
    CHECK(splitstack_min_segment_size() == SPLITSTACK_MIN_MIN_SEGMENT, "a refused minimum changed the setting");
    CHECK(splitstack_set_min_segment_size(def) == SplitstackOk, "restore the default minimum");

    /* A registered allocator. */
    SplitstackAllocator a = {SPLITSTACK_ALLOCATOR_VERSION, 0, count_allocate, count_free, NULL};
    SplitstackAllocator bad = a;
    bad.version = 99;
    CHECK(splitstack_set_allocator(&bad) != SplitstackOk, "an allocator of version 99 was accepted");
    CHECK(splitstack_set_allocator(&a) == SplitstackOk, "set_allocator");
    struct job j[2];
    memset(j, 0, sizeof j);
    for (int i = 0; i < 2; i++) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, alloc_thread, &j[i]) == 0, "pthread_create");
        pthread_join(t, NULL);
        a64_report_noted();
        CHECK(j[i].sum == 3ull * 200 * 201 / 2, "thread %d: sum %llu", i, (unsigned long long)j[i].sum);
        CHECK(j[i].from_allocator, "thread %d: its deepest segment is not a block of the allocator", i);
    }
    CHECK(splitstack_set_allocator(NULL) == SplitstackOk, "set_allocator(NULL)");
    CHECK(allocs >= 100, "only %lu allocations for 2 x 200 levels", allocs);
    CHECK(!misaligned && !odd_sizes, "%lu misaligned blocks, %lu sizes not a multiple of 16", misaligned, odd_sizes);
    CHECK(bad_frees == 0, "%lu frees of unknown blocks or with the wrong size", bad_frees);
    CHECK(frees == allocs, "%lu allocations, %lu frees after the threads exited", allocs, frees);
    printf("page %zu: minimum 1 MiB -> %zu-byte segments, 512 -> %zu; allocator: %lu blocks, all given back\n",
           page, big, small, allocs);
    return 0;
}
