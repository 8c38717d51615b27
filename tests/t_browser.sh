#!/bin/sh
# The status page in a real browser: headless Chromium loads krbwatch's / from the lab's client
# namespace, healthy and under two faults (us-west-2's copy of the trust key broken; us-east-1's
# KDCs stopped), and the test reads what it rendered (--dump-dom, through tests/status_dom.py):
# the Region's verdict, each cluster's row and cells, the reasons, the words and the check line
# krbwatch probe prints, the other Region ok.  A screenshot of each state is kept under the
# test's directory (its path printed as "# artifact:"); /status.json is checked too.  The test
# waits for conditions (the model in /status.json), never for time.

. "$(dirname "$0")/lib.sh"
. "$KW_TOP/tests/lab_session.sh"

if ! command -v chromium >/dev/null 2>&1; then
	not_ok "chromium is installed (sh tests/deps.sh)"
	exit 1
fi

# A deadline a healthy lab cannot miss, even under the sanitizers on a loaded machine: at 900 ms
# the ASan build's logins timed out between /status.json saying "ok" and Chromium loading the
# page, which then showed the later, failing run.  No fault here needs a short deadline (a
# stopped KDC refuses, a broken trust answers at once).
lab_session "${KW_BROWSER_NS:-tbr}" 5s 4s
# The screenshots and DOMs outlive the run (lib.sh removes KW_TMP): a directory of their own.
ART=$(mktemp -d "${TMPDIR:-/tmp}/kwbrowser.XXXXXX")
echo "# artifacts: $ART"

"$LAB" exec $E "$KW_BIN" -c "$CONF" 2>"$KWLOG" &
kw_pid=$!
URL=http://$KW_LAB_LISTEN

get() { "$LAB" exec $E curl -fsS --max-time 3 "$URL$1"; }
check "krbwatch becomes ready in the lab" wait_for 30 get /-/ready

# chrome ARGS...: headless Chromium in the client namespace: its own profile and HOME, no
# sandbox (it runs as root), nothing fetched but the page
chrome() {
	timeout 60 "$LAB" exec $E env HOME="$KW_TMP" chromium --headless --no-sandbox --disable-gpu \
		--no-first-run --disable-background-networking --disable-component-update \
		--disable-dev-shm-usage --hide-scrollbars --user-data-dir="$KW_TMP/chromium" "$@"
}
# browse STATE: the page as Chromium rendered it (STATE.dom, STATE.txt: status_dom.py's lines)
# and a screenshot (STATE.png)
browse() {
	_p="$ART/$1"
	chrome --dump-dom "$URL/" >"$_p.dom" 2>>"$KW_TMP/chromium.log" &&
	chrome --window-size=1280,1400 --screenshot="$_p.png" "$URL/" >>"$KW_TMP/chromium.log" 2>&1 &&
	python3 "$KW_TOP/tests/status_dom.py" "$_p.dom" >"$_p.txt"
}
# phone STATE: the same page as a phone in its dark scheme shows it (STATE-phone.png)
phone() {
	chrome --force-dark-mode --blink-settings=preferredColorScheme=0 --window-size=390,1500 \
		--screenshot="$ART/$1-phone.png" "$URL/" >>"$KW_TMP/chromium.log" 2>&1 &&
	[ -s "$ART/$1-phone.png" ] && echo "# artifact: $ART/$1-phone.png"
}
# seen STATE PATTERN: a line of what the browser rendered matches (grep -E)
seen() { grep -qE -- "$2" "$ART/$1.txt"; }
show() { sed 's/^/#   /' "$ART/$1.txt"; }
artifact() { [ -s "$ART/$1.png" ] && echo "# artifact: $ART/$1.png"; }

# model PYTHON-EXPRESSION: true when it holds of /status.json (d), with helpers for the rows
model() {
	get /status.json >"$KW_TMP/status.json" 2>/dev/null || return 1
	python3 - "$KW_TMP/status.json" "$1" <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
R = {r["name"]: r for r in d["regions"]}
def clusters(r):
    return [x for x in R[r]["rows"] if x["kind"] == "cluster"]
def all_fail(r, hop, reason):
    c = clusters(r)
    return len(c) == 3 and all(x["hops"][hop]["state"] == "failing" and
                               x["hops"][hop]["reason"] == reason for x in c)
def kdc_refused(r):
    k = [x for x in R[r]["rows"] if x["kind"] == "kdc"]
    return (R[r]["shared"]["kdc"]["state"] == "failing" and len(k) > 0 and
            all(x["hops"]["kdc"]["state"] == "failing" and x["hops"]["kdc"]["reason"] == "refused" for x in k))
def ok(r):
    return R[r]["state"] == "ok" and len(clusters(r)) == 3
sys.exit(0 if eval(sys.argv[2]) else 1)
EOP
}

