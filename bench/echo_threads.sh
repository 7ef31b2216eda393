#!/bin/sh
# The echo server on 1, 2, 4, ... threads up to the number of cores
# (echo_server --threads N: a scheduler and a SO_REUSEPORT listening socket
# per thread), under one load: CONNS connections, each keeping DEPTH
# 64-byte messages in flight (bench/echo_load.c; a round trip is one
# message echoed). For each thread count: round trips per second (median
# and spread of REPS runs; the thread counts alternate within a
# repetition, so a noisy moment hits them all) and its ratio to 1 thread;
# the server's CPU time per round trip (all its threads) and its system
# calls per round trip; how many cores the server and the client kept busy
# over the window (CPU time / wall time).
#
# Whether the client is the bottleneck: it runs as many threads as the
# server (its CPU per round trip is about the server's: the kernel's TCP
# work is split between the two ends of a loopback connection, pipelined
# or not). Where the machine has the cores (2N <= nproc), the server is
# pinned to cores 0..N-1 and the client to the next N; otherwise nothing
# is pinned and the client shares the cores with the server, taking the
# share the "client cores" column gives. The server can then have only
# what the client leaves: with C cores and a client that costs r times the
# server's CPU per round trip, min(N, C / (1 + r)) cores. The "server
# cores possible" column gives that, from the run's own r ("own" rows: N),
# beside the cores it kept busy: a server that used what it could have
# was held back by the CPU, not by itself. Round trips per second per
# busy server core (1 / server CPU per round trip) says how the threads
# fare without the client: flat or rising means they do not slow each
# other down.
#
# Usage: echo_threads.sh BIN_DIR [MS] [REPS]   (BIN_DIR holds echo_epoll
#        and echo_load, as make bench builds them)
# Environment: ECHO_THREADS_MAX (nproc), ECHO_THREADS (the list, instead
# of 1 2 4 ... up to the cap), ECHO_CONNS (100), ECHO_DEPTH (16),
# ECHO_CLIENT_THREADS (as many as the server's), ECHO_SERVER (echo_epoll).
# Other work on the machine takes CPU from both ends, and a thread count
# gets a share of it that grows with its threads, which no ratio here
# corrects: the "other cores busy" column (the machine's busy CPU time
# over the window, /proc/stat, less the server's and the client's) and
# the load average before and after say how much there was.
set -eu
b=$1
ms=${2:-2000}
reps=${3:-3}
cores=$(nproc)
max=${ECHO_THREADS_MAX:-$cores}
conns=${ECHO_CONNS:-100}
depth=${ECHO_DEPTH:-16}
server=${ECHO_SERVER:-echo_epoll}
if [ -z "${ECHO_THREADS:-}" ]; then
    list= n=1
    while [ "$n" -lt "$max" ]; do list="$list $n"; n=$((n * 2)); done
    ECHO_THREADS="$list $max"
fi
ulimit -n 8192 2>/dev/null || true
tmp=$(mktemp -d)
pid=
trap 'if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi; rm -rf "$tmp"' EXIT
# As echo_bench.sh: let perf mount tracefs, so echo_load can count the
# server's system calls ("-" where it cannot).
if command -v perf >/dev/null 2>&1; then
    perf stat -e raw_syscalls:sys_enter true >/dev/null 2>&1 || true
fi

# client N: the client's threads for N server threads.
client() { c=${ECHO_CLIENT_THREADS:-$1}; echo $((c < conns ? c : conns)); }

# pins N: "own" when N server threads and the client's fit on cores of
# their own (and taskset is there), else "shared".
pins() {
    if [ $(($1 + $(client "$1"))) -le "$cores" ] && command -v taskset >/dev/null 2>&1; then
        echo own
    else
        echo shared
    fi
}

