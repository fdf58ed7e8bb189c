#!/usr/bin/env bash
# Build and run the split-stack C/C++ tests (tests/c/x86_64/t_*.c, tests/c/x86_64/t_*.cc)
# against one runtime, with each requested linker.
#
#   COMPILER=gcc|clang             (default gcc)
#       gcc:   $CC/$CXX (default gcc/g++)
#       clang: $CLANG/$CLANGXX (default clang/clang++); results are tagged
#              "[clang <runtime>/<linker>]", files go to build/tests/c/clang-*,
#              the summary line is "c-suite (clang): ..."
#   RUNTIME=libgcc|static|shared   (default libgcc)
#       libgcc: no extra library, gcc's own split-stack runtime is used
#       static: $LIBDIR/libsplitstack.a placed after the sources
#       shared: -L$LIBDIR -lsplitstack -Wl,-rpath,$LIBDIR -Wl,-z,now
#   LINKERS="gold bfd lld"         (default: all three)
#   LIBDIR=<repo>/build            where libsplitstack.{a,so} live
#   TESTS="t_foo t_bar"            run only these tests
#   TIMEOUT=60                     seconds per test run (a safety net; a
#                                  test's `// TIMEOUT: <s>` overrides it)
#   JOBS=<nproc>                   parallel compilations (tests run one by one)
#   STATIC_EXTRA_LIBS="-ldl -lm -lrt"  appended after libsplitstack.a
#
# Directives, read from the first 15 lines of a test source (see README.md):
#   // CFLAGS: ...          extra compile flags
#   // LIBS: ...            extra link flags
#   // ULIMIT_S: <KiB>      run under that `ulimit -s`
#   // REQUIRES: ours       UNSUPPORTED under RUNTIME=libgcc
#   // EXPECT_SIGNAL: ABRT  the program must die of that signal
#   // EXPECT_STDERR: <ERE> stderr must match
#   // XFAIL: <words>       known failure for these runtimes/linkers/compilers
#                           (libgcc static shared ours gold bfd lld gcc clang): the test
#                           still runs; a failure is reported as UNSUPPORTED
#                           with its reason, a pass as PASS with a note
#   // NOSPLIT_PART         the source is compiled a second time with
#                           -DNOSPLIT_PART and without -fsplit-stack, and
#                           that object is linked in too
#   // CLANG: unsupported <reason>
#   // CLANG_ERROR: <ERE>   clang cannot compile this test: under
#                           COMPILER=clang it is still built, and it is
#                           UNSUPPORTED (with the reason) only if the build
#                           fails with an error matching the ERE; if clang
#                           builds it, it FAILs (stale directive)
#   // LINK_ERROR: <compiler>/<linker> <ERE>
#                           with that compiler and linker the link must be
#                           refused with a message matching the ERE (PASS
#                           when it is; FAIL when it links)
#
# Output: one PASS/FAIL/UNSUPPORTED line per test and linker, then exactly
# one line "c-suite: N passed, N failed, N skipped".  Exit 0 iff none failed.

set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
srcdir=$here/x86_64

RUNTIME=${RUNTIME:-libgcc}
LINKERS=${LINKERS:-"gold bfd lld"}
LIBDIR=${LIBDIR:-$repo/build}
TIMEOUT=${TIMEOUT:-60}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
STATIC_EXTRA_LIBS=${STATIC_EXTRA_LIBS:-"-ldl -lm -lrt"}
COMPILER=${COMPILER:-gcc}
case $COMPILER in
gcc)
    CC=${CC:-gcc}
    CXX=${CXX:-g++}
    cc_tag="" cc_dir="" summary="c-suite"
    ;;
clang)
    CC=${CLANG:-clang}
    CXX=${CLANGXX:-clang++}
    cc_tag="clang " cc_dir="clang-" summary="c-suite (clang)"
    ;;
*)
    echo "run-suite.sh: COMPILER must be gcc or clang (got '$COMPILER')" >&2
    exit 2
    ;;
