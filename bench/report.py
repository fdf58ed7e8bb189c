#!/usr/bin/env python3
"""Makes the benchmark report from the raw numbers bench/measure.py wrote.

    python3 bench/report.py [RESULTS.json] [--out DIR] [--no-readme]
    python3 bench/report.py --check [RESULTS.json]

RESULTS.json defaults to the one `make bench` writes for the mode
BENCH_QUICK selects: bench/results/results.json for a full run,
build/bench/quick-results/results.json for BENCH_QUICK=1, and
build/bench/only-results/results.json when BENCH_ONLY is set (a run of
some programs only, which never makes the README tables).  Into DIR (the
JSON's own directory unless --out says otherwise) go results.md (the table,
the targets' verdicts with the reasons for those missed, failures, what
the programs printed, every round's numbers) and ratios.png (the plot).
For a full run's JSON in bench/results/, the table is also copied into
bench/README.md and the top README.md between their `bench-table` markers
(not with --no-readme).  --check writes nothing: it exits 1 when those
README tables are not what RESULTS.json gives.

Everything here is derived from the JSON alone (nothing from the clock,
the machine report.py runs on or the environment), so the same JSON always
gives the same files.  It reads both results.json formats: 2 (measure.py)
and 1 (bench/run.py's, from before measuring and reporting were split).

The plot is made by gnuplot (Debian: gnuplot-nox), the one backend.  When
gnuplot is missing, or fails, the report is still written; results.md and
the output say that no plot was made and why.  Nothing is installed.
"""
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
# The runtimes' names in results.json (bench/measure.py).
VARIANTS = ["libgcc", "ours", "ours-so"]
SMALL = "ours-small"
# With guard pages on: ours (SPLITSTACK_GUARD=1) and libgcc's (SPLIT_STACK_GUARD=1).
GUARD, LGUARD = "ours-guard", "libgcc-guard"
ALL_VARIANTS = VARIANTS + [SMALL, GUARD, LGUARD]
# The columns of the details table (the guard ones only when measured).
DETAIL_VARIANTS = VARIANTS + [SMALL]
# The small-segment settings, for a format-1 JSON (which did not record them).
SMALL_ENV_1 = {"SPLITSTACK_MIN_SEGMENT": "512", "SPLITSTACK_RESERVE": "1024"}
BEGIN, END = "<!-- bench-table:begin -->", "<!-- bench-table:end -->"
INSTALL = "apt-get install gnuplot-nox"


def default_json():
    quick = os.environ.get("BENCH_QUICK", "0") not in ("", "0")
    d = os.path.join(ROOT, "build", "bench", "quick-results") if quick else RESULTS
    if os.environ.get("BENCH_ONLY", "").strip():
        d = os.path.join(ROOT, "build", "bench", "only-results")
    return os.path.join(d, "results.json")


# ---------------------------------------------------------------------------
# Reading results.json

def load(path):
    """The run, whatever the format, as one dict: mode, commit, date,
    rounds, machine, small_env, env, data[v][key][round], fails, notes."""
    with open(path) as f:
        saved = json.load(f)
    fmt_version = saved.get("format", 1)
    if fmt_version not in (1, 2):
        sys.exit("bench/report.py: %s: results.json format %r is not one this report knows (1, 2)"
                 % (path, fmt_version))
    run = {
        "format": fmt_version,
        "mode": saved["mode"],
        # The programs a BENCH_ONLY run was limited to (None: all).
        "only": saved.get("only"),
        "rounds": saved["rounds"],
        "machine": dict(saved["machine"]),
        "fails": {v: dict(saved.get("fails", {}).get(v, {})) for v in ALL_VARIANTS},
        "notes": {v: list(saved.get("notes", {}).get(v, [])) for v in ALL_VARIANTS},
        "data": {v: {k: {int(r): x for r, x in d.items()} for k, d in saved["data"].get(v, {}).items()}
                 for v in ALL_VARIANTS},
    }
    if fmt_version == 1:
        # bench/run.py kept the commit and the date (the end of the run) in
        # "machine", and recorded neither the page size nor the settings of
        # the small-segment runs: its runs were on x86_64, 4 KiB pages.
        run["commit"] = run["machine"]["commit"]
        run["date"] = run["machine"]["date"]
        run["machine"].setdefault("page_size", 4096)
        run["small_env"] = SMALL_ENV_1
        run["env"] = {}
    else:
        run["commit"], run["date"] = saved["commit"], saved["date"]
        run["small_env"] = saved["small_env"]
        run["env"] = saved.get("env", {})
    derive(run["data"])
    return run


