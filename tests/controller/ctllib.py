# ctllib.py: helpers for vivo-controller tests against a real API server: TAP, an admin API client, controllers, audit counts.
import atexit
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "agent"))
from agentlib import free_port, terminate  # noqa: E402,F401  (the agent suites' helpers, re-exported for these tests)

# ---- TAP ---------------------------------------------------------------------------------

_n = 0
_failed = 0


def ok(cond, desc, diag=None):
    """One TAP line; diagnostics (a string or callable) are printed when it fails."""
    global _n, _failed
    _n += 1
    print("%sok %d - %s" % ("" if cond else "not ", _n, desc), flush=True)
    if not cond:
        _failed += 1
        if callable(diag):
            diag = diag()
        if diag:
            for line in str(diag).splitlines()[-40:]:
                print("#   " + line, flush=True)
    return bool(cond)


def skip(desc, why):
    global _n
    _n += 1
    print("ok %d - %s # SKIP %s" % (_n, desc, why), flush=True)


def note(msg):
    for line in str(msg).splitlines():
        print("# " + line, flush=True)


def done():
    print("1..%d" % _n, flush=True)
    return 1 if _failed else 0


def failed():
    return _failed


def eventually(pred, timeout, interval=0.05):
    """pred() until truthy or timeout seconds; returns (value, seconds taken)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        try:
            v = pred()
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            v = None
        if v:
            return v, time.monotonic() - t0
        if time.monotonic() >= deadline:
            return None, time.monotonic() - t0
        time.sleep(interval)


# ---- the cluster -------------------------------------------------------------------------

class Cluster:
    """The cluster started by tests/k8s/cluster.sh in `dir` (reads DIR/env)."""

    def __init__(self, d):
        self.dir = d
        self.env = {}
        self.reload()

    def reload(self):
        with open(os.path.join(self.dir, "env")) as f:
            for line in f:
                m = re.match(r"export (\w+)=(.*)$", line.strip())
                if m:
                    v = m.group(2)
                    if v.startswith("'") and v.endswith("'"):
                        v = v[1:-1]
                    self.env[m.group(1)] = v
        self.url = self.env["APISERVER_URL"]
        self.api = Api(self.url, self.env["CA_CERT"], self.env["ADMIN_CERT"], self.env["ADMIN_KEY"])

    def script(self, *args, env=None, timeout=120):
        e = dict(os.environ)
        e.update(env or {})
        r = subprocess.run([os.path.join(TOP, "tests", "k8s", "cluster.sh")] + list(args), capture_output=True,
                           text=True, env=e, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("cluster.sh %s: %s" % (" ".join(args), r.stderr[-2000:]))
        return r.stdout.strip()

    def user(self, name):
        return self.script("user", self.dir, name)

    def kubectl(self, *args, input=None, check=True, timeout=60):
        r = subprocess.run(["kubectl", "--kubeconfig", self.env["KUBECONFIG"], "--request-timeout=20s"] + list(args),
                           capture_output=True, text=True, input=input, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("kubectl %s: %s" % (" ".join(args), r.stderr))
        return r

    def install(self, namespaces):
        """Create `namespaces` (those there already are left), apply manifests/crd.yaml and
        rbac.yaml (an ok line each) and wait up to 30 s for the Vivo CRD to be Established."""
        for ns in namespaces:
            self.kubectl("create", "namespace", ns, check=False)
        for f in ("crd.yaml", "rbac.yaml"):
            r = self.kubectl("apply", "-f", os.path.join(TOP, "manifests", f), check=False)
            ok(r.returncode == 0, "manifests/%s applies" % f, r.stderr)
        self.kubectl("wait", "--for", "condition=Established", "crd/vivos.vivo.dev", "--timeout=30s", check=False)

    def apply(self, manifest):
        """kubectl apply -f - with a dict or YAML/JSON text."""
        if not isinstance(manifest, str):
            manifest = json.dumps(manifest)
        return self.kubectl("apply", "-f", "-", input=manifest)


class Api:
    """A small admin client: JSON in, (status, JSON) out; reconnects after errors."""

    def __init__(self, url, ca, cert, key):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.load_cert_chain(cert, key)
        self.conn = None

    def req(self, method, path, body=None, ctype="application/json", timeout=20):
        data = None if body is None else (body if isinstance(body, (bytes, str)) else json.dumps(body))
        if isinstance(data, str):
            data = data.encode()
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)
                headers = {"Accept": "application/json"}
                if data is not None:
                    headers["Content-Type"] = ctype
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                try:
                    obj = json.loads(raw) if raw else None
                except ValueError:
                    obj = raw.decode(errors="replace")
                return r.status, obj
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 1:
                    raise
        raise RuntimeError("unreachable")

    def get(self, path):
        st, obj = self.req("GET", path)
        return obj if st == 200 else None

    def merge_patch(self, path, patch):
        return self.req("PATCH", path, patch, "application/merge-patch+json")

    def delete(self, path):
        return self.req("DELETE", path)


def cm_path(ns, name):
    return "/api/v1/namespaces/%s/configmaps/%s" % (ns, name)


def deploy_path(ns, name):
    return "/apis/apps/v1/namespaces/%s/deployments/%s" % (ns, name)


def svc_path(ns, name):
    return "/api/v1/namespaces/%s/services/%s" % (ns, name)


def vivo_path(ns, name=None):
    p = "/apis/vivo.dev/v1alpha1/namespaces/%s/vivos" % ns
    return p + "/" + name if name else p


def vivo(name, ns="default", spec=None):
    return {"apiVersion": "vivo.dev/v1alpha1", "kind": "Vivo", "metadata": {"name": name, "namespace": ns},
            "spec": spec or {}}


def make_available(api, ns, name):
    """What a kubelet and the Deployment controller would report: every replica available."""
    d = api.get(deploy_path(ns, name))
    n = d["spec"].get("replicas", 1)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    st = {"observedGeneration": d["metadata"]["generation"], "replicas": n, "updatedReplicas": n,
          "readyReplicas": n, "availableReplicas": n,
          "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                          "message": "Deployment has minimum availability.", "lastUpdateTime": now,
                          "lastTransitionTime": now}]}
    return api.merge_patch(deploy_path(ns, name) + "/status", {"status": st})


def rendered_count(v):
    """How many objects a Vivo renders: ConfigMap, Deployment and Service, plus the headless
    <name>-pods in Sidecar mode and <name>-peers with replicas above 1 (docs/fleet.md)."""
    spec = v.get("spec") or {}
    return 3 + (spec.get("mode") == "Sidecar") + (spec.get("replicas", 1) > 1)


def condition(v, typ):
    for c in ((v or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == typ:
            return c
    return None


# ---- the controller under test -----------------------------------------------------------

LISTEN_RE = re.compile(r"listening (\w+) on [0-9a-f.:\[\]]+:(\d+)")
METRIC_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


class Controller:
    """A running vivo-controller with its own log; ports of health and metrics from the log."""

    binary = os.environ.get("VIVO_CONTROLLER") or ""

    def __init__(self, name, args=(), kubeconfig=None, env=None, wait=True, keep_env=False):
        self.name = name
        self.expected_rc = 0  # another exit code a test expects (its log is then not printed)
        self.tmp = tempfile.mkdtemp(prefix="vivo-ctl-%s-" % name)
        self.log_path = os.path.join(self.tmp, "controller.log")
        argv = [self.binary, "--metrics-addr", "127.0.0.1:0", "--health-addr", "127.0.0.1:0"]
        if not any(str(a).startswith("--webhook-listen") for a in args):
            argv += ["--webhook-listen", "0"]  # the webhook only where a test asks for it (never 0.0.0.0:9443)
        if kubeconfig:
            argv += ["--kubeconfig", kubeconfig]
        argv += list(args)
        e = dict(os.environ) if keep_env else {k: v for k, v in os.environ.items()
                                                 if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST",
                                                              "KUBERNETES_SERVICE_PORT")}
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        e.update(env or {})
        self.errf = open(self.log_path, "w+")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.errf, stderr=self.errf, env=e)
        except OSError:
            self.errf.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        _controllers.append(self)
        self.ports = {}
        if wait:
            self.wait_listening()

    def wait_listening(self, timeout=15):
        v, _ = eventually(lambda: self._scan() if len(self._scan()) >= 2 else None, timeout)
        if not v:
            raise RuntimeError("controller %s did not start: %s" % (self.name, self.log()[-3000:]))
        self.ports = v

    def _scan(self):
        return {m.group(1): int(m.group(2)) for m in LISTEN_RE.finditer(self.log())}

    def log(self):
        if self.errf.closed:
            return getattr(self, "log_cache", "")
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    def http(self, which, path, timeout=5):
        c = http.client.HTTPConnection("127.0.0.1", self.ports[which], timeout=timeout)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            c.close()

    def metrics(self):
        """{(name, labels-string): value}"""
        st, text = self.http("metrics", "/metrics")
        out = {}
        for line in text.splitlines():
            m = METRIC_RE.match(line)
            if m:
                out[(m.group(1), m.group(2) or "")] = float(m.group(3))
        return out

    def metric(self, name, **labels):
        """Sum of the series of `name` whose labels include `labels`."""
        total = 0.0
        for (n, l), v in self.metrics().items():
            if n != name:
                continue
            if all(('%s="%s"' % (k, val)) in l for k, val in labels.items()):
                total += v
        return total

    def writes(self):
        return self.metric("vivo_controller_api_writes_total")

    def ready(self):
        try:
            return self.http("health", "/readyz")[0] == 200
        except OSError:
            return False

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, timeout=20):
        """SIGTERM and wait; the exit code (None if it had to be killed). The folder with the
        log is removed (KEEP=1 keeps it); log() still answers."""
        rc = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._cleanup()
                return None
        rc = self.proc.returncode
        self._cleanup()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._cleanup()
        return self.proc.returncode

    def _cleanup(self):
        """Every path ends here (stop, kill, or the exit of the test process): the log is read
        into memory and the folder removed; after an exit code no test expected, the end of
        the log goes to the TAP output first."""
        if self.errf.closed:
            return
        self.log_cache = self.log()
        self.errf.close()
        rc = self.proc.returncode
        if rc not in (0, -9, self.expected_rc):
            print("# controller %s exited %s; the end of its log:" % (self.name, rc))
            for line in self.log_cache.splitlines()[-30:]:
                print("#   " + line)
            sys.stdout.flush()
        if os.environ.get("KEEP"):
            print("# KEEP: controller %s files kept in %s" % (self.name, self.tmp), flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


_controllers = []


@atexit.register
def _stop_controllers():
    """A test that raised before stopping its controller: kill it and remove its folder."""
    for ctl in _controllers:
        if ctl.proc.poll() is None:
            ctl.proc.kill()
            ctl.proc.wait()
        ctl._cleanup()


# The identity the controllers under test run as: the ServiceAccount that manifests/rbac.yaml
# binds, as a client certificate (RBAC matches ServiceAccount subjects by user name, so this
# user holds exactly rbac.yaml's rules and nothing else).
SA_USER = "system:serviceaccount:vivo-system:vivo-controller"
# The webhook configuration the controller registers with --webhook-url.
MWC = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/vivo-controller"
# The built agent beside the controller under test (build/.../controller/../agent).
AGENT = os.environ.get("VIVO_AGENT") or os.path.join(os.path.dirname(Controller.binary or "."), "..", "agent",
                                                     "vivo-agent")


class Audit:
    """Counts API writes in the audit log after a mark."""

    def __init__(self, path):
        self.path = path
        self.offset = 0

    def mark(self):
        self.offset = os.path.getsize(self.path) if os.path.exists(self.path) else 0

    def events(self, user=None):
        out = []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            for line in f:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if user and (ev.get("user") or {}).get("username") != user:
                    continue
                out.append(ev)
        return out

    def writes(self, user):
        return [e for e in self.events(user) if e.get("verb") in ("create", "update", "patch", "delete")]


def describe(evs):
    return "\n".join("%s %s %s" % (e.get("verb"), e.get("requestURI"), (e.get("responseStatus") or {}).get("code"))
                     for e in evs)


# ---- benchmarks ----------------------------------------------------------------------------

def proc_kb(pid, file, name):
    """The kB figure of the line that starts with `name` in /proc/<pid>/<file> (0 when absent or gone)."""
    try:
        with open("/proc/%d/%s" % (pid, file)) as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_memory(pid):
    """RSS, its peak, private (clean + dirty), PSS and anonymous memory of a process, in KB."""
    sm = lambda name: proc_kb(pid, "smaps_rollup", name)  # noqa: E731
    return {"rss_kb": proc_kb(pid, "status", "VmRSS:"), "hwm_kb": proc_kb(pid, "status", "VmHWM:"),
            "private_kb": sm("Private_Clean:") + sm("Private_Dirty:"), "pss_kb": sm("Pss:"),
            "anon_kb": sm("Anonymous:")}


def start_cluster(prefix):
    """A throwaway control plane (tests/k8s: build.sh, cluster.sh start) in a new folder; its path.
    Raises RuntimeError with the scripts' output when either fails."""
    r = subprocess.run([os.path.join(TOP, "tests", "k8s", "build.sh")], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise RuntimeError("tests/k8s/build.sh failed:\n" + r.stderr[-2000:])
    os.environ["VIVO_K8S_BIN"] = r.stdout.strip().splitlines()[-1]
    d = tempfile.mkdtemp(prefix=prefix)
    os.rmdir(d)
    env = dict(os.environ, KCM_CONTROLLERS="garbagecollector,namespace,serviceaccount")
    r = subprocess.run([os.path.join(TOP, "tests", "k8s", "cluster.sh"), "start", d], capture_output=True, text=True,
                       env=env)
    if r.returncode != 0:
        raise RuntimeError("the cluster did not start:\n" + r.stderr[-3000:])
    return d


def stop_cluster(d):
    subprocess.run([os.path.join(TOP, "tests", "k8s", "cluster.sh"), "stop", d], capture_output=True)
