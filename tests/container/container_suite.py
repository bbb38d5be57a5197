#!/usr/bin/env python3
"""nodepulse as it is deployed: the image from deploy/Dockerfile, started by a
real container runtime (podman) exactly as the DaemonSet in deploy/ starts it,
reading cgroups that the runtime made for workload containers in the
kubepods layout, joined to an HTTPS kubelet stand-in whose /pods lists those
containers under their real runtime IDs, and writing to a real Prometheus.

Everything is checked from outside the agent's container: its /metrics and
probes over the pod network, the host's own /proc, podman's view of the
containers, Prometheus' TSDB.

Needs root, podman (deploy/podman-lib.sh installs it), the image
(deploy/build-image.sh; the CTest fixture container.image builds it),
prometheus and openssl (scripts/deps.sh test).

usage: container_suite.py --source DIR [--image TAG] [unittest args]
"""

import argparse
import copy
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import manifest  # noqa: E402

ARGS = None
CGROUP = "/sys/fs/cgroup"
MIB = 1 << 20
HELD_BYTES = 64 * MIB
CPU_LIMIT = 0.5       # the podman busy container's --cpus
CTRD_CPU_LIMIT = 0.3  # the containerd busy container's CFS quota


def log(*a):
    print("container-suite:", *a, flush=True)


def run(cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    return r


def lib_flags(function):
    """Flags computed by deploy/podman-lib.sh (runtime choice, ulimits)."""
    out = run(["bash", "-c", f"source {ARGS.source}/deploy/podman-lib.sh && {function}"]).stdout
    return out.split()


def podman(*args, check=True):
    return run(["podman", *args], check=check)


def host_ip():
    """The source address of the default route: what a pod reaches as the
    node's address (status.hostIP), and only this machine's own traffic."""
    out = run(["ip", "-4", "route", "get", "1.1.1.1"]).stdout
    return re.search(r"\bsrc (\S+)", out).group(1)


def free_port(ip):
    with socket.socket() as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- metrics text

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """[(name, {label: value}, float)] from Prometheus text format 0.0.4."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if m is None:
            raise AssertionError(f"unparseable /metrics line: {line!r}")
        labels = dict(LABEL_RE.findall(m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def select(samples, name, **want):
    return [(l, v) for n, l, v in samples if n == name and all(l.get(k) == x for k, x in want.items())]


def host_net_dev():
    devs = {}
    with open("/proc/net/dev") as f:
        for line in f.readlines()[2:]:
            name, rest = line.split(":", 1)
            devs[name.strip()] = int(rest.split()[0])
    return devs


def host_cpu_user_seconds():
    """{cpu index: user seconds} from the host's /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (\d+)", line)
            if m:
                out[m.group(1)] = int(m.group(2)) / os.sysconf("SC_CLK_TCK")
    return out


def host_meminfo_total():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal in /proc/meminfo")


def process_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------- TLS, PKI

class Pki:
    """A cluster CA and a kubelet serving certificate it signed, for the
    node's address, made with the openssl CLI."""

    def __init__(self, directory, ip):
        self.dir = directory
        self.ca = f"{directory}/ca.crt"
        self.cert = f"{directory}/kubelet.crt"
        self.key = f"{directory}/kubelet.key"
        ca_key = f"{directory}/ca.key"
        csr = f"{directory}/kubelet.csr"
        ext = f"{directory}/kubelet.ext"
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=container-suite-cluster-ca", "-keyout", ca_key, "-out", self.ca])
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj",
             "/CN=container-suite-node", "-keyout", self.key, "-out", csr])
        with open(ext, "w") as f:
            f.write(f"subjectAltName=IP:{ip}\nextendedKeyUsage=serverAuth\n")
        run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", ca_key,
             "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", self.cert])


class SelfSignedKubeletPki:
    """A kubelet serving certificate signed by its own key, as kubeadm, kind
    and minikube make it (serverTLSBootstrap off): no cluster CA verifies it."""

    def __init__(self, directory, ip):
        self.subject_cn = "container-suite-node@1733"
        self.cert = f"{directory}/kubelet-self.crt"
        self.key = f"{directory}/kubelet-self.key"
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", f"/CN={self.subject_cn}", "-addext", f"subjectAltName=IP:{ip}",
             "-keyout", self.key, "-out", self.cert])


# --------------------------------------------------------------- kubelet stand-in

