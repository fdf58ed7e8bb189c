/*
 * Interrupts through the stack limit on aarch64: a request marks the
 * limit word (bit SS_LIMIT_MARK_BIT of [tpidr_el0 + SS_TCB_GUARD_OFFSET]),
 * the next split-stack entry (a fixture's hand-written prologue) goes to
 * __morestack, and the handler runs once, on the new segment, before that
 * function's body: on the warm path (cached segment) and on the cold one
 * (signal blocking asked for), from the original stack and from a
 * segment.  Requests made under defer coalesce and are delivered once
 * after the outermost undefer; poll takes the bits and clears the mark;
 * __morestack_get_guard and a saved context hold the real limit while a
 * request waits; without a handler nothing is delivered and nothing
 * stays marked; a request the handler makes is delivered after it.
 * From another thread: requests to a thread looping on calls of a split
 * fixture, each delivered within 1 s; requests to a thread waiting deep
 * on a segment (non-split code), delivered after it returns through
 * __morestack to a loop of calls that never split (the mark that went to
 * the segment's limit is put back on the caller's: REARM).
 */
#include "common.h"
#include "consts.h"
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define MARK_BIT (1ull << SS_LIMIT_MARK_BIT)
#define LIMIT_NS 1000000000ll

/* The raw limit word, mark included. */
static inline uint64_t raw_limit(void)
{
    uint64_t v;
    __asm__ volatile("mrs %0, tpidr_el0\n\tldr %0, [%0, #%c1]" : "=r"(v) : "i"(SS_TCB_GUARD_OFFSET) : "memory");
    return v;
}

static volatile int trace[64];
static volatile int ntrace;
static volatile uint64_t got;
static volatile int calls;
static volatile int rerequest;      /* the handler requests these bits once */
static SplitstackThread *self;
static pthread_t main_thread;
static atomic_long x_delivered;     /* deliveries on other threads */
static atomic_ullong x_bits;

static void handler(uint64_t bits, void *user)
{
    if (user != (void *)0x1234)
        a64_note_fail("handler: user pointer", (uintptr_t)user, 0x1234);
    if (pthread_self() != main_thread) {
        atomic_fetch_or(&x_bits, bits);
        atomic_fetch_add(&x_delivered, 1);
        return;
    }
    /* On the segment __morestack just switched to, with the real limit. */
    StackSegment *s = __morestack_current_segment;
    uintptr_t sp = a64_sp();
    if (!s || sp < a64_seg_low(s) || sp >= a64_seg_top(s))
        a64_note_fail("handler: not on the current segment", sp, (uintptr_t)s);
    if (raw_limit() & MARK_BIT)
        a64_note_fail("handler: limit still marked", raw_limit(), 0);
    /* Split-stack code in the handler runs, and is not interrupted. */
    if (ss_rec(3, 1, NULL, NULL) != 1 + 3 * 6)
        a64_note_fail("handler: recursion", 0, 0);
    trace[ntrace++ & 63] = 1;
    got |= bits;
    calls++;
    if (rerequest) {
        int b = rerequest;
        rerequest = 0;
        splitstack_interrupt(self, (uint64_t)b);
    }
}

static void body(void *arg)
{
    (void)arg;
    trace[ntrace++ & 63] = 2;
}

static void reset(void)
{
    ntrace = 0;
    got = 0;
    calls = 0;
}

/* One entry into a split-stack function (ss_burn: 512-byte frame) whose
 * body calls body(). */
static void enter(void) { ss_burn(0, body, NULL); }

static void check_handler_then_body(const char *how, uint64_t bits)
{
    a64_report_noted();
    CHECK(calls == 1 && got == bits, "%s: %d calls, bits %llx", how, calls, (unsigned long long)got);
    CHECK(ntrace == 2 && trace[0] == 1 && trace[1] == 2, "%s: handler then body (%d entries: %d %d)", how, ntrace,
          trace[0], trace[1]);
}

static void self_interrupt(const char *how, uintptr_t guard0)
{
    reset();
    CHECK(splitstack_interrupt(self, 4) == SplitstackOk, "%s: interrupt self", how);
    CHECK(raw_limit() == (guard0 | MARK_BIT), "%s: limit word %llx after the request, real %llx", how,
          (unsigned long long)raw_limit(), (unsigned long long)guard0);
    CHECK(a64_guard() == guard0, "%s: __morestack_get_guard %llx while pending, real %llx", how,
          (unsigned long long)a64_guard(), (unsigned long long)guard0);
    enter();
    check_handler_then_body(how, 4);
    CHECK(raw_limit() == guard0, "%s: limit %llx after the delivery, was %llx", how,
          (unsigned long long)raw_limit(), (unsigned long long)guard0);
    enter();
    enter();
    CHECK(calls == 1 && ntrace == 4, "%s: the handler ran again (%d calls)", how, calls);
}

