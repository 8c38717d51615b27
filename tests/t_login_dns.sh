#!/bin/sh
# The logins resolve the database's name through the one c-ares integration (dns_client.c) and
# name a resolver's failure with the reasons the DNS probe uses: a closed resolver port is
# refused, an answer without an address is no_records, an unknown name nxdomain, for MySQL,
# MariaDB and PostgreSQL alike.  The drivers run on loopback against a resolver of our own; no
# ticket is needed (the name is resolved first), only a cache that names a client.
. "$(dirname "$0")/lib.sh"

UNITS=${KW_UNITS:-$KW_TOP/build/tests}
for d in login_main login_pg_main; do
	[ -x "$UNITS/$d" ] || { not_ok "driver $d is built"; exit 1; }
done
command -v python3 >/dev/null 2>&1 || { not_ok "python3 is installed"; exit 1; }

# a FILE cache (version 4) that holds only its client, krbmon@T.TEST
python3 - "$KW_TMP/cc" <<'PY'
import struct, sys
def s(b): return struct.pack("!I", len(b)) + b
with open(sys.argv[1], "wb") as f:
	f.write(b"\x05\x04" + struct.pack("!H", 0) + struct.pack("!II", 1, 1) + s(b"T.TEST") + s(b"krbmon"))
PY
DNS_PORT=$(free_port)
# the resolver: "nx.*" is NXDOMAIN, anything else NOERROR without records
python3 - "$DNS_PORT" >"$KW_TMP/dns.log" 2>&1 <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
while True:
	q, peer = s.recvfrom(512)
	i = 12
	while q[i]:
		i += q[i] + 1
	rcode = 3 if q[13:15] == b"nx" else 0
	s.sendto(q[:2] + bytes([0x85, 0x80 | rcode]) + struct.pack("!HHHH", 1, 0, 0, 0) + q[12:i + 5], peer)
PY
DNS_PID=$!
stop_dns() { kill "$DNS_PID" 2>/dev/null; wait "$DNS_PID" 2>/dev/null; return 0; }
at_exit stop_dns
check "the resolver listens" wait_for 10 grep -q ready "$KW_TMP/dns.log"
CLOSED=$(free_port)

# reason_of DRIVER SERVERS HOST [ARGS...]: the driver's reason=
reason_of() {
	_drv=$1 _srv=$2 _host=$3; shift 3
	KW_DNS_SERVERS=$_srv "$UNITS/$_drv" --host "$_host" --ccache-file "$KW_TMP/cc" --timeout 3000 \
	    "$@" 2>>"$KW_TMP/err.log" | sed -n 's/.*reason=\([^ ]*\).*/\1/p'
}
for e in "login_main --engine mysql" "login_main --engine mariadb" "login_pg_main"; do
	set -- $e
	drv=$1; shift
	name=${2:-postgresql}
	check_eq "$name: a closed resolver port is refused" refused \
	    "$(reason_of "$drv" "127.0.0.1:$CLOSED" db.t.test "$@")"
	check_eq "$name: an answer without an address is no_records" no_records \
	    "$(reason_of "$drv" "127.0.0.1:$DNS_PORT" db.t.test "$@")"
	check_eq "$name: an unknown name is nxdomain" nxdomain \
	    "$(reason_of "$drv" "127.0.0.1:$DNS_PORT" nx.t.test "$@")"
done
[ "$KW_FAILED" -eq 0 ] || { echo "# stderr:"; sed 's/^/#   /' "$KW_TMP/err.log" | tail -20; }
