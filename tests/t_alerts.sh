#!/bin/sh
# The alert state machines and their webhooks, through tests/alert_main (the real alert.c and
# webhook.c on a libevent loop with libcurl) against real HTTP receivers on loopback
# (tests/alert_receiver.py): when an alert fires and resolves, its labels and body, the bearer
# token and extra headers, retries, a dead and a stalled receiver, the bounded queue, a reload;
# then the daemon itself with a webhook configured.
. "$(dirname "$0")/lib.sh"

DRV=${KW_ALERT_DRIVER:-${KW_UNITS:-$KW_TOP/build/tests}/alert_main}
RECV="$KW_TOP/tests/alert_receiver.py"
# a proxy from the environment would stand between curl and the receivers
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

if [ ! -x "$DRV" ]; then
	not_ok "the driver $DRV is built (make units)"
	exit 1
fi

printf 'not a real keytab\n' >"$KW_TMP/krbmon.keytab"
TOKEN="kw-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$TOKEN" >"$KW_TMP/hook.token"
chmod 600 "$KW_TMP/krbmon.keytab" "$KW_TMP/hook.token"

RECV_PIDS=""
stop_receivers() { for p in $RECV_PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }
at_exit stop_receivers

# receiver NAME [ARGS...]: starts a receiver recording into $KW_TMP/NAME; its port in $PORT
receiver() {
	_d="$KW_TMP/$1"; shift
	mkdir -p "$_d"
	python3 "$RECV" "$_d" "$@" &
	RECV_PIDS="$RECV_PIDS $!"
	wait_for 10 test -s "$_d/port" || { not_ok "receiver $_d starts"; exit 1; }
	PORT=$(cat "$_d/port")
}

# conf FILE REGIONS-YAML ALERTS-YAML
conf() {
	cat >"$1" <<EOC
identity: { principal: krbmon@ONPREM.EXAMPLE.COM, keytab: $KW_TMP/krbmon.keytab }
realms: { ONPREM.EXAMPLE.COM: { domain: onprem.example.com }, AWSMAD.KERBEROS.COM: { domain: example } }
regions:
$2
alerts:
$3
EOC
}

REGIONS='  us-east-1:
    resolvers: [127.0.0.1]
    clusters:
      - { name: aurora-east, engine: mysql, host: db.example, user: krbmon, tls: { mode: disable } }
      - { name: pg-east, engine: postgresql, host: pg.example, user: krbmon, tls: { mode: disable } }
  us-west-2:
    resolvers: [127.0.0.1]'

# drive NAME CONF: runs the script on stdin; stdout, stderr and status in $KW_TMP/NAME.{out,err,rc}
drive() {
	timeout 60 "$DRV" "$2" >"$KW_TMP/$1.out" 2>"$KW_TMP/$1.err"
	echo $? >"$KW_TMP/$1.rc"
}

# mval FILE SERIES: a value in a metrics file written by the driver (empty when absent)
mval() { awk -v s="$2" 'index($0, s " ") == 1 { print $2 }' "$1"; }

# jq-like: field PATH FILE ("alerts.0.labels.hop"), or "<absent>"
field() {
	python3 - "$1" "$2" <<'EOP'
import json, sys
v = json.load(open(sys.argv[2]))
for k in sys.argv[1].split("."):
    if isinstance(v, list):
        v = v[int(k)]
    elif k in v:
        v = v[k]
    else:
        print("<absent>"); sys.exit(0)
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
EOP
}

nbodies() { ls "$KW_TMP/$1" | grep -c '\.json$'; }

# --- 1. fires after exactly after_failures failures, resolves on the first success ---------
receiver good
GOOD_URL="http://127.0.0.1:$PORT/api/v1/hook/secret-path"
conf "$KW_TMP/c1.yml" "$REGIONS" "  after_failures: 3
  webhooks:
    - url: $GOOD_URL
      bearer_token_file: $KW_TMP/hook.token
      headers: { X-Scope-OrgID: krbwatch-test }"
