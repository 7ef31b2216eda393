#!/bin/sh
# Runs the example programs and compares their output with what the seed
# prints (the children example) or what the virtual clock makes exact.
set -eu
bin=${1:-build/examples}
fail=0
pass=0

check() {
    name=$1; shift
    expected=$(cat)
    if actual=$("$@" 2>&1) && [ "$actual" = "$expected" ]; then
        echo "ok   $name"; pass=$((pass + 1))
    else
        echo "FAIL $name"; echo "--- expected"; echo "$expected"; echo "--- actual"; echo "$actual"
        fail=1
    fi
}

# Lookups on worker threads: numeric names resolve without a resolver, an
# empty one fails at once; with each lookup slowed past the timeout, the
# tasks time out while the workers finish and free the results.
check "resolve (getaddrinfo offloaded)" sh -c '"$0" 127.0.0.1 ::1 ""; echo "exit $?"' "$bin/resolve" <<'OUT'
127.0.0.1: 127.0.0.1
::1: ::1
: Name or service not known
exit 1
OUT
check "resolve: timeouts leave the lookups to finish" sh -c '"$0" --workers 2 --timeout 20 --slow 200 127.0.0.1 ::1; echo "exit $?"' "$bin/resolve" <<'OUT'
127.0.0.1: timed out after 20 ms
::1: timed out after 20 ms
resolve: 2 timed-out lookup(s) finished later; results freed
exit 1
OUT

check printer "$bin/printer" 2 <<'OUT'
hello
goodbye
hello
goodbye
OUT

check children "$bin/children" <<'OUT'
None
1
(2, 3)
caught exception: foo
OUT

check sleepers "$bin/sleepers" --virtual <<'OUT'
  250 ms  fast 1
  300 ms  slow job: cancelled, cleaning up
  300 ms  impatient: timed out (MT_ETIMEDOUT)
  400 ms  slow 1
  500 ms  fast 2
  750 ms  fast 3
  800 ms  slow 2
 1000 ms  fast 4
 1200 ms  slow 3
OUT

check worker "$bin/worker" --virtual <<'OUT'
   10 ms  worker: normal job 1
   60 ms  worker: normal job 2
  100 ms  worker: urgent job 101
  140 ms  worker: urgent job 102
  180 ms  worker: normal job 3
  220 ms  worker: normal job 4
  560 ms  worker: idle for 300 ms
  700 ms  worker: normal job 5
  740 ms  worker: normal job 6
  760 ms  stop
  780 ms  worker: stopped after 8 jobs (0 urgent, 0 normal left)
OUT

check queue "$bin/queue" <<'OUT'
sender: sends 10
sender: sends 20
receiver: got 10
sender: sends 30
receiver: got 20
receiver: got 30
-- pipeline, queues of 2 --
producer: queued 1 (1 waiting)
producer: queued 2 (2 waiting)
printer: 1
producer: queued 3 (0 waiting)
producer: queued 4 (1 waiting)
producer: queued 5 (1 waiting)
producer: queued 6 (2 waiting)
printer: 4
printer: 9
printer: 16
printer: 25
printer: 36
OUT

# Start the echo server (idle timeout $1 ms) on a free port: sets srv,
# port, and out/err, the files its stdout and stderr go to.
start_echo_server() {
    out=$(mktemp)
    err=$(mktemp)
    "$bin/echo_server" 0 "$1" > "$out" 2> "$err" &
    srv=$!
    for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q listening "$out" && break; sleep 0.1; done
    port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$out")
}

# The echo server driven by real clients over loopback: our client (50
# connections x 200 messages, every echo checked), nc if installed, an
# idle connection timed out, then SIGTERM: a clean exit.
start_echo_server 300
if "$bin/echo_client" "$port" 50 200 | grep -q '10000 echoes verified, 0 connections failed'; then
    echo "ok   echo_server with echo_client"; pass=$((pass + 1))
else
    echo "FAIL echo_server with echo_client"; fail=1
fi
if command -v nc >/dev/null 2>&1; then
    got=$(printf 'hello\nworld\n' | timeout 5 nc -q 1 127.0.0.1 "$port" 2>/dev/null || printf 'hello\nworld\n' | timeout 5 nc -N 127.0.0.1 "$port")
    if [ "$got" = "$(printf 'hello\nworld')" ]; then echo "ok   echo_server with nc"; pass=$((pass + 1)); else echo "FAIL echo_server with nc: '$got'"; fail=1; fi
fi
kill -TERM "$srv"
if wait "$srv"; then echo "ok   echo_server exits cleanly on SIGTERM"; pass=$((pass + 1)); else echo "FAIL echo_server exit"; fail=1; fi
rm -f "$out" "$err"

# SIGUSR1: a task dump on stderr, one line per task, while a client idles
# (a second server, with a long idle timeout so the client stays).
start_echo_server 10000
idle=
if command -v nc >/dev/null 2>&1; then
    sleep 5 | nc 127.0.0.1 "$port" >/dev/null 2>&1 &
    idle=$!
    sleep 0.5
fi
kill -USR1 "$srv"
for _ in 1 2 3 4 5 6 7 8 9 10; do grep -q '^dumper' "$err" && break; sleep 0.1; done
if grep -q '^listener  waiting  examples/echo_server.c:[0-9]*  fd [0-9]* read  no timeout$' "$err" &&
   grep -q '^stopper  waiting  examples/echo_server.c:[0-9]*  signal 0x[0-9a-f]*  no timeout$' "$err" &&
   grep -q '^dumper  running  examples/echo_server.c:[0-9]*  -$' "$err" &&
   { [ -z "$idle" ] || grep -q '^handler  waiting  examples/echo_server.c:[0-9]*  fd [0-9]* read  [0-9]* ms left$' "$err"; }; then
    echo "ok   echo_server dumps its tasks on SIGUSR1"; pass=$((pass + 1))
else
    echo "FAIL echo_server dump on SIGUSR1:"; cat "$err"; fail=1
fi
[ -n "$idle" ] && kill "$idle" 2>/dev/null
kill -TERM "$srv"
if wait "$srv"; then echo "ok   echo_server exits cleanly after the dump"; pass=$((pass + 1)); else echo "FAIL echo_server exit after the dump"; cat "$err"; fail=1; fi
rm -f "$out" "$err"

[ $fail = 0 ] && echo "$pass passed, 0 failed" || { echo "examples: FAILED"; exit 1; }
