#!/usr/bin/env python3
"""Floods an HTTP listener with wrong basic-auth credentials from many parallel clients.

auth_flood.py HOST:PORT CLIENTS SECONDS: each client connects, asks for /metrics with a wrong
password (half of them an unknown user), reads the answer and starts again, until SECONDS have
passed.  Prints "requests N" at the end.  A separate process, so that krbwatch's loop, not this
script, is what is measured.
"""
import base64
import socket
import sys
import threading
import time

host, port = sys.argv[1].rsplit(":", 1)
clients, seconds = int(sys.argv[2]), float(sys.argv[3])
stop = time.monotonic() + seconds
count = [0]
lock = threading.Lock()


def client(i):
    cred = ("prom:wrong%d" % i) if i % 2 else ("guess%d:x" % i)
    req = ("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic %s"
           "\r\n\r\n" % base64.b64encode(cred.encode()).decode()).encode()
    while time.monotonic() < stop:
        try:
            s = socket.create_connection((host, int(port)), timeout=15)
            s.sendall(req)
            while s.recv(4096):
                pass
            s.close()
            with lock:
                count[0] += 1
        except OSError:
            time.sleep(0.01)


threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("requests %d" % count[0])
