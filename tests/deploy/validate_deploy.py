#!/usr/bin/env python3
"""Validates deploy/ without a cluster: manifests against a small schema
written from the Kubernetes API reference (and the Prometheus Operator and
KEDA CRD references), the DaemonSet's security invariants, RBAC, that every
--flag in the manifests is a flag of the built agent, and that the Grafana
dashboard names only metrics the agent exports.

Debian 12 packages neither kubeconform nor kubectl, hence this script; when a
kubectl is on PATH, the `kustomize` check also renders the kustomizations
with it (exit 77 = skipped otherwise).

usage: validate_deploy.py CHECK --source DIR [--agent BIN]
  CHECK: schema | security | flags | dashboard | kustomize | selftest
"""

import argparse
import copy
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

try:
    import yaml
except ImportError:  # pragma: no cover
    print("python3-yaml is missing: apt-get install python3-yaml (scripts/deps.sh test)")
    sys.exit(1)

SKIP = 77


class Errors:
    def __init__(self):
        self.items = []

    def add(self, where, msg):
        self.items.append(f"{where}: {msg}")

    def check(self, cond, where, msg):
        if not cond:
            self.add(where, msg)
        return cond


# --------------------------------------------------------------------------
# Loading

def yaml_files(deploy):
    out = []
    for root, _, files in os.walk(deploy):
        for f in sorted(files):
            if f.endswith((".yaml", ".yml")):
                out.append(os.path.join(root, f))
    return sorted(out)


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def get(obj, path, default=None):
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


# --------------------------------------------------------------------------
# Schema: apiVersion/kind and required fields per kind, plus allowed keys
# where a typo would silently disable something (probes, securityContext).

