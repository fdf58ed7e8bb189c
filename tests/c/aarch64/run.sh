#!/bin/sh
# The aarch64 suite: cross-builds build/aarch64/libsplitstack.{a,so}
# (make lib-aarch64), then runs under qemu-aarch64 with 4, 16 and 64 KiB
# pages:
#   - the Rust unit tests (cargo test, cross-built with Debian's rustc);
#   - every t_*.c / t_*.cc program here, linked with the hand-written
#     split-stack fixtures (fixtures.S) three ways: static (-static, the
#     .a), dynamic (glibc shared, the .a: __morestack bound locally) and
#     shared (-lsplitstack: libsplitstack.so.0 plus the program's own
#     __morestack stub);
#   - checks on the objects (BTI landing pads, the GNU property note,
#     exports, local binding of __morestack), no system call per round
#     trip (qemu -strace), and that every mmap/munmap/mprotect of a run is
#     page-aligned.
# Prints PASS/FAIL/UNSUPPORTED lines and, last, "aarch64: N passed, N
# failed, N skipped".  Without the cross tools it prints one UNSUPPORTED
# line naming what is missing (never a pass).
#
# Environment: A64_PAGES (default "4096 16384 65536"), A64_MODES (default
# "static dynamic shared"), A64_ONLY (run only the programs whose name
# contains it), A64_TIMEOUT (seconds per run, default 240).
set -u
cd "$(dirname "$0")/../../.."
ROOT=$(pwd)
B=$ROOT/build/aarch64
T=$B/tests
PAGES=${A64_PAGES:-4096 16384 65536}
MODES=${A64_MODES:-static dynamic shared}
TIMEOUT=${A64_TIMEOUT:-240}
CROSS=${A64_CROSS:-aarch64-linux-gnu-}
RUSTC_A64=${A64_RUSTC:-/usr/bin/rustc}
pass=0 fail=0 skip=0

ok()    { pass=$((pass + 1)); echo "PASS $1"; }
bad()   { fail=$((fail + 1)); echo "FAIL $1"; }
unsup() { skip=$((skip + 1)); echo "UNSUPPORTED $1"; }
summary() { echo "aarch64: $pass passed, $fail failed, $skip skipped"; }

# What must be installed (all from Debian 12; .ci/run installs them).
INSTALL="dpkg --add-architecture arm64 && apt-get update && apt-get install rustc-web libstd-rust-web-dev:arm64 gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user libc6-dev-arm64-cross"
missing=""
for tool in ${CROSS}gcc ${CROSS}g++ ${CROSS}ld ${CROSS}objcopy ${CROSS}ar ${CROSS}objdump ${CROSS}readelf qemu-aarch64 cargo; do
    command -v "$tool" > /dev/null 2>&1 || { missing="$tool"; break; }
done
if [ -z "$missing" ] && [ ! -x "$RUSTC_A64" ]; then missing="$RUSTC_A64 (rustc-web)"; fi
if [ -z "$missing" ] && [ ! -d "$($RUSTC_A64 --print sysroot 2>/dev/null)/lib/rustlib/aarch64-unknown-linux-gnu/lib" ]; then
    missing="the aarch64 Rust standard library (libstd-rust-web-dev:arm64)"
fi
if [ -z "$missing" ] && [ ! -e /lib/ld-linux-aarch64.so.1 ]; then
    missing="/lib/ld-linux-aarch64.so.1 (libc6:arm64, pulled in by libstd-rust-web-dev:arm64)"
fi
if [ -n "$missing" ]; then
    unsup "aarch64 suite: $missing is not installed (install: $INSTALL)"
    summary
    exit 0
fi

mkdir -p "$T"

# run NAME CMD...: passes when CMD exits 0; output kept in a log.
logname() { printf '%s' "$1" | tr -c 'A-Za-z0-9_.-' '_'; }
run() {
    run_name=$1; shift
    run_log=$T/$(logname "$run_name").log
    if "$@" > "$run_log" 2>&1; then ok "$run_name"; else bad "$run_name"; sed 's/^/    /' "$run_log" | tail -25; fi
}

echo "== aarch64: build (make lib-aarch64)"
if ! make -s lib-aarch64 > "$T/build.log" 2>&1; then
    bad "aarch64 libraries build (make lib-aarch64)"; tail -30 "$T/build.log"
    summary
    exit 1
fi
ok "aarch64 libraries build (make lib-aarch64)"

if [ -z "${A64_ONLY:-}" ]; then
echo "== aarch64: Rust unit tests under qemu"
A64_CARGO_ENV="RUSTC=$RUSTC_A64 CARGO_TARGET_DIR=$ROOT/target/aarch64 CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=${CROSS}gcc"
if env $A64_CARGO_ENV cargo test --release --target aarch64-unknown-linux-gnu --no-run > "$T/cargo-build.log" 2>&1; then
    for p in $PAGES; do
        run "Rust unit tests [page $p]" env $A64_CARGO_ENV RUST_BACKTRACE=0 \
            CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -p $p" \
            cargo test --release --target aarch64-unknown-linux-gnu -q
        grep -E "^test result" "$T/$(logname "Rust unit tests [page $p]").log" | sed 's/^/    /'
    done
