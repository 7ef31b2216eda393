#!/bin/sh
# Echo over loopback: our server on each backend, a hand-written epoll
# server and a libuv server, each pinned to core 0 under the load client
# pinned to core 1 (no pinning on one core), at 1, 100 and 1000
# connections, REPS times each; the servers alternate within a repetition,
# so a noisy moment hits all of them. Our servers time each read out after
# 30 s idle (IDLE_MS 30000, a timer per read, as a real server would), and
# the epoll one runs once more without (IDLE_MS -1: MT_FOREVER), to show
# what those timers cost. The client saturates its core, so the figure
# that separates servers is the server's CPU time per round trip (measured
# by the client over its counting window, which starts once every
# connection has echoed once), with its system calls per round trip over
# the same window, throughput and latency: medians, with the spread
# (min-max); "-" where system calls cannot be counted (echo_load.c).
# Usage: echo_bench.sh BUILD_DIR [MS] [REPS] [PLOT_DATA_FILE]
# (the data file: per connection count, each server's round trips/s and CPU
# us per round trip, as median min max)
set -eu
b=$1
ms=${2:-2000}
reps=${3:-3}
dat=${4:-/dev/null}
servers="raw_epoll uv_echo echo_epoll echo_epoll_forever echo_poll echo_select"
ulimit -n 8192 2>/dev/null || true
tmp=$(mktemp -d)
pid=
trap 'if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi; rm -rf "$tmp"' EXIT
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
    srvpin="taskset -c 0" loadpin="taskset -c 1"
else
    srvpin= loadpin=
    echo "(one core or no taskset: server and client are not pinned)"
    echo
fi
# echo_load counts system calls on the raw_syscalls:sys_enter tracepoint,
# whose id it reads from tracefs; perf mounts tracefs when it is not (as
# after a boot here), so let it, once. Without perf, without tracefs or as
# non-root, the count is "-" and the run goes on.
if command -v perf >/dev/null 2>&1; then
    perf stat -e raw_syscalls:sys_enter true >/dev/null 2>&1 || true
fi

name() {
    case $1 in
    raw_epoll) echo "raw epoll" ;;
    uv_echo) echo "libuv" ;;
    echo_epoll_forever) echo "multitask epoll, no timeout" ;;
    echo_*) echo "multitask ${1#echo_}" ;;
    esac
}

# One run: "CONNS SERVER round-trips/s p50 p99 cpu-us-per-round-trip
# syscalls-per-round-trip" (the last "-" when not counted). Each run has an
# output file of its own, created empty before its server starts: the
# shell opens the server's redirection in the background, so with one file
# for all, the check below could read the last server's "listening" line.
nrun=0
run() {
    conns=$1 srv=$2
    nrun=$((nrun + 1))
    out=$tmp/out.$nrun
    : > "$out"
    case $srv in
    raw_epoll) $srvpin "$b/raw_epoll_echo" > "$out" 2>/dev/null & ;;
    uv_echo) $srvpin "$b/uv_echo" > "$out" 2>/dev/null & ;;
    echo_epoll_forever) $srvpin "$b/echo_epoll" 0 -1 > "$out" 2>/dev/null & ;;
    *) $srvpin "$b/$srv" 0 30000 > "$out" 2>/dev/null & ;;
    esac
    pid=$!
    i=0 # up to 2 s, in short steps: CI starts 54 servers
    until grep -q listening "$out" || [ $i -ge 200 ]; do
        sleep 0.01
        i=$((i + 1))
    done
    port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$out")
    if [ -z "$port" ]; then
        echo "echo_bench: $srv did not start" >&2
        exit 1
    fi
    set -- $($loadpin "$b/echo_load" "$port" "$conns" "$ms" "$pid")
    # The server ends before the next starts (it would take CPU from it).
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
    awk -v c="$conns" -v s="$srv" -v n="$1" -v rts="$2" -v p50="$3" -v p99="$4" -v cpu="$5" -v sc="$6" \
        'BEGIN { printf "%s %s %s %s %s %.3f %s\n", c, s, rts, p50, p99, n ? cpu / 1e3 / n : 0,
                        (n && sc >= 0 ? sprintf("%.3f", sc / n) : "-") }'
}

for conns in 1 100 1000; do
    r=0
    while [ $r -lt "$reps" ]; do
        for srv in $servers; do
            run $conns $srv >> "$tmp/runs"
        done
        r=$((r + 1))
    done
done

# Medians and spreads; the ratio is to raw epoll's median CPU per round trip.
printf '| server | connections | round trips/s | spread | p50 us | p99 us | server CPU us per round trip | spread | ratio to raw epoll | syscalls per round trip |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
printf 'connections' > "$tmp/dat"
for srv in $servers; do printf ' "%s" min max cpu min max' "$(name $srv)" >> "$tmp/dat"; done
echo >> "$tmp/dat"
for conns in 1 100 1000; do
    printf '%s' $conns >> "$tmp/dat"
    for srv in $servers; do
        awk -v c=$conns -v s=$srv -v label="$(name $srv)" -v dat="$tmp/dat" '
        function sort(a, n,   i, j, t) {
            for (i = 2; i <= n; i++)
                for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        }
        function med(a, n) { return a[int((n + 1) / 2)] }
        $1 == c && $2 == "raw_epoll" { raw[++nr] = $6 }
        $1 == c && $2 == s { n++; rts[n] = $3; p50[n] = $4; p99[n] = $5; cpu[n] = $6
                             if ($7 == "-") nosc = 1; else sc[n] = $7 }
        END {
            sort(raw, nr); sort(rts, n); sort(p50, n); sort(p99, n); sort(cpu, n)
            if (!nosc)
                sort(sc, n)
            printf "| %s | %s | %.0f | %.0f-%.0f | %.1f | %.1f | %.2f | %.2f-%.2f | %.2f | %s |\n", label, c,
                med(rts, n), rts[1], rts[n], med(p50, n), med(p99, n), med(cpu, n), cpu[1], cpu[n],
                med(cpu, n) / med(raw, nr), nosc ? "-" : sprintf("%.2f", med(sc, n))
            printf " %.0f %.0f %.0f %.3f %.3f %.3f", med(rts, n), rts[1], rts[n], med(cpu, n), cpu[1], cpu[n] >> dat
        }' "$tmp/runs"
    done
    echo >> "$tmp/dat"
done
cp "$tmp/dat" "$dat" 2>/dev/null || true