CONTAINER_KEYS = {
    "name", "image", "imagePullPolicy", "command", "args", "env", "envFrom", "ports",
    "livenessProbe", "readinessProbe", "startupProbe", "resources", "securityContext",
    "volumeMounts", "workingDir", "lifecycle", "terminationMessagePath",
    "terminationMessagePolicy", "stdin", "tty", "volumeDevices", "resizePolicy",
}
POD_SPEC_KEYS = {
    "serviceAccountName", "automountServiceAccountToken", "tolerations", "securityContext",
    "containers", "initContainers", "volumes", "priorityClassName", "nodeSelector", "affinity",
    "hostNetwork", "hostPID", "hostIPC", "dnsPolicy", "terminationGracePeriodSeconds",
    "imagePullSecrets", "restartPolicy", "schedulerName", "topologySpreadConstraints",
}
PROBE_KEYS = {
    "httpGet", "tcpSocket", "exec", "grpc", "initialDelaySeconds", "periodSeconds",
    "timeoutSeconds", "failureThreshold", "successThreshold", "terminationGracePeriodSeconds",
}
CONTAINER_SC_KEYS = {
    "readOnlyRootFilesystem", "allowPrivilegeEscalation", "privileged", "runAsNonRoot",
    "runAsUser", "runAsGroup", "capabilities", "seccompProfile", "seLinuxOptions", "procMount",
    "appArmorProfile",
}
POD_SC_KEYS = {
    "runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup", "seccompProfile", "supplementalGroups",
    "fsGroupChangePolicy", "seLinuxOptions", "sysctls", "appArmorProfile",
}
KNOWN = {
    ("v1", "Namespace"), ("v1", "ServiceAccount"), ("v1", "Service"), ("v1", "Secret"),
    ("apps/v1", "DaemonSet"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"), ("monitoring.coreos.com/v1", "PodMonitor"),
    ("keda.sh/v1alpha1", "ScaledObject"), ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
    ("kustomize.config.k8s.io/v1alpha1", "Component"),
}
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
AGGREGATES_URL_RE = re.compile(
    r"^https?://nodepulse\.nodepulse\.svc:9779/api/v1/aggregates\?"
    r"namespace=[^&]+&workload=[^&]+&metric=[a-z_]+&window=\d+[smh]&stat=[a-z0-9]+$")


def check_probe(e, where, probe, port_names):
    if not e.check(isinstance(probe, dict), where, "probe must be a mapping"):
        return
    for k in probe:
        e.check(k in PROBE_KEYS, where, f"unknown probe field {k!r}")
    hg = probe.get("httpGet")
    if e.check(isinstance(hg, dict), where, "expected an httpGet probe"):
        e.check(str(hg.get("path", "")).startswith("/"), where, "httpGet.path must start with /")
        port = hg.get("port")
        e.check(isinstance(port, int) or port in port_names, where,
                f"httpGet.port {port!r} is neither a number nor a declared port name")
        e.check(hg.get("scheme", "HTTP") in ("HTTP", "HTTPS"), where, "scheme must be HTTP or HTTPS")


def check_pod_spec(e, where, spec, patch=False):
    for k in spec:
        e.check(k in POD_SPEC_KEYS, where, f"unknown pod spec field {k!r}")
    for k in spec.get("securityContext", {}) or {}:
        e.check(k in POD_SC_KEYS, where, f"unknown pod securityContext field {k!r}")
    containers = spec.get("containers")
    if not e.check(isinstance(containers, list) and containers, where, "containers must be a non-empty list"):
        return
    volumes = {v.get("name") for v in spec.get("volumes", []) or []}
    for c in containers:
        cw = f"{where} container {c.get('name')}"
        for k in c:
            e.check(k in CONTAINER_KEYS, cw, f"unknown container field {k!r}")
        e.check(bool(c.get("name")), cw, "name is required")
        if not patch:
            e.check(bool(c.get("image")), cw, "image is required")
        for k in c.get("securityContext", {}) or {}:
            e.check(k in CONTAINER_SC_KEYS, cw, f"unknown securityContext field {k!r}")
        port_names = set()
        for p in c.get("ports", []) or []:
            cp = p.get("containerPort")
            e.check(isinstance(cp, int) and 0 < cp < 65536, cw, f"bad containerPort {cp!r}")
            e.check(p.get("protocol", "TCP") in ("TCP", "UDP", "SCTP"), cw, "bad protocol")
            if "name" in p:
                e.check(len(p["name"]) <= 15 and re.match(r"^[a-z0-9-]+$", p["name"]), cw,
                        f"port name {p['name']!r} must be an IANA_SVC_NAME (<= 15 chars)")
                port_names.add(p["name"])
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if probe in c and not patch:
                check_probe(e, f"{cw} {probe}", c[probe], port_names)
        if not patch:
            for m in c.get("volumeMounts", []) or []:
                e.check(m.get("name") in volumes, cw, f"volumeMount {m.get('name')!r} has no volume")
                e.check(str(m.get("mountPath", "")).startswith("/"), cw, "mountPath must be absolute")
        for env in c.get("env", []) or []:
            e.check(bool(env.get("name")), cw, "env entry without name")
        res = c.get("resources", {}) or {}
        for k in res:
            e.check(k in ("requests", "limits", "claims"), cw, f"unknown resources field {k!r}")


def check_object(e, where, doc, patch=False):
    api, kind = doc.get("apiVersion"), doc.get("kind")
    if not e.check(api and kind, where, "apiVersion and kind are required"):
        return
    where = f"{where} {kind}/{get(doc, 'metadata.name', '?')}"
    if not e.check((api, kind) in KNOWN, where, f"unexpected apiVersion/kind {api}/{kind}"):
        return
    if kind in ("Kustomization", "Component"):
        return
    name = get(doc, "metadata.name")
    e.check(isinstance(name, str) and NAME_RE.match(name or ""), where, "metadata.name must be a DNS-1123 name")
    namespaced = kind not in ("Namespace", "ClusterRole", "ClusterRoleBinding")
    if namespaced and not patch:
        e.check(bool(get(doc, "metadata.namespace")), where, "namespaced object without metadata.namespace")
    spec = doc.get("spec", {})
    if kind == "DaemonSet":
        if not patch:
            sel = get(doc, "spec.selector.matchLabels") or {}
            labels = get(doc, "spec.template.metadata.labels") or {}
            e.check(sel, where, "spec.selector.matchLabels is required")
            e.check(all(labels.get(k) == v for k, v in sel.items()), where,
                    "selector does not match the template labels")
        pod = get(doc, "spec.template.spec")
        if e.check(isinstance(pod, dict), where, "spec.template.spec is required"):
            check_pod_spec(e, where, pod, patch)
    elif kind == "ClusterRole":
        rules = doc.get("rules")
        if e.check(isinstance(rules, list) and rules, where, "rules must be a non-empty list"):
            for r in rules:
                for k in ("apiGroups", "resources", "verbs"):
                    e.check(isinstance(r.get(k), list) and r.get(k), where, f"rule needs a {k} list")
    elif kind == "ClusterRoleBinding":
        ref = doc.get("roleRef", {})
        e.check(ref.get("apiGroup") == "rbac.authorization.k8s.io" and ref.get("kind") in
                ("ClusterRole", "Role") and ref.get("name"), where, "bad roleRef")
        for s in doc.get("subjects", []) or []:
            e.check(s.get("kind") in ("ServiceAccount", "User", "Group") and s.get("name"), where, "bad subject")
            if s.get("kind") == "ServiceAccount":
                e.check(bool(s.get("namespace")), where, "ServiceAccount subject needs a namespace")
    elif kind == "Service":
        ports = spec.get("ports")
        if e.check(isinstance(ports, list) and ports, where, "spec.ports is required"):
            for p in ports:
                e.check(isinstance(p.get("port"), int) and 0 < p["port"] < 65536, where, "bad port")
                e.check(len(ports) == 1 or p.get("name"), where, "multi-port services need port names")
        e.check(bool(spec.get("selector")), where, "spec.selector is required")
    elif kind in ("ServiceMonitor", "PodMonitor"):
        e.check(isinstance(spec.get("selector"), dict), where, "spec.selector is required")
        eps = spec.get("endpoints" if kind == "ServiceMonitor" else "podMetricsEndpoints")
        if e.check(isinstance(eps, list) and eps, where, "endpoints are required"):
            for ep in eps:
                e.check(bool(ep.get("port")), where, "endpoint needs a port name")
                e.check(ep.get("honorLabels") is True, where,
                        "honorLabels must be true or the cAdvisor labels become exported_*")
                e.check(ep.get("scheme", "http") in ("http", "https"), where, "bad scheme")
    elif kind == "ScaledObject":
        e.check(bool(get(doc, "spec.scaleTargetRef.name")), where, "spec.scaleTargetRef.name is required")
        trig = spec.get("triggers")
        if e.check(isinstance(trig, list) and trig, where, "spec.triggers is required"):
            for t in trig:
                e.check(bool(t.get("type")), where, "trigger needs a type")
                md = t.get("metadata", {}) or {}
                if t.get("type") == "metrics-api":
                    e.check(AGGREGATES_URL_RE.match(md.get("url", "")), where,
                            f"url {md.get('url')!r} is not the aggregates API URL shape")
                    e.check(md.get("valueLocation") == "value", where, "valueLocation must be 'value'")
                    e.check(re.match(r"^[0-9.]+$", str(md.get("targetValue", ""))), where,
                            "targetValue must be a number string")
                    e.check(t.get("metricType", "AverageValue") in ("AverageValue", "Value"), where,
                            "bad metricType")
    elif kind == "TriggerAuthentication":
        e.check(bool(spec.get("secretTargetRef")), where, "secretTargetRef is required")


def check_kustomization(e, path, doc):
    base = os.path.dirname(path)
    for r in doc.get("resources", []) or []:
        target = os.path.normpath(os.path.join(base, r))
        ok = os.path.isfile(target) or os.path.isfile(os.path.join(target, "kustomization.yaml"))
        e.check(ok, path, f"resource {r!r} does not exist")
    for p in doc.get("patches", []) or []:
        if "path" in p:
            e.check(os.path.isfile(os.path.join(base, p["path"])), path, f"patch {p['path']!r} missing")
    for c in doc.get("components", []) or []:
        e.check(os.path.isfile(os.path.join(base, c, "kustomization.yaml")), path, f"component {c!r} missing")
    # Every YAML next to a kustomization is either listed or an example that
    # says why it is not (files outside a kustomization's resources are
    # never applied by kubectl apply -k).
    return [os.path.normpath(os.path.join(base, r)) for r in doc.get("resources", []) or []]


def check_scrape_config(e, path, doc):
    jobs = doc.get("scrape_configs")
    if not e.check(isinstance(jobs, list) and jobs, path, "scrape_configs list is required"):
        return
    for j in jobs:
        e.check(bool(j.get("job_name")), path, "job_name is required")
        e.check(j.get("honor_labels") is True, path, "honor_labels must be true (cAdvisor labels)")
        for sd in j.get("kubernetes_sd_configs", []) or []:
            e.check(sd.get("role") in ("pod", "endpoints", "endpointslice", "service", "node"), path, "bad role")
        for rc in j.get("relabel_configs", []) or []:
            e.check(rc.get("action", "replace") in ("keep", "drop", "replace", "labelmap", "labeldrop", "labelkeep", "hashmod"), path, "bad action")


def run_schema(args):
    e = Errors()
    deploy = os.path.join(args.source, "deploy")
    files = yaml_files(deploy)
    e.check(os.path.isfile(os.path.join(deploy, "kustomization.yaml")), deploy,
            "deploy/kustomization.yaml is required for kubectl apply -k deploy/")
    patch_files = set()
    for f in files:
        for d in load_docs(f):
            if d.get("kind") in ("Kustomization", "Component"):
                check_kustomization(e, f, d)
                for p in d.get("patches", []) or []:
                    if "path" in p:
                        patch_files.add(os.path.normpath(os.path.join(os.path.dirname(f), p["path"])))
    n = 0
    for f in files:
        rel = os.path.relpath(f, args.source)
        for d in load_docs(f):
            n += 1
            if "scrape_configs" in d:
                check_scrape_config(e, rel, d)
            else:
                check_object(e, rel, d, patch=f in patch_files)
    e.check(n >= 10, deploy, f"only {n} documents found")
    return e, f"{n} documents in {len(files)} files"


# --------------------------------------------------------------------------
# Security invariants of the DaemonSet and RBAC.

EXPECTED_RULES = {
    ("", "nodes/metrics", "get"), ("", "nodes/proxy", "get"), ("", "nodes/stats", "get"),
    ("", "pods", "get"), ("", "pods", "list"), ("", "pods", "watch"),
}


def check_daemonset_security(e, ds, where):
    pod = get(ds, "spec.template.spec", {})
    psc = pod.get("securityContext", {}) or {}
    e.check(not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), where,
            "hostNetwork/hostPID/hostIPC must be off")
    e.check(any(t.get("operator") == "Exists" and not t.get("key") for t in pod.get("tolerations", []) or []),
            where, "needs a toleration {operator: Exists} to run on every node")
    volumes = {v["name"]: v for v in pod.get("volumes", []) or []}
    for c in pod.get("containers", []):
        cw = f"{where} container {c.get('name')}"
        sc = c.get("securityContext", {}) or {}
        e.check(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, cw, "runAsNonRoot must be true")
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        e.check(uid is None or uid != 0, cw, "runAsUser must not be 0")
        e.check(sc.get("readOnlyRootFilesystem") is True, cw, "readOnlyRootFilesystem must be true")
        e.check(sc.get("allowPrivilegeEscalation") is False, cw, "allowPrivilegeEscalation must be false")
        e.check(not sc.get("privileged"), cw, "must not be privileged")
        caps = sc.get("capabilities", {}) or {}
        e.check(caps.get("drop") == ["ALL"], cw, "capabilities.drop must be [ALL]")
        e.check(not caps.get("add"), cw, "no capabilities may be added")
        seccomp = get(sc, "seccompProfile.type") or get(psc, "seccompProfile.type")
        e.check(seccomp == "RuntimeDefault", cw, "seccompProfile must be RuntimeDefault")
        e.check(get(c, "livenessProbe.httpGet.path") == "/healthz", cw, "livenessProbe must GET /healthz")
        e.check(get(c, "readinessProbe.httpGet.path") == "/readyz", cw, "readinessProbe must GET /readyz")
        env = {x.get("name"): get(x, "valueFrom.fieldRef.fieldPath") for x in c.get("env", []) or []}
        e.check(env.get("NODE_NAME") == "spec.nodeName", cw, "NODE_NAME must come from spec.nodeName")
        e.check(env.get("NODE_IP") == "status.hostIP", cw, "NODE_IP must come from status.hostIP")
        res = c.get("resources", {}) or {}
        for k in ("cpu", "memory"):
            e.check(k in (res.get("requests") or {}) and k in (res.get("limits") or {}), cw,
                    f"{k} request and limit are required")
        if all(k in (res.get(s) or {}) for s in ("requests", "limits") for k in ("cpu", "memory")):
            e.check(quantity(res["requests"]["cpu"]) <= quantity(res["limits"]["cpu"]), cw, "cpu request > limit")
            e.check(quantity(res["requests"]["memory"]) <= quantity(res["limits"]["memory"]), cw,
                    "memory request > limit")
        mounts = {m["name"]: m for m in c.get("volumeMounts", []) or []}
        host_paths = {}
        for name, m in mounts.items():
            v = volumes.get(name, {})
            if "hostPath" in v:
                host_paths[v["hostPath"]["path"]] = m
                if v["hostPath"]["path"] in ("/proc", "/sys/fs/cgroup", "/sys"):
                    e.check(m.get("readOnly") is True, cw, f"hostPath {v['hostPath']['path']} must be readOnly")
            if "secret" in v:
                e.check(m.get("readOnly") is True, cw, f"secret volume {name} must be mounted readOnly")
        e.check("/proc" in host_paths, cw, "host /proc must be mounted")
        e.check("/sys/fs/cgroup" in host_paths, cw, "host /sys/fs/cgroup must be mounted")
        args = c.get("args", []) or []
        flag = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in args if a.startswith("--") and "=" in a}
        for f, path in (("--proc-root", "/proc"), ("--cgroup-root", "/sys/fs/cgroup")):
            if path in host_paths:
                e.check(flag.get(f) == host_paths[path].get("mountPath"), cw,
                        f"{f} must point at the host {path} mount")
        state = flag.get("--state-dir")
        if e.check(state is not None, cw, "--state-dir (remote_write queue) is required"):
            m = [m for m in mounts.values() if m.get("mountPath") == state]
            if e.check(m, cw, "--state-dir must be a volume mount (root fs is read-only)"):
                v = volumes.get(m[0]["name"], {})
                e.check("emptyDir" in v or "hostPath" in v, cw, "state volume must be emptyDir or hostPath")
                e.check(not m[0].get("readOnly"), cw, "state volume must be writable")


