/*
 * Hot split: one call that crosses a segment boundary and returns, in a
 * tight loop (hot.c).  Measured in this order, in one process:
 *   hot.floor    the same call built without -fsplit-stack
 *   hot.default  the runtime's default (libgcc blocks signals: 4
 *                rt_sigprocmask per round trip; ours does not)
 *   hot.noblock  after __splitstack_block_signals(&zero, NULL), what every
 *                real client of libgcc does
 *   hot.block    after __splitstack_block_signals(&one, NULL)
 * Result: nanoseconds per call.  BENCH_HOT_MODES (say "noblock") limits
 * the run to the modes named, for profiling one of them; BENCH_HOT_COUNT
 * runs a fixed number of calls instead of timing them.
 */
#include "common.h"

static volatile long sink;

static void loop_split(long n, void *arg)
{
    (void)arg;
    long s = 0;
    for (long i = 0; i < n; i++)
        s += hot_split(i);
    sink = s;
}

static void loop_floor(long n, void *arg)
{
    (void)arg;
    long s = 0;
    for (long i = 0; i < n; i++)
        s += hot_floor(i);
    sink = s;
}

/* Is mode one of the comma-separated words of BENCH_HOT_MODES (or unset)? */
static int wanted(const char *mode)
{
    const char *m = getenv("BENCH_HOT_MODES");
    if (!m || !*m)
        return 1;
    size_t n = strlen(mode);
    for (const char *p = m; (p = strstr(p, mode)) != NULL; p += n)
        if ((p == m || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
            return 1;
    return 0;
}

int main(void)
{
    /* The call must give the right answer (and so really run). */
    long s = 0, want = 0;
    for (long i = 0; i < 1000; i++) {
        s += hot_split(i);
        want += (char)i + 1;
    }
    if (s != want || hot_floor(5) != 6) {
        fail("hot.check", "wrong result from the hot function");
        return 1;
    }
    /* BENCH_HOT_COUNT=N: run exactly N calls of each mode, untimed (for
     * instruction counts: valgrind --tool=callgrind at two N). */
    long count = env_long("BENCH_HOT_COUNT", 0);
    if (count > 0) {
        int zero = 0, one = 1;
        if (wanted("floor"))
            loop_floor(count, NULL);
        if (wanted("default"))
            loop_split(count, NULL);
        __splitstack_block_signals(&zero, NULL);
        if (wanted("noblock"))
            loop_split(count, NULL);
        __splitstack_block_signals(&one, NULL);
        if (wanted("block"))
            loop_split(count, NULL);
        printf("# ran %ld calls per mode\n", count);
        return 0;
    }
    if (wanted("floor"))
        result("hot.floor", ns_per_op(loop_floor, NULL), "ns");
    if (wanted("default"))
        result("hot.default", ns_per_op(loop_split, NULL), "ns");
    int zero = 0, one = 1;
    __splitstack_block_signals(&zero, NULL);
    if (wanted("noblock"))
        result("hot.noblock", ns_per_op(loop_split, NULL), "ns");
    __splitstack_block_signals(&one, NULL);
    if (wanted("block"))
        result("hot.block", ns_per_op(loop_split, NULL), "ns");
    return 0;
}
