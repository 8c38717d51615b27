#!/bin/sh
# Issue 17, attack 3: a resolver that answers every SRV question with 2,400 targets and every A
# question with 200 addresses (tests/dns_flood.py, on loopback; no lab, no root).  Before the
# bounds, one KDC run opened a socket per target, ran out of descriptors (1,023 of 1,024), logged
# thousands of "Too many open files" lines, refused scrapes and left thousands of krbwatch_kdc_up
# series.  Here, for 12 s with a 1 s interval: every scrape is answered, the descriptors stay
# bounded, the log stays short and the series count stays bounded.  The figures are printed.
. "$(dirname "$0")/lib.sh"

python3 "$KW_TOP/tests/dns_flood.py" "$KW_TMP/dnsport" 2400 200 2>"$KW_TMP/dns.log" &
dns_pid=$!
stop_dns() { kill "$dns_pid" 2>/dev/null; }
at_exit stop_dns
wait_for 10 test -s "$KW_TMP/dnsport" || { not_ok "the flooding resolver starts"; exit 1; }
dport=$(cat "$KW_TMP/dnsport")
port=$(free_port)
write_config "$KW_TMP/k.yml" "$port"
# every realm's KDCs from DNS, every Region asking the flooding resolver
sed -i -e "s/kdcs: \[127.0.0.1:1\]/kdcs: dns/" -e "s/resolvers: \[127.0.0.1:1\]/resolvers: [127.0.0.1:$dport]/" \
    -e "s/kdcs: { AWSMAD.KERBEROS.COM: \[127.0.0.1:1\] }/kdcs: { AWSMAD.KERBEROS.COM: dns }/" \
    -e "s/^timeout: .*/timeout: 900ms/" "$KW_TMP/k.yml"
# a descriptor limit that a run of thousands of sockets exhausts, whatever the host's default
ulimit -n 1024
start_krbwatch "$KW_TMP/k.yml" "$port" || { not_ok "krbwatch starts"; exit 1; }
at_exit stop_krbwatch
fds() { ls "/proc/$KW_PID/fd" 2>/dev/null | wc -l; }
maxfd=0 scrapes=0 failed=0
end=$(( $(date +%s) + 12 ))
while [ "$(date +%s)" -lt "$end" ]; do
	n=$(fds); [ "$n" -gt "$maxfd" ] && maxfd=$n
	if scrape >"$KW_TMP/m" 2>/dev/null; then scrapes=$((scrapes + 1)); else failed=$((failed + 1)); fi
	sleep 0.1
done
series=$(grep -c '^krbwatch_kdc_up{' "$KW_TMP/m")
lines=$(wc -l <"$KW_TMP/krbwatch.log")
emfile=$(grep -c 'Too many open files' "$KW_TMP/krbwatch.log")
echo "# figure: under a 2,400-target SRV flood for 12 s: $scrapes scrapes answered, $failed refused," \
    "at most $maxfd descriptors, $series krbwatch_kdc_up series, $lines log lines ($emfile EMFILE)"
check_eq "every scrape was answered" 0 "$failed"
check "descriptors stayed bounded (at most 200; the limit is 1024)" [ "$maxfd" -le 200 ]
check "no 'Too many open files'" [ "$emfile" -eq 0 ]
check "the log stayed short (at most 200 lines in 12 s)" [ "$lines" -le 200 ]
check "krbwatch_kdc_up series stayed bounded (at most 512)" [ "$series" -le 512 ]
check "the bound is logged, with a count" grep -q 'more than the .* probed' "$KW_TMP/krbwatch.log"
