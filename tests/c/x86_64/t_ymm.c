// CFLAGS: -mavx
//
// 256-bit vectors across a split (see t_xmm.c): __m256 arguments in
// ymm0-7 and on the stack, and an __m256 result in ymm0.  A runtime that
// saves only the low 128 bits, or that runs a VEX-encoded instruction on
// an xmm register (which zeroes the upper half of the ymm register) while
// the arguments are live, fails here; so does one whose cold path (the
// first split of the process, here in the 20 KB callee) calls libc's AVX
// mem* functions.  Exit 77 when the CPU has no AVX.
#include <immintrin.h>

#include "common.h"

#define BIG 20000

static volatile uintptr_t caller_limit;
static int calls, splits;

static int eq256(__m256 a, __m256 b)
{
    return _mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_EQ_OQ)) == 0xff;
}

static __m256 arg_value(int i)
{
    return _mm256_set_ps(i * 8 + 7.5f, i * 8 + 6.5f, i * 8 + 5.5f, i * 8 + 4.5f, i * 8 + 3.5f,
                         i * 8 + 2.5f, i * 8 + 1.5f, i * 8 + 0.5f);
}

/* Ten __m256: eight in ymm0-7, two on the stack; one more integer. */
SS_KEEP_ARGS __m256 vectors(__m256 v0, __m256 v1, __m256 v2, __m256 v3,
                            __m256 v4, __m256 v5, __m256 v6, __m256 v7,
                            __m256 v8, __m256 v9, long tag)
{
    char frame[BIG];
    calls++;
    if (ss_limit() != caller_limit)
        splits++;
    ss_fill(frame, sizeof frame, 5);
    __m256 v[10] = {v0, v1, v2, v3, v4, v5, v6, v7, v8, v9};
    for (int i = 0; i < 10; i++)
        CHECK(eq256(v[i], arg_value(i)), "argument %d differs in some lane (upper half lost?)", i);
    CHECK(tag == 0x5a5a5a5a5a5aL, "integer argument is %lx", tag);
    __m256 s = _mm256_setzero_ps();
    for (int i = 0; i < 10; i++)
        s = _mm256_add_ps(_mm256_mul_ps(s, _mm256_set1_ps(0.5f)), v[i]);
    return s;
}

__attribute__((noinline)) static void *one_call(void *arg)
{
    (void)arg;
    caller_limit = ss_limit();
    __m256 r = vectors(arg_value(0), arg_value(1), arg_value(2), arg_value(3), arg_value(4),
                       arg_value(5), arg_value(6), arg_value(7), arg_value(8), arg_value(9),
                       0x5a5a5a5a5a5aL);
    __m256 want = _mm256_setzero_ps();
    for (int i = 0; i < 10; i++)
        want = _mm256_add_ps(_mm256_mul_ps(want, _mm256_set1_ps(0.5f)), arg_value(i));
    CHECK(eq256(r, want), "result differs in some lane (upper half lost on return?)");
    return NULL;
}

/* Out of main, which calls no non-split function itself: gold and lld
 * would otherwise make main's prologue split (through
 * __morestack_non_split), and the process's first split, the runtime's
 * cold path (allocator set-up, first segment), would happen there rather
 * than in vectors, with every argument live. */
__attribute__((noinline)) static int no_avx(void)
{
    printf("UNSUPPORTED: this CPU has no AVX\n");
    return SS_EXIT_UNSUPPORTED;
}

__attribute__((noinline)) static int report(void)
{
    printf("%d calls, %d on a new segment\n", calls, splits);
    return 0;
}

int main(void)
{
    if (!__builtin_cpu_supports("avx"))
        return no_avx();
    for (int round = 0; round < 50; round++)
        ss_near_limit(one_call, NULL, 1024 + (uintptr_t)round * 97);
    CHECK(calls == splits, "some calls did not split");
    return report();
}
