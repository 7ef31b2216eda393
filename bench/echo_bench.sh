#!/bin/sh
# Echo over loopback: our server on each backend, a hand-written epoll
# server and a libuv server, each pinned to core 0 under the load client
# pinned to core 1 (no pinning on one core), at 1, 100 and 1000
# connections, REPS times each; the servers alternate within a repetition,
# so a noisy moment hits all of them. The client saturates its core, so the
# figure that separates servers is the server's CPU time per round trip
# (read by the client from /proc/PID over its counting window, which starts
# once every connection has echoed once), reported with throughput and
# latency: medians, with the spread (min-max).
# Usage: echo_bench.sh BUILD_DIR [MS] [REPS] [PLOT_DATA_FILE]
# (the data file: per connection count, each server's round trips/s and CPU
# us per round trip, as median min max)
set -eu
b=$1
ms=${2:-2000}
reps=${3:-3}
dat=${4:-/dev/null}
servers="raw_epoll uv_echo echo_epoll echo_poll echo_select"
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

name() {
    case $1 in
    raw_epoll) echo "raw epoll" ;;
    uv_echo) echo "libuv" ;;
    echo_*) echo "multitask ${1#echo_}" ;;
    esac
}

# One run: "CONNS SERVER round-trips/s p50 p99 cpu-us-per-round-trip"
run() {
    conns=$1 srv=$2
    case $srv in
    raw_epoll) $srvpin "$b/raw_epoll_echo" > "$tmp/out" 2>/dev/null & ;;
    uv_echo) $srvpin "$b/uv_echo" > "$tmp/out" 2>/dev/null & ;;
    *) $srvpin "$b/$srv" 0 60000 > "$tmp/out" 2>/dev/null & ;;
    esac
    pid=$!
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 \
        21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40; do
        grep -q listening "$tmp/out" && break
        sleep 0.05
    done
    port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/out")
    if [ -z "$port" ]; then
        echo "echo_bench: $srv did not start" >&2
        exit 1
    fi
    set -- $($loadpin "$b/echo_load" "$port" "$conns" "$ms" $pid)
    kill -TERM $pid 2>/dev/null || true
    wait $pid 2>/dev/null || true
    pid=
    awk -v c="$conns" -v s="$srv" -v n="$1" -v rts="$2" -v p50="$3" -v p99="$4" -v cpu="$5" \
        'BEGIN { printf "%s %s %s %s %s %.3f\n", c, s, rts, p50, p99, n ? cpu / 1e3 / n : 0 }'
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
printf '| server | connections | round trips/s | spread | p50 us | p99 us | server CPU us per round trip | spread | ratio to raw epoll |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
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
        $1 == c && $2 == s { n++; rts[n] = $3; p50[n] = $4; p99[n] = $5; cpu[n] = $6 }
        END {
            sort(raw, nr); sort(rts, n); sort(p50, n); sort(p99, n); sort(cpu, n)
            printf "| %s | %s | %.0f | %.0f-%.0f | %.1f | %.1f | %.2f | %.2f-%.2f | %.2f |\n", label, c,
                med(rts, n), rts[1], rts[n], med(p50, n), med(p99, n), med(cpu, n), cpu[1], cpu[n],
                med(cpu, n) / med(raw, nr)
            printf " %.0f %.0f %.0f %.3f %.3f %.3f", med(rts, n), rts[1], rts[n], med(cpu, n), cpu[1], cpu[n] >> dat
        }' "$tmp/runs"
    done
    echo >> "$tmp/dat"
done
cp "$tmp/dat" "$dat" 2>/dev/null || true