def derive(data):
    """Keys computed from measured ones: insn.hot.runtime, the hot split's
    instructions per call less the same call without -fsplit-stack (the
    runtime's own part: __morestack, the stub and the prologue's check),
    for each round that has both."""
    for d in data.values():
        a, b = d.get("insn.hot.noblock", {}), d.get("insn.hot.floor", {})
        both = {r: a[r] - b[r] for r in set(a) & set(b)}
        if both:
            d["insn.hot.runtime"] = both


# ---------------------------------------------------------------------------
# The rows

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


# (label, key, unit, target, plot?[, the column "ours" is taken from]) --
# target: (id, minimum ratio), or (id, bound, "max"): ours (the .a) at
# most `bound` in the row's unit.  A row is shown when its key was
# measured.
ROWS = [
    ("hot split, default settings (libgcc blocks signals)", "hot.default", "ns", ("hot50", 50.0), True),
    ("hot split, signal blocking off in both", "hot.noblock", "ns", ("hot2", 2.0), True),
    ("hot split, signal blocking on in both", "hot.block", "ns", None, True),
    ("hot call without -fsplit-stack (floor)", "hot.floor", "ns", None, False),
    ("hot split, blocking off: instructions per call (callgrind)", "insn.hot.noblock", "insn", None, True),
    ("hot call without -fsplit-stack: instructions per call", "insn.hot.floor", "insn", None, False),
    ("hot split, blocking off: the runtime's own instructions per call (the two rows above, less the floor)",
     "insn.hot.runtime", "insn", ("warm70", 70, "max"), False),
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
ROWS += [
    ("makecontext + releasecontext: instructions per pair (callgrind; libgcc's adds mmap + munmap)",
     "insn.ctx.pair", "insn", ("pair300", 300, "max"), False),
    ("getcontext + setcontext of a coroutine's context: instructions per pair, with the loop's calls (callgrind)",
     "insn.ctx.getset", "insn", ("getset40", 40, "max"), False),
    ("idle coroutine with gold's 1 MiB demand (tests/system/density.c direct): RSS",
     "density.direct.4096.rss_per_ctx", "KiB", None, True),
    ("idle coroutine with gold's 1 MiB demand: page tables (VmPTE)", "density.direct.4096.pte_per_ctx", "KiB", None, False),
    ("idle coroutine with gold's 1 MiB demand: mappings added, all together", "density.direct.4096.maps", "", None, False),
    ("idle coroutines with gold's 1 MiB demand: resident after release", "density.direct.4096.after_release", "MiB",
     None, False),
    ("idle coroutine, no demand (density.c ptr): RSS", "density.ptr.4096.rss_per_ctx", "KiB", None, True),
    ("idle coroutine, no demand, 2688-byte request: RSS — ours with 2 KiB segments¹", "density.ptr.2688.rss_per_ctx",
     "KiB", None, True, SMALL),
    ("recursion whose frames call libc, gold (3000 deep): per descent", "librec.descent", "us", ("librec2", 2.0), True),
    # Guard pages on in both (libgcc: SPLIT_STACK_GUARD=1, an mprotect'd
    # page per segment).
    ("guard pages on: coroutine create + destroy", "ctx.create_destroy", "ns", None, False, GUARD, LGUARD),
]
for _n, _label in (("10000", "10^4"), ("100000", "10^5"), ("1000000", "10^6")):
    ROWS += [
        ("guard pages on: %s idle coroutines: RSS per coroutine" % _label, "mem.%s.rss_per_coro" % _n, "KiB", None,
         False, GUARD, LGUARD),
        ("guard pages on: %s idle coroutines: mappings added" % _label, "mem.%s.vmas" % _n, "", None, False, GUARD,
         LGUARD),
    ]
ROWS += [
    ("guard pages on: idle coroutine, no demand (density.c ptr): RSS", "density.ptr.4096.rss_per_ctx", "KiB", None,
     False, GUARD, LGUARD),
    ("guard pages on: idle coroutines, no demand: mappings added", "density.ptr.4096.maps", "", None, False, GUARD,
     LGUARD),
]
# Interrupts (bench_interrupt).  Rows marked ² are ours only: libgcc's
# runtime has no interrupt API, so its column stays empty.  The others
# run on both, with an interrupt handler set in ours.  (The latency's
# 90th percentile and maximum, intr.latency_p90 and _max, are in the
# details only.)
ROWS += [
    ("interrupts: split-stack call that does not split, handler set in ours", "intr.call", "ns", None, False),
    ("interrupts: split-stack call that does not split: instructions per call, with the loop's (callgrind; "
     "the prologue is the compiler's)", "insn.intr.call", "insn", None, False),
    ("interrupts: warm split round trip, handler set in ours, blocking off in both", "intr.split", "ns", None, False),
    ("interrupts: warm split round trip, handler set in ours: instructions per call (callgrind)", "insn.intr.split",
     "insn", None, False),
    ("interrupts: request → handler latency, median (target looping on small split-stack calls)²",
     "intr.latency_p50", "us", None, False),
    ("interrupts: request → handler latency, 99th percentile²", "intr.latency_p99", "us", None, False),
    ("interrupts: splitstack_interrupt to another thread running on another CPU (membarrier included)²",
     "intr.request_other", "ns", None, False),
    ("interrupts: splitstack_interrupt to another thread, blocked in the kernel²", "intr.request_blocked", "ns", None,
     False),
    ("interrupts: splitstack_interrupt to self + splitstack_interrupt_poll (no delivery)²", "intr.request_self", "ns",
     None, False),
    ("interrupts: splitstack_interrupt_poll, nothing pending²", "intr.poll", "ns", None, False),
    ("interrupts: request to self delivered at the next call (split + handler + return)²", "intr.self_deliver", "ns",
     None, False),
    ("interrupts: request to self delivered: instructions (callgrind)²", "insn.intr.deliver", "insn", None, False),
]

TARGETS = {
    "hot50": "hot split at least 50x faster than libgcc's default",
    "hot2": "hot split at least 2x faster than libgcc with signal blocking off",
    "create20": "coroutine create + destroy at least 20x faster",
    "switch": "context switch no slower (ratio >= 0.95: within 5% run-to-run noise)",
    "rss": "RSS per idle coroutine at most a quarter of libgcc's (ratio >= 4)",
    "librec2": "libc-calling recursion at least 2x faster than with libgcc's runtime",
    "warm70": "warm __morestack round trip at most 70 instructions of the runtime's own",
    "pair300": "makecontext + releasecontext at most 300 instructions",
    "getset40": "getcontext + setcontext at most 40 instructions",
}

NAMES = {"libgcc": "libgcc", "ours": "ours (.a)", "ours-so": "ours (.so)",
         GUARD: "ours (.a), SPLITSTACK_GUARD=1", LGUARD: "libgcc, SPLIT_STACK_GUARD=1"}
BENCH_OF = {"bench_hot": "hot", "bench_ctx": "ctx", "bench_recursion": "deep", "bench_threads": "threads",
            "bench_interrupt": "intr"}


def names(run):
    n = dict(NAMES)
    n[SMALL] = "ours (.a), " + env_text(run)
    return n


def env_text(run):
    return " ".join("%s=%s" % kv for kv in run["small_env"].items())


# ---------------------------------------------------------------------------
# Numbers

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
    for k, why in sorted(fails.get(v, {}).items()):
        if key == k or key.startswith(k + ".") or (k.startswith("bench_") and key.split(".")[0] == BENCH_OF.get(k)):
            return why
    return None


# ---------------------------------------------------------------------------
# The table and the verdicts

def build_table(data, fails):
    rows, verdicts = [], {}
    for label, key, unit, target, plot, *rest in ROWS:
        ov = rest[0] if rest else "ours"
        lv = rest[1] if len(rest) > 1 else "libgcc"
        cols = [lv, ov, "ours-so" if ov == "ours" else None]
        if all(v is None or (key not in data.get(v, {}) and not fail_for(fails, v, key)) for v in cols):
            continue
        lib, ours, so = (med(data, v, key) if v else None for v in cols)
        pr = paired_ratios(data, lv, ov, key, unit)
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
        if target and len(target) == 3:
            # An absolute bound on ours, checked in every round.
            tid, need, _ = target
            xs = list(data.get(ov, {}).get(key, {}).values())
            if ours is None:
                met = "n/a"
            else:
                met = "yes" if ours <= need else "**no**"
                verdicts.setdefault(tid, []).append(("", ours, ours <= need,
                                                     (sum(x <= need for x in xs), len(xs)), unit))
            tgt = "≤ %g" % need
        elif target:
            tid, need = target
            if r is None:
                met = "n/a"
            else:
                met = "yes" if r >= need else "**no**"
                m = re.match(r"(10\^\d+) ", label)
                tag = (m.group(1) + " coroutines" if m else "") + (" with 2 KiB segments" if ov == SMALL else "")
                verdicts.setdefault(tid, []).append((tag, r, r >= need,
                                                     (sum(x >= need for x in pr), len(pr)), None))
            tgt = "≥ %gx" % need if tid != "switch" else "≥ 0.95x"
        else:
            tgt = ""
        rows.append({"label": label, "key": key, "unit": unit, "cells": cells, "so": so_cell,
                     "ratio": r, "ratio_so": rso, "target": tgt, "met": met, "plot": plot,
                     "lib": lib, "ours": ours, "spread": spread})
    return rows, verdicts


def markdown_table(run, rows):
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
                   "alternate stack or are blocked; libgcc has no such setting)." % env_text(run))
    if any("²" in row["label"] for row in rows):
        out.append("")
        out.append("² Ours only: libgcc's runtime has no interrupt API (`splitstack_interrupt` and the rest), so "
                   "there is nothing to compare with. Latency is wall time (CLOCK_MONOTONIC) from just before the "
                   "request to the start of the handler on the target thread, each request waiting for its "
                   "delivery.")
    return "\n".join(out)


