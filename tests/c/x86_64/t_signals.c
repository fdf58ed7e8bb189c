// XFAIL: libgcc
//
// A signal storm while the stack splits.
//
// A timer fires every 50 us (SIGALRM from setitimer(ITIMER_REAL)).  Its
// handler is split-stack code that recurses 20 levels through 2 KB frames
// and checks a checksum, so it splits too whenever it lands near a limit.
// Meanwhile main runs (1) a hot-split loop: a caller parked at the bottom
// of a segment calls a function with a 20 KB frame over and over, so every
// call goes through __morestack, and (2) deep recursions through many
// segments.  Every result is verified, and the handler must have run more
// than 1000 times.
//
// This file runs with the runtime's default (libgcc: signals blocked while
// the stack is switched; libsplitstack: not blocked).  t_signals_noblock.c
// includes it with blocking turned off by __splitstack_block_signals(&zero,
// NULL), as gccgo, Boost and libfibre do, and SIGPROF from a POSIX timer.
// Without blocking a signal can arrive in the middle of a stack switch, and
// the runtime must still leave a state in which the handler's own splits
// work.
//
// Expected to fail with libgcc on this kind of machine: the kernel's signal
// frame (3.4 KB with AVX-512 state) nearly fills libgcc's 3.5 KB of slack
// below the limit, and the handler's first __morestack call then writes
// over the segment header ("munmap of stack space failed", wrong limits).
// With the caller 8 KB above the limit instead of 256 bytes, libgcc passes
// the blocking variant with gold and lld; the non-blocking one fails anyway.  libgcc also
// leaves a caller on the initial stack with a limit above its sp after the
// first split returns (see t_limit_restore.c).
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "common.h"

#ifndef NO_BLOCK
#define NO_BLOCK 0
#define SIGNAL SIGALRM
#endif

#define HANDLER_DEPTH 20
#define HANDLER_FRAME 2048
#define HOT_FRAME 20000
#ifndef HOT_ROOM
#define HOT_ROOM 256 /* how far above the limit the hot caller sits */
#endif
#define DEEP 5000

static volatile sig_atomic_t handler_runs, handler_failures;
static uint64_t handler_expected;

/* ---- the handler ------------------------------------------------------------ */

/* Only the two ends of each frame are written and checked: the handler
 * has to stay well under the 50 us period, or it would starve main. */
#define ENDS 48

__attribute__((noinline)) static uint64_t handler_rec(int depth)
{
    char buf[HANDLER_FRAME];
    uint32_t seed = (uint32_t)depth * 77u;
    ss_fill(buf, ENDS, seed);
    ss_fill(buf + HANDLER_FRAME - ENDS, ENDS, ~seed);
    uint64_t below = depth < HANDLER_DEPTH ? handler_rec(depth + 1) : 0;
    if (ss_verify(buf, ENDS, seed) >= 0 || ss_verify(buf + HANDLER_FRAME - ENDS, ENDS, ~seed) >= 0)
        handler_failures++;
    return ss_mix(below, (uint8_t)buf[depth] + (uint64_t)depth);
}

static void on_signal(int sig)
{
    (void)sig;
    if (handler_rec(0) != handler_expected)
        handler_failures++;
    handler_runs++;
}

static uint64_t handler_checksum(void)
{
    uint64_t h = 0;
    for (int d = HANDLER_DEPTH; d >= 0; d--)
        h = ss_mix(h, (uint8_t)((uint32_t)d * 77u + (size_t)d * 31) + (uint64_t)d);
    return h;
}

/* ---- main's work ------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Out of line, so that its caller does not reference libc (see common.h). */
__attribute__((noinline)) static uint64_t clock_now(void)
{
    return now_ns();
}

static volatile uintptr_t hot_caller_limit;
static long hot_calls, hot_splits;

/* The 20 KB frame that cannot fit where its caller sits. */
__attribute__((noinline)) static long hot(long i)
{
    char buf[HOT_FRAME];
    if (ss_limit() != hot_caller_limit)
        hot_splits++;
    buf[0] = (char)i;
    buf[HOT_FRAME - 1] = (char)(i >> 8);
    ESCAPE(buf);
    return i * 3 + buf[0] - (char)i + buf[HOT_FRAME - 1] - (char)(i >> 8);
}

struct hot_args {
    uint64_t until;
};

