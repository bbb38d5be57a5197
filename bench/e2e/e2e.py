#!/usr/bin/env python3
"""Helpers of bench/e2e/run.sh (issue #9), one subcommand each.

  layout N DIR        the kubepods tree for N containers: DIR/{dirs.txt,
                      plan.txt, limits.txt, pods.json, summary.json}; with
                      NODEPULSE_E2E_LAYOUT=flat instead N cgroups side by side
                      (no kubepods, no pods), 5% of them with a process: the
                      agent's generic (non-Kubernetes) mode
  kubelet PORT DIR    a plain-HTTP fake kubelet on 127.0.0.1 serving
                      DIR/pods.json at /pods and DIR/summary.json at
                      /stats/summary (the agent's kubelet client polls it);
                      a file replaced meanwhile (churn) is served anew
  churn LAYOUT HIERARCHIES LOAD PER_MIN OUT
                      replaces PER_MIN app containers a minute until SIGTERM
                      (see cmd_churn); appends one JSON line per event to OUT
  soak-sample PID PROM SECONDS OUT   every 10 s: CPU, RSS, fds and series
                      of the agent PID (series from Prometheus at PROM) as
                      CSV rows in OUT
  soak-report CSV PNG a summary (JSON on stdout) and a gnuplot PNG of a soak
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
import subprocess
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


def write_layout(out, dirs, plan, limits, pods, summary):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "dirs.txt"), "w") as f:
        f.write("\n".join(dirs) + "\n")
    with open(os.path.join(out, "plan.txt"), "w") as f:
        f.write("\n".join(plan) + "\n")
    with open(os.path.join(out, "limits.txt"), "w") as f:
        f.write("\n".join(limits) + ("\n" if limits else ""))
    with open(os.path.join(out, "pods.json"), "w") as f:
        json.dump({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": pods}, f)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump({"node": {"nodeName": "e2e-node", "startTime": "2026-01-01T00:00:00Z"}, "pods": summary}, f)


# Generic mode (no kubelet, no kubepods): N cgroups side by side below the
# test parent, as a host's system services are; 5% of them run a process
# (alternately busy and holding memory), the rest are empty, as most
# cgroups of a host are. The issue #17 measurement: 500 cgroups, 25 busy.
FLAT_ACTIVE_EVERY = 20


def layout_flat(n, out):
    busy_cores = float(os.environ.get("NODEPULSE_E2E_BUSY_CORES", "0.3"))
    dirs = [f"/svc-{i:04d}" for i in range(n)]
    active = dirs[::FLAT_ACTIVE_EVERY]
    n_busy = (len(active) + 1) // 2
    duty = min(5.0, 100.0 * busy_cores / max(1, n_busy))
    plan = [f"{d} busy {duty:.3f}" if i % 2 == 0 else f"{d} mem {MEM_MIB}" for i, d in enumerate(active)]
    write_layout(out, dirs, plan, [], [], [])
    print(json.dumps({"cgroups": n, "with_process": len(plan), "busy": n_busy,
                      "mem": len(plan) - n_busy, "busy_duty_pct": round(duty, 3), "mem_mib": MEM_MIB}))


def cmd_layout(n, out):
    n = int(n)
    if os.environ.get("NODEPULSE_E2E_LAYOUT", "kubepods") == "flat":
        return layout_flat(n, out)
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
    write_layout(out, dirs, plan, limits, pods, summary)
    kinds = [line.split()[1] for line in plan]
    print(json.dumps({"containers": len(plan), "pods": pods_n, "cgroups": len(dirs),
                      "busy": kinds.count("busy"), "mem": kinds.count("mem"), "idle": kinds.count("idle"),
                      "busy_duty_pct": round(duty, 3), "mem_mib": MEM_MIB}))


# --- fake kubelet -------------------------------------------------------------

def cmd_kubelet(port, directory):
    files = {"/pods": "pods.json", "/stats/summary": "summary.json"}
    cache = {}  # path -> (mtime_ns, body); churn replaces files by rename

    def body_of(path):
        file = files.get(path)
        if file is None:
            return None
        full = os.path.join(directory, file)
        mtime = os.stat(full).st_mtime_ns
        if path not in cache or cache[path][0] != mtime:
            with open(full, "rb") as f:
                cache[path] = (mtime, f.read())
        return cache[path][1]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = body_of(self.path.split("?")[0])
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


# --- churn ----------------------------------------------------------------------

def read_file(path):
    with open(path) as f:
        return f.read()


def rmdir_retry(path, seconds=10.0):
    """A killed task can take a moment to leave its cgroup."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            os.rmdir(path)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def cmd_churn(layout, hierarchies, load, per_min, out):
    """Replaces PER_MIN app containers a minute, as rolling restarts and
    rescheduling do on a node: the replacement gets a new 64-hex id in the
    same pod (same kind of process, same limits), the fake kubelet's /pods
    names the new id, then the old container's processes are killed and its
    cgroup removed in every hierarchy. Pause containers are left alone (a
    pod's sandbox outlives its restarts). Only processes in our own test
    parents are killed: the load's children or spawners this started."""
    hier = hierarchies.split(",")
    assert all("/nodepulse-e2e-" in h for h in hier), "test parents only"
    per_min = float(per_min)
    period = 60.0 / per_min
    pods_path = os.path.join(layout, "pods.json")
    plan = {}
    for line in read_file(os.path.join(layout, "plan.txt")).splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            plan[parts[0]] = parts[1]
    pods = json.loads(read_file(pods_path))
    app_ids = {st["containerID"].split("://", 1)[1]
               for p in pods["items"] for st in p["status"]["containerStatuses"]}
    apps = [cg.rsplit("/", 1) for cg in plan if cg.rsplit("/", 1)[1] in app_ids]  # kept current
    rng = random.Random(int(per_min * 1000) + len(apps))
    spawners = {}  # cid -> Popen of the e2e_load that runs its process
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    tmp = os.path.join(layout, "churn")
    os.makedirs(tmp, exist_ok=True)
    events = 0
    next_t = time.monotonic() + period
    with open(out, "a") as log:
        while not stop:
            time.sleep(max(0.0, min(0.5, next_t - time.monotonic())))
            if time.monotonic() < next_t:
                continue
            next_t += period
            t0 = time.monotonic()
            app = rng.choice(apps)
            pod_dir, old = app
            new = hexid(rng, 64)
            work = plan.pop(f"{pod_dir}/{old}")
            plan[f"{pod_dir}/{new}"] = work
            # 1. the new container's cgroup, with the old one's limits.
            for h in hier:
                os.mkdir(f"{h}{pod_dir}/{new}")
                for lim in ("memory.limit_in_bytes", "cpu.cfs_quota_us", "memory.max", "cpu.max"):
                    src = f"{h}{pod_dir}/{old}/{lim}"
                    if os.path.exists(src):
                        with open(f"{h}{pod_dir}/{new}/{lim}", "w") as f:
                            f.write(read_file(src))
            # 2. its process, then 3. the kubelet's view.
            plan_file = os.path.join(tmp, new + ".plan")
            with open(plan_file, "w") as f:
                f.write(f"{pod_dir}/{new} {work}\n")
            sp = subprocess.Popen([load, f"--hierarchies={hierarchies}", f"--plan={plan_file}",
                                   "--lifetime=7200"], stdout=subprocess.PIPE, text=True)
            ready = sp.stdout.readline().startswith("ready")
            spawners[new] = sp
            text = read_file(pods_path).replace(f"containerd://{old}", f"containerd://{new}")
            with open(pods_path + ".tmp", "w") as f:
                f.write(text)
            os.rename(pods_path + ".tmp", pods_path)
            # 4. the old container goes: its processes, then its cgroups.
            old_sp = spawners.pop(old, None)
            if old_sp is not None:
                old_sp.terminate()
                old_sp.wait()
            for h in hier:
                try:
                    for pid in read_file(f"{h}{pod_dir}/{old}/cgroup.procs").split():
                        os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
            removed = all(rmdir_retry(f"{h}{pod_dir}/{old}") for h in hier)
            app[1] = new
            events += 1
            log.write(json.dumps({"t": round(time.time(), 3), "old": old, "new": new, "ready": ready,
                                  "removed": removed, "ms": round(1e3 * (time.monotonic() - t0), 1)}) + "\n")
            log.flush()
    for sp in spawners.values():
        sp.terminate()
    for sp in spawners.values():
        sp.wait()
    print(f"churn: {events} containers replaced")


