// Memcheck must still see real errors in split-stack programs: the
// runtime's registrations may not silence it.  Each mode makes exactly one
// kind of mistake, on a segment (not on the thread's own stack), and
// tests/valgrind/run.sh checks that memcheck reports it:
//   uninit    a branch on an uninitialised local of a frame deep in the
//             split stack ("Conditional jump or move depends on
//             uninitialised value(s)");
//   released  a read from the stack of a context after
//             __splitstack_releasecontext ("Invalid read": a freed
//             segment is inaccessible while the allocator keeps it);
//   vla       a read just past the end of a variable-length array that
//             the runtime placed in an alloca block ("Invalid read").
// Without valgrind every mode runs quietly and exits 0 (the released read
// hits memory the allocator keeps mapped).
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern void *__splitstack_makecontext(size_t stack_size, void *context[10], size_t *size);
extern void __splitstack_releasecontext(void *context[10]);

static uintptr_t limit(void)
{
    uintptr_t v;
    __asm__ volatile("movq %%fs:0x70, %0" : "=r"(v));
    return v;
}

static volatile int sink;

/* Recurses until well past the thread's initial 16000 bytes (so on a
 * segment), then does `what` there. */
__attribute__((noinline)) static int deep(int n, int (*what)(void))
{
    char pad[2000];
    for (size_t i = 0; i < sizeof pad; i += 64) /* no libc call: gold would */
        pad[i] = (char)n;                      /* give it 1 MiB segments */
    __asm__ volatile("" : : "r"(pad) : "memory");
    int r = n > 0 ? deep(n - 1, what) : what();
    return r + pad[n % sizeof pad];
}

__attribute__((noinline)) static int uninit(void)
{
    char buf[64];
    __asm__ volatile("" : : "r"(buf) : "memory"); /* may have written it: it did not */
    if (buf[7] == 42)
        sink++;
    return 0;
}

__attribute__((noinline)) static int vla_past_end(void)
{
    volatile size_t n = 3 << 20; /* more than any segment here: an alloca block */
    char vla[n];
    for (size_t i = 0; i < n; i += 4096)
        vla[i] = 1;
    __asm__ volatile("" : : "r"(vla) : "memory");
    sink += ((volatile char *)vla)[n + 16];
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    uintptr_t first = limit();
    if (strcmp(mode, "uninit") == 0) {
        deep(100, uninit);
    } else if (strcmp(mode, "vla") == 0) {
        deep(100, vla_past_end);
    } else if (strcmp(mode, "released") == 0) {
        void *ctx[10];
        size_t size;
        char *stack = __splitstack_makecontext(64 * 1024, ctx, &size);
        if (stack == NULL)
            return 2;
        __splitstack_releasecontext(ctx);
        sink += ((volatile char *)stack)[size / 2];
    } else {
        fprintf(stderr, "usage: real_errors uninit|released|vla\n");
        return 2;
    }
    printf("%s done (limit %#lx at start)\n", mode, (unsigned long)first);
    return 0;
}
