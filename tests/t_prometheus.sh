#!/bin/sh
# The whole path as users run it: a real Prometheus (Debian's) scrapes two krbwatch instances (an
# HA pair: the same configuration, two ports) over TLS with basic authentication, set up as the
# README's "Prometheus and Alertmanager" section says, evaluates monitoring/krbwatch.rules.yml as
# shipped (only `for:` shortened, and said so), and sends to a real Alertmanager that groups by
# alertname and Region and posts to a receiver this test holds (tests/alert_receiver.py).
# Asserted through Prometheus' HTTP API and the receiver's bodies: targets up, no scrape or rule
# error; every expression of the rules and of the dashboard evaluates and has series; a trust
# broken in us-west-2 is ONE firing KrbwatchRegionAuthDown for us-west-2 with hop and reason, and
# heals resolved; a failed reload fires KrbwatchConfigReloadFailed; a stopped instance fires
# KrbwatchDown while the other keeps watching.  Times from fault to notification are printed as
# figures, never asserted: deadlines are minutes.
#
#   KW_PROM_NS   the lab's name (default tpr)

. "$(dirname "$0")/lib.sh"

for b in prometheus prometheus-alertmanager; do
	if ! command -v "$b" >/dev/null; then
		not_ok "$b is installed (tests/deps.sh installs it)"; exit 1
	fi
done
. "$KW_TOP/tests/lab_session.sh"
API=$KW_TOP/tests/prom_api.py
# Every probe every 2 s with a 1.5 s deadline: the lab answers in milliseconds, so a busy
# machine cannot turn a healthy run into a failure.
# With the reader instances and the global writer endpoint: every series the shipped rules read
# (the Global Database ones included) must exist.
export KW_LAB_READERS=1
lab_session "${KW_PROM_NS:-tpr}" 2s 1500ms
NS=$KW_LAB_USE1_NS_CLIENT
# The client namespace is this lab's own: its loopback ports are ours.
PORT_A=10088 PORT_B=10089 PROM=127.0.0.1:19090 AM=127.0.0.1:19093
A=127.0.0.1:$PORT_A B=127.0.0.1:$PORT_B
FOR=15s

# --- the pieces, each started in the client namespace; every pid is stopped at exit ----------
pids=""
stop_all() {
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	pids=""
}
at_exit stop_all
start() { "$LAB" exec $E "$@" & pids="$pids $!"; last=$!; }
inns() { ip netns exec "$NS" "$@"; }
get() { inns curl -fsS --max-time 5 "$@"; }

# TLS and basic authentication, as the README documents them (openssl, a bcrypt hash)
pki=$KW_TMP/pki
mkdir -p "$pki"
ssl() { openssl "$@" >>"$KW_TMP/openssl.log" 2>&1; }
ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=krbwatch test CA" -keyout "$pki/ca.key" -out "$pki/ca.crt" &&
ssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=bastion" \
    -keyout "$pki/krbwatch.key" -out "$pki/krbwatch.csr" &&
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$pki/ext" &&
ssl x509 -req -in "$pki/krbwatch.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 2 -extfile "$pki/ext" -out "$pki/krbwatch.crt" && chmod 600 "$pki/krbwatch.key"
check "openssl made a CA and krbwatch's certificate" test -s "$pki/krbwatch.crt"
PASS=prom-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$PASS" >"$KW_TMP/prometheus.pass"
chmod 600 "$KW_TMP/prometheus.pass"
HASH=$(python3 -W ignore -c 'import crypt, sys
print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))' "$PASS")

# krbwatch's own webhooks go to a receiver of their own, so that Alertmanager's bodies stay apart
DIRECT=$KW_TMP/direct NOTES=$KW_TMP/notes
mkdir -p "$DIRECT" "$NOTES"
start python3 "$KW_TOP/tests/alert_receiver.py" "$DIRECT"
start python3 "$KW_TOP/tests/alert_receiver.py" "$NOTES"
check "the two webhook receivers listen" wait_for 20 sh -c "test -s '$DIRECT/port' && test -s '$NOTES/port'"

