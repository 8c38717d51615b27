#!/bin/bash
# make bench: krbwatch beside the alternatives, on this machine, now.  Writes bench/RESULTS.md
# from raw figures in bench/out/ (one JSON per measurement; not committed).
#
# Traffic goes only to loopback and to network namespaces the bench creates (bench/netns.sh) or
# to a private lab (tests/lab/lab with KW_LAB_NS=kwbench).  Needs root (namespaces, ports < 1024).
#
# Sections (KW_BENCH_SECTIONS, default all, in this order):
#   probes     1. DNS and KDC probes: CPU per probe and RSS, krbwatch vs blackbox_exporter at the
#                 same probes per second, both running in the same window
#   idle       2. idle RSS of each
#   metrics    3. /metrics: CPU per scrape, latency p50/p99 under wrk -c50, body sizes
#   chain      4a. chain+login CPU per cycle: krbwatch (once probe_chain is in probes/table.c)
#                 vs a cron-style shell probe (kinit, kvno, mariadb/psql) against the lab
#   scale      4b. 10/100/1000/3000 clusters over 10 Regions at 30 s: CPU share of one core and
#                 RSS; the heap by part (heaptrack) at 10 and 1000; RSS and the live heap after
#                 3, 10, 30, 60 cycles
#   floor      4d. the floor: a tight C loop (bench/floor.c) doing only a cluster cycle's own
#                 crypto, handshake and GSS token; compared with 4b's CPU per cluster cycle
#   isolation  4c. one Region's KDCs blackholed: the other Region's KDC RTT and cadence
#   page       5. the status page at 1,000 clusters: bytes and render time per request, and
#                 headless Chromium's load time (bench/page.sh)
# KW_BENCH_WINDOW: seconds of each probe window (default 60); KW_BENCH_REPORT_ONLY=1: only
# rebuild RESULTS.md from bench/out/ (a section without figures there is kept from the committed
# RESULTS.md: bench/report_keep.py).  The scale section's knobs: SCALE_CLUSTERS (sizes, default
# "10 100 1000 3000 1000": a size named twice gets a second window), SCALE_WINDOW (90 s),
# SCALE_PROFILE / SCALE_PROFILE_SECS (perf at 1000 clusters for 25 s; 0: none), SCALE_HEAP /
# SCALE_HEAP_SECS (heaptrack at "10 1000", 60 s), SCALE_GROW_CLUSTERS / _INTERVAL / _TIMEOUT (the
# growth check, 100 at 3s / 2s; 0: none); the floor's: FLOOR_ITERS, FLOOR_WIRE_ITERS.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
B=$TOP/bench
OUT=${KW_BENCH_OUT:-$B/out}
KW=${KW_BENCH_BIN:-$TOP/krbwatch}
WINDOW=${KW_BENCH_WINDOW:-60}
SECTIONS=${KW_BENCH_SECTIONS:-probes idle metrics chain scale floor isolation page}
LAB=$TOP/tests/lab/lab
export KW_LAB_NS=${KW_LAB_NS:-kwbench}
PATH=$PATH:/usr/sbin:/sbin
mkdir -p "$OUT"

report() { [ -z "${KW_BENCH_NO_REPORT:-}" ] || return 0; python3 "$B/report.py" "$OUT" >"$B/RESULTS.md.new" && mv "$B/RESULTS.md.new" "$B/RESULTS.md" && echo "bench: wrote bench/RESULTS.md" >&2; }
if [ -n "${KW_BENCH_REPORT_ONLY:-}" ]; then report; exit $?; fi
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (network namespaces)" >&2; exit 1; }
[ -x "$KW" ] || { echo "bench: build krbwatch first (make bench does)" >&2; exit 1; }

