#!/usr/bin/env python3
"""Helpers of bench/run.sh: krbwatch configurations, the blackbox_exporter driver, the CPU/RSS
sampler and the report.  Standard library only.

  bench.py genconf ...           a krbwatch configuration on stdout
  bench.py drive ...             scrapes blackbox's /probe at a fixed rate (until killed)
  bench.py window ...            samples CPU (utime+stime) and probe counts over a window -> JSON
  bench.py rss PID               VmRSS and VmHWM in KiB
  bench.py heapparts ...         heaptrack's stacks at the heap's peak -> bytes by part (JSON)
  bench.py perfparts ...         perf script's samples -> samples by part (JSON)
  bench.py growth ...            RSS after N, M, ... cycles of the chain jobs (JSON)
"""
import argparse, http.client, json, os, re, subprocess, sys, threading, time, urllib.request

CLK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    """utime+stime of a process (all its threads, live and dead) in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def cpu_us(pid):
    """(utime, stime) in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK, int(fields[12]) / CLK


def cpu_ns(pid):
    """Sum of the live threads' on-CPU time from /proc/PID/task/*/schedstat, in seconds:
    nanosecond resolution (utime+stime counts in 10 ms ticks), used for the sub-window spread."""
    t = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                t += int(f.read().split()[0])
        except OSError:
            pass
    return t / 1e9


def rss_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[k] = int(v.split()[0])
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Pss", "Private_Clean", "Private_Dirty"):
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    out["parts"] = rss_parts(pid)
    return out


def live_heap(pid):
    """The bytes malloc has handed out and not had back (glibc's mallinfo2: in-use chunks of
    every arena, uordblks, plus the blocks it mmapped, hblkhd), read by gdb from the process
    (it needs libc6-dbg's types); None when gdb cannot.  Unlike the heap's RSS, which keeps
    its high-water mark and fragments, this is what the process still holds."""
    try:
        r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "set $m = mallinfo2()",
                            "-ex", "p $m.uordblks", "-ex", "p $m.hblkhd"],
                           capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    v = re.findall(r"^\$\d+ = (\d+)$", r.stdout, re.M)
    return {"in_use": int(v[0]), "mmapped": int(v[1])} if len(v) == 2 else None


def rss_parts(pid):
    """Resident KiB by part, from /proc/PID/smaps: each shared library (and the binary) by its
    file name, the heap, thread stacks and anonymous maps (OpenSSL's and libc's arenas)."""
    parts, name = {}, None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                fields = line.split()
                if "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):
                    path = fields[5] if len(fields) > 5 else ""
                    name = ("[heap]" if path == "[heap]" else "[stack]" if path.startswith("[stack")
                            else "[anon]" if not path or path.startswith("[") else os.path.basename(path))
                elif fields[0] == "Rss:" and name is not None:
                    parts[name] = parts.get(name, 0) + int(fields[1])
    except OSError:
        pass
    return parts