def quantity(q):
    s = str(q)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 1e3, "M": 1e6, "G": 1e9}
    for u in sorted(units, key=len, reverse=True):
        if s.endswith(u):
            return float(s[: -len(u)]) * units[u]
    return float(s)


def check_rbac(e, docs, where):
    roles = [d for d in docs if d.get("kind") == "ClusterRole"]
    if not e.check(len(roles) == 1, where, "exactly one ClusterRole expected"):
        return
    got = set()
    for r in roles[0].get("rules", []):
        e.check(not r.get("nonResourceURLs") and not r.get("resourceNames"), where, "unexpected rule fields")
        for g in r.get("apiGroups", []):
            for res in r.get("resources", []):
                for v in r.get("verbs", []):
                    got.add((g, res, v))
    e.check(got == EXPECTED_RULES, where,
            f"ClusterRole must grant exactly {sorted(EXPECTED_RULES)}; extra {sorted(got - EXPECTED_RULES)}, "
            f"missing {sorted(EXPECTED_RULES - got)}")
    binds = [d for d in docs if d.get("kind") == "ClusterRoleBinding"]
    sas = {(get(d, "metadata.namespace"), get(d, "metadata.name")) for d in docs if d.get("kind") == "ServiceAccount"}
    e.check(len(binds) == 1 and get(binds[0], "roleRef.name") == get(roles[0], "metadata.name"), where,
            "one ClusterRoleBinding must bind the ClusterRole")
    for b in binds:
        for s in b.get("subjects", []):
            e.check((s.get("namespace"), s.get("name")) in sas, where, f"binding subject {s} is not our ServiceAccount")
    dss = [d for d in docs if d.get("kind") == "DaemonSet"]
    for d in dss:
        sa = get(d, "spec.template.spec.serviceAccountName")
        e.check((get(d, "metadata.namespace"), sa) in sas, where, f"DaemonSet runs as unknown ServiceAccount {sa}")