# the HA pair: one configuration, two listen ports
{
	sed '/^listen:/d' "$CONF"
	printf '  webhooks:\n    - url: http://127.0.0.1:%s/direct\n' "$(cat "$DIRECT/port")"
	cat <<EOF
web:
  tls_server_config:
    cert_file: $pki/krbwatch.crt
    key_file: $pki/krbwatch.key
  basic_auth_users:
    prometheus: "$HASH"
EOF
} >"$KW_TMP/common.yml"
for p in $PORT_A $PORT_B; do
	{ echo "listen: 127.0.0.1:$p"; cat "$KW_TMP/common.yml"; } >"$KW_TMP/krbwatch-$p.yml"
done
start "$KW_BIN" -c "$KW_TMP/krbwatch-$PORT_A.yml" 2>"$KWLOG"
kw_a=$last
start "$KW_BIN" -c "$KW_TMP/krbwatch-$PORT_B.yml" 2>"$KW_TMP/krbwatch-b.log"
kw_b=$last
kget() { get --cacert "$pki/ca.crt" -u "prometheus:$PASS" "https://$1$2"; }
check "krbwatch A answers over TLS with the credentials" wait_for 30 kget "$A" /-/healthy
check "krbwatch B too" wait_for 30 kget "$B" /-/healthy
check "krbwatch A is ready (every probe ran once)" wait_for 60 kget "$A" /-/ready
check "krbwatch B is ready" wait_for 60 kget "$B" /-/ready
check_eq "without credentials krbwatch answers 401: the scrape below authenticates" 401 \
    "$(inns curl -sS --max-time 5 --cacert "$pki/ca.crt" -o /dev/null -w '%{http_code}' "https://$A/metrics")"

# The rules as shipped; only every `for:` is shortened, and the test checks that nothing else moved.
sed -E "s/^( +for: ).*/\\1$FOR/" "$KW_TOP/monitoring/krbwatch.rules.yml" >"$KW_TMP/krbwatch.rules.yml"
shipped_for=$(sed -n 's/^ *for: //p' "$KW_TOP/monitoring/krbwatch.rules.yml" | sort -u | tr '\n' ' ')
echo "# figure: the test shortens every for: of monitoring/krbwatch.rules.yml (${shipped_for% }) to $FOR; nothing else changes"
check_eq "the rules differ from the shipped ones in their for: lines only" "" \
    "$(diff "$KW_TOP/monitoring/krbwatch.rules.yml" "$KW_TMP/krbwatch.rules.yml" | grep '^[<>]' | grep -v '^[<>] *for: ')"

cat >"$KW_TMP/alertmanager.yml" <<EOF
route:
  receiver: test
  group_by: [alertname, aws_region]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: http://127.0.0.1:$(cat "$NOTES/port")/alertmanager
        send_resolved: true
EOF
cat >"$KW_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [$KW_TMP/krbwatch.rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{ targets: ['$AM'] }]
scrape_configs:
  - job_name: krbwatch
    scheme: https
    tls_config:
      ca_file: $pki/ca.crt
    basic_auth:
      username: prometheus
      password_file: $KW_TMP/prometheus.pass
    static_configs:
      - targets: ['$A', '$B']
EOF
check "promtool check config accepts Prometheus' configuration" \
    sh -c "promtool check config '$KW_TMP/prometheus.yml' >'$KW_TMP/promtool.log' 2>&1"
start prometheus-alertmanager --config.file="$KW_TMP/alertmanager.yml" \
    --storage.path="$KW_TMP/am" --web.listen-address="$AM" --cluster.listen-address= \
    2>"$KW_TMP/alertmanager.log"
start prometheus --config.file="$KW_TMP/prometheus.yml" --storage.tsdb.path="$KW_TMP/tsdb" \
    --web.listen-address="$PROM" 2>"$KW_TMP/prometheus.log"