def fetch(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


SERIES = re.compile(r'^([a-z_]+)\{([^}]*)\} (\S+)$')


def parse(body):
    """[(name, {labels}, value)] of the exposition's samples with labels."""
    out = []
    for line in body.splitlines():
        m = SERIES.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def kw_counts(body):
    """Probes done so far, from krbwatch's own metrics:
    dns: sum over Regions of runs{probe=dns} x lookups per run (series of krbwatch_dns_lookup_success);
    kdc: sum over Regions of runs{probe=kdc} x KDCs per run (distinct kdc labels of krbwatch_kdc_up);
    kdcx: the same in exchanges (series of krbwatch_kdc_up: udp/tcp x 88/464)."""
    runs, lookups, kdcs, kdcx, fails, clusters = {}, {}, {}, {}, {}, {}
    for name, l, v in parse(body):
        if name == "krbwatch_probe_runs_total":
            runs[(l["aws_region"], l["probe"])] = v
        elif name == "krbwatch_dns_lookup_success":
            lookups[l["aws_region"]] = lookups.get(l["aws_region"], 0) + 1
        elif name in ("krbwatch_kdc_failures_total", "krbwatch_dns_lookup_failures_total"):
            k = "kdc_failed" if name.startswith("krbwatch_kdc") else "dns_failed"
            fails[k] = fails.get(k, 0) + v
        elif name == "krbwatch_probe_failures_total":
            fp = fails.setdefault("by_probe", {})
            fp[l["probe"]] = fp.get(l["probe"], 0) + v
        elif name == "krbwatch_hop_success":
            clusters.setdefault(l["aws_region"], set()).add(l.get("db_cluster"))
        elif name == "krbwatch_kdc_up":
            kdcs.setdefault(l["aws_region"], set()).add((l["realm"], l["kdc"]))
            kdcx[l["aws_region"]] = kdcx.get(l["aws_region"], 0) + 1
    c = {"dns": 0.0, "kdc": 0.0, "kdcx": 0.0, "dns_runs": 0.0, "kdc_runs": 0.0}
    c["runs_by_probe"] = {}
    for (r, p), v in runs.items():
        c["runs_by_probe"][p] = c["runs_by_probe"].get(p, 0) + v
        if p == "chain":
            c["chain_cluster_cycles"] = c.get("chain_cluster_cycles", 0) + v * len(clusters.get(r, ()))
        if p == "dns":
            c["dns"] += v * lookups.get(r, 0)
            c["dns_runs"] += v
        elif p == "kdc":
            c["kdc"] += v * len(kdcs.get(r, ()))
            c["kdcx"] += v * kdcx.get(r, 0)
            c["kdc_runs"] += v
    c["failures_by_probe"] = fails.get("by_probe", {})
    c["dns_failed"] = fails.get("dns_failed", 0)
    c["kdc_failed"] = fails.get("kdc_failed", 0)
    c["dns_per_interval"] = sum(lookups.values())
    c["kdc_per_interval"] = sum(len(s) for s in kdcs.values())
    c["kdcx_per_interval"] = sum(kdcx.values())
    return c


# ---------------------------------------------------------------------------------------------
def conf_head(a, principal, keytab):
    """The top of a generated configuration, down to `realms:`: the same for both setups."""
    return [f"listen: {a.listen}", f"interval: {a.interval}", f"timeout: {a.timeout}",
            "identity:", f"  principal: {principal}", f"  keytab: {keytab}", "realms:"]


def conf_regions(a, region_lines, cluster_line):
    """The `regions:` part: a.clusters spread over a.regions (the first Regions one more), each
    Region's own lines (region_lines(ri)) then its clusters (cluster_line(n, ri), n counted from
    1 across every Region).  The one loop of both setups."""
    out, n = ["regions:"], 0
    per, extra = divmod(a.clusters, a.regions) if a.regions else (0, a.clusters)
    for ri in range(a.regions):
        out += region_lines(ri)
        nc = per + (1 if ri < extra else 0)
        if nc:
            out.append("    clusters:")
        for _ in range(nc):
            n += 1
            out.append(cluster_line(n, ri))
    return out


def genconf_lab(a):
    """N clusters over R Regions of krbwatch, each Region one of the lab's two (alternately): its
    resolvers, KDCs and AD site, its MariaDB and PostgreSQL (the same servers behind many cluster
    names).  For the chain at scale."""
    D = a.lab_dir
    net = {"use1": ("10.211.0", "us-east-1"), "usw2": ("10.212.0", "us-west-2")}
    lab = lambda ri: "use1" if ri % 2 == 0 else "usw2"
    tls = f"tls: {{ mode: verify-identity, ca: {D}/tls/ca.pem }}"

    def region(ri):
        ip, long = net[lab(ri)]
        return [f"  {long}-{ri + 1:02d}:", f"    site: {long}", f"    resolvers: [{ip}.11, {ip}.12]",
                f"    kdcs: {{ AWSMAD.KERBEROS.COM: [{ip}.11, {ip}.12] }}"]

    def cluster(n, ri):
        if (a.engines == "mixed" and n % 2) or a.engines == "mariadb":
            h = f"db-{lab(ri)}.awsmad.kerberos.com"
            return (f"      - {{ name: c{n:04d}, engine: mariadb, host: {h}, port: 3306, user: krbmon, "
                    f"expect_user: \"krbmon@%\", spn: mariadb/{h}@AWSMAD.KERBEROS.COM, {tls} }}")
        h = f"pg-{lab(ri)}.awsmad.kerberos.com"
        return (f"      - {{ name: c{n:04d}, engine: postgresql, host: {h}, port: 5432, user: krbmon, "
                f"expect_user: krbmon, spn: postgres/{h}@AWSMAD.KERBEROS.COM, database: postgres, {tls} }}")

    out = conf_head(a, "krbmon@ONPREM.EXAMPLE.COM", f"{D}/keytabs/krbmon.keytab") + [
           "  ONPREM.EXAMPLE.COM:", "    domain: onprem.example.com",
           "    kdcs: [10.210.0.11, 10.210.0.12]", "  AWSMAD.KERBEROS.COM:", "    domain: awsmad.kerberos.com"]
    print("\n".join(out + conf_regions(a, region, cluster)))


def genconf(a):
    if a.lab_dir:
        return genconf_lab(a)
    regions = [f"r{i:03d}" for i in range(1, a.regions + 1)]
    kdc = lambda i: f"10.97.0.{10 + i}"
    out = conf_head(a, "krbmon@BENCH.TEST", a.keytab) + [
           "  BENCH.TEST:", "    domain: bench.test", f"    kdcs: [{kdc(1)}]"]
    if a.clusters:
        # clusters need a database realm (no trust here: their chains stop at the referral)
        out += ["  DB.BENCH.TEST:", "    domain: db.bench.test"]

    def region(ri):
        res = ["10.97.0.53", "10.97.0.54"][:a.resolvers]
        # spread the Regions over the KDC addresses so that no two Regions list the same set
        ks = [kdc((ri * a.kdcs + j) % a.kdc_addrs + 1) for j in range(a.kdcs)]
        return [f"  {regions[ri]}:", f"    resolvers: [{', '.join(res)}]",
                f"    kdcs: {{ BENCH.TEST: [{', '.join(ks)}] }}"]

    def cluster(n, ri):
        eng = "postgresql" if n % 2 else "mariadb"
        return (f"      - {{ name: c{n:04d}, engine: {eng}, host: c{n:04d}.bench.test, "
                f"user: krbmon, tls: {{ mode: disable }} }}")

    print("\n".join(out + conf_regions(a, region, cluster)))


# ---------------------------------------------------------------------------------------------
def drive(a):
    """Scrapes base/probe?target=T&module=M round-robin over the targets at a fixed total rate,
    from a few keep-alive connections (as Prometheus does), and writes 'done ok failed' to the
    count file every 0.5 s."""
    targets = [t.split(",", 1) for t in a.targets]
    host, port = a.base.split(":")
    lock = threading.Lock()
    st = {"next": 0, "done": 0, "ok": 0, "failed": 0}
    t0 = time.monotonic()

    def worker():
        conn = None
        while True:
            with lock:
                i = st["next"]
                st["next"] += 1
            due = t0 + i / a.rate
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
            t, m = targets[i % len(targets)]
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, int(port), timeout=10)
                conn.request("GET", f"/probe?target={t}&module={m}")
                body = conn.getresponse().read().decode()
                good = "\nprobe_success 1" in "\n" + body
            except Exception:
                conn = None
                good = False
            with lock:
                st["done"] += 1
                st["ok" if good else "failed"] += 1

    for _ in range(a.workers):
        threading.Thread(target=worker, daemon=True).start()
    while True:
        time.sleep(0.5)
        with lock:
            s = f'{st["done"]} {st["ok"]} {st["failed"]}\n'
        tmp = a.countfile + ".tmp"
        with open(tmp, "w") as f:
            f.write(s)
        os.replace(tmp, a.countfile)


