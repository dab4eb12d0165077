#!/usr/bin/env python3
# test_fleet.py: one view over many agents on Kubernetes (issue 11 point 6, acceptance 4): the aggregator and peers objects on a real kube-apiserver, and the rendered configs running in vivo-agent.
#
# The objects: a Sidecar-mode Vivo renders the aggregator Deployment, its Service and the
# headless Service <name>-pods; a replicas: 3 Vivo renders <name>-peers and the follow config;
# the real EndpointSlice controller (kube-controller-manager) shows what each headless
# Service selects. Mode switches, scale-downs and deletions remove what is no longer rendered.
#
# The configs: the ConfigMap and the container args stored on the API server start the built
# vivo-agent. A headless Service answers one address per pod on the same port, so the test
# gives each "pod" its own loopback address (127.0.0.2-4, the same ephemeral port) and points
# the rendered DNS name at them with the follower's test resolver (VIVO_FOLLOW_HOSTS_FILE,
# docs/fleet.md); records sent to each pod then flow to the aggregator, and around the mesh.
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctllib import (AGENT, MWC, SA_USER, Audit, Cluster, Controller, cm_path, condition, deploy_path, describe,
                    done, eventually, free_port, make_available, note, ok, svc_path, terminate, vivo, vivo_path)

NS = "fleet"
NODE = "fleet-node"
# Every listener on the pod's address with an ephemeral port, except the exporter: its port
# is the rendered one, the port the followed DNS names carry.
POD_FLAGS = ["--ui-port", "0", "--http-port", "0", "--ops-port", "0", "--forward-port", "0", "--otlp-port", "0"]
LISTEN_RE = re.compile(r"listening (\w+) on ([0-9.]+):(\d+)")
ADDRS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]


def pods_path(name=None):
    return "/api/v1/namespaces/%s/pods%s" % (NS, "/" + name if name else "")


def slices(api, service):
    """The addresses the EndpointSlice controller publishes for a Service: {ip: (ready, terminating)}."""
    lst = api.get("/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?labelSelector=kubernetes.io/service-name%%3D%s"
                  % (NS, service)) or {}
    out = {}
    for s in lst.get("items", []):
        for e in s.get("endpoints") or []:
            for a in e.get("addresses", []):
                cond = e.get("conditions") or {}
                out[a] = (cond.get("ready"), cond.get("terminating", False))
    return out


def owned_by(obj, v):
    refs = (obj or {}).get("metadata", {}).get("ownerReferences", [])
    return (len(refs) == 1 and refs[0].get("uid") == v["metadata"]["uid"] and refs[0].get("kind") == "Vivo" and
            refs[0].get("controller") is True and refs[0].get("blockOwnerDeletion") is True)


def pick_port():
    """An ephemeral port free on all three pod addresses."""
    for _ in range(50):
        s = socket.socket()
        s.bind((ADDRS[0], 0))
        port = s.getsockname()[1]
        s.close()
        try:
            for a in ADDRS[1:] + ["127.0.0.1"]:
                t = socket.socket()
                t.bind((a, port))
                t.close()
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on %s" % ADDRS)


def render(v):
    """vivo-controller --render of a Vivo object (as the API server stores it)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="vivo-fleet-") as f:
        json.dump(v, f)
        f.flush()
        return subprocess.run([Controller.binary, "--render", f.name], capture_output=True, text=True, timeout=30)


def webhook_up(api):
    """The API server calls the controller's webhook: a dry-run pod comes back injected."""
    st, p = api.req("POST", pods_path() + "?dryRun=All", {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "probe-%d" % int(time.monotonic() * 1000), "labels": {"vivo.dev/inject": "agg"}},
        "spec": {"containers": [{"name": "app", "image": "x"}]}})
    return st == 201 and any(x["name"] == "vivo-agent" for x in p["spec"].get("initContainers", []))


def give_ip(api, name, ip, ready=False):
    """Play the kubelet: the pod runs on NODE with this IP (and is or is not Ready)."""
    st = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "10.0.0.1",
          "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    return api.merge_patch(pods_path(name) + "/status", {"status": st})


