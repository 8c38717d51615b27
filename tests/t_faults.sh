#!/bin/sh
# krbwatch against the lab, with real faults: what each one changes in /metrics and on the status
# page, and what it leaves alone.
#
# One lab (namespaces tfa-*), one krbwatch in the us-east-1 client namespace watching both
# Regions every second.  For each fault: inject it, wait until every probe of both Regions has
# run twice since (no sleeps: the probes' own run counters), then assert the series a user would
# look at — the hop, its reason, the KDC or resolver — and that the other Region's series did not
# move; heal, and wait until both Regions are healthy again.  Covers the DNS and KDC probes
# (issue 4), the chain (issue 5) and the logins (issue 6).

. "$(dirname "$0")/lib.sh"

. "$KW_TOP/tests/lab_session.sh"
M=$KW_TMP/metrics
B=$KW_TMP/before

# Every second, a short deadline: a fault shows within a few seconds.
lab_session "${KW_FAULTS_NS:-tfa}" 1s 900ms

# A real webhook receiver in the client namespace: krbwatch posts its alerts there.
HOOKS=$KW_TMP/hooks
mkdir -p "$HOOKS"
"$LAB" exec $E python3 "$KW_TOP/tests/alert_receiver.py" "$HOOKS" >/dev/null 2>&1 &
recv_pid=$!
stop_receiver() { kill "$recv_pid" 2>/dev/null; }
at_exit stop_receiver
wait_for 10 test -s "$HOOKS/port"
TOKEN=$KW_TMP/hook.token
echo "kw-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$TOKEN"
chmod 600 "$TOKEN"
printf '  webhooks:\n    - url: http://127.0.0.1:%s/hook\n      bearer_token_file: %s\n' \
	"$(cat "$HOOKS/port")" "$TOKEN" >>"$CONF"

"$LAB" exec $E "$KW_BIN" -c "$CONF" -v 2>"$KWLOG" &
kw_pid=$!

get() { "$LAB" exec $E curl -fsS --max-time 3 "http://$KW_LAB_LISTEN$1"; }
snap() { get /metrics >"$1.new" 2>/dev/null && mv "$1.new" "$1"; }
# v SERIES [FILE]: the value of one series, exactly as written
v() { awk -v s="$1" 'index($0, s " ") == 1 { print $2 }' "${2:-$M}"; }
# series matching a grep -E pattern, "name{labels} value" lines
sel() { grep -E "$1" "${2:-$M}"; }
runs() { v "krbwatch_probe_runs_total{aws_region=\"$1\",probe=\"$2\"}" "${3:-$M}"; }

check "krbwatch becomes ready in the lab (every probe ran once)" wait_for 20 get /-/ready

