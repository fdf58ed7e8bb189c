// REQUIRES: ours
//
// A C arena allocator registered with splitstack_set_allocator: every
// segment comes from it and goes back to it, through releasecontext and
// thread exit, and to the allocator that gave it even after another one
// is registered; NULL restores the default; bad registrations are refused
// with the documented result codes.
//
// The arena hands out blocks from one big mapping, each behind a 64-byte
// header recording its size, and checks on free that the block and size
// are ones it gave.  Counters are atomic: callbacks run on any thread.
#include <pthread.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "ours.h"

struct arena {
    const char *name;
    char *base, *end;
    uintptr_t next;               /* bump pointer (atomic) */
    unsigned long allocs, frees, bad_frees, misaligned_sizes;
};

#define ARENA_BYTES ((size_t)4 << 30)
#define ARENA_MAGIC 0x4152454e41u

static void arena_init(struct arena *a, const char *name)
{
    a->name = name;
    a->base = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(a->base != MAP_FAILED, "mmap of the %s arena failed", name);
    a->end = a->base + ARENA_BYTES;
    a->next = (uintptr_t)a->base;
}

static void *arena_allocate(void *user, size_t size)
{
    struct arena *a = user;
    if (size % 16 != 0)
        __atomic_add_fetch(&a->misaligned_sizes, 1, __ATOMIC_RELAXED);
    size_t total = 64 + ((size + 63) & ~(size_t)63);
    uintptr_t p = __atomic_fetch_add(&a->next, total, __ATOMIC_RELAXED);
    if (p + total > (uintptr_t)a->end)
        return NULL;
    uint64_t *hdr = (uint64_t *)p;
    hdr[0] = ARENA_MAGIC;
    hdr[1] = size;
    __atomic_add_fetch(&a->allocs, 1, __ATOMIC_RELAXED);
    return (void *)(p + 64);
}

static void arena_free(void *user, void *block, size_t size)
{
    struct arena *a = user;
    uint64_t *hdr = (uint64_t *)((char *)block - 64);
    if ((char *)block < a->base || (char *)block >= a->end || hdr[0] != ARENA_MAGIC || hdr[1] != size) {
        __atomic_add_fetch(&a->bad_frees, 1, __ATOMIC_RELAXED);
        return;
    }
    hdr[0] = 0; /* a second free of the same block would be caught */
    __atomic_add_fetch(&a->frees, 1, __ATOMIC_RELAXED);
}

static int in_arena(const struct arena *a, const void *p)
{
    return (const char *)p >= a->base && (const char *)p < a->end;
}

static SplitstackAllocator vtable(struct arena *a)
{
    SplitstackAllocator v = {SPLITSTACK_ALLOCATOR_VERSION, 0, arena_allocate, arena_free, a};
    return v;
}

static struct arena A, B;

/* Deep split-stack recursion: ~1 KiB a frame. */
__attribute__((noinline)) static uint64_t recurse(int n)
{
    char buf[1000];
    ss_fill(buf, sizeof buf, (uint32_t)n);
    uint64_t below = n > 0 ? recurse(n - 1) : 0;
    CHECK(ss_verify(buf, sizeof buf, (uint32_t)n) < 0, "frame %d corrupted", n);
    return ss_mix(below, (uint8_t)buf[n % sizeof buf]);
}

static uint64_t expected(int n)
{
    uint64_t h = 0;
    for (int i = 0; i <= n; i++) {
        char buf[1000];
        ss_fill(buf, sizeof buf, (uint32_t)i);
        h = ss_mix(h, (uint8_t)buf[i % sizeof buf]);
    }
    return h;
}

/* ---- coroutines ---------------------------------------------------------- */

#define NCO 16
static SplitstackContext co_ss[NCO], main_ss;
static ucontext_t co_uc[NCO], main_uc;
static void *co_stack[NCO];
static int co_index;
static uint64_t co_result[NCO];

static void co_body(void)
{
    int i = co_index;
    co_result[i] = recurse(2000);
    __splitstack_getcontext(splitstack_context_words(&co_ss[i]));
    __splitstack_setcontext(splitstack_context_words(&main_ss));
    swapcontext(&co_uc[i], &main_uc);
    CHECK(0, "a finished coroutine was resumed");
}

static void run_coroutine(int i)
{
    size_t size;
    co_stack[i] = __splitstack_makecontext(32 * 1024, splitstack_context_words(&co_ss[i]), &size);
    CHECK(co_stack[i] != NULL, "makecontext %d failed", i);
    getcontext(&co_uc[i]);
    co_uc[i].uc_stack.ss_sp = co_stack[i];
    co_uc[i].uc_stack.ss_size = size;
    co_uc[i].uc_link = NULL;
    makecontext(&co_uc[i], co_body, 0);
    co_index = i;
    __splitstack_getcontext(splitstack_context_words(&main_ss));
    __splitstack_setcontext(splitstack_context_words(&co_ss[i]));
    swapcontext(&main_uc, &co_uc[i]);
    CHECK(co_result[i] == expected(2000), "coroutine %d computed a wrong checksum", i);
}

/* ---- threads -------------------------------------------------------------- */

static void *thread_body(void *arg)
{
    (void)arg;
    CHECK(recurse(3000) == expected(3000), "thread checksum");
    return NULL;
}