def bb_count(path):
    with open(path) as f:
        d, o, x = f.read().split()
    return {"done": int(d), "ok": int(o), "failed": int(x)}


# ---------------------------------------------------------------------------------------------
def window(a):
    """Every `step` seconds for `secs` seconds: CPU of krbwatch and blackbox, krbwatch's probe
    counts (from its /metrics) and the driver's count.  Per sub-window: CPU per probe."""
    samples = []
    end = time.monotonic() + a.secs
    nxt = time.monotonic()
    while True:
        s = {"t": time.monotonic(), "kw_cpu": cpu_s(a.kw_pid), "kw_ns": cpu_ns(a.kw_pid),
             "kw_ut_st": cpu_us(a.kw_pid)}
        if a.bb_pid:
            s["bb_ut_st"] = cpu_us(a.bb_pid)
            s["bb_cpu"] = cpu_s(a.bb_pid)
            s["bb_ns"] = cpu_ns(a.bb_pid)
            s["bb"] = bb_count(a.countfile)
        s["kw"] = kw_counts(fetch(a.kw_url))
        # the sampler's own scrape, so that it can be left out of krbwatch's figure
        s["kw_cpu_after_scrape"] = cpu_s(a.kw_pid)
        s["kw_ns_after_scrape"] = cpu_ns(a.kw_pid)
        samples.append(s)
        if s["t"] >= end - 0.01:
            break
        nxt += a.step
        time.sleep(max(0, nxt - time.monotonic()))
    res = {"kind": a.kind, "secs": samples[-1]["t"] - samples[0]["t"], "samples": samples,
           "kw_rss": rss_kib(a.kw_pid)}
    if a.bb_pid:
        res["bb_rss"] = rss_kib(a.bb_pid)
    json.dump(res, open(a.out, "w"), indent=1)


