// CFLAGS: -mavx512f
//
// 512-bit vectors across a split (see t_xmm.c and t_ymm.c): __m512
// arguments in zmm0-7 and on the stack, and an __m512 result in zmm0.  A
// runtime that saves only xmm or ymm state while arguments are live fails
// here.  Exit 77 when the CPU has no AVX-512F.
#include <immintrin.h>

#include "common.h"

#define BIG 20000

static volatile uintptr_t caller_limit;
static int calls, splits;

static int eq512(__m512 a, __m512 b)
{
    return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ) == 0xffff;
}

static __m512 arg_value(int i)
{
    float lanes[16];
    for (int k = 0; k < 16; k++)
        lanes[k] = i * 16 + k + 0.5f;
    return _mm512_loadu_ps(lanes);
}

/* Ten __m512: eight in zmm0-7, two on the stack; one more integer. */
SS_KEEP_ARGS __m512 vectors(__m512 v0, __m512 v1, __m512 v2, __m512 v3,
                            __m512 v4, __m512 v5, __m512 v6, __m512 v7,
                            __m512 v8, __m512 v9, long tag)
{
    char frame[BIG];
    calls++;
    if (ss_limit() != caller_limit)
        splits++;
    ss_fill(frame, sizeof frame, 9);
    __m512 v[10] = {v0, v1, v2, v3, v4, v5, v6, v7, v8, v9};
    for (int i = 0; i < 10; i++)
        CHECK(eq512(v[i], arg_value(i)), "argument %d differs in some lane (upper bits lost?)", i);
    CHECK(tag == 0x5a5a5a5a5a5aL, "integer argument is %lx", tag);
    __m512 s = _mm512_setzero_ps();
    for (int i = 0; i < 10; i++)
        s = _mm512_add_ps(_mm512_mul_ps(s, _mm512_set1_ps(0.5f)), v[i]);
    return s;
}

__attribute__((noinline)) static void *one_call(void *arg)
{
    (void)arg;
    caller_limit = ss_limit();
    __m512 r = vectors(arg_value(0), arg_value(1), arg_value(2), arg_value(3), arg_value(4),
                       arg_value(5), arg_value(6), arg_value(7), arg_value(8), arg_value(9),
                       0x5a5a5a5a5a5aL);
    __m512 want = _mm512_setzero_ps();
    for (int i = 0; i < 10; i++)
        want = _mm512_add_ps(_mm512_mul_ps(want, _mm512_set1_ps(0.5f)), arg_value(i));
    CHECK(eq512(r, want), "result differs in some lane (upper bits lost on return?)");
    return NULL;
}

/* Out of main, which calls no non-split function itself: gold and lld
 * would otherwise make main's prologue split (through
 * __morestack_non_split), and the process's first split, the runtime's
 * cold path (allocator set-up, first segment), would happen there rather
 * than in vectors, with every argument live. */
__attribute__((noinline)) static int no_avx512(void)
{
    printf("UNSUPPORTED: this CPU has no AVX-512F\n");
    return SS_EXIT_UNSUPPORTED;
}

__attribute__((noinline)) static int report(void)
{
    printf("%d calls, %d on a new segment\n", calls, splits);
    return 0;
}

int main(void)
{
    if (!__builtin_cpu_supports("avx512f"))
        return no_avx512();
    for (int round = 0; round < 50; round++)
        ss_near_limit(one_call, NULL, 1024 + (uintptr_t)round * 97);
    CHECK(calls == splits, "some calls did not split");
    return report();
}
