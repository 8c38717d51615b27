#!/bin/sh
# Replays every fuzz corpus (tests/fuzz/NAME/: the seeds and each crashing input the fuzzers
# found) through its target built without libFuzzer ($KW_UNITS/fuzz_NAME), so that what was
# fixed stays fixed.  Runs in both passes of `make check`: under ASan+UBSan it is the point.
. "$(dirname "$0")/lib.sh"

units=${KW_UNITS:-$KW_TOP/build/tests}
for dir in "$KW_TOP"/tests/fuzz/*/; do
	t=$(basename "$dir")
	bin=$units/fuzz_$t
	n=$(ls "$dir" | wc -l)
	if [ ! -x "$bin" ]; then
		not_ok "fuzz replay $t: $bin is built"
		continue
	fi
	if "$bin" "$dir" >"$KW_TMP/out" 2>&1; then
		ok "fuzz replay $t: $n inputs"
	else
		not_ok "fuzz replay $t: $n inputs"
		sed 's/^/#   /' "$KW_TMP/out" | tail -40
	fi
done
