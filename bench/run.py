#!/usr/bin/env python3
"""Runs the benchmark suite against libgcc's runtime and ours; writes the report.

    python3 bench/run.py              full run (what `make bench` does), ~5 minutes
    BENCH_QUICK=1 python3 bench/run.py    quick run (under a minute): 3 rounds,
                                      shorter timings, no 10^6 coroutines; writes
                                      build/bench/quick-results/, not bench/results/
    python3 bench/run.py --tiny --out DIR   tiny parameters (bench/smoke.sh)
    python3 bench/run.py --from-json bench/results/results.json
                                      the report again from an earlier run's numbers

Every program under build/bench/{libgcc,ours,ours-so}/ (bench/build.sh) is
built from the same objects; only the runtime differs.  Each round runs every
benchmark once per runtime, back to back, the runtimes' order rotating from
round to round; the table shows the median over the rounds (7 in a full
run; 5 and 3 for the big coroutine counts).  Ratio =
libgcc / ours: above 1, ours is faster or smaller.

Output of a full run, bench/results/: results.md (the table, targets,
notes, details per round), results.json (raw numbers), ratios.png (plot);
the table is copied into bench/README.md between its markers (and into the
top README.md if it ever carries the same markers).
"""
import datetime
import json
import math
import os
import platform
import re
import shutil
import statistics
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
ALL_VARIANTS = VARIANTS + [SMALL]
NAMES = {"libgcc": "libgcc", "ours": "ours (.a)", "ours-so": "ours (.so)",
         SMALL: "ours (.a), SPLITSTACK_MIN_SEGMENT=512 SPLITSTACK_RESERVE=1024"}
BEGIN, END = "<!-- bench-table:begin -->", "<!-- bench-table:end -->"


# ---------------------------------------------------------------------------
# What to run

def plan(mode):
    """(program, args, env, rounds) per benchmark, for mode full/quick/tiny."""
    if mode == "tiny":
        env = {"BENCH_MIN_TIME": "0.005", "BENCH_DEPTH": "20000", "BENCH_THREADS": "50"}
        mem = [("1000", 1)]
        rounds = 1
    elif mode == "quick":
        env = {"BENCH_MIN_TIME": "0.1", "BENCH_DEPTH": "1000000", "BENCH_THREADS": "3000"}
        mem = [("10000", 3), ("100000", 3)]
        rounds = 3
    else:
        env = {"BENCH_MIN_TIME": "0.25", "BENCH_DEPTH": "1000000", "BENCH_THREADS": "10000"}
        mem = [("10000", 5), ("100000", 5), ("1000000", 3)]
        rounds = 7
    benches = [
        ("bench_hot", [], env, rounds, VARIANTS),
        ("bench_ctx", [], env, rounds, VARIANTS),
        ("bench_recursion", [], env, rounds, VARIANTS),
        ("bench_threads", [], env, rounds, VARIANTS),
    ]
    for n, r in mem:
        benches.append(("bench_memory", [n], env, r, ALL_VARIANTS))
    return benches, rounds


def mem_rows(n, label):
    k = "mem.%s." % n
    small = " — ours with 2 KiB segments¹"
    return [
        ("%s idle coroutines: RSS per coroutine" % label, k + "rss_per_coro", "KiB", ("rss", 4.0), True),
        ("%s idle coroutines: RSS per coroutine%s" % (label, small), k + "rss_per_coro", "KiB", ("rss", 4.0), True, SMALL),
        ("%s idle coroutines: address space per coroutine" % label, k + "vm_per_coro", "KiB", None, False),
        ("%s idle coroutines: mappings added" % label, k + "vmas", "", None, False),
        ("%s idle coroutines: create + run + suspend, per coroutine" % label, k + "create_us", "us", None, True),
        ("%s idle coroutines: create + run + suspend%s" % (label, small), k + "create_us", "us", None, False, SMALL),
    ]


