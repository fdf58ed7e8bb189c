// Arguments that live on the stack when the callee has to split.
//
// __morestack must copy the caller's stack arguments (r11 bytes) to the new
// segment, and variadic callees instead read theirs from the old stack
// through __morestack's frame (those are in t_stackargs_va.c, which builds
// this file with STACKARGS_VARIADIC: clang cannot compile split-stack
// variadic functions).  Every callee here has a 20 KB frame and is called
// at the bottom of a segment (see ss_near_limit); it checks that it really
// ran on another segment by comparing the stack limit with the caller's.
// Each callee verifies every argument value it received; struct
// returns (in registers and through a hidden pointer) are verified by the
// caller.
#include "common.h"

#define BIG 20000

/* The limit seen by the caller just before the call; the callee compares. */
static volatile uintptr_t caller_limit;
static int splits_seen, calls_made;

#define ENTER()                                                              \
    do {                                                                     \
        calls_made++;                                                        \
        if (ss_limit() != caller_limit)                                      \
            splits_seen++;                                                   \
    } while (0)

/* Something the callee does with its big frame, so it cannot be dropped. */
__attribute__((noinline)) static long touch_frame(char *buf, long seed)
{
    ss_fill(buf, BIG, (uint32_t)seed);
    CHECK(ss_verify(buf, BIG, (uint32_t)seed) < 0, "frame fill mismatch");
    return buf[BIG / 2];
}

/* ---- 16 integer arguments: 6 in registers, 10 on the stack ---- */
SS_KEEP_ARGS long ints16(long a0, long a1, long a2, long a3, long a4,
                         long a5, long a6, long a7, long a8, long a9,
                         long a10, long a11, long a12, long a13,
                         long a14, long a15)
{
    char buf[BIG];
    ENTER();
    long v[16] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15};
    for (int i = 0; i < 16; i++)
        CHECK(v[i] == 1000003L * (i + 1) - 7 * i, "ints16: argument %d is %ld", i, v[i]);
    touch_frame(buf, a15);
    long s = 0;
    for (int i = 0; i < 16; i++)
        s = s * 3 + v[i];
    return s;
}

/* ---- 20 doubles mixed with ints: 8 in xmm, the rest on the stack ---- */
SS_KEEP_ARGS double mixed(double d0, int i0, double d1, int i1, double d2,
                          int i2, double d3, int i3, double d4, int i4,
                          double d5, int i5, double d6, int i6, double d7,
                          int i7, double d8, int i8, double d9, int i9,
                          float f10, char c11, short s12, double d13)
{
    char buf[BIG];
    ENTER();
    double d[10] = {d0, d1, d2, d3, d4, d5, d6, d7, d8, d9};
    int n[10] = {i0, i1, i2, i3, i4, i5, i6, i7, i8, i9};
    for (int i = 0; i < 10; i++) {
        CHECK(d[i] == 0.5 + i * 1.25, "mixed: double %d is %g", i, d[i]);
        CHECK(n[i] == -100 * i - 1, "mixed: int %d is %d", i, n[i]);
    }
    CHECK(f10 == 3.75f, "mixed: float is %g", (double)f10);
    CHECK(c11 == 'q', "mixed: char is %d", c11);
    CHECK(s12 == -12345, "mixed: short is %d", s12);
    CHECK(d13 == -1e300, "mixed: last double is %g", d13);
    touch_frame(buf, i9);
    double s = 0;
    for (int i = 0; i < 10; i++)
        s += d[i] * n[i];
    return s + f10 + c11 + s12;
}

/* ---- structs passed by value in memory, and a struct returned via sret ---- */
struct big {
    long w[12];
    double x;
    char tag[9];
};

struct pair {
    long a;
    double b;
};

static struct big make_big(int k)
{
    struct big b;
    for (int i = 0; i < 12; i++)
        b.w[i] = k * 1000L + i;
    b.x = k * 0.25;
    for (int i = 0; i < 8; i++)
        b.tag[i] = (char)('a' + (k + i) % 26);
    b.tag[8] = 0;
    return b;
}

