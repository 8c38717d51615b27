#!/usr/bin/python3
"""mysql_krb_login: the client side of MySQL `authentication_kerberos`, done the way the MySQL C
client (libmysql/authentication_kerberos) does it, for the lab's selfcheck and for testing
tests/lab/mysql_krb_peer.

  mysql_krb_login.py [options] HOST [PORT]

Connects, reads the protocol-10 greeting, sends an SSLRequest and upgrades to TLS (server
certificate verified against --ca, host name checked), sends HandshakeResponse41 for --user with
the greeting's default plugin and an empty auth response, expects an AuthSwitchRequest to
`authentication_kerberos_client` whose data is le16 len|SPN|le16 len|realm, then calls
libgssapi_krb5 (through ctypes) as libmysql does: gss_import_name(SPN, GSS_C_NT_USER_NAME),
gss_init_sec_context(GSS_C_NO_CREDENTIAL = the default ccache (KRB5CCNAME), mech GSS_C_NO_OID,
req_flags 0 (GSS_C_MUTUAL_FLAG with --mutual), no channel bindings).  The token goes out as a
plain packet; AuthMoreData (0x01) legs are fed back while the context needs more.  Then OK/ERR,
the query (`SELECT CURRENT_USER()`) and COM_QUIT.

Prints one line.  Exit 0: logged in and CURRENT_USER() is --expect-user (if given); 1: any
failure (the line says which step and why); 2: usage.
"""

import argparse
import ctypes
import socket
import ssl
import struct
import sys
import time

CLIENT_LONG_PASSWORD = 0x1
CLIENT_LONG_FLAG = 0x4
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_MULTI_RESULTS = 0x20000
CLIENT_PLUGIN_AUTH = 0x80000
CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 0x200000
CLIENT_DEPRECATE_EOF = 0x1000000
MAX_PACKET = 1 << 20


class Fail(Exception):
    pass


class Client:
    def __init__(self, sock, timeout):
        self.sock = sock
        self.seq = 0
        self.deadline = time.monotonic() + timeout
        self.step = "connect"

    def recv_exact(self, n, what):
        buf = bytearray()
        while len(buf) < n:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise Fail("timeout reading the %s (%s; got %d of %d bytes)" % (self.step, what, len(buf), n))
            self.sock.settimeout(left)
            try:
                c = self.sock.recv(n - len(buf))
            except (socket.timeout, TimeoutError):
                raise Fail("timeout reading the %s (%s; got %d of %d bytes)" % (self.step, what, len(buf), n)) from None
            except ssl.SSLError as e:
                raise Fail("TLS error reading the %s: %s" % (self.step, e.reason or e)) from None
            except OSError as e:
                raise Fail("%s reading the %s" % (e.strerror or e, self.step)) from None
            if not c:
                if what == "header" and not buf:
                    raise Fail("connection closed by the server before the %s" % self.step)
                raise Fail("truncated %s: EOF in the %s after %d of %d bytes" % (self.step, what, len(buf), n))
            buf += c
        return bytes(buf)

    def read_packet(self):
        hdr = self.recv_exact(4, "header")
        n = int.from_bytes(hdr[:3], "little")
        if hdr[3] != self.seq:
            raise Fail("bad %s: sequence id %d, expected %d (header %s: not MySQL?)"
                       % (self.step, hdr[3], self.seq, hdr.hex()))
        if n > MAX_PACKET:
            raise Fail("oversized %s: header announces %d bytes%s, limit %d"
                       % (self.step, n, " (split packet, 16 MiB+)" if n == 0xFFFFFF else "", MAX_PACKET))
        self.seq = (self.seq + 1) & 0xFF
        return self.recv_exact(n, "payload")

    def write_packet(self, payload):
        self.sock.settimeout(max(0.1, self.deadline - time.monotonic()))
        self.sock.sendall(len(payload).to_bytes(3, "little") + bytes([self.seq]) + payload)
        self.seq = (self.seq + 1) & 0xFF


def err_text(p):
    code = struct.unpack("<H", p[1:3])[0]
    msg = p[3:]
    state = ""
    if msg[:1] == b"#":
        state, msg = msg[1:6].decode(), msg[6:]
    return "ERROR %d (%s): %s" % (code, state, msg.decode("utf-8", "replace"))


