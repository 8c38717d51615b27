#!/bin/sh
# krbwatch --reload PID, the unit's ExecReload=: SIGHUP, then the daemon's own verdict through
# $RUNTIME_DIRECTORY/reload.verdict.  A good file: exit 0; a bad one: exit 1 with the daemon's
# FILE:LINE:COL errors on stderr, while the daemon keeps running and reports
# krbwatch_config_last_reload_success 0; a busy new listen address: exit 1 too (only the daemon
# can see it); usage errors exit 2.  And the daemon is not dumpable (PR_SET_DUMPABLE 0).
. "$(dirname "$0")/lib.sh"

export RUNTIME_DIRECTORY="$KW_TMP/run"
mkdir -p "$RUNTIME_DIRECTORY"
port=$(free_port)
write_config "$KW_TMP/k.yml" "$port"
at_exit stop_krbwatch
start_krbwatch "$KW_TMP/k.yml" "$port"
check_eq "the daemon writes generation 0 when it starts" "0 ok" "$(cat "$RUNTIME_DIRECTORY/reload.verdict")"

"$KW_BIN" --reload "$KW_PID" >"$KW_TMP/out" 2>&1
check_eq "a good file: exit 0" 0 "$?"
check_eq "... silently" "" "$(cat "$KW_TMP/out")"
check_eq "... generation 1, ok" "1 ok" "$(cat "$RUNTIME_DIRECTORY/reload.verdict")"

cp "$KW_TMP/k.yml" "$KW_TMP/good.yml"
echo "intervall: 5s" >>"$KW_TMP/k.yml"
line=$(wc -l <"$KW_TMP/k.yml")
"$KW_BIN" --reload "$KW_PID" >"$KW_TMP/out" 2>&1
check_eq "a bad file: exit 1" 1 "$?"
check_eq "... the daemon's errors, then what it means" \
	"$KW_TMP/k.yml:$line:1: unknown key \"intervall\" in the top level, did you mean \"interval\"?
krbwatch --reload: the configuration was rejected; krbwatch keeps running the previous one" \
	"$(cat "$KW_TMP/out")"
check "... the daemon still runs" pid_alive "$KW_PID"
check_eq "... and says krbwatch_config_last_reload_success 0" 0 "$(metric krbwatch_config_last_reload_success)"

# a new listen address that is taken: the file is valid, only the daemon finds out
busy=$(free_port)
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(30)' "$busy" &
bpid=$!
wait_for 5 python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])))' "$busy"
sed "s/^listen: .*/listen: 127.0.0.1:$busy/" "$KW_TMP/good.yml" >"$KW_TMP/k.yml"
"$KW_BIN" --reload "$KW_PID" >"$KW_TMP/out" 2>&1
check_eq "a busy new listen address: exit 1, pointing at the log" "1 (see krbwatch's log)" \
	"$? $(head -n 1 "$KW_TMP/out")"
kill "$bpid"

cp "$KW_TMP/good.yml" "$KW_TMP/k.yml"
"$KW_BIN" --reload "$KW_PID" >/dev/null 2>&1
check_eq "fixed: exit 0, krbwatch_config_last_reload_success 1" "0 1" "$? $(metric krbwatch_config_last_reload_success)"

"$KW_BIN" --reload 1 >/dev/null 2>"$KW_TMP/err"
check_eq "--reload 1: exit 2, not a daemon's pid" "2" "$?"
env -u RUNTIME_DIRECTORY "$KW_BIN" --reload "$KW_PID" >/dev/null 2>"$KW_TMP/err"
check_eq "without RUNTIME_DIRECTORY: exit 2 and why" \
	"2 krbwatch --reload: RUNTIME_DIRECTORY is not set: it is meant for the unit's ExecReload= (RuntimeDirectory=krbwatch); elsewhere send SIGHUP" \
	"$? $(cat "$KW_TMP/err")"
stop_krbwatch
check_eq "SIGTERM after the reloads: exit 0" 0 "$KW_RC"

# Not dumpable: the files under /proc/PID of a process that cleared the flag are root's, which
# shows only when it runs as another user.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chmod 755 "$KW_TMP"
	write_config "$KW_TMP/n.yml" "$port"
	chown nobody "$KW_TMP/krbmon.keytab"
	chmod 644 "$KW_TMP/n.yml"
	setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups "$KW_BIN" -c "$KW_TMP/n.yml" \
		2>>"$KW_TMP/krbwatch.log" &
	KW_PID=$! KW_PORT=$port
	wait_for 10 curl -fsS -o /dev/null "http://127.0.0.1:$port/-/healthy"
	check_eq "the daemon, run as nobody, is not dumpable (/proc/PID/status is root's)" \
		"nobody root" "$(ps -o user= -p "$KW_PID") $(stat -c %U "/proc/$KW_PID/status")"
else
	ok "not dumpable # SKIP needs root to run the daemon as nobody"
fi
