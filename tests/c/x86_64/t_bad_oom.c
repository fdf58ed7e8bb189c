// REQUIRES: ours
// EXPECT_SIGNAL: ABRT
// EXPECT_STDERR: ^splitstack: .*out of memory.*[0-9]{6,}
//
// Running out of memory while growing the stack: with the address space
// limited to the current size + 64 MiB, a recursion through 1 MiB frames
// must end with a message naming the failed size in bytes, then abort.
#include <sys/resource.h>

#include "common.h"

#define FRAME (1 << 20)

__attribute__((noinline)) static long eat(int depth)
{
    char buf[FRAME];
    buf[0] = (char)depth;
    buf[FRAME - 1] = (char)depth;
    ESCAPE(buf);
    if (depth == 1000)
        return 0;
    return eat(depth + 1) + buf[0] + buf[FRAME - 1];
}

int main(void)
{
    long vm_kib = ss_proc_status_kib("VmSize");
    CHECK(vm_kib > 0, "cannot read VmSize");
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = ((rlim_t)vm_kib << 10) + ((rlim_t)64 << 20);
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit(RLIMIT_AS)");
    printf("address space limited to %lu bytes; recursing through 1 GB of 1 MiB frames\n",
           (unsigned long)rl.rlim_cur);
    fflush(stdout);
    long r = eat(0);
    printf("the recursion finished (%ld) instead of running out of memory\n", r);
    return 1;
}
