# A private lab for one test script, sourced after lib.sh.  lab_session NAME INTERVAL TIMEOUT
# brings up the lab NAME (namespaces NAME-*; a stale one goes first), sets its variables (lab
# env) and CONF, a copy of its krbwatch.yml with that interval and deadline.  At exit krbwatch
# (its pid in kw_pid) stops, then the lab goes down, and a failed script shows the end of
# krbwatch's log ($KWLOG).  The lab needs root: without it the script is skipped.

LAB=$KW_TOP/tests/lab/lab
E=us-east-1
W=us-west-2
LOG=$KW_TMP/lab.log
KWLOG=$KW_TMP/krbwatch.log
CONF=$KW_TMP/krbwatch.yml
kw_pid=""

if [ "$(id -u)" -ne 0 ]; then
	echo "ok - # SKIP the lab needs root (network namespaces)"
	exit 0
fi

lab_session_end() {
	if [ -n "$kw_pid" ] && kill -0 "$kw_pid" 2>/dev/null; then
		kill -TERM "$kw_pid"; wait "$kw_pid" 2>/dev/null
	fi
	"$LAB" down >>"$LOG" 2>&1
	if [ "$KW_FAILED" -ne 0 ] && [ -s "$KWLOG" ]; then
		echo "# last lines of krbwatch's log:"
		grep -v ' debug: ' "$KWLOG" | tail -n 25 | sed 's/^/#   /'
	fi
}

lab_session() {
	export KW_LAB_NS="$1" KW_LAB_DIR="/tmp/krbwatch-lab-$1"
	"$LAB" down >/dev/null 2>&1
	at_exit lab_session_end
	if ! "$LAB" up >>"$LOG" 2>&1; then
		not_ok "lab up"; tail -n 20 "$LOG" | sed 's/^/#   /'; exit 1
	fi
	eval "$("$LAB" env)"
	sed -e "s/^interval: .*/interval: $2/" -e "s/^timeout: .*/timeout: $3/" "$KW_LAB_CONFIG" >"$CONF"
}
