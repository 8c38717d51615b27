#!/bin/sh
# The PostgreSQL login (probes/login_pg.c, through the probes/login.c dispatcher) against the
# lab's real PostgreSQL 15 in both Regions, TLS verify-identity, with tickets that stock tools
# fetched (kinit -k + kvno) and the driver copies into a MEMORY cache.  The driver runs in the
# lab's client namespace with krbwatch's own krb5 profile (no KDC for any realm), so GSSAPI can
# only use what is in the cache.
#
# KW_LOGIN_PG_DRIVER: the driver (default build/tests/login_pg_main; the ASan build works too).
# KW_LOGIN_PG_WRAP: a command to run it under, for example "valgrind -q --error-exitcode=97".
. "$(dirname "$0")/lib.sh"

export KW_LAB_NS=${KW_LAB_NS:-tlp}
DRV=${KW_LOGIN_PG_DRIVER:-${KW_UNITS:-$KW_TOP/build/tests}/login_pg_main}
WRAP=${KW_LOGIN_PG_WRAP:-}
. "$KW_TOP/tests/login_lib.sh"

R=AWSMAD.KERBEROS.COM
PG1=$KW_LAB_USE1_PG_HOST
PG2=$KW_LAB_USW2_PG_HOST
SPN1=postgres/$PG1@$R
SPN2=postgres/$PG2@$R

T0=$(date +%s%N)
# the chain's form: the explicit SPN only (the login asks GSSAPI for exactly that name)
cache exp "$SPN1" "$SPN2" || { not_ok "tickets from the lab's KDCs"; exit 1; }
# the host-based (referral) form kvno -S stores: postgres/HOST@ with the empty realm
cache ref -S postgres "$PG1" || { not_ok "referral-form ticket"; exit 1; }
cache tgt || { not_ok "TGT only"; exit 1; }
C="--ca $KW_LAB_CA --tls verify-identity"

check_login "us-east-1: login with the explicit-SPN ticket" ok --host "$PG1" $C --spn "$SPN1" \
    --expect-user krbmon --ccache-file "$KW_TMP/exp.cc"
check_eq "us-east-1: current_user" krbmon "$(field user)"
check_login "us-west-2: login with the explicit-SPN ticket" ok --host "$PG2" $C --spn "$SPN2" \
    --expect-user krbmon --ccache-file "$KW_TMP/exp.cc"
check_eq "us-west-2: current_user" krbmon "$(field user)"
check_login "us-east-1: login with the referral-form ticket, no SPN given" ok --host "$PG1" $C \
    --ccache-file "$KW_TMP/ref.cc"
check_login "the SPN's service names krbsrvname" ok --host "$PG1" $C --cluster-spn "$SPN1" \
    --ccache-file "$KW_TMP/exp.cc"

check_login "expected user differs: wrong_user" wrong_user --host "$PG1" $C --spn "$SPN1" \
    --expect-user someone --ccache-file "$KW_TMP/exp.cc"
check_eq "wrong_user still reports current_user" krbmon "$(field user)"
check_login "database user without a mapping: access_denied" access_denied --host "$PG1" $C \
    --spn "$SPN1" --user aduser --ccache-file "$KW_TMP/exp.cc"
case $OUT in *28000*) ok "access_denied keeps the SQLSTATE" ;; *) not_ok "access_denied keeps the SQLSTATE: $OUT" ;; esac

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$KW_TMP/other.key" -out "$KW_TMP/other.pem" \
    -days 1 -subj /CN=other-ca >/dev/null 2>&1
chmod 644 "$KW_TMP/other.pem"
check_login "a CA that did not sign the server: tls" tls --host "$PG1" --ca "$KW_TMP/other.pem" \
    --spn "$SPN1" --ccache-file "$KW_TMP/exp.cc"
check_login "no CA given: the system bundle does not know the lab CA: tls" tls --host "$PG1" \
    --spn "$SPN1" --ccache-file "$KW_TMP/exp.cc"
# us-west-2's name points at us-east-1's server, whose certificate names pg-use1
check_login "host name mismatch: tls" tls --hosts "$KW_LAB_USE1_PG_IP $PG2" --host "$PG2" $C \
    --spn "$SPN2" --ccache-file "$KW_TMP/exp.cc"
case $OUT in *"does not match host name"*) ok "tls detail names the mismatch" ;; *) not_ok "tls detail names the mismatch: $OUT" ;; esac
# verify-ca lets the name through; GSSAPI then catches it: the server cannot read a ticket
# for another service ("The ticket isn't for us")
check_login "verify-ca passes the mismatch to GSSAPI: gss" gss --hosts "$KW_LAB_USE1_PG_IP $PG2" --host "$PG2" \
    --ca "$KW_LAB_CA" --tls verify-ca --spn "$SPN2" --ccache-file "$KW_TMP/exp.cc"