W=$(mktemp -d /tmp/kwbench.XXXXXX)
# The daemon runs as a copy named so that neither its name nor its command line contains
# "krbwatch": other people's tests on this machine stop their daemons by name, and took ours
# down mid-window once.
cp "$KW" "$W/kwb-daemon"
KWRUN=$W/kwb-daemon
. "$B/netns.sh"
kw_pid="" bb_pid="" drv_pid="" lab_up=0
stop_pid() { [ -n "$1" ] || return 0; kill -TERM "$1" 2>/dev/null; for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done; kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null; return 0; }
stop_all() { stop_pid "$drv_pid"; drv_pid=""; stop_pid "$kw_pid"; kw_pid=""; stop_pid "$bb_pid"; bb_pid=""; }
cleanup() {
	stop_all
	mkdir -p "$OUT/logs" && cp "$W"/*.log "$W"/*.yml "$W"/wrk-*.txt "$OUT/logs/" 2>/dev/null
	bn_down
	[ "$lab_up" = 1 ] && "$LAB" down >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "bench: $(date -u +%T) $*" >&2; }

# the machine, once per run; every JSON carries the load average at its start
python3 - "$OUT/machine.json" "$WINDOW" <<'PY'
import json, os, platform, subprocess, sys, time
lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
model = next((l.split(":", 1)[1].strip() for l in lscpu.splitlines() if l.startswith("Model name")), "?")
json.dump({"model": model, "cpus": os.cpu_count(), "kernel": platform.release(),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "loadavg": open("/proc/loadavg").read().split()[:3], "window": int(sys.argv[2]),
           "krbwatch": subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip(),
           "blackbox": subprocess.run(["dpkg-query", "-W", "-f=${Version}", "prometheus-blackbox-exporter"], capture_output=True, text=True).stdout,
           "wrk": subprocess.run(["dpkg-query", "-W", "-f=${Version}", "wrk"], capture_output=True, text=True).stdout},
          open(sys.argv[1], "w"), indent=1)
PY

# ---- the processes under test --------------------------------------------------------------
BB_PORT=19115
KW_PORT=10088
cat >"$W/bb.yml" <<'EOC'
modules:
  dns_srv:
    prober: dns
    timeout: 1s
    dns: { transport_protocol: udp, preferred_ip_protocol: ip4, query_name: _kerberos._udp.bench.test, query_type: SRV, valid_rcodes: [NOERROR] }
  dns_a:
    prober: dns
    timeout: 1s
    dns: { transport_protocol: udp, preferred_ip_protocol: ip4, query_name: bench.test, query_type: A, valid_rcodes: [NOERROR] }
  tcp_kdc:
    prober: tcp
    timeout: 1s
    tcp: { preferred_ip_protocol: ip4 }
EOC
start_bb() {
	bn_bg "$NS_C" "$W/bb.log" prometheus-blackbox-exporter --config.file="$W/bb.yml" \
	    --web.listen-address=127.0.0.1:$BB_PORT --log.level=warn
	bb_pid=$BG_PID
	for _ in $(seq 100); do in_c curl -fsS -o /dev/null "http://127.0.0.1:$BB_PORT/-/healthy" 2>/dev/null && return 0; sleep 0.1; done
	echo "bench: blackbox_exporter did not start" >&2; cat "$W/bb.log" >&2; return 1
}
# start_kw CONF: krbwatch in the client namespace; waits for /-/ready (every job produced a result)
start_kw() {
	bn_bg "$NS_C" "$W/kw.log" "$KWRUN" -c "$1"
	kw_pid=$BG_PID
	for _ in $(seq 600); do
		[ "$(in_c curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$KW_PORT/-/ready")" = 200 ] && return 0
		kill -0 "$kw_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench: krbwatch is not ready" >&2; tail "$W/kw.log" >&2; return 1
}
genconf() { python3 "$B/bench.py" genconf --keytab "$W/krbmon.keytab" --kdc-addrs "$KDC_ADDRS" "$@"; }
kwm() { in_c curl -fsS "http://127.0.0.1:$KW_PORT/metrics"; }
per_interval() { kwm | python3 -c "import sys; sys.path.insert(0, '$B'); import bench; print(int(bench.kw_counts(sys.stdin.read())['$1_per_interval']))"; }

need_bn() {
	[ -n "$bn_pids" ] && return 0
	say "bench network: namespaces $NS_S/$NS_C, krb5kdc+kadmind on $KDC_ADDRS addresses, named on 2"
	bn_up "$W" 100 || exit 1
}

# ---- 1. DNS and KDC probes ------------------------------------------------------------------
# probe_window KIND: krbwatch with a generated configuration whose probes are mostly KIND, and
# blackbox_exporter driven at krbwatch's rate of KIND probes, over the same window.
probe_window() {
	kind=$1
	case $kind in
	dns) genconf --regions "${DNS_REGIONS:-10}" --resolvers 2 --kdcs 1 >"$W/k-$kind.yml" ;;
	kdc) genconf --regions "${KDC_REGIONS:-10}" --resolvers 1 --kdcs "${KDCS_PER_REGION:-10}" >"$W/k-$kind.yml" ;;
	esac
	start_kw "$W/k-$kind.yml" || { stop_all; return 1; }
	start_bb || { stop_all; return 1; }	# else the next window's start_kw loses this pid
	rate=$(per_interval "$kind")   # interval is 1 s: probes per interval = per second
	case $kind in
	dns) targets="$RES1,dns_srv $RES1,dns_a $RES2,dns_srv $RES2,dns_a" ;;
	kdc) targets=$(sed -n 's/.*kdcs: { BENCH.TEST: \[\(.*\)\] }.*/\1/p' "$W/k-$kind.yml" | tr -d ' ' | tr ',' '\n' | sed 's/$/:88,tcp_kdc/' | tr '\n' ' ') ;;
	esac
	say "$kind: krbwatch does $rate $kind probes per 1 s interval; blackbox_exporter driven at $rate/s; window ${WINDOW}s"
	bn_bg "$NS_C" "$W/drv.log" python3 "$B/bench.py" drive --base 127.0.0.1:$BB_PORT --rate "$rate" \
	    --workers 6 --countfile "$W/bb.count" $targets
	drv_pid=$BG_PID
	sleep 5
	in_c python3 "$B/bench.py" window --kind "$kind" --kw-pid "$kw_pid" --bb-pid "$bb_pid" \
	    --kw-url "http://127.0.0.1:$KW_PORT/metrics" --countfile "$W/bb.count" \
	    --secs "$WINDOW" --step 10 --out "$OUT/probe-$kind.json" || return 1
	python3 - "$OUT/probe-$kind.json" "$rate" "$W/k-$kind.yml" "$(cat /proc/loadavg)" \
	    "$(ps -o %cpu= -p "$drv_pid")" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["rate"] = float(sys.argv[2]); d["config"] = open(sys.argv[3]).read()
d["loadavg_end"] = sys.argv[4]; d["driver_cpu_pct"] = sys.argv[5].strip()
json.dump(d, open(sys.argv[1], "w"), indent=1)
PY
	stop_all
}

