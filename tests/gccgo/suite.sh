#!/usr/bin/env bash
# tests/gccgo/suite.sh - gccgo's own execution tests (GCC 12's
# gcc/testsuite/go.test/test) as a client of this runtime, each linked
# against libsplitstack.a and, as the reference, against libgcc's own
# split-stack runtime, with gold and with bfd.  README.md beside this file
# says what is selected and why.
#
# The test sources are GCC's (GPL).  They are pulled out of Debian's
# gcc-12-source tarball at run time into the scratch directory and never
# stored in this repository.
#
# Environment:
#   LIBDIR=dir            where libsplitstack.a lives (default <repo>/build)
#   GCCGO_SUITE_DIR=dir   scratch directory (default <repo>/build/gccgo-suite)
#   GCC_SOURCE_TARBALL=f  default /usr/src/gcc-12/gcc-12.2.0-dfsg.tar.xz
#   GOC=gccgo             the Go compiler driver
#   LINKERS="gold bfd"    linkers (each gets a libgcc and an "ours" link)
#   JOBS=2                tests built and run in parallel
#   RUN_TIMEOUT=60        seconds allowed per program run
#   OUR_RUNS=2            runs of each executable linked with our runtime
#   LIBGCC_RUNS=1         runs of each reference executable
#   SHARED_SAMPLE=1       0: skip the shared-libgo sample
#   TESTS="glob ..."      only tests whose name (e.g. chan/select2) matches
#
# Output: FAIL and UNSUPPORTED lines (failures with diagnostics), count
# lines, and last exactly one line
#   gccgo-suite: N passed, N failed, N skipped
# The PASS lines and the per-test list go to $GCCGO_SUITE_DIR/results.log.
# Exit status: 0 when nothing failed and something passed, 1 otherwise,
# 2 on a setup problem.

set -u
export LC_ALL=C LANG=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

LIBDIR=${LIBDIR:-$repo/build}
SCRATCH=${GCCGO_SUITE_DIR:-$repo/build/gccgo-suite}
TARBALL=${GCC_SOURCE_TARBALL:-/usr/src/gcc-12/gcc-12.2.0-dfsg.tar.xz}
GOC=${GOC:-gccgo}
LINKERS=${LINKERS:-gold bfd}
JOBS=${JOBS:-2}
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
OUR_RUNS=${OUR_RUNS:-2}
LIBGCC_RUNS=${LIBGCC_RUNS:-1}
SHARED_SAMPLE=${SHARED_SAMPLE:-1}
TESTS=${TESTS:-}

die() { echo "gccgo-suite: $*" >&2; echo "gccgo-suite: 0 passed, 1 failed, 0 skipped"; exit 2; }

