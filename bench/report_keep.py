"""Sections this invocation did not run (KW_BENCH_SECTIONS), kept from the committed RESULTS.md:
a `make bench` of some sections rewrites those and leaves the others' figures, their target rows
and the lines saying on which machine they were measured as they were, marked as earlier."""
import os
import re

EARLIER = "*From an earlier run* (this invocation did not run this section; its machine: the Machine section's earlier lines)."
# the Targets rows each section owns, by the start of their first column
OWNS = {"1.": ("CPU per DNS probe", "CPU per KDC probe"), "2.": ("idle RSS",),
        "4a.": ("chain+login CPU",)}


def _sections(lines):
    """{heading: [body lines]} and the headings in order, '## ' headings only."""
    out, order, cur = {}, [], None
    for l in lines:
        if l.startswith("## "):
            cur = l
            order.append(l)
            out[l] = []
        elif cur is not None:
            out[cur].append(l)
    return out, order


def _not_run(body):
    """No figures: no table, and a line saying what did not run ("*Not run.*", "*DNS lookup: not
    run.*")."""
    return (not any(l.startswith("| ") for l in body)
            and any(re.match(r"\*.*\b[Nn]ot run\b", l) for l in body))


EARLIER_MACHINE = "Earlier lines, of the runs of the sections kept from an earlier run"


def _bullets(body):
    """The top-level bullets of a section, each with its continuation lines; an earlier run's
    own list of earlier lines is flattened into bullets of its own."""
    out = []
    for l in body:
        if l.startswith("- "):
            out.append([l])
        elif l.startswith("  ") and out:
            out[-1].append(l)
    flat = []
    for b in out:
        if b[0].startswith("- " + EARLIER_MACHINE):
            flat += _bullets([l[2:] for l in b[1:]])
        else:
            flat.append(b)
    return flat


def _rows(body):
    return [l for l in body if l.startswith("| ") and not l.startswith("| target") and not l.startswith("| ---")]


def keep(lines, path):
    """lines with every not-run section's body taken from the RESULTS.md at path."""
    try:
        old_lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        return lines
    old, _ = _sections(old_lines)
    new, order = _sections(lines)
    kept = [h for h in order if _not_run(new[h]) and h in old and not _not_run(old[h])]
    if not kept:
        return lines
    for h in kept:
        body = [l for l in old[h] if l != EARLIER]
        hook = [l for l in new[h] if l.startswith("<!--")]
        body = [l for l in body if not l.startswith("<!--")]
        while body and not body[0].strip():
            body.pop(0)
        new[h] = [""] + hook + [EARLIER, ""] + body
    mach = next((h for h in order if h.startswith("## Machine")), None)
    if mach and mach in old:
        mine = {b[0] for b in _bullets(new[mach])}
        carried = [b for b in _bullets(old[mach]) if b[0] not in mine
                   and not b[0].startswith("- Sections can come")
                   and not re.match(r"- `[^`]+\.json` is from the run of", b[0])]
        body = new[mach]
        while body and not body[-1].strip():
            body.pop()
        body.append(f"- {EARLIER_MACHINE} (" + ", ".join(h[3:].split(":")[0] for h in kept) + "):")
        body += ["  " + l for b in carried for l in b] + [""]
    tgt = next((h for h in order if h.startswith("## Targets")), None)
    if tgt and tgt in old:
        have = {l.split(" | ")[0] for l in _rows(new[tgt])}
        owned = tuple(p for h in kept for k, ps in OWNS.items() if h[3:].startswith(k) for p in ps)
        extra = [l for l in _rows(old[tgt]) if l.split(" | ")[0] not in have
                 and l[2:].startswith(owned or ("\0",))]
        body = new[tgt]
        while body and not body[-1].strip():
            body.pop()
        new[tgt] = body + extra + [""]
    out = lines[:lines.index(order[0])]
    for h in order:
        out.append(h)
        out += new[h]
    return out


def default_path():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