# ---- 2. idle RSS ------------------------------------------------------------------------------
idle_rss() {
	# krbwatch: the shape of DESIGN.md's example (2 Regions, 2 resolvers, 2 KDCs each), 1 s
	# interval, after 5 cycles; blackbox_exporter: started, each module probed 5 times.
	genconf --regions 2 --resolvers 2 --kdcs 2 >"$W/k-idle.yml"
	start_kw "$W/k-idle.yml" || { stop_all; return 1; }
	start_bb || { stop_all; return 1; }
	for _ in 1 2 3 4 5; do
		for t in "$RES1&module=dns_srv" "$RES1&module=dns_a" "$(kdc_ip 1):88&module=tcp_kdc"; do
			in_c curl -fsS -o /dev/null "http://127.0.0.1:$BB_PORT/probe?target=$t"
		done
	done
	sleep 5
	printf '{"krbwatch": %s, "blackbox": %s, "krbwatch_runs": %s}\n' \
	    "$(python3 "$B/bench.py" rss "$kw_pid")" "$(python3 "$B/bench.py" rss "$bb_pid")" \
	    "$(kwm | awk '/^krbwatch_probe_runs_total/ { s += $2 } END { print s + 0 }')" >"$OUT/idle.json"
	cp "$W/k-idle.yml" "$OUT/idle-krbwatch.yml"
	stop_all
}