for v in JOBS RUN_TIMEOUT OUR_RUNS LIBGCC_RUNS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive number (got '${!v}')"
done
command -v "$GOC" > /dev/null || die "'$GOC' not found (apt-get install gccgo)"
read -r -a linkers <<< "$LINKERS"
[[ ${#linkers[@]} -gt 0 ]] || die "LINKERS is empty"
for ld in "${linkers[@]}"; do
    case $ld in
    gold | bfd | lld) command -v "ld.$ld" > /dev/null || die "ld.$ld not found" ;;
    *) die "unknown linker '$ld' (gold, bfd, lld)" ;;
    esac
done
[[ -f $LIBDIR/libsplitstack.a ]] || die "$LIBDIR/libsplitstack.a not found (make lib)"
LIBDIR=$(cd "$LIBDIR" && pwd)
mkdir -p "$SCRATCH" || die "cannot create $SCRATCH"
SCRATCH=$(cd "$SCRATCH" && pwd)
start=$(date +%s)

# ------------------------------------------------------------ extraction
# Only go-test.exp and the .go/.out files of go.test/test and of its
# first-level subdirectories, less those go-test.exp never looks at
# (bench/, stress/, safe/, *.dir/).  A stamp names the tarball they came
# from; a second run with the same tarball reuses them.
SRC=$SCRATCH/src
stamp="$TARBALL $(stat -c '%s %Y' "$TARBALL" 2> /dev/null)"
if [[ ! -f $SRC/.stamp || $(cat "$SRC/.stamp") != "$stamp" ]]; then
    if [[ ! -f $TARBALL ]]; then
        die "GCC source tarball $TARBALL not found: apt-get install gcc-12-source (or set GCC_SOURCE_TARBALL)"
    fi
    top=gcc-12.2.0/gcc/testsuite/go.test
    tmp=$SCRATCH/src.tmp.$$
    rm -rf "$tmp" && mkdir -p "$tmp"
    if ! tar -xJf "$TARBALL" -C "$tmp" --wildcards --no-wildcards-match-slash --strip-components=4 \
        --exclude="$top/test/bench/*" --exclude="$top/test/stress/*" --exclude="$top/test/safe/*" \
        --exclude='*.dir/*' \
        "$top/go-test.exp" "$top/test/*.go" "$top/test/*/*.go" "$top/test/*.out" "$top/test/*/*.out" \
        2> "$tmp.err"; then
        cat "$tmp.err" >&2
        rm -rf "$tmp" "$tmp.err"
        die "extraction of $top from $TARBALL failed"
    fi
    rm -f "$tmp.err"
    echo "$stamp" > "$tmp/.stamp"
    rm -rf "$SRC" && mv "$tmp" "$SRC"
fi
T=$SRC/test
[[ -f $SRC/go-test.exp && -d $T ]] || die "nothing extracted into $SRC"

# The selection below follows GCC 12.2's go-test.exp, whose rules were read
# by hand; a different go-test.exp means they may no longer be its rules.
EXP_SHA=be853f1fe3c10d809a8228adddf506208c8eec361f2428d3d9f158dc437fa2a2
exp_ok=1
[[ $(sha256sum < "$SRC/go-test.exp" | cut -d' ' -f1) == "$EXP_SHA" ]] || exp_ok=0

# ------------------------------------------------------------- selection
# go-test.exp's "+build" handling: a constraint line keeps the test when
# any of its words matches, a word being comma-separated terms that must
# all match, "!x" negating and "!!x" never matching; the names that match
# are GOARCH, GOOS and "gccgo".
gc_match() {
    local n=$1
    if [[ $n == *,* ]]; then
        gc_match "${n%%,*}" && gc_match "${n#*,}"
        return
    fi
    [[ $n == '!!'* ]] && return 1
    if [[ $n == '!'* ]]; then
        if gc_match "${n#!}"; then return 1; else return 0; fi
    fi
    [[ $n == amd64 || $n == linux || $n == gccgo ]]
}

# classify FILE (relative to $T): sets C_KIND (run, skip, not-run),
# C_WHY, C_ARGS and C_OPT the way go-test.exp decides.
classify() {
    local f=$1 base line tl='' w
    local -a words
    base=${f##*/}
    C_KIND=run C_WHY='' C_ARGS='' C_OPT='-O2 -g'
    case $base in
    init1.go) C_KIND=skip C_WHY="go-test.exp: tests GC during init, which gccgo does not do"; return ;;
    closure.go) C_KIND=skip C_WHY="go-test.exp: tests that closures do not allocate, which gccgo's do"; return ;;
    rotate[0123].go) C_KIND=skip C_WHY="go-test.exp: generates a program too slow to compile"; return ;;
    select2.go | stack.go | peano.go | nilptr2.go)
        if ((!have_split_stack)); then
            C_KIND=skip C_WHY="go-test.exp: needs split stacks, which this target lacks"; return
        fi ;;
    bug347.go | bug348.go) C_OPT='-O0 -g' ;;   # they fail when functions are inlined
    esac
    while IFS= read -r line || [[ -n $line ]]; do
        case $line in
        *nacl*"exit 0"* | *"exit 0"*nacl* | *Android*"exit 0"* | *"exit 0"*Android* | *'"$GOOS" == windows'*) continue ;;
        '// '*) ;;
        '') continue ;;
        *) break ;;
        esac
        if [[ $line == '// +build '* ]]; then
            read -r -a words <<< "${line#// +build }"
            local m=1
            for w in "${words[@]}"; do gc_match "$w" && { m=0; break; }; done
            if ((m)); then
                C_KIND=skip C_WHY="go-test.exp: excluded for amd64/linux/gccgo by '${line#// }'"
                [[ -n $tl ]] || tl='?'
                C_TL=$tl
                return
            fi
            continue
        fi
        [[ -n $tl ]] || tl=$line
    done < "$T/$f"
    C_TL=$tl
    # "// run ARGS": ARGS (not starting with | & > 2, naming no .go file)
    # are passed to the program.
    local re='^// run ([^|&>2].*)$'
    if [[ $tl =~ $re && ${BASH_REMATCH[1]} != *.go* ]]; then
        C_ARGS=${BASH_REMATCH[1]}
        tl='// run'
    elif [[ $f == chan/goroutines.go ]]; then
        C_ARGS=64   # go-test.exp's default instead of 10000 threads
    fi
    if [[ $tl != '// run' && $tl != '// $G $F.go && $L $F.$A && ./$A.out' ]]; then
        C_KIND=not-run C_WHY="not a single-file run test: ${tl:-no test line}"
        return
    fi
}

