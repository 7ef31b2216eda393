#!/bin/sh
# Drives the network examples with real, independent clients over loopback:
# chat with nc, kvserver with redis-cli, redis-benchmark and nc, httpd with
# curl and nc. Each server listens on an ephemeral port, is stopped with
# SIGTERM and must exit 0 (under the sanitizers: without a leak). Every
# wait is bounded; a client tool that is missing makes its checks "skip".
#   tests/net_examples.sh [DIR [SECTION...]]   sections: chat kv kv_threads
#   race http (all by default; make tsan runs kv_threads alone)
set -u
bin=${1:-build/examples}
[ $# -gt 0 ] && shift
tmp=$(mktemp -d)
pass=0
fail=0
spawned=""

cleanup() { # what a failed check left running (timeout passes TERM on)
    for name in $spawned; do
        if ! ended "$name"; then kill -CONT "$(pid "$name")"; kill -TERM "$(pid "$name")"; fi
    done 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
skip() { echo "skip $1"; }
have() { command -v "$1" >/dev/null 2>&1; }
# Functions share one set of variables (sh has no locals): each one's are
# named after it.
check() { # check NAME COMMAND...: passes if the command succeeds
    check_name=$1; shift
    if "$@"; then ok "$check_name"; else bad "$check_name"; fi
}

. "$(dirname "$0")/netlib.sh" # retry, free_port

# spawn NAME INPUT COMMAND...: COMMAND in the background, reading INPUT,
# writing $tmp/NAME.out and .err; its pid lands in $tmp/NAME.pid (exec
# keeps it, so signals reach the command itself) and its exit status in
# $tmp/NAME.rc.
spawn() {
    spawn_name=$1 spawn_input=$2; shift 2
    rm -f "$tmp/$spawn_name.pid" "$tmp/$spawn_name.rc"
    (sh -c 'echo $$ > "$0"; exec "$@"' "$tmp/$spawn_name.pid" "$@" <"$spawn_input" \
        >"$tmp/$spawn_name.out" 2>"$tmp/$spawn_name.err"
     echo $? >"$tmp/$spawn_name.rc") &
    spawned="$spawned $spawn_name"
    retry 50 test -s "$tmp/$spawn_name.pid"
}
pid() { cat "$tmp/$1.pid"; }
ended() { test -s "$tmp/$1.rc"; }

listening_or_ended() { grep -q '^listening on' "$tmp/$1.out" || ended "$1"; }

# start NAME ARGS...: the example server; sets $port from its first line.
start() {
    start_name=$1; shift
    spawn "$start_name" /dev/null "$bin/$start_name" "$@" &&
        retry 100 listening_or_ended "$start_name" &&
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$start_name.out") &&
        [ -n "$port" ]
}

# stop NAME: SIGTERM; it must exit 0 within 10 s.
stop() {
    kill -TERM "$(pid "$1")" 2>/dev/null
    if retry 100 ended "$1" && [ "$(cat "$tmp/$1.rc")" = 0 ]; then
        ok "$1 exits 0 on SIGTERM"
    else
        bad "$1 exits 0 on SIGTERM (status $(cat "$tmp/$1.rc" 2>/dev/null || echo none))"
        sed 's/^/    /' "$tmp/$1.err"
    fi
}

# nc that sends its input (or printf's of $1, or file $1), half-closes,
# and reads until the server closes.
ncx() { timeout 10 nc -N 127.0.0.1 "$port"; }
send() { printf "$1" | ncx; }
send_file() { ncx <"$1"; }

lines() { grep -c "$1" "$2" 2>/dev/null || true; }
all_have() { # all_have PATTERN FILE...
    all_have_pattern=$1; shift
    for all_have_f in "$@"; do grep -q "$all_have_pattern" "$all_have_f" || return 1; done
}
at_least() { # at_least N PATTERN FILE...: each file has N matching lines
    at_least_n=$1 at_least_pattern=$2; shift 2
    for at_least_f in "$@"; do
        [ "$(lines "$at_least_pattern" "$at_least_f")" -ge "$at_least_n" ] || return 1
    done
}
same() { [ "$1" = "$2" ] || { printf '    got:  %s\n    want: %s\n' "$1" "$2"; return 1; }; }

# ---- chat ----------------------------------------------------------------

user_of() { sed -n 's/^\* welcome, you are \(user[0-9]*\)$/\1/p' "$tmp/$1.out"; }

chat_tests() {
    if ! start chat 0 500; then bad "chat starts"; return; fi
    spawn b /dev/null timeout 60 nc 127.0.0.1 "$port"
    spawn c /dev/null timeout 60 nc 127.0.0.1 "$port"
    check "chat greets each client" retry 100 all_have '^\* welcome' "$tmp/b.out" "$tmp/c.out"
    send 'hello from a\nsecond line\r\n' >"$tmp/a.out"
    a=$(user_of a)
    retry 100 all_have ': second line$' "$tmp/b.out" "$tmp/c.out"
    want=$(printf '%s: hello from a\n%s: second line' "$a" "$a")
    check "chat broadcasts lines to every other client, in order" \
        same "$a:$(grep "^$a:" "$tmp/b.out"):$(grep "^$a:" "$tmp/c.out")" "$a:$want:$want"
    check "chat does not echo a line to its sender" same "$(lines hello "$tmp/a.out")" 0

    # A client that stops reading (SIGSTOP, a small receive buffer) while
    # two others flood: it is cut off after 500 ms; the rest get everything.
    spawn s /dev/null nc -I 1024 127.0.0.1 "$port"
    retry 100 grep -q '^\* welcome' "$tmp/s.out"
    s=$(user_of s)
    kill -STOP "$(pid s)"
    awk 'BEGIN { for (i = 1; i <= 20000; i++) printf "flood %d %50s\n", i, "." }' >"$tmp/flood"
    spawn f1 "$tmp/flood" timeout 60 nc -N 127.0.0.1 "$port"
    spawn f2 "$tmp/flood" timeout 60 nc -N 127.0.0.1 "$port"
    retry 300 at_least 40000 ': flood' "$tmp/b.out" "$tmp/c.out"
    check "chat: the others get both floods in full" \
        same "$(lines ': flood' "$tmp/b.out") $(lines ': flood' "$tmp/c.out")" "40000 40000"
    check "chat disconnects the client that does not read ($s)" \
        grep -q "^chat: $s too slow, disconnected\$" "$tmp/chat.err"
    kill -CONT "$(pid s)"
    check "chat: the slow client's connection is closed" retry 100 ended s
    send 'still here\n' >/dev/null
    check "chat serves on after the disconnect" retry 100 grep -q ': still here$' "$tmp/b.out"
    stop chat
    check "chat exits at once on SIGTERM, with a stuck client that half-closed" \
        timeout 30 python3 "$(dirname "$0")/chat_shutdown.py" "$bin/chat"
}

# ---- kvserver --------------------------------------------------------------

# expect NAME WANT COMMAND...: the command's output (\r removed) is WANT.
expect() {
    expect_name=$1 expect_want=$2; shift 2
    expect_got=$("$@" 2>&1 | tr -d '\r')
    if [ "$expect_got" = "$expect_want" ]; then
        ok "$expect_name"
    else
        bad "$expect_name: got '$expect_got', want '$expect_want'"
    fi
}

rcli() { timeout 10 redis-cli -p "$port" "$@"; }

kv_cli_tests() {
    expect "kvserver PING" PONG rcli ping
    expect "kvserver PING with a message" hi rcli ping hi
    expect "kvserver ECHO" "hello there" rcli echo "hello there"
    expect "kvserver SET" OK rcli set foo bar
    expect "kvserver GET" bar rcli get foo
    expect "kvserver GET of a missing key: nil" "" rcli get missing
    expect "kvserver EXISTS counts keys" 1 rcli exists foo missing
    expect "kvserver DEL counts deleted keys" 1 rcli del foo missing
    expect "kvserver DEL deletes" 0 rcli exists foo
    expect "kvserver INCR creates at 1" 1 rcli incr n
    expect "kvserver INCR adds 1" 2 rcli incr n
    rcli set s abc >/dev/null
    expect "kvserver INCR of a non-integer" "ERR value is not an integer or out of range" rcli incr s
    rcli set max 9223372036854775807 >/dev/null
    expect "kvserver INCR overflow" "ERR increment or decrement would overflow" rcli incr max
    expect "kvserver SET EX 0" "ERR invalid expire time in 'set' command" rcli set k v ex 0
    expect "kvserver SET PX non-integer" "ERR value is not an integer or out of range" rcli set k v px soon
    expect "kvserver SET with EX and PX" "ERR syntax error" rcli set k v ex 1 px 1
    expect "kvserver SET with an unknown option" "ERR syntax error" rcli set k v sometimes
    expect "kvserver wrong number of arguments" "ERR wrong number of arguments for 'get' command" rcli get
    expect "kvserver unknown command" "ERR unknown command 'frobnicate'" rcli frobnicate now
    printf 'two\r\nlines' | rcli -x set bin >/dev/null
    check "kvserver values are binary-safe" same "$(rcli get bin | od -c)" "$(printf 'two\r\nlines\n' | od -c)"
    # Deadlines far enough off that a slow machine (valgrind, ASan, a loaded
    # CI host: 300 ms was not) checks before them; one wait past them all.
    rcli set px v px 2000 >/dev/null
    expect "kvserver SET PX: there before the deadline" v rcli get px
    rcli set ex v ex 100 >/dev/null
    rcli set keep v px 2000 >/dev/null
    rcli set keep w >/dev/null
    n=$(rcli dbsize)
    rcli set e1 x px 2000 >/dev/null
    rcli set e2 x px 2100 >/dev/null
    expect "kvserver DBSIZE" $((n + 2)) rcli dbsize
    sleep 2.5
    expect "kvserver: the sweeper deletes expired keys nobody reads" $((n - 1)) rcli dbsize
    expect "kvserver SET PX: gone after it" "" rcli get px
    expect "kvserver SET EX: still there" v rcli get ex
    expect "kvserver SET forgets an earlier PX" w rcli get keep
    awk 'BEGIN { for (i = 0; i < 1000; i++) printf "SET key:%d %d\r\n", i, i }' >"$tmp/sets"
    timeout 20 redis-cli -p "$port" --pipe <"$tmp/sets" >"$tmp/pipe.out" 2>&1
    check "kvserver with redis-cli --pipe (1000 SETs)" grep -q 'errors: 0, replies: 1000' "$tmp/pipe.out"
    expect "kvserver: the piped SETs are there" 999 rcli get key:999
    if have redis-benchmark; then
        timeout 60 redis-benchmark -p "$port" -q -n 4000 -c 20 -P 8 -t ping,set,get,incr >"$tmp/bench" 2>&1
        check "kvserver with redis-benchmark (20 clients, pipelines of 8)" \
            grep -q 'INCR: [0-9.]* requests per second' "$tmp/bench"
    else
        skip "kvserver with redis-benchmark (no redis-benchmark)"
    fi
}

kv_nc_tests() {
    expect "kvserver inline commands, pipelined" "$(printf '+PONG\n+PONG\n$2\nhi')" \
        send 'PING\r\nPING\r\nECHO hi\r\n'
    expect "kvserver RESP requests, pipelined" "$(printf '+PONG\n+OK\n:2\n$1\n2')" \
        send '*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\np\r\n$1\r\n1\r\n'\
'*2\r\n$4\r\nINCR\r\n$1\r\np\r\n*2\r\n$3\r\nGET\r\n$1\r\np\r\n'
    { printf '*2\r\n$4\r\nEC'; sleep 0.2; printf 'HO\r\n$5\r\nhel'; sleep 0.2; printf 'lo\r\n'; } | ncx >"$tmp/split"
    expect "kvserver: a request split across reads" "$(printf '$5\nhello')" cat "$tmp/split"
    expect "kvserver QUIT answers, then closes" "+OK" send 'QUIT\r\nPING\r\n'
    expect "kvserver: bad multibulk length, then close" "-ERR Protocol error: invalid multibulk length" \
        send '*x\r\nPING\r\n'
    expect "kvserver: too many arguments, then close" "-ERR Protocol error: invalid multibulk length" \
        send '*100000\r\nPING\r\n'
    expect "kvserver: bad bulk length, then close" "-ERR Protocol error: invalid bulk length" \
        send '*2\r\n$3\r\nGET\r\n$-5\r\nPING\r\n'
    expect "kvserver: a bulk over 8 KiB, then close" "-ERR Protocol error: invalid bulk length" \
        send '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n'
    expect "kvserver: no \$ where a bulk belongs, then close" "-ERR Protocol error: expected '\$'" \
        send '*2\r\n$3\r\nGET\r\n:1\r\nPING\r\n'
    awk 'BEGIN { for (i = 0; i < 2000; i++) printf "xxxxxxxxxx" }' >"$tmp/long"
    expect "kvserver: an inline line over 16 KiB, then close" "-ERR Protocol error: too big inline request" \
        send_file "$tmp/long"
    expect "kvserver: an unknown inline command; the connection stays" \
        "$(printf '%s\n+PONG' "-ERR unknown command 'hello'")" send 'hello world\r\nPING\r\n'
    for _ in 1 2 3 4 5; do
        head -c 65536 /dev/urandom >"$tmp/garbage"
        send_file "$tmp/garbage" >/dev/null 2>&1
    done
    expect "kvserver lives through random garbage, answers PING" "+PONG" send 'PING\r\n'
}

# fetch (a task group joined under one deadline) against kvserver: the
# values redis-cli set, in order; then, with the server stopped (SIGSTOP:
# the kernel still accepts, nobody answers), the deadline.
kv_fetch_tests() {
    rcli set fa alpha >/dev/null
    rcli set fb "two words" >/dev/null
    rcli del fmissing >/dev/null
    expect "fetch gets keys at once, in order (join all)" \
        "$(printf 'fa=alpha\nfb=two words\nfmissing missing\nfa=alpha')" \
        timeout 10 "$bin/fetch" "$port" 2000 fa fb fmissing fa
    expect "fetch agrees with redis-cli" "$(rcli get fb)" \
        sh -c "timeout 10 '$bin/fetch' '$port' 2000 fb | sed 's/^fb=//'"
    kill -STOP "$(pid kvserver)"
    expect "fetch: the deadline cancels every fetch (join timeout)" \
        "fetch: timed out after 300 ms" timeout 10 "$bin/fetch" "$port" 300 fa fb
    check "fetch exits 1 on its deadline" sh -c "! timeout 10 '$bin/fetch' '$port' 100 fa 2>/dev/null"
    kill -CONT "$(pid kvserver)"
}

kv_tests() {
    if ! start kvserver 0; then bad "kvserver starts"; return; fi
    if have redis-cli; then
        kv_cli_tests
        kv_fetch_tests
    else
        skip "kvserver with redis-cli (no redis-cli: Debian package redis-tools)"
    fi
    if have nc; then kv_nc_tests; else skip "kvserver with nc (no nc)"; fi
    stop kvserver
}

# kvserver --threads 2: two I/O threads around the one store thread. Every
# INCR of redis-benchmark's 50 clients on its one counter counts once (each
# command runs whole, on the store thread); replies stay in order and a
# protocol error comes after the replies before it; SIGTERM in the middle
# of a benchmark (connections waiting for the store) ends it with status 0;
# both threads served some of the 250 and more connections (each prints its
# count on stderr: the kernel spreads them by address and port).
kv_threads_tests() {
    if ! start kvserver --threads 2 0; then bad "kvserver --threads 2 starts"; return; fi
    if have nc; then
        expect "kvserver --threads 2: RESP and inline requests, pipelined" \
            "$(printf '+PONG\n+OK\n:2\n$1\n2\n+PONG')" \
            send '*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\np\r\n$1\r\n1\r\n'\
'*2\r\n$4\r\nINCR\r\n$1\r\np\r\nGET p\r\nPING\r\n'
        expect "kvserver --threads 2: a protocol error after the replies before it, then close" \
            "$(printf '+PONG\n-ERR Protocol error: expected %s' "'\$'")" send 'PING\r\n*1\r\n:1\r\nPING\r\n'
        expect "kvserver --threads 2: QUIT answers, then closes" "$(printf '$1\n2\n+OK')" \
            send 'GET p\r\nQUIT\r\nPING\r\n'
    fi
    if ! have redis-cli || ! have redis-benchmark; then
        skip "kvserver --threads 2 with redis-benchmark (no redis-cli or redis-benchmark)"
        stop kvserver
        return
    fi
    timeout 60 redis-benchmark -p "$port" -q -n 10000 -c 50 -P 16 -t ping,set,get,incr >"$tmp/bench" 2>&1
    check "kvserver --threads 2 with redis-benchmark (50 clients, pipelines of 16)" \
        grep -q 'INCR: [0-9.]* requests per second' "$tmp/bench"
    expect "kvserver --threads 2: 10000 INCRs from 50 clients, each counted once" 10000 \
        rcli get counter:__rand_int__
    spawn load /dev/null timeout 60 redis-benchmark -p "$port" -q -n 10000000 -c 50 -P 16 \
        -r 1000000 -t set
    retry 100 sh -c "[ \"\$(timeout 10 redis-cli -p $port dbsize)\" -gt 10 ]"
    stop kvserver
    kill -TERM "$(pid load)" 2>/dev/null
    retry 100 ended load
    sed -n 's/^kvserver: thread \([0-9]*\) served \([0-9]*\) connections$/\1 \2/p' "$tmp/kvserver.err" \
        >"$tmp/served"
    check "kvserver --threads 2: both I/O threads served connections ($(tr '\n' ' ' <"$tmp/served"))" \
        same "$(awk '$2 > 0 { print $1 }' "$tmp/served" | tr '\n' ' ')" "1 2 "
}

# ---- race: connects raced in a task group (join first) ---------------------

race_tests() {
    if ! start echo_server 0; then bad "echo_server starts"; return; fi
    expect "race: 127.0.0.1 wins, the later ::1 attempt is cancelled first" \
        "$(printf 'race: ::1: out of the race\nconnected to 127.0.0.1\nreply: hello from race')" \
        timeout 10 "$bin/race" "$port" 100
    check "race: ::1 steps aside (refused or unreachable), 127.0.0.1 wins" \
        sh -c "timeout 10 '$bin/race' '$port' 50 ::1 127.0.0.1 2>/dev/null | grep -qx 'connected to 127.0.0.1'"
    stop echo_server
    race_port=$(free_port)
    expect "race: nothing listens: every attempt steps aside, exit 1" \
        "$(printf 'race: 127.0.0.1: Connection refused\nrace: 127.0.0.1: out of the race\nexit 1')" \
        sh -c "(timeout 10 '$bin/race' '$race_port' 0 127.0.0.1 2>&1; echo exit \$?) | grep -v 'task racer'"
}

# ---- httpd -----------------------------------------------------------------

code() { timeout 10 curl -s -o "$tmp/body" -w '%{http_code}' "$@"; }
refused() { { [ "$1" = 403 ] || [ "$1" = 404 ]; } && ! grep -q secret "$tmp/body"; }
header_is() { tr -d '\r' <"$1" | grep -q "^$2\$"; }

http_curl_tests() {
    u=http://127.0.0.1:$port
    check "httpd GET: 200 and the file" same "$(code -D "$tmp/head" "$u/a.txt") $(cat "$tmp/body")" "200 alpha"
    check "httpd GET: Content-Length" header_is "$tmp/head" "Content-Length: 6"
    check "httpd GET: a large file: 200" same "$(code "$u/big.txt")" 200
    check "httpd GET: a large file, byte for byte" cmp -s "$tmp/body" "$tmp/www/big.txt"
    check "httpd GET: a directory gives its index.html" same "$(code "$u/") $(cat "$tmp/body")" "200 <p>index</p>"
    check "httpd GET /hello" same "$(code "$u/hello") $(cat "$tmp/body")" "200 Hello, world!"
    timeout 10 curl -sI "$u/a.txt" >"$tmp/head"
    check "httpd HEAD: the headers of a GET" header_is "$tmp/head" "Content-Length: 6"
    timeout 10 curl -sv "$u/a.txt" "$u/sub/b.txt" -o "$tmp/b1" -o "$tmp/b2" 2>"$tmp/verbose"
    check "httpd keep-alive: curl re-uses the connection" grep -q 'Re-using existing connection' "$tmp/verbose"
    check "httpd keep-alive: both files" same "$(cat "$tmp/b1" "$tmp/b2")" "$(printf 'alpha\nbeta')"
    check "httpd 404" same "$(code "$u/nothing-here")" 404
    check "httpd 405 for POST" same "$(code -X POST "$u/a.txt")" 405
    check "httpd 405 for POST with a body" same "$(code -d 'x=1' "$u/a.txt")" 405
    timeout 10 curl -s -D "$tmp/head" -o /dev/null -X DELETE "$u/a.txt"
    check "httpd 405 for DELETE, with Allow" header_is "$tmp/head" "Allow: GET, HEAD"
    check "httpd 431 for a head over 8 KiB" \
        same "$(code -H "X-Big: $(awk 'BEGIN { for (i = 0; i < 900; i++) printf "xxxxxxxxxx" }')" "$u/a.txt")" 431
    for path in /../secret.txt /%2e%2e/secret.txt /sub/../../secret.txt /sub/%2E%2E/%2e%2e/secret.txt; do
        c=$(code --path-as-is "$u$path")
        check "httpd refuses $path ($c)" refused "$c"
    done
}

# The first line, or the last, of the answer to a request sent with nc.
first() { send "$1" | tr -d '\r' | head -1; }
last() { send "$1" | tr -d '\r' | tail -1; }

http_nc_tests() {
    check "httpd 400 for garbage" same "$(first 'garbage\r\n\r\n')" "HTTP/1.1 400 Bad Request"
    check "httpd 400 for HTTP/1.1 without Host" same "$(first 'GET / HTTP/1.1\r\n\r\n')" "HTTP/1.1 400 Bad Request"
    check "httpd 400 for a header without a colon" \
        same "$(first 'GET / HTTP/1.1\r\nHost: x\r\nnonsense\r\n\r\n')" "HTTP/1.1 400 Bad Request"
    check "httpd 505 for HTTP/2.0" same "$(first 'GET / HTTP/2.0\r\n\r\n')" "HTTP/1.1 505 HTTP Version Not Supported"
    send 'GET /a.txt HTTP/1.0\r\n\r\n' >"$tmp/head"
    check "httpd HTTP/1.0: answered, then closed" header_is "$tmp/head" "Connection: close"
    check "httpd HEAD sends no body" same "$(last 'HEAD /a.txt HTTP/1.0\r\n\r\n')" ""
    send 'GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /sub/b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
        tr -d '\r' >"$tmp/two"
    check "httpd pipelined requests, answered in order" \
        same "$(lines '^HTTP/1.1 200 OK$' "$tmp/two") $(grep -e '^alpha$' -e '^beta$' "$tmp/two" |
            tr '\n' ' ')" "2 alpha beta "
    check "httpd closes an idle connection (after 1 s here)" timeout 5 nc 127.0.0.1 "$port" </dev/null
}

http_tests() {
    mkdir -p "$tmp/www/sub"
    echo alpha >"$tmp/www/a.txt"
    echo beta >"$tmp/www/sub/b.txt"
    echo '<p>index</p>' >"$tmp/www/index.html"
    echo secret >"$tmp/secret.txt"
    awk 'BEGIN { for (i = 0; i < 20000; i++) printf "%08d a line of a large file\n", i }' >"$tmp/www/big.txt"
    if ! start httpd 0 "$tmp/www" 1000; then bad "httpd starts"; return; fi
    if have curl; then http_curl_tests; else skip "httpd with curl (no curl)"; fi
    if have nc; then http_nc_tests; else skip "httpd with nc (no nc)"; fi
    stop httpd
}

for section in ${*:-chat kv kv_threads race http}; do
    case $section in
    chat) if have nc; then chat_tests; else skip "chat (no nc)"; fi ;;
    kv) kv_tests ;;
    kv_threads) kv_threads_tests ;;
    race) race_tests ;;
    http) http_tests ;;
    *) bad "no section $section" ;;
    esac
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ] || { echo "net examples: FAILED"; exit 1; }
