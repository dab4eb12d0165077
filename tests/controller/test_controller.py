#!/usr/bin/env python3
# test_controller.py: vivo-controller against a real kube-apiserver (issue 6, points 1-6): CRD, rendering, status, drift, GC, faults, leader election.
import http.client
import json
import os
import shutil
import signal
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctllib import (SA_USER, TOP, Api, Audit, Cluster, Controller, cm_path, condition, deploy_path, describe, done,
                    eventually, make_available, note, ok, rendered_count, skip, svc_path, vivo, vivo_path)

LABEL = "app.kubernetes.io/managed-by=vivo-controller"


def objects(api, ns, name):
    return (api.get(cm_path(ns, name + "-config")), api.get(deploy_path(ns, name)), api.get(svc_path(ns, name)))


def all_exist(api, ns, name):
    o = objects(api, ns, name)
    return o if all(o) else None


def none_exist(api, ns, name):
    return not any(objects(api, ns, name))


def agent_yaml(api, ns, name):
    cm = api.get(cm_path(ns, name + "-config"))
    return ((cm or {}).get("data") or {}).get("vivo-agent.yaml", "")


def pod_hash(d):
    return (((d or {}).get("spec", {}).get("template", {}).get("metadata") or {}).get("annotations") or {}).get(
        "vivo.dev/config-hash")


def container(d, name="agent"):
    for c in (d or {}).get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
        if c.get("name") == name:
            return c
    return None


def svc_port(s, name):
    for p in (s or {}).get("spec", {}).get("ports", []):
        if p.get("name") == name:
            return p.get("port")
    return None


def set_spec(api, ns, name, patch):
    st, body = api.merge_patch(vivo_path(ns, name), {"spec": patch})
    if st != 200:
        raise RuntimeError("patch %s: %s %s" % (name, st, body))
    return body


def converged(api, ns, name, pred):
    v = api.get(vivo_path(ns, name))
    return v if v and pred(v) else None


def managed_objects(api):
    out = []
    for path in ("/api/v1/configmaps", "/apis/apps/v1/deployments", "/api/v1/services"):
        lst = api.get(path + "?labelSelector=" + LABEL) or {}
        out += lst.get("items", [])
    return out


def no_strays(api):
    """Every rendered object is owned by a Vivo that exists, and each Vivo has exactly what it renders."""
    vivos = {(v["metadata"]["namespace"], v["metadata"]["uid"]): v for v in
             (api.get("/apis/vivo.dev/v1alpha1/vivos") or {}).get("items", [])}
    count = {}
    problems = []
    for o in managed_objects(api):
        md = o["metadata"]
        refs = [r for r in md.get("ownerReferences", []) if r.get("controller")]
        if len(refs) != 1 or (md["namespace"], refs[0]["uid"]) not in vivos:
            problems.append("stray %s/%s" % (md["namespace"], md["name"]))
            continue
        count[(md["namespace"], refs[0]["uid"])] = count.get((md["namespace"], refs[0]["uid"]), 0) + 1
    for k, v in vivos.items():
        if count.get(k, 0) != rendered_count(v):
            problems.append("%s/%s has %d objects, not %d" % (v["metadata"]["namespace"], v["metadata"]["name"],
                                                            count.get(k, 0), rendered_count(v)))
    return problems


# ---------------------------------------------------------------------------------------------

def test_crd(c):
    api = c.api
    r = c.kubectl("apply", "-f", os.path.join(TOP, "manifests", "crd.yaml"), check=False)
    ok(r.returncode == 0, "manifests/crd.yaml applies", r.stderr)
    r = c.kubectl("wait", "--for", "condition=Established", "crd/vivos.vivo.dev", "--timeout=30s", check=False)
    ok(r.returncode == 0, "the CRD is Established", r.stderr)
    crd = api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/vivos.vivo.dev")
    ver = crd["spec"]["versions"][0]
    cols = [x["name"] for x in ver.get("additionalPrinterColumns", [])]
    ok(cols == ["Ready", "Reason", "Mode", "Endpoint", "Pods", "Age"],
       "printer columns Ready, Reason, Mode, Endpoint, Pods, Age (%s)" % cols)
    ok(ver.get("subresources", {}).get("status") == {}, "status subresource on")
    # rbac.yaml holds a Role in vivo-system (the webhook's Secret): the namespace comes first.
    c.kubectl("create", "namespace", "vivo-system", check=False)
    r = c.kubectl("apply", "-f", os.path.join(TOP, "manifests", "rbac.yaml"), check=False)
    ok(r.returncode == 0, "manifests/rbac.yaml applies", r.stderr)
    c.kubectl("create", "namespace", "team-a", check=False)
    c.kubectl("create", "namespace", "team-b", check=False)