# (label, key, unit, target, plot?) -- target: (id, minimum ratio)
ROWS = [
    ("hot split, default settings (libgcc blocks signals)", "hot.default", "ns", ("hot50", 50.0), True),
    ("hot split, signal blocking off in both", "hot.noblock", "ns", ("hot2", 2.0), True),
    ("hot split, signal blocking on in both", "hot.block", "ns", None, True),
    ("hot call without -fsplit-stack (floor)", "hot.floor", "ns", None, False),
    ("hot split, blocking off: instructions per call (callgrind)", "insn.hot.noblock", "insn", None, True),
    ("hot call without -fsplit-stack: instructions per call", "insn.hot.floor", "insn", None, False),
    ("coroutine create + destroy (makecontext + releasecontext)", "ctx.create_destroy", "ns", ("create20", 20.0), True),
    ("coroutine life: makecontext + run small recursion + releasecontext", "ctx.lifecycle", "ns", None, True),
    ("resetcontext", "ctx.reset", "ns", None, True),
    ("resetcontext + run small recursion (reuse)", "ctx.reset_run", "ns", None, True),
    ("context switch: getcontext + setcontext + asm switch", "ctx.switch", "ns", ("switch", 0.95), True),
    ("asm switch alone (floor)", "ctx.switch_floor", "ns", None, False),
    ("deep recursion 10^6 frames, first time", "deep.first_ms", "ms", None, True),
    ("deep recursion 10^6 frames, again (segments kept)", "deep.again_ms", "ms", None, True),
    ("deep recursion: peak RSS growth", "deep.peak_rss", "MiB", None, True),
    ("deep recursion: mappings added", "deep.vmas", "", None, False),
]
for _n, _label in (("1000", "10^3"), ("10000", "10^4"), ("100000", "10^5"), ("1000000", "10^6")):
    ROWS.extend(mem_rows(_n, _label))
ROWS.append(("thread create + recurse + exit (+ join)", "threads.cycle", "us", None, True))

TARGETS = {
    "hot50": "hot split at least 50x faster than libgcc's default",
    "hot2": "hot split at least 2x faster than libgcc with signal blocking off",
    "create20": "coroutine create + destroy at least 20x faster",
    "switch": "context switch no slower (ratio >= 0.95: within 5% run-to-run noise)",
    "rss": "RSS per idle coroutine at most a quarter of libgcc's (ratio >= 4)",
}


# ---------------------------------------------------------------------------
# Running

def run_one(prog, args, env, variant, timeout):
    exe = os.path.join(BIN, "ours" if variant == SMALL else variant, prog)
    e = dict(os.environ)
    e.update(env)
    if variant == SMALL:
        e.update(SMALL_ENV)
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


def instructions_per_call(variant, mode_name):
    """Instructions per hot-split call (bench_hot's BENCH_HOT_COUNT under
    callgrind, at two counts: the difference removes start-up and exit)."""
    counts = []
    for n in (50000, 100000):
        out = "/tmp/bench-callgrind.%d.out" % os.getpid()
        env = dict(os.environ, BENCH_HOT_MODES=mode_name, BENCH_HOT_COUNT=str(n))
        p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                            os.path.join(BIN, variant, "bench_hot")], env=env, capture_output=True, text=True)
        try:
            os.unlink(out)
        except OSError:
            pass
        m = re.search(r"Collected : (\d+)", p.stderr)
        if p.returncode != 0 or not m:
            return None
        counts.append(int(m.group(1)))
    return (counts[1] - counts[0]) / 50000.0


def run_callgrind():
    """Deterministic instruction counts (no timing noise), when valgrind is here."""
    if not shutil.which("valgrind"):
        print("valgrind is not installed: no instruction counts", flush=True)
        return {v: {} for v in VARIANTS}
    res = {v: {} for v in VARIANTS}
    for v in VARIANTS:
        for m in ("noblock", "floor"):
            x = instructions_per_call(v, m)
            if x is not None:
                res[v]["insn.hot.%s" % m] = {0: x}
        print("callgrind  %-8s instructions per call: %s" % (
            v, ", ".join("%s %.0f" % (k.split(".")[-1], x[0]) for k, x in res[v].items())), flush=True)
    return res


