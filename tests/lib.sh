# Shared helpers for the shell tests.  Each test script sources this file and reports TAP-style
# lines ("ok - what" / "not ok - what"); tests/run.sh counts them.  A script's exit status is
# non-zero when any check failed.
#
# KW_BIN names the krbwatch binary under test (plain or sanitizer build); KW_TMP is a scratch
# directory that the script owns and that is removed on exit.

set -u
: "${KW_TOP:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${KW_BIN:=$KW_TOP/krbwatch}"
KW_FAILED=0
KW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kwtest.XXXXXX")
kw_cleanup_hooks=""

# Runs at exit: registered hooks in reverse order, then the scratch directory goes.
kw_exit() {
	rc=$?
	for h in $kw_cleanup_hooks; do "$h" || true; done
	rm -rf "$KW_TMP"
	[ "$KW_FAILED" -ne 0 ] && exit 1
	exit "$rc"
}
trap kw_exit EXIT
trap 'exit 130' INT TERM

# at_exit FUNC: FUNC runs when the script ends, whatever the path (last registered runs first).
at_exit() { kw_cleanup_hooks="$1 $kw_cleanup_hooks"; }

ok() { printf 'ok - %s\n' "$*"; }
not_ok() { printf 'not ok - %s\n' "$*"; KW_FAILED=1; }

# check "what" CMD...: ok when CMD succeeds; a failure also returns 1, so that
# `check ... || show-why` can print what the reader needs.
check() {
	what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; return 1; fi
}

# check_eq "what" EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"
		printf '#   expected: %s\n#   actual:   %s\n' "$2" "$3"
	fi
}

# wait_for SECONDS CMD...: polls CMD every 50 ms until it succeeds or the deadline passes.
wait_for() {
	deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
	while ! "$@" >/dev/null 2>&1; do
		[ $(( $(date +%s%N) / 1000000 )) -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# pid_alive PID: true while PID runs (a zombie counts as gone).
pid_alive() {
	[ -r "/proc/$1/status" ] || return 1
	! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}

# config_head FILE PORT [TIMEOUT] [AWSMAD-DOMAIN]: a configuration's top, down to its realms
# (no Region yet: the caller adds `regions:`), its probes only reaching loopback ports where
# nothing answers, and a keytab beside it (any bytes: only its presence and mode are checked at
# load).  TIMEOUT defaults to 500ms, AWSMAD-DOMAIN (how the config writes it) to lower case.
config_head() {
	printf 'not a real keytab\n' >"$KW_TMP/krbmon.keytab"
	chmod 600 "$KW_TMP/krbmon.keytab"
	cat >"$1" <<EOC
listen: 127.0.0.1:$2
interval: 1s
timeout: ${3:-500ms}
identity:
  principal: krbmon@ONPREM.EXAMPLE.COM
  keytab: $KW_TMP/krbmon.keytab
realms:
  ONPREM.EXAMPLE.COM:
    domain: onprem.example.com
    kdcs: [127.0.0.1:1]
  AWSMAD.KERBEROS.COM:
    domain: ${4:-awsmad.kerberos.com}
EOC
}

# write_config FILE [PORT] [EXTRA-YAML]: config_head's small valid configuration with two
# Regions whose resolvers and KDCs are loopback ports where nothing answers.
write_config() {
	_f=$1; _port=${2:-$(free_port)}
	config_head "$_f" "$_port"
	cat >>"$_f" <<EOC
regions:
  us-east-1:
    resolvers: [127.0.0.1:1]
    kdcs: { AWSMAD.KERBEROS.COM: [127.0.0.1:1] }
  us-west-2:
    resolvers: [127.0.0.1:1]
    kdcs: { AWSMAD.KERBEROS.COM: [127.0.0.1:1] }
${3:-}
EOC
}

# start_krbwatch CONF PORT [ARGS...]: starts $KW_BIN in the background, sets KW_PID, and waits
# until /-/healthy answers.  Its stderr goes to $KW_TMP/krbwatch.log.
start_krbwatch() {
	_conf=$1; KW_PORT=$2; shift 2
	"$KW_BIN" -c "$_conf" "$@" 2>>"$KW_TMP/krbwatch.log" &
	KW_PID=$!
	wait_for 10 curl -fsS -o /dev/null "http://127.0.0.1:$KW_PORT/-/healthy"
}

# stop_krbwatch: SIGTERM, and the exit status in KW_RC (or 124 if it did not stop in 5 s).
stop_krbwatch() {
	[ -n "${KW_PID:-}" ] || return 0
	kill -TERM "$KW_PID" 2>/dev/null
	if wait_for 5 sh -c "! kill -0 $KW_PID 2>/dev/null"; then
		wait "$KW_PID"; KW_RC=$?
	else
		kill -KILL "$KW_PID" 2>/dev/null; KW_RC=124
	fi
	KW_PID=""
}

# scrape [PATH]: the body of http://127.0.0.1:$KW_PORT/PATH
scrape() { curl -fsS --max-time 5 "http://127.0.0.1:$KW_PORT${1:-/metrics}"; }

# metric NAME{LABELS}: the value of one series, exactly as written in the exposition
metric() { scrape | awk -v s="$1" 'index($0, s " ") == 1 { print $2 }'; }
