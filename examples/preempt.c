/*
 * Preemptive round robin through the stack limit.
 *
 * NCORO coroutines run on the main thread, each on its own split stack,
 * and none of them ever yields: each loops forever doing work in small
 * split-stack function calls and counting its progress.  A watchdog
 * thread asks the main thread for an interrupt every time slice
 * (splitstack_interrupt(main_thread, SLICE_BIT)); the runtime runs the
 * interrupt handler at the running coroutine's next entry into a
 * split-stack function, on a new segment, and the handler switches to the
 * next coroutine with the split-stack context protocol:
 *
 *     __splitstack_getcontext(from); __splitstack_setcontext(to);
 *     swapcontext(&from_uc, &to_uc);
 *
 * The coroutine switched away from stays suspended inside its handler;
 * when its turn comes again the handler returns and the interrupted call
 * goes on.  The interrupt nesting travels with the context, so the
 * coroutine switched to is interruptible.  After RUN_MS the watchdog asks
 * once more with STOP_BIT and the handler switches back to main, which
 * prints every coroutine's progress and the number of slices, and exits 0
 * only if every coroutine made progress.
 *
 * Build (what `make examples` does):
 *     gcc -O2 -fsplit-stack -fuse-ld=gold -Iinclude examples/preempt.c \
 *         build/libsplitstack.a -lpthread -o build/examples/preempt
 *
 * gold rewrites a split-stack function that calls into an object without
 * .note.GNU-split-stack (libc) to demand 1 MiB more stack.  So the code
 * that runs all the time (the coroutines' work) calls only split-stack
 * functions of this file, and the few functions that call libc (the
 * handler and its switch, the watchdog, main) are no_split_stack: they
 * have no prologue, run on the stack they are called on (the handler: on
 * the new segment, in the reserve left for it), and use little of it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <ucontext.h>

#include "splitstack.h"

#define NCORO 4
#define SLICE_US 2000 /* time slice */
#define RUN_MS 500    /* total run time */
#define CORO_STACK (64 * 1024)
#define SLICE_BIT 1u
#define STOP_BIT 2u

#define NOSPLIT __attribute__((no_split_stack, noinline))

struct coro {
    ucontext_t uc;
    SplitstackContext ss;
    volatile uint64_t progress; /* work steps done */
    volatile uint64_t checksum; /* keeps the work observable */
    unsigned slices;            /* times it was switched in */
};

static struct coro coros[NCORO];
static ucontext_t main_uc;
static SplitstackContext main_ss;
static volatile int current = -1; /* index of the running coroutine */
static volatile unsigned handler_runs;
static atomic_int stopping;
static unsigned requests; /* the watchdog's (read after the join) */

/* ---- switching (no_split_stack: calls libc) ---------------------------- */

static NOSPLIT void switch_context(SplitstackContext *from_ss, ucontext_t *from_uc, SplitstackContext *to_ss,
                                   ucontext_t *to_uc)
{
    __splitstack_getcontext(splitstack_context_words(from_ss));
    __splitstack_setcontext(splitstack_context_words(to_ss));
    if (swapcontext(from_uc, to_uc) != 0) {
        perror("swapcontext");
        abort();
    }
}

/* The interrupt handler: runs on the interrupted coroutine, at a function
 * entry, before the function's body.  Round robin to the next coroutine,
 * or back to main once the watchdog said stop. */
static NOSPLIT void on_interrupt(uint64_t bits, void *user)
{
    (void)user;
    handler_runs++;
    int from = current;
    if ((bits & STOP_BIT) || atomic_load(&stopping)) {
        current = -1;
        switch_context(&coros[from].ss, &coros[from].uc, &main_ss, &main_uc);
        return; /* not reached: main never resumes a stopped coroutine */
    }
    int to = (from + 1) % NCORO;
    current = to;
    coros[to].slices++;
    switch_context(&coros[from].ss, &coros[from].uc, &coros[to].ss, &coros[to].uc);
    /* Back here when `from`'s turn comes again: returning lets the
     * interrupted call run its body. */
}

/* ---- the coroutines' work (split-stack, calls nothing outside) --------- */

/* One small step of work: a few rounds of a 64-bit mix (xorshift* and
 * multiply), in a call of its own so that every step is a function entry
 * where an interrupt can be delivered. */
__attribute__((noinline)) static uint64_t mix(uint64_t x)
{
    for (int i = 0; i < 8; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x *= 0x2545f4914f6cdd1dULL;
    }
    return x;
}

