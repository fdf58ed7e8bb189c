/*
 * hot_path N [block]: N forced splits of a 256-byte frame on a cached
 * segment (run.sh counts the system calls under qemu -strace: the same
 * for 1000 and 20000 round trips means none per round trip; with
 * "block", __splitstack_block_signals(1) must add rt_sigprocmask calls).
 */
#include "common.h"

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    if (argc > 2) {
        int one = 1;
        __splitstack_block_signals(&one, NULL);
    }
    const struct a64_frame_fn *e = &ss_frame_table[2];
    uintptr_t g = a64_guard();
    uint64_t sum = 0;
    for (long i = 0; i < n; i++) {
        __morestack_set_guard((void *)UINTPTR_MAX);
        sum += e->fn((uint64_t)i, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        __morestack_set_guard((void *)g);
    }
    return sum == 0;
}
