/*
 * Unwinding across segments: a C++ exception thrown 300 split-stack
 * frames (and as many segments) down reaches main's handler through the
 * CFI of the fixtures and of __morestack, whose cleanup restores the exact
 * limit and segment main had; one caught half-way down, on a segment,
 * leaves that segment's limit; the same with signal blocking requested;
 * pthread_exit's forced unwind from deep inside a thread; and
 * _Unwind_Backtrace from the bottom walks every frame up to (and past) an
 * outer frame of known address.  Afterwards the stacks still work.
 */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <unwind.h>

static void thrower(void *) { throw 42; }

struct mid {
    unsigned depth;
    uintptr_t guard_before;
    StackSegment *seg_before;
    int caught;
};

// Runs deep on a segment: throws from further down and catches here.
static void mid_catcher(void *p)
{
    mid *m = static_cast<mid *>(p);
    m->guard_before = a64_guard();
    m->seg_before = __morestack_current_segment;
    try {
        ss_throw_rec(m->depth, thrower, nullptr);
    } catch (int v) {
        m->caught = v;
    }
    if (a64_guard() != m->guard_before)
        a64_note_fail("limit after a catch on a segment", a64_guard(), m->guard_before);
    if (__morestack_current_segment != m->seg_before)
        a64_note_fail("segment after a catch on a segment", (uintptr_t)__morestack_current_segment,
                      (uintptr_t)m->seg_before);
}

static void throw_to_main(const char *how, unsigned depth)
{
    uintptr_t guard0 = a64_guard();
    int caught = 0;
    try {
        ss_throw_rec(depth, thrower, nullptr);
    } catch (int v) {
        caught = v;
    }
    CHECK(caught == 42, "%s: exception not caught in main", how);
    CHECK(a64_guard() == guard0, "%s: limit 0x%llx after the catch, was 0x%llx", how,
          (unsigned long long)a64_guard(), (unsigned long long)guard0);
    CHECK(__morestack_current_segment == nullptr, "%s: not back on the original stack", how);
    CHECK(ss_rec(300, 0, nullptr, nullptr) == 3ull * 300 * 301 / 2, "%s: recursion after the catch", how);
}

struct bt {
    unsigned frames;
    int outer_found;
    unsigned after_outer;
    _Unwind_Reason_Code end;
};

static _Unwind_Reason_Code bt_frame(struct _Unwind_Context *ctx, void *p)
{
    bt *b = static_cast<bt *>(p);
    uintptr_t ip = _Unwind_GetIP(ctx);
    b->frames++;
    if (b->outer_found)
        b->after_outer++;
    if (ip > (uintptr_t)a64_outer_begin && ip <= (uintptr_t)a64_outer_end)
        b->outer_found = 1;
    return b->frames > 100000 ? _URC_NORMAL_STOP : _URC_NO_REASON;
}

static void bt_leaf(void *p)
{
    bt *b = static_cast<bt *>(p);
    b->end = _Unwind_Backtrace(bt_frame, b);
}

static void bt_start(void *p) { ss_throw_rec(300, bt_leaf, p); }

static void exit_leaf(void *) { pthread_exit((void *)0x5151); }
static void *exiting_thread(void *)
{
    ss_throw_rec(120, exit_leaf, nullptr);
    return nullptr;
}

int main()
{
    uintptr_t guard0 = a64_guard();

    throw_to_main("300 segments", 300);

    mid m = {150, 0, nullptr, 0};
    ss_throw_rec(150, mid_catcher, &m);
    a64_report_noted();
    CHECK(m.caught == 42, "catch half-way: not caught");
    CHECK(m.seg_before != nullptr, "catch half-way: the catcher did not run on a segment");
    CHECK(a64_guard() == guard0, "catch half-way: limit not restored at the top");

    sigset_t before, after; // the kernel's mask is the first 8 bytes
    sigemptyset(&before);
    sigemptyset(&after);
    sigprocmask(SIG_SETMASK, nullptr, &before);
    int one = 1, zero = 0;
    __splitstack_block_signals(&one, nullptr);
    throw_to_main("signals blocked", 200);
    __splitstack_block_signals(&zero, nullptr);
    sigprocmask(SIG_SETMASK, nullptr, &after);
    CHECK(memcmp(&before, &after, 8) == 0, "signals blocked: mask changed by the unwind: 0x%llx -> 0x%llx",
          *(unsigned long long *)&before, *(unsigned long long *)&after);

    bt b = {0, 0, 0, _URC_NO_REASON};
    a64_outer(bt_start, &b);
    CHECK(b.end == _URC_END_OF_STACK, "_Unwind_Backtrace ended with %d, not _URC_END_OF_STACK", (int)b.end);
    CHECK(b.outer_found, "_Unwind_Backtrace did not reach the outer frame (%u frames)", b.frames);
    CHECK(b.frames >= 300 && b.after_outer >= 1, "_Unwind_Backtrace: %u frames, %u after the outer one",
          b.frames, b.after_outer);

    pthread_t t;
    void *ret = nullptr;
    CHECK(pthread_create(&t, nullptr, exiting_thread, nullptr) == 0, "pthread_create");
    CHECK(pthread_join(t, &ret) == 0 && ret == (void *)0x5151, "pthread_exit from 120 segments down: %p", ret);

    CHECK(a64_guard() == guard0, "limit changed");
    printf("exceptions through 300 segments, a catch half-way, blocked signals, pthread_exit; "
           "backtrace of %u frames reached the outer frame\n", b.frames);
    return 0;
}
