/*
 * Registers across __morestack: all 128 bits of the eight vector
 * arguments q0-q7 in, a homogeneous vector aggregate out in q0-q3,
 * floating-point arguments (two of them on the stack, read through x11)
 * and a homogeneous float aggregate out in d0-d3, a large struct returned
 * through x8, and x18 (GCC's aarch64 static chain).  Each with the limit
 * forced (a split) and with limit 0 (no split), on the fast return path
 * and on both slow ones (an alloca block on the segment; signal blocking
 * requested).  Last, each check in a fresh thread (so that the split
 * must allocate a segment) with a registered allocator whose callbacks
 * clobber every caller-saved register: __morestack must not rely on its
 * helpers leaving any argument or result register alone.
 */
#include "common.h"
#include <arm_neon.h>
#include <pthread.h>
#include <signal.h>

void a64_clobber(void);

typedef struct { uint8x16_t v[4]; } hva4;
typedef struct { double a, b, c, d; } hfa4;
struct big { uint64_t w[8]; };

hva4 ss_vec8(uint8x16_t, uint8x16_t, uint8x16_t, uint8x16_t, uint8x16_t, uint8x16_t, uint8x16_t, uint8x16_t);
hfa4 ss_fp(double, double, double, double, double, double, double, double, double, double);
struct big ss_big(uint64_t seed);
uint64_t a64_call_with_x18(uint64_t x18, struct big *out, uint64_t seed);
extern uint8_t a64_vec_seen[8][16];
extern uint64_t a64_x18_seen;
extern int a64_slow_mode;

static uint8x16_t vec(int k)
{
    uint8_t b[16];
    for (int i = 0; i < 16; i++)
        b[i] = (uint8_t)(k * 16 + i + 1);
    return vld1q_u8(b);
}

static void check_vec(const char *how, uint8x16_t got, int k, uint8_t x)
{
    uint8_t g[16];
    vst1q_u8(g, got);
    for (int i = 0; i < 16; i++)
        CHECK(g[i] == (uint8_t)((k * 16 + i + 1) ^ x), "%s: byte %d of vector %d is 0x%02x", how, i, k, g[i]);
}

static void check_vectors(const char *how, uintptr_t limit)
{
    uintptr_t saved = a64_guard();
    /* Vectors: every byte of q0-q7 distinct. */
    memset(a64_vec_seen, 0, sizeof a64_vec_seen);
    __morestack_set_guard((void *)limit);
    hva4 r = ss_vec8(vec(0), vec(1), vec(2), vec(3), vec(4), vec(5), vec(6), vec(7));
    uintptr_t after = a64_guard();
    __morestack_set_guard((void *)saved);
    CHECK(after == limit, "%s: limit not restored", how);
    for (int k = 0; k < 8; k++)
        check_vec(how, vld1q_u8(a64_vec_seen[k]), k, 0);
    for (int k = 0; k < 4; k++)
        check_vec(how, r.v[k], 7 - k, 0xa5);
}

static void check_doubles(const char *how, uintptr_t limit)
{
    uintptr_t saved = a64_guard();
    /* Doubles, two on the stack; an HFA back in d0-d3. */
    __morestack_set_guard((void *)limit);
    hfa4 f = ss_fp(1.5, 2.25, 3.0, -4.0, 10.0, 0.125, 7.0, 2.0, 100.0, 1000.0);
    __morestack_set_guard((void *)saved);
    CHECK(f.a == 1.5 + 2.25 + 100.0, "%s: d0 = %g", how, f.a);
    CHECK(f.b == 3.0 * -4.0, "%s: d1 = %g", how, f.b);
    CHECK(f.c == 10.0 - 0.125 + 1000.0, "%s: d2 = %g", how, f.c);
    CHECK(f.d == 7.0 / 2.0, "%s: d3 = %g", how, f.d);
}

static void check_x8_x18(const char *how, uintptr_t limit)
{
    uintptr_t saved = a64_guard();
    /* A struct returned through x8; x18 as a static chain. */
    struct big b;
    memset(&b, 0, sizeof b);
    __morestack_set_guard((void *)limit);
    a64_call_with_x18(0x5eed0018c0ffee00ull, &b, 1000);
    __morestack_set_guard((void *)saved);
    CHECK(a64_x18_seen == 0x5eed0018c0ffee00ull, "%s: x18 = 0x%llx in the body", how,
          (unsigned long long)a64_x18_seen);
    for (int i = 0; i < 8; i++)
        CHECK(b.w[i] == 3000u + (unsigned)i, "%s: word %d returned through x8 is %llu", how, i,
              (unsigned long long)b.w[i]);
}

static void one_round(const char *how, uintptr_t limit)
{
    StackSegment *seg = __morestack_current_segment;
    check_vectors(how, limit);
    check_doubles(how, limit);
    check_x8_x18(how, limit);
    CHECK(__morestack_current_segment == seg, "%s: segment not restored", how);
}