def lenenc(p, pos):
    f = p[pos]
    if f < 251:
        return f, pos + 1
    if f == 0xFC:
        return struct.unpack("<H", p[pos + 1:pos + 3])[0], pos + 3
    if f == 0xFD:
        return int.from_bytes(p[pos + 1:pos + 4], "little"), pos + 4
    if f == 0xFE:
        return struct.unpack("<Q", p[pos + 1:pos + 9])[0], pos + 9
    raise Fail("bad length-encoded integer 0x%02x" % f)


def parse_greeting(p):
    if not p or p[0] != 10:
        raise Fail("not a protocol-10 greeting (first bytes %s)" % p[:16].hex())
    end = p.index(b"\0", 1)
    version = p[1:end].decode("utf-8", "replace")
    pos = end + 1 + 4
    salt = p[pos:pos + 8]
    pos += 9
    caps = struct.unpack("<H", p[pos:pos + 2])[0]
    pos += 2 + 1 + 2
    caps |= struct.unpack("<H", p[pos:pos + 2])[0] << 16
    pos += 2
    salt_len = p[pos]
    pos += 1 + 10
    n = max(13, salt_len - 8)
    salt += p[pos:pos + n].rstrip(b"\0")
    pos += n
    plugin = p[pos:].split(b"\0")[0].decode() if caps & CLIENT_PLUGIN_AUTH else ""
    return version, caps, plugin


def parse_switch(p):
    """AuthSwitchRequest -> (plugin, spn, realm), parsed like auth_kerberos_client_io.cc."""
    end = p.index(b"\0", 1)
    plugin = p[1:end].decode("utf-8", "replace")
    data = p[end + 1:]
    fields = []
    pos = 0
    for what in ("SPN", "realm"):
        if pos + 2 > len(data):
            raise Fail("AuthSwitchRequest data too short for the %s length (%s)" % (what, data.hex()))
        n = data[pos] | data[pos + 1] << 8  # little endian, as the C client reads it
        pos += 2
        if n == 0 or n > 256 or pos + n > len(data):
            raise Fail("AuthSwitchRequest: bad %s length %d" % (what, n))
        fields.append(data[pos:pos + n].decode("utf-8", "replace"))
        pos += n
    return plugin, fields[0], fields[1]


