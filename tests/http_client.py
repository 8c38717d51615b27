#!/usr/bin/env python3
"""Hostile and odd HTTP clients for the tests (raw sockets, so nothing tidies the bytes up).

  http_client.py status PORT REQUEST     send REQUEST (\\r\\n escapes allowed), print the status line
  http_client.py stall PORT SECONDS      send half a request, print how long until the server closes
                                         (or "open" if it is still open after SECONDS)
  http_client.py flood PORT N SECONDS    open N idle connections, then print how many the server
                                         closed within SECONDS
  http_client.py hostile PORT SECONDS PID
                                         for SECONDS: 1,000 idle connections, 20 slowloris clients
                                         (a header byte a second), oversized headers and garbage in
                                         a loop, while a normal scraper asks for /metrics every
                                         100 ms with Prometheus' default 10 s scrape timeout;
                                         prints "scrapes OK TOTAL p50_ms p99_ms max_ms MAXFDS",
                                         MAXFDS the most descriptors PID held meanwhile, and on
                                         stderr how the failed scrapes failed
"""
import os
import resource
import threading
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


FAILURES = {}


def scrape(port, timeout):
    """One normal scrape; its latency in ms, or None (the kind of failure counted in FAILURES)."""
    start = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
        s.settimeout(max(0.01, timeout - (time.monotonic() - start)))
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        if not data.startswith(b"HTTP/1.1 200") or b"krbwatch_build_info" not in data:
            kind = "status " + data.split(b" ", 2)[1].decode("latin-1") if data else "closed"
            FAILURES[kind] = FAILURES.get(kind, 0) + 1
            return None
    except OSError as e:
        kind = type(e).__name__
        FAILURES[kind] = FAILURES.get(kind, 0) + 1
        return None
    return (time.monotonic() - start) * 1000


def hostile(port, seconds, pid):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    end = time.monotonic() + float(seconds)

    def idle():
        socks = []
        while True:
            while len(socks) < 1000:
                try:
                    socks.append(socket.create_connection(("127.0.0.1", int(port)), timeout=2))
                except OSError:
                    break
            # the server closes the oldest: open new ones in their place
            alive = []
            for s in socks:
                s.setblocking(False)
                try:
                    if s.recv(1) == b"":
                        s.close()
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
                    continue
                alive.append(s)
            socks = alive
            time.sleep(0.2)

    def slowloris():
        socks = []
        while True:
            while len(socks) < 20:
                try:
                    s = socket.create_connection(("127.0.0.1", int(port)), timeout=2)
                    s.sendall(b"GET /metrics HTTP/1.1\r\n")
                    socks.append(s)
                except OSError:
                    break
            alive = []
            for s in socks:
                try:
                    s.sendall(b"X")
                    alive.append(s)
                except OSError:
                    s.close()
            socks = alive
            time.sleep(1)

    def junk():
        big = b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n"
        while True:
            for payload in (big, b"\x16\x03\x01\x00\xff garbage \x00\x01\r\n\r\n"):
                try:
                    s = socket.create_connection(("127.0.0.1", int(port)), timeout=2)
                    s.sendall(payload)
                    s.recv(4096)
                    s.close()
                except OSError:
                    pass
            time.sleep(0.01)

    # The attackers run, until killed, in a child process: sharing the scraper's interpreter
    # lock, they held its request back for tens of ms after connecting; a real scraper is not
    # slowed down by its attacker.  Their sockets close with the process.
    child = os.fork()
    if child == 0:
        threads = [threading.Thread(target=f, daemon=True) for f in (idle, slowloris, junk)]
        for t in threads:
            t.start()
        time.sleep(float(seconds) + 5)
        os._exit(0)
    time.sleep(1)  # let the attack build up
    lat, total, maxfds = [], 0, 0
    while time.monotonic() < end:
        total += 1
        maxfds = max(maxfds, len(os.listdir("/proc/%s/fd" % pid)))
        ms = scrape(port, 10.0)
        if ms is not None:
            lat.append(ms)
        time.sleep(0.1)
    os.kill(child, 9)
    os.waitpid(child, 0)
    lat.sort()
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else -1
    print("scrapes %d %d %.1f %.1f %.1f %d" % (len(lat), total, pick(0.5), pick(0.99), lat[-1] if lat else -1, maxfds))
    print("failures: %s" % (", ".join("%s %d" % kv for kv in sorted(FAILURES.items())) or "none"), file=sys.stderr)


if __name__ == "__main__":
    cmd = sys.argv[1]
    {"status": status, "stall": stall, "flood": flood, "hostile": hostile}[cmd](*sys.argv[2:])
