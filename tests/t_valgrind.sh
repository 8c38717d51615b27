#!/bin/sh
# plain-only: runs the plain build under valgrind (memcheck) against the lab.
#
# krbwatch probe (every probe kind, the chain with its three kinds of login, TLS, GSSAPI) healthy
# and under faults, and the daemon itself through a few cycles, a reload and SIGTERM, each with
# --leak-check=full --errors-for-leak-kinds=definite: any memory error or definite leak fails.

. "$(dirname "$0")/lib.sh"

. "$KW_TOP/tests/lab_session.sh"
if ! command -v valgrind >/dev/null; then
	not_ok "valgrind is installed (tests/deps.sh installs it)"; exit 1
fi
VG="valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file=$KW_TMP/vg.%p"
# valgrind runs some 20 times slower: deadlines to match
lab_session "${KW_VALGRIND_NS:-tvg}" 20s 15s

# vg_report: what valgrind said, for a failure
vg_report() { cat "$KW_TMP"/vg.* 2>/dev/null | head -n 30 | sed 's/^/#   /'; }
vg_clean() { ! grep -qE 'definitely lost|Invalid (read|write|free)|uninitialised|Mismatched' "$KW_TMP"/vg.* 2>/dev/null; }

# vg_probe WHAT EXPECTED-EXIT ARGS...
vg_probe() {
	_what=$1 _want=$2; shift 2
	rm -f "$KW_TMP"/vg.*
	# shellcheck disable=SC2086
	"$LAB" exec $E $VG "$KW_BIN" probe -c "$CONF" "$@" >"$KW_TMP/probe.out" 2>&1
	_rc=$?
	if [ "$_rc" = "$_want" ] && vg_clean; then ok "$_what: exit $_want, no memory error, no definite leak"
	else not_ok "$_what: exit $_want (got $_rc), no memory error, no definite leak"; vg_report; fi
}

vg_probe "krbwatch probe under valgrind, healthy lab" 0
vg_probe "krbwatch probe --json under valgrind, healthy lab" 0 --json
for f in "trust-broken us-west-2" "kdc-down us-east-1" "db-down us-west-2 all" "spn-key-rotated us-east-1 mariadb"; do
	# shellcheck disable=SC2086
	"$LAB" fault $f >>"$LOG" 2>&1
	vg_probe "krbwatch probe under valgrind, $f" 1
	"$LAB" heal >>"$LOG" 2>&1
done
"$LAB" fault blackhole use1 >>"$LOG" 2>&1
vg_probe "krbwatch probe under valgrind, a Region blackholed (every probe to its deadline)" 1 --region us-east-1
"$LAB" heal >>"$LOG" 2>&1

# the daemon: a few cycles, a reload, SIGTERM
rm -f "$KW_TMP"/vg.*
sed -i -e 's/^interval: .*/interval: 3s/' -e 's/^timeout: .*/timeout: 2500ms/' "$CONF"
# shellcheck disable=SC2086
"$LAB" exec $E $VG "$KW_BIN" -c "$CONF" 2>"$KWLOG" &
kw_pid=$!
get() { "$LAB" exec $E curl -fsS --max-time 5 "http://$KW_LAB_LISTEN$1"; }
runs_at_least() { [ "$(get /metrics | awk '/^krbwatch_probe_runs_total\{aws_region="us-west-2",probe="chain"\}/ { print $2 }')" -ge "$1" ] 2>/dev/null; }
check "the daemon under valgrind becomes ready" wait_for 60 get /-/ready
kill -HUP "$kw_pid"
check "... reloads, and runs its chains again" wait_for 60 runs_at_least 2
kill -TERM "$kw_pid"
wait_for 30 sh -c "! kill -0 $kw_pid 2>/dev/null"
wait "$kw_pid"; rc=$?; kw_pid=""
if [ "$rc" = 0 ] && vg_clean; then ok "the daemon under valgrind: SIGTERM exit 0, no memory error, no definite leak"
else not_ok "the daemon under valgrind: SIGTERM exit 0 (got $rc), no memory error, no definite leak"; vg_report; fi