def run_all(mode):
    benches, rounds = plan(mode)
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
                for k, x in res.items():
                    data[v].setdefault(k, {})[r] = x
                for k, why in fl.items():
                    fails[v].setdefault(k, why)
                notes[v].update(nt)
                tag = " ".join([prog] + args)
                print("round %d/%d  %-22s %-8s %5.1fs  %s" % (
                    r + 1, nrounds, tag, v, dt,
                    "FAILED: " + "; ".join(fl.values()) if fl else "%d results" % len(res)), flush=True)
    if mode != "tiny":
        for v, d in run_callgrind().items():
            data[v].update(d)
    print("ran for %.0f s" % (time.time() - t_start), flush=True)
    return data, fails, {v: sorted(n) for v, n in notes.items()}, rounds


# ---------------------------------------------------------------------------
# Report

def fmt(x, unit):
    if x is None:
        return "—"
    if unit == "":
        return "%d" % round(x)
    if unit == "insn":
        return "%.0f" % x
    if x >= 100:
        s = "%.0f" % x
    elif x >= 10:
        s = "%.1f" % x
    else:
        s = "%.2f" % x
    return s + " " + unit


def ratio_of(lib, ours):
    if lib is None or ours is None:
        return None
    if ours == 0:
        return 1.0 if lib == 0 else math.inf
    return lib / ours


def row_ratio(lib, ours, unit):
    """libgcc / ours; for counts (mappings), only when both are positive."""
    if unit == "" and (not lib or not ours):
        return None
    return ratio_of(lib, ours)


def fmt_ratio(r):
    if r is None:
        return "—"
    if math.isinf(r):
        return "∞"
    return ("%.0fx" if r >= 100 else "%.1fx" if r >= 10 else "%.2fx") % r


def med(data, v, k):
    xs = data.get(v, {}).get(k)
    return statistics.median(xs.values()) if xs else None


def paired_ratios(data, a, b, k, unit):
    """libgcc / ours for each round in which both ran (back to back)."""
    xa, xb = data.get(a, {}).get(k, {}), data.get(b, {}).get(k, {})
    rs = [row_ratio(xa[r], xb[r], unit) for r in sorted(set(xa) & set(xb))]
    return [x for x in rs if x is not None]


def fail_for(fails, v, key):
    """A failure recorded for this key (or its benchmark)."""
    for k, why in fails.get(v, {}).items():
        if key == k or key.startswith(k + ".") or (k.startswith("bench_") and key.split(".")[0] == BENCH_OF.get(k)):
            return why
    return None


BENCH_OF = {"bench_hot": "hot", "bench_ctx": "ctx", "bench_recursion": "deep", "bench_threads": "threads"}


def build_table(data, fails):
    rows, verdicts = [], {}
    for label, key, unit, target, plot, *rest in ROWS:
        ov = rest[0] if rest else "ours"
        cols = ["libgcc", ov, "ours-so" if ov == "ours" else None]
        if all(v is None or (key not in data.get(v, {}) and not fail_for(fails, v, key)) for v in cols):
            continue
        lib, ours, so = (med(data, v, key) if v else None for v in cols)
        pr = paired_ratios(data, "libgcc", ov, key, unit)
        prso = paired_ratios(data, "libgcc", "ours-so", key, unit) if cols[2] else []
        r = statistics.median(pr) if pr else None
        rso = statistics.median(prso) if prso else None
        spread = (min(pr), max(pr)) if len(pr) > 1 else None
        cells = []
        for v, x in zip(cols, (lib, ours, so)):
            f = fail_for(fails, v, key) if v else None
            cells.append(fmt(x, unit) if x is not None else ("failed: " + f if f else "—"))
        so_cell = cells[2] + (" (%s)" % fmt_ratio(rso) if rso is not None else "")
        met = ""
        if target:
            tid, need = target
            if r is None:
                met = "n/a"
            else:
                met = "yes" if r >= need else "**no**"
                m = re.match(r"(10\^\d+) ", label)
                tag = (m.group(1) + " coroutines" if m else "") + (" with 2 KiB segments" if ov == SMALL else "")
                verdicts.setdefault(tid, []).append((tag, r, r >= need,
                                                     (sum(x >= need for x in pr), len(pr))))
            tgt = "≥ %gx" % need if tid != "switch" else "≥ 0.95x"
        else:
            tgt = ""
        rows.append({"label": label, "key": key, "unit": unit, "cells": cells, "so": so_cell,
                     "ratio": r, "ratio_so": rso, "target": tgt, "met": met, "plot": plot,
                     "lib": lib, "ours": ours, "spread": spread})
    return rows, verdicts


