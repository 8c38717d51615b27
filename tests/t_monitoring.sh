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
    krbwatch_hop_last_success_timestamp_seconds krbwatch_config_last_reload_success 'up{job=~'; do
	check "$RULES alerts on $m" grep -q "expr:.*$m" "$RULES"
done
for m in krbwatch_hop_success krbwatch_hop_duration_seconds krbwatch_kdc_up \
    krbwatch_kdc_rtt_seconds krbwatch_kdc_clock_skew_seconds; do
	check "$DASH shows $m" grep -q "$m" "$DASH"
done

# runbook_url: RUNBOOK_URL_BASE#ANCHOR, the default base as the Makefile names it, ANCHOR a heading
# of the runbook as GitHub makes it (lower case, spaces to -, other punctuation dropped).
base=$(sed -n 's/^RUNBOOK_URL_DEFAULT := //p' Makefile)
check "the Makefile names the default RUNBOOK_URL_BASE ($base), an absolute https link" \
    sh -c "case '$base' in https://?*/README.md) true ;; *) false ;; esac"
check "the rules file documents that default" grep -q "RUNBOOK_URL_BASE = $base\$" "$RULES"
sed -n 's/^#\{1,6\} \(.*\)/\1/p' "$RUNBOOK" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9_\n-' \
    >"$KW_TMP/anchors"
grep -o '^ *runbook_url: .*' "$RULES" | sed 's/^ *//' | tr -d '"' | sed 's/runbook_url: //' >"$KW_TMP/urls"
check_eq "every alert has a runbook_url" "$(grep -c -- '- alert:' "$RULES")" \
    "$(wc -l <"$KW_TMP/urls")"
while read -r u; do
	check "$u: the default base, then a heading of $RUNBOOK" sh -c "case '$u' in '$base#'*) grep -qx '${u#"$base#"}' $KW_TMP/anchors ;; *) false ;; esac"
done <"$KW_TMP/urls"
# each alert's runbook_url is that alert's own section
python3 - "$RULES" "$base" >"$KW_TMP/own" <<'EOP'
import sys, yaml
for g in yaml.safe_load(open(sys.argv[1]))["groups"]:
    for r in g["rules"]:
        if "alert" in r and r["annotations"]["runbook_url"] != sys.argv[2] + "#" + r["alert"].lower():
            print(r["alert"], r["annotations"]["runbook_url"])
EOP
check_eq "each runbook_url is BASE#<its alert's name in lower case>" "" "$(cat "$KW_TMP/own")"

# make install-monitoring RUNBOOK_URL_BASE=...: the one setting reaches every runbook_url, and
# the installed rules are still valid and test the same
dest=$KW_TMP/dest
mine=https://wiki.example.com/krb/README.md
make -s -C "$KW_TOP" install-monitoring DESTDIR="$dest" PREFIX=/usr RUNBOOK_URL_BASE="$mine" \
    >"$KW_TMP/install.log" 2>&1
check_eq "make install-monitoring PREFIX=/usr RUNBOOK_URL_BASE=...: exit 0" 0 "$?"
inst=$dest/usr/share/krbwatch/krbwatch.rules.yml
check "it installs /usr/share/krbwatch/krbwatch.rules.yml and krbwatch-dashboard.json" \
    test -s "$inst" -a -s "$dest/usr/share/krbwatch/krbwatch-dashboard.json"
check_eq "every installed runbook_url starts with RUNBOOK_URL_BASE" "$(wc -l <"$KW_TMP/urls")" \
    "$(grep -c "runbook_url: \"$mine#[a-z0-9]*\"$" "$inst")"
check_eq "... and nothing else changed" "" \
    "$(sed "s|$mine#|$base#|" "$inst" | diff "$RULES" - )"
check "promtool check rules accepts the installed file" sh -c "promtool check rules '$inst' >/dev/null 2>&1"

# The README's "Prometheus and Alertmanager" examples are configurations the real tools accept:
# amtool for Alertmanager's; promtool for Prometheus', its files pointed at this tree's.
python3 - "$RUNBOOK" "$KW_TMP" <<'EOP'
import re, sys
text = open(sys.argv[1]).read()
sec = text[text.index("## Prometheus and Alertmanager"):]
sec = sec[:sec.index("\n## ", 3)]
blocks = re.findall(r"```yaml\n(.*?)```", sec, re.S)
for name, b in zip(("krbwatch", "prometheus", "alertmanager"), blocks):
    open("%s/readme-%s.yml" % (sys.argv[2], name), "w").write(b)
EOP
check "the README shows krbwatch's, Prometheus' and Alertmanager's configuration" \
    test -s "$KW_TMP/readme-alertmanager.yml"
check "amtool check-config accepts the README's Alertmanager configuration" \
    sh -c "amtool check-config '$KW_TMP/readme-alertmanager.yml' >'$KW_TMP/amtool.log' 2>&1" ||
    sed 's/^/#   /' "$KW_TMP/amtool.log"
check "... which groups by alertname and aws_region" \
    grep -q 'group_by: \[alertname, aws_region\]' "$KW_TMP/readme-alertmanager.yml"
: >"$KW_TMP/ca.crt"; : >"$KW_TMP/pass"
sed -e "s|/etc/prometheus/rules/krbwatch.rules.yml|$KW_TOP/$RULES|" \
    -e "s|/etc/prometheus/krbwatch-ca.crt|$KW_TMP/ca.crt|" -e "s|/etc/prometheus/krbwatch.pass|$KW_TMP/pass|" \
    "$KW_TMP/readme-prometheus.yml" >"$KW_TMP/prom.yml"
check "promtool check config accepts the README's Prometheus configuration (with the rules)" \
    sh -c "promtool check config '$KW_TMP/prom.yml' >'$KW_TMP/promtool.log' 2>&1" ||
    sed 's/^/#   /' "$KW_TMP/promtool.log"
check "... a job named krbwatch, as KrbwatchDown's up{job=~\".*krbwatch.*\"} needs" \
    grep -q 'job_name: krbwatch$' "$KW_TMP/readme-prometheus.yml"
check "the README's krbwatch web: block is the one tests/t_prometheus.sh runs (TLS, basic auth)" \
    sh -c "grep -q '^  tls_server_config:' '$KW_TMP/readme-krbwatch.yml' && grep -q '^  basic_auth_users:' '$KW_TMP/readme-krbwatch.yml' &&
           grep -q '^  tls_server_config:' '$KW_TOP/tests/t_prometheus.sh' && grep -q '^  basic_auth_users:' '$KW_TOP/tests/t_prometheus.sh'"