# ---- 3. /metrics under wrk -c50 -------------------------------------------------------------
# wrk_one NAME PORT: 15 s of wrk against 127.0.0.1:PORT/metrics, with the server's CPU over the
# same 15 s and over 15 s without load just before (krbwatch keeps probing; that is subtracted).
wrk_one() {
	name=$1 port=$2 pid=$3
	size=$(in_c curl -fsS "http://127.0.0.1:$port/metrics" | wc -c)
	c0=$(python3 -c "import sys; sys.path.insert(0,'$B'); import bench; print(bench.cpu_s($pid))")
	sleep 15
	c1=$(python3 -c "import sys; sys.path.insert(0,'$B'); import bench; print(bench.cpu_s($pid))")
	in_c wrk -t2 -c50 -d15s --latency "http://127.0.0.1:$port/metrics" >"$W/wrk-$name.txt" 2>&1
	c2=$(python3 -c "import sys; sys.path.insert(0,'$B'); import bench; print(bench.cpu_s($pid))")
	python3 - "$OUT/metrics-$name.json" "$W/wrk-$name.txt" "$size" "$c0" "$c1" "$c2" "$(cat /proc/loadavg)" <<'PY'
import json, re, sys
out, wrk, size, c0, c1, c2, la = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3]), *map(float, sys.argv[4:7]), sys.argv[7]
def dur(s):
    m = re.match(r"([\d.]+)(us|ms|s)", s); v = float(m.group(1))
    return v / 1e6 if m.group(2) == "us" else v / 1e3 if m.group(2) == "ms" else v
lat = {p: dur(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", wrk, re.M)}
n = int(re.search(r"(\d+) requests in", wrk).group(1))
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)
sock = re.search(r"Socket errors: (.*)", wrk)
json.dump({"body_bytes": size, "requests": n, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", wrk).group(1)),
           "lat": lat, "cpu_idle15": c1 - c0, "cpu_load15": c2 - c1,
           "cpu_per_scrape": max(0.0, (c2 - c1) - (c1 - c0)) / n,
           "non2xx": int(errs.group(1)) if errs else 0, "socket_errors": sock.group(1) if sock else "",
           "loadavg_end": la, "wrk": wrk}, open(out, "w"), indent=1)
PY
}
metrics_section() {
	start_bb || { stop_all; return 1; }
	for _ in $(seq 20); do
		for t in "$RES1&module=dns_srv" "$(kdc_ip 1):88&module=tcp_kdc"; do
			in_c curl -fsS -o /dev/null "http://127.0.0.1:$BB_PORT/probe?target=$t"
		done
	done
	bbsize=$(in_c curl -fsS "http://127.0.0.1:$BB_PORT/metrics" | wc -c)
	# krbwatch's body made comparable: one Region per ~this many bytes of blackbox's body
	genconf --regions 1 --resolvers 1 --kdcs 1 --interval 5s --timeout 800ms >"$W/k-m1.yml"
	start_kw "$W/k-m1.yml" || { stop_all; return 1; }
	one=$(kwm | wc -c)
	stop_pid "$kw_pid"; kw_pid=""
	n=$(( (bbsize + one / 2) / one )); [ "$n" -ge 1 ] || n=1
	say "metrics: blackbox_exporter's body $bbsize B, krbwatch with 1 Region $one B: $n Region(s)"
	genconf --regions "$n" --resolvers 1 --kdcs 1 --interval 5s --timeout 800ms >"$W/k-m.yml"
	start_kw "$W/k-m.yml" || { stop_all; return 1; }
	wrk_one krbwatch "$KW_PORT" "$kw_pid"
	stop_pid "$kw_pid"; kw_pid=""
	wrk_one blackbox "$BB_PORT" "$bb_pid"
	# and a large krbwatch body: 10 Regions x 10 KDCs x 2 resolvers
	genconf --regions 10 --resolvers 2 --kdcs 10 --interval 5s --timeout 800ms >"$W/k-ml.yml"
	start_kw "$W/k-ml.yml" || { stop_all; return 1; }
	wrk_one krbwatch-large "$KW_PORT" "$kw_pid"
	stop_all
}

