#!/bin/sh
# Aurora Global Database against the lab: the global writer endpoint (a CNAME), the reader
# endpoints with two reader instances each (KW_LAB_READERS=1), and the faults `failover` and
# `reader-not-rebooted`.
#
# One lab (namespaces ${KW_GLOBAL_NS:-tgl}-*), one krbwatch in the us-east-1 client namespace
# watching both Regions every 2 s (deadline 1.8 s: room on a busy machine).  After `failover`,
# the metrics of both Regions and `krbwatch probe` name the new writer Region by the first chain
# run that began after the fault; after `reader-not-rebooted us-east-1`, EVERY run reports the
# one refusing instance (its failure counter grows by exactly the runs), never the other
# instance, never the other Region.
# No sleeps: the probes' run counters are the clock.

. "$(dirname "$0")/lib.sh"

. "$KW_TOP/tests/lab_session.sh"
M=$KW_TMP/metrics
B=$KW_TMP/before
P=$KW_TMP/probe.out
FIGS=$KW_TMP/figures

export KW_LAB_READERS=1
lab_session "${KW_GLOBAL_NS:-tgl}" 2s 1800ms
RO1=$KW_LAB_USE1_READER1_HOST RO2=$KW_LAB_USE1_READER2_HOST
IP1=$KW_LAB_USE1_READER1_IP IP2=$KW_LAB_USE1_READER2_IP

"$LAB" exec $E "$KW_BIN" -c "$CONF" -v 2>"$KWLOG" &
kw_pid=$!

