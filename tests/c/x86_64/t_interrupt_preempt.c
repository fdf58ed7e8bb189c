// Preemption through interrupts: two coroutines on the main thread that
// never yield, and a watchdog thread that interrupts the main thread every
// millisecond; the handler switches to the other coroutine (getcontext +
// setcontext + swapcontext, from inside the handler).  Both must make
// progress, and each must be preempted many times: the interrupt nesting
// follows the coroutine, so the coroutine switched to is interruptible.
// REQUIRES: ours
// LIBS: -lpthread
#include <pthread.h>
#include <stdatomic.h>
#include <ucontext.h>

#include "ours.h"

extern void __splitstack_getcontext(void *ctx[10]);
extern void __splitstack_setcontext(void *ctx[10]);
extern void *__splitstack_makecontext(size_t size, void *ctx[10], size_t *out);
extern void __splitstack_releasecontext(void *ctx[10]);

static ucontext_t uc[3];
static void *ctx[3][10];
static volatile int cur;
static volatile long progress[2];
static atomic_int switches;
static atomic_int stop_watchdog;
static volatile int stop;
static SplitstackThread *main_thread;

__attribute__((noinline)) static long small(long x)
{
    ESCAPE(&x);
    return x + 1;
}

static void switch_to(int to)
{
    int from = cur;
    cur = to;
    __splitstack_getcontext(ctx[from]);
    __splitstack_setcontext(ctx[to]);
    swapcontext(&uc[from], &uc[to]);
}

static void handler(uint64_t bits, void *user)
{
    (void)bits;
    (void)user;
    if (cur == 2)
        return; /* main's own context: not scheduled */
    atomic_fetch_add(&switches, 1);
    switch_to(stop ? 2 : !cur);
}

static void coro_entry(int me)
{
    /* Never yields: only the handler switches away from here. */
    while (!stop)
        progress[me] = small(progress[me]);
    switch_to(2);
}

static void *watchdog(void *arg)
{
    (void)arg;
    for (int n = 0; !atomic_load(&stop_watchdog); n++) {
        if (n == 300)
            stop = 1; /* the coroutines' time is up: the next switch goes to main */
        CHECK(splitstack_interrupt(main_thread, 1) == SplitstackOk, "request");
        usleep(1000);
    }
    return NULL;
}

int main(void)
{
    CHECK(splitstack_set_interrupt_handler(handler, NULL) == SplitstackOk, "set handler");
    main_thread = splitstack_thread_self();
    for (int i = 0; i < 2; i++) {
        size_t size;
        void *base = __splitstack_makecontext(16384, ctx[i], &size);
        CHECK(base != NULL, "makecontext");
        getcontext(&uc[i]);
        uc[i].uc_stack.ss_sp = base;
        uc[i].uc_stack.ss_size = size;
        makecontext(&uc[i], (void (*)(void))coro_entry, 1, i);
    }
    pthread_t w;
    CHECK(pthread_create(&w, NULL, watchdog, NULL) == 0, "pthread_create");
    /* Into coroutine 0; the handler brings control back here once the
     * watchdog has set `stop` (after 300 requests). */
    cur = 2;
    splitstack_interrupt_defer(); /* main is not preempted while it sets up */
    switch_to(0);
    splitstack_interrupt_undefer();
    atomic_store(&stop_watchdog, 1);
    pthread_join(w, NULL);
    printf("preemption: %d switches; progress %ld and %ld\n", atomic_load(&switches), progress[0], progress[1]);
    CHECK(progress[0] > 1000 && progress[1] > 1000, "a coroutine made no progress: %ld %ld", progress[0],
          progress[1]);
    CHECK(atomic_load(&switches) >= 50, "only %d switches", atomic_load(&switches));
    __splitstack_releasecontext(ctx[0]);
    __splitstack_releasecontext(ctx[1]);
    splitstack_thread_release(main_thread);
    return 0;
}