# ---- 4a. chain + login ------------------------------------------------------------------------
need_lab() {
	[ "$lab_up" = 1 ] && return 0
	say "lab: KW_LAB_NS=$KW_LAB_NS $LAB up"
	"$LAB" down >/dev/null 2>&1
	KW_LAB_QUIET=1 "$LAB" up >"$W/lab-up.log" 2>&1 || { tail -20 "$W/lab-up.log" >&2; return 1; }
	lab_up=1
	eval "$("$LAB" env)"
}
chain_section() {
	need_lab || return 1
	# the shell side: every cluster of the lab, CHAIN_CYCLES cron-style invocations each
	clusters=""
	for r in use1 usw2; do
		clusters="$clusters mariadb,db-$r.awsmad.kerberos.com,mariadb/db-$r.awsmad.kerberos.com@AWSMAD.KERBEROS.COM"
		clusters="$clusters postgres,pg-$r.awsmad.kerberos.com,postgres/pg-$r.awsmad.kerberos.com@AWSMAD.KERBEROS.COM"
	done
	"$LAB" exec us-east-1 python3 "$B/bench.py" shellchain --cycles "${CHAIN_CYCLES:-10}" \
	    --script "$B/shell_probe.sh" --ca "$KW_LAB_CA" --out "$OUT/chain-shell.json" $clusters || return 1
	# the krbwatch side: HOOK -- runs once probes/table.c lists probe_chain.
	if grep -q '&probe_chain' "$TOP/probes/table.c"; then
		sed 's/^interval: .*/interval: 5s/' "$KW_LAB_CONFIG" >"$W/k-chain.yml"
		"$LAB" exec us-east-1 env KRB5_CONFIG="$KW_LAB_KRBWATCH_KRB5_CONFIG" "$KWRUN" -c "$W/k-chain.yml" \
		    >"$W/kw-chain.log" 2>&1 &
		kw_pid=$!
		sleep 12
		"$LAB" exec us-east-1 python3 "$B/bench.py" window --kind chain --kw-pid "$kw_pid" \
		    --kw-url "http://$KW_LAB_LISTEN/metrics" --secs "$WINDOW" --step 10 --out "$OUT/chain-krbwatch.json"
		stop_pid "$kw_pid"; kw_pid=""
	else
		rm -f "$OUT/chain-krbwatch.json"
		say "chain: probe_chain is not in probes/table.c yet: krbwatch side pending"
	fi
}

