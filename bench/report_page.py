"""The status page's section of bench/RESULTS.md, from bench/out/page.json (bench/page.sh)."""
import os
import statistics


def _kb(n):
    return f"{n / 1024:,.0f} KiB"


def _ms(s):
    return f"{s * 1e3:.1f} ms"


TITLE = "## 5. The status page at 1,000 clusters"


def _earlier():
    """The section as the committed RESULTS.md has it: kept when this run did not measure it."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return None
    if TITLE not in text:
        return None
    body = text.split(TITLE, 1)[1]
    end = body.find("\n## ")
    body = body if end < 0 else body[:end]
    return body.strip("\n").splitlines()


def section(load, P):
    d = load("page.json")
    P(TITLE)
    P("")
    if not d:
        old = _earlier()
        if old and not any(l.startswith("*Not run*") for l in old):
            P("*From an earlier run* (this one did not run the `page` section):")
            P("")
            old = [l for l in old if not l.startswith("*From an earlier run*")]
            while old and not old[0].strip():
                old.pop(0)
            for l in old:
                P(l)
            P("")
        else:
            P("*Not run* (`KW_BENCH_SECTIONS=page make bench`).")
            P("")
        return
    P("10 Regions of 100 clusters, every job's result with its rows (each cluster's six hops, 42")
    P("DNS lookups and 16 KDC targets per Region) and a full history (60 runs per row), built by")
    P("`bench/page_main.c` on the daemon's own code: per request the model")
    P("(`status_model_build`), then `/` or `/status.json` written into memory, 30 requests per")
    P("state, no network: the time the event loop is busy per request. Wall time median (p90,")
    P("max) and the median CPU time of the process; the load average at the start was "
      f"{' '.join(d.get('loadavg', ['?']))} on a shared machine, so CPU is the steadier figure.")
    P("")
    P("| state | `/` bytes | `/` wall median (p90, max) | `/` CPU | `/status.json` bytes | `/status.json` wall median (p90, max) | `/status.json` CPU |")
    P("| --- | --- | --- | --- | --- | --- | --- |")
    for s in d["server"]:
        pg, js = s["page"], s["json"]
        P(f"| {s['state'].replace('_', ' ')} | {_kb(pg['bytes'])} | {_ms(pg['median_s'])} "
          f"({_ms(pg['p90_s'])}, {_ms(pg['max_s'])}) | {_ms(pg.get('cpu_median_s', float('nan')))} "
          f"| {_kb(js['bytes'])} | {_ms(js['median_s'])} ({_ms(js['p90_s'])}, {_ms(js['max_s'])}) "
          f"| {_ms(js.get('cpu_median_s', float('nan')))} |")
    s0 = d["server"][0]
    if "history_subjects" in s0:
        P("")
        P(f"The history behind it: {s0['history_subjects']:,} subjects (each cluster, DNS question, KDC")
        P(f"and job) of {s0['history_entry_bytes']} bytes plus the key, about "
          f"{s0['history_subjects'] * (s0['history_entry_bytes'] + 80) / 1048576:.1f} MiB; the cap of "
          "20,000 subjects bounds it near 12 MiB.")
    P("")
    b = d.get("browser") or {}
    if "empty" in b:
        base = statistics.median(b["empty"]["seconds"])
        P(f"Browser: {b.get('chromium', 'chromium')}, headless, a fresh process per load")
        P("(`--dump-dom`, which returns after the load event), median of "
          f"{len(b['empty']['seconds'])} loads; an empty page costs {base:.2f} s of start-up,")
        P("the rest is the page (parse, style, the DOM of every row):")
        P("")
        P("| state | rows in the DOM | load, median | minus start-up |")
        P("| --- | --- | --- | --- |")
        for k in ("all_ok", "one_region_failing", "all_failing"):
            if k in b:
                m = statistics.median(b[k]["seconds"])
                P(f"| {k.replace('_', ' ')} | {b[k]['rows_in_dom']} | {m:.2f} s | {m - base:.2f} s |")
        P("")
    else:
        P("Browser: *not measured* (no chromium).")
        P("")
