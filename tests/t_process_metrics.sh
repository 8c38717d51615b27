#!/bin/sh
# The standard process metrics (daemon/process_metrics.c) against the real binary: the names,
# HELP and TYPE every Prometheus client library emits, accepted by promtool, and values that
# agree with what /proc says about the same process at the same moment.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
write_config "$KW_TMP/k.yml" "$port"
at_exit stop_krbwatch
before=$(date +%s)
check "krbwatch starts" start_krbwatch "$KW_TMP/k.yml" "$port"
after=$(date +%s)
scrape >"$KW_TMP/m1.txt"
v() { awk -v n="$1" '$1 == n { print $2 }' "$2"; }

# client_golang's exact HELP texts: what dashboards and rules written for any exporter expect
for l in \
    "process_cpu_seconds_total counter Total user and system CPU time spent in seconds." \
    "process_open_fds gauge Number of open file descriptors." \
    "process_max_fds gauge Maximum number of open file descriptors." \
    "process_virtual_memory_bytes gauge Virtual memory size in bytes." \
    "process_resident_memory_bytes gauge Resident memory size in bytes." \
    "process_start_time_seconds gauge Start time of the process since unix epoch in seconds."; do
	set -- $l; name=$1 type=$2; shift 2
	check "$name: HELP as client_golang writes it" grep -qxF "# HELP $name $*" "$KW_TMP/m1.txt"
	check "$name: TYPE $type" grep -qxF "# TYPE $name $type" "$KW_TMP/m1.txt"
	check "$name: one series, without labels" \
	    test "$(grep -c "^$name " "$KW_TMP/m1.txt")" -eq 1
done
check "promtool check metrics accepts /metrics with them" \
    sh -c "promtool check metrics <'$KW_TMP/m1.txt'"

start=$(v process_start_time_seconds "$KW_TMP/m1.txt")
check "process_start_time_seconds is when the test started it ($before <= ${start%.*} <= $after)" \
    sh -c "[ ${start%.*} -ge $before ] && [ ${start%.*} -le $after ]"
kst=$(v krbwatch_start_time_seconds "$KW_TMP/m1.txt")
check "... and agrees with krbwatch_start_time_seconds ($kst) within a second (both read the clock at start)" \
    sh -c "[ $((${start%.*} - kst)) -ge -1 ] && [ $((${start%.*} - kst)) -le 1 ]"

# RSS and descriptors move between two reads: compare within a margin, not to the byte
rss=$(v process_resident_memory_bytes "$KW_TMP/m1.txt")
rss_proc=$(( $(awk '/^VmRSS:/ { print $2 }' "/proc/$KW_PID/status") * 1024 ))
check "process_resident_memory_bytes > 0 and within 4 MiB of VmRSS ($rss, $rss_proc)" \
    python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(not (a > 0 and abs(a - b) < 4 << 20))" "$rss" "$rss_proc"
vsz=$(v process_virtual_memory_bytes "$KW_TMP/m1.txt")
check "process_virtual_memory_bytes >= the resident memory ($vsz)" \
    python3 -c "import sys; sys.exit(not float(sys.argv[1]) >= float(sys.argv[2]))" "$vsz" "$rss"
fds=$(v process_open_fds "$KW_TMP/m1.txt")
fds_proc=$(ls "/proc/$KW_PID/fd" | wc -l)
# probes open and close sockets every second, and the scrape has its own: a margin of 8
check "process_open_fds > 2 and within 8 of /proc/PID/fd's $fds_proc ($fds)" \
    sh -c "[ $fds -gt 2 ] && [ $fds -ge $((fds_proc - 8)) ] && [ $fds -le $((fds_proc + 8)) ]"
check_eq "process_max_fds is the soft limit of /proc/PID/limits" \
    "$(awk '/^Max open files/ { print $4 }' "/proc/$KW_PID/limits")" "$(v process_max_fds "$KW_TMP/m1.txt")"

# CPU: a counter that never goes back, and that work makes go up (it counts in clock ticks, so
# scrapes in batches of 20 until it moves, for at most a minute)
cpu1=$(v process_cpu_seconds_total "$KW_TMP/m1.txt")
cpu_moved() {
	curl -fsS -o /dev/null "http://127.0.0.1:$port/metrics?[1-20]" &&
	scrape >"$KW_TMP/m2.txt" &&
	python3 -c "import sys; sys.exit(not float(sys.argv[2]) > float(sys.argv[1]) >= 0)" \
	    "$cpu1" "$(v process_cpu_seconds_total "$KW_TMP/m2.txt")"
}
check "process_cpu_seconds_total goes up with work" wait_for 60 cpu_moved
echo "# figure: process_cpu_seconds_total $cpu1 -> $(v process_cpu_seconds_total "$KW_TMP/m2.txt") s"
check "process_open_fds after them: none leaked ($fds -> $(v process_open_fds "$KW_TMP/m2.txt"))" \
    [ "$(v process_open_fds "$KW_TMP/m2.txt")" -le $((fds + 8)) ]
stop_krbwatch
check_eq "krbwatch stops cleanly" 0 "$KW_RC"