def pod_from_template(api, d, name, ip, ready=True):
    """Play the ReplicaSet controller: a pod from the Deployment's template, on NODE with an IP."""
    tmpl = d["spec"]["template"]
    spec = dict(tmpl["spec"], nodeName=NODE)
    st, p = api.req("POST", pods_path(), {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": name, "labels": tmpl["metadata"]["labels"]}, "spec": spec})
    if st == 201:
        give_ip(api, name, ip, ready)
    return st


# ---- agents running the rendered configs ---------------------------------------------------

class PodAgent:
    """vivo-agent as a container of a rendered pod: its args (the mount path replaced by a folder
    holding the ConfigMap's data), its downward-API env, every listener on `addr`."""

    def __init__(self, tmp, name, container, cm, addr, extra=(), hosts=None):
        self.name, self.addr = name, addr
        self.dir = os.path.join(tmp, name)
        mount = os.path.join(self.dir, "config")
        os.makedirs(mount)
        for k, v in cm["data"].items():
            with open(os.path.join(mount, k), "w") as f:
                f.write(v)
        path = container["volumeMounts"][0]["mountPath"]
        self.args = list(container["args"])
        args = [a.replace(path, mount) for a in container["args"]]
        fields = {"metadata.name": name, "metadata.namespace": NS, "spec.nodeName": NODE}
        env = {"PATH": os.environ.get("PATH", ""), "ASAN_OPTIONS": "detect_leaks=1"}
        for e in container.get("env", []):
            ref = (e.get("valueFrom") or {}).get("fieldRef", {}).get("fieldPath")
            env[e["name"]] = fields[ref] if ref else e.get("value", "")
        if hosts:
            env["VIVO_FOLLOW_HOSTS_FILE"] = hosts
        self.log_path = os.path.join(self.dir, "agent.log")
        self.logf = open(self.log_path, "w+")
        self.proc = subprocess.Popen([AGENT] + args + ["--listen", addr] + POD_FLAGS + list(extra), stdout=self.logf,
                                     stderr=self.logf, stdin=subprocess.DEVNULL, env=env)
        self.ports, _ = eventually(lambda: (lambda p: p if {"http", "exporter", "ops"} <= set(p) and "ready" in
                                            self.log() else None)(self._ports()), 15)
        if not self.ports:
            log = self.log()
            self.stop()
            raise RuntimeError("%s did not start: %s" % (name, log[-2000:]))

    def _ports(self):
        return {m.group(1): int(m.group(3)) for m in LISTEN_RE.finditer(self.log())}

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def url(self, which, path):
        return "http://%s:%d%s" % (self.addr, self.ports[which], path)

    def post(self, tag, obj):
        req = urllib.request.Request(self.url("http", "/" + tag), data=json.dumps(obj).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status

    def chunks(self):
        with urllib.request.urlopen(self.url("exporter", "/api/v1/logs"), timeout=10) as r:
            return [json.loads(line) for line in r.read().decode().splitlines() if line]

    def records(self):
        """[(source pod or "local", record body)] in this agent's order."""
        return [((c.get("source") or {}).get("pod", "local"), r[1]) for c in self.chunks() for r in c["records"]]

    def info(self):
        with urllib.request.urlopen(self.url("exporter", "/api/v1/info"), timeout=10) as r:
            return json.loads(r.read())

    def stop(self):
        rc = terminate(self.proc, 15)
        self.logf.close()
        return rc


def hosts_file(tmp, name, addrs):
    """The follower's test resolver: `name` answers every address (as a headless Service does)."""
    path = os.path.join(tmp, "hosts-" + name.split(".")[0])
    with open(path, "w") as f:
        f.write("# %s: one line per pod, as the headless Service's DNS answers\n" % name)
        for a in addrs:
            f.write("%s %s\n" % (a, name))
    return path


def follow_targets(yaml_text):
    return re.findall(r'^\s+- "(dns:[^"]+)"$', yaml_text, re.M)


def stop_all(agents):
    rcs = {}
    for a in agents:
        rcs[a.name] = a.stop()
    return rcs


# ---- the objects -----------------------------------------------------------------------------

def test_schema(c):
    """The CRD refuses names the headless Services could not take, and a bad aggregator budget."""
    cases = [("s" * 59, {"mode": "Sidecar"}, "at most 58 characters"),
             ("r" * 58, {"replicas": 2}, "at most 57 characters"),
             ("badagg", {"mode": "Sidecar", "aggregator": {"streamQueueSize": "lots"}}, "spec.aggregator.streamQueueSize")]
    for name, spec, want in cases:
        r = c.kubectl("apply", "--dry-run=server", "-f", "-", check=False, input=json.dumps(vivo(name, NS, spec)))
        ok(r.returncode != 0 and want in r.stderr, "the schema refuses %s with a %d-character name: %s" % (
            json.dumps(spec), len(name), want), r.stderr)
    r = c.kubectl("apply", "--dry-run=server", "-f", "-", check=False,
                  input=json.dumps(vivo("s" * 58, NS, {"mode": "Sidecar", "replicas": 1})))
    ok(r.returncode == 0, "a 58-character Sidecar-mode name is fine", r.stderr)


def test_sidecar_objects(c, ctl, port):
    """Acceptance 4, first part: the aggregator Deployment, Service and headless Service."""
    api = c.api
    c.apply(vivo("agg", NS, {"mode": "Sidecar", "streamQueueSize": "5M", "service": {"ports": {"exporter": port}},
                             "aggregator": {"streamQueueSize": "30M"}}))
    objs, took = eventually(lambda: (lambda o: o if all(o) else None)(
        [api.get(cm_path(NS, "agg-config")), api.get(deploy_path(NS, "agg")), api.get(svc_path(NS, "agg")),
         api.get(svc_path(NS, "agg-pods"))]), 15)
    ok(objs, "Sidecar-mode Vivo agg: ConfigMap agg-config, Deployment agg, Service agg, Service agg-pods (%.2f s)" % took,
       ctl.tail)
    if not objs:
        return None
    cm, d, svc, pods = objs
    v = api.get(vivo_path(NS, "agg"))
    ok(all(owned_by(o, v) for o in objs), "all four have one controller ownerReference to the Vivo (blockOwnerDeletion)")
    ok(pods["spec"].get("clusterIP") == "None" and pods["spec"].get("publishNotReadyAddresses") is True and
       pods["spec"].get("selector") == {"vivo.dev/sidecar": "agg"} and
       [(p["name"], p["port"], p["targetPort"]) for p in pods["spec"]["ports"]] == [("exporter", port, port)],
       "agg-pods: headless, publishNotReadyAddresses, selects vivo.dev/sidecar=agg, the exporter port %d" % port,
       json.dumps(pods["spec"]))
    ok(svc["spec"]["type"] == "ClusterIP" and svc["spec"].get("clusterIP") not in (None, "None") and
       sorted(p["name"] for p in svc["spec"]["ports"]) == ["exporter", "forward", "http", "otlp", "otlp-grpc", "ui"] and
       svc["spec"]["selector"] == d["spec"]["selector"]["matchLabels"],
       "Service agg: every port, in front of the aggregator's pods", json.dumps(svc["spec"]))
    agent = d["spec"]["template"]["spec"]["containers"][0]
    agg_yaml = cm["data"].get("vivo-aggregator.yaml", "")
    ok(agent["args"] == ["--config", "/etc/vivo/vivo-aggregator.yaml"] and
       follow_targets(agg_yaml) == ["dns:agg-pods.%s.svc.cluster.local:%d" % (NS, port)] and
       'stream_queue_size: "30M"' in agg_yaml and 'stream_queue_size: "5M"' in cm["data"]["vivo-agent.yaml"] and
       "follow" not in cm["data"]["vivo-agent.yaml"],
       "the aggregator runs vivo-aggregator.yaml, following dns:agg-pods.%s.svc.cluster.local:%d with its own "
       "30M streams; the sidecars' vivo-agent.yaml (5M) follows nothing" % (NS, port), agg_yaml)
    r = render(v)
    out = json.loads(r.stdout) if r.returncode == 0 else {}
    ok([(i["kind"], i["metadata"]["name"]) for i in out.get("items", [])] ==
       [("ConfigMap", "agg-config"), ("Deployment", "agg"), ("Service", "agg"), ("Service", "agg-pods")] and
       out["items"][0]["data"] == cm["data"] and out["items"][3]["spec"] == {
           k: pods["spec"][k] for k in out["items"][3]["spec"]},
       "vivo-controller --render lists the same four objects, with the ConfigMap the controller applied", r.stderr)

    # Status: the aggregator's endpoints and readiness; Ready stays the webhook's.
    v = eventually(lambda: (lambda x: x if (condition(x, "AggregatorReady") or {}).get("reason") ==
                            "ReplicasUnavailable" else None)(api.get(vivo_path(NS, "agg"))), 10)[0]
    ok(v and v["status"].get("endpoints", {}).get("ui") == "http://agg.%s.svc:8000" % NS and
       v["status"]["endpoints"].get("exporter") == "http://agg.%s.svc:%d" % (NS, port) and
       condition(v, "Ready")["reason"] == "ProfileReady",
       "status: the aggregator's endpoints, AggregatorReady False (ReplicasUnavailable) while no pod runs, "
       "Ready ProfileReady", lambda: json.dumps((api.get(vivo_path(NS, "agg")) or {}).get("status")))
    make_available(api, NS, "agg")
    v = eventually(lambda: (lambda x: x if (condition(x, "AggregatorReady") or {}).get("status") == "True" and
                            (condition(x, "Progressing") or {}).get("reason") == "Complete" else None)(
        api.get(vivo_path(NS, "agg"))), 10)[0]
    ok(v is not None, "the aggregator available: AggregatorReady True, Progressing Complete (%s)" %
       (condition(v, "AggregatorReady") or {}).get("message"), ctl.tail)
    r = c.kubectl("-n", NS, "get", "vivo", "agg", "--no-headers")
    ok("http://agg.%s.svc:8000" % NS in r.stdout and "Sidecar" in r.stdout, "kubectl get vivo shows the aggregator's "
       "endpoint: %s" % r.stdout.strip(), r.stdout)
    return d


def test_sidecar_selection(c, ctl, d):
    """What agg-pods and agg select, as the real EndpointSlice controller publishes it."""
    api = c.api
    made = []
    for i, ready in ((1, False), (2, True)):
        name = "web-%d" % i
        st, p = api.req("POST", pods_path(), {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": name, "labels": {"vivo.dev/inject": "agg", "app": "web"}, "finalizers": ["test.vivo.dev/hold"]},
            "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": "registry.example/web:1"}]}})
        made.append(name)
        ok(st == 201 and (p["metadata"].get("labels") or {}).get("vivo.dev/sidecar") == "agg",
           "%s is injected and labelled vivo.dev/sidecar=agg by the webhook" % name, json.dumps(p)[:800])
        give_ip(api, name, "10.77.0.%d" % i, ready)
    api.req("POST", pods_path(), {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain", "labels": {"app": "web"}},
                                  "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": "x"}]}})
    made.append("plain")
    give_ip(api, "plain", "10.77.0.9", True)
    st = pod_from_template(api, d, "agg-abc12", "10.77.0.20")
    made.append("agg-abc12")
    want = {"10.77.0.1": (True, False), "10.77.0.2": (True, False)}
    got, took = eventually(lambda: (lambda s: s if s == want else None)(slices(api, "agg-pods")), 20, 0.2)
    ok(got, "agg-pods publishes both injected pods, the not-Ready one as ready too (publishNotReadyAddresses), and "
       "neither the plain pod nor the aggregator's (%.2f s)" % took, lambda: json.dumps(slices(api, "agg-pods")))
    got, _ = eventually(lambda: (lambda s: s if s == {"10.77.0.20": (True, False)} else None)(slices(api, "agg")), 20, 0.2)
    ok(st == 201 and got, "Service agg: the aggregator's pod only", lambda: json.dumps(slices(api, "agg")))
    api.delete(pods_path("web-1"))
    got, took = eventually(lambda: (lambda s: s if s.get("10.77.0.1") == (True, True) else None)(
        slices(api, "agg-pods")), 20, 0.2)
    ok(got, "a pod shutting down stays in agg-pods, marked terminating (its sidecar still holds records) (%.2f s)" % took,
       lambda: json.dumps(slices(api, "agg-pods")))
    return made


