#!/bin/sh
# plain-only: tests the lab itself (tests/lab/lab) with stock tools; krbwatch is not started.
#
# Brings the lab up, checks every hop in both Regions with `lab selfcheck`, then for each fault:
# inject it, check that the stock tools fail at the right hop in the right Region and that the
# other Region keeps passing, heal, check that everything passes again.  Finally `lab down` and
# check that nothing of the lab is left.

. "$(dirname "$0")/lib.sh"

LAB=$KW_TOP/tests/lab/lab
E=us-east-1
W=us-west-2

if [ "$(id -u)" -ne 0 ]; then
	echo "ok - # SKIP the lab needs root (network namespaces)"
	exit 0
fi

# KW_LAB_NS picks the lab's name (namespaces NAME-*), as in tests/lab/lab; the runtime directory
# follows it unless KW_LAB_DIR is set.
NSP=${KW_LAB_NS:-kwlab}
if [ "$NSP" = kwlab ]; then export KW_LAB_DIR="${KW_LAB_DIR:-/tmp/krbwatch-lab}"
else export KW_LAB_DIR="${KW_LAB_DIR:-/tmp/krbwatch-lab-$NSP}"; fi
# with tests/lab/mysql_krb_peer the selfcheck has a ninth hop, login-mysql
HOPS=8
[ -x "$KW_TOP/tests/lab/mysql_krb_peer" ] && HOPS=9
LOG=$KW_TMP/lab.log
SC=$KW_TMP/selfcheck.out
T0=$(date +%s)

if [ -e "$KW_LAB_DIR/state" ] || ip netns list 2>/dev/null | grep -q "^$NSP-"; then
	not_ok "no lab is up before the test (one is: run $LAB down first)"
	exit 1
fi

lab_started=0
lab_teardown() {
	if [ "$lab_started" = 1 ]; then
		"$LAB" down >>"$LOG" 2>&1
		lab_started=0
	fi
	if [ "$KW_FAILED" -ne 0 ] && [ -s "$LOG" ]; then
		echo "# last lines of the lab's output:"
		tail -n 20 "$LOG" | sed 's/^/#   /'
	fi
}
at_exit lab_teardown

ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---------------------------------------------------------------------------------------------
# helpers over the selfcheck's "PASS|FAIL region hop detail" lines

selfcheck() { "$LAB" selfcheck >"$SC" 2>>"$LOG"; }
# first failing hop of a Region
first_fail() { awk -v r="$1" '$1 == "FAIL" && $2 == r { print $3; exit }' "$SC"; }
# PASS or FAIL of one hop
hop() { awk -v r="$1" -v h="$2" '$2 == r && $3 == h { print $1; exit }' "$SC"; }
# the hops of a Region that failed, space separated
fails() { awk -v r="$1" '$1 == "FAIL" && $2 == r { printf "%s%s", s, $3; s = " " }' "$SC"; }
detail() { awk -v r="$1" -v h="$2" '$2 == r && $3 == h { $1 = $2 = $3 = ""; sub(/^ +/, ""); print; exit }' "$SC"; }
region_passes() { [ -z "$(fails "$1")" ] && [ "$(grep -c "^PASS $1 " "$SC")" -ge 8 ]; }
detail_has() { detail "$1" "$2" | grep -qi -- "$3"; }
show_sc() { sed 's/^/#   /' "$SC"; }

# check_region_ok WHAT REGION
check_region_ok() {
	if region_passes "$2"; then ok "$1"; else not_ok "$1"; grep " $2 " "$SC" | sed 's/^/#   /'; fi
}
# check_first_fail WHAT REGION HOP: HOP is the Region's first failing hop
check_first_fail() {
	check_eq "$1" "$3" "$(first_fail "$2")"
}
# check_only_fails WHAT REGION "HOPS": exactly these hops fail
check_only_fails() {
	check_eq "$1" "$3" "$(fails "$2")"
}

inject() {
	if "$LAB" fault "$@" >>"$LOG" 2>&1; then
		selfcheck
		return 0
	fi
	not_ok "fault $* injected"
	return 1
}

# heal_ok NAME: heal, and every hop of both Regions passes again
heal_ok() {
	if ! "$LAB" heal >>"$LOG" 2>&1; then not_ok "$1: heal"; return; fi
	if selfcheck && region_passes $E && region_passes $W; then
		ok "$1: heal restores every hop in both Regions"
	else
		not_ok "$1: heal restores every hop in both Regions"
		show_sc
	fi
}

# ---------------------------------------------------------------------------------------------
# up

