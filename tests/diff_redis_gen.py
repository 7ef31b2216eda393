#!/usr/bin/env python3
"""Differential test of examples/kvserver.c against redis-server (run by
tests/diff_redis.sh, which starts both servers).

1. The same seeded random command stream, from the subset kvserver serves
   (PING, ECHO, GET, SET with EX/PX, DEL, EXISTS, INCR, DBSIZE, QUIT), with
   edge-case integers, binary values, wrong arity and unknown commands, goes
   to both servers over RESP, after a fixed prelude of integer and
   time-to-live edge cases; every reply is compared byte for byte. A few
   malformed requests, each on its own connection, compare the protocol
   error. One difference is allowed (ALLOWED below, documented in
   kvserver.c's header).
2. Two attack scenarios, on kvserver alone, asserting on counts, never on
   time: hash flooding (keys that all collide under kvserver's old unseeded
   16-bit FNV-1a) and mass expiry (a full store of keys that expire at once
   must be swept, and SET must work after).

Prints "ok"/"FAIL" lines, the first differences, and, last, "P F" (checks
passed and failed: one per command compared, one per scenario check) to the
file given by --counts, for the shell script's final line. Exits 1 on any
failure. Every socket operation has a timeout; every loop is bounded."""

import argparse
import random
import socket
import sys
import threading
import time

TIMEOUT = 20.0  # s, any one socket operation
MAX_BULK = 8192  # kvserver's longest argument

# ---- A RESP client ----------------------------------------------------------


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0

    def close(self):
        self.sock.close()

    def _fill(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("connection closed")
        self.buf = self.buf[self.pos:] + data
        self.pos = 0

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i + 2]
                self.pos = i + 2
                return line
            self._fill()

    def _take(self, n):
        while len(self.buf) - self.pos < n:
            self._fill()
        data = self.buf[self.pos:self.pos + n]
        self.pos += n
        return data

    def reply(self):
        """One whole reply, as the raw bytes the server sent."""
        line = self._line()
        kind = line[:1]
        if kind in (b"+", b"-", b":"):
            return line
        if kind == b"$":
            n = int(line[1:-2])
            return line if n < 0 else line + self._take(n + 2)
        if kind == b"*":
            n = int(line[1:-2])
            return line + b"".join(self.reply() for _ in range(max(n, 0)))
        raise ValueError("not RESP: %r" % line[:60])

    def pipeline(self, cmds):
        """Send all of cmds (a thread sends while this one reads, so neither
        side's buffers can fill up and stall both), return their replies."""
        data = b"".join(encode(c) for c in cmds)
        err = []

        def send():
            try:
                self.sock.sendall(data)
            except OSError as e:  # the reader sees the close too
                err.append(e)

        t = threading.Thread(target=send, daemon=True)
        t.start()
        try:
            replies = [self.reply() for _ in cmds]
        finally:
            t.join(TIMEOUT)
        return replies

    def call(self, *args):
        return self.pipeline([list(args)])[0]


# ---- The random command stream -------------------------------------------

INTS = [b"0", b"1", b"-1", b"7", b"-0", b"00", b"007", b"-007", b"+1", b"+0", b" 1",
        b"1 ", b"1\x00", b"", b"-", b"--1", b"1-", b"1e3", b"0x10", b"1.0", b"1.5",
        b"12a", b"\t5", b"\xd9\xa1", b"9223372036854775807", b"9223372036854775806",
        b"9223372036854775808", b"-9223372036854775808", b"-9223372036854775807",
        b"-9223372036854775809", b"18446744073709551615", b"18446744073709551616",
        b"99999999999999999999", b"-99999999999999999999", b"999999999999999999999",
        b"09223372036854775807", b"-09223372036854775808", b"2147483648", b"-2147483649",
        b"4294967296"]
# Times to live. Valid ones are long (nothing expires during the stream) and
# far from the clock-dependent limit (now + ms <= 2^63-1), so both servers
# judge them alike for millions of years.
TTLS_BAD = [b"0", b"-1", b"-0", b"01", b"+100", b"1.5", b"", b"abc", b"100 ", b"1e3",
            b"-9223372036854775808", b"9223372036854775807", b"9223372036854775808",
            b"9223372036854775000", b"99999999999999999999"]
EX_GOOD = [b"1000", b"86400", b"9000000000000000", b"2147483648"]
EX_BAD = [b"9223372036854775", b"9223372036854776", b"9223372036854775807"]
PX_GOOD = [b"1000000", b"86400000", b"9000000000000000000", b"4294967296"]