def test_peers_objects(c, ctl, port):
    """Acceptance 4, second part: replicas 3 renders the peers Service and the follow config."""
    api = c.api
    c.apply(vivo("mesh", NS, {"replicas": 3, "service": {"ports": {"exporter": port}}}))
    objs, took = eventually(lambda: (lambda o: o if all(o) else None)(
        [api.get(cm_path(NS, "mesh-config")), api.get(deploy_path(NS, "mesh")), api.get(svc_path(NS, "mesh")),
         api.get(svc_path(NS, "mesh-peers"))]), 15)
    ok(objs, "replicas: 3 Vivo mesh: ConfigMap, Deployment, Service and Service mesh-peers (%.2f s)" % took, ctl.tail)
    if not objs:
        return None
    cm, d, svc, peers = objs
    v = api.get(vivo_path(NS, "mesh"))
    ok(all(owned_by(o, v) for o in objs) and api.get(svc_path(NS, "mesh-pods")) is None,
       "all owned by the Vivo; no mesh-pods in Deployment mode")
    ok(peers["spec"].get("clusterIP") == "None" and peers["spec"].get("publishNotReadyAddresses") is True and
       peers["spec"]["selector"] == d["spec"]["selector"]["matchLabels"] and
       [(p["name"], p["port"]) for p in peers["spec"]["ports"]] == [("exporter", port)] and d["spec"]["replicas"] == 3,
       "mesh-peers: headless, selects the Deployment's own pods, exporter port %d" % port, json.dumps(peers["spec"]))
    yaml_text = cm["data"]["vivo-agent.yaml"]
    note("mesh's vivo-agent.yaml:\n" + yaml_text)
    ok(follow_targets(yaml_text) == ["dns:mesh-peers.%s.svc.cluster.local:%d" % (NS, port)] and
       d["spec"]["template"]["spec"]["containers"][0]["args"] == ["--config", "/etc/vivo/vivo-agent.yaml"],
       "every replica's config follows dns:mesh-peers.%s.svc.cluster.local:%d" % (NS, port), yaml_text)
    for i in range(3):
        pod_from_template(api, d, "mesh-%d" % i, "10.78.0.%d" % (i + 1), ready=(i != 2))
    want = {"10.78.0.%d" % (i + 1): (True, False) for i in range(3)}
    got, took = eventually(lambda: (lambda s: s if s == want else None)(slices(api, "mesh-peers")), 20, 0.2)
    ok(got, "mesh-peers publishes the three replicas (one not Ready) (%.2f s)" % took,
       lambda: json.dumps(slices(api, "mesh-peers")))
    return d


