#!/bin/sh
# The chain's Kerberos exchanges against the lab's real KDCs.
#
# Clusters that share an SPN (many cluster names behind one server) each get their service
# ticket from a KDC in every run, not the first one's from the run's cache: the exchanges
# search a cache of the TGTs only (probes/chain_int.h), so a cached ticket never stands in for
# a cluster's own exchange.
#
# A KDC reply that answers another request is refused by MIT's step API (krb5_tkt_creds_step,
# which probes/krb_stepper.c drives): krbwatch matches nothing of a reply itself, so a late or
# duplicated datagram handed to the wrong exchange (net/kdc_transport.c keeps sockets across
# requests) must be refused there.  The driver (tests/tgs_nonce_main.c) makes two real TGS
# requests for the same service from the same TGTs, sends both to the lab's KDC, and feeds
# request A the reply to B: no ticket (MIT asks again without referrals, and refuses the same
# reply to that request too); B its own: a ticket; a third request the reply to A: no ticket.
#
# KW_CHAIN_NONCE_DRIVER: the driver (default build/tests/tgs_nonce_main; the ASan build works too).
. "$(dirname "$0")/lib.sh"
. "$KW_TOP/tests/lab_session.sh"

DRV=${KW_CHAIN_NONCE_DRIVER:-${KW_UNITS:-$KW_TOP/build/tests}/tgs_nonce_main}
[ -x "$DRV" ] || { not_ok "driver $DRV is built"; exit 1; }
# no krbwatch runs here: the interval and deadline of the lab's configuration do not matter
lab_session "${KW_CHAIN_NS:-tch}" 2s 1500ms

R=AWSMAD.KERBEROS.COM
PG=$KW_LAB_USE1_PG_HOST

# ---- three clusters behind one PostgreSQL, one SPN ----------------------------------------
cluster() {
	printf '      - { name: %s, engine: postgresql, host: %s, port: 5432, user: krbmon, expect_user: krbmon, spn: postgres/%s@%s, database: postgres, tls: { mode: verify-identity, ca: %s } }\n' \
	    "$1" "$PG" "$PG" "$R" "$KW_LAB_CA"
}
{
	printf 'listen: 127.0.0.1:%s\ninterval: 30s\ntimeout: 10s\n' "$(free_port)"
	printf 'identity:\n  principal: %s\n  keytab: %s\n' "$KW_LAB_PRINCIPAL" "$KW_LAB_KEYTAB"
	printf 'realms:\n  %s:\n    domain: onprem.example.com\n    kdcs: [%s]\n' "$KW_LAB_REALM_USER" "$KW_LAB_ONPREM_DC1"
	printf '  %s:\n    domain: awsmad.kerberos.com\n' "$R"
	printf 'regions:\n  us-east-1:\n    site: us-east-1\n    resolvers: [%s]\n' "$(echo $KW_LAB_USE1_RESOLVERS | sed 's/ /, /')"
	printf '    kdcs: { %s: [%s] }\n    clusters:\n' "$R" "$KW_LAB_USE1_DC1"
	cluster pg-a; cluster pg-b; cluster pg-c
} >"$KW_TMP/shared.yml"
"$LAB" exec us-east-1 "$KW_BIN" probe -c "$KW_TMP/shared.yml" >"$KW_TMP/probe.out" 2>&1
rc=$?
check_eq "krbwatch probe: every step of the three clusters passed" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$KW_TMP/probe.out"
for c in pg-a pg-b pg-c; do
	got=$(grep " $c service_ticket " "$KW_TMP/probe.out")
	case $got in
	*"@$R from $KW_LAB_USE1_DC1, kvno "*) ok "$c: its own service ticket from the Region's KDC" ;;
	*) not_ok "$c: its own service ticket from the Region's KDC"; printf '#   %s\n' "$got" ;;
	esac
done

# ---- a reply to another request ------------------------------------------------------------
CC=$KW_TMP/tgt.cc
# the TGT and the inter-realm TGT, as stock tools fetch them from the us-east-1 client
"$LAB" exec us-east-1 sh -c 'kinit -k -c "FILE:$0" "$1" && kvno -q -c "FILE:$0" "$2"' \
    "$CC" "$KW_LAB_PRINCIPAL" "krbtgt/$R@$KW_LAB_REALM_USER" >"$KW_TMP/kinit.log" 2>&1 ||
    { not_ok "TGTs from the lab's KDCs"; sed 's/^/#   /' "$KW_TMP/kinit.log"; exit 1; }

"$LAB" exec us-east-1 "$DRV" "FILE:$CC" "postgres/$KW_LAB_USE1_PG_HOST@$R" "$KW_LAB_ONPREM_DC1" \
    "$KW_LAB_USE1_DC1" >"$KW_TMP/out" 2>"$KW_TMP/err"
rc=$?
sed 's/^/#   /' "$KW_TMP/err"
line() { grep "^$1: " "$KW_TMP/out" | sed "s/^$1: //"; }
held() {
	case $(line "$1") in
	held*) ok "$1: $(line "$1")" ;;
	*) not_ok "$1: $(line "$1")"; sed 's/^/#   /' "$KW_TMP/out" ;;
	esac
}
held "two requests"
held "a reply to another request"
held "the same reply to the request made again"
held "the reply to its own request"
held "a reply to an earlier request"
check_eq "the driver's exit status" 0 "$rc"
