#!/usr/bin/env python3
# test_webhook.py: Sidecar mode against a real kube-apiserver (issue 13): the API server calls vivo-controller's webhook over HTTPS; reinvocation is provoked by a second webhook, a Python test double (no real peer mutates pods here).
import base64
import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctllib import (AGENT, MWC, SA_USER, TOP, Audit, Cluster, Controller, condition, describe, done, eventually,
                    free_port, note, ok, terminate, vivo, vivo_path)

NS = "wh-apps"
SECRET = "/api/v1/namespaces/vivo-system/secrets/vivo-controller-webhook-tls"
PORT_FLAGS = ["--listen", "127.0.0.1", "--ui-port", "0", "--http-port", "0", "--exporter-port", "0", "--ops-port", "0",
              "--forward-port", "0", "--otlp-port", "0"]


def pods_path(ns=NS, name=None):
    return "/api/v1/namespaces/%s/pods%s" % (ns, "/" + name if name else "")


def pod(name, label="prof", containers=None, extra_labels=None, annotations=None):
    labels = dict(extra_labels or {})
    if label is not None:
        labels["vivo.dev/inject"] = label
    md = {"name": name, "labels": labels}
    if annotations:
        md["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"containers": containers or [{"name": "app", "image": "registry.example/app:1"}]}}


def sidecars(p):
    spec = (p or {}).get("spec", {})
    return [c for c in spec.get("initContainers", []) + spec.get("containers", []) if c["name"] == "vivo-agent"]


def env_of(c):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def requests(ctl, result=None):
    return ctl.metric("vivo_controller_webhook_requests_total", **({"result": result} if result else {}))


def served_cert(port):
    """sha256 of the DER certificate the webhook serves on port (the handshake alone), or None."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            with ctx.wrap_socket(s) as t:
                return hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()
    except (OSError, ssl.SSLError):
        return None


def pem_fingerprint(pem):
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def secret_tls(api):
    s = api.get(SECRET)
    return base64.b64decode(s["data"]["tls.crt"]).decode() if s else None


def ca_bundle(api):
    m = api.get(MWC)
    try:
        return base64.b64decode(m["webhooks"][0]["clientConfig"]["caBundle"]).decode()
    except (TypeError, KeyError, IndexError):
        return ""


def start(name, extra=(), env=None, url_port=None, port=None):
    port = port or free_port()
    args = ["--webhook-listen", "127.0.0.1:%d" % port,
            "--webhook-url", "https://127.0.0.1:%d/mutate-pods" % (url_port or port)] + list(extra)
    ctl = Controller(name, args, kubeconfig=KC, env=env)
    ctl.wh_port = port
    return ctl


def injected_dry_run(api, label="prof"):
    st, p = api.req("POST", pods_path() + "?dryRun=All", pod("probe-%d" % int(time.monotonic() * 1000), label))
    return st == 201 and len(sidecars(p)) == 1


def wait_webhook(api, ctl, timeout=30):
    v, took = eventually(lambda: injected_dry_run(api), timeout, 0.2)
    ok(v, "%s: the API server calls its webhook (dry-run pod injected after %.2f s)" % (ctl.name, took), ctl.tail)
    return v


def vivo_status(api, name, pred, timeout=10):
    v, _ = eventually(lambda: (lambda x: x if x and pred(x) else None)(api.get(vivo_path(NS, name))), timeout, 0.1)
    return v


def clean_pods(api, selector):
    api.req("DELETE", pods_path() + "?labelSelector=" + selector)


def openssl(*args):
    r = subprocess.run(["openssl"] + list(args), capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args), r.stderr))


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=%s" % name, "-keyout", os.path.join(d, name + ".key"), "-out", os.path.join(d, name + ".crt"))


def make_leaf(d, ca, out_dir):
    """A 127.0.0.1 serving certificate signed by CA `ca` (files in d) into out_dir/tls.{crt,key}."""
    key, csr, crt = os.path.join(d, "leaf.key"), os.path.join(d, "leaf.csr"), os.path.join(d, "leaf.crt")
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", key, "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", os.path.join(d, ca + ".crt"), "-CAkey", os.path.join(d, ca + ".key"),
            "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", crt)
    # Written beside, then renamed into place, as a Secret volume update does.
    for src, dst in ((crt, "tls.crt"), (key, "tls.key"), (os.path.join(d, ca + ".crt"), "ca.crt")):
        shutil.copy(src, os.path.join(out_dir, dst + ".new"))
        os.replace(os.path.join(out_dir, dst + ".new"), os.path.join(out_dir, dst))


# ---- a second mutating webhook (test double): it annotates pods, so the API server reinvokes ours ----

class Double(http.server.BaseHTTPRequestHandler):
    calls = 0

    def do_POST(self):
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        req = review["request"]
        Double.calls += 1
        anns = (req["object"].get("metadata") or {}).get("annotations")
        patch = ([{"op": "add", "path": "/metadata/annotations/test.vivo.dev~1double", "value": "seen"}] if anns else
                 [{"op": "add", "path": "/metadata/annotations", "value": {"test.vivo.dev/double": "seen"}}])
        resp = {"uid": req["uid"], "allowed": True, "patchType": "JSONPatch",
                "patch": base64.b64encode(json.dumps(patch).encode()).decode()}
        body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": resp}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


# ---------------------------------------------------------------------------------------------

def setup(c):
    c.install(("vivo-system", NS))
    c.api.delete(MWC)
    c.api.delete(SECRET)
    r = c.kubectl("apply", "-f", "-", check=False, input=json.dumps(
        vivo("bad", NS, {"mode": "Sidecar", "fluentBit": {"enabled": True}})))
    ok(r.returncode != 0 and "not supported with mode Sidecar" in r.stderr,
       "the schema refuses fluentBit in Sidecar mode (CEL rule)", r.stderr)
    r = c.kubectl("apply", "-f", "-", check=False, input=json.dumps(vivo("bad", NS, {"mode": "Daemon"})))
    ok(r.returncode != 0 and "spec.mode" in r.stderr, "the schema refuses an unknown spec.mode", r.stderr)
    crd = c.api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/vivos.vivo.dev")
    cols = [x["name"] for x in crd["spec"]["versions"][0].get("additionalPrinterColumns", [])]
    ok("Pods" in cols and "Mode" in cols, "printer columns include Mode and Pods (%s)" % cols)


def test_inject(c, ctl):
    """Acceptance 1: a labelled Pod and a Deployment's pod are stored with the sidecar; unlabelled pods never
    reach the webhook."""
    api = c.api
    v = vivo_status(api, "prof", lambda x: (condition(x, "Ready") or {}).get("reason") == "ProfileReady")
    ok(v is not None, "Sidecar-mode Vivo prof: Ready, reason ProfileReady", ctl.tail)
    h = (v or {}).get("status", {}).get("configHash", "?")
    d = api.get("/apis/apps/v1/namespaces/%s/deployments/prof" % NS)
    ok(api.get("/api/v1/namespaces/%s/configmaps/prof-config" % NS) is not None and d and
       d["spec"]["template"]["spec"]["containers"][0]["args"] == ["--config", "/etc/vivo/vivo-aggregator.yaml"] and
       api.get("/api/v1/namespaces/%s/services/prof-pods" % NS) is not None,
       "it renders its ConfigMap, and the aggregator (Deployment prof, headless Service prof-pods: test_fleet.py)")
    before = requests(ctl, "injected")
    st, p = api.req("POST", pods_path(), pod("web-1", containers=[
        {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]}]))
    ok(st == 201, "a labelled Pod is created (%s)" % st, json.dumps(p)[:1500])
    p = api.get(pods_path(name="web-1"))
    side = (p or {}).get("spec", {}).get("initContainers", [{}])[0]
    ok(side.get("name") == "vivo-agent" and side.get("restartPolicy") == "Always",
       "stored with the agent as a native sidecar: initContainers[0] vivo-agent, restartPolicy Always",
       json.dumps((p or {}).get("spec"))[:3000])
    app = (p or {}).get("spec", {}).get("containers", [{}])[0]
    e = env_of(app)
    ok(e.get("OTEL_EXPORTER_OTLP_ENDPOINT") == "http://localhost:4318" and
       e.get("OTEL_EXPORTER_OTLP_PROTOCOL") == "http/protobuf" and e.get("A") == "1" and
       e.get("OTEL_RESOURCE_ATTRIBUTES") == "k8s.pod.name=$(VIVO_POD_NAME),k8s.namespace.name=$(VIVO_POD_NAMESPACE)",
       "the app container gets the OTEL_* variables (its own kept)", json.dumps(app.get("env")))
    anns = (p or {}).get("metadata", {}).get("annotations", {})
    ok(anns.get("vivo.dev/injected") == "prof@" + h, "annotation vivo.dev/injected: prof@<status.configHash>",
       json.dumps(anns))
    ok(p["metadata"]["labels"].get("vivo.dev/sidecar") == "prof", "label vivo.dev/sidecar: prof (for selectors)")
    vol = [x for x in p["spec"]["volumes"] if x["name"] == "vivo-config"]
    ok(vol and vol[0]["configMap"]["name"] == "prof-config" and
       side.get("volumeMounts", [{}])[0].get("mountPath") == "/etc/vivo" and side["volumeMounts"][0]["readOnly"],
       "the Vivo's ConfigMap mounted read-only at /etc/vivo")
    sidecar_env = env_of(side)
    ok(all(sidecar_env.get(k, {}).get("fieldRef", {}).get("fieldPath") == f for k, f in
           (("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace"), ("NODE_NAME", "spec.nodeName"))),
       "POD_NAME, POD_NAMESPACE, NODE_NAME from the downward API", json.dumps(side.get("env")))
    sc = side.get("securityContext", {})
    ok(sc.get("runAsNonRoot") and sc.get("readOnlyRootFilesystem") and sc.get("allowPrivilegeEscalation") is False and
       sc.get("capabilities", {}).get("drop") == ["ALL"] and side["readinessProbe"]["httpGet"]["port"] == 2020,
       "the Deployment's security context and probes")
    ok(requests(ctl, "injected") == before + 1, "the webhook counted it as injected")

    # A Deployment: the test plays the ReplicaSet controller (no kube-controller-manager
    # Deployment controller runs) and creates the Pod from the template.
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop"},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "shop"}},
                    "template": {"metadata": {"labels": {"app": "shop", "vivo.dev/inject": "prof"}},
                                 "spec": {"containers": [{"name": "shop", "image": "shop:1"}]}}}}
    st, d = api.req("POST", "/apis/apps/v1/namespaces/%s/deployments" % NS, dep)
    ok(st == 201 and not sidecars({"spec": d["spec"]["template"]["spec"]}),
       "a labelled Deployment is stored as given (the webhook sees pods only)", json.dumps(d)[:500])
    tmpl = d["spec"]["template"]
    rs_pod = {"apiVersion": "v1", "kind": "Pod",
              "metadata": {"generateName": "shop-5d8f7-", "labels": tmpl["metadata"]["labels"]},
              "spec": tmpl["spec"]}
    st, p = api.req("POST", pods_path(), rs_pod)
    ok(st == 201 and len(sidecars(p)) == 1 and p["spec"]["initContainers"][0]["name"] == "vivo-agent" and
       "OTEL_EXPORTER_OTLP_ENDPOINT" in env_of(p["spec"]["containers"][0]),
       "the Pod made from its template (generateName, as a ReplicaSet does) is stored with the sidecar (%s)" %
       (p or {}).get("metadata", {}).get("name"), json.dumps(p)[:1500])

    total = requests(ctl)
    st, p = api.req("POST", pods_path(), pod("plain", label=None))
    st2, p2 = api.req("POST", pods_path(), pod("optout", label="false"))
    time.sleep(0.5)
    ok(st == 201 and not sidecars(p) and "initContainers" not in p["spec"] and st2 == 201 and not sidecars(p2),
       "unlabelled (and vivo.dev/inject=false) pods are stored unchanged")
    ok(requests(ctl) == total, "... and the webhook saw no request for them (requests_total %d before, %d after)" %
       (total, requests(ctl)))


def test_warnings(c, ctl):
    api = c.api
    c.apply(vivo("dep", NS, {}))
    eventually(lambda: api.get("/apis/apps/v1/namespaces/%s/deployments/dep" % NS), 10)
    cases = (("ghost", "there is no Vivo ghost in namespace " + NS), ("dep", "Vivo dep is in Deployment mode"))
    for label, want in cases:
        r = c.kubectl("-n", NS, "create", "-f", "-", input=json.dumps(pod("warn-" + label, label)), check=False)
        p = api.get(pods_path(name="warn-" + label))
        ok(r.returncode == 0 and ("Warning: vivo.dev/inject=%s: %s" % (label, want)) in r.stderr and not sidecars(p),
           "label naming %s: admitted unchanged, and kubectl prints the webhook's warning" % label, r.stderr)
    st, p = api.req("POST", pods_path(), pod("via-true", "true"))
    ok(st == 201 and len(sidecars(p)) == 1 and p["metadata"]["annotations"]["vivo.dev/injected"].startswith("prof@"),
       "vivo.dev/inject=true: the only Sidecar-mode Vivo of the namespace")
    r = c.kubectl("-n", NS, "create", "-f", "-", check=False, input=json.dumps(
        pod("hostnet", "prof", containers=[{"name": "app", "image": "a", "ports": [{"containerPort": 8000}]}])))
    p = api.get(pods_path(name="hostnet"))
    ok(r.returncode == 0 and "declares port 8000, where the Vivo agent listens too" in r.stderr and len(sidecars(p)) == 1,
       "an app port the agent also uses: injected, with a warning", r.stderr)


def test_idempotent(c, ctl, double_port, double_ca):
    """Acceptance 2: injected once across reinvocation and for a pod that already has the sidecar; a set
    OTEL_EXPORTER_OTLP_ENDPOINT is kept."""
    api = c.api
    stored = api.get(pods_path(name="web-1"))
    again = {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": "web-1-again", "labels": stored["metadata"]["labels"],
                          "annotations": {"vivo.dev/injected": stored["metadata"]["annotations"]["vivo.dev/injected"]}},
             "spec": {k: v for k, v in stored["spec"].items() if k not in ("nodeName",)}}
    present = requests(ctl, "present")
    st, p = api.req("POST", pods_path(), again)
    ok(st == 201 and len(sidecars(p)) == 1 and len(p["spec"]["volumes"]) == len(stored["spec"]["volumes"]) and
       p["spec"]["containers"][0].get("env") == stored["spec"]["containers"][0].get("env"),
       "a pod that already has the sidecar is stored unchanged: one sidecar, one volume, env not doubled",
       json.dumps(p)[:2000])
    ok(requests(ctl, "present") == present + 1, "the webhook answered it as present")

    # The double's configuration sorts after ours, so it mutates the pod after us and the API
    # server calls ours again (reinvocationPolicy: IfNeeded).
    cfg = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
           "metadata": {"name": "zz-vivo-test-double"},
           "webhooks": [{"name": "double.test.vivo.dev", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                         "failurePolicy": "Fail", "timeoutSeconds": 5, "reinvocationPolicy": "Never",
                         "clientConfig": {"url": "https://127.0.0.1:%d/" % double_port,
                                          "caBundle": base64.b64encode(double_ca.encode()).decode()},
                         "objectSelector": {"matchLabels": {"test.vivo.dev/double": "yes"}},
                         "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                                    "resources": ["pods"]}]}]}
    st, _ = api.req("POST", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", cfg)
    calls0, present, injected = Double.calls, requests(ctl, "present"), requests(ctl, "injected")
    p = None
    for attempt in range(50):  # until the API server has loaded the double's configuration
        name = "reinvoke-%d" % attempt
        st, p = api.req("POST", pods_path(), pod(name, extra_labels={"test.vivo.dev/double": "yes"}))
        if (p or {}).get("metadata", {}).get("annotations", {}).get("test.vivo.dev/double"):
            break
        api.delete(pods_path(name=name))
        time.sleep(0.2)
    ok(p and p["metadata"]["annotations"].get("test.vivo.dev/double") == "seen" and Double.calls > calls0,
       "a second webhook (the double) mutated the pod after ours", json.dumps(p)[:1500])
    ok(len(sidecars(p)) == 1 and len([v for v in p["spec"]["volumes"] if v["name"].startswith("vivo-config")]) == 1,
       "after reinvocation: one sidecar, one config volume")
    ok(requests(ctl, "present") >= present + 1 and requests(ctl, "injected") >= injected + 1,
       "our webhook was reinvoked and answered present (present +%d, injected +%d)" %
       (requests(ctl, "present") - present, requests(ctl, "injected") - injected))
    api.delete("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/zz-vivo-test-double")

    st, p = api.req("POST", pods_path(), pod("own-endpoint", containers=[
        {"name": "app", "image": "a", "env": [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://collector:4318"},
                                              {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": "service.name=shop"}]}]))
    e = env_of(p["spec"]["containers"][0])
    ok(e.get("OTEL_EXPORTER_OTLP_ENDPOINT") == "http://collector:4318" and "OTEL_EXPORTER_OTLP_PROTOCOL" not in e,
       "a pod that sets OTEL_EXPORTER_OTLP_ENDPOINT keeps its value", json.dumps(p["spec"]["containers"][0]))
    ok(e.get("OTEL_RESOURCE_ATTRIBUTES", "").startswith("service.name=shop,k8s.pod.name=$(VIVO_POD_NAME)"),
       "its OTEL_RESOURCE_ATTRIBUTES is appended to, not overwritten (%s)" % e.get("OTEL_RESOURCE_ATTRIBUTES"))


def test_offline(c, ctl, tmp):
    """Acceptance 5: --inject gives the pod spec the webhook stored, byte for byte."""
    api = c.api
    src = pod("offline-src", containers=[
        {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 8080}]},
        {"name": "helper", "image": "helper:1"}])
    src["spec"]["initContainers"] = [{"name": "migrate", "image": "migrate:1"}]
    src["spec"]["volumes"] = [{"name": "vivo-config", "emptyDir": {}}]
    src["spec"]["containers"][0]["volumeMounts"] = [{"name": "vivo-config", "mountPath": "/data"}]
    paths = {k: os.path.join(tmp, k + ".json") for k in ("pod", "vivo")}
    with open(paths["pod"], "w") as f:
        json.dump(src, f)
    with open(paths["vivo"], "w") as f:
        json.dump(api.get(vivo_path(NS, "prof")), f)
    r = subprocess.run([Controller.binary, "--inject", paths["pod"], "--vivo", paths["vivo"]], capture_output=True,
                       text=True, timeout=30)
    ok(r.returncode == 0 and "1 pod template injected" in r.stderr, "--inject FILE --vivo VIVOFILE", r.stderr)
    out = json.loads(r.stdout)
    st, stored = api.req("POST", pods_path(), src)
    ok(st == 201 and len(sidecars(stored)) == 1 and
       [v["name"] for v in stored["spec"]["volumes"]] == ["vivo-config", "vivo-config-2"],
       "the webhook stored it with the sidecar (the pod's own vivo-config kept, ours vivo-config-2)")
    present = requests(ctl, "present")
    out["metadata"]["name"] = "offline-out"
    st, dry = api.req("POST", pods_path() + "?dryRun=All", out)
    same = json.dumps(stored["spec"], sort_keys=True) == json.dumps(dry["spec"], sort_keys=True)
    ok(st == 201 and same and requests(ctl, "present") == present + 1,
       "--inject output, created with server defaults (the webhook finds the sidecar present), has the stored "
       "pod spec byte for byte", lambda: "\n".join(
           "%s\n%s" % (json.dumps(stored["spec"], sort_keys=True), json.dumps(dry["spec"], sort_keys=True)).split("\n")))
    ok(out["metadata"]["annotations"] == {"vivo.dev/injected": stored["metadata"]["annotations"]["vivo.dev/injected"]}
       and out["metadata"]["labels"] == stored["metadata"]["labels"], "and the same annotation and labels")

    manifests = os.path.join(tmp, "workloads.yaml")
    with open(manifests, "w") as f:
        f.write("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  selector: {matchLabels: {app: a}}\n"
                "  template:\n    metadata: {labels: {app: a}}\n    spec: {containers: [{name: a, image: a}]}\n---\n"
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: batch/v1\n  kind: Job\n  metadata: {name: j}\n"
                "  spec: {template: {spec: {restartPolicy: Never, containers: [{name: j, image: j}]}}}\n"
                "- apiVersion: apps/v1\n  kind: StatefulSet\n  metadata: {name: s}\n  spec:\n"
                "    selector: {matchLabels: {app: s}}\n    serviceName: s\n"
                "    template: {metadata: {labels: {app: s}}, spec: {containers: [{name: s, image: s}]}}\n"
                "- apiVersion: apps/v1\n  kind: DaemonSet\n  metadata: {name: d}\n  spec:\n"
                "    selector: {matchLabels: {app: d}}\n"
                "    template: {metadata: {labels: {app: d}}, spec: {containers: [{name: d, image: d}]}}\n")
    r = subprocess.run([Controller.binary, "--inject", manifests, "--vivo", paths["vivo"]], capture_output=True,
                       text=True, timeout=30)
    ok(r.returncode == 0 and "4 pod templates injected" in r.stderr,
       "--inject of a YAML Deployment and a List (Job, StatefulSet, DaemonSet)", r.stderr)
    r2 = c.kubectl("-n", NS, "apply", "--dry-run=server", "-f", "-", input=r.stdout, check=False)
    ok(r2.returncode == 0 and r2.stdout.count("(server dry run)") == 4,
       "its YAML output is valid: server-side dry run of all four", r2.stderr + r2.stdout)
    r3 = subprocess.run([Controller.binary, "--inject", manifests, "--vivo", paths["vivo"], "--server-version", "1.28"],
                        capture_output=True, text=True, timeout=30)
    ok(r3.returncode == 0 and "ordinary container" in r3.stderr and "restartPolicy: \"Always\"" not in r3.stdout,
       "--server-version 1.28: ordinary containers", r3.stderr)


def test_agent_runs(c, tmp):
    """Acceptance 6: the stored sidecar's args and mounted config start vivo-agent, which reports the pod."""
    api = c.api
    p = api.get(pods_path(name="web-1"))
    side = sidecars(p)[0]
    mount = side["volumeMounts"][0]
    vol = [v for v in p["spec"]["volumes"] if v["name"] == mount["name"]][0]
    cm = api.get("/api/v1/namespaces/%s/configmaps/%s" % (NS, vol["configMap"]["name"]))
    d = os.path.join(tmp, "mount")
    os.makedirs(d)
    for k, v in cm["data"].items():
        with open(os.path.join(d, k), "w") as f:
            f.write(v)
    args = [a.replace(mount["mountPath"], d) for a in side["args"]]
    fields = {"metadata.name": p["metadata"]["name"], "metadata.namespace": p["metadata"]["namespace"],
              "spec.nodeName": "node-test"}
    env = {"PATH": os.environ.get("PATH", "")}
    for e in side["env"]:
        env[e["name"]] = fields[e["valueFrom"]["fieldRef"]["fieldPath"]]
    env["ASAN_OPTIONS"] = "detect_leaks=1"
    log = open(os.path.join(tmp, "agent.log"), "w+")
    proc = subprocess.Popen([AGENT] + args + PORT_FLAGS, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env)
    try:
        def port():
            log.seek(0)
            for line in log.read().splitlines():
                if "listening exporter on 127.0.0.1:" in line:
                    return int(line.rsplit(":", 1)[1])
            return None
        pt, _ = eventually(port, 15, 0.05)
        info = {}
        if pt:
            with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/info" % pt, timeout=5) as r:
                info = json.loads(r.read())
        ok({k: info.get(k) for k in ("pod", "namespace", "node")} == {"pod": "web-1", "namespace": NS, "node": "node-test"},
           "vivo-agent runs the sidecar's args (%s) with the mounted config and reports POD_NAME/POD_NAMESPACE/"
           "NODE_NAME in /api/v1/info" % " ".join(side["args"]), lambda: json.dumps(info) + "\n" + open(log.name).read())
    finally:
        terminate(proc, 15)
    ok(proc.returncode == 0, "the agent exits 0 on SIGTERM (%s)" % proc.returncode)


def test_stale_and_switch(c, ctl):
    api = c.api
    v = vivo_status(api, "prof", lambda x: x.get("status", {}).get("injectedPods", 0) >= 5)
    n = (v or {}).get("status", {}).get("injectedPods", 0)
    ok(v and v["status"].get("stalePods") == 0 and condition(v, "Injected")["status"] == "True",
       "status.injectedPods counts the injected pods (%d), none stale" % n, json.dumps((v or {}).get("status")))
    r = c.kubectl("-n", NS, "get", "vivo", "prof", "--no-headers")
    ok("Sidecar" in r.stdout and (" %d " % n) in r.stdout, "kubectl get vivo shows Mode and Pods", r.stdout)
    old_hash = v["status"]["configHash"]
    api.merge_patch(vivo_path(NS, "prof"), {"spec": {"streamQueueSize": "5M"}})
    v = vivo_status(api, "prof", lambda x: x["status"].get("configHash") != old_hash and
                    x["status"].get("stalePods") == n)
    ok(v is not None, "a changed spec: a new configHash, and the %d injected pods are counted as stalePods" % n,
       lambda: json.dumps(api.get(vivo_path(NS, "prof")).get("status")))
    st, p = api.req("POST", pods_path(), pod("after-change"))
    ok(p["metadata"]["annotations"]["vivo.dev/injected"] == "prof@" + (v or {}).get("status", {}).get("configHash", ""),
       "a new pod gets the new hash (the old ones are not restarted by the controller)")
    api.merge_patch(vivo_path(NS, "prof"), {"spec": {"streamQueueSize": "20M"}})

    c.apply(vivo("switch", NS, {}))
    dep_path = "/apis/apps/v1/namespaces/%s/deployments/switch" % NS
    objs, _ = eventually(lambda: api.get("/api/v1/namespaces/%s/services/switch" % NS) and api.get(dep_path), 10)
    api.merge_patch(vivo_path(NS, "switch"), {"spec": {"mode": "Sidecar"}})
    # The Deployment becomes the aggregator of the injected pods (docs/fleet.md): the same
    # object, its agent now following the headless Service switch-pods.
    agg, took = eventually(lambda: (lambda d: d if d and "/etc/vivo/vivo-aggregator.yaml" in
                                    d["spec"]["template"]["spec"]["containers"][0]["args"] else None)(api.get(dep_path))
                           and api.get("/api/v1/namespaces/%s/services/switch-pods" % NS), 10)
    d = api.get(dep_path)
    v = vivo_status(api, "switch", lambda x: (condition(x, "Ready") or {}).get("reason") == "ProfileReady" and
                    x["status"].get("endpoints", {}).get("ui") == "http://switch.%s.svc:8000" % NS)
    ok(objs and agg and v and d and d["metadata"]["uid"] == objs["metadata"]["uid"] and
       api.get("/api/v1/namespaces/%s/configmaps/switch-config" % NS),
       "Deployment -> Sidecar mode: its Deployment turns into the aggregator (%.2f s), switch-pods appears, the "
       "ConfigMap stays, and the status has the aggregator's endpoints" % took, ctl.tail)


def test_example(c, ctl):
    """manifests/examples/sidecar.yaml, applied for real: the Deployment's pods get Vivo "sidecar"."""
    api = c.api
    ex = os.path.join(TOP, "manifests", "examples", "sidecar.yaml")
    r = c.kubectl("apply", "-f", ex, check=False)
    ok(r.returncode == 0, "kubectl apply -f manifests/examples/sidecar.yaml", r.stderr)
    v, _ = eventually(lambda: (lambda x: x if (condition(x, "Ready") or {}).get("reason") == "ProfileReady" else None)(
        api.get(vivo_path("default", "sidecar"))), 15)
    d = api.get("/apis/apps/v1/namespaces/default/deployments/shop")
    ok(v and d, "its Vivo is Ready (ProfileReady) and its Deployment exists", ctl.tail)
    if not (v and d):
        return
    tmpl = d["spec"]["template"]
    st, p = api.req("POST", "/api/v1/namespaces/default/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "shop-", "labels": tmpl["metadata"]["labels"]},
        "spec": tmpl["spec"]})
    side = sidecars(p)
    ok(st == 201 and side and side[0].get("restartPolicy") == "Always" and
       p["metadata"]["annotations"]["vivo.dev/injected"] == "sidecar@" + v["status"]["configHash"] and
       side[0].get("resources", {}).get("limits", {}).get("memory") == "64Mi" and
       env_of(p["spec"]["containers"][0]).get("OTEL_EXPORTER_OTLP_ENDPOINT") == "http://localhost:4318",
       "a pod made from the example's template gets Vivo sidecar's agent (its resources) and the OTLP endpoint",
       json.dumps(p)[:2000])
    c.kubectl("delete", "-f", ex, "--wait=false", check=False)
    if p and st == 201:
        api.delete("/api/v1/namespaces/default/pods/" + p["metadata"]["name"])


