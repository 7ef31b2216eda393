#!/bin/sh
# Consumers of the library built from scratch, one per way README "Getting
# it into your project" lists: the installed library through pkg-config
# (shared and static; an option set against the installed header is an
# error), staged with DESTDIR and uninstalled; CMake (add_subdirectory,
# FetchContent, find_package); a Meson subproject; the single-file edition
# in C and in C++. All in a fresh temporary directory.
set -eu
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
CXX=${CXX:-c++}
BUILD=${BUILD:-build}
W="-Wall -Wextra -Wpedantic -Werror"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
expect() { # name, a string the output must contain, program...
    name=$1 want=$2; shift 2
    if out=$("$@" 2>&1) && echo "$out" | grep -q -- "$want"; then ok "$name"
    else bad "$name: $(echo "$out" | tail -n 3)"; fi
}
version=$(tools/version.sh)

# pkg-config, from an installed library built with the poll backend.
prefix=$tmp/prefix
# (-j4: the libraries and the header are one recipe, safe in parallel.)
make --no-print-directory -s -j4 install PREFIX="$prefix" BUILD="$tmp/build" CC="$CC" \
    CONFIG=-DMT_BACKEND=MT_BACKEND_POLL >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; bad "make install"; exit 1; }
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
expect "pkg-config knows the version" "$version" pkg-config --modversion multitask
# shellcheck disable=SC2046,SC2086
$CC -std=c99 $W -o "$tmp/hello" tests/consumers/hello.c $(pkg-config --cflags --libs multitask) ||
    bad "pkg-config: the consumer does not build"
expect "pkg-config: a consumer of the shared library runs" "multitask $version, backend 2" \
    env LD_LIBRARY_PATH="$prefix/lib" "$tmp/hello"
expect "pkg-config: it runs through the soname" "libmultitask.so.$(echo "$version" | cut -d. -f1-2)" \
    sh -c "readelf -d '$tmp/hello' | grep NEEDED"
# shellcheck disable=SC2046,SC2086
$CC -std=c99 $W -o "$tmp/hello_static" tests/consumers/hello.c $(pkg-config --cflags multitask) \
    "$prefix/lib/libmultitask.a" || bad "pkg-config: the static consumer does not build"
expect "pkg-config: a consumer of the static library runs" "pong 1" "$tmp/hello_static"
refused() { # name, include directory, flags: the installed header must refuse them
    name=$1 inc=$2; shift 2
    if $CC -std=c99 "$@" -I"$inc" -c -o "$tmp/x.o" tests/consumers/hello.c >"$tmp/err" 2>&1; then
        bad "$name: built"
    elif grep -q 'fixes its options' "$tmp/err"; then ok "$name"
    else bad "$name: $(head -n 2 "$tmp/err")"; fi
}
refused "pkg-config: an option set against the installed header is refused" "$prefix/include" \
    -DMT_LC_LABELS=1
printf '#define MT_WHEEL_BITS 5\n' > "$tmp/cfg.h"
refused "pkg-config: MT_USER_CONFIG against the installed header is refused" "$prefix/include" \
    -DMT_USER_CONFIG='"'"$tmp/cfg.h"'"'

# Staged (DESTDIR) and uninstalled: nothing left behind.
make --no-print-directory -s install uninstall DESTDIR="$tmp/stage" PREFIX=/usr BUILD="$tmp/build" \
    CC="$CC" >"$tmp/stage.log" 2>&1 || { cat "$tmp/stage.log"; bad "make install DESTDIR"; }
left=$(find "$tmp/stage" -type f -o -type l | wc -l)
[ "$left" = 0 ] && ok "make install DESTDIR=..., make uninstall: nothing left" ||
    bad "make uninstall left $left files"

# CMake: add_subdirectory and FetchContent (from this tree) with the epoll
# backend as a cache option; installed and found with find_package, with
# poll. The option reaches the consumer (its output says the backend).
for how in subdirectory fetch; do
    if cmake -S tests/consumers/cmake -B "$tmp/cmake_$how" -DHOW=$how -DMT_SOURCE="$PWD" \
        -DMT_BACKEND=EPOLL >"$tmp/cmake_$how.log" 2>&1 &&
        cmake --build "$tmp/cmake_$how" >>"$tmp/cmake_$how.log" 2>&1; then
        expect "CMake $how: the consumer runs, with the option given" \
            "multitask $version, backend 3" "$tmp/cmake_$how/hello"
    else
        bad "CMake $how: $(tail -n 5 "$tmp/cmake_$how.log")"
    fi
done
if cmake -S . -B "$tmp/cmake_lib" -DMT_BACKEND=POLL -DCMAKE_INSTALL_PREFIX="$tmp/cmake_prefix" \
    >"$tmp/cmake_lib.log" 2>&1 && cmake --build "$tmp/cmake_lib" >>"$tmp/cmake_lib.log" 2>&1 &&
    cmake --install "$tmp/cmake_lib" >>"$tmp/cmake_lib.log" 2>&1 &&
    cmake -S tests/consumers/cmake -B "$tmp/cmake_package" -DHOW=package \
        -DCMAKE_PREFIX_PATH="$tmp/cmake_prefix" >>"$tmp/cmake_lib.log" 2>&1 &&
    cmake --build "$tmp/cmake_package" >>"$tmp/cmake_lib.log" 2>&1; then
    expect "CMake find_package(multitask CONFIG): the consumer runs, with the installed option" \
        "multitask $version, backend 2" "$tmp/cmake_package/hello"
    refused "CMake: an option set against the installed header is refused" \
        "$tmp/cmake_prefix/include" -DMT_WHEEL_BITS=5
else
    bad "CMake install and find_package: $(tail -n 5 "$tmp/cmake_lib.log")"
fi

# Meson: this tree as a subproject, found by dependency()'s fallback, the
# epoll backend chosen in it; meson.build says the header's version.
mc=$tmp/meson
mkdir -p "$mc/subprojects"
cp tests/consumers/meson/meson.build tests/consumers/hello.c "$mc/"
ln -s "$PWD" "$mc/subprojects/multitask"
if env -u PKG_CONFIG_PATH meson setup --force-fallback-for=multitask "$mc/build" "$mc" >"$tmp/meson.log" 2>&1 && meson compile -C "$mc/build" >>"$tmp/meson.log" 2>&1; then
    expect "Meson subproject: the consumer runs, with the option given" \
        "multitask $version, backend 3" "$mc/build/hello"
else
    bad "Meson subproject: $(tail -n 5 "$tmp/meson.log")"
fi
grep -q "version : '$version'" meson.build && ok "meson.build has the header's version" ||
    bad "meson.build's version is not the header's ($version)"

# The single-file edition: one #include, the implementation where
# MT_IMPLEMENTATION is defined; as C, then every file as C++.
single="$BUILD/single"
[ -f "$single/multitask.h" ] || tools/single_header.sh "$single/multitask.h"
$CC -std=c99 $W -I"$single" -o "$tmp/single_c" tests/consumers/single_a.c tests/consumers/single_b.c
expect "single header, C" "single 7 $version" "$tmp/single_c"
if command -v "$CXX" >/dev/null 2>&1; then
    $CXX -std=c++11 $W -I"$single" -x c++ -o "$tmp/single_cxx" tests/consumers/single_a.c \
        tests/consumers/single_b.c
    expect "single header, C++ (the implementation too)" "single 7 $version" "$tmp/single_cxx"
else
    bad "single header, C++: no C++ compiler ($CXX)"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
