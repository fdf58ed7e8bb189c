// Interrupts through the stack limit on one thread: a request to the
// calling thread runs the handler once, at the next entry into a
// split-stack function and before that function's body; requests made
// before that entry coalesce; defer and undefer nest; poll takes the bits;
// bad arguments get their result codes and messages; a context saved
// while a request is pending holds the real limit; a handle stays valid
// after its thread exits, and exited threads' descriptors, reused by new
// threads, receive nothing.
// REQUIRES: ours
// LIBS: -lpthread
#include <pthread.h>

#include "ours.h"

extern void *__morestack_get_guard(void);
extern void __splitstack_getcontext(void *ctx[10]);
extern void __splitstack_setcontext(void *ctx[10]);
extern void __morestack_set_guard(void *);

static volatile int trace[64];
static volatile int ntrace;
static volatile uint64_t got;
static volatile int calls;
static __thread volatile int thread_calls;

static void handler(uint64_t bits, void *user)
{
    CHECK(user == (void *)0x1234, "user pointer %p", user);
    trace[ntrace++ & 63] = 1;
    got |= bits;
    calls++;
    thread_calls++;
}

__attribute__((noinline)) static int body(int x)
{
    trace[ntrace++ & 63] = 2;
    ESCAPE(&x);
    return x + 1;
}

/* Splits (a frame larger than what is left), then requests an interrupt
 * of its own thread as the last thing before returning. */
__attribute__((noinline)) static void split_then_request(SplitstackThread *t)
{
    char buf[96 << 10];
    buf[0] = 1;
    ESCAPE(buf);
    splitstack_interrupt(t, 128);
}

static void reset(void)
{
    ntrace = 0;
    got = 0;
    calls = 0;
}

static void *exiting_thread(void *arg)
{
    (void)arg;
    return splitstack_thread_self();
}

static volatile int stop_new;
static void *new_thread(void *arg)
{
    (void)arg;
    long n = 0;
    while (!stop_new)
        n += body((int)n) & 1;
    return (void *)(long)thread_calls;
}

int main(void)
{
    CHECK(splitstack_set_interrupt_handler(handler, (void *)0x1234) == SplitstackOk, "set handler");
    SplitstackThread *self = splitstack_thread_self();
    CHECK(self != NULL, "thread_self");
    CHECK(splitstack_thread_self() == self, "thread_self: same pointer on every call");
    splitstack_thread_release(self);

    /* Self-interrupt: once, before the body of the next function. */
    reset();
    CHECK(splitstack_interrupt(self, 4) == SplitstackOk, "interrupt self");
    body(1);
    CHECK(calls == 1 && got == 4, "self: %d calls, bits %llx", calls, (unsigned long long)got);
    CHECK(ntrace == 2 && trace[0] == 1 && trace[1] == 2, "self: handler then body (%d entries: %d %d)", ntrace,
          trace[0], trace[1]);
    body(2);
    body(3);
    CHECK(calls == 1, "self: handler ran again (%d)", calls);

    /* Coalescing, under defer. */
    reset();
    splitstack_interrupt_defer();
    splitstack_interrupt(self, 1);
    splitstack_interrupt(self, 2);
    splitstack_interrupt(self, 8);
    body(1);
    CHECK(calls == 0, "deferred: handler ran");
    splitstack_interrupt_undefer();
    body(1);
    CHECK(calls == 1 && got == 11, "coalesced: %d calls, bits %llx", calls, (unsigned long long)got);

    /* Nested defer. */
    reset();
    splitstack_interrupt_defer();
    splitstack_interrupt_defer();
    splitstack_interrupt(self, 1);
    splitstack_interrupt_undefer();
    body(1);
    CHECK(calls == 0, "nested defer: handler ran at the inner undefer");
    splitstack_interrupt_undefer();
    body(1);
    CHECK(calls == 1 && got == 1, "nested defer: %d calls", calls);

    /* Poll. */
    reset();
    splitstack_interrupt(self, 16);
    uint64_t p = splitstack_interrupt_poll();
    CHECK(p == 16, "poll gave %llx", (unsigned long long)p);
    body(1);
    CHECK(calls == 0, "handler ran after poll took the bits");
    CHECK(splitstack_interrupt_poll() == 0, "second poll");

    /* A context saved while a request waits holds the real limit. */
    void *guard = __morestack_get_guard();
    splitstack_interrupt_defer();
    splitstack_interrupt(self, 1);
    void *ctx[10];
    __splitstack_getcontext(ctx);
    CHECK(ctx[3] == guard, "saved limit %p, real %p", ctx[3], guard);
    CHECK(__morestack_get_guard() == guard, "get_guard %p, real %p", __morestack_get_guard(), guard);
    CHECK(splitstack_interrupt_poll() == 1, "poll");
    splitstack_interrupt_undefer();

    /* The runtime's own limit stores keep a waiting request: setcontext,
     * __morestack_set_guard, and __morestack's return from a split (the
     * request is made last thing in a body that split, so the store of
     * the caller's limit on the way back is what would lose it). */
    reset();
    __splitstack_getcontext(ctx);
    splitstack_interrupt(self, 32);
    __splitstack_setcontext(ctx);
    body(1);
    CHECK(calls == 1 && got == 32, "setcontext lost a waiting request (%d calls)", calls);
    reset();
    splitstack_interrupt(self, 64);
    __morestack_set_guard(__morestack_get_guard());
    body(1);
    CHECK(calls == 1 && got == 64, "__morestack_set_guard lost a waiting request (%d calls)", calls);
    reset();
    split_then_request(self);
    CHECK(calls == 0, "delivered inside the split body");
    body(1);
    CHECK(calls == 1 && got == 128, "the return from a split lost a waiting request (%d calls)", calls);

    /* Bad arguments. */
    CHECK(splitstack_interrupt(NULL, 1) == SplitstackNullArgument, "NULL thread");
    CHECK(splitstack_interrupt(self, 0) == SplitstackInvalidValue, "bits 0");
    splitstack_interrupt_undefer(); /* nothing deferred: a message */
    reset();
    splitstack_interrupt(self, 1);
    body(1);
    CHECK(calls == 1, "undefer without defer changed the nesting");

    /* Exited threads; their descriptors reused by new threads. */
    enum { NEXITED = 8, NNEW = 8 };
    SplitstackThread *gone[NEXITED];
    for (int i = 0; i < NEXITED; i++) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, exiting_thread, NULL) == 0, "pthread_create");
        CHECK(pthread_join(t, (void **)&gone[i]) == 0, "join");
        CHECK(gone[i] != NULL, "exited thread's handle");
    }
    pthread_t fresh[NNEW];
    stop_new = 0;
    for (int i = 0; i < NNEW; i++)
        CHECK(pthread_create(&fresh[i], NULL, new_thread, NULL) == 0, "pthread_create");
    reset();
    for (int k = 0; k < 1000; k++)
        for (int i = 0; i < NEXITED; i++)
            CHECK(splitstack_interrupt(gone[i], 1) == SplitstackThreadExited, "request to exited thread %d", i);
    usleep(20000);
    stop_new = 1;
    for (int i = 0; i < NNEW; i++) {
        void *r;
        pthread_join(fresh[i], &r);
        CHECK(r == 0, "a new thread on a reused descriptor got %ld deliveries", (long)r);
    }
    CHECK(calls == 0, "%d deliveries after requests to exited threads", calls);
    for (int i = 0; i < NEXITED; i++)
        splitstack_thread_release(gone[i]);
    splitstack_thread_release(self);
    printf("interrupt: self, coalescing, defer, poll, saved limit, bad arguments, exited threads: ok\n");
    return 0;
}
