# What the login tests (t_login_mysql.sh, t_login_pg.sh) share, sourced after lib.sh with DRV
# (the driver) and WRAP (a command to run it under, or nothing) set: a lab of their own
# (KW_LAB_NS, through tests/lab_session.sh), tickets fetched by stock tools, and the driver run
# in a client namespace.

. "$KW_TOP/tests/lab_session.sh"
[ -x "$DRV" ] || { not_ok "driver $DRV is built"; exit 1; }
# no krbwatch runs here: the interval and deadline of the lab's configuration do not matter
lab_session "$KW_LAB_NS" 2s 1500ms

# cache NAME [kvno args...]: a FILE cache with krbmon's TGT and the tickets kvno fetched, as
# stock tools fetch them from the us-east-1 client (through the lab's KDCs and DNS).
cache() {
	_f=$KW_TMP/$1.cc; shift
	"$LAB" exec us-east-1 sh -c 'kinit -k -c "FILE:$0" "$1" && shift 2 && { [ $# -eq 0 ] || kvno -q -c "FILE:$0" "$@"; }' \
	    "$_f" "$KW_LAB_PRINCIPAL" x "$@" >"$KW_TMP/cache.log" 2>&1 || { sed 's/^/#   /' "$KW_TMP/cache.log"; return 1; }
}

# login [--from REGION] [--hosts "IP NAME"] [--silent PORT] ARGS...: runs the driver in a
# Region's client namespace (default us-east-1); sets OUT (its result line), RC and ERR (its
# stderr).  --hosts binds an /etc/hosts with that line (lab exec gives the command its own mount
# namespace; c-ares reads the file); --silent starts a peer on 127.0.0.1:PORT that accepts and
# never answers.
login() {
	_from=us-east-1; _hosts=""; _silent=""
	while :; do
		case $1 in
		--from) _from=$2; shift 2 ;;
		--hosts) _hosts=$2; shift 2 ;;
		--silent) _silent=$2; shift 2 ;;
		*) break ;;
		esac
	done
	printf '127.0.0.1 localhost\n%s\n' "$_hosts" >"$KW_TMP/hosts"
	"$LAB" exec "$_from" sh -c '
		h=$1 s=$2; shift 2
		if [ -n "$s" ]; then
			f=$(mktemp)
			python3 -c "
import socket, sys
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((\"127.0.0.1\", int(sys.argv[1]))); l.listen(8); l.settimeout(10)
print(\"up\", flush=True)
c, _ = l.accept(); c.settimeout(10)
while c.recv(512): pass
" "$s" >"$f" 2>/dev/null &
			while [ ! -s "$f" ]; do sleep 0.02; done
			rm -f "$f"
		fi
		mount --bind "$h" /etc/hosts || exit 125
		exec env KRB5_CONFIG="$KW_LAB_KRBWATCH_KRB5_CONFIG" KRB5CCNAME=MEMORY:driver-default "$@"' \
	    login "$KW_TMP/hosts" "$_silent" $WRAP "$DRV" "$@" >"$KW_TMP/out" 2>"$KW_TMP/err"
	RC=$?
	OUT=$(cat "$KW_TMP/out"); ERR=$(cat "$KW_TMP/err")
	[ -z "$ERR" ] || printf '#   stderr: %s\n' "$ERR" | head -20
}
field() { printf '%s\n' "$OUT" | sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }

# check_login "what" REASON ARGS...: the driver's reason is REASON (exit 0 exactly for ok)
check_login() {
	_what=$1 _want=$2; shift 2
	login "$@"
	_got=$(field reason)
	_rc=1; [ "$_want" = ok ] && _rc=0
	if [ "$_got" = "$_want" ] && [ "$RC" -eq "$_rc" ]; then
		ok "$_what ($OUT)"
	else
		not_ok "$_what"
		printf '#   expected reason=%s, got rc=%s: %s\n' "$_want" "$RC" "$OUT"
	fi
}