/* An allocator whose callbacks trash every caller-saved register. */
static unsigned long clobber_allocs, clobber_frees;
static void *clobber_allocate(void *user, size_t size)
{
    (void)user;
    void *p = NULL;
    if (posix_memalign(&p, 64, size))
        return NULL;
    __atomic_fetch_add(&clobber_allocs, 1, __ATOMIC_RELAXED);
    a64_clobber();
    return p;
}
static void clobber_free(void *user, void *p, size_t size)
{
    (void)user; (void)size;
    __atomic_fetch_add(&clobber_frees, 1, __ATOMIC_RELAXED);
    a64_clobber();
    free(p);
}

struct job {
    void (*check)(const char *, uintptr_t);
    int path; /* 0 fast, 1 alloca block, 2 idle segments released, 3 signals blocked */
    char how[96];
};

static void *run_job(void *p)
{
    struct job *j = p;
    a64_slow_mode = j->path == 1 || j->path == 2 ? j->path : 0;
    int one = 1, zero = 0;
    if (j->path == 3)
        __splitstack_block_signals(&one, NULL);
    unsigned long before = clobber_allocs;
    j->check(j->how, UINTPTR_MAX);
    CHECK(clobber_allocs > before, "%s: the split did not allocate a segment", j->how);
    __splitstack_block_signals(&zero, NULL);
    a64_slow_mode = 0;
    return NULL;
}

static uint64_t alloca_live(void)
{
    SplitstackStats st;
    memset(&st, 0, sizeof st);
    splitstack_get_stats(&st, sizeof st);
    return st.alloca_blocks_allocated - st.alloca_blocks_freed;
}

int main(void)
{
    static const struct { const char *name; uintptr_t limit; } limits[] = {
        {"split", UINTPTR_MAX},
        {"no split", 0},
    };
    for (unsigned l = 0; l < 2; l++) {
        char how[64];
        /* Fast return path. */
        a64_slow_mode = 0;
        snprintf(how, sizeof how, "%s, fast path", limits[l].name);
        one_round(how, limits[l].limit);

        /* Slow path: an alloca block on the segment is freed on return. */
        a64_slow_mode = 1;
        uint64_t live = alloca_live();
        snprintf(how, sizeof how, "%s, alloca block", limits[l].name);
        one_round(how, limits[l].limit);
        if (limits[l].limit == UINTPTR_MAX)
            CHECK(alloca_live() == live, "%s: %llu alloca blocks left after returning from the segments", how,
                  (unsigned long long)(alloca_live() - live));
        a64_slow_mode = 2;
        snprintf(how, sizeof how, "%s, idle segments released", limits[l].name);
        one_round(how, limits[l].limit);
        a64_slow_mode = 0;

        /* Slow path: signals blocked around the switches on request; the
         * thread's mask is the same afterwards. */
        sigset_t mask, before, after;
        sigemptyset(&mask);
        sigaddset(&mask, SIGUSR2);
        sigprocmask(SIG_BLOCK, &mask, &before);
        int one = 1, zero = 0, old = -1;
        __splitstack_block_signals(&one, &old);
        snprintf(how, sizeof how, "%s, signals blocked", limits[l].name);
        one_round(how, limits[l].limit);
        __splitstack_block_signals(&zero, NULL);
        sigprocmask(SIG_SETMASK, NULL, &after);
        CHECK(sigismember(&after, SIGUSR2) && !sigismember(&after, SIGUSR1) && !sigismember(&after, SIGINT),
              "%s: signal mask changed", how);
        sigprocmask(SIG_SETMASK, &before, NULL);
        printf("%s: q0-q7, d0-d7 + 2 stack doubles, x8, x18 ok on all return paths\n", limits[l].name);
    }

    SplitstackAllocator a = {SPLITSTACK_ALLOCATOR_VERSION, 0, clobber_allocate, clobber_free, NULL};
    CHECK(splitstack_set_allocator(&a) == SplitstackOk, "splitstack_set_allocator");
    static const struct { void (*fn)(const char *, uintptr_t); const char *name; } checks[] = {
        {check_vectors, "q0-q7 and q0-q3"}, {check_doubles, "d0-d7, 2 stack doubles and d0-d3"},
        {check_x8_x18, "x8 and x18"},
    };
    static const char *paths[] = {"fast path", "alloca block", "idle segments released", "signals blocked"};
    for (unsigned c = 0; c < 3; c++)
        for (int path = 0; path < 4; path++) {
            struct job j = {checks[c].fn, path, ""};
            snprintf(j.how, sizeof j.how, "fresh thread, clobbering allocator, %s, %s", checks[c].name, paths[path]);
            pthread_t t;
            CHECK(pthread_create(&t, NULL, run_job, &j) == 0, "pthread_create");
            pthread_join(t, NULL);
        }
    CHECK(splitstack_set_allocator(NULL) == SplitstackOk, "splitstack_set_allocator(NULL)");
    printf("clobbering allocator: %lu allocations, %lu frees, every register intact\n", clobber_allocs,
           clobber_frees);
    return 0;
}
