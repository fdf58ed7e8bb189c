// LIBS: -lm
//
// Floating-point and vector values across a split.
//
// When a callee's prologue calls __morestack, its arguments are still in
// xmm0-7 (and in rdi..r9, and on the stack), and when the callee's body
// returns through __morestack the results are in xmm0/xmm1, st(0) or
// rax/rdx.  The runtime must preserve all of them while it switches stacks
// (libgcc's own helpers avoid vector registers altogether; a runtime whose
// helpers may use them has to save them).  Every callee here has a 20 KB
// frame and is called at the bottom of a segment, and checks that it ran
// on a new segment.  The floating-point environment (rounding mode in
// MXCSR) must survive too.
// The 256-bit and 512-bit variants are t_ymm.c and t_zmm.c.
#include <complex.h>
#include <fenv.h>
#include <immintrin.h>

#include "common.h"

#define BIG 20000

static volatile uintptr_t caller_limit;
static int calls, splits;

/* Every callee: note whether it runs on a new segment, and give it a frame
 * that cannot fit in what is left of the caller's segment. */
#define BIG_FRAME()                                                          \
    char frame_[BIG];                                                        \
    calls++;                                                                 \
    if (ss_limit() != caller_limit)                                          \
        splits++;                                                            \
    ss_fill(frame_, sizeof frame_, 3)

static int eq128(__m128 a, __m128 b)
{
    return _mm_movemask_ps(_mm_cmpeq_ps(a, b)) == 0xf;
}

/* 10 doubles: 8 in xmm0-7, 2 on the stack. */
SS_KEEP_ARGS double ten_doubles(double a0, double a1, double a2, double a3,
                                double a4, double a5, double a6, double a7,
                                double a8, double a9)
{
    BIG_FRAME();
    double v[10] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9};
    for (int i = 0; i < 10; i++)
        CHECK(v[i] == i * 1.5 + 0.25, "ten_doubles: argument %d is %.17g", i, v[i]);
    return a0 * a1 + a2 - a3 * a4 + a5 / a6 + a7 + a8 * a9;
}

/* floats, each in the low lane of its own register, plus integers. */
SS_KEEP_ARGS float floats_and_ints(float f0, long i0, float f1, long i1,
                                   float f2, float f3, float f4, float f5,
                                   float f6, float f7, float f8)
{
    BIG_FRAME();
    float v[9] = {f0, f1, f2, f3, f4, f5, f6, f7, f8};
    for (int i = 0; i < 9; i++)
        CHECK(v[i] == -2.5f * i + 1, "floats_and_ints: float %d is %g", i, (double)v[i]);
    CHECK(i0 == 0x1122334455667788L && i1 == -42, "floats_and_ints: ints %lx %ld", i0, i1);
    return f0 + f1 * f2 - f3 + f4 * f5 + f6 - f7 * f8;
}

/* Ten __m128: eight in xmm0-7 (all four lanes used), two on the stack. */
SS_KEEP_ARGS __m128 vectors(__m128 v0, __m128 v1, __m128 v2, __m128 v3,
                            __m128 v4, __m128 v5, __m128 v6, __m128 v7,
                            __m128 v8, __m128 v9)
{
    BIG_FRAME();
    __m128 v[10] = {v0, v1, v2, v3, v4, v5, v6, v7, v8, v9};
    for (int i = 0; i < 10; i++) {
        __m128 want = _mm_set_ps(i * 4 + 3.5f, i * 4 + 2.5f, i * 4 + 1.5f, i * 4 + 0.5f);
        CHECK(eq128(v[i], want), "vectors: argument %d differs in some lane", i);
    }
    __m128 s = _mm_setzero_ps();
    for (int i = 0; i < 10; i++)
        s = _mm_add_ps(_mm_mul_ps(s, _mm_set1_ps(0.5f)), v[i]);
    return s;
}

/* long double: passed in memory, returned in st(0). */
SS_KEEP_ARGS long double x87(double d, long double l, int k)
{
    BIG_FRAME();
    CHECK(d == 0.1 && l == 1.0L / 3 && k == 7, "x87: arguments %g %Lg %d", d, l, k);
    return l * k + d;
}

/* Complex double: argument and result in xmm0:xmm1. */
SS_KEEP_ARGS double complex cplx(double complex z, double complex w)
{
    BIG_FRAME();
    CHECK(creal(z) == 1.5 && cimag(z) == -2.5 && creal(w) == 0.5 && cimag(w) == 4,
          "cplx: arguments (%g,%g) (%g,%g)", creal(z), cimag(z), creal(w), cimag(w));
    return z * w;
}

/* Structs returned in two SSE registers, and in rax + xmm0. */
struct dd {
    double x, y;
};
struct lf {
    long n;
    float f;
};