conf "$KW_TMP/c1b.yml" "  us-west-2: { resolvers: [127.0.0.1] }" "  after_failures: 3
  webhooks:
    - { url: $GOOD_URL, bearer_token_file: $KW_TMP/hook.token }"
WEIRD=$(printf 'kdc said "no" \\ back\001slash \377 tab\there')
{
	echo "us-west-2 - ok"
	echo "us-east-1 aurora-east fail service_ticket trust_key first"
	echo "us-east-1 aurora-east fail service_ticket trust_key second"
	echo "us-west-2 - ok"
	echo "eu-west-1 - fail tgt timeout not configured"
	echo "eu-west-1 - fail tgt timeout not configured"
	echo "eu-west-1 - fail tgt timeout not configured"
	echo "us-east-1 nope fail tgt timeout not configured"
	echo "us-east-1 nope fail tgt timeout not configured"
	echo "us-east-1 nope fail tgt timeout not configured"
	echo "drain"
	echo "metrics $KW_TMP/m1"
	echo "us-east-1 aurora-east fail service_ticket trust_key $WEIRD"
	echo "drain"
	echo "metrics $KW_TMP/m2"
	echo "us-east-1 aurora-east fail login access_denied while firing"
	echo "us-east-1 - fail tgt preauth_failed one"
	echo "us-east-1 - fail tgt preauth_failed two"
	echo "us-east-1 - fail tgt preauth_failed three"
	echo "us-east-1 aurora-east ok"
	echo "us-west-2 - ok"
	echo "drain"
	echo "metrics $KW_TMP/m3"
	echo "reload $KW_TMP/c1b.yml"
	echo "drain"
	echo "metrics $KW_TMP/m4"
} | drive t1 "$KW_TMP/c1.yml"
check_eq "driver exits 0 after draining" 0 "$(cat "$KW_TMP/t1.rc")"
F='{aws_region="us-east-1",db_cluster="aurora-east"}'
check_eq "after 2 failures: not firing" 0 "$(mval "$KW_TMP/m1" "krbwatch_alert_firing$F")"
check_eq "after 2 failures: 2 consecutive failures counted" 2 \
    "$(mval "$KW_TMP/m1" "krbwatch_alert_consecutive_failures$F")"
check "after 2 failures: nothing was posted" sh -c "! grep -q notifications_total'{' $KW_TMP/m1"
check_eq "after 3 failures: firing" 1 "$(mval "$KW_TMP/m2" "krbwatch_alert_firing$F")"
check_eq "after 3 failures: one notification sent" 1 \
    "$(mval "$KW_TMP/m2" 'krbwatch_alert_notifications_total{webhook="1",result="sent"}')"
check "names outside the configuration get no state" \
    sh -c "! grep -e eu-west-1 -e nope $KW_TMP/m3"
check_eq "4 bodies: cluster firing, Region firing, cluster resolved, Region gone" 4 \
    "$(nbodies good)"
B1=$KW_TMP/good/0001.json B2=$KW_TMP/good/0002.json B3=$KW_TMP/good/0003.json
B4=$KW_TMP/good/0004.json
check_eq "body 1: version 4, firing, receiver krbwatch" "4 firing krbwatch" \
    "$(field version "$B1") $(field status "$B1") $(field receiver "$B1")"
check_eq "body 1: labels" \
    '{"alertname": "KrbwatchAuthFailing", "aws_region": "us-east-1", "db_cluster": "aurora-east", "hop": "service_ticket", "instance": "'"$(hostname)"':10088", "reason": "trust_key", "severity": "critical"}' \
    "$(field alerts.0.labels "$B1")"
check_eq "body 1: alert status firing, endsAt zero" "firing 0001-01-01T00:00:00Z" \
    "$(field alerts.0.status "$B1") $(field alerts.0.endsAt "$B1")"
S1=$(field alerts.0.startsAt "$B1")
check "body 1: startsAt is RFC 3339 UTC ($S1)" sh -c \
    "echo '$S1' | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z\$'"
