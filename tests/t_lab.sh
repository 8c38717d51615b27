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

# scenario NAME FAULT...: inject the fault, walk the table on stdin (what the selfcheck must
# show, one check per line, in order, fields split at "|"), then heal_ok.  A line is one of
#   first|REGION|HOP                the Region's first failing hop is HOP
#   only|REGION|HOPS|WORDS          exactly these hops of the Region fail
#   hop|REGIONS|HOP|STATES|WORDS    HOP's PASS or FAIL in each Region (space separated)
#   detail|REGION|HOP|TEXT|WORDS    HOP's detail holds TEXT (case aside)
#   ok|REGION|WORDS                 every hop of the Region passes
#   status|TEXT|WORDS               `lab status` lists the fault TEXT
scenario() {
	_n=$1; shift
	_t=$(cat)
	if inject "$@"; then
		while IFS='|' read -r _k _r _a _b _w <&3; do
			case $_k in
			first) check_first_fail "$_n: $_r fails first at $_a" "$_r" "$_a" ;;
			only) check_only_fails "$_n: $_b" "$_r" "$_a" ;;
			hop)
				_v=""
				for _x in $_r; do _v="${_v:+$_v }$(hop "$_x" "$_a")"; done
				check_eq "$_n: $_w" "$_b" "$_v" ;;
			detail) check "$_n: $_w" detail_has "$_r" "$_a" "$_b" ;;
			ok) check_region_ok "$_n: $_a" "$_r" ;;
			status) check "$_n: $_a" sh -c "\"\$0\" status | grep -q \"^  \$1\"" "$LAB" "$_r" ;;
			*) not_ok "$_n: a scenario line reads: $_k|$_r|$_a|$_b|$_w" ;;
			esac
		done 3<<EOT
$_t
EOT
	fi
	heal_ok "$_n"
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

scenario "kdc-down $E" kdc-down $E <<EOS
first|$E|kdc
hop|$E|service_ticket|FAIL|$E service_ticket fails
hop|$E|tgt|PASS|$E tgt still passes (on-prem KDCs are up)
ok|$W|$W keeps passing
status|kdc-down $E|status shows the fault
EOS
scenario "kdc-down onprem-dc1" kdc-down onprem-dc1 <<EOS
only|$E|kdc|only the kdc hop fails in $E
only|$W|kdc|only the kdc hop fails in $W
detail|$W|kdc|onprem-dc1/udp:unreachable|the kdc hop names onprem-dc1
EOS
scenario "blackhole $W 88" blackhole $W 88 <<EOS
first|$W|kdc
detail|$W|kdc|usw2-dc1/udp:timeout|a drop is a timeout, not a refusal
hop|$W|service_ticket|FAIL|$W service_ticket fails
ok|$E|$E keeps passing
EOS
scenario "blackhole $E 464" blackhole $E 464 <<EOS
only|$E|kpasswd|only kpasswd fails in $E
ok|$W|$W keeps passing
EOS
scenario "dns-down $W" dns-down $W <<EOS
first|$W|dns
hop|$W|kdc|PASS|$W kdc still passes
ok|$E|$E keeps passing
EOS
scenario "dns-down onprem" dns-down onprem <<EOS
first|$E|dns
first|$W|dns
detail|$E|dns|onprem.example.com|the missing records are on-prem ones
EOS
scenario "trust-broken $E" trust-broken $E <<EOS
first|$E|service_ticket
detail|$E|service_ticket|PROCESS_TGS|the KDC says PROCESS_TGS
hop|$E|referral|PASS|$E referral (on-prem side) still passes
ok|$W|$W keeps passing (its copy of the key is right)
EOS
scenario "trust-broken all" trust-broken all <<EOS
first|$E|service_ticket
first|$W|service_ticket
EOS
scenario "spn-key-rotated $E" spn-key-rotated $E mariadb <<EOS
only|$E|login-mariadb|only login-mariadb fails in $E
detail|$E|login-mariadb|Cannot find key|the server cannot find the new kvno
ok|$W|$W keeps passing
EOS
scenario "db-down $W postgres" db-down $W postgres <<EOS
only|$W|login-postgres|only login-postgres fails in $W
ok|$E|$E keeps passing
EOS
scenario "clock-skew $W +900" clock-skew $W 900 <<EOS
first|$W|service_ticket
detail|$W|service_ticket|Clock skew|Clock skew too great
ok|$E|$E keeps passing
EOS
scenario "clock-skew onprem +900" clock-skew onprem 900 <<EOS
hop|$E $W|tgt|PASS PASS|the TGT still comes (kdc_timesync)
first|$E|service_ticket
first|$W|service_ticket
detail|$W|service_ticket|not yet valid|Ticket not yet valid
EOS
scenario "clock-skew db-$E +900" clock-skew "db-$E" 900 <<EOS
only|$E|login-mariadb|only login-mariadb fails in $E
ok|$W|$W keeps passing
EOS
scenario "principal-locked" principal-locked <<EOS
first|$E|tgt
first|$W|tgt
detail|$E|tgt|revoked|the KDC revokes the client
EOS
n="rc4-trust"
scenario "$n" rc4-trust <<EOS
ok|$E|$E still passes
ok|$W|$W still passes
detail|$E|referral|arcfour-hmac|the cross-realm TGT is RC4
EOS
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
check_eq "no $NSP- namespace is left" "" "$(ip netns list | grep "^$NSP-")"
alive=""
for p in $pids; do pid_alive "$p" && alive="$alive $p"; done
check_eq "no recorded pid is alive" "" "$alive"
check "the runtime directory is gone" [ ! -e "$KW_LAB_DIR" ]
check "lab down again is harmless" sh -c "\"$LAB\" down >>\"$LOG\" 2>&1"
echo "# t_lab.sh took $(( $(date +%s) - T0 )) s"