def base_docs(source):
    docs = []
    for f in yaml_files(os.path.join(source, "deploy", "base")):
        docs += [d for d in load_docs(f) if d.get("kind") != "Kustomization"]
    return docs


def run_security(args):
    e = Errors()
    docs = base_docs(args.source)
    dss = [d for d in docs if d.get("kind") == "DaemonSet"]
    e.check(len(dss) == 1, "deploy/base", "exactly one DaemonSet expected")
    for d in dss:
        check_daemonset_security(e, d, "deploy/base DaemonSet")
    check_rbac(e, docs, "deploy/base")
    return e, "DaemonSet security context, mounts, probes, env, resources and RBAC"


def run_selftest(args):
    """The security check must fail on each violation it exists to catch."""
    e = Errors()
    docs = base_docs(args.source)
    ds = next(d for d in docs if d.get("kind") == "DaemonSet")

    def c0(d):
        return d["spec"]["template"]["spec"]["containers"][0]

    def hostpath_rw(d):
        for m in c0(d)["volumeMounts"]:
            if m["mountPath"].endswith("/proc"):
                m["readOnly"] = False

    mutations = {
        "readOnlyRootFilesystem off": lambda d: c0(d)["securityContext"].update(readOnlyRootFilesystem=False),
        "privilege escalation": lambda d: c0(d)["securityContext"].update(allowPrivilegeEscalation=True),
        "capability added": lambda d: c0(d)["securityContext"]["capabilities"].update(add=["SYS_ADMIN"]),
        "drop not ALL": lambda d: c0(d)["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
        "runAsNonRoot off": lambda d: (d["spec"]["template"]["spec"]["securityContext"].update(runAsNonRoot=False),
                                       c0(d)["securityContext"].pop("runAsNonRoot", None)),
        "seccomp unconfined": lambda d: d["spec"]["template"]["spec"]["securityContext"].update(
            seccompProfile={"type": "Unconfined"}),
        "proc mounted rw": hostpath_rw,
        "liveness path": lambda d: c0(d)["livenessProbe"]["httpGet"].update(path="/metrics"),
        "hostNetwork": lambda d: d["spec"]["template"]["spec"].update(hostNetwork=True),
        "no limits": lambda d: c0(d)["resources"].pop("limits"),
        "NODE_IP missing": lambda d: c0(d).update(env=[x for x in c0(d)["env"] if x["name"] != "NODE_IP"]),
    }
    for name, mutate in mutations.items():
        bad = copy.deepcopy(ds)
        mutate(bad)
        probe = Errors()
        check_daemonset_security(probe, bad, "mutant")
        e.check(probe.items, "selftest", f"security check did not catch: {name}")
    bad_docs = copy.deepcopy(docs)
    role = next(d for d in bad_docs if d.get("kind") == "ClusterRole")
    role["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})
    probe = Errors()
    check_rbac(probe, bad_docs, "mutant")
    e.check(probe.items, "selftest", "RBAC check did not catch an extra secrets rule")
    probe = Errors()
    check_object(probe, "mutant", {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "x", "namespace": "y"},
                                   "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
                                   "spec": {"containers": [{"name": "c", "image": "i", "readinessprobe": {}}]}}}})
    e.check(probe.items, "selftest", "schema check did not catch a misspelled container field")
    probe = Errors()
    check_overlay_args(probe, args.source, "deploy/overlays/kubelet-insecure-tls", copy.deepcopy(ds))
    e.check(probe.items, "selftest", "overlay check did not catch a DaemonSet without the component's flag")
    return e, f"{len(mutations) + 3} mutants rejected"


