#!/bin/bash
# Boost.Context (ucontext back end, segmented_stack) as a client of the
# runtime: see README.md in this directory.
#
# Every program is built with libgcc's runtime (the reference) and with
# ours, static and shared, with gold and with bfd; ours must print exactly
# what the reference prints and exit with the same status, and the link
# map must show that none of libgcc's split-stack objects was linked in.
#
# Output: PASS/FAIL/UNSUPPORTED lines, then exactly one line
# "boost: N passed, N failed, N skipped".  Logs: build/tests/boost/.
#
#   LIBDIR=<repo>/build   where libsplitstack.{a,so} are
#   TIMEOUT=120           seconds per run (a safety net)
#   JOBS=2                parallel compilations
#   ONLY="pingpong ..."   run only these programs
#   LINKERS="gold bfd"    the linkers
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
B=${LIBDIR:-$repo/build}
O=$repo/build/tests/boost
TIMEOUT=${TIMEOUT:-120}
JOBS=${JOBS:-2}
CXX=${CXX:-g++}
mkdir -p "$O"
pass=0 fail=0 skip=0
ok()    { pass=$((pass + 1)); echo "PASS $1"; }
bad()   { fail=$((fail + 1)); echo "FAIL $1"; }
unsup() { skip=$((skip + 1)); echo "UNSUPPORTED $1"; }
summary() { echo "boost: $pass passed, $fail failed, $skip skipped"; [ $fail -eq 0 ]; exit $?; }

# name | objects | extra link flags | arguments | runs of each of ours
# (migrate's thread interleavings differ from run to run: a pool race
# that crashed 1.5% of its runs was found only by CI; 8 runs take about
# 3 seconds)
PROGRAMS="
deep_recursion|deep_recursion deep_recursion_cont records_fiber records_continuation|||1
many_fibers|many_fibers records_fiber|||1
pingpong|pingpong pingpong_cont records_fiber records_continuation|||1
exceptions|exceptions records_fiber|||1
forced_unwind|forced_unwind forced_unwind_cont records_fiber records_continuation|||1
migrate|migrate records_fiber|-pthread -static-libstdc++||8
migrate-shared-libstdc++|migrate records_fiber|-pthread|no-wrapper|8
"
LINKERS=${LINKERS:-"gold bfd"}

# ---- prerequisites -------------------------------------------------------
if [ ! -f /usr/include/boost/context/fiber_ucontext.hpp ] || [ ! -f /usr/include/boost/context/continuation_ucontext.hpp ]; then
    echo "$PROGRAMS" | while IFS='|' read -r name _; do
        [ -n "$name" ] && echo "UNSUPPORTED boost: $name: Boost.Context headers not installed (apt-get install libboost-context-dev)"
    done
    n=$(echo "$PROGRAMS" | grep -c '|')
    echo "boost: 0 passed, 0 failed, $n skipped"
    exit 0
fi
for f in "$B/libsplitstack.a" "$B/libsplitstack.so"; do
    [ -f "$f" ] || { bad "boost: $f not found (make lib)"; summary; }
done

# ---- compile every source once (the objects are the same for every link)
CXXFLAGS="-O2 -g -std=c++17 -pthread -fsplit-stack -DBOOST_USE_UCONTEXT -DBOOST_USE_SEGMENTED_STACKS -I$repo/include"
srcs=$(cd "$here" && ls *.cpp | sed 's/\.cpp$//')
compile() { nice $CXX $CXXFLAGS -c "$here/$1.cpp" -o "$O/$1.o" > "$O/$1.compile.log" 2>&1 || { cat "$O/$1.compile.log"; return 1; }; }
export -f compile
export CXX CXXFLAGS here O
if ! echo "$srcs" | xargs -P "$JOBS" -I{} bash -c 'compile {}'; then
    bad "boost: compiling the programs"
    summary
fi

# link PROG OUT RUNTIME LINKER OBJS EXTRA: one program, with a link map.
link() {
    local out=$1 rt=$2 ld=$3 objs=$4 extra=$5 lib
    case $rt in
    libgcc) lib="" ;;
    static) lib="$B/libsplitstack.a" ;;
    shared) lib="-L$B -lsplitstack -Wl,-rpath,$B -Wl,-z,now" ;;
    esac
    local o="" x
    for x in $objs; do o="$o $O/$x.o"; done
    nice $CXX -fsplit-stack -fuse-ld="$ld" $o $extra $lib -Wl,-Map,"$out.map" -o "$out" > "$out.link.log" 2>&1
}

# What the link map says about libgcc's split-stack runtime.
LIBGCC_OBJS='libgcc\.a\((morestack|generic-morestack|generic-morestack-thread)\.o\)'
has_libgcc_runtime() { grep -Eq "$LIBGCC_OBJS" "$1"; }

