#!/bin/sh
# Header-only use, both ways, and the header from C++ (both continuation
# backends): each program is built warning-free and its output checked.
set -eu
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
CXX=${CXX:-c++}
out=${BUILD:-build}/unity
mkdir -p "$out"
W="-Wall -Wextra -Wpedantic -Werror"
fail=0
expect() { # name, expected output, program
    name=$1 want=$2; shift 2
    if got=$("$@") && [ "$got" = "$want" ]; then echo "ok   $name"; else echo "FAIL $name: got '$got'"; fail=1; fi
}
$CC -std=c99 $W tests/unity/include_c.c -o "$out/include_c"
expect "#include multitask.c, all static" "include_c 7" "$out/include_c"
$CC -std=c99 $W -I. tests/unity/impl_a.c tests/unity/impl_b.c -o "$out/impl"
expect "MT_IMPLEMENTATION in one file of two" "impl 2" "$out/impl"
if ! command -v "$CXX" >/dev/null 2>&1; then
    echo "skip C++ checks: no C++ compiler ($CXX); apt-get install g++"
    [ $fail = 0 ] && echo "2 passed, 0 failed" && exit 0
    exit 1
fi
for lab in 0 1; do
    $CXX -std=c++11 $W -DMT_LC_LABELS=$lab -c tests/unity/cxx_check.cpp -o "$out/cxx$lab.o"
    $CC -std=c99 $W -DMT_LC_LABELS=$lab -c multitask.c -o "$out/mt$lab.o"
    $CXX "$out/cxx$lab.o" "$out/mt$lab.o" -o "$out/cxx$lab"
    expect "C++, MT_LC_LABELS=$lab" "cxx 3 0" "$out/cxx$lab"
done
[ $fail = 0 ] && echo "4 passed, 0 failed" || exit 1
