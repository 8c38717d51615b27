#!/bin/sh
# The sd_notify conversation, captured on a test NOTIFY_SOCKET: readiness, watchdog pings,
# a reload, a failed reload, and stopping.
. "$(dirname "$0")/lib.sh"

sock=$KW_TMP/notify.sock
out=$KW_TMP/notify.log
python3 "$KW_TOP/tests/notify_listen.py" "$sock" "$out" &
lpid=$!
stop_listener() { kill "$lpid" 2>/dev/null; }
at_exit stop_listener
wait_for 5 grep -q listening "$out"

port=$(free_port)
write_config "$KW_TMP/k.yml" "$port"
at_exit stop_krbwatch
# WATCHDOG_PID must name krbwatch itself, so the shell execs into it
NOTIFY_SOCKET=$sock WATCHDOG_USEC=400000 \
	sh -c 'WATCHDOG_PID=$$ exec "$0" -c "$1" 2>>"$2"' "$KW_BIN" "$KW_TMP/k.yml" "$KW_TMP/krbwatch.log" &
KW_PID=$! KW_PORT=$port
check "READY=1 arrives" wait_for 10 grep -q '^READY=1' "$out"
check "the listener is bound when READY=1 is sent" curl -fsS -o /dev/null "http://127.0.0.1:$port/-/healthy"
check "READY=1 carries a STATUS= line naming the Regions" \
	grep -q '^READY=1 | STATUS=us-east-1: .*; us-west-2: ' "$out"
check "WATCHDOG=1 pings keep coming (half of WATCHDOG_USEC)" \
	wait_for 5 sh -c "[ \$(grep -c '^WATCHDOG=1' '$out') -ge 5 ]"

runs() { v=$(metric 'krbwatch_probe_runs_total{aws_region="us-east-1",probe="dns"}'); [ "${v:-0}" -ge 3 ]; }
check "three runs of a probe go by" wait_for 10 runs
check "STATUS= is sent when it changes, never twice the same in a row" \
	sh -c "[ -z \"\$(grep '^STATUS=' '$out' | uniq -d)\" ] && [ \$(grep -c '^STATUS=' '$out') -ge 1 ]"

kill -HUP "$KW_PID"
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1" \
	wait_for 5 sh -c "grep -v -e '^WATCHDOG' -e '^STATUS' -e '^listening' '$out' |
		sed -e 's/MONOTONIC_USEC=[0-9][0-9]*/MONOTONIC_USEC=N/' -e 's/STATUS=.*/STATUS=.../' |
		tr '\n' '/' | grep -qx 'READY=1 | STATUS=.../RELOADING=1 | MONOTONIC_USEC=N/READY=1 | STATUS=.../'"

printf 'bogus_key: 1\n' >>"$KW_TMP/k.yml"
kill -HUP "$KW_PID"
check "a failed reload says so in STATUS=" \
	wait_for 5 grep -q '^READY=1 | STATUS=reload failed, kept the previous configuration; ' "$out"

stop_krbwatch
check_eq "SIGTERM: exit 0" "0" "$KW_RC"
check_eq "the whole sequence, watchdog and status updates left out" \
	"READY=1/RELOADING=1/READY=1/RELOADING=1/READY=1/STOPPING=1/" \
	"$(grep -v -e '^WATCHDOG' -e '^STATUS' -e '^listening' "$out" | sed 's/ |.*//' | tr '\n' '/')"