def shellchain(a):
    """Runs the cron-style shell probe (bench/shell_probe.sh) `cycles` times per cluster and
    records, per invocation, the CPU of the whole process tree (RUSAGE_CHILDREN: every
    descendant that was waited for, so kinit, kvno, mariadb/psql and the shells) and wall time."""
    import resource, subprocess
    runs = []
    for i in range(a.cycles):
        for spec in a.clusters:
            eng, host, spn = spec.split(",")
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            p = subprocess.run([a.script, eng, host, spn, a.ca], capture_output=True, text=True)
            t1 = time.monotonic()
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            runs.append({"cluster": f"{eng}:{host}", "rc": p.returncode, "out": p.stdout.strip(),
                         "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
                         "wall": t1 - t0, "maxrss_kib": r1.ru_maxrss})
    json.dump({"runs": runs}, open(a.out, "w"), indent=1)


def isolate(a):
    """Samples krbwatch's /metrics every `step` s for `secs` s: each KDC series' RTT as it
    changes (one value per run), the runs and durations of every job."""
    seen, out = {}, {"rtt": {}, "runs": [], "dur": {}}
    end = time.monotonic() + a.secs
    first = None
    while time.monotonic() < end:
        body = fetch(a.kw_url)
        runs = {}
        for name, l, v in parse(body):
            if name == "krbwatch_kdc_rtt_seconds":
                k = f'{l["aws_region"]} {l["kdc"]} {l["proto"]}/{l["port"]}'
                rk = ("kdc", l["aws_region"])
                out["rtt"].setdefault(k, [])
                seen_key = (k, v)
                if seen.get(k) != v:
                    seen[k] = v
                    out["rtt"][k].append(v)
            elif name == "krbwatch_probe_runs_total":
                runs[f'{l["aws_region"]} {l["probe"]}'] = v
            elif name == "krbwatch_probe_duration_seconds":
                k = f'{l["aws_region"]} {l["probe"]}'
                if not out["dur"].get(k) or out["dur"][k][-1] != v:
                    out["dur"].setdefault(k, []).append(v)
        out["runs"].append({"t": time.monotonic(), "runs": runs})
        time.sleep(a.step)
    # the first value of each series predates the phase
    out["rtt"] = {k: v[1:] for k, v in out["rtt"].items()}
    out["dur"] = {k: v[1:] for k, v in out["dur"].items()}
    json.dump(out, open(a.out, "w"), indent=1)


# The parts of the heap, by the first frame from the allocation up that names one: the stack of
# each allocation live at the heap's peak (heaptrack_print --flamegraph-cost-type peak).  Ordered:
# a frame of the left column decides, the deepest frame first.
HEAP_PARTS = [
    (r"probe_result_copy$", "rows: the daemon's copy of each job's last result (`struct result_row`, `daemon/results.c`)"),
    (r"probe_result_add$", "rows: the results of the runs in flight (a run builds its own)"),
    (r"metrics_render$", "a `/metrics` scrape: the body rendered (`lib/metrics.c`, kept until the series change)"),
    (r"send_text$", "a `/metrics` scrape: the body copied into libevent's reply buffer (`daemon/http.c`)"),
    (r"status_(render|model|page|json)\w*$", "the status page's bodies"),
    (r"history_\w+$", "history rings (`daemon/history.c`)"),
    (r"(series_\w+|mfamily_\w+|metrics_\w+)$", "metric series: labels and values (`lib/metrics.c`)"),
    (r"alerts?_\w+$", "alert state (`daemon/alert.c`)"),
    (r"lockout_\w+$", "the lockout budget"),
    (r"(chain|branch)_\w+$", "the chain's runs in flight (branches, steppers)"),
    (r"(login|tls|pg|mysql)_\w+$|^start_tls$|^handle_\w+$", "logins in flight (TLS, their buffers)"),
    (r"(dns|ares)_\w+$", "DNS: c-ares channels and lookups"),
    (r"(kdc|kr|stepper)_\w+$", "KDC probes and their transport"),
    (r"(gss|krb5|k5)_\w+$", "Kerberos and GSS: contexts, caches"),
    (r"(config|conf|yaml)_\w+$", "the configuration"),
    (r"sched_\w+$", "jobs (`daemon/sched.c`)"),
    (r"(web|http|evhttp)_\w+$", "the HTTP server"),
]


