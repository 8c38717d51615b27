#!/bin/sh
# Runs the unit test binaries and every tests/t_*.sh against $KW_BIN, counts the TAP lines
# they print, and fails when any check failed or any script exited non-zero.
#   KW_BIN      the krbwatch binary under test
#   KW_UNITS    the directory of the unit test binaries
#   KW_SANITIZED=1  this is the ASan+UBSan pass: tests that never start krbwatch are not repeated
#   KW_TESTS    optional: run only these scripts (names, e.g. "t_http.sh t_config.sh")
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
export KW_TOP="$top" KW_BIN="${KW_BIN:-$top/krbwatch}"
units=${KW_UNITS:-$top/build/tests}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pass=0 fail=0 failed_scripts=""
run_start=$(date +%s)

run_one() {
	name=$1; shift
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ] || [ "$p" -eq 0 ]; then
		failed_scripts="$failed_scripts $name"
		[ "$p" -eq 0 ] && [ "$rc" -eq 0 ] && echo "# $name checked nothing" >>"$log"
		echo "FAIL $name ($p ok, $f not ok, exit $rc, $(( $(date +%s) - start ))s)"
		sed 's/^/    /' "$log"
	else
		echo "pass $name ($p checks, $(( $(date +%s) - start ))s)"
		# the figures a test measured (soak, hostile clients) are worth keeping from a pass too
		grep -E '^# (figure|artifact): ' "$log" | sed 's/^/    /'
	fi
}

for u in "$units"/unit_*; do
	[ -x "$u" ] || continue
	run_one "$(basename "$u")" "$u"
done
for t in ${KW_TESTS:-$(cd "$top/tests" && ls t_*.sh)}; do
	# scripts that never start krbwatch say "plain-only" on their second line
	[ "${KW_SANITIZED:-0}" = 1 ] && sed -n 2p "$top/tests/$t" | grep -q plain-only && continue
	run_one "$t" sh "$top/tests/$t"
done
secs=$(( $(date +%s) - run_start ))
echo "== $pass checks passed, $fail failed${KW_SANITIZED:+ (ASan+UBSan build)}, in $((secs / 60)) min $((secs % 60)) s"
[ -z "$failed_scripts" ] || { echo "== failed:$failed_scripts"; exit 1; }