# run OUT ARGS: stdout to OUT.out, stderr to OUT.err, status to OUT.rc.
# (In a subshell whose stderr is dropped: the shell's own "Segmentation
# fault" notice for an expected crash would otherwise reach our output.)
run() {
    local out=$1; shift
    ( timeout "$TIMEOUT" "$out" "$@" > "$out.out" 2> "$out.err"; echo $? > "$out.rc" ) 2> /dev/null
}

show() { sed 's/^/    /' "$@" | tail -20; }

echo "$PROGRAMS" | grep '|' > "$O/programs"
if [ -n "${ONLY:-}" ]; then
    for p in $ONLY; do grep "^$p|" "$O/programs"; done > "$O/programs.only"
    mv "$O/programs.only" "$O/programs"
fi
while IFS='|' read -r name objs extra args runs; do
    for ld in $LINKERS; do
        ref=$O/$name.libgcc.$ld
        if ! link "$ref" libgcc "$ld" "$objs" "$extra"; then
            bad "boost: $name [libgcc reference, $ld]: link failed"; show "$ref.link.log"; continue
        fi
        run "$ref" $args
        if [ "$(cat "$ref.rc")" != 0 ]; then
            # The reference must pass: a program that fails with libgcc's
            # runtime proves nothing about ours.
            bad "boost: $name [libgcc reference, $ld]: exit status $(cat "$ref.rc")"; show "$ref.out" "$ref.err"; continue
        fi
        if ! has_libgcc_runtime "$ref.map"; then
            bad "boost: $name [libgcc reference, $ld]: the link map does not show libgcc's morestack.o (the map check below would prove nothing)"
            continue
        fi
        for rt in static shared; do
            bin=$O/$name.$rt.$ld
            what="boost: $name [ours $rt, $ld]"
            if ! link "$bin" "$rt" "$ld" "$objs" "$extra"; then
                bad "$what: link failed"; show "$bin.link.log"; continue
            fi
            if has_libgcc_runtime "$bin.map"; then
                bad "$what: libgcc's split-stack runtime was linked in:"; grep -E "$LIBGCC_OBJS" "$bin.map" | sed 's/^/    /' | head -5; continue
            fi
            if ! grep -Eq 'libsplitstack\.a\(|libsplitstack_stubs\.o' "$bin.map"; then
                bad "$what: the link map does not show libsplitstack"; continue
            fi
            i=0 why=""
            while [ $i -lt "${runs:-1}" ] && [ -z "$why" ]; do
                i=$((i + 1))
                run "$bin" $args
                if [ "$(cat "$bin.rc")" != "$(cat "$ref.rc")" ]; then
                    why="exit status $(cat "$bin.rc"), libgcc's build $(cat "$ref.rc")"
                elif ! cmp -s "$ref.out" "$bin.out"; then
                    why="output differs from libgcc's build"
                fi
            done
            if [ -n "$why" ]; then
                bad "$what: run $i of ${runs:-1}: $why:"
                case $why in output*) diff "$ref.out" "$bin.out" | show ;; *) show "$bin.out" "$bin.err" ;; esac
                continue
            fi
            ok "$what: same output as libgcc's runtime ($(wc -l < "$bin.out") lines, exit $(cat "$bin.rc"); $i run(s))"
        done
        # Informational: memory of the 100,000 fibers, both runtimes (stderr).
        if [ "$name" = many_fibers ]; then
            for x in libgcc static shared; do
                grep -h "info: RSS" "$O/$name.$x.$ld.err" 2>/dev/null | sed "s/^/    [$x, $ld] /"
            done
        fi
    done
done < "$O/programs"

# migrate's own-stack recursion must catch a thread the wrapper did not
# set up: with the shared libstdc++ (std::thread calls pthread_create from
# inside libstdc++.so, past --wrap) and without "no-wrapper" the workers'
# 12 MiB recursion overflows their 8 MiB stacks.
for rt in libgcc static; do
    bin=$O/migrate-shared-libstdc++.$rt.gold
    if grep -q '^migrate-shared-libstdc++|' "$O/programs" && [ -x "$bin" ] && echo " $LINKERS " | grep -q " gold "; then
        run "$bin"
        rc=$(cat "$bin.rc")
        if [ "$rc" -ge 128 ] && [ "$rc" != 124 ] && ! grep -q "migrate: ok" "$bin.out"; then
            ok "boost: migrate's own-stack check fails on threads the wrapper did not set up [$rt, gold] (killed by signal $((rc - 128)))"
        else
            bad "boost: migrate's own-stack check passed on threads the wrapper did not set up [$rt, gold] (exit $rc)"
        fi
    fi
done

summary