/* Segments on the calling thread's own list, counted per arena. */
extern __thread void *__morestack_segments;
static void count_chain(unsigned long *in_a, unsigned long *in_b)
{
    *in_a = *in_b = 0;
    for (void **s = __morestack_segments; s != NULL; s = (void **)s[1]) {
        if (in_arena(&A, s))
            ++*in_a;
        if (in_arena(&B, s))
            ++*in_b;
    }
}

int main(void)
{
    arena_init(&A, "A");
    arena_init(&B, "B");

    /* Bad registrations change nothing. */
    SplitstackAllocator bad = vtable(&A);
    bad.version = 99;
    CHECK(splitstack_set_allocator(&bad) == SplitstackBadVersion, "version 99 accepted");
    bad = vtable(&A);
    bad.allocate = NULL;
    CHECK(splitstack_set_allocator(&bad) == SplitstackNullArgument, "NULL allocate accepted");
    bad = vtable(&A);
    bad.flags = 1;
    CHECK(splitstack_set_allocator(&bad) == SplitstackInvalidValue, "nonzero flags accepted");

    SplitstackAllocator va = vtable(&A);
    CHECK(splitstack_set_allocator(&va) == SplitstackOk, "registering A failed");

    /* 1. The main thread's own splits come from A. */
    CHECK(recurse(5000) == expected(5000), "main recursion checksum");
    CHECK(A.allocs > 10, "the main thread's segments did not come from A (%lu)", A.allocs);
    unsigned long in_a, in_b;
    count_chain(&in_a, &in_b);
    printf("main recursion: %lu segments from A, %lu back, %lu cached on the chain\n", A.allocs,
           A.frees, in_a);
    CHECK(A.allocs - A.frees == in_a, "A: %lu out, but %lu on the chain", A.allocs - A.frees, in_a);

    /* 2. Coroutines: made, run (they split), released. */
    unsigned long before = A.allocs - A.frees;
    for (int i = 0; i < NCO; i++) {
        run_coroutine(i);
        CHECK(in_arena(&A, co_stack[i]), "coroutine %d's stack is not from A", i);
    }
    CHECK(A.allocs - A.frees > before + NCO, "coroutines did not split into A's segments");

    /* 3. A thread's segments go back to A when it exits. */
    unsigned long a_before_thread = A.allocs - A.frees;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_body, NULL) == 0, "pthread_create");
    pthread_join(t, NULL);
    CHECK(A.allocs - A.frees == a_before_thread, "the exited thread kept %ld segments of A",
          (long)(A.allocs - A.frees - a_before_thread));

    /* 4. Register B: new segments come from B, A's go back to A. */
    SplitstackAllocator vb = vtable(&B);
    CHECK(splitstack_set_allocator(&vb) == SplitstackOk, "registering B failed");
    unsigned long a_frees = A.frees;
    for (int i = 0; i < NCO / 2; i++)
        __splitstack_releasecontext(splitstack_context_words(&co_ss[i]));
    CHECK(A.frees > a_frees, "releasing A's contexts freed nothing in A");
    CHECK(B.frees == 0, "B was asked to free A's segments");
    size_t size;
    SplitstackContext cb;
    void *sb = __splitstack_makecontext(8192, splitstack_context_words(&cb), &size);
    CHECK(in_arena(&B, sb), "a context made after registering B is not from B");
    __splitstack_releasecontext(splitstack_context_words(&cb));
    CHECK(B.allocs == 1 && B.frees == 1, "B: %lu allocs, %lu frees (expected 1, 1)", B.allocs, B.frees);

    /* 5. NULL restores the default allocator. */
    CHECK(splitstack_set_allocator(NULL) == SplitstackOk, "restoring the default failed");
    unsigned long a_allocs = A.allocs, b_allocs = B.allocs;
    SplitstackContext cd;
    void *sd = __splitstack_makecontext(8192, splitstack_context_words(&cd), &size);
    CHECK(sd != NULL && !in_arena(&A, sd) && !in_arena(&B, sd), "default allocator not restored");
    CHECK(A.allocs == a_allocs && B.allocs == b_allocs, "an arena was used after NULL");
    __splitstack_releasecontext(splitstack_context_words(&cd));

    /* 6. Release the rest: every block A gave is back, but the ones still
          cached on this thread's chain. */
    for (int i = NCO / 2; i < NCO; i++)
        __splitstack_releasecontext(splitstack_context_words(&co_ss[i]));
    count_chain(&in_a, &in_b);
    CHECK(A.allocs - A.frees == in_a, "A: %lu blocks out, %lu on the chain: %lu lost",
          A.allocs - A.frees, in_a, A.allocs - A.frees - in_a);
    CHECK(A.bad_frees == 0 && B.bad_frees == 0, "frees of blocks the arenas never gave: %lu, %lu",
          A.bad_frees, B.bad_frees);
    CHECK(A.misaligned_sizes == 0 && B.misaligned_sizes == 0, "sizes not a multiple of 16");
    printf("A: %lu allocations, %lu frees, %lu still cached on the main chain; B: %lu/%lu\n",
           A.allocs, A.frees, in_a, B.allocs, B.frees);
    return 0;
}
