#!/bin/bash
# include/splitstack.h as clients include it: in C and C++, with gcc and
# clang, together with libgcc-style prototypes and with Boost's
# segmented_stack.hpp, in either order, inside extern "C", warning-free with -Wall -Wextra
# -Werror; each program is linked against the static library and run.
# Prints PASS/FAIL/UNSUPPORTED lines and "header: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/../.."
B=${B:-build}
T=$B/tests/header
mkdir -p "$T"
pass=0 fail=0 skip=0

if grep -q secure_getenv include/splitstack.h; then
    echo "FAIL header declares secure_getenv (a libc function; breaks C++ before <cstdlib>)"; fail=$((fail + 1))
else
    echo "PASS header declares nothing of libc's"; pass=$((pass + 1))
fi

boost=0
[ -f /usr/include/boost/context/posix/segmented_stack.hpp ] && boost=1

for cc in gcc clang; do
    command -v $cc > /dev/null || { echo "UNSUPPORTED [$cc] not installed"; skip=$((skip + 1)); continue; }
    for lang in c c++; do
        if [ $lang = c ]; then orders="1 2 3 4"; std="-std=c11"; else orders="1 2 3 4 5 6 7"; std="-std=c++17"; fi
        for order in $orders; do
            name="[$cc $lang, include order $order]"
            if { [ "$order" = 5 ] || [ "$order" = 6 ]; } && [ $boost = 0 ]; then
                echo "UNSUPPORTED $name: libboost-context-dev is not installed"; skip=$((skip + 1)); continue
            fi
            extra=""
            { [ "$order" = 5 ] || [ "$order" = 6 ]; } && extra="-DBOOST_USE_SEGMENTED_STACKS -DBOOST_USE_UCONTEXT"
            exe=$T/use_${cc}_${lang}_$order
            drv=$cc; [ $lang = c++ ] && { [ $cc = gcc ] && drv=g++ || drv=clang++; }
            if ! $drv -x $lang $std -Wall -Wextra -Werror $extra -Iinclude -Itests/header \
                -DORDER=$order tests/header/use.c -x none "$B/libsplitstack.a" -pthread -o "$exe" > "$exe.log" 2>&1; then
                echo "FAIL $name: does not compile cleanly"; sed 's/^/    /' "$exe.log" | head -12; fail=$((fail + 1)); continue
            fi
            if out=$("$exe" 2>&1) && [ "$out" = ok ]; then
                echo "PASS $name"; pass=$((pass + 1))
            else
                echo "FAIL $name: $out"; fail=$((fail + 1))
            fi
        done
    done
done
echo "header: $pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