def string2ll(s):
    """Redis's reading of an integer: the int, or None."""
    t = s[1:] if s[:1] == b"-" and len(s) > 1 else s
    if s != b"0" and not (t[:1].isdigit() and t[:1] != b"0" and t.isdigit()):
        return None
    v = int(s)
    return v if -2**63 <= v < 2**63 else None


# INTS that are no short time to live: a key that expires during the stream
# could be counted by DBSIZE on one server and already swept on the other.
TTL_INTS = [x for x in INTS if string2ll(x) is None or not 0 < string2ll(x) < 10**6]
OPTS_BAD = [b"FOO", b"E", b"P", b"EXX", b"PXX", b"EXPIRE", b"ex ", b"\x00", b"e\x00x"]
OPTS_NUL = [b"ex\x00", b"PX\x00junk"]  # Redis reads option names up to a NUL
UNKNOWN = [b"frobnicate", b"nosuchcommand", b"gett", b"sets", b"inc", b"dell",
           b"pingg", b"echoo", b"", b"g\x00et", b"\xff\xfe", b"get ", b"set\r\n",
           b"a" * 50, b"unknown'quote"]
NAMES = {b"get", b"set", b"ping", b"echo", b"del", b"exists", b"incr", b"dbsize",
         b"quit"}


def rand_case(r, word):
    return bytes(c ^ 32 if 97 <= c <= 122 and r.random() < 0.5 else c for c in word)


def rand_bytes(r, n):
    return bytes(r.getrandbits(8) for _ in range(n))


class Stream:
    def __init__(self, seed):
        self.r = random.Random(seed)
        r = self.r
        self.keys = [b"k%d" % i for i in range(24)] + [b"", b"\x00", b"key with spaces",
                                                       b"\r\n", b"\xff\x00\xfe", b"n"]
        self.keys += [rand_bytes(r, r.randint(1, 12)) for _ in range(6)]

    def key(self):
        return self.r.choice(self.keys)

    def value(self):
        r = self.r
        k = r.random()
        if k < 0.35:
            return r.choice(INTS)
        if k < 0.55:
            return b"%d" % r.randint(-10**6, 10**6)
        if k < 0.60:
            return b"%d" % r.randint(-2**63, 2**63 - 1)
        if k < 0.80:
            return bytes(r.choice(b"abcxyz 0123") for _ in range(r.randint(0, 20)))
        if k < 0.95:
            return rand_bytes(r, r.randint(0, 64))  # NUL, CR, LF, high bytes
        return rand_bytes(r, r.choice([MAX_BULK, r.randint(100, MAX_BULK)]))

    def set_opts(self):
        r = self.r
        k = r.random()
        if k < 0.35:
            return []
        ex = r.random() < 0.5
        name = rand_case(r, b"ex" if ex else b"px")
        if r.random() < 0.05:
            name = OPTS_NUL[0 if ex else 1]
        good = EX_GOOD if ex else PX_GOOD
        if k < 0.55:
            return [name, r.choice(good)]
        if k < 0.70:
            return [name, r.choice(TTLS_BAD + (EX_BAD if ex else []))]
        if k < 0.75:  # (no short time to live: see TTL_INTS)
            return [name, r.choice(TTL_INTS)]
        if k < 0.80:  # the same option twice: the last one counts
            return [name, r.choice(good + TTLS_BAD), name, r.choice(good)]
        if k < 0.85:  # EX with PX: a syntax error, before the number is read
            other = rand_case(r, b"px" if ex else b"ex")
            return [name, r.choice(good + TTLS_BAD), other, r.choice(good)]
        if k < 0.90:  # no number
            return [name]
        if k < 0.95:  # an unknown option, after a bad number: still a syntax error
            return [name, r.choice(TTLS_BAD), r.choice(OPTS_BAD)]
        return [r.choice(OPTS_BAD)] + ([r.choice(good)] if r.random() < 0.5 else [])

    def command(self):
        r = self.r
        k = r.random()
        if k < 0.28:
            return [rand_case(r, b"set"), self.key(), self.value()] + self.set_opts()
        if k < 0.46:
            return [rand_case(r, b"get"), self.key()]
        if k < 0.60:
            return [rand_case(r, b"incr"), self.key()]
        if k < 0.67:
            return [rand_case(r, r.choice([b"del", b"exists"]))] + \
                [self.key() for _ in range(r.randint(1, 6))]
        if k < 0.71:
            return [rand_case(r, b"dbsize")]
        if k < 0.75:
            return [rand_case(r, b"ping")] + ([self.value()] if r.random() < 0.5 else [])
        if k < 0.79:
            return [rand_case(r, b"echo"), self.value()]
        if k < 0.90:  # wrong number of arguments
            name = r.choice([b"get", b"set", b"incr", b"del", b"exists", b"dbsize",
                             b"echo", b"ping"])
            n = {b"get": [0, 2, 3], b"set": [0, 1], b"incr": [0, 2], b"del": [0],
                 b"exists": [0], b"dbsize": [1, 2], b"echo": [0, 2], b"ping": [2, 3]}
            return [rand_case(r, name)] + [self.key() for _ in range(r.choice(n[name]))]
        name = r.choice(UNKNOWN)
        return [name] + [self.value()[:40] for _ in range(r.randint(0, 3))]


