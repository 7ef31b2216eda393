#!/bin/sh
# The example servers against real ones, in the same run: kvserver against
# redis-server under redis-benchmark (PING, SET, GET; 50 clients; without
# and with pipelines of 16), httpd against nginx (and python3's
# http.server, a weak baseline: HTTP/1.0, a connection per request) under
# wrk. Servers are pinned to core 0 and the load to core 1; the load
# generator may saturate its core, so the figure that separates servers is
# the server's CPU time per request (/proc/PID/stat), beside the rate and
# the median latency. A missing tool or server skips its rows.
# Usage: servers_bench.sh EXAMPLES_DIR [REQUESTS] [WRK_SECONDS]
set -u
b=$1
n=${2:-200000}
secs=${3:-5}
tmp=$(mktemp -d)
srv=
trap 'if [ -n "$srv" ]; then kill -KILL "$srv" 2>/dev/null; fi; rm -rf "$tmp"' EXIT
hz=$(getconf CLK_TCK)
have() { command -v "$1" >/dev/null 2>&1; }
pin() { if have taskset; then taskset -c "$@"; else shift; "$@"; fi; }
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# serve NAME COMMAND...: start a server on core 0 (its pid in $srv) and
# wait until `port_open` says it listens on $port.
serve() {
    serve_name=$1; shift
    if have taskset; then
        taskset -c 0 "$@" >"$tmp/$serve_name.out" 2>&1 &
    else
        "$@" >"$tmp/$serve_name.out" 2>&1 &
    fi
    srv=$! # the server's own pid (taskset execs it): its CPU time is in /proc
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do
        if [ -z "$port" ]; then
            port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$serve_name.out")
        fi
        if [ -n "$port" ] && port_open; then return 0; fi
        sleep 0.1
    done
    echo "$serve_name did not start" >&2
    return 1
}
port_open() {
    if have nc; then nc -z 127.0.0.1 "$port" 2>/dev/null; else sleep 0.5; fi
}
unserve() {
    kill -TERM "$srv" 2>/dev/null
    wait "$srv" 2>/dev/null
    srv=
}

# A free loopback port: our kvserver finds one (port 0) and gives it back.
free_port() {
    port=
    serve probe "$b/kvserver" 0 || return 1
    unserve
}

# Microseconds of CPU per request: per_request CPU_TICKS REQUESTS
per_request() { awk -v c="$1" -v hz="$hz" -v r="$2" 'BEGIN { printf "%.4f", r ? c / hz * 1e6 / r : 0 }'; }

# row LOAD SERVER RPS P50_MS CPU_TICKS REQUESTS BASELINE_US: the baseline
# is "self" for the real server, empty if it did not run.
row() {
    us=$(per_request "$5" "$6")
    ratio=$(awk -v a="$us" -v r="$7" 'BEGIN {
        if (r == "self") printf "1.00"; else if (r > 0) printf "%.2f", a / r; else printf "-" }')
    printf '| %s | %s | %s | %s | %.2f | %s |\n' "$1" "$2" "$3" "$4" "$us" "$ratio"
}

printf '| load | server | requests/s | p50 ms | server CPU us per request | CPU ratio to the real server |\n'
printf '|---|---|---|---|---|---|\n'

# ---- kvserver and redis-server under redis-benchmark ----
if have redis-benchmark; then
    for pipe in 1 16; do
        reqs=$n
        [ "$pipe" = 1 ] || reqs=$((n * 10))
        for test in ping_mbulk set get; do
            base=
            for server in redis-server kvserver; do
                if [ "$server" = redis-server ]; then
                    have redis-server || continue
                    free_port || continue
                    serve redis redis-server --port "$port" --bind 127.0.0.1 \
                        --save '' --appendonly no || continue
                else
                    port=
                    serve kvserver "$b/kvserver" 0 || continue
                fi
                c0=$(cpu "$srv")
                pin 1 redis-benchmark -p "$port" -c 50 -n "$reqs" -P "$pipe" -t "$test" --csv \
                    >"$tmp/csv" 2>/dev/null
                c1=$(cpu "$srv")
                unserve
                # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...
                set -- $(sed -n '2s/"//gp' "$tmp/csv" | tr ',' ' ')
                [ $# -ge 5 ] || { echo "redis-benchmark gave nothing against $server" >&2; continue; }
                label="redis-benchmark $(echo "$test" | tr a-z A-Z), 50 clients"
                [ "$pipe" = 1 ] || label="$label, -P $pipe"
                if [ "$server" = redis-server ]; then
                    row "$label" "$server" "$2" "$5" $((c1 - c0)) "$reqs" self
                    base=$(per_request $((c1 - c0)) "$reqs")
                else
                    row "$label" "$server" "$2" "$5" $((c1 - c0)) "$reqs" "$base"
                fi
            done
        done
    done
else
    echo "skip: redis-benchmark (Debian package redis-tools)" >&2
fi

# ---- httpd, nginx and python3 http.server under wrk ----
if have wrk; then
    mkdir -p "$tmp/www"
    chmod 755 "$tmp" "$tmp/www" # nginx workers may run as nobody
    awk 'BEGIN { for (i = 0; i < 128; i++) printf "%031d\n", i }' >"$tmp/www/4k.html"
    for url in /hello /4k.html; do
        base=
        for server in nginx httpd python3; do
            if [ "$server" = nginx ]; then
                have nginx || continue
                free_port || continue
                mkdir -p "$tmp/nginx"
                cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
master_process off;
daemon off;
pid $tmp/nginx/pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    types { text/html html; }
    server {
        listen 127.0.0.1:$port;
        root $tmp/www;
        location = /hello { default_type text/plain; return 200 "Hello, world!\n"; }
    }
}
EOF
                serve nginx nginx -p "$tmp/nginx" -c "$tmp/nginx.conf" || continue
            elif [ "$server" = httpd ]; then
                port=
                serve httpd "$b/httpd" 0 "$tmp/www" 30000 || continue
            else
                # Not for /hello (it has no such route); a weak baseline.
                [ "$url" = /4k.html ] && have python3 || continue
                free_port || continue
                serve python3 python3 -m http.server -b 127.0.0.1 -d "$tmp/www" "$port" || continue
            fi
            c0=$(cpu "$srv")
            pin 1 wrk -t1 -c10 -d"${secs}s" --latency "http://127.0.0.1:$port$url" >"$tmp/wrk" 2>&1
            c1=$(cpu "$srv")
            unserve
            rps=$(awk '/^Requests\/sec:/ { print $2 }' "$tmp/wrk")
            reqs=$(awk '/requests in/ { print $1 }' "$tmp/wrk")
            p50=$(awk '$1 == "50%" { v = $2; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0;
                else if (v ~ /s$/) v = v * 1000; printf "%.3f", v }' "$tmp/wrk")
            [ -n "$reqs" ] || { echo "wrk gave nothing against $server" >&2; continue; }
            label="wrk GET $url, 10 connections, ${secs} s"
            if [ "$server" = nginx ]; then
                row "$label" "$server" "$rps" "$p50" $((c1 - c0)) "$reqs" self
                base=$(per_request $((c1 - c0)) "$reqs")
            else
                row "$label" "$server" "$rps" "$p50" $((c1 - c0)) "$reqs" "$base"
            fi
        done
    done
else
    echo "skip: wrk (Debian package wrk)" >&2
fi
