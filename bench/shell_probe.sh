#!/bin/sh
# The alternative to krbwatch's chain+login probe: what a cron job would run for ONE cluster, from
# nothing each time (a fresh credential cache, as krbwatch starts each cycle from an empty MEMORY:
# cache).  Run in a lab client namespace (tests/lab/lab exec REGION ...), which sets KRB5_CONFIG
# and KRB5_CLIENT_KTNAME.
#   shell_probe.sh mariadb|postgres HOST SPN CA
# Exit 0 when every hop passed; one line "hop ok|fail" per hop on stdout.
set -u
engine=$1 host=$2 spn=$3 ca=$4
cc=$(mktemp "${TMPDIR:-/tmp}/kwbench-cc.XXXXXX")
trap 'rm -f "$cc"' EXIT
export KRB5CCNAME=FILE:$cc
hop() { if "$@" >/dev/null 2>&1; then echo "$h ok"; else echo "$h fail"; exit 1; fi; }
h=tgt hop timeout 5 kinit -k -t "$KRB5_CLIENT_KTNAME" krbmon@ONPREM.EXAMPLE.COM
h=referral hop timeout 5 kvno krbtgt/AWSMAD.KERBEROS.COM@ONPREM.EXAMPLE.COM
h=service_ticket hop timeout 5 kvno "$spn"
case $engine in
mariadb)
	out=$(timeout 6 mariadb --no-defaults -h "$host" -P 3306 -u krbmon --ssl --ssl-ca="$ca" \
	    --ssl-verify-server-cert --connect-timeout=5 -N -B -e 'SELECT CURRENT_USER()' 2>&1) ;;
postgres)
	out=$(timeout 6 psql -XAtq "host=$host port=5432 dbname=postgres user=krbmon sslmode=verify-full sslrootcert=$ca gssencmode=disable connect_timeout=5" \
	    -c 'SELECT current_user' 2>&1) ;;
esac
case $out in krbmon|krbmon@%) echo "login ok" ;; *) echo "login fail: $out"; exit 1 ;; esac
