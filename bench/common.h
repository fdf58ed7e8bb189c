/*
 * Shared helpers of the benchmark drivers.
 *
 * Every benchmark is two kinds of object:
 *   - a driver (bench_*.c, this header, coro.c, switch.S), compiled WITHOUT
 *     -fsplit-stack: it times, reads /proc, calls libc and the
 *     __splitstack_* API;
 *   - the workload (work.c, hot.c), compiled WITH -fsplit-stack, calling
 *     nothing but itself.
 * Why: gold rewrites every split-stack function that calls a function of
 * an object without .note.GNU-split-stack (libc, and libgcc's
 * generic-morestack.o, but not libsplitstack, whose objects carry both
 * notes) to demand 1 MiB more stack through __morestack_non_split.  Had
 * the split-stack code called libc or the API, the two runtimes would be
 * running different prologues.  With this split, no call is rewritten in
 * either build, and the same objects are linked against both runtimes.
 *
 * Output: one line per measurement,
 *     result <key> <value> <unit>
 * and, when something could not be measured,
 *     fail <key> <reason>
 * (read by bench/run.py and bench/smoke.sh), plus free-form "# ..." notes.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The runtime API, declared here (libgcc has no header; ours has one, but
 * the same source must build against both). */
void __splitstack_getcontext(void *ctx[10]);
void __splitstack_setcontext(void *ctx[10]);
void *__splitstack_makecontext(size_t stack_size, void *ctx[10], size_t *size);
void *__splitstack_resetcontext(void *ctx[10], size_t *size);
void __splitstack_releasecontext(void *ctx[10]);
void __splitstack_block_signals(int *new_value, int *old_value);
void __splitstack_block_signals_context(void *ctx[10], int *new_value, int *old_value);

/* Workload (split-stack objects). */
long hot_split(long i);         /* 20 KB frame: splits when called from main */
long hot_floor(long i);         /* the same function without -fsplit-stack */
long deep_recurse(long n);      /* n small frames down and back */
long small_recurse(long n);     /* a few KB in all, for coroutines */
long thread_recurse(long n);    /* ~1 KB frames, for threads */

/*
 * Time for measurements: the calling thread's CPU time by default, so that
 * the time other processes of this shared machine take the CPU away is not
 * counted (system calls and page faults, being CPU time of the thread, are);
 * BENCH_CLOCK=wall for CLOCK_MONOTONIC.  wall_s() is always wall time.
 */
static inline double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline double now_s(void)
{
    static int clock_id = -1;
    if (clock_id < 0) {
        const char *c = getenv("BENCH_CLOCK");
        clock_id = c && strcmp(c, "wall") == 0 ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID;
    }
    struct timespec ts;
    clock_gettime(clock_id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void result(const char *key, double value, const char *unit)
{
    printf("result %s %.6g %s\n", key, value, unit);
    fflush(stdout);
}

static inline void fail(const char *key, const char *reason)
{
    printf("fail %s %s\n", key, reason);
    fflush(stdout);
}

/* Environment knob with a default (the runner and smoke test set these). */
static inline long env_long(const char *name, long dflt)
{
    const char *v = getenv(name);
    return v && *v ? atol(v) : dflt;
}

static inline double env_double(const char *name, double dflt)
{
    const char *v = getenv(name);
    return v && *v ? atof(v) : dflt;
}

/* A field of /proc/self/status in KiB (VmRSS, VmHWM, ...); -1 if absent. */
static inline long status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    size_t n = strlen(field);
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            v = atol(line + n + 1);
            break;
        }
    fclose(f);
    return v;
}

/* Number of mappings (lines of /proc/self/maps). */
static inline long vma_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    long n = 0;
    int c;
    while ((c = getc(f)) != EOF)
        if (c == '\n')
            n++;
    fclose(f);
    return n;
}

static inline long mem_available_kib(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return -1;
    char line[256];
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "MemAvailable:", 13) == 0) {
            v = atol(line + 13);
            break;
        }
    fclose(f);
    return v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/*
 * Nanoseconds per iteration of loop(n, arg): the iteration count grows
 * until one run takes BENCH_MIN_TIME/5 seconds (default 0.04), then 5 runs
 * of that count are timed and the fastest is returned: on a shared machine
 * other processes only ever add time, so the fastest run is the one least
 * disturbed (bench/run.py then takes the median over rounds).
 */
typedef void (*loop_fn)(long n, void *arg);

static inline double ns_per_op(loop_fn loop, void *arg)
{
    double want = env_double("BENCH_MIN_TIME", 0.2) / 5;
    long n = 1;
    loop(1, arg); /* warm: first split maps segments, first call binds */
    for (;;) {
        double t0 = now_s();
        loop(n, arg);
        double t = now_s() - t0;
        if (t >= want || n >= (1L << 40))
            break;
        /* jump close to the target once the count is measurable */
        if (t > want / 64)
            n = (long)((double)n * want / t * 1.1) + 1;
        else
            n *= 8;
    }
    double runs[5];
    for (int r = 0; r < 5; r++) {
        double t0 = now_s();
        loop(n, arg);
        runs[r] = (now_s() - t0) / (double)n * 1e9;
    }
    qsort(runs, 5, sizeof runs[0], cmp_double);
    return runs[0];
}

#endif