check_eq "body 1: summary" "Kerberos authentication failing to aurora-east in us-east-1" \
    "$(field alerts.0.annotations.summary "$B1")"
check_eq "body 1: description says 3 failures and quotes the detail, escaped" \
    "3 consecutive probe runs failed; the first failing hop is service_ticket (trust_key): kdc said \"no\" \\ back$(printf '\001')slash $(printf '\357\277\275') tab$(printf '\t')here" \
    "$(field alerts.0.annotations.description "$B1")"
check_eq "body 1: groupLabels" \
    '{"alertname": "KrbwatchAuthFailing", "aws_region": "us-east-1", "db_cluster": "aurora-east"}' \
    "$(field groupLabels "$B1")"
check_eq "body 1: commonLabels are the alert's" "$(field alerts.0.labels "$B1")" \
    "$(field commonLabels "$B1")"
check_eq "body 2: the Region as a whole: no db_cluster label, hop tgt" \
    "firing <absent> tgt preauth_failed" \
    "$(field status "$B2") $(field alerts.0.labels.db_cluster "$B2") $(field alerts.0.labels.hop "$B2") $(field alerts.0.labels.reason "$B2")"
check_eq "body 3: resolved, same labels and fingerprint as the firing" \
    "resolved $(field alerts.0.labels "$B1") $(field alerts.0.fingerprint "$B1")" \
    "$(field status "$B3") $(field alerts.0.labels "$B3") $(field alerts.0.fingerprint "$B3")"
check "body 3: endsAt is set" test "$(field alerts.0.endsAt "$B3")" != "0001-01-01T00:00:00Z"
check_eq "body 3: startsAt is firing's" "$(field alerts.0.startsAt "$B1")" \
    "$(field alerts.0.startsAt "$B3")"
check_eq "body 4: a Region removed while firing is resolved" \
    "resolved us-east-1 <absent>" \
    "$(field status "$B4") $(field alerts.0.labels.aws_region "$B4") $(field alerts.0.labels.db_cluster "$B4")"
check "body 4: says it is no longer watched" grep -q "No longer watched" "$B4"
check "no body names the healthy Region" sh -c "! grep -l us-west-2 $KW_TMP/good/*.json"
check_eq "after recovery: the cluster is not firing, the Region is" "0 1" \
    "$(mval "$KW_TMP/m3" "krbwatch_alert_firing$F") $(mval "$KW_TMP/m3" 'krbwatch_alert_firing{aws_region="us-east-1",db_cluster=""}')"
check "after the reload: the removed Region's series are gone" \
    sh -c "! grep 'krbwatch_alert_.*us-east-1' $KW_TMP/m4"
check_eq "after the reload: the healthy Region is kept" 0 \
    "$(mval "$KW_TMP/m4" 'krbwatch_alert_firing{aws_region="us-west-2",db_cluster=""}')"
check_eq "4 notifications sent, nothing queued" "4 0" \
    "$(mval "$KW_TMP/m4" 'krbwatch_alert_notifications_total{webhook="1",result="sent"}') $(mval "$KW_TMP/m4" 'krbwatch_alert_queue_length{webhook="1"}')"
check "the bearer token is sent" grep -qx "Authorization: Bearer $TOKEN" "$KW_TMP/good/0001.headers"
check "the extra header is sent" grep -qx "X-Scope-OrgID: krbwatch-test" "$KW_TMP/good/0001.headers"
check "the body is sent as JSON" grep -qx "Content-Type: application/json" "$KW_TMP/good/0001.headers"
check "the reload dropped the extra header" sh -c "! grep -q X-Scope-OrgID $KW_TMP/good/0004.headers"
check "the token is not in the log" sh -c "! grep -qF '$TOKEN' $KW_TMP/t1.err"
check "the URL is not in the log" sh -c "! grep -qF -e '127.0.0.1:$PORT' -e secret-path $KW_TMP/t1.err"
check "the log names the webhook by its place" grep -q "webhook 1: notification delivered" \
    "$KW_TMP/t1.err"
