#!/bin/sh
# The KDC probe (probes/kdc.c over net/kdc_transport.c) against a throwaway MIT realm of its
# own, without the lab: two network namespaces joined by a veth pair, the KDCs on the real ports
# 88 and 464 in one, krbwatch in the other.  On the server side:
#   10.88.0.11  krb5kdc + kadmind                 up on udp/tcp 88 and 464, clock offset ~0
#   10.88.0.12  nothing listens (a stopped KDC)    refused
#   10.88.0.13  nft drops everything to 88/464     timeout, at the probe's own deadline
#   10.88.0.14  krb5kdc under libfaketime +300 s   clock offset ~ +300
#   10.88.0.15  a peer that is no KDC: TCP 88 accepts and stays silent (timeout: a connect alone
#               is not up), TCP 464 accepts and closes, UDP answers garbage (protocol)
#   10.88.0.53  named, zone test.realm: A records kdc1 (.11) and the SRV records of the realm
# Region lab-1 lists the KDCs (by address, and kdc1.test.realm / nx.test.realm by name);
# Region lab-2 says `kdcs: dns` and finds kdc1.test.realm through the SRV records.
# ICMP rate limiting is off in the server namespace (sysctl net.ipv4.icmp_ratelimit=0): with the
# kernel default, a refused UDP port turns into a timeout after a burst of about 6 replies
# (LAB-NOTES pitfall 4), which is real but would make "refused" depend on timing here.
# Needs root (namespaces, nft, ports below 1024); skips otherwise.
# KW_KDC_WRAP: a command to run krbwatch under, e.g. "valgrind -q --leak-check=full --error-exitcode=97".
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { ok "# SKIP t_kdc.sh needs root for network namespaces"; exit 0; }
for c in krb5kdc kadmind kdb5_util kadmin.local nft ip ss promtool; do
	command -v "$c" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
	command -v "$c" >/dev/null 2>&1 || { not_ok "$c is installed"; exit 1; }
done
FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1)
[ -n "$FAKETIME_LIB" ] || { not_ok "libfaketime is installed"; exit 1; }

NS_C=kwkdc-c-$$
NS_S=kwkdc-s-$$
IF_C=kwc$$
IF_S=kws$$
REALM=TEST.REALM
D=$KW_TMP/kdc
mkdir -p "$D"
pids=""

teardown() {
	[ "$KW_FAILED" -eq 0 ] || { echo "# krbwatch.log:"; sed 's/^/#   /' "$KW_TMP/krbwatch.log" 2>/dev/null | tail -40; }
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $pids; do wait_for 5 sh -c "! kill -0 $p 2>/dev/null" || kill -KILL "$p" 2>/dev/null; done
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	return 0
}
at_exit teardown

# ---- the network ---------------------------------------------------------------------------
ip netns add "$NS_C" && ip netns add "$NS_S" &&
ip link add "$IF_C" netns "$NS_C" type veth peer name "$IF_S" netns "$NS_S" &&
ip -n "$NS_C" link set lo up && ip -n "$NS_S" link set lo up &&
ip -n "$NS_C" addr add 10.88.0.1/24 dev "$IF_C" &&
for a in 11 12 13 14 15 53; do ip -n "$NS_S" addr add "10.88.0.$a/24" dev "$IF_S" || exit 1; done &&
ip -n "$NS_C" link set "$IF_C" up && ip -n "$NS_S" link set "$IF_S" up &&
ip netns exec "$NS_S" sysctl -qw net.ipv4.icmp_ratelimit=0 &&
ip netns exec "$NS_S" nft -f - <<'EOF'
table inet kw_fault {
	chain input {
		type filter hook input priority -10; policy accept;
		ip daddr 10.88.0.13 udp dport { 88, 464 } drop
		ip daddr 10.88.0.13 tcp dport { 88, 464 } drop
	}
}
EOF
[ $? -eq 0 ] || { not_ok "network namespaces, veth and nft rules are set up"; exit 1; }
ok "network namespaces, veth and nft rules are set up"

