#!/bin/sh
# The MySQL/MariaDB login (probes/login_mysql.c, through the probes/login.c dispatcher) against
# the lab's real MariaDB (auth_gssapi) in both Regions and, when the lab runs it, the MySQL
# authentication_kerberos protocol peer; TLS verify-identity with the lab CA.  Tickets are
# fetched by stock tools (kinit -k + kvno) into a FILE cache that the driver copies into a MEMORY
# cache; the driver runs in the lab's client namespace with krbwatch's own krb5 profile (no KDC
# for any realm), so GSSAPI can only use what is in the cache.
#
# KW_LOGIN_MYSQL_DRIVER: the driver (default $KW_UNITS/login_main, so the ASan pass uses the ASan
# build).  KW_LOGIN_MYSQL_WRAP: a command to run it under (e.g. "valgrind -q --error-exitcode=97").
. "$(dirname "$0")/lib.sh"

export KW_LAB_NS=${KW_LAB_NS:-tlm}
DRV=${KW_LOGIN_MYSQL_DRIVER:-${KW_UNITS:-$KW_TOP/build/tests}/login_main}
WRAP=${KW_LOGIN_MYSQL_WRAP:-}
. "$KW_TOP/tests/login_lib.sh"

R=$KW_LAB_REALM_DB
DB1=$KW_LAB_USE1_DB_HOST
DB2=$KW_LAB_USW2_DB_HOST
SPN1=mariadb/$DB1@$R
SPN2=mariadb/$DB2@$R
MY1=$KW_LAB_USE1_MYSQL_HOST
MYSPN1=mysql/$MY1@$R

# check_detail "what" WORDS: the last result's detail contains WORDS (case-insensitive)
check_detail() {
	if printf '%s\n' "$OUT" | grep -qi -- "$2"; then ok "$1"; else not_ok "$1: $OUT"; fi
}
# peer_mode MODE: how the MySQL peer in us-east-1 answers new connections
peer_mode() { echo "$1" >"$KW_LAB_DIR/run/mysqlpeer-use1.mode"; }

T0=$(date +%s%N)
cache all "$SPN1" "$SPN2" || { not_ok "tickets from the lab's KDCs"; exit 1; }
cache tgt || { not_ok "TGT only"; exit 1; }
C="--ca $KW_LAB_CA --tls verify-identity"

# --- MariaDB, healthy ----------------------------------------------------------------------------
check_login "us-east-1: MariaDB login, verify-identity" ok --host "$DB1" $C --spn "$SPN1" \
    --expect-user 'krbmon@%' --ccache-file "$KW_TMP/all.cc"
check_eq "us-east-1: CURRENT_USER()" 'krbmon@%' "$(field user)"
check_eq "us-east-1: the announced SPN" "$SPN1" "$(field spn)"
check_login "us-west-2: MariaDB login, verify-identity" ok --host "$DB2" $C --spn "$SPN2" \
    --expect-user 'krbmon@%' --ccache-file "$KW_TMP/all.cc"
check_eq "us-west-2: CURRENT_USER()" 'krbmon@%' "$(field user)"
check_login "us-west-2, from its own client namespace" ok --from us-west-2 --host "$DB2" $C \
    --expect-user 'krbmon@%' --ccache-file "$KW_TMP/all.cc"

check_login "expected user differs: wrong_user" wrong_user --host "$DB1" $C --spn "$SPN1" \
    --expect-user 'someone@%' --ccache-file "$KW_TMP/all.cc"
check_eq "wrong_user still reports CURRENT_USER()" 'krbmon@%' "$(field user)"
check_login "a user the server does not know: access_denied" access_denied --host "$DB1" $C \
    --user nosuchuser --ccache-file "$KW_TMP/all.cc"
check_eq "access_denied keeps the server's error code" 1045 "$(field server_error)"
check_login "no TLS for a REQUIRE SSL account: access_denied" access_denied --host "$DB1" \
    --tls disable --ccache-file "$KW_TMP/all.cc"

# --- TLS --------------------------------------------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$KW_TMP/other.key" -out "$KW_TMP/other.pem" \
    -days 1 -subj /CN=other-ca >/dev/null 2>&1
chmod 644 "$KW_TMP/other.pem"
check_login "a CA that did not sign the server: tls" tls --host "$DB1" --ca "$KW_TMP/other.pem" \
    --ccache-file "$KW_TMP/all.cc"
check_detail "tls detail: certificate verify failed" "certificate verify failed"
check_login "no CA given: the system bundle does not know the lab CA: tls" tls --host "$DB1" \
    --ccache-file "$KW_TMP/all.cc"
check_login "connect by IP with verify-identity: tls" tls --host "$KW_LAB_USE1_DB_IP" $C \
    --ccache-file "$KW_TMP/all.cc"