# One run: "THREADS PINS round-trips/s p50 server-ns-per-rt syscalls-per-rt
# server-cores client-cores min-conns max-conns other-cores".
nrun=0
run() {
    n=$1 cthreads=$(client "$1")
    nrun=$((nrun + 1))
    out=$tmp/out.$nrun err=$tmp/err.$nrun
    : >"$out"
    srvpin= loadpin=
    if [ "$(pins "$n")" = own ]; then
        srvpin="taskset -c 0-$((n - 1))" loadpin="taskset -c $n-$((n + cthreads - 1))"
    fi
    $srvpin "$b/$server" --threads "$n" 0 30000 >"$out" 2>"$err" &
    pid=$!
    i=0
    until grep -q listening "$out" || [ $i -ge 200 ]; do
        sleep 0.01
        i=$((i + 1))
    done
    port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$out")
    if [ -z "$port" ]; then
        echo "echo_threads: $server --threads $n did not start" >&2
        exit 1
    fi
    set -- $($loadpin "$b/echo_load" "$port" "$conns" "$ms" "$pid" "$depth" "$cthreads")
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
    sed -n 's/^echo_server: thread [0-9]*: \([0-9]*\) connections$/\1/p' "$err" | sort -n >"$tmp/conns"
    awk -v n="$n" -v pin="$(pins "$n")" -v c="$1" -v rts="$2" -v p50="$3" -v cpu="$5" -v sc="$6" \
        -v cli="$7" -v all="$8" -v lo="$(head -n 1 "$tmp/conns")" -v hi="$(tail -n 1 "$tmp/conns")" 'BEGIN {
        secs = rts > 0 ? c / rts : 1
        printf "%s %s %s %s %.1f %s %.3f %.3f %s %s %s\n", n, pin, rts, p50, c ? cpu / c : 0,
            (c && sc >= 0 ? sprintf("%.4f", sc / c) : "-"), cpu / 1e9 / secs, cli / 1e9 / secs,
            lo == "" ? "-" : lo, hi == "" ? "-" : hi,
            all < 0 ? "-" : sprintf("%.3f", all > cpu + cli ? (all - cpu - cli) / 1e9 / secs : 0) }'
}

load0=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo -)
r=0
while [ $r -lt "$reps" ]; do
    for n in $ECHO_THREADS; do
        run "$n" >>"$tmp/runs"
    done
    r=$((r + 1))
done

echo "$server --threads N, $conns connections with $depth messages of 64 bytes in flight each"
echo "(echo_load $conns connections, depth $depth, ${ECHO_CLIENT_THREADS:-N} client threads); $ms ms per run"
echo "once every connection has echoed; medians of $reps runs, spread min-max; $cores cores; load"
echo "average before the runs $load0, after $(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo -)."
echo
printf '| threads | pinning | round trips/s | spread | ratio to 1 thread | server CPU ns per round trip | spread | round trips/s per server core | syscalls per round trip | server cores busy | server cores possible | client cores busy | other cores busy | p50 us | connections per thread |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
for n in $ECHO_THREADS; do
    awk -v n="$n" -v cores="$cores" '
    function sort(a, k,   i, j, t) {
        for (i = 2; i <= k; i++)
            for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    }
    function med(a, k) { return a[int((k + 1) / 2)] }
    $1 == 1 { one[++k1] = $3 }
    $1 == n { k++; pin = $2; rts[k] = $3; p50[k] = $4; ns[k] = $5; sv[k] = $7; cl[k] = $8
              if ($6 == "-") nosc = 1; else sc[k] = $6
              if ($11 == "-") noot = 1; else ot[k] = $11
              if (lo == "" || $9 < lo) lo = $9; if ($10 != "-" && $10 > hi) hi = $10 }
    END {
        sort(one, k1); sort(rts, k); sort(p50, k); sort(ns, k); sort(sv, k); sort(cl, k)
        if (!nosc) sort(sc, k)
        if (!noot) sort(ot, k)
        # r: the client CPU per round trip over the server one; the cores
        # the server can have: all but the client share, at most n.
        r = med(sv, k) > 0 ? med(cl, k) / med(sv, k) : 0
        avail = pin == "own" ? n : cores / (1 + r)
        ratio = k1 ? med(rts, k) / med(one, k1) : 0
        percore = med(ns, k) > 0 ? 1e9 / med(ns, k) : 0
        printf "| %d | %s | %.0f | %.0f-%.0f | %.2f | %.1f | %.1f-%.1f | %.0f | %s | %.2f | %.2f | %.2f | %s | %.0f | %s |\n",
            n, pin, med(rts, k), rts[1], rts[k], ratio, med(ns, k), ns[1], ns[k], percore,
            (nosc ? "-" : med(sc, k)), med(sv, k), (avail < n ? avail : n), med(cl, k),
            (noot ? "-" : sprintf("%.2f", med(ot, k))), med(p50, k), (n == 1 ? "-" : lo "-" hi)
    }' "$tmp/runs"
done