# ---- the configs, running --------------------------------------------------------------------

def test_aggregator_runs(c, tmp, port):
    """The stored sidecar and aggregator run: records sent to each pod reach the aggregator once, with the pod."""
    api = c.api
    cm = api.get(cm_path(NS, "agg-config"))
    d = api.get(deploy_path(NS, "agg"))
    side = [x for x in api.get(pods_path("web-2"))["spec"]["initContainers"] if x["name"] == "vivo-agent"][0]
    hosts = hosts_file(tmp, "agg-pods.%s.svc.cluster.local" % NS, ADDRS)
    agents = []
    try:
        pods = []
        for i, a in enumerate(ADDRS):
            pods.append(PodAgent(tmp, "web-%d" % (i + 1), side, cm, a))
            agents.append(pods[-1])
        ok(all(p.ports["exporter"] == port for p in pods),
           "three pods run the injected sidecar's args (%s) and vivo-agent.yaml: exporter on %s, port %d" % (
               " ".join(side["args"]), ", ".join(ADDRS), port))
        agg = PodAgent(tmp, "agg-abc12", d["spec"]["template"]["spec"]["containers"][0], cm, "127.0.0.1",
                       extra=["--exporter-port", "0"], hosts=hosts)
        agents.append(agg)
        ok("following 0 upstreams and 1 dns: target" in agg.log(),
           "the aggregator runs the Deployment's args (%s): one dns: target" % " ".join(agg.args), agg.log)
        sent = []
        for i in range(4):
            for p in pods:
                body = {"n": i, "from": p.name}
                if p.post("app.log", body) != 201:
                    raise RuntimeError("post to %s failed" % p.name)
                sent.append((p.name, body))
        agg.post("direct", {"n": 99, "from": "aggregator"})

        def converged():
            r = agg.records()
            return r if len(r) >= len(sent) + 1 else None
        got, took = eventually(converged, 20, 0.1)
        time.sleep(0.5)  # nothing more may arrive
        got = agg.records()
        followed = [x for x in got if x[0] != "local"]
        ok(sorted(followed, key=lambda x: (x[0], x[1]["n"])) == sorted(sent, key=lambda x: (x[0], x[1]["n"])) and
           len(followed) == len(sent),
           "each of the %d records sent to the three pods is on the aggregator exactly once, with its pod (%.2f s)" % (
               len(sent), took), lambda: json.dumps(got))
        ok(all([b["n"] for s, b in followed if s == p.name] == list(range(4)) for p in pods),
           "in each pod's order")
        ok([b for s, b in got if s == "local"] == [{"n": 99, "from": "aggregator"}],
           "a record sent to Service agg itself is the aggregator's own (no source)")
        chunk = [x for x in agg.chunks() if x.get("source")][0]
        src = chunk["source"]
        ok(src.get("namespace") == NS and src.get("node") == NODE and re.match(r"127\.0\.0\.[234]:%d$" % port,
                                                                            src.get("instance", "")),
           "the source names pod, namespace, node and the address dialled: %s" % json.dumps(src))
        srcs = agg.info().get("sources", [])
        ok(sorted(s.get("pod") for s in srcs) == ["web-1", "web-2", "web-3"] and
           all(s.get("state") == "following" and s.get("discovered_by", "").startswith("dns:agg-pods.") for s in srcs),
           "/api/v1/info: three upstreams, discovered through dns:agg-pods, following",
           lambda: json.dumps(srcs))
    finally:
        rcs = stop_all(agents)
    ok(rcs and all(rc == 0 for rc in rcs.values()), "every agent exits 0 on SIGTERM (%s)" % rcs)


