#!/usr/bin/env python3
"""Looks for secrets in what krbwatch shows: the keytab's keys (as raw bytes, hex or base64), and
anything shaped like a ticket or a key dump (a run of 48+ hex digits or 64+ base64 characters).

usage: secret_scan.py KEYTAB [--token FILE]... FILE...
Prints each finding as "FILE: what" and exits 1 when there is one."""
import base64
import re
import subprocess
import sys


def keytab_keys(path):
    """The keys of a keytab, from MIT's klist -kK (no parser of our own)."""
    out = subprocess.run(["klist", "-kK", path], capture_output=True, text=True, check=True).stdout
    keys = []
    for m in re.finditer(r"\(0x([0-9a-fA-F]+)\)", out):
        keys.append(bytes.fromhex(m.group(1)))
    if not keys:
        sys.exit("secret_scan: no keys found in %s (klist -kK)" % path)
    return keys


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    keytab, files, secrets = args[0], [], []
    i = 1
    while i < len(args):
        if args[i] == "--token":
            with open(args[i + 1], "rb") as f:
                secrets.append(("webhook token", f.read().strip()))
            i += 2
        else:
            files.append(args[i])
            i += 1
    for k in keytab_keys(keytab):
        secrets.append(("keytab key (raw)", k))
        secrets.append(("keytab key (hex)", k.hex().encode()))
        secrets.append(("keytab key (base64)", base64.b64encode(k).rstrip(b"=")))
    shapes = [
        ("a long hex run (a ticket or key?)", re.compile(rb"[0-9a-fA-F]{48,}")),
        ("a long base64 run (a ticket or key?)", re.compile(rb"[A-Za-z0-9+/]{64,}={0,2}")),
    ]
    found = 0
    for name in files:
        with open(name, "rb") as f:
            data = f.read()
        low = data.lower()
        for what, s in secrets:
            if s and (s in data or s.lower() in low):
                print("%s: %s" % (name, what))
                found += 1
        for what, rx in shapes:
            m = rx.search(data)
            if m:
                print("%s: %s: %s..." % (name, what, m.group(0)[:24].decode("ascii", "replace")))
                found += 1
    print("secret_scan: %d file(s), %d secret(s) looked for, %d found" % (len(files), len(secrets), found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
