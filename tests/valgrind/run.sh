#!/bin/bash
# Memcheck over split-stack programs (README: Debugging with valgrind and
# sanitizers).
#
# 1. Programs of the C suite that exercise every kind of stack switch the
#    runtime makes (deep recursion, coroutines, threads, exceptions and
#    forced unwinds, stack arguments, longjmp, alloca blocks, signals on
#    small segments, frames larger than segments), linked with this
#    runtime (static, and a subset shared), must exit 0 with memcheck
#    reporting 0 errors (--error-exitcode): no suppressions.
# 2. Memcheck must still see real mistakes on split stacks
#    (tests/valgrind/real_errors.c): each of its modes must be reported.
# 3. For reference only (not counted): the same programs with libgcc's
#    runtime, and the number of errors memcheck reports for them.
#
# Output: PASS/FAIL/UNSUPPORTED lines, REFERENCE lines, and last
# "valgrind: N passed, N failed, N skipped".  Without valgrind every check
# is UNSUPPORTED.  Runs two programs at a time (VG_JOBS).
#
#   tests/valgrind/run.sh [BUILD_DIR]     (default: build)
#   VALGRIND=/path/to/valgrind            (default: the one on PATH)
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
B=${1:-$ROOT/build}
T=$B/tests/valgrind
C=$ROOT/tests/c/x86_64
JOBS=${VG_JOBS:-2}
TIMEOUT=${VG_TIMEOUT:-300}
mkdir -p "$T"
rm -f "$T"/*.result "$T"/*.log

# The programs.  What each adds:
#   t_recursion        100,000 frames over thousands of segments, 256 KiB rlimit
#   t_coroutines       ucontext coroutines on split stacks, resetcontext, find
#   t_threads          threads through the pthread_create wrapper, thread exit
#   t_thread_exit_deep pthread_exit/cancel: forced unwind through __morestack
#   t_exceptions       C++ throws through thousands of segments (SS_THROWS=10:
#                      10 rounds instead of 100, for time), in a coroutine too
#   t_exceptions_limit throws in main, a thread and a coroutine
#   t_stackargs        stack arguments copied to the new segment, variadics
#   t_longjmp          longjmp out of split stacks, getcontext/setcontext
#   t_alloca           alloca/VLA blocks (__morestack_allocate_stack_space)
#   t_largeframe       64 KiB to 8 MiB frames: needs --max-stackframe (below)
#   t_nested           nested functions (static chain), t_largemodel: -mcmodel=large
# Left out: t_signals/t_signals_noblock (their 50 us timer storms do not
# finish under valgrind's serialised signal delivery), t_xmm (memcheck does
# not emulate rounding modes, which the test checks first), tests that end
# in abort() by design, and t_minseg_altstack (a signal storm on 2 KiB
# segments with an alternate-stack handler): in about one CI run in three
# memcheck reports the lowest 32 bytes of a live __morestack frame as
# inaccessible after the handler ran (never in 90+ local runs); the cause
# is not known yet (memcheck's per-stack old_SP bookkeeping while SP is on
# the unregistered alternate stack, or ours): an open bug, not a pass.
# Run it with VG_STATIC=t_minseg_altstack.
# (VG_STATIC, VG_SHARED, VG_LIBGCC replace the lists, for experiments.)
STATIC_TESTS=${VG_STATIC-"t_recursion t_coroutines t_threads t_thread_exit_deep t_exceptions t_exceptions_limit t_stackargs t_longjmp t_alloca t_largeframe t_nested t_largemodel"}
SHARED_TESTS=${VG_SHARED-"t_recursion t_coroutines t_threads t_exceptions t_stackargs"}
LIBGCC_TESTS=${VG_LIBGCC-"t_recursion t_coroutines t_threads t_exceptions t_stackargs t_longjmp"}

pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
unsup() { skip=$((skip + 1)); echo "UNSUPPORTED $1"; }

nwords() { echo $#; }
VALGRIND=${VALGRIND:-valgrind}
if ! command -v "$VALGRIND" > /dev/null; then
    n=$(($(nwords $STATIC_TESTS) + $(nwords $SHARED_TESTS) + 3))
    for i in $(seq "$n"); do unsup "memcheck check $i of $n: valgrind is not installed (apt-get install valgrind)"; done
    echo "valgrind: $pass passed, $fail failed, $skip skipped"
    exit 0
fi
echo "NOTE: $("$VALGRIND" --version), $(gcc --version | head -1)"

directive() { head -n 15 "$1" | sed -n "s|^// *$2:[[:space:]]*||p" | tr '\n' ' ' | sed 's/ *$//'; }
source_of() { if [ -f "$C/$1.c" ]; then echo "$C/$1.c"; else echo "$C/$1.cc"; fi; }

# build NAME RUNTIME: the program as tests/c/run-suite.sh builds it, with gold.
build() {
    local name=$1 rt=$2 src cc libs
    src=$(source_of "$name")
    case $src in *.cc) cc=g++ ;; *) cc=gcc ;; esac
    case $rt in
    static) libs="$B/libsplitstack.a -ldl -lm -lrt" ;;
    shared) libs="-L$B -lsplitstack -Wl,-rpath,$B -Wl,-z,now" ;;
    libgcc) libs="" ;;
    esac
    # shellcheck disable=SC2046,SC2086
    $cc -fsplit-stack -O2 -g -pthread -fuse-ld=gold $(directive "$src" CFLAGS) -I"$C" \
        -o "$T/$name.$rt" "$src" $libs $(directive "$src" LIBS) > "$T/$name.$rt.build" 2>&1
}

# memcheck NAME RUNTIME: runs the program under memcheck; writes
# NAME.RUNTIME.result = "exit-status errors contexts seconds".
memcheck() {
    local name=$1 rt=$2 src ul extra="" envs="" start rc errors contexts
    src=$(source_of "$name")
    ul=$(directive "$src" ULIMIT_S)
    # An 8 MiB frame is a stack move bigger than memcheck's default
    # --max-stackframe (2 MiB), which it takes for a switch to another
    # stack: valgrind's own advice for such programs, nothing to do with
    # split stacks.
    [ "$name" = t_largeframe ] && extra="--max-stackframe=16777216"
    [ "$name" = t_exceptions ] && envs="SS_THROWS=10"
    # valgrind's default error limit (it stops collecting after 1000
    # different errors): libgcc's runs, or a broken one of ours, would take
    # tens of minutes otherwise; a pass needs 0 errors anyway.
    start=$(date +%s)
    (
        cd "$T" || exit 97
        if [ -n "$ul" ]; then ulimit -s "$ul" || exit 98; fi
        # shellcheck disable=SC2086
        exec env $envs timeout -k 5 "$TIMEOUT" "$VALGRIND" --error-exitcode=99 $extra \
            --log-file="$T/$name.$rt.log" "./$name.$rt"
    ) > "$T/$name.$rt.out" 2>&1 < /dev/null
    rc=$?
    errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors from \([0-9]*\) contexts.*/\1/p' "$T/$name.$rt.log" 2> /dev/null | tail -1)
    contexts=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors from \([0-9]*\) contexts.*/\2/p' "$T/$name.$rt.log" 2> /dev/null | tail -1)
    echo "$rc ${errors:-?} ${contexts:-?} $(($(date +%s) - start))" > "$T/$name.$rt.result"
}

