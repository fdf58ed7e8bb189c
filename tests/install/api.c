/* The API without -fsplit-stack (no aarch64 compiler emits split-stack
 * prologues): tests/install/run.sh builds it for aarch64 against the
 * installed cross libraries and runs it under qemu-aarch64. */
#include <splitstack.h>
#include <stdio.h>

int main(void)
{
    void *ctx[10];
    size_t size = 0;
    if (__splitstack_makecontext(32 * 1024, ctx, &size) == NULL || size < 32 * 1024)
        return 1;
    __splitstack_releasecontext(ctx);
    SplitstackStats s;
    if (splitstack_get_stats(&s, sizeof s) != sizeof s || s.segments_freed == 0)
        return 1;
    printf("ok %s\n", SPLITSTACK_VERSION_STRING);
    return 0;
}