# --- soak -----------------------------------------------------------------------

SOAK_COLUMNS = ["t_s", "cpu_s", "rss_mib", "fds", "series", "threads"]


def cmd_soak_sample(pid, prom, seconds, out):
    """Every 10 s one CSV row of the agent's process tree: cumulative CPU
    seconds, RSS, open descriptors and its nodepulse_series self-metric as
    Prometheus last scraped it."""
    pid, seconds = int(pid), float(seconds)
    start = time.monotonic()
    next_t = start
    with open(out, "w") as f:
        f.write(",".join(SOAK_COLUMNS) + "\n")
        while True:
            s = snapshot(pid)
            try:
                fds = len(os.listdir(f"/proc/{pid}/fd"))
            except OSError:
                sys.exit(f"soak: pid {pid} is gone")
            series = prom_value(prom, "nodepulse_series")
            now = time.monotonic() - start
            f.write(f"{now:.1f},{s['ticks'] / CLK_TCK:.2f},{s['rss_kib'] / 1024:.2f},{fds},{series},{s['threads']}\n")
            f.flush()
            if now >= seconds:
                break
            next_t += 10.0
            time.sleep(max(0.0, next_t - time.monotonic()))


def window_mean(rows, key, lo_s, hi_s):
    vals = [r[key] for r in rows if lo_s <= r["t_s"] <= hi_s and not math.isnan(r[key])]
    return sum(vals) / len(vals) if vals else float("nan")


