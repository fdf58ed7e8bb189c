// Frames of 64 KiB, 1 MiB and 8 MiB in a recursion.
//
// A frame bigger than any usual segment makes the runtime allocate a
// segment sized for that frame.  Each frame is filled completely and
// checked after its callees return; the 8 MiB frames alone need 32 MiB,
// far beyond the 8 MiB main stack.  At the bottom, every big buffer of the
// chain must lie entirely inside one of the stack pieces that
// __splitstack_find reports, which checks the segment bookkeeping as well.
#include "common.h"

#define KIB 1024
#define MIB (1024 * 1024)

#define MAX_FRAMES 64
static struct {
    const uint8_t *p;
    size_t n;
} frames[MAX_FRAMES];
static int nframes;
static int checked_at_bottom;

/* Walk the stack pieces and check each recorded buffer is inside one. */
__attribute__((noinline)) static void check_buffers_in_pieces(void)
{
    struct {
        uintptr_t lo, hi;
    } pieces[4096];
    int np = 0;
    void *seg = NULL, *sp = NULL, *isp = NULL, *base;
    size_t len;
    while ((base = __splitstack_find(seg, sp, &len, &seg, &sp, &isp)) != NULL) {
        CHECK(np < 4096, "too many stack pieces");
        pieces[np].lo = (uintptr_t)base;
        pieces[np].hi = (uintptr_t)base + len;
        np++;
    }
    for (int f = 0; f < nframes; f++) {
        uintptr_t lo = (uintptr_t)frames[f].p, hi = lo + frames[f].n;
        int found = 0;
        for (int i = 0; i < np; i++)
            if (lo >= pieces[i].lo && hi <= pieces[i].hi)
                found = 1;
        CHECK(found, "buffer %d (%zu bytes at %#lx) is not inside any stack piece (%d pieces)", f,
              frames[f].n, (unsigned long)lo, np);
    }
    /* Segment sizes are the runtime's choice (libgcc grows them), so only
     * demand that the chain left the initial stack. */
    CHECK(np >= 2, "only %d stack piece with %d big frames live", np, nframes);
    checked_at_bottom = 1;
}

static void push_frame(const void *p, size_t n)
{
    CHECK(nframes < MAX_FRAMES, "too many frames");
    frames[nframes].p = (const uint8_t *)p;
    frames[nframes].n = n;
    nframes++;
}

/* One function per size: the frame size is a compile-time constant in the
 * prologue, which is what the runtime sees in r10. */
#define DEFINE_LEVEL(name, size)                                                       \
    __attribute__((noinline)) static uint64_t name(const char *plan, uint32_t seed);
DEFINE_LEVEL(level_64k, 64 * KIB)
DEFINE_LEVEL(level_1m, 1 * MIB)
DEFINE_LEVEL(level_8m, 8 * MIB)

/* plan: a string of '6' (64 KiB), '1' (1 MiB), '8' (8 MiB) frames to
 * descend through, one character per level. */
static uint64_t next_level(const char *plan, uint32_t seed)
{
    switch (*plan) {
    case '6':
        return level_64k(plan, seed);
    case '1':
        return level_1m(plan, seed);
    case '8':
        return level_8m(plan, seed);
    default:
        check_buffers_in_pieces();
        return 1;
    }
}

#define LEVEL_BODY(size)                                                               \
    {                                                                                  \
        uint8_t buf[size];                                                             \
        uintptr_t my_limit = ss_limit();                                               \
        ss_fill(buf, sizeof buf, seed);                                                \
        push_frame(buf, sizeof buf);                                                   \
        uint64_t below = next_level(plan + 1, seed * 7 + 1);                           \
        nframes--;                                                                     \
        long bad = ss_verify(buf, sizeof buf, seed);                                   \
        CHECK(bad < 0, "%s frame (level %d) corrupted at offset %ld", #size,          \
              nframes, bad);                                                           \
        CHECK(ss_limit() == my_limit, "%s frame: limit changed across the call",       \
              #size);                                                                  \
        return ss_mix(below, buf[sizeof buf - 1] ^ buf[0]);                            \
    }

static uint64_t level_64k(const char *plan, uint32_t seed) LEVEL_BODY(64 * KIB)
static uint64_t level_1m(const char *plan, uint32_t seed) LEVEL_BODY(1 * MIB)
static uint64_t level_8m(const char *plan, uint32_t seed) LEVEL_BODY(8 * MIB)

static uint64_t expected(const char *plan, uint32_t seed)
{
    static const size_t sizes[] = {['6'] = 64 * KIB, ['1'] = 1 * MIB, ['8'] = 8 * MIB};
    if (*plan == 0)
        return 1;
    size_t n = sizes[(unsigned char)*plan];
    uint64_t below = expected(plan + 1, seed * 7 + 1);
    uint8_t first = (uint8_t)seed, last = (uint8_t)(seed + (n - 1) * 31 + ((n - 1) >> 9));
    return ss_mix(below, last ^ first);
}

int main(void)
{
    static const char *plans[] = {
        "6666666666666666666666666666666666666666", /* 40 x 64 KiB */
        "1111111111111111",                         /* 16 x 1 MiB */
        "8888",                                     /* 4 x 8 MiB */
        "61861866186661",                           /* mixed, grow and shrink */
        "8686868611116666",
    };
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
            uint32_t seed = (uint32_t)(i * 1000 + round);
            checked_at_bottom = 0;
            uint64_t got = next_level(plans[i], seed);
            uint64_t want = expected(plans[i], seed);
            CHECK(got == want, "plan %s: checksum %#llx, want %#llx", plans[i],
                  (unsigned long long)got, (unsigned long long)want);
            CHECK(checked_at_bottom, "plan %s: bottom not reached", plans[i]);
            CHECK(nframes == 0, "frame bookkeeping off");
        }
    }
    printf("all plans ok\n");
    return 0;
}