check_detail "tls detail: hostname mismatch" "hostname mismatch"
# us-west-2's name points at us-east-1's server, whose certificate names db-use1 only
check_login "a name the certificate does not hold: tls" tls --hosts "$KW_LAB_USE1_DB_IP $DB2" \
    --host "$DB2" $C --ccache-file "$KW_TMP/all.cc"
check_detail "tls detail names the host" "hostname mismatch.*$DB2"
check_login "verify-ca by IP (with spn: then) accepts the same certificate" ok --host "$KW_LAB_USE1_DB_IP" --spn-config "$SPN1" \
    --ca "$KW_LAB_CA" --tls verify-ca --ccache-file "$KW_TMP/all.cc"
check_login "require: any certificate" ok --host "$DB1" --tls require --ccache-file "$KW_TMP/all.cc"

# --- tickets --------------------------------------------------------------------------------------
check_login "no ticket and no need_ticket: gss" gss --host "$DB1" $C \
    --ccache-file "$KW_TMP/tgt.cc"
check_detail "gss detail names the SPN" "no ticket for $SPN1"
check_login "no ticket: need_ticket, answered from the loop" ok --host "$DB1" $C --spn "$SPN2" \
    --ccache-file "$KW_TMP/tgt.cc" --fetch-file "$KW_TMP/all.cc"
check_eq "need_ticket asked once, for the announced SPN" "need_ticket $SPN1" "$ERR"
check_login "need_ticket answered from inside the callback" ok --host "$DB1" $C \
    --ccache-file "$KW_TMP/tgt.cc" --fetch-file "$KW_TMP/all.cc" --fetch-now
check_login "the fetched cache still lacks it: gss" gss --host "$DB1" $C \
    --ccache-file "$KW_TMP/tgt.cc" --fetch-file "$KW_TMP/tgt.cc"
check_login "the fetch never ends: timeout" timeout --host "$DB1" $C --timeout 500 \
    --ccache-file "$KW_TMP/tgt.cc" --fetch-never
check_detail "timeout detail: waiting for the ticket" "no ticket for $SPN1 after"
login --host "$DB1" $C --ccache-file "$KW_TMP/tgt.cc" --fetch-never --cancel-after 300
check_eq "cancelled while waiting for the ticket" "3 cancelled" "$RC $(field reason)"

# --- names, deadlines, cancel ------------------------------------------------------------------------
check_login "unknown host: nxdomain" nxdomain --host "nosuch.${KW_LAB_REALM_DB}" $C \
    --ccache-file "$KW_TMP/all.cc"
t=$(date +%s%N)
check_login "silent server: timeout" timeout --silent 13306 --hosts "127.0.0.1 $DB1" --host "$DB1" \
    --port 13306 $C --ccache-file "$KW_TMP/all.cc" --timeout 800
ms=$(( ($(date +%s%N) - t) / 1000000 ))
check_detail "timeout detail: no greeting" "no answer in state greeting"
check "timeout after 800 ms ($ms ms with the lab exec)" [ "$ms" -lt 2500 ]
bad=""
for ms in 1 2 3 4 6 8 10 15; do
	login --host "$DB1" $C --ccache-file "$KW_TMP/all.cc" --cancel-after $ms
	case "$RC $(field reason)" in "3 cancelled"|"0 ok") ;; *) bad="$bad $ms:rc=$RC:$OUT" ;; esac
done
check_eq "cancelled at any point: no callback, nothing left, no leak" "" "$bad"

# --- faults -----------------------------------------------------------------------------------------
"$LAB" fault db-down us-east-1 mariadb >/dev/null 2>&1 || not_ok "fault db-down"
check_login "db-down us-east-1: refused" refused --host "$DB1" $C --ccache-file "$KW_TMP/all.cc"
check_login "db-down us-east-1: us-west-2 still logs in" ok --host "$DB2" $C \
    --ccache-file "$KW_TMP/all.cc"
"$LAB" heal >/dev/null 2>&1 || not_ok "heal"

# the DB keeps its kvno-1 keytab; a ticket fetched after the re-key has kvno 2.  MariaDB's ERR
# 1105 says "... Cannot find key for mariadb/...@AWSMAD.KERBEROS.COM kvno 2 in keytab"
"$LAB" fault spn-key-rotated us-east-1 mariadb >/dev/null 2>&1 || not_ok "fault spn-key-rotated"
cache rot "$SPN1" "$SPN2" || not_ok "tickets after the re-key"
check_login "spn-key-rotated us-east-1: key_version" key_version --host "$DB1" $C \
    --ccache-file "$KW_TMP/rot.cc"