# ---- the realm -----------------------------------------------------------------------------
cat >"$D/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
[realms]
	$REALM = { kdc = 10.88.0.11 admin_server = 10.88.0.11 }
EOF
# kdc_conf ADDR: a KDC profile listening on ADDR only (88 and, for kadmind, 464 and 749)
kdc_conf() {
	cat >"$D/kdc-$1.conf" <<EOF
[kdcdefaults]
	kdc_listen = $1
	kdc_tcp_listen = $1
[realms]
	$REALM = {
		database_name = $D/principal
		key_stash_file = $D/stash
		acl_file = $D/kadm5.acl
		kadmind_listen = $1
		kpasswd_listen = $1
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
		default_principal_flags = +preauth
	}
[logging]
	kdc = FILE:$D/kdc-$1.log
	admin_server = FILE:$D/kadmind-$1.log
EOF
}
kdc_conf 10.88.0.11
kdc_conf 10.88.0.14
printf '*/admin@%s *\n' "$REALM" >"$D/kadm5.acl"
export KRB5_CONFIG="$D/krb5.conf" KRB5_KDC_PROFILE="$D/kdc-10.88.0.11.conf"
{
	kdb5_util -r "$REALM" create -s -P "master-$$" &&
	kadmin.local -r "$REALM" -q "addprinc -randkey +requires_preauth krbmon" &&
	kadmin.local -r "$REALM" -q "ktadd -k $KW_TMP/krbmon.keytab krbmon"
} >"$D/setup.log" 2>&1
[ $? -eq 0 ] || { cat "$D/setup.log"; not_ok "a throwaway realm is created"; exit 1; }
chmod 600 "$KW_TMP/krbmon.keytab"
ok "a throwaway realm is created"

# in_ns NS CMD...: CMD in the background in namespace NS; its pid is added to $pids
in_ns() {
	_ns=$1; shift
	ip netns exec "$_ns" "$@" >>"$D/daemons.log" 2>&1 &
	pids="$pids $!"
}
listening() { ip netns exec "$NS_S" ss -Hln "( sport = :$2 )" | grep -q "$1:$2"; }

KRB5_KDC_PROFILE="$D/kdc-10.88.0.11.conf" in_ns "$NS_S" krb5kdc -n
KRB5_KDC_PROFILE="$D/kdc-10.88.0.11.conf" in_ns "$NS_S" kadmind -nofork
# LD_PRELOAD after everything that could drop it (LAB-NOTES pitfall 9); the pid stays krb5kdc's
KRB5_KDC_PROFILE="$D/kdc-10.88.0.14.conf" in_ns "$NS_S" env LD_PRELOAD="$FAKETIME_LIB" \
	FAKETIME=+300 FAKETIME_DONT_FAKE_MONOTONIC=1 krb5kdc -n
KRB5_KDC_PROFILE="$D/kdc-10.88.0.14.conf" in_ns "$NS_S" kadmind -nofork
# the peer that is no KDC
in_ns "$NS_S" python3 -c '
import socket, selectors
sel = selectors.DefaultSelector()
def tcp(port):
	s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	s.bind(("10.88.0.15", port)); s.listen(64); sel.register(s, selectors.EVENT_READ, ("tcp", port))
def udp(port):
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.88.0.15", port))
	sel.register(s, selectors.EVENT_READ, ("udp", port))
for p in (88, 464): tcp(p); udp(p)
held = []
while True:
	for key, _ in sel.select():
		kind, port = key.data
		if kind == "udp":
			_, peer = key.fileobj.recvfrom(65535); key.fileobj.sendto(b"hello, I am no KDC", peer)
		else:
			c, _ = key.fileobj.accept()
			if port == 88: held.append(c)
			else: c.close()
