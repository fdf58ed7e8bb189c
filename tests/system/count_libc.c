/* LD_PRELOAD helper for hot_path.c: counts calls to the libc functions
 * the __morestack path must never call, forwarding to the real ones. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

static unsigned long calls;
unsigned long count_libc_calls(void) { return __atomic_load_n(&calls, __ATOMIC_RELAXED); }

#define FORWARD(ret, name, params, args)                                   \
    ret name params                                                       \
    {                                                                     \
        static ret (*real) params;                                        \
        if (!real)                                                        \
            real = (ret (*) params)dlsym(RTLD_NEXT, #name);               \
        __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);                  \
        return real args;                                                 \
    }

FORWARD(void *, memcpy, (void *d, const void *s, size_t n), (d, s, n))
FORWARD(void *, memmove, (void *d, const void *s, size_t n), (d, s, n))
FORWARD(void *, memset, (void *d, int c, size_t n), (d, c, n))
FORWARD(void *, malloc, (size_t n), (n))
void free(void *p)
{
    static void (*real)(void *);
    if (!real)
        real = (void (*)(void *))dlsym(RTLD_NEXT, "free");
    __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    real(p);
}