/* Runs at the bottom of a segment (see ss_near_limit). */
__attribute__((noinline)) static void *hot_loop(void *arg)
{
    struct hot_args *a = arg;
    char mine[64];
    ss_fill(mine, sizeof mine, 99);
    for (;;) {
        for (int k = 0; k < 4096; k++) {
            hot_caller_limit = ss_limit();
            long r = hot(hot_calls);
            CHECK(r == hot_calls * 3, "hot call %ld returned %ld", hot_calls, r);
            hot_calls++;
        }
        CHECK(ss_verify(mine, sizeof mine, 99) < 0, "hot loop caller's frame corrupted");
        /* Not compared for equality with the value before the calls: libgcc
         * recomputes the initial stack's limit when returning to it. */
        CHECK(ss_limit_sane(ss_limit(), ss_sp()), "hot loop caller's limit %#lx not sane (sp %#lx)",
              (unsigned long)ss_limit(), (unsigned long)ss_sp());
        if (clock_now() > a->until)
            return NULL;
    }
}

__attribute__((noinline)) static uint64_t deep(int depth)
{
    char buf[1000];
    ss_fill(buf, sizeof buf, (uint32_t)depth);
    uint64_t below = depth < DEEP ? deep(depth + 1) : 0;
    long bad = ss_verify(buf, sizeof buf, (uint32_t)depth);
    CHECK(bad < 0, "deep frame %d corrupted at %ld", depth, bad);
    return ss_mix(below, (uint64_t)depth);
}

int main(void)
{
    handler_expected = handler_checksum();
    int blocking = -1;
    __splitstack_block_signals(NULL, &blocking);
    CHECK(blocking == 0 || blocking == 1, "block_signals reported %d", blocking);
#if NO_BLOCK
    int zero = 0;
    __splitstack_block_signals(&zero, NULL);
    __splitstack_block_signals(NULL, &blocking);
    CHECK(blocking == 0, "signal blocking still on after turning it off");
#endif

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGNAL, &sa, NULL) == 0, "sigaction");
    /* setitimer for SIGALRM; for SIGPROF a POSIX timer on the monotonic
     * clock, because ITIMER_PROF only fires on scheduler ticks (a few
     * hundred per second), far below the storm wanted here. */
#if SIGNAL == SIGALRM
    struct itimerval it = {{0, 50}, {0, 50}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
#else
    timer_t timer;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGNAL;
    CHECK(timer_create(CLOCK_MONOTONIC, &sev, &timer) == 0, "timer_create");
    struct itimerspec its = {{0, 50000}, {0, 50000}};
    CHECK(timer_settime(timer, 0, &its, NULL) == 0, "timer_settime");
#endif

    uint64_t start = now_ns();
    struct hot_args ha = {start + 900 * 1000000ull};
    ss_near_limit(hot_loop, &ha, HOT_ROOM);
    uint64_t hot_done = now_ns();

    uint64_t want = 0;
    for (int d = DEEP; d >= 0; d--)
        want = ss_mix(want, (uint64_t)d);
    int rounds = 0;
    do {
        CHECK(deep(0) == want, "deep recursion %d: wrong checksum", rounds);
        rounds++;
    } while (now_ns() - hot_done < 500 * 1000000ull);

#if SIGNAL == SIGALRM
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
#else
    timer_delete(timer);
#endif
    signal(SIGNAL, SIG_IGN);

    printf("%s, %s: %ld hot calls (%ld split, %.0f ns each), %d deep rounds, %d handler runs\n",
           blocking ? "signals blocked (the runtime's default)"
                    : NO_BLOCK ? "signals not blocked" : "signals not blocked (the runtime's default)",
           NO_BLOCK ? "SIGPROF" : "SIGALRM",
           hot_calls, hot_splits, (double)(hot_done - start) / (double)hot_calls, rounds,
           (int)handler_runs);
    CHECK(handler_failures == 0, "%d handler runs saw a corrupted frame or checksum",
          (int)handler_failures);
    CHECK(handler_runs > 1000, "only %d handler runs", (int)handler_runs);
    /* The caller sat at a segment's bottom: nearly every call must split. */
    CHECK(hot_splits >= hot_calls - hot_calls / 100, "only %ld of %ld hot calls split",
          hot_splits, hot_calls);
    return 0;
}