'
# the realm in DNS
mkdir -p "$D/named"
cat >"$D/named/named.conf" <<EOF
options {
	directory "$D/named";
	pid-file "$D/named/named.pid";
	listen-on { 10.88.0.53; };
	listen-on-v6 { none; };
	recursion no;
	dnssec-validation no;
};
zone "test.realm" { type primary; file "test.realm.zone"; };
EOF
cat >"$D/named/test.realm.zone" <<'EOF'
$TTL 60
@	IN SOA ns.test.realm. root.test.realm. 1 60 60 600 60
@	IN NS ns
ns	IN A 10.88.0.53
kdc1	IN A 10.88.0.11
_kerberos._udp	IN SRV 0 0 88 kdc1
_kerberos._tcp	IN SRV 0 0 88 kdc1
_kpasswd._udp	IN SRV 0 0 464 kdc1
_kpasswd._tcp	IN SRV 0 0 464 kdc1
EOF
in_ns "$NS_S" named -g -u root -c "$D/named/named.conf"
check "the KDCs and kadminds listen" wait_for 10 sh -c "
	ip netns exec $NS_S ss -Hln | grep -q '10.88.0.15:464 ' &&
	ip netns exec $NS_S ss -Hln | grep -q '10.88.0.53:53 ' &&
	ip netns exec $NS_S ss -Hln | grep -q '10.88.0.11:88 ' &&
	ip netns exec $NS_S ss -Hln | grep -q '10.88.0.11:464 ' &&
	ip netns exec $NS_S ss -Hln | grep -q '10.88.0.14:88 ' &&
	ip netns exec $NS_S ss -Hln | grep -q '10.88.0.14:464 '"

# ---- krbwatch --------------------------------------------------------------------------------
KW_PORT=$(free_port)
cat >"$KW_TMP/k.yml" <<EOF
listen: 127.0.0.1:$KW_PORT
interval: 1s
timeout: 800ms
identity:
  principal: krbmon@$REALM
  keytab: $KW_TMP/krbmon.keytab
realms:
  $REALM:
    domain: test.realm
    kdcs: [10.88.0.11, 10.88.0.12, 10.88.0.13, 10.88.0.14, 10.88.0.15, kdc1.test.realm, nx.test.realm]
regions:
  lab-1:
    resolvers: [10.88.0.53]
  lab-2:
    resolvers: [10.88.0.53]
    kdcs: { $REALM: dns }
EOF
# the daemon gets a clean environment: nothing of the test's realm may leak into its krb5
env -u KRB5_CONFIG -u KRB5_KDC_PROFILE ip netns exec "$NS_C" ${KW_KDC_WRAP:-} "$KW_BIN" -c "$KW_TMP/k.yml" \
	2>>"$KW_TMP/krbwatch.log" &
KW_PID=$!
stop_kw() {
	[ -n "${KW_PID:-}" ] || return 0
	kill -TERM "$KW_PID" 2>/dev/null
	if wait_for 10 sh -c "! kill -0 $KW_PID 2>/dev/null"; then wait "$KW_PID"; KW_RC=$?
	else kill -KILL "$KW_PID" 2>/dev/null; KW_RC=124; fi
	KW_PID=""
}
at_exit stop_kw

scrape() { ip netns exec "$NS_C" curl -fsS --max-time 5 "http://127.0.0.1:$KW_PORT${1:-/metrics}"; }
metric() { scrape | awk -v s="$1" 'index($0, s " ") == 1 { print $2 }'; }
ep() { printf '{aws_region="%s",realm="%s",kdc="%s",proto="%s",port="%s"}' "${REG:-lab-1}" "$REALM" "$1" "$2" "$3"; }
fails() { printf 'krbwatch_kdc_failures_total{aws_region="%s",realm="%s",kdc="%s",proto="%s",port="%s",reason="%s"}' "${REG:-lab-1}" "$REALM" "$1" "$2" "$3" "$4"; }
has_metric() { scrape | grep -qF "$1 "; }
value_is() { [ "$(metric "$1")" = "$2" ]; }
# near X LO HI: LO < X < HI, X a float
near() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x != "" && x + 0 > lo && x + 0 < hi) }'; }