def why_missed(tid, run):
    """A short, measured explanation for a missed target."""
    data = run["data"]
    g = lambda v, k: med(data, v, k)
    if tid in ("hot50", "hot2"):
        floor = g("ours", "hot.floor") or 0
        ours, lib_nb, lib_def = g("ours", "hot.default"), g("libgcc", "hot.noblock"), g("libgcc", "hot.default")
        if ours is None or lib_nb is None or lib_def is None:
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
    if tid == "librec2":
        a, b = g("libgcc", "librec.descent"), g("ours", "librec.descent")
        if a is None or b is None:
            return "no measurement"
        return ("ours %.0f us vs libgcc %.0f us per descent. Once warm ours makes no system call per descent "
                "(tests/system/libc_recursion.c counts them); what is left is gold's per-frame "
                "__morestack_non_split check of every libc-calling frame, which takes the same path in both "
                "runtimes, and the splits themselves." % (b, a))
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
        page = run["machine"]["page_size"] / 1024  # the measuring machine's, from results.json
        parts, worst = [], None
        for n in ("1000", "10000", "100000", "1000000", "5000000"):
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
                     "the default." % (env_text(run), "; ".join(smalls)))
        return text
    if tid in ("pair300", "getset40"):
        key = "insn.ctx.pair" if tid == "pair300" else "insn.ctx.getset"
        a, b = g("libgcc", key), g("ours", key)
        what = ("makecontext takes a block from the per-thread cache, fills the header, the allocator's record "
                "and the ten context words; releasecontext checks the context and gives the block back"
                if tid == "pair300" else
                "getcontext writes ten words (libgcc's seven, our state word and the interrupt nesting) and "
                "setcontext checks the state word and the two segment words before it installs them")
        return ("ours %s, libgcc %s (%s)." % (fmt(b, "insn"), fmt(a, "insn"), what)) if a and b else "no measurement"
    if tid == "warm70":
        return "see bench/README.md, 'Where the hot split's time goes'."
    return ""


