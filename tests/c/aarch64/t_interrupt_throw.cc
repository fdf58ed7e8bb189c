/*
 * An interrupt handler that throws: the exception leaves the handler's
 * call in __morestack through its own call-site record, whose landing pad
 * ends the handler (splitstack_interrupt_done) and joins the body's
 * cleanup, which restores the segment and the real limit of the function
 * that was entered.  Thrown from the original stack and from 100
 * segments down, caught in main; caught half-way, on a segment; a request
 * the handler makes before it throws is delivered afterwards (the cleanup
 * puts the mark back); and pthread_exit from a handler (a forced unwind)
 * ends its thread.  Afterwards requests are delivered as before, so the
 * nesting the handler held was given back.
 */
#include "common.h"
#include "consts.h"
#include <pthread.h>

#define MARK_BIT (1ull << SS_LIMIT_MARK_BIT)

static inline uint64_t raw_limit(void)
{
    uint64_t v;
    __asm__ volatile("mrs %0, tpidr_el0\n\tldr %0, [%0, #%c1]" : "=r"(v) : "i"(SS_TCB_GUARD_OFFSET) : "memory");
    return v;
}

static SplitstackThread *self;
static volatile int calls, bodies;
static volatile uint64_t rerequest;
static __thread int exit_mode;

static void handler(uint64_t bits, void *)
{
    calls++;
    if (exit_mode)
        pthread_exit((void *)0x5151);
    if (bits & 0x100) {
        if (rerequest)
            splitstack_interrupt(self, rerequest);
        throw (int)bits;
    }
}

static void body(void *) { bodies++; }

/* One entry into a split-stack function whose body calls body(). */
static void enter() { ss_burn(0, body, nullptr); }

static void request_and_enter(void *) { splitstack_interrupt(self, 0x101); enter(); }

struct mid {
    uintptr_t guard;
    StackSegment *seg;
    int caught;
};

static void mid_catcher(void *p)
{
    mid *m = static_cast<mid *>(p);
    m->guard = a64_guard();
    m->seg = __morestack_current_segment;
    try {
        ss_throw_rec(20, request_and_enter, nullptr);
    } catch (int v) {
        m->caught = v;
    }
    if (raw_limit() != m->guard)
        a64_note_fail("catch on a segment: limit", raw_limit(), m->guard);
    if (__morestack_current_segment != m->seg)
        a64_note_fail("catch on a segment: segment", (uintptr_t)__morestack_current_segment, (uintptr_t)m->seg);
}

static void throw_to_main(const char *how, unsigned depth, uintptr_t guard0)
{
    calls = bodies = 0;
    int caught = 0;
    try {
        if (depth)
            ss_throw_rec(depth, request_and_enter, nullptr);
        else
            request_and_enter(nullptr);
    } catch (int v) {
        caught = v;
    }
    CHECK(caught == 0x101, "%s: caught %x", how, caught);
    CHECK(calls == 1 && bodies == 0, "%s: %d handler calls, %d bodies", how, calls, bodies);
    CHECK(raw_limit() == guard0, "%s: limit %llx after the catch, was %llx", how, (unsigned long long)raw_limit(),
          (unsigned long long)guard0);
    CHECK(__morestack_current_segment == nullptr, "%s: not back on the original stack", how);
    /* The handler's nesting was given back: the next request is delivered. */
    splitstack_interrupt(self, 2);
    enter();
    CHECK(calls == 2 && bodies == 1, "%s: after the throw: %d handler calls, %d bodies", how, calls, bodies);
    CHECK(ss_rec(100, 0, nullptr, nullptr) == 3ull * 100 * 101 / 2, "%s: recursion after the catch", how);
}

static void *exiting_thread(void *)
{
    exit_mode = 1;
    SplitstackThread *t = splitstack_thread_self();
    splitstack_interrupt(t, 1);
    splitstack_thread_release(t);
    ss_throw_rec(30, [](void *) { enter(); }, nullptr);
    return nullptr;
}

int main()
{
    uintptr_t guard0 = a64_guard();
    CHECK(splitstack_set_interrupt_handler(handler, nullptr) == SplitstackOk, "set handler");
    self = splitstack_thread_self();
    CHECK(self != nullptr, "thread_self");

    throw_to_main("from the original stack", 0, guard0);
    throw_to_main("again (warm path)", 0, guard0);
    throw_to_main("100 segments down", 100, guard0);

    int one = 1, zero = 0;
    __splitstack_block_signals(&one, nullptr);
    throw_to_main("signals blocked (cold path)", 0, guard0);
    __splitstack_block_signals(&zero, nullptr);

    mid m = {0, nullptr, 0};
    calls = 0;
    ss_throw_rec(50, mid_catcher, &m);
    a64_report_noted();
    CHECK(m.caught == 0x101 && m.seg != nullptr && calls == 1, "catch half-way: caught %x, %d calls", m.caught,
          calls);
    CHECK(raw_limit() == guard0, "catch half-way: limit not restored at the top");

    /* A request made by the handler before it throws. */
    calls = bodies = 0;
    rerequest = 0x40;
    try {
        request_and_enter(nullptr);
    } catch (int) {
    }
    rerequest = 0;
    CHECK(raw_limit() == (guard0 | MARK_BIT), "re-request: limit %llx, not marked after the throw",
          (unsigned long long)raw_limit());
    enter();
    CHECK(calls == 2 && bodies == 1, "re-request: %d handler calls, %d bodies", calls, bodies);
    CHECK(raw_limit() == guard0, "re-request: limit %llx", (unsigned long long)raw_limit());

    pthread_t t;
    void *ret = nullptr;
    CHECK(pthread_create(&t, nullptr, exiting_thread, nullptr) == 0, "pthread_create");
    CHECK(pthread_join(t, &ret) == 0 && ret == (void *)0x5151, "pthread_exit from a handler 30 segments down: %p",
          ret);

    CHECK(a64_guard() == guard0 && raw_limit() == guard0, "limit changed");
    splitstack_thread_release(self);
    printf("interrupt handler threw: from the original stack, 100 segments down, blocked signals, caught "
           "half-way, re-request; pthread_exit from a handler\n");
    return 0;
}
