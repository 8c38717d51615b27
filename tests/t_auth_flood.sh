#!/bin/sh
# Issue 17, attack 2: a flood of wrong basic-auth credentials must not stall the loop.  Before the
# bcrypt budget (daemon/web.c) every wrong password or unknown user ran a full bcrypt on the loop
# (cost 10, about 56 ms here): 64 guessing clients made a good scrape wait seconds and the probes
# recorded false timeouts against healthy KDCs.  Here: the lab, krbwatch with a cost-10 user,
# 64 clients guessing for 15 s in another process; good scrapes must be answered (well within
# Prometheus' 10 s scrape timeout) and no probe may record a timeout.  The latencies are printed
# as figures, not asserted tightly: the machine is shared.
. "$(dirname "$0")/lib.sh"
. "$KW_TOP/tests/lab_session.sh"

lab_session "${KW_AUTHFLOOD_NS:-taf}" 1s 900ms
hash=$(python3 -W ignore -c 'import crypt
print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))')
printf 'web:\n  basic_auth_users:\n    prom: "%s"\n' "$hash" >>"$CONF"
"$LAB" exec $E "$KW_BIN" -c "$CONF" 2>"$KWLOG" &
kw_pid=$!

get() { "$LAB" exec $E curl -fsS --max-time "${2:-3}" -u prom:s3cret "http://$KW_LAB_LISTEN$1"; }
timeouts() {	# the sum of every probe's timeout failures
	get /metrics 30 | awk '/^krbwatch_probe_failures_total\{.*reason="timeout"/ { n += $2 }
	    END { print n + 0 }'
}
check "krbwatch becomes ready in the lab with basic auth on" wait_for 30 get /-/ready
# one good scrape first: Prometheus' password is then known, as after its first scrape
before=$(timeouts)

"$LAB" exec $E python3 "$KW_TOP/tests/auth_flood.py" "$KW_LAB_LISTEN" 64 15 \
    >"$KW_TMP/flood.out" 2>&1 &
flood=$!
stop_flood() { kill "$flood" 2>/dev/null; }
at_exit stop_flood
sleep 1
worst=0 n=0 failed=0
while kill -0 "$flood" 2>/dev/null && [ "$n" -lt 40 ]; do
	t0=$(date +%s%N)
	if get /metrics 30 >/dev/null 2>&1; then
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		[ "$ms" -gt "$worst" ] && worst=$ms
	else
		failed=$((failed + 1))
	fi
	n=$((n + 1))
	sleep 0.2
done
wait "$flood"
echo "# figure: good scrapes under a 64-client wrong-password flood: $n, worst ${worst} ms," \
    "$failed unanswered; flood $(cat "$KW_TMP/flood.out")"
check_eq "every good scrape during the flood was answered" 0 "$failed"
check "the worst good scrape took under Prometheus' 10 s scrape timeout" [ "$worst" -lt 10000 ]
# two more rounds of every probe after the flood, then count
sleep 3
after=$(timeouts)
echo "# figure: probe timeouts recorded: $before before the flood, $after after"
check_eq "no probe recorded a timeout against the healthy lab" "$before" "$after"
lines=$(grep -c 'bcrypt budget' "$KWLOG")
echo "# figure: log lines about refused checks: $lines"
check "refused checks are logged, at most one line a minute" test "$lines" -ge 1 -a "$lines" -le 2