def target_lines(run, verdicts):
    lines = []
    for tid, text in TARGETS.items():
        vs = verdicts.get(tid)
        if not vs:
            lines.append("- %s: **not measured** in this run." % text)
            continue
        got = ", ".join(((fmt(r, unit) if unit else fmt_ratio(r)) + (" at " + tag if tag else "") +
                         (" (%d of %d rounds reached it)" % n if n[1] > 1 else ""))
                        for tag, r, _, n, unit in vs)
        if all(ok for _, _, ok, _, _ in vs):
            lines.append("- %s: **met**: %s." % (text, got))
        else:
            lines.append("- %s: **missed**: %s. Why: %s" % (text, got, why_missed(tid, run)))
    return lines


def call_mismatch(run):
    """A split-stack call that does not split runs only the compiler's
    prologue, so its instruction count must be the same on every runtime:
    the text saying which differ, or None."""
    data = run["data"]
    counts = {v: med(data, v, "insn.intr.call") for v in VARIANTS}
    counts = {v: x for v, x in counts.items() if x is not None}
    if len(counts) < 2 or len({round(x, 1) for x in counts.values()}) == 1:
        return None
    nm = names(run)
    return ("a split-stack call that does not split took %s instructions: it runs only the compiler's prologue, "
            "so the counts should be equal (has gold rewritten a prologue?)." %
            ", ".join("%s with %s" % (fmt(x, "insn"), nm[v]) for v, x in counts.items()))


