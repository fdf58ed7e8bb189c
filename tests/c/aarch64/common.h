/*
 * Shared helpers of the aarch64 suite (tests/c/aarch64/run.sh builds every
 * t_*.c / t_*.cc with fixtures.S against build/aarch64/libsplitstack).
 *
 * The C code here is ordinary (non-split) code: it runs in the slack
 * below a segment's limit when called from a split-stack fixture, so the
 * hooks called from deep frames use little stack and never print; they
 * record the first failure, which main() reports.
 */
#ifndef A64_COMMON_H
#define A64_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* (The generated header has no extern "C" block of its own.) */
#include "splitstack.h"

/* The runtime's thread-local state and its limit accessors. */
extern __thread StackSegment *__morestack_current_segment;
extern __thread StackSegment *__morestack_segments;
void *__morestack_get_guard(void);
void __morestack_set_guard(void *);
void *__morestack_allocate_stack_space(size_t);

/* The fixtures (fixtures.S). */
struct a64_frame_fn {
    uint64_t (*fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                   uint64_t, uint64_t);
    uint64_t (*nsfn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                     uint64_t, uint64_t);
    uint64_t frame;
};
extern const struct a64_frame_fn ss_frame_table[];
void ss_burn(uint64_t n, void (*fn)(void *), void *arg);
uint64_t ss_rec(uint64_t n, uint64_t acc, void (*leaf)(void *), void *arg);
void ss_throw_rec(uint64_t n, void (*leaf)(void *), void *arg);
void a64_outer(void (*fn)(void *), void *arg);
extern const char a64_outer_begin[], a64_outer_end[];

/* The first failure seen where printing is not safe. */
static const char *a64_fail_what;
static uint64_t a64_fail_a, a64_fail_b;

static inline void a64_note_fail(const char *what, uint64_t a, uint64_t b)
{
    if (!a64_fail_what) {
        a64_fail_what = what;
        a64_fail_a = a;
        a64_fail_b = b;
    }
}

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
            exit(1);                                                           \
        }                                                                      \
    } while (0)

static inline void a64_report_noted(void)
{
    CHECK(!a64_fail_what, "%s (0x%llx, 0x%llx)", a64_fail_what ? a64_fail_what : "",
          (unsigned long long)a64_fail_a, (unsigned long long)a64_fail_b);
}

static inline uintptr_t a64_guard(void) { return (uintptr_t)__morestack_get_guard(); }

static inline uintptr_t a64_sp(void)
{
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

static inline uintptr_t a64_seg_low(const StackSegment *s) { return (uintptr_t)s + sizeof(StackSegment); }
static inline uintptr_t a64_seg_top(const StackSegment *s) { return a64_seg_low(s) + s->size; }

/* Number of segments from the current one back to the original stack. */
static inline unsigned a64_chain_depth(void)
{
    unsigned n = 0;
    for (StackSegment *s = __morestack_current_segment; s; s = s->prev)
        n++;
    return n;
}

/* The sum the frame fixtures compute from their ten arguments. */
static inline uint64_t a64_frame_sum(const uint64_t a[10])
{
    uint64_t s = 0;
    for (int i = 0; i < 10; i++)
        s += a[i] << i;
    return s;
}

#ifdef __cplusplus
}
#endif
#endif
