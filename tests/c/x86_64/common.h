/* Shared helpers for the split-stack C/C++ tests.
 *
 * Every test is compiled with -fsplit-stack and linked either against
 * libgcc's runtime or against libsplitstack; both export the same C API,
 * so the prototypes are declared here rather than taken from a header.
 *
 * Tests report failures on stderr with a "FAIL:" prefix and exit 1; the
 * driver (run-suite.sh) shows the last lines of output for failing tests.
 * Exit status 77 means "cannot run here" and is reported as UNSUPPORTED.
 *
 * Why the helpers avoid libc: with gold and lld, a split-stack function
 * that references any non-split function (fprintf, memset, and also
 * __splitstack_find, which lives in a non-split object) gets its prologue
 * rewritten to demand a lot more stack (1 MiB with gold, 16 KiB with lld)
 * through __morestack_non_split.  That would change the segment pattern a
 * test is trying to produce, so deep frames call only the split-stack
 * helpers below and keep libc calls out of line.
 */
#ifndef SPLITSTACK_CTESTS_COMMON_H
#define SPLITSTACK_CTESTS_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

void __splitstack_getcontext(void *ctx[10]);
void __splitstack_setcontext(void *ctx[10]);
void *__splitstack_makecontext(size_t stack_size, void *ctx[10], size_t *size);
void *__splitstack_resetcontext(void *ctx[10], size_t *size);
void __splitstack_releasecontext(void *ctx[10]);
void __splitstack_block_signals(int *new_value, int *old_value);
void __splitstack_block_signals_context(void *ctx[10], int *new_value, int *old_value);
void *__splitstack_find(void *segment, void *sp, size_t *len, void **next_segment,
                        void **next_sp, void **initial_sp);
void *__splitstack_find_context(void *ctx[10], size_t *len, void **next_segment,
                                void **next_sp, void **initial_sp);

#ifdef __cplusplus
}
#endif

#define SS_EXIT_UNSUPPORTED 77

/* Make the compiler believe a buffer is read and written behind its back,
 * so that big local arrays (which are what force a split) are neither
 * removed nor shrunk, and recursive calls are not turned into loops. */
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

/* ---- failure reporting ---------------------------------------------------- */

/* Variadic functions: clang cannot give one a split-stack prologue (LLVM
 * refuses to compile it: "Segmented stacks do not support vararg
 * functions"), so under clang the variadic entry point is no_split_stack
 * and does nothing but hand its va_list to ss_vfail, a split-stack
 * function that splits if it has to.  The entry point's own frame (the
 * register save area, about 200 bytes) runs unchecked, in the reserve
 * below the limit, as a non-split callee would.  A test that needs
 * split-stack variadic functions themselves says so with a CLANG
 * directive (see README.md). */
#if defined(__clang__)
#define SS_VARIADIC __attribute__((no_split_stack))
#else
#define SS_VARIADIC
#endif

__attribute__((noinline, noreturn, format(printf, 4, 5), unused)) SS_VARIADIC static void
ss_fail(const char *file, int line, const char *cond, const char *fmt, ...);

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (__builtin_expect(!(cond), 0))                                    \
            ss_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                 \
    } while (0)

__attribute__((noinline, noreturn, unused)) static void
ss_vfail(const char *file, int line, const char *cond, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* stdout first, so progress lines come before the failure in the log. */
    fflush(stdout);
    fprintf(stderr, "FAIL: %s:%d: check `%s` failed: %s\n", file, line, cond, msg);
    exit(1);
}

/* Calls only split-stack code (ss_vfail), so gold and lld leave its
 * prologue alone: GCC's prologue for a variadic function whose frame is
 * under 256 bytes is one they cannot rewrite ("failed to match
 * split-stack sequence"). */
SS_VARIADIC static void ss_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ss_vfail(file, line, cond, fmt, ap);
}

/* ---- callees whose arguments are the point -------------------------------- */

