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
# A file that includes multitask.c sees no name of ours but mt_*, MT_*
# (public) and mt__*, MT__* (private): every macro it gains over the same
# system headers alone, in each configuration, must be one of those.
names=0
for cfg in "" "-DMT_LC_LABELS=1" "-DMT_BACKEND=MT_BACKEND_POLL" \
    "-DMT_BACKEND=MT_BACKEND_EPOLL -DMT_DEBUG=1" "-DMT_IO=0 -DMT_TIMER_LIST=1 -DMT_WHEEL_BITS=0"; do
    # shellcheck disable=SC2086
    $CC -std=c99 $cfg -dM -E tests/unity/include_c.c | sed -n 's/^#define \([A-Za-z0-9_]*\).*/\1/p' | sort -u > "$out/with.txt"
    # shellcheck disable=SC2086
    printf '%s\n' '#define _POSIX_C_SOURCE 200809L' '#include <stddef.h>' '#include <stdint.h>' \
        '#include <stdio.h>' '#include <stdlib.h>' '#include <string.h>' '#include <time.h>' \
        '#include <errno.h>' '#include <fcntl.h>' '#include <unistd.h>' '#include <poll.h>' '#include <sched.h>' '#include <pthread.h>' '#include <signal.h>' \
        '#include <sys/select.h>' '#include <sys/types.h>' '#include <sys/socket.h>' \
        '#ifdef __linux__' '#include <sys/epoll.h>' '#endif' |
        $CC -std=c99 $cfg -dM -E -x c - | sed -n 's/^#define \([A-Za-z0-9_]*\).*/\1/p' | sort -u > "$out/base.txt"
    leaked=$(comm -23 "$out/with.txt" "$out/base.txt" | grep -v -E '^(MT_|mt_|MULTITASK_H$)' || true)
    if [ -n "$leaked" ]; then echo "FAIL names ($cfg): $(echo $leaked)"; names=1; fail=1; fi
done
[ $names = 0 ] && echo "ok   no unprefixed private name in a file that includes multitask.c"

$CC -std=c99 $W -I. tests/unity/impl_a.c tests/unity/impl_b.c -o "$out/impl"
expect "MT_IMPLEMENTATION in one file of two" "impl 2" "$out/impl"
if ! command -v "$CXX" >/dev/null 2>&1; then
    echo "skip C++ checks: no C++ compiler ($CXX); apt-get install g++"
    [ $fail = 0 ] && echo "3 passed, 0 failed" && exit 0
    exit 1
fi
for lab in 0 1; do
    $CXX -std=c++11 $W -DMT_LC_LABELS=$lab -c tests/unity/cxx_check.cpp -o "$out/cxx$lab.o"
    $CC -std=c99 $W -DMT_LC_LABELS=$lab -c multitask.c -o "$out/mt$lab.o"
    $CXX "$out/cxx$lab.o" "$out/mt$lab.o" -o "$out/cxx$lab"
    expect "C++, MT_LC_LABELS=$lab" "cxx 3 0" "$out/cxx$lab"
done
[ $fail = 0 ] && echo "5 passed, 0 failed" || exit 1