class Gss:
    """gss_import_name + gss_init_sec_context through ctypes, with exactly the arguments that
    libmysql's Gssapi_client::authenticate() passes (python-gssapi turns req_flags 0 into its
    default, mutual + out-of-sequence, so it is not used here)."""

    class Buf(ctypes.Structure):
        _fields_ = [("length", ctypes.c_size_t), ("value", ctypes.c_void_p)]

    def __init__(self):
        lib = ctypes.CDLL("libgssapi_krb5.so.2")
        self.lib = lib
        u32p = ctypes.POINTER(ctypes.c_uint32)
        bufp = ctypes.POINTER(Gss.Buf)
        vp = ctypes.c_void_p
        lib.gss_import_name.argtypes = [u32p, bufp, vp, ctypes.POINTER(vp)]
        lib.gss_init_sec_context.argtypes = [u32p, vp, ctypes.POINTER(vp), vp, vp, ctypes.c_uint32,
                                             ctypes.c_uint32, vp, bufp, ctypes.POINTER(vp), bufp,
                                             u32p, u32p]
        lib.gss_release_buffer.argtypes = [u32p, bufp]
        lib.gss_release_name.argtypes = [u32p, ctypes.POINTER(vp)]
        lib.gss_delete_sec_context.argtypes = [u32p, ctypes.POINTER(vp), vp]
        lib.gss_display_status.argtypes = [u32p, ctypes.c_uint32, ctypes.c_int, vp, u32p, bufp]
        for f in ("gss_import_name", "gss_init_sec_context", "gss_release_buffer", "gss_release_name",
                  "gss_delete_sec_context", "gss_display_status"):
            getattr(lib, f).restype = ctypes.c_uint32
        self.nt_user_name = ctypes.c_void_p.in_dll(lib, "GSS_C_NT_USER_NAME")
        self.name = ctypes.c_void_p(None)
        self.ctx = ctypes.c_void_p(None)
        self.more = False
        self.ret_flags = 0

    def status(self, code, kind):
        out, ctx_, mn = [], ctypes.c_uint32(0), ctypes.c_uint32(0)
        while True:
            b = Gss.Buf()
            self.lib.gss_display_status(ctypes.byref(mn), code, kind, None, ctypes.byref(ctx_),
                                        ctypes.byref(b))
            out.append(ctypes.string_at(b.value, b.length).decode("utf-8", "replace"))
            self.lib.gss_release_buffer(ctypes.byref(mn), ctypes.byref(b))
            if not ctx_.value:
                return " ".join(out)

    def fail(self, what, major, minor):
        raise Fail("%s: %s %s" % (what, self.status(major, 1), self.status(minor, 2) if minor else ""))

    def init(self, spn, token, flags):
        mn = ctypes.c_uint32(0)
        if not self.name:
            b = spn.encode()
            nb = Gss.Buf(len(b), ctypes.cast(ctypes.c_char_p(b), ctypes.c_void_p))
            maj = self.lib.gss_import_name(ctypes.byref(mn), ctypes.byref(nb), self.nt_user_name,
                                           ctypes.byref(self.name))
            if maj & 0xFFFF0000:
                self.fail("gss_import_name(%s)" % spn, maj, mn.value)
        keep = token
        inp = Gss.Buf(0, None)
        if token:
            inp = Gss.Buf(len(token), ctypes.cast(ctypes.c_char_p(keep), ctypes.c_void_p))
        out = Gss.Buf(0, None)
        rf = ctypes.c_uint32(0)
        maj = self.lib.gss_init_sec_context(ctypes.byref(mn), None, ctypes.byref(self.ctx), self.name,
                                            None, flags, 0, None, ctypes.byref(inp), None,
                                            ctypes.byref(out), ctypes.byref(rf), None)
        if maj & 0xFFFF0000:
            self.fail("gss_init_sec_context(%s)" % spn, maj, mn.value)
        self.more = bool(maj & 1)  # GSS_S_CONTINUE_NEEDED
        self.ret_flags = rf.value
        data = ctypes.string_at(out.value, out.length) if out.length else b""
        self.lib.gss_release_buffer(ctypes.byref(mn), ctypes.byref(out))
        return data

    def close(self):
        mn = ctypes.c_uint32(0)
        if self.ctx:
            self.lib.gss_delete_sec_context(ctypes.byref(mn), ctypes.byref(self.ctx), None)
        if self.name:
            self.lib.gss_release_name(ctypes.byref(mn), ctypes.byref(self.name))