def test_schema(c):
    """Point 6: invalid objects are refused by the schema, and kubectl's error names the field."""
    cases = [
        ("bad size string", {"streamQueueSize": "twenty megs"}, "spec.streamQueueSize"),
        ("zero size", {"streamQueueSize": "0"}, "spec.streamQueueSize"),
        ("port out of range", {"service": {"ports": {"ui": 70000}}}, "spec.service.ports.ui"),
        ("port 0", {"service": {"ports": {"exporter": 0}}}, "spec.service.ports.exporter"),
        ("equal ports", {"service": {"ports": {"ui": 9000}}}, "spec.service.ports"),
        ("negative replicas", {"replicas": -1}, "spec.replicas"),
        ("unknown service type", {"service": {"type": "Ingress"}}, "spec.service.type"),
        ("pipeline input without name", {"fluentBit": {"enabled": True, "pipeline": {"inputs": [{"tag": "x"}]}}},
         "spec.fluentBit.pipeline.inputs[0].name"),
        ("wrong type", {"emptyStreamOnRead": "yes"}, "spec.emptyStreamOnRead"),
    ]
    for desc, spec, field in cases:
        r = c.kubectl("apply", "-f", "-", input=json.dumps(vivo("bad", spec=spec)), check=False)
        ok(r.returncode != 0 and field in r.stderr, "schema refuses %s, naming %s" % (desc, field),
           r.stderr or r.stdout)
        if desc == "equal ports":
            ok("six different ports" in r.stderr, "the CEL rule's message explains it", r.stderr)
    st, body = c.api.req("POST", vivo_path("default"), vivo("defaults"))
    spec = (body or {}).get("spec", {})
    ok(st == 201 and spec.get("replicas") == 1 and spec.get("streamQueueSize") == "20M" and
       spec.get("service", {}).get("ports", {}).get("otlp") == 4318 and
       spec.get("service", {}).get("ports", {}).get("otlpGrpc") == 4317 and spec.get("otlp", {}).get("enabled") is True,
       "an empty spec is defaulted by the schema", json.dumps(body)[:2000])
    c.api.delete(vivo_path("default", "defaults"))


