// REQUIRES: ours
//
// Guard pages below segments (README: Guard pages): turned on through the
// API before the first segment, and through SPLITSTACK_GUARD (and
// libgcc's SPLIT_STACK_GUARD) in children run with the variable set.
// Checks, by probing with write(2) (EFAULT on an inaccessible page,
// without a fault):
//  - every live context's segment has an inaccessible page right below
//    it and an accessible first byte;
//  - MADV_GUARD_INSTALL guards add no kernel mapping (2000 contexts: at
//    most 10 new lines in /proc/self/maps), and the statistics count them;
//  - a fork child still finds the guards;
//  - the mode is fixed once segments exist; bad modes and values are
//    refused with a message;
//  - the mprotect fallback, where the kernel refuses markers (mlockall)
//    and forced: guards there too, each a mapping, and past the cap a
//    message and unguarded memory counted.
#include <errno.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ours.h"

enum { N = 2000, N_MPROTECT = 200 };

static char self[4096];
static int probe_fd[2];

/* Whether the byte at `p` can be read, told by write(2) (EFAULT when not). */
static int readable(const void *p)
{
    ssize_t r = write(probe_fd[1], p, 1);
    if (r == 1) {
        char c;
        CHECK(read(probe_fd[0], &c, 1) == 1, "drain the probe pipe");
        return 1;
    }
    CHECK(r == -1 && errno == EFAULT, "probe write: %zd, errno %d", r, errno);
    return 0;
}

static long map_lines(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL, "open /proc/self/maps");
    long n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static SplitstackStats stats(void)
{
    SplitstackStats s;
    CHECK(splitstack_get_stats(&s, sizeof s) == sizeof s, "get_stats");
    return s;
}

static uintptr_t page;

/* The page below the segment whose stack makecontext returned. */
static const char *guard_of(const void *stack)
{
    uintptr_t seg = (uintptr_t)stack & ~(page - 1);
    return (const char *)(seg - page);
}

/* Makes n contexts, checks each one's guard; returns the stacks. */
static void **make_checked(SplitstackContext *c, int n)
{
    void **stacks = calloc((size_t)n, sizeof *stacks);
    CHECK(stacks != NULL, "calloc");
    for (int i = 0; i < n; i++) {
        size_t size;
        stacks[i] = __splitstack_makecontext(16384, splitstack_context_words(&c[i]), &size);
        CHECK(stacks[i] != NULL && size >= 16384, "makecontext %d", i);
        ((volatile char *)stacks[i])[0] = 1;
        ((volatile char *)stacks[i])[size - 1] = 1;
    }
    for (int i = 0; i < n; i++) {
        const char *g = guard_of(stacks[i]);
        CHECK(!readable(g) && !readable(g + page - 1), "context %d: no guard below its segment (%p)", i, (void *)g);
        CHECK(readable(g + page), "context %d: the segment's first byte is not accessible", i);
    }
    return stacks;
}

static void expect_child(const char *mode, const char *name, const char *value, const char *must)
{
    char out[8192];
    int st = ss_run_self(self, mode, name, value, out, sizeof out);
    CHECK(st == 0, "child %s with %s=%s: status %d:\n%s", mode, name ? name : "-", value ? value : "-", st, out);
    CHECK(strstr(out, must) != NULL, "child %s with %s=%s: expected \"%s\" in:\n%s", mode, name ? name : "-",
          value ? value : "-", must, out);
    printf("  %s=%s: %s", name ? name : "(none)", value ? value : "", strstr(out, must));
}

/* Child modes: report the mode in force (and, for "mprotect", check the
 * fallback's guards, mappings and cap). */
static int child(const char *mode)
{
    if (strcmp(mode, "mlock") == 0) {
        /* mlock'd memory refuses MADV_GUARD_INSTALL (EINVAL): the runtime
         * must fall back to mprotect guards by itself. */
        CHECK(mlockall(MCL_CURRENT | MCL_FUTURE) == 0, "mlockall: errno %d (the test runs as root in CI)", errno);
        SplitstackContext *c = calloc(20, sizeof *c);
        make_checked(c, 20);
        SplitstackStats s = stats();
        CHECK(s.guard_mode == SPLITSTACK_GUARD_MPROTECT && s.guard_mprotects >= 20 && s.guard_markers == 0,
              "after mlockall: mode %llu, %llu mprotect guards, %llu markers", (unsigned long long)s.guard_mode,
              (unsigned long long)s.guard_mprotects, (unsigned long long)s.guard_markers);
        printf("mlockall: markers refused, mode %llu with %llu mprotect guards\n", (unsigned long long)s.guard_mode,
               (unsigned long long)s.guard_mprotects);
        return 0;
    }
    if (strcmp(mode, "mprotect") == 0) {
        CHECK(splitstack_guard_pages() == SPLITSTACK_GUARD_MPROTECT, "mode %u", splitstack_guard_pages());
        long before = map_lines();
        SplitstackContext *c = calloc(N_MPROTECT, sizeof *c);
        make_checked(c, N_MPROTECT);
        long grown = map_lines() - before;
        SplitstackStats s = stats();
        CHECK(s.guard_mode == SPLITSTACK_GUARD_MPROTECT && s.guard_mprotects >= N_MPROTECT && s.guard_markers == 0,
              "stats: mode %llu, %llu mprotect guards, %llu markers", (unsigned long long)s.guard_mode,
              (unsigned long long)s.guard_mprotects, (unsigned long long)s.guard_markers);
        CHECK(grown >= N_MPROTECT, "%d mprotect guards added only %ld mappings", N_MPROTECT, grown);
        /* Past the cap (10,000 guards): a message, then unguarded memory. */
        SplitstackContext *more = calloc(10100, sizeof *more);
        for (int i = 0; i < 10100; i++) {
            size_t size;
            CHECK(__splitstack_makecontext(16384, splitstack_context_words(&more[i]), &size) != NULL, "make");
        }
        s = stats();
        CHECK(s.guard_unguarded > 0 && s.guard_mprotects == 10000, "past the cap: %llu unguarded, %llu guards",
              (unsigned long long)s.guard_unguarded, (unsigned long long)s.guard_mprotects);
        printf("mode 2: %d mprotect guards added %ld mappings; past the cap %llu ranges unguarded\n", N_MPROTECT,
               grown, (unsigned long long)s.guard_unguarded);
        return 0;
    }
    printf("mode %u\n", splitstack_guard_pages());
    return 0;
}

