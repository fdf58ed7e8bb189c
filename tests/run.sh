#!/bin/bash
# Every test of the project (`make test` runs this after building the
# libraries).  Each check prints PASS/FAIL/UNSUPPORTED lines; the C suites
# print their own per-test lines and a summary that is added in.  The last
# line is the total: "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
B=$ROOT/build
T=$B/tests
mkdir -p "$T"
pass=0 fail=0 skip=0

ok()   { pass=$((pass + 1)); echo "PASS $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; }
unsup() { skip=$((skip + 1)); echo "UNSUPPORTED $1"; }

# run NAME CMD...: one check, passes when CMD exits 0; output kept in a log.
run() {
    name=$1; shift
    log=$T/$(echo "$name" | tr ' /' '__').log
    if "$@" > "$log" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/    /' "$log" | tail -25; fi
}

# add_suite SUMMARY-LINE: adds "name: N passed, N failed, N skipped".
add_suite() {
    line=$1
    p=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) passed.*/\1/p')
    f=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p')
    s=$(echo "$line" | sed -n 's/.* \([0-9][0-9]*\) skipped.*/\1/p')
    if [ -z "$p" ] || [ -z "$f" ]; then bad "suite summary missing: $line"; return; fi
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + ${s:-0}))
}

echo "== header: include/splitstack.h matches the Rust sources"
if command -v cbindgen > /dev/null; then
    sh tools/gen-header.sh "$T/splitstack.h" > "$T/cbindgen.log" 2>&1
    run "header is up to date (make header)" diff -u include/splitstack.h "$T/splitstack.h"
else
    bad "header check: cbindgen is not installed (apt-get install cbindgen)"
fi

echo "== lint gates: rustfmt and clippy"
run "rustfmt: the Rust sources are formatted (cargo fmt --check)" cargo fmt --check
run "clippy: no warning, unsafe blocks documented (cargo clippy --all-targets -- -D warnings)" \
    cargo clippy --release --all-targets --quiet -- -D warnings

echo "== the header as clients include it: C and C++, gcc and clang, any include order (tests/header)"
B="$B" bash tests/header/run.sh > "$T/header.log" 2>&1
grep -E "^(PASS|FAIL|UNSUPPORTED)|^    " "$T/header.log"
add_suite "$(grep -E '^header: [0-9]+ passed' "$T/header.log" | tail -1)"

echo "== cargo test"
cargo test --release > "$T/cargo-test.log" 2>&1; rc=$?
grep -E "^test |test result" "$T/cargo-test.log"
if [ $rc -eq 0 ]; then
    add_suite "cargo: $(sed -n 's/^test result: ok\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 passed, \2 failed, \3 skipped/p' "$T/cargo-test.log" | head -1)"
else
    bad "cargo test"; tail -30 "$T/cargo-test.log"
fi

echo "== exported symbols: every libgcc runtime symbol is defined"
check_exports() {
    lib=$1
    for s in $(cat exports.txt); do
        readelf -sW --dyn-syms "$lib" 2>/dev/null | awk -v s="$s" '{n = $8; sub(/@.*/, "", n)} n == s && $7 != "UND" {f=1} END {exit !f}' \
            || { echo "missing: $s in $lib"; return 1; }
    done
}
run "static library defines every exported symbol" check_exports "$B/libsplitstack.a"
run "shared library exports every exported symbol" check_exports "$B/libsplitstack.so.0"
only_exports() {
    extra=$(readelf -sW --dyn-syms "$B/libsplitstack.so.0" | awk '$5 == "GLOBAL" && $7 != "UND" && $8 != "" && !($7 == "ABS" && $8 !~ /@/) {print $8}' | sed 's/@.*//' | sort -u | grep -vxF -f exports.txt)
    [ -z "$extra" ] || { echo "unexpected exports: $extra"; return 1; }
}
run "shared library exports nothing else" only_exports

echo "== make install/uninstall, pkg-config, versioned symbols, man pages (tests/install)"
bash tests/install/run.sh > "$T/install.log" 2>&1
grep -E "^(PASS|FAIL|UNSUPPORTED)|^    " "$T/install.log"
add_suite "$(grep -E '^install: [0-9]+ passed' "$T/install.log" | tail -1)"