def cmd_soak_report(csv_path, png):
    rows = []
    for i, line in enumerate(read_file(csv_path).splitlines()):
        if i == 0 or not line.strip():
            continue
        rows.append({k: float(v) for k, v in zip(SOAK_COLUMNS, line.split(","))})
    end = rows[-1]["t_s"]
    for a, b in zip(rows, rows[1:]):
        b["cpu_per_min"] = 60.0 * (b["cpu_s"] - a["cpu_s"]) / max(1e-9, b["t_s"] - a["t_s"])
    rows[0]["cpu_per_min"] = float("nan")
    # Windows of 10 min in an hour's soak (issue #17: the last 10 min
    # against minutes 10-20); a shorter trial run scales them down.
    w = min(600.0, end / 3)
    early = window_mean(rows, "rss_mib", w, 2 * w)
    late = window_mean(rows, "rss_mib", end - w, end)
    after10 = [r for r in rows if r["t_s"] >= w]
    summary = {
        "duration_s": round(end), "samples": len(rows), "window_s": round(w),
        "cpu_s_per_min": round(60.0 * (rows[-1]["cpu_s"] - rows[0]["cpu_s"]) / end, 3),
        "rss_mib_early_window": round(early, 2), "rss_mib_last_window": round(late, 2),
        "rss_change_pct": round(100.0 * (late - early) / early, 2),
        "rss_mib_max": round(max(r["rss_mib"] for r in rows), 2),
        "fds_after_first_window": [int(min(r["fds"] for r in after10)), int(max(r["fds"] for r in after10))],
        "fds_first_last_after_first_window": [int(after10[0]["fds"]), int(after10[-1]["fds"])],
        "series_after_first_window": [min(r["series"] for r in after10), max(r["series"] for r in after10)],
        "series_first_last_after_first_window": [after10[0]["series"], after10[-1]["series"]],
    }
    data = png + ".dat"
    with open(data, "w") as f:
        for r in rows:
            f.write(f"{r['t_s'] / 60:.3f} {r['cpu_per_min']} {r['rss_mib']} {r['fds']} {r['series']}\n")
    script = f"""set terminal pngcairo size 1200,900 font ",10"
set output "{png}"
set multiplot layout 4,1 title "nodepulse soak: {summary['duration_s']} s, samples every 10 s"
set xlabel "minutes"
set grid
set key off
set ylabel "CPU s/min"
plot "{data}" using 1:2 with lines lw 1
set ylabel "RSS MiB"
set yrange [0:*]
plot "{data}" using 1:3 with lines lw 2
set ylabel "open fds"
plot "{data}" using 1:4 with lines lw 2
set ylabel "series"
plot "{data}" using 1:5 with lines lw 2
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print(json.dumps(summary))


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


def read_stat(path):
    """(comm, fields after comm) of a /proc/<pid>[/task/<tid>]/stat file; the
    fields start at state, so utime is fields[11]."""
    with open(path) as f:
        s = f.read()
    return s[s.index("(") + 1:s.rindex(")")], s[s.rindex(")") + 2:].split()


def proc_cpu_ticks(p):
    """utime+stime+cutime+cstime: the process (all its threads, live and
    exited) plus its reaped children. Summed over a live tree this counts
    every process of the tree once, including ones that exited meanwhile."""
    _, fields = read_stat(f"/proc/{p}/stat")
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


def thread_ticks(pid):
    """utime+stime of each live thread of pid, summed by thread name (the
    agent names its threads: np-collect, np-aggregates, np-http-worker...)."""
    by = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return by
    for t in tasks:
        try:
            comm, fields = read_stat(f"/proc/{pid}/task/{t}/stat")
        except OSError:
            continue
        by[comm] = by.get(comm, 0) + int(fields[11]) + int(fields[12])
    return by


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
    first_threads = thread_ticks(pid)
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
    last_threads = thread_ticks(pid)
    steady = [s["rss_kib"] for t, s in samples if t >= elapsed - steady_window]
    cpu_s = (last["ticks"] - first["ticks"]) / CLK_TCK
    per_thread = {name: round((ticks - first_threads.get(name, 0)) / CLK_TCK * 60.0 / elapsed, 3)
                  for name, ticks in sorted(last_threads.items())}
    print(json.dumps({
        "window_s": round(elapsed, 2),
        "cpu_s": round(cpu_s, 3),
        "cpu_s_per_min": round(cpu_s * 60.0 / elapsed, 3),
        "peak_rss_mib": round(max(s["hwm_kib"] for _, s in samples) / 1024, 1),
        "steady_rss_mib": round(sum(steady) / len(steady) / 1024, 1),
        "procs": max(s["procs"] for _, s in samples),
        "threads": max(s["threads"] for _, s in samples),
        "thread_cpu_s_per_min": per_thread}))


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


def prom_value(url, query):
    assert url.startswith("http://127.0.0.1:"), "loopback only"
    q = urllib.parse.urlencode({"query": query})
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=10) as r:
            res = json.load(r)["data"]["result"]
        return res[0]["value"][1] if res else "nan"
    except Exception:
        return "nan"


def cmd_prom(url, query):
    print(prom_value(url, query))


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

SUBJECTS = ["floor", "nodepulse_before", "nodepulse", "netdata", "node_exporter"]


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
    out.append("| N | nodepulse / floor CPU | nodepulse / netdata CPU | nodepulse / nodepulse_before CPU | "
               "nodepulse_before / floor CPU | nodepulse steady RSS MiB | load avg (1 min) at nodepulse start |")
    out.append("|---|---|---|---|---|---|---|")
    for n in ns:
        by = {r["subject"]: r for r in rows if r["n"] == n}
        np_ = by.get("nodepulse")
        if not np_:
            continue

        def ratio(other, subject="nodepulse"):
            o, s = by.get(other), by.get(subject)
            if not o or not s or not o["cpu_s_per_min"]:
                return "-"
            return f"{s['cpu_s_per_min'] / o['cpu_s_per_min']:.2f}"
        busy = [r for r in rows if r["n"] == n and r.get("concurrent_e2e_parents")]
        out.append(f"| {n} | {ratio('floor')} | {ratio('netdata')} | {ratio('nodepulse_before')} | "
                   f"{ratio('floor', 'nodepulse_before')} | {fmt(np_['steady_rss_mib'], 1)} | "
                   f"{np_.get('load1', '-')}" + (" (another e2e run was active)" if busy else "") + " |")
    out.append("")
    out.append("Per thread, CPU s/min (np-collect reads the cgroup and /proc files, what the "
               "floor does, and feeds the pipeline; np-kubelet polls the kubelet; the rest serve "
               "/metrics, the aggregates API and health):")
    out.append("")
    out.append("| N | subject | per thread | np-collect / floor CPU |")
    out.append("|---|---|---|---|")
    for n in ns:
        by = {r["subject"]: r for r in rows if r["n"] == n}
        for subj in ("nodepulse_before", "nodepulse"):
            r = by.get(subj)
            if not r or not r.get("thread_cpu_s_per_min"):
                continue
            threads = r["thread_cpu_s_per_min"]
            text = ", ".join(f"{k} {v:.2f}" for k, v in sorted(threads.items(), key=lambda kv: -kv[1]))
            floor = by.get("floor")
            coll = threads.get("np-collect")
            ratio = f"{coll / floor['cpu_s_per_min']:.2f}" if floor and coll is not None and floor["cpu_s_per_min"] else "-"
            out.append(f"| {n} | {subj} | {text} | {ratio} |")
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