def heapparts(a):
    """Bytes live at the heap's peak by part (HEAP_PARTS), from heaptrack_print's stack file:
    'frame;frame;...;leaf BYTES' lines, the root first."""
    rules = [(re.compile(rx), name) for rx, name in HEAP_PARTS]
    parts, total = {}, 0
    with open(a.stacks) as f:
        for line in f:
            st, _, n = line.rstrip().rpartition(" ")
            if not n.isdigit() or int(n) == 0:
                continue
            frames = [x.split(" (")[0] for x in st.split(";") if x]
            part = next((name for fr in reversed(frames) for rx, name in rules if rx.search(fr)),
                        "the libraries' own (start-up tables, locale) and the rest")
            parts[part] = parts.get(part, 0) + int(n)
            total += int(n)
    json.dump({"clusters": a.clusters, "secs": a.secs, "total": total, "parts": parts,
               "heaptrack": a.version}, open(a.out, "w"), indent=1)


def growth(a):
    """RSS (and the heap's and anonymous maps' resident KiB) and the live heap (live_heap, the
    least of --live-reads readings) once the chain jobs ran `at` cycles each, for every cycle
    count of --at: what grows with the runs, not with the clusters."""
    out, want = [], sorted(int(x) for x in a.at.split(","))
    end = time.monotonic() + a.deadline
    while want and time.monotonic() < end:
        c = kw_counts(fetch(a.kw_url))
        cycles = c["runs_by_probe"].get("chain", 0) / a.regions
        if cycles >= want[0]:
            r = rss_kib(a.kw_pid)
            # what is in flight (logins, lookups, a scrape) comes and goes within a cycle: the
            # least of a few readings over about one interval is what the process keeps
            live = []
            for _ in range(a.live_reads):
                live.append(live_heap(a.kw_pid))
                time.sleep(a.live_gap)
            live = [x["in_use"] + x["mmapped"] for x in live if x]
            out.append({"cycles": cycles, "t": time.monotonic(), "rss": r,
                        "live_reads": live, "live": min(live) if live else None,
                        "heap_anon": r["parts"].get("[heap]", 0) + r["parts"].get("[anon]", 0),
                        "cluster_cycles": c.get("chain_cluster_cycles", 0)})
            want.pop(0)
        time.sleep(0.5)
    json.dump({"clusters": a.clusters, "interval": a.interval, "samples": out, "missed": want},
              open(a.out, "w"), indent=1)
    return 1 if want else 0


