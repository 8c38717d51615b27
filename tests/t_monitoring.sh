#!/bin/sh
# plain-only: checks monitoring/ (rules, their tests, the dashboard), never starts krbwatch.
# promtool check rules and test rules; every alert has a test where it fires and one where it
# does not; the dashboard is JSON; every krbwatch_* name the rules and the dashboard use is a
# family the C sources register (so a renamed metric breaks this test, not a 3 a.m. page); every
# runbook_url anchor is a heading of README.md (its Runbook section).
. "$(dirname "$0")/lib.sh"

cd "$KW_TOP" || exit 1
RULES=monitoring/krbwatch.rules.yml
RTEST=monitoring/krbwatch.rules.test.yml
DASH=monitoring/krbwatch-dashboard.json
RUNBOOK=README.md

if ! command -v promtool >/dev/null; then
	not_ok "promtool is installed (tests/deps.sh installs prometheus)"
	exit 1
fi
check "promtool check rules $RULES" sh -c "promtool check rules $RULES >$KW_TMP/check 2>&1"
grep -v '^Checking\|SUCCESS\|^$' "$KW_TMP/check" | sed 's/^/#   /'
check "promtool test rules $RTEST" sh -c "cd monitoring && promtool test rules $(basename "$RTEST") >$KW_TMP/test 2>&1"
grep -v 'Unit Testing\|SUCCESS\|^$' "$KW_TMP/test" | sed 's/^/#   /'
check "$DASH is valid JSON" sh -c "python3 -m json.tool $DASH >/dev/null"

# Each alert of the rules: an evaluation that expects it and one that expects nothing.
python3 - "$RULES" "$RTEST" >"$KW_TMP/cases" <<'EOP'
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
tests = yaml.safe_load(open(sys.argv[2]))
names = [r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
fires, quiet = set(), set()
for t in tests["tests"]:
    for c in t.get("alert_rule_test", []):
        (fires if c.get("exp_alerts") else quiet).add(c["alertname"])
for n in names:
    print(n, "fires" if n in fires else "-", "quiet" if n in quiet else "-")
EOP
check "the rules have alerts" test -s "$KW_TMP/cases"
while read -r name f q; do
	check "$name: a test where it fires" test "$f" = fires
	check "$name: a test where it does not" test "$q" = quiet
done <"$KW_TMP/cases"

# The families krbwatch registers: every quoted "krbwatch_..." in the C sources (the chain
# probe's draft included, so that its names count before it is in the probe table).
grep -ho '"krbwatch_[a-z0-9_]*"' daemon/*.c probes/*.c | tr -d '"' | sort -u >"$KW_TMP/exported"
check "the C sources register krbwatch_* families ($(wc -l <"$KW_TMP/exported"))" \
    test "$(wc -l <"$KW_TMP/exported")" -ge 20
for f in "$RULES" "$DASH"; do
	grep -o 'krbwatch_[a-z0-9_]*' "$f" | sort -u >"$KW_TMP/used"
	n=$(wc -l <"$KW_TMP/used")
	missing=$(comm -23 "$KW_TMP/used" "$KW_TMP/exported" | tr '\n' ' ')
	check_eq "$f: its $n krbwatch_* names are all exported" "" "$missing"
done
for m in krbwatch_region_auth_up krbwatch_hop_success krbwatch_kdc_up \
    krbwatch_kdc_clock_skew_seconds krbwatch_ticket_enctype_info krbwatch_dns_lookup_success \
    krbwatch_hop_last_success_timestamp_seconds krbwatch_config_last_reload_success; do
	check "$RULES alerts on $m" grep -q "expr:.*$m" "$RULES"
done
for m in krbwatch_hop_success krbwatch_hop_duration_seconds krbwatch_kdc_up \
    krbwatch_kdc_rtt_seconds krbwatch_kdc_clock_skew_seconds; do
	check "$DASH shows $m" grep -q "$m" "$DASH"
done

# runbook_url: README.md#ANCHOR, where ANCHOR is a heading of the runbook as GitHub makes it
# (lower case, spaces to -, other punctuation dropped).
sed -n 's/^#\{1,6\} \(.*\)/\1/p' "$RUNBOOK" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9_\n-' \
    >"$KW_TMP/anchors"
grep -o 'runbook_url: .*' "$RULES" | tr -d '"' | sed 's/runbook_url: //' >"$KW_TMP/urls"
check_eq "every alert has a runbook_url" "$(grep -c -- '- alert:' "$RULES")" \
    "$(wc -l <"$KW_TMP/urls")"
while read -r u; do
	check "$u is a heading of $RUNBOOK" sh -c "case '$u' in README.md#*) grep -qx '${u#README.md#}' $KW_TMP/anchors ;; *) false ;; esac"
done <"$KW_TMP/urls"