static int big_equal(const struct big *p, const struct big *q)
{
    for (int i = 0; i < 12; i++)
        if (p->w[i] != q->w[i])
            return 0;
    for (int i = 0; i < 9; i++) /* not memcmp: see common.h */
        if (p->tag[i] != q->tag[i])
            return 0;
    return p->x == q->x;
}

/* Takes two structs by value (both on the stack), an int in a register
 * after them and a struct small enough for registers; returns a big struct
 * through the hidden pointer in rdi, which __morestack must preserve. */
SS_KEEP_ARGS struct big structs(struct big p, int k, struct big q,
                                struct pair r)
{
    char buf[BIG];
    ENTER();
    struct big ep = make_big(k), eq = make_big(k + 1);
    CHECK(big_equal(&p, &ep), "structs: first struct argument corrupted");
    CHECK(big_equal(&q, &eq), "structs: second struct argument corrupted");
    CHECK(r.a == 77 && r.b == 7.5, "structs: pair is {%ld, %g}", r.a, r.b);
    touch_frame(buf, k);
    return make_big(k + 2);
}

/* Returns a two-register struct (rax + xmm0). */
SS_KEEP_ARGS struct pair ret_pair(long a, double b)
{
    char buf[BIG];
    ENTER();
    touch_frame(buf, a);
    struct pair r = {a * 2 + 1, b / 2};
    return r;
}

/* ---- variadic functions (t_stackargs_va.c; clang cannot compile them) ---- */
#ifdef STACKARGS_VARIADIC
#include <stdarg.h>

/* n pairs (long, double) after the fixed arguments; with n large, most of
 * them are passed on the stack. */
SS_KEEP_ARGS double va_pairs(int n, ...)
{
    char buf[BIG];
    ENTER();
    va_list ap;
    double s = 0;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        long l = va_arg(ap, long);
        double d = va_arg(ap, double);
        CHECK(l == 11L * i + 5, "va_pairs: long %d is %ld", i, l);
        CHECK(d == 0.125 * i - 3, "va_pairs: double %d is %g", i, d);
        s += l * d;
    }
    va_end(ap);
    touch_frame(buf, n);
    return s;
}

/* Variadic with a struct by value among the variadic arguments. */
SS_KEEP_ARGS long va_structs(const char *fmt, ...)
{
    char buf[BIG];
    ENTER();
    va_list ap;
    long s = 0;
    int k = 0;
    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++, k++) {
        if (*p == 'B') {
            struct big b = va_arg(ap, struct big);
            struct big e = make_big(k);
            CHECK(big_equal(&b, &e), "va_structs: struct at position %d corrupted", k);
            s += b.w[3];
        } else {
            int v = va_arg(ap, int);
            CHECK(v == k * k, "va_structs: int at position %d is %d", k, v);
            s += v;
        }
    }
    va_end(ap);
    touch_frame(buf, s);
    return s;
}
#endif

/* Each case below makes one call and checks its result.  The cases are
 * run through ss_near_limit, i.e. at the bottom of a segment, so the 20 KB
 * callee must split whatever the segment sizes of the runtime are. */
__attribute__((noinline)) static void *case_ints16(void *arg)
{
    int round = *(int *)arg;
    caller_limit = ss_limit();
    long li = ints16(1000003L * 1, 1000003L * 2 - 7, 1000003L * 3 - 14, 1000003L * 4 - 21,
                     1000003L * 5 - 28, 1000003L * 6 - 35, 1000003L * 7 - 42,
                     1000003L * 8 - 49, 1000003L * 9 - 56, 1000003L * 10 - 63,
                     1000003L * 11 - 70, 1000003L * 12 - 77, 1000003L * 13 - 84,
                     1000003L * 14 - 91, 1000003L * 15 - 98, 1000003L * 16 - 105);
    long want = 0;
    for (int i = 0; i < 16; i++)
        want = want * 3 + (1000003L * (i + 1) - 7 * i);
    CHECK(li == want, "round %d: ints16 returned %ld, want %ld", round, li, want);
    return NULL;
}