echo "== stack bounds of the entry points (README: Limits)"
gcc -O2 -g -Iinclude -c tests/system/stack_bound.c -o "$T/stack_bound.o" && gcc -O2 -fsplit-stack -c tests/system/bound_split.c -o "$T/bound_split.o"
for mode in static shared; do
    if [ $mode = static ]; then L="$B/libsplitstack.a"; else L="-L$B -lsplitstack -Wl,-rpath,$B -Wl,-z,now"; fi
    gcc -fsplit-stack -pthread "$T/stack_bound.o" "$T/bound_split.o" $L -o "$T/stack_bound_$mode" \
        && run "stack bound of every entry point [$mode]" "$T/stack_bound_$mode"
    cat "$T/stack_bound_$mode.log" 2>/dev/null | grep -E "^(ok|FAIL) " | sed 's/^/    /'
done

echo "== gold leaves callers of the API unrewritten"
run "gold: split-stack caller of __splitstack_getcontext not moved to __morestack_non_split" sh tests/system/gold-note.sh "$B" "$T/gold"

echo "== hot path: no system call, no libc call per __morestack round trip"
gcc -O2 -shared -fPIC tests/system/count_libc.c -o "$T/count_libc.so" -ldl
# Without address randomisation: where the kernel puts the first chunk
# decides whether the runtime's segment map needs one leaf or two (a
# chunk across a 1 GiB boundary), one mmap more in about 2% of runs.
# syscalls OUT PROG ARG [ARG2]: system calls PROG made (strace -c's calls
# column, summed: its total line has no errors column when no call failed).
calls_in() { awk '$NF != "total" && $NF != "syscall" && $4 ~ /^[0-9]+$/ {s += $4} END {print s + 0}' "$1"; }
syscalls() { setarch "$(uname -m)" -R strace -f -c -o "$1" "$2" "$3" ${4:-} > /dev/null && calls_in "$1"; }
for mode in static shared; do
    if [ $mode = static ]; then L="$B/libsplitstack.a"; else L="-L$B -lsplitstack -Wl,-rpath,$B -Wl,-z,now"; fi
    gcc -O2 -fsplit-stack tests/system/hot_path.c $L -o "$T/hot_$mode" || { bad "build hot_path [$mode]"; continue; }
    if command -v strace > /dev/null; then
        a=$(syscalls "$T/st1" "$T/hot_$mode" 1000); b=$(syscalls "$T/st2" "$T/hot_$mode" 200000)
        if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "no system call per round trip [$mode] ($a calls for 1000 and for 200000 round trips)"
        else bad "system calls grow with round trips [$mode]: $a for 1000, $b for 200000"; fi
        m=$(strace -f -c -o "$T/st3" "$T/hot_$mode" 1000 block > /dev/null; awk '/rt_sigprocmask/ {print $4}' "$T/st3")
        if [ "${m:-0}" -ge 4000 ]; then ok "blocking on request: $m rt_sigprocmask for 1000 round trips [$mode]"
        else bad "__splitstack_block_signals(1) did not block [$mode]: ${m:-0} rt_sigprocmask"; fi
    else
        bad "strace is not installed (apt-get install strace)"
    fi
    run "no malloc/free/mem* on the __morestack path [$mode]" env LD_PRELOAD="$T/count_libc.so" "$T/hot_$mode" 20000
done

echo "== fast paths: instructions per call and per warm split (callgrind), against libgcc's runtime"
# per_op EXE WHAT: callgrind's instruction totals at 100000 and 200000
# operations, their difference per operation (start-up and exit cancel).
per_op() {
    t1=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" "$2" 100000 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    t2=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" "$2" 200000 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
    [ -n "$t1" ] && [ -n "$t2" ] && awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.2f", (b - a) / 100000}'
}
if command -v valgrind > /dev/null; then
    gcc -O2 -fsplit-stack tests/system/fast_path.c -o "$T/fast_libgcc" &&
        gcc -O2 -fsplit-stack tests/system/fast_path.c "$B/libsplitstack.a" -o "$T/fast_ours" || bad "build fast_path"
    cl=$(per_op "$T/fast_libgcc" call); co=$(per_op "$T/fast_ours" call)
    if [ -n "$cl" ] && [ "$cl" = "$co" ]; then ok "a call that does not split costs what it costs with libgcc: $co instructions, loop included"
    else bad "a call that does not split: ${co:-?} instructions with ours, ${cl:-?} with libgcc"; fi
    sl=$(per_op "$T/fast_libgcc" split); so=$(per_op "$T/fast_ours" split)
    if [ -n "$sl" ] && [ -n "$so" ] && awk -v o="$so" -v l="$sl" 'BEGIN {exit !(o < l)}'; then
        ok "a warm split round trip, interrupt handler set: $so instructions, loop included (libgcc: $sl)"
    else bad "a warm split round trip: ${so:-?} instructions with ours, ${sl:-?} with libgcc"; fi