# ---- 4b. scale --------------------------------------------------------------------------------
# lab_conf N INTERVAL TIMEOUT: N clusters over 10 Regions mapped onto the lab's two (bench.py)
lab_conf() {
	python3 "$B/bench.py" genconf --lab-dir "$KW_LAB_DIR" --regions 10 --clusters "$1" \
	    --engines "${SCALE_ENGINES:-mixed}" --interval "$2" --timeout "$3" --listen "$KW_LAB_LISTEN"
}
# lab_kw CONF [WRAPPER...]: krbwatch with CONF in the lab's us-east-1 client namespace, under
# WRAPPER if one is given (heaptrack: then wrap_pid is the wrapper's, kw_pid the daemon's own);
# waits for /-/ready (every job produced a result).
lab_kw() {
	conf=$1; shift
	"$LAB" exec us-east-1 env KRB5_CONFIG="$KW_LAB_KRBWATCH_KRB5_CONFIG" "$@" "$KWRUN" -c "$conf" \
	    >>"$W/kw-scale.log" 2>&1 &
	kw_pid=$! wrap_pid=""
	if [ $# -gt 0 ]; then
		wrap_pid=$kw_pid kw_pid=""
		for _ in $(seq 100); do kw_pid=$(pgrep -f "^$KWRUN -c $conf\$") && break; sleep 0.1; done
		[ -n "$kw_pid" ] || { echo "bench: krbwatch did not start under $1" >&2; return 1; }
	fi
	for _ in $(seq 900); do
		[ "$("$LAB" exec us-east-1 curl -s -o /dev/null -w '%{http_code}' "http://$KW_LAB_LISTEN/-/ready")" = 200 ] && return 0
		kill -0 "$kw_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench: krbwatch is not ready (bench/out/logs/kw-scale.log)" >&2; return 1
}
# stamp FILE KEY=VALUE...: adds the run's facts to a section's JSON (machine.json is the last
# invocation's only; a section from an earlier one keeps its own)
stamp() {
	python3 - "$OUT/machine.json" "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[2])); d["run"] = json.load(open(sys.argv[1]))
for kv in sys.argv[3:]:
    k, _, v = kv.partition("=")
    d[k] = v
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
}

# ---- 4b. scale --------------------------------------------------------------------------------
scale_section() {
	# With the chain probe in the table, the clusters are real logins on the lab's MariaDB and
	# PostgreSQL (many cluster names behind each server, Regions mapped onto the lab's two);
	# without it, the bench network and what runs per cluster today (its DNS).
	if grep -q '&probe_chain' "$TOP/probes/table.c"; then
		need_lab || return 1
		where=lab
	else
		need_bn
		where=bench
	fi
	# a size named twice (1,000 by default) gets a second window, its own process: scale-N-2.json
	seen=" "
	rm -f "$OUT"/scale-*-2.json
	for n in ${SCALE_CLUSTERS:-10 100 1000 3000 1000}; do
		case $seen in *" $n "*) f=$OUT/scale-$n-2.json ;; *) f=$OUT/scale-$n.json ;; esac
		seen="$seen$n "
		say "scale: $n clusters over 10 Regions at 30 s ($where), ${SCALE_WINDOW:-90}s"
		if [ $where = lab ]; then
			lab_conf "$n" 30s 10s >"$W/k-s$n.yml"
			lab_kw "$W/k-s$n.yml"
			"$LAB" exec us-east-1 python3 "$B/bench.py" window --kind "scale$n" --kw-pid "$kw_pid" \
			    --kw-url "http://$KW_LAB_LISTEN/metrics" --secs "${SCALE_WINDOW:-90}" --step 30 \
			    --out "$f" || return 1
		else
			genconf --regions 10 --resolvers 2 --kdcs 2 --clusters "$n" --interval 30s --timeout 10s >"$W/k-s$n.yml"
			start_kw "$W/k-s$n.yml" || { stop_all; return 1; }
			in_c python3 "$B/bench.py" window --kind "scale$n" --kw-pid "$kw_pid" \
			    --kw-url "http://127.0.0.1:$KW_PORT/metrics" --secs "${SCALE_WINDOW:-90}" --step 30 \
			    --out "$f" || return 1
		fi
		stamp "$f" where=$where
		stop_pid "$kw_pid"; kw_pid=""
	done
	[ $where = lab ] || return 0
	scale_profile && scale_heap && scale_growth
}

# Where the CPU goes at SCALE_PROFILE clusters (1,000): `perf record --call-graph dwarf` of a krbwatch
# of its own after the measured windows, SCALE_PROFILE_SECS (25 s), each sample charged to a part by its call
# chain (bench.py perfparts).  No perf, or perf not allowed here: no profile, and the report says so.
scale_profile() {
	n=${SCALE_PROFILE:-1000}
	[ "$n" -gt 0 ] 2>/dev/null || return 0
	command -v perf >/dev/null || { say "scale: no perf: no profile"; return 0; }
	say "scale: perf record of $n clusters, ${SCALE_PROFILE_SECS:-25}s"
	lab_conf "$n" 30s 10s >"$W/k-p$n.yml"
	lab_kw "$W/k-p$n.yml" || return 1
	if perf record -F 400 --call-graph dwarf -p "$kw_pid" -o "$W/perf.data" -- sleep "${SCALE_PROFILE_SECS:-25}" \
	    >"$W/perf-record.log" 2>&1; then
		perf script -i "$W/perf.data" -F comm,ip,sym,dso 2>/dev/null |
		    python3 "$B/bench.py" perfparts --binary "$(basename "$KWRUN")" \
		    --secs "${SCALE_PROFILE_SECS:-25}" --freq 400 --out "$OUT/profile.json" &&
		    stamp "$OUT/profile.json" "clusters=$n"
	else
		say "scale: perf record failed (bench/out/logs/perf-record.log): no profile"
	fi
	stop_pid "$kw_pid"; kw_pid=""
	return 0
}