def write_report(out, run, rows, verdicts, plot_msg):
    info, rounds, mode = run["machine"], run["rounds"], run["mode"]
    nm = names(run)
    lines = ["# splitstack vs libgcc's split-stack runtime", ""]
    if run["format"] == 1:
        lines.append("Generated by `make bench` (bench/run.py, mode: %s) on %s, commit %s." % (
            mode, run["date"], run["commit"]))
    else:
        lines.append("Measured by `make bench` (bench/measure.py, mode: %s) on %s, commit %s; "
                     "this report by bench/report.py." % (mode, run["date"], run["commit"]))
    lines.append("Machine: %s; Linux %s; %s; %s." % (info["cpu"], info["kernel"], info["gcc"], info["gold"]))
    clock = ("Times are wall-clock time (BENCH_CLOCK=wall). " if run["env"].get("BENCH_CLOCK") == "wall" else
             "Times are CPU time of the measuring thread (wall time for threads). ")
    lines.append("Each value is the median of %d rounds (fewer for the big coroutine counts: see the "
                 "details); in each round the runtimes run back to back, in rotating order, and a timed "
                 "operation's value in a round is the fastest of five timed runs inside the program. "
                 "**ratio = libgcc / ours**: above 1, ours is faster or smaller. "
                 "The ratio is the median of the rounds' ratios (each round's pair ran back to back); "
                 "the range next to it shows how much the rounds disagreed. %s"
                 "The `.so` column is our shared library, with its own ratio." % (rounds, clock))
    lines.append("Linkers: " + "; ".join("%s: %s" % (nm[v], l) for v, l in info["linkers"].items()) + ". "
                 "Load average at the start: %s, at the end: %s (other work on the machine adds noise)."
                 % (info.get("loadavg0", "?"), info["loadavg"]))
    bad = {v: n for v, n in info["rewritten"].items() if n not in ("0", "")}
    if bad:
        lines.append("")
        lines.append("**Warning**: gold moved split-stack prologues onto `__morestack_non_split` "
                     "(1 MiB more stack demanded by every such function) in: " +
                     ", ".join("%s (%s of the workload functions)" % (nm[v], n) for v, n in bad.items()) +
                     ". Those columns do not run the same code as libgcc's: gold takes a `__morestack` "
                     "defined in a shared library for non-split code, so every split-stack function of the "
                     "program is rewritten; each coroutine's first call then maps a segment of over 1 MiB.")
    if run.get("only"):
        lines.append("")
        lines.append("**Partial run**: only %s (BENCH_ONLY); the other rows were not measured."
                     % ", ".join(run["only"]))
    warn = call_mismatch(run)
    if warn:
        lines.append("")
        lines.append("**Warning**: " + warn)
    lines.append("")
    lines.append(markdown_table(run, rows))
    lines.append("")
    lines.append("## Targets")
    lines.append("")
    lines.extend(target_lines(run, verdicts))
    failed = [(v, k, w) for v in ALL_VARIANTS for k, w in run["fails"].get(v, {}).items()]
    if failed:
        lines.append("")
        lines.append("## Failures")
        lines.append("")
        for v, k, w in failed:
            lines.append("- %s, %s: %s" % (nm[v], k, w))
    lines.append("")
    lines.append("## Plot")
    lines.append("")
    lines.append(plot_msg)
    lines.append("")
    lines.append("## What each program printed besides results")
    lines.append("")
    for v in ALL_VARIANTS:
        for n in run["notes"].get(v, []):
            lines.append("- %s: %s" % (nm[v], n))
    lines.append("")
    lines.append("## Details: every round")
    lines.append("")
    data = run["data"]
    shown = DETAIL_VARIANTS + [v for v in (GUARD, LGUARD) if data.get(v)]
    heads = ["libgcc", "ours", "ours (.so)", "ours, 2 KiB segments¹"] + [nm[v] for v in shown[len(DETAIL_VARIANTS):]]
    lines.append("| key | %s |" % " | ".join(heads))
    lines.append("|" + " --- |" * (len(heads) + 1))
    keys = sorted({k for v in shown for k in data.get(v, {})})
    for k in keys:
        lines.append("| %s | %s |" % (k, " | ".join(
            " ".join("%.4g" % data[v][k][r] for r in sorted(data.get(v, {}).get(k, {}))) or "—"
            for v in shown)))
    lines.append("")
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(lines))
    return lines