def test_basic(c, ctl):
    """Point 1: objects within 2 s, with the spec'd contents, labels, owners; status; Ready."""
    api = c.api
    t0 = time.monotonic()
    c.apply(vivo("demo", spec={"streamQueueSize": "20M", "resources": {"limits": {"memory": "64Mi"}}}))
    objs, took = eventually(lambda: all_exist(api, "default", "demo"), 10, 0.02)
    took = time.monotonic() - t0
    ok(objs and took < 2.0, "ConfigMap, Deployment and Service appear within 2 s (%.3f s)" % took, ctl.tail)
    if not objs:
        return
    v = api.get(vivo_path("default", "demo"))
    cm, d, s = objs
    labels_ok = all(o["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "vivo" and
                    o["metadata"]["labels"].get("app.kubernetes.io/instance") == "demo" and
                    o["metadata"]["labels"].get("app.kubernetes.io/managed-by") == "vivo-controller" for o in objs)
    ok(labels_ok, "labels name/instance/managed-by on all three")
    refs_ok = all(len(o["metadata"].get("ownerReferences", [])) == 1 and
                  o["metadata"]["ownerReferences"][0] == {"apiVersion": "vivo.dev/v1alpha1", "kind": "Vivo",
                                                          "name": "demo", "uid": v["metadata"]["uid"],
                                                          "controller": True, "blockOwnerDeletion": True}
                  for o in objs)
    ok(refs_ok, "ownerReference to the Vivo, controller and blockOwnerDeletion", lambda: json.dumps(cm["metadata"]))
    ya = cm["data"].get("vivo-agent.yaml", "")
    ok('listen: "0.0.0.0"' in ya and 'stream_queue_size: "20M"' in ya and "port: 2025" in ya and
       'name: "opentelemetry"' in ya and "fluent-bit.yaml" not in cm["data"], "ConfigMap demo-config: vivo-agent.yaml",
       ya)
    a = container(d)
    sc = a.get("securityContext", {})
    ok(a["image"] == "vivo-agent:0.1.0" and a["args"] == ["--config", "/etc/vivo/vivo-agent.yaml"],
       "Deployment: agent image and config", json.dumps(a))
    ok(a["readinessProbe"]["httpGet"] == {"path": "/api/v1/health", "port": 2020, "scheme": "HTTP"} and
       a["livenessProbe"]["httpGet"]["port"] == 2020, "probes on :2020/api/v1/health")
    ok(sc.get("runAsNonRoot") is True and sc.get("readOnlyRootFilesystem") is True and
       sc.get("allowPrivilegeEscalation") is False and sc.get("capabilities", {}).get("drop") == ["ALL"],
       "non-root, read-only root fs, no privilege escalation, capabilities dropped")
    ok(a.get("resources", {}).get("limits", {}).get("memory") == "64Mi", "resources from the spec")
    ok(s["spec"]["type"] == "ClusterIP" and [(p["name"], p["port"]) for p in s["spec"]["ports"]] ==
       [("ui", 8000), ("forward", 9000), ("http", 9010), ("exporter", 2025), ("otlp", 4318), ("otlp-grpc", 4317)],
       "Service ports ui 8000, forward 9000, http 9010, exporter 2025, otlp 4318, otlp-grpc 4317", json.dumps(s["spec"]))
    v, _ = eventually(lambda: converged(api, "default", "demo", lambda x: x.get("status", {}).get(
        "observedGeneration") == x["metadata"]["generation"] and condition(x, "Ready")), 5)
    ok(v is not None, "status: observedGeneration and conditions", ctl.tail)
    if not v:
        return
    st = v["status"]
    ok(all(condition(v, t) for t in ("Ready", "Progressing", "Degraded")) and
       condition(v, "Ready")["status"] == "False" and condition(v, "Degraded")["status"] == "False",
       "Ready False, Progressing and Degraded present", json.dumps(st))
    ok(st.get("configHash") == pod_hash(d) and st["configHash"].startswith("sha256:"),
       "status.configHash equals the pod's vivo.dev/config-hash annotation")
    ok(st.get("endpoints", {}).get("ui") == "http://demo.default.svc:8000", "status.endpoints.ui")
    r = c.kubectl("get", "vivo", "demo", "--no-headers")
    ok("http://demo.default.svc:8000" in r.stdout and "False" in r.stdout, "kubectl get shows Ready, Reason, Endpoint",
       r.stdout)
    degraded_ltt = condition(v, "Degraded")["lastTransitionTime"]
    st_code, body = make_available(api, "default", "demo")
    ok(st_code == 200, "Deployment status patched to available", body)
    v, took = eventually(lambda: converged(api, "default", "demo", lambda x: (condition(x, "Ready") or {}).get(
        "status") == "True"), 5, 0.02)
    ok(v is not None, "Ready flips to True (%.3f s)" % took, ctl.tail)
    if v:
        ok(condition(v, "Ready")["reason"] == "Available" and v["status"].get("readyReplicas") == 1 and
           condition(v, "Progressing")["status"] == "False", "Ready Available, readyReplicas 1, Progressing False",
           json.dumps(v["status"]))
        ok(condition(v, "Degraded")["lastTransitionTime"] == degraded_ltt,
           "Degraded did not flip: its lastTransitionTime is unchanged")


def test_changes(c, ctl, audit):
    """Point 2: spec changes update the objects and the hash; the same spec writes nothing."""
    api = c.api
    old = api.get(deploy_path("default", "demo"))
    old_hash = pod_hash(old)
    v = set_spec(api, "default", "demo", {"streamQueueSize": "5M"})
    gen = v["metadata"]["generation"]
    res, took = eventually(lambda: 'stream_queue_size: "5M"' in agent_yaml(api, "default", "demo") and
                           pod_hash(api.get(deploy_path("default", "demo"))) not in (None, old_hash), 5, 0.02)
    ok(res, "streamQueueSize 5M: ConfigMap and config-hash annotation updated (%.3f s)" % took, ctl.tail)
    v, _ = eventually(lambda: converged(api, "default", "demo", lambda x: x["status"].get("observedGeneration") == gen
                                        and x["status"].get("configHash") == pod_hash(api.get(deploy_path("default", "demo")))), 5)
    ok(v is not None, "status.observedGeneration %d and configHash follow" % gen)

    set_spec(api, "default", "demo", {"service": {"ports": {"exporter": 2026}}})
    res, took = eventually(lambda: svc_port(api.get(svc_path("default", "demo")), "exporter") == 2026 and
                           "port: 2026" in agent_yaml(api, "default", "demo") and
                           any(p["containerPort"] == 2026 for p in container(api.get(deploy_path("default", "demo")))["ports"]),
                           5, 0.02)
    ok(res, "exporter port 2026: Service, container port and agent config (%.3f s)" % took, ctl.tail)
    # The status is written after the Deployment, in the same reconcile: wait for it.
    v, _ = eventually(lambda: converged(api, "default", "demo", lambda x: x["status"].get("endpoints", {}).get(
        "exporter") == "http://demo.default.svc:2026"), 5)
    ok(v is not None, "endpoint follows")

    h1 = pod_hash(api.get(deploy_path("default", "demo")))
    set_spec(api, "default", "demo", {"fluentBit": {"enabled": True, "pipeline": {"inputs": [
        {"name": "dummy", "tag": "fb.dummy", "rate": "1"}]}}})

    def fb_on():
        cm = api.get(cm_path("default", "demo-config"))
        d = api.get(deploy_path("default", "demo"))
        fy = cm["data"].get("fluent-bit.yaml", "")
        return 'name: "dummy"' in fy and container(d, "fluent-bit") and pod_hash(d) != h1 and fy
    fy, took = eventually(fb_on, 5, 0.02)
    ok(fy, "fluentBit.enabled: fluent-bit.yaml with the pipeline, a fluent-bit container, new hash (%.3f s)" % took,
       ctl.tail)
    if fy:
        ok('name: "forward"' in fy and "port: 24224" in fy and "port: 9000" in fy and "port: 9010" in fy,
           "fluent-bit.yaml: forward and http inputs, forward output to the agent", fy)
    h2 = pod_hash(api.get(deploy_path("default", "demo")))
    set_spec(api, "default", "demo", {"fluentBit": {"pipeline": {"filters": [{"name": "grep", "match": "*",
                                                                              "regex": "log x"}]}}})
    res, _ = eventually(lambda: 'name: "grep"' in api.get(cm_path("default", "demo-config"))["data"].get(
        "fluent-bit.yaml", "") and pod_hash(api.get(deploy_path("default", "demo"))) != h2, 5)
    ok(res, "a pipeline change updates fluent-bit.yaml and the hash")
    set_spec(api, "default", "demo", {"fluentBit": {"enabled": False}})
    res, _ = eventually(lambda: "fluent-bit.yaml" not in api.get(cm_path("default", "demo-config"))["data"] and
                        container(api.get(deploy_path("default", "demo")), "fluent-bit") is None and
                        svc_port(api.get(svc_path("default", "demo")), "forward") == 9000, 5)
    ok(res, "fluentBit disabled: its config and container are gone (server-side apply drops unowned fields)")
    set_spec(api, "default", "demo", {"otlp": {"enabled": False}})
    res, _ = eventually(lambda: svc_port(api.get(svc_path("default", "demo")), "otlp") is None and
                        svc_port(api.get(svc_path("default", "demo")), "otlp-grpc") is None and
                        'opentelemetry' not in agent_yaml(api, "default", "demo"), 5)
    ok(res, "otlp disabled: both OTLP ports and the input removed")
    set_spec(api, "default", "demo", {"otlp": {"enabled": True}, "service": {"ports": {"exporter": 2025}},
                                      "streamQueueSize": "20M"})
    make_available(api, "default", "demo")
    eventually(lambda: converged(api, "default", "demo", lambda x: (condition(x, "Ready") or {}).get("status") == "True"
                                 and x["status"].get("observedGeneration") == x["metadata"]["generation"]), 5)
    time.sleep(1.0)

    # The same spec again: kubectl apply of the unchanged object, then a metadata-only change
    # that makes the controller reconcile: neither may write anything.
    w0 = ctl.writes()
    r0 = ctl.metric("vivo_controller_reconcile_total")
    audit.mark()
    cur = api.get(vivo_path("default", "demo"))
    c.apply(vivo("demo", spec=cur["spec"]))
    api.merge_patch(vivo_path("default", "demo"), {"metadata": {"annotations": {"touched": str(time.time())}}})
    res, _ = eventually(lambda: ctl.metric("vivo_controller_reconcile_total") > r0, 5)
    time.sleep(2.0)
    mine = audit.writes(SA_USER)
    ok(res and not mine and ctl.writes() == w0,
       "re-applying the same spec reconciles and writes nothing (audit log: %d writes by the controller)" % len(mine),
       lambda: describe(mine))


def test_repair(c, ctl):
    """Point 3: deleted or edited owned objects are put back."""
    api = c.api
    for kind, path in (("Deployment", deploy_path("default", "demo")), ("Service", svc_path("default", "demo")),
                       ("ConfigMap", cm_path("default", "demo-config"))):
        uid = api.get(path)["metadata"]["uid"]
        api.delete(path)
        o, took = eventually(lambda: (lambda x: x if x and x["metadata"]["uid"] != uid and
                                      not x["metadata"].get("deletionTimestamp") else None)(api.get(path)), 10, 0.02)
        ok(o, "a deleted %s is recreated (%.3f s)" % (kind, took), ctl.tail)
    api.merge_patch(deploy_path("default", "demo"), {"spec": {"template": {"spec": {"containers": [
        {"name": "agent", "image": "evil:1"}]}}}})
    o, took = eventually(lambda: container(api.get(deploy_path("default", "demo")))["image"] == "vivo-agent:0.1.0", 5, 0.02)
    ok(o, "a hand-edited image is put back (%.3f s)" % took, ctl.tail)
    api.merge_patch(cm_path("default", "demo-config"), {"data": {"vivo-agent.yaml": "hacked: true\n"}})
    o, took = eventually(lambda: "vivo_exporter" in agent_yaml(api, "default", "demo"), 5, 0.02)
    ok(o, "a hand-edited ConfigMap is put back (%.3f s)" % took)
    api.merge_patch(svc_path("default", "demo"), {"spec": {"ports": [{"name": "ui", "port": 18000, "targetPort": "ui",
                                                                      "protocol": "TCP"}]}})
    o, _ = eventually(lambda: svc_port(api.get(svc_path("default", "demo")), "ui") == 8000 and
                      len(api.get(svc_path("default", "demo"))["spec"]["ports"]) == 6, 5)
    ok(o, "a hand-edited Service port is put back")
    # Dropping the managed-by label takes the object out of the label-selector watch.
    api.merge_patch(svc_path("default", "demo"), {"metadata": {"labels": {"app.kubernetes.io/managed-by": None}}})
    o, _ = eventually(lambda: api.get(svc_path("default", "demo"))["metadata"]["labels"].get(
        "app.kubernetes.io/managed-by") == "vivo-controller", 5)
    ok(o, "a removed managed-by label is put back")
    time.sleep(0.5)
    w0 = ctl.writes()
    api.merge_patch(svc_path("default", "demo"), {"metadata": {"labels": {"team": "blue"},
                                                               "annotations": {"note": "by hand"}}})
    time.sleep(2.0)
    s = api.get(svc_path("default", "demo"))
    ok(s["metadata"]["labels"].get("team") == "blue" and ctl.writes() == w0,
       "fields the controller does not own are left alone, with no write")


def test_gc(c, ctl):
    api = c.api
    c.apply(vivo("gone", spec={}))
    objs, _ = eventually(lambda: all_exist(api, "default", "gone"), 5)
    ok(objs, "second Vivo rendered")
    api.delete(vivo_path("default", "gone"))
    # The garbage collector finds a new CRD's resources on its next discovery (up to ~30 s).
    res, took = eventually(lambda: none_exist(api, "default", "gone"), 90, 0.1)
    ok(res, "deleting the Vivo garbage-collects its ConfigMap, Deployment and Service (%.1f s)" % took)


def test_degraded_paused(c, ctl):
    api = c.api
    set_spec(api, "default", "demo", {"service": {"ports": {"ui": 2020}}})
    v, _ = eventually(lambda: converged(api, "default", "demo", lambda x: (condition(x, "Degraded") or {}).get(
        "status") == "True"), 5)
    ok(v and condition(v, "Degraded")["reason"] == "InvalidSpec" and "2020" in condition(v, "Degraded")["message"],
       "a spec the schema cannot catch (ui on the health port) is Degraded: InvalidSpec with a message",
       lambda: json.dumps((v or {}).get("status")))
    ok(svc_port(api.get(svc_path("default", "demo")), "ui") == 8000, "and nothing is rendered from it")
    set_spec(api, "default", "demo", {"service": {"ports": {"ui": 8000}}})
    v, _ = eventually(lambda: converged(api, "default", "demo", lambda x: (condition(x, "Degraded") or {}).get(
        "status") == "False"), 5)
    ok(v, "fixing it clears Degraded")

    set_spec(api, "default", "demo", {"paused": True})
    eventually(lambda: converged(api, "default", "demo", lambda x: (condition(x, "Progressing") or {}).get(
        "reason") == "Paused"), 5)
    api.delete(svc_path("default", "demo"))
    time.sleep(2.0)
    ok(api.get(svc_path("default", "demo")) is None, "paused: a deleted Service is left alone")
    set_spec(api, "default", "demo", {"paused": False})
    o, _ = eventually(lambda: api.get(svc_path("default", "demo")), 5)
    ok(o, "unpaused: it comes back")


def test_endpoints(c, ctl):
    st, body = ctl.http("health", "/healthz")
    ok(st == 200, ":8081/healthz 200")
    st, body = ctl.http("health", "/readyz")
    ok(st == 200, ":8081/readyz 200 once synced")
    st, text = ctl.http("metrics", "/metrics")
    want = ['vivo_controller_reconcile_total{result="success"}', "vivo_controller_workqueue_depth",
            "vivo_controller_watch_restarts_total", 'vivo_controller_api_request_duration_seconds_bucket{verb="PATCH",code="200"',
            "process_resident_memory_bytes"]
    missing = [w for w in want if w not in text]
    ok(st == 200 and not missing, ":8080/metrics: reconciles by result, queue depth, watch restarts, API latency by "
       "verb and code", "missing: %s" % missing)


# ---- faults (point 4) -----------------------------------------------------------------------

def test_apiserver_restart(c, ctl):
    api = c.api
    r0 = ctl.metric("vivo_controller_watch_restarts_total")
    c.script("restart-apiserver", c.dir, env={"DOWN_SECONDS": "2"})
    c.reload()
    api = c.api
    ok(ctl.alive(), "the controller survives an API server restart mid-watch")
    set_spec(api, "default", "demo", {"streamQueueSize": "7M"})
    res, took = eventually(lambda: 'stream_queue_size: "7M"' in agent_yaml(api, "default", "demo"), 40, 0.1)
    ok(res, "after the restart a spec change converges (%.1f s)" % took, ctl.tail)
    ok(ctl.metric("vivo_controller_watch_restarts_total") > r0, "watch restarts were counted")
    res, _ = eventually(lambda: not no_strays(api), 10)
    ok(res, "nothing duplicated or left behind", lambda: no_strays(api))


def test_disconnected_410(c, ctl):
    """Changes and deletions while the controller could not see them, then a compacted history: 410, re-list."""
    api = c.api
    for n in ("keep", "drop"):
        c.apply(vivo(n, spec={}))
    res, _ = eventually(lambda: all_exist(api, "default", "keep") and all_exist(api, "default", "drop"), 10)
    ok(res, "two more Vivos rendered")
    time.sleep(0.5)
    gone0 = ctl.metric("vivo_controller_watch_restarts_total", reason="gone")
    ctl.signal(signal.SIGSTOP)
    try:
        c.script("restart-apiserver", c.dir)   # its connections die while it cannot see
        c.reload()
        api = c.api
        set_spec(api, "default", "keep", {"streamQueueSize": "3M"})
        api.delete(deploy_path("default", "keep"))
        api.delete(vivo_path("default", "drop"))
        c.apply(vivo("fresh", spec={}))
        rev = c.script("compact", c.dir)
        note("etcd compacted at revision %s while the controller was stopped" % rev)
    finally:
        ctl.signal(signal.SIGCONT)
    res, took = eventually(lambda: 'stream_queue_size: "3M"' in agent_yaml(api, "default", "keep") and
                           api.get(deploy_path("default", "keep")) and all_exist(api, "default", "fresh"), 60, 0.1)
    ok(res, "changes made while disconnected converge: spec change, deleted Deployment, new Vivo (%.1f s)" % took,
       ctl.tail)
    res, took = eventually(lambda: none_exist(api, "default", "drop"), 90, 0.2)
    ok(res, "the Vivo deleted while away leaves nothing behind (%.1f s)" % took)
    ok(ctl.metric("vivo_controller_watch_restarts_total", reason="gone") > gone0,
       "the stale resourceVersion got a 410 and the controller re-listed", ctl.tail)
    nv = len((api.get("/apis/vivo.dev/v1alpha1/vivos") or {}).get("items", []))
    res, _ = eventually(lambda: ctl.metric("vivo_controller_cache_objects", resource="vivos") == nv, 5)
    ok(res, "the re-list dropped the deleted Vivo from the cache (%d cached)" % nv)
    res, _ = eventually(lambda: not no_strays(api), 20)
    ok(res, "nothing duplicated or left behind", lambda: no_strays(api))


def test_status_conflict(c, kubeconfig):
    """A 409 on a status update: retried with backoff, converges."""
    api = c.api
    ctl = Controller("conflict", kubeconfig=kubeconfig, env={"VIVO_CONTROLLER_FAULT_STALE_STATUS": "1"})
    try:
        eventually(ctl.ready, 10)
        set_spec(api, "default", "keep", {"replicas": 2})
        res, took = eventually(lambda: converged(api, "default", "keep", lambda x: x["status"].get(
            "observedGeneration") == x["metadata"]["generation"]), 15, 0.05)
        n409 = ctl.metric("vivo_controller_api_request_duration_seconds_count", verb="PUT", code="409")
        ok(n409 == 1, "the API server answered 409 to a status update with a stale resourceVersion", ctl.tail)
        ok(ctl.metric("vivo_controller_reconcile_total", result="conflict") >= 1, "counted as a conflict")
        ok(res, "the retry converges (%.2f s)" % took, ctl.tail)
    finally:
        rc = ctl.stop()
    ok(rc == 0, "clean exit (%s)" % rc, ctl.tail)


def test_token_rotation(c):
    """In-cluster auth: the service-account token file is rotated; the old token stops working."""
    api = c.api
    c.kubectl("-n", "vivo-system", "create", "serviceaccount", "vivo-controller", check=False)
    for s in ("tok1", "tok2"):
        c.kubectl("-n", "vivo-system", "create", "secret", "generic", s, check=False)

    def token(secret):
        return c.kubectl("-n", "vivo-system", "create", "token", "vivo-controller", "--duration=1h",
                         "--bound-object-kind=Secret", "--bound-object-name=" + secret).stdout.strip()
    sa = tempfile.mkdtemp(prefix="vivo-sa-")
    with open(os.path.join(sa, "ca.crt"), "w") as f, open(c.env["CA_CERT"]) as src:
        f.write(src.read())
    with open(os.path.join(sa, "namespace"), "w") as f:
        f.write("vivo-system")
    t1, t2 = token("tok1"), token("tok2")
    with open(os.path.join(sa, "token"), "w") as f:
        f.write(t1)
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": c.env["APISERVER_PORT"],
           "VIVO_SERVICEACCOUNT_DIR": sa}
    ctl = Controller("token", env=env)
    try:
        ok("in-cluster service account" in ctl.log(), "in-cluster configuration (KUBERNETES_SERVICE_HOST/PORT, token, CA)")
        res, _ = eventually(ctl.ready, 10)
        ok(res, "ready with the first token", ctl.tail)
        # Rotate as the kubelet does: a new file in place; then the old token dies with its Secret.
        tmp = os.path.join(sa, ".token.new")
        with open(tmp, "w") as f:
            f.write(t2)
        os.rename(tmp, os.path.join(sa, "token"))
        c.kubectl("-n", "vivo-system", "delete", "secret", "tok1")

        def old_rejected():
            conn = http.client.HTTPSConnection("127.0.0.1", int(c.env["APISERVER_PORT"]),
                                               context=ssl.create_default_context(cafile=c.env["CA_CERT"]), timeout=5)
            try:
                conn.request("GET", "/api", headers={"Authorization": "Bearer " + t1})
                return conn.getresponse().status == 401
            finally:
                conn.close()
        res, took = eventually(old_rejected, 30, 0.5)
        ok(res, "the old token is refused by the API server (%.1f s)" % took)
        c.apply(vivo("rotated", spec={}))
        res, took = eventually(lambda: all_exist(api, "default", "rotated"), 30, 0.1)
        ok(res, "after rotation the controller still writes (%.2f s)" % took, ctl.tail)
        ok("re-read" in ctl.log(), "the token file was re-read", ctl.tail)
        n401 = ctl.metric("vivo_controller_api_request_duration_seconds_count", code="401")
        note("401 answers seen by the controller: %d" % n401)
    finally:
        rc = ctl.stop()
        shutil.rmtree(sa, ignore_errors=True)
    ok(rc == 0, "clean exit (%s)" % rc, ctl.tail)
    api.delete(vivo_path("default", "rotated"))