else
    bad "Rust unit tests build (cargo test --target aarch64-unknown-linux-gnu)"; tail -30 "$T/cargo-build.log"
fi

echo "== aarch64: objects"
# Every global function of the assembly starts with `bti c`; the landing
# pad of __morestack with `bti j`.
bti_pads() {
    ${CROSS}objdump -d "$B/splitstack.o" > "$T/lib.dis" || return 1
    for f in __morestack __morestack_non_split __stack_split_initialize __morestack_get_guard \
             __morestack_set_guard __morestack_allocate_stack_space; do
        first=$(awk -v f="<$f>:" '$2 == f {getline; print $3, $4; exit}' "$T/lib.dis")
        [ "$first" = "bti c" ] || { echo "$f starts with '$first', not 'bti c'"; return 1; }
    done
    grep -q "bti	j" "$T/lib.dis" || { echo "no 'bti j' landing pad"; return 1; }
}
run "BTI: every asm entry point starts with bti c, the landing pad with bti j" bti_pads
# Assembled for branch protection, the object says it is BTI-compatible.
bti_note() {
    ${CROSS}gcc -mbranch-protection=standard -c -I asm/aarch64 asm/aarch64/morestack.S -o "$T/morestack-bti.o" &&
        ${CROSS}readelf -n "$T/morestack-bti.o" | grep -q "AArch64 feature: BTI"
}
run "BTI: -mbranch-protection=standard marks morestack.o with the GNU property" bti_note
# __morestack must bind locally in the static library (it is never
# reached through a lazily bound PLT entry).
local_bind() {
    ${CROSS}readelf -rW "$B/splitstack.o" | grep -E "R_AARCH64_(CALL26|JUMP26) +[0-9a-f]+ +__morestack " && return 1
    return 0
}
run "__morestack is not called through a relocation inside the library (bound locally)" local_bind
# The exported symbols: all of them (exports.txt less the x86_64-only
# __morestack_large_model) and nothing else.
exports_ok() {
    for lib in "$B/libsplitstack.a" "$B/libsplitstack.so.0"; do
        ${CROSS}readelf -sW --dyn-syms "$lib" > "$T/syms.txt" 2>/dev/null
        for s in $(cat "$B/exports.txt"); do
            awk -v s="$s" '{n = $8; sub(/@.*/, "", n)} n == s && $7 != "UND" {f = 1} END {exit !f}' "$T/syms.txt" \
                || { echo "missing: $s in $lib"; return 1; }
        done
    done
    extra=$(${CROSS}readelf -sW --dyn-syms "$B/libsplitstack.so.0" | awk '$5 == "GLOBAL" && $7 != "UND" && $8 != "" && !($7 == "ABS" && $8 !~ /@/) {print $8}' \
        | sed 's/@.*//' | sort -u | grep -vxF -f "$B/exports.txt")
    [ -z "$extra" ] || { echo "unexpected exports: $extra"; return 1; }
}
run "every exported symbol is defined in the .a and the .so, and nothing else is exported" exports_ok
fi

echo "== aarch64: programs under qemu (pages: $PAGES; modes: $MODES)"
CFLAGS="-O2 -g -Wall -Wno-unused-function -Iinclude -Itests/c/aarch64 -Iasm/aarch64"
if ! ${CROSS}gcc $CFLAGS -c tests/c/aarch64/fixtures.S -o "$T/fixtures.o" > "$T/fixtures.log" 2>&1; then
    bad "assemble tests/c/aarch64/fixtures.S"; cat "$T/fixtures.log"
    summary
    exit 1
fi

for src in tests/c/aarch64/t_*.c tests/c/aarch64/t_*.cc; do
    [ -e "$src" ] || continue
    base=$(basename "$src"); name=${base%.*}
    case "$name" in *${A64_ONLY:-}*) ;; *) continue ;; esac
    case "$src" in *.cc) cc=${CROSS}g++ ;; *) cc=${CROSS}gcc ;; esac
    if ! $cc $CFLAGS -c "$src" -o "$T/$name.o" > "$T/$name.compile.log" 2>&1; then
        bad "$name: compile"; cat "$T/$name.compile.log"; continue
    fi
    for mode in $MODES; do
        exe=$T/$name-$mode
        case $mode in
            # No -u pthread_create: the wrapper's own archive member
            # pulls it out of libc.a (asm/aarch64/thread_stub.S).
            static)  link="-static $B/libsplitstack.a" ;;
            dynamic) link="$B/libsplitstack.a" ;;
            shared)  link="-L$B -lsplitstack -Wl,-rpath,$B -Wl,-z,now" ;;
        esac
        if ! $cc -pthread "$T/$name.o" "$T/fixtures.o" $link -Wl,--wrap=pthread_create -o "$exe" \
                > "$T/$name-$mode.link.log" 2>&1; then
            bad "$name [$mode]: link"; cat "$T/$name-$mode.link.log"; continue
        fi
        for p in $PAGES; do
            run "$name [$mode, page $p]" timeout "$TIMEOUT" qemu-aarch64 -p "$p" "$exe"
        done
    done
