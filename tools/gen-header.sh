#!/bin/sh
# Writes include/splitstack.h (or the file named by $1) from the Rust
# sources: cbindgen, then one rewrite it cannot do itself.  Context
# parameters are `void **ctx` in the Rust signatures; they are written
# `void *ctx[10]`, exactly as libgcc's runtime declares them, so that the
# header and a client's own libgcc-style prototypes agree even under
# GCC's -Warray-parameter (part of -Wall).  And the version macros
# (cbindgen.toml's after_includes) get Cargo.toml's version.  `make header` and the
# staleness check of `make test` both run this.
set -e
cd "$(dirname "$0")/.."
out=${1:-include/splitstack.h}
version=$(sed -n 's/^version *= *"\([0-9]*\.[0-9]*\.[0-9]*\)".*/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || { echo "gen-header.sh: no MAJOR.MINOR.PATCH version in Cargo.toml" >&2; exit 1; }
major=${version%%.*} rest=${version#*.}
minor=${rest%%.*} patch=${rest#*.}
cbindgen --quiet --config cbindgen.toml --crate splitstack --output "$out.tmp"
sed -e 's/\([(,] *\)void \*\*ctx\([,)]\)/\1void *ctx[10]\2/g' \
    -e "s/@VERSION_MAJOR@/$major/; s/@VERSION_MINOR@/$minor/; s/@VERSION_PATCH@/$patch/; s/@VERSION@/$version/" \
    "$out.tmp" > "$out"
rm -f "$out.tmp"
