#!/usr/bin/env python3
"""Reads what tests/t_prometheus.sh gets from Prometheus' HTTP API and from Alertmanager's
webhooks, and prints it as lines a shell test can grep.

    prom_api.py targets  < /api/v1/targets      job instance health scrapeUrl lastError
    prom_api.py rules    < /api/v1/rules        group rule health state lastError
    prom_api.py result   < /api/v1/query        "ok N" (N series) or "error TYPE: MESSAGE"
    prom_api.py exprs RULES DASHBOARD           rules|dashboard TITLE<TAB>EXPR, one a line
    prom_api.py notes DIR                       one line per alert of each webhook body

Dashboard expressions get Grafana's variables replaced as "All" would ($aws_region, $instance:
.*) and $__rate_interval / $__interval as 1m; a variable's label_values(EXPR, label) is EXPR.
"""
import json
import os
import re
import sys


def targets(d):
    for t in d["data"]["activeTargets"]:
        print(t["labels"].get("job", "-"), t["labels"].get("instance", "-"), t["health"],
              t["scrapeUrl"], json.dumps(t.get("lastError", "")))


def rules(d):
    for g in d["data"]["groups"]:
        for r in g["rules"]:
            print(g["name"], r["name"], r["health"], r.get("state", "recording"),
                  json.dumps(r.get("lastError", "")))


def result(d):
    if d.get("status") != "success":
        print("error %s: %s" % (d.get("errorType"), d.get("error")))
    else:
        r = d["data"]["result"]
        print("ok", len(r) if isinstance(r, list) else 1)


def grafana(expr):
    expr = re.sub(r"\$\{?(aws_region|instance)(:[a-z]+)?\}?", ".*", expr)
    expr = re.sub(r"\$\{?__(rate_)?interval\}?", "1m", expr)
    m = re.fullmatch(r"\s*label_values\((.*),\s*[a-zA-Z_]+\)\s*", expr, re.S)
    return m.group(1) if m else expr


def exprs(rules_path, dash_path):
    import yaml
    for g in yaml.safe_load(open(rules_path))["groups"]:
        for r in g["rules"]:
            print("rules %s\t%s" % (r.get("alert") or r.get("record"), " ".join(r["expr"].split())))
    dash = json.load(open(dash_path))

    def panels(ps):
        for p in ps:
            yield p
            yield from panels(p.get("panels", []))
    for p in panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            if "expr" in t:
                print("dashboard %s\t%s" % (p.get("title", "?").replace("\t", " "),
                                            " ".join(grafana(t["expr"]).split())))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if v.get("type") == "query":
            q = q.get("query") if isinstance(q, dict) else q
            print("dashboard variable %s\t%s" % (v["name"], " ".join(grafana(q).split())))


def notes(d):
    for name in sorted(f for f in os.listdir(d) if re.fullmatch(r"\d+\.json", f)):
        body = json.load(open(os.path.join(d, name)))
        for a in body["alerts"]:
            lab = a["labels"]
            print(name[:-5], body["status"], a["status"], lab.get("alertname", "-"),
                  "aws_region=" + lab.get("aws_region", "-"), "instance=" + lab.get("instance", "-"),
                  "in_body=%d" % len(body["alerts"]),
                  "group=" + ",".join("%s=%s" % kv for kv in sorted(body["groupLabels"].items())),
                  "|", a["annotations"].get("summary", ""), "|", a["annotations"].get("description", ""),
                  "|", a["annotations"].get("runbook_url", ""))


def main():
    cmd = sys.argv[1]
    if cmd == "exprs":
        exprs(sys.argv[2], sys.argv[3])
    elif cmd == "notes":
        notes(sys.argv[2])
    else:
        {"targets": targets, "rules": rules, "result": result}[cmd](json.load(sys.stdin))


if __name__ == "__main__":
    main()