check "krbwatch serves /metrics" wait_for 10 scrape /-/healthy
check "a first KDC run is recorded" wait_for 10 has_metric "krbwatch_kdc_up$(ep 10.88.0.13 tcp 464)"
check "a first KDC run of lab-2 is recorded" wait_for 10 has_metric "krbwatch_kdc_up$(REG=lab-2 ep kdc1.test.realm tcp 464)"
scrape >"$KW_TMP/m1.txt"

for pp in "udp 88" "tcp 88" "udp 464" "tcp 464"; do
	set -- $pp
	check_eq "live KDC $1/$2 is up" 1 "$(metric "krbwatch_kdc_up$(ep 10.88.0.11 "$1" "$2")")"
	rtt=$(metric "krbwatch_kdc_rtt_seconds$(ep 10.88.0.11 "$1" "$2")")
	check "live KDC $1/$2 has a round-trip time well below the deadline ($rtt s)" near "$rtt" 0 0.3
	check_eq "faketime KDC $1/$2 is up" 1 "$(metric "krbwatch_kdc_up$(ep 10.88.0.14 "$1" "$2")")"
	check_eq "stopped KDC $1/$2 is down" 0 "$(metric "krbwatch_kdc_up$(ep 10.88.0.12 "$1" "$2")")"
	check_eq "blackholed KDC $1/$2 is down" 0 "$(metric "krbwatch_kdc_up$(ep 10.88.0.13 "$1" "$2")")"
	f=$(metric "krbwatch_kdc_failures_total{aws_region=\"lab-1\",realm=\"$REALM\",kdc=\"10.88.0.12\",proto=\"$1\",port=\"$2\",reason=\"refused\"}")
	check "stopped KDC $1/$2 fails as refused ($f)" near "$f" 0.5 1e9
	f=$(metric "krbwatch_kdc_failures_total{aws_region=\"lab-1\",realm=\"$REALM\",kdc=\"10.88.0.13\",proto=\"$1\",port=\"$2\",reason=\"timeout\"}")
	check "blackholed KDC $1/$2 fails as timeout ($f)" near "$f" 0.5 1e9
	check "no RTT for the blackholed KDC $1/$2" sh -c "! grep -qF 'krbwatch_kdc_rtt_seconds$(ep 10.88.0.13 "$1" "$2")' '$KW_TMP/m1.txt'"
done

skew=$(metric "krbwatch_kdc_clock_skew_seconds{aws_region=\"lab-1\",realm=\"$REALM\",kdc=\"10.88.0.11\"}")
check "the live KDC's clock offset is near 0 ($skew s)" near "$skew" -2 2
skew=$(metric "krbwatch_kdc_clock_skew_seconds{aws_region=\"lab-1\",realm=\"$REALM\",kdc=\"10.88.0.14\"}")
check "the faketime KDC's clock offset is near +300 ($skew s)" near "$skew" 298 302
f=$(metric "$(fails 10.88.0.15 tcp 88 timeout)")
check "a peer that accepts TCP 88 and stays silent is not up: timeout ($f)" near "$f" 0.5 1e9
for pp in "udp 88" "udp 464" "tcp 464"; do
	set -- $pp
	check_eq "the peer that is no KDC is down on $1/$2" 0 "$(metric "krbwatch_kdc_up$(ep 10.88.0.15 "$1" "$2")")"
	f=$(metric "$(fails 10.88.0.15 "$1" "$2" protocol)")
	check "... as protocol ($f)" near "$f" 0.5 1e9
done

# KDCs by name: resolved through the Region's resolver, or an NXDOMAIN per KDC endpoint.
for pp in "udp 88" "tcp 88" "udp 464" "tcp 464"; do
	set -- $pp
	check_eq "kdc1.test.realm (by name) $1/$2 is up" 1 "$(metric "krbwatch_kdc_up$(ep kdc1.test.realm "$1" "$2")")"
	f=$(metric "$(fails nx.test.realm "$1" "$2" nxdomain)")
	check "nx.test.realm $1/$2 fails as nxdomain ($f)" near "$f" 0.5 1e9