# The heap by part at SCALE_HEAP's sizes: krbwatch under heaptrack through SCALE_HEAP_SECS of
# scrapes (every 15 s, as the window's sampler does), the allocations live at the heap's peak
# by the part of krbwatch that made them (bench.py heapparts).
scale_heap() {
	command -v heaptrack >/dev/null || { say "scale: no heaptrack (bench/deps.sh): no heap by part"; return 0; }
	for n in ${SCALE_HEAP:-10 1000}; do
		say "scale: the heap by part at $n clusters (heaptrack), ${SCALE_HEAP_SECS:-60}s"
		lab_conf "$n" 30s 10s >"$W/k-h$n.yml"
		rm -f "$W/heap-$n".*
		lab_kw "$W/k-h$n.yml" heaptrack -o "$W/heap-$n" || return 1
		"$LAB" exec us-east-1 python3 "$B/bench.py" window --kind "heap$n" --kw-pid "$kw_pid" \
		    --kw-url "http://$KW_LAB_LISTEN/metrics" --secs "${SCALE_HEAP_SECS:-60}" --step 15 \
		    --out "$W/heap-$n-window.json" || return 1
		stop_pid "$kw_pid"; kw_pid=""
		wait "$wrap_pid"; wrap_pid=""
		f=$(ls "$W/heap-$n".zst "$W/heap-$n".gz 2>/dev/null | head -1)
		heaptrack_print -f "$f" -p 0 -a 0 -T 0 -l 0 --flamegraph-cost-type peak \
		    -F "$W/heap-$n.stacks" >/dev/null || return 1
		python3 "$B/bench.py" heapparts --stacks "$W/heap-$n.stacks" --clusters "$n" \
		    --secs "${SCALE_HEAP_SECS:-60}" --version "$(heaptrack --version)" --out "$OUT/heap-$n.json" || return 1
		stamp "$OUT/heap-$n.json" "loadavg_end=$(cat /proc/loadavg)"
	done
	# the sizes the rows' part is made of, from this tree's probes/result.h
	printf '#include <stdio.h>\n#include "probes/result.h"\nint main(void) { printf("%%zu %%zu", sizeof(struct result_row), sizeof(struct hop_cell)); return 0; }\n' |
	    cc -I"$TOP" -x c -o "$W/rowsize" - && set -- $("$W/rowsize") &&
	    [ -f "$OUT/heap-1000.json" ] && stamp "$OUT/heap-1000.json" "row_bytes=$1" "cell_bytes=$2"
	return 0
}

# What grows with the runs: RSS and the live heap after 3, 10, 30 and 60 cycles of SCALE_GROW_CLUSTERS clusters at a
# short interval (SCALE_GROW_INTERVAL; 100 at 3 s is 1,000 at 30 s's rate of logins), the same
# process (the heap settles in the first ~10).
scale_growth() {
	n=${SCALE_GROW_CLUSTERS:-100} iv=${SCALE_GROW_INTERVAL:-3s} to=${SCALE_GROW_TIMEOUT:-2s}
	[ "$n" -gt 0 ] 2>/dev/null || return 0
	say "scale: RSS and the live heap after 3, 10, 30 and 60 cycles, $n clusters at $iv"
	lab_conf "$n" "$iv" "$to" >"$W/k-g$n.yml"
	lab_kw "$W/k-g$n.yml" || return 1
	"$LAB" exec us-east-1 python3 "$B/bench.py" growth --kw-pid "$kw_pid" \
	    --kw-url "http://$KW_LAB_LISTEN/metrics" --clusters "$n" --interval "$iv" --at 3,10,30,60 \
	    --out "$OUT/growth.json" || return 1
	stamp "$OUT/growth.json"
	stop_pid "$kw_pid"; kw_pid=""
}