# settle: every probe of both Regions has completed two runs that began after now.
settle() {
	snap "$B"
	_want=""
	for r in $E $W; do for p in dns kdc chain; do
		_want="$_want $r $p $(( $(runs $r $p "$B") + 2 ))"
	done; done
	# shellcheck disable=SC2086
	wait_for 30 settled $_want
	snap "$M"
}
settled() {
	snap "$M" || return 1
	while [ $# -ge 3 ]; do
		[ "$(runs "$1" "$2")" -ge "$3" ] 2>/dev/null || return 1
		shift 3
	done
}

# hops_ok REGION: every hop of every cluster of REGION succeeded, and the Region is up
hops_ok() {
	[ "$(v "krbwatch_region_auth_up{aws_region=\"$1\"}")" = 1 ] &&
	[ "$(sel "^krbwatch_hop_success\\{aws_region=\"$1\"" | grep -c ' 1$')" -eq 12 ] &&
	! sel "^krbwatch_hop_success\\{aws_region=\"$1\"" | grep -q ' 0$'
}
# failures REGION FILE: the Region's failure counters, all kinds, as "series value" lines
failures() { grep -E "^krbwatch_[a-z_]*failures_total\\{aws_region=\"$1\"" "$2" | sort; }

# untouched REGION WHAT: the Region's hops all pass and no failure counter of it moved
untouched() {
	if hops_ok "$1" && [ "$(failures "$1" "$B")" = "$(failures "$1" "$M")" ]; then
		ok "$2: $1 untouched"
	else
		not_ok "$2: $1 untouched"
		diff "$B" "$M" | grep "aws_region=\"$1\"" | grep -E 'failures_total|success.* 0$' | head -n 8 | sed 's/^/#   /'
	fi
}
# hop REGION CLUSTER HOP: the hop_success value
hop() { v "krbwatch_hop_success{aws_region=\"$1\",db_cluster=\"$2\",hop=\"$3\"}"; }
# grew REGION CLUSTER HOP REASON: that hop failed with that reason since the snapshot before
grew() {
	_s="krbwatch_hop_failures_total{aws_region=\"$1\",db_cluster=\"$2\",hop=\"$3\",reason=\"$4\"}"
	[ "$(v "$_s")" -gt "$(v "$_s" "$B" | grep . || echo 0)" ] 2>/dev/null
}
# check_hop WHAT REGION CLUSTER HOP REASON: the hop fails now, with that reason
check_hop() {
	if [ "$(hop "$2" "$3" "$4")" = 0 ] && grew "$2" "$3" "$4" "$5"; then ok "$1"; else
		not_ok "$1"
		sel "^krbwatch_hop_(success|failures_total)\\{aws_region=\"$2\",db_cluster=\"$3\"" | sed 's/^/#   /'
	fi
}
# the clusters of a Region, and a check over all of them
clusters() { case $1 in $E) echo "mariadb-use1 postgres-use1 mysql-use1" ;; *) echo "mariadb-usw2 postgres-usw2 mysql-usw2" ;; esac; }
check_hop_all() {
	for _c in $(clusters "$2"); do check_hop "$1 ($_c)" "$2" "$_c" "$3" "$4"; done
}

# kprobe ARGS: krbwatch probe in the client namespace; output in $KW_TMP/probe.out, exit in $prc
kprobe() {
	"$LAB" exec $E "$KW_BIN" probe -c "$CONF" "$@" >"$KW_TMP/probe.out" 2>"$KW_TMP/probe.err"
	prc=$?
}
probe_has() { grep -qF -- "$1" "$KW_TMP/probe.out"; }
json_q() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$KW_TMP/probe.out"; }

# hooks_since N: the webhook bodies after the Nth, one line each:
# "status aws_region db_cluster hop reason" (db_cluster "-" for the Region as a whole)
hooks_count() { ls "$HOOKS" | grep -c '\.json$'; }
hooks_since() {
	python3 - "$HOOKS" "$1" <<'EOP'
import json, os, sys
d, n = sys.argv[1], int(sys.argv[2])
for f in sorted(x for x in os.listdir(d) if x.endswith(".json"))[n:]:
    for a in json.load(open(os.path.join(d, f)))["alerts"]:
        l = a["labels"]
        print(a["status"], l.get("aws_region"), l.get("db_cluster", "-"), l.get("hop", "-"), l.get("reason", "-"))
EOP
}

# The lab's own words go to its log, and, when it could not do what was asked, to the test's
# output too: the log is gone with the test's temporary directory, and CI shows only the output.
lab_do() {
	"$LAB" "$@" >"$KW_TMP/lab_do.out" 2>&1
	rc=$?
	cat "$KW_TMP/lab_do.out" >>"$LOG"
	[ $rc -eq 0 ] || sed "s/^/# lab $1: /" "$KW_TMP/lab_do.out"
	return $rc
}
inject() {
	if lab_do fault "$@"; then settle; return 0; fi
	not_ok "fault $* injected"; return 1
}
heal() {
	lab_do heal || not_ok "$1: heal"
	if wait_for "${2:-30}" healthy_now; then
		ok "$1: both Regions healthy again after heal"
	else
		not_ok "$1: both Regions healthy again after heal"
		sel '^krbwatch_(hop_success|region_auth_up).* 0$' | head -n 6 | sed 's/^/#   /'
	fi
}
healthy_now() { settle >/dev/null 2>&1 && hops_ok $E && hops_ok $W; }

# scenario NAME FAULT...: inject the fault, walk the table on stdin (what the fault must break
# and what it must leave alone, one check per line, in order), heal.  A line is one of
#   fails REGION HOP REASON            that hop of every cluster of REGION fails with REASON
#   fails1 REGION CLUSTER HOP REASON   that hop of one cluster fails with REASON
#   hop REGION CLUSTER HOP VALUE WORDS the hop's success is VALUE (0 or 1); WORDS name the check
#   up REGION WORDS                    every hop of REGION passes; WORDS name the check
#   untouched REGION                   REGION's hops pass and none of its failure counters moved
scenario() {
	_n=$1; shift
	_t=$(cat)
	if inject "$@"; then
		while read -r _k _r _a _b _c _w <&3; do
			case $_k in
			fails) check_hop_all "$_n: $_r $_a fails with $_b" "$_r" "$_a" "$_b" ;;
			fails1) check_hop "$_n: $_a $_b fails with $_c" "$_r" "$_a" "$_b" "$_c" ;;
			hop) check_eq "$_n: $_w" "$_c" "$(hop "$_r" "$_a" "$_b")" ;;
			up) check "$_n: $_a${_b:+ $_b}${_c:+ $_c}${_w:+ $_w}" hops_ok "$_r" ;;
			untouched) untouched "$_r" "$_n" ;;
			*) not_ok "$_n: a scenario line reads: $_k $_r $_a $_b $_c $_w" ;;
			esac
		done 3<<EOT
$_t
EOT
	fi
	heal "$_n"
}

# ---------------------------------------------------------------------------------------------
# healthy

