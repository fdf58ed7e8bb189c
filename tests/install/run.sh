#!/bin/bash
# tests/install/run.sh - `make install` and `make uninstall` as a user runs
# them (README, Installing), checked from the outside:
#   - a staged install (DESTDIR, PREFIX=/usr/local): exactly the expected
#     files, the real name, the soname symlink, SONAME, every exported
#     symbol with version node SPLITSTACK_0.1 and nothing else exported
#     (exports.txt == the header's declarations + its documented internal
#     symbols), the linker script and the .pc files naming PREFIX paths
#     (never DESTDIR), the header's version macros and the man pages'
#     version == Cargo.toml's, the man pages render with no warning; then
#     uninstall leaves no file and keeps a file it did not install;
#   - an install into a temporary PREFIX: a split-stack C program built
#     with nothing but `pkg-config --cflags --libs splitstack` (shared) and
#     `pkg-config --static --cflags --libs splitstack-static` (archive),
#     run under a 1 MiB stack limit, the shared one loading the installed
#     library; a gccgo program against the static library the same way;
#     uninstall leaves nothing;
#   - install-aarch64 (when the cross tools are installed): the cross
#     libraries in PREFIX/lib/aarch64-linux-gnu, a program built with their
#     .pc files run under qemu-aarch64;
#   - a missing cargo, cross tool or cbindgen stops make with what to
#     install.
# Prints PASS/FAIL/UNSUPPORTED lines and last
#   install: N passed, N failed, N skipped
# Exit status 1 when something failed.
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/splitstack-install.XXXXXX")
trap 'rm -rf "$W"' EXIT
pass=0 fail=0 skip=0
ok()    { pass=$((pass + 1)); echo "PASS $1"; }
bad()   { fail=$((fail + 1)); echo "FAIL $1"; }
unsup() { skip=$((skip + 1)); echo "UNSUPPORTED $1"; }
# check NAME CMD...: passes when CMD exits 0; its output is shown on failure.
check() {
    name=$1; shift
    if "$@" > "$W/log" 2>&1; then ok "$name"; else bad "$name"; sed 's/^/    /' "$W/log" | tail -20; fi
}
mk() { make -s --no-print-directory -C "$ROOT" "$@"; }

VERSION=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n 1)
MAJOR=${VERSION%%.*}
REAL=libsplitstack.so.$VERSION
SONAME=libsplitstack.so.$MAJOR
NODE=SPLITSTACK_0.1
command -v pkg-config > /dev/null || { bad "pkg-config is not installed (apt-get install pkgconf)"; echo "install: $pass passed, $fail failed, $skip skipped"; exit 1; }

# Functions the header declares, and the names the man pages must cover.
# (header_functions: the library's; header_inline: the header's own
# static inline ones, documented but not exported.)
header_functions() {
    grep -v '^static inline' include/splitstack.h | sed -n 's/^[a-z][a-zA-Z0-9_ *]*[ *]\([_a-z][_a-z0-9]*\)(.*/\1/p' \
        | grep -v '^splitstack_resetcontext_symbol_$' | sort -u
}
header_inline() { sed -n 's/^static inline [a-zA-Z_ *]*[ *]\([_a-z][_a-z0-9]*\)(.*/\1/p' include/splitstack.h | sort -u; }
# The installed files, relative to PREFIX, that `make install` must put.
expected_files() {
    printf '%s\n' lib/libsplitstack.a "lib/$REAL" "lib/$SONAME" lib/libsplitstack.so lib/libsplitstack_stubs.o \
        lib/pkgconfig/splitstack.pc lib/pkgconfig/splitstack-static.pc include/splitstack.h share/man/man7/splitstack.7
    { header_functions; header_inline; } | sed 's|.*|share/man/man3/&.3|'
}
installed_files() { (cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort); }