t=$(ms)
if "$LAB" up >>"$LOG" 2>&1; then
	lab_started=1
	up_ms=$(( $(ms) - t ))
	ok "lab up ($up_ms ms)"
else
	lab_started=1
	not_ok "lab up"
	exit 1
fi
check "lab up takes under 15 s ($up_ms ms)" [ "$up_ms" -lt 15000 ]

if "$LAB" up >>"$LOG" 2>&1; then not_ok "a second lab up is refused"; else ok "a second lab up is refused"; fi

eval "$("$LAB" env)"
check "lab env names the generated krbwatch.yml" [ -s "$KW_LAB_CONFIG" ]
check "krbwatch.yml covers both Regions" grep -q "^  $W:" "$KW_LAB_CONFIG"
check "the monitoring keytab is mode 600" [ "$(stat -c %a "$KW_LAB_KEYTAB")" = 600 ]
check "the client namespace has the Region's resolver" \
	sh -c "\"$LAB\" exec $E cat /etc/resolv.conf | grep -q \"^nameserver $KW_LAB_USE1_DC1\""
# the one client namespace that krbwatch uses reaches the other Region's KDCs
check "the client namespace reaches $W's KDC (TCP 88)" \
	ip netns exec "$KW_LAB_NS_CLIENT" timeout 2 bash -c "exec 3<>/dev/tcp/$KW_LAB_USW2_DC1/88"

t=$(ms)
if selfcheck; then ok "selfcheck: every hop passes ($(( $(ms) - t )) ms)"; else not_ok "selfcheck: every hop passes"; show_sc; fi
check_eq "selfcheck prints $HOPS hops per Region" $((2 * HOPS)) "$(grep -c "^PASS " "$SC")"
check "the $E TGS is served by a referral from the user realm" detail_has $E service_ticket "referral"
check "the $W resolver names $W's DCs" detail_has $W dns "usw2-dc1"

# ---------------------------------------------------------------------------------------------
# faults

n="kdc-down $E"
if inject kdc-down $E; then
	check_first_fail "$n: $E fails first at kdc" $E kdc
	check_eq "$n: $E service_ticket fails" FAIL "$(hop $E service_ticket)"
	check_eq "$n: $E tgt still passes (on-prem KDCs are up)" PASS "$(hop $E tgt)"
	check_region_ok "$n: $W keeps passing" $W
	check "$n: status shows the fault" sh -c "\"$LAB\" status | grep -q '^  kdc-down $E'"
fi
heal_ok "$n"

n="kdc-down onprem-dc1"
if inject kdc-down onprem-dc1; then
	check_only_fails "$n: only the kdc hop fails in $E" $E kdc
	check_only_fails "$n: only the kdc hop fails in $W" $W kdc
	check "$n: the kdc hop names onprem-dc1" detail_has $W kdc "onprem-dc1/udp:unreachable"
fi
heal_ok "$n"

n="blackhole $W 88"
if inject blackhole $W 88; then
	check_first_fail "$n: $W fails first at kdc" $W kdc
	check "$n: a drop is a timeout, not a refusal" detail_has $W kdc "usw2-dc1/udp:timeout"
	check_eq "$n: $W service_ticket fails" FAIL "$(hop $W service_ticket)"
	check_region_ok "$n: $E keeps passing" $E
fi
heal_ok "$n"

n="blackhole $E 464"
if inject blackhole $E 464; then
	check_only_fails "$n: only kpasswd fails in $E" $E kpasswd
	check_region_ok "$n: $W keeps passing" $W
fi
heal_ok "$n"

# a scenario per fault, alike in shape: each injects its fault, checks what it breaks
n="dns-down $W"
if inject dns-down $W; then
	check_first_fail "$n: $W fails first at dns" $W dns
	check_eq "$n: $W kdc still passes" PASS "$(hop $W kdc)"
	check_region_ok "$n: $E keeps passing" $E
fi
heal_ok "$n"

n="dns-down onprem"
if inject dns-down onprem; then
	check_first_fail "$n: $E fails first at dns" $E dns
	check_first_fail "$n: $W fails first at dns" $W dns
	check "$n: the missing records are on-prem ones" detail_has $E dns "onprem.example.com"
fi
heal_ok "$n"

n="trust-broken $E"
if inject trust-broken $E; then
	check_first_fail "$n: $E fails first at service_ticket" $E service_ticket
	check "$n: the KDC says PROCESS_TGS" detail_has $E service_ticket "PROCESS_TGS"
	check_eq "$n: $E referral (on-prem side) still passes" PASS "$(hop $E referral)"
	check_region_ok "$n: $W keeps passing (its copy of the key is right)" $W
