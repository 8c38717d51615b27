#!/bin/bash
# check_peer.sh: exercises tests/lab/mysql_krb_peer in a lab that is already up (honours
# KW_LAB_NS / KW_LAB_DIR like tests/lab/lab).  Every case runs from the us-east-1 client namespace
# against mysql-use1; us-west-2 is checked to stay healthy while use1 is faulted.
# Prints TAP-like "ok/not ok" lines; exits 1 if any case failed.  Takes about 15 s (the silent
# modes wait for the peer's 10 s timeout, in parallel with the rest).
#
#   KW_LAB_NS=h7 tests/lab/lab up && KW_LAB_NS=h7 tests/lab/peer/check_peer.sh

set -u
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
LAB=$HERE/../lab
eval "$("$LAB" env)" || exit 1
LOGIN=$HERE/mysql_krb_login.py
MODE=$KW_LAB_DIR/run/mysqlpeer-use1.mode
PEERLOG=$KW_LAB_DIR/logs/mysqlpeer-use1.out
H=$KW_LAB_USE1_MYSQL_HOST
W=$KW_LAB_USW2_MYSQL_HOST
T=$(mktemp -d /tmp/check_peer.XXXXXX)
n=0 bad=0
cleanup() { rm -f "$MODE"; rm -rf "$T"; }
trap cleanup EXIT

