/* Helpers for the tests of this runtime's own API (allocators, segment
 * sizes, statistics): they include the generated header (for the
 * splitstack_* additions and the typed SplitstackContext), so they use this
 * small header instead of common.h. */
#ifndef SPLITSTACK_CTESTS_OURS_H
#define SPLITSTACK_CTESTS_OURS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../include/splitstack.h"

#include <stdarg.h>

/* Out of line: a split-stack function that refers to libc directly gets
 * its prologue rewritten by gold to demand 1 MiB (see common.h), so deep
 * frames only call this.  Under clang the variadic entry point cannot be
 * split-stack code (see SS_VARIADIC in common.h): it hands its va_list to
 * ss_vfail. */
#if defined(__clang__)
#define SS_VARIADIC __attribute__((no_split_stack))
#else
#define SS_VARIADIC
#endif

__attribute__((noinline, noreturn, unused)) static void
ss_vfail(const char *file, int line, const char *cond, const char *fmt, va_list ap)
{
    fprintf(stderr, "FAIL: %s:%d: check `%s` failed: ", file, line, cond);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    exit(1);
}

__attribute__((noinline, noreturn, format(printf, 4, 5), unused)) SS_VARIADIC static void
ss_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ss_vfail(file, line, cond, fmt, ap);
}

#define CHECK(cond, ...)                                         \
    do {                                                         \
        if (!(cond))                                             \
            ss_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);     \
    } while (0)

#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

static inline uint64_t ss_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

/* Fills / checks a buffer with a pattern derived from seed. */
__attribute__((noinline, unused)) static void ss_fill(void *p, size_t n, uint32_t seed)
{
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        c[i] = (unsigned char)(seed * 131u + i * 7u);
}

__attribute__((noinline, unused)) static long ss_verify(const void *p, size_t n, uint32_t seed)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != (unsigned char)(seed * 131u + i * 7u))
            return (long)i;
    return -1;
}

/* A field of /proc/self/status in KiB (VmRSS, VmSize), or -1. */
__attribute__((noinline, unused)) static long ss_status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

/* Lines of /proc/self/maps: the process's VMA count. */
__attribute__((noinline, unused)) static long ss_vma_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    int c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

/* Runs `self ARG` as a child with NAME=VALUE set (NAME NULL: the
 * environment as it is); its stdout and stderr go to out (cap bytes, NUL
 * terminated).  Returns its exit status, or 128 + the signal that ended
 * it. */
__attribute__((noinline, unused)) static int ss_run_self(const char *self, const char *arg, const char *name,
                                                         const char *value, char *out, size_t cap)
{
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        if (name)
            setenv(name, value, 1);
        execl(self, self, arg, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = 0;
    close(fds[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif
