#!/usr/bin/env python3
"""Hostile and odd HTTP clients for the tests (raw sockets, so nothing tidies the bytes up).

  http_client.py status PORT REQUEST     send REQUEST (\\r\\n escapes allowed), print the status line
  http_client.py stall PORT SECONDS      send half a request, print how long until the server closes
                                         (or "open" if it is still open after SECONDS)
  http_client.py flood PORT N SECONDS    open N idle connections, then print how many the server
                                         closed within SECONDS
"""
import socket
import sys
import time


def connect(port):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    return s


def status(port, request):
    s = connect(port)
    s.sendall(request.encode().decode("unicode_escape").encode("latin-1"))
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    print(data.split(b"\r\n", 1)[0].decode("latin-1") if data else "closed")


def stall(port, seconds):
    s = connect(port)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    start = time.monotonic()
    s.settimeout(float(seconds))
    try:
        while True:
            if not s.recv(4096):
                break
    except socket.timeout:
        print("open")
        return
    except ConnectionResetError:
        pass
    print("%.1f" % (time.monotonic() - start))


def flood(port, n, seconds):
    socks = [connect(port) for _ in range(int(n))]
    deadline = time.monotonic() + float(seconds)
    closed = set()
    while time.monotonic() < deadline and len(closed) < len(socks):
        for i, s in enumerate(socks):
            if i in closed:
                continue
            s.setblocking(False)
            try:
                if s.recv(4096) == b"":
                    closed.add(i)
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed.add(i)
        time.sleep(0.05)
    print(len(closed))


if __name__ == "__main__":
    cmd = sys.argv[1]
    {"status": status, "stall": stall, "flood": flood}[cmd](*sys.argv[2:])