# ---- leader election (point 5) -----------------------------------------------------------------

def lease(api):
    return api.get("/apis/coordination.k8s.io/v1/namespaces/vivo-system/leases/vivo-controller")


def leader_of(ctls):
    ls = [x for x in ctls if x.alive() and x.metric("vivo_controller_leader") == 1]
    return ls[0] if len(ls) == 1 else None


def test_leader_election(c, kubeconfig):
    api = c.api
    args = ["--leader-elect", "--lease-namespace", "vivo-system"]
    a = Controller("le-a", args, kubeconfig=kubeconfig, env={"POD_NAME": "le-a"})
    b = Controller("le-b", args, kubeconfig=kubeconfig, env={"POD_NAME": "le-b"})
    extra = []
    try:
        first, took = eventually(lambda: leader_of([a, b]), 20, 0.1)
        ok(first, "exactly one of two replicas leads (%.1f s)" % took, lambda: a.tail() + "\n" + b.tail())
        if not first:
            return
        other = b if first is a else a
        ok(eventually(lambda: a.ready() and b.ready(), 10)[0], "both replicas are ready (leader and standby)")
        l = lease(api)
        ok(l and l["spec"]["holderIdentity"] == first.name and l["spec"]["leaseDurationSeconds"] == 15,
           "the Lease names the leader, 15 s", json.dumps((l or {}).get("spec")))
        c.apply(vivo("le1", spec={}))
        res, _ = eventually(lambda: all_exist(api, "default", "le1"), 5)
        ok(res and first.writes() > 0 and other.writes() == 0, "only the leader writes (standby: %d writes)" %
           other.writes())
        t_kill = time.monotonic()
        first.kill()
        nxt, _ = eventually(lambda: other.metric("vivo_controller_leader") == 1, 25, 0.1)
        took = time.monotonic() - t_kill
        ok(nxt and took <= 15.0 + 1.0, "killing the leader hands over within the lease time (%.1f s)" % took,
           other.tail)
        c.apply(vivo("le2", spec={}))
        res, _ = eventually(lambda: all_exist(api, "default", "le2"), 5)
        ok(res, "the new leader reconciles")
        # A graceful stop releases the Lease, so a standby takes over at its next retry.
        third = Controller("le-c", args, kubeconfig=kubeconfig, env={"POD_NAME": "le-c"})
        extra.append(third)
        eventually(third.ready, 10)
        t0 = time.monotonic()
        rc = other.stop()
        ok(rc == 0, "SIGTERM: the leader exits 0", other.tail)
        l = lease(api)
        ok(l is not None and l["spec"].get("holderIdentity", "") in ("", "le-c"), "the Lease was released",
           json.dumps((l or {}).get("spec")))
        res, _ = eventually(lambda: third.metric("vivo_controller_leader") == 1, 10, 0.1)
        ok(res and time.monotonic() - t0 < 5.0, "after a release the standby leads within one retry (%.1f s)" %
           (time.monotonic() - t0), third.tail)
        # A leader that cannot renew stops writing and exits.
        fourth = Controller("le-d", args, kubeconfig=kubeconfig, env={"POD_NAME": "le-d"})
        extra.append(fourth)
        eventually(fourth.ready, 10)
        c.script("stop-apiserver", c.dir)
        t0 = time.monotonic()
        try:
            res, _ = eventually(lambda: not third.alive(), 20, 0.2)
            took = time.monotonic() - t0
        finally:
            c.script("start-apiserver", c.dir)
            c.reload()
            api = c.api
        third.expected_rc = 1
        ok(res and third.proc.returncode == 1 and "leader election lost" in third.log(),
           "a leader that cannot renew for 10 s exits (%.1f s, code %s)" % (took, third.proc.returncode), third.tail)
        res, took = eventually(lambda: fourth.metric("vivo_controller_leader") == 1, 30, 0.2)
        ok(res, "the standby takes over once the API server is back (%.1f s)" % took, fourth.tail)
        c.apply(vivo("le3", spec={}))
        # Its watches reconnect on their backoff, grown during the outage (up to 30 s).
        res, took = eventually(lambda: all_exist(api, "default", "le3"), 45)
        ok(res, "and reconciles (%.1f s)" % took, fourth.tail)
    finally:
        for x in [a, b] + extra:
            x.stop()
    for n in ("le1", "le2", "le3"):
        api.delete(vivo_path("default", n))