def test_mesh_runs(c, tmp):
    """The stored replica config, in three agents following each other: each shows every record once."""
    api = c.api
    cm = api.get(cm_path(NS, "mesh-config"))
    d = api.get(deploy_path(NS, "mesh"))
    container = d["spec"]["template"]["spec"]["containers"][0]
    hosts = hosts_file(tmp, "mesh-peers.%s.svc.cluster.local" % NS, ADDRS)
    agents = []
    try:
        for i, a in enumerate(ADDRS):
            agents.append(PodAgent(tmp, "mesh-%d" % i, container, cm, a, hosts=hosts))
        sent = []
        for i in range(4):
            for a in agents:
                body = {"n": i, "from": a.name}
                a.post("app.log", body)
                sent.append((a.name, body))
        want = sorted(sent, key=lambda x: (x[0], x[1]["n"]))

        def view(a):
            return sorted([(a.name if s == "local" else s, b) for s, b in a.records()],
                          key=lambda x: (x[0], x[1]["n"]))
        got, took = eventually(lambda: all(len(a.records()) >= len(sent) for a in agents), 20, 0.1)
        time.sleep(1.0)  # several polls later: nothing goes round (origin=local)
        views = {a.name: view(a) for a in agents}
        ok(got and all(v == want for v in views.values()),
           "three replicas on the rendered config: each shows all %d records exactly once, its own and its peers' "
           "(%.2f s)" % (len(sent), took), lambda: json.dumps(views)[:3000])
        ok(all(sum(1 for s, _ in a.records() if s == "local") == 4 for a in agents),
           "each holds its own 4 as local and follows 8")
        states = {a.name: sorted(s.get("state") for s in a.info().get("sources", [])) for a in agents}
        ok(all(v == ["following", "following", "self"] for v in states.values()),
           "each follows its two peers and recognises itself in the answer (same boot_id): %s" % states)
    finally:
        rcs = stop_all(agents)
    ok(rcs and all(rc == 0 for rc in rcs.values()), "every replica exits 0 on SIGTERM (%s)" % rcs)