# --------------------------------------------------------------------------
# Flags: every --flag in the manifests is accepted by the built agent.

def manifest_args(source):
    out = []
    for f in yaml_files(os.path.join(source, "deploy")):
        for d in load_docs(f):
            if d.get("kind") != "DaemonSet":
                continue
            for c in get(d, "spec.template.spec.containers", []) or []:
                out.append((os.path.relpath(f, source), c.get("args", []) or []))
    # A component's arguments are checked on top of the base's, as applied.
    for c in components(source):
        out.append((os.path.relpath(c, source), base_args(source) + component_args(c)))
    dockerfile = os.path.join(source, "deploy", "Dockerfile")
    if os.path.isfile(dockerfile):
        m = re.search(r"^CMD\s+(\[.*\])\s*$", open(dockerfile).read(), re.M)
        if m:
            out.append(("deploy/Dockerfile CMD", json.loads(m.group(1))))
    return out


ARGS_PATH = "/spec/template/spec/containers/0/args/-"


def component_args(path):
    """The agent arguments a Component adds: JSON6902 `add` ops on the
    DaemonSet container's args (tests/integration/kubelet_trust_e2e_test.cc
    reads the same ops, so manifest and test cannot drift)."""
    out = []
    for d in load_docs(path):
        if d.get("kind") != "Component":
            continue
        for p in d.get("patches", []) or []:
            for op in yaml.safe_load(p.get("patch", "")) or []:
                if op.get("op") == "add" and op.get("path") == ARGS_PATH:
                    out.append(op["value"])
    return out