settle
for r in $E $W; do
	check_eq "healthy: $r authentication is up" 1 "$(v "krbwatch_region_auth_up{aws_region=\"$r\"}")"
	check "healthy: every hop of $r's 3 clusters succeeds (tgt, referral, service_ticket, login)" hops_ok $r
	check_eq "healthy: every DNS lookup of $r succeeds" "" \
		"$(sel "^krbwatch_dns_lookup_success\\{aws_region=\"$r\"" | grep -v ' 1$')"
	check "healthy: $r resolves 21 names through each of its 2 resolvers" \
		[ "$(sel "^krbwatch_dns_lookup_success\\{aws_region=\"$r\"" | grep -c ' 1$')" -eq 42 ]
	check_eq "healthy: all 16 KDC endpoints of $r are up (4 DCs x udp/tcp x 88/464)" 16 \
		"$(sel "^krbwatch_kdc_up\\{aws_region=\"$r\"" | grep -c ' 1$')"
	check "healthy: $r's KDC round trips are plausible (0 < rtt < 0.5 s)" \
		awk -v r="$r" 'index($0, "krbwatch_kdc_rtt_seconds{aws_region=\"" r "\"") == 1 { n++; if ($2 <= 0 || $2 >= 0.5) bad++ }
			END { exit !(n == 16 && bad == 0) }' "$M"
	check "healthy: $r's KDC clocks agree with ours within 2 s" \
		awk -v r="$r" 'index($0, "krbwatch_kdc_clock_skew_seconds{aws_region=\"" r "\"") == 1 { n++; if ($2 > 2 || $2 < -2) bad++ }
			END { exit !(n == 4 && bad == 0) }' "$M"
	check_eq "healthy: $r's referral ticket is aes256" 1 \
		"$(v "krbwatch_ticket_enctype_info{aws_region=\"$r\",db_cluster=\"$(clusters $r | cut -d' ' -f1)\",hop=\"referral\",enctype=\"aes256-cts-hmac-sha1-96\"}")"
done
check_eq "healthy: the referral kvno is the same in both Regions" \
	"$(v "krbwatch_ticket_kvno{aws_region=\"$E\",db_cluster=\"mariadb-use1\",hop=\"referral\"}")" \
	"$(v "krbwatch_ticket_kvno{aws_region=\"$W\",db_cluster=\"mariadb-usw2\",hop=\"referral\"}")"
check_eq "healthy: the monitoring principal is not backing off" 0 "$(v krbwatch_identity_backoff_seconds)"
check_eq "healthy: the SPN and realm the MySQL peer announces are exported" 1 \
	"$(v "krbwatch_login_announced_spn_info{aws_region=\"$E\",db_cluster=\"mysql-use1\",spn=\"mysql/$KW_LAB_USE1_MYSQL_HOST@$KW_LAB_REALM_DB\",realm=\"$KW_LAB_REALM_USER\"}")"
check_eq "healthy: ... and the SPN MariaDB announces" 1 \
	"$(sel "^krbwatch_login_announced_spn_info\\{aws_region=\"$W\",db_cluster=\"mariadb-usw2\",spn=\"mariadb/$KW_LAB_USW2_DB_HOST@$KW_LAB_REALM_DB\"" | wc -l)"
check "healthy: the status page says both Regions are ok" sh -c \
	"\"$LAB\" exec $E curl -fsS http://$KW_LAB_LISTEN/ | grep -q '<p>$E: ok; $W: ok</p>'"

check "healthy: every series of the lab's /metrics passes promtool check metrics" sh -c \
	"promtool check metrics <'$M' >'$KW_TMP/promtool.out' 2>&1" || sed 's/^/#   /' "$KW_TMP/promtool.out"

kprobe
check_eq "krbwatch probe, healthy: exit 0" 0 "$prc"
check "krbwatch probe, healthy: says every step passed" probe_has "every step passed"
check "krbwatch probe, healthy: lists each cluster's hops" sh -c \
	"grep -c -E '^  ok +(mariadb|postgres|mysql)-us(e1|w2) (referral path|service_ticket|login) ' '$KW_TMP/probe.out' | grep -qx 18"
kprobe --json
check_eq "krbwatch probe --json, healthy: ok is true for both Regions" "True True True" \
	"$(json_q '" ".join(str(x) for x in [d["ok"]] + [r["ok"] for r in d["regions"]])')"
# The user realm alone (no database realm, so no cluster): the chain checks the TGT and ends.
# The site is the on-prem one: the Region's name is a site of the database domain only.
cat >"$KW_TMP/user-only.yml" <<EOC
listen: $KW_LAB_LISTEN
identity: { principal: $KW_LAB_PRINCIPAL, keytab: $KW_LAB_KEYTAB }
realms:
  $KW_LAB_REALM_USER:
    domain: $(echo "$KW_LAB_REALM_USER" | tr A-Z a-z)
    kdcs: [$KW_LAB_ONPREM_DC1, $KW_LAB_ONPREM_DC2]
regions:
  $E: { site: Default-First-Site-Name, resolvers: [$(echo $KW_LAB_USE1_RESOLVERS | tr ' ' ',')] }
EOC
"$LAB" exec $E "$KW_BIN" probe -c "$KW_TMP/user-only.yml" >"$KW_TMP/probe.out" 2>"$KW_TMP/probe.err"
check_eq "krbwatch probe, the user realm alone: exit 0" 0 "$?"
check "krbwatch probe, the user realm alone: the TGT passed, and nothing was asked for another realm" sh -c \
	"grep -qE '^  ok +tgt ' '$KW_TMP/probe.out' && ! grep -qE 'referral|service_ticket' '$KW_TMP/probe.out'" ||
	sed 's/^/#   /' "$KW_TMP/probe.out" "$KW_TMP/probe.err"
kprobe --region nowhere
check_eq "krbwatch probe --region nowhere: exit 2" 2 "$prc"
check "krbwatch probe --region nowhere: says so" grep -q 'no Region "nowhere"' "$KW_TMP/probe.err"

# ---------------------------------------------------------------------------------------------
# DNS and KDC probes (issue 4)

n="one Region KDC down (kdc-down use1-dc2)"
if inject kdc-down use1-dc2; then
	for p in udp tcp; do
		check_eq "$n: kdc_up 0 for 10.211.0.12 $p/88" 0 \
			"$(v "krbwatch_kdc_up{aws_region=\"$E\",realm=\"$KW_LAB_REALM_DB\",kdc=\"$KW_LAB_USE1_DC2\",proto=\"$p\",port=\"88\"}")"
		check "$n: counted as refused on $p/88 (a process down, not dropped packets)" [ \
			"$(v "krbwatch_kdc_failures_total{aws_region=\"$E\",realm=\"$KW_LAB_REALM_DB\",kdc=\"$KW_LAB_USE1_DC2\",proto=\"$p\",port=\"88\",reason=\"refused\"}")" -gt 0 ]
	done
	check_eq "$n: kpasswd on that DC is still up (udp/464)" 1 \
		"$(v "krbwatch_kdc_up{aws_region=\"$E\",realm=\"$KW_LAB_REALM_DB\",kdc=\"$KW_LAB_USE1_DC2\",proto=\"udp\",port=\"464\"}")"
	check_eq "$n: exactly 2 of $E's 16 KDC endpoints are down" 2 \
		"$(sel "^krbwatch_kdc_up\\{aws_region=\"$E\"" | grep -c ' 0$')"
	check "$n: the chain fails over to dc1: $E still authenticates" hops_ok $E
	untouched $W "$n"
fi
heal "$n"

n="one DC blackholed (blackhole use1-dc1)"
if inject blackhole use1-dc1; then
	check_eq "$n: kdc_up 0 for 10.211.0.11 udp/88" 0 \
		"$(v "krbwatch_kdc_up{aws_region=\"$E\",realm=\"$KW_LAB_REALM_DB\",kdc=\"$KW_LAB_USE1_DC1\",proto=\"udp\",port=\"88\"}")"
	check "$n: counted as timeout (dropped, not refused)" [ \
		"$(v "krbwatch_kdc_failures_total{aws_region=\"$E\",realm=\"$KW_LAB_REALM_DB\",kdc=\"$KW_LAB_USE1_DC1\",proto=\"udp\",port=\"88\",reason=\"timeout\"}")" -gt 0 ]
	check "$n: the chain fails over to dc2 within the deadline" hops_ok $E
	check "$n: $W's KDC probe keeps its normal latency (< 0.3 s)" awk -v w="$W" \
		'index($0, "krbwatch_probe_duration_seconds{aws_region=\"" w "\",probe=\"kdc\"}") == 1 { f = 1; if ($2 >= 0.3) exit 1 } END { exit !f }' "$M"
	check "$n: ... and its cadence (runs went on while $E's KDC waited)" \
		[ "$(( $(runs $W kdc) - $(runs $W kdc "$B") ))" -ge 2 ]
	untouched $W "$n"
fi
heal "$n"

n="a Region's site blackholed (blackhole use1)"
if inject blackhole use1; then
	check_eq "$n: all 4 of $E's port-88 endpoints time out" 4 \
		"$(sel "^krbwatch_kdc_up\\{aws_region=\"$E\",realm=\"$KW_LAB_REALM_DB\".*port=\"88\"" | grep -c ' 0$')"
	check_hop_all "$n: $E service_ticket fails with timeout" $E service_ticket timeout
	check_eq "$n: $E tgt still succeeds (on-prem is reachable)" 1 "$(hop $E mariadb-use1 tgt)"
	check "$n: the failing hop ends within the deadline (<= 0.95 s)" awk \
		'index($0, "krbwatch_hop_duration_seconds{aws_region=\"us-east-1\",db_cluster=\"mariadb-use1\",hop=\"service_ticket\"}") == 1 { f = 1; if ($2 > 0.95) exit 1 } END { exit !f }' "$M"
	check_eq "$n: $E authentication is down" 0 "$(v "krbwatch_region_auth_up{aws_region=\"$E\"}")"
	check "$n: the status page names the first failing hop" sh -c \
		"\"$LAB\" exec $E curl -fsS http://$KW_LAB_LISTEN/ | grep -E '<p>$E: [^;]*service_ticket' >/dev/null"
	untouched $W "$n"
fi
heal "$n"

n="a Region's resolvers down (dns-down us-east-1)"
if inject dns-down us-east-1; then
	check_eq "$n: every lookup through $E's resolvers fails" 0 \
		"$(sel "^krbwatch_dns_lookup_success\\{aws_region=\"$E\"" | grep -c ' 1$')"
	check "$n: with reason refused" [ "$(sel "^krbwatch_dns_lookup_failures_total\\{aws_region=\"$E\".*reason=\"refused\"" | wc -l)" -eq 42 ]
	check_eq "$n: $E logins fail (the database names do not resolve)" 0 "$(v "krbwatch_region_auth_up{aws_region=\"$E\"}")"
	check_eq "$n: $E's Kerberos hops still pass (KDCs are configured by address)" 1 "$(hop $E mariadb-use1 service_ticket)"
	untouched $W "$n"
	check_eq "$n: every lookup of $W still succeeds" "" \
		"$(sel "^krbwatch_dns_lookup_success\\{aws_region=\"$W\"" | grep -v ' 1$')"
fi
heal "$n"

n="on-prem DNS down (dns-down onprem)"
if inject dns-down onprem; then
	for r in $E $W; do
		check "$n: $r's lookups of onprem.example.com fail with servfail" [ \
			"$(sel "^krbwatch_dns_lookup_success\\{aws_region=\"$r\",[^}]*name=\"[^\"]*onprem.example.com\"" | grep -c ' 0$')" -gt 0 ]
		check_eq "$n: ... and $r's lookups of awsmad.kerberos.com succeed" "" \
			"$(sel "^krbwatch_dns_lookup_success\\{aws_region=\"$r\",[^}]*name=\"[^\"]*awsmad.kerberos.com\"" | grep -v ' 1$')"
		check "$n: $r still authenticates (nothing in the path needs on-prem DNS)" hops_ok $r
	done
fi
heal "$n"

n="a Region KDC's clock skewed (clock-skew use1-dc1 600)"
if inject clock-skew use1-dc1 600; then
	check "$n: kdc_clock_skew_seconds of 10.211.0.11 is about 600" awk -v s="krbwatch_kdc_clock_skew_seconds{aws_region=\"$E\",realm=\"$KW_LAB_REALM_DB\",kdc=\"$KW_LAB_USE1_DC1\"}" \
		'index($0, s " ") == 1 { f = 1; if ($2 < 595 || $2 > 605) exit 1 } END { exit !f }' "$M"
	check "$n: ... and of 10.211.0.12 about 0" awk -v s="krbwatch_kdc_clock_skew_seconds{aws_region=\"$E\",realm=\"$KW_LAB_REALM_DB\",kdc=\"$KW_LAB_USE1_DC2\"}" \
		'index($0, s " ") == 1 { f = 1; if ($2 < -2 || $2 > 2) exit 1 } END { exit !f }' "$M"
	check_hop_all "$n: $E service_ticket fails with clock_skew" $E service_ticket clock_skew
	untouched $W "$n"
fi
heal "$n"

# ---------------------------------------------------------------------------------------------
# the chain (issue 5)

scenario "on-prem KDCs down (kdc-down onprem)" kdc-down onprem <<EOS
fails $E tgt refused
fails $W tgt refused
hop $W mariadb-usw2 referral 0 no later hop is reported as passing ($W referral)
EOS
scenario "one on-prem DC down (kdc-down onprem-dc1)" kdc-down onprem-dc1 <<EOS
up $E $E authenticates through dc2
up $W $W authenticates through dc2
EOS
scenario "trust broken everywhere (trust-broken all)" trust-broken all <<EOS
fails $E service_ticket trust_key
fails $W service_ticket trust_key
hop $E mariadb-use1 referral 1 the referral itself is still issued by on-prem
EOS

n="trust broken in $W's copy only (trust-broken us-west-2)"
h0=$(hooks_count)
if inject trust-broken us-west-2; then
	check_hop_all "$n: $W service_ticket fails with trust_key" $W service_ticket trust_key
	check_eq "$n: $W authentication is down" 0 "$(v "krbwatch_region_auth_up{aws_region=\"$W\"}")"
	untouched $E "$n"
	kprobe
	check_eq "$n: krbwatch probe exits 1" 1 "$prc"
	check "$n: krbwatch probe names the failing step" probe_has "FAIL  mariadb-usw2 service_ticket"
	check "$n: ... and says what it means" probe_has "trust_key: the Region's KDC cannot decrypt the referral"
	check "$n: ... and what to check" probe_has "check: the trust in that Region's directory"
	check "$n: krbwatch probe still passes $E" probe_has "$E: every step passed"
	kprobe --json
	check_eq "$n: --json: $E ok, $W not, the failed step and reason" "True False mariadb-usw2 service_ticket trust_key" \
		"$(json_q '" ".join([str(d["regions"][0]["ok"]), str(d["regions"][1]["ok"]), [p for p in d["regions"][1]["probes"] if p["probe"] == "chain"][0]["failed_step"], [p for p in d["regions"][1]["probes"] if p["probe"] == "chain"][0]["reason"]])')"
	kprobe --region $E
	check_eq "$n: krbwatch probe --region $E exits 0" 0 "$prc"
	kprobe --cluster postgres-usw2
	check_eq "$n: krbwatch probe --cluster postgres-usw2 exits 1" 1 "$prc"
	check "$n: ... and probes only that cluster" sh -c "! grep -q mariadb-usw2 '$KW_TMP/probe.out' && grep -q 'FAIL  postgres-usw2 service_ticket' '$KW_TMP/probe.out'"
	# after_failures: 2 -- settle waited for two failed chains
	check "$n: webhook: $W fires, with hop service_ticket and reason trust_key" wait_for 10 sh -c \
		"[ \$(ls '$HOOKS' | grep -c '\\.json\$') -gt $h0 ]"
	hooks_since "$h0" >"$KW_TMP/hooks.out"
	check "$n: webhook: firing for the Region $W (service_ticket, trust_key)" \
		grep -qx "firing $W - service_ticket trust_key" "$KW_TMP/hooks.out"
	check "$n: webhook: firing for each of $W's clusters" \
		[ "$(grep -c "^firing $W [a-z]*-usw2 service_ticket trust_key$" "$KW_TMP/hooks.out")" -eq 3 ]
	check_eq "$n: webhook: nothing for the healthy Region $E" "" "$(grep " $E " "$KW_TMP/hooks.out")"
	h1=$(hooks_count)
fi
heal "$n"
if [ -n "${h1:-}" ]; then
	check "$n: webhook: $W resolved after the heal" wait_for 10 sh -c \
		"[ \$(ls '$HOOKS' | grep -c '\\.json\$') -ge $((h1 + 4)) ]"
	hooks_since "$h1" >"$KW_TMP/hooks.out"
	check "$n: webhook: resolved for the Region and its 3 clusters, with the labels it fired with" \
		[ "$(grep -c "^resolved $W .* service_ticket trust_key$" "$KW_TMP/hooks.out")" -eq 4 ]
	check_eq "$n: webhook: still nothing for $E" "" "$(grep " $E " "$KW_TMP/hooks.out")"
fi

n="a Region's KDCs down (kdc-down us-west-2)"
# What the KDCs themselves logged: every DC of the database realm holds every cluster's SPN (AD
# replicates them), so a us-west-2 chain that fell back to us-east-1 would get its tickets there
# and pass.  The KDC logs say which DC was asked for which SPN.
spn_asks() { cat "$KW_LAB_LOGS"/kdc-"$1"-dc*.log 2>/dev/null | grep -c "TGS_REQ .* for [a-z]*/[a-z]*-$2\."; }
check "$n: while healthy, $W's own DCs log TGS requests for $W's SPNs (so the count below can move)" \
	[ "$(spn_asks usw2 usw2)" -gt 0 ]
asks0=$(spn_asks use1 usw2)
if inject kdc-down us-west-2; then
	check_hop_all "$n: $W service_ticket fails with refused" $W service_ticket refused
	check_eq "$n: $E's DCs were never asked for a $W SPN (their KDC logs)" "$asks0" "$(spn_asks use1 usw2)"
	untouched $E "$n"
fi
heal "$n"

scenario "on-prem clock skewed (clock-skew onprem 600)" clock-skew onprem 600 <<EOS
hop $E mariadb-use1 tgt 1 tgt still succeeds (MIT corrects for the KDC's clock)
fails $E service_ticket ticket_not_yet_valid
fails $W service_ticket ticket_not_yet_valid
EOS

n="RC4-only trust (rc4-trust)"
if inject rc4-trust; then
	for r in $E $W; do
		c=$(clusters $r | cut -d' ' -f1)
		check_eq "$n: $r's referral ticket is arcfour-hmac" 1 \
			"$(v "krbwatch_ticket_enctype_info{aws_region=\"$r\",db_cluster=\"$c\",hop=\"referral\",enctype=\"arcfour-hmac\"}")"
		check_eq "$n: ... and only that enctype is exported for it" 1 \
			"$(sel "^krbwatch_ticket_enctype_info\\{aws_region=\"$r\",db_cluster=\"$c\",hop=\"referral\"" | wc -l)"
	done
fi
heal "$n"

n="monitoring principal locked out (principal-locked)"
if inject principal-locked; then
	check_hop_all "$n: $E tgt fails with client_revoked" $E tgt client_revoked
	check_hop_all "$n: $W tgt fails with client_revoked (the Regions' alerts keep the reason)" $W tgt client_revoked
	check "$n: krbwatch holds the identity back (identity_backoff_seconds > 0)" [ "$(v krbwatch_identity_backoff_seconds | cut -d. -f1)" -gt 0 ]
	check "$n: and says so in its log" grep -q "client_revoked for $KW_LAB_PRINCIPAL: no AS exchange until the keytab changes" "$KWLOG"
	check "$n: runs held back say why on the status page" sh -c \
		"\"$LAB\" exec $E curl -fsS http://$KW_LAB_LISTEN/ | grep -q 'held back: the KDC answered client_revoked'"
	settle
	# (the KDC probe's AS-REQs without pre-authentication look the same in the KDC's log: the
	# KDC's own count is t_lockout's)
	check "$n: runs held back send no AS exchange at all: the tgt hop of every cluster took 0 s" awk \
		'/^krbwatch_hop_duration_seconds\{.*hop="tgt"\}/ { n++; if ($2 != 0) bad++ } END { exit !(n == 6 && bad == 0) }' "$M"
fi
# unlocked, krbwatch still holds back (the window is 30m) until a reload says "try again"
"$LAB" heal >>"$LOG" 2>&1 || not_ok "$n: heal"
settle
check "$n: after the heal, still held back: no retry before a reload" [ "$(v krbwatch_identity_backoff_seconds | cut -d. -f1)" -gt 0 ]
_n=$(grep -c ': reloaded ' "$KWLOG")
kill -HUP "$kw_pid"
wait_for 10 sh -c "[ \$(grep -c ': reloaded ' '$KWLOG') -gt $_n ]"
check "$n: a reload lifts the hold: both Regions healthy again" wait_for 30 healthy_now
check_eq "$n: no longer held back" 0 "$(v krbwatch_identity_backoff_seconds)"

# ---------------------------------------------------------------------------------------------
# the logins (issue 6)

n="a database down (db-down us-east-1 mariadb)"
if inject db-down us-east-1 mariadb; then
	check_hop "$n: mariadb-use1 login fails with refused" $E mariadb-use1 login refused
	check_eq "$n: krbwatch_login_success 0 for mariadb-use1" 0 "$(v "krbwatch_login_success{aws_region=\"$E\",db_cluster=\"mariadb-use1\"}")"
	check_eq "$n: postgres-use1 still logs in" 1 "$(v "krbwatch_login_success{aws_region=\"$E\",db_cluster=\"postgres-use1\"}")"
	check_eq "$n: $E authentication is down (not every cluster logs in)" 0 "$(v "krbwatch_region_auth_up{aws_region=\"$E\"}")"
	untouched $W "$n"
	kprobe --region $E
	check_eq "$n: krbwatch probe exits 1" 1 "$prc"
	check "$n: krbwatch probe says the database is down" probe_has "refused: nothing listens on the database's port"
fi
heal "$n"

for db in postgres mariadb mysql; do
	n="database keytab stale (spn-key-rotated us-west-2 $db)"
	if inject spn-key-rotated us-west-2 $db; then
		check_eq "$n: the service ticket is still issued" 1 "$(hop $W $db-usw2 service_ticket)"
		case $db in
		postgres) check_hop "$n: login fails with key_version" $W $db-usw2 login key_version ;;
		*) check "$n: login fails with access_denied, gss or key_version" sh -c \
			"grep -E '^krbwatch_hop_failures_total\\{aws_region=\"$W\",db_cluster=\"$db-usw2\",hop=\"login\",reason=\"(access_denied|gss|key_version)\"' '$M' >/dev/null" ;;
		esac
		untouched $E "$n"
	fi
	heal "$n"
done

scenario "database clock skewed (clock-skew pg-us-east-1 600)" clock-skew pg-us-east-1 600 <<EOS
fails1 $E postgres-use1 login clock_skew
untouched $W
EOS

# a truncated packet on an open connection is waited for until the deadline; closed, it is broken
for mode in truncated:timeout truncated-close:protocol oversized:protocol garbage:protocol; do
	want=${mode#*:} mode=${mode%:*}
	n="MySQL peer sends a $mode packet"
	echo $mode >"$KW_LAB_DIR/run/mysqlpeer-usw2.mode"
	settle
	check_hop "$n: mysql-usw2 login fails with $want" $W mysql-usw2 login $want
	check "$n: the daemon still serves /-/healthy" sh -c "\"$LAB\" exec $E curl -fsS http://$KW_LAB_LISTEN/-/healthy >/dev/null"
	rm -f "$KW_LAB_DIR/run/mysqlpeer-usw2.mode"
	settle
	check "$n: mysql-usw2 logs in again when the peer behaves" [ "$(hop $W mysql-usw2 login)" = 1 ]
done

# issue 17: a server that names another service's SPN gets no ticket request for it at all: the
# login fails with spn_mismatch, and no KDC of either realm logs a TGS request for that name
n="MySQL peer announces cifs/fileserver (lie)"
foreign() { cat "$KW_LAB_LOGS"/kdc-*.log 2>/dev/null | grep -c "TGS_REQ .* for cifs/fileserver"; }
asks0=$(foreign)
echo lie >"$KW_LAB_DIR/run/mysqlpeer-usw2.mode"
settle
check_hop "$n: mysql-usw2 login fails with spn_mismatch" $W mysql-usw2 login spn_mismatch
check_eq "$n: no KDC was asked for a ticket to the foreign name (their logs)" "$asks0" "$(foreign)"
rm -f "$KW_LAB_DIR/run/mysqlpeer-usw2.mode"
settle
check "$n: mysql-usw2 logs in again when the peer behaves" [ "$(hop $W mysql-usw2 login)" = 1 ]

# Configuration faults, through a reload: a wrong expected user, the wrong CA, a host name that
# is not in the certificate (the address instead of the name).
cp "$CONF" "$CONF.good"
other_ca=$KW_TMP/other-ca.pem
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$KW_TMP/other-ca.key" -out "$other_ca" \
	-subj /CN=other-ca -days 2 >/dev/null 2>&1
reload_with() {
	_n=$(grep -c ': reloaded ' "$KWLOG")
	kill -HUP "$kw_pid"
	wait_for 10 sh -c "[ \$(grep -c ': reloaded ' '$KWLOG') -gt $_n ]"
	settle
}
awk -v ca="$other_ca" '
	/name: mariadb-use1/ { c = "m" } /name: postgres-use1/ { c = "p" } /name: mysql-use1/ { c = "y" } /name: .*usw2/ { c = "" }
	c == "m" && /expect_user:/ { sub(/krbmon@%/, "someone-else@%") }
	c == "p" && /tls:/ { sub(/ca: [^ }]*/, "ca: " ca) }
	c == "y" && /host:/ { sub(/host: .*/, "host: 10.211.0.52") }
	{ print }' "$CONF.good" >"$CONF"
n="configuration faults after a reload"
reload_with
check_hop "$n: wrong expected user: mariadb-use1 login fails with wrong_user" $E mariadb-use1 login wrong_user
check_hop "$n: the wrong CA: postgres-use1 login fails with tls" $E postgres-use1 login tls
check_hop "$n: a host name not in the certificate: mysql-use1 login fails with tls" $E mysql-use1 login tls
check_eq "$n: the reload succeeded" 1 "$(v krbwatch_config_last_reload_success)"
untouched $W "$n"
cp "$CONF.good" "$CONF"
reload_with
check "$n: back to the good configuration, both Regions healthy" wait_for 20 healthy_now

# kdcs: dns -- the chain finds both realms' KDCs through each Region's own resolvers (SRV, then
# A), so each Region asks its own DCs; a Region whose resolvers are down cannot find them.
n="kdcs: dns"
sed -e 's/^    kdcs: \[.*\]$/    kdcs: dns/' -e "s/^      $KW_LAB_REALM_DB: \[.*\]$/      $KW_LAB_REALM_DB: dns/" "$CONF.good" >"$CONF"
check_eq "$n: the configuration lists no KDC any more" 0 "$(grep -cE '^ *(kdcs|[A-Z.]+): \[' "$CONF")"
reload_with
check "$n: both Regions authenticate, their KDCs found through their own resolvers" wait_for 20 healthy_now
kprobe
check "$n: $E's service ticket comes from one of $E's DCs" grep -qE "mariadb-use1 service_ticket .* from 10\.211\.0\.1[12]," "$KW_TMP/probe.out"
check "$n: $W's service ticket comes from one of $W's DCs" grep -qE "mariadb-usw2 service_ticket .* from 10\.212\.0\.1[12]," "$KW_TMP/probe.out"
if inject dns-down us-west-2; then
	# c-ares reports a resolver with nothing on port 53 as refused, or as timeout when the
	# ICMP answer comes after its retry: either says the same
	for c in $(clusters $W); do
		w="$n, $W's resolvers down: $c tgt fails, refused or timeout (on-prem KDCs cannot be found)"
		if [ "$(hop $W $c tgt)" = 0 ] && { grew $W $c tgt refused || grew $W $c tgt timeout; }; then
			ok "$w"; else not_ok "$w"; fi
	done
	untouched $E "$n, $W's resolvers down"
fi
heal "$n"
cp "$CONF.good" "$CONF"
reload_with

# ---------------------------------------------------------------------------------------------
# the daemon after all of it

check "krbwatch is still running" kill -0 "$kw_pid"
check "it never logged a fatal error" sh -c "! grep -E ' (fatal|crit|emerg):|AddressSanitizer|runtime error' '$KWLOG'"
# Secrets: everything krbwatch showed during the faults, searched for the keytab's keys (raw,
# hex, base64) and for anything shaped like a ticket.
get /metrics >"$KW_TMP/shown-metrics"
get / >"$KW_TMP/shown-status"
kprobe -v; cp "$KW_TMP/probe.out" "$KW_TMP/shown-probe"
kprobe -v --json; cp "$KW_TMP/probe.out" "$KW_TMP/shown-probe-json"
cp "$KWLOG" "$KW_TMP/shown-log"
check "the webhooks carried the bearer token in their headers" grep -qF "Bearer $(cat "$TOKEN")" "$HOOKS"/0001.headers
if python3 "$KW_TOP/tests/secret_scan.py" "$KW_LAB_KEYTAB" --token "$TOKEN" "$KW_TMP"/shown-* "$HOOKS"/*.json \
	>"$KW_TMP/scan.out" 2>&1; then
	ok "no key, ticket or webhook token in the log, /metrics, the status page, krbwatch probe or the webhook bodies ($(tail -n 1 "$KW_TMP/scan.out" | sed 's/secret_scan: //'))"
else
	not_ok "no key, ticket or webhook token in the log, /metrics, the status page, krbwatch probe or the webhook bodies"; sed 's/^/#   /' "$KW_TMP/scan.out"
fi
# the scan itself finds a key when there is one
klist -kK "$KW_LAB_KEYTAB" | grep -o '0x[0-9a-f]*' | head -n 1 >"$KW_TMP/leak"
check "the secret scan finds a key that leaked" sh -c "! python3 '$KW_TOP/tests/secret_scan.py' '$KW_LAB_KEYTAB' '$KW_TMP/leak' >/dev/null"
kill -TERM "$kw_pid"
wait_for 10 sh -c "! kill -0 $kw_pid 2>/dev/null"
wait "$kw_pid"; rc=$?
kw_pid=""
check_eq "SIGTERM: exit 0" 0 "$rc"