# scrape PATH: from the client namespace, where krbwatch listens
scrape_lab() { "$LAB" exec $E curl -fsS --max-time 3 "http://$KW_LAB_LISTEN$1"; }
# snap FILE: /metrics into FILE, whole or not at all
snap() { scrape_lab /metrics >"$1.new" 2>/dev/null && mv "$1.new" "$1"; }
# v SERIES [FILE]: the value of one series, exactly as written
v() { grep -F "$1 " "${2:-$M}" | awk -v s="$1" '$1 == s { print $2 }'; }
# gv FAMILY REGION: a global database series of gdb seen from REGION
gv() { v "krbwatch_global_$1{global_db=\"gdb\",aws_region=\"$2\"}"; }
# absent FAMILY REGION: no series of gdb seen from REGION in that family
absent() { ! grep -q "^krbwatch_global_$1{global_db=\"gdb\",aws_region=\"$2\"" "$M"; }
runs() { v "krbwatch_probe_runs_total{aws_region=\"$1\",probe=\"chain\"}" "${2:-$M}"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# runs_reach R1 R2: snapshot until us-east-1's chain ran R1 times and us-west-2's R2 times
reached() { snap "$M" && [ "$(runs $E)" -ge "$1" ] 2>/dev/null && [ "$(runs $W)" -ge "$2" ] 2>/dev/null; }
# after_runs N: wait until both Regions' chains completed N runs that began after now
after_runs() {
	snap "$B"
	wait_for 30 reached $(( $(runs $E "$B") + $1 )) $(( $(runs $W "$B") + $1 ))
}
probe() { "$LAB" exec $E env KRB5_CONFIG="$KW_LAB_KRBWATCH_KRB5_CONFIG" "$KW_BIN" probe -c "$CONF" "$@"; }

# A promtool test of the shipped rules on series scraped from the lab: rule_test_head, then
# live_series PATTERN [VALUES] (each matching series of $M, its value held for 5 minutes unless
# VALUES), then rule_expect ALERT EVAL_TIME LABELS and its annotations; rule_test FILE runs it.
rule_test_head() {
	printf 'rule_files: [ %s ]\nevaluation_interval: 30s\ntests:\n  - interval: 30s\n    input_series:\n' \
	    "$KW_TOP/monitoring/krbwatch.rules.yml"
}
live_series() {
	grep "$1" "$M" | while read -r _s _v; do
		printf "      - series: '%s'\n        values: '%s'\n" "$_s" "${2:-${_v}x10}"
	done
}
rule_expect() {
	printf '    alert_rule_test:\n      - eval_time: %s\n        alertname: %s\n        exp_alerts:\n' "$2" "$1"
	printf '          - exp_labels: { %s }\n            exp_annotations:\n' "$3"
	printf '              runbook_url: "https://github.com/krbwatch/krbwatch/blob/main/README.md#%s"\n' \
	    "$(echo "$1" | tr A-Z a-z)"
	# the description as the rules file writes it, its labels filled in by the caller's sed
	awk -v a="- alert: $1" '$0 ~ a "$" { f = 1; next } f && /- alert:/ { exit }
	    f && /^ *description: / { sub(/^ *description: /, ""); print }' "$KW_TOP/monitoring/krbwatch.rules.yml" |
	    sed "$rule_sed" | sed 's/^/              description: /'
}
rule_test() {
	promtool test rules "$1" >"$KW_TMP/promtool.out" 2>&1 && return 0
	grep -v SUCCESS "$KW_TMP/promtool.out" | head -n 20 | sed 's/^/#   /'
	return 1
}

# the writer seen from REGION: "cluster region", one line per series
writer_of() { grep "^krbwatch_global_writer_info{global_db=\"gdb\",aws_region=\"$1\"" "$M" | sed 's/.*writer_cluster="\([^"]*\)",writer_region="\([^"]*\)".*/\1 \2/'; }
inst() { v "krbwatch_reader_instance_login_success{aws_region=\"$1\",db_cluster=\"mariadb-$2\",db_instance=\"$3\",address=\"$4\"}"; }
inst_fail() { v "krbwatch_reader_instance_login_failures_total{aws_region=\"$1\",db_cluster=\"mariadb-$2\",db_instance=\"$3\",address=\"$4\",reason=\"$5\"}" | grep . || echo 0; }
writer_is() { [ "$(writer_of $E)" = "$1 $2" ] && [ "$(writer_of $W)" = "$1 $2" ]; }
sees_writer() { snap "$M" && writer_is "$@"; }

check "krbwatch becomes ready in the lab" wait_for 20 scrape_lab /-/ready
check "two chain runs of each Region" after_runs 2

# ---- healthy: the writer in us-east-1, every reader instance taking Kerberos ----------------------
check_eq "from us-east-1 the writer is mariadb-use1 in us-east-1" "mariadb-use1 us-east-1" "$(writer_of $E)"
check_eq "from us-west-2 the writer is mariadb-use1 in us-east-1" "mariadb-use1 us-east-1" "$(writer_of $W)"
for r in $E $W; do
	check_eq "$r: the login through the global writer endpoint succeeds" 1 "$(gv login_success $r)"
	check_eq "$r: no writer change counted yet" 0 "$(gv writer_changes_total $r)"
	check_eq "$r: the endpoint's TTL is the record's (5 s)" 5 "$(gv writer_dns_ttl_seconds $r)"
done
check_eq "us-west-2, the secondary, is ready for a failover" 1 "$(gv secondary_auth_success $W)"
check "us-east-1 holds the writer: no readiness series for it" absent secondary_auth_success $E
for r in use1 usw2; do
	R=$(echo $r | tr a-z A-Z)
	eval "h1=\$KW_LAB_${R}_READER1_HOST h2=\$KW_LAB_${R}_READER2_HOST i1=\$KW_LAB_${R}_READER1_IP i2=\$KW_LAB_${R}_READER2_IP"
	reg=$([ $r = use1 ] && echo $E || echo $W)
	check_eq "$reg: the reader endpoint resolves to 2 addresses" 2 \
	    "$(v "krbwatch_reader_endpoint_addresses{aws_region=\"$reg\",db_cluster=\"mariadb-$r\"}")"
	check_eq "$reg: reader instance $h1 ($i1) takes Kerberos" 1 "$(inst $reg $r "$h1" "$i1")"
	check_eq "$reg: reader instance $h2 ($i2) takes Kerberos" 1 "$(inst $reg $r "$h2" "$i2")"
done
probe >"$P" 2>&1
check_eq "krbwatch probe passes in the healthy lab" 0 $?
# without instance endpoints in the file, the PTR records name the addresses
grep -v '^ *instances:' "$CONF" >"$KW_TMP/noinst.yml"
"$LAB" exec $E env KRB5_CONFIG="$KW_LAB_KRBWATCH_KRB5_CONFIG" "$KW_BIN" probe -c "$KW_TMP/noinst.yml" \
    --region $E >"$P.ptr" 2>&1
check "without instances, the PTR records name both reader addresses" sh -c \
    "grep -q 'ok .*mariadb-use1 reader $RO1 ($IP1)' $P.ptr && grep -q 'ok .*mariadb-use1 reader $RO2 ($IP2)' $P.ptr"
check "krbwatch probe names the writer from us-east-1" \
    grep -q "gdb writer .*the writer is mariadb-use1 in us-east-1: $KW_LAB_GLOBAL_HOST -> $KW_LAB_USE1_DB_HOST (TTL 5 s) through us-east-1's resolvers" "$P"

# ---- failover: the CNAME moves to us-west-2 ---------------------------------------------------------
snap "$B"
r_e=$(runs $E "$B") r_w=$(runs $W "$B")
# progress R1 R2: a snapshot; notes when both Regions first name the new writer; true once
# us-east-1's chain ran R1 times and us-west-2's R2 times
first_seen=""
progress() {
	snap "$M" || return 1
	if [ -z "$first_seen" ] && writer_is mariadb-usw2 us-west-2; then first_seen=$(ms); fi
	[ "$(runs $E)" -ge "$1" ] && [ "$(runs $W)" -ge "$2" ]
}
t0=$(ms)
"$LAB" fault failover >>"$LOG" 2>&1
t1=$(ms)
# the fault returns once every resolver answers the new target: the run after the one in
# flight began after it, and must name the new writer
check "both Regions' chains ran once more after the one in flight" wait_for 30 progress $((r_e + 2)) $((r_w + 2))
check_eq "after failover, from us-east-1 the writer is mariadb-usw2 in us-west-2 (by the first run after the fault)" \
    "mariadb-usw2 us-west-2" "$(writer_of $E)"
check_eq "after failover, from us-west-2 the writer is mariadb-usw2 in us-west-2 (by the first run after the fault)" \
    "mariadb-usw2 us-west-2" "$(writer_of $W)"
echo "failover: the fault $((t1 - t0)) ms, then both Regions' metrics named us-west-2 $(( ${first_seen:-$t1} - t1 )) ms later (interval 2 s; chain runs at the fault: $E $r_e, $W $r_w)" >>"$FIGS"
for r in $E $W; do
	check_eq "$r: one writer change counted" 1 "$(gv writer_changes_total $r)"
	check_eq "$r: the login through the global writer endpoint now reaches us-west-2 and succeeds" 1 "$(gv login_success $r)"
done
check_eq "us-east-1 is now the secondary, and ready" 1 "$(gv secondary_auth_success $E)"
check "us-west-2 holds the writer: its readiness series is gone" absent secondary_auth_success $W
probe >"$P" 2>&1
check_eq "krbwatch probe passes after the failover" 0 $?
for r in $E $W; do
	check "krbwatch probe names the new writer Region from $r" \
	    grep -q "gdb writer .*the writer is mariadb-usw2 in us-west-2: $KW_LAB_GLOBAL_HOST -> $KW_LAB_USW2_DB_HOST (TTL 5 s) through $r's resolvers" "$P"
done
check "krbwatch probe: the login through the global endpoint uses us-west-2's SPN" \
    grep -q "ok .*gdb login through $KW_LAB_GLOBAL_HOST .*mariadb/$KW_LAB_USW2_DB_HOST@" "$P"
scrape_lab /status.json >"$KW_TMP/status.json"
check_eq "/status.json: both Regions' global rows name the new writer" 2 \
    "$(grep -o "the writer is mariadb-usw2 in us-west-2: $KW_LAB_GLOBAL_HOST" "$KW_TMP/status.json" | wc -l)"
check "krbwatch probe: us-east-1 is ready as the failover target" \
    grep -q "ok .*gdb failover to us-east-1 .*ready: a failover to us-east-1 now would let users authenticate" "$P"

"$LAB" heal >>"$LOG" 2>&1
check "after heal both Regions name mariadb-use1 again" wait_for 30 sees_writer mariadb-use1 us-east-1
check_eq "us-east-1 counted the move back" 2 "$(gv writer_changes_total $E)"

# ---- failover with us-west-2's resolvers lagging: the Regions disagree ---------------------------
"$LAB" fault failover $W --lag $W >>"$LOG" 2>&1
snap "$B"
wait_for 30 reached $(( $(runs $E "$B") + 2 )) $(( $(runs $W "$B") + 2 ))
check_eq "lagging: from us-east-1 the writer is mariadb-usw2 in us-west-2" "mariadb-usw2 us-west-2" "$(writer_of $E)"
check_eq "lagging: from us-west-2 the writer is still mariadb-use1 in us-east-1" "mariadb-use1 us-east-1" "$(writer_of $W)"
# the rule on the live labels, the last change older than the TTL (time 0 in promtool's clock)
rule_sed="s/{{ range .*{{ end }}/$E: mariadb-usw2; $W: mariadb-use1; /; s/{{ \$labels.global_db }}/gdb/g; s/''/'/g; s/^'\(.*\)'\$/\"\1\"/"
{
	rule_test_head
	live_series '^krbwatch_global_writer_info{'
	live_series '^krbwatch_global_writer_dns_ttl_seconds{'
	live_series '^krbwatch_global_writer_changed_timestamp_seconds{' '0x10'
	rule_expect KrbwatchGlobalWriterDisagreement 2m "severity: warning, global_db: gdb"
	echo '              summary: "Regions disagree on the writer of gdb"'
} >"$KW_TMP/lag.test.yml"
check "promtool: the shipped rule fires on the live series of the lagging Regions" rule_test "$KW_TMP/lag.test.yml"
"$LAB" heal >>"$LOG" 2>&1
check "after heal both Regions agree on mariadb-use1 again" wait_for 30 sees_writer mariadb-use1 us-east-1

# ---- reader-not-rebooted us-east-1: instance 1 refuses Kerberos, every run ----------------------
"$LAB" fault reader-not-rebooted $E >>"$LOG" 2>&1
snap "$B"
wait_for 30 reached $(( $(runs $E "$B") + 2 )) $(( $(runs $W "$B") + 2 ))
# from here on, N consecutive runs: each one fails $RO1 once, nothing else
N=6
snap "$B"
a=$(runs $E "$B") f0=$(inst_fail $E use1 "$RO1" "$IP1" access_denied)
check "us-east-1's chain ran $N more times" wait_for 40 reached $((a + N)) 0
b=$(runs $E) f1=$(inst_fail $E use1 "$RO1" "$IP1" access_denied)
echo "reader_runs_checked $((b - a)) failures_counted $((f1 - f0))" >>"$FIGS"
check_eq "every one of $((b - a)) runs counted one access_denied login failure of $RO1 ($IP1)" \
    "$((b - a))" "$((f1 - f0))"
check_eq "reader instance $RO1 ($IP1) is reported refusing" 0 "$(inst $E use1 "$RO1" "$IP1")"
check_eq "the other instance $RO2 ($IP2) still takes Kerberos" 1 "$(inst $E use1 "$RO2" "$IP2")"
check "the other instance counted no failure" \
    sh -c "! grep -q '^krbwatch_reader_instance_login_failures_total{aws_region=\"$E\",db_cluster=\"mariadb-use1\",db_instance=\"$RO2\"' $M"
check_eq "the writer of us-east-1 still logs in" 1 \
    "$(v "krbwatch_login_success{aws_region=\"$E\",db_cluster=\"mariadb-use1\"}")"
check_eq "us-west-2's instance $KW_LAB_USW2_READER1_HOST untouched" 1 \
    "$(inst $W usw2 "$KW_LAB_USW2_READER1_HOST" "$KW_LAB_USW2_READER1_IP")"
check_eq "us-west-2's instance $KW_LAB_USW2_READER2_HOST untouched" 1 \
    "$(inst $W usw2 "$KW_LAB_USW2_READER2_HOST" "$KW_LAB_USW2_READER2_IP")"
check "us-west-2 counted no reader failure" \
    sh -c "! grep -q '^krbwatch_reader_instance_login_failures_total{aws_region=\"$W\"' $M"
scrape_lab /status.json >"$KW_TMP/status.json"
check "/status.json: the instance row of $RO1 is failing, with the server's words" python3 -c '
import json, sys
rows = [r for reg in json.load(open(sys.argv[1]))["regions"] for r in reg["rows"]]
bad = [r for r in rows if r.get("kind") == "instance" and r["state"] == "failing"]
sys.exit(not (len(bad) == 1 and bad[0]["instance"] == sys.argv[2] and "gssapi" in bad[0]["hops"]["login"]["detail"]))
' "$KW_TMP/status.json" "$RO1"
# krbwatch probe, three times in a row: the same instance each time, by name and address
k=0
for i in 1 2 3; do
	probe --region $E >"$P.$i" 2>&1
	rc=$?
	if [ $rc = 1 ] && grep -q "FAIL .*mariadb-use1 reader $RO1 ($IP1) .*Plugin 'gssapi' is not loaded" "$P.$i" &&
	    grep -q "ok .*mariadb-use1 reader $RO2 ($IP2)" "$P.$i" &&
	    grep -q "check: whether the instance was rebooted after Kerberos authentication was turned on" "$P.$i"; then
		k=$((k + 1))
	else
		sed 's/^/#   /' "$P.$i" | grep -i "reader\|fail" | head -n 6
	fi
done
check_eq "krbwatch probe names $RO1 ($IP1) as refusing, and $RO2 as taking Kerberos, in 3 runs of 3" 3 $k

# the live series, fed to the shipped rule: it fires for that one instance, and names it
rule_sed="s/{{ \$labels.db_cluster }}/mariadb-use1/g; s/{{ \$labels.db_instance }}/$RO1/g; s/{{ \$labels.address }}/$IP1/g"
{
	rule_test_head
	live_series '^krbwatch_reader_instance_login_success{'
	rule_expect KrbwatchReaderInstanceRejectsKerberos 3m \
	    "severity: warning, aws_region: $E, db_cluster: mariadb-use1, db_instance: $RO1, address: $IP1"
	echo "              summary: \"Reader instance $RO1 ($IP1) of mariadb-use1 in $E rejects Kerberos logins\""
} >"$KW_TMP/live.test.yml"
check "promtool: the shipped rule fires on the live series, for $RO1 alone" rule_test "$KW_TMP/live.test.yml"

"$LAB" heal >>"$LOG" 2>&1
snap "$B"
check "us-east-1's chain ran twice after heal" wait_for 30 reached $(( $(runs $E "$B") + 2 )) 0
check_eq "after heal $RO1 takes Kerberos again" 1 "$(inst $E use1 "$RO1" "$IP1")"

sed 's/^/# figure: /' "$FIGS"
