/* Not compiled with -fsplit-stack: runs the plugin's coroutines and says
 * whether libsplitstack was there (preloaded) and how many segments it
 * made.  tests/run.sh runs it with LD_PRELOAD. */
#include <dlfcn.h>
#include <stdio.h>
long plugin_run(int rounds);
int main(void)
{
    long r = plugin_run(20);
    size_t (*stats)(void *, size_t) = (size_t (*)(void *, size_t))dlsym(RTLD_DEFAULT, "splitstack_get_stats");
    printf("result %ld (expected %ld); libsplitstack %s\n", r, 20L * 3000 + 500, stats ? "preloaded" : "absent");
    if (stats) {
        unsigned long long s[12] = {0};
        stats(s, sizeof s);
        printf("segments allocated by libsplitstack: %llu\n", s[0]);
    }
    return r == 20L * 3000 + 500 ? 0 : 1;
}
