// REQUIRES: ours
//
// Settings: the minimum segment size and the reserve, through the API and
// the environment (read once at start-up with secure_getenv), and the
// statistics report at exit.  Invalid values (0, not a multiple of 16,
// above 1 GiB, garbage) get a clear message and leave the default in
// place.  The environment cases run this program again as a child with
// the variable set and read what it printed.
#include <sys/wait.h>
#include <unistd.h>

#include "ours.h"

static char self[4096];

/* Runs `self child` with NAME=VALUE; returns its stdout+stderr. */
static void run_child(const char *name, const char *value, char *out, size_t cap)
{
    int st = ss_run_self(self, "child", name, value, out, cap);
    CHECK(st == 0, "child with %s=%s failed: %s", name, value, out);
}

static void expect(const char *name, const char *value, const char *must_contain, const char *report)
{
    char out[8192];
    run_child(name, value, out, sizeof out);
    CHECK(strstr(out, must_contain) != NULL, "%s=%s: expected \"%s\" in:\n%s", name, value, must_contain, out);
    CHECK(strstr(out, report) != NULL, "%s=%s: expected \"%s\" in:\n%s", name, value, report, out);
    printf("%s=%-12s -> %s\n", name, value, report);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        printf("min_segment=%zu reserve=%zu\n", splitstack_min_segment_size(), splitstack_segment_slack());
        return 0;
    }
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(len > 0, "readlink /proc/self/exe");
    self[len] = 0;

    /* The API refuses bad values and keeps the old one. */
    size_t def = splitstack_min_segment_size();
    CHECK(def == SPLITSTACK_DEFAULT_MIN_SEGMENT, "default min segment %zu", def);
    CHECK(splitstack_set_min_segment_size(0) == SplitstackInvalidValue, "0 accepted");
    CHECK(splitstack_set_min_segment_size(1000) == SplitstackInvalidValue, "1000 accepted");
    CHECK(splitstack_set_min_segment_size(256) == SplitstackInvalidValue, "256 accepted");
    CHECK(splitstack_set_min_segment_size((size_t)2 << 30) == SplitstackInvalidValue, "2 GiB accepted");
    CHECK(splitstack_min_segment_size() == def, "a refused value changed the setting");
    CHECK(splitstack_set_min_segment_size(512) == SplitstackOk, "512 refused");
    CHECK(splitstack_min_segment_size() == 512, "512 not applied");
    CHECK(splitstack_set_min_segment_size((size_t)1 << 30) == SplitstackOk, "1 GiB refused");
    CHECK(splitstack_set_min_segment_size(def) == SplitstackOk, "restore");
    size_t res = splitstack_segment_slack();
    CHECK(res == splitstack_default_reserve(), "reserve %zu is not the default", res);
    CHECK(splitstack_set_reserve(512) == SplitstackInvalidValue, "reserve 512 accepted");
    CHECK(splitstack_set_reserve(1030) == SplitstackInvalidValue, "reserve 1030 accepted");
    CHECK(splitstack_segment_slack() == res, "a refused reserve changed the setting");

    char dflt[64], dres[64];
    snprintf(dflt, sizeof dflt, "min_segment=%zu ", def);
    snprintf(dres, sizeof dres, "reserve=%zu", res);
    expect("SPLITSTACK_MIN_SEGMENT", "0", "SPLITSTACK_MIN_SEGMENT=0 ignored: must not be 0", dflt);
    expect("SPLITSTACK_MIN_SEGMENT", "1000", "must be a multiple of 16", dflt);
    expect("SPLITSTACK_MIN_SEGMENT", "2G", "must be at most 1 GiB", dflt);
    expect("SPLITSTACK_MIN_SEGMENT", "lots", "not a size", dflt);
    expect("SPLITSTACK_MIN_SEGMENT", "", "not a size", dflt);
    expect("SPLITSTACK_MIN_SEGMENT", "4096", "min_segment=4096 ", "min_segment=4096 ");
    expect("SPLITSTACK_MIN_SEGMENT", "64K", "min_segment=65536 ", "min_segment=65536 ");
    expect("SPLITSTACK_RESERVE", "512", "must be at least 1024", dres);
    expect("SPLITSTACK_RESERVE", "2048", "reserve=2048", "reserve=2048");
    expect("SPLITSTACK_STATS", "1", "splitstack: stats: segments_allocated", "splitstack: stats: morestack_calls");
    return 0;
}
