#!/usr/bin/env bash
# make bench: one report of the six parts, each beside its baselines
# measured in the same run, to the terminal and OUT/latest.md, with the echo
# plot in OUT/echo.png. Parts that measure memory or CPU time run in
# processes of their own, so nothing else counts in them.
# Usage: run.sh BENCH_BIN OUT [SCALE] [ECHO_MS] [ECHO_REPS]
set -euo pipefail
b=$1
out=$2
scale=${3:-1}
scale=${scale:-1}
ms=${4:-2000}
reps=${5:-3}
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

commit() {
    local c
    if c=$(git rev-parse --short HEAD 2>/dev/null); then
        git diff --quiet HEAD -- multitask.c multitask.h || c="$c + uncommitted library changes"
        echo "$c"
    else
        echo "-"
    fi
}

machine() {
    local model
    model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    echo "| machine | |"
    echo "|---|---|"
    echo "| uname -m | $(uname -m) (Linux $(uname -r)) |"
    echo "| nproc | $(nproc) |"
    echo "| CPU | ${model:-unknown} |"
    echo "| compiler | $($cc --version | head -n 1) |"
    echo "| libuv | $(dpkg-query -W -f='${Version}' libuv1-dev 2>/dev/null || pkg-config --modversion libuv 2>/dev/null || echo installed) |"
    echo "| commit | $(commit) |"
    echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
}

# The real-clock timer lines of bench_core and uv_timers as one table.
timers() {
    awk '
    { lib[NR] = $1; n[NR] = $2; cpu[NR] = $3; lo[NR] = $4; hi[NR] = $5
      p50[NR] = $6; p99[NR] = $7; wall[NR] = $8
      if ($1 == "libuv") uv[$2] = $3 }
    END {
        print "| library | timers | CPU ns per timer, median | spread | ratio to libuv | lateness p50 us | lateness p99 us | wall ms |"
        print "|---|---|---|---|---|---|---|---|"
        for (k = 1; k <= NR; k++) {     # each size once, its rows together
            if (n[k] in done)
                continue
            done[n[k]] = 1
            for (i = k; i <= NR; i++)
                if (n[i] == n[k])
                    printf "| %s | %d | %.1f | %.1f-%.1f | %.2f | %d | %d | %d |\n", lib[i], n[i],
                        cpu[i], lo[i], hi[i], uv[n[i]] ? cpu[i] / uv[n[i]] : 0, p50[i], p99[i], wall[i]
        }
    }' "$@"
}

plot() {
    if ! command -v gnuplot >/dev/null 2>&1; then
        echo "skip plot (gnuplot not installed)"
        return
    fi
    local term=png last
    gnuplot -e 'set terminal pngcairo' >/dev/null 2>&1 && term=pngcairo
    # One line per server: the data has 6 columns per server after the first.
    last=$(awk 'NR == 2 { print (NF - 1) / 6 - 1 }' "$tmp/echo.dat")
    gnuplot <<EOF
set terminal $term size 1200,520
set output '$out/echo.png'
set multiplot layout 1,2 title 'Echo over loopback TCP, 64-byte messages (median and spread of $reps runs)'
set xlabel 'connections'
set logscale x
set xrange [0.7:1500]
set grid
set key left top
set title 'round trips per second'
set yrange [0:*]
set format y '%.0s%c'
plot for [i=0:$last] '$tmp/echo.dat' using 1:(column(2+6*i)):(column(3+6*i)):(column(4+6*i)) \
    with yerrorlines linewidth 2 title columnhead(2+6*i)
set title 'server CPU us per round trip (lower is better)'
set key right top
set logscale y
set yrange [*:*]
set format y '%g'
plot for [i=0:$last] '$tmp/echo.dat' using 1:(column(5+6*i)):(column(6+6*i)):(column(7+6*i)) \
    with yerrorlines linewidth 2 title columnhead(2+6*i)
unset multiplot
EOF
    echo "plot: $out/echo.png"
}

report() {
    echo "# multitask benchmarks (make bench)"
    echo
    local sizes="full sizes"
    [ "$scale" = 1 ] || sizes="sizes divided by $scale"
    echo "Medians of $REPS_CORE repetitions (echo: $reps) with the spread (min-max); every ratio is"
    echo "between figures measured in this run; $sizes, echo runs of $ms ms."
    echo
    machine
    echo
    "$b/bench_core" yield "$scale"
    echo "### Instructions per operation"
    echo
    echo "callgrind: each operation run N and 2N times, (Ir(2N) - Ir(N)) / N; exact, whatever the"
    echo "machine's load (bench/ir.sh)."
    echo
    bench/ir.sh "$b/ir_ops" $(( 20000 / scale > 1000 ? 20000 / scale : 1000 ))
    echo
    "$b/bench_core" spawn "$scale"
    "$b/bench_core" mem "$scale"
    "$b/bench_core" handoff "$scale"
    echo "### 4. Timers"
    echo
    echo "Real clock: tasks (libuv: timers) each sleeping a random 0-100 ms, the same durations"
    echo "for both; CPU time (getrusage) of setup and run per timer; lateness is the wake-up's"
    echo "time minus the deadline the scheduler computed. All deadlines count from when arming"
    echo "began, so lateness includes the time to arm them all: at 1,000,000 that is longer than"
    echo "the 100 ms range, and lateness there mostly measures the setup."
    echo
    "$b/bench_core" rtimers "$scale" > "$tmp/timers"
    "$b/uv_timers" "$scale" >> "$tmp/timers"
    timers "$tmp/timers"
    echo
    "$b/bench_core" vtimers "$scale"
    echo "### 5. Echo over loopback TCP"
    echo
    echo "64-byte messages, each connection a closed loop; server on core 0, load client on core 1;"
    echo "counted for $ms ms once every connection has had its first echo. Our servers time each"
    echo "read out after 30 s idle (a timer per read); *no timeout* is the epoll one without. Over"
    echo "the window: the server's CPU time (all its threads) and its system calls (the"
    echo "raw_syscalls:sys_enter tracepoint, as perf stat counts them; \"-\" where that is not"
    echo "permitted)."
    echo
    bench/echo_bench.sh "$b" "$ms" "$reps" "$tmp/echo.dat"
    echo
    echo "Round trips/s against connections: [echo.png](echo.png)."
    echo
    echo "### 6. Echo on threads"
    echo
    echo "The epoll echo server on 1, 2, 4, ... threads up to nproc (a scheduler and a SO_REUSEPORT"
    echo "socket per thread), under pipelined load (bench/echo_threads.sh, bench/README.md). Where"
    echo "server and client cannot have cores of their own they share them: *server cores possible*"
    echo "is what the client's CPU share leaves the server."
    echo
    bench/echo_threads.sh "$b" "$ms" "$reps"
}

REPS_CORE=5
report | tee "$tmp/latest.md"
cp "$tmp/latest.md" "$out/latest.md"
echo
plot
echo "report: $out/latest.md"
