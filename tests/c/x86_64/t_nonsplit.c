// Split-stack code calling non-split code, deep in a recursion.
//
// libc is not compiled with -fsplit-stack.  gold and lld rewrite the
// prologue of every split-stack function that calls into it so that it
// goes through __morestack_non_split and gets a large reserve (1 MiB with
// gold, 16 KiB with lld); ld.bfd rewrites nothing, and the libc code then
// runs in the slack below the limit.  Each level of a ~3000-deep recursion
// (frames of ~2 KB, so many segments) calls snprintf, strtod, memcpy and
// qsort, whose comparator is split-stack code with a big frame, called from
// inside libc, and splits on every call.  A function marked no_split_stack
// (no prologue check at all) calls back into split-stack code.
// A non-split function with a big frame, which needs the linker's help, is
// in t_nonsplit_obj.c.
#include "common.h"

#define DEPTH 3000
#define NSORT 24

static int comparator_calls, comparator_splits;
static uintptr_t limit_before_qsort;

/* What the deep calls must produce, computed by main before recursing. */
static char want_text[DEPTH + 1][96];
static double want_number[DEPTH + 1];

/* Compares through a 20 KB frame, so it splits when called with less room
 * than that below the limit (libc's qsort frames sit between it and the
 * split-stack caller). */
static int cmp_long(const void *a, const void *b)
{
    char frame[20000];
    ss_fill(frame, sizeof frame, 1);
    comparator_calls++;
    if (ss_limit() != limit_before_qsort)
        comparator_splits++;
    long x = *(const long *)a, y = *(const long *)b;
    CHECK(ss_verify(frame, sizeof frame, 1) < 0, "comparator frame corrupted");
    return (x > y) - (x < y);
}

/* Sorted values of the permutation used below. */
static long sort_value(int i, int seed)
{
    return ((long)i * 7919 + seed) % 100003 - 50000;
}

/* Several conversions, so that a clobbered argument register, a broken
 * va_list or a stack overflow inside vfprintf shows in the text. */
__attribute__((noinline)) static int format_line(char *out, size_t size, int depth)
{
    return snprintf(out, size, "%d|%s|%.3f|%05x|%c|%ld|%g", depth, "split", depth / 8.0, depth,
                    'a' + depth % 26, -1L * depth * depth, depth * 1e-7);
}

__attribute__((noinline)) static double parse_number(int depth)
{
    char num[64], *end;
    snprintf(num, sizeof num, "%d.%04de-2", depth, depth % 10000);
    double d = strtod(num, &end);
    CHECK(*end == 0, "strtod stopped early in \"%s\"", num);
    return d;
}

__attribute__((noinline)) static void libc_calls(int depth)
{
    char text[96];
    long values[NSORT];

    int n = format_line(text, sizeof text, depth);
    CHECK(n > 0 && n < (int)sizeof text, "snprintf returned %d", n);
    CHECK(strcmp(text, want_text[depth]) == 0, "depth %d: snprintf gave \"%s\", want \"%s\"",
          depth, text, want_text[depth]);

    double d = parse_number(depth);
    CHECK(d == want_number[depth], "depth %d: strtod gave %.17g, want %.17g", depth, d,
          want_number[depth]);

    /* memcpy between two stack buffers and back. */
    char a[512], b[512];
    ss_fill(a, sizeof a, (uint32_t)depth);
    memcpy(b, a, sizeof b);
    memset(a, 0, sizeof a);
    memcpy(a, b, sizeof a);
    CHECK(ss_verify(a, sizeof a, (uint32_t)depth) < 0, "depth %d: memcpy round trip differs",
          depth);

    /* qsort calling back into split-stack code. */
    if (depth % 10 == 0) {
        for (int i = 0; i < NSORT; i++)
            values[i] = sort_value((i * 5 + 3) % NSORT, depth);
        int before = comparator_calls;
        limit_before_qsort = ss_limit();
        qsort(values, NSORT, sizeof values[0], cmp_long);
        CHECK(comparator_calls > before, "qsort never called the comparator");
        for (int i = 1; i < NSORT; i++)
            CHECK(values[i - 1] <= values[i], "depth %d: qsort result not sorted at %d", depth, i);
        long sum = 0, want_sum = 0;
        for (int i = 0; i < NSORT; i++) {
            sum += values[i];
            want_sum += sort_value(i, depth);
        }
        CHECK(sum == want_sum, "depth %d: qsort lost elements", depth);
    }
}

/* Split-stack code with a big frame, called from a function without any
 * stack check: the runtime sees a caller it never set a limit for. */
__attribute__((noinline)) static long big_split(long x)
{
    char frame[30000];
    ss_fill(frame, sizeof frame, (uint32_t)x);
    CHECK(ss_verify(frame, sizeof frame, (uint32_t)x) < 0, "big_split frame corrupted");
    return x * 2 + frame[x % 100] - (char)(x + (x % 100) * 31);
}

__attribute__((noinline, no_split_stack)) static long unchecked(long x)
{
    volatile char small[200];
    small[0] = (char)x;
    return big_split(x + small[0] - (char)x) + 1;
}

__attribute__((noinline)) static uint64_t recurse(int depth)
{
    char pad[2000];
    ss_fill(pad, sizeof pad, (uint32_t)depth);
    libc_calls(depth);
    if (depth % 50 == 0) {
        uintptr_t lim = ss_limit();
        long r = unchecked(depth);
        CHECK(r == depth * 2L + 1, "depth %d: no_split_stack path returned %ld", depth, r);
        CHECK(ss_limit() == lim, "depth %d: limit changed across a no_split_stack call", depth);
    }
    uint64_t below = depth < DEPTH ? recurse(depth + 1) : (uint64_t)ss_count_pieces();
    CHECK(ss_verify(pad, sizeof pad, (uint32_t)depth) < 0, "frame %d corrupted", depth);
    return below;
}

int main(void)
{
    for (int i = 0; i <= DEPTH; i++) {
        format_line(want_text[i], sizeof want_text[i], i);
        want_number[i] = parse_number(i);
    }
    int pieces = (int)recurse(0);
    printf("depth %d: %d stack pieces at the bottom, %d comparator calls, %d of them split\n",
           DEPTH, pieces, comparator_calls, comparator_splits);
    CHECK(pieces > 2, "the recursion never left the first segment (%d pieces)", pieces);
    return 0;
}