# Sent first, whatever the seed: the integer and time-to-live edge cases.
PRELUDE = [[b"SET", b"n", b"007"], [b"INCR", b"n"], [b"SET", b"n", b"-0"], [b"INCR", b"n"],
           [b"SET", b"n", b"+1"], [b"INCR", b"n"], [b"SET", b"n", b"0"], [b"INCR", b"n"],
           [b"SET", b"n", b"-9223372036854775808"], [b"INCR", b"n"], [b"GET", b"n"],
           [b"SET", b"n", b"9223372036854775807"], [b"INCR", b"n"],
           [b"SET", b"n", b"9223372036854775808"], [b"INCR", b"n"],
           [b"SET", b"n", b"-9223372036854775809"], [b"INCR", b"n"],
           [b"SET", b"k", b"v", b"PX", b"01000"], [b"SET", b"k", b"v", b"EX", b"-0"],
           [b"SET", b"k", b"v", b"PX", b"+1000"], [b"SET", b"k", b"v", b"PX", b"0"],
           [b"SET", b"k", b"v", b"PX", b"-9223372036854775808"],
           [b"SET", b"k", b"v", b"PX", b"9223372036854775807"],
           [b"SET", b"k", b"v", b"PX", b"9000000000000000000"], [b"GET", b"k"],
           [b"SET", b"k", b"v", b"EX", b"9223372036854775"],
           [b"SET", b"k", b"v", b"EX", b"9223372036854776"],
           [b"SET", b"k", b"v", b"EX", b"9000000000000000"],
           [b"SET", b"k", b"v", b"EX", b"2000000000"],  # over the old 10^12 ms cap
           [b"SET", b"k", b"v", b"EX", b"abc", b"FOO"], [b"SET", b"k", b"v", b"EX", b"10", b"EX", b"20"],
           [b"SET", b"k", b"v", b"EX", b"10", b"PX", b"20"], [b"SET", b"k", b"v", b"EX"],
           [b"DEL", b"n", b"k"], [b"DBSIZE"]]

# Malformed requests, each on a fresh connection: the error both send before
# closing. The leading-zero and "-0" lengths check the integer reader.
PROTOCOL = [b"*x\r\n", b"*01\r\n$4\r\nPING\r\n", b"*-0\r\n", b"*1\r\n$-5\r\n",
            b"*1\r\n$04\r\nPING\r\n", b"*1\r\n$-0\r\n", b"*1\r\n$+4\r\nPING\r\n",
            b"*+1\r\n$4\r\nPING\r\n", b"*2\r\n$3\r\nGET\r\n$ 1\r\nk\r\n"]

# ---- Comparing ------------------------------------------------------------


def quote40(name):
    """kvserver's rendering of an unknown command's name."""
    return bytes(c if 32 <= c <= 126 and c != 39 else 63 for c in name[:40])


# The allow-list: (name, reason, test(command, redis_reply, kv_reply)).
ALLOWED = [
    ("unknown-command text",
     "kvserver names only the command (40 bytes, unprintable as '?'), not its "
     "arguments (kvserver.c header: 'Unlike Redis')",
     lambda cmd, rd, kv: cmd[0].lower() not in NAMES
     and rd.startswith(b"-ERR unknown command '")
     and kv == b"-ERR unknown command '" + quote40(cmd[0]) + b"'\r\n"),
]


class Tally:
    def __init__(self):
        self.passed = self.failed = 0
        self.allowed = {}
        self.diffs = []

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok   " + name)
        else:
            self.failed += 1
            print("FAIL " + name + (": " + detail if detail else ""))
        return ok

    def compare(self, n, cmd, rd, kv):
        if rd == kv:
            self.passed += 1
            return
        for name, _, test in ALLOWED:
            if test(cmd, rd, kv):
                self.passed += 1
                self.allowed[name] = self.allowed.get(name, 0) + 1
                return
        self.failed += 1
        self.diffs.append((n, cmd, rd, kv))


