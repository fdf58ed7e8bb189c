#!/usr/bin/env python3
"""Runs the benchmark suite against libgcc's runtime and ours; writes raw numbers only.

    python3 bench/measure.py             full run (what `make bench` does), ~5 minutes;
                                         writes bench/results/results.json
    BENCH_QUICK=1 python3 bench/measure.py   quick run (under a minute): 3 rounds,
                                         shorter timings, no 10^6 coroutines; writes
                                         build/bench/quick-results/results.json
    python3 bench/measure.py --tiny --out DIR   tiny parameters (bench/smoke.sh)
    BENCH_ONLY=bench_interrupt python3 bench/measure.py
                                         only the programs named (comma-separated;
                                         "interrupt" = bench_interrupt) and their
                                         callgrind counts; writes
                                         build/bench/only-results/results.json, never
                                         the committed bench/results/

Then bench/report.py makes the table, the targets' verdicts, results.md and
the plot from that results.json (`make bench` runs both).  This program
formats nothing: results.json holds every round's value of every key for
every runtime, what each program printed besides results, the failures, the
plan that was run, the machine, the commit and the mode.  Standard library
only.

Every program under build/bench/{libgcc,ours,ours-so}/ (bench/build.sh) is
built from the same objects; only the runtime differs.  Each round runs every
benchmark once per runtime, back to back, the runtimes' order rotating from
round to round (7 rounds in a full run; 5 and 3 for the big coroutine
counts).  When valgrind is installed, the instructions of one hot-split call
are counted under callgrind as well (not in tiny runs).
"""
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "build", "bench")
VARIANTS = ["libgcc", "ours", "ours-so"]
# ours (.a) again, configured for small segments through its documented
# environment variables (safe when signal handlers run on an alternate
# stack); run for the memory benchmark only.
SMALL = "ours-small"
SMALL_ENV = {"SPLITSTACK_MIN_SEGMENT": "512", "SPLITSTACK_RESERVE": "1024"}
# ours (.a) and libgcc's runtime again with guard pages on (SPLITSTACK_GUARD=1,
# and libgcc's SPLIT_STACK_GUARD=1): create/destroy and memory only.
GUARD = "ours-guard"
LGUARD = "libgcc-guard"
VARIANT_ENV = {SMALL: SMALL_ENV, GUARD: {"SPLITSTACK_GUARD": "1"}, LGUARD: {"SPLIT_STACK_GUARD": "1"}}
VARIANT_EXE = {SMALL: "ours", GUARD: "ours", LGUARD: "libgcc"}
ALL_VARIANTS = VARIANTS + [SMALL, GUARD, LGUARD]
# What results.json looks like; bench/report.py also reads format 1 (no
# "format" key: bench/run.py's results.json, before the split).
FORMAT = 2


def default_out(mode, only=None):
    """Only full runs of everything write bench/results/ (committed); the
    others build/bench/MODE-results/, and runs of some programs only
    (BENCH_ONLY) build/bench/only-results/.  bench/report.py uses the same
    rule."""
    if only:
        return os.path.join(BIN, "only-results")
    return os.path.join(ROOT, "bench", "results") if mode == "full" else os.path.join(BIN, "%s-results" % mode)


# Every program plan() may run (BENCH_ONLY names some of them).
PROGRAMS = ["bench_hot", "bench_ctx", "bench_recursion", "bench_threads", "bench_memory", "density",
            "libc_recursion", "bench_interrupt"]


def only_programs():
    """The programs BENCH_ONLY names (None: every one).  "interrupt" is
    short for bench_interrupt, and so on."""
    raw = os.environ.get("BENCH_ONLY", "").strip()
    if not raw:
        return None
    names = []
    for w in raw.replace(",", " ").split():
        p = w if w in PROGRAMS else "bench_" + w
        if p not in PROGRAMS:
            sys.exit("bench/measure.py: BENCH_ONLY names %r, which is none of: %s" % (w, ", ".join(PROGRAMS)))
        if p not in names:
            names.append(p)
    return names


# ---------------------------------------------------------------------------
# What to run

