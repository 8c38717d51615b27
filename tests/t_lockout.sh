#!/bin/sh
# Never lock out the monitoring account (issue 14), against a KDC that enforces a lockout policy.
#
# The lab's on-prem MIT KDC gets a kadmin policy on krbmon (maxfailure 5 in 30 minutes, locked
# for 30 minutes, as an AD baseline would), and krbmon's key is changed on the KDC side, so
# krbwatch's keytab is stale.  krbwatch then runs at a 2 s interval with both Regions for about a
# minute, with `krbwatch probe` run during it, a SIGKILL and restart in the middle (its state in
# a state_directory under $KW_TMP) and two reloads.  The KDC's own count ("Failed password
# attempts" of kadmin.local getprinc) must stay within identity.max_failed_attempts (2) and the
# account never be locked.  Then a keytab with the new key is renamed over the configured one,
# and both Regions must recover, without a restart.
#
# Lab name: $KW_LOCKOUT_NS (default tlk).

. "$(dirname "$0")/lib.sh"
. "$KW_TOP/tests/lab_session.sh"

lab_session "${KW_LOCKOUT_NS:-tlk}" 2s 1500ms
M=$KW_TMP/metrics
STATE=$KW_TMP/state
MAX=2
mkdir -p "$STATE"
# owned by another user, as StateDirectory= makes it: what root writes there must be that user's
chown 65534:65534 "$STATE"
# the bound, explicit, and the state where a restart finds it
sed -i "s|^  keytab: .*|&\n  max_failed_attempts: $MAX\n  lockout_window: 30m|" "$CONF"
echo "state_directory: $STATE" >>"$CONF"

# kadmin.local on the on-prem realm's database (the lab keeps it in plain files)
kadm() {
	KRB5_CONFIG="$KW_LAB_DIR/etc/krb5-kdc-onprem.conf" KRB5_KDC_PROFILE="$KW_LAB_DIR/kdc/onprem/kdc-dc1.conf" \
		kadmin.local -r "$KW_LAB_REALM_USER" -q "$1" 2>>"$LOG"
}
failed() { kadm "getprinc $KW_LAB_PRINCIPAL" | sed -n 's/^Failed password attempts: //p'; }
kdc_preauth_failed() { cat "$KW_LAB_LOGS"/kdc-onprem-dc*.log | grep -c "PREAUTH_FAILED: krbmon@"; }

