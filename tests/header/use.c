/* Compiled as C and as C++, with the includes in the order ORDER says:
 *   1: the client's own libgcc-style prototypes, then splitstack.h
 *   2: splitstack.h, then the prototypes
 *   3: splitstack.h, then the C/C++ standard headers
 *   4: the standard headers, then splitstack.h
 *   5: Boost's segmented_stack.hpp, then splitstack.h (C++ only)
 *   6: splitstack.h, then Boost's segmented_stack.hpp (C++ only)
 *   7: splitstack.h inside an extern "C" block (C++ only)
 * Then it makes, uses and releases contexts through both views (the
 * void *[10] array and the typed SplitstackContext) and prints "ok". */
#if ORDER == 1
#include "protos.h"
#include "splitstack.h"
#elif ORDER == 2
#include "splitstack.h"
#include "protos.h"
#elif ORDER == 3
#include "splitstack.h"
#ifdef __cplusplus
#include <cstdlib>
#include <cstdio>
#include <cstring>
#else
#include <stdlib.h>
#endif
#elif ORDER == 4
#ifdef __cplusplus
#include <cstdlib>
#include <cstdio>
#include <cstring>
#else
#include <stdlib.h>
#endif
#include "splitstack.h"
#elif ORDER == 5
#include <boost/context/posix/segmented_stack.hpp>
#include "splitstack.h"
#elif ORDER == 6
#include "splitstack.h"
#include <boost/context/posix/segmented_stack.hpp>
#elif ORDER == 7
extern "C" {
#include "splitstack.h"
}
#endif
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what)
{
    fprintf(stderr, "FAIL: %s\n", what);
    return 1;
}

int main(void)
{
    void *words[10];
    size_t size = 0, len;
    void *seg, *sp, *isp;
    if (getenv("SPLITSTACK_HEADER_TEST_NEVER_SET") != NULL)
        return fail("getenv");
    if (__splitstack_makecontext(16384, words, &size) == NULL || size < 16384)
        return fail("makecontext (void *[10])");
    if (__splitstack_find_context(words, &len, &seg, &sp, &isp) != NULL)
        return fail("find_context of a context never run");
    if (__splitstack_resetcontext(words, &size) == NULL)
        return fail("resetcontext (void *[10])");
    __splitstack_releasecontext(words);

    SplitstackContext typed;
    int off = 0, old = -1;
    if (__splitstack_makecontext(16384, splitstack_context_words(&typed), &size) == NULL)
        return fail("makecontext (SplitstackContext)");
    __splitstack_block_signals_context(splitstack_context_words(&typed), &off, &old);
    if (typed.segments == NULL || typed.dont_block_signals == 0)
        return fail("typed fields");
    if (__splitstack_resetcontext(splitstack_context_words(&typed), &size) == NULL)
        return fail("resetcontext (SplitstackContext)");
    __splitstack_releasecontext(splitstack_context_words(&typed));

    SplitstackStats st;
    if (splitstack_get_stats(&st, sizeof st) != sizeof st || st.segments_freed < 2)
        return fail("stats");
    puts("ok");
    return 0;
}
