#!/usr/bin/env python3
"""Helpers of bench/e2e/run.sh (issue #9), one subcommand each.

  layout N DIR        the kubepods tree for N containers: DIR/{dirs.txt,
                      plan.txt, limits.txt, pods.json, summary.json}
  kubelet PORT DIR    a plain-HTTP fake kubelet on 127.0.0.1 serving
                      DIR/pods.json at /pods and DIR/summary.json at
                      /stats/summary (the agent's kubelet client polls it)
  poll URL OUT        GETs URL once a second until SIGTERM, then writes
                      {"polls","failures","mean_ms","max_ms","bytes"} to OUT
  sample PID SECONDS  CPU and RSS of PID and all its descendants over the
                      next SECONDS: JSON on stdout
  cycle BEFORE AFTER NAME   "p50_ms p99_ms mean_ms count" of a Prometheus
                      histogram between two /metrics texts
  prom URL QUERY      first value of an instant query, or "nan"
  netdata-charts URL  "<charts> <cgroups>": charts of the cgroups plugin
                      (ids cgroup_*) and the distinct cgroups they belong to
  freeport            a free TCP port on 127.0.0.1
  result OUT N SUBJECT SAMPLE [key=value...]   appends one result line (the
                      sample's JSON plus the extras) to OUT (results.jsonl)
  report RESULTS MACHINE   the markdown tables from results.jsonl

Only loopback addresses are ever contacted.
"""
import http.server
import json
import math
import os
import random
import signal
import socket
import sys
import time
import urllib.parse
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024

# --- layout -----------------------------------------------------------------

# A pod is a pause container (idle, as the sandbox is on a real node) and up
# to three app containers (an app with two sidecars), so N = 1000 containers
# make 250 pods and 1253 cgroups: at ~15 open files per cgroup that stays
# under a hard RLIMIT_NOFILE of 20000 (this machine's; two containers per pod
# would need ~22.5k). The apps' kinds cycle through APP_KINDS: 20% busy, 30%
# hold memory, 50% idle. Busy apps share a fixed CPU budget
# (NODEPULSE_E2E_BUSY_CORES, default 0.3 cores), capped at 5% each, so the
# machine is loaded alike at every N and never saturated.
APP_KINDS = ["busy", "mem", "idle", "busy", "mem", "idle", "mem", "idle", "idle", "idle"]
APP_NAMES = ["app", "proxy", "logs"]
CONTAINERS_PER_POD = 1 + len(APP_NAMES)
MEM_MIB = 16
PODS_PER_WORKLOAD = 5
NAMESPACES = 10


