// REQUIRES: ours
// NOSPLIT_PART
// EXPECT_SIGNAL: ABRT
// EXPECT_STDERR: ^splitstack: stack overrun: fault at 0x[0-9a-f]+ in the guard page below the stack segment at 0x[0-9a-f]+: .*non-split
//
// Guard pages (SPLITSTACK_GUARD=1, set here and re-executed): a coroutine
// on a 16 KiB segment calls, through a pointer (so that no linker
// rewrites the call for more stack), a function compiled without
// -fsplit-stack that recurses 64 times with 1 KiB frames, far below the
// segment.  The stack pointer walks down into the guard page, and the
// runtime must stop the program with the message above, reported on an
// alternate signal stack (none fits on the exhausted stack).  Without the
// guard the frames would run into the neighbouring coroutine's parked
// frames (made just before, so carved just below), and its sentinel
// would be overwritten without a word.
#include "common.h"

#ifdef NOSPLIT_PART
#include "nonsplit_rec.h"

void big_nonsplit(void)
{
    nonsplit_rec(64);
}
#else
#include <pthread.h>
#include <ucontext.h>
#include <unistd.h>

void big_nonsplit(void);
static void (*volatile call_big)(void) = big_nonsplit;

static ucontext_t main_uc, a_uc, b_uc;
static void *main_ss[10], *a_ss[10], *b_ss[10];
static volatile uint64_t *b_sentinel;

static void b_entry(void)
{
    volatile uint64_t sentinel[64];
    for (int i = 0; i < 64; i++)
        sentinel[i] = 0x5e47196e11ULL + i;
    b_sentinel = sentinel;
    __splitstack_getcontext(b_ss);
    __splitstack_setcontext(main_ss);
    swapcontext(&b_uc, &main_uc);
}

/* Out of line: gold gives a split-stack function that calls libc (here
 * swapcontext) a 1 MiB demand, which would move a_entry off its 16 KiB
 * segment before the overrun. */
__attribute__((noinline)) static void park_a(void)
{
    __splitstack_getcontext(a_ss);
    __splitstack_setcontext(main_ss);
    swapcontext(&a_uc, &main_uc);
}

static void a_entry(void)
{
    call_big();
    park_a();
}

static void make(ucontext_t *uc, void *ss[10], void (*entry)(void))
{
    size_t size;
    void *stack = __splitstack_makecontext(16384, ss, &size);
    CHECK(stack != NULL, "makecontext");
    CHECK(getcontext(uc) == 0, "getcontext");
    uc->uc_stack.ss_sp = stack;
    uc->uc_stack.ss_size = size;
    uc->uc_link = NULL;
    makecontext(uc, entry, 0);
}

static void run(ucontext_t *uc, void *ss[10])
{
    __splitstack_getcontext(main_ss);
    __splitstack_setcontext(ss);
    swapcontext(&main_uc, uc);
    __splitstack_setcontext(main_ss);
}

static void *overrun(void *arg)
{
    (void)arg;
    make(&b_uc, b_ss, b_entry);
    make(&a_uc, a_ss, a_entry);
    run(&b_uc, b_ss);
    printf("neighbour parked, sentinel at %p; overrunning\n", (void *)b_sentinel);
    fflush(stdout);
    run(&a_uc, a_ss);
    for (int i = 0; i < 64; i++)
        if (b_sentinel[i] != 0x5e47196e11ULL + i)
            CHECK(0, "the overrun went unnoticed and overwrote the neighbour's frame (word %d)", i);
    CHECK(0, "the 64 KiB overrun went unnoticed");
    return NULL;
}

int main(int argc, char **argv)
{
    (void)argc;
    if (getenv("SPLITSTACK_GUARD") == NULL) {
        setenv("SPLITSTACK_GUARD", "1", 1);
        execv("/proc/self/exe", argv);
        CHECK(0, "re-exec failed");
    }
#ifdef IN_THREAD
    /* In a thread started through the wrapper, on its own alternate
     * signal stack. */
    pthread_t t;
    CHECK(pthread_create(&t, NULL, overrun, NULL) == 0, "pthread_create");
    pthread_join(t, NULL);
#else
    overrun(NULL);
#endif
    return 1;
}
#endif
