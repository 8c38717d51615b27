#!/usr/bin/env python3
"""A PostgreSQL impostor on loopback: asks for GSSAPI, takes the client's token without being
able to read it (it holds no key) and answers AuthenticationOk at once, without the AP-REP that
proves a server holds the service key; then answers SELECT current_user with "krbmon".

pg_liar.py PORTFILE: listens on a free port of 127.0.0.1, writes the port to PORTFILE, logs one
line per connection to stderr ("token N B, OK without AP-REP"), serves until killed.
"""
import os
import socket
import struct
import sys
import threading


def msg(kind, body):
    return kind + struct.pack("!I", len(body) + 4) + body


def recv_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError
        b += d
    return b


def serve(c):
    try:
        while True:
            n = struct.unpack("!I", recv_exact(c, 4))[0]
            body = recv_exact(c, n - 4)
            code = struct.unpack("!I", body[:4])[0]
            if code in (80877103, 80877104):        # SSLRequest, GSSENCRequest
                c.sendall(b"N")
                continue
            break                                   # the StartupMessage
        c.sendall(msg(b"R", struct.pack("!I", 7)))  # AuthenticationGSS
        kind = recv_exact(c, 1)
        n = struct.unpack("!I", recv_exact(c, 4))[0]
        token = recv_exact(c, n - 4)
        sys.stderr.write("pg_liar: %s token %d B, OK without AP-REP\n" % (kind.decode(), len(token)))
        sys.stderr.flush()
        c.sendall(msg(b"R", struct.pack("!I", 0)) + msg(b"K", struct.pack("!II", 1, 2)) +
                  msg(b"Z", b"I"))
        while True:
            kind = recv_exact(c, 1)
            n = struct.unpack("!I", recv_exact(c, 4))[0]
            recv_exact(c, n - 4)
            if kind == b"X":
                break
            col = b"current_user\0" + struct.pack("!IhIhih", 0, 0, 19, 64, -1, 0)
            c.sendall(msg(b"T", struct.pack("!h", 1) + col) +
                      msg(b"D", struct.pack("!hI", 1, 6) + b"krbmon") +
                      msg(b"C", b"SELECT 1\0") + msg(b"Z", b"I"))
    except (EOFError, OSError):
        pass
    c.close()


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1] + ".new", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(sys.argv[1] + ".new", sys.argv[1])
while True:
    conn, _ = s.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
