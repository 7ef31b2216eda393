#!/bin/sh
# Echo over loopback: our server on each backend and a hand-written epoll
# server, each pinned to core 0, under the load client pinned to core 1, at
# 1, 100 and 1000 connections. The client saturates its core, so the figure
# that separates servers is the server's CPU time per round trip (from
# /proc/PID/stat), reported with throughput and latency.
# Usage: echo_bench.sh BUILD_DIR [MS]
set -eu
b=$1
ms=${2:-2000}
ulimit -n 8192 2>/dev/null || true
hz=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
printf '| server | connections | round trips/s | p50 us | p99 us | server CPU us per round trip | ratio to raw epoll |\n|---|---|---|---|---|---|---|\n'
for conns in 1 100 1000; do
    raw=
    for srv in raw_epoll echo_epoll echo_poll echo_select; do
        out=$(mktemp)
        case $srv in
        raw_epoll) taskset -c 0 "$b/raw_epoll_echo" > "$out" 2>/dev/null & ;;
        *) taskset -c 0 "$b/$srv" 0 60000 > "$out" 2>/dev/null & ;;
        esac
        pid=$!
        for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do grep -q listening "$out" && break; sleep 0.05; done
        port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$out")
        c0=$(cpu $pid)
        set -- $(taskset -c 1 "$b/echo_load" "$port" "$conns" "$ms")
        c1=$(cpu $pid)
        kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null || true
        rm -f "$out"
        per=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v n="$1" 'BEGIN { printf "%.2f", n ? c / hz * 1e6 / n : 0 }')
        if [ -z "$raw" ]; then raw=$per; fi
        ratio=$(awk -v a="$per" -v r="$raw" 'BEGIN { if (r > 0) printf "%.2f", a / r; else printf "-" }')
        printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$srv" "$conns" "$2" "$3" "$4" "$per" "$ratio"
    done
done
