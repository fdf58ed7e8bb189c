// C++ exceptions unwinding across thousands of segment boundaries.
//
// Each frame of the recursion is ~30 KB, so nearly every call splits and a
// throw from 3000 frames down unwinds through thousands of __morestack frames,
// whose unwind info and cleanup must let the unwinder through and release
// the segments.  Checked: the exception object arrives intact, every
// destructor (one every 100 frames) runs exactly once and sees its frame
// intact, frames
// that catch and rethrow on the way work, the throw works 100 times in a
// row (SS_THROWS=n: n times, for slow runs), and afterwards deep recursion
// still works.  A coroutine (ucontext + split-stack context) throws and
// catches inside itself too.
// Whether the stack limit is restored exactly is t_exceptions_limit.cc.
#include <ucontext.h>

#include <stdexcept>

#include "common.h"

static const int DEPTH = 3000;
static const int FRAME = 30000;

static int live_guards, destroyed, rethrows, pieces_at_throw;

/* Only both ends of each 30 KB frame are written and checked: filling it
 * all would dominate the run time, and the ends are what a misplaced or
 * reused segment would clobber first. */
static const int ENDS = 256;

static void fill_ends(char *buf, uint32_t seed)
{
    ss_fill(buf, ENDS, seed);
    ss_fill(buf + FRAME - ENDS, ENDS, ~seed);
}

static bool ends_ok(const char *buf, uint32_t seed)
{
    return ss_verify(buf, ENDS, seed) < 0 && ss_verify(buf + FRAME - ENDS, ENDS, ~seed) < 0;
}

struct Boom {
    int depth;
    uint64_t cookie;
    char text[64];
};

/* Checks its frame when destroyed during unwinding. */
struct Guard {
    const char *buf;
    uint32_t seed;
    Guard(const char *b, uint32_t s) : buf(b), seed(s) { live_guards++; }
    ~Guard()
    {
        CHECK(ends_ok(buf, seed), "frame with seed %u corrupted during unwinding", seed);
        live_guards--;
        destroyed++;
    }
};

/* Frames with a Guard (every 100th) have a cleanup landing pad; the others
 * are unwound straight through.  Few guarded frames, because
 *  - the unwinder restarts at every landing pad, which is slow, and
 *  - a function with a landing pad calls _Unwind_Resume, non-split code, so
 *    gold and lld give it a large reserve (gold: a fresh 1 MiB segment),
 *    and the plain frames after it fit there without splitting. */
__attribute__((noinline)) static long dive(int depth, int throw_at, uint32_t salt);

__attribute__((noinline)) static long dive_guarded(int depth, int throw_at, uint32_t salt,
                                                   char *buf, uint32_t seed)
{
    Guard g(buf, seed);
    if (depth == throw_at) {
        pieces_at_throw = ss_count_pieces();
        Boom b;
        b.depth = depth;
        b.cookie = 0x5eed0000u + salt;
        strcpy(b.text, "thrown from the bottom");
        throw b;
    }
    /* Every 500th frame catches, checks and rethrows. */
    if (depth % 500 == 200) {
        try {
            return dive(depth + 1, throw_at, salt) + buf[1];
        } catch (Boom &b) {
            CHECK(b.depth == throw_at, "rethrowing frame %d saw depth %d", depth, b.depth);
            rethrows++;
            throw;
        }
    }
    return dive(depth + 1, throw_at, salt) + buf[1];
}

static long dive(int depth, int throw_at, uint32_t salt)
{
    char buf[FRAME];
    uint32_t seed = salt * 7919u + (uint32_t)depth;
    fill_ends(buf, seed);
    if (depth % 100 == 0)
        return dive_guarded(depth, throw_at, salt, buf, seed) + 1;
    long r = dive(depth + 1, throw_at, salt);
    /* Only reached if nothing was thrown, which the caller treats as an
     * error; checking the frame keeps it (and its split) alive. */
    CHECK(ends_ok(buf, seed), "frame %d corrupted", depth);
    return r + buf[2];
}