check "Alertmanager is ready" wait_for 60 get -o /dev/null "http://$AM/-/ready"
check "Prometheus is ready" wait_for 60 get -o /dev/null "http://$PROM/-/ready"

# --- Prometheus' view ---------------------------------------------------------------------------
api() { get "http://$PROM/api/v1/$1" | python3 "$API" "$2"; }
q() { get -G --data-urlencode "query=$1" "http://$PROM/api/v1/query" | python3 "$API" result; }
# the value of an instant query that returns one sample
qv() { get -G --data-urlencode "query=$1" "http://$PROM/api/v1/query" | python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if len(r) == 1 else "none")'; }
targets_up() { api targets targets >"$KW_TMP/targets" && [ "$(grep -c ' up ' "$KW_TMP/targets")" -eq 2 ]; }
check "Prometheus scrapes both krbwatch instances: up" wait_for 60 targets_up ||
    sed 's/^/#   /' "$KW_TMP/targets"
check "... over https (scheme: https)" [ "$(grep -c ' https://127.0.0.1:1008[89]/metrics ' "$KW_TMP/targets")" -eq 2 ]
check_eq "... with no scrape error" 'krbwatch 127.0.0.1:10088 up ""
krbwatch 127.0.0.1:10089 up ""' \
    "$(awk '{ print $1, $2, $3, $5 }' "$KW_TMP/targets" | sort)"
# the rules: all evaluated (lastEvaluation not zero) with health ok
rules_ok() {
	api rules rules >"$KW_TMP/rules" && [ -s "$KW_TMP/rules" ] && ! grep -v ' ok ' "$KW_TMP/rules" | grep -q .
}
nrules=$(grep -c -- '- alert:' "$KW_TOP/monitoring/krbwatch.rules.yml")
check "Prometheus loaded the $nrules rules and evaluates every one without error" wait_for 60 rules_ok ||
    sed 's/^/#   /' "$KW_TMP/rules"
check_eq "... all $nrules of them" "$nrules" "$(wc -l <"$KW_TMP/rules")"
healthy() { [ "$(qv 'count(krbwatch_region_auth_up == 1)')" = 4 ]; }
check "Prometheus sees both Regions healthy from both instances" wait_for 60 healthy

# Every expression of the rules and of the dashboard, on the healthy lab: no error, and series.
# A dashboard panel shows what its expression returns, so each must return series now; an
# alert's expression is empty while all is well, so each metric it reads must have series
# (checked after the fault, below, when the counters a failure creates exist too).
python3 "$API" exprs "$KW_TOP/monitoring/krbwatch.rules.yml" "$KW_TOP/monitoring/krbwatch-dashboard.json" \
    >"$KW_TMP/exprs"
check "the rules and the dashboard have expressions ($(wc -l <"$KW_TMP/exprs"))" \
    [ "$(wc -l <"$KW_TMP/exprs")" -ge 20 ]
# increase(...[5m]) and rate(...[1m]) need two samples in their window
waited() { [ "$(qv 'count(count_over_time(krbwatch_build_info[1m]) >= 3)')" = 2 ]; }
check "Prometheus holds three scrapes of each instance" wait_for 60 waited
has_series() { [ "${1%% *}" = ok ] && [ "${1#ok }" -gt 0 ]; }
while IFS='	' read -r where e; do
	r=$(q "$e")
	case $where in
	rules*)
		check_eq "$where evaluates: $e" "ok" "${r%% *}" ;;
	*)
		check "$where has series on the healthy lab ($r): $e" has_series "$r" ;;
	esac
done <"$KW_TMP/exprs"
check_eq "no alert of the rules is firing on the healthy lab" "none" \
    "$(qv 'count(ALERTS{alertstate="firing"})')"