def markdown_table(rows):
    out = ["| operation | libgcc | ours | ratio | ratio, rounds' range | ours (.so) (ratio) | target | met |",
           "| --- | ---: | ---: | ---: | :---: | ---: | :---: | :---: |"]
    for row in rows:
        sp = row["spread"]
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            row["label"], row["cells"][0], row["cells"][1], fmt_ratio(row["ratio"]),
            "%s – %s" % (fmt_ratio(sp[0]), fmt_ratio(sp[1])) if sp else "", row["so"],
            row["target"], row["met"]))
    if any("¹" in row["label"] for row in rows):
        out.append("")
        out.append("¹ The same static binary, with the runtime configured for segments of about 2 KiB by its "
                   "documented environment variables `%s` (README: safe when signal handlers run on an "
                   "alternate stack or are blocked; libgcc has no such setting)."
                   % " ".join("%s=%s" % kv for kv in SMALL_ENV.items()))
    return "\n".join(out)


def why_missed(tid, data, rows):
    """A short, measured explanation for a missed target."""
    g = lambda v, k: med(data, v, k)
    if tid in ("hot50", "hot2"):
        floor = g("ours", "hot.floor") or 0
        ours, lib_nb, lib_def = g("ours", "hot.default"), g("libgcc", "hot.noblock"), g("libgcc", "hot.default")
        if ours is None:
            return "no measurement"
        need = (lib_def / 50) if tid == "hot50" else (lib_nb / 2)
        text = ("our round trip costs %.1f ns (%.1f ns above the %.1f ns floor); the target needs at most "
                "%.1f ns (libgcc: %.0f ns by default, %.1f ns with blocking off)." % (
                    ours, ours - floor, floor, need, lib_def, lib_nb))
        ia, ib, fl = g("libgcc", "insn.hot.noblock"), g("ours", "insn.hot.noblock"), g("ours", "insn.hot.floor")
        if ia and ib and fl:
            text += (" Instructions per call (callgrind): ours %.0f, libgcc with blocking off %.0f, the floor %.0f, "
                     "so the runtime's own part is %.0f against %.0f instructions." % (ib, ia, fl, ib - fl, ia - fl))
        return text + " See bench/README.md, 'Where the hot split's time goes'."
    if tid == "create20":
        return ("makecontext + releasecontext is one mmap and one munmap in both runtimes (%.1f us vs %.1f us); "
                "20x needs the segment cache (a released context's segment reused by the next makecontext "
                "without a system call)." % ((g("libgcc", "ctx.create_destroy") or 0) / 1e3,
                                              (g("ours", "ctx.create_destroy") or 0) / 1e3))
    if tid == "switch":
        return ("ours %.1f ns vs libgcc %.1f ns per switch (the asm switch alone: %.1f / %.1f ns); "
                "getcontext + setcontext are a few loads and stores of thread-local state in both."
                % (g("ours", "ctx.switch") or 0, g("libgcc", "ctx.switch") or 0,
                   g("ours", "ctx.switch_floor") or 0, g("libgcc", "ctx.switch_floor") or 0))
    if tid == "rss":
        page = os.sysconf("SC_PAGE_SIZE") / 1024
        parts, worst = [], None
        for n in ("1000", "10000", "100000", "1000000"):
            a, b = g("libgcc", "mem.%s.rss_per_coro" % n), g("ours", "mem.%s.rss_per_coro" % n)
            if a is not None and b is not None:
                parts.append("N=%s: libgcc %.2f KiB, ours %.2f KiB" % (n, a, b))
                worst = (a, b)
        if not worst:
            return "libgcc's runs failed, nothing to compare with"
        a, b = worst
        text = ("%s. RSS is counted in whole %g KiB pages: ours leaves %.1f pages resident per idle coroutine, "
                "libgcc %.1f." % ("; ".join(parts), page, b / page, a / page))
        if round(b / page) == 2:
            text += (" Those two pages are the page holding the segment's 56-byte header (the low end of its "
                     "mapping, libgcc's layout, which ours keeps) and the page at the top where the coroutine's "
                     "recursion ran.")
        if a / 4 < page:
            text += (" A quarter of libgcc's is %.1f KiB, less than one page: with whole-page segments no "
                     "runtime can get there, since every coroutine has touched at least the page its own "
                     "recursion ran on; only segments smaller than a page, packed side by side, can." % (a / 4))
        smalls = []
        for n in ("1000", "10000", "100000", "1000000"):
            a2, c = g("libgcc", "mem.%s.rss_per_coro" % n), g(SMALL, "mem.%s.rss_per_coro" % n)
            if a2 is not None and c is not None:
                smalls.append("N=%s: %.2f KiB (%s)" % (n, c, fmt_ratio(a2 / c)))
        if smalls:
            text += (" Ours configured for such segments (%s, about 2 KiB each) keeps %s per coroutine; those "
                     "settings are safe only when signal handlers run on an alternate stack, so they are not "
                     "the default." % (" ".join("%s=%s" % kv for kv in SMALL_ENV.items()), "; ".join(smalls)))
        return text
    return ""


