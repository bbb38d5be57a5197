"""The DaemonSet as `kubectl apply -k deploy/` would create it, turned into the
podman flags that give its container the same user, root filesystem,
capabilities, privileges, mounts, resources, arguments and environment.

The suite derives everything from the rendered manifests, so a change to
deploy/ changes what the suite runs: manifest and test cannot drift. What a
kubelet would add and podman cannot know (the service-account volume, the
downward-API values, a pod IP) is filled in by the caller.
"""

import os
import shutil
import subprocess

import yaml


def render(source_dir, kustomization="deploy"):
    """All objects of the kustomization `kustomization` (relative to the
    source tree), rendered by kubectl when it is installed.

    Without kubectl, resources are read directly and components' JSON 6902
    patches applied here: deploy/ uses nothing else (no generators, no
    strategic merges), so this is the same object set (validate_deploy.py's
    `kustomize` check renders every kustomization with kubectl when it can).
    """
    path = os.path.join(source_dir, kustomization)
    if shutil.which("kubectl"):
        out = subprocess.run(["kubectl", "kustomize", path],
                             check=True, capture_output=True, text=True).stdout
        return [d for d in yaml.safe_load_all(out) if d]
    return _render_directly(path)


def _load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def _render_directly(path):
    kust = _load_all(os.path.join(path, "kustomization.yaml"))[0]
    for key in ("patchesStrategicMerge", "configMapGenerator", "secretGenerator", "images"):
        if key in kust:
            raise ValueError(f"{path}: '{key}' needs kubectl kustomize")
    docs = []
    for res in kust.get("resources", []):
        full = os.path.join(path, res)
        docs += _render_directly(full) if os.path.isdir(full) else _load_all(full)
    for comp in kust.get("components", []):
        ckust = _load_all(os.path.join(path, comp, "kustomization.yaml"))[0]
        for patch in ckust.get("patches", []):
            target = patch["target"]
            for d in docs:
                if d.get("kind") == target.get("kind") and \
                        d["metadata"].get("name") == target.get("name"):
                    for op in yaml.safe_load(patch["patch"]):
                        _json_patch(d, op)
    return docs


def _json_patch(doc, op):
    """The RFC 6902 `add` and `replace` operations."""
    if op["op"] not in ("add", "replace"):
        raise ValueError(f"JSON patch op {op['op']} needs kubectl kustomize")
    *parents, last = [t.replace("~1", "/").replace("~0", "~") for t in op["path"].split("/")[1:]]
    node = doc
    for t in parents:
        node = node[int(t)] if isinstance(node, list) else node[t]
    if isinstance(node, list):
        if last == "-":
            node.append(op["value"])
        elif op["op"] == "add":
            node.insert(int(last), op["value"])
        else:
            node[int(last)] = op["value"]
    else:
        node[last] = op["value"]


def daemonset(docs):
    found = [d for d in docs if d.get("kind") == "DaemonSet"]
    if len(found) != 1:
        raise ValueError(f"expected one DaemonSet in deploy/, found {len(found)}")
    return found[0]


def _quantity_cpus(q):
    q = str(q)
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def _quantity_bytes(q):
    q = str(q)
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "k": 1000, "M": 10**6, "G": 10**9}
    for suffix, mult in units.items():
        if q.endswith(suffix):
            return int(float(q[: -len(suffix)]) * mult)
    return int(q)


class AgentSpec:
    """The agent container of the DaemonSet, as podman flags."""

    def __init__(self, ds):
        self.pod = ds["spec"]["template"]["spec"]
        containers = self.pod["containers"]
        if len(containers) != 1:
            raise ValueError("the suite expects one container in the DaemonSet")
        self.container = containers[0]
        self.psc = self.pod.get("securityContext", {})
        self.csc = self.container.get("securityContext", {})

    @property
    def args(self):
        return list(self.container.get("args", []))

    @property
    def image(self):
        return self.container["image"]

    @property
    def grace_seconds(self):
        return int(self.pod.get("terminationGracePeriodSeconds", 30))

    @property
    def host_network(self):
        return bool(self.pod.get("hostNetwork", False))

    @property
    def port(self):
        return int(self.container["ports"][0]["containerPort"])

    def probe_path(self, kind):
        return self.container[kind]["httpGet"]["path"]

    def env(self, field_values):
        """Environment with valueFrom fields resolved from `field_values`
        (fieldPath -> value), as the kubelet's downward API would."""
        out = {}
        for e in self.container.get("env", []):
            if "value" in e:
                out[e["name"]] = e["value"]
            else:
                path = e["valueFrom"]["fieldRef"]["fieldPath"]
                out[e["name"]] = field_values[path]
        return out

    def run_uid(self):
        return int(self.csc.get("runAsUser", self.psc.get("runAsUser")))

    def run_gid(self):
        return int(self.csc.get("runAsGroup", self.psc.get("runAsGroup")))

    def fs_group(self):
        return self.psc.get("fsGroup")

    def security_flags(self):
        flags = [f"--user={self.run_uid()}:{self.run_gid()}"]
        if self.fs_group() is not None:
            flags.append(f"--group-add={self.fs_group()}")
        if self.csc.get("readOnlyRootFilesystem"):
            flags.append("--read-only")
        for cap in self.csc.get("capabilities", {}).get("drop", []):
            flags.append(f"--cap-drop={cap}")
        for cap in self.csc.get("capabilities", {}).get("add", []):
            flags.append(f"--cap-add={cap}")
        if self.csc.get("allowPrivilegeEscalation") is False:
            flags.append("--security-opt=no-new-privileges")
        if self.csc.get("privileged"):
            flags.append("--privileged")
        return flags

    def resource_flags(self):
        limits = self.container.get("resources", {}).get("limits", {})
        flags = []
        if "cpu" in limits:
            flags.append(f"--cpus={_quantity_cpus(limits['cpu'])}")
        if "memory" in limits:
            flags.append(f"--memory={_quantity_bytes(limits['memory'])}b")
        return flags

    def mount_flags(self, empty_dirs):
        """-v flags for every volumeMount: hostPath volumes bind the host path,
        emptyDir volumes the directory `empty_dirs[name]` the caller made."""
        volumes = {v["name"]: v for v in self.pod.get("volumes", [])}
        flags = []
        for m in self.container.get("volumeMounts", []):
            vol = volumes[m["name"]]
            if "hostPath" in vol:
                src = vol["hostPath"]["path"]
            elif "emptyDir" in vol:
                src = empty_dirs[m["name"]]
            else:
                raise ValueError(f"volume {m['name']}: only hostPath and emptyDir are emulated")
            opts = "ro" if m.get("readOnly") else "rw"
            # Kubernetes bind-mounts hostPath volumes recursively (the v1
            # controllers are mounts below /sys/fs/cgroup); podman's -v is
            # rbind by default as well.
            flags.append(f"--volume={src}:{m['mountPath']}:{opts},rbind")
        return flags

    def empty_dir_names(self):
        return [v["name"] for v in self.pod.get("volumes", []) if "emptyDir" in v]