def test_watch_namespace(c):
    """--watch-namespace with only a RoleBinding: one namespace is enough."""
    api = c.api
    user = "vivo-team-a"
    kc = c.user(user)
    c.kubectl("-n", "team-a", "create", "rolebinding", "vivo", "--clusterrole=vivo-controller", "--user=" + user,
              check=False)
    # Short watches (3 s) here, to see clean closes resumed from the last version (no re-list).
    ctl = Controller("ns", ["--watch-namespace", "team-a", "--leader-elect", "--lease-namespace", "team-a"],
                     kubeconfig=kc, env={"VIVO_CONTROLLER_WATCH_TIMEOUT": "3"})
    try:
        c.apply(vivo("mine", "team-a"))
        c.apply(vivo("theirs", "team-b"))
        res, took = eventually(lambda: all_exist(api, "team-a", "mine"), 20, 0.05)
        ok(res, "a RoleBinding-only controller renders Vivos in its namespace (%.2f s)" % took, ctl.tail)
        time.sleep(1.0)
        ok(none_exist(api, "team-b", "theirs"), "and leaves other namespaces alone")
        l = api.get("/apis/coordination.k8s.io/v1/namespaces/team-a/leases/vivo-controller")
        ok(l and l["spec"].get("holderIdentity"), "its Lease lives in --lease-namespace")
        res, _ = eventually(lambda: ctl.metric("vivo_controller_watch_restarts_total", reason="closed") >= 8, 15, 0.2)
        ok(res and "re-listed" not in ctl.log(), "watches that end cleanly resume from the last resourceVersion, "
           "without a re-list (%d resumed)" % ctl.metric("vivo_controller_watch_restarts_total", reason="closed"),
           ctl.tail)
        ok(ctl.metric("vivo_controller_watch_events_total", type="BOOKMARK") >= 1,
           "bookmarks received (%d)" % ctl.metric("vivo_controller_watch_events_total", type="BOOKMARK"))
        set_spec(api, "team-a", "mine", {"streamQueueSize": "2M"})
        res, _ = eventually(lambda: 'stream_queue_size: "2M"' in agent_yaml(api, "team-a", "mine"), 10)
        ok(res, "and changes after a resume are seen")
    finally:
        rc = ctl.stop()
    ok(rc == 0, "clean exit (%s)" % rc, ctl.tail)