check "the log says firing and resolved" sh -c "grep -q 'us-east-1/aurora-east: firing' $KW_TMP/t1.err && grep -q 'us-east-1/aurora-east: resolved' $KW_TMP/t1.err"

# --- 2. retries: a receiver that fails twice, then accepts ---------------------------------
receiver flaky --fail-first 2
conf "$KW_TMP/c2.yml" "$REGIONS" "  after_failures: 1
  webhooks:
    - { url: http://127.0.0.1:$PORT/hook, max_retries: 3, backoff: 50ms }"
printf 'us-west-2 - fail tgt timeout x\ndrain\nmetrics %s\n' "$KW_TMP/m5" | drive t2 "$KW_TMP/c2.yml"
check_eq "flaky receiver: driver exits 0" 0 "$(cat "$KW_TMP/t2.rc")"
check_eq "flaky receiver: 3 requests, 500 500 200" "500 500 200" \
    "$(awk '{ print $2 }' "$KW_TMP/flaky/requests" | tr '\n' ' ' | sed 's/ $//')"
check "flaky receiver: the same body every time" sh -c \
    "cmp -s $KW_TMP/flaky/0001.json $KW_TMP/flaky/0003.json"
check_eq "flaky receiver: sent 1 after 2 retries" "1 2" \
    "$(mval "$KW_TMP/m5" 'krbwatch_alert_notifications_total{webhook="1",result="sent"}') $(mval "$KW_TMP/m5" 'krbwatch_alert_notification_retries_total{webhook="1"}')"
check "flaky receiver: the retries are logged with their backoff" sh -c \
    "grep -q 'webhook 1: attempt 1 of 4 failed: HTTP status 500; retrying in 50 ms' $KW_TMP/t2.err && grep -q 'attempt 2 of 4 failed: HTTP status 500; retrying in 100 ms' $KW_TMP/t2.err"

# --- 3. a receiver that is down and one that never answers ---------------------------------
receiver stalled --delay 30
DOWN=$(free_port)
conf "$KW_TMP/c3.yml" "$REGIONS" "  after_failures: 1
  webhooks:
    - { url: http://127.0.0.1:$DOWN/hook, max_retries: 2, backoff: 50ms }
    - { url: http://127.0.0.1:$PORT/hook, max_retries: 1, backoff: 50ms, timeout: 700ms }"
{
	echo "mark s"
	echo "us-east-1 pg-east fail login gss x"
	echo "mark a"
	echo "pause 200"
	echo "mark b"
	echo "us-east-1 pg-east ok"
	echo "us-east-1 pg-east fail login gss y"
	echo "mark c"
	echo "drain"
	echo "metrics $KW_TMP/m6"
} | drive t3 "$KW_TMP/c3.yml"
check_eq "dead receivers: the driver exits 0" 0 "$(cat "$KW_TMP/t3.rc")"
s=$(awk '$2 == "s" { print $3 }' "$KW_TMP/t3.out")
a=$(awk '$2 == "a" { print $3 }' "$KW_TMP/t3.out")
b=$(awk '$2 == "b" { print $3 }' "$KW_TMP/t3.out")
# a post that blocked would hold the loop for the whole 1.4 s the stalled receiver takes
check "dead receivers: queuing a post does not wait for it ($((a - s)) ms)" \
    test "$((a - s))" -lt 500
check "dead receivers: the loop keeps its timers (a 200 ms pause took $((b - a)) ms)" \
    test "$((b - a))" -ge 150 -a "$((b - a))" -lt 1000
check_eq "receiver down: 3 notifications failed after 2 retries each" "3 6" \
    "$(mval "$KW_TMP/m6" 'krbwatch_alert_notifications_total{webhook="1",result="failed"}') $(mval "$KW_TMP/m6" 'krbwatch_alert_notification_retries_total{webhook="1"}')"
check_eq "stalled receiver: 3 notifications failed after 1 retry each" "3 3" \
    "$(mval "$KW_TMP/m6" 'krbwatch_alert_notifications_total{webhook="2",result="failed"}') $(mval "$KW_TMP/m6" 'krbwatch_alert_notification_retries_total{webhook="2"}')"
check_eq "stalled receiver: every attempt reached it" 6 "$(nbodies stalled)"
check "receiver down: logged as such" grep -q "webhook 1: notification not delivered after 3 attempts: Couldn't connect to server" "$KW_TMP/t3.err"
check "stalled receiver: logged as a timeout" grep -q "webhook 2: notification not delivered after 2 attempts: Timeout was reached" "$KW_TMP/t3.err"
check_eq "dead receivers: nothing left queued" "0 0" \
    "$(mval "$KW_TMP/m6" 'krbwatch_alert_queue_length{webhook="1"}') $(mval "$KW_TMP/m6" 'krbwatch_alert_queue_length{webhook="2"}')"

# --- 4. the queue is bounded: a slow receiver and a burst ----------------------------------
receiver slow --delay 1
conf "$KW_TMP/c4.yml" "$REGIONS" "  after_failures: 1
  webhooks:
    - { url: http://127.0.0.1:$PORT/hook, queue: 2, max_retries: 0 }"
{
	echo "us-east-1 aurora-east fail tgt timeout 1"
	echo "us-east-1 aurora-east ok"
	echo "us-east-1 aurora-east fail tgt timeout 3"
	echo "us-east-1 aurora-east ok"
	echo "us-east-1 aurora-east fail tgt timeout 5"
	echo "metrics $KW_TMP/m7"
	echo "drain"
	echo "metrics $KW_TMP/m8"
} | drive t4 "$KW_TMP/c4.yml"
check_eq "burst: driver exits 0" 0 "$(cat "$KW_TMP/t4.rc")"
check_eq "burst: the queue holds 2, 3 dropped" "2 3" \
    "$(mval "$KW_TMP/m7" 'krbwatch_alert_queue_length{webhook="1"}') $(mval "$KW_TMP/m7" 'krbwatch_alert_notifications_total{webhook="1",result="dropped"}')"
check_eq "burst: the one on the wire and the newest are delivered" "2 0" \
    "$(mval "$KW_TMP/m8" 'krbwatch_alert_notifications_total{webhook="1",result="sent"}') $(mval "$KW_TMP/m8" 'krbwatch_alert_queue_length{webhook="1"}')"
check_eq "burst: the receiver got the first and the last" "firing 1 firing 5" \
    "$(field status "$KW_TMP/slow/0001.json") $(field alerts.0.annotations.description "$KW_TMP/slow/0001.json" | sed 's/.*: //') $(field status "$KW_TMP/slow/0002.json") $(field alerts.0.annotations.description "$KW_TMP/slow/0002.json" | sed 's/.*: //')"
check "burst: the drops are logged" grep -q "webhook 1: queue full (2), dropped the oldest notification" "$KW_TMP/t4.err"

# --- 5. a receiver that refuses the body is not retried ------------------------------------
receiver refuses --status 400
conf "$KW_TMP/c5.yml" "$REGIONS" "  after_failures: 1
  webhooks:
    - { url: http://127.0.0.1:$PORT/hook, max_retries: 5, backoff: 50ms }"
printf 'us-west-2 - fail tgt timeout x\ndrain\nmetrics %s\n' "$KW_TMP/m9" | drive t5 "$KW_TMP/c5.yml"
check_eq "HTTP 400: failed at once, no retry" "1 1" \
    "$(mval "$KW_TMP/m9" 'krbwatch_alert_notifications_total{webhook="1",result="failed"}') $(nbodies refuses)"

# --- 6. the daemon with a webhook: metrics, reload, clean exit -----------------------------
KPORT=$(free_port)
write_config "$KW_TMP/k.yml" "$KPORT" "alerts:
  webhooks:
    - { url: $GOOD_URL, bearer_token_file: $KW_TMP/hook.token }"
if start_krbwatch "$KW_TMP/k.yml" "$KPORT"; then
	ok "krbwatch starts with a webhook"
	check_eq "krbwatch exports the webhook's queue" 0 \
	    "$(metric 'krbwatch_alert_queue_length{webhook="1"}')"
	kill -HUP "$KW_PID"
	wait_for 10 grep -q "reloaded" "$KW_TMP/krbwatch.log"
	check_eq "after SIGHUP: reload succeeded" 1 "$(metric krbwatch_config_last_reload_success)"
	stop_krbwatch
	check_eq "krbwatch exits 0" 0 "$KW_RC"
	check "krbwatch logs neither the token nor the URL" \
	    sh -c "! grep -qF -e '$TOKEN' -e secret-path $KW_TMP/krbwatch.log"
else
	not_ok "krbwatch starts with a webhook"
	sed 's/^/#   /' "$KW_TMP/krbwatch.log"
fi

# --- 7. SIGTERM with notifications queued: delivered first, or given up within 3 s ---------
# A receiver that takes 1 s to answer: SIGTERM arrives while the firing is in flight.
receiver slowstop --delay 1
KPORT=$(free_port)
write_config "$KW_TMP/k7.yml" "$KPORT" "alerts:
  after_failures: 1
  webhooks:
    - { url: http://127.0.0.1:$PORT/hook }"
: >"$KW_TMP/krbwatch.log"
if start_krbwatch "$KW_TMP/k7.yml" "$KPORT" && wait_for 10 test -e "$KW_TMP/slowstop/0001.json"; then
	stop_krbwatch
	check_eq "SIGTERM while a notification is in flight: exit 0" 0 "$KW_RC"
	check "... it says it delivers the queue first" \
	    grep -qE 'stopping: delivering [0-9]+ queued notifications? first \(at most 3 s\)' "$KW_TMP/krbwatch.log"
	check "... the receiver answered it before krbwatch left" grep -qx "0001 200" "$KW_TMP/slowstop/requests"
	check "... and krbwatch saw the answer" grep -q "webhook 1: notification delivered" "$KW_TMP/krbwatch.log"
	check "... then stopped" grep -q "stopping: the queued notifications are delivered or given up" "$KW_TMP/krbwatch.log"
else
	not_ok "krbwatch fires a webhook to the slow receiver"
	sed 's/^/#   /' "$KW_TMP/krbwatch.log"
fi

# No receiver at all, and retries for minutes: krbwatch gives up after 3 s, within the unit's
# TimeoutStopSec=5s (stop_krbwatch's own limit: KW_RC would be 124).
KPORT=$(free_port)
write_config "$KW_TMP/k8.yml" "$KPORT" "alerts:
  after_failures: 1
  webhooks:
    - { url: http://127.0.0.1:$(free_port)/hook, max_retries: 20, backoff: 1s }"
: >"$KW_TMP/krbwatch.log"
if start_krbwatch "$KW_TMP/k8.yml" "$KPORT" && wait_for 10 grep -q "webhook 1: attempt 1 of 21 failed" "$KW_TMP/krbwatch.log"; then
	kill -TERM "$KW_PID"
	wait_for 5 grep -q "SIGTERM: stopping" "$KW_TMP/krbwatch.log" && kill -HUP "$KW_PID"
	check "SIGHUP while draining is ignored" wait_for 5 grep -q "SIGHUP: ignored, stopping" "$KW_TMP/krbwatch.log"
	stop_krbwatch
	check_eq "SIGTERM with the receiver down: exit 0 before systemd would kill it" 0 "$KW_RC"
	check "... saying how many notifications it could not deliver" \
	    grep -qE 'stopping: [0-9]+ notifications? not delivered within 3 s' "$KW_TMP/krbwatch.log"
	check "... and did not reload on the way" sh -c "! grep -q 'SIGHUP: reloading' '$KW_TMP/krbwatch.log'"
else
	not_ok "krbwatch retries a webhook to a closed port"
	sed 's/^/#   /' "$KW_TMP/krbwatch.log"
fi
