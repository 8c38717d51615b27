#!/bin/bash
# bench section "page" (bench/run.sh): the status page at 1,000 clusters.  Server side: the
# driver bench/page_main.c builds the model and writes / and /status.json as the daemon does on
# a request, 30 times per state (all ok, one Region failing, all failing), and reports bytes and
# per-request times.  Browser side: headless Chromium (--dump-dom, which returns after the load
# event) on the page the driver wrote, against the same Chromium on an empty page: the
# difference is what the page itself costs to parse, style and lay out.  Writes OUT/page.json.
#   usage: bench/page.sh OUT
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$TOP/bench/out}
RUNS=${KW_BENCH_PAGE_RUNS:-5}
mkdir -p "$OUT"
W=$(mktemp -d /tmp/kwbench-page.XXXXXX)
trap 'rm -rf "$W"' EXIT

make -s -C "$TOP" build/bench/page_main >&2 || exit 1
load0=$(cut -d' ' -f1-3 /proc/loadavg)
"$TOP/build/bench/page_main" 30 "$W" >"$W/server.jsonl" || exit 1
printf '<!DOCTYPE html><html><head><meta charset="utf-8"><title>empty</title></head><body></body></html>\n' >"$W/empty.html"

# load FILE: seconds for one headless Chromium to load and dump FILE, as a fresh process
load() {
	local t0 t1
	t0=$(date +%s%N)
	HOME="$W" timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-background-networking --disable-component-update --user-data-dir="$W/profile" \
		--dump-dom "file://$1" >"$W/dom" 2>/dev/null || return 1
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
}

browser="{}"
if command -v chromium >/dev/null 2>&1; then
	load "$W/empty.html" >/dev/null	# the first start pays for the profile
	entries=""
	for s in empty all_ok one_region_failing all_failing; do
		ts=""
		for _ in $(seq "$RUNS"); do ts="$ts${ts:+,}$(load "$W/$s.html")"; done
		rows=$(grep -c '<tr data-row=' "$W/dom")
		entries="$entries${entries:+,}\"$s\":{\"seconds\":[$ts],\"rows_in_dom\":$rows}"
	done
	browser="{\"chromium\":\"$(chromium --version 2>/dev/null | tr -d '"')\",$entries}"
fi
python3 - "$W/server.jsonl" "$browser" "$OUT/page.json" "$load0" <<'PY'
import json, sys
server = [json.loads(l) for l in open(sys.argv[1])]
json.dump({"server": server, "browser": json.loads(sys.argv[2]), "loadavg": sys.argv[4].split()},
          open(sys.argv[3], "w"), indent=1)
PY
[ $? -eq 0 ] && echo "bench: page: wrote $OUT/page.json" >&2
