// 6. Fibers migrating between threads.
//
// Four std::thread workers each run a queue of fibers.  48 fibers make 12
// hops each: hop h of fiber f must run on worker (f + h) % 4, which the
// fiber checks.  On every hop the fiber recurses 300 frames deeper (its
// earlier hops' frames stay below), suspends at the bottom and is handed
// to the next worker's queue, so one fiber's stack is made of segments
// allocated on four threads; after the last hop it returns through all of
// them (frames checked), freeing them on whichever worker it is on then.
// Every 8th fiber is not finished: after 6 hops it is parked, and once
// all workers have exited the main thread destroys the parked fibers
// (Boost's forced unwinding, on a third kind of thread), counting the
// destructors of the objects on their stacks.
//
// Each worker first recurses about 12 MiB deep on its own stack, more
// than the 8 MiB a thread gets: that works only if the thread was set up
// for split stacks by the pthread_create wrapper (run.sh links this
// program with -static-libstdc++: std::thread's pthread_create call is in
// libstdc++, and only a call linked into the program goes to the wrapper;
// with the shared libstdc++ the workers never split).  With the argument
// "no-wrapper" the workers skip that recursion (run.sh also runs the
// program linked with the shared libstdc++ that way).
#include <boost/context/fiber.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "common.hpp"

namespace ctx = boost::context;

constexpr int WORKERS = 4, FIBERS = 48, HOPS = 12, PARK_AFTER = 6, FRAMES_PER_HOP = 300;

static bool parks(int f) { return f % 8 == 5; }

static thread_local int tl_worker = -1;
// Out of line and never inlined: a fiber that moved to another thread must
// read this thread's variable, not an address computed before the move.
__attribute__((noinline)) static int worker_id() {
    asm volatile("");
    return tl_worker;
}

struct Task {
    ctx::fiber fib;
    int id;
    int hop; // hops done
};

struct Queue {
    std::mutex m;
    std::condition_variable cv;
    std::deque<Task> q;
};

static Queue queues[WORKERS];
static std::mutex parked_m;
static std::vector<Task> parked;
static std::atomic<int> retired{0}; // fibers finished or parked
static std::atomic<uint64_t> wrong_worker{0}, hops_run{0}, destructors{0}, damaged{0}, results{0};

static void push(int w, Task &&t) {
    {
        std::lock_guard<std::mutex> g(queues[w].m);
        queues[w].q.push_back(std::move(t));
    }
    queues[w].cv.notify_one();
}

struct Guard {
    uint64_t depth, seed;
    uint64_t w[FRAME_WORDS];
    Guard(uint64_t d, uint64_t s) : depth(d), seed(s) { fill_frame(w, d, s); }
    ~Guard() {
        uint64_t fresh[FRAME_WORDS];
        fill_frame(fresh, depth, seed);
        if (fold_frame(w, 0) != fold_frame(fresh, 0)) damaged++;
        destructors++;
    }
};

__attribute__((noinline)) static void suspend_here(ctx::fiber *m) { *m = std::move(*m).resume(); }

// Hop `hop` of fiber `f`: FRAMES_PER_HOP frames, a suspension (the move to
// the next worker) at the bottom, then the next hop below.
__attribute__((noinline)) static uint64_t hop_frames(int f, int hop, int n, ctx::fiber *m) {
    Guard g((uint64_t)hop * FRAMES_PER_HOP + n, (uint64_t)f);
    uint64_t deeper;
    if (n > 0) {
        deeper = hop_frames(f, hop, n - 1, m);
    } else {
        if (worker_id() != (f + hop) % WORKERS) wrong_worker++;
        hops_run++;
        suspend_here(m);
        deeper = hop + 1 < HOPS ? hop_frames(f, hop + 1, FRAMES_PER_HOP - 1, m) : 0;
    }
    return fold_frame(g.w, deeper);
}