else
    bad "valgrind is not installed (apt-get install valgrind)"
fi

echo "== fully static programs and threads"
static_threads() {
    ld=$1
    # No extra flags: the library's strong reference to
    # __real_pthread_create (pthread_create under --wrap) pulls it out of
    # libc.a.
    gcc -O2 -fuse-ld=$ld -static -fsplit-stack -pthread tests/system/static_threads.c "$B/libsplitstack.a" \
        -o "$T/static_threads_$ld" || return 1
    "$T/static_threads_$ld" || return 1
    # And a plain link (no -fsplit-stack, so no --wrap) of a program that
    # only uses the API still links: nowrap.S supplies the reference.
    gcc -O2 -fuse-ld=$ld -static tests/system/make_release.c "$B/libsplitstack.a" -o "$T/nowrap_static_$ld" || return 1
    "$T/nowrap_static_$ld" 100
}
for ld in gold bfd lld; do
    run "-static -pthread: threads work with no extra flags; plain links without --wrap still link [$ld]" static_threads $ld
done
# Interrupts in a fully static program: there the unwinder finds frames
# through a registry under a lock (no --eh-frame-hdr), and delivery walks
# the stack, also from signal handlers that interrupted a walk.
static_interrupts() {
    gcc -O2 -static -fsplit-stack -pthread tests/c/x86_64/t_interrupt_storm.c "$B/libsplitstack.a" \
        -o "$T/static_interrupts" || return 1
    INTERRUPT_STORM=20000 "$T/static_interrupts"
}
run "-static: interrupts, 20,000 raced requests and a signal storm, none lost" static_interrupts

echo "== the main thread's segments are freed at exit"
exit_frees() {
    gcc -O2 -fsplit-stack tests/system/exit_free.c "$B/libsplitstack.a" -o "$T/exit_free" || return 1
    SPLITSTACK_STATS=1 "$T/exit_free" > "$T/exit_free.out" 2> "$T/exit_free.err" || return 1
    cat "$T/exit_free.out" "$T/exit_free.err"
    grep -q "^live before exit: [1-9]" "$T/exit_free.out" && grep -q "^splitstack: stats: segments_live 0$" "$T/exit_free.err"
}
run "segments held by the main thread at exit are freed (exit report: 0 live)" exit_frees

echo "== with libgcc's runtime in a shared library (docs/x86_64.md section 8)"
mix() {
    mode=$1
    gcc -O2 -fsplit-stack -fPIC -shared tests/system/mix/plugin.c -o "$T/libplugin.so" || return 1
    if [ "$mode" = static ]; then L="$B/libsplitstack.a -rdynamic"; else L="-L$B -lsplitstack -Wl,-rpath,$B -Wl,-z,now"; fi
    gcc -O2 -fsplit-stack tests/system/mix/main.c $L -L"$T" -lplugin -Wl,-rpath,"$T" -o "$T/mix_$mode" || return 1
    "$T/mix_$mode" 2> "$T/mix_$mode.err" || { cat "$T/mix_$mode.err"; return 1; }
    # Not a word from the runtime: every segment either runtime made was
    # recognised and freed.
    cat "$T/mix_$mode.err"
    ! grep -q "^splitstack: " "$T/mix_$mode.err"
}
for mode in static shared; do
    run "our runtime and a plugin's libgcc copy share segment chains [$mode]" mix $mode
    grep "mixed rounds" "$T/our_runtime_and_a_plugin's_libgcc_copy_share_segment_chains_[$mode].log" 2>/dev/null | sed 's/^/    /'
done