/* A callee that checks the arguments it receives (in registers, on the
 * stack) or the result it returns across a split: the compiler must pass
 * them for real.  Otherwise a static function always called with the same
 * constants gets them propagated into its body and its parameters (and an
 * unused result) dropped, and the test checks nothing.  GCC: noipa.  clang
 * has no noipa, but keeps the signature of a function with external
 * linkage, so there the macro leaves out `static`.  Use it in place of
 * `static`. */
#if defined(__clang__)
#define SS_KEEP_ARGS __attribute__((noinline, used))
#else
#define SS_KEEP_ARGS __attribute__((noinline, noipa)) static
#endif

/* ---- looking at the stack --------------------------------------------------- */

/* The current thread's split-stack limit, kept by glibc in the TCB field
 * tcbhead_t.__private_ss at %fs:0x70 on x86_64.  A change of this value
 * between a caller and a callee proves the callee ran on another segment. */
static inline uintptr_t ss_limit(void)
{
    uintptr_t v;
    __asm__ volatile("mov %%fs:0x70, %0" : "=r"(v));
    return v;
}

static inline uintptr_t ss_sp(void)
{
    uintptr_t v;
    __asm__ volatile("mov %%rsp, %0" : "=r"(v));
    return v;
}

/* A limit that makes sense for code running with stack pointer SP: below
 * it (otherwise every call would split) and not absurdly far away
 * (otherwise nothing would ever split).  0 means "never split", which is
 * what threads that the runtime never saw have. */
__attribute__((unused)) static int ss_limit_sane(uintptr_t limit, uintptr_t sp)
{
    return limit != 0 && limit < sp && sp - limit < ((uintptr_t)256 << 20);
}

/* Number of stack pieces of the calling thread, as a garbage collector
 * would see them: every split segment in use plus the initial stack. */
__attribute__((noinline, unused)) static int ss_count_pieces(void)
{
    void *seg = NULL, *sp = NULL, *isp = NULL;
    size_t len;
    int n = 0;
    while (__splitstack_find(seg, sp, &len, &seg, &sp, &isp) != NULL)
        n++;
    return n;
}

/* Call fn(arg) with the stack pointer no more than `room` bytes above the
 * current limit, i.e. at the bottom of the current segment, so that any
 * callee of fn with a frame larger than `room` has to split.  Recurses with
 * small frames to get there (which may itself split once; that only moves
 * the walk to a fresh segment).  With no limit set there is no boundary to
 * walk to, so fn is called directly. */
__attribute__((noinline, unused)) static void *ss_near_limit(void *(*fn)(void *), void *arg,
                                                             uintptr_t room)
{
    char pad[64];
    void *r;
    ESCAPE(pad);
    uintptr_t lim = ss_limit();
    if (lim != 0 && ss_sp() > lim + room)
        r = ss_near_limit(fn, arg, room);
    else
        r = fn(arg);
    ESCAPE(pad); /* not a tail call: this frame must stay on the stack */
    return r;
}

/* ---- memory ------------------------------------------------------------------ */

/* One field ("VmSize", "VmRSS", ...) of /proc/self/status, in KiB. */
__attribute__((noinline, unused)) static long ss_proc_status_kib(const char *field)
{
    char line[256];
    size_t flen = strlen(field);
    long value = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
            value = strtol(line + flen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return value;
}

/* ---- frame contents ------------------------------------------------------------ */

/* Cheap deterministic mixing for checksums that catch swapped or stale
 * frame contents (a plain sum would miss permutations). */
static inline uint64_t ss_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

/* memset replacement (see the top of this file) writing a pattern that
 * depends on the position, so that misplaced copies are detected too. */
__attribute__((noinline, unused)) static void ss_fill(void *p, size_t n, uint32_t seed)
{
    uint8_t *b = (uint8_t *)p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed + i * 31 + (i >> 9));
    ESCAPE(b);
}

/* Index of the first byte that differs from what ss_fill wrote, or -1. */
__attribute__((noinline, unused)) static long ss_verify(const void *p, size_t n, uint32_t seed)
{
    const uint8_t *b = (const uint8_t *)p;
    ESCAPE(b);
    for (size_t i = 0; i < n; i++)
        if (b[i] != (uint8_t)(seed + i * 31 + (i >> 9)))
            return (long)i;
    return -1;
}

#endif