def components(source):
    root = os.path.join(source, "deploy", "components")
    if not os.path.isdir(root):
        return []
    return [os.path.join(root, c, "kustomization.yaml") for c in sorted(os.listdir(root))]


def base_args(source):
    ds = next(d for d in base_docs(source) if d.get("kind") == "DaemonSet")
    return get(ds, "spec.template.spec.containers")[0].get("args", [])


def run_flags(args):
    e = Errors()
    if not args.agent or not os.access(args.agent, os.X_OK):
        e.add("flags", f"agent binary {args.agent!r} not built")
        return e, ""
    help_text = subprocess.run([args.agent, "--help"], capture_output=True, text=True, timeout=30).stdout
    known = set(re.findall(r"^\s+(--[a-z0-9-]+)", help_text, re.M))
    e.check(len(known) > 10, "flags", "could not read flags from --help")
    n = 0
    for where, argv in manifest_args(args.source):
        for a in argv:
            n += 1
            if not e.check(a.startswith("--"), where, f"argument {a!r} is not a --flag"):
                continue
            name = a.split("=", 1)[0]
            e.check(name in known, where, f"{name} is not a flag of the agent (see nodepulse --help)")
        # The values must parse too (types: durations, ints); --help last
        # stops before range checks that need real paths.
        r = subprocess.run([args.agent] + argv + ["--help"], capture_output=True, text=True, timeout=30)
        e.check(r.returncode == 0, where, f"the agent rejects these arguments: {r.stderr.strip()}")
    return e, f"{n} arguments checked against {len(known)} flags"