esac

case $RUNTIME in
libgcc | static | shared) ;;
*)
    echo "run-suite.sh: RUNTIME must be libgcc, static or shared (got '$RUNTIME')" >&2
    exit 2
    ;;
esac

passed=0 failed=0 skipped=0

# Indent a block of output under a result line.
indent() { sed 's/^/    /'; }

# Last lines of a test's stdout and stderr, for failure reports.
show_output() {
    local base=$1
    if [[ -s $base.stdout ]]; then
        echo "    --- stdout (last lines) ---"
        tail -n 8 "$base.stdout" | cut -c1-300 | indent
    fi
    if [[ -s $base.stderr ]]; then
        echo "    --- stderr (last lines) ---"
        tail -n 8 "$base.stderr" | cut -c1-300 | indent
    fi
}

# The value of one directive (all its occurrences joined by spaces).
directive() {
    local src=$1 key=$2
    head -n 15 "$src" | sed -n "s|^// *$key:[[:space:]]*||p" | tr '\n' ' ' | sed 's/[[:space:]]*$//'
}

has_flag_directive() {
    head -n 15 "$1" | grep -Eq "^// *$2[[:space:]]*$"
}

# The reason of a "// CLANG: unsupported <reason>" directive, or nothing.
clang_unsupported() {
    directive "$1" CLANG | sed -n 's/^unsupported[[:space:]]*//p'
}

# The ERE of a "// LINK_ERROR: <compiler>/<linker> <ERE>" directive that
# applies to this compiler and linker, or nothing.
expected_link_error() {
    local src=$1 linker=$2
    head -n 15 "$src" | sed -n "s|^// *LINK_ERROR:[[:space:]]*$COMPILER/$linker[[:space:]][[:space:]]*||p" | head -n 1
}

# ---- the list of tests ------------------------------------------------------
sources=()
if [[ -n ${TESTS:-} ]]; then
    for t in $TESTS; do
        t=${t%.c}
        t=${t%.cc}
        if [[ -f $srcdir/$t.c ]]; then
            sources+=("$srcdir/$t.c")
        elif [[ -f $srcdir/$t.cc ]]; then
            sources+=("$srcdir/$t.cc")
        else
            echo "run-suite.sh: no test named $t in $srcdir" >&2
            exit 2
        fi
    done
else
    while IFS= read -r f; do sources+=("$f"); done < <(ls "$srcdir"/t_*.c "$srcdir"/t_*.cc 2>/dev/null | sort)
fi
if [[ ${#sources[@]} -eq 0 ]]; then
    echo "run-suite.sh: no tests found" >&2
    exit 2
fi

# ---- how the runtime is linked ------------------------------------------------
runtime_libs=()
runtime_missing=""
case $RUNTIME in
static)
    runtime_libs=("$LIBDIR/libsplitstack.a" $STATIC_EXTRA_LIBS)
    [[ -f $LIBDIR/libsplitstack.a ]] || runtime_missing="$LIBDIR/libsplitstack.a not found"
    ;;
shared)
    runtime_libs=("-L$LIBDIR" -lsplitstack "-Wl,-rpath,$LIBDIR" -Wl,-z,now)
    [[ -f $LIBDIR/libsplitstack.so ]] || runtime_missing="$LIBDIR/libsplitstack.so not found"
    ;;
esac

# libgcc's runtime objects; any of them in a link against our library means
# the two runtimes got mixed (or ours does not define everything).
libgcc_objects_re='libgcc\.a\((morestack|generic-morestack|generic-morestack-thread)\.o\)'

# Compile (and link) one test; the result goes to $out/$name.build.{log,rc}.
build_one() {
    local src=$1 linker=$2 out=$3
    local name base compiler cflags libs rc=0
    name=$(basename "$src")
    name=${name%.*}
    base=$out/$name
    case $src in
    *.cc) compiler=$CXX ;;
    *) compiler=$CC ;;
    esac
    cflags=$(directive "$src" CFLAGS)
    libs=$(directive "$src" LIBS)
    {
        local extra_objs=()
        if has_flag_directive "$src" NOSPLIT_PART; then
            # Same source, other half: no -fsplit-stack, so the linker sees
            # calls from split-stack code into a non-split object.
            # shellcheck disable=SC2086
            $compiler -O2 -g -pthread -DNOSPLIT_PART $cflags -I"$srcdir" \
                -c "$src" -o "$base.nosplit.o" || rc=$?
            extra_objs=("$base.nosplit.o")
        fi
        if [[ $rc -eq 0 ]]; then
            # shellcheck disable=SC2086
            $compiler -fsplit-stack -O2 -g -pthread -fuse-ld="$linker" $cflags \
                -I"$srcdir" -o "$base" "$src" "${extra_objs[@]}" \
                "${runtime_libs[@]}" $libs -Wl,-Map,"$base.map" || rc=$?
        fi
    } >"$base.build.log" 2>&1
    echo "$rc" >"$base.build.rc"
}