def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("host")
    ap.add_argument("port", nargs="?", type=int, default=3306)
    ap.add_argument("--user", default="krbmon")
    ap.add_argument("--ca", help="CA file: TLS with certificate and host name verification")
    ap.add_argument("--no-tls", action="store_true", help="do not send an SSLRequest")
    ap.add_argument("--mutual", action="store_true", help="request GSS mutual auth (Connector/Python does)")
    ap.add_argument("--query", default="SELECT CURRENT_USER()")
    ap.add_argument("--expect-user", help="fail unless the query returns this")
    ap.add_argument("--no-deprecate-eof", action="store_true", help="old resultset framing (EOF packets)")
    ap.add_argument("--timeout", type=float, default=5.0, help="for the whole exchange (5 s)")
    a = ap.parse_args()
    if not a.no_tls and not a.ca:
        ap.error("--ca is required unless --no-tls")

    t0 = time.monotonic()
    try:
        try:
            sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
        except OSError as e:
            raise Fail("connect to %s:%d: %s" % (a.host, a.port, e.strerror or e)) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c = Client(sock, a.timeout)
        c.step = "greeting"
        g = c.read_packet()
        if g[:1] == b"\xff":
            raise Fail("server refused: " + err_text(g))
        version, scaps, plugin = parse_greeting(g)
        caps = (CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS
                | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH
                | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_DEPRECATE_EOF) & scaps
        if a.no_deprecate_eof:
            caps &= ~CLIENT_DEPRECATE_EOF
        tls = "no TLS"
        if not a.no_tls:
            if not scaps & CLIENT_SSL:
                raise Fail("server %s does not offer TLS" % version)
            caps |= CLIENT_SSL
            c.step = "TLS handshake"
            c.write_packet(struct.pack("<IIB", caps, 1 << 24, 255) + b"\0" * 23)
            ctx = ssl.create_default_context(cafile=a.ca)
            try:
                c.sock.settimeout(max(0.1, c.deadline - time.monotonic()))
                c.sock = ctx.wrap_socket(c.sock, server_hostname=a.host)
            except ssl.SSLCertVerificationError as e:
                raise Fail("TLS verify failed: %s" % e.verify_message) from None
            except (ssl.SSLError, OSError) as e:
                raise Fail("TLS handshake failed: %s" % (getattr(e, "reason", None) or e)) from None
            tls = "%s verified" % c.sock.version()
        c.step = "auth switch"
        c.write_packet(struct.pack("<IIB", caps, 1 << 24, 255) + b"\0" * 23 + a.user.encode() + b"\0"
                       + b"\0" + plugin.encode() + b"\0")
        p = c.read_packet()
        if p[:1] == b"\xff":
            raise Fail("login refused before Kerberos: " + err_text(p))
        if p[:1] != b"\xfe":
            raise Fail("expected an AuthSwitchRequest, got packet type 0x%02x" % p[0])
        swplugin, spn, realm = parse_switch(p)
        if swplugin != "authentication_kerberos_client":
            raise Fail("server switched to plugin %s" % swplugin)

        c.step = "GSS exchange"
        g = Gss()
        try:
            token = g.init(spn, None, 0x2 if a.mutual else 0)  # GSS_C_MUTUAL_FLAG or 0
            first_len, legs = len(token), 1
            c.write_packet(token)
            while g.more:
                p = c.read_packet()
                if p[:1] == b"\xff":
                    raise Fail(err_text(p))
                if p[:1] == b"\x01":
                    p = p[1:]
                token = g.init(spn, p, 0x2 if a.mutual else 0)
                legs += 1
                if token:
                    c.write_packet(token)
        finally:
            g.close()
        c.step = "auth result"
        p = c.read_packet()
        if p[:1] == b"\xff":
            raise Fail(err_text(p))
        if p[:1] != b"\x00":
            raise Fail("expected OK after the GSS token, got packet type 0x%02x" % p[0])

        c.step = "query result"
        c.seq = 0
        c.write_packet(b"\x03" + a.query.encode())
        p = c.read_packet()
        if p[:1] == b"\xff":
            raise Fail(err_text(p))
        ncols, _ = lenenc(p, 0)
        if ncols != 1:
            raise Fail("expected 1 column, got %d" % ncols)
        c.read_packet()  # column definition
        if not caps & CLIENT_DEPRECATE_EOF:
            p = c.read_packet()
            if p[:1] != b"\xfe":
                raise Fail("expected EOF after the column definition")
        rows = []
        while True:
            p = c.read_packet()
            if p[:1] == b"\xfe" and len(p) < 0xFFFFFF:
                break
            if p[:1] == b"\xff":
                raise Fail(err_text(p))
            n, pos = lenenc(p, 0)
            rows.append(p[pos:pos + n].decode("utf-8", "replace"))
        c.seq = 0
        c.write_packet(b"\x01")  # COM_QUIT
        c.sock.close()
    except Fail as e:
        print("FAIL %s" % e)
        return 1
    value = rows[0] if len(rows) == 1 else repr(rows)
    ms = (time.monotonic() - t0) * 1000
    line = ("server %s, %s, SPN %s realm %s, token %d B, %d leg%s%s, %s=%s (%.1f ms)"
            % (version, tls, spn, realm, first_len, legs, "" if legs == 1 else "s",
               " (mutual)" if a.mutual else "", a.query.split(None, 1)[-1], value, ms))
    if a.expect_user is not None and value != a.expect_user:
        print("FAIL %s, expected %s" % (line, a.expect_user))
        return 1
    print("OK " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
