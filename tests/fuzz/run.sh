#!/bin/sh
# Runs libFuzzer targets for FUZZ_SECONDS each and prints one line of figures per target:
#   fuzz NAME: EXECS execs in SECONDS s (EXECS_PER_S/s), CRASHES crash(es), corpus N
# Called by `make fuzz` / `make fuzz-NAME` with the targets already built in build/fuzz/.
# Seeds are read from tests/fuzz/NAME/ and never written; new inputs go to build/fuzz/corpus/NAME
# (kept between runs), crashing inputs to build/fuzz/crashes/NAME/.  libFuzzer stops a target at
# its first crash; a crash makes the exit status 1 once every target has run.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-60}
status=0
summary=""
for t in "$@"; do
	bin=$top/build/fuzz/fuzz_$t
	corpus=$top/build/fuzz/corpus/$t
	crashes=$top/build/fuzz/crashes/$t
	log=$top/build/fuzz/$t.log
	mkdir -p "$corpus" "$crashes"
	maxlen=4096
	[ "$t" = config ] && maxlen=8192
	"$bin" -max_total_time="$secs" -max_len=$maxlen -timeout=10 -rss_limit_mb=1024 \
	    -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "$top/tests/fuzz/$t" \
	    >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
	ncrash=$(ls "$crashes" | wc -l)
	ncorpus=$(ls "$corpus" | wc -l)
	[ -n "$took" ] || took=$secs
	[ -n "$execs" ] || execs=0
	line="fuzz $t: $execs execs in $took s ($((execs / (took > 0 ? took : 1)))/s), $ncrash crash(es) kept in build/fuzz/crashes/$t, corpus $ncorpus"
	[ "$rc" -ne 0 ] && { line="$line; exit $rc, see build/fuzz/$t.log"; status=1; }
	echo "$line"
	summary="$summary$line
"
done
printf '== fuzz summary\n%s' "$summary"
exit $status
