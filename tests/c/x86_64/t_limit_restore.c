// XFAIL: libgcc
//
// A call that splits must give its caller back exactly the limit it had,
// wherever the caller sits: on the main thread's initial stack, on a
// thread's initial stack, on a split segment; anywhere from right at the
// limit to well above it.  A limit that ends up different may end up above
// sp (every later call splits) or below the real end of the stack (frames
// overrun it).
//
// libgcc recomputes the limit of an initial stack from its recorded size
// when a split returns to it, which puts the limit ~4 KB higher than the
// one it started with: above sp for a caller near the original limit.
// Expected to fail with libgcc.
#include <pthread.h>

#include "common.h"

static volatile uintptr_t caller_limit;
static int splits;

__attribute__((noinline)) static long big_callee(long x)
{
    char buf[20000];
    if (ss_limit() != caller_limit)
        splits++;
    buf[0] = (char)x;
    buf[sizeof buf - 1] = (char)(x >> 3);
    ESCAPE(buf);
    return x + buf[0] - (char)x + buf[sizeof buf - 1] - (char)(x >> 3);
}

struct where {
    const char *name;
    uintptr_t room;
};

/* Runs `room` bytes or less above the limit; calls big_callee, which
 * splits, several times, and checks the limit after each call. */
__attribute__((noinline)) static void *at_room(void *arg)
{
    const struct where *w = arg;
    uintptr_t before = ss_limit(), sp = ss_sp();
    CHECK(ss_limit_sane(before, sp), "%s, room %lu: limit %#lx not sane before the calls (sp %#lx)",
          w->name, (unsigned long)w->room, (unsigned long)before, (unsigned long)sp);
    for (long i = 0; i < 3; i++) {
        caller_limit = before;
        int s = splits;
        CHECK(big_callee(i) == i, "%s: big_callee returned a wrong value", w->name);
        CHECK(splits == s + 1, "%s, room %lu: the 20 KB callee did not split", w->name,
              (unsigned long)w->room);
        uintptr_t after = ss_limit();
        CHECK(after == before,
              "%s, room %lu, call %ld: limit %#lx after the call, %#lx before (sp %#lx)%s", w->name,
              (unsigned long)w->room, i, (unsigned long)after, (unsigned long)before,
              (unsigned long)ss_sp(), after >= ss_sp() ? ": now above sp" : "");
    }
    return NULL;
}

static void all_rooms(const char *name)
{
    static const uintptr_t rooms[] = {128, 1024, 4096, 12000};
    for (size_t i = 0; i < sizeof rooms / sizeof rooms[0]; i++) {
        struct where w = {name, rooms[i]};
        ss_near_limit(at_room, &w, rooms[i]);
    }
}

/* Deep enough to be on split segments, then all the rooms again. */
__attribute__((noinline)) static void on_segments(int depth, const char *name)
{
    char pad[3000];
    ss_fill(pad, sizeof pad, (uint32_t)depth);
    if (depth > 0)
        on_segments(depth - 1, name);
    else
        all_rooms(name);
    CHECK(ss_verify(pad, sizeof pad, (uint32_t)depth) < 0, "frame %d corrupted", depth);
}

static void *thread_main(void *arg)
{
    (void)arg;
    all_rooms("thread, initial stack");
    on_segments(200, "thread, split segment");
    return NULL;
}

int main(void)
{
    /* With gold and lld, main itself may already run on a segment (it calls
     * libc); with bfd it runs on the initial stack. */
    all_rooms("main");
    on_segments(200, "main, split segment");

    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    CHECK(pthread_create(&t, &attr, thread_main, NULL) == 0, "pthread_create");
    CHECK(pthread_join(t, NULL) == 0, "pthread_join");
    printf("limit restored after %d splitting calls\n", splits);
    return 0;
}