# missing STATE PAGE: the patterns of PAGE (one a line) that no line of the page as STATE matches
missing() {
	printf '%s\n' "$2" | while IFS= read -r _pat; do seen "$1" "$_pat" || echo "$_pat"; done
}
# shows STATE PAGE: load the page as STATE; true when it shows every pattern of PAGE
shows() { browse "$1" && [ -z "$(missing "$1" "$2")" ]; }

# page STATE PAGE: wait until the page as STATE shows PAGE; false when Chromium could not load
# it.  The page is its own wait: a run that ends between /status.json and Chromium's load
# changes what the page shows, and the checks that follow read one page.
page() {
	wait_for 30 shows "$1" "$2"; _rc=$?
	if [ -s "$ART/$1.txt" ]; then
		check "$n: the page shows it" [ "$_rc" -eq 0 ] || {
			missing "$1" "$2" | sed 's/^/#   not on the page: /'
			show "$1"
		}
		artifact "$1"; return 0
	fi
	not_ok "$n: chromium loads the page"; tail -n 5 "$KW_TMP/chromium.log" | sed 's/^/#   /'
	return 1
}

# enter STATE WHAT CONDITION PAGE FAULT...: inject the fault, wait until /status.json shows
# CONDITION (said as WHAT), then for the page as STATE to show PAGE
enter() {
	_s=$1 _what=$2 _cond=$3 _page=$4; shift 4
	"$LAB" fault "$@" >>"$LOG" 2>&1 || not_ok "$n: injected"
	check "$n: /status.json: $_what" wait_for 30 model "$_cond"
	page "$_s" "$_page"
}

E_OK="ok('$E')"
W_OK="ok('$W')"

# ---- healthy ----------------------------------------------------------------------------------
n=healthy
check "$n: /status.json says both Regions ok, 3 clusters each" wait_for 30 model "$E_OK and $W_OK"
if page healthy "^region $E ok ✓ OK: 3 login paths
^region $W ok ✓ OK: 3 login paths"; then
	for r in $E $W; do
		check "$n: $r's verdict on top: OK" seen healthy "^region $r ok ✓ OK: 3 login paths, every hop passes" || show healthy
		check_eq "$n: $r: 3 cluster rows, every hop ok" 3 \
			"$(grep -cE "^row $r [a-z]+-[a-z0-9]+ cluster ok dns=ok kdc=ok tgt=ok referral=ok service_ticket=ok login=ok$" "$ART/healthy.txt")"
	done
	check_eq "$n: nothing to diagnose" "" "$(grep '^diag ' "$ART/healthy.txt")"
fi

# /status.json: valid JSON with the documented fields (krbwatch(8))
get /status.json >"$KW_TMP/status.json"
check "/status.json: valid JSON with its documented fields" python3 - "$KW_TMP/status.json" <<'EOP'
import json, sys
d = json.load(open(sys.argv[1]))
top = {"krbwatch", "config", "generated", "refresh_seconds", "ok", "summary", "identity_held", "hops", "regions"}
reg = {"name", "state", "since", "last_ok", "paths", "paths_failing", "dns_lookups", "kdcs", "shared", "rows"}
row = {"probe", "kind", "name", "cluster", "endpoint", "instance", "state", "failed_hop", "reason",
       "means", "check", "detail", "finished", "hops", "history"}
cell = {"state", "shared", "reason", "means", "check", "detail"}
assert top <= d.keys(), top - d.keys()
assert d["hops"] == ["dns", "kdc", "tgt", "referral", "service_ticket", "login"]
assert d["ok"] is True and d["identity_held"] is None
for r in d["regions"]:
    assert reg <= r.keys(), reg - r.keys()
    for x in r["rows"]:
        assert row <= x.keys(), row - x.keys()
        assert set(x["hops"]) == set(d["hops"])
        for c in x["hops"].values():
            assert cell <= c.keys(), cell - c.keys()
        h = x["history"]
        assert h is not None and h["runs"] and h["last_ok"] is not None
EOP

# ---- us-west-2's copy of the trust key broken -------------------------------------------------
n="trust broken in $W's copy (trust-broken $W)"
if enter trust "every $W cluster's service ticket fails with trust_key, $E ok" \
	"all_fail('$W', 'service_ticket', 'trust_key') and $E_OK" \
	"^region $W failing ✗ FAILING: 3 of 3 login paths