def test_down(c, ctl):
    """Acceptance 3: a stopped (or hung) controller never blocks a pod; back up, it lists them."""
    api = c.api
    ctl.signal(signal.SIGSTOP)
    t0 = time.monotonic()
    st, p = api.req("POST", pods_path(), pod("while-hung"), timeout=30)
    hung = time.monotonic() - t0
    ctl.signal(signal.SIGCONT)
    ok(st == 201 and not sidecars(p) and 4.0 <= hung < 8.0,
       "controller hung (SIGSTOP): a labelled pod is admitted without the sidecar after the 5 s timeout (%.2f s)" %
       hung, json.dumps(p)[:500])
    rc = ctl.stop()
    ok(rc == 0, "controller stopped (%s)" % rc)
    t0 = time.monotonic()
    st, p = api.req("POST", pods_path(), pod("while-down"))
    down = time.monotonic() - t0
    ok(st == 201 and not sidecars(p) and down < 5.0,
       "controller stopped: a labelled pod is admitted at once without the sidecar (%.2f s)" % down)
    ctl2 = start("back")
    v = vivo_status(api, "prof", lambda x: (condition(x, "Injected") or {}).get("reason") == "PodsNeedRestart", 20)
    cond = condition(v, "Injected") or {}
    ok(v and cond.get("status") == "False" and "while-down" in cond.get("message", "") and
       "while-hung" in cond.get("message", "") and v["status"].get("podsNeedRestart") == 2,
       "after it is back: Injected=False, reason PodsNeedRestart, naming both pods, podsNeedRestart 2",
       lambda: json.dumps((api.get(vivo_path(NS, "prof")) or {}).get("status")) + "\n" + ctl2.tail())
    note(cond.get("message", ""))
    for name in ("while-down", "while-hung"):
        api.delete(pods_path(name=name))
    v = vivo_status(api, "prof", lambda x: (condition(x, "Injected") or {}).get("status") == "True", 10)
    ok(v is not None, "the pods replaced (deleted here): Injected=True again")
    return ctl2