/* From a segment: leaf of a 3-deep ss_rec. */
static void deep_leaf(void *p)
{
    uintptr_t g = a64_guard();
    StackSegment *s = __morestack_current_segment;
    reset();
    splitstack_interrupt(self, 0x40);
    enter();
    if (calls != 1 || got != 0x40 || ntrace != 2 || trace[0] != 1)
        a64_note_fail("from a segment: handler not run once before the body", (uint64_t)calls, got);
    if (raw_limit() != g || __morestack_current_segment != s)
        a64_note_fail("from a segment: limit or segment not restored", raw_limit(), g);
    *(int *)p = 1;
}

/* ---- other threads ---- */
static atomic_int stop;
static _Atomic(SplitstackThread *) target;
static atomic_int phase;            /* deep target: 1 waiting deep, 2 requested */

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000l + ts.tv_nsec;
}

/* Calls a 32-byte split-stack fixture in a loop: it never splits unless
 * the limit is marked. */
static void *looping(void *arg)
{
    (void)arg;
    const struct a64_frame_fn *e = &ss_frame_table[0];
    atomic_store(&target, splitstack_thread_self());
    uint64_t n = 0;
    while (!atomic_load(&stop)) {
        uint64_t a[10] = {n, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        if (e->fn(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]) != a64_frame_sum(a))
            a64_note_fail("looping thread: wrong result", n, 0);
        n++;
    }
    return (void *)(uintptr_t)n;
}

static void wait_requested(void *p)
{
    (void)p;
    atomic_store(&phase, 1);
    while (atomic_load(&phase) != 2)
        ;
}

/* Waits deep on a segment (3 levels of ss_rec) until main has requested,
 * then returns to a loop of calls that never split. */
