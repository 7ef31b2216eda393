#!/usr/bin/env python3
"""chat exits at once on SIGTERM, even with a connection that already left
the clients table: a client that never reads (its writer blocked on a full
socket) and then half-closes (its reader has ended). Exit status 0 if chat
exited 0 within 5 s of the signal. Usage: chat_shutdown.py CHAT_BINARY"""
import signal, socket, subprocess, sys, time

chat = subprocess.Popen([sys.argv[1], "0", "500"], stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL)
port = int(chat.stdout.readline().split(b":")[1])


def connect(rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    return s


stuck = connect(1024)  # never reads
time.sleep(0.2)
talker = connect()
line = b"x" * 400 + b"\n"
for _ in range(150):  # fills the kernel buffers towards `stuck`
    talker.sendall(line)
time.sleep(0.3)
stuck.shutdown(socket.SHUT_WR)  # done sending: it leaves the table
time.sleep(0.3)
start = time.time()
chat.send_signal(signal.SIGTERM)
try:
    rc = chat.wait(timeout=5)
except subprocess.TimeoutExpired:
    print("chat still running 5 s after SIGTERM")
    chat.kill()
    chat.wait()
    sys.exit(1)
print("chat exited %d after %.1f s" % (rc, time.time() - start))
sys.exit(0 if rc == 0 else 1)
