// A race storm: 10^6 requests (INTERRUPT_STORM overrides the count), each
// waited for, to a thread that, just as each request is made, stores its
// limit (a warm split and its return, __splitstack_setcontext of its own
// context) and then only makes small calls until the request is
// delivered.  A request whose mark one of those stores overwrote, and
// that nothing brought back, stalls the test: none may take 1 s.  Then signals: a signal storm against a thread that receives
// requests, whose signal handler runs split-stack code that splits and
// sometimes requests an interrupt of its own thread.  The interrupt
// handler must never run inside the signal handler (the default), and
// every request is delivered, those made in signal handlers at the first
// entry after their signal handler returned.
// REQUIRES: ours
// LIBS: -lpthread
// TIMEOUT: 300
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "ours.h"

extern void __splitstack_getcontext(void *ctx[10]);
extern void __splitstack_setcontext(void *ctx[10]);

#define SIGBIT (1ull << 63)

static atomic_long delivered;
static atomic_long sig_delivered;
static _Atomic(SplitstackThread *) target;
static atomic_int stop;
static volatile sig_atomic_t in_signal;
static atomic_int in_signal_runs;

static void handler(uint64_t bits, void *user)
{
    (void)user;
    if (in_signal)
        atomic_fetch_add(&in_signal_runs, 1);
    if (bits & SIGBIT)
        atomic_fetch_add(&sig_delivered, 1);
    atomic_fetch_add(&delivered, 1);
}

__attribute__((noinline)) static long small(long x)
{
    ESCAPE(&x);
    return x + 1;
}

__attribute__((noinline)) static long big_frame(long x)
{
    char buf[48 << 10];
    buf[0] = (char)x;
    ESCAPE(buf);
    return buf[0] + small(x);
}

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000l + ts.tv_nsec;
}

/* Advanced by the requester just before each request: the target stores
 * its limit a few times (a split and its return, a setcontext) and then
 * makes only small calls until the next advance, so a request whose mark
 * one of those stores lost is not rescued by a later split: it stalls. */
static atomic_long go;

static void *storm_target(void *arg)
{
    (void)arg;
    void *ctx[10];
    atomic_store(&target, splitstack_thread_self());
    long n = 0;
    while (!atomic_load(&stop)) {
        long g = atomic_load(&go);
        /* Wait 0 to ~3 us first, so that the stores below meet the
         * request's mark (which comes after the requester's membarrier). */
        for (unsigned k = (unsigned)((unsigned long)g * 2654435761u) % 1500; k; k--)
            n = small(n);
        /* Either store may be the last before the small calls. */
        if (g & 1)
            n += big_frame(n);
        for (int k = 0; k < 16; k++) {
            __splitstack_getcontext(ctx);
            __splitstack_setcontext(ctx);
        }
        if (!(g & 1))
            n += big_frame(n);
        while (atomic_load(&go) == g && !atomic_load(&stop))
            n = small(n);
    }
    return (void *)n;
}

/* Sends n requests, each waited for (1 s at most); returns the ns taken. */
static long drive_n(long n, const char *what)
{
    SplitstackThread *t;
    while ((t = atomic_load(&target)) == NULL)
        sched_yield();
    long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        long before = atomic_load(&delivered);
        long ts = now_ns();
        atomic_fetch_add(&go, 1);
        CHECK(splitstack_interrupt(t, 1) == SplitstackOk, "request %ld", i);
        for (int spins = 0; atomic_load(&delivered) == before; spins++) {
            CHECK(now_ns() - ts < 1000000000l, "%s: request %ld of %ld not delivered within 1 s", what, i, n);
            if (spins > 200)
                sched_yield(); /* the target may share this CPU */
        }
    }
    return now_ns() - t0;
}

static void drive(long n, const char *what)
{
    long ns = drive_n(n, what);
    printf("%s: %ld requests, none lost (%.2f us each)\n", what, n, ns / 1e3 / n);
}

/* Signals: a split-stack recursion in the handler (it splits), and now
 * and then a request of the handler's own thread. */
__attribute__((noinline)) static long sig_recurse(int d)
{
    char buf[2048];
    buf[0] = (char)d;
    ESCAPE(buf);
    return d ? sig_recurse(d - 1) + buf[0] : small(d);
}

static atomic_long signals;
static void on_signal(int sig)
{
    (void)sig;
    in_signal = 1;
    long k = atomic_fetch_add(&signals, 1);
    SplitstackThread *self = atomic_load(&target);
    if (k % 8 == 0 && self)
        splitstack_interrupt(self, SIGBIT);
    sig_recurse(20);
    in_signal = 0;
}

static void *signal_storm(void *arg)
{
    pthread_t victim = *(pthread_t *)arg;
    while (!atomic_load(&stop)) {
        pthread_kill(victim, SIGUSR1);
        usleep(50);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *e = getenv("INTERRUPT_STORM");
    long n = e ? atol(e) : 1000000;
    CHECK(splitstack_set_interrupt_handler(handler, NULL) == SplitstackOk, "set handler");

    pthread_t t;
    CHECK(pthread_create(&t, NULL, storm_target, NULL) == 0, "pthread_create");
    drive(n, "hot splits and setcontext");
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    splitstack_thread_release(atomic_load(&target));

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
    atomic_store(&stop, 0);
    atomic_store(&target, NULL);
    atomic_store(&delivered, 0);
    CHECK(pthread_create(&t, NULL, storm_target, NULL) == 0, "pthread_create");
    pthread_t s;
    CHECK(pthread_create(&s, NULL, signal_storm, &t) == 0, "pthread_create");
    /* At least n / 20 requests (1000 at least), and on until 200 signals
     * have arrived (usleep(50) sleeps longer on a loaded machine). */
    long m = n / 20 > 1000 ? n / 20 : 1000, sent = 0, ns = 0;
    while (sent < m || atomic_load(&signals) < 200) {
        ns += drive_n(100, "during a signal storm");
        sent += 100;
    }
    printf("during a signal storm: %ld requests, none lost (%.2f us each)\n", sent, ns / 1e3 / sent);
    /* The requests made in signal handlers are delivered too. */
    long t0 = now_ns();
    while (atomic_load(&sig_delivered) == 0)
        CHECK(now_ns() - t0 < 1000000000l, "no request made in a signal handler was delivered (%ld signals)",
              atomic_load(&signals));
    atomic_store(&stop, 1);
    pthread_join(s, NULL);
    pthread_join(t, NULL);
    printf("signal storm: %ld signals; %ld deliveries carried a signal handler's request; %d ran in a signal "
           "handler\n",
           atomic_load(&signals), atomic_load(&sig_delivered), atomic_load(&in_signal_runs));
    CHECK(atomic_load(&signals) > 100, "only %ld signals", atomic_load(&signals));
    CHECK(atomic_load(&in_signal_runs) == 0, "the handler ran inside a signal handler %d times",
          atomic_load(&in_signal_runs));
    splitstack_thread_release(atomic_load(&target));
    return 0;
}