# Can this linker link a split-stack program at all (libgcc runtime, with a
# call into libc so that split-to-non-split handling is involved)?  Also
# checks that the map file shows libgcc's morestack.o there, so that the
# "no libgcc objects" check below is known to be able to see them.
probe_linker() {
    local linker=$1 out=$2
    cat >"$out/probe.c" <<'EOF'
#include <stdio.h>
#include <string.h>
static int depth(int n) { char b[4000]; memset(b, n, sizeof b); __asm__ volatile("" : : "r"(b) : "memory"); return n ? depth(n - 1) + (b[1] == (char)n) : 0; }
int main(void) { char s[32]; snprintf(s, sizeof s, "%d", depth(200)); return strcmp(s, "200") != 0; }
EOF
    $CC -fsplit-stack -O2 -fuse-ld="$linker" -o "$out/probe" "$out/probe.c" \
        -Wl,-Map,"$out/probe.map" >"$out/probe.log" 2>&1
}

# Run one built test and report it.
run_one() {
    local src=$1 linker=$2 out=$3
    local name base tag ulimit_s expect_signal expect_stderr xfail xfail_hit=""
    name=$(basename "$src")
    name=${name%.*}
    base=$out/$name
    tag="[$cc_tag$RUNTIME/$linker]"
    ulimit_s=$(directive "$src" ULIMIT_S)
    # A test that needs longer than TIMEOUT on a loaded machine says so.
    local timeout_s
    timeout_s=$(directive "$src" TIMEOUT)
    timeout_s=${timeout_s:-$TIMEOUT}
    expect_signal=$(directive "$src" EXPECT_SIGNAL)
    expect_stderr=$(directive "$src" EXPECT_STDERR)
    xfail=$(directive "$src" XFAIL)

    for w in $xfail; do
        if [[ $w == "$RUNTIME" || $w == "$linker" || $w == "$COMPILER" || ($w == ours && $RUNTIME != libgcc) ]]; then
            xfail_hit=$w
        fi
    done

    local reason="" result build_rc
    build_rc=$(cat "$base.build.rc" 2>/dev/null)

    # A test clang cannot compile: unsupported only if clang really fails
    # to build it with the error the test names.
    if [[ $COMPILER == clang && -n $(clang_unsupported "$src") ]]; then
        local want_error
        want_error=$(directive "$src" CLANG_ERROR)
        if [[ -z $want_error ]]; then
            echo "FAIL $name $tag (CLANG: unsupported needs a CLANG_ERROR directive naming clang's error)"
            failed=$((failed + 1))
        elif [[ $build_rc == 0 ]]; then
            echo "FAIL $name $tag (marked 'CLANG: unsupported', but clang builds it: remove the directive)"
            failed=$((failed + 1))
        elif grep -Eq -- "$want_error" "$base.build.log"; then
            echo "UNSUPPORTED $name $tag (clang cannot compile it: $(clang_unsupported "$src"); clang says: $(grep -Eo -m1 -- "$want_error" "$base.build.log"))"
            skipped=$((skipped + 1))
        else
            echo "FAIL $name $tag (build failed, and not with the expected clang error /$want_error/)"
            tail -n 15 "$base.build.log" | cut -c1-300 | indent
            failed=$((failed + 1))
        fi
        return
    fi

    # A link that must be refused (rather than produce a broken program).
    local link_error
    link_error=$(expected_link_error "$src" "$linker")
    if [[ -n $link_error ]]; then
        if [[ $build_rc == 0 ]]; then
            local lrc=0
            { (cd "$out" && exec timeout -k 5 "$TIMEOUT" "$base") >"$base.stdout" 2>"$base.stderr" </dev/null || lrc=$?; } 2>/dev/null
            local how="exit status $lrc"
            [[ $lrc -gt 128 ]] && how="killed by SIG$(kill -l $((lrc - 128)) 2>/dev/null || echo "#$((lrc - 128))")"
            echo "FAIL $name $tag (the link should have been refused with /$link_error/, but it linked; run anyway: $how)"
            show_output "$base"
            failed=$((failed + 1))
        elif grep -Eq -- "$link_error" "$base.build.log"; then
            echo "PASS $name $tag (link refused, as it must be: $(grep -E -m1 -- "$link_error" "$base.build.log" | cut -c1-200))"
            passed=$((passed + 1))
        else
            echo "FAIL $name $tag (build failed, but not with the expected link error /$link_error/)"
            tail -n 15 "$base.build.log" | cut -c1-300 | indent
            failed=$((failed + 1))
        fi
        return
    fi

    if [[ $build_rc != 0 ]]; then
        reason="build failed"
        result=FAIL
        echo "FAIL $name $tag ($reason)"
        tail -n 15 "$base.build.log" | cut -c1-300 | indent
        failed=$((failed + 1))
        return
    fi
    if [[ $RUNTIME != libgcc ]] && grep -Eq "$libgcc_objects_re" "$base.map"; then
        echo "FAIL $name $tag (libgcc split-stack objects were linked in: $(grep -Eo "$libgcc_objects_re" "$base.map" | sort -u | tr '\n' ' '))"
        failed=$((failed + 1))
        return
    fi

    # The outer redirection silences bash's own "Segmentation fault" report.
    local rc=0
    {
        (
            cd "$out" || exit 99
            if [[ -n $ulimit_s ]]; then ulimit -s "$ulimit_s" || exit 98; fi
            SS_RUNTIME=$RUNTIME SS_LINKER=$linker exec timeout -k 5 "$timeout_s" "$base"
        ) >"$base.stdout" 2>"$base.stderr" </dev/null || rc=$?
    } 2>/dev/null

    # How the program ended, in words.
    local ended
    if [[ $rc -eq 124 || $rc -eq 137 ]] && [[ -z $expect_signal || $expect_signal != KILL ]]; then
        ended="timed out after ${timeout_s}s (status $rc)"
    elif [[ $rc -gt 128 ]]; then
        ended="killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo "#$((rc - 128))")"
    else
        ended="exit status $rc"
    fi

    result=PASS
    if [[ $rc -eq 77 && -z $expect_signal ]]; then
        result=UNSUPPORTED
        reason="test says: $(grep -h . "$base.stdout" "$base.stderr" | tail -n 1 | cut -c1-200)"
    elif [[ -n $expect_signal ]]; then
        local want
        want=$(kill -l "${expect_signal#SIG}" 2>/dev/null)
        if [[ -z $want ]]; then
            result=FAIL reason="bad EXPECT_SIGNAL directive '$expect_signal'"
        elif [[ $rc -ne $((128 + want)) ]]; then
            result=FAIL reason="expected death by SIG${expect_signal#SIG}, got: $ended"
        fi
    elif [[ $rc -ne 0 ]]; then
        result=FAIL reason=$ended
    fi
    if [[ $result == PASS && -n $expect_stderr ]] && ! grep -Eq -- "$expect_stderr" "$base.stderr"; then
        result=FAIL reason="stderr does not match /$expect_stderr/ ($ended)"
    fi

    if [[ -n $xfail_hit ]]; then
        if [[ $result == FAIL ]]; then
            echo "UNSUPPORTED $name $tag (known failure with $xfail_hit, reproduced: $reason)"
            tail -n 3 "$base.stderr" | cut -c1-300 | indent
            skipped=$((skipped + 1))
            return
        elif [[ $result == PASS ]]; then
            echo "PASS $name $tag (note: marked XFAIL for $xfail_hit but passed)"
            passed=$((passed + 1))
            return
        fi
    fi

    case $result in
    PASS)
        echo "PASS $name $tag"
        passed=$((passed + 1))
        ;;
    UNSUPPORTED)
        echo "UNSUPPORTED $name $tag ($reason)"
        skipped=$((skipped + 1))
        ;;
    FAIL)
        echo "FAIL $name $tag ($reason)"
        show_output "$base"
        failed=$((failed + 1))
        ;;
    esac
}