def test_shared_secret(c, audit):
    """Acceptance 4, first half: two replicas, one Secret."""
    api = c.api
    api.delete(SECRET)
    time.sleep(0.5)
    audit.mark()
    url_port = free_port()
    ctls = []
    try:
        for name, port in (("rep-a", url_port), ("rep-b", None)):
            ctls.append(start(name, ["--leader-elect"], env={"POD_NAME": name}, url_port=url_port, port=port))
        fps, _ = eventually(lambda: (lambda f: f if all(f) else None)([served_cert(x.wh_port) for x in ctls])
                            if secret_tls(api) else None, 20, 0.2)
        want = pem_fingerprint(secret_tls(api)) if secret_tls(api) else None
        ok(fps and fps[0] == fps[1] == want, "two replicas started together serve the same certificate, the one in "
           "Secret vivo-system/vivo-controller-webhook-tls", lambda: "%s %s\n%s\n%s" % (fps, want, ctls[0].tail(),
                                                                                       ctls[1].tail()))
        creates = [e for e in audit.writes(SA_USER) if e.get("verb") == "create" and
                   (e.get("objectRef") or {}).get("resource") == "secrets"]
        made = [e for e in creates if (e.get("responseStatus") or {}).get("code") == 201]
        ok(len(made) == 1, "the Secret was created once (%d create%s: %s)" % (
            len(creates), "" if len(creates) == 1 else "s",
            ", ".join(str((e.get("responseStatus") or {}).get("code")) for e in creates)), lambda: describe(creates))
        ok(wait_webhook(api, ctls[0]) is not None and pem_fingerprint(ca_bundle(api)) ==
           pem_fingerprint(base64.b64decode(api.get(SECRET)["data"]["ca.crt"]).decode()),
           "caBundle is the Secret's CA")
    finally:
        for x in ctls:
            rc = x.stop()
            ok(rc == 0, "%s exits 0 (%s)" % (x.name, rc))