# ---- 4d. the floor ----------------------------------------------------------------------------
# bench/floor.c against the lab's own certificate, CA and keys: one real service ticket fetched
# once (kinit -k + kvno in the lab), then only the client side of what each cluster cycle does.
floor_section() {
	need_lab || return 1
	# shellcheck disable=SC2046
	cc -O2 -g -Wall -Wextra -Werror $(pkg-config --cflags krb5-gssapi openssl) -o "$W/floor" \
	    "$B/floor.c" $(pkg-config --libs krb5-gssapi krb5 openssl) || return 1
	h=$KW_LAB_USE1_PG_HOST
	spn=postgres/$h@AWSMAD.KERBEROS.COM
	# one cache with the service ticket (the GSS token), one with the TGTs only (the TGS exchanges)
	"$LAB" exec us-east-1 sh -c 'kinit -k -c "FILE:$0" "$1" && kvno -q -c "FILE:$0" "$2" &&
	    kinit -k -c "FILE:$0.tgs" "$1" && kvno -q -c "FILE:$0.tgs" krbtgt/AWSMAD.KERBEROS.COM@ONPREM.EXAMPLE.COM' \
	    "$W/floor.cc" "$KW_LAB_PRINCIPAL" "$spn" || return 1
	say "floor: ${FLOOR_ITERS:-200} x 9 batches of each part"
	# the KDCs genconf gives the scale section's Regions (bench.py genconf_lab): on-prem, us-east-1
	"$LAB" exec us-east-1 "$W/floor" --cert "$KW_LAB_DIR/tls/pg-use1.crt" \
	    --key "$KW_LAB_DIR/tls/pg-use1.key" --ca "$KW_LAB_CA" --host "$h" --ccache "FILE:$W/floor.cc" \
	    --tgs-ccache "FILE:$W/floor.cc.tgs" --keytab "$KW_LAB_DIR/keytabs/pg-use1.keytab" --spn "$spn" \
	    --kdc-user 10.210.0.11 --kdc-db 10.211.0.11 --iters "${FLOOR_ITERS:-200}" \
	    >"$OUT/floor.json" || return 1
	stamp "$OUT/floor.json"
	# the handshake over a real socket to the lab's PostgreSQL (bench/floor_wire.c: process CPU,
	# the kernel's network stack included); PostgreSQL only, see there
	cc -O2 -g -Wall -Wextra -Werror $(pkg-config --cflags openssl) -o "$W/floor_wire" "$B/floor_wire.c" \
	    $(pkg-config --libs openssl) || return 1
	"$LAB" exec us-east-1 "$W/floor_wire" --ip "$KW_LAB_USE1_PG_IP" --port 5432 --host "$h" \
	    --ca "$KW_LAB_CA" --iters "${FLOOR_WIRE_ITERS:-100}" >"$OUT/floor_wire.json" || return 1
	stamp "$OUT/floor_wire.json"
}

# ---- 4c. isolation ----------------------------------------------------------------------------
isolation_section() {
	need_lab || return 1
	"$LAB" heal >/dev/null 2>&1
	sed 's/^interval: .*/interval: 2s/; s/^timeout: .*/timeout: 1500ms/' "$KW_LAB_CONFIG" >"$W/k-iso.yml"
	"$LAB" exec us-east-1 env KRB5_CONFIG="$KW_LAB_KRBWATCH_KRB5_CONFIG" "$KWRUN" -c "$W/k-iso.yml" \
	    >"$W/kw-iso.log" 2>&1 &
	kw_pid=$!
	sleep 6
	secs=${ISO_SECS:-60}
	"$LAB" exec us-east-1 python3 "$B/bench.py" isolate --kw-url "http://$KW_LAB_LISTEN/metrics" \
	    --secs "$secs" --out "$OUT/iso-healthy.json" || return 1
	"$LAB" fault blackhole us-west-2 88 >/dev/null || return 1
	"$LAB" exec us-east-1 python3 "$B/bench.py" isolate --kw-url "http://$KW_LAB_LISTEN/metrics" \
	    --secs "$secs" --out "$OUT/iso-blackhole.json" || return 1
	"$LAB" heal >/dev/null
	stop_pid "$kw_pid"; kw_pid=""
	cp "$W/k-iso.yml" "$OUT/iso-krbwatch.yml"
}

for s in $SECTIONS; do
	say "== $s"
	case $s in
	probes) need_bn; probe_window dns; probe_window kdc ;;
	idle) need_bn; idle_rss ;;
	metrics) need_bn; metrics_section ;;
	chain) chain_section ;;
	scale) scale_section ;;
	floor) floor_section ;;
	isolation) isolation_section ;;
	page) bash "$B/page.sh" "$OUT" ;;
	*) echo "bench: unknown section $s" >&2; exit 2 ;;
	esac
	stop_all
done
report