# Where the CPU goes: each sample of `perf script` (its call chain, the leaf first) charged to
# the first of these parts that any of its frames matches; (leaf, sym, dso) -> bool.
_K = "[kernel.kallsyms]"
PERF_PARTS = [
    ("wakeups", "the event loop's wakeups (`epoll_wait` and the scheduler, in the kernel)",
     lambda f: f[0][1] == _K and any(re.search(r"epoll_wait|schedule|finish_task_switch", s) for s, _ in f)),
    ("sockets", "sockets made, connected and closed (`socket`, `connect`, `close`, in the kernel)",
     lambda f: f[0][1] == _K and any(re.search(r"sys_(socket|connect|close)\b|__sys_connect|sock_close|tcp_v4_connect", s) for s, _ in f)),
    ("gss", "GSS: the token (MIT's `gss_init_sec_context`, its krb5 context per call)",
     lambda f: any(s.startswith("gss_") or "libgssapi" in d for s, d in f)),
    ("kerberos", "Kerberos exchanges (MIT's step API and crypto, our UDP transport)",
     lambda f: any(re.search(r"libkrb5|libk5crypto|libkrb5support|libcom_err", d) or re.match(r"(stepper|kr|kdc|krb_stepper)_", s) for s, d in f)),
    ("dns", "DNS of each login (c-ares)",
     lambda f: any("libcares" in d or re.match(r"(dns|ares)_", s) for s, d in f)),
    ("x509", "TLS: certificates and keys decoded and verified (`ASN1_*`, `d2i_*`, `OSSL_DECODER_*`, `X509_*`)",
     lambda f: any(re.match(r"(ASN1_|asn1_|d2i_|OSSL_DECODER|ossl_decoder|X509_|x509_|ossl_x509)", s) for s, _ in f)),
    ("ec", "TLS: EC arithmetic (ECDHE, the ECDSA signature and chain checks)",
     lambda f: any(re.match(r"(ec_|EC_|ecp_|ossl_ec|x25519|ossl_x25519|ECDSA|ecdsa|p256)", s) for s, _ in f)),
    ("tls", "TLS: the rest of OpenSSL (the handshake's messages, hashes, the record layer)",
     lambda f: any(re.search(r"libssl|libcrypto", d) for _, d in f)),
    ("kernel", "the kernel: network I/O and the rest (sends, receives, softirq)",
     lambda f: f[0][1] == _K),
    ("malloc", "malloc and free outside the libraries above (libc)",
     lambda f: re.match(r"(__libc_)?(malloc|free|cfree|calloc|realloc)$|_int_(malloc|free|realloc)|unlink_chunk|malloc_consolidate|tcache", f[0][0] or "") is not None),
    ("daemon", "metrics, results, history, HTTP",
     lambda f: any(re.match(r"(metrics_|series_|mfamily_|history_|results_|status_|serve_|http_|kind_)", s) for s, _ in f)),
    ("loop", "the event loop (libevent)", lambda f: "libevent" in f[0][1]),
    ("own", "krbwatch's own code (logins, the chain)", lambda f: os.path.basename(f[0][1]) == a_bin[0]),
]
a_bin = [""]
# Named functions the parts' time is spent under (inclusive: a sample counts for each it is
# under), to say within a part what the time is for; (function, words).
PERF_MARKS = [
    ("krb5_tkt_creds_step", "Kerberos: MIT's TGS requests made and replies decrypted and checked (`krb5_tkt_creds_step`)"),
    ("krb5int_derive_key", "… of it MIT deriving each usage's key from the session key (`krb5int_derive_key`)"),
    ("stepper_send", "Kerberos: the requests sent to the KDCs (`stepper_send`: the UDP socket and the send)"),
    ("krb5_tkt_creds_init", "Kerberos: the exchanges set up (`krb5_tkt_creds_init`)"),
    ("krb5_sname_to_principal", "Kerberos: each cluster's host principal built (`krb5_sname_to_principal`)"),
    ("OSSL_DECODER_CTX_new_for_pkey", "TLS: OpenSSL 3.0 building a decoder for each certificate's key (`OSSL_DECODER_CTX_new_for_pkey`)"),
    ("X509_verify_cert", "TLS: the server's chain verified (`X509_verify_cert`)"),
    ("EC_POINT_mul", "TLS: EC point multiplications (ECDHE, ECDSA; `EC_POINT_mul`)"),
    ("gss_init_sec_context", "GSS: the token (`gss_init_sec_context`)"),
]


def perfparts(a):
    """Samples by part (PERF_PARTS) from `perf script -F comm,ip,sym,dso` on stdin."""
    a_bin[0] = a.binary
    parts, n, kern, frames, marks = {}, 0, 0, [], {}

    def flush():
        nonlocal n, kern
        if not frames:
            return
        n += 1
        kern += frames[0][1] == _K
        key = next((k for k, _, rule in PERF_PARTS if rule(frames)), "other")
        parts[key] = parts.get(key, 0) + 1
        names_ = {f[0] for f in frames}
        for m, _ in PERF_MARKS:
            marks[m] = marks.get(m, 0) + (m in names_)
        frames.clear()

    for line in sys.stdin:
        m = re.match(r"\s+[0-9a-f]+ (.*) \((.*)\)$", line.rstrip("\n"))
        if m:
            frames.append((m.group(1).split("+")[0], m.group(2)))
        elif not line.strip():
            flush()
    flush()
    names = {k: name for k, name, _ in PERF_PARTS}
    names["other"] = "the rest (libc's other functions, the dynamic linker)"
    json.dump({"samples": n, "kernel": kern, "parts": parts, "names": names, "secs": a.secs,
               "freq": a.freq, "marks": marks,
               "mark_names": dict(PERF_MARKS)}, open(a.out, "w"), indent=1)