# ---------------------------------------------------------------------------
# The plot: gnuplot only

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


def color(r, need, met):
    if need is not None:
        return 0x2e8b57 if met == "yes" else 0xd04030
    return 0x4682b4 if r >= 1 else 0xe0a030


def plot(out, rows, title):
    """Makes out/ratios.png with gnuplot.  Returns (made?, the text for
    results.md's Plot section).  An old ratios.png is removed first, so
    that what lies next to results.md is always this report's plot or none."""
    png = os.path.join(out, "ratios.png")
    if os.path.exists(png):
        os.unlink(png)
    pts = plot_rows(rows)
    if not pts:
        return False, "**No plot was made**: no ratio was measured."
    if not shutil.which("gnuplot"):
        return False, ("**No plot was made**: gnuplot is not installed (Debian: `%s`; then "
                       "report.py again, `make bench-report`, makes it from the same results.json)." % INSTALL)
    with tempfile.TemporaryDirectory(prefix="bench-plot.") as tmp:
        ok, why = plot_gnuplot(tmp, png, pts, title)
    if ok:
        return True, "![ratios](ratios.png)\n\nPlot made with gnuplot."
    if os.path.exists(png):
        os.unlink(png)
    return False, "**No plot was made**: gnuplot failed: `%s`" % (" ".join(why.split()) or "no message")


def plot_gnuplot(tmp, png, pts, title):
    n = len(pts)
    dat = os.path.join(tmp, "ratios.dat")
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
    gp = os.path.join(tmp, "ratios.gp")
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


# ---------------------------------------------------------------------------
# The README tables

def readme_block(run, table):
    return "Latest `make bench` (%s run, %s, commit %s; full report: bench/results/results.md):\n\n%s" % (
        run["mode"], run["date"], run["commit"], table)


READMES = [os.path.join(ROOT, "bench", "README.md"), os.path.join(ROOT, "README.md")]


def between_markers(path):
    """(text before, the block, text after), or None without markers."""
    try:
        s = open(path).read()
    except OSError:
        return None
    if BEGIN not in s or END not in s:
        return None
    a, b = s.index(BEGIN) + len(BEGIN), s.index(END)
    return s[:a], s[a:b], s[b:]


