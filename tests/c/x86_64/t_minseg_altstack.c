// REQUIRES: ours
//
// The smallest configuration: 512-byte minimum segments and the minimum
// 1 KiB reserve, allowed because this program's signal handler runs on an
// alternate stack (sigaltstack, SA_ONSTACK).  A deep recursion of small
// frames crosses thousands of tiny segments while a timer fires every
// 100 us (at most 3000 times); the handler recurses with split-stack code
// of its own.  Every frame is checked, segments must really be small (makecontext reports
// the usable size), and the handler must have run many times.
#include <signal.h>
#include <sys/time.h>

#include "ours.h"

#define STORM 3000
static volatile sig_atomic_t handler_runs, handler_bad;

__attribute__((noinline)) static uint64_t handler_rec(int n)
{
    char buf[1024];
    ss_fill(buf, sizeof buf, (uint32_t)n + 7);
    uint64_t below = n > 0 ? handler_rec(n - 1) : 0;
    if (ss_verify(buf, sizeof buf, (uint32_t)n + 7) >= 0)
        handler_bad = 1;
    return ss_mix(below, (uint8_t)buf[n]);
}

static uint64_t handler_expected;

/* Out of line: with gold, a split-stack function that calls libc is made
 * to ask for 1 MiB of stack; only this one should. */
__attribute__((noinline)) static void stop_storm(void)
{
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
}

static void on_alarm(int sig)
{
    (void)sig;
    if (handler_rec(10) != handler_expected)
        handler_bad = 1;
    /* Bounded storm: on a loaded machine a handler that splits into
       freshly allocated tiny segments can take about as long as the timer
       period, and would starve main; after STORM runs the timer stops. */
    if (++handler_runs == STORM)
        stop_storm();
}

__attribute__((noinline)) static uint64_t small_frames(int n)
{
    char buf[96];
    ss_fill(buf, sizeof buf, (uint32_t)n);
    uint64_t below = n > 0 ? small_frames(n - 1) : 0;
    if (ss_verify(buf, sizeof buf, (uint32_t)n) >= 0)
        ss_fail(__FILE__, __LINE__, "frame intact", "frame %d corrupted", n);
    return ss_mix(below, (uint8_t)buf[n % 96]);
}

int main(void)
{
    CHECK(splitstack_set_min_segment_size(512) == SplitstackOk, "min segment 512 refused");
    CHECK(splitstack_set_reserve(1024) == SplitstackOk, "reserve 1024 refused");
    SplitstackContext c;
    size_t size;
    CHECK(__splitstack_makecontext(0, splitstack_context_words(&c), &size) != NULL, "makecontext");
    CHECK(size >= 512 + 1024 && size <= 4096, "a minimum segment has %zu usable bytes", size);
    __splitstack_releasecontext(splitstack_context_words(&c));

    handler_expected = handler_rec(10);
    static char altstack[256 * 1024];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
    struct itimerval it = {{0, 100}, {0, 100}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");

    uint64_t want = small_frames(20000);
    SplitstackStats before;
    splitstack_get_stats(&before, sizeof before);
    for (int round = 0; round < 40; round++)
        CHECK(small_frames(20000) == want, "round %d: recursion result differs", round);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    SplitstackStats after;
    splitstack_get_stats(&after, sizeof after);

    CHECK(!handler_bad, "a signal handler frame was corrupted");
    CHECK(handler_runs > 200, "the handler ran only %d times", (int)handler_runs);
    CHECK(after.longest_chain > 1000, "the recursion used only %llu segments",
          (unsigned long long)after.longest_chain);
    printf("512-byte segments: %llu deep chain, %llu __morestack calls, %d signals handled\n",
           (unsigned long long)after.longest_chain,
           (unsigned long long)(after.morestack_calls - before.morestack_calls), (int)handler_runs);
    return 0;
}
