#!/bin/sh
# Differential test of kvserver against redis-server:
#   tests/diff_redis.sh KVSERVER_BINARY [OPTION...]   (e.g. --threads 3)
# Starts redis-server (loopback, a free port, no persistence) and kvserver
# (another port, with the options), then tests/diff_redis_gen.py sends both
# the same seeded random command stream and compares every reply, byte for
# byte (one allowed difference, listed with its reason), then runs two
# attack scenarios on kvserver alone (hash flooding, mass expiry), asserting
# on counts, not times. kvserver must then exit 0 on SIGTERM.
# The last line is "P passed, F failed": one check per command compared,
# per scenario check, and the exit. Exits 1 on any failure.
# Without redis-server: skips (exit 0, "0 passed, 0 failed").
# Environment: DIFF_REDIS_SEED (default 1), DIFF_REDIS_COUNT (commands in the
# stream, default 5000). Needs python3. Every wait is bounded.
set -u
kv=${1:?usage: tests/diff_redis.sh KVSERVER_BINARY [OPTION...]}
shift
seed=${DIFF_REDIS_SEED:-1}
count=${DIFF_REDIS_COUNT:-5000}
if ! command -v redis-server >/dev/null 2>&1; then
    echo "skip: redis-server is not installed (Debian: apt-get install redis-server)"
    echo "0 passed, 0 failed"
    exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "FAIL: python3 is needed"
    echo "0 passed, 1 failed"
    exit 1
fi

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
kvpid="" rpid=""
cleanup() {
    for p in $kvpid $rpid; do kill -TERM "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/netlib.sh" # retry, free_port
alive() { kill -0 "$1" 2>/dev/null; }
listening() { grep -q "^listening on" "$tmp/kv.out" || test -s "$tmp/kv.rc"; }
pong() { # pong PORT: a PING on PORT is answered +PONG
    python3 - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
s.sendall(b"PING\r\n")
sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
EOF
}

# kvserver's pid lands in kv.pid (exec keeps it), its exit status in kv.rc.
(sh -c 'echo $$ >"$0"; exec "$@"' "$tmp/kv.pid" "$kv" "$@" 0 >"$tmp/kv.out" 2>"$tmp/kv.err"
 echo $? >"$tmp/kv.rc") &
retry 50 test -s "$tmp/kv.pid" && kvpid=$(cat "$tmp/kv.pid")
if [ -z "$kvpid" ] || ! retry 100 listening || ! grep -q "^listening on" "$tmp/kv.out"; then
    echo "FAIL: kvserver did not start"; cat "$tmp/kv.err"
    echo "0 passed, 1 failed"
    exit 1
fi
kvport=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/kv.out")

# A free port can be taken before redis-server binds it: try three.
for _ in 1 2 3; do
    rport=$(free_port)
    redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$tmp" --logfile "$tmp/redis.log" --daemonize no &
    rpid=$!
    retry 100 pong "$rport" && break
    kill -TERM "$rpid" 2>/dev/null
    rpid=""
done
if [ -z "$rpid" ]; then
    echo "FAIL: redis-server did not start"; tail -5 "$tmp/redis.log"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on port $rport," \
    "kvserver${*:+ $*} on port $kvport, seed $seed, $count commands"

run=""
command -v timeout >/dev/null 2>&1 && run="timeout 120"
$run python3 "$here/diff_redis_gen.py" --redis "$rport" --kv "$kvport" \
    --seed "$seed" --count "$count" --counts "$tmp/counts"
read -r passed failed <"$tmp/counts" 2>/dev/null || { passed=0 failed=1; echo "FAIL: the client did not finish"; }

kill -TERM "$kvpid"
if retry 100 test -s "$tmp/kv.rc" && [ "$(cat "$tmp/kv.rc")" = 0 ]; then
    echo "ok   kvserver exits 0 on SIGTERM"; passed=$((passed + 1))
else
    echo "FAIL kvserver exits 0 on SIGTERM (status $(cat "$tmp/kv.rc" 2>/dev/null || echo none))"
    sed 's/^/    /' "$tmp/kv.err"; failed=$((failed + 1))
fi
kvpid=""
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