# --- a trust broken in us-west-2: one alert for the Region, from two instances ----------------
notes() { python3 "$API" notes "$NOTES"; }
# has STATUS ALERTNAME KEY=VALUE: a webhook body carries that alert in that state
has() { notes | grep -q "^[0-9]* [a-z]* $1 $2 .*$3 "; }
has_text() { printf '%s\n' "$1" | grep -qF -- "$2"; }
has_re() { printf '%s\n' "$1" | grep -qE -- "$2"; }
# stop_pid PID: SIGTERM, its exit status, or 124 when it has not stopped in 10 s (then SIGKILL)
pid_gone() { ! pid_alive "$1"; }
stop_pid() {
	kill -TERM "$1"
	if wait_for 10 pid_gone "$1"; then wait "$1"; return; fi
	kill -KILL "$1"; wait "$1"; return 124
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms)
"$LAB" fault trust-broken $W >>"$LOG" 2>&1
check "lab fault trust-broken $W" test $? -eq 0
check "Alertmanager posts KrbwatchRegionAuthDown firing for $W (deadline 5 min)" \
    wait_for 300 has firing KrbwatchRegionAuthDown "aws_region=$W"
t1=$(ms)
first=$(notes | grep -m1 "^[0-9]* [a-z]* firing KrbwatchRegionAuthDown aws_region=$W ")
echo "# firing notification: $first" | cut -c1-400
check "the notification carries ONE alert: the two instances deduplicated (in_body=1, no instance label)" \
    has_text "$first" " instance=- in_body=1 group=alertname=KrbwatchRegionAuthDown,aws_region=$W "
check "its summary names the failing hop and reason" has_text "$first" \
    "| Kerberos database logins are failing in $W: hop service_ticket fails with trust_key |"
check "its description names both vantage points" \
    has_text "$first" "seen from $A $B (krbwatch instances)"
check "its runbook_url is absolute: the runbook's section" \
    has_re "$first" '\| https://[^ ]+/README\.md#krbwatchregionauthdown$'
check_eq "every KrbwatchRegionAuthDown body carries one alert" "" \
    "$(notes | grep ' KrbwatchRegionAuthDown ' | grep -v ' in_body=1 ')"

t2=$(ms)
"$LAB" heal >>"$LOG" 2>&1
check "lab heal" test $? -eq 0
check "Alertmanager posts KrbwatchRegionAuthDown resolved for $W (deadline 5 min)" \
    wait_for 300 has resolved KrbwatchRegionAuthDown "aws_region=$W"
t3=$(ms)
check "... in a body of its own, status resolved" \
    has resolved "KrbwatchRegionAuthDown aws_region=$W instance=- in_body=1" ""
check "Prometheus sees both Regions healthy again" wait_for 120 healthy
echo "# figure: trust broken in $W -> firing KrbwatchRegionAuthDown at the receiver: $(( (t1 - t0) / 1000 )).$(( (t1 - t0) % 1000 / 100 )) s; heal -> resolved: $(( (t3 - t2) / 1000 )).$(( (t3 - t2) % 1000 / 100 )) s (krbwatch interval 2s, deadline 1.5s; scrape and evaluation 1s; for: $FOR; group_wait 1s, group_interval 2s)"

# the metrics every alert reads have series, now that a failure has created its counters
for m in $(cut -f2 "$KW_TMP/exprs" | grep -o '\bkrbwatch_[a-z0-9_]*\|\bprocess_[a-z_]*\|\bup\b' | sort -u); do
	check "metric $m, read by the rules or the dashboard, has series" [ "$(qv "count($m)")" != none ]
done

# --- a failed reload ---------------------------------------------------------------------------
cp "$KW_TMP/krbwatch-$PORT_A.yml" "$KW_TMP/good.yml"
echo "interval: often" >>"$KW_TMP/krbwatch-$PORT_A.yml"
t4=$(ms)
kill -HUP "$kw_a"
check "krbwatch A logs the failed reload" wait_for 30 grep -q 'reload failed' "$KWLOG"
check "Alertmanager posts KrbwatchConfigReloadFailed firing for instance $A (deadline 5 min)" \
    wait_for 300 has firing KrbwatchConfigReloadFailed "instance=$A"
