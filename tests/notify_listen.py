#!/usr/bin/env python3
"""A stand-in for systemd's notify socket: binds a datagram socket at PATH and appends each
message to OUT as one line (newlines inside a message become " | ")."""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if os.path.exists(path):
    os.unlink(path)
s.bind(path)
with open(out, "a", buffering=1) as f:
    print("listening", file=f)
    while True:
        msg = s.recv(65536).decode("utf-8", "replace")
        f.write(msg.strip("\n").replace("\n", " | ") + "\n")
