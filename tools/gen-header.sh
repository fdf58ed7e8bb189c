#!/bin/sh
# Writes include/splitstack.h (or the file named by $1) from the Rust
# sources: cbindgen, then one rewrite it cannot do itself.  Context
# parameters are `void **ctx` in the Rust signatures; they are written
# `void *ctx[10]`, exactly as libgcc's runtime declares them, so that the
# header and a client's own libgcc-style prototypes agree even under
# GCC's -Warray-parameter (part of -Wall).  `make header` and the
# staleness check of `make test` both run this.
set -e
cd "$(dirname "$0")/.."
out=${1:-include/splitstack.h}
cbindgen --quiet --config cbindgen.toml --crate splitstack --output "$out.tmp"
sed 's/\([(,] *\)void \*\*ctx\([,)]\)/\1void *ctx[10]\2/g' "$out.tmp" > "$out"
rm -f "$out.tmp"
