/* A fully static -fsplit-stack program that creates a thread which
 * splits: `gcc -static -fsplit-stack -pthread` with libsplitstack.a and no
 * other flag must link it and run it (tests/run.sh). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) static long deep(long n)
{
    volatile char frame[4000];
    frame[0] = (char)n;
    return n > 0 ? deep(n - 1) + frame[0] - (char)n + 1 : 0;
}

static void *body(void *arg)
{
    *(long *)arg = deep(2000);
    return NULL;
}

int main(void)
{
    pthread_t t;
    long r = -1;
    int e = pthread_create(&t, NULL, body, &r);
    if (e != 0) {
        printf("pthread_create: %s\n", strerror(e));
        return e == ENOSYS ? 3 : 1;
    }
    pthread_join(t, NULL);
    printf("thread recursion: %ld\n", r);
    return r == 2000 ? 0 : 1;
}