done

# The same programs, static, with guard pages on (SPLITSTACK_GUARD=1).
echo "== aarch64: programs with guard pages on (static; pages: $PAGES)"
for src in tests/c/aarch64/t_*.c tests/c/aarch64/t_*.cc; do
    [ -e "$src" ] || continue
    base=$(basename "$src"); name=${base%.*}
    case "$name" in *${A64_ONLY:-}*) ;; *) continue ;; esac
    exe=$T/$name-static
    [ -x "$exe" ] || continue
    for p in $PAGES; do
        run "$name [static, guards, page $p]" env SPLITSTACK_GUARD=1 timeout "$TIMEOUT" qemu-aarch64 -p "$p" "$exe"
    done
done

# A program linked with the shared library reaches __morestack through
# its own hidden stub (GOT, bound at load), never through a PLT entry.
if [ -e "$T/t_frames-shared" ]; then
    echo "== aarch64: shared mode binds __morestack in the program"
    stub_bound() {
        ${CROSS}readelf -rW "$T/t_frames-shared" | grep -E "JUMP_SLOT +[0-9a-f]+ +__morestack(_non_split)? " && return 1
        ${CROSS}readelf -rW "$T/t_frames-shared" | grep -q "GLOB_DAT.*__splitstack_morestack_impl" || return 1
        ${CROSS}readelf -sW "$T/t_frames-shared" | awk '$8 == "__morestack" && $5 == "LOCAL" && $7 != "UND" {f = 1} END {exit !f}'
    }
    run "shared: __morestack is a local stub, the library entry comes from the GOT (no PLT)" stub_bound
fi

# No system call per __morestack round trip (qemu -strace logs each one),
# unless blocking was asked for.
if [ -z "${A64_ONLY:-}" ]; then
    echo "== aarch64: hot path"
    if ${CROSS}gcc $CFLAGS -static tests/c/aarch64/hot_path.c "$T/fixtures.o" "$B/libsplitstack.a" -o "$T/hot_path" \
            > "$T/hot_path.log" 2>&1; then
        calls() { qemu-aarch64 -strace "$T/hot_path" "$@" 2>&1 > /dev/null | grep -cE '^[0-9]+ [a-z_0-9]+\('; }
        a=$(calls 1000); b=$(calls 20000)
        if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "no system call per round trip ($a calls for 1000 and for 20000 round trips)"
        else bad "system calls grow with round trips: $a for 1000, $b for 20000"; fi
        m=$(qemu-aarch64 -strace "$T/hot_path" 1000 block 2>&1 > /dev/null | grep -c '^[0-9]* rt_sigprocmask(')
        if [ "${m:-0}" -ge 4000 ]; then ok "blocking on request: $m rt_sigprocmask for 1000 round trips"
        else bad "__splitstack_block_signals(1) did not block: ${m:-0} rt_sigprocmask for 1000 round trips"; fi
    else
        bad "build hot_path"; cat "$T/hot_path.log"
    fi
fi

# Every mmap, munmap and mprotect of a run that maps thousands of
# segments is page-aligned (address, and length for the runtime's
# mappings), at every page size.
if [ -e "$T/t_recursion-static" ]; then
    echo "== aarch64: system calls are page-aligned"
    page_aligned() {
        p=$1
        qemu-aarch64 -p "$p" -strace "$T/t_recursion-static" > "$T/strace-$p.out" 2> "$T/strace-$p.err" || return 1
        awk -v p="$p" '
            function num(s,   i, v) {
                if (s !~ /^0x/) return s + 0
                s = tolower(substr(s, 3)); v = 0
                for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
                return v
            }
            /^[0-9]+ (mmap|munmap|mprotect)\(/ {
                n++
                line = $0
                sub(/^[0-9]+ /, "", line)
                call = line; sub(/\(.*/, "", call)
                args = line; sub(/^[a-z]+\(/, "", args); sub(/\).*/, "", args)
                split(args, a, ",")
                ret = line; sub(/.*= /, "", ret)
                if (call == "mmap") {
                    addr = ret; len = num(a[2])
                    if (args ~ /MAP_NORESERVE/ && len % p) { print "unaligned length: " $0; bad = 1 }
                } else { addr = a[1]; len = num(a[2]) }
                if (ret ~ /^-/) { print "failed: " $0; bad = 1 }
                if (addr ~ /^0x/ && num(addr) % p) { print "unaligned address: " $0; bad = 1 }
                if (call != "mmap" && len % p) { print "unaligned length: " $0; bad = 1 }
            }
            END { printf "%d mmap/munmap/mprotect calls checked\n", n; if (n == 0) exit 1; exit bad }
        ' "$T/strace-$p.err"
    }
    for p in $PAGES; do
        run "every mmap/munmap/mprotect is page-aligned [page $p]" page_aligned "$p"
        sed -n 's/^\(.*calls checked\)$/    \1/p' "$T/$(logname "every mmap/munmap/mprotect is page-aligned [page $p]").log"
    done
fi

summary
[ $fail -eq 0 ]
