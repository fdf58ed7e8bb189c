// XFAIL: libgcc
//
// Dynamic stack allocations that go through __morestack_allocate_stack_space
// must not leak: 100,000 calls of a function doing a 64 KiB alloca (6.4 GB
// in total) and 20,000 doing a 1.5 MiB one, each run once from the initial
// stack and once from deep in a split stack.  Memory use (VmRSS and
// VmSize) is sampled along the way: after a warm-up (the first tenth of
// the iterations, in case the runtime caches freed blocks) it may grow by
// no more than 16 MiB, and never by more than 512 MiB in all.
//
// The 1.5 MiB size is there for gold: it gives every function that calls
// non-split code (the runtime's allocator is such code) 1 MiB of stack up
// front, so a 64 KiB alloca never leaves the segment when linked with gold.
//
// libgcc mallocs these blocks and frees them only when a later split
// reuses the segment they belong to (never for the initial stack: GCC PR
// 106949), so a loop that does not split leaks: expected to fail with
// libgcc.  The loop stops as soon as the bound is exceeded, to keep that
// failure cheap.
#include <alloca.h>
#include <pthread.h>

#include "common.h"


static long base_rss, base_size;
static int blocks_off_stack;

struct phase {
    const char *where;
    size_t size;
    int iters;
    size_t touch_stride; /* bytes between the writes into each block */
};

/* See t_alloca.c: a block outside every stack piece came from the runtime. */
__attribute__((noinline)) static int on_stack(const void *p, size_t n)
{
    void *seg = NULL, *sp = NULL, *isp = NULL, *base;
    size_t len;
    while ((base = __splitstack_find(seg, sp, &len, &seg, &sp, &isp)) != NULL)
        if ((uintptr_t)p >= (uintptr_t)base && (uintptr_t)p + n <= (uintptr_t)base + len)
            return 1;
    return 0;
}

/* The size is only known at run time, so GCC emits the limit check and the
 * call into the runtime for it. */
__attribute__((noinline)) static uint8_t use_block(const struct phase *ph, uint32_t seed,
                                                   int check_where)
{
    size_t n = ph->size;
    uint8_t *p = alloca(n);
    /* Touch pages so that a leaked block also costs resident memory. */
    for (size_t i = 0; i < n; i += ph->touch_stride)
        p[i] = (uint8_t)(seed + i);
    p[n - 1] = (uint8_t)seed;
    if (check_where && !on_stack(p, n))
        blocks_off_stack++;
    ESCAPE(p);
    return p[0] ^ p[n - 1];
}

/* Memory must level off: a runtime may keep freed blocks for reuse (up to
 * some cache size), so the first tenth of the iterations is a warm-up, and
 * only growth after it counts.  A hard ceiling stops a runaway leak early. */
#define WARMUP_SLACK_KIB (16 * 1024)
#define CEILING_KIB (512 * 1024)

/* A frame bigger than a default segment holds above its limit (16 KiB):
 * every call splits.  The frame escapes: volatile alone does not keep it
 * (clang shrinks a volatile array of which only two bytes are touched to
 * 16 bytes, and this function then never splits). */
__attribute__((noinline)) static uint8_t via_split(const struct phase *ph, uint32_t seed, int check_where)
{
    volatile char frame[64 * 1024];
    ESCAPE(frame);
    frame[0] = (char)seed;
    uint8_t r = use_block(ph, seed, check_where);
    frame[sizeof frame - 1] = (char)r;
    return (uint8_t)(r + frame[0] - (char)seed);
}

