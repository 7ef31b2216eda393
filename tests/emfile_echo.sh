#!/bin/sh
# The echo server rides out descriptor exhaustion: run with `ulimit -n 32`,
# it is sent more connections at once than it can hold (60, each with a
# line to echo). It must echo on those it could take, leave the rest waiting
# in the backlog rather than drop them, serve every one of them as the
# client closes the answered ones, then still accept and echo a new
# connection, and exit 0 on SIGTERM. (A listener that let accept's EMFILE
# end it closed the listening socket: the waiting connections were reset,
# new ones refused, and the process ended with the last open connection.)
# Usage: tests/emfile_echo.sh [BIN_DIR]   (default build/examples)
# Needs python3 (without it: says so, "0 passed, 0 failed", exit 0). Every
# wait is bounded; it takes a few seconds.
set -u
bin=${1:-build/examples}
command -v python3 >/dev/null 2>&1 || { echo "emfile_echo: no python3: skipped"; echo "0 passed, 0 failed"; exit 0; }
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The server with at most 32 descriptors (stdin/out/err and the listener
# among them) and a long idle timeout: only our closes end connections.
: >"$tmp/out"
sh -c 'ulimit -n 32 && exec "$0" 0 20000' "$bin/echo_server" >"$tmp/out" 2>"$tmp/err" &
pid=$!
port=
for _ in $(seq 50); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/out")
    [ -n "$port" ] && break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "FAIL echo_server starts"; sed 's/^/    /' "$tmp/err"; echo "0 passed, 1 failed"; exit 1
fi

python3 - "$port" "$pid" "$tmp/counts" <<'PY'
import os, selectors, socket, sys, time

port, pid, counts = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
N = 60
passed = failed = 0

def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + name)
    else:
        failed += 1
        print("FAIL " + name + (": " + detail if detail else ""))

def alive():
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False

def wait_echoes(conns, seconds):
    """Read from conns (index -> [socket, expected, got]) until each has its
    echo, fails, or `seconds` pass. Returns (echoed, failed) index sets."""
    sel = selectors.DefaultSelector()
    for i, c in conns.items():
        sel.register(c[0], selectors.EVENT_READ, i)
    echoed, broken, end = set(), set(), time.monotonic() + seconds
    while len(echoed) + len(broken) < len(conns) and time.monotonic() < end:
        for key, _ in sel.select(max(0.0, end - time.monotonic())):
            i, c = key.data, conns[key.data]
            try:
                data = c[0].recv(4096)
            except OSError:
                data = b""
            if not data:
                broken.add(i)  # reset or closed: it will not be echoed
                sel.unregister(c[0])
                continue
            c[2] += data
            if c[2] == c[1]:
                echoed.add(i)
                sel.unregister(c[0])
    sel.close()
    return echoed, broken

# 60 connections at once: the kernel queues those the server cannot take.
conns, refused = {}, 0
for i in range(N):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        line = b"connection %d\n" % i
        s.sendall(line)
        conns[i] = [s, line, b""]
    except OSError:
        refused += 1  # the listening socket is gone
echoed, broken = wait_echoes(conns, 2.0)
broken |= set(range(refused))  # (only their number counts)
check("descriptors run out: %d of %d connections echoed at first, none dropped" % (len(echoed), N),
      0 < len(echoed) < N and not broken,
      "%d echoed, %d reset or closed" % (len(echoed), len(broken)))

# Close the answered ones, round after round: the waiting ones must be
# taken in their turn and echoed.
served, lost, end = set(echoed), set(broken), time.monotonic() + 20
while len(served) + len(lost) < N and time.monotonic() < end:
    for i in echoed:
        conns[i][0].close()
    waiting = {i: c for i, c in conns.items() if i not in served and i not in lost}
    echoed, broken = wait_echoes(waiting, 1.5)
    served |= echoed
    lost |= broken
for i in conns:
    conns[i][0].close()
check("every waiting connection is served as others close (%d of %d)" % (len(served), N),
      len(served) == N, "%d reset or closed unanswered" % len(lost))

# A new connection afterwards.
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.sendall(b"after the storm\n")
    got, end = b"", time.monotonic() + 3
    while got != b"after the storm\n" and time.monotonic() < end:
        data = s.recv(4096)
        if not data:
            break
        got += data
    s.close()
    check("a new connection afterwards is echoed", got == b"after the storm\n", repr(got))
except OSError as e:
    check("a new connection afterwards is echoed", False, str(e))
check("the server is still running", alive())
with open(counts, "w") as f:
    f.write("%d %d\n" % (passed, failed))
PY
if [ -s "$tmp/counts" ]; then
    read -r pass fail <"$tmp/counts"
else
    pass=0 fail=1; echo "FAIL the client ran to its end"
fi

# SIGTERM: a clean exit.
kill -TERM "$pid" 2>/dev/null
wait "$pid"
status=$?
pid=
if [ "$status" = 0 ]; then
    echo "ok   echo_server exits 0 on SIGTERM"; pass=$((pass + 1))
else
    echo "FAIL echo_server exits 0 on SIGTERM (status $status)"; fail=$((fail + 1))
fi
if [ "$fail" != 0 ]; then
    echo "echo_server's stderr:"; sed 's/^/    /' "$tmp/err"
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