def mem_available_kib():
    """MemAvailable of /proc/meminfo, in KiB (0 when unreadable)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def plan(mode, only=None):
    """(program, args, env, rounds, variants) per benchmark, for mode
    full/quick/tiny; only those of the programs in `only` when given."""
    if mode == "tiny":
        env = {"BENCH_MIN_TIME": "0.005", "BENCH_DEPTH": "20000", "BENCH_THREADS": "50"}
        mem = [("1000", 1)]
        rounds = 1
        intr = "500"
    elif mode == "quick":
        env = {"BENCH_MIN_TIME": "0.1", "BENCH_DEPTH": "1000000", "BENCH_THREADS": "3000"}
        mem = [("10000", 3), ("100000", 3)]
        rounds = 3
        intr = "20000"
    else:
        env = {"BENCH_MIN_TIME": "0.25", "BENCH_DEPTH": "1000000", "BENCH_THREADS": "10000"}
        mem = [("10000", 5), ("100000", 5), ("1000000", 3)]
        rounds = 7
        intr = "20000"
    benches = [
        ("bench_hot", [], env, rounds, VARIANTS),
        ("bench_ctx", [], env, rounds, VARIANTS + [GUARD, LGUARD]),
        ("bench_recursion", [], env, rounds, VARIANTS),
        ("bench_threads", [], env, rounds, VARIANTS),
    ]
    for n, r in mem:
        benches.append(("bench_memory", [n], env, r, ALL_VARIANTS))
    if mode == "full":
        # Scale: 5 million live coroutines, with the RSS cap at 93% of the
        # memory available (ours needs about 20 GiB of the 24 on the
        # machine the README's figures come from; libgcc's runtime stops
        # at the cap, and the run says where).
        cap = dict(env, BENCH_MEM_CAP_MIB=str(int(mem_available_kib() * 0.93 / 1024)))
        benches.append(("bench_memory", ["5000000"], cap, 1, ["libgcc", "ours"]))
    # tests/system's density shapes (one mem count: the largest of the
    # mode's below 10^6) and the libc-calling recursion.
    dn = "1000" if mode == "tiny" else "100000"
    benches += [
        ("density", ["direct", dn, "4096"], env, min(rounds, 3), VARIANTS),
        ("density", ["ptr", dn, "4096"], env, min(rounds, 3), VARIANTS),
        ("density", ["ptr", dn, "2688"], env, min(rounds, 3), ["libgcc", SMALL]),
        ("density", ["ptr", dn, "4096"], env, min(rounds, 3), [GUARD, LGUARD]),
        ("libc_recursion", ["20" if mode == "tiny" else "300"], env, rounds, VARIANTS),
        # Interrupts: ours only, but the program runs on libgcc's runtime
        # too (its fast-path rows, intr.call and intr.split).
        ("bench_interrupt", [], dict(env, BENCH_INTR_REQUESTS=intr), rounds, VARIANTS),
    ]
    if only:
        benches = [b for b in benches if b[0] in only]
    return benches, rounds


# ---------------------------------------------------------------------------
# Running

def run_one(prog, args, env, variant, timeout):
    exe = os.path.join(BIN, VARIANT_EXE.get(variant, variant), prog)
    e = dict(os.environ)
    e.update(env)
    e.update(VARIANT_ENV.get(variant, {}))
    t0 = time.time()
    try:
        p = subprocess.run([exe] + args, env=e, capture_output=True, text=True, timeout=timeout)
        out, err, rc = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as ex:
        out = ex.stdout.decode() if isinstance(ex.stdout, bytes) else (ex.stdout or "")
        err, rc = "timed out after %ds" % timeout, "timeout"
    results, fails, notes, progress = {}, {}, [], None
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 3 and f[0] == "result":
            results[f[1]] = float(f[2])
        elif len(f) >= 3 and f[0] == "fail":
            fails[f[1]] = " ".join(f[2:])
        elif line.startswith("# progress "):
            progress = int(f[2])
        elif line.startswith("# "):
            notes.append(line[2:])
    if rc != 0:
        why = "exit status %s" % rc if not isinstance(rc, int) or rc > 0 else "killed by signal %d" % -rc
        last = [l for l in err.splitlines() if l.strip()]
        if last:
            why += ": " + last[-1].strip()
        key = "mem.%s" % args[0] if prog == "bench_memory" else prog
        if prog == "bench_memory":
            why = "failed at %s coroutines: %s" % (progress if progress is not None else "?", why)
        fails.setdefault(key, why)
    return results, fails, notes, time.time() - t0


def callgrind_per_op(exe, setup, counts):
    """Instructions per operation: callgrind's totals at two operation
    counts, their difference divided by the counts' (start-up and exit
    cancel); setup(n) gives the (arguments, environment) for n operations."""
    totals = []
    for n in counts:
        args, env = setup(n)
        out = "/tmp/bench-callgrind.%d.out" % os.getpid()
        p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, exe] + args,
                           env=env, capture_output=True, text=True)
        try:
            os.unlink(out)
        except OSError:
            pass
        m = re.search(r"Collected : (\d+)", p.stderr)
        if p.returncode != 0 or not m:
            return None
        totals.append(int(m.group(1)))
    return (totals[1] - totals[0]) / float(counts[1] - counts[0])


def instructions_per_call(variant, mode_name):
    """Instructions per hot-split call (bench_hot's BENCH_HOT_COUNT)."""
    return callgrind_per_op(
        os.path.join(BIN, variant, "bench_hot"),
        lambda n: ([], dict(os.environ, BENCH_HOT_MODES=mode_name, BENCH_HOT_COUNT=str(n))), (50000, 100000))


def instructions_per_pair(variant):
    """Instructions per makecontext + releasecontext pair
    (SPLITSTACK_VALGRIND=0, so that ours takes its native path: libgcc's
    runtime has no valgrind path)."""
    return callgrind_per_op(os.path.join(BIN, variant, "make_release"),
                            lambda n: ([str(n)], dict(os.environ, SPLITSTACK_VALGRIND="0")), (10000, 20000))


def instructions_per_getset(variant):
    """Instructions per getcontext + setcontext of a coroutine's context
    (make_release's getset loop: one half of a switch, no stack change)."""
    return callgrind_per_op(os.path.join(BIN, variant, "make_release"),
                            lambda n: ([str(n), "getset"], dict(os.environ, SPLITSTACK_VALGRIND="0")),
                            (100000, 200000))


def instructions_per_intr_op(variant, mode_name):
    """Instructions per operation of bench_interrupt's BENCH_INTR_COUNT
    mode: call (a split-stack call that does not split), split (a warm
    split round trip, an interrupt handler set in ours), deliver (a
    request to self and its delivery; ours only)."""
    return callgrind_per_op(
        os.path.join(BIN, variant, "bench_interrupt"),
        lambda n: ([], dict(os.environ, BENCH_INTR_MODES=mode_name, BENCH_INTR_COUNT=str(n))),
        (10000, 20000) if mode_name == "deliver" else (50000, 100000))


def run_callgrind(only=None):
    """Deterministic instruction counts (no timing noise), when valgrind is
    here; only those of the programs in `only` when given (the ctx counts
    belong to bench_ctx)."""
    if not shutil.which("valgrind"):
        print("valgrind is not installed: no instruction counts", flush=True)
        return {v: {} for v in VARIANTS}
    want = lambda prog: not only or prog in only
    res = {v: {} for v in VARIANTS}
    for v in VARIANTS:
        for m in ("noblock", "floor") if want("bench_hot") else ():
            x = instructions_per_call(v, m)
            if x is not None:
                res[v]["insn.hot.%s" % m] = {0: x}
        if want("bench_ctx"):
            x = instructions_per_pair(v)
            if x is not None:
                res[v]["insn.ctx.pair"] = {0: x}
            x = instructions_per_getset(v)
            if x is not None:
                res[v]["insn.ctx.getset"] = {0: x}
        for m in ("call", "split", "deliver") if want("bench_interrupt") else ():
            if m == "deliver" and v == "libgcc":
                continue  # no interrupt API
            x = instructions_per_intr_op(v, m)
            if x is not None:
                res[v]["insn.intr.%s" % m] = {0: x}
        print("callgrind  %-8s instructions per call: %s" % (
            v, ", ".join("%s %.0f" % (k.split(".")[-1], x[0]) for k, x in res[v].items())), flush=True)
    return res


def run_all(mode, only=None):
    benches, rounds = plan(mode, only)
    data = {v: {} for v in ALL_VARIANTS}
    fails = {v: {} for v in ALL_VARIANTS}
    notes = {v: set() for v in ALL_VARIANTS}
    maxr = max(b[3] for b in benches)
    t_start = time.time()
    for r in range(maxr):
        for prog, args, env, nrounds, variants in benches:
            if r >= nrounds:
                continue
            k = r % len(variants)
            for v in variants[k:] + variants[:k]:
                res, fl, nt, dt = run_one(prog, args, env, v, timeout=600 if mode == "full" else 300)
                for key, x in res.items():
                    data[v].setdefault(key, {})[r] = x
                for key, why in fl.items():
                    fails[v].setdefault(key, why)
                notes[v].update(nt)
                tag = " ".join([prog] + args)
                print("round %d/%d  %-22s %-8s %5.1fs  %s" % (
                    r + 1, nrounds, tag, v, dt,
                    "FAILED: " + "; ".join(fl.values()) if fl else "%d results" % len(res)), flush=True)
    callgrind = mode != "tiny" and bool(shutil.which("valgrind"))
    if mode != "tiny":
        for v, d in run_callgrind(only).items():
            data[v].update(d)
    seconds = time.time() - t_start
    print("ran for %.0f s" % seconds, flush=True)
    return data, fails, {v: sorted(n) for v, n in notes.items()}, rounds, benches, callgrind, seconds


def machine_info():
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return ""
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    return {
        "cpu": "%s, %s cores" % (cpu, os.cpu_count()),
        "arch": platform.machine(),
        "kernel": platform.release(),
        "page_size": os.sysconf("SC_PAGE_SIZE"),
        "gcc": sh("gcc --version | head -1"),
        "gold": sh("ld.gold --version | head -1"),
        "valgrind": sh("valgrind --version 2>/dev/null"),
        "linkers": {v: open(os.path.join(BIN, v, "LINKER")).read().strip()
                    for v in VARIANTS if os.path.exists(os.path.join(BIN, v, "LINKER"))},
        "max_map_count": sh("cat /proc/sys/vm/max_map_count"),
        "loadavg": sh("cut -d' ' -f1-3 /proc/loadavg"),
        "rewritten": {v: open(os.path.join(BIN, v, "REWRITTEN")).read().strip()
                      for v in VARIANTS if os.path.exists(os.path.join(BIN, v, "REWRITTEN"))},
    }


def commit():
    def git(*a):
        p = subprocess.run(["git"] + list(a), capture_output=True, text=True, cwd=ROOT)
        return p.stdout.strip() if p.returncode == 0 else ""
    c = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--", "src", "asm", "Cargo.toml", "build.rs"):
        c += " (with local changes)"
    return c


def main():
    args = sys.argv[1:]
    unknown = [a for i, a in enumerate(args) if a not in ("--tiny", "--out") and (i == 0 or args[i - 1] != "--out")]
    if unknown or (args and args[-1] == "--out"):
        sys.exit("usage: python3 bench/measure.py [--tiny] [--out DIR]   (BENCH_QUICK=1 for a quick run, "
                 "BENCH_ONLY=PROGRAM[,PROGRAM] for some programs only)")
    mode = "tiny" if "--tiny" in args else "quick" if os.environ.get("BENCH_QUICK", "0") not in ("", "0") else "full"
    only = only_programs()
    out = os.path.abspath(args[args.index("--out") + 1]) if "--out" in args else default_out(mode, only)
    if only and out == os.path.abspath(default_out("full")):
        sys.exit("bench/measure.py: a BENCH_ONLY run is partial: it does not write the committed bench/results/")
    for v in VARIANTS:
        if not os.path.exists(os.path.join(BIN, v, "bench_hot")):
            sys.exit("bench/measure.py: build/bench/%s is missing: run sh bench/build.sh (make bench does)" % v)
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "results.json")
    print("bench: mode %s%s, raw results into %s" % (
        mode, ", only " + ", ".join(only) if only else "", os.path.relpath(path, ROOT)), flush=True)
    start = datetime.datetime.now(datetime.timezone.utc)
    load0 = open("/proc/loadavg").read().split()[:3]
    data, fails, notes, rounds, benches, callgrind, seconds = run_all(mode, only)
    info = machine_info()
    info["loadavg0"] = " ".join(load0)
    saved = {
        "format": FORMAT,
        "mode": mode,
        # The programs a BENCH_ONLY run was limited to (null: all).
        "only": only,
        "commit": commit(),
        "date": start.strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(seconds, 1),
        "rounds": rounds,
        "plan": [{"program": p, "args": a, "env": e, "rounds": n, "variants": vs} for p, a, e, n, vs in benches],
        "small_env": SMALL_ENV,
        "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("BENCH_")},
        "callgrind": callgrind,
        "machine": info,
        # data[variant][key][round] = value, as the program printed it
        "data": data,
        "fails": fails,
        "notes": notes,
    }
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(saved, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    print("raw results: %s (the report: python3 bench/report.py %s)" % (
        os.path.relpath(path, ROOT), os.path.relpath(path, os.getcwd())), flush=True)


if __name__ == "__main__":
    main()
