#!/bin/sh
# The DNS probe (probes/dns.c on net/dns_client.c) against a real BIND on loopback, a port
# where nothing listens (UDP is refused) and a UDP socket that never answers, through the real
# krbwatch binary and its /metrics.
. "$(dirname "$0")/lib.sh"

command -v named >/dev/null 2>&1 || { not_ok "named (bind9) is installed"; exit 1; }

NS_PORT=$(free_port)
DEAD_PORT=$(free_port)
SILENT_PORT=$(free_port)
KW_HTTP=$(free_port)
D=$KW_TMP/named
mkdir -p "$D"

# --- BIND: two authoritative zones, one that fails to load (SERVFAIL), nothing else ----------
# awsmad.kerberos.com is written in upper case: lookups in lower case must still count.
# zone FILE ORIGIN NS HOSTMASTER: a zone file as BIND reads it, the head every zone here shares
# (TTL, SOA, NS on 127.0.0.1) then the records on stdin, written as given (case included)
zone() {
	{ printf '$ORIGIN %s\n$TTL 60\n@ SOA %s %s 1 60 60 600 60\n@ NS %s\n%s A 127.0.0.1\n' \
	    "$2" "$3" "$4" "$3" "$3"; cat; } >"$1"
}
zone "$D/onprem.zone" onprem.example.com. ns1 hostmaster <<'EOF'
@                       A 127.0.0.11
@                       A 127.0.0.12
dc1                     A 127.0.0.11
dc2                     A 127.0.0.12
_kerberos._udp          SRV 0 100 88 dc1
_kerberos._udp          SRV 0 100 88 dc2
_kerberos._tcp          SRV 0 100 88 dc1
_kerberos._tcp          SRV 0 100 88 dc2
_kpasswd._udp           SRV 0 100 464 dc1
_kpasswd._tcp           SRV 0 100 464 dc1
_ldap._tcp.dc._msdcs    SRV 0 100 389 dc1
_ldap._tcp.dc._msdcs    SRV 0 100 389 dc2
EOF
zone "$D/awsmad.zone" AWSMAD.KERBEROS.COM. NS1 HOSTMASTER <<'EOF'
@                       A 127.0.1.11
@                       A 127.0.1.12
@                       A 127.0.2.11
@                       AAAA fd00::111
DC1-USE1                A 127.0.1.11
DC2-USE1                A 127.0.1.12
DC1-USW2                A 127.0.2.11
_KERBEROS._UDP          SRV 0 100 88 DC1-USE1
_KERBEROS._UDP          SRV 0 100 88 DC2-USE1
_KERBEROS._UDP          SRV 0 100 88 DC1-USW2
_Kerberos._Tcp          SRV 0 100 88 DC1-USE1
_Kerberos._Tcp          SRV 0 100 88 DC2-USE1
_Kerberos._Tcp          SRV 0 100 88 DC1-USW2
_KPASSWD._UDP           SRV 0 100 464 DC1-USE1
_KPASSWD._TCP           SRV 0 100 464 DC1-USE1
_LDAP._TCP.DC._MSDCS    SRV 0 100 389 DC1-USE1
_LDAP._TCP.DC._MSDCS    SRV 0 100 389 DC2-USE1
_LDAP._TCP.DC._MSDCS    SRV 0 100 389 DC1-USW2
_KERBEROS._TCP.US-EAST-1._SITES.DC._MSDCS SRV 0 100 88 DC1-USE1
_KERBEROS._TCP.US-EAST-1._SITES.DC._MSDCS SRV 0 100 88 DC2-USE1
DB-EAST                 A 127.0.1.50
db-west6                AAAA fd00::250
db-noaddr               TXT "a name with neither A nor AAAA"
EOF
printf 'this is not a zone file\n' >"$D/broken.zone"
cat >"$D/named.conf" <<EOF
options {
	directory "$D";
	pid-file "$D/named.pid";
	session-keyfile "$D/session.key";
	managed-keys-directory "$D";
	listen-on port $NS_PORT { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	notify no;
	dnssec-validation no;
};
controls { };
zone "onprem.example.com" { type primary; file "$D/onprem.zone"; };
zone "awsmad.kerberos.com" { type primary; file "$D/awsmad.zone"; };
zone "broken.example" { type primary; file "$D/broken.zone"; };
EOF

# named -g: foreground, every log line to stderr, which goes to a file (there is no syslog here)
named -g -n 1 -c "$D/named.conf" >"$D/named.log" 2>&1 &
NAMED_PID=$!
stop_named() {
	kill -TERM "$NAMED_PID" 2>/dev/null
	wait_for 5 sh -c "! kill -0 $NAMED_PID 2>/dev/null" || kill -KILL "$NAMED_PID" 2>/dev/null
	wait "$NAMED_PID" 2>/dev/null
	return 0
}
at_exit stop_named
named_up() { grep -q 'running$' "$D/named.log" && dig +short +time=1 +tries=1 -p "$NS_PORT" @127.0.0.1 dc1.onprem.example.com A | grep -q 127.0.0.11; }
if ! wait_for 10 named_up; then
	sed 's/^/# named: /' "$D/named.log"
	not_ok "named answers on 127.0.0.1:$NS_PORT"
	exit 1
fi
ok "named answers on 127.0.0.1:$NS_PORT"

# --- a resolver that receives and never answers ---------------------------------------------
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
time.sleep(3600)' "$SILENT_PORT" >"$KW_TMP/silent.out" 2>&1 &
SILENT_PID=$!
stop_silent() { kill -TERM "$SILENT_PID" 2>/dev/null; wait "$SILENT_PID" 2>/dev/null; return 0; }
at_exit stop_silent
check "the silent resolver is bound" wait_for 5 grep -q ready "$KW_TMP/silent.out"

# --- krbwatch --------------------------------------------------------------------------------
GOOD=127.0.0.1:$NS_PORT
DEAD=127.0.0.1:$DEAD_PORT
SILENT=127.0.0.1:$SILENT_PORT
# lib.sh's head, a longer timeout, the upper-case domain; this test's resolvers and clusters
config_head "$KW_TMP/k.yml" "$KW_HTTP" 800ms AWSMAD.Kerberos.COM
cat >>"$KW_TMP/k.yml" <<EOF
regions:
  us-east-1:
    resolvers: [$GOOD, $DEAD, $SILENT]
    kdcs: { AWSMAD.KERBEROS.COM: [127.0.0.1:1] }
    clusters:
      - { name: east, engine: mysql, host: db-east.awsmad.kerberos.com, user: krbmon, tls: { mode: disable } }
      - { name: east-ip, engine: mysql, host: 127.0.0.1, user: krbmon, tls: { mode: disable } }
  us-west-2:
    site: nosuch-site
    resolvers: [$GOOD]
    kdcs: { AWSMAD.KERBEROS.COM: [127.0.0.1:1] }
    clusters:
      - { name: west6, engine: mysql, host: DB-West6.awsmad.kerberos.com, user: krbmon, tls: { mode: disable } }
      - { name: noaddr, engine: postgresql, host: db-noaddr.awsmad.kerberos.com, user: krbmon, tls: { mode: disable } }
      - { name: gone, engine: postgresql, host: db-gone.awsmad.kerberos.com, user: krbmon, tls: { mode: disable } }
      - { name: broken, engine: postgresql, host: db.broken.example, user: krbmon, tls: { mode: disable } }
      - { name: elsewhere, engine: postgresql, host: db.elsewhere.test, user: krbmon, tls: { mode: disable } }
EOF
at_exit stop_krbwatch
check "krbwatch starts" start_krbwatch "$KW_TMP/k.yml" "$KW_HTTP"

# s RESOLVER NAME RRTYPE [REGION]: the labels of one lookup series
s() { printf '{aws_region="%s",resolver="%s",name="%s",rrtype="%s"}' "${4:-us-east-1}" "$1" "$2" "$3"; }
# f RESOLVER NAME RRTYPE REASON [REGION]: the labels of one failure counter
f() { printf '{aws_region="%s",resolver="%s",name="%s",rrtype="%s",reason="%s"}' "${5:-us-east-1}" "$1" "$2" "$3" "$4"; }

# Both Regions have finished a run once the silent resolver's timeouts are counted, and the
# second Region's job has ended too.
done_once() {
	scrape >"$KW_TMP/m.txt" || return 1
	grep -qF "krbwatch_dns_lookup_failures_total$(f "$SILENT" onprem.example.com A timeout)" "$KW_TMP/m.txt" &&
	grep -q '^krbwatch_probe_runs_total{aws_region="us-west-2",probe="dns"}' "$KW_TMP/m.txt" &&
	grep -q '^krbwatch_probe_runs_total{aws_region="us-east-1",probe="dns"}' "$KW_TMP/m.txt"
}
check "/metrics shows a finished DNS run of both Regions" wait_for 15 done_once
M=$KW_TMP/m.txt
v() { awk -v s="$1" 'index($0, s " ") == 1 { print $2 }' "$M"; }
S=krbwatch_dns_lookup_success
R=krbwatch_dns_lookup_records
F=krbwatch_dns_lookup_failures_total
A=awsmad.kerberos.com
O=onprem.example.com

# the good resolver: every name, with the right number of records
check_eq "good resolver: $O A succeeds" 1 "$(v "$S$(s "$GOOD" $O A)")"
check_eq "good resolver: $O A has 2 records" 2 "$(v "$R$(s "$GOOD" $O A)")"
check_eq "good resolver: $O AAAA (none) counts as success" 1 "$(v "$S$(s "$GOOD" $O AAAA)")"
check_eq "good resolver: $O AAAA has 0 records" 0 "$(v "$R$(s "$GOOD" $O AAAA)")"
check_eq "good resolver: _kerberos._tcp.$O SRV has 2 records" 2 "$(v "$R$(s "$GOOD" _kerberos._tcp.$O SRV)")"
check_eq "good resolver: _kpasswd._udp.$O SRV has 1 record" 1 "$(v "$R$(s "$GOOD" _kpasswd._udp.$O SRV)")"
check_eq "good resolver: _ldap._tcp.dc._msdcs.$O SRV succeeds" 1 "$(v "$S$(s "$GOOD" _ldap._tcp.dc._msdcs.$O SRV)")"
check_eq "upper-case zone data: $A A (domain written mixed-case in the config) has 3 records" 3 "$(v "$R$(s "$GOOD" $A A)")"
check_eq "upper-case zone data: $A AAAA has 1 record" 1 "$(v "$R$(s "$GOOD" $A AAAA)")"
check_eq "upper-case zone data: _kerberos._udp.$A SRV has 3 records" 3 "$(v "$R$(s "$GOOD" _kerberos._udp.$A SRV)")"
check_eq "upper-case zone data: _kerberos._tcp.$A SRV succeeds" 1 "$(v "$S$(s "$GOOD" _kerberos._tcp.$A SRV)")"
check_eq "upper-case zone data: _kpasswd._tcp.$A SRV has 1 record" 1 "$(v "$R$(s "$GOOD" _kpasswd._tcp.$A SRV)")"
check_eq "site record of us-east-1 has 2 records" 2 "$(v "$R$(s "$GOOD" _kerberos._tcp.us-east-1._sites.dc._msdcs.$A SRV)")"
check_eq "site record of us-east-1 succeeds" 1 "$(v "$S$(s "$GOOD" _kerberos._tcp.us-east-1._sites.dc._msdcs.$A SRV)")"
check_eq "the site is not asked in the on-prem domain (the Region's kdcs name only AWSMAD)" "" \
	"$(v "$S$(s "$GOOD" _kerberos._tcp.us-east-1._sites.dc._msdcs.$O SRV)")"
check_eq "cluster host db-east A has 1 record" 1 "$(v "$R$(s "$GOOD" db-east.$A A)")"
check "a cluster host that is an IP literal is not looked up" sh -c "! grep -q 'name=\"127.0.0.1\"' '$M'"
check_eq "good resolver: no failure counted in us-east-1" "" \
	"$(grep "^$F{aws_region=\"us-east-1\",resolver=\"$GOOD\"" "$M")"
n=$(grep -c "^$S{aws_region=\"us-east-1\",resolver=\"$GOOD\"" "$M")
check_eq "us-east-1 asks 17 questions of each resolver (2 domains and 1 host x A/AAAA, 2x5 SRV, 1 site)" 17 "$n"

# the refused resolver and the silent one
check_eq "refused resolver: $O A fails" 0 "$(v "$S$(s "$DEAD" $O A)")"
check_eq "refused resolver: failure counted as refused" 1 "$(v "$F$(f "$DEAD" $O A refused)")"
check_eq "refused resolver: SRV failure counted as refused" 1 "$(v "$F$(f "$DEAD" _kerberos._udp.$A SRV refused)")"
check_eq "refused resolver: AAAA fails too (refused is not 'no data')" 0 "$(v "$S$(s "$DEAD" $A AAAA)")"
check_eq "silent resolver: $A SRV fails" 0 "$(v "$S$(s "$SILENT" _kerberos._tcp.$A SRV)")"
check_eq "silent resolver: failure counted as timeout" 1 "$(v "$F$(f "$SILENT" _kerberos._tcp.$A SRV timeout)")"
d=$(v "krbwatch_dns_lookup_duration_seconds$(s "$SILENT" $A A)")
check "silent resolver: the lookup gave up before the 800 ms deadline (took ${d}s)" \
	awk -v d="$d" 'BEGIN { exit !(d >= 0.5 && d < 0.8) }'
d=$(v "krbwatch_dns_lookup_duration_seconds$(s "$DEAD" $A A)")
check "refused resolver: the lookup failed fast (took ${d}s)" awk -v d="$d" 'BEGIN { exit !(d < 0.3) }'
check_eq "us-east-1's run fails, first on the refused resolver" 1 \
	"$(v 'krbwatch_probe_failures_total{aws_region="us-east-1",probe="dns",reason="refused"}')"

# us-west-2: unknown site, address corner cases, servfail and refused answers
W=us-west-2
check_eq "unknown site: the site record fails" 0 "$(v "$S$(s "$GOOD" _kerberos._tcp.nosuch-site._sites.dc._msdcs.$A SRV $W)")"
check_eq "unknown site: counted as nxdomain" 1 "$(v "$F$(f "$GOOD" _kerberos._tcp.nosuch-site._sites.dc._msdcs.$A SRV nxdomain $W)")"
check_eq "a host written in mixed case is asked in lower case; AAAA only: AAAA has 1 record" 1 "$(v "$R$(s "$GOOD" db-west6.$A AAAA $W)")"
check_eq "AAAA only: A without records still succeeds" 1 "$(v "$S$(s "$GOOD" db-west6.$A A $W)")"
check_eq "neither A nor AAAA: A fails" 0 "$(v "$S$(s "$GOOD" db-noaddr.$A A $W)")"
check_eq "neither A nor AAAA: counted as no_records" 1 "$(v "$F$(f "$GOOD" db-noaddr.$A A no_records $W)")"
check_eq "neither A nor AAAA: AAAA itself is not a failure" 1 "$(v "$S$(s "$GOOD" db-noaddr.$A AAAA $W)")"
check_eq "missing host: A counted as nxdomain" 1 "$(v "$F$(f "$GOOD" db-gone.$A A nxdomain $W)")"
check_eq "missing host: AAAA counted as nxdomain" 1 "$(v "$F$(f "$GOOD" db-gone.$A AAAA nxdomain $W)")"
check_eq "a zone that failed to load: servfail" 1 "$(v "$F$(f "$GOOD" db.broken.example A servfail $W)")"
check_eq "a name outside the server's zones: dns_refused" 1 "$(v "$F$(f "$GOOD" db.elsewhere.test A dns_refused $W)")"
check_eq "us-west-2's run fails with its first failure (no_records of db-noaddr A)" 1 \
	"$(v 'krbwatch_probe_failures_total{aws_region="us-west-2",probe="dns",reason="no_records"}')"

check "HELP and TYPE lines for the four families" sh -c \
	"grep -q '^# TYPE krbwatch_dns_lookup_success gauge' '$M' &&
	 grep -q '^# TYPE krbwatch_dns_lookup_duration_seconds gauge' '$M' &&
	 grep -q '^# TYPE krbwatch_dns_lookup_records gauge' '$M' &&
	 grep -q '^# TYPE krbwatch_dns_lookup_failures_total counter' '$M' &&
	 grep -q '^# HELP krbwatch_dns_lookup_success ' '$M'"
check "promtool check metrics accepts /metrics" sh -c "promtool check metrics <'$M'"

# counters go on counting: a later run adds to them
c1=$(v "$F$(f "$DEAD" $O A refused)")
more_runs() { scrape >"$M" && awk -v c="$c1" -v x="$(v "$F$(f "$DEAD" $O A refused)")" 'BEGIN { exit !(x > c) }'; }
check "the refused count grows with later runs" wait_for 10 more_runs
check_eq "the good resolver stays at success 1" 1 "$(v "$S$(s "$GOOD" $O A)")"

stop_krbwatch
check_eq "krbwatch exits 0 on SIGTERM" 0 "$KW_RC"
check "the log names the failing resolver and name" \
	grep -qF "us-east-1 dns: failing (refused): resolver $DEAD, onprem.example.com A: refused" "$KW_TMP/krbwatch.log"
check "the log names us-west-2's first failure" \
	grep -qF "us-west-2 dns: failing (no_records): resolver $GOOD, db-noaddr.awsmad.kerberos.com A: no_records" "$KW_TMP/krbwatch.log"
if grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$KW_TMP/krbwatch.log"; then
	not_ok "no sanitizer report"
	sed 's/^/# /' "$KW_TMP/krbwatch.log" | head -60
else
	ok "no sanitizer report"
fi
