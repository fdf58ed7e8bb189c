#!/bin/sh
# Builds every benchmark program three times from the same objects:
#   build/bench/libgcc/   plain `gcc -fsplit-stack`: libgcc's runtime
#   build/bench/ours/     + build/libsplitstack.a (static)
#   build/bench/ours-so/  + -lsplitstack (shared, -z now; a copy of the
#                         library in build/bench/lib)
# all linked with gold.  Usage: sh bench/build.sh  (after `make lib`).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SRC=$ROOT/bench
OUT=$ROOT/build/bench
CC=${CC:-gcc}
CFLAGS="-O2 -g -Wall -Wextra -Wno-unused-function"
PROGS="bench_hot bench_ctx bench_recursion bench_memory bench_threads bench_interrupt"

for lib in "$ROOT/build/libsplitstack.a" "$ROOT/build/libsplitstack.so"; do
    [ -f "$lib" ] || { echo "bench/build.sh: $lib is missing: run 'make lib' first" >&2; exit 1; }
done
mkdir -p "$OUT/obj" "$OUT/libgcc" "$OUT/ours" "$OUT/ours-so"
O=$OUT/obj

# Workload: split-stack (except the floor).  Drivers and the switch: not.
$CC $CFLAGS -fsplit-stack -c "$SRC/work.c" -o "$O/work.o"
$CC $CFLAGS -fsplit-stack -DHOT_NAME=hot_split -c "$SRC/hot.c" -o "$O/hot_split.o"
$CC $CFLAGS -DHOT_NAME=hot_floor -c "$SRC/hot.c" -o "$O/hot_floor.o"
# Functions 64-byte aligned: the same place relative to cache lines in
# every binary (its loops are a few nanoseconds per call, where a loop
# straddling a line shows).
$CC $CFLAGS -fsplit-stack -falign-functions=64 -c "$SRC/interrupt_work.c" -o "$O/interrupt_work.o"
$CC -c "$SRC/switch.S" -o "$O/switch.o"
for p in $PROGS; do
    $CC $CFLAGS -c "$SRC/$p.c" -o "$O/$p.o"
done

WORK="$O/work.o $O/hot_split.o $O/hot_floor.o $O/switch.o"
# The objects only one program links (the others stay as they were).
work_of() {
    case $1 in
    bench_interrupt) echo "$O/interrupt_work.o" ;;
    esac
}
LINK="$CC -fsplit-stack -pthread"
# The shared variant loads a copy of the library taken now, so that a
# rebuild of build/libsplitstack.so during a run cannot change it under the
# programs (the static variants are fixed at link time too).
# libsplitstack.so may be a GNU ld script naming other files (INPUT(...)):
# those are copied too, and so is every libsplitstack.so.* (sonames).
rm -rf "$OUT/lib"
mkdir -p "$OUT/lib"
cp "$ROOT/build/libsplitstack.so" "$OUT/lib/"
for f in "$ROOT"/build/libsplitstack.so.*; do
    [ -e "$f" ] && cp "$f" "$OUT/lib/"
done
if ! head -c 4 "$ROOT/build/libsplitstack.so" | grep -q ELF; then
    for f in $(tr '\n' ' ' < "$ROOT/build/libsplitstack.so" | sed -n 's/.*INPUT *( *\([^)]*\)).*/\1/p'); do
        [ -e "$ROOT/build/$f" ] && cp "$ROOT/build/$f" "$OUT/lib/"
    done
fi
SO="-L$OUT/lib -lsplitstack -Wl,-rpath,$OUT/lib -Wl,-z,now"
# Which linker made each variant (the runner puts it in the report).
echo gold > "$OUT/libgcc/LINKER"
echo gold > "$OUT/ours/LINKER"
echo gold > "$OUT/ours-so/LINKER"
for p in $PROGS; do
    W="$WORK $(work_of $p)"
    # shellcheck disable=SC2086
    $LINK -fuse-ld=gold "$O/$p.o" $W -o "$OUT/libgcc/$p"
    # shellcheck disable=SC2086
    $LINK -fuse-ld=gold "$O/$p.o" $W "$ROOT/build/libsplitstack.a" -o "$OUT/ours/$p"
    # gold (binutils 2.40) stops with "internal error in relocate" on any
    # split-stack object linked against a shared library that defines
    # __morestack; then the shared variant is linked with ld.bfd.  No
    # prologue here would be rewritten by gold anyway (see common.h).
    # shellcheck disable=SC2086
    if ! $LINK -fuse-ld=gold "$O/$p.o" $W $SO -o "$OUT/ours-so/$p" 2> "$OUT/ours-so/$p.gold.log"; then
        # shellcheck disable=SC2086
        $LINK -fuse-ld=bfd "$O/$p.o" $W $SO -o "$OUT/ours-so/$p"
        echo "bfd (gold failed: $(grep -m1 -o 'internal error.*\|error.*' "$OUT/ours-so/$p.gold.log"))" \
            > "$OUT/ours-so/LINKER"
    fi
done
# The density and libc-recursion programs of tests/system (compiled
# whole with -fsplit-stack: gold is meant to rewrite their callers of
# non-split code), and the makecontext + releasecontext loop of
# tests/system/make_release.c (for the callgrind count).
for p in density libc_recursion; do
    $CC $CFLAGS -fsplit-stack -c "$ROOT/tests/system/$p.c" -o "$O/$p.o"
    $LINK -fuse-ld=gold "$O/$p.o" -o "$OUT/libgcc/$p"
    $LINK -fuse-ld=gold "$O/$p.o" "$ROOT/build/libsplitstack.a" -o "$OUT/ours/$p"
    # shellcheck disable=SC2086
    $LINK -fuse-ld=bfd "$O/$p.o" $SO -o "$OUT/ours-so/$p"
done
$CC $CFLAGS -I"$ROOT/include" -c "$ROOT/tests/system/make_release.c" -o "$O/make_release.o"
$LINK -fuse-ld=gold "$O/make_release.o" -o "$OUT/libgcc/make_release"
$LINK -fuse-ld=gold "$O/make_release.o" "$ROOT/build/libsplitstack.a" -o "$OUT/ours/make_release"
# shellcheck disable=SC2086
$LINK -fuse-ld=bfd "$O/make_release.o" $SO -o "$OUT/ours-so/make_release"
# How many workload functions gold moved onto __morestack_non_split (it
# does so when it takes __morestack for non-split code: then every split
# prologue demands 1 MiB more).  0 is what a fair comparison needs.
for v in libgcc ours ours-so; do
    objdump -d --no-show-raw-insn "$OUT/$v/bench_ctx" "$OUT/$v/bench_hot" "$OUT/$v/bench_interrupt" | awk '
        /^[0-9a-f]+ <.*>:$/ { fn = $2 }
        /call.*<__morestack_non_split/ && fn ~ /^<(hot_split|deep_recurse|small_recurse|thread_recurse|intr_tick|intr_calls|intr_spin)>:$/ { n[fn] = 1 }
        END { c = 0; for (f in n) c++; print c }' > "$OUT/$v/REWRITTEN"
done
echo "bench/build.sh: built $PROGS in $OUT/{libgcc,ours,ours-so}"