__attribute__((noinline)) static void *case_mixed(void *arg)
{
    int round = *(int *)arg;
    caller_limit = ss_limit();
    double dm = mixed(0.5, -1, 1.75, -101, 3.0, -201, 4.25, -301, 5.5, -401, 6.75, -501, 8.0,
                      -601, 9.25, -701, 10.5, -801, 11.75, -901, 3.75f, 'q', -12345, -1e300);
    double want = 0;
    for (int i = 0; i < 10; i++)
        want += (0.5 + i * 1.25) * (-100 * i - 1);
    want += 3.75f + 'q' - 12345;
    CHECK(dm == want, "round %d: mixed returned %.17g, want %.17g", round, dm, want);
    return NULL;
}

__attribute__((noinline)) static void *case_structs(void *arg)
{
    int round = *(int *)arg;
    struct pair r = {77, 7.5};
    caller_limit = ss_limit();
    struct big got = structs(make_big(round), round, make_big(round + 1), r);
    struct big want = make_big(round + 2);
    CHECK(big_equal(&got, &want), "round %d: struct returned through sret corrupted", round);
    return NULL;
}

__attribute__((noinline)) static void *case_ret_pair(void *arg)
{
    int round = *(int *)arg;
    caller_limit = ss_limit();
    struct pair rp = ret_pair(round + 40, 9.0 + round);
    CHECK(rp.a == 2L * (round + 40) + 1 && rp.b == (9.0 + round) / 2,
          "round %d: ret_pair returned {%ld, %g}", round, rp.a, rp.b);
    return NULL;
}

#ifdef STACKARGS_VARIADIC
__attribute__((noinline)) static void *case_va_pairs(void *arg)
{
    int round = *(int *)arg;
    caller_limit = ss_limit();
    double vp = va_pairs(12, 5L, -3.0, 16L, -2.875, 27L, -2.75, 38L, -2.625, 49L, -2.5, 60L,
                         -2.375, 71L, -2.25, 82L, -2.125, 93L, -2.0, 104L, -1.875, 115L, -1.75,
                         126L, -1.625);
    double want = 0;
    for (int i = 0; i < 12; i++)
        want += (11.0 * i + 5) * (0.125 * i - 3);
    CHECK(vp == want, "round %d: va_pairs returned %g, want %g", round, vp, want);
    return NULL;
}

__attribute__((noinline)) static void *case_va_structs(void *arg)
{
    int round = *(int *)arg;
    caller_limit = ss_limit();
    long vs = va_structs("iBiiBi", 0, make_big(1), 4, 9, make_big(4), 25);
    long want = 0 + make_big(1).w[3] + 4 + 9 + make_big(4).w[3] + 25;
    CHECK(vs == want, "round %d: va_structs returned %ld, want %ld", round, vs, want);
    return NULL;
}

static void *(*const cases[])(void *) = {case_ints16,   case_mixed,    case_structs,
                                         case_ret_pair, case_va_pairs, case_va_structs};
#else
static void *(*const cases[])(void *) = {case_ints16, case_mixed, case_structs, case_ret_pair};
#endif
#define NCASES (int)(sizeof cases / sizeof cases[0])

/* Runs every case once, at a distance from the limit that varies with the
 * round, and checks each callee really ran on a new segment. */
__attribute__((noinline)) static void call_all(int round)
{
    for (int i = 0; i < NCASES; i++) {
        int before = splits_seen;
        uintptr_t room = 2048 + (uintptr_t)(round * 53 + i * 211) % 6000;
        ss_near_limit(cases[i], &round, room);
        CHECK(splits_seen == before + 1, "round %d case %d: callee did not run on a new segment",
              round, i);
    }
}

/* Recursion with small frames, calling call_all at a few depths, so that
 * the calls also happen below many segment boundaries. */
__attribute__((noinline)) static long descend(int depth)
{
    char pad[300];
    ss_fill(pad, sizeof pad, (uint32_t)depth);
    if (depth % 97 == 0)
        call_all(depth);
    long r = depth > 0 ? descend(depth - 1) : 0;
    CHECK(ss_verify(pad, sizeof pad, (uint32_t)depth) < 0, "descend: frame %d corrupted", depth);
    return r + pad[7];
}

int main(void)
{
    call_all(0);
    descend(2000);
    printf("%d calls with stack arguments, %d of them on a new segment\n", calls_made,
           splits_seen);
    CHECK(calls_made == splits_seen, "some calls did not split");
    return 0;
}