check_login "no ticket and no need_ticket: gss, before any connect" gss --host "$PG1" $C \
    --spn "$SPN1" --ccache-file "$KW_TMP/tgt.cc"
check_login "no ticket: need_ticket, then the login goes on" ok --host "$PG1" $C --spn "$SPN1" \
    --ccache-file "$KW_TMP/tgt.cc" --fetch-file "$KW_TMP/exp.cc"
check_eq "need_ticket asked once, for the SPN" "need_ticket $SPN1" "$ERR"
check_login "the fetched cache still lacks it: gss" gss --host "$PG2" $C --spn "$SPN2" \
    --ccache-file "$KW_TMP/tgt.cc" --fetch-file "$KW_TMP/ref.cc"
check_login "unknown host: nxdomain" nxdomain --host "nosuch.$KW_LAB_REALM_DB" $C \
    --ccache-file "$KW_TMP/exp.cc"

# a peer that accepts and never speaks: our deadline decides
t=$(date +%s%N)
check_login "silent server: timeout" timeout --silent 15432 --hosts "127.0.0.1 $PG1" --host "$PG1" \
    --port 15432 $C --spn "$SPN1" --ccache-file "$KW_TMP/exp.cc" --timeout 800
ms=$(( ($(date +%s%N) - t) / 1000000 ))
check "timeout after 800 ms, the login's own deadline ($ms ms with the lab exec)" [ "$ms" -lt 2500 ]
login --host "$PG1" $C --spn "$SPN1" --ccache-file "$KW_TMP/exp.cc" --cancel-after 5
check_eq "cancelled while connecting: no callback, clean exit" "3 cancelled" "$RC $(field reason)"
login --silent 15433 --hosts "127.0.0.1 $PG1" --host "$PG1" --port 15433 $C --spn "$SPN1" \
    --ccache-file "$KW_TMP/exp.cc" --cancel-after 300
check_eq "cancelled while waiting for the server" "3 cancelled" "$RC $(field reason)"

"$LAB" fault db-down us-west-2 postgres >/dev/null 2>&1 || not_ok "fault db-down"
check_login "db-down us-west-2: refused" refused --host "$PG2" $C --spn "$SPN2" \
    --ccache-file "$KW_TMP/exp.cc"
check_login "db-down us-west-2: us-east-1 still logs in" ok --host "$PG1" $C --spn "$SPN1" \
    --ccache-file "$KW_TMP/exp.cc"
"$LAB" heal >/dev/null 2>&1 || not_ok "heal"

# the DB's keytab is stale: a ticket fetched after the re-key (kvno 2) cannot be decrypted;
# the server's KRB-ERROR token reaches our GSS context as "Key version is not available"
"$LAB" fault spn-key-rotated us-east-1 postgres >/dev/null 2>&1 || not_ok "fault spn-key-rotated"
cache rot "$SPN1" || not_ok "ticket after the re-key"
check_login "spn-key-rotated us-east-1 postgres: key_version" key_version --host "$PG1" $C \
    --spn "$SPN1" --ccache-file "$KW_TMP/rot.cc"
"$LAB" heal >/dev/null 2>&1 || not_ok "heal"

"$LAB" fault clock-skew pg-use1 900 >/dev/null 2>&1 || not_ok "fault clock-skew pg"
check_login "PostgreSQL clock +900 s: clock_skew" clock_skew --host "$PG1" $C --spn "$SPN1" \
    --ccache-file "$KW_TMP/exp.cc"
"$LAB" heal >/dev/null 2>&1 || not_ok "heal"
check_login "healed: us-east-1 logs in again" ok --host "$PG1" $C --spn "$SPN1" \
    --ccache-file "$KW_TMP/exp.cc"

# issue 17: an impostor at the database's name (DNS or path) that takes the ticket and says OK
# without the AP-REP.  PostgreSQL announces no SPN: the login asks for the SPN of the
# configuration, so the server cannot choose the ticket; it can only pretend to have accepted it.
"$LAB" exec us-east-1 python3 "$KW_TOP/tests/pg_liar.py" "$KW_TMP/liar.port" 2>"$KW_TMP/liar.log" &
liar=$!
stop_liar() { kill "$liar" 2>/dev/null; }
at_exit stop_liar
if wait_for 10 test -s "$KW_TMP/liar.port"; then
	check_login "a server that says OK without its AP-REP (mutual authentication): gss" gss \
	    --hosts "127.0.0.1 $PG1" --host "$PG1" --port "$(cat "$KW_TMP/liar.port")" --tls disable \
	    --spn "$SPN1" --ccache-file "$KW_TMP/exp.cc"
	check "  ... its token was for the configured SPN's service and host only" \
	    grep -q 'token [0-9]* B, OK without AP-REP' "$KW_TMP/liar.log"
else
	not_ok "the PostgreSQL impostor starts"
fi

printf '# login checks took %d ms\n' $(( ($(date +%s%N) - T0) / 1000000 ))
