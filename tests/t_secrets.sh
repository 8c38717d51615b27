#!/bin/sh
# Issue 17, attack 4: a secret file that cannot be used must fail the load and a reload, with
# FILE:LINE:COL, and a failing reload keeps the running configuration.  Before, an empty
# bearer_token_file passed --check-config and a reload reported success; at run time the
# daemon posted without Authorization, the receiver answered 401 (not retried) and the
# notification was lost.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
TOKEN=$KW_TMP/hook.token
echo "kw-token-$$" >"$TOKEN"
chmod 600 "$TOKEN"
hook() { printf 'alerts:\n  webhooks:\n    - url: http://127.0.0.1:1/hook\n      bearer_token_file: %s\n' "$TOKEN"; }
write_config "$KW_TMP/k.yml" "$port" "$(hook)"
check "a token with a trailing newline is fine" sh -c '"$0" --check-config "$1" >/dev/null' "$KW_BIN" "$KW_TMP/k.yml"

for content in '' ' ' '\n' ' \t\r\n\n'; do
	printf "$content" >"$TOKEN"
	"$KW_BIN" --check-config "$KW_TMP/k.yml" >"$KW_TMP/out" 2>&1; rc=$?
	check_eq "--check-config refuses a token file holding '$content'" 1 "$rc"
	check "  ... and says where and why" \
	    grep -q "^$KW_TMP/k.yml:[0-9]*:[0-9]*: bearer_token_file \"$TOKEN\" is empty or white space only" "$KW_TMP/out"
done

# unreadable as the service's user: the check runs as that user (nobody here)
echo "kw-token-$$" >"$TOKEN"
chmod 755 "$KW_TMP"
chmod 644 "$KW_TMP/k.yml"
chmod 600 "$TOKEN"
if command -v setpriv >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$KW_BIN" --check-config "$KW_TMP/k.yml" \
	    >"$KW_TMP/out" 2>&1
	check "as another user, an unreadable token file is an error with its place" \
	    grep -q "^$KW_TMP/k.yml:[0-9]*:[0-9]*: bearer_token_file \"$TOKEN\" is not readable by uid" "$KW_TMP/out"
else
	ok "# SKIP unreadable as another user: needs root and setpriv"
fi
chmod 700 "$KW_TMP"

# a reload with an emptied token fails and keeps the old configuration
at_exit stop_krbwatch
start_krbwatch "$KW_TMP/k.yml" "$port" || { not_ok "krbwatch starts"; exit 1; }
check_eq "a good start: krbwatch_config_last_reload_success 1" 1 "$(metric krbwatch_config_last_reload_success)"
: >"$TOKEN"
kill -HUP "$KW_PID"
check "the reload with an empty token fails and says it kept the configuration" \
    wait_for 5 grep -q 'reload failed (1 error): still running the previous configuration' "$KW_TMP/krbwatch.log"
check "the log names the token file with file, line and column" \
    grep -q "$KW_TMP/k.yml:[0-9]*:[0-9]*: bearer_token_file .* is empty" "$KW_TMP/krbwatch.log"
check_eq "after the failed reload: krbwatch_config_last_reload_success 0" 0 \
    "$(metric krbwatch_config_last_reload_success)"
check "the token never reaches the log" sh -c "! grep -q 'kw-token-' '$KW_TMP/krbwatch.log'"
echo "kw-token-$$-2" >"$TOKEN"
kill -HUP "$KW_PID"
check "a token put back reloads" wait_for 5 sh -c \
    "curl -fsS http://127.0.0.1:$port/metrics | grep -q '^krbwatch_config_last_reload_success 1'"
