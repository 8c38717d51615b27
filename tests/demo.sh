#!/bin/sh
# make demo: start the lab, run krbwatch in the us-east-1 client namespace on the configuration
# the lab generated (both Regions), and show what krbwatch sees — healthy, then with one real
# fault (us-west-2's copy of the trust key is stale), then healed.
# KEEP=1 leaves the lab and krbwatch running afterwards.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
lab=$top/tests/lab/lab
bin=$top/krbwatch

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: the lab needs root (network namespaces)" >&2
	exit 1
fi
"$lab" down >/dev/null 2>&1
"$lab" up || { echo "demo: the lab did not come up" >&2; exit 1; }
eval "$("$lab" env)"

kw_pid=""
finish() {
	[ "${KEEP:-0}" = 1 ] && return
	[ -n "$kw_pid" ] && kill -TERM "$kw_pid" 2>/dev/null && wait "$kw_pid" 2>/dev/null
	"$lab" down >/dev/null 2>&1
}
trap finish EXIT
trap 'exit 130' INT TERM

in_client() { "$lab" exec us-east-1 "$@"; }
get() { in_client curl -fsS --max-time 3 "http://$KW_LAB_LISTEN$1"; }

# called directly, not through in_client: `lab exec` execs into krbwatch, so $! is its pid
"$lab" exec us-east-1 env KRB5_CONFIG="$KW_LAB_KRBWATCH_KRB5_CONFIG" "$bin" -c "$KW_LAB_CONFIG" \
	2>"$KW_LAB_LOGS/krbwatch.log" &
kw_pid=$!

# wait (with a deadline) until every probe has a result
i=0
until get /-/ready >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 "$kw_pid" 2>/dev/null; then
		echo "demo: krbwatch did not become ready; its log:" >&2
		cat "$KW_LAB_LOGS/krbwatch.log" >&2
		exit 1
	fi
	sleep 0.1
done

summary() {
	get /metrics | grep -E '^krbwatch_(region_auth_up|login_success|probe_failures_total|config_last_reload_success|build_info)|^krbwatch_hop_success.* 0$' |
		awk '{ printf "  %-100s %s\n", $1, $2 }'
	echo "  STATUS: $(get / | sed -n 's/^<p>\(.*\)<\/p>$/\1/p' | head -1)"
}

echo
echo "== krbwatch $("$bin" --version | cut -d' ' -f2) is watching both Regions of the lab from $KW_LAB_NS_CLIENT"
echo "   configuration: $KW_LAB_CONFIG"
echo "   metrics:       ip netns exec $KW_LAB_NS_CLIENT curl http://$KW_LAB_LISTEN/metrics"
echo "   status page:   ip netns exec $KW_LAB_NS_CLIENT curl http://$KW_LAB_LISTEN/"
echo "   log:           $KW_LAB_LOGS/krbwatch.log"
echo
echo "== healthy"
summary

echo
echo "== fault: us-west-2's copy of the trust key missed a rotation (tests/lab/lab fault trust-broken us-west-2)"
"$lab" fault trust-broken us-west-2 >/dev/null
sleep 5	# a few probe intervals (2 s each), for the demo's reader; tests wait on conditions
summary

echo
echo "== what an operator runs on the bastion: krbwatch probe --region us-west-2"
in_client "$bin" probe -c "$KW_LAB_CONFIG" --region us-west-2
echo "   (exit $?)"

echo
echo "== healed (tests/lab/lab heal)"
"$lab" heal >/dev/null
sleep 5
summary
echo
if [ "${KEEP:-0}" = 1 ]; then
	echo "== left running (KEEP=1): stop with: kill $kw_pid; $lab down"
else
	echo "== stopping krbwatch and the lab (KEEP=1 leaves them running)"
fi