/* A short recursion on top, so that the work also uses some stack. */
__attribute__((noinline)) static uint64_t step(uint64_t x, int depth)
{
    volatile char frame[256];
    frame[0] = (char)x;
    if (depth == 0)
        return mix(x) + (uint64_t)frame[0];
    return step(mix(x), depth - 1) - (uint64_t)frame[0];
}

/* A coroutine's body: never returns, never yields. */
static void coro_main(void)
{
    struct coro *me = &coros[current];
    uint64_t x = (uint64_t)(me - coros) + 1;
    for (;;) {
        x = step(x, 4);
        me->checksum ^= x;
        me->progress++;
    }
}

/* ---- the watchdog (no_split_stack: calls libc) -------------------------- */

/* Sleeps until the absolute CLOCK_MONOTONIC time ns. */
static NOSPLIT void sleep_until(long long ns)
{
    struct timespec t = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) != 0) {
    }
}

static NOSPLIT void *watchdog(void *arg)
{
    SplitstackThread *target = arg;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long start = now.tv_sec * 1000000000LL + now.tv_nsec;
    /* One request per slice, at fixed times (a late wake-up does not
     * shift the slices after it). */
    for (long long next = start + SLICE_US * 1000LL; next < start + RUN_MS * 1000000LL; next += SLICE_US * 1000LL) {
        sleep_until(next);
        SplitstackResult r = splitstack_interrupt(target, SLICE_BIT);
        if (r != SplitstackOk) {
            fprintf(stderr, "preempt: splitstack_interrupt: result %d\n", (int)r);
            break;
        }
        requests++;
    }
    sleep_until(start + RUN_MS * 1000000LL);
    atomic_store(&stopping, 1);
    splitstack_interrupt(target, STOP_BIT);
    return NULL;
}

/* ---- main --------------------------------------------------------------- */

/* A coroutine that will start in coro_main: its split-stack context
 * (and first segment), then a ucontext on that segment. */
static NOSPLIT int make_coro(struct coro *c)
{
    size_t size;
    void *stack = __splitstack_makecontext(CORO_STACK, splitstack_context_words(&c->ss), &size);
    if (stack == NULL || getcontext(&c->uc) != 0)
        return -1;
    c->uc.uc_stack.ss_sp = stack;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL; /* coro_main never returns */
    makecontext(&c->uc, coro_main, 0);
    return 0;
}

NOSPLIT int main(void)
{
    for (int i = 0; i < NCORO; i++)
        if (make_coro(&coros[i]) != 0) {
            fprintf(stderr, "preempt: cannot make coroutine %d\n", i);
            return 1;
        }

    SplitstackThread *self = splitstack_thread_self();
    if (self == NULL || splitstack_set_interrupt_handler(on_interrupt, NULL) != SplitstackOk) {
        fprintf(stderr, "preempt: no thread handle or handler\n");
        return 1;
    }
    pthread_t wd;
    if (pthread_create(&wd, NULL, watchdog, self) != 0) {
        fprintf(stderr, "preempt: pthread_create failed\n");
        return 1;
    }

    /* Into the first coroutine; back here only when the watchdog stops. */
    current = 0;
    coros[0].slices = 1;
    switch_context(&main_ss, &main_uc, &coros[0].ss, &coros[0].uc);

    pthread_join(wd, NULL);
    splitstack_set_interrupt_handler(NULL, NULL);
    splitstack_thread_release(self);

    int ok = 1;
    uint64_t total = 0;
    unsigned slices = 0;
    for (int i = 0; i < NCORO; i++) {
        struct coro *c = &coros[i];
        printf("coroutine %d: %10llu steps in %3u slices (checksum %016llx)\n", i,
               (unsigned long long)c->progress, c->slices, (unsigned long long)c->checksum);
        total += c->progress;
        slices += c->slices;
        if (c->progress == 0)
            ok = 0;
        __splitstack_releasecontext(splitstack_context_words(&c->ss));
    }
    printf("%u slices of %d us in %d ms (%u requests, %u handler runs), %llu steps in all: %s\n", slices,
           SLICE_US, RUN_MS, requests + 1, handler_runs, (unsigned long long)total,
           ok ? "every coroutine made progress" : "SOME COROUTINE MADE NO PROGRESS");
    return ok ? 0 : 1;
}
