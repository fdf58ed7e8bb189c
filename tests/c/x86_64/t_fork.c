// REQUIRES: ours
//
// fork() while other threads allocate and free stack segments (small ones,
// from slabs: a lock on every allocation and free): the child
// has only the forking thread, and must be able to allocate stacks (no
// lock left held by a thread that does not exist in it).  Four threads
// make, run and release coroutine contexts and recurse through segments
// in a loop; the main thread forks 300 times, and each child recurses
// through split stacks and makes and releases a context, then exits.  A
// child that hangs is killed by its alarm and fails the test.
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* From the library's header (common.h declares libgcc's API only): small
   segments come from slabs, whose lock every allocation and free takes. */
int splitstack_set_min_segment_size(size_t);
int splitstack_set_reserve(size_t);

static volatile int stop;

__attribute__((noinline)) static long deep(long n)
{
    char buf[3000];
    ss_fill(buf, 32, (uint32_t)n);
    long r = n > 0 ? deep(n - 1) + 1 : 0;
    CHECK(ss_verify(buf, 32, (uint32_t)n) < 0, "frame %ld corrupted", n);
    return r;
}

static void *churn(void *arg)
{
    (void)arg;
    while (!stop) {
        void *ctx[10];
        size_t size;
        void *p = __splitstack_makecontext(0, ctx, &size);
        CHECK(p != NULL, "makecontext in a thread");
        __splitstack_releasecontext(ctx);
        CHECK(deep(200) == 200, "thread recursion");
    }
    return NULL;
}

int main(void)
{
    pthread_t t[4];
    CHECK(splitstack_set_min_segment_size(512) == 0 && splitstack_set_reserve(1024) == 0, "settings");
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, churn, NULL) == 0, "pthread_create");
    int hung = 0, failed = 0;
    for (int i = 0; i < 300; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
            alarm(10);
            void *ctx[10];
            size_t size;
            if (__splitstack_makecontext(0, ctx, &size) == NULL)
                _exit(2);
            __splitstack_releasecontext(ctx);
            _exit(deep(500) == 500 ? 0 : 3);
        }
        int status;
        CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
            hung++;
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    }
    stop = 1;
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(hung == 0 && failed == 0, "%d children hung, %d failed", hung, failed);
    printf("300 forks while 4 threads allocate stacks: every child ran\n");
    return 0;
}