t5=$(ms)
check_eq "... for A only" "" "$(notes | grep " KrbwatchConfigReloadFailed .*instance=$B ")"
echo "# figure: failed reload -> firing KrbwatchConfigReloadFailed at the receiver: $(( (t5 - t4) / 1000 )) s"
cp "$KW_TMP/good.yml" "$KW_TMP/krbwatch-$PORT_A.yml"
kill -HUP "$kw_a"
reload_ok() { [ "$(qv "krbwatch_config_last_reload_success{instance=\"$A\"}")" = 1 ]; }
check "a good reload sets krbwatch_config_last_reload_success back to 1, seen by Prometheus" \
    wait_for 60 reload_ok

# --- one instance of the pair gone ------------------------------------------------------------
t6=$(ms)
stop_pid "$kw_b"
check_eq "krbwatch B stops: exit 0" 0 "$?"
check "Alertmanager posts KrbwatchDown firing for instance $B (deadline 5 min)" \
    wait_for 300 has firing KrbwatchDown "instance=$B"
t7=$(ms)
gone=$(notes | grep -m1 "^[0-9]* [a-z]* firing KrbwatchDown .*instance=$B ")
check "... saying the other still answers" has_text "$gone" "1 krbwatch instance(s) still answer."
echo "# figure: krbwatch B stopped -> firing KrbwatchDown at the receiver: $(( (t7 - t6) / 1000 )) s"
api targets targets >"$KW_TMP/targets"
check_eq "the targets: A up, B down" "127.0.0.1:10088 up
127.0.0.1:10089 down" "$(awk '{ print $2, $3 }' "$KW_TMP/targets" | sort)"
# the other keeps watching: A's series still come in, fresh, both Regions up
fresh() { [ "$(qv "count(timestamp(krbwatch_region_auth_up{instance=\"$A\"} == 1) > time() - 10)")" = 2 ]; }
check "krbwatch A keeps watching: both Regions up, scraped in the last 10 s" wait_for 30 fresh
check_eq "no Region alert fires with one instance gone" "none" \
    "$(qv 'count(ALERTS{alertname="KrbwatchRegionAuthDown"})')"

stop_pid "$kw_a"
check_eq "krbwatch A stops: exit 0 (under ASan: no leak, no error)" 0 "$?"

# --- over the whole run ---------------------------------------------------------------------
check_eq "nothing was ever posted for $E" "" "$(notes | grep " aws_region=$E ")"
eval_failures() {
	get "http://$PROM/metrics" | awk '/^prometheus_rule_evaluation_failures_total/ { n++; if ($2 != 0) bad = 1 }
	    END { exit bad || !n }'
}
check "no rule ever failed to evaluate (prometheus_rule_evaluation_failures_total all 0)" eval_failures
check "Prometheus logged no template expansion error" sh -c "! grep -i 'expand' '$KW_TMP/prometheus.log'"
check "Prometheus delivered every alert to Alertmanager (no notification error logged)" \
    sh -c "! grep -i 'error sending alert\|dropped' '$KW_TMP/prometheus.log'"
check "Alertmanager logged no notify error" sh -c "! grep -i 'notify.*err\|level=error' '$KW_TMP/alertmanager.log'"
check "krbwatch logged no fatal error" sh -c "! grep -E ' (fatal|crit|emerg):|AddressSanitizer|runtime error' '$KWLOG' '$KW_TMP/krbwatch-b.log'"
if [ "$KW_FAILED" -ne 0 ]; then
	echo "# the receiver's notifications:"; notes | cut -c1-300 | sed 's/^/#   /'
	echo "# Prometheus' log:"; tail -n 15 "$KW_TMP/prometheus.log" | sed 's/^/#   /'
	echo "# Alertmanager's log:"; tail -n 10 "$KW_TMP/alertmanager.log" | sed 's/^/#   /'
fi