echo "== gccgo programs (tests/gccgo)"
gccgo_test() {
    mode=$1
    command -v gccgo > /dev/null || { echo "gccgo is not installed (apt-get install gccgo)"; return 1; }
    case $mode in
    static-libgo) L="-static-libgo $B/libsplitstack.a" ;;
    shared-libgo) L="$B/libsplitstack.a" ;;
    shared-lib) L="-L$B -lsplitstack -Wl,-rpath,$B -Wl,-z,now" ;;
    esac
    gccgo -O2 -fuse-ld=gold tests/gccgo/goroutines.go $L -Wl,-Map,"$T/go_$mode.map" -o "$T/go_$mode" || return 1
    if grep -E "libgcc\.a\((morestack|generic-morestack|generic-morestack-thread)\.o\)" "$T/go_$mode.map"; then
        echo "libgcc's split-stack runtime was linked in"; return 1
    fi
    "$T/go_$mode"
}
for mode in static-libgo shared-libgo shared-lib; do
    run "gccgo goroutines and channels with this runtime [$mode]" gccgo_test $mode
done

echo "== Boost.Context fibers and continuations on segmented stacks (tests/boost)"
bash tests/boost/run.sh > "$T/boost.log" 2>&1
cat "$T/boost.log"
add_suite "$(grep -E '^boost: [0-9]+ passed' "$T/boost.log" | tail -1)"

echo "== LD_PRELOAD over a split-stack plugin's own runtime (docs/x86_64.md section 8)"
preload() {
    gcc -O2 -fsplit-stack -fPIC -shared tests/system/preload/plugin.c -o "$T/libplug.so" || return 1
    gcc -O2 tests/system/preload/main.c -L"$T" -lplug -Wl,-rpath,"$T" -ldl -o "$T/preload_main" || return 1
    out=$(LD_PRELOAD="$B/libsplitstack.so.0" "$T/preload_main") || { echo "$out"; return 1; }
    echo "$out"
    n=$(echo "$out" | sed -n 's/^segments allocated by libsplitstack: \([0-9]*\)$/\1/p')
    [ -n "$n" ] && [ "$n" -ge 20 ]
}
run "LD_PRELOAD=libsplitstack.so.0 takes over a plugin's __splitstack_* API" preload

echo "== one million live contexts (dense settings)"
gcc -O2 -g -fsplit-stack tests/system/million_contexts.c "$B/libsplitstack.a" -o "$T/million_contexts" \
    && run "1,000,000 contexts: VMAs, RSS and release within bounds" "$T/million_contexts"
grep -E "contexts:|released" "$T/1,000,000_contexts:_VMAs,_RSS_and_release_within_bounds.log" 2>/dev/null | sed 's/^/    /'

echo "== default allocator: no system call per segment on the warm path"
gcc -O2 tests/system/make_release.c "$B/libsplitstack.a" -o "$T/make_release" -pthread || bad "build make_release"
if command -v strace > /dev/null; then
    a=$(syscalls "$T/st4" "$T/make_release" 1000); b=$(syscalls "$T/st5" "$T/make_release" 100000)
    if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "makecontext + releasecontext: $a system calls for 1000 and for 100000 pairs"
    else bad "makecontext + releasecontext: system calls grow: $a for 1000, $b for 100000"; fi
fi

echo "== threads: a new thread maps nothing of the runtime's (tests/system/thread_cycle.c)"
gcc -O2 -fsplit-stack tests/system/thread_cycle.c "$B/libsplitstack.a" -o "$T/thread_cycle" -pthread \
    && gcc -O2 -fsplit-stack tests/system/thread_cycle.c -o "$T/thread_cycle_libgcc" -pthread \
    || bad "build thread_cycle"
if command -v strace > /dev/null; then
    maps() { setarch "$(uname -m)" -R strace -f -e trace=mmap,munmap,mprotect -c -o "$1" "$2" "$3" > /dev/null && calls_in "$1"; }
    a=$(maps "$T/st8" "$T/thread_cycle" 20); b=$(maps "$T/st9" "$T/thread_cycle" 400)
    c=$(maps "$T/st10" "$T/thread_cycle_libgcc" 20); d=$(maps "$T/st11" "$T/thread_cycle_libgcc" 400)
    if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "thread create + split + exit: $a mmap/munmap/mprotect calls for 20 and for 400 threads (libgcc's runtime: $c and $d)"
    else bad "thread create + split + exit: mmap/munmap/mprotect calls grow: $a for 20, $b for 400 threads"; fi