def main():
    p = argparse.ArgumentParser()
    sp = p.add_subparsers(dest="cmd", required=True)
    g = sp.add_parser("genconf")
    g.add_argument("--regions", type=int, required=True)
    g.add_argument("--kdcs", type=int, default=1)
    g.add_argument("--kdc-addrs", type=int, default=40)
    g.add_argument("--resolvers", type=int, default=1)
    g.add_argument("--clusters", type=int, default=0)
    g.add_argument("--interval", default="1s")
    g.add_argument("--timeout", default="800ms")
    g.add_argument("--listen", default="127.0.0.1:10088")
    g.add_argument("--keytab")
    g.add_argument("--lab-dir", help="clusters on the lab's databases (chain at scale)")
    g.add_argument("--engines", default="mixed", choices=["mixed", "mariadb", "postgresql"],
                   help="the clusters' engines: alternately MariaDB and PostgreSQL, or one only")
    d = sp.add_parser("drive")
    d.add_argument("--base", required=True)
    d.add_argument("--rate", type=float, required=True)
    d.add_argument("--workers", type=int, default=4)
    d.add_argument("--countfile", required=True)
    d.add_argument("targets", nargs="+")
    w = sp.add_parser("window")
    w.add_argument("--kind", required=True)
    w.add_argument("--kw-pid", type=int, required=True)
    w.add_argument("--kw-url", required=True)
    w.add_argument("--bb-pid", type=int, default=0)
    w.add_argument("--countfile")
    w.add_argument("--secs", type=float, default=60)
    w.add_argument("--step", type=float, default=10)
    w.add_argument("--out", required=True)
    c = sp.add_parser("shellchain")
    c.add_argument("--cycles", type=int, default=5)
    c.add_argument("--script", required=True)
    c.add_argument("--ca", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("clusters", nargs="+", help="ENGINE,HOST,SPN")
    i = sp.add_parser("isolate")
    i.add_argument("--kw-url", required=True)
    i.add_argument("--secs", type=float, default=30)
    i.add_argument("--step", type=float, default=0.5)
    i.add_argument("--out", required=True)
    h = sp.add_parser("heapparts")
    h.add_argument("--stacks", required=True)
    h.add_argument("--clusters", type=int, required=True)
    h.add_argument("--secs", type=float, default=0)
    h.add_argument("--version", default="")
    h.add_argument("--out", required=True)
    gr = sp.add_parser("growth")
    gr.add_argument("--kw-pid", type=int, required=True)
    gr.add_argument("--kw-url", required=True)
    gr.add_argument("--regions", type=int, default=10)
    gr.add_argument("--clusters", type=int, required=True)
    gr.add_argument("--interval", required=True)
    gr.add_argument("--at", default="3,10,30", help="cycles of the chain jobs at which to sample")
    gr.add_argument("--deadline", type=float, default=420)
    gr.add_argument("--live-reads", type=int, default=8, help="gdb readings of the live heap a sample")
    gr.add_argument("--live-gap", type=float, default=0.5, help="seconds between those readings")
    gr.add_argument("--out", required=True)
    pp = sp.add_parser("perfparts")
    pp.add_argument("--binary", required=True, help="the daemon's file name, as perf names its DSO")
    pp.add_argument("--secs", type=float, default=0)
    pp.add_argument("--freq", type=int, default=0)
    pp.add_argument("--out", required=True)
    r = sp.add_parser("rss")
    r.add_argument("pid", type=int)
    a = p.parse_args()
    if a.cmd == "genconf":
        genconf(a)
    elif a.cmd == "drive":
        drive(a)
    elif a.cmd == "window":
        window(a)
    elif a.cmd == "shellchain":
        shellchain(a)
    elif a.cmd == "isolate":
        isolate(a)
    elif a.cmd == "heapparts":
        heapparts(a)
    elif a.cmd == "growth":
        sys.exit(growth(a))
    elif a.cmd == "perfparts":
        perfparts(a)
    elif a.cmd == "rss":
        print(json.dumps(rss_kib(a.pid)))


if __name__ == "__main__":
    main()
