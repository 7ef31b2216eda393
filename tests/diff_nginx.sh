#!/bin/sh
# Differential test of examples/httpd against nginx: the same docroot served
# by both (nginx from a config of its own, in a temporary directory, on a
# free loopback port); a corpus of odd and hostile requests sent as raw bytes
# to each; their answers compared by status codes and framing, not by header
# values: the final status codes in order (1xx interim answers aside),
# whether the connection ends (closed, or the last answer says
# "Connection: close"), and for each server on its own that every answer is
# well framed (an HTTP/1.1 status line; a Content-Length its body matches,
# or chunked; no body for HEAD, 1xx, 204, 304; nothing after the last).
# Differences that are allowed are listed in ALLOWED below, with the reason
# and the exact outcome on each side: a listed difference that no longer
# occurs is a failure too, so the list stays as small as it can be.
# Usage: tests/diff_nginx.sh HTTPD_BINARY   (e.g. build/hx/examples/httpd)
# Needs nginx and python3 (without either: says so, "0 passed, 0 failed",
# exit 0). Every wait is bounded; the whole run takes a few seconds.
set -u
httpd=${1:?usage: tests/diff_nginx.sh HTTPD_BINARY}
PATH=$PATH:/usr/sbin:/sbin
skip() { echo "diff_nginx: $1: skipped"; echo "0 passed, 0 failed"; exit 0; }
command -v nginx >/dev/null 2>&1 || skip "nginx is not installed (apt-get install nginx-light)"
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
[ -x "$httpd" ] || { echo "diff_nginx: $httpd: not an executable" >&2; exit 2; }

tmp=$(mktemp -d)
npid= hpid=
cleanup() {
    [ -n "$npid" ] && kill -TERM "$npid" 2>/dev/null
    [ -n "$hpid" ] && kill -TERM "$hpid" 2>/dev/null
    [ -n "$npid" ] && wait "$npid" 2>/dev/null
    [ -n "$hpid" ] && wait "$hpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The docroot (as tests/net_examples.sh makes it), and a file outside it.
www=$tmp/www
mkdir -p "$www/sub" "$tmp/logs"
echo alpha >"$www/a.txt"
echo beta >"$www/sub/b.txt"
echo '<p>index</p>' >"$www/index.html"
echo '<p>sub</p>' >"$www/sub/index.html"
echo secret >"$tmp/secret.txt"
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "%08d a line of a large file\n", i }' >"$www/big.txt"
chmod -R a+rX "$tmp" # nginx may read as another user

. "$(dirname "$0")/netlib.sh" # retry, free_port
listening() { # listening PORT: a TCP connect succeeds
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null
}

# nginx: one process in the foreground, everything under $tmp; /hello as
# httpd has it; the defaults otherwise (keep-alive 5 s, as httpd's IDLE_MS).
start_nginx() {
    nport=$(free_port)
    cat >"$tmp/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log info;
events { worker_connections 512; }
http {
    access_log off;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    types { text/plain txt; text/html html; }
    default_type application/octet-stream;
    server_tokens off;
    keepalive_timeout 5s;
    server {
        listen 127.0.0.1:$nport;
        root $www;
        location = /hello {
            if (\$request_method !~ ^(GET|HEAD)\$) {
                return 405;
            }
            default_type "text/plain; charset=utf-8";
            return 200 "Hello, world!\n";
        }
    }
}
EOF
    nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/logs/error.log" >"$tmp/nginx.out" 2>&1 &
    npid=$!
    for _ in $(seq 50); do
        listening "$nport" && return 0
        kill -0 "$npid" 2>/dev/null || break
        sleep 0.1
    done
    kill -TERM "$npid" 2>/dev/null
    wait "$npid" 2>/dev/null
    npid=
    return 1
}
started=
for _ in 1 2 3; do start_nginx && { started=1; break; }; done
if [ -z "$started" ]; then
    echo "diff_nginx: nginx did not start:"
    sed 's/^/    /' "$tmp/nginx.out" "$tmp/logs/error.log" 2>/dev/null
    echo "0 passed, 1 failed"
    exit 1
