/*
 * Guard pages at every page size (turned on through the API before the
 * first segment): the page below every segment is inaccessible and the
 * segment's first byte is not, for contexts made with makecontext and for
 * the segments a deep recursion through __morestack links; probed with
 * write(2), which says EFAULT instead of faulting.  Under qemu-user the
 * kernel's MADV_GUARD_INSTALL is not reached (qemu accepts the advice and
 * ignores it): the runtime's probe of its first marker must notice and
 * use mprotect guards, which qemu does emulate.
 */
#include "common.h"
#include <errno.h>
#include <unistd.h>

enum { N = 300, LEVELS = 200 };

static int probe_fd[2];
static uintptr_t page;

static int readable(uintptr_t p)
{
    ssize_t r = write(probe_fd[1], (const void *)p, 1);
    if (r == 1) {
        char c;
        CHECK(read(probe_fd[0], &c, 1) == 1, "drain");
        return 1;
    }
    CHECK(r == -1 && errno == EFAULT, "probe: %zd errno %d", r, errno);
    return 0;
}

/* The segment's header is its first byte; the guard is the page below. */
static void check_guard(uintptr_t seg, const char *what, int i)
{
    CHECK(seg % page == 0, "%s %d: segment %#lx not page-aligned", what, i, (unsigned long)seg);
    CHECK(!readable(seg - 1) && !readable(seg - page), "%s %d: no guard below segment %#lx", what, i,
          (unsigned long)seg);
    CHECK(readable(seg), "%s %d: segment %#lx not accessible", what, i, (unsigned long)seg);
}

static unsigned checked_in_leaf;

static void leaf(void *p)
{
    (void)p;
    for (StackSegment *s = __morestack_segments; s; s = s->next) {
        uintptr_t seg = (uintptr_t)s;
        if (seg % page || readable(seg - 1) || !readable(seg))
            a64_note_fail("a recursion segment without its guard", seg, 0);
        checked_in_leaf++;
    }
}

int main(void)
{
    page = (uintptr_t)getauxval(AT_PAGESZ);
    CHECK(pipe(probe_fd) == 0, "pipe");
    CHECK(splitstack_set_guard_pages(SPLITSTACK_GUARD_ON) == SplitstackOk, "set_guard_pages");

    static SplitstackContext c[N];
    for (int i = 0; i < N; i++) {
        size_t size;
        void *st = __splitstack_makecontext(16384, splitstack_context_words(&c[i]), &size);
        CHECK(st != NULL, "makecontext %d", i);
        check_guard((uintptr_t)st & ~(page - 1), "context", i);
    }
    ss_rec(LEVELS, 7, leaf, NULL);
    a64_report_noted();
    CHECK(checked_in_leaf >= 2, "the recursion linked %u segments", checked_in_leaf);

    SplitstackStats s;
    CHECK(splitstack_get_stats(&s, sizeof s) == sizeof s, "stats");
    CHECK(s.guard_mode != SPLITSTACK_GUARD_OFF && s.guard_markers + s.guard_mprotects >= N,
          "mode %llu, %llu markers, %llu mprotect guards", (unsigned long long)s.guard_mode,
          (unsigned long long)s.guard_markers, (unsigned long long)s.guard_mprotects);
    for (int i = 0; i < N; i++)
        __splitstack_releasecontext(splitstack_context_words(&c[i]));
    printf("page %lu: mode %llu (%llu markers, %llu mprotect guards): %d contexts and %u recursion segments "
           "guarded\n",
           (unsigned long)page, (unsigned long long)s.guard_mode, (unsigned long long)s.guard_markers,
           (unsigned long long)s.guard_mprotects, N, checked_in_leaf);
    return 0;
}