# ---- changes, switches and garbage collection ------------------------------------------------

def start_controller(kc, name):
    wh = free_port()
    return Controller(name, ["--webhook-listen", "127.0.0.1:%d" % wh, "--webhook-url",
                             "https://127.0.0.1:%d/mutate-pods" % wh], kubeconfig=kc)


def test_quiet(c, ctl, audit, kc):
    """Converged objects are not written again: by the running controller, nor by a new one (no hot loop,
    no rollout on restart)."""
    kinds = ("services", "deployments", "configmaps", "vivos")

    def writes():
        return [e for e in audit.writes(SA_USER) if (e.get("objectRef") or {}).get("resource") in kinds and
                (e.get("objectRef") or {}).get("namespace") == NS]
    time.sleep(1.0)
    audit.mark()
    time.sleep(3.0)
    ok(not writes(), "converged: the controller writes nothing more for agg and mesh in 3 s", lambda: describe(writes()))
    rc = ctl.stop()
    audit.mark()
    ctl = start_controller(kc, "fleet-2")
    ok(rc == 0 and eventually(ctl.ready, 15)[0], "the controller restarted", ctl.tail)
    time.sleep(3.0)
    applied = [line for line in ctl.log().splitlines() if "applied" in line and " %s/" % NS in line]
    ok(not writes() and not applied,
       "a restarted controller writes none of the aggregator's, the peers' or the headless Services' objects",
       lambda: describe(writes()) + "\n" + "\n".join(applied))
    return ctl


