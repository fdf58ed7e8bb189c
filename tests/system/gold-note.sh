#!/bin/sh
# Item 8: gold leaves a split-stack caller of the library's API alone
# (no rewrite to __morestack_non_split and its 1 MiB demand), and does
# rewrite a caller of a genuinely non-split object (the control, which
# shows the check can fail).  Usage: gold-note.sh <libdir> <scratch>
set -u
lib=$1/libsplitstack.a
out=$2
mkdir -p "$out"
here=$(dirname "$0")
gcc -O2 -fsplit-stack -c "$here/gold_caller.c" -o "$out/caller.o" || exit 1
gcc -O2 -c "$here/gold_plain.c" -o "$out/plain.o" || exit 1
gcc -fsplit-stack -fuse-ld=gold "$out/caller.o" "$out/plain.o" "$lib" -o "$out/gold_caller" || exit 1
"$out/gold_caller" || { echo "FAIL: gold_caller did not run"; exit 1; }
objdump -d --no-show-raw-insn "$out/gold_caller" > "$out/gold_caller.dis"
body() { sed -n "/<$1>:/,/^\$/p" "$out/gold_caller.dis"; }
status=0
# __morestack is hidden in libsplitstack.a, so objdump may name its
# address by the global alias it shares, __splitstack_morestack_impl.
if body call_api | grep -Eq "call.*<(__morestack|__splitstack_morestack_impl)>" && ! body call_api | grep -q "__morestack_non_split"; then
    echo "ok   call_api -> __splitstack_getcontext: prologue still calls __morestack"
else
    echo "FAIL call_api was rewritten by gold:"; body call_api | grep morestack; status=1
fi
if body call_plain | grep -q "__morestack_non_split"; then
    echo "ok   control: call_plain -> non-split object rewritten to __morestack_non_split"
else
    echo "FAIL control: gold did not rewrite the call into the non-split object (check is meaningless)"; status=1
fi
exit $status