# Build everything, then run the programs JOBS at a time.
queue=()
for rt in static shared libgcc; do
    case $rt in static) list=$STATIC_TESTS ;; shared) list=$SHARED_TESTS ;; libgcc) list=$LIBGCC_TESTS ;; esac
    for name in $list; do
        if build "$name" "$rt"; then queue+=("$name $rt"); else echo "build failed" > "$T/$name.$rt.result"; fi
    done
done
gcc -fsplit-stack -O2 -g -fuse-ld=gold tests/valgrind/real_errors.c "$B/libsplitstack.a" \
    -o "$T/real_errors" > "$T/real_errors.build" 2>&1 || echo "build failed" > "$T/real_errors.result"
running=0
for job in "${queue[@]}"; do
    # shellcheck disable=SC2086
    memcheck $job &
    running=$((running + 1))
    if [ $running -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
done
wait

report() {
    local name=$1 rt=$2 r rc errors contexts secs
    r=$(cat "$T/$name.$rt.result" 2> /dev/null)
    if [ "$r" = "build failed" ] || [ -z "$r" ]; then
        bad "memcheck $name [$rt]: build failed"
        sed 's/^/    /' "$T/$name.$rt.build" | tail -15
        return
    fi
    read -r rc errors contexts secs <<< "$r"
    if [ "$rc" = 0 ] && [ "$errors" = 0 ]; then
        ok "memcheck $name [$rt]: 0 errors, exit 0 (${secs}s)"
    else
        local limit=""
        if [ "$contexts" = 1000 ] || [ "$errors" = 10000000 ]; then limit=" (or more: memcheck's error limit)"; fi
        bad "memcheck $name [$rt]: $errors errors from $contexts contexts$limit, exit status $rc (${secs}s)"
        # The first reports, and the program's own last words.
        grep -E -A12 "^==[0-9]+== [A-Z][a-z]+ " "$T/$name.$rt.log" | grep -v "Memcheck, a memory\|Copyright\|Using Valgrind\|Command:" | head -40 | sed 's/^/    /'
        tail -5 "$T/$name.$rt.out" | sed 's/^/    /'
    fi
}

echo "== memcheck, this runtime, static library"
for name in $STATIC_TESTS; do report "$name" static; done
echo "== memcheck, this runtime, shared library"
for name in $SHARED_TESTS; do report "$name" shared; done

echo "== memcheck still reports real mistakes on split stacks (tests/valgrind/real_errors.c)"
# mode, and the report memcheck must make for it
real_error() {
    local mode=$1 want=$2 rc
    if [ -f "$T/real_errors.result" ]; then bad "memcheck reports $mode: build failed"; sed 's/^/    /' "$T/real_errors.build"; return; fi
    (cd "$T" && timeout -k 5 "$TIMEOUT" "$VALGRIND" --error-exitcode=99 --log-file="$T/real_errors.$mode.log" ./real_errors "$mode") > "$T/real_errors.$mode.out" 2>&1
    rc=$?
    if [ $rc = 99 ] && grep -q "$want" "$T/real_errors.$mode.log"; then
        ok "memcheck reports $mode: \"$want\" ($(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$T/real_errors.$mode.log") errors)"
    else
        bad "memcheck reports $mode: want \"$want\" and exit status 99, got status $rc"
        grep -E -A8 "^==[0-9]+== [A-Z][a-z]+ " "$T/real_errors.$mode.log" | head -20 | sed 's/^/    /'
    fi
}
real_error uninit "Conditional jump or move depends on uninitialised value"
real_error released "Invalid read of size 1"
real_error vla "Invalid read of size 1"

echo "== for reference: libgcc's runtime, same programs (not counted)"
for name in $LIBGCC_TESTS; do
    r=$(cat "$T/$name.libgcc.result" 2> /dev/null)
    if [ "$r" = "build failed" ] || [ -z "$r" ]; then echo "REFERENCE libgcc $name: build failed"; continue; fi
    read -r rc errors contexts secs <<< "$r"
    note=""
    if [ "$contexts" = 1000 ] || [ "$errors" = 10000000 ]; then note=" (at least: memcheck stops collecting at 1000 contexts or 10,000,000 errors)"; fi
    echo "REFERENCE libgcc $name: $errors errors from $contexts contexts$note, exit status $rc (${secs}s)"
done

echo "valgrind: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