# is_run_test FILE: its header (before the package clause) has a "// run"
# or "// run ARGS" line.
is_run_test() {
    sed -n '1,/^package /p' "$1" | grep -q '^// run\( \|$\)'
}

selected() {
    [[ -z $TESTS ]] && return 0
    local p
    # shellcheck disable=SC2053
    for p in $TESTS; do [[ $1 == $p ]] && return 0; done
    return 1
}

# split_stack effective target, as go-test.exp checks it: a C function
# compiles with -fsplit-stack.
have_split_stack=0
mkdir -p "$SCRATCH/checks"
echo 'void foo (void) { }' > "$SCRATCH/checks/ss.c"
if "$GOC" -fsplit-stack -c "$SCRATCH/checks/ss.c" -o "$SCRATCH/checks/ss.o" > "$SCRATCH/checks/ss.log" 2>&1 &&
    [[ ! -s $SCRATCH/checks/ss.log ]]; then
    have_split_stack=1
fi

# The shared-libgo sample: every test of chan/, the top-level tests that
# stress the collector, goroutines and stacks, and every 20th other test.
sample_named() {
    case $1 in
    chan/* | gc | gc1 | gc2 | mallocfin | deferfin | stack | peano | nilptr | nilptr2 | recover | recover1 | recover2 | recover3 | bigmap | map | defer | deferprint | turing | env | args | sigchld | printbig) return 0 ;;
    esac
    return 1
}

SEL=$SCRATCH/selection.tsv
: > "$SEL"
declare -a run_names=() run_args=() run_opts=() run_shared=()
nskip=0 nother=0 nsample_rest=0
while IFS= read -r f; do
    case $f in */*/*) continue ;; esac
    name=${f%.go}
    selected "$name" || continue
    C_TL=''
    classify "$f"
    printf '%s\t%s\t%s\t%s\n' "$name" "$C_KIND" "${C_WHY:-$C_TL}" "$C_ARGS" >> "$SEL"
    case $C_KIND in
    run)
        run_names+=("$name") run_args+=("$C_ARGS") run_opts+=("$C_OPT")
        sh=0
        if ((SHARED_SAMPLE)); then
            if sample_named "$name"; then
                sh=1
            else
                nsample_rest=$((nsample_rest + 1))
                ((nsample_rest % 20 == 0)) && sh=1
            fi
        fi
        run_shared+=("$sh") ;;
    skip)
        # Only the run tests go-test.exp leaves out count here.
        if is_run_test "$T/$f"; then nskip=$((nskip + 1)); fi ;;
    *) nother=$((nother + 1)) ;;
    esac
done < <(cd "$T" && find . -name '*.go' | sed 's|^\./||' | sort)
((${#run_names[@]} > 0)) || die "no test selected (TESTS='$TESTS')"

# -------------------------------------------------------------- one test
LIBGCC_RE='libgcc\.a\((morestack|generic-morestack|generic-morestack-thread)\.o\)'
W=$SCRATCH/work

# configurations: RUNTIME/LIBGO/LINKER
configs_for() { # SHARED -> CFGS
    CFGS=()
    local ld lg
    for lg in static-libgo shared-libgo; do
        [[ $lg == shared-libgo && $1 == 0 ]] && continue
        for ld in "${linkers[@]}"; do CFGS+=("libgcc/$lg/$ld" "ours/$lg/$ld"); done
    done
}

# why_exit RC: a word for a run's exit status.
why_exit() {
    local rc=$1
    if ((rc == 124 || rc == 137)); then echo "timed out after ${RUN_TIMEOUT}s"
    elif ((rc > 128)); then echo "killed by SIG$(kill -l $((rc - 128)) 2> /dev/null || echo $((rc - 128)))"
    else echo "exit status $rc"; fi
}

# now: wall-clock seconds with microseconds.
now() { echo "${EPOCHREALTIME/,/.}"; }
# add_time STEP START: adds the seconds since START to $dir/times.
add_time() { awk -v s="$2" -v e="$(now)" -v k="$1" 'BEGIN {printf "%s %.3f\n", k, e - s}' >> "$dir/times"; }

# snippet FILE: a Go crash says what happened first and where last, so
# the first 4 and the last 6 lines (all when there are at most 12).
snippet() {
    local n
    n=$(wc -l < "$1")
    if ((n <= 12)); then cut -c1-300 "$1"
    else head -n 4 "$1" | cut -c1-300; echo "[... $((n - 10)) lines ...]"; tail -n 6 "$1" | cut -c1-300; fi | sed 's/^/    /'
}

# result TAG STATUS REASON [FILE]: one configuration's outcome, with the
# link command and the tail of FILE as the details of a failure.
result() {
    echo "$2" > "$dir/$1.status"
    echo "$3" > "$dir/$1.reason"
    if [[ $2 != PASS ]]; then
        { echo "    --- link: $(cat "$dir/$1.cmd")"
          if [[ -n ${4:-} && -s ${4:-} ]]; then
              echo "    --- last lines of $(basename "$4"):"
              tail -n 12 "$4" | cut -c1-300 | sed 's/^/    /'
          fi
          cat "$dir/$1.runs" 2> /dev/null
        } > "$dir/$1.details"
    fi
}

# run_config CFG: link and run one configuration (RUNTIME/LIBGO/LINKER);
# leaves $dir/TAG.status (PASS or FAIL), .reason and .details.
run_config() {
    local cfg=$1 rt lg ld tag exe map out n runs i rc fails=0 first='' log t0 hits
    IFS=/ read -r rt lg ld <<< "$cfg"
    tag=${cfg//\//-}
    exe=$dir/$tag.exe map=$dir/$tag.map log=$dir/$tag.link
    local -a cmd=("$GOC" "-fuse-ld=$ld" "$dir/t.o")
    [[ $lg == static-libgo ]] && cmd+=(-static-libgo)
    [[ $rt == ours ]] && cmd+=("$LIBDIR/libsplitstack.a")
    # Which archive members were linked: from the link map, except for
    # gold with the static libgo, whose map costs more than the rest of
    # the link (0.45 s of CPU each); there gold's --trace, which lists
    # every archive member it loads as "lib.a(member.o)", the same lines
    # the map's archive section has, stands in for it.
    local trace=0
    if [[ $ld == gold && $lg == static-libgo ]]; then trace=1 cmd+=(-Wl,--trace)
    else cmd+=("-Wl,-Map,$map"); fi
    cmd+=(-o "$exe")
    printf '%q ' "${cmd[@]}" > "$dir/$tag.cmd"
    t0=$(now)
    if ((trace)); then timeout -k 5 300 "${cmd[@]}" > "$map" 2> "$log"
    else timeout -k 5 300 "${cmd[@]}" > "$log" 2>&1; fi
    rc=$?
    add_time link "$t0"
    if ((rc != 0)); then result "$tag" FAIL "link failed ($(why_exit $rc))" "$log"; return; fi
    # Like DejaGnu's check for excess errors: a link must be silent.
    if [[ -s $log ]]; then result "$tag" FAIL "linker output" "$log"; return; fi
    if [[ ! -s $map ]]; then result "$tag" FAIL "no link map (or trace) written"; return; fi
    hits=$(grep -Eo "$LIBGCC_RE" "$map" | sort -u | tr '\n' ' ')
    if [[ $rt == ours ]]; then
        if [[ -n $hits ]]; then result "$tag" FAIL "libgcc's split-stack runtime linked: ${hits% }"; return; fi
        if ! grep -q 'libsplitstack\.a(' "$map"; then result "$tag" FAIL "nothing from libsplitstack.a linked"; return; fi
        runs=$OUR_RUNS
    else
        # Self-test of the map check: the reference shows libgcc's objects.
        if [[ $hits != *'(morestack.o)'* ]]; then
            result "$tag" BROKEN "map check self-test: no libgcc.a(morestack.o) in the reference's link map"; return
        fi
        runs=$LIBGCC_RUNS
    fi
    rm -f "$map"
    local -a args=()
    [[ -n $targs ]] && read -r -a args <<< "$targs"
    : > "$dir/$tag.runs"
    t0=$(now)
    for ((i = 1; i <= runs; i++)); do
        out=$dir/$tag.run$i
        # As go-test.exp runs them: GOARCH and GOOS set (env.go checks
        # them), the arguments of "// run ARGS", stdout and stderr together.
        (cd "$dir" && exec env GOARCH=amd64 GOOS=linux timeout -k 5 "$RUN_TIMEOUT" "$exe" "${args[@]}") > "$out" 2>&1 < /dev/null
        rc=$?
        n=''
        if ((rc != 0)); then n=$(why_exit $rc)
        elif grep -q BUG "$out"; then n="output contains BUG"
        elif [[ -f $T/$tname.out ]] && ! cmp -s "$T/$tname.out" "$out"; then n="output differs from $tname.out"
        fi
        if [[ -n $n ]]; then
            fails=$((fails + 1))
            [[ -n $first ]] || first="run $i: $n"
            { echo "    --- run $i of $runs: $n; its output (first and last lines):"
              snippet "$out"; } >> "$dir/$tag.runs"
        fi
    done
    add_time run "$t0"
    rm -f "$exe"
    if ((fails == 0)); then
        result "$tag" PASS "$runs run$( ((runs > 1)) && echo s)"
    else
        result "$tag" FAIL "$fails of $runs runs failed; $first"
    fi
}

run_test() { # INDEX
    local k=$1 cfg
    tname=${run_names[$k]} targs=${run_args[$k]}
    dir=$W/$tname
    rm -rf "$dir" && mkdir -p "$dir"
    ulimit -c 0
    configs_for "${run_shared[$k]}"
    local -a ccmd=("$GOC" -c -w ${run_opts[$k]} "$T/$tname.go" -o "$dir/t.o")
    printf '%q ' "${ccmd[@]}" > "$dir/compile.cmd"
    local t0
    t0=$(now)
    timeout -k 5 300 "${ccmd[@]}" > "$dir/compile.log" 2>&1
    local rc=$?
    add_time compile "$t0"
    if ((rc != 0)); then
        for cfg in "${CFGS[@]}"; do
            tag=${cfg//\//-}
            echo FAIL > "$dir/$tag.status"
            echo "does not compile with $GOC" > "$dir/$tag.reason"
            { echo "    --- $(cat "$dir/compile.cmd")"; tail -n 8 "$dir/compile.log" | sed 's/^/    /'; } > "$dir/$tag.details"
        done
        return
    fi
    for cfg in "${CFGS[@]}"; do run_config "$cfg"; done
    rm -f "$dir/t.o"
}

# --------------------------------------------------------------- running
rm -rf "$W"
running=0
for k in "${!run_names[@]}"; do
    while ((running >= JOBS)); do wait -n; running=$((running - 1)); done
    run_test "$k" 2> /dev/null &
    running=$((running + 1))
done
wait

# ------------------------------------------------------------- reporting
LOG=$SCRATCH/results.log
: > "$LOG"
passed=0 failed=0 skipped=0
declare -A c_sel=() c_lib=() c_our=() c_ourx=()
label() { # CFG -> "[static-libgo, gold]"
    local rt lg ld
    IFS=/ read -r rt lg ld <<< "$1"
    echo "[$lg, $ld]"
}
emit() { # LINE [DETAILS-FILE]: to the log, and to stdout unless a PASS
    echo "$1" >> "$LOG"
    [[ -n ${2:-} && -s ${2:-} ]] && cat "$2" >> "$LOG"
    if [[ $1 != PASS* ]]; then
        echo "$1"
        [[ -n ${2:-} && -s ${2:-} ]] && cat "$2"
    fi
    return 0
}
st() { cat "$1.status" 2> /dev/null || echo FAIL; }
rs() { cat "$1.reason" 2> /dev/null || echo "job did not finish"; }

if ((!exp_ok)); then
    failed=$((failed + 1))
    emit "FAIL gccgo-suite: $SRC/go-test.exp is not GCC 12.2's; the selection rules here were written from that one (update tests/gccgo/suite.sh)"
fi
while IFS=$'\t' read -r name kind why _; do
    if [[ $kind == skip ]] && is_run_test "$T/$name.go"; then
        skipped=$((skipped + 1))
        emit "UNSUPPORTED gccgo-suite/$name (${why#go-test.exp: })"
    fi
done < "$SEL"
for k in "${!run_names[@]}"; do
    name=${run_names[$k]}
    dir=$W/$name
    configs_for "${run_shared[$k]}"
    for cfg in "${CFGS[@]}"; do
        [[ $cfg == ours/* ]] || continue
        ref=${cfg/#ours/libgcc}
        a=$dir/${ref//\//-} b=$dir/${cfg//\//-}
        key=${cfg#ours/}
        c_sel[$key]=$((${c_sel[$key]:-0} + 1))
        sa=$(st "$a") sb=$(st "$b")
        [[ $sa == PASS ]] && c_lib[$key]=$((${c_lib[$key]:-0} + 1))
        if [[ $sb == PASS ]]; then
            c_our[$key]=$((${c_our[$key]:-0} + 1))
            [[ $sa == PASS ]] || c_ourx[$key]=$((${c_ourx[$key]:-0} + 1))
        fi
        l="gccgo-suite/$name $(label "$cfg")"
        if [[ $sa == BROKEN ]]; then
            # A check of the harness itself failed: never a skip.
            failed=$((failed + 1))
            emit "FAIL $l (reference link: $(rs "$a"))" "$a.details"
        elif [[ $sa != PASS ]]; then
            skipped=$((skipped + 1))
            x="ours: $(rs "$b")"
            [[ $sb == PASS ]] && x="ours passed"
            emit "UNSUPPORTED $l (fails with libgcc's runtime too: $(rs "$a"); $x)" "$a.details"
        elif [[ $sb == PASS ]]; then
            passed=$((passed + 1))
            emit "PASS $l ($(rs "$b"))"
        else
            failed=$((failed + 1))
            emit "FAIL $l ($(rs "$b"); passes with libgcc's runtime)" "$b.details"
        fi
    done
done

# A reference that fails wholesale means a broken toolchain or harness,
# not a set of unsupported tests.
for key in "${!c_sel[@]}"; do
    if ((${c_lib[$key]:-0} * 10 < ${c_sel[$key]} * 9)); then
        failed=$((failed + 1))
        emit "FAIL gccgo-suite [${key/\//, }]: libgcc's runtime passes only ${c_lib[$key]:-0} of ${c_sel[$key]} tests (the toolchain or this harness is broken)"
    fi
done

end=$(date +%s)
echo "gccgo-suite: ${#run_names[@]} tests selected (go-test.exp's single-file run tests), $nskip left out by go-test.exp's own rules, $nother not run tests; $((end - start))s wall time, JOBS=$JOBS" | tee -a "$LOG"
for lg in static-libgo shared-libgo; do
    for ld in "${linkers[@]}"; do
        key=$lg/$ld
        [[ -n ${c_sel[$key]:-} ]] || continue
        echo "gccgo-suite counts [$lg, $ld]: libgcc: ${c_lib[$key]:-0} of ${c_sel[$key]} pass; ours: ${c_our[$key]:-0} of ${c_sel[$key]} pass ($((${c_our[$key]:-0} - ${c_ourx[$key]:-0})) of libgcc's ${c_lib[$key]:-0}, ${OUR_RUNS} runs each)" | tee -a "$LOG"
    done
done
cat "$W"/*/times "$W"/*/*/times 2> /dev/null | awk '{t[$1] += $2} END {printf "gccgo-suite: time in jobs: compile %.0fs, link %.0fs, run %.0fs\n", t["compile"], t["link"], t["run"]}' | tee -a "$LOG"
echo "gccgo-suite: full list in $LOG"
echo "gccgo-suite: $passed passed, $failed failed, $skipped skipped" | tee -a "$LOG"
((failed == 0 && passed > 0))