SS_KEEP_ARGS struct dd ret_dd(double x)
{
    BIG_FRAME();
    struct dd r = {x * 3, -x};
    return r;
}

SS_KEEP_ARGS struct lf ret_lf(long n, float f)
{
    BIG_FRAME();
    struct lf r = {n + 1, f * 2};
    return r;
}

/* 128-bit integers: rdi:rsi in, rax:rdx out. */
SS_KEEP_ARGS unsigned __int128 wide(unsigned __int128 a, unsigned __int128 b)
{
    BIG_FRAME();
    return a * 3 + b;
}

/* Division under the caller's rounding mode: the result differs between
 * round-to-nearest and round-upward, so a reset MXCSR shows. */
SS_KEEP_ARGS double divide(double a, double b)
{
    BIG_FRAME();
    volatile double x = a, y = b;
    return x / y;
}

__attribute__((noinline)) static void *all_cases(void *arg)
{
    (void)arg;
    int before = splits;

    caller_limit = ss_limit();
    double td = ten_doubles(0.25, 1.75, 3.25, 4.75, 6.25, 7.75, 9.25, 10.75, 12.25, 13.75);
    CHECK(td == 0.25 * 1.75 + 3.25 - 4.75 * 6.25 + 7.75 / 9.25 + 10.75 + 12.25 * 13.75,
          "ten_doubles returned %.17g", td);

    caller_limit = ss_limit();
    float ff = floats_and_ints(1, 0x1122334455667788L, -1.5f, -42, -4, -6.5f, -9, -11.5f, -14,
                               -16.5f, -19);
    CHECK(ff == 1 + -1.5f * -4 - -6.5f + -9 * -11.5f + -14 - -16.5f * -19,
          "floats_and_ints returned %g", (double)ff);

    caller_limit = ss_limit();
    __m128 a[10];
    for (int i = 0; i < 10; i++)
        a[i] = _mm_set_ps(i * 4 + 3.5f, i * 4 + 2.5f, i * 4 + 1.5f, i * 4 + 0.5f);
    __m128 vs = vectors(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
    __m128 want = _mm_setzero_ps();
    for (int i = 0; i < 10; i++)
        want = _mm_add_ps(_mm_mul_ps(want, _mm_set1_ps(0.5f)), a[i]);
    CHECK(eq128(vs, want), "vectors returned a wrong vector");

    caller_limit = ss_limit();
    long double ld = x87(0.1, 1.0L / 3, 7);
    CHECK(ld == (1.0L / 3) * 7 + 0.1, "x87 returned %Lg", ld);

    caller_limit = ss_limit();
    double complex z = cplx(1.5 - 2.5 * I, 0.5 + 4 * I);
    CHECK(z == (1.5 - 2.5 * I) * (0.5 + 4 * I), "cplx returned (%g,%g)", creal(z), cimag(z));

    caller_limit = ss_limit();
    struct dd d = ret_dd(2.5);
    CHECK(d.x == 7.5 && d.y == -2.5, "ret_dd returned {%g, %g}", d.x, d.y);

    caller_limit = ss_limit();
    struct lf l = ret_lf(99, 0.75f);
    CHECK(l.n == 100 && l.f == 1.5f, "ret_lf returned {%ld, %g}", l.n, (double)l.f);

    caller_limit = ss_limit();
    unsigned __int128 big = ((unsigned __int128)0x0123456789abcdefULL << 64) | 0xfedcba9876543210ULL;
    unsigned __int128 w = wide(big, 5);
    CHECK(w == big * 3 + 5, "wide returned a wrong value");

    CHECK(splits - before == 8, "only %d of 8 callees ran on a new segment", splits - before);
    return NULL;
}

__attribute__((noinline)) static void *rounding_case(void *arg)
{
    double *out = arg;
    caller_limit = ss_limit();
    *out = divide(1.0, 3.0);
    return NULL;
}

int main(void)
{
    for (int round = 0; round < 50; round++)
        ss_near_limit(all_cases, NULL, 1024 + (uintptr_t)round * 97);

    volatile double one = 1.0, three = 3.0;
    double nearest = one / three;
    CHECK(fesetround(FE_UPWARD) == 0, "fesetround failed");
    double upward_here = one / three, upward_there = 0;
    int before = splits;
    ss_near_limit(rounding_case, &upward_there, 2048);
    fesetround(FE_TONEAREST);
    CHECK(splits == before + 1, "the rounding case did not split");
    CHECK(upward_here != nearest, "the rounding mode has no effect here (test broken)");
    CHECK(upward_there == upward_here, "rounding mode lost across the split: %a, want %a",
          upward_there, upward_here);

    printf("%d calls, %d on a new segment\n", calls, splits);
    CHECK(calls == splits, "some calls did not split");
    return 0;
}
