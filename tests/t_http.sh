#!/bin/sh
# The HTTP endpoints and their limits, against the real binary on a loopback port.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
write_config "$KW_TMP/k.yml" "$port"
at_exit stop_krbwatch
check "krbwatch starts and answers /-/healthy" start_krbwatch "$KW_TMP/k.yml" "$port"

hdr=$(curl -sS -D - -o "$KW_TMP/m.txt" "http://127.0.0.1:$port/metrics")
check_eq "/metrics answers 200" "HTTP/1.1 200 OK" "$(printf '%s' "$hdr" | head -1 | tr -d '\r')"
check "/metrics has the text format's content type" \
	sh -c "printf '%s' \"\$1\" | grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8'" _ "$hdr"
check_eq "krbwatch_build_info carries the version" "1" \
	"$(awk '/^krbwatch_build_info\{version="'"$("$KW_BIN" --version | cut -d' ' -f2)"'"\} /{print $2}' "$KW_TMP/m.txt")"
check_eq "the first load counts as a successful reload" "1" \
	"$(awk '$1 == "krbwatch_config_last_reload_success" {print $2}' "$KW_TMP/m.txt")"
check "promtool check metrics accepts /metrics" sh -c "promtool check metrics <'$KW_TMP/m.txt'"

check_eq "HEAD /metrics answers 200 without a body" "0" \
	"$(curl -sS -I -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port/metrics")"
check_eq "POST is refused with 405" "405" \
	"$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics")"
check "405 names the allowed methods" sh -c \
	"curl -sS -D - -o /dev/null -X DELETE http://127.0.0.1:$port/ | grep -qi '^Allow: GET, HEAD'"
check_eq "a body is refused with 413" "413" \
	"$(curl -sS -o /dev/null -w '%{http_code}' -X POST --data 'x=1' "http://127.0.0.1:$port/metrics")"
check_eq "an unknown path is 404" "404" \
	"$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/probe?target=10.0.0.1")"
check_eq "/-/healthy is 200" "200" \
	"$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/-/healthy")"
check "a query string changes nothing: /metrics?target=x is /metrics" sh -c \
	"curl -fsS 'http://127.0.0.1:$port/metrics?target=10.9.9.9&module=x' | grep -q '^krbwatch_build_info' &&
	 ! curl -fsS 'http://127.0.0.1:$port/metrics?target=10.9.9.9' | grep -q 10.9.9.9"
check "/-/ready turns 200 once every probe has a result" \
	wait_for 10 curl -fsS -o /dev/null "http://127.0.0.1:$port/-/ready"
check "the status page names both Regions" sh -c \
	"curl -fsS http://127.0.0.1:$port/ | grep -q '<h2>us-east-1</h2>' &&
	 curl -fsS http://127.0.0.1:$port/ | grep -q '<h2>us-west-2</h2>'"

big=$(python3 -c 'print("a" * 16384)')
check_eq "headers over 8 KiB are refused with 400" "HTTP/1.1 400 Bad Request" \
	"$(python3 "$KW_TOP/tests/http_client.py" status "$port" "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: $big\r\n\r\n")"
check_eq "garbage is answered 400" "HTTP/1.1 400 Bad Request" \
	"$(python3 "$KW_TOP/tests/http_client.py" status "$port" '\x16\x03\x01 garbage\r\n\r\n')"

# A client that sends half a request and stalls is cut off after the 5 s timeout, while a
# normal scrape keeps working meanwhile.
python3 "$KW_TOP/tests/http_client.py" stall "$port" 12 >"$KW_TMP/stall" &
spid=$!
check "a scrape works while a client stalls" sh -c \
	"curl -fsS --max-time 2 http://127.0.0.1:$port/metrics | grep -q '^krbwatch_build_info'"
wait "$spid"
s=$(cat "$KW_TMP/stall")
check "the stalled client is closed by the server within 5-7 s (took ${s}s)" \
	awk -v s="$s" 'BEGIN { exit !(s != "open" && s >= 4.5 && s <= 7.5) }'

# At the cap of 256 connections, each new one closes the oldest: 262 idle clients lose 6,
# and a scraper still gets through.
closed=$(python3 "$KW_TOP/tests/http_client.py" flood "$port" 262 2)
check_eq "262 idle connections: the 6 oldest are closed at the cap of 256" "6" "$closed"
check "a scrape works after a connection flood" sh -c \
	"curl -fsS --max-time 2 http://127.0.0.1:$port/metrics | grep -q '^krbwatch_build_info'"

# All of it at once for 10 s: 1,000 idle connections (reopened as they are closed), 20
# slowloris clients, oversized headers and garbage in a loop; a normal scraper every 100 ms
# with Prometheus' default scrape timeout (10 s).  Every scrape must get /metrics: the idle
# sockets are closed first, and no new connection is pushed out before its request is read.
set -- $(python3 "$KW_TOP/tests/http_client.py" hostile "$port" 10 "$KW_PID" 2>"$KW_TMP/hostile.err")
echo "# figure: under attack, $2 of $3 scrapes answered; latency p50 $4 ms, p99 $5 ms, max $6 ms; at most $7 descriptors open"
check "under 1,000 idle connections, slowloris, oversized headers and garbage, every scrape gets /metrics ($2 of $3; $(cat "$KW_TMP/hostile.err"))" \
	[ "$3" -gt 0 -a "$2" -eq "$3" ]
# 256 open and at most 256 being closed (shut down, not yet freed by evhttp), plus krbwatch's own
check "... and krbwatch never holds more than 512 client sockets (at most $7 descriptors)" \
	[ "$7" -le 528 ]

stop_krbwatch
check_eq "SIGTERM: exit status 0" "0" "$KW_RC"
