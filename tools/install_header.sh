#!/bin/sh
# Writes the header `make install` installs: multitask.h after a block that
# fixes the options the library was built with (CONFIG), those on which the
# layout of mt_task and mt_sched or the macros depend, so that a program
# built against the installed library cannot silently use other ones.
# Usage: CC=cc tools/install_header.sh OUT [CONFIG FLAGS...]
set -eu
out=${1:?usage: tools/install_header.sh OUT [-DMT_...]}
shift
case $out in /*) ;; *) out=$PWD/$out ;; esac # relative to where it is run
cd "$(dirname "$0")/.."
CC=${CC:-cc}
opts="LC_LABELS TIME_T POSIX NO_STDIO TIMER_LIST WHEEL_BITS WHEEL2_BITS IO IO_BURST BACKEND NO_HEAP
      DUMP DEBUG DEBUG_STATS ASSERT FLAG_T THREADS THREAD_LOCAL POOL_MAX"
# The values the header works out from CONFIG, read through the preprocessor.
# shellcheck disable=SC2086 # CC may carry flags: "gcc -m32"
probe=$( { echo '#include "multitask.h"'; for o in $opts; do echo "MT__OPT $o MT_$o"; done; } |
    $CC -std=c99 -E -P -I. "$@" -x c - | sed -n 's/^MT__OPT //p')
{
    echo '/* multitask.h as installed by make install: the library was built with'
    echo ' * the options fixed below (CONFIG: '"$*"'). The layout of its structures'
    echo ' * and its macros depend on them, so a program using it may not set them'
    echo ' * (nor MT_USER_CONFIG);'
    echo ' * build and install it again for other ones. */'
    echo '#ifndef MT__INSTALLED'
    echo '#define MT__INSTALLED 1'
    printf '#if defined(MT_USER_CONFIG)'
    for o in $opts; do printf ' || defined(MT_%s)' "$o"; done
    echo
    echo '#error "multitask: the installed library fixes its options (see the top of multitask.h)"'
    echo '#endif'
    echo "$probe" | while read -r name value; do
        case "$name $value" in
        "BACKEND 1") value=MT_BACKEND_SELECT ;;
        "BACKEND 2") value=MT_BACKEND_POLL ;;
        "BACKEND 3") value=MT_BACKEND_EPOLL ;;
        esac
        printf '#define MT_%s %s\n' "$name" "$value"
    done
    echo '#endif'
    echo
    cat multitask.h
} > "$out.tmp"
# Every option must have come through the preprocessor.
[ "$(echo "$probe" | grep -c .)" -eq "$(echo "$opts" | wc -w)" ] || { echo "install_header: options missing: $probe" >&2; rm -f "$out.tmp"; exit 1; }
mv "$out.tmp" "$out"