def machine_info():
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return ""
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": sh("git rev-parse --short HEAD") + (" (with local changes)" if sh("git status --porcelain -- src asm Cargo.toml build.rs") else ""),
        "cpu": "%s, %s cores" % (cpu, os.cpu_count()),
        "kernel": platform.release(),
        "gcc": sh("gcc --version | head -1"),
        "gold": sh("ld.gold --version | head -1"),
        "linkers": {v: open(os.path.join(BIN, v, "LINKER")).read().strip()
                    for v in VARIANTS if os.path.exists(os.path.join(BIN, v, "LINKER"))},
        "max_map_count": sh("cat /proc/sys/vm/max_map_count"),
        "loadavg": sh("cut -d' ' -f1-3 /proc/loadavg"),
        "rewritten": {v: open(os.path.join(BIN, v, "REWRITTEN")).read().strip()
                      for v in VARIANTS if os.path.exists(os.path.join(BIN, v, "REWRITTEN"))},
    }


def write_report(out, mode, data, fails, notes, rounds, plot_msg, rows, verdicts, info):
    lines = ["# splitstack vs libgcc's split-stack runtime", ""]
    lines.append("Generated by `make bench` (bench/run.py, mode: %s) on %s, commit %s." % (mode, info["date"], info["commit"]))
    lines.append("Machine: %s; Linux %s; %s; %s." % (info["cpu"], info["kernel"], info["gcc"], info["gold"]))
    lines.append("Each value is the median of %d rounds (fewer for the big coroutine counts: see the "
                 "details); in each round the runtimes run back to back, in rotating order, and a timed "
                 "operation's value in a round is the fastest of five timed runs inside the program. "
                 "**ratio = libgcc / ours**: above 1, ours is faster or smaller. "
                 "The ratio is the median of the rounds' ratios (each round's pair ran back to back); "
                 "the range next to it shows how much the rounds disagreed. Times are CPU time of the "
                 "measuring thread (wall time for threads). "
                 "The `.so` column is our shared library, with its own ratio." % rounds)
    lines.append("Linkers: " + "; ".join("%s: %s" % (NAMES[v], l) for v, l in info["linkers"].items()) + ". "
                 "Load average at the start: %s, at the end: %s (other work on the machine adds noise)."
                 % (info.get("loadavg0", "?"), info["loadavg"]))
    bad = {v: n for v, n in info["rewritten"].items() if n not in ("0", "")}
    if bad:
        lines.append("")
        lines.append("**Warning**: gold moved split-stack prologues onto `__morestack_non_split` "
                     "(1 MiB more stack demanded by every such function) in: " +
                     ", ".join("%s (%s of the 4 workload functions)" % (NAMES[v], n) for v, n in bad.items()) +
                     ". Those columns do not run the same code as libgcc's: gold takes a `__morestack` "
                     "defined in a shared library for non-split code, so every split-stack function of the "
                     "program is rewritten; each coroutine's first call then maps a segment of over 1 MiB.")
    lines.append("")
    lines.append(markdown_table(rows))
    lines.append("")
    lines.append("## Targets")
    lines.append("")
    for tid, text in TARGETS.items():
        vs = verdicts.get(tid)
        if not vs:
            lines.append("- %s: **not measured** in this run." % text)
            continue
        got = ", ".join((fmt_ratio(r) + (" at " + tag if tag else "") +
                         (" (%d of %d rounds reached it)" % n if n[1] > 1 else ""))
                        for tag, r, _, n in vs)
        if all(ok for _, _, ok, _ in vs):
            lines.append("- %s: **met**: %s." % (text, got))
        else:
            lines.append("- %s: **missed**: %s. Why: %s" % (text, got, why_missed(tid, data, rows)))
    failed = [(v, k, w) for v in ALL_VARIANTS for k, w in fails.get(v, {}).items()]
    if failed:
        lines.append("")
        lines.append("## Failures")
        lines.append("")
        for v, k, w in failed:
            lines.append("- %s, %s: %s" % (NAMES[v], k, w))
    lines.append("")
    lines.append("## Plot")
    lines.append("")
    lines.append(plot_msg)
    lines.append("")
    lines.append("## What each program printed besides results")
    lines.append("")
    for v in ALL_VARIANTS:
        for n in notes.get(v, []):
            lines.append("- %s: %s" % (NAMES[v], n))
    lines.append("")
    lines.append("## Details: every round")
    lines.append("")
    lines.append("| key | libgcc | ours | ours (.so) | ours, 2 KiB segments¹ |")
    lines.append("| --- | --- | --- | --- | --- |")
    keys = sorted({k for v in ALL_VARIANTS for k in data.get(v, {})})
    for k in keys:
        lines.append("| %s | %s |" % (k, " | ".join(
            " ".join("%.4g" % data[v][k][r] for r in sorted(data.get(v, {}).get(k, {}))) or "—"
            for v in ALL_VARIANTS)))
    lines.append("")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"mode": mode, "rounds": rounds, "machine": info, "data": data, "fails": fails,
                   "notes": notes}, f, indent=1, sort_keys=True)


