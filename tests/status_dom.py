#!/usr/bin/env python3
"""What a person sees on krbwatch's status page, from the DOM a browser rendered (chromium
--dump-dom), one line per thing, for tests/t_browser.sh to grep:

  region NAME STATE VERDICT-TEXT
  row REGION NAME KIND STATE dns=STATE[:REASON] kdc=... tgt=... referral=... service_ticket=... login=...
  diag REGION HOP REASON | WORDS | CHECK-LINE | ROW: DETAIL ; ROW: DETAIL ...

Usage: status_dom.py DOM-FILE
"""
import sys
from html.parser import HTMLParser

HOPS = ["dns", "kdc", "tgt", "referral", "service_ticket", "login"]


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.region = None
        self.out = []
        self.row = None
        self.diag = None
        self.text = None     # (kind, buffer) being collected
        self.depth = {}      # the tag that ends what is being collected

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-region" in a:
            self.region = {"name": a["data-region"], "state": a.get("data-state", "?")}
        elif tag == "p" and "data-verdict" in a and self.region:
            self.text = ["verdict", ""]
        elif tag == "tr" and "data-row" in a:
            self.row = {"name": a["data-row"], "kind": a.get("data-kind", "?"),
                        "state": a.get("data-state", "?"), "cells": {}}
        elif tag == "td" and self.row is not None and "data-hop" in a:
            st = a.get("data-state", "?")
            if "data-reason" in a:
                st += ":" + a["data-reason"]
            self.row["cells"][a["data-hop"]] = st
        elif tag == "div" and "diag" in a.get("class", "").split():
            self.diag = {"hop": a.get("data-hop"), "reason": a.get("data-reason"),
                         "means": "", "check": "", "items": []}
        elif self.diag is not None and tag == "p":
            cls = a.get("class", "")
            self.text = [cls, ""]
        elif self.diag is not None and tag == "li":
            self.text = ["li", ""]

    def handle_endtag(self, tag):
        if self.text is not None and tag in ("p", "li"):
            kind, buf = self.text
            buf = " ".join(buf.split())
            self.text = None
            if kind == "verdict" and self.region:
                self.out.append("region %s %s %s" % (self.region["name"], self.region["state"], buf))
            elif kind in ("means", "check") and self.diag is not None:
                self.diag[kind] = buf
            elif kind == "li" and self.diag is not None:
                self.diag["items"].append(buf)
        elif tag == "tr" and self.row is not None:
            r = self.row
            cells = " ".join("%s=%s" % (h, r["cells"].get(h, "?")) for h in HOPS)
            self.out.append("row %s %s %s %s %s" % (self.region["name"] if self.region else "?",
                                                    r["name"].replace(" ", "_"), r["kind"],
                                                    r["state"], cells))
            self.row = None
        elif tag == "div" and self.diag is not None and self.text is None:
            d = self.diag
            self.out.append("diag %s %s %s | %s | %s | %s" % (
                self.region["name"] if self.region else "?", d["hop"], d["reason"], d["means"],
                d["check"], " ; ".join(d["items"])))
            self.diag = None
        elif tag == "section":
            self.region = None

    def handle_data(self, data):
        if self.text is not None:
            self.text[1] += data


def main():
    p = Page()
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        p.feed(f.read())
    for line in p.out:
        print(line)


if __name__ == "__main__":
    main()
