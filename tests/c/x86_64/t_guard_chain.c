// REQUIRES: ours
// NOSPLIT_PART
// EXPECT_STDERR: ^splitstack: stack overrun: fault at 0x[0-9a-f]+ in the guard page below the stack segment at 0x[0-9a-f]+: .*; to the program.s handler
//
// Guard pages turned on through the API after the program installed a
// SIGSEGV handler of its own: the runtime's handler must pass every fault
// on to it.  A fault outside segment memory reaches the program's handler
// without a word from the runtime; a guard hit reaches it after the
// runtime's one-line report.  The program's handler recovers from both
// with siglongjmp (on the alternate signal stack the runtime gave the
// thread).
#include "common.h"

#ifdef NOSPLIT_PART
#include "nonsplit_rec.h"
#else
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>

long nonsplit_rec(int n);
static long (*volatile call_rec)(int) = nonsplit_rec;
int splitstack_set_guard_pages(uint32_t mode);

static sigjmp_buf back;
static volatile sig_atomic_t caught;
static volatile uintptr_t fault_addr;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    caught++;
    fault_addr = (uintptr_t)si->si_addr;
    siglongjmp(back, 1);
}

static ucontext_t main_uc, co_uc;
static void *main_ss[10], *co_ss[10];

static void co_entry(void)
{
    call_rec(64);
}

static int run(void);

/* No split here (gold gives a function that calls libc a 1 MiB demand
 * at entry): the guard mode must be set before the first segment. */
__attribute__((no_split_stack)) int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGSEGV, &sa, NULL) == 0, "sigaction");
    CHECK(splitstack_set_guard_pages(1) == 0, "set_guard_pages(1)");
    return run();
}

__attribute__((noinline)) static int run(void)
{

    /* 1. A fault that is not a guard hit. */
    if (sigsetjmp(back, 1) == 0) {
        *(volatile int *)16 = 1;
        CHECK(0, "no fault");
    }
    CHECK(caught == 1 && fault_addr == 16, "the program's handler did not get the fault at 16 (%d, %#lx)",
          (int)caught, (unsigned long)fault_addr);
    printf("fault at 16: passed to the program's handler\n");

    /* 2. A guard hit on a coroutine's 16 KiB segment. */
    size_t size;
    void *stack = __splitstack_makecontext(16384, co_ss, &size);
    CHECK(stack != NULL, "makecontext");
    CHECK(getcontext(&co_uc) == 0, "getcontext");
    co_uc.uc_stack.ss_sp = stack;
    co_uc.uc_stack.ss_size = size;
    co_uc.uc_link = &main_uc;
    makecontext(&co_uc, co_entry, 0);
    fflush(stdout);
    if (sigsetjmp(back, 1) == 0) {
        __splitstack_getcontext(main_ss);
        __splitstack_setcontext(co_ss);
        swapcontext(&main_uc, &co_uc);
        CHECK(0, "the coroutine's overrun went unnoticed");
    }
    __splitstack_setcontext(main_ss);
    uintptr_t seg = (uintptr_t)stack & ~(uintptr_t)4095;
    CHECK(caught == 2 && fault_addr < seg && fault_addr >= seg - 4096,
          "guard hit: handler calls %d, fault at %#lx, segment %#lx", (int)caught, (unsigned long)fault_addr,
          (unsigned long)seg);
    printf("guard hit below the segment at %#lx: reported, then passed to the program's handler\n",
           (unsigned long)seg);
    return 0;
}
#endif