def test_switches(c, ctl):
    api = c.api
    # replicas 3 -> 1: mesh-peers goes, and the config is a single replica's again.
    svc_uid = api.get(svc_path(NS, "mesh-peers"))["metadata"]["uid"]
    api.merge_patch(vivo_path(NS, "mesh"), {"spec": {"replicas": 1}})
    gone, took = eventually(lambda: api.get(svc_path(NS, "mesh-peers")) is None and
                            "follow" not in api.get(cm_path(NS, "mesh-config"))["data"]["vivo-agent.yaml"], 15)
    v = api.get(vivo_path(NS, "mesh"))
    r = render(v)
    rendered = json.loads(r.stdout)["items"] if r.returncode == 0 else []
    ok(gone and len(rendered) == 3 and rendered[0]["data"] == api.get(cm_path(NS, "mesh-config"))["data"],
       "replicas 3 -> 1: mesh-peers deleted and the ConfigMap is what a one-replica Vivo renders (%.2f s)" % took,
       ctl.tail)
    ok("deleted services %s/mesh-peers" % NS in ctl.log(), "the controller logged why it deleted it",
       lambda: ctl.tail(20))
    api.merge_patch(vivo_path(NS, "mesh"), {"spec": {"replicas": 2}})
    back, took = eventually(lambda: api.get(svc_path(NS, "mesh-peers")), 15)
    ok(back and back["metadata"]["uid"] != svc_uid, "replicas 2: mesh-peers rendered again (%.2f s)" % took)

    # A hand-deleted headless Service is put back; a Service of that name not ours is never deleted.
    api.delete(svc_path(NS, "agg-pods"))
    back, took = eventually(lambda: api.get(svc_path(NS, "agg-pods")), 15)
    ok(back, "a deleted agg-pods is put back (%.2f s)" % took, ctl.tail)
    api.req("POST", "/api/v1/namespaces/%s/services" % NS, {"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "other-peers", "labels": {"app.kubernetes.io/managed-by": "vivo-controller"}},
        "spec": {"clusterIP": "None", "selector": {"app": "other"}, "ports": [{"port": 1}]}})
    c.apply(vivo("other", NS, {}))
    eventually(lambda: api.get(deploy_path(NS, "other")), 10)
    time.sleep(1.0)
    ok(api.get(svc_path(NS, "other-peers")) is not None,
       "a one-replica Vivo leaves alone a Service named like its peers that it does not own")

    # Sidecar -> Deployment: agg-pods goes; the same Deployment and Service run the agent again.
    dep_uid = api.get(deploy_path(NS, "agg"))["metadata"]["uid"]
    api.merge_patch(vivo_path(NS, "agg"), {"spec": {"mode": "Deployment"}})

    def deployment_mode():
        d, cm = api.get(deploy_path(NS, "agg")), api.get(cm_path(NS, "agg-config"))
        return (api.get(svc_path(NS, "agg-pods")) is None and d and
                d["spec"]["template"]["spec"]["containers"][0]["args"] == ["--config", "/etc/vivo/vivo-agent.yaml"] and
                sorted(cm["data"]) == ["vivo-agent.yaml"] and d)
    d, took = eventually(deployment_mode, 15)
    v = api.get(vivo_path(NS, "agg"))
    ok(d and d["metadata"]["uid"] == dep_uid and condition(v, "AggregatorReady") is None,
       "Sidecar -> Deployment: agg-pods deleted, vivo-aggregator.yaml gone from the ConfigMap, the same Deployment "
       "runs vivo-agent.yaml, no AggregatorReady condition (%.2f s)" % took, ctl.tail)

    # Deployment -> Sidecar with 2 replicas: both headless Services, two aggregators following each other too.
    api.merge_patch(vivo_path(NS, "agg"), {"spec": {"mode": "Sidecar", "replicas": 2}})
    both, took = eventually(lambda: api.get(svc_path(NS, "agg-pods")) and api.get(svc_path(NS, "agg-peers")) and
                            len(follow_targets(api.get(cm_path(NS, "agg-config"))["data"].get(
                                "vivo-aggregator.yaml", ""))) == 2, 15)
    ok(both and api.get(deploy_path(NS, "agg"))["metadata"]["uid"] == dep_uid,
       "back to Sidecar with replicas 2: agg-pods and agg-peers, the aggregators follow both, same Deployment "
       "(%.2f s)" % took, ctl.tail)

    # Deletion: the garbage collector removes everything through the ownerReferences. (It
    # maps the Vivo kind from its own discovery, refreshed every 30 s: on a cluster whose CRD
    # is seconds old, it retries with a growing backoff first.)
    for name in ("agg", "mesh", "other"):
        api.delete(vivo_path(NS, name))
    gone, took = eventually(lambda: all(api.get(p) is None for p in (
        svc_path(NS, "agg-pods"), svc_path(NS, "agg-peers"), svc_path(NS, "mesh-peers"), deploy_path(NS, "agg"),
        svc_path(NS, "agg"), cm_path(NS, "agg-config"), deploy_path(NS, "mesh"))), 120, 0.5)
    ok(gone, "the Vivos deleted: the garbage collector removes the Deployments, Services and headless Services "
       "(%.2f s)" % took)