class Kubelet:
    """HTTPS on the node's address and the kubelet's port, serving /pods built
    from a real captured /pods item (fixtures/kubelet) and a real captured
    /stats/summary; the bearer token is checked as the kubelet's authn does."""

    def __init__(self, ip, port, pki, token, fixtures):
        self.pods = []
        with open(f"{fixtures}/kubelet/pods.nri-k8s-1.35.json") as f:
            self.template = json.load(f)["items"][0]
        with open(f"{fixtures}/kubelet/stats-summary.nri-k8s-1.35.json", "rb") as f:
            summary = f.read()
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.requests += 1
                if self.headers.get("Authorization") != f"Bearer {token}":
                    return self.reply(401, b"Unauthorized")
                if self.path == "/pods":
                    return self.reply(200, json.dumps(
                        {"kind": "PodList", "apiVersion": "v1", "metadata": {},
                         "items": outer.pods}).encode())
                if self.path.startswith("/stats/summary"):
                    return self.reply(200, summary)
                return self.reply(404, b"404 page not found")

            def reply(self, code, body):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((ip, port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.cert, pki.key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add_pod(self, uid, namespace, name, owner, containers):
        """containers: [(name, image, "<scheme>://<id>")]."""
        pod = copy.deepcopy(self.template)
        meta = pod["metadata"]
        meta.update(uid=uid, namespace=namespace, name=name)
        meta.pop("managedFields", None)
        meta["ownerReferences"][0].update(kind="ReplicaSet", name=owner)
        spec_template = pod["spec"]["containers"][0]
        status_template = pod["status"]["containerStatuses"][0]
        pod["spec"]["containers"] = []
        pod["status"]["containerStatuses"] = []
        for cname, image, cid in containers:
            c = copy.deepcopy(spec_template)
            c.update(name=cname, image=image)
            pod["spec"]["containers"].append(c)
            s = copy.deepcopy(status_template)
            s.update(name=cname, image=image, containerID=cid, restartCount=0)
            pod["status"]["containerStatuses"].append(s)
        self.pods.append(pod)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------ containerd

class Containerd:
    """A private containerd (Debian's 1.6, CRI plugin off: no CNI needed) with
    its own root, state and socket under `directory`, driven with ctr in the
    kubelet's k8s.io namespace. `ctr run --cgroup <pod>/<id>` gives exactly
    the cgroupfs layout the kubelet and containerd's CRI plugin make: the bare
    64-hex ID below the pod cgroup, no monitor cgroup beside it."""

    def __init__(self, directory):
        self.dir = directory
        self.sock = f"{directory}/containerd.sock"
        self.ids = []
        with open(f"{directory}/config.toml", "w") as f:
            f.write(f'''version = 2
root = "{directory}/root"
state = "{directory}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
''')
        self.log = open(f"{directory}/containerd.log", "wb")
        self.proc = subprocess.Popen(["containerd", "--config", f"{directory}/config.toml"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while self.ctr("version", check=False).returncode != 0:
            if time.time() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"containerd did not start; see {directory}/containerd.log")
            time.sleep(0.2)

    def ctr(self, *args, check=True):
        return run(["ctr", "--address", self.sock, "--namespace", "k8s.io", *args], check=check)

    def import_from_podman(self, ref):
        archive = f"{self.dir}/image.tar"
        podman("save", "--format", "oci-archive", "-o", archive, ref)
        self.ctr("images", "import", "--base-name", ref.rsplit(":", 1)[0], archive)
        os.unlink(archive)

    def run_container(self, ref, pod_cgroup, flags, command):
        cid = uuid.uuid4().hex + uuid.uuid4().hex  # 64 hex, like a CRI container ID
        self.ids.append(cid)
        self.ctr("run", "--detach", "--cgroup", f"{pod_cgroup}/{cid}", *flags, ref, cid,
                 "sh", "-c", command)
        pid = None
        for line in self.ctr("tasks", "ls").stdout.splitlines():
            if line.startswith(cid):
                pid = int(line.split()[1])
        return {"name": cid, "id": cid, "pid": pid, "parent": pod_cgroup,
                "cgroup": f"{pod_cgroup}/{cid}"}

    def remove(self, cid):
        self.ctr("tasks", "kill", "--signal", "SIGKILL", cid, check=False)
        deadline = time.time() + 10
        while self.ctr("tasks", "delete", cid, check=False).returncode != 0:
            if time.time() > deadline:
                break
            time.sleep(0.2)
        self.ctr("containers", "delete", cid, check=False)
        self.ids.remove(cid)

    def stop(self):
        # Tasks first: their shims outlive containerd by design.
        for cid in list(self.ids):
            self.remove(cid)
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


# ------------------------------------------------------------------ Prometheus

class Prometheus:
    """Debian's prometheus with the remote-write receiver on, on the node's
    address (the agent's pod reaches the host there)."""

    def __init__(self, ip, port, directory):
        self.addr = f"{ip}:{port}"
        self.dir = directory
        with open(f"{directory}/prometheus.yml", "w") as f:
            f.write("global:\n  scrape_interval: 1h\n")
        self.proc = None

    def start(self):
        self.log = open(f"{self.dir}/prometheus.log", "ab")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={self.dir}/prometheus.yml",
             f"--storage.tsdb.path={self.dir}/data", f"--web.listen-address={self.addr}",
             "--web.enable-remote-write-receiver"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://{self.addr}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"prometheus did not become ready; see {self.dir}/prometheus.log")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
            self.proc = None
            self.log.close()

    def query(self, q, at=None):
        params = {"query": q}
        if at is not None:
            params["time"] = f"{at:.3f}"
        url = f"http://{self.addr}/api/v1/query?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        if body["status"] != "success":
            raise AssertionError(f"prometheus query {q!r}: {body}")
        return body["data"]["result"]


# ------------------------------------------------------------------- cgroups

def hierarchies():
    """Every mounted cgroup hierarchy (v1 controllers and the v2 tree)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split(" - ")
            if len(fields) == 2 and fields[1].split()[0] in ("cgroup", "cgroup2"):
                out.append(fields[0].split()[4])
    return out


def remove_cgroup_tree(rel):
    """rmdir `rel` and everything below it in every hierarchy, deepest first
    (podman leaves its conmon and container cgroups behind its parents). A
    conmon that is still exiting keeps its cgroup busy for a moment: retried
    for up to 10 s."""
    deadline = time.time() + 10
    while True:
        busy = []
        for root in hierarchies():
            top = root + rel
            if not os.path.isdir(top):
                continue
            for d, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
                try:
                    os.rmdir(d)
                except OSError as e:
                    busy.append(f"{d}: {e}")
        if not busy:
            return
        if time.time() > deadline:
            log("could not remove cgroups:", *busy[:5])
            return
        time.sleep(0.5)


def kubepods_exists():
    return any(os.path.isdir(root + "/kubepods") for root in hierarchies())


# ----------------------------------------------------------------- the suite

class Env:
    """What the suite made that outlives one class: removed at exit."""
    containers = []
    pod_cgroups = []
    created_kubepods = None


def cleanup_all():
    for name in reversed(Env.containers):
        podman("rm", "--force", "--time=0", name, check=False)
    Env.containers = []
    for rel in Env.pod_cgroups:
        remove_cgroup_tree(rel)
    Env.pod_cgroups = []
    if Env.created_kubepods:
        remove_cgroup_tree("/kubepods")


class Harness(unittest.TestCase):
    """One agent container started as the DaemonSet starts it, with the
    workload containers, kubelet and receivers a subclass sets up."""
    maxDiff = None
    kubelet = None
    prometheus = None
    containerd = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("the container suite needs root (podman, cgroups)")
        cls.ip = host_ip()
        cls.tmp = tempfile.mkdtemp(prefix="nodepulse-container-")
        if Env.created_kubepods is None:
            Env.created_kubepods = not kubepods_exists()
        cls.runtime_flags = lib_flags("oci_runtime_flag")
        cls.ulimit_flags = lib_flags("ulimit_flags")
        try:
            cls.set_up()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.containerd:
            cls.containerd.stop()
        cleanup_all()
        if cls.kubelet:
            cls.kubelet.stop()
        if cls.prometheus:
            cls.prometheus.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ------------------------------------------------------------ setup parts

    @classmethod
    def new_pod(cls, parent):
        uid = str(uuid.uuid4())
        path = f"{parent}/pod{uid}"
        Env.pod_cgroups.append(path)
        return uid, path

    @classmethod
    def run_workload(cls, name, parent, flags, command):
        """A container the runtime starts below `parent` (cgroupfs driver):
        its cgroup is made by podman/runc, not by this test."""
        cname = f"np-suite-{name}-{uuid.uuid4().hex[:8]}"
        Env.containers.append(cname)  # first: a failed start still leaves a container
        out = podman("run", "--detach", "--name", cname, *cls.runtime_flags, *cls.ulimit_flags,
                     "--cgroup-manager=cgroupfs", f"--cgroup-parent={parent}", "--network=none",
                     *flags, ARGS.workload_image, "sh", "-c", command)
        cid = out.stdout.strip().splitlines()[-1]
        pid = int(podman("inspect", "--format", "{{.State.Pid}}", cname).stdout.strip())
        return {"name": cname, "id": cid, "pid": pid, "parent": parent,
                "cgroup": f"{parent}/libpod-{cid}"}

    @classmethod
    def start_kubelet(cls, pki, cluster_ca):
        """The kubelet stand-in serving `pki`'s certificate, and the
        projected service-account volume (defaultMode 420) holding the
        cluster CA `cluster_ca` and the token."""
        cls.token = uuid.uuid4().hex
        cls.kubelet = Kubelet(cls.ip, 10250, pki, cls.token, ARGS.fixtures)
        cls.sa_dir = f"{cls.tmp}/serviceaccount"
        os.makedirs(cls.sa_dir)
        shutil.copy(cluster_ca, f"{cls.sa_dir}/ca.crt")
        with open(f"{cls.sa_dir}/token", "w") as f:
            f.write(cls.token)
        with open(f"{cls.sa_dir}/namespace", "w") as f:
            f.write("nodepulse")
        os.chmod(cls.sa_dir, 0o755)
        for n in os.listdir(cls.sa_dir):
            os.chmod(f"{cls.sa_dir}/{n}", 0o644)

    @classmethod
    def make_empty_dirs(cls, spec):
        """emptyDir volumes as the kubelet makes them with fsGroup: owned by
        root, group fsGroup, setgid and group-writable."""
        dirs = {}
        for name in spec.empty_dir_names():
            d = tempfile.mkdtemp(prefix=f"emptydir-{name}-", dir=cls.tmp)
            gid = spec.fs_group()
            if gid is not None:
                os.chown(d, 0, int(gid))
            os.chmod(d, 0o2777 if gid is None else 0o2775)
            dirs[name] = d
        return dirs

    @classmethod
    def start_agent(cls, kustomization="deploy", extra_args=()):
        """The agent container from the rendered `kustomization`: its args
        plus `extra_args` (the suite's receiver), in a pod cgroup of its own."""
        cls.spec = manifest.AgentSpec(manifest.daemonset(
            manifest.render(ARGS.source, kustomization)))
        _, parent = cls.new_pod("/kubepods/burstable")
        cls.empty_dirs = cls.make_empty_dirs(cls.spec)
        env = cls.spec.env({"spec.nodeName": "container-suite-node", "status.hostIP": cls.ip})
        # What every pod has: the API server's address (in-cluster detection).
        env.update(KUBERNETES_SERVICE_HOST=cls.ip, KUBERNETES_SERVICE_PORT="6443")
        cls.agent_args = cls.spec.args + list(extra_args)
        cls.agent_name = f"np-suite-agent-{uuid.uuid4().hex[:8]}"
        flags = [*cls.runtime_flags, *cls.ulimit_flags, "--cgroup-manager=cgroupfs",
                 f"--cgroup-parent={parent}", *cls.spec.security_flags(),
                 *cls.spec.resource_flags(), *cls.spec.mount_flags(cls.empty_dirs),
                 f"--volume={cls.sa_dir}:/var/run/secrets/kubernetes.io/serviceaccount:ro"]
        if cls.spec.host_network:
            flags.append("--network=host")
        # A cgroup namespace of its own, as containerd gives every container
        # on cgroup v2: the agent's /proc/self/cgroup and mountinfo roots
        # then differ from the host's, and it must still find the hierarchies.
        flags.append("--cgroupns=private")
        for k, v in env.items():
            flags.append(f"--env={k}={v}")
        Env.containers.append(cls.agent_name)
        podman("create", "--name", cls.agent_name, *flags, ARGS.image, *cls.agent_args)
        podman("start", cls.agent_name)
        cls.agent_started = time.time()
        log(f"agent ({kustomization}):", " ".join(flags), ARGS.image, " ".join(cls.agent_args))

    @classmethod
    def agent_address(cls):
        if cls.spec.host_network:
            return f"{cls.ip}:{cls.spec.port}"
        ip = podman("inspect", "--format", "{{.NetworkSettings.IPAddress}}",
                    cls.agent_name).stdout.strip()
        return f"{ip}:{cls.spec.port}"

    @classmethod
    def get(cls, path, timeout=5):
        """GET as the kubelet's prober does: the pod's address, no credentials."""
        req = urllib.request.Request(f"http://{cls.agent_address()}{path}",
                                     headers={"User-Agent": "kube-probe/1.35"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    @classmethod
    def wait_ready(cls, joined_container=None, seconds=90):
        """Until /readyz is 200 (and, if given, a series of that container
        carries its kubelet labels); returns the seconds since the start."""
        deadline = time.time() + seconds
        last = None
        while time.time() < deadline:
            state = podman("inspect", "--format", "{{.State.Status}}", cls.agent_name).stdout.strip()
            if state not in ("running", "created", "configured"):
                raise AssertionError(f"agent container is {state}:\n{cls.agent_logs()}")
            try:
                last = cls.get(cls.spec.probe_path("readinessProbe"), timeout=2)
                if last[0] == 200 and (joined_container is None or cls.joined(joined_container)):
                    return time.time() - cls.agent_started
            except OSError as e:
                last = str(e)
            time.sleep(0.25)
        raise AssertionError(f"agent not ready after {seconds}s: {last}\n{cls.agent_logs()}")

    @classmethod
    def joined(cls, container):
        samples = parse_metrics(cls.get("/metrics")[1])
        return bool(select(samples, "container_cpu_usage_seconds_total", container=container))

    @classmethod
    def agent_logs(cls):
        r = podman("logs", cls.agent_name, check=False)
        return r.stdout[-4000:] + r.stderr[-4000:]

    def scrape(self):
        status, body = self.get("/metrics")
        self.assertEqual(status, 200, body[:500])
        return parse_metrics(body)


class DeployedAgentTest(Harness):
    """The base manifests against a kubelet whose certificate the cluster CA
    signed (serverTLSBootstrap): labels join with no flag."""

    @classmethod
    def set_up(cls):
        cls.web_uid, web = cls.new_pod("/kubepods/burstable")
        cls.db_uid, db = cls.new_pod("/kubepods")  # Guaranteed: directly under kubepods
        cls.busy = cls.run_workload("busy", web, [f"--cpus={CPU_LIMIT}"], "while :; do :; done")
        cls.mem = cls.run_workload(
            "mem", web, ["--memory=256m", "--tmpfs=/data:size=128m"],
            f"head -c {HELD_BYTES} /dev/urandom > /data/held && exec sleep 3600")
        cls.idle = cls.run_workload("idle", db, ["--cpus=0.2", "--memory=64m"], "exec sleep 3600")
        cls.image_ref = img = ARGS.workload_image
        # The runtime most clusters run: containerd names the container's
        # cgroup by its bare ID; the pod's sandbox (pause) is a container
        # /pods does not list.
        cls.containerd = Containerd(tempfile.mkdtemp(prefix="containerd-", dir=cls.tmp))
        cls.containerd.import_from_podman(img)
        cls.api_uid, api = cls.new_pod("/kubepods/burstable")
        cls.sandbox = cls.containerd.run_container(img, api, [], "exec sleep 3600")
        cls.api = cls.containerd.run_container(
            img, api, ["--cpu-quota", str(int(CTRD_CPU_LIMIT * 100000)), "--cpu-period", "100000"],
            "while :; do :; done")
        pki = Pki(cls.tmp, cls.ip)
        cls.start_kubelet(pki, pki.ca)
        cls.kubelet.add_pod(cls.web_uid, "shop", "web-6cd8d99884-tggnr", "web-6cd8d99884",
                            [("busy", img, f"containerd://{cls.busy['id']}"),
                             ("mem", img, f"cri-o://{cls.mem['id']}")])
        cls.kubelet.add_pod(cls.db_uid, "shop", "db-7f9c6b5d4-x2x7q", "db-7f9c6b5d4",
                            [("idle", img, f"docker://{cls.idle['id']}")])
        cls.kubelet.add_pod(cls.api_uid, "shop", "api-84c7d9f6b-q9z2m", "api-84c7d9f6b",
                            [("api", img, f"containerd://{cls.api['id']}")])
        cls.prometheus = Prometheus(cls.ip, free_port(cls.ip), cls.tmp)
        cls.prometheus.start()
        # The suite's one addition to the manifest's args: a receiver to write
        # to (deploy/README.md shows the same flags).
        cls.start_agent(extra_args=[f"--remote-write-url=http://{cls.prometheus.addr}/api/v1/write",
                                    "--remote-write-send=raw"])
        cls.wait_ready("busy")

    # ----------------------------------------------------------------- tests

    def test_01_probes_answer_as_the_kubelet_calls_them(self):
        for kind in ("livenessProbe", "readinessProbe"):
            status, body = self.get(self.spec.probe_path(kind))
            self.assertEqual(status, 200, f"{kind}: {body}")

    def test_02_runtime_made_containers_carry_kubelet_labels(self):
        samples = self.scrape()
        expect = [(self.busy, "busy", "web-6cd8d99884-tggnr"),
                  (self.mem, "mem", "web-6cd8d99884-tggnr"),
                  (self.idle, "idle", "db-7f9c6b5d4-x2x7q"),
                  (self.api, "api", "api-84c7d9f6b-q9z2m")]
        for w, container, pod in expect:
            cgroup = w["cgroup"]
            self.assertTrue(any(os.path.isdir(r + cgroup) for r in hierarchies()),
                            f"podman did not make {cgroup}")
            got = select(samples, "container_cpu_usage_seconds_total", id=cgroup)
            self.assertEqual(len(got), 1, f"{cgroup}: {got}")
            labels = got[0][0]
            self.assertEqual(labels.get("container"), container, labels)
            self.assertEqual(labels.get("pod"), pod, labels)
            self.assertEqual(labels.get("namespace"), "shop", labels)
            self.assertEqual(labels.get("image"), self.image_ref, labels)
            self.assertEqual(labels.get("name"), w["id"], labels)

    def test_02b_sandbox_is_a_pod_member_without_container(self):
        got = select(self.scrape(), "container_cpu_usage_seconds_total", id=self.sandbox["cgroup"])
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0][0].get("container", ""), "")
        self.assertEqual(got[0][0].get("pod"), "api-84c7d9f6b-q9z2m")
        self.assertEqual(got[0][0].get("namespace"), "shop")

    def test_03_monitor_cgroups_are_not_containers(self):
        samples = self.scrape()
        for n, labels, _ in samples:
            cid = labels.get("id", "")
            if cid.endswith("/conmon") or "conmon-" in cid:
                self.assertEqual(labels.get("container", ""), "", f"{n} {labels}")

    def test_04_cpu_matches_the_busy_process_and_its_limit(self):
        """Both runtimes' busy loops, over the same 10 s: the agent's CPU
        rate is the process's own CPU time within 10%, under the limit,
        and throttled."""
        loads = [("podman", self.busy, CPU_LIMIT), ("containerd", self.api, CTRD_CPU_LIMIT)]

        def read():
            s = self.scrape()
            return time.time(), [
                (select(s, "container_cpu_usage_seconds_total", id=w["cgroup"])[0][1],
                 process_cpu_seconds(w["pid"])) for _, w, _ in loads]

        t0, r0 = read()
        time.sleep(10)
        t1, r1 = read()
        throttled = self.scrape()
        for (runtime, w, limit), (a0, p0), (a1, p1) in zip(loads, r0, r1):
            agent_rate = (a1 - a0) / (t1 - t0)
            process_rate = (p1 - p0) / (t1 - t0)
            log(f"{runtime} busy: agent {agent_rate:.3f} cores, process {process_rate:.3f}, "
                f"limit {limit}")
            self.assertGreater(process_rate, 0.1, f"{runtime}: the busy loop got no CPU")
            self.assertAlmostEqual(agent_rate, process_rate, delta=0.1 * process_rate, msg=runtime)
            self.assertLessEqual(agent_rate, limit * 1.1, runtime)
            got = select(throttled, "container_cpu_cfs_throttled_periods_total", id=w["cgroup"])
            self.assertTrue(got and got[0][1] > 0, f"{runtime}: no throttling: {got}")

    def test_05_memory_at_least_what_the_container_holds(self):
        cgroup = self.mem["cgroup"]
        samples = self.scrape()
        for metric in ("container_memory_usage_bytes", "container_memory_working_set_bytes"):
            got = select(samples, metric, id=cgroup)
            self.assertEqual(len(got), 1, f"{metric}: {got}")
            self.assertGreaterEqual(got[0][1], HELD_BYTES, metric)
        limit = select(samples, "container_spec_memory_limit_bytes", id=cgroup)
        self.assertEqual(limit[0][1], 256 * MIB)

    def test_06_node_metrics_describe_the_node_not_the_pod(self):
        # The agent's values are from its last cycle: read the host more than
        # an interval before the scrape, and again after it.
        before, cpu_before = host_net_dev(), host_cpu_user_seconds()
        mem_total = host_meminfo_total()
        time.sleep(2.5)
        samples = self.scrape()
        after, cpu_after = host_net_dev(), host_cpu_user_seconds()
        agent = {l["device"]: v for l, v in select(samples, "node_network_receive_bytes_total")}
        self.assertEqual(set(agent), set(after), f"agent sees {sorted(agent)}, host {sorted(after)}")
        for dev, v in agent.items():
            if dev in before:
                self.assertGreaterEqual(v, before[dev], dev)
                self.assertLessEqual(v, after[dev], dev)
        mem = select(samples, "node_memory_MemTotal_bytes")
        self.assertEqual(mem[0][1], mem_total)
        got = {l["cpu"]: v for l, v in select(samples, "node_cpu_seconds_total", mode="user")}
        self.assertEqual(set(got), set(cpu_after))
        for cpu, v in got.items():
            self.assertGreaterEqual(v, cpu_before[cpu] - 1e-9, f"cpu {cpu}")
            self.assertLessEqual(v, cpu_after[cpu] + 1e-9, f"cpu {cpu}")

    def test_07_state_dir_written_by_the_agent_user_only(self):
        uid = self.spec.run_uid()
        files = []
        for d in self.empty_dirs.values():
            for root, dirs, names in os.walk(d):
                for n in dirs + names:
                    files.append(os.path.join(root, n))
        self.assertTrue(files, "the remote_write queue wrote nothing to its volume")
        for f in files:
            self.assertEqual(os.stat(f).st_uid, uid, f)
        # Nothing needed a capability or root: the process has none.
        pid = int(podman("inspect", "--format", "{{.State.Pid}}", self.agent_name).stdout.strip())
        with open(f"/proc/{pid}/status") as f:
            status = dict(line.split(":", 1) for line in f)
        self.assertEqual(status["Uid"].split()[0], str(uid))
        self.assertEqual(int(status["CapEff"].strip(), 16), 0)
        self.assertEqual(status["NoNewPrivs"].strip(), "1")
        # The pod's own namespaces, not the node's: what test_06 reads
        # through is not the agent's network, and its cgroup view is private.
        for ns in ("net", "cgroup", "mnt"):
            self.assertNotEqual(os.readlink(f"/proc/{pid}/ns/{ns}"),
                                os.readlink(f"/proc/self/ns/{ns}"), ns)

    def test_08_removed_containers_vanish(self):
        gone = [self.mem["cgroup"], self.api["cgroup"]]
        samples = self.scrape()
        for cgroup in gone:
            self.assertTrue(select(samples, "container_memory_usage_bytes", id=cgroup), cgroup)
        podman("rm", "--force", "--time=0", self.mem["name"])
        Env.containers.remove(self.mem["name"])
        self.containerd.remove(self.api["id"])
        deadline = time.time() + 15
        while time.time() < deadline:
            left = {l.get("id") for _, l, _ in self.scrape()} & set(gone)
            if not left:
                return
            time.sleep(0.5)
        self.fail(f"{left} still exported 15 s after the runtimes removed them")

    def test_09_remote_write_loses_nothing_across_outage_and_kill(self):
        series = 'node_memory_MemTotal_bytes'
        time.sleep(3)
        self.prometheus.stop()
        outage_start = time.time()
        time.sleep(4)
        podman("kill", "--signal=KILL", self.agent_name)
        killed = time.time()
        podman("wait", self.agent_name, check=False)
        time.sleep(2)
        podman("start", self.agent_name)
        restarted = time.time()
        self.wait_ready("busy")
        time.sleep(3)
        self.prometheus.start()
        # Wait until the queue drained into Prometheus (its newest sample is recent).
        deadline = time.time() + 60
        while time.time() < deadline:
            r = self.prometheus.query(f"timestamp({series})")
            if r and float(r[0]["value"][1]) > time.time() - 3:
                break
            time.sleep(1)
        window = int(time.time() - outage_start) + 15
        r = self.prometheus.query(f"{series}[{window}s]")
        self.assertEqual(len(r), 1, r)
        stamps = [float(t) for t, _ in r[0]["values"]]
        gaps = [(a, b) for a, b in zip(stamps, stamps[1:]) if b - a > 2.5]
        log(f"remote_write: {len(stamps)} samples over {window}s, gaps {gaps}, "
            f"outage {outage_start:.1f}, kill {killed:.1f}, restart {restarted:.1f}")
        self.assertTrue(stamps and stamps[0] < outage_start - 2, "no samples from before the outage")
        # Samples collected while the receiver was down, up to the kill, arrived.
        self.assertTrue(any(outage_start + 1 < t < killed - 1 for t in stamps),
                        "nothing from the outage before the kill arrived")
        # The only gap is the time no agent ran (kill -> restart + start-up).
        for a, b in gaps:
            self.assertGreaterEqual(a, killed - 2.5, f"gap {a}..{b} before the kill")
            self.assertLessEqual(b, restarted + 10, f"gap {a}..{b} after the restart")
        self.assertLessEqual(len(gaps), 1, gaps)

    def test_10_sigterm_exits_cleanly_within_the_grace_period(self):
        grace = self.spec.grace_seconds
        start = time.time()
        podman("stop", f"--time={grace}", self.agent_name)
        took = time.time() - start
        code = int(podman("inspect", "--format", "{{.State.ExitCode}}", self.agent_name).stdout)
        logs = self.agent_logs()
        log(f"podman stop: {took:.1f}s (grace {grace}s), exit {code}")
        self.assertEqual(code, 0, logs)
        self.assertLess(took, grace, logs)
        self.assertIn("stopped cleanly", logs)


class SelfSignedKubeletTest(Harness):
    """kind/minikube/kubeadm: the kubelet's certificate is self-signed and the
    service account's ca.crt (the cluster CA) does not verify it. The base
    manifests must still become Ready after the stated grace, serving
    cgroup and node metrics, and name the TLS cause; the insecure-tls overlay
    makes the join work."""

    @classmethod
    def set_up(cls):
        cls.uid, pod = cls.new_pod("/kubepods/besteffort")
        cls.app = cls.run_workload("app", pod, [], "exec sleep 3600")
        cls.pki = SelfSignedKubeletPki(cls.tmp, cls.ip)
        cluster = Pki(tempfile.mkdtemp(dir=cls.tmp), cls.ip)  # another CA entirely
        cls.start_kubelet(cls.pki, cluster.ca)
        cls.kubelet.add_pod(cls.uid, "kind-demo", "app-5d4f8b7c9-abcde", "app-5d4f8b7c9",
                            [("app", ARGS.workload_image, f"containerd://{cls.app['id']}")])

    def test_1_base_manifests_ready_after_grace_with_tls_named(self):
        self.start_agent("deploy")
        took = self.wait_ready(seconds=60)
        grace = 15  # --kubelet-ready-grace's default (README, Flags)
        log(f"self-signed kubelet, base manifests: Ready after {took:.1f}s")
        self.assertLess(took, grace + 10)
        status, body = self.get("/readyz")
        self.assertEqual(status, 200)
        self.assertIn("reason=tls", body)
        self.assertIn(self.pki.subject_cn, body)
        self.assertIn("--kubelet-insecure-skip-verify", body)
        samples = self.scrape()
        self.assertEqual([v for _, v in select(samples, "nodepulse_kubelet_up", reason="tls")], [0.0])
        got = select(samples, "container_cpu_usage_seconds_total", id=self.app["cgroup"])
        self.assertEqual(len(got), 1, "cgroup series are served without the join")
        self.assertEqual(got[0][0].get("container", ""), "")
        self.assertTrue(select(samples, "node_cpu_seconds_total"))
        status, body = self.get("/api/v1/health")
        self.assertIn(self.pki.subject_cn, body)
        self.assertEqual(self.get(self.spec.probe_path("livenessProbe"))[0], 200)
        podman("rm", "--force", "--time=0", self.agent_name)
        Env.containers.remove(self.agent_name)

    def test_2_insecure_tls_overlay_joins(self):
        self.start_agent("deploy/overlays/kubelet-insecure-tls")
        took = self.wait_ready("app", seconds=60)
        log(f"self-signed kubelet, insecure-tls overlay: Ready and joined after {took:.1f}s")
        got = select(self.scrape(), "container_cpu_usage_seconds_total", id=self.app["cgroup"])
        self.assertEqual(got[0][0].get("namespace"), "kind-demo")
        self.assertEqual(got[0][0].get("pod"), "app-5d4f8b7c9-abcde")
        self.assertEqual(got[0][0].get("container"), "app")
        self.assertEqual([v for _, v in select(self.scrape(), "nodepulse_kubelet_up")], [1.0])


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--source", required=True)
    p.add_argument("--image", default="localhost/nodepulse:dev")
    p.add_argument("--workload-image", default="docker.io/library/debian:12")
    p.add_argument("--fixtures", default=None)
    ARGS, rest = p.parse_known_args()
    if ARGS.fixtures is None:
        ARGS.fixtures = os.path.abspath(f"{ARGS.source}/../shared/fixtures")
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))  # still tear down
    unittest.main(argv=[sys.argv[0], "-v", *rest])


if __name__ == "__main__":
    main()