get() { "$LAB" exec $E curl -fsS --max-time 3 "http://$KW_LAB_LISTEN$1"; }
# snap: /metrics now in $M.  A scrape that fails or is slow on a loaded machine is tried again;
# it never leaves the previous copy standing in for the present (a stale count of the runs made
# runs_past return before the runs it waits for had happened).
snap1() { get /metrics >"$M.new" 2>/dev/null && mv "$M.new" "$M"; }
snap() { wait_for 30 snap1; }
v() { awk -v s="$1" 'index($0, s " ") == 1 { print $2 }' "$M"; }
up() { snap1 && [ "$(v "krbwatch_region_auth_up{aws_region=\"$E\"}")" = 1 ] && [ "$(v "krbwatch_region_auth_up{aws_region=\"$W\"}")" = 1 ]; }
# both Regions' chain runs so far ("" when /metrics cannot be read)
chain_runs() { snap && awk '/^krbwatch_probe_runs_total\{.*probe="chain"\}/ { n += $2 } END { print n + 0 }' "$M"; }
runs_at_least() { [ "$(chain_runs)" -ge "$1" ] 2>/dev/null; }
# held: krbwatch holds the identity back now (no AS exchange in flight, none to be sent)
held() { snap1 && awk '$1 == "krbwatch_identity_backoff_seconds" && $2 >= 1 { f = 1 } END { exit !f }' "$M"; }
# runs_past N WHAT: both Regions' chains ran N more times since now (2 s interval: N s; a
# deadline a loaded machine cannot miss), said as a check when they did not
runs_past() {
	_from=$(chain_runs)
	[ -n "$_from" ] && wait_for 120 runs_at_least $(( _from + $1 )) ||
		not_ok "$2: $1 more chain runs within 120 s (from ${_from:-?}, now $(chain_runs))"
}
start() {
	"$LAB" exec $E "$KW_BIN" -c "$CONF" -v 2>>"$KWLOG" &
	kw_pid=$!
	wait_for 20 get /-/ready
}
kprobe() {
	"$LAB" exec $E "$KW_BIN" probe -c "$CONF" "$@" >"$KW_TMP/probe.out" 2>"$KW_TMP/probe.err"
	prc=$?
}

# ---------------------------------------------------------------------------------------------
# the KDC enforces a lockout

check "the KDC keeps its database in the db2 backend (MIT's lockout needs no LDAP)" \
	sh -c "! grep -q 'db_library\|disable_lockout' '$KW_LAB_DIR'/kdc/onprem/kdc-dc*.conf"
kadm "addpol -maxfailure 5 -failurecountinterval 30m -lockoutduration 30m kwmon14" >/dev/null
kadm "modprinc -policy kwmon14 $KW_LAB_PRINCIPAL" >/dev/null
check "krbmon is under the lockout policy (maxfailure 5, 30m, 30m)" sh -c \
	"KRB5_CONFIG='$KW_LAB_DIR/etc/krb5-kdc-onprem.conf' KRB5_KDC_PROFILE='$KW_LAB_DIR/kdc/onprem/kdc-dc1.conf' kadmin.local -r '$KW_LAB_REALM_USER' -q 'getprinc $KW_LAB_PRINCIPAL' 2>/dev/null | grep -qx 'Policy: kwmon14'"

start
check "healthy first: both Regions authenticate" wait_for 30 up
check_eq "healthy: not held back" 0 "$(v krbwatch_identity_backoff_seconds)"
check_eq "healthy: the KDC counts no failure" 0 "$(failed)"
check "healthy: the lockout state is on disk" grep -q "^identity $KW_LAB_PRINCIPAL " "$STATE/lockout.state"
check_eq "healthy: root wrote it, but it belongs to the state directory's owner" "65534 65534 65534" \
	"$(stat -c '%u %g' "$STATE/lockout.state") $(stat -c '%u' "$STATE/lockout.lock")"

# the password is changed on the directory's side: krbwatch's keytab is now stale
kadm "cpw -randkey $KW_LAB_PRINCIPAL" >/dev/null
t0=$(date +%s)
runs0=$(chain_runs)

# ---------------------------------------------------------------------------------------------
# about a minute of wrong key: 2 s interval, both Regions, krbwatch probe, a kill, two reloads

check "the stale keytab: krbwatch holds the identity back" wait_for 30 sh -c \
	"\"$LAB\" exec $E curl -fsS http://$KW_LAB_LISTEN/metrics | grep -q '^krbwatch_identity_backoff_seconds [1-9]'"
runs_past 20 "the stale keytab"
kprobe
check_eq "krbwatch probe while held back: exit 1" 1 "$prc"
check "krbwatch probe says the identity is held back, and why" \
	grep -q "^identity $KW_LAB_PRINCIPAL: held back: the KDC answered preauth_failed" "$KW_TMP/probe.out"
check "krbwatch probe: the tgt hop says so, with what lifts it" \
	grep -qE "^  FAIL  tgt .*held back: .*until it changes on disk, a reload, or [0-9]+ s" "$KW_TMP/probe.out" ||
	sed 's/^/#   /' "$KW_TMP/probe.out"
check "krbwatch probe: each hop that needs the TGT says it was not tried, and why" sh -c \
	"[ \$(grep -cE '^  held  (referral|[a-z]+-us(e1|w2) (service_ticket|login)) .*not tried: it needs the TGT' '$KW_TMP/probe.out') -eq 14 ]"
kprobe --json
check "krbwatch probe --json: the chain's reason stays preauth_failed" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(not all(p["reason"] == "preauth_failed" for r in d["regions"] for p in r["probes"] if p["probe"] == "chain"))' "$KW_TMP/probe.out"
snap
for r in $E $W; do
	check "$r: the tgt hop fails with reason preauth_failed (the Region's alerts name it)" sh -c \
		"grep -qE '^krbwatch_hop_failures_total\\{aws_region=\"$r\",db_cluster=\"[a-z]+-[a-z0-9]+\",hop=\"tgt\",reason=\"preauth_failed\"\\} [1-9]' '$M'"
	check_eq "$r: krbwatch_region_auth_up 0" 0 "$(v "krbwatch_region_auth_up{aws_region=\"$r\"}")"
done
check "krbwatch_identity_backoff_seconds is the time left (between 1 and 1800)" awk \
	'$1 == "krbwatch_identity_backoff_seconds" { f = 1; if ($2 < 1 || $2 > 1800) exit 1 } END { exit !f }' "$M"
check "the status page says the identity is held back" sh -c \
	"\"$LAB\" exec $E curl -fsS http://$KW_LAB_LISTEN/ | grep -q 'Monitoring identity: held back: the KDC answered preauth_failed'"
check "STATUS= (its summary on the status page) names the identity" sh -c \
	"\"$LAB\" exec $E curl -fsS http://$KW_LAB_LISTEN/ | grep -q '; identity $KW_LAB_PRINCIPAL held back [0-9]* s (preauth_failed): fix the keytab'"
check "the log says so once" grep -q "preauth_failed for $KW_LAB_PRINCIPAL (keytab sha256 [0-9a-f]*): no AS exchange with this keytab" "$KWLOG"
n1=$(failed)
check "after $(( $(chain_runs) - runs0 )) chain runs and krbwatch probe: the KDC counts $n1 failures, at most $MAX" [ "$n1" -le $MAX ]

# a watchdog-style kill and a restart: the state on disk keeps the identity held
runs_killed=$(( $(chain_runs) - runs0 ))	# the counters start again with the process
kill -KILL "$kw_pid"; wait "$kw_pid" 2>/dev/null
start
check "after SIGKILL and a restart: still held back" wait_for 20 sh -c \
	"\"$LAB\" exec $E curl -fsS http://$KW_LAB_LISTEN/metrics | grep -q '^krbwatch_identity_backoff_seconds [1-9]'"
runs_past 12 "after the restart"
kprobe
check_eq "after the restart: no new failure at the KDC (and krbwatch probe sent none)" "$n1" "$(failed)"

# a reload lifts the hold once; the budget stays: the second reload sends nothing
# After each reload the count is read once krbwatch holds the identity back again: the one
# attempt the reload may let through has had its answer (or its deadline) by then, and nothing
# is in flight.  Each wait is for that condition, with a deadline, and says so when it is missed.
for i in 1 2; do
	_n=$(grep -c 'reloaded ' "$KWLOG")
	kill -HUP "$kw_pid"
	check "reload $i: krbwatch says it reloaded" wait_for 60 sh -c "[ \$(grep -c 'reloaded ' '$KWLOG') -gt $_n ]"
	runs_past 8 "reload $i"
	check "reload $i: the identity is held back again (nothing in flight)" wait_for 60 held
	check "reload $i: the KDC counts $(failed) failures, at most $MAX" [ "$(failed)" -le $MAX ]
done
check_eq "the first reload let one more attempt through, the second none: $MAX failures" $MAX "$(failed)"
runs_past 6 "after the reloads"
kprobe
n=$(failed)
secs=$(( $(date +%s) - t0 ))
echo "# figure: $secs s of a stale keytab at a 2 s interval, 2 Regions, $(( runs_killed + $(chain_runs) )) chain runs, 3 krbwatch probe runs, 1 SIGKILL, 2 reloads: the KDC counted $n failed pre-authentications (max_failed_attempts $MAX, policy maxfailure 5)"
check "the KDC's count stayed within max_failed_attempts ($n <= $MAX) and below its lockout threshold (5)" \
	[ "$n" -le $MAX ] && [ "$n" -lt 5 ]
check "the KDCs' own logs show at most $MAX PREAUTH_FAILED for krbmon" [ "$(kdc_preauth_failed)" -le $MAX ]
check "the account was never locked: no LOCKED_OUT (client_revoked) in the KDCs' logs" sh -c \
	"! grep -q 'LOCKED_OUT: krbmon@' '$KW_LAB_LOGS'/kdc-onprem-dc1.log '$KW_LAB_LOGS'/kdc-onprem-dc2.log"
check "nothing secret in the state file, the log, /metrics or krbwatch probe" sh -c \
	"\"$LAB\" exec $E curl -fsS http://$KW_LAB_LISTEN/metrics >'$KW_TMP/shown-metrics'; cp '$KW_TMP/probe.out' '$KW_TMP/shown-probe'; python3 '$KW_TOP/tests/secret_scan.py' '$KW_LAB_KEYTAB' '$STATE/lockout.state' '$KWLOG' '$KW_TMP/shown-metrics' '$KW_TMP/shown-probe' >'$KW_TMP/scan.out' 2>&1" ||
	sed 's/^/#   /' "$KW_TMP/scan.out"

# ---------------------------------------------------------------------------------------------
# recovery: the new key, renamed over the configured keytab (the documented way); no restart

pid_before=$kw_pid
rm -f "$KW_TMP/new.keytab"
kadm "ktadd -k $KW_TMP/new.keytab -norandkey $KW_LAB_PRINCIPAL" >/dev/null
install -m 0600 "$KW_TMP/new.keytab" "$KW_LAB_KEYTAB.new" && mv "$KW_LAB_KEYTAB.new" "$KW_LAB_KEYTAB"
t1=$(date +%s)
check "the new keytab: both Regions authenticate again" wait_for 60 up
echo "# figure: both Regions up $(( $(date +%s) - t1 )) s after the keytab was replaced (interval 2 s)"
check_eq "... without a restart" "$pid_before" "$kw_pid"
check "... krbwatch is the same process, still running" kill -0 "$kw_pid"
check_eq "... and no longer held back" 0 "$(v krbwatch_identity_backoff_seconds)"
check "the log says it noticed the new keytab" grep -q "the keytab .* changed on disk" "$KWLOG"
check_eq "the good key reset the KDC's count" 0 "$(failed)"
kprobe
check_eq "krbwatch probe after the keytab replace: exit 0" 0 "$prc"
check "krbwatch probe: no identity line any more" sh -c "! grep -q '^identity ' '$KW_TMP/probe.out'"
