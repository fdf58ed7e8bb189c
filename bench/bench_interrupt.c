/*
 * Interrupts through the stack limit (ours only: libgcc's runtime has no
 * interrupt API) and the fast paths next to libgcc's.  One program for
 * every runtime: the interrupt API is declared weak, so the libgcc build
 * links too and finds it missing at run time (then only the first two
 * results are measured).  Results, in this order:
 *   intr.call            ns per split-stack call that does not split
 *                        (interrupt_work.c: intr_calls -> intr_tick)
 *   intr.split           ns per warm split round trip (hot.c's hot_split
 *                        from main, signal blocking off in both)
 *     (ours: both with an interrupt handler set)
 *   intr.poll            splitstack_interrupt_poll, nothing pending
 *   intr.request_self    splitstack_interrupt(self) + poll (which takes
 *                        the bits and clears the mark): no delivery
 *   intr.self_deliver    splitstack_interrupt(self), then a split-stack
 *                        call, which delivers: a split, the handler (it
 *                        counts) and the way back
 *   intr.request_other   one splitstack_interrupt to another thread that
 *                        is running (looping on intr_tick) on another CPU:
 *                        the request, its membarrier and the IPI it waits
 *                        for (requester and target pinned to the first two
 *                        CPUs allowed)
 *   intr.request_blocked the same to a thread blocked in the kernel
 *   intr.latency_p50/p90/p99/max
 *                        microseconds from just before splitstack_interrupt
 *                        to the start of the handler on the target thread
 *                        (looping on intr_tick), BENCH_INTR_REQUESTS (20000)
 *                        requests, each waiting for its delivery
 *                        (CLOCK_MONOTONIC on both threads, whatever
 *                        BENCH_CLOCK says)
 * BENCH_INTR_COUNT=N runs N operations of each mode BENCH_INTR_MODES
 * names (call, split, and with the API deliver: intr.self_deliver's
 * loop; default all), untimed, for callgrind.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "common.h"

/* Our interrupt API (include/splitstack.h), weak: NULL on libgcc's. */
typedef struct SplitstackThread SplitstackThread;
typedef void (*intr_handler_fn)(uint64_t bits, void *user);
SplitstackThread *splitstack_thread_self(void) __attribute__((weak));
void splitstack_thread_release(SplitstackThread *t) __attribute__((weak));
int splitstack_set_interrupt_handler(intr_handler_fn h, void *user) __attribute__((weak));
int splitstack_interrupt(SplitstackThread *t, uint64_t bits) __attribute__((weak));
uint64_t splitstack_interrupt_poll(void) __attribute__((weak));

/* Workload (split-stack: interrupt_work.c). */
long intr_tick(long i);
long intr_calls(long n);
long intr_spin(const volatile int *stop);

static volatile long sink;
static atomic_ulong deliveries;
static atomic_ullong delivered_ns;
static SplitstackThread *self;

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The handlers: count; count and note when (for the latency). */
static void on_count(uint64_t bits, void *user)
{
    (void)bits;
    (void)user;
    atomic_fetch_add_explicit(&deliveries, 1, memory_order_release);
}

static void on_stamp(uint64_t bits, void *user)
{
    (void)bits;
    (void)user;
    atomic_store_explicit(&delivered_ns, mono_ns(), memory_order_relaxed);
    atomic_fetch_add_explicit(&deliveries, 1, memory_order_release);
}

/* ---- loops for ns_per_op ------------------------------------------------ */

static void loop_call(long n, void *arg)
{
    (void)arg;
    sink = intr_calls(n);
}

static void loop_split(long n, void *arg)
{
    (void)arg;
    long s = 0;
    for (long i = 0; i < n; i++)
        s += hot_split(i);
    sink = s;
}

static void loop_poll(long n, void *arg)
{
    (void)arg;
    uint64_t s = 0;
    for (long i = 0; i < n; i++)
        s += splitstack_interrupt_poll();
    sink = (long)s;
}

static void loop_request_self(long n, void *arg)
{
    (void)arg;
    uint64_t s = 0;
    for (long i = 0; i < n; i++) {
        splitstack_interrupt(self, 1);
        s += splitstack_interrupt_poll();
    }
    sink = (long)s;
}