/* A plain deep recursion to run after the throws. */
__attribute__((noinline)) static uint64_t plain(int depth)
{
    char buf[1000];
    ss_fill(buf, sizeof buf, (uint32_t)depth);
    uint64_t r = depth > 0 ? plain(depth - 1) : 0;
    CHECK(ss_verify(buf, sizeof buf, (uint32_t)depth) < 0, "plain frame %d corrupted", depth);
    return ss_mix(r, (uint64_t)depth);
}

static uint64_t plain_expected(int depth)
{
    uint64_t h = 0;
    for (int d = 0; d <= depth; d++)
        h = ss_mix(h, (uint64_t)d);
    return h;
}

static void throw_and_catch(uint32_t salt)
{
    int destroyed_before = destroyed, rethrows_before = rethrows;
    bool caught = false;
    try {
        dive(0, DEPTH, salt);
    } catch (Boom &b) {
        caught = true;
        CHECK(b.depth == DEPTH && b.cookie == 0x5eed0000u + salt &&
                  strcmp(b.text, "thrown from the bottom") == 0,
              "exception object corrupted: depth %d cookie %#llx", b.depth,
              (unsigned long long)b.cookie);
    }
    CHECK(caught, "exception not caught");
    /* The segment sizes are the runtime's choice, but 90 MB of 30 KB frames
     * must span a good many of them. */
    CHECK(pieces_at_throw > 100, "only %d stack pieces at the throw", pieces_at_throw);
    CHECK(live_guards == 0, "%d destructors did not run", live_guards);
    CHECK(destroyed - destroyed_before == DEPTH / 100 + 1, "%d destructors ran, want %d",
          destroyed - destroyed_before, DEPTH / 100 + 1);
    CHECK(rethrows - rethrows_before == DEPTH / 500, "%d rethrows, want %d",
          rethrows - rethrows_before, DEPTH / 500);
}

/* ---- the same inside a coroutine ----------------------------------------------- */

static ucontext_t main_uc, coro_uc;
static void *main_ss[10], *coro_ss[10];
static int coro_state; /* 0 not run, 1 caught, 2 parked */

static void coro_body()
{
    for (uint32_t i = 0; i < 5; i++)
        throw_and_catch(1000 + i);
    coro_state = 1;
    for (;;) {
        __splitstack_getcontext(coro_ss);
        __splitstack_setcontext(main_ss);
        swapcontext(&coro_uc, &main_uc);
    }
}

static void exception_in_coroutine()
{
    size_t size;
    void *stack = __splitstack_makecontext(32 * 1024, coro_ss, &size);
    CHECK(stack != NULL, "makecontext failed");
    int zero = 0;
    __splitstack_block_signals_context(coro_ss, &zero, NULL);
    CHECK(getcontext(&coro_uc) == 0, "getcontext");
    coro_uc.uc_stack.ss_sp = stack;
    coro_uc.uc_stack.ss_size = size;
    coro_uc.uc_link = NULL;
    makecontext(&coro_uc, coro_body, 0);

    __splitstack_getcontext(main_ss);
    __splitstack_setcontext(coro_ss);
    CHECK(swapcontext(&main_uc, &coro_uc) == 0, "swapcontext");
    CHECK(coro_state == 1, "the coroutine did not finish its throws");
    __splitstack_releasecontext(coro_ss);
}

int main()
{
    /* SS_THROWS: fewer rounds for slow runs (tests/valgrind/run.sh). */
    const char *e = getenv("SS_THROWS");
    uint32_t throws = e != NULL && atoi(e) > 0 ? (uint32_t)atoi(e) : 100;
    for (uint32_t i = 0; i < throws; i++)
        throw_and_catch(i);
    printf("%u throws from depth %d ok (%d stack pieces at the throw, %d destructors, %d "
           "rethrows)\n",
           throws, DEPTH, pieces_at_throw, destroyed, rethrows);

    exception_in_coroutine();
    printf("5 throws inside a coroutine ok\n");

    /* ~50 MiB of stack: the stack must still split after all that. */
    CHECK(plain(50000) == plain_expected(50000), "deep recursion after the throws failed");
    printf("deep recursion after the throws ok\n");
    return 0;
}
