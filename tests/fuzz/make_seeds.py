#!/usr/bin/env python3
"""Writes the seeds of the dns and kdc_reply fuzz targets (tests/fuzz/{dns,kdc_reply}/): small
hand-built messages, so that every seed says what it is.  Run from tests/fuzz/ when a seed is to
change; the files are committed, this is how they were made."""
import struct

def name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"

def dns(qname, qtype, answers, rcode=0, flags=0x8180):
    h = struct.pack(">HHHHHH", 0x1234, flags | rcode, 1, len(answers), 0, 0)
    q = name(qname) + struct.pack(">HH", qtype, 1)
    a = b""
    for owner, rtype, rdata in answers:
        own = b"\xc0\x0c" if owner is None else name(owner)
        a += own + struct.pack(">HHIH", rtype, 1, 300, len(rdata)) + rdata
    return h + q + a

A, AAAA, CNAME, SRV = 1, 28, 5, 33
srvname = "_kerberos._udp.onprem.example.com"
seeds = {
    "srv_two": dns(srvname, SRV, [(None, SRV, struct.pack(">HHH", 0, 100, 88) + name("dc1.onprem.example.com")),
                                  (None, SRV, struct.pack(">HHH", 10, 5, 88) + name("dc2.onprem.example.com"))]),
    "srv_dot": dns(srvname, SRV, [(None, SRV, struct.pack(">HHH", 0, 0, 0) + b"\0")]),
    "srv_compressed": dns(srvname, SRV, [(None, SRV, struct.pack(">HHH", 1, 1, 88) + b"\x03dc1\xc0\x18")]),
    "nxdomain": dns(srvname, SRV, [], rcode=3),
    "servfail": dns("dc1.onprem.example.com", A, [], rcode=2),
    "a_two": dns("dc1.onprem.example.com", A, [(None, A, bytes([10, 0, 1, 10])), (None, A, bytes([10, 0, 2, 10]))]),
    "a_cname": dns("kdc.onprem.example.com", A, [(None, CNAME, name("dc1.onprem.example.com")),
                                                  ("DC1.onprem.example.com", A, bytes([10, 0, 1, 10]))]),
    "aaaa_one": dns("dc1.onprem.example.com", AAAA, [(None, AAAA, bytes(15) + b"\1")]),
    "truncated": dns("dc1.onprem.example.com", A, [(None, A, bytes([10, 0, 1, 10]))])[:-3],
}
for k, v in seeds.items():
    open("dns/" + k, "wb").write(v)

# ---- DER for the KDC replies
def tlv(tag, body):
    n = len(body)
    if n < 128:
        ln = bytes([n])
    elif n < 256:
        ln = b"\x81" + bytes([n])
    else:
        ln = b"\x82" + struct.pack(">H", n)
    return bytes([tag]) + ln + body

def integer(v):
    b = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big", signed=True)
    return tlv(0x02, b)

def ctx(i, body):
    return tlv(0xa0 + i, body)

def gstr(s):
    return tlv(0x1b, s.encode())

def principal(ntype, *parts):
    return tlv(0x30, ctx(0, integer(ntype)) + ctx(1, tlv(0x30, b"".join(gstr(p) for p in parts))))

def krb_error(code, stime="20261129051500Z", susec=123456, realm="ONPREM.EXAMPLE.COM"):
    body = (ctx(0, integer(5)) + ctx(1, integer(30)) + ctx(4, tlv(0x18, stime.encode())) +
            ctx(5, integer(susec)) + ctx(6, integer(code)) + ctx(9, gstr(realm)) +
            ctx(10, principal(2, "krbtgt", realm)))
    return tlv(0x7e, tlv(0x30, body))

def framed(msg):
    return struct.pack(">I", len(msg)) + msg

preauth = krb_error(25)
kdc_seeds = {
    # control byte: bit 0 kpasswd; the rest the size of the pieces the bytes arrive in
    "preauth_required": b"\xfe" + framed(preauth),
    "preauth_required_bytewise": b"\x00" + framed(preauth),
    "principal_unknown": b"\x10" + framed(krb_error(6)),
    "skew_no_susec": b"\x20" + framed(krb_error(37, susec=2000000)),
    "as_rep": b"\x08" + framed(tlv(0x6b, tlv(0x30, ctx(0, integer(5)) + ctx(1, integer(11))))),
    "kpasswd_error": b"\x01" + framed(struct.pack(">HHH", 6 + len(preauth), 1, 0) + preauth),
    "kpasswd_bare_error": b"\x03" + framed(preauth),
    "kpasswd_priv": b"\x01" + framed(struct.pack(">HHH", 10, 1, 2) + b"\x6f\x00" + b"\x75\x00"),
    "zero_length": b"\x00" + struct.pack(">I", 0),
    "huge_length": b"\x00" + struct.pack(">I", 0x7fffffff) + preauth,
    "short_frame": b"\x00" + struct.pack(">I", 40) + preauth[:10],
}
for k, v in kdc_seeds.items():
    open("kdc_reply/" + k, "wb").write(v)

# ---- issue 17: the chain's reply path, the MySQL login state machine, libpq's words
chain_seeds = {
    "preauth_required": preauth,
    "principal_unknown": krb_error(6),
    "client_revoked": krb_error(18),
    "skew": krb_error(37, stime="20261129053000Z"),
    "generic_process_tgs": krb_error(60),
    "as_rep_stub": tlv(0x6b, tlv(0x30, ctx(0, integer(5)) + ctx(1, integer(11)))),
    "not_der": b"HTTP/1.0 400 Bad Request\r\n\r\n",
    "empty": b"",
}
for k, v in chain_seeds.items():
    open("chain_reply/" + k, "wb").write(v)

for k in ("login_mysql_switch", "login_mysql_moredata", "greeting_mariadb", "err_greeting"):
    body = open("mysql_packet/" + k, "rb").read()[1:]     # without that target's control byte
    open("mysql_login/" + k, "wb").write(b"\x00" + body)
    open("mysql_login/" + k + "_spn_set", "wb").write(b"\x02" + body)
body = open("mysql_packet/login_mariadb", "rb").read()[1:]
open("mysql_login/login_mariadb", "wb").write(b"\x01" + body)
open("mysql_login/login_mariadb_expect", "wb").write(b"\x05" + body)

# ErrorResponse bodies as a PostgreSQL server sends them (fields: code byte, C string; then 0)
def pg_err(*fields):
    return b"".join(f[0:1] + f[1:] + b"\0" for f in fields) + b"\0"


pg_seeds = {
    "fatal_28000": pg_err(b"SFATAL", b"VFATAL", b"C28000",
                          b"MGSSAPI authentication failed for user \"krbmon\""),
    "too_many": pg_err(b"SFATAL", b"VFATAL", b"C53300", b"Msorry, too many clients already"),
    "starting": pg_err(b"SFATAL", b"VFATAL", b"C57P03", b"Mthe database system is starting up"),
    "query_42501": pg_err(b"SERROR", b"VERROR", b"C42501", b"Mpermission denied"),
    "unterminated": b"SFATAL\0C28000\0Mno end",
    "control": pg_err(b"VFATAL", b"CXX000", b"Mline one\nline two\x1b[31m"),
    "empty": b"",
}
for k, v in pg_seeds.items():
    open("pg_classify/" + k, "wb").write(v)