def short(b, n=100):
    s = repr(b)
    return s if len(s) <= n else s[:n] + "...(%d bytes)" % len(b)


def differential(args, tally):
    stream = Stream(args.seed)
    cmds = PRELUDE + [stream.command() for _ in range(args.count)]
    rd, kv = Conn(args.redis), Conn(args.kv)
    n = 0
    for i in range(0, len(cmds), 100):
        batch = cmds[i:i + 100]
        for cmd, a, b in zip(batch, rd.pipeline(batch), kv.pipeline(batch)):
            tally.compare(n, cmd, a, b)
            n += 1
    # QUIT last: both answer, then close.
    a, b = rd.call(b"quit"), kv.call(b"QUIT")
    tally.compare(n, [b"quit"], a, b)
    n += 1
    rd.close()
    kv.close()
    for req in PROTOCOL:
        replies = []
        for port in (args.redis, args.kv):
            c = Conn(port)
            c.sock.settimeout(2.0)  # a server that waits for more: no reply
            c.sock.sendall(req)
            try:
                replies.append(c.reply())
            except (EOFError, OSError) as e:
                replies.append(b"(no reply: %s)" % str(e).encode())
            c.close()
        tally.compare(n, [req], replies[0], replies[1])
        n += 1
    print("differential: seed %d, %d commands compared: %d differences not allowed%s" %
          (args.seed, n, len(tally.diffs),
           "".join(", %d allowed (%s)" % (v, k) for k, v in tally.allowed.items())))
    for name, why, _ in ALLOWED:
        print("  allowed: %s: %s" % (name, why))
    for d in tally.diffs[:10]:
        print("FAIL command #%d %s\n       redis:    %s\n       kvserver: %s" %
              (d[0], short(b" ".join(d[1]), 120), short(d[2]), short(d[3])))
    if len(tally.diffs) > 10:
        print("     ... and %d more differences" % (len(tally.diffs) - 10))


# ---- Attack scenarios (kvserver only; counts, not times) --------------------


def old_colliding_keys(n):
    """n keys that all fall in one bucket of kvserver's old hash (FNV-1a, low
    16 bits, no seed). Those bits of the state depend on its low 16 bits
    only, so meet in the middle: 4-byte blocks that take the starting state
    back to itself (2 bytes forward, 2 backward), then pairs of blocks."""
    p, inv = 16777619 & 0xffff, pow(16777619 & 0xffff, -1, 1 << 16)
    s0 = 2166136261 & 0xffff
    alpha = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    back = {}
    for c in alpha:
        for d in alpha:
            back.setdefault((((s0 * inv) & 0xffff ^ d) * inv) & 0xffff ^ c, []).append(
                bytes([c, d]))
    blocks = [bytes([a, b]) + cd for a in alpha for b in alpha
              for cd in back.get(((((s0 ^ a) * p) & 0xffff ^ b) * p) & 0xffff, [])]
    keys = [x + y for x in blocks for y in blocks][:n]

    def fnv16(k):
        h = 2166136261
        for ch in k:
            h = ((h ^ ch) * 16777619) & 0xffffffff
        return h & 0xffff

    assert len(keys) == n and len({fnv16(k) for k in keys}) == 1
    return keys


def htstats(kv):
    """(elements, longest chain) from kvserver's DEBUG HTSTATS 0, or None."""
    r = kv.call(b"DEBUG", b"HTSTATS", b"0")
    if not r.startswith(b"$"):
        return None, r
    elements = longest = 0
    for line in r.split(b"\n"):
        line = line.strip()
        if line.startswith(b"number of elements:"):
            elements += int(line.split(b":")[1])
        if line.startswith(b"max chain length:"):
            longest = max(longest, int(line.split(b":")[1]))
    return elements, longest