^region $E ok ✓ OK: 3 login paths" trust-broken $W; then
	check "$n: a phone's screenshot, dark scheme" phone trust
	check "$n: $W's verdict on top: 3 of 3 failing" seen trust "^region $W failing ✗ FAILING: 3 of 3 login paths · since " || show trust
	check_eq "$n: each of $W's 3 clusters: service_ticket failing (trust_key), login not reached" 3 \
		"$(grep -cE "^row $W [a-z]+-usw2 cluster failing dns=ok kdc=ok tgt=ok referral=ok service_ticket=failing:trust_key login=not_reached$" "$ART/trust.txt")"
	check "$n: the words krbwatch probe gives" \
		seen trust "^diag $W service_ticket trust_key \\| trust_key: the Region's KDC cannot decrypt the referral from the user realm"
	check "$n: ... and its check line" \
		seen trust "^diag $W service_ticket trust_key \\| .* \\| check: the trust in that Region's directory against the user realm's side"
	check "$n: ... and each cluster's own detail" \
		seen trust "^diag $W service_ticket trust_key \\| .* \\| mariadb-usw2: .* ; postgres-usw2: .* ; mysql-usw2: "
	check "$n: $E stays ok" seen trust "^region $E ok ✓ OK: 3 login paths"
	check_eq "$n: ... every one of its cells ok" 3 \
		"$(grep -cE "^row $E [a-z]+-use1 cluster ok dns=ok kdc=ok tgt=ok referral=ok service_ticket=ok login=ok$" "$ART/trust.txt")"
fi
# krbwatch probe --json carries the same rows and cells (one model)
"$LAB" exec $E "$KW_BIN" probe --json -c "$CONF" >"$KW_TMP/probe.json" 2>"$KW_TMP/probe.err"
check_eq "$n: krbwatch probe --json: $W's rows as on the page" \
	"mariadb-usw2 failing trust_key not_reached|postgres-usw2 failing trust_key not_reached|mysql-usw2 failing trust_key not_reached" \
	"$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = [x for x in d["regions"] if x["name"] == sys.argv[2]][0]
print("|".join("%s %s %s %s" % (x["name"], x["state"], x["hops"]["service_ticket"]["reason"], x["hops"]["login"]["state"])
               for x in r["rows"] if x["kind"] == "cluster"))' "$KW_TMP/probe.json" $W 2>&1)"
"$LAB" heal >>"$LOG" 2>&1 || not_ok "$n: heal"
check "$n: healed: both Regions ok again" wait_for 40 model "$E_OK and $W_OK"

# ---- us-east-1's KDCs stopped -----------------------------------------------------------------
n="$E's KDCs down (kdc-down $E)"
if enter kdcdown "every $E cluster's service ticket fails with refused, the Region's KDC too, $W ok" \
	"all_fail('$E', 'service_ticket', 'refused') and kdc_refused('$E') and $W_OK" \
	"^region $E failing ✗ FAILING: 3 of 3 login paths
^diag $E kdc refused
^region $W ok ✓ OK: 3 login paths" kdc-down $E; then
	check "$n: $E's verdict on top: 3 of 3 failing" seen kdcdown "^region $E failing ✗ FAILING: 3 of 3 login paths" || show kdcdown
	check_eq "$n: each of $E's clusters: the Region's KDC failing (refused), service_ticket refused" 3 \
		"$(grep -cE "^row $E [a-z]+-use1 cluster failing dns=ok kdc=failing:refused tgt=ok referral=ok service_ticket=failing:refused login=not_reached$" "$ART/kdcdown.txt")"
	check "$n: the KDCs' own rows, with the words" \
		seen kdcdown "^diag $E kdc refused \\| refused: the host answers but nothing listens on the Kerberos port"
	check "$n: ... and what to check" \
		seen kdcdown "^diag $E kdc refused \\| .* \\| check: the KDC service on that DC"
	check "$n: $W stays ok" seen kdcdown "^region $W ok ✓ OK: 3 login paths"
fi
"$LAB" heal >>"$LOG" 2>&1 || not_ok "$n: heal"

# the page's own text never carries markup a server sent: every tag in the DOM is krbwatch's
check "no element the page does not make itself (no script, no link, no img)" sh -c \
	"! grep -lE '<(script|link|img|iframe|object)[ >]' '$ART'/*.dom"

# under ASan+UBSan (make check's second pass) a report makes the exit status non-zero
kill -TERM "$kw_pid"
wait "$kw_pid"
check_eq "krbwatch stops cleanly at SIGTERM (exit 0, no sanitizer report)" 0 "$?"
kw_pid=""