def main():
    c = Cluster(sys.argv[1])
    if not Controller.binary or not os.access(Controller.binary, os.X_OK):
        print("Bail out! VIVO_CONTROLLER is not an executable controller binary")
        return 1
    if not os.access(AGENT, os.X_OK):
        print("Bail out! no vivo-agent at %s (set VIVO_AGENT)" % AGENT)
        return 1
    api = c.api
    audit = Audit(c.env["AUDIT_LOG"])
    audit.mark()
    c.install(("vivo-system", NS))
    api.req("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}})
    kc = c.user(SA_USER)
    tmp = tempfile.mkdtemp(prefix="vivo-fleet-test-")
    ctl = start_controller(kc, "fleet")
    made = []
    try:
        ok(eventually(ctl.ready, 15)[0], "the controller runs as the rbac.yaml identity, with its webhook", ctl.tail)
        test_schema(c)
        port_agg, port_mesh = pick_port(), pick_port()
        note("pod addresses %s; exporter ports: agg %d, mesh %d" % (", ".join(ADDRS), port_agg, port_mesh))
        d = test_sidecar_objects(c, ctl, port_agg)
        # The API server calls the webhook once the controller has registered it.
        up, took = eventually(lambda: webhook_up(api), 30, 0.2)
        ok(up, "the API server calls the controller's webhook (%.2f s)" % took, ctl.tail)
        if d and up:
            made += test_sidecar_selection(c, ctl, d)
            test_aggregator_runs(c, tmp, port_agg)
        if test_peers_objects(c, ctl, port_mesh):
            made += ["mesh-0", "mesh-1", "mesh-2"]
            test_mesh_runs(c, tmp)
        ctl = test_quiet(c, ctl, audit, kc)
        test_switches(c, ctl)
        forbidden = [e for e in audit.events(SA_USER) if (e.get("responseStatus") or {}).get("code") == 403]
        ok(not forbidden, "rbac.yaml was enough: no 403 for the controller", lambda: describe(forbidden))
    finally:
        rc = ctl.stop()
        # No kubelet confirms a bound pod's end: release and force-delete them.
        for name in made:
            api.merge_patch(pods_path(name), {"metadata": {"finalizers": None}})
            api.req("DELETE", pods_path(name), {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0})
        api.delete(MWC)
        api.req("DELETE", "/api/v1/namespaces/" + NS)
        api.delete("/api/v1/nodes/" + NODE)
        if os.environ.get("KEEP"):
            note("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    ok(rc == 0, "the controller exits 0 on SIGTERM (%s)" % rc)
    return done()


if __name__ == "__main__":
    sys.exit(main())