def replace_between_markers(path, text):
    parts = between_markers(path)
    if parts is None:
        return None
    new = parts[0] + "\n" + text + "\n" + parts[2]
    if new == "".join(parts):
        return "unchanged"
    with open(path, "w") as f:
        f.write(new)
    return "changed"


# ---------------------------------------------------------------------------

def usage(msg=""):
    sys.exit((msg + "\n" if msg else "") +
             "usage: python3 bench/report.py [RESULTS.json] [--out DIR] [--no-readme]\n"
             "       python3 bench/report.py --check [RESULTS.json]")


def main():
    args, path, out, no_readme, check = sys.argv[1:], None, None, False, False
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--out" and i + 1 < len(args):
            out, i = os.path.abspath(args[i + 1]), i + 1
        elif a == "--no-readme":
            no_readme = True
        elif a == "--check":
            check = True
        elif not a.startswith("-") and path is None:
            path = a
        else:
            usage("bench/report.py: unexpected argument %r" % a)
        i += 1
    shown = path or os.path.relpath(default_json())
    path = os.path.abspath(path or default_json())
    if not os.path.exists(path):
        sys.exit("bench/report.py: %s is missing: run python3 bench/measure.py first (make bench does)" % shown)
    run = load(path)
    out = out or os.path.dirname(path)
    rows, verdicts = build_table(run["data"], run["fails"])
    table = markdown_table(run, rows)
    # The README tables are a full run's, from the committed bench/results/.
    official = run["mode"] == "full" and out == RESULTS and not no_readme and not run["only"]

    if check:
        if run["only"]:
            usage("bench/report.py --check: %s is a partial run's (BENCH_ONLY: %s); the README tables are a full "
                  "run's" % (os.path.relpath(path), ", ".join(run["only"])))
        if run["mode"] != "full":
            usage("bench/report.py --check: %s is a %s run's; the README tables are a full run's"
                  % (os.path.relpath(path), run["mode"]))
        want, stale = readme_block(run, table), []
        for readme in READMES:
            parts = between_markers(readme)
            if parts is not None and parts[1] != "\n" + want + "\n":
                stale.append(os.path.relpath(readme, ROOT))
        if stale:
            print("bench/report.py: the table in %s is not what %s gives (make bench-report writes it)"
                  % (" and ".join(stale), os.path.relpath(path, ROOT)))
            sys.exit(1)
        print("bench/report.py: the README tables are what %s gives" % os.path.relpath(path, ROOT))
        return

    os.makedirs(out, exist_ok=True)
    print("bench report: %s (%s run, %s, commit %s) into %s" % (
        os.path.relpath(path, ROOT), run["mode"], run["date"], run["commit"], os.path.relpath(out, ROOT)), flush=True)
    title = "splitstack vs libgcc's runtime: median of %d rounds, %s, commit %s" % (
        run["rounds"], run["date"], run["commit"])
    old_png = os.path.exists(os.path.join(out, "ratios.png"))
    made, plot_msg = plot(out, rows, title)
    write_report(out, run, rows, verdicts, plot_msg)
    print()
    print(table)
    print()
    for line in target_lines(run, verdicts):
        print(line)
    print()
    warn = call_mismatch(run)
    if warn:
        print("warning: " + warn)
        print("bench/report.py: warning: " + warn, file=sys.stderr)
    if made:
        print("plot: %s (gnuplot)" % os.path.relpath(os.path.join(out, "ratios.png"), ROOT))
    else:
        # Said on stderr too, so that it is seen when stdout goes to a log.
        msg = plot_msg.replace("**", "").replace("`", "")
        print(msg)
        print("bench/report.py: " + msg, file=sys.stderr)
        if old_png:
            print("bench/report.py: the ratios.png of an earlier report was removed (not made from this "
                  "results.json)", file=sys.stderr)
    print("report: %s" % os.path.relpath(os.path.join(out, "results.md"), ROOT))
    if official:
        for readme in READMES:
            done = replace_between_markers(readme, readme_block(run, table))
            if done:
                print("table %s in %s" % ("copied" if done == "changed" else "already", os.path.relpath(readme, ROOT)))


if __name__ == "__main__":
    main()
