#!/usr/bin/env python3
"""A hostile resolver on loopback: every SRV question gets SRV_TARGETS records, every A
question ADDRS addresses (all on 127.0.0.0/8).  The SRV records name a port where this
script listens on every loopback address and never answers (UDP read and dropped, TCP never
accepted): each KDC target waits for its deadline, as blackholed DCs do.

dns_flood.py PORTFILE [SRV_TARGETS [ADDRS]]: binds UDP and TCP on one free port of
127.0.0.1, writes the port to PORTFILE, and answers until killed.  Over UDP a large answer is
truncated (TC), as a real server does, so the client asks again over TCP.  The targets'
names are compressed against the question (kNNNN + a pointer), so 2,400 of them fit in one
64 KiB TCP message.
"""
import socket
import struct
import sys
import threading

portfile = sys.argv[1]
SRV_TARGETS = int(sys.argv[2]) if len(sys.argv) > 2 else 2400
ADDRS = int(sys.argv[3]) if len(sys.argv) > 3 else 200


def parse_question(q):
    off, labels = 12, []
    while q[off]:
        n = q[off]
        labels.append(q[off + 1:off + 1 + n])
        off += 1 + n
    qtype, qclass = struct.unpack("!HH", q[off + 1:off + 5])
    return labels, off + 5, qtype


def answer(q, udp):
    qid = q[:2]
    labels, qend, qtype = parse_question(q)
    rrs = []
    if qtype == 33 and len(labels) > 2:        # SRV: targets under the domain after _svc._proto
        dom = 12 + sum(1 + len(lbl) for lbl in labels[:2])
        port = silent_port
        for i in range(SRV_TARGETS):
            name = b"\x05k%04d" % i + struct.pack("!H", 0xC000 | dom)
            rd = struct.pack("!HHH", 0, 0, port) + name
            rrs.append(struct.pack("!HHHIH", 0xC00C, 33, 1, 60, len(rd)) + rd)
    elif qtype == 1:
        for i in range(ADDRS):
            rd = bytes([127, 1 + i // 250, 1 + i % 250, 1])
            rrs.append(struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + rd)
    body = b"".join(rrs)
    flags = 0x8400                              # response, authoritative, NOERROR
    n = len(rrs)
    if udp and 12 + (qend - 12) + len(body) > 512:
        flags |= 0x0200                          # TC: ask again over TCP
        body, n = b"", 0
    return qid + struct.pack("!HHHHH", flags, 1, n, 0, 0) + q[12:qend] + body


def udp_tcp_pair(host):
    """A UDP and a TCP socket on the same free port (another port when TCP's is taken)."""
    while True:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((host, 0))
        t = socket.socket()
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            t.bind((host, u.getsockname()[1]))
        except OSError:
            u.close()
            t.close()
            continue
        t.listen(4096)
        return u, t, u.getsockname()[1]


u, t, port = udp_tcp_pair("127.0.0.1")
# the silent KDC port: any loopback address, UDP read and dropped, TCP never accepted
su, st, silent_port = udp_tcp_pair("0.0.0.0")


def serve_udp():
    while True:
        q, peer = u.recvfrom(4096)
        try:
            u.sendto(answer(q, True), peer)
        except (IndexError, struct.error):
            pass


def serve_tcp_conn(c):
    try:
        while True:
            hdr = c.recv(2, socket.MSG_WAITALL)
            if len(hdr) < 2:
                break
            q = c.recv(struct.unpack("!H", hdr)[0], socket.MSG_WAITALL)
            a = answer(q, False)
            c.sendall(struct.pack("!H", len(a)) + a)
    except (OSError, IndexError, struct.error):
        pass
    c.close()


threading.Thread(target=serve_udp, daemon=True).start()
with open(portfile + ".new", "w") as f:
    f.write("%d\n" % port)
__import__("os").rename(portfile + ".new", portfile)
while True:
    c, _ = t.accept()
    threading.Thread(target=serve_tcp_conn, args=(c,), daemon=True).start()
