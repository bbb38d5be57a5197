#!/usr/bin/env python3
"""Derives pods.resize-1.35.json from the captured Kubernetes 1.35 /pods
response (../../../../shared/fixtures/kubelet/pods.nri-k8s-1.35.json): five
of its pods, edited into the in-place resize states a 1.35 kubelet reports.
The shapes are those of k8s.io/api core/v1 types.go; README.md cites each.

  python3 make_resize_fixture.py FIXTURES_DIR > pods.resize-1.35.json
"""
import copy
import json
import sys

src = json.load(open(f"{sys.argv[1]}/kubelet/pods.nri-k8s-1.35.json"))
by_name = {p["metadata"]["name"]: p for p in src["items"]}


def cond(type_, reason="", message=""):
    c = {"type": type_, "observedGeneration": 2, "status": "True", "lastProbeTime": None,
         "lastTransitionTime": "2026-06-26T10:20:00Z"}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def pick(name):
    p = copy.deepcopy(by_name[name])
    p["metadata"]["generation"] = 2
    return p


items = []

# 1. In progress: spec raised 200m -> 400m (limit 500m -> 1), the kubelet has
#    allocated it, the runtime still enforces the old size.
p = pick("e2e-hpa-6cd8d99884-tggnr")
p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1"}, "requests": {"cpu": "400m"}}
p["status"]["containerStatuses"][0]["allocatedResources"] = {"cpu": "400m"}
p["status"]["conditions"].append(cond("PodResizeInProgress"))
items.append(p)

# 2. Infeasible: memory request raised past the node's capacity; allocated
#    and actual stay at the old size (message as the kubelet words it).
p = pick("e2e-deployment-79967c5968-8bnn8")
p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "80m", "memory": "4500Mi"},
                                           "requests": {"cpu": "40m", "memory": "4500Mi"}}
p["status"]["conditions"].append(cond(
    "PodResizePending", "Infeasible",
    "Node didn't have enough capacity: memory, requested: 4718592000, capacity: 4294967296"))
items.append(p)

# 3. Deferred: fits the node but not now.
p = pick("e2e-deployment-79967c5968-zjslc")
p["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "2"
p["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "2"
p["status"]["conditions"].append(cond(
    "PodResizePending", "Deferred",
    "Node didn't have enough resource: cpu, requested: 2000, used: 1950, capacity: 2000"))
items.append(p)

# 4. Done: spec, allocated and actual agree on the new size, no condition.
p = pick("e2e-statefulset-0")
for r in (p["spec"]["containers"][0]["resources"], p["status"]["containerStatuses"][0]["resources"]):
    r["requests"]["cpu"] = "120m"
    r["limits"]["cpu"] = "160m"
p["status"]["containerStatuses"][0]["allocatedResources"]["cpu"] = "120m"
items.append(p)

# 5. A pre-1.33 kubelet (InPlacePodVerticalScaling beta gate): the
#    deprecated status.resize string, allocatedResources, no status.resources.
p = pick("e2e-statefulset-1")
p["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "60m"
del p["status"]["containerStatuses"][0]["resources"]
p["status"]["resize"] = "InProgress"
items.append(p)

# 6. Unchanged, for contrast: no request at all (BestEffort).
items.append(pick("e2e-scraper-5f97dc94d8-vkcjl"))

out = {"kind": src["kind"], "apiVersion": src["apiVersion"], "metadata": src["metadata"], "items": items}
json.dump(out, sys.stdout, indent=2)
sys.stdout.write("\n")
