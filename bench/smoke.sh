#!/bin/sh
# Smoke test of the benchmark suite (seconds, not minutes): builds every
# benchmark program for the three runtimes (bench/build.sh), runs each with
# tiny parameters, and checks that it exits 0, reports no failure and
# prints every expected result as a sane number; then measures with tiny
# parameters (bench/measure.py --tiny) and makes the report from that
# (bench/report.py, twice: the same JSON must give the same files), into
# build/bench/smoke/, and checks that the README tables are what report.py
# makes of the committed bench/results/results.json.
#
#   sh bench/smoke.sh        (needs build/libsplitstack.{a,so}: make lib)
#
# One PASS/FAIL/SKIP line per check; the last line is
#   bench-smoke: N passed, N failed, N skipped
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=$ROOT/build/bench
LOG=$OUT/smoke
pass=0 fail=0 skip=0
ok()   { pass=$((pass + 1)); echo "PASS $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; }
unsup() { skip=$((skip + 1)); echo "SKIP $1"; }
finish() { echo "bench-smoke: $pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; exit $?; }

mkdir -p "$LOG"
if sh bench/build.sh > "$LOG/build.log" 2>&1; then
    ok "bench: build every program for libgcc, ours (.a), ours (.so)"
else
    bad "bench: build every program (see $LOG/build.log)"
    sed 's/^/    /' "$LOG/build.log" | tail -15
    finish
fi

# Tiny parameters: a few milliseconds per measurement.
export BENCH_MIN_TIME=0.005 BENCH_DEPTH=20000 BENCH_THREADS=50 BENCH_INTR_REQUESTS=500

# Keys each program must print ("result KEY VALUE UNIT") on runtime $2.
keys_of() {
    case $1 in
    bench_interrupt)
        # libgcc's runtime has no interrupt API: the fast paths only.
        if [ "$2" = libgcc ]; then echo "intr.call intr.split"
        else echo "intr.call intr.split intr.poll intr.request_self intr.self_deliver intr.request_other intr.latency_p50 intr.latency_p90 intr.latency_p99 intr.latency_max intr.request_blocked"; fi ;;
    bench_hot) echo "hot.floor hot.default hot.noblock hot.block" ;;
    bench_ctx) echo "ctx.create_destroy ctx.lifecycle ctx.reset ctx.reset_run ctx.switch ctx.switch_floor" ;;
    bench_recursion) echo "deep.first_ms deep.again_ms deep.peak_rss deep.vmas" ;;
    bench_threads) echo "threads.cycle" ;;
    bench_memory) echo "mem.1000.rss_per_coro mem.1000.vm_per_coro mem.1000.vmas mem.1000.create_us" ;;
    esac
}

# value VARIANT PROG KEY: the number printed for KEY (empty if none).
value() {
    awk -v k="$3" '$1 == "result" && $2 == k {print $3}' "$LOG/$1.$2.out"
}

for v in libgcc ours ours-so; do
    # gold must not have moved any workload prologue onto
    # __morestack_non_split (see bench/common.h; build.sh counts them).
    n=$(cat "$OUT/$v/REWRITTEN" 2>/dev/null || echo "?")
    if [ "$n" = 0 ]; then ok "bench [$v]: gold moved no split-stack prologue to __morestack_non_split"
    else bad "bench [$v]: gold moved $n of the workload functions to __morestack_non_split (1 MiB more stack each: not the code the other runtimes run)"; fi
    for p in bench_hot bench_ctx bench_recursion bench_threads bench_memory bench_interrupt; do
        args=""
        [ $p = bench_memory ] && args=1000
        out=$LOG/$v.$p.out
        # shellcheck disable=SC2086
        timeout 120 "$OUT/$v/$p" $args > "$out" 2> "$LOG/$v.$p.err"
        rc=$?
        problems=""
        [ $rc -eq 0 ] || problems="exit status $rc: $(tail -1 "$LOG/$v.$p.err")"
        if grep -q '^fail ' "$out"; then problems="$problems $(grep '^fail ' "$out" | head -1)"; fi
        for k in $(keys_of $p $v); do
            x=$(value "$v" "$p" "$k")
            if [ -z "$x" ]; then
                problems="$problems; no result $k"
            elif ! awk -v x="$x" -v k="$k" 'BEGIN {
                    if (x != x + 0 || x < 0 || x > 1e9) exit 1;      # a number, not absurd
                    if (k !~ /vmas$/ && x <= 0) exit 1;               # only counts may be 0
                    exit 0 }'; then
                problems="$problems; $k = $x is not sane"
            fi
        done
        if [ -z "$problems" ]; then ok "bench [$v]: $p runs and prints sane results"
        else bad "bench [$v]: $p: $problems"; fi
    done
done

# Signal blocking must show where it should: libgcc blocks by default (4
# system calls per round trip), and ours blocks when asked to.
ratio_check() { # NAME VARIANT SLOW-KEY FAST-KEY
    s=$(value "$2" bench_hot "$3"); f=$(value "$2" bench_hot "$4")
    if [ -n "$s" ] && [ -n "$f" ] && awk -v s="$s" -v f="$f" 'BEGIN {exit !(s > 3 * f)}'; then ok "$1 ($s ns vs $f ns)"
    else bad "$1 (got '$s' ns vs '$f' ns)"; fi
}
ratio_check "bench [libgcc]: default hot split blocks signals (far slower than with blocking off)" libgcc hot.default hot.noblock
ratio_check "bench [ours]: hot split blocks signals when asked to" ours hot.block hot.noblock

# Measuring, then reporting: raw numbers, then the table, the targets and a
# plot (or a clear reason why there is none).
R=$LOG/report
rm -rf "$R" "$R.again"
if python3 bench/measure.py --tiny --out "$R" > "$LOG/measure.log" 2>&1 \
    && python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(not (d["format"] == 2 and d["mode"] == "tiny" and d["data"]["ours"]))' "$R/results.json"; then
    ok "bench: measure.py --tiny writes results.json (raw numbers, format 2)"
    if python3 bench/report.py "$R/results.json" > "$LOG/report.log" 2>&1 \
        && grep -q '^| hot split, default settings' "$R/results.md" \
        && grep -q '^## Targets' "$R/results.md"; then
        ok "bench: report.py writes the table and the targets"
        if [ -s "$R/ratios.png" ]; then ok "bench: report.py makes the plot (gnuplot)"
        else unsup "bench: no plot ($(grep -m1 'No plot' "$R/results.md"))"; fi
        if python3 bench/report.py "$R/results.json" --out "$R.again" > "$LOG/report-again.log" 2>&1 \
            && cmp -s "$R/results.md" "$R.again/results.md" \
            && { [ ! -e "$R/ratios.png" ] || cmp -s "$R/ratios.png" "$R.again/ratios.png"; }; then
            ok "bench: report.py again on the same results.json gives the same files"
        else
            bad "bench: report.py is not deterministic (diff $R/results.md $R.again/results.md)"
        fi
    else
        bad "bench: report.py (see $LOG/report.log)"
        tail -15 "$LOG/report.log" | sed 's/^/    /'
    fi
else
    bad "bench: measure.py --tiny (see $LOG/measure.log)"
    tail -15 "$LOG/measure.log" | sed 's/^/    /'
fi
if python3 bench/report.py --check bench/results/results.json > "$LOG/check.log" 2>&1; then
    ok "bench: the README tables are what report.py makes of bench/results/results.json"
else
    bad "bench: $(tail -1 "$LOG/check.log")"
fi
finish