def test_rotation(c):
    """Acceptance 4, second half: a short lifetime rotates CA and certificate, with no failed admission."""
    api = c.api
    api.delete(SECRET)
    ctl = start("rotate", env={"VIVO_CONTROLLER_CERT_LIFETIME": "40"})
    try:
        wait_webhook(api, ctl)
        first_ca = ca_bundle(api)
        seen_certs, bundles, made, failed_pods = [], [], 0, []
        deadline = time.monotonic() + 52
        while time.monotonic() < deadline and made < 400:
            name = "rot-%d" % made
            st, p = api.req("POST", pods_path(), pod(name, extra_labels={"rot": "1"}))
            made += 1
            if st != 201 or len(sidecars(p)) != 1:
                failed_pods.append("%s: %s %s" % (name, st, "no sidecar" if st == 201 else p))
            fp = served_cert(ctl.wh_port)
            if fp and (not seen_certs or seen_certs[-1] != fp):
                seen_certs.append(fp)
            b = ca_bundle(api)
            n = b.count("BEGIN CERTIFICATE")
            if not bundles or bundles[-1][1] != b:
                bundles.append((n, b))
            time.sleep(0.1)
        note("%d pods created during rotation; served certificates %d; caBundle had %s CAs in turn" % (
            made, len(seen_certs), [n for n, _ in bundles]))
        ok(not failed_pods, "no failed admission: all %d pods created during the rotation got the sidecar" % made,
           "\n".join(failed_pods[:20]))
        ok(len(seen_certs) >= 2, "the served certificate changed (%d seen)" % len(seen_certs), ctl.tail)
        counts = [n for n, _ in bundles]
        ok(counts[:3] == [1, 2, 1] and pem_fingerprint(bundles[-1][1]) != pem_fingerprint(first_ca),
           "caBundle went from the old CA, to old + new, to the new CA alone (%s)" % counts, ctl.tail)
        for stage in ("rotation_prepared", "rotation_switched", "rotation_done"):
            ok(ctl.metric("vivo_controller_webhook_certificate_events_total", event=stage) >= 1,
               "certificate event %s counted" % stage)
        ok(ctl.alive(), "without a restart")
    finally:
        clean_pods(api, "rot=1")
        rc = ctl.stop()
    ok(rc == 0, "clean exit (%s)" % rc)


