// REQUIRES: ours
// LIBS: -ldl
//
// Contexts whose words are garbage, passed to releasecontext, resetcontext,
// find_context and block_signals_context, and segment chains that are not
// what they claim: each call must print a `splitstack: ` message naming the
// problem, have the documented outcome, and leave everything else intact.
// In particular the runtime must never unmap memory it did not map: a
// garbage "segment" in a mapping of the test's own stays mapped and
// unchanged.  (setcontext, which aborts, is t_bad_setcontext_garbage.)
//
// Also: a segment in libgcc's layout (one mapping of size + 56 bytes, as a
// libgcc runtime copy makes them) in a context in libgcc's layout (word 7
// zero) is freed the way libgcc frees it, so mixing keeps working.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

/* stderr goes to a file around each bad call; the text is returned. */
static char captured[4096];
static int saved_stderr = -1;

static void capture_begin(void)
{
    fflush(stderr);
    char path[] = "/tmp/t_bad_contexts.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    unlink(path);
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

static const char *capture_end(void)
{
    fflush(stderr);
    memset(captured, 0, sizeof captured);
    lseek(2, 0, SEEK_SET);
    ssize_t n = read(2, captured, sizeof captured - 1);
    (void)n;
    dup2(saved_stderr, 2);
    close(saved_stderr);
    fputs(captured, stdout); /* in the log, for the reader */
    return captured;
}

#define EXPECT_MSG(text, ...)                                                            \
    do {                                                                                 \
        const char *got_ = capture_end();                                                \
        CHECK(strncmp(got_, "splitstack: ", 12) == 0, "no splitstack message: '%s'", got_); \
        CHECK(strstr(got_, text) != NULL, "message lacks '%s': '%s'", text, got_);        \
    } while (0)

static void fill_garbage(void *ctx[10])
{
    /* Every word a small odd address. */
    for (int i = 0; i < 10; i++)
        ctx[i] = (void *)(uintptr_t)(0x11 + 0x22 * i);
}

static int page_mapped(void *p)
{
    unsigned char v[64]; /* qemu-user writes one byte per host page */
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    return mincore((void *)((uintptr_t)p & ~(page - 1)), page, v) == 0;
}

int main(void)
{
    void *ctx[10], *copy[10];
    size_t len, size;
    void *seg, *sp, *isp;
    long page = sysconf(_SC_PAGESIZE);

    /* 1. Every word garbage. */
    fill_garbage(ctx);
    capture_begin();
    __splitstack_releasecontext(ctx);
    EXPECT_MSG("is not a split-stack context");
    CHECK(ctx[0] == (void *)0x11 && ctx[7] == (void *)(uintptr_t)(0x11 + 0x22 * 7),
          "release of a garbage context changed it");

    capture_begin();
    CHECK(__splitstack_resetcontext(ctx, &size) == NULL, "reset of a garbage context returned a stack");
    EXPECT_MSG("is not a split-stack context");

    capture_begin();
    CHECK(__splitstack_find_context(ctx, &len, &seg, &sp, &isp) == NULL,
          "find_context of a garbage context returned a range");
    EXPECT_MSG("is not a split-stack context");

    int on = 1, old = -1;
    capture_begin();
    __splitstack_block_signals_context(ctx, &on, &old);
    EXPECT_MSG("is not a split-stack context");
    CHECK(old == -1 && ctx[6] == (void *)(uintptr_t)(0x11 + 0x22 * 6), "block_signals_context touched it");

    /* 2. A real context whose segment words were overwritten with garbage
     * that is aligned (so only validation can tell). */
    void *real[10];
    CHECK(__splitstack_makecontext(64 * 1024, real, &size) != NULL, "makecontext");
    memcpy(copy, real, sizeof copy);
    copy[0] = copy[1] = (void *)(uintptr_t)0x10000000; /* unmapped here */
    copy[2] = (void *)(uintptr_t)0x10000100;            /* as if it had run */
    capture_begin();
    CHECK(__splitstack_find_context(copy, &len, &seg, &sp, &isp) == NULL, "find_context followed garbage");
    EXPECT_MSG("unreadable");
    capture_begin();
    CHECK(__splitstack_resetcontext(copy, &size) == NULL, "reset followed garbage");
    EXPECT_MSG("unreadable");
    capture_begin();
    __splitstack_releasecontext(copy);
    EXPECT_MSG("not freed");

    /* 3. A pointer into the middle of one of our segments. */
    memcpy(copy, real, sizeof copy);
    copy[0] = copy[1] = (char *)real[0] + 4096;
    capture_begin();
    __splitstack_releasecontext(copy);
    EXPECT_MSG("in this runtime's stack memory");

    /* 4. Garbage in memory of the test's own, shaped nothing like a
     * segment: reported, never unmapped, never written. */
    uint64_t *mine = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mine != MAP_FAILED, "mmap");
    for (size_t i = 0; i < 2 * (size_t)page / 8; i++)
        mine[i] = 0x4141414141414141ull;
    memcpy(copy, real, sizeof copy);
    copy[0] = copy[1] = mine;
    capture_begin();
    __splitstack_releasecontext(copy);
    EXPECT_MSG("not freed");
    CHECK(page_mapped(mine) && page_mapped((char *)mine + page), "the runtime unmapped memory it did not map");
    for (size_t i = 0; i < 2 * (size_t)page / 8; i++)
        CHECK(mine[i] == 0x4141414141414141ull, "word %zu of the test's own mapping was changed", i);

    /* 5. A copy of a context released through the original: its segment is
     * recognised as already freed while it waits for reuse. */
    memcpy(copy, real, sizeof copy);
    __splitstack_releasecontext(real);
    capture_begin();
    __splitstack_releasecontext(copy);
    EXPECT_MSG("already freed");

    /* 6. A segment in libgcc's layout, in a context in libgcc's layout
     * (word 7 zero): freed with munmap(header, size + 56), as libgcc does. */
    void **lg = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(lg != MAP_FAILED, "mmap");
    lg[0] = NULL;                                   /* prev */
    lg[1] = NULL;                                   /* next */
    lg[2] = (void *)(uintptr_t)(4 * page - 56);     /* size */
    void *lctx[10] = {lg, lg, NULL, 0, NULL, 0, (void *)1, 0, 0, 0};
    __splitstack_releasecontext(lctx);
    CHECK(!page_mapped(lg), "a libgcc-layout segment was not freed");

    /* The runtime still works. */
    CHECK(__splitstack_makecontext(64 * 1024, real, &size) != NULL, "makecontext after the bad calls");
    __splitstack_releasecontext(real);
    puts("ok");
    return 0;
}
