// Interrupts from another thread: 20,000 requests to a thread that only
// makes small calls, each waited for, each delivered within 1 s (latency
// reported); the same while the target ping-pongs two coroutines that
// split on every pass; the same to a thread created behind the wrapper's
// back (limit 0, no runtime state of its own).
// REQUIRES: ours
// LIBS: -lpthread
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <ucontext.h>

#include "ours.h"

int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg);
extern void __splitstack_getcontext(void *ctx[10]);
extern void __splitstack_setcontext(void *ctx[10]);
extern void *__splitstack_makecontext(size_t size, void *ctx[10], size_t *out);
extern void __splitstack_releasecontext(void *ctx[10]);

#define NREQ 20000
#define LIMIT_NS 1000000000ll

static atomic_long delivered;
static atomic_ullong bits_seen;
static _Atomic(SplitstackThread *) target;
static atomic_int stop;
static long lat[NREQ];

static void handler(uint64_t bits, void *user)
{
    (void)user;
    atomic_fetch_or(&bits_seen, bits);
    atomic_fetch_add(&delivered, 1);
}

__attribute__((noinline)) static long small(long x)
{
    ESCAPE(&x);
    return x + 1;
}

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000l + ts.tv_nsec;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* Sends NREQ requests to `target`, each waited for; reports latency. */
static void drive(const char *what)
{
    while (atomic_load(&target) == NULL)
        sched_yield();
    SplitstackThread *t = atomic_load(&target);
    for (int i = 0; i < NREQ; i++) {
        long before = atomic_load(&delivered);
        long t0 = now_ns();
        CHECK(splitstack_interrupt(t, 1ull << (i % 64)) == SplitstackOk, "request %d", i);
        for (int spins = 0; atomic_load(&delivered) == before; spins++) {
            CHECK(now_ns() - t0 < LIMIT_NS, "%s: request %d not delivered within 1 s", what, i);
            if (spins > 200)
                sched_yield(); /* the target may share this CPU */
        }
        lat[i] = now_ns() - t0;
    }
    qsort(lat, NREQ, sizeof lat[0], cmp_long);
    printf("%s: %d requests delivered; latency median %ld ns, p99 %ld ns, max %ld ns\n", what, NREQ, lat[NREQ / 2],
           lat[NREQ * 99 / 100], lat[NREQ - 1]);
    CHECK(atomic_load(&bits_seen) == ~0ull, "bits seen %llx", (unsigned long long)atomic_load(&bits_seen));
}

static void *small_calls(void *arg)
{
    (void)arg;
    atomic_store(&target, splitstack_thread_self());
    long n = 0;
    while (!atomic_load(&stop))
        n = small(n);
    return (void *)n;
}

/* Two coroutines on the target thread, switching to each other on every
 * pass, each pass splitting (a frame larger than the coroutine's first
 * segment). */
static ucontext_t uc[2];
static void *ctx[2][10];

__attribute__((noinline)) static long big_frame(long x)
{
    char buf[24 << 10];
    buf[0] = (char)x;
    ESCAPE(buf);
    return buf[0] + small(x);
}

static void swap_to(int from, int to)
{
    __splitstack_getcontext(ctx[from]);
    __splitstack_setcontext(ctx[to]);
    swapcontext(&uc[from], &uc[to]);
}

static void coro(int me)
{
    long n = 0;
    while (!atomic_load(&stop)) {
        n += big_frame(n);
        swap_to(me, !me);
    }
    /* Both end on the thread's own context (index 2 below). */
    __splitstack_getcontext(ctx[me]);
    (void)n;
}

static ucontext_t thread_uc;
static void *thread_ctx[10];
static volatile int finished;

static void coro_entry(int me)
{
    coro(me);
    finished++;
    if (finished == 2) {
        __splitstack_setcontext(thread_ctx);
        setcontext(&thread_uc);
    }
    swap_to(me, !me);
}

static void *pingpong(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) {
        size_t size;
        void *base = __splitstack_makecontext(16384, ctx[i], &size);
        CHECK(base != NULL, "makecontext");
        getcontext(&uc[i]);
        uc[i].uc_stack.ss_sp = base;
        uc[i].uc_stack.ss_size = size;
        uc[i].uc_link = NULL;
        makecontext(&uc[i], (void (*)(void))coro_entry, 1, i);
    }
    atomic_store(&target, splitstack_thread_self());
    __splitstack_getcontext(thread_ctx);
    if (!finished) {
        __splitstack_setcontext(ctx[0]);
        swapcontext(&thread_uc, &uc[0]);
    }
    __splitstack_releasecontext(ctx[0]);
    __splitstack_releasecontext(ctx[1]);
    return NULL;
}

static void run(const char *what, void *(*fn)(void *), int unwrapped)
{
    pthread_t t;
    atomic_store(&target, NULL);
    atomic_store(&stop, 0);
    atomic_store(&bits_seen, 0);
    finished = 0;
    if (unwrapped)
        CHECK(__real_pthread_create(&t, NULL, fn, NULL) == 0, "__real_pthread_create");
    else
        CHECK(pthread_create(&t, NULL, fn, NULL) == 0, "pthread_create");
    drive(what);
    atomic_store(&stop, 1);
    CHECK(pthread_join(t, NULL) == 0, "join");
    /* The handle outlives the thread. */
    CHECK(splitstack_interrupt(atomic_load(&target), 1) == SplitstackThreadExited, "%s: exited", what);
    splitstack_thread_release(atomic_load(&target));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK(splitstack_set_interrupt_handler(handler, NULL) == SplitstackOk, "set handler");
    run("small calls", small_calls, 0);
    run("coroutine ping-pong, splitting every pass", pingpong, 0);
    run("thread with limit 0 (not made through the wrapper)", small_calls, 1);
    return 0;
}