def main():
    c = Cluster(sys.argv[1])
    if not Controller.binary or not os.access(Controller.binary, os.X_OK):
        print("Bail out! VIVO_CONTROLLER is not an executable controller binary")
        return 1
    audit = Audit(c.env["AUDIT_LOG"])
    test_crd(c)
    test_schema(c)
    kubeconfig = c.user(SA_USER)
    ctl = Controller("main", kubeconfig=kubeconfig)
    try:
        res, took = eventually(ctl.ready, 15)
        ok(res, "the controller starts as the rbac.yaml identity and is ready (%.2f s)" % took, ctl.tail)
        test_basic(c, ctl)
        test_changes(c, ctl, audit)
        test_repair(c, ctl)
        test_gc(c, ctl)
        test_degraded_paused(c, ctl)
        test_endpoints(c, ctl)
        test_apiserver_restart(c, ctl)
        test_disconnected_410(c, ctl)
        forbidden = [e for e in audit.events(SA_USER) if (e.get("responseStatus") or {}).get("code") == 403]
        ok(not forbidden, "rbac.yaml was enough: no 403 for the controller", lambda: describe(forbidden))
    finally:
        rc = ctl.stop()
    ok(rc == 0, "SIGTERM: clean exit 0 (%s)" % rc, ctl.tail)
    ok("stopping" in ctl.log() and "exit 0" in ctl.log(), "it logged its shutdown")
    test_status_conflict(c, kubeconfig)
    test_token_rotation(c)
    test_leader_election(c, kubeconfig)
    test_watch_namespace(c)
    return done()


if __name__ == "__main__":
    sys.exit(main())