fi
heal_ok "$n"

n="trust-broken all"
if inject trust-broken all; then
	check_first_fail "$n: $E fails first at service_ticket" $E service_ticket
	check_first_fail "$n: $W fails first at service_ticket" $W service_ticket
fi
heal_ok "$n"

n="spn-key-rotated $E"
if inject spn-key-rotated $E mariadb; then
	check_only_fails "$n: only login-mariadb fails in $E" $E login-mariadb
	check "$n: the server cannot find the new kvno" detail_has $E login-mariadb "Cannot find key"
	check_region_ok "$n: $W keeps passing" $W
fi
heal_ok "$n"

n="db-down $W postgres"
if inject db-down $W postgres; then
	check_only_fails "$n: only login-postgres fails in $W" $W login-postgres
	check_region_ok "$n: $E keeps passing" $E
fi
heal_ok "$n"

n="clock-skew $W +900"
if inject clock-skew $W 900; then
	check_first_fail "$n: $W fails first at service_ticket" $W service_ticket
	check "$n: Clock skew too great" detail_has $W service_ticket "Clock skew"
	check_region_ok "$n: $E keeps passing" $E
fi
heal_ok "$n"

n="clock-skew onprem +900"
if inject clock-skew onprem 900; then
	check_eq "$n: the TGT still comes (kdc_timesync)" "PASS PASS" "$(hop $E tgt) $(hop $W tgt)"
	check_first_fail "$n: $E fails first at service_ticket" $E service_ticket
	check_first_fail "$n: $W fails first at service_ticket" $W service_ticket
	check "$n: Ticket not yet valid" detail_has $W service_ticket "not yet valid"
fi
heal_ok "$n"

n="clock-skew db-$E +900"
if inject clock-skew "db-$E" 900; then
	check_only_fails "$n: only login-mariadb fails in $E" $E login-mariadb
	check_region_ok "$n: $W keeps passing" $W
fi
heal_ok "$n"

n="principal-locked"
if inject principal-locked; then
	check_first_fail "$n: $E fails first at tgt" $E tgt
	check_first_fail "$n: $W fails first at tgt" $W tgt
	check "$n: the KDC revokes the client" detail_has $E tgt "revoked"
fi
heal_ok "$n"

n="rc4-trust"
if inject rc4-trust; then
	check_region_ok "$n: $E still passes" $E
	check_region_ok "$n: $W still passes" $W
	check "$n: the cross-realm TGT is RC4" detail_has $E referral "arcfour-hmac"
fi
heal_ok "$n"
check "$n: heal restores the AES trust key at kvno 1" \
	sh -c "grep '^PASS $E referral' '$SC' | grep -q 'kvno 1 .*aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96'"

# several faults at once, one heal
"$LAB" fault kdc-down onprem-dc2 >>"$LOG" 2>&1 && "$LAB" fault blackhole usw2-dc1 464 >>"$LOG" 2>&1 &&
	"$LAB" fault clock-skew use1-dc2 -600 >>"$LOG" 2>&1 && "$LAB" fault db-down $E all >>"$LOG" 2>&1
check_eq "four faults recorded" 4 "$("$LAB" status | grep -c '^  ')"
heal_ok "four faults"
check "heal is idempotent" sh -c "\"$LAB\" heal >>\"$LOG\" 2>&1"
check_eq "no fault left after heal" "faults: none" "$("$LAB" status | grep '^faults')"

# ---------------------------------------------------------------------------------------------
# down

pids=""
for f in "$KW_LAB_DIR"/pids/*.pid; do pids="$pids $(cat "$f")"; done
t=$(ms)
"$LAB" down >>"$LOG" 2>&1
rc=$?
down_ms=$(( $(ms) - t ))
lab_started=0
check_eq "lab down ($down_ms ms)" 0 "$rc"
check "lab down takes under 5 s ($down_ms ms)" [ "$down_ms" -lt 5000 ]
check_eq "no $NSP- namespace is left" "" "$(ip netns list | grep "^$NSP-")"
alive=""
for p in $pids; do pid_alive "$p" && alive="$alive $p"; done
check_eq "no recorded pid is alive" "" "$alive"
check "the runtime directory is gone" [ ! -e "$KW_LAB_DIR" ]
check "lab down again is harmless" sh -c "\"$LAB\" down >>\"$LOG\" 2>&1"
echo "# t_lab.sh took $(( $(date +%s) - T0 )) s"