def test_cert_dir(c, tmp):
    """--webhook-cert-dir: certificates someone else makes, re-read on change (and caBundle from ca.crt)."""
    api = c.api
    d, certs = os.path.join(tmp, "byo"), os.path.join(tmp, "byo-certs")
    os.makedirs(d)
    os.makedirs(certs)
    make_ca(d, "ca1")
    make_leaf(d, "ca1", certs)
    ctl = start("certdir", ["--webhook-cert-dir", certs])
    try:
        wait_webhook(api, ctl)
        with open(os.path.join(certs, "tls.crt")) as f:
            first = pem_fingerprint(f.read())
        ok(served_cert(ctl.wh_port) == first and pem_fingerprint(ca_bundle(api)) ==
           pem_fingerprint(open(os.path.join(d, "ca1.crt")).read()),
           "it serves DIR/tls.crt, and caBundle is DIR/ca.crt")
        make_ca(d, "ca2")
        make_leaf(d, "ca2", certs)
        with open(os.path.join(certs, "tls.crt")) as f:
            second = pem_fingerprint(f.read())
        v, took = eventually(lambda: served_cert(ctl.wh_port) == second and
                             pem_fingerprint(ca_bundle(api)) == pem_fingerprint(open(os.path.join(d, "ca2.crt")).read()),
                             30, 0.2)
        ok(v, "files replaced: the new certificate is served and caBundle follows (%.2f s), no restart" % took, ctl.tail)
        ok(wait_webhook(api, ctl, 15), "and pods are injected with it")
    finally:
        rc = ctl.stop()
    ok(rc == 0, "clean exit (%s)" % rc)