fi

echo "== gold's 1 MiB non-split demand: no system call per split (tests/system/libc_recursion.c)"
gcc -O2 -fsplit-stack -fuse-ld=gold tests/system/libc_recursion.c "$B/libsplitstack.a" -o "$T/libc_recursion" \
    || bad "build libc_recursion"
if command -v strace > /dev/null; then
    a=$(syscalls "$T/st6" "$T/libc_recursion" 10); b=$(syscalls "$T/st7" "$T/libc_recursion" 300)
    if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "libc-calling recursion: $a system calls for 10 and for 300 descents"
    else bad "libc-calling recursion: system calls grow: $a for 10, $b for 300 descents"; fi
fi

echo "== idle coroutines: one page each, nothing resident once released (tests/system/density.c)"
# Limits: 4.3 KiB of RSS and 2.2 KiB of page tables per context (README
# "Memory"); after release at most the cache mark (1 MiB here) and a
# thread's cache (8 MiB) and 2 MiB more.  libgcc's figures for the same
# programs are printed beside them.
gcc -O2 -fsplit-stack -fuse-ld=gold tests/system/density.c "$B/libsplitstack.a" -o "$T/density" -pthread \
    && gcc -O2 -fsplit-stack -fuse-ld=gold tests/system/density.c -o "$T/density_libgcc" \
    || bad "build density"
for shape in direct ptr; do
    run "idle contexts, $shape swapcontext: RSS, page tables, release" \
        env SPLITSTACK_CACHE_MAX=1M "$T/density" $shape 20000 4096 4403 2253 11264
    grep -h "contexts of" "$T/idle_contexts,_${shape}_swapcontext:_RSS,_page_tables,_release.log" 2>/dev/null | sed 's/^/    ours:   /'
    "$T/density_libgcc" $shape 20000 4096 | sed 's/^/    libgcc: /'
done
run "idle contexts, small settings (SPLITSTACK_MIN_SEGMENT=512 SPLITSTACK_RESERVE=1024, 2688 bytes): RSS" \
    env SPLITSTACK_CACHE_MAX=1M SPLITSTACK_MIN_SEGMENT=512 SPLITSTACK_RESERVE=1024 "$T/density" ptr 20000 2688 2969 2253 11264

# One million contexts with guard pages (README "Guard pages"): at most
# 8.3 KB of RSS each (two pages: no packing under guards) and 500
# mappings added in all; after release the limit above plus the pool's
# index of a million free blocks (8 bytes each: 8 MiB).  libgcc's
# SPLIT_STACK_GUARD=1 beside it (an mprotect'd page per segment, each a
# mapping: it stops near 32,700 contexts, so 20,000).
if env SPLITSTACK_GUARD=1 SPLITSTACK_CACHE_MAX=1M "$T/density" ptr 1000000 4096 8300 2253 19456 > "$T/guarded.log" 2>&1; then
    maps=$(sed -n 's/.*, \([0-9]*\) mappings added.*/\1/p' "$T/guarded.log" | head -n 1)
    if [ -n "$maps" ] && [ "$maps" -le 500 ]; then
        ok "one million guarded idle contexts (SPLITSTACK_GUARD=1): RSS, page tables, release, $maps mappings added (at most 500)"
    else
        bad "one million guarded idle contexts: ${maps:-?} mappings added (at most 500)"
    fi
else
    bad "one million guarded idle contexts (SPLITSTACK_GUARD=1)"; tail -5 "$T/guarded.log" | sed 's/^/    /'
fi
grep -h "contexts of" "$T/guarded.log" | sed 's/^/    ours:   /'
env SPLIT_STACK_GUARD=1 "$T/density_libgcc" ptr 20000 4096 2>&1 | grep "contexts of" | sed 's/^/    libgcc (SPLIT_STACK_GUARD=1, 20000): /'

