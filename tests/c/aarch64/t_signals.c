/*
 * Signals at any instruction: a 50 us interval timer interrupts a loop of
 * splits (every call forced through __morestack, and recursion across
 * segment boundaries) and its handler runs split-stack code that splits
 * again, from wherever it landed: inside __morestack while sp moves
 * between segments (limit all ones), inside the runtime's helpers, deep
 * in a segment.  The handler's split must leave the limit it found, and
 * every result must be right.  Once without blocking (the default), once
 * with __splitstack_block_signals(1).
 *
 * The reserve is set to cover an SVE-sized signal frame: qemu-user does
 * not report AT_MINSIGSTKSZ (a real arm64 kernel does), and its frames
 * are 4.7 KiB (10 KiB with 2048-bit SVE) against the 2 KiB the runtime
 * assumes when the kernel says nothing.
 */
#include "common.h"
#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>

static volatile unsigned long handled;

static void on_alarm(int sig)
{
    (void)sig;
    int e = errno;
    uintptr_t g = a64_guard();
    StackSegment *s = __morestack_current_segment;
    uint64_t r = ss_rec(2, 11, NULL, NULL);
    if (r != 11 + 9)
        a64_note_fail("handler: wrong result", r, 0);
    if (a64_guard() != g)
        a64_note_fail("handler: limit not restored", a64_guard(), g);
    if (__morestack_current_segment != s)
        a64_note_fail("handler: segment not restored", (uintptr_t)__morestack_current_segment, (uintptr_t)s);
    handled++;
    errno = e;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void depth_cb(void *p)
{
    unsigned *n = p;
    const struct a64_frame_fn *e = &ss_frame_table[5]; /* 4096 */
    uint64_t r = e->fn(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    if (r != 1 + 4 + 12 + 32 + 80 + 192 + 448 + 1024 + 2304 + 5120)
        a64_note_fail("wrong frame result under signals", r, 0);
    (*n)++;
}

static void phase(const char *how, unsigned long want)
{
    uintptr_t guard0 = a64_guard();
    unsigned long start = handled;
    unsigned long loops = 0;
    unsigned calls = 0;
    double t0 = now();
    while ((handled - start < want || loops < 200) && now() - t0 < 20) {
        uint64_t a[10];
        for (int i = 0; i < 10; i++)
            a[i] = loops + (uint64_t)i;
        const struct a64_frame_fn *e = &ss_frame_table[loops % 12];
        __morestack_set_guard((void *)UINTPTR_MAX);
        uint64_t r = e->fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
        __morestack_set_guard((void *)guard0);
        CHECK(r == a64_frame_sum(a), "%s: frame %llu: wrong result", how, (unsigned long long)e->frame);
        ss_burn(loops % 97, depth_cb, &calls);
        a64_report_noted();
        CHECK(a64_guard() == guard0 && __morestack_current_segment == NULL, "%s: state not restored", how);
        loops++;
    }
    a64_report_noted();
    CHECK(handled - start >= want, "%s: only %lu signals handled in %lu loops", how, handled - start, loops);
    printf("%s: %lu loops, %lu signals handled, each splitting\n", how, loops, handled - start);
}

int main(void)
{
    CHECK(splitstack_set_reserve(4096 + 10240 + 1024) == SplitstackOk, "set_reserve");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 50}, {0, 50}};
    setitimer(ITIMER_REAL, &it, NULL);

    phase("not blocking", 300);
    int one = 1, zero = 0;
    __splitstack_block_signals(&one, NULL);
    phase("blocking", 300);
    __splitstack_block_signals(&zero, NULL);

    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    return 0;
}