# --------------------------------------------------------------------------
# Dashboard: valid JSON whose PromQL names only metrics the agent exports.

PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
    "offset", "sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile", "stddev", "stdvar",
    "count_values", "rate", "irate", "increase", "delta", "idelta", "histogram_quantile",
    "label_values", "abs", "clamp_min", "clamp_max", "time", "vector", "scalar", "inf", "nan",
    "le", "avg_over_time", "max_over_time", "min_over_time", "sum_over_time",
}


def promql_metrics(expr):
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)     # strings
    s = re.sub(r"\{[^}]*\}", "", s)                  # label matchers
    s = re.sub(r"\[[^\]]*\]", "", s)                 # ranges
    s = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", s)  # grouping labels
    s = re.sub(r"\$\w+", "", s)                      # dashboard variables
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", s):
        tok = m.group(0)
        rest = s[m.end():].lstrip()
        if tok in PROMQL_WORDS or rest.startswith("("):
            continue
        if re.match(r"^\d", tok):
            continue
        names.add(tok)
    return names


def live_metric_names(agent):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    p = subprocess.Popen([agent, f"--listen=127.0.0.1:{port}", "--interval=200ms"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except Exception:
                time.sleep(0.1)
        time.sleep(1.5)  # a few cycles so rates and aggregates exist
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    finally:
        p.terminate()
        p.wait(10)
    return {re.split(r"[{ ]", line, 1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def source_metric_names(source):
    """Metric names that appear as string literals in the agent's sources:
    series that need a kubelet or pods to appear (network, kube_pod_*), which
    a live agent on a machine without Kubernetes cannot show."""
    names = set()
    for folder in ("collectors", "exporters", "agent", "pipeline"):
        for root, _, files in os.walk(os.path.join(source, folder)):
            for f in files:
                if f.endswith((".cc", ".h")):
                    text = open(os.path.join(root, f), errors="replace").read()
                    names.update(re.findall(r'"([a-z_][a-z0-9_]*(?:_total|_bytes|_seconds|_ratio|_up|_info)?)"', text))
    return names


def aggregate_ok(name, source_names):
    """pod:<m>:<op><window> and workload:<m>:<op><window>_<stat>, the
    recording-rule names exporters/aggregates/aggregates.cc builds from its table."""
    m = re.match(r"^(pod|workload):([a-z_]+):(rate|max|ratio)(1m|5m|15m)(?:_(sum|avg|max|min|p50|p90|p95|p99))?$", name)
    if not m or (m.group(1) == "workload") != (m.group(5) is not None):
        return False
    return m.group(2) in source_names


def run_dashboard(args):
    e = Errors()
    path = os.path.join(args.source, "deploy", "grafana", "nodepulse-dashboard.json")
    try:
        dash = json.load(open(path))
    except (OSError, ValueError) as x:
        e.add(path, f"not valid JSON: {x}")
        return e, ""
    for k in ("title", "uid", "panels", "schemaVersion"):
        e.check(k in dash, path, f"dashboard needs {k!r}")
    exprs = []
    ids = set()
    for p in dash.get("panels", []):
        e.check(p.get("id") not in ids, path, f"duplicate panel id {p.get('id')}")
        ids.add(p.get("id"))
        e.check("gridPos" in p, path, f"panel {p.get('title')} has no gridPos")
        if p.get("type") == "row":
            continue
        targets = p.get("targets", [])
        e.check(targets, path, f"panel {p.get('title')!r} has no queries")
        exprs += [(p.get("title"), t.get("expr", "")) for t in targets]
    for v in get(dash, "templating.list", []) or []:
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query", "")
        if v.get("type") == "query":
            m = re.match(r"label_values\((.*),\s*\w+\)$", q or "")
            if e.check(m, path, f"variable {v.get('name')}: expected label_values(metric, label)"):
                exprs.append((f"variable {v.get('name')}", m.group(1)))
    live = live_metric_names(args.agent) if args.agent and os.access(args.agent, os.X_OK) else set()
    e.check(live, path, "could not scrape a live agent for its metric names")
    src = source_metric_names(args.source)
    used = set()
    for title, expr in exprs:
        names = promql_metrics(expr)
        e.check(names, path, f"{title!r}: no metric in {expr!r}")
        for n in names:
            used.add(n)
            e.check(n in live or n in src or aggregate_ok(n, src), path,
                    f"{title!r}: {n} is not exported by the agent")
    return e, f"{len(exprs)} queries, {len(used)} metrics ({len(used & live)} seen live)"


# --------------------------------------------------------------------------
# kustomize: render with kubectl when available, then re-check the output.

def check_overlay_args(e, source, k, ds):
    """An overlay renders to the base's arguments plus its components'."""
    kust = load_docs(os.path.join(source, k, "kustomization.yaml"))[0]
    want = list(base_args(source))
    for c in kust.get("components", []) or []:
        added = component_args(os.path.join(source, k, c, "kustomization.yaml"))
        e.check(added, k, f"component {c} adds no agent argument")
        want += added
    got = ds["spec"]["template"]["spec"]["containers"][0]["args"]
    e.check(got == want, k, f"rendered args {got} != base + components {want}")


def run_kustomize(args):
    e = Errors()
    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("SKIP: no kubectl on PATH (Debian 12 does not package it)")
        sys.exit(SKIP)
    n = 0
    overlays = sorted(os.path.join("deploy/overlays", o)
                      for o in os.listdir(os.path.join(args.source, "deploy", "overlays")))
    for k in ["deploy", "deploy/examples/secure"] + overlays:
        r = subprocess.run([kubectl, "kustomize", os.path.join(args.source, k)], capture_output=True,
                           text=True, timeout=60)
        if not e.check(r.returncode == 0, k, f"kubectl kustomize failed: {r.stderr.strip()}"):
            continue
        docs = [d for d in yaml.safe_load_all(r.stdout) if d]
        n += len(docs)
        kinds = sorted(d["kind"] for d in docs)
        e.check(kinds == ["ClusterRole", "ClusterRoleBinding", "DaemonSet", "Namespace", "Service",
                          "ServiceAccount"], k, f"rendered kinds {kinds}")
        for d in docs:
            check_object(e, f"{k} (rendered)", d)
            if d["kind"] == "DaemonSet":
                check_daemonset_security(e, d, f"{k} (rendered) DaemonSet")
                if k.endswith("secure"):
                    args_ = d["spec"]["template"]["spec"]["containers"][0]["args"]
                    for f in ("--tls-cert-file=", "--tls-key-file=", "--auth-token-file=", "--probe-listen="):
                        e.check(any(a.startswith(f) for a in args_), k, f"secure overlay lacks {f}")
                if k.startswith("deploy/overlays/"):
                    check_overlay_args(e, args.source, k, d)
        check_rbac(e, docs, f"{k} (rendered)")
    return e, f"{n} rendered objects"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("check", choices=["schema", "security", "flags", "dashboard", "kustomize", "selftest"])
    ap.add_argument("--source", required=True)
    ap.add_argument("--agent")
    args = ap.parse_args()
    e, summary = globals()[f"run_{args.check}"](args)
    if e.items:
        print(f"FAIL {args.check}: {len(e.items)} problem(s)")
        for i in e.items:
            print("  " + i)
        sys.exit(1)
    print(f"OK {args.check}: {summary}")


if __name__ == "__main__":
    main()