def flood(args, tally):
    """Defect: unseeded 16-bit FNV-1a, fixed table. 20,000 keys of one old
    bucket must all be stored, with short chains in a table that grew."""
    kv = Conn(args.kv)
    base = int(kv.call(b"DBSIZE")[1:])
    keys = old_colliding_keys(20000)
    t0 = time.monotonic()
    replies = kv.pipeline([[b"SET", k, k] for k in keys])
    t_coll = time.monotonic() - t0
    tally.check("flood: 20000 SETs of keys colliding under the old hash: all OK",
                replies.count(b"+OK\r\n") == len(keys),
                "%d OK, first other: %r" % (replies.count(b"+OK\r\n"),
                                            next((x for x in replies if x != b"+OK\r\n"), None)))
    got = kv.pipeline([[b"GET", k] for k in keys[::97]])
    tally.check("flood: the keys read back (every 97th)",
                got == [b"$%d\r\n%s\r\n" % (len(k), k) for k in keys[::97]])
    elements, longest = htstats(kv)
    tally.check("flood: DEBUG HTSTATS 0 counts every key", elements == base + len(keys),
                "elements %r, want %d" % (elements if elements is not None else longest,
                                          base + len(keys)))
    tally.check("flood: longest chain <= 16 (one bucket under the old hash: 20000)",
                elements is not None and longest <= 16, "longest chain %r" % (longest,))
    n = sum(int(x[1:]) for x in kv.pipeline(
        [[b"DEL"] + keys[i:i + 60] for i in range(0, len(keys), 60)]))
    tally.check("flood: DEL removes all 20000", n == len(keys), "deleted %d" % n)
    # Informational, not asserted: the same number of ordinary keys.
    plain = [b"plain:%d" % i for i in range(len(keys))]
    t0 = time.monotonic()
    kv.pipeline([[b"SET", k, k] for k in plain])
    t_plain = time.monotonic() - t0
    kv.pipeline([[b"DEL"] + plain[i:i + 60] for i in range(0, len(plain), 60)])
    print("info: 20000 SETs took %.2f s with colliding keys, %.2f s with plain ones "
          "(not asserted)" % (t_coll, t_plain))
    kv.close()


def expiry(args, tally):
    """Defect: after a long batch the sweeper took a passed deadline for "no
    keys" and slept for good. Fill the store (65536 keys) with keys that
    expire in 1 s; 1 s after the last deadline, none may be left, and SET
    must work."""
    kv = Conn(args.kv)
    base = int(kv.call(b"DBSIZE")[1:])
    n = 65536 - base
    first = time.monotonic() + 1.0  # no deadline is before this
    replies = kv.pipeline([[b"SET", b"exp:%d" % i, b"v", b"PX", b"1000"] for i in range(n)])
    last = time.monotonic() + 1.0  # every deadline is before this
    tally.check("expiry: %d SETs with PX 1000 fill the store" % n,
                replies.count(b"+OK\r\n") == n, "%d OK" % replies.count(b"+OK\r\n"))
    full = kv.call(b"SET", b"one-too-many", b"v")
    if time.monotonic() < first:
        tally.check("expiry: the store is full: -OOM", full.startswith(b"-OOM"), repr(full))
    else:  # a slow build: some keys may have expired already
        print("skip expiry: the store is full: -OOM (the fill took over 1 s)")
        kv.call(b"DEL", b"one-too-many")
    # Nothing may read the keys meanwhile (a read deletes an expired key);
    # PINGs keep the server busy as they expire.
    while time.monotonic() < last + 1.0:
        kv.pipeline([[b"PING"]] * 200)
        time.sleep(0.01)
    # 1 s after the last deadline every key must be gone; slow builds (a
    # sanitizer, valgrind) get 5 s more. The old sweeper stopped for good.
    for _ in range(26):
        left = int(kv.call(b"DBSIZE")[1:])
        if left == base:
            break
        time.sleep(0.2)
    tally.check("expiry: 1 s after the deadlines the sweeper has deleted every key "
                "(DBSIZE back to %d)" % base, left == base, "DBSIZE %d" % left)
    replies = kv.pipeline([[b"SET", b"after:%d" % i, b"v"] for i in range(5000)])
    tally.check("expiry: then 5000 SETs of new keys: all OK",
                replies.count(b"+OK\r\n") == 5000,
                "%d OK, first other: %r" % (replies.count(b"+OK\r\n"),
                                            next((x for x in replies if x != b"+OK\r\n"), None)))
    kv.pipeline([[b"DEL"] + [b"after:%d" % j for j in range(i, i + 50)]
                 for i in range(0, 5000, 50)])
    kv.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--redis", type=int, required=True)
    ap.add_argument("--kv", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--counts", required=True, help="file for 'passed failed'")
    args = ap.parse_args()
    tally = Tally()
    for part in (differential, flood, expiry):
        try:
            part(args, tally)
        except (OSError, EOFError, ValueError) as e:
            tally.check("%s ran to its end" % part.__name__, False, repr(e))
    with open(args.counts, "w") as f:
        f.write("%d %d\n" % (tally.passed, tally.failed))
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
