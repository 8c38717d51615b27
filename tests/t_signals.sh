#!/bin/sh
# SIGHUP with a good and a bad file, SIGTERM and SIGINT, against the real binary.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
write_config "$KW_TMP/k.yml" "$port"
at_exit stop_krbwatch
start_krbwatch "$KW_TMP/k.yml" "$port"
ts0=$(metric krbwatch_config_last_reload_success_timestamp_seconds)

# A good reload that removes us-west-2: its series go, the reload timestamp moves.
sleep 1.1	# the reload timestamp has a resolution of one second; this is not synchronisation
write_config "$KW_TMP/k.yml" "$port"
python3 - "$KW_TMP/k.yml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s[:s.index("  us-west-2:")]
open(p, "w").write(s)
PY
kill -HUP "$KW_PID"
check "a good reload is logged" wait_for 5 grep -q "reloaded $KW_TMP/k.yml: 1 Region" "$KW_TMP/krbwatch.log"
check_eq "after a good reload: krbwatch_config_last_reload_success 1" "1" \
	"$(metric krbwatch_config_last_reload_success)"
ts1=$(metric krbwatch_config_last_reload_success_timestamp_seconds)
check "the reload timestamp moved forward ($ts0 -> $ts1)" [ "$ts1" -gt "$ts0" ]
check "the removed Region leaves the status page" sh -c "! curl -fsS http://127.0.0.1:$port/ | grep -q us-west-2"
check "the removed Region's series are gone from /metrics" \
	wait_for 5 sh -c "! curl -fsS http://127.0.0.1:$port/metrics | grep -q 'aws_region=\"us-west-2\"'"

# A bad reload: every error is logged with its place, the old configuration keeps running.
cat >>"$KW_TMP/k.yml" <<'EOC'
intervall: 5s
alerts:
  after_failures: many
EOC
kill -HUP "$KW_PID"
check "a bad reload logs that it kept the running configuration" \
	wait_for 5 grep -q 'reload failed (2 errors): still running the previous configuration' "$KW_TMP/krbwatch.log"
check "the log names the unknown key with file, line and column" \
	grep -q "$KW_TMP/k.yml:[0-9]*:1: unknown key \"intervall\"" "$KW_TMP/krbwatch.log"
check "the log names the bad number with file, line and column" \
	grep -q "$KW_TMP/k.yml:[0-9]*:[0-9]*: .*after_failures" "$KW_TMP/krbwatch.log"
check_eq "after a bad reload: krbwatch_config_last_reload_success 0" "0" \
	"$(metric krbwatch_config_last_reload_success)"
check_eq "the timestamp still names the last good load" "$ts1" \
	"$(metric krbwatch_config_last_reload_success_timestamp_seconds)"
check "the old configuration keeps serving" sh -c "curl -fsS http://127.0.0.1:$port/ | grep -q '<h2>us-east-1</h2>'"

# A reload that cannot bind its new listen address is a failed reload too.
busy=$(free_port)
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(30)' "$busy" &
bpid=$!
wait_for 5 python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])))' "$busy"
write_config "$KW_TMP/k.yml" "$busy"
kill -HUP "$KW_PID"
check "a reload to a busy listen address fails and keeps the old listener" \
	wait_for 5 grep -q "cannot listen on 127.0.0.1:$busy" "$KW_TMP/krbwatch.log"
check "the old listener still answers" curl -fsS -o /dev/null "http://127.0.0.1:$port/-/healthy"
kill "$bpid"

write_config "$KW_TMP/k.yml" "$port"
kill -HUP "$KW_PID"
check "fixing the file and reloading again: success 1" \
	wait_for 5 sh -c "[ \"\$(curl -fsS http://127.0.0.1:$port/metrics | awk '\$1 == \"krbwatch_config_last_reload_success\" {print \$2}')\" = 1 ]"

stop_krbwatch
check_eq "SIGTERM: exit 0" "0" "$KW_RC"
check "SIGTERM is logged" grep -q 'SIGTERM: stopping' "$KW_TMP/krbwatch.log"

start_krbwatch "$KW_TMP/k.yml" "$port"
kill -INT "$KW_PID"
check "SIGINT stops it (within 10 s: nothing runs, so it stops at once on a healthy machine)" wait_for 10 sh -c "! kill -0 $KW_PID 2>/dev/null"
wait "$KW_PID"; rc=$?; KW_PID=""
check_eq "SIGINT: exit 0" "0" "$rc"

check_eq "a missing configuration file: exit 1" "1" \
	"$("$KW_BIN" -c "$KW_TMP/nope.yml" 2>/dev/null; echo $?)"
check_eq "--check-config on a good file: exit 0" "0" \
	"$("$KW_BIN" --check-config "$KW_TMP/k.yml" >/dev/null 2>&1; echo $?)"
check_eq "--version" "krbwatch $(sed -n 's/^#define KRBWATCH_VERSION "\(.*\)"/\1/p' "$KW_TOP/lib/version.h")" \
	"$("$KW_BIN" --version)"
check "--help names every option" sh -c "'$KW_BIN' --help | grep -q -- --check-config &&
	'$KW_BIN' --help | grep -q -- --config && '$KW_BIN' --help | grep -q -- --verbose"
check_eq "an unknown option: exit 2" "2" "$("$KW_BIN" --bogus >/dev/null 2>&1; echo $?)"