static void loop_self_deliver(long n, void *arg)
{
    (void)arg;
    long s = 0;
    for (long i = 0; i < n; i++) {
        splitstack_interrupt(self, 1);
        s += intr_tick(i);
    }
    sink = s;
}

static void loop_request(long n, void *arg)
{
    SplitstackThread *t = arg;
    for (long i = 0; i < n; i++)
        splitstack_interrupt(t, 1);
}

/* ---- target threads ----------------------------------------------------- */

/* The two CPUs the requester and the target run on (pin < 0: fewer than
 * two allowed, no pinning). */
static int cpu_requester = -1, cpu_target = -1;

static void pin_self(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

struct target {
    pthread_t th;
    SplitstackThread *handle;
    atomic_int ready;
    volatile int stop;
    long calls;
    /* a blocked target waits here */
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* Loops on small split-stack calls until stop. */
static void *spinning_target(void *arg)
{
    struct target *t = arg;
    pin_self(cpu_target);
    t->handle = splitstack_thread_self();
    atomic_store(&t->ready, 1);
    t->calls = intr_spin(&t->stop);
    return NULL;
}

/* Waits in pthread_cond_wait (in the kernel) until stop. */
static void *blocked_target(void *arg)
{
    struct target *t = arg;
    pin_self(cpu_target);
    t->handle = splitstack_thread_self();
    pthread_mutex_lock(&t->mu);
    atomic_store(&t->ready, 1);
    while (!t->stop)
        pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static int start_target(struct target *t, void *(*fn)(void *))
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (pthread_create(&t->th, NULL, fn, t) != 0)
        return -1;
    while (!atomic_load(&t->ready))
        sched_yield();
    return t->handle ? 0 : -1;
}

static void stop_target(struct target *t)
{
    pthread_mutex_lock(&t->mu);
    t->stop = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->th, NULL);
    if (t->handle)
        splitstack_thread_release(t->handle);
}

/* Waits until deliveries passes `before` (0 after 1 s without): spins
 * for 20 us, then yields, and after 1 ms sleeps 50 us at a time, so that
 * a target waiting for a CPU (other work on the machine) is not kept from
 * this one.  The latency is the handler's clock, not this wait's. */
static int wait_delivery(unsigned long before, uint64_t t0)
{
    for (unsigned spins = 0; atomic_load_explicit(&deliveries, memory_order_acquire) == before; spins++) {
        if (spins % 64) {
            __asm__ volatile("pause");
            continue;
        }
        uint64_t waited = mono_ns() - t0;
        if (waited < 20000)
            continue;
        if (waited > 1000000000u)
            return atomic_load_explicit(&deliveries, memory_order_acquire) != before;
        if (waited < 1000000) {
            sched_yield();
        } else {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
    return 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Request -> handler latency, n requests to a spinning target. */
static void latency(struct target *t, long n)
{
    uint64_t *lat = malloc((size_t)n * sizeof *lat);
    if (!lat) {
        fail("intr.latency", "out of memory");
        return;
    }
    splitstack_set_interrupt_handler(on_stamp, NULL);
    for (long i = -200; i < n; i++) { /* 200 unrecorded first: warm */
        unsigned long before = atomic_load(&deliveries);
        uint64_t t0 = mono_ns();
        splitstack_interrupt(t->handle, 1);
        if (!wait_delivery(before, t0)) {
            fail("intr.latency", "a request was not delivered within 1 s");
            free(lat);
            return;
        }
        if (i >= 0)
            lat[i] = atomic_load_explicit(&delivered_ns, memory_order_relaxed) - t0;
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
    result("intr.latency_p50", (double)lat[n / 2] / 1e3, "us");
    result("intr.latency_p90", (double)lat[n * 90 / 100] / 1e3, "us");
    result("intr.latency_p99", (double)lat[n * 99 / 100] / 1e3, "us");
    result("intr.latency_max", (double)lat[n - 1] / 1e3, "us");
    free(lat);
}

/* BENCH_INTR_MODES: is mode one of its comma-separated words (or unset)? */
static int wanted(const char *mode)
{
    const char *m = getenv("BENCH_INTR_MODES");
    if (!m || !*m)
        return 1;
    size_t n = strlen(mode);
    for (const char *p = m; (p = strstr(p, mode)) != NULL; p += n)
        if ((p == m || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
            return 1;
    return 0;
}

int main(void)
{
    int have_api = splitstack_thread_self && splitstack_set_interrupt_handler && splitstack_interrupt &&
                   splitstack_interrupt_poll && splitstack_thread_release;
    int zero = 0;
    /* The calls must give the right answers (and so really run). */
    long want = 0, s = 0;
    for (long i = 0; i < 1000; i++) {
        s += hot_split(i);
        want += (char)i + 1;
    }
    if (intr_calls(1000) != 1000 || intr_tick(41) != 42 || s != want) {
        fail("intr.check", "wrong result from the workload");
        return 1;
    }
    __splitstack_block_signals(&zero, NULL); /* what libgcc's clients do; ours' default */
    if (have_api)
        splitstack_set_interrupt_handler(on_count, NULL);

    long count = env_long("BENCH_INTR_COUNT", 0);
    if (count > 0) {
        if (wanted("call"))
            sink = intr_calls(count);
        if (wanted("split"))
            loop_split(count, NULL);
        if (wanted("deliver") && have_api && (self = splitstack_thread_self()) != NULL)
            loop_self_deliver(count, NULL);
        printf("# ran %ld operations per mode\n", count);
        return 0;
    }

    result("intr.call", ns_per_op(loop_call, NULL), "ns");
    result("intr.split", ns_per_op(loop_split, NULL), "ns");
    if (!have_api) {
        printf("# this runtime has no interrupt API (libgcc's): intr.call and intr.split only\n");
        return 0;
    }

    self = splitstack_thread_self();
    if (!self) {
        fail("intr.self", "splitstack_thread_self gave NULL");
        return 1;
    }
    result("intr.poll", ns_per_op(loop_poll, NULL), "ns");
    result("intr.request_self", ns_per_op(loop_request_self, NULL), "ns");
    unsigned long d0 = atomic_load(&deliveries);
    result("intr.self_deliver", ns_per_op(loop_self_deliver, NULL), "ns");
    if (atomic_load(&deliveries) == d0)
        fail("intr.self_deliver", "no request to self was delivered");
    if (splitstack_interrupt_poll() != 0)
        fail("intr.self_deliver", "bits left pending after the deliveries");

    /* Requester and target on two different CPUs (the first two this
     * process may use), so that "running" means running elsewhere: the
     * request's membarrier then interrupts that CPU. */
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_COUNT(&allowed) >= 2) {
        for (int c = 0; c < CPU_SETSIZE && cpu_target < 0; c++)
            if (CPU_ISSET(c, &allowed)) {
                if (cpu_requester < 0)
                    cpu_requester = c;
                else
                    cpu_target = c;
            }
        pin_self(cpu_requester);
    } else {
        printf("# fewer than two CPUs: the requester and the target thread share one\n");
    }
    struct target t;
    if (start_target(&t, spinning_target) != 0) {
        fail("intr.request_other", "cannot start the target thread");
        return 1;
    }
    d0 = atomic_load(&deliveries);
    result("intr.request_other", ns_per_op(loop_request, t.handle), "ns");
    if (atomic_load(&deliveries) == d0)
        fail("intr.request_other", "the target received no delivery");
    latency(&t, env_long("BENCH_INTR_REQUESTS", 20000));
    splitstack_set_interrupt_handler(on_count, NULL);
    stop_target(&t);
    if (t.calls <= 0)
        fail("intr.request_other", "the target thread made no calls");

    if (start_target(&t, blocked_target) != 0) {
        fail("intr.request_blocked", "cannot start the target thread");
        return 1;
    }
    result("intr.request_blocked", ns_per_op(loop_request, t.handle), "ns");
    stop_target(&t);
    if (cpu_requester >= 0)
        pthread_setaffinity_np(pthread_self(), sizeof allowed, &allowed);

    splitstack_set_interrupt_handler(NULL, NULL);
    splitstack_thread_release(self);
    return 0;
}
