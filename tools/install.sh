#!/bin/sh
# tools/install.sh ACTION PART: what `make install`, `make uninstall`,
# `make install-aarch64` and `make uninstall-aarch64` run.
#
#   ACTION  install | uninstall | list (print the installed paths)
#   PART    common  (header, man pages)
#           x86_64 | aarch64  (libraries, stubs, linker script, .pc files
#                   of that architecture, from BUILDDIR into LIBDIR)
#
# Environment (the Makefile sets all of it): DESTDIR, PREFIX, LIBDIR,
# INCLUDEDIR, MANDIR, PKGCONFIGDIR, BUILDDIR, VERSION, SONAME, REALNAME,
# PC_RPATH (yes | no | auto: auto adds -Wl,-rpath,LIBDIR to the shared
# library's Libs unless LIBDIR is one the dynamic linker searches anyway).
#
# One list (entries below) drives both install and uninstall, so that
# uninstall removes exactly what install put, and nothing else; the
# directories are left in place.  Paths written into the installed files
# (the linker script, the .pc files) are the PREFIX ones, never DESTDIR's.
set -eu
cd "$(dirname "$0")/.."
action=$1 part=$2
: "${DESTDIR=}" "${PREFIX:?}" "${INCLUDEDIR:?}" "${MANDIR:?}" "${VERSION:?}"

# entries: one line each, "KIND SOURCE DESTINATION"; KIND is lib (0644),
# so (0755), link (SOURCE is the symlink's target), ldscript, pc (SOURCE
# the template), man (0644) or manlink (SOURCE the page it points to).
entries() {
    case $part in
    common)
        echo "lib include/splitstack.h $INCLUDEDIR/splitstack.h"
        for page in man/*.[37]; do
            echo "man $page $MANDIR/man${page##*.}/${page#man/}"
        done
        # The other names each page documents (its NAME section).
        for page in man/*.3; do
            sec=${page##*.}
            for name in $(sed -n '/^\.SH NAME/{n;p;}' "$page" | sed 's/ \\-.*//; s/\\//g; s/,/ /g'); do
                [ "$name.$sec" = "${page#man/}" ] && continue
                echo "manlink man$sec/${page#man/} $MANDIR/man$sec/$name.$sec"
            done
        done
        ;;
    x86_64 | aarch64)
        : "${LIBDIR:?}" "${PKGCONFIGDIR:?}" "${BUILDDIR:?}" "${SONAME:?}" "${REALNAME:?}"
        echo "lib $BUILDDIR/libsplitstack.a $LIBDIR/libsplitstack.a"
        echo "so $BUILDDIR/$REALNAME $LIBDIR/$REALNAME"
        echo "link $REALNAME $LIBDIR/$SONAME"
        echo "lib $BUILDDIR/libsplitstack_stubs.o $LIBDIR/libsplitstack_stubs.o"
        echo "ldscript - $LIBDIR/libsplitstack.so"
        echo "pc pkgconfig/splitstack.pc.in $PKGCONFIGDIR/splitstack.pc"
        echo "pc pkgconfig/splitstack-static.pc.in $PKGCONFIGDIR/splitstack-static.pc"
        ;;
    *) echo "install.sh: unknown part '$part'" >&2; exit 2 ;;
    esac
}

rpath() {
    case ${PC_RPATH:-auto} in
    yes) echo " -Wl,-rpath,\${libdir}" ;;
    no) ;;
    auto)
        case $LIBDIR in
        /lib | /usr/lib | /lib/*-linux-gnu | /usr/lib/*-linux-gnu | /lib64 | /usr/lib64) ;;
        *) echo " -Wl,-rpath,\${libdir}" ;;
        esac ;;
    *) echo "install.sh: PC_RPATH must be yes, no or auto" >&2; exit 2 ;;
    esac
}

# A path under PREFIX as ${prefix}/..., for the .pc files.
under_prefix() {
    case $1 in
    "$PREFIX"/*) echo "\${prefix}/${1#"$PREFIX"/}" ;;
    *) echo "$1" ;;
    esac
}

do_install() {
    kind=$1 src=$2 dest=$DESTDIR$3
    mkdir -p "$(dirname "$dest")"
    case $kind in
    lib | man) [ -f "$src" ] || { echo "install.sh: $src not found (make lib)" >&2; exit 1; }
        install -m 0644 "$src" "$dest" ;;
    so) [ -f "$src" ] || { echo "install.sh: $src not found (make lib)" >&2; exit 1; }
        install -m 0755 "$src" "$dest" ;;
    link) ln -sfn "$src" "$dest" ;;
    manlink) printf '.so %s\n' "$src" > "$dest"; chmod 0644 "$dest" ;;
    ldscript)
        printf '/* GNU ld script: the runtime, and the program'"'"'s own __morestack\n   stubs (libsplitstack_stubs.o; see splitstack(7)). */\nINPUT ( %s %s )\n' \
            "$LIBDIR/$SONAME" "$LIBDIR/libsplitstack_stubs.o" > "$dest"
        chmod 0644 "$dest" ;;
    pc)
        sed -e "s|@PREFIX@|$PREFIX|; s|@LIBDIR@|$(under_prefix "$LIBDIR")|; s|@INCLUDEDIR@|$(under_prefix "$INCLUDEDIR")|" \
            -e "s|@VERSION@|$VERSION|; s|@RPATH@|$(rpath)|" "$src" > "$dest"
        chmod 0644 "$dest" ;;
    esac
    echo "  $3"
}

entries > "${TMPDIR:-/tmp}/splitstack-install.$$"
trap 'rm -f "${TMPDIR:-/tmp}/splitstack-install.$$"' EXIT
while read -r kind src dest; do
    case $action in
    install) do_install "$kind" "$src" "$dest" ;;
    uninstall) if [ -e "$DESTDIR$dest" ] || [ -L "$DESTDIR$dest" ]; then rm -f "$DESTDIR$dest"; echo "  removed $dest"; fi ;;
    list) echo "$dest" ;;
    *) echo "install.sh: unknown action '$action'" >&2; exit 2 ;;
    esac
done < "${TMPDIR:-/tmp}/splitstack-install.$$"