ok() { n=$((n+1)); echo "ok $n - $1"; }
nok() { n=$((n+1)); bad=$((bad+1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && echo "#   $2"; }
# in_ns CMD...: in the us-east-1 client namespace, with a fresh TGT + the SPN's ticket in its ccache
in_ns() { "$LAB" exec use1 env KRB5CCNAME="FILE:$T/cc" "$@"; }
login() { in_ns timeout 12 "$LOGIN" --ca "$KW_LAB_CA" --timeout 5 "$@" 2>&1; }
# expect NAME PATTERN CMD...: the command's output matches the (grep -E) pattern
expect() {
	local name=$1 pat=$2 out; shift 2
	out=$("$@" 2>&1)
	if echo "$out" | grep -Eq -- "$pat"; then ok "$name: ${out:0:220}"; else nok "$name" "got: $out"; fi
}
setmode() { if [ "$1" = normal ]; then rm -f "$MODE"; else echo "$1" >"$MODE"; fi; }

in_ns sh -c 'kinit -k -t "$KW_LAB_KEYTAB" "$KW_LAB_PRINCIPAL" && kvno "mysql/$0@$KW_LAB_REALM_DB" "mysql/$1@$KW_LAB_REALM_DB"' "$H" "$W" >"$T/kinit.out" 2>&1 ||
	{ echo "Bail out! kinit/kvno failed: $(cat "$T/kinit.out")"; exit 1; }

setmode normal
# a silent client (TCP open, nothing sent) held during the whole run: the peer must time it out
# and keep serving everyone else
ip netns exec "$KW_LAB_NS_CLIENT" timeout 14 bash -c "exec 3<>/dev/tcp/$KW_LAB_USE1_MYSQL_IP/3306; cat <&3 >/dev/null" &
silent_pid=$!
sleep 0.2

expect "login, req_flags 0: one leg, CURRENT_USER()=krbmon@%" 'OK .*TLSv1\.[23] verified.*token [0-9]+ B, 1 leg, CURRENT_USER\(\)=krbmon@%' \
	login --expect-user 'krbmon@%' "$H"
expect "login with mutual auth: AP-REP as AuthMoreData, 2 legs" 'OK .*2 legs \(mutual\), CURRENT_USER\(\)=krbmon@%' \
	login --mutual --expect-user 'krbmon@%' "$H"
expect "us-west-2 peer logs in too" 'OK .*SPN mysql/mysql-usw2.*CURRENT_USER\(\)=krbmon@%' login --expect-user 'krbmon@%' "$W"
expect "other queries: SELECT USER()" 'OK .*USER\(\)=krbmon@10\.213\.0\.10' login --query 'SELECT USER()' "$H"
expect "resultset with EOF packets (no CLIENT_DEPRECATE_EOF)" 'OK .*CURRENT_USER\(\)=krbmon@%' login --no-deprecate-eof --expect-user 'krbmon@%' "$H"
expect "unknown query -> ERR 1105" 'FAIL ERROR 1105 \(HY000\)' login --query 'SELECT 2' "$H"
expect "unknown user -> ERR 1045 before Kerberos" "FAIL login refused before Kerberos: ERROR 1045 \(28000\): Access denied for user 'nobody'@'10\.213\.0\.10'" \
	login --user nobody "$H"
expect "no TLS -> ERR 1045 (the account requires SSL)" 'FAIL login refused before Kerberos: ERROR 1045 \(28000\).*requires SSL' \
	in_ns timeout 12 "$LOGIN" --no-tls "$H"
expect "TLS verify by IP fails (cert SAN is the host name)" 'FAIL TLS verify failed' login "$KW_LAB_USE1_MYSQL_IP"

# 20 logins at once
for i in $(seq 20); do login --expect-user 'krbmon@%' "$H" >"$T/par.$i" & done
wait $(jobs -p | grep -v "^$silent_pid\$") 2>/dev/null
c=$(cat "$T"/par.* | grep -c '^OK ')
[ "$c" = 20 ] && ok "20 parallel logins all OK (a silent client is held open meanwhile)" || nok "20 parallel logins all OK" "$c OK: $(grep -hv '^OK' "$T"/par.* | head -3)"

# the initiator must be user@realm: aduser's ticket presented for account krbmon
"$LAB" exec use1 env KRB5CCNAME="FILE:$T/cc-aduser" sh -c \
	'echo kwlab-aduser-Pw1 | kinit aduser@ONPREM.EXAMPLE.COM >/dev/null && kvno "mysql/$0@$KW_LAB_REALM_DB" >/dev/null' "$H" >"$T/ad.out" 2>&1
expect "aduser's ticket for account krbmon -> ERR 1045 name mismatch" \
	"FAIL ERROR 1045 \(28000\): Access denied for user 'krbmon'.*aduser@ONPREM.EXAMPLE.COM authenticated, account needs krbmon@ONPREM.EXAMPLE.COM" \
	"$LAB" exec use1 env KRB5CCNAME="FILE:$T/cc-aduser" timeout 12 "$LOGIN" --ca "$KW_LAB_CA" --timeout 5 "$H"

# a stock MySQL-protocol client library (MariaDB's) accepts the framing up to the plugin switch
expect "mariadb client: greeting+TLS verify+AuthSwitchRequest parsed (plugin not loadable there)" \
	"authentication_kerberos_client" in_ns timeout 8 mariadb --no-defaults -h "$H" -u krbmon --ssl --ssl-ca="$KW_LAB_CA" \
	--ssl-verify-server-cert --connect-timeout=5 -e 'SELECT 1'
expect "mariadb client: unknown user gets ERR 1045" "ERROR 1045 \(28000\): Access denied for user 'nobody'" \
	in_ns timeout 8 mariadb --no-defaults -h "$H" -u nobody --ssl --ssl-ca="$KW_LAB_CA" --ssl-verify-server-cert -e 'SELECT 1'

# fault modes (mode file $MODE, read per connection)
setmode wrong-user
expect "mode wrong-user: CURRENT_USER() is someone else" 'FAIL .*CURRENT_USER\(\)=intruder@%.*expected krbmon@%' login --expect-user 'krbmon@%' "$H"
expect "mode wrong-user only in use1: usw2 still krbmon@%" 'OK .*krbmon@%' login --expect-user 'krbmon@%' "$W"
setmode deny
expect "mode deny: ERR 1045 after a valid token" "FAIL ERROR 1045 \(28000\): Access denied for user 'krbmon'" login "$H"
setmode garbage
expect "mode garbage: not MySQL" 'FAIL (bad greeting: sequence id|oversized greeting)' login "$H"
setmode truncated-close
expect "mode truncated-close: EOF inside the greeting" 'FAIL truncated greeting: EOF in the payload after [0-9]+ of [0-9]+ bytes' login "$H"
setmode oversized
expect "mode oversized: 16 MiB+ announced" 'FAIL oversized greeting: header announces 16777215 bytes \(split packet' login "$H"
setmode truncated
expect "mode truncated: header longer than the data, then a stall" 'FAIL timeout reading the greeting \(payload; got [0-9]+ of [0-9]+ bytes\)' \
	in_ns timeout 12 "$LOGIN" --ca "$KW_LAB_CA" --timeout 2 "$H"
setmode silent
expect "mode silent: no greeting" 'FAIL timeout reading the greeting \(header; got 0 of 4 bytes\)' \
	in_ns timeout 12 "$LOGIN" --ca "$KW_LAB_CA" --timeout 2 "$H"
echo "bogus" >"$MODE"
expect "unknown mode word -> normal" 'OK .*krbmon@%' login --expect-user 'krbmon@%' "$H"
setmode normal
expect "back to normal" 'OK .*krbmon@%' login --expect-user 'krbmon@%' "$H"

# stale keytab: the SPN is re-keyed (kvno 2), the peer keeps its kvno-1 keytab
if "$LAB" fault spn-key-rotated use1 mysql >"$T/fault.out" 2>&1; then
	in_ns sh -c 'kdestroy; kinit -k -t "$KW_LAB_KEYTAB" "$KW_LAB_PRINCIPAL"' >/dev/null 2>&1
	expect "spn-key-rotated use1 mysql: ERR 1045 with the GSS reason" \
		'FAIL ERROR 1045 \(28000\).*Server GSSAPI error.*(Cannot find key|kvno 2)' login "$H"
	expect "spn-key-rotated use1 mysql: usw2 unaffected" 'OK .*krbmon@%' login --expect-user 'krbmon@%' "$W"
	"$LAB" heal >>"$T/fault.out" 2>&1
	in_ns sh -c 'kdestroy; kinit -k -t "$KW_LAB_KEYTAB" "$KW_LAB_PRINCIPAL"' >/dev/null 2>&1
	expect "after heal: login OK again" 'OK .*krbmon@%' login --expect-user 'krbmon@%' "$H"
else
	nok "fault spn-key-rotated use1 mysql" "$(cat "$T/fault.out")"
fi

wait "$silent_pid" 2>/dev/null
sleep 0.3
if grep -q "from $KW_LAB_USE1_CLIENT_IP:[0-9]* mode=normal user=-: timeout (10 s) waiting for the handshake response" "$PEERLOG"; then
	ok "the silent client was timed out by the peer after 10 s"
else
	nok "the silent client was timed out by the peer after 10 s" "$(tail -n 3 "$PEERLOG")"
fi
grep -q 'mode=silent user=-: mode silent: client closed' "$PEERLOG" && ok "peer log: one line for the silent mode" || nok "peer log: silent mode line"
grep -q 'internal error' "$PEERLOG" && nok "no internal error in the peer's log" "$(grep 'internal error' "$PEERLOG" | tail -n 2)" || ok "no internal error in the peer's log"

echo "1..$n"
[ "$bad" = 0 ] && echo "# all $n passed" || echo "# $bad of $n failed"
[ "$bad" = 0 ]
