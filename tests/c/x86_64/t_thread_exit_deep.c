// pthread_exit and pthread_cancel from deep inside split stacks: glibc's
// forced unwind runs through every __morestack frame, whose cleanup
// restores the segment and limit on the way, up to the thread's start;
// cleanup handlers registered at the top run, the thread's segments are
// freed at exit.  200 threads each way; VmSize may not keep growing.
// XFAIL: libgcc
// (With libgcc's runtime, clang and ld.bfd, which rewrites no prologue,
// pthread_exit's dlopen of libgcc_s overflows the small segment it runs
// on: SIGSEGV in the dynamic loader, seen on an AVX-512 machine.  gold's
// and lld's links pass and are reported as such.)
#include <pthread.h>
#include <unistd.h>

#include "common.h"

static volatile int cleanups;

static void on_cleanup(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&cleanups, 1, __ATOMIC_RELAXED);
}

__attribute__((noinline)) static long deep(long n, int how)
{
    char buf[3000];
    ss_fill(buf, 32, (uint32_t)n);
    if (n == 0) {
        if (how == 0)
            pthread_exit((void *)42);
        for (;;)
            pthread_testcancel(); /* cancelled here */
    }
    long r = deep(n - 1, how) + 1;
    CHECK(ss_verify(buf, 32, (uint32_t)n) < 0, "frame %ld corrupted", n);
    return r;
}

static void *body(void *arg)
{
    int how = (int)(intptr_t)arg;
    void *r;
    pthread_cleanup_push(on_cleanup, NULL);
    r = (void *)deep(1000, how); /* ~3 MB of frames: hundreds of segments */
    pthread_cleanup_pop(0);
    return r;
}

int main(void)
{
    long size0 = 0;
    for (int i = 0; i < 400; i++) {
        int how = i & 1;
        pthread_t t;
        void *ret;
        CHECK(pthread_create(&t, NULL, body, (void *)(intptr_t)how) == 0, "pthread_create");
        if (how == 1) {
            usleep(100);
            CHECK(pthread_cancel(t) == 0, "pthread_cancel");
        }
        CHECK(pthread_join(t, &ret) == 0, "pthread_join");
        CHECK(how == 0 ? ret == (void *)42 : ret == PTHREAD_CANCELED, "thread %d: wrong result %p", i, ret);
        if (i == 39)
            size0 = ss_proc_status_kib("VmSize");
    }
    long growth = ss_proc_status_kib("VmSize") - size0;
    CHECK(cleanups == 400, "%d cleanup handlers ran, expected 400", cleanups);
    CHECK(growth < 64 * 1024, "VmSize grew by %ld KiB over 360 threads", growth);
    printf("400 threads left deep split stacks by pthread_exit/pthread_cancel; VmSize +%ld KiB\n", growth);
    return 0;
}