done
# kdcs: dns in lab-2: the four SRV records name kdc1.test.realm with their ports
for pp in "udp 88" "tcp 88" "udp 464" "tcp 464"; do
	set -- $pp
	check_eq "lab-2 (kdcs: dns) finds kdc1.test.realm $1/$2 through SRV, and it is up" 1 \
	    "$(metric "krbwatch_kdc_up$(REG=lab-2 ep kdc1.test.realm "$1" "$2")")"
done
check_eq "lab-2 probes only what the SRV records name" 4 \
	"$(grep -c '^krbwatch_kdc_up{aws_region="lab-2"' "$KW_TMP/m1.txt")"
skew=$(metric 'krbwatch_kdc_clock_skew_seconds{aws_region="lab-2",realm="TEST.REALM",kdc="kdc1.test.realm"}')
check "lab-2 has the clock offset of kdc1.test.realm ($skew s)" near "$skew" -2 2
check_eq "the kdc probe of lab-2 has not failed" 0 \
	"$(scrape | grep -c '^krbwatch_probe_failures_total{aws_region="lab-2",probe="kdc"')"

check "no clock offset for a KDC that never answered" \
	sh -c "! grep -q 'krbwatch_kdc_clock_skew_seconds{.*kdc=\"10.88.0.1[23]\"' '$KW_TMP/m1.txt'"

# The run as a whole: failing, with the first failure named, and within its deadline.
f=$(metric 'krbwatch_probe_failures_total{aws_region="lab-1",probe="kdc",reason="refused"}')
check "the kdc probe run fails as refused (the first failure: 10.88.0.12 udp/88) ($f)" near "$f" 0.5 1e9
check "the log names realm, KDC, transport and port of the first failure" \
	grep -q "kdc: failing (refused): realm $REALM, KDC 10.88.0.12, udp/88" "$KW_TMP/krbwatch.log"
d=$(metric 'krbwatch_probe_duration_seconds{aws_region="lab-1",probe="kdc"}')
check "the run ends at its own deadline, not later ($d s)" near "$d" 0.5 0.8
check "the blackholed KDC never ends the run as a whole by the scheduler's deadline" \
	sh -c "! grep -q 'kdc: .*no answer within the' '$KW_TMP/krbwatch.log'"

# The live KDC really saw our AS-REQ for the monitoring principal, and answered PREAUTH_REQUIRED.
check "the KDC logged the probe's AS-REQ for krbmon@$REALM" \
	grep -q "AS_REQ .*NEEDED_PREAUTH: krbmon@$REALM for krbtgt/$REALM@$REALM" "$D/kdc-10.88.0.11.log"

# A KDC that stops is seen as refused on the next runs, while its kadmind still answers.
kill -TERM $(echo "$pids" | awk '{ print $1 }')
check "a KDC stopped while krbwatch runs: its tcp/88 becomes down" \
	wait_for 10 value_is "krbwatch_kdc_up$(ep 10.88.0.11 tcp 88)" 0
check "... as refused" wait_for 5 has_metric \
	"krbwatch_kdc_failures_total{aws_region=\"lab-1\",realm=\"$REALM\",kdc=\"10.88.0.11\",proto=\"tcp\",port=\"88\",reason=\"refused\"}"
check_eq "... and kpasswd there stays up (kadmind still runs)" 1 \
	"$(metric "krbwatch_kdc_up$(ep 10.88.0.11 tcp 464)")"

scrape >"$KW_TMP/m2.txt"
check "promtool check metrics passes" sh -c "promtool check metrics <'$KW_TMP/m2.txt' >'$KW_TMP/promtool.log' 2>&1 || { cat '$KW_TMP/promtool.log'; false; }"

stop_kw
check_eq "krbwatch exits 0 on SIGTERM (sanitizers clean)" 0 "$KW_RC"
if grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$KW_TMP/krbwatch.log"; then
	not_ok "no sanitizer report in the log"; grep -A20 'Sanitizer\|runtime error' "$KW_TMP/krbwatch.log" | head -60
else
	ok "no sanitizer report in the log"
fi