static void *deep_then_loop(void *arg)
{
    (void)arg;
    const struct a64_frame_fn *e = &ss_frame_table[0];
    atomic_store(&target, splitstack_thread_self());
    while (!atomic_load(&stop)) {
        if (ss_rec(3, 0, wait_requested, NULL) != 3 * 6)
            a64_note_fail("deep thread: recursion", 0, 0);
        long d = atomic_load(&x_delivered);
        long t0 = now_ns();
        while (atomic_load(&x_delivered) == d && !atomic_load(&stop) && now_ns() - t0 < 2 * LIMIT_NS)
            e->fn(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    }
    return NULL;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static long lat[4096];

static void cross(const char *what, void *(*fn)(void *), int nreq, int deep)
{
    pthread_t t;
    atomic_store(&target, NULL);
    atomic_store(&stop, 0);
    atomic_store(&phase, 0);
    atomic_store(&x_bits, 0);
    CHECK(pthread_create(&t, NULL, fn, NULL) == 0, "pthread_create");
    while (atomic_load(&target) == NULL)
        sched_yield();
    SplitstackThread *h = atomic_load(&target);
    for (int i = 0; i < nreq; i++) {
        if (deep)
            while (atomic_load(&phase) != 1)
                sched_yield();
        long before = atomic_load(&x_delivered);
        long t0 = now_ns();
        CHECK(splitstack_interrupt(h, 1ull << (i % 64)) == SplitstackOk, "%s: request %d", what, i);
        if (deep)
            atomic_store(&phase, 2);
        while (atomic_load(&x_delivered) == before)
            CHECK(now_ns() - t0 < LIMIT_NS, "%s: request %d not delivered within 1 s", what, i);
        lat[i] = now_ns() - t0;
    }
    atomic_store(&stop, 1);
    if (deep)
        atomic_store(&phase, 2);
    CHECK(pthread_join(t, NULL) == 0, "join");
    a64_report_noted();
    if (nreq >= 64)
        CHECK(atomic_load(&x_bits) == ~0ull, "%s: bits seen %llx", what, (unsigned long long)atomic_load(&x_bits));
    CHECK(splitstack_interrupt(h, 1) == SplitstackThreadExited, "%s: request to the exited thread", what);
    splitstack_thread_release(h);
    qsort(lat, (size_t)nreq, sizeof lat[0], cmp_long);
    printf("%s: %d requests delivered; latency median %ld us, max %ld us\n", what, nreq, lat[nreq / 2] / 1000,
           lat[nreq - 1] / 1000);
}

int main(void)
{
    main_thread = pthread_self();
    uintptr_t guard0 = a64_guard();
    CHECK(raw_limit() == guard0, "limit marked at start");
    CHECK(splitstack_set_interrupt_handler(handler, (void *)0x1234) == SplitstackOk, "set handler");
    self = splitstack_thread_self();
    CHECK(self != NULL, "thread_self");

    /* Other threads (first: each failure of delivery shows as a timeout). */
    cross("thread looping on a split fixture", looping, 2000, 0);
    cross("thread deep on a segment, then calls that never split", deep_then_loop, 200, 1);

    /* Self: the first split is the cold path (a new segment), the next
     * ones the warm path (the cached one); then with signal blocking
     * asked for, which always takes the cold path. */
    self_interrupt("self, first split", guard0);
    self_interrupt("self, warm", guard0);
    self_interrupt("self, warm again", guard0);
    int one = 1, zero = 0;
    __splitstack_block_signals(&one, NULL);
    self_interrupt("self, cold (signals blocked)", guard0);
    __splitstack_block_signals(&zero, NULL);

    /* From a segment. */
    int done = 0;
    CHECK(ss_rec(3, 0, deep_leaf, &done) == 3 * 6, "from a segment: recursion");
    a64_report_noted();
    CHECK(done && raw_limit() == guard0, "from a segment: limit %llx", (unsigned long long)raw_limit());

    /* Coalescing under defer; nested defer. */
    reset();
    splitstack_interrupt_defer();
    splitstack_interrupt(self, 1);
    splitstack_interrupt(self, 2);
    splitstack_interrupt(self, 8);
    CHECK(a64_guard() == guard0, "deferred: __morestack_get_guard %llx", (unsigned long long)a64_guard());
    enter();
    enter();
    CHECK(calls == 0 && ntrace == 2, "deferred: handler ran (%d)", calls);
    CHECK(raw_limit() == guard0, "deferred: limit left marked (%llx)", (unsigned long long)raw_limit());
    splitstack_interrupt_undefer();
    CHECK(raw_limit() == (guard0 | MARK_BIT), "undefer: limit not marked (%llx)", (unsigned long long)raw_limit());
    reset();
    enter();
    check_handler_then_body("coalesced", 11);

    reset();
    splitstack_interrupt_defer();
    splitstack_interrupt_defer();
    splitstack_interrupt(self, 1);
    splitstack_interrupt_undefer();
    enter();
    CHECK(calls == 0, "nested defer: handler ran at the inner undefer");
    splitstack_interrupt_undefer();
    reset();
    enter();
    check_handler_then_body("nested defer", 1);

    /* Poll. */
    reset();
    splitstack_interrupt(self, 16);
    uint64_t p = splitstack_interrupt_poll();
    CHECK(p == 16, "poll gave %llx", (unsigned long long)p);
    CHECK(raw_limit() == guard0, "poll left the mark (%llx)", (unsigned long long)raw_limit());
    enter();
    CHECK(calls == 0, "handler ran after poll took the bits");
    CHECK(splitstack_interrupt_poll() == 0, "second poll");

    /* A context saved while a request waits holds the real limit. */
    splitstack_interrupt_defer();
    splitstack_interrupt(self, 1);
    SplitstackContext ctx;
    __splitstack_getcontext(splitstack_context_words(&ctx));
    CHECK(ctx.guard == guard0, "saved limit %llx, real %llx", (unsigned long long)ctx.guard,
          (unsigned long long)guard0);
    CHECK(__morestack_get_guard() == (void *)guard0, "get_guard %p, real %llx", __morestack_get_guard(),
          (unsigned long long)guard0);
    CHECK(splitstack_interrupt_poll() == 1, "poll");
    splitstack_interrupt_undefer();

    /* __morestack_set_guard keeps a waiting request. */
    splitstack_interrupt(self, 2);
    __morestack_set_guard((void *)guard0);
    CHECK(raw_limit() == (guard0 | MARK_BIT), "set_guard dropped the mark (%llx)", (unsigned long long)raw_limit());
    reset();
    enter();
    check_handler_then_body("after set_guard", 2);

    /* No handler: nothing delivered, nothing left marked, bits kept. */
    CHECK(splitstack_set_interrupt_handler(NULL, NULL) == SplitstackOk, "clear handler");
    reset();
    splitstack_interrupt(self, 32);
    enter();
    CHECK(calls == 0, "no handler: delivered");
    CHECK(raw_limit() == guard0, "no handler: limit left marked (%llx)", (unsigned long long)raw_limit());
    CHECK(splitstack_interrupt_poll() == 32, "no handler: bits lost");
    CHECK(splitstack_set_interrupt_handler(handler, (void *)0x1234) == SplitstackOk, "set handler");

    /* A request the handler makes waits for it, then is delivered. */
    reset();
    rerequest = 0x80;
    splitstack_interrupt(self, 1);
    enter();
    CHECK(calls == 1 && got == 1, "re-request: %d calls, bits %llx", calls, (unsigned long long)got);
    CHECK(raw_limit() == (guard0 | MARK_BIT), "re-request: limit not marked after the handler (%llx)",
          (unsigned long long)raw_limit());
    enter();
    CHECK(calls == 2 && got == 0x81, "re-request: %d calls, bits %llx", calls, (unsigned long long)got);

    a64_report_noted();
    CHECK(raw_limit() == guard0 && __morestack_current_segment == NULL, "main's state at the end");
    splitstack_thread_release(self);
    printf("interrupt: cross-thread, self (cold, warm, blocked), from a segment, coalescing, defer, poll, "
           "real limit, no handler, re-request: ok\n");
    return 0;
}
