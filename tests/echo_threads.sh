#!/bin/sh
# The echo server's threads (--threads N): N threads, each with its own
# scheduler and listening socket, all on one ephemeral port (SO_REUSEPORT).
# For N = 2 and 4, at once: echo_client's 200 connections (50 messages
# each, every echo checked) and 20 nc clients (100 lines each, compared
# byte for byte). Then every thread must have accepted connections: the
# kernel picks a socket by a hash of each connection's addresses, so with
# 220 connections the chance that a thread gets none is 4 x (3/4)^220 for
# N = 4 (about 1e-27): a failure means the port is not shared. SIGUSR1
# dumps every thread's scheduler; SIGTERM ends every thread (each posted
# its own signal), they are joined, the per-thread counts (written after
# the joins) add up, and the exit status is 0. Then --demo on 3 threads.
# A build without threads (MT_THREADS 0, or no SO_REUSEPORT) refuses
# --threads 2: the checks are skipped, saying so. Every wait is bounded;
# it takes a second or two.
# Usage: tests/echo_threads.sh [BIN_DIR]   (default build/examples)
set -u
bin=${1:-build/examples}
tmp=$(mktemp -d)
pass=0
fail=0
srv=
cleanup() {
    [ -n "$srv" ] && kill -TERM "$srv" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/netlib.sh" # retry

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
check() { # check NAME COMMAND...
    check_name=$1; shift
    if "$@"; then ok "$check_name"; else bad "$check_name"; fi
}

timeout 10 "$bin/echo_server" --threads 2 --demo >/dev/null 2>"$tmp/probe"
if grep -q 'built without threads' "$tmp/probe"; then
    echo "skip echo_server --threads (built without threads)"
    echo "0 passed, 0 failed"
    exit 0
fi

# nc that sends its input, half-closes and reads until the server closes.
ncx() { timeout 10 nc -N 127.0.0.1 "$port" 2>/dev/null; }

listening() { grep -q '^listening on' "$tmp/out"; }
counts() { sed -n 's/^echo_server: thread \([0-9]*\): \([0-9]*\) connections$/\1 \2/p' "$tmp/err"; }
# N lines, threads 0 to N-1, each with more than 0 connections.
all_served() {
    counts | awk -v n="$1" '$1 == NR - 1 && $2 > 0 { k++ } END { exit !(k == n && NR == n) }'
}
total() { counts | awk '{ s += $2 } END { print s + 0 }'; }
dumped() { # each thread's dump: its header, then its listener
    [ "$(grep -c '^thread [0-9]*:$' "$tmp/err")" = "$1" ] &&
        [ "$(grep -c '^listener  waiting  examples/echo_server.c:[0-9]*  fd [0-9]* read  no timeout$' \
            "$tmp/err")" = "$1" ]
}

threads_run() {
    n=$1
    : >"$tmp/out"
    "$bin/echo_server" --threads "$n" 0 2000 >"$tmp/out" 2>"$tmp/err" &
    srv=$!
    port=
    retry 100 listening && port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/out")
    if [ -z "$port" ]; then bad "echo_server --threads $n starts"; sed 's/^/    /' "$tmp/err"; return; fi
    timeout 30 "$bin/echo_client" "$port" 200 50 >"$tmp/client" 2>&1 &
    client=$!
    ncs=0 ncpids=
    if command -v nc >/dev/null 2>&1; then
        for k in $(seq 20); do
            awk -v k="$k" 'BEGIN { for (i = 1; i <= 100; i++) printf "nc %d line %d of the threaded test\n", k, i }' \
                >"$tmp/in.$k"
            ncx <"$tmp/in.$k" >"$tmp/got.$k" &
            ncpids="$ncpids $!"
        done
        ncs=20
    fi
    wait "$client"
    check "echo_server --threads $n: echo_client, 200 connections, every echo verified" \
        grep -q '^200 connections x 50 messages: 10000 echoes verified, 0 connections failed$' "$tmp/client"
    for p in $ncpids; do wait "$p"; done # each bounded by its timeout
    if [ "$ncs" = 20 ]; then
        same=0
        for k in $(seq 20); do cmp -s "$tmp/in.$k" "$tmp/got.$k" && same=$((same + 1)); done
        check "echo_server --threads $n: 20 nc clients at once, every byte echoed ($same of 20)" [ "$same" = 20 ]
    else
        echo "skip echo_server --threads $n with nc (no nc)"
    fi
    kill -USR1 "$srv" 2>/dev/null
    check "echo_server --threads $n: SIGUSR1 dumps each thread's tasks" retry 50 dumped "$n"
    kill -TERM "$srv" 2>/dev/null
    status=0
    wait "$srv" || status=$?
    srv=
    check "echo_server --threads $n: SIGTERM stops every thread, exit 0 (status $status)" [ "$status" = 0 ]
    check "echo_server --threads $n: every thread accepted connections ($(counts | awk '{ printf "%s%s", (NR > 1 ? " " : ""), $2 }'))" \
        all_served "$n"
    check "echo_server --threads $n: the threads' counts add up to $((200 + ncs)) ($(total))" \
        [ "$(total)" = $((200 + ncs)) ]
    [ "$fail" = 0 ] || sed 's/^/    /' "$tmp/err"
}

threads_run 2
threads_run 4

demo_lines() { grep -c '^client \([123]\) got back: client \1, line [12]$' "$tmp/out"; }
timeout 10 "$bin/echo_server" --threads 3 --demo >"$tmp/out" 2>"$tmp/err"
status=$?
check "echo_server --threads 3 --demo: the three clients' six lines ($(demo_lines)), exit 0 (status $status)" \
    [ "$status:$(demo_lines)" = 0:6 ]

echo "$pass passed, $fail failed"
[ "$fail" = 0 ] || { echo "echo_server threads: FAILED"; exit 1; }