__attribute__((noinline)) static void *run_phase(void *arg)
{
    const struct phase *ph = arg;
    uint64_t h = 0;
    long warm_rss = -1, warm_size = -1;
    blocks_off_stack = 0;
    for (int i = 0; i < ph->iters; i++) {
        h += via_split(ph, (uint32_t)i, i < 10);
        if (i % 200 == 199 || i == ph->iters - 1) {
            long rss = ss_proc_status_kib("VmRSS"), size = ss_proc_status_kib("VmSize");
            CHECK(rss - base_rss < CEILING_KIB && size - base_size < CEILING_KIB,
                  "%s: after %d allocas of %zu bytes, VmRSS grew by %ld KiB and VmSize by "
                  "%ld KiB: dynamic blocks leak",
                  ph->where, i + 1, ph->size, rss - base_rss, size - base_size);
            if (warm_rss < 0 && i >= ph->iters / 10) {
                warm_rss = rss;
                warm_size = size;
            }
            if (i == ph->iters - 1)
                CHECK(rss - warm_rss < WARMUP_SLACK_KIB && size - warm_size < WARMUP_SLACK_KIB,
                      "%s: %d allocas of %zu bytes after the warm-up grew VmRSS by %ld KiB and "
                      "VmSize by %ld KiB: dynamic blocks leak",
                      ph->where, ph->iters - ph->iters / 10, ph->size, rss - warm_rss,
                      size - warm_size);
        }
    }
    ESCAPE(&h);
    return NULL;
}

/* In a thread: blocks made at one depth in a loop (kept while the thread
 * runs, since they may be live), near the thread's limit. */
__attribute__((noinline)) static void *same_depth_loop(void *arg)
{
    const struct phase *ph = arg;
    uint64_t h = 0;
    for (int i = 0; i < ph->iters; i++)
        h += use_block(ph, (uint32_t)i, 0);
    ESCAPE(&h);
    return NULL;
}

static void *same_depth(void *arg)
{
    return ss_near_limit(same_depth_loop, arg, 8192);
}

/* Recurse until well inside split segments, then run the phase there. */
__attribute__((noinline)) static void deep(int depth, struct phase *ph)
{
    char pad[4000];
    ss_fill(pad, sizeof pad, (uint32_t)depth);
    if (depth > 0)
        deep(depth - 1, ph);
    else
        ss_near_limit(run_phase, ph, 8192);
    CHECK(ss_verify(pad, sizeof pad, (uint32_t)depth) < 0, "frame %d corrupted", depth);
}

static void report(const struct phase *ph, int must_leave_stack)
{
    printf("%s, %d x %zu bytes: ok, %d of the first 10 blocks were off the stack\n", ph->where,
           ph->iters, ph->size, blocks_off_stack);
    if (must_leave_stack)
        CHECK(blocks_off_stack > 0, "%s: %zu-byte allocas never left the stack (nothing tested)",
              ph->where, ph->size);
}

int main(void)
{
    base_rss = ss_proc_status_kib("VmRSS");
    base_size = ss_proc_status_kib("VmSize");
    CHECK(base_rss > 0 && base_size > 0, "cannot read /proc/self/status");

    static const struct {
        size_t size;
        int iters;
        size_t stride;
        int must_leave_stack;
    } kinds[] = {
        {64 * 1024, 100000, 4096, 0},
        {1536 * 1024, 20000, 512 * 1024, 1},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        struct phase ph = {"on a split segment", kinds[k].size, kinds[k].iters, kinds[k].stride};
        deep(3000, &ph);
        report(&ph, kinds[k].must_leave_stack);

        ph.where = "on the initial stack";
        ss_near_limit(run_phase, &ph, 8192);
        report(&ph, kinds[k].must_leave_stack);
    }
    /* A thread that piles blocks up at one depth gives them back when it
       exits. */
    for (int t = 0; t < 20; t++) {
        struct phase ph = {"in a thread, same depth", 64 * 1024, 100, 4096};
        pthread_t tid;
        CHECK(pthread_create(&tid, NULL, same_depth, &ph) == 0, "pthread_create");
        pthread_join(tid, NULL);
        long rss = ss_proc_status_kib("VmRSS"), size = ss_proc_status_kib("VmSize");
        CHECK(rss - base_rss < CEILING_KIB && size - base_size < CEILING_KIB,
              "after %d threads that each kept 100 blocks of 64 KiB, VmRSS grew by %ld KiB and VmSize "
              "by %ld KiB: blocks of exited threads leak", t + 1, rss - base_rss, size - base_size);
    }
    printf("20 threads x 100 blocks at one depth: freed at thread exit\n");
    printf("VmRSS grew by %ld KiB, VmSize by %ld KiB\n", ss_proc_status_kib("VmRSS") - base_rss,
           ss_proc_status_kib("VmSize") - base_size);
    return 0;
}