for linker in $LINKERS; do
    out=$repo/build/tests/c/$cc_dir$RUNTIME-$linker
    # Two runs for the same runtime and linker would wipe each other's
    # files: the second one waits.
    mkdir -p "$repo/build/tests/c"
    exec {lockfd}>"$out.lock"
    if ! flock -n "$lockfd"; then
        echo "NOTE: waiting for another run using $out"
        flock "$lockfd"
    fi
    rm -rf "$out"
    mkdir -p "$out"

    unsupported_reason=""
    fail_all_reason=""
    if ! probe_linker "$linker" "$out"; then
        echo "NOTE: linker '$linker' cannot link a split-stack program here; every test is UNSUPPORTED for it. Its error:"
        head -n 10 "$out/probe.log" | cut -c1-300 | indent
        unsupported_reason="linker $linker cannot link split-stack programs (error shown above)"
    elif ! "$out/probe" >/dev/null 2>&1; then
        echo "NOTE: linker '$linker' links split-stack programs that do not run correctly (probe failed)"
        unsupported_reason="linker $linker produces a broken split-stack probe program"
    elif [[ $RUNTIME != libgcc ]] && ! grep -Eq "$libgcc_objects_re" "$out/probe.map"; then
        fail_all_reason="cannot check the link map of $linker: libgcc's morestack.o is not visible in it even when it is linked"
    fi
    if [[ -n $runtime_missing ]]; then
        fail_all_reason="runtime library missing: $runtime_missing"
    fi

    runnable=()
    for src in "${sources[@]}"; do
        name=$(basename "$src")
        name=${name%.*}
        if [[ -n $unsupported_reason ]]; then
            echo "UNSUPPORTED $name [$cc_tag$RUNTIME/$linker] ($unsupported_reason)"
            skipped=$((skipped + 1))
        elif [[ -n $fail_all_reason ]]; then
            echo "FAIL $name [$cc_tag$RUNTIME/$linker] ($fail_all_reason)"
            failed=$((failed + 1))
        elif [[ $RUNTIME == libgcc ]] && [[ $(directive "$src" REQUIRES) == *ours* ]]; then
            echo "UNSUPPORTED $name [$cc_tag$RUNTIME/$linker] (REQUIRES: ours; checks behaviour of libsplitstack only)"
            skipped=$((skipped + 1))
        else
            runnable+=("$src")
        fi
    done

    # Compile in parallel; run one at a time, since several tests measure
    # time or count signals and would be disturbed by a neighbour.
    running=0
    for src in "${runnable[@]}"; do
        build_one "$src" "$linker" "$out" &
        running=$((running + 1))
        if [[ $running -ge $JOBS ]]; then
            wait -n
            running=$((running - 1))
        fi
    done
    wait

    for src in "${runnable[@]}"; do
        run_one "$src" "$linker" "$out"
    done
    exec {lockfd}>&-
done

echo "$summary: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