fi

: >"$tmp/httpd.out"
"$httpd" 0 "$www" 5000 >"$tmp/httpd.out" 2>"$tmp/httpd.err" &
hpid=$!
hport=
for _ in $(seq 50); do
    hport=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/httpd.out")
    [ -n "$hport" ] && break
    sleep 0.1
done
if [ -z "$hport" ]; then
    echo "diff_nginx: httpd did not start:"
    sed 's/^/    /' "$tmp/httpd.err"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') on 127.0.0.1:$nport, httpd on 127.0.0.1:$hport"

python3 - "$nport" "$hport" "$hpid" <<'PY'
import concurrent.futures, os, re, socket, sys, time

NGINX, HTTPD, HTTPD_PID = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
QUIET = float(os.environ.get("DIFF_QUIET", "0.5"))  # no more bytes for this long: done

H = b"Host: x\r\n"
def get(path=b"/a.txt", extra=b"", method=b"GET", version=b"HTTP/1.1", host=H):
    return method + b" " + path + b" " + version + b"\r\n" + host + extra + b"\r\n"

# The corpus: (name, bytes). Bytes may be a list: pieces sent 0.15 s apart.
X9000 = b"x" * 9000
CORPUS = [
    # -- plain requests, keep-alive and close, pipelining
    ("get", get()),
    ("head", get(method=b"HEAD")),
    ("get-index", get(b"/")),
    ("head-index", get(b"/", method=b"HEAD")),
    ("get-sub-index", get(b"/sub/")),
    ("get-hello", get(b"/hello")),
    ("head-hello", get(b"/hello", method=b"HEAD")),
    ("get-404", get(b"/nothing-here")),
    ("head-404", get(b"/nothing-here", method=b"HEAD")),
    ("get-large", get(b"/big.txt")),
    ("head-large", get(b"/big.txt", method=b"HEAD")),
    ("get-query", get(b"/a.txt?x=1&y=2")),
    ("get-percent", get(b"/%61.txt")),
    ("http10", get(version=b"HTTP/1.0", host=b"")),
    ("http10-keep-alive", get(version=b"HTTP/1.0", host=b"", extra=b"Connection: keep-alive\r\n")
        + get(b"/sub/b.txt", version=b"HTTP/1.0", host=b"")),
    ("keep-alive", get() + get(b"/sub/b.txt")),
    ("pipeline-get-head-get", get() + get(b"/big.txt", method=b"HEAD") + get(b"/hello")),
    ("pipeline-close-second", get() + get(extra=b"Connection: close\r\n") + get()),
    ("connection-close", get(extra=b"Connection: close\r\n")),
    ("connection-close-second-line", get(extra=b"Connection: foo\r\nConnection: close\r\n")),
    ("connection-list", get(extra=b"Connection: keep-alive, close\r\n")),
    ("blank-lines-first", b"\r\n\r\n" + get()),
    ("bare-lf", b"GET /a.txt HTTP/1.1\nHost: x\n\nGET /hello HTTP/1.1\nHost: x\n\n"),
    ("split-head", [b"GET /a.t", b"xt HTTP/1.1\r\nHo", b"st: x\r\n\r\n"]),
    ("get-then-garbage", get() + b"garbage\r\n\r\n" + get()),
    ("garbage", b"garbage\r\n\r\n"),
    ("incomplete-head", b"GET /a.txt HTTP/1.1\r\nHost: x\r\n"),
    # -- the request line and versions
    ("http2", get(version=b"HTTP/2.0")),
    ("http2-head", get(method=b"HEAD", version=b"HTTP/2.0")),
    ("http3", get(version=b"HTTP/3.0")),
    ("http12-as-11", get(version=b"HTTP/1.2") + get()),
    ("http09", get(version=b"HTTP/0.9")),
    ("http1-10", get(version=b"HTTP/1.10")),
    ("http1-no-minor", get(version=b"HTTP/1")),
    ("http-lowercase", get(version=b"http/1.1")),
    ("bad-request-line-head", b"HEAD /a b HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("double-space", b"GET  /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("ctl-in-target", get(b"/a\x01b.txt")),
    ("nul-in-target", get(b"/a%00b")),
    ("bare-cr-line-end", b"GET /a.txt HTTP/1.1\rHost: x\r\n\r\n"),
    ("long-target", get(b"/" + X9000)),
    ("long-target-head", get(b"/" + X9000, method=b"HEAD")),
    # -- Host
    ("no-host", get(host=b"")),
    ("no-host-head", get(method=b"HEAD", host=b"")),
    ("no-host-http10", get(version=b"HTTP/1.0", host=b"")),
    ("two-hosts-same", get(host=b"Host: x\r\nHost: x\r\n")),
    ("two-hosts-differ", get(host=b"Host: x\r\nHost: y\r\n")),
    ("two-hosts-http10", get(version=b"HTTP/1.0", host=b"Host: x\r\nHost: y\r\n")),
    ("empty-host", get(host=b"Host:\r\n")),
    ("empty-host-head", get(method=b"HEAD", host=b"Host: \r\n")),
    ("host-with-space", get(host=b"Host: a b\r\n")),
    ("host-with-port", get(host=b"Host: x:8080\r\n")),
    ("host-ipv6", get(host=b"Host: [::1]:80\r\n")),
    # -- absolute form (RFC 9112 section 3.2.2)
    ("absolute", get(b"http://x/a.txt")),
    ("absolute-host-differs", get(b"http://x/a.txt", host=b"Host: elsewhere\r\n")),
    ("absolute-uppercase", get(b"HTTP://X/a.txt")),
    ("absolute-https", get(b"https://x/a.txt")),
    ("absolute-port", get(b"http://x:8080/sub/b.txt")),
    ("absolute-empty-path", get(b"http://x")),
    ("absolute-query-only", get(b"http://x?q=1")),
    ("absolute-head", get(b"http://x/a.txt", method=b"HEAD")),
    ("absolute-404", get(b"http://x/nothing-here")),
    ("absolute-no-host-header", get(b"http://x/a.txt", host=b"")),
    ("absolute-http10", get(b"http://x/a.txt", version=b"HTTP/1.0", host=b"")),
    ("absolute-empty-authority", get(b"http:///a.txt")),
    ("absolute-userinfo", get(b"http://u@x/a.txt")),
    # -- Content-Length (RFC 9112 section 6.2, 6.3)
    ("cl0-then-cl40", get(extra=b"Content-Length: 0\r\nContent-Length: 40\r\n")
        + b"GET /hello HTTP/1.1\r\nHost: x\r\nX: yy\r\n\r\n"),
    ("cl40-then-cl0", get(extra=b"Content-Length: 40\r\nContent-Length: 0\r\n")
        + b"GET /hello HTTP/1.1\r\nHost: x\r\nX: yy\r\n\r\n"),
    ("cl-list-differs", get(extra=b"Content-Length: 5, 6\r\n") + b"hello!"),
    ("cl-same-twice", get(extra=b"Content-Length: 5\r\nContent-Length: 5\r\n") + b"hello" + get()),
    ("cl-negative", get(extra=b"Content-Length: -1\r\n")),
    ("cl-letters", get(extra=b"Content-Length: abc\r\n")),
    ("cl-empty", get(extra=b"Content-Length: \r\n")),
    ("cl-plus", get(extra=b"Content-Length: +5\r\n") + b"hello"),
    ("cl-hex", get(extra=b"Content-Length: 0x5\r\n") + b"hello"),
    ("cl-two-numbers", get(extra=b"Content-Length: 1 2\r\n") + b"hello"),
    ("cl-zero", get(extra=b"Content-Length: 0\r\n") + get()),
    ("cl-leading-zeros", get(extra=b"Content-Length:  007 \r\n") + b"hello!!" + get()),
    ("cl-body-then-request", get(extra=b"Content-Length: 5\r\n") + b"hello" + get(b"/hello")),
    ("cl-body-later", [get(extra=b"Content-Length: 10\r\n"), b"hello", b"hello" + get()]),
    ("cl-body-short", get(extra=b"Content-Length: 10\r\n") + b"hello"),
    ("cl-body-looks-like-request", get(extra=b"Content-Length: 32\r\n")
        + b"GET /nothing-here HTTP/1.1\r\n\r\n\r\n" + get(b"/hello")),
    ("cl-body-takes-a-byte-more", get(extra=b"Content-Length: 33\r\n")
        + b"GET /nothing-here HTTP/1.1\r\n\r\n\r\n" + get(b"/hello")),
    ("post-hello", get(b"/hello", method=b"POST")),
    ("cl-too-large", get(extra=b"Content-Length: 999999999999\r\n")),
    ("cl-huge", get(extra=b"Content-Length: 99999999999999999999999\r\n")),
    ("head-cl-body", get(method=b"HEAD", extra=b"Content-Length: 5\r\n") + b"hello" + get()),
    ("post-body", get(method=b"POST", extra=b"Content-Length: 5\r\n") + b"hello" + get()),
    ("post-no-body", get(method=b"POST")),
    # -- Transfer-Encoding (RFC 9112 section 6.1, 6.3, 7)
    ("te-gzip", get(extra=b"Transfer-Encoding: gzip\r\n")),
    ("te-gzip-chunked", get(extra=b"Transfer-Encoding: gzip, chunked\r\n") + b"0\r\n\r\n"),
    ("te-gzip-chunked-head", get(method=b"HEAD", extra=b"Transfer-Encoding: gzip, chunked\r\n")
        + b"0\r\n\r\n"),
    ("te-chunked-and-cl", get(extra=b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")
        + b"0\r\n\r\n" + get()),
    ("cl-and-te-chunked", get(extra=b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n")
        + b"0\r\n\r\nG" + get()),
    ("te-smuggle-cl-3", get(method=b"POST", extra=b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n")
        + b"8\r\nSMUGGLED\r\n0\r\n\r\n"),
    ("te-http10", get(version=b"HTTP/1.0", host=b"", extra=b"Transfer-Encoding: chunked\r\n")
        + b"0\r\n\r\n"),
    ("te-two-lines", get(extra=b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")
        + b"0\r\n\r\n"),
    ("te-chunked-twice", get(extra=b"Transfer-Encoding: chunked, chunked\r\n") + b"0\r\n\r\n"),
    ("te-vtab-in-name", get(extra=b"Transfer-Encoding\x0b: chunked\r\n") + b"0\r\n\r\n"),
    ("te-space-before-colon", get(extra=b"Transfer-Encoding : chunked\r\n") + b"0\r\n\r\n"),
    ("te-folded", get(extra=b"Transfer-Encoding:\r\n chunked\r\n") + b"0\r\n\r\n"),
    ("te-uppercase", get(extra=b"Transfer-Encoding: CHUNKED\r\n") + b"0\r\n\r\n" + get()),
    # -- chunked bodies
    ("chunked", get(extra=b"Transfer-Encoding: chunked\r\n") + b"5\r\nhello\r\n0\r\n\r\n" + get()),
    ("chunked-several", get(extra=b"Transfer-Encoding: chunked\r\n")
        + b"A\r\nhellohello\r\n1\r\n!\r\n0\r\n\r\n" + get(b"/hello")),
    ("chunked-ext-trailer", get(extra=b"Transfer-Encoding: chunked\r\n")
        + b"5;a=b\r\nhello\r\n0\r\nX-T: y\r\n\r\n" + get()),
    ("chunked-ext-bws", get(extra=b"Transfer-Encoding: chunked\r\n") + b"5 ;a=b\r\nhello\r\n0\r\n\r\n" + get()),
    ("chunked-bare-lf", get(extra=b"Transfer-Encoding: chunked\r\n") + b"5\nhello\n0\n\n" + get()),
    ("chunked-leading-zeros", get(extra=b"Transfer-Encoding: chunked\r\n") + b"005\r\nhello\r\n000\r\n\r\n" + get()),
    ("chunked-later", [get(extra=b"Transfer-Encoding: chunked\r\n"), b"5\r\nhel", b"lo\r\n0\r\n\r\n" + get()]),
    ("chunked-bad-size", get(extra=b"Transfer-Encoding: chunked\r\n") + b"zz\r\nhello\r\n0\r\n\r\n"),
    ("chunked-0x-size", get(extra=b"Transfer-Encoding: chunked\r\n") + b"0x5\r\nhello\r\n0\r\n\r\n"),
    ("chunked-negative-size", get(extra=b"Transfer-Encoding: chunked\r\n") + b"-5\r\nhello\r\n0\r\n\r\n"),
    ("chunked-size-overflow", get(extra=b"Transfer-Encoding: chunked\r\n")
        + b"ffffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
    ("chunked-data-too-long", get(extra=b"Transfer-Encoding: chunked\r\n") + b"5\r\nhelloXX0\r\n\r\n"),
    ("chunked-no-size-line", get(extra=b"Transfer-Encoding: chunked\r\n") + b"\r\n0\r\n\r\n"),
    ("chunked-bad-later", [get(extra=b"Transfer-Encoding: chunked\r\n") + b"5\r\nhello\r\n",
                           b"zz\r\n" + get()]),
    ("chunked-unfinished", get(extra=b"Transfer-Encoding: chunked\r\n") + b"5\r\nhello\r\n0\r\n"),
    ("post-chunked", get(method=b"POST", extra=b"Transfer-Encoding: chunked\r\n")
        + b"5\r\nhello\r\n0\r\n\r\n" + get()),
    ("expect-100", [get(extra=b"Expect: 100-continue\r\nContent-Length: 5\r\n"), b"hello" + get()]),
    # -- header fields
    ("no-colon", get(extra=b"nonsense\r\n")),
    ("space-before-colon", get(host=b"Host : x\r\n")),
    ("folded-line", get(extra=b"X-A: a\r\n b\r\n")),
    ("space-before-first-field", b"GET /a.txt HTTP/1.1\r\n Host: x\r\n\r\n"),
    ("nul-in-value", get(extra=b"X-A: a\x00b\r\n")),
    ("cr-in-value", get(extra=b"X-A: a\rb\r\n")),
    ("ctl-in-value", get(extra=b"X-A: a\x01b\r\n")),
    ("obs-text-in-value", get(extra=b"X-A: caf\xe9\r\n")),
    ("invalid-field-name", get(extra=b"X@Y: z\r\n")),
    ("long-field", get(extra=b"X-Big: " + X9000 + b"\r\n")),
    ("long-field-head", get(method=b"HEAD", extra=b"X-Big: " + X9000 + b"\r\n")),
    # -- methods and targets
    ("delete", get(method=b"DELETE")),
    ("unknown-method", get(method=b"FROB")),
    ("lowercase-method", get(method=b"get")),
    ("options-asterisk", get(b"*", method=b"OPTIONS")),
    ("get-asterisk", get(b"*")),
    ("dotdot", get(b"/../secret.txt")),
]

# Differences allowed: name -> (httpd's outcome, nginx's outcome, reason).
# An outcome is the final status codes and "close" or "open".
ALLOWED = {
    "http09": ("505 close", "400 close",
        "HTTP/0.9 is well-formed HTTP-version syntax of a major version httpd does not "
        "implement: 505 (RFC 9110 section 15.6.6); nginx calls it malformed"),
    "http1-10": ("400 close", "200 open",
        "HTTP-version is DIGIT \".\" DIGIT (RFC 9112 section 2.3): 1.10 is malformed; nginx "
        "reads minor versions of several digits"),
    "double-space": ("400 close", "200 open",
        "the request line's separators are single spaces (RFC 9112 section 3); parsing on "
        "runs of whitespace is a MAY that invites smuggling (same section); nginx is lenient"),
    "cl-same-twice": ("200,200 open", "400 close",
        "repeated identical Content-Length values are processed as one (RFC 9112 section "
        "6.3, item 5); nginx rejects any repeated Content-Length (RFC 9110 section 8.6: MAY)"),
    "cl-huge": ("413 close", "400 close",
        "1*DIGIT of any size is a valid Content-Length (RFC 9110 section 8.6) that httpd will "
        "not take: 413; nginx reports the overflow of its off_t as malformed"),
    "te-gzip": ("400 close", "501 close",
        "a request whose final transfer coding is not chunked MUST get 400 and a close (RFC "
        "9112 section 6.3, item 4); nginx sends 501 for any value other than \"chunked\""),
    "te-chunked-twice": ("400 close", "501 close",
        "chunked applied twice is malformed framing (RFC 9112 section 7: MUST NOT be applied "
        "more than once), 400; nginx sends 501 for any value other than \"chunked\""),
    "no-colon": ("400 close", "200 open",
        "a field line is name \":\" value (RFC 9112 section 5): a message off the grammar gets "
        "400 (section 2.2, SHOULD); nginx's ignore_invalid_headers drops the line"),
    "invalid-field-name": ("400 close", "200 open",
        "a field name is a token (RFC 9112 section 5): a message off the grammar gets 400 "
        "(section 2.2, SHOULD); nginx's ignore_invalid_headers drops the line"),
    "long-field": ("431 close", "400 close",
        "a head over 8 KiB: httpd answers 431 (RFC 6585 section 5); nginx its 494, sent as 400"),
    "long-field-head": ("431 close", "400 close", "as long-field"),
    "lowercase-method": ("405 open", "400 close",
        "methods are case-sensitive tokens (RFC 9110 section 9.1): \"get\" is a well-formed "
        "method httpd does not allow; nginx accepts only upper-case letters in methods"),
    "options-asterisk": ("405 open", "400 close",
        "the asterisk form is valid for OPTIONS (RFC 9112 section 3.2.4), a method httpd does "
        "not allow; nginx does not parse the asterisk form"),
    "dotdot": ("403 close", "400 close",
        "httpd refuses any \"..\" segment (403, as documented); nginx resolves dot segments "
        "and rejects one that climbs above the root as malformed"),
}


def exchange(port, data):
    """Send data (or its pieces) and read until the server closes or is quiet.
    Returns (bytes received, 'closed' | 'reset' | 'open')."""
    pieces = data if isinstance(data, list) else [data]
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    for i, piece in enumerate(pieces):
        if i:
            time.sleep(0.15)
        try:
            s.sendall(piece)
        except OSError:
            break  # it closed on us: what it said before is what counts
    buf, state, end = b"", "open", time.monotonic() + 10
    s.settimeout(QUIET)
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except OSError:
            state = "reset"
            break
        if not chunk:
            state = "closed"
            break
        buf += chunk
    s.close()
    return buf, state


def requests_methods(data):
    data = b"".join(data) if isinstance(data, list) else data
    return re.findall(rb"(?:^|\n)([A-Za-z]+) [^\r\n]* HTTP/", data)


def parse(buf, state, methods):
    """The final status codes, whether the connection ends, framing problems."""
    codes, problems, i, last_close = [], [], 0, False
    while i < len(buf):
        if last_close:
            problems.append("an answer after one that said Connection: close")
            break
        end = buf.find(b"\r\n\r\n", i)
        if not buf.startswith(b"HTTP/", i) or end < 0:
            problems.append("bytes that are no response: %r" % buf[i:i + 30])
            break
        lines = buf[i:end].decode("latin-1").split("\r\n")
        i = end + 4
        m = re.match(r"HTTP/1\.1 (\d{3}) [^\r\n]*$", lines[0])
        if not m:
            problems.append("status line %r" % lines[0])
            break
        code = int(m.group(1))
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields.setdefault(name.strip().lower(), []).append(value.strip())
        if 100 <= code < 200:
            continue  # interim: 100 Continue
        n = len(codes)
        head = n < len(methods) and methods[n] == b"HEAD"
        codes.append(code)
        last_close = any("close" in v.lower() for v in fields.get("connection", []))
        cl, te = fields.get("content-length"), fields.get("transfer-encoding")
        if cl and len(cl) > 1:
            problems.append("%d: Content-Length %d times" % (code, len(cl)))
        if head or code in (204, 304):
            continue  # no body, whatever the fields say
        if te:
            if te[-1].lower() != "chunked":
                problems.append("%d: Transfer-Encoding %s" % (code, te))
                break
            while True:  # the body's chunks
                eol = buf.find(b"\r\n", i)
                if eol < 0 or not re.match(rb"[0-9a-fA-F]+", buf[i:eol]):
                    problems.append("%d: bad chunk" % code)
                    return codes, True, problems
                size = int(re.match(rb"[0-9a-fA-F]+", buf[i:eol]).group(0), 16)
                i = eol + 2 + size + 2
                if size == 0:
                    break
        elif cl:
            length = int(cl[0])
            if len(buf) - i < length:
                problems.append("%d: %d bytes of body for a Content-Length of %d"
                                % (code, len(buf) - i, length))
            i += length
        else:
            if state == "open":
                problems.append("%d: no Content-Length, and the connection stays" % code)
            i = len(buf)
    return codes, state != "open" or last_close, problems


def outcome(port, data):
    buf, state = exchange(port, data)
    codes, ends, problems = parse(buf, state, requests_methods(data))
    return "%s %s" % (",".join(map(str, codes)) or "-", "close" if ends else "open"), problems


def run(case):
    name, data = case
    return name, outcome(HTTPD, data), outcome(NGINX, data)


passed = failed = allowed = 0
names = [c[0] for c in CORPUS]
assert len(set(names)) == len(names), "duplicate case names"
for name in ALLOWED:
    assert name in names, "ALLOWED names no case: " + name
started = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
    results = list(pool.map(run, CORPUS))
for name, (h, hp), (n, np) in results:
    if hp or np:
        failed += 1
        print("FAIL %s: framing%s%s" % (name, "".join("\n    httpd: " + p for p in hp),
                                         "".join("\n    nginx: " + p for p in np)))
    elif name in ALLOWED:
        want_h, want_n, reason = ALLOWED[name]
        if (h, n) == (want_h, want_n):
            passed += 1
            allowed += 1
            print("ok   %s: httpd %s, nginx %s (allowed: %s)" % (name, h, n, reason))
        else:
            failed += 1
            print("FAIL %s: httpd %s, nginx %s; ALLOWED lists httpd %s, nginx %s%s"
                  % (name, h, n, want_h, want_n,
                     " (the difference is gone: drop it from ALLOWED)" if h == n else ""))
    elif h == n:
        passed += 1
        print("ok   %s: %s" % (name, h))
    else:
        failed += 1
        print("FAIL %s: httpd %s, nginx %s" % (name, h, n))
try:  # httpd lived through it all
    os.kill(HTTPD_PID, 0)
except OSError:
    failed += 1
    print("FAIL httpd died during the run")
print("%d requests compared with nginx in %.1f s; %d allowed differences"
      % (len(CORPUS), time.monotonic() - started, allowed))
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
PY
rc=$?
[ -s "$tmp/httpd.err" ] && { echo "httpd's stderr:"; sed 's/^/    /' "$tmp/httpd.err"; } >&2
exit $rc