/* No split here: the first segment must come after the API call. */
__attribute__((no_split_stack)) int main(int argc, char **argv)
{
    page = (uintptr_t)sysconf(_SC_PAGESIZE);
    CHECK(pipe(probe_fd) == 0, "pipe");
    if (argc > 1)
        return child(argv[1]);
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(len > 0, "readlink /proc/self/exe");
    self[len] = 0;

    CHECK(splitstack_guard_pages() == SPLITSTACK_GUARD_OFF, "guards on by default: %u", splitstack_guard_pages());
    CHECK(splitstack_set_guard_pages(7) == SplitstackInvalidValue, "mode 7 accepted");
    CHECK(splitstack_set_guard_pages(SPLITSTACK_GUARD_ON) == SplitstackOk, "set_guard_pages(1)");

    long before = map_lines();
    SplitstackContext *c = calloc(N, sizeof *c);
    CHECK(c != NULL, "calloc");
    make_checked(c, N);
    long grown = map_lines() - before;
    SplitstackStats s = stats();
    printf("mode %llu: %d contexts, each with a guard below; %llu guard markers, %ld mappings added\n",
           (unsigned long long)s.guard_mode, N, (unsigned long long)s.guard_markers, grown);
    CHECK(s.guard_mode == SPLITSTACK_GUARD_ON, "mode %llu in force (markers refused?)",
          (unsigned long long)s.guard_mode);
    CHECK(s.guard_markers >= N && s.guard_mprotects == 0, "%llu markers, %llu mprotect guards",
          (unsigned long long)s.guard_markers, (unsigned long long)s.guard_mprotects);
    CHECK(grown <= 10, "%d guarded contexts added %ld mappings", N, grown);

    /* Fixed now. */
    CHECK(splitstack_set_guard_pages(SPLITSTACK_GUARD_OFF) == SplitstackInvalidValue, "mode changed after use");
    CHECK(splitstack_set_guard_pages(SPLITSTACK_GUARD_ON) == SplitstackOk, "the mode in force refused");

    /* A fork child inherits the guards. */
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        size_t size;
        void *st = __splitstack_resetcontext(splitstack_context_words(&c[0]), &size);
        _exit(st != NULL && !readable(guard_of(st)) && readable(guard_of(st) + page) ? 0 : 1);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "fork child: no guard below a context's segment");
    printf("fork child: guard present\n");

    /* Released with no cache mark: what the thread's cache does not keep
     * goes back to the kernel (MADV_DONTNEED); reused blocks keep their
     * guards, cached and cold alike. */
    CHECK(splitstack_set_cache_max(0) == SplitstackOk, "set_cache_max(0)");
    for (int i = 0; i < N; i++)
        __splitstack_releasecontext(splitstack_context_words(&c[i]));
    SplitstackStats r = stats();
    CHECK(r.bytes_cached_resident <= (9u << 20), "%llu cached bytes still resident",
          (unsigned long long)r.bytes_cached_resident);
    free(make_checked(c, N));
    for (int i = 0; i < N; i++)
        __splitstack_releasecontext(splitstack_context_words(&c[i]));
    printf("released (%llu cached bytes resident: the rest given back) and made again: guards kept\n",
           (unsigned long long)r.bytes_cached_resident);

    /* The environment, in children (which start with neither variable
     * unless one is given). */
    unsetenv("SPLITSTACK_GUARD");
    unsetenv("SPLIT_STACK_GUARD");
    expect_child("report", NULL, NULL, "mode 0");
    expect_child("report", "SPLITSTACK_GUARD", "1", "mode 1");
    expect_child("report", "SPLITSTACK_GUARD", "0", "mode 0");
    expect_child("report", "SPLIT_STACK_GUARD", "1", "mode 1");
    expect_child("report", "SPLITSTACK_GUARD", "banana", "SPLITSTACK_GUARD=banana ignored");
    expect_child("report", "SPLITSTACK_GUARD", "banana", "mode 0");
    expect_child("mlock", "SPLITSTACK_GUARD", "1", "mlockall: markers refused, mode 2");
    expect_child("mprotect", "SPLITSTACK_GUARD", "mprotect", "mode 2:");
    expect_child("mprotect", "SPLITSTACK_GUARD", "mprotect", "mprotect guards made (the cap)");
    return 0;
}