def hexid(rng, n):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def uid(rng):
    h = hexid(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def cmd_layout(n, out):
    n = int(n)
    rng = random.Random(n)
    busy_cores = float(os.environ.get("NODEPULSE_E2E_BUSY_CORES", "0.3"))
    pods_n = (n + CONTAINERS_PER_POD - 1) // CONTAINERS_PER_POD
    n_apps = n - pods_n
    apps = [APP_KINDS[i % len(APP_KINDS)] for i in range(n_apps)]
    duty = min(5.0, 100.0 * busy_cores / max(1, apps.count("busy")))
    dirs = ["/kubepods", "/kubepods/burstable", "/kubepods/besteffort"]
    plan, limits, pods, summary = [], [], [], []
    app_index = 0
    for i in range(pods_n):
        qos = ["Guaranteed", "Burstable", "Burstable", "BestEffort", "BestEffort"][i % 5]
        pod_uid = uid(rng)
        parent = "/kubepods" if qos == "Guaranteed" else "/kubepods/" + qos.lower()
        pod_dir = f"{parent}/pod{pod_uid}"
        dirs.append(pod_dir)
        w = i // PODS_PER_WORKLOAD
        ns = f"ns-{w % NAMESPACES}"
        rs_hash = hexid(random.Random(w), 10)
        name = f"app-{w}-{rs_hash}-{hexid(rng, 5)}"
        pause_id = hexid(rng, 64)
        dirs.append(f"{pod_dir}/{pause_id}")
        plan.append(f"{pod_dir}/{pause_id} idle")
        containers, statuses, stats = [], [], []
        for cname in APP_NAMES:
            if app_index >= n_apps:
                break
            kind = apps[app_index]
            app_index += 1
            cid = hexid(rng, 64)
            cdir = f"{pod_dir}/{cid}"
            dirs.append(cdir)
            arg = f"{duty:.3f}" if kind == "busy" else str(MEM_MIB) if kind == "mem" else ""
            plan.append(f"{cdir} {kind} {arg}".rstrip())
            res = {}
            if qos == "Guaranteed":
                res = {"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
                limits.append(f"{cdir} {256 * MIB} 50000")
            elif qos == "Burstable" and cname == "app":
                res = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}
                limits.append(f"{cdir} {512 * MIB} 100000")
            image = f"registry.example/{cname}-{w}:1.{w % 7}"
            containers.append({"name": cname, "image": image, "resources": res})
            statuses.append({"name": cname, "ready": True, "restartCount": 0, "image": image,
                             "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
                             "containerID": f"containerd://{cid}", "started": True})
            stats.append({"name": cname, "startTime": "2026-01-01T00:00:00Z"})
        pods.append({
            "metadata": {"name": name, "namespace": ns, "uid": pod_uid,
                         "labels": {"app": f"app-{w}", "pod-template-hash": rs_hash},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": f"app-{w}-{rs_hash}", "uid": uid(rng),
                                              "controller": True}]},
            "spec": {"nodeName": "e2e-node", "containers": containers},
            "status": {"phase": "Running", "qosClass": qos, "containerStatuses": statuses}})
        rx = rng.randrange(1 << 20, 1 << 30)
        summary.append({
            "podRef": {"name": name, "namespace": ns, "uid": pod_uid},
            "startTime": "2026-01-01T00:00:00Z", "containers": stats,
            "network": {"time": "2026-01-01T00:00:00Z", "name": "eth0", "rxBytes": rx, "rxErrors": 0,
                        "txBytes": rx // 3, "txErrors": 0,
                        "interfaces": [{"name": "eth0", "rxBytes": rx, "rxErrors": 0,
                                        "txBytes": rx // 3, "txErrors": 0}]},
            "volume": [], "ephemeral-storage": {"time": "2026-01-01T00:00:00Z", "usedBytes": 4096}})
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "dirs.txt"), "w") as f:
        f.write("\n".join(dirs) + "\n")
    with open(os.path.join(out, "plan.txt"), "w") as f:
        f.write("\n".join(plan) + "\n")
    with open(os.path.join(out, "limits.txt"), "w") as f:
        f.write("\n".join(limits) + "\n")
    with open(os.path.join(out, "pods.json"), "w") as f:
        json.dump({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": pods}, f)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump({"node": {"nodeName": "e2e-node", "startTime": "2026-01-01T00:00:00Z"}, "pods": summary}, f)
    kinds = [line.split()[1] for line in plan]
    print(json.dumps({"containers": len(plan), "pods": pods_n, "cgroups": len(dirs),
                      "busy": kinds.count("busy"), "mem": kinds.count("mem"), "idle": kinds.count("idle"),
                      "busy_duty_pct": round(duty, 3), "mem_mib": MEM_MIB}))


# --- fake kubelet -------------------------------------------------------------

def cmd_kubelet(port, directory):
    bodies = {}
    for path, file in (("/pods", "pods.json"), ("/stats/summary", "summary.json")):
        with open(os.path.join(directory, file), "rb") as f:
            bodies[path] = f.read()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = bodies.get(self.path.split("?")[0])
            self.send_response(200 if body is not None else 404)
            body = body if body is not None else b"not found\n"
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()


# --- poller -------------------------------------------------------------------

def cmd_poll(url, out):
    assert url.startswith("http://127.0.0.1:"), "loopback only"
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    polls = failures = size = 0
    total = worst = 0.0
    next_t = time.monotonic()
    while not stop:
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                size = len(r.read())
                if r.status != 200:
                    failures += 1
        except Exception:
            failures += 1
        dt = time.monotonic() - t0
        polls += 1
        total += dt
        worst = max(worst, dt)
        next_t += 1.0
        time.sleep(max(0.0, next_t - time.monotonic()))
    with open(out, "w") as f:
        json.dump({"polls": polls, "failures": failures, "bytes": size,
                   "mean_ms": round(1e3 * total / max(1, polls), 2), "max_ms": round(1e3 * worst, 2)}, f)


# --- process tree sampling ------------------------------------------------------

def tree(pid):
    """pid and all its descendants, from /proc/<pid>/task/*/children."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def proc_cpu_ticks(p):
    """utime+stime+cutime+cstime: the process (all its threads, live and
    exited) plus its reaped children. Summed over a live tree this counts
    every process of the tree once, including ones that exited meanwhile."""
    with open(f"/proc/{p}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return sum(int(x) for x in fields[11:15])


def proc_mem_kib(p):
    rss = hwm = threads = 0
    with open(f"/proc/{p}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, hwm, threads


def snapshot(pid):
    ticks = rss = hwm = threads = n = 0
    for p in tree(pid):
        try:
            t = proc_cpu_ticks(p)
            r, h, th = proc_mem_kib(p)
        except (OSError, ValueError):
            continue
        ticks += t
        rss += r
        hwm += h
        threads += th
        n += 1
    return {"ticks": ticks, "rss_kib": rss, "hwm_kib": hwm, "threads": threads, "procs": n}


def cmd_sample(pid, seconds):
    pid, seconds = int(pid), float(seconds)
    steady_window = min(20.0, seconds)
    start = time.monotonic()
    first = snapshot(pid)
    samples = []
    next_t = start
    while True:
        next_t += 1.0
        time.sleep(max(0.0, next_t - time.monotonic()))
        now = time.monotonic() - start
        s = snapshot(pid)
        samples.append((now, s))
        if now >= seconds - 1e-3:
            break
    last = samples[-1][1]
    elapsed = samples[-1][0]
    steady = [s["rss_kib"] for t, s in samples if t >= elapsed - steady_window]
    cpu_s = (last["ticks"] - first["ticks"]) / CLK_TCK
    print(json.dumps({
        "window_s": round(elapsed, 2),
        "cpu_s": round(cpu_s, 3),
        "cpu_s_per_min": round(cpu_s * 60.0 / elapsed, 3),
        "peak_rss_mib": round(max(s["hwm_kib"] for _, s in samples) / 1024, 1),
        "steady_rss_mib": round(sum(steady) / len(steady) / 1024, 1),
        "procs": max(s["procs"] for _, s in samples),
        "threads": max(s["threads"] for _, s in samples)}))


# --- histograms, Prometheus, netdata ------------------------------------------------

def histogram(text, name):
    buckets, total, count = {}, 0.0, 0.0
    for line in text.splitlines():
        if line.startswith(name + "_bucket{"):
            le = line.split('le="')[1].split('"')[0]
            buckets[math.inf if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_sum"):
            total = float(line.rsplit(" ", 1)[1])
        elif line.startswith(name + "_count"):
            count = float(line.rsplit(" ", 1)[1])
    return buckets, total, count


def quantile(buckets, q):
    """histogram_quantile(): linear interpolation inside the bucket."""
    les = sorted(buckets)
    if not les or buckets[les[-1]] <= 0:
        return float("nan")
    rank = q * buckets[les[-1]]
    prev_le, prev_c = 0.0, 0.0
    for le in les:
        c = buckets[le]
        if c >= rank:
            if le == math.inf:
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_c) / max(c - prev_c, 1e-12)
        prev_le, prev_c = le, c
    return les[-1]


def cmd_cycle(before, after, name):
    with open(before) as f:
        b, bs, bc = histogram(f.read(), name)
    with open(after) as f:
        a, as_, ac = histogram(f.read(), name)
    d = {le: a[le] - b.get(le, 0.0) for le in a}
    n = ac - bc
    mean = (as_ - bs) / n if n > 0 else float("nan")
    print(f"{1e3 * quantile(d, 0.5):.3f} {1e3 * quantile(d, 0.99):.3f} {1e3 * mean:.3f} {n:.0f}")


def cmd_prom(url, query):
    assert url.startswith("http://127.0.0.1:"), "loopback only"
    q = urllib.parse.urlencode({"query": query})
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=10) as r:
            res = json.load(r)["data"]["result"]
        print(res[0]["value"][1] if res else "nan")
    except Exception:
        print("nan")


def cmd_netdata_charts(url):
    assert url.startswith("http://127.0.0.1:"), "loopback only"
    try:
        with urllib.request.urlopen(f"{url}/api/v1/charts", timeout=10) as r:
            charts = json.load(r).get("charts", {})
    except Exception:
        print("0 0")
        return
    ids = [c for c in charts if c.startswith("cgroup_")]
    print(len(ids), len({c.split(".")[0] for c in ids}))


def cmd_freeport():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


def cmd_result(out, n, subject, sample, *extras):
    with open(sample) as f:
        r = json.load(f)
    r = {"n": int(n), "subject": subject, **r}
    for kv in extras:
        k, _, v = kv.partition("=")
        try:
            v = float(v)
            v = None if math.isnan(v) else (int(v) if v.is_integer() and "." not in kv.partition("=")[2] else v)
        except ValueError:
            pass
        r[k] = v
    with open(out, "a") as f:
        f.write(json.dumps(r) + "\n")


# --- report -----------------------------------------------------------------------

SUBJECTS = ["floor", "nodepulse", "netdata", "node_exporter"]


def fmt(v, digits=2):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def cmd_report(results, machine):
    rows = [json.loads(line) for line in open(results) if line.strip()]
    with open(machine) as f:
        m = json.load(f)
    out = []
    out.append(f"Machine: {m['cpu_model']}, {m['cores']} cores (nproc {m['nproc']}), "
               f"{m['mem_gib']} GiB RAM, kernel {m['kernel']}, {m['os']}; cgroups {m['cgroups']}; "
               f"RLIMIT_NOFILE {m.get('nofile', '?')}.")
    out.append(f"Load average at start: {m['loadavg']}. Window: {m['warmup_s']} s warm-up, "
               f"then {m['seconds']} s measured per subject. Date: {m['date']}.")
    out.append("")
    out.append("| N | subject | CPU s/min | peak RSS MiB | steady RSS MiB | procs/threads | "
               "cycle p50 / p99 ms | /metrics scrape ms (avg / max) | series | notes |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    ns = sorted({r["n"] for r in rows})
    for n in ns:
        for subj in SUBJECTS:
            r = next((x for x in rows if x["n"] == n and x["subject"] == subj), None)
            if r is None:
                continue
            cyc = "-"
            if r.get("cycle_p50_ms") is not None:
                cyc = f"{fmt(r['cycle_p50_ms'])} / {fmt(r['cycle_p99_ms'])}"
            scrape = "-"
            if r.get("scrape_avg_ms") is not None:
                scrape = f"{fmt(r['scrape_avg_ms'], 1)} / {fmt(r['scrape_max_ms'], 1)}"
            out.append(f"| {n} | {subj} | {fmt(r['cpu_s_per_min'])} | {fmt(r['peak_rss_mib'], 1)} | "
                       f"{fmt(r['steady_rss_mib'], 1)} | {r['procs']}/{r['threads']} | {cyc} | {scrape} | "
                       f"{fmt(r.get('series'))} | {r.get('notes', '')} |")
    out.append("")
    out.append("| N | nodepulse / floor CPU | nodepulse / netdata CPU | nodepulse steady RSS MiB | "
               "load avg (1 min) at nodepulse start |")
    out.append("|---|---|---|---|---|")
    for n in ns:
        by = {r["subject"]: r for r in rows if r["n"] == n}
        np_ = by.get("nodepulse")
        if not np_:
            continue

        def ratio(other):
            o = by.get(other)
            if not o or not o["cpu_s_per_min"]:
                return "-"
            return f"{np_['cpu_s_per_min'] / o['cpu_s_per_min']:.2f}"
        busy = [r for r in rows if r["n"] == n and r.get("concurrent_e2e_parents")]
        out.append(f"| {n} | {ratio('floor')} | {ratio('netdata')} | {fmt(np_['steady_rss_mib'], 1)} | "
                   f"{np_.get('load1', '-')}" + (" (another e2e run was active)" if busy else "") + " |")
    print("\n".join(out))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1].replace("-", "_"), sys.argv[2:]
    fn = globals().get("cmd_" + cmd)
    if fn is None:
        sys.exit(__doc__)
    fn(*args)


if __name__ == "__main__":
    main()