echo "== C test suite (tests/c/run-suite.sh)"
for rt in static shared; do
    RUNTIME=$rt LIBDIR=$B bash tests/c/run-suite.sh > "$T/c-suite-$rt.log" 2>&1
    cat "$T/c-suite-$rt.log"
    add_suite "$(grep -E '^c-suite: [0-9]+ passed' "$T/c-suite-$rt.log" | tail -1)"
done

echo "== C test suite built with clang -fsplit-stack (COMPILER=clang; libgcc's runtime as the reference)"
# Result lines say "[clang <runtime>/<linker>]".  What clang cannot compile
# (GCC nested functions, split-stack variadic functions) is UNSUPPORTED
# with the reason, and only when clang really refuses it.
if command -v clang > /dev/null && command -v clang++ > /dev/null; then
    for rt in static shared libgcc; do
        COMPILER=clang RUNTIME=$rt LIBDIR=$B bash tests/c/run-suite.sh > "$T/c-suite-clang-$rt.log" 2>&1
        cat "$T/c-suite-clang-$rt.log"
        add_suite "$(grep -E '^c-suite \(clang\): [0-9]+ passed' "$T/c-suite-clang-$rt.log" | tail -1)"
    done
else
    bad "C suite with clang: clang/clang++ are not installed (apt-get install clang)"
fi

echo "== GCC's split-stack run tests (tests/gcc-suite/run.sh)"
for rt in static shared; do
    RUNTIME=$rt LIBDIR=$B bash tests/gcc-suite/run.sh > "$T/gcc-suite-$rt.log" 2>&1
    cat "$T/gcc-suite-$rt.log" | grep -E "^(PASS|FAIL|UNSUPPORTED|gcc-suite)" 
    add_suite "$(grep -E '^gcc-suite: [0-9]+ passed' "$T/gcc-suite-$rt.log" | tail -1)"
done

echo "== gccgo's own execution tests, ours against libgcc's runtime (tests/gccgo/suite.sh)"
# Prints only FAIL/UNSUPPORTED lines and counts; every PASS line is in
# build/gccgo-suite/results.log.
bash tests/gccgo/suite.sh > "$T/gccgo-suite.log" 2>&1
cat "$T/gccgo-suite.log"
add_suite "$(grep -E '^gccgo-suite: [0-9]+ passed' "$T/gccgo-suite.log" | tail -1)"

echo "== aarch64 under qemu-aarch64, 4/16/64 KiB pages (tests/c/aarch64/run.sh)"
# Runs whenever the cross tools are installed (.ci/run installs them);
# otherwise one UNSUPPORTED line says which is missing (a skip, never a pass).
sh tests/c/aarch64/run.sh > "$T/aarch64.log" 2>&1
cat "$T/aarch64.log"
add_suite "$(grep -E '^aarch64: [0-9]+ passed' "$T/aarch64.log" | tail -1)"

echo "== valgrind memcheck on split-stack programs (tests/valgrind/run.sh)"
# Needs valgrind (.ci/run installs it); without it every check is
# UNSUPPORTED (a skip, never a pass).
bash tests/valgrind/run.sh "$B" > "$T/valgrind.log" 2>&1
grep -E "^(PASS|FAIL|UNSUPPORTED|REFERENCE|NOTE)|^    " "$T/valgrind.log"
add_suite "$(grep -E '^valgrind: [0-9]+ passed' "$T/valgrind.log" | tail -1)"

echo "== AddressSanitizer on split-stack programs (tests/asan/run.sh)"
bash tests/asan/run.sh "$B" > "$T/asan.log" 2>&1
grep -E "^(PASS|FAIL|UNSUPPORTED|REFERENCE)|^    " "$T/asan.log"
add_suite "$(grep -E '^asan: [0-9]+ passed' "$T/asan.log" | tail -1)"

echo "== benchmark programs build and run (bench/smoke.sh; make bench measures)"
sh bench/smoke.sh > "$T/bench-smoke.log" 2>&1
grep -E "^(PASS|FAIL|UNSUPPORTED)" "$T/bench-smoke.log"
add_suite "$(grep -E '^bench-smoke: [0-9]+ passed' "$T/bench-smoke.log" | tail -1)"

echo "== demo and examples"
run "demo builds and runs on a 256 KiB stack limit" make -s demo
run "examples: preempt.c, coroutines preempted by a watchdog's interrupts, all make progress" make -s examples

echo
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