# ---------------------------------------------------------------------------
# Plot

def have_gnuplot():
    if shutil.which("gnuplot"):
        return True
    if os.environ.get("BENCH_NO_INSTALL") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    print("gnuplot is missing: apt-get install -y gnuplot-nox", flush=True)
    subprocess.run("apt-get install -y gnuplot-nox >/dev/null 2>&1 || "
                   "(apt-get update >/dev/null 2>&1 && apt-get install -y gnuplot-nox >/dev/null 2>&1)",
                   shell=True)
    return bool(shutil.which("gnuplot"))


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        pass
    if os.environ.get("BENCH_NO_INSTALL"):
        return False
    print("trying matplotlib from PyPI", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "matplotlib"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import matplotlib  # noqa: F401,F811
        return True
    except ImportError:
        return False


def plot_rows(rows):
    pts = []
    for row in rows:
        if row["plot"] and row["ratio"] is not None and not math.isinf(row["ratio"]) and row["ratio"] > 0:
            need = None
            m = re.match(r"≥ ([0-9.]+)x", row["target"])
            if m:
                need = float(m.group(1))
            so = row["ratio_so"] if row["ratio_so"] and not math.isinf(row["ratio_so"]) else None
            pts.append((row["label"], row["ratio"], need, row["met"], so))
    return pts


def plot(out, rows, title):
    png = os.path.join(out, "ratios.png")
    pts = plot_rows(rows)
    if not pts:
        return None, "No plot: no ratio was measured."
    if have_gnuplot():
        ok, why = plot_gnuplot(out, png, pts, title)
        if ok:
            return png, "![ratios](ratios.png)\n\nPlot made with gnuplot."
        print("gnuplot failed: " + why, flush=True)
    if have_matplotlib():
        ok, why = plot_matplotlib(png, pts, title)
        if ok:
            return png, "![ratios](ratios.png)\n\nPlot made with matplotlib."
    return None, ("**No plot could be made**: neither gnuplot (apt-get install gnuplot-nox) "
                  "nor matplotlib (pip install matplotlib) is available.")


def color(r, need, met):
    if need is not None:
        return 0x2e8b57 if met == "yes" else 0xd04030
    return 0x4682b4 if r >= 1 else 0xe0a030


def plot_gnuplot(out, png, pts, title):
    n = len(pts)
    os.makedirs(BIN, exist_ok=True)  # the plot's data and script: build/bench/
    dat = os.path.join(BIN, "ratios.dat")
    with open(dat, "w") as f:
        for i, (label, r, need, met, so) in enumerate(pts):
            y = n - i
            labx = max(1.0, r, need or 0, so or 0) * 1.1
            xlo, xhi = min(1.0, r), max(1.0, r)
            if xhi / xlo < 1.04:  # a ratio of about 1: still show a sliver in its colour
                xlo, xhi = min(xlo, 0.98), max(xhi, 1.02)
            f.write('%d %g %g %g %d "%s" "%s" %s %s %g\n' % (
                y, r, xlo, xhi, color(r, need, met), label.replace('"', "'"),
                fmt_ratio(r), need if need is not None else "NaN", so if so else "NaN", labx))
    lo = min(min(p[1] for p in pts), min((p[4] or 1) for p in pts), 0.5) / 1.5
    hi = max(max(p[1] for p in pts), max((p[2] or 1) for p in pts), max((p[4] or 1) for p in pts)) * 3
    gp = os.path.join(BIN, "ratios.gp")
    with open(gp, "w") as f:
        f.write("""set terminal pngcairo size 1400,%d font "DejaVu Sans,11"
set output "%s"
set title "%s" noenhanced
set logscale x
set xrange [%g:%g]
set yrange [0.3:%g]
set grid xtics
set xlabel "libgcc / ours   (log scale; > 1: ours faster or smaller)"
set ytics nomirror
set border 3
set lmargin 62
set key outside top center horizontal box
set style fill solid 0.85 border -1
unset colorbox
plot "%s" using 2:1:3:4:($1-0.35):($1+0.35):5:ytic(6) with boxxyerror lc rgb variable notitle, \\
     "" using (1):1 with impulses lc rgb "black" notitle, \\
     "" using 10:1:7 with labels left notitle, \\
     NaN with boxes lc rgb "#2e8b57" title "target met", \\
     NaN with boxes lc rgb "#d04030" title "target missed", \\
     NaN with boxes lc rgb "#4682b4" title "no target, ours better", \\
     NaN with boxes lc rgb "#e0a030" title "no target, ours worse", \\
     "" using 8:1 with points pt 7 ps 1.6 lc rgb "black" title "target", \\
     "" using 9:1 with points pt 12 ps 1.6 lc rgb "black" title "ours (.so)"
""" % (150 + 34 * n, png, title, lo, hi, n + 0.7, dat))
    p = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(png):
        return False, p.stderr.strip()[-300:]
    return True, ""


def plot_matplotlib(png, pts, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        n = len(pts)
        fig, ax = plt.subplots(figsize=(14, 1.1 + 0.34 * n))
        ys = [n - i for i in range(n)]
        lefts = [min(1.0, p[1]) for p in pts]
        widths = [max(1.0, p[1]) - min(1.0, p[1]) for p in pts]
        cols = ["#%06x" % color(p[1], p[2], p[3]) for p in pts]
        ax.barh(ys, widths, left=lefts, color=cols, height=0.7, edgecolor="black")
        for y, p in zip(ys, pts):
            ax.text(max(1.0, p[1], p[2] or 0, p[4] or 0) * 1.1, y, fmt_ratio(p[1]), va="center")
            if p[2] is not None:
                ax.plot([p[2]], [y], "ko", ms=8)
            if p[4] is not None:
                ax.plot([p[4]], [y], "kD", ms=7, mfc="none")
        ax.set_xscale("log")
        ax.axvline(1, color="black")
        ax.set_yticks(ys)
        ax.set_yticklabels([p[0] for p in pts])
        ax.set_xlabel("libgcc / ours   (log scale; > 1: ours faster or smaller); dots: targets; "
                      "diamonds: ours (.so); green/red: target met/missed; blue/orange: no target, better/worse")
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(png, dpi=100)
        return True, ""
    except Exception as e:  # a plot must never fail the run
        return False, str(e)


# ---------------------------------------------------------------------------

def replace_between_markers(path, text):
    try:
        s = open(path).read()
    except OSError:
        return False
    if BEGIN not in s or END not in s:
        return False
    a, b = s.index(BEGIN) + len(BEGIN), s.index(END)
    new = s[:a] + "\n" + text + "\n" + s[b:]
    if new != s:
        with open(path, "w") as f:
            f.write(new)
    return True


def main():
    args = sys.argv[1:]
    mode = "tiny" if "--tiny" in args else "quick" if os.environ.get("BENCH_QUICK", "0") not in ("", "0") else "full"
    # Only full runs write bench/results/ (committed) and the README table;
    # quick runs write build/bench/quick-results/.
    out = os.path.join(ROOT, "bench", "results") if mode == "full" else os.path.join(BIN, "%s-results" % mode)
    if "--out" in args:
        out = os.path.abspath(args[args.index("--out") + 1])
    os.makedirs(out, exist_ok=True)
    for v in ([] if "--from-json" in args else VARIANTS):
        if not os.path.exists(os.path.join(BIN, v, "bench_hot")):
            sys.exit("bench/run.py: build/bench/%s is missing: run sh bench/build.sh (make bench does)" % v)
    print("bench: mode %s, results in %s" % (mode, os.path.relpath(out, ROOT)), flush=True)
    if "--from-json" in args:
        # Only the report again, from the numbers of an earlier run.
        saved = json.load(open(args[args.index("--from-json") + 1]))
        mode, rounds, fails, notes, info = (saved[k] for k in ("mode", "rounds", "fails", "notes", "machine"))
        data = {v: {k: {int(r): x for r, x in d.items()} for k, d in saved["data"].get(v, {}).items()}
                for v in ALL_VARIANTS}
    else:
        load0 = open("/proc/loadavg").read().split()[:3]
        data, fails, notes, rounds = run_all(mode)
        info = machine_info()
        info["loadavg0"] = " ".join(load0)
    rows, verdicts = build_table(data, fails)
    title = "splitstack vs libgcc's runtime: median of %d rounds, %s, commit %s" % (
        rounds, info["date"], info["commit"])
    png, plot_msg = plot(out, rows, title)
    write_report(out, mode, data, fails, notes, rounds, plot_msg, rows, verdicts, info)
    table = markdown_table(rows)
    print()
    print(table)
    print()
    for line in open(os.path.join(out, "results.md")).read().split("## Targets")[1].split("## Plot")[0].strip().splitlines():
        print(line)
    print()
    print(plot_msg.splitlines()[-1] if png else plot_msg)
    print("report: %s%s" % (os.path.relpath(os.path.join(out, "results.md"), ROOT),
                            ", plot: " + os.path.relpath(png, ROOT) if png else ""))
    if mode == "full" and "--no-readme" not in args and out == os.path.join(ROOT, "bench", "results"):
        stamp = "Latest `make bench` (%s run, %s, commit %s; full report: bench/results/results.md):\n\n" % (
            mode, info["date"], info["commit"])
        for readme in (os.path.join(ROOT, "bench", "README.md"), os.path.join(ROOT, "README.md")):
            if replace_between_markers(readme, stamp + table):
                print("table copied into %s" % os.path.relpath(readme, ROOT))


if __name__ == "__main__":
    main()