# ------------------------------------------------------------------ staged
S=$W/stage
P=/usr/local
echo "== make install DESTDIR=<tmp> (PREFIX=$P)"
check "make install DESTDIR=... PREFIX=$P" mk install DESTDIR="$S" PREFIX="$P"
L=$S$P/lib
files_exact() { diff -u <(expected_files | sort) <(installed_files "$S$P") && [ "$(installed_files "$S")" = "$(installed_files "$S$P" | sed "s|^|${P#/}/|")" ]; }
check "installed files: exactly the expected list, all under DESTDIR/PREFIX" files_exact
names() {
    [ -f "$L/$REAL" ] && [ ! -L "$L/$REAL" ] || { echo "$REAL is not a regular file"; return 1; }
    [ "$(readlink "$L/$SONAME")" = "$REAL" ] || { echo "$SONAME -> $(readlink "$L/$SONAME"), not $REAL"; return 1; }
    so=$(readelf -d "$L/$REAL" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [ "$so" = "$SONAME" ] || { echo "SONAME is '$so', not $SONAME"; return 1; }
    readelf -d "$L/$REAL" | grep -q 'BIND_NOW' || { echo "not linked with -z now"; return 1; }
}
check "real name $REAL, symlink $SONAME, SONAME $SONAME" names
# The defined global dynamic symbols, with their versions; not the
# symbols naming the version nodes themselves (ABS, unversioned).
dynsyms() { readelf -W --dyn-syms "$1" | awk '$5 == "GLOBAL" && $7 != "UND" && $8 != "" && !($7 == "ABS" && $8 !~ /@/) {print $8}'; }
versions() {
    n=0
    for s in $(dynsyms "$L/$REAL"); do
        case $s in *@@$NODE) n=$((n + 1)) ;; *) echo "not in $NODE: $s"; return 1 ;; esac
    done
    [ "$n" -gt 0 ] && readelf -V "$L/$REAL" | grep -q "Name: $NODE"
}
check "every exported symbol has version $NODE (readelf --dyn-syms)" versions
export_list() {
    diff -u <(sort -u exports.txt) <(dynsyms "$L/$REAL" | sed 's/@.*//' | sort -u) || return 1
    # exports.txt is the header's functions plus the internal symbols its
    # opening comment names (libgcc's helpers as __morestack_*).
    internal=$(sed -n '/Internal:/,/\*\//p' include/splitstack.h)
    for s in $(sort -u exports.txt); do
        header_functions | grep -qx "$s" && continue
        case $s in __morestack_*) continue ;; esac
        echo "$internal" | grep -q -- "$s" || { echo "$s: exported, neither declared nor documented as internal in splitstack.h"; return 1; }
    done
    for f in $(header_functions); do
        grep -qx "$f" exports.txt || { echo "$f: declared in splitstack.h, not exported"; return 1; }
    done
}
check "exported symbols == exports.txt == the header's declarations + its documented internal symbols" export_list
prefix_paths() {
    grep -q "INPUT ( $P/lib/$SONAME $P/lib/libsplitstack_stubs.o )" "$L/libsplitstack.so" || { cat "$L/libsplitstack.so"; return 1; }
    grep -qx "prefix=$P" "$L/pkgconfig/splitstack.pc" && grep -qx "prefix=$P" "$L/pkgconfig/splitstack-static.pc" || return 1
    if grep -rl -- "$S" "$S"; then echo "DESTDIR named in the files above"; return 1; fi
}
check "linker script and .pc files name PREFIX paths, never DESTDIR" prefix_paths
macros() {
    v=$(printf '#include <splitstack.h>\nSPLITSTACK_VERSION_MAJOR.SPLITSTACK_VERSION_MINOR.SPLITSTACK_VERSION_PATCH SPLITSTACK_VERSION_STRING\n' \
        | gcc -E -P -I"$S$P/include" - | tail -n 1)
    [ "$v" = "$(echo "$VERSION" | sed 's/\./ . /g') \"$VERSION\"" ] || [ "$v" = "$VERSION \"$VERSION\"" ] \
        || { echo "header macros: '$v', Cargo.toml: $VERSION"; return 1; }
    pv=$(PKG_CONFIG_LIBDIR=$L/pkgconfig pkg-config --modversion splitstack) && [ "$pv" = "$VERSION" ] || { echo "pkg-config --modversion: $pv"; return 1; }
    for m in "$S$P"/share/man/man[37]/*; do
        grep -q '^\.so ' "$m" && continue
        head -n 1 "$m" | grep -q "\"splitstack $VERSION\"" || { echo "$m: $(head -n 1 "$m")"; return 1; }
    done
}
check "version $VERSION: header macros, pkg-config --modversion, man pages (Cargo.toml)" macros
man_render() (
    cd "$S$P/share/man" || exit 1
    for m in man[37]/*; do
        out=$(groff -s -man -Tutf8 -ww -z "$m" 2>&1)
        [ -z "$out" ] || { echo "$m: $out"; return 1; }
        [ "$(groff -s -man -Tutf8 "$m" 2> /dev/null | wc -l)" -gt 10 ] || { echo "$m: renders empty"; return 1; }
        if grep -q '^\.so ' "$m"; then [ -f "$(sed -n 's/^\.so //p' "$m")" ] || { echo "$m: link to nothing"; return 1; }; fi
    done
)
if command -v groff > /dev/null; then
    check "man pages (every header function in section 3, splitstack(7)) render without warnings (groff -ww)" man_render
else
    unsup "man pages render: groff is not installed (apt-get install groff-base)"
fi
echo keep > "$L/not-ours.txt"
check "make uninstall DESTDIR=..." mk uninstall DESTDIR="$S" PREFIX="$P"
left() { left=$(find "$S" \( -type f -o -type l \) ! -path "$L/not-ours.txt"); [ -z "$left" ] || { echo "left: $left"; return 1; }; [ -f "$L/not-ours.txt" ]; }
check "uninstall removed every installed file, and only those" left

# ------------------------------------------------------------ build & run
Q=$W/prefix
echo "== make install PREFIX=<tmp>: programs built with only the pkg-config flags"
check "make install PREFIX=<tmp>" mk install PREFIX="$Q"
export PKG_CONFIG_PATH=$Q/lib/pkgconfig
for form in shared static; do
    if [ $form = shared ]; then flags=$(pkg-config --cflags --libs splitstack); else flags=$(pkg-config --static --cflags --libs splitstack-static); fi
    echo "    [$form] gcc -fsplit-stack prog.c $flags"
    # shellcheck disable=SC2086
    if ! gcc -fsplit-stack tests/install/prog.c $flags -o "$W/prog_$form" > "$W/build.log" 2>&1; then
        bad "build a split-stack program with only pkg-config's flags [$form]"; sed 's/^/    /' "$W/build.log"; continue
    fi
    run_prog() { out=$(ulimit -s 1024 && env -u LD_LIBRARY_PATH "$W/prog_$form") || { echo "$out"; return 1; }; echo "$out"; echo "$out" | grep -qx "version $VERSION $VERSION" ; }
    check "split-stack program built with only pkg-config's flags runs (17 MiB recursion under ulimit -s 1024) [$form]" run_prog
    if [ $form = shared ]; then
        uses() {
            ldd "$W/prog_shared" | grep -q "$SONAME => $Q/lib/$SONAME" || { ldd "$W/prog_shared"; return 1; }
            readelf -V "$W/prog_shared" | grep -q "Name: $NODE" || { echo "no reference to $NODE"; return 1; }
            ! readelf -d "$W/prog_shared" | grep -q "$ROOT"
        }
        check "the shared program loads the installed $SONAME (ldd) and binds version $NODE" uses
    else
        check "the static program needs no libsplitstack.so" sh -c "! readelf -d '$W/prog_static' | grep -q libsplitstack"
    fi
done
if command -v gccgo > /dev/null; then
    go_static() {
        # shellcheck disable=SC2046
        gccgo -static-libgo tests/gccgo/goroutines.go $(pkg-config --static --libs splitstack-static) -Wl,-Map,"$W/go.map" -o "$W/go" || return 1
        if grep -E "libgcc\.a\((morestack|generic-morestack|generic-morestack-thread)\.o\)" "$W/go.map"; then
            echo "libgcc's split-stack runtime was linked in"; return 1
        fi
        grep -q "$Q/lib/libsplitstack.a" "$W/go.map" || { echo "the installed archive is not in the link map"; return 1; }
        "$W/go"
    }
    check "gccgo -static-libgo goroutines.go \$(pkg-config --static --libs splitstack-static) runs" go_static
else
    unsup "gccgo program against the installed static library: gccgo is not installed (apt-get install gccgo)"
fi
unset PKG_CONFIG_PATH
check "make uninstall PREFIX=<tmp>" mk uninstall PREFIX="$Q"
check "nothing left in PREFIX after uninstall" sh -c "[ -z \"\$(find '$Q' -type f -o -type l)\" ] || { find '$Q' -type f -o -type l; exit 1; }"

# ----------------------------------------------------------------- aarch64
echo "== make install-aarch64"
A=aarch64-linux-gnu
if command -v $A-gcc > /dev/null && command -v qemu-aarch64 > /dev/null && [ -d /usr/$A/lib ]; then
    S=$W/stage64
    if mk install-aarch64 DESTDIR="$S" PREFIX=/usr > "$W/a64.log" 2>&1; then
        ok "make install-aarch64 DESTDIR=... PREFIX=/usr"
        L=$S/usr/lib/$A
        a64_files() {
            diff -u <(printf '%s\n' libsplitstack.a "$REAL" "$SONAME" libsplitstack.so libsplitstack_stubs.o \
                pkgconfig/splitstack.pc pkgconfig/splitstack-static.pc | sort) <(installed_files "$L") || return 1
            [ "$(installed_files "$S" | grep -vc "^usr/lib/$A/")" = 0 ] || return 1
            readelf -h "$L/$REAL" | grep -q AArch64 || return 1
            grep -q "INPUT ( /usr/lib/$A/$SONAME /usr/lib/$A/libsplitstack_stubs.o )" "$L/libsplitstack.so" || return 1
            diff -u <(grep -vx __morestack_large_model exports.txt | sort -u) <(dynsyms "$L/$REAL" | sed 's/@.*//' | sort -u) || return 1
            [ -z "$(dynsyms "$L/$REAL" | grep -v "@@$NODE\$")" ]
        }
        check "aarch64: files in PREFIX/lib/$A, soname, exports with $NODE" a64_files
        a64_run() {
            sed "s|^prefix=/usr\$|prefix=$S/usr|" "$L/pkgconfig/splitstack-static.pc" > "$W/splitstack-static.pc"
            # shellcheck disable=SC2046
            $A-gcc -static -I"$ROOT/include" tests/install/api.c $(PKG_CONFIG_LIBDIR=$W pkg-config --static --libs splitstack-static) -o "$W/api64" || return 1
            out=$(qemu-aarch64 "$W/api64") && [ "$out" = "ok $VERSION" ]
        }
        check "aarch64: a program built with splitstack-static.pc's flags runs under qemu-aarch64" a64_run
        check "make uninstall-aarch64 leaves nothing" sh -c "make -s --no-print-directory -C '$ROOT' uninstall-aarch64 DESTDIR='$S' PREFIX=/usr && [ -z \"\$(find '$S' -type f -o -type l)\" ]"
    else
        bad "make install-aarch64"; sed 's/^/    /' "$W/a64.log" | tail -20
    fi
else
    unsup "install-aarch64: the cross tools are not installed ($A-gcc, qemu-aarch64, libc6-dev-arm64-cross)"
fi

# ------------------------------------------------------------ missing tools
echo "== a missing tool stops make with what to install"
check "no cargo: 'splitstack: ... not found: install Rust with rustup'" \
    sh -c "out=\$(make -s --no-print-directory -C '$ROOT' -B CARGO=splitstack-no-cargo target/release/libsplitstack.a 2>&1); echo \"\$out\"; echo \"\$out\" | grep -q '^splitstack: splitstack-no-cargo not found: install Rust with rustup (https://rustup.rs)'"
check "no cross compiler: 'splitstack: ... not found: the aarch64 cross tools'" \
    sh -c "out=\$(make -s --no-print-directory -C '$ROOT' -B A64_CROSS=splitstack-none- target/aarch64/aarch64-unknown-linux-gnu/release/libsplitstack.a 2>&1); echo \"\$out\"; echo \"\$out\" | grep -q '^splitstack: splitstack-none-gcc not found: the aarch64 cross tools'"

no_cbindgen() {
    mkdir -p "$W/bin" && for t in sh sed head cat; do ln -sf "$(command -v $t)" "$W/bin/$t"; done
    out=$(PATH=$W/bin "$(command -v make)" -s --no-print-directory -C "$ROOT" header 2>&1) && { echo "make header succeeded"; return 1; }
    echo "$out"
    echo "$out" | grep -q '^splitstack: cbindgen not found: apt-get install cbindgen'
}
check "no cbindgen: make header says 'splitstack: cbindgen not found: apt-get install cbindgen'" no_cbindgen

echo "install: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
