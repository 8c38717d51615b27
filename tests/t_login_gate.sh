#!/bin/sh
# Issue 21: krbwatch must not make its own false alarms by exhausting the connections of the
# databases it watches.  Before, a Region's run logged all its clusters in at once: with 24
# PostgreSQL clusters behind the lab's us-east-1 server (max_connections 20) several logins
# failed with "too many clients" every cycle, and the lab's MariaDB saw 24 connections at a time.
# Here: one Region of 48 clusters (24 on each of the lab's us-east-1 MariaDB and PostgreSQL) with
# login_concurrency 3; after two chain runs every cluster's login succeeded, no login failed,
# and MariaDB's own Max_used_connections (reset before krbwatch starts) stayed within the limit
# (plus the one connection of this script that reads it).
. "$(dirname "$0")/lib.sh"
. "$KW_TOP/tests/lab_session.sh"

N=3
lab_session "${KW_GATE_NS:-tlg}" 5s 4s
python3 "$KW_TOP/bench/bench.py" genconf --lab-dir "$KW_LAB_DIR" --regions 1 --clusters 48 \
    --interval 5s --timeout 4s --listen "$KW_LAB_LISTEN" >"$CONF"
echo "login_concurrency: $N" >>"$CONF"
R=us-east-1-01

sql() { mariadb --no-defaults -S "$KW_LAB_DIR/db/use1/mariadb/mariadbd.sock" -u root -N -B -e "$1"; }
check "MariaDB's status counters reset before krbwatch starts" sql "FLUSH STATUS"

"$LAB" exec $E env KRB5_CONFIG="$KW_LAB_KRBWATCH_KRB5_CONFIG" "$KW_BIN" -c "$CONF" 2>"$KWLOG" &
kw_pid=$!
get() { "$LAB" exec $E curl -fsS --max-time 3 "http://$KW_LAB_LISTEN$1"; }
chain_runs() {
	get /metrics | awk -v s="krbwatch_probe_runs_total{aws_region=\"$R\",probe=\"chain\"}" \
	    'index($0, s " ") == 1 { print $2 }'
}
two_runs() { [ "$(chain_runs)" -ge 2 ] 2>/dev/null; }
check "two chain runs of the Region's 48 clusters" wait_for 60 two_runs
get /metrics >"$KW_TMP/metrics"
echo "# figure: chain runs $(chain_runs)"

ok_logins=$(grep -c "^krbwatch_login_success{aws_region=\"$R\",db_cluster=\"c[0-9]*\"} 1$" "$KW_TMP/metrics")
check_eq "every one of the 48 clusters logged in" 48 "$ok_logins"
failed=$(awk '/^krbwatch_hop_failures_total\{.*hop="login"/ { n += $2 } END { print n + 0 }' "$KW_TMP/metrics")
check_eq "no login failed in any run" 0 "$failed"
if [ "$failed" != 0 ]; then
	grep '^krbwatch_hop_failures_total{.*hop="login"' "$KW_TMP/metrics" | head -n 5 | sed 's/^/#   /'
fi
peak=$(sql "SHOW GLOBAL STATUS LIKE 'Max_used_connections'" | awk '{ print $2 }')
echo "# figure: MariaDB Max_used_connections $peak with login_concurrency $N (24 clusters on it)"
check "MariaDB never saw more than login_concurrency ($N) logins at a time, +1 for this query" \
    [ "${peak:-99}" -le $((N + 1)) ]