check_detail "key_version detail: the server's kvno words" "kvno"
check_eq "key_version keeps the server's error code" 1105 "$(field server_error)"
check_login "spn-key-rotated us-east-1: us-west-2 still logs in" ok --host "$DB2" $C \
    --ccache-file "$KW_TMP/rot.cc"
"$LAB" heal >/dev/null 2>&1 || not_ok "heal"

"$LAB" fault clock-skew db-use1 900 >/dev/null 2>&1 || not_ok "fault clock-skew db-use1"
check_login "MariaDB us-east-1 clock +900 s: clock_skew" clock_skew --host "$DB1" $C \
    --ccache-file "$KW_TMP/all.cc"
check_login "clock-skew us-east-1: us-west-2 still logs in" ok --host "$DB2" $C \
    --ccache-file "$KW_TMP/all.cc"
"$LAB" heal >/dev/null 2>&1 || not_ok "heal"
check_login "healed: us-east-1 logs in again" ok --host "$DB1" $C --expect-user 'krbmon@%' \
    --ccache-file "$KW_TMP/all.cc"

# --- MySQL authentication_kerberos, against the lab's protocol peer (when it runs) ------------------
if [ -x "$KW_TOP/tests/lab/mysql_krb_peer" ] && [ -d "$KW_LAB_DIR/run" ]; then
	cache my "$MYSPN1" || not_ok "ticket for $MYSPN1"
	M="--engine mysql --host $MY1 $C --ccache-file $KW_TMP/my.cc"
	peer_mode normal
	check_login "MySQL peer: authentication_kerberos login" ok $M --expect-user 'krbmon@%'
	check_eq "MySQL peer: the announced SPN" "$MYSPN1" "$(field spn)"
	check_eq "MySQL peer: the announced realm" "$KW_LAB_REALM_USER" "$(field realm)"
	peer_mode wrong-user
	check_login "MySQL peer: another CURRENT_USER(): wrong_user" wrong_user $M --expect-user 'krbmon@%'
	peer_mode deny
	check_login "MySQL peer: ERR after the token: access_denied" access_denied $M
	peer_mode oversized
	check_login "MySQL peer: a 16 MiB packet: protocol" protocol $M
	peer_mode truncated-close
	check_login "MySQL peer: truncated greeting, then close: protocol" protocol $M
	peer_mode garbage
	check_login "MySQL peer: not MySQL at all: protocol" protocol $M
	peer_mode truncated
	check_login "MySQL peer: truncated greeting, then silence: timeout" timeout $M --timeout 600
	# issue 17: a server that names another service gets no ticket request and no AP-REQ
	PLOG=$KW_LAB_DIR/logs/mysqlpeer-use1.out
	lied() { [ "$(grep -c "mode $1: announced cifs/.*received no AP-REQ" "$PLOG")" -gt "$2" ]; }
	for m in lie lie-gssapi; do
		e=mysql; [ $m = lie-gssapi ] && e=mariadb
		n=$(grep -c "mode $m: announced" "$PLOG")
		peer_mode $m
		check_login "a server announcing cifs/fileserver ($e): spn_mismatch" spn_mismatch \
		    --engine $e --host "$MY1" $C --ccache-file "$KW_TMP/my.cc"
		check "  ... and no ticket was asked for the foreign name ($e)" \
		    sh -c '! printf "%s\n" "$1" | grep -q need_ticket' x "$ERR"
		check "  ... and the server received no AP-REQ ($e)" wait_for 10 lied $m "$n" ||
		    grep "mode $m:" "$PLOG" | tail -n 2 | sed 's/^/#   /'
	done
	peer_mode lie
	check_login "the same server with spn: set to the name it should announce: spn_mismatch" \
	    spn_mismatch --spn-config "$MYSPN1" $M
	peer_mode big
	check_login "a 2 MiB greeting: protocol, without reading it all" protocol $M
	check_detail "protocol detail: more than a login reads" "more than the 65536 a login reads"
	peer_mode no-aprep
	check_login "a server that says OK without its AP-REP (mutual authentication): gss" gss $M
	check_detail "gss detail: mutual authentication" "mutual authentication"
	peer_mode normal
fi

# --- the same login under valgrind (the plain build only: ASan and valgrind do not mix) -------------
if [ -z "$WRAP" ] && [ "${KW_SANITIZED:-0}" != 1 ] && command -v valgrind >/dev/null 2>&1; then
	WRAP="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=97"
	check_login "under valgrind: no error, no leak" ok --host "$DB1" $C --ccache-file "$KW_TMP/all.cc"
	check_login "under valgrind, timed out while waiting for the ticket" timeout --host "$DB1" $C \
	    --ccache-file "$KW_TMP/tgt.cc" --fetch-never --timeout 1500
	WRAP=""
fi

printf '# login checks took %d ms\n' $(( ($(date +%s%N) - T0) / 1000000 ))
