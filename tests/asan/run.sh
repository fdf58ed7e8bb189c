#!/bin/bash
# AddressSanitizer (gcc -fsanitize=address) on split-stack programs
# (README: Debugging with valgrind and sanitizers).
#
# 1. Programs of the C suite built with -fsanitize=address -fsplit-stack
#    and linked with this runtime (static and shared) must run without an
#    ASan report: deep recursion, ucontext coroutines (reset and run
#    again), threads, forced unwinds, C++ exceptions, alloca/VLA blocks,
#    longjmp.
# 2. ASan must still report a real overflow on a segment
#    (tests/asan/real_error.c).
# 3. For reference only (not counted): the same programs with libgcc's
#    runtime.
# Left out: t_stackargs and t_exceptions_limit park a caller just above a
# segment's limit (tests/c/x86_64/common.h: ss_near_limit); with gold, every
# instrumented function calls ASan's (non-split) runtime and so splits
# through __morestack_non_split, which asks for 1 MiB more than the frame:
# the helper never gets near a limit and recurses until memory runs out,
# with either runtime.
#
# Output: PASS/FAIL/UNSUPPORTED lines, REFERENCE lines, and last
# "asan: N passed, N failed, N skipped".  Without a working
# -fsanitize=address (libasan) every check is UNSUPPORTED.
#
#   tests/asan/run.sh [BUILD_DIR]     (default: build)
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
B=${1:-$ROOT/build}
T=$B/tests/asan
C=$ROOT/tests/c/x86_64
TIMEOUT=${ASAN_TIMEOUT:-120}
mkdir -p "$T"
TESTS=${ASAN_TESTS-"t_recursion t_coroutines t_threads t_thread_exit_deep t_exceptions t_alloca t_longjmp"}
FLAGS="-fsplit-stack -fsanitize=address -O2 -g -pthread -fuse-ld=gold"

pass=0 fail=0 skip=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
unsup() { skip=$((skip + 1)); echo "UNSUPPORTED $1"; }

printf 'int main(void) { return 0; }\n' > "$T/probe.c"
# shellcheck disable=SC2086
if ! gcc $FLAGS "$T/probe.c" -o "$T/probe" > "$T/probe.log" 2>&1 || ! "$T/probe" >> "$T/probe.log" 2>&1; then
    for t in $TESTS $TESTS real_error; do unsup "asan $t: gcc -fsanitize=address does not work here: $(head -1 "$T/probe.log")"; done
    echo "asan: $pass passed, $fail failed, $skip skipped"
    exit 0
fi

directive() { head -n 15 "$1" | sed -n "s|^// *$2:[[:space:]]*||p" | tr '\n' ' ' | sed 's/ *$//'; }
source_of() { if [ -f "$C/$1.c" ]; then echo "$C/$1.c"; else echo "$C/$1.cc"; fi; }

# run NAME RUNTIME: builds and runs one program; prints "ok", or why not.
run_one() {
    local name=$1 rt=$2 src cc libs ul rc
    src=$(source_of "$name")
    case $src in *.cc) cc=g++ ;; *) cc=gcc ;; esac
    case $rt in
    static) libs="$B/libsplitstack.a -ldl -lm -lrt" ;;
    shared) libs="-L$B -lsplitstack -Wl,-rpath,$B -Wl,-z,now" ;;
    libgcc) libs="" ;;
    esac
    # shellcheck disable=SC2046,SC2086
    if ! $cc $FLAGS $(directive "$src" CFLAGS) -I"$C" -o "$T/$name.$rt" "$src" $libs \
        $(directive "$src" LIBS) > "$T/$name.$rt.build" 2>&1; then
        echo "build failed: $(grep -m1 error "$T/$name.$rt.build")"
        return
    fi
    ul=$(directive "$src" ULIMIT_S)
    (
        cd "$T" || exit 97
        if [ -n "$ul" ]; then ulimit -s "$ul" || exit 98; fi
        exec env SS_THROWS=10 timeout -k 5 "$TIMEOUT" "./$name.$rt"
    ) > "$T/$name.$rt.out" 2>&1 < /dev/null
    rc=$?
    if grep -q "ERROR: AddressSanitizer" "$T/$name.$rt.out"; then
        echo "$(grep -m1 -o "ERROR: AddressSanitizer: [a-z-]*" "$T/$name.$rt.out"), exit status $rc"
    elif [ $rc -ne 0 ]; then
        echo "exit status $rc: $(grep -v '^==\|^False positive\|^For details' "$T/$name.$rt.out" | tail -1 | cut -c1-200)"
    else
        echo ok
    fi
}

for rt in static shared; do
    echo "== ASan, this runtime, $rt library"
    for name in $TESTS; do
        r=$(run_one "$name" "$rt")
        if [ "$r" = ok ]; then
            ok "asan $name [$rt]: no report, exit 0"
        else
            bad "asan $name [$rt]: $r"
            grep -A12 "ERROR: AddressSanitizer" "$T/$name.$rt.out" | head -14 | sed 's/^/    /'
        fi
    done
done

echo "== ASan still reports a real overflow on a segment (tests/asan/real_error.c)"
# shellcheck disable=SC2086
if gcc $FLAGS tests/asan/real_error.c "$B/libsplitstack.a" -o "$T/real_error" > "$T/real_error.build" 2>&1; then
    "$T/real_error" > "$T/real_error.out" 2>&1
    rc=$?
    if [ $rc -ne 0 ] && grep -q "ERROR: AddressSanitizer: stack-buffer-overflow" "$T/real_error.out"; then
        ok "asan reports a stack-buffer-overflow on a segment (exit status $rc)"
    else
        bad "asan did not report the overflow (exit status $rc)"
        head -20 "$T/real_error.out" | sed 's/^/    /'
    fi
else
    bad "asan real_error: build failed"
    sed 's/^/    /' "$T/real_error.build" | tail -10
fi

echo "== for reference: libgcc's runtime, same programs (not counted)"
for name in $TESTS; do
    echo "REFERENCE libgcc $name: $(run_one "$name" libgcc)"
done

echo "asan: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