def test_old_server(c):
    """The < 1.29 path, on this server, through the test hook: an ordinary container, and the status says so."""
    api = c.api
    ctl = start("old", env={"VIVO_CONTROLLER_SERVER_VERSION": "v1.28.9"})
    try:
        wait_webhook(api, ctl)
        st, p = api.req("POST", pods_path(), pod("old-server"))
        ok(st == 201 and "initContainers" not in p["spec"] and p["spec"]["containers"][-1]["name"] == "vivo-agent" and
           "restartPolicy" not in p["spec"]["containers"][-1],
           "API server 1.28: the agent is an ordinary (last) container", json.dumps(p["spec"])[:1500])
        v = vivo_status(api, "prof", lambda x: x["status"].get("sidecarType") == "Container", 15)
        ok(v and "no native sidecars" in condition(v, "Ready")["message"],
           "status.sidecarType Container, and Ready's message says why (%s)" % (condition(v, "Ready") or {}).get(
               "message"), ctl.tail)
    finally:
        rc = ctl.stop()
    ok(rc == 0, "clean exit (%s)" % rc)


def main():
    global KC
    c = Cluster(sys.argv[1])
    if not Controller.binary or not os.access(Controller.binary, os.X_OK):
        print("Bail out! VIVO_CONTROLLER is not an executable controller binary")
        return 1
    if not shutil.which("openssl"):
        print("Bail out! openssl (the CLI, scripts/deps.sh test) is needed for the bring-your-own certificates")
        return 1
    audit = Audit(c.env["AUDIT_LOG"])
    audit.mark()
    setup(c)
    KC = c.user(SA_USER)
    tmp = tempfile.mkdtemp(prefix="vivo-webhook-test-")
    # The double's own certificate (self-signed for 127.0.0.1).
    make_dir = os.path.join(tmp, "double")
    os.makedirs(make_dir)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
            os.path.join(make_dir, "k.pem"), "-out", os.path.join(make_dir, "c.pem"))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Double)
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(os.path.join(make_dir, "c.pem"), os.path.join(make_dir, "k.pem"))
    srv.socket = sctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    ctl = None
    try:
        ctl = start("main")
        c.apply(vivo("prof", NS, {"mode": "Sidecar"}))
        if wait_webhook(c.api, ctl):
            test_inject(c, ctl)
            test_warnings(c, ctl)
            test_idempotent(c, ctl, srv.server_address[1], open(os.path.join(make_dir, "c.pem")).read())
            test_offline(c, ctl, tmp)
            test_agent_runs(c, tmp)
            test_stale_and_switch(c, ctl)
            test_example(c, ctl)
            ctl = test_down(c, ctl)
        rc = ctl.stop()
        ok(rc == 0, "clean exit (%s)" % rc, ctl.tail)
        ctl = None
        test_shared_secret(c, audit)
        test_rotation(c)
        test_cert_dir(c, tmp)
        test_old_server(c)
        forbidden = [e for e in audit.events(SA_USER) if (e.get("responseStatus") or {}).get("code") == 403]
        ok(not forbidden, "rbac.yaml was enough: no 403 for the controller", lambda: describe(forbidden))
    finally:
        if ctl:
            ctl.stop()
        srv.shutdown()
        c.api.delete(MWC)
        c.api.req("DELETE", "/api/v1/namespaces/" + NS)
        if os.environ.get("KEEP"):
            note("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