// About 12 MiB of frames on a worker's own stack.
__attribute__((noinline)) static uint64_t own_stack(uint64_t n) {
    uint64_t w[FRAME_WORDS];
    fill_frame(w, n, 4242);
    return fold_frame(w, n == 0 ? 0 : own_stack(n - 1));
}

static void worker(int w, bool own_stack_recursion) {
    tl_worker = w;
    if (own_stack_recursion && own_stack(40000) != expected_checksum(40000, 4242)) damaged++;
    for (;;) {
        Task t;
        {
            std::unique_lock<std::mutex> g(queues[w].m);
            queues[w].cv.wait(g, [&] { return !queues[w].q.empty() || retired.load() == FIBERS; });
            if (queues[w].q.empty()) return;
            t = std::move(queues[w].q.front());
            queues[w].q.pop_front();
        }
        t.fib = std::move(t.fib).resume();
        t.hop++;
        if (!t.fib) {
            CHECK(t.hop == HOPS + 1); // the last resume returned through all the hops
        } else if (parks(t.id) && t.hop == PARK_AFTER) {
            std::lock_guard<std::mutex> g(parked_m);
            parked.push_back(std::move(t));
        } else {
            push((t.id + t.hop) % WORKERS, std::move(t));
            continue;
        }
        if (++retired == FIBERS)
            for (auto &q : queues) {
                std::lock_guard<std::mutex> g(q.m);
                q.cv.notify_all();
            }
    }
}

int main(int argc, char **argv) {
    bool own_stack_recursion = !(argc > 1 && std::strcmp(argv[1], "no-wrapper") == 0);
    uint64_t expected_results = 0, finishing = 0;
    for (int f = 0; f < FIBERS; f++) {
        Task t{ctx::fiber{std::allocator_arg, ctx::segmented_stack(32 * 1024),
                          [f](ctx::fiber &&m) {
                              results += hop_frames(f, 0, FRAMES_PER_HOP - 1, &m);
                              return std::move(m);
                          }},
               f, 0};
        if (!parks(f)) {
            // Its result: the frames folded from the deepest up (hop HOPS-1's
            // frame 0 is the deepest; a hop's frames count down to 0).
            uint64_t h = 0;
            for (int hop = HOPS - 1; hop >= 0; hop--)
                for (int n = 0; n < FRAMES_PER_HOP; n++) h = mix(h, frame_sum((uint64_t)hop * FRAMES_PER_HOP + n, f));
            expected_results += h;
            finishing++;
        }
        push(f % WORKERS, std::move(t));
    }
    std::vector<std::thread> threads;
    for (int w = 0; w < WORKERS; w++) threads.emplace_back(worker, w, own_stack_recursion);
    for (auto &t : threads) t.join();

    uint64_t finished_destructors = destructors.load();
    std::printf("%llu hops run by %d workers, %llu on the wrong worker; %llu fibers finished, %zu parked\n",
                (unsigned long long)hops_run.load(), WORKERS, (unsigned long long)wrong_worker.load(),
                (unsigned long long)finishing, parked.size());
    CHECK(finished_destructors == finishing * HOPS * FRAMES_PER_HOP);
    // Destroy the parked fibers on the main thread; their workers have exited.
    uint64_t parked_frames = parked.size() * (uint64_t)PARK_AFTER * FRAMES_PER_HOP;
    parked.clear();
    uint64_t unwound = destructors.load() - finished_destructors;
    std::printf("parked fibers destroyed on the main thread: %llu destructors (expected %llu)\n",
                (unsigned long long)unwound, (unsigned long long)parked_frames);
    std::printf("results %016llx (expected %016llx), %llu damaged\n", (unsigned long long)results.load(),
                (unsigned long long)expected_results, (unsigned long long)damaged.load());
    CHECK(wrong_worker == 0 && damaged == 0);
    CHECK(results == expected_results);
    CHECK(hops_run == finishing * HOPS + (FIBERS - finishing) * PARK_AFTER);
    CHECK(unwound == parked_frames);
    info_segments("at exit");
    std::printf("migrate: ok\n");
    return 0;
}
