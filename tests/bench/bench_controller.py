#!/usr/bin/env python3
# bench_controller.py: vivo-controller on a real API server: create-to-Service latency with 100 Vivos, cold starts with 100 and 1,000 (time to converge, CPU, memory), and its own memory (USS) above a bare libcurl+OpenSSL client running beside it, read at the same moments.
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "tests", "controller"))
from benchlib import cpu_seconds  # noqa: E402
from ctllib import Cluster, Controller, eventually, proc_kb  # noqa: E402

N = int(os.environ.get("BENCH_VIVOS", "100"))
COLD = [int(x) for x in os.environ.get("BENCH_COLD", "100,1000").split(",") if x]
BENCH_BIN = os.environ.get("BENCH_BIN") or os.path.join(TOP, "build", "check", "tests", "bench")
BUILD = os.path.abspath(os.path.join(BENCH_BIN, "..", ".."))
CONTROLLER = os.environ.get("VIVO_CONTROLLER") or os.path.join(BUILD, "controller", "vivo-controller")
SA_USER = "system:serviceaccount:vivo-system:vivo-controller"
CTL_ENV = {"ASAN_OPTIONS": "detect_leaks=0"}
CLUSTER_SH = os.path.join(TOP, "tests", "k8s", "cluster.sh")
TARGET_OWN_MB = 3.0        # the controller's USS above the libcurl floor, with 1,000 Vivos
LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ")


def memory(pid):
    """RSS and its peak from status; USS (Private_Clean + Private_Dirty), its dirty part, PSS
    and anonymous memory from smaps_rollup, in kB."""
    dirty = proc_kb(pid, "smaps_rollup", "Private_Dirty:")
    return {"rss_kb": proc_kb(pid, "status", "VmRSS:"), "hwm_kb": proc_kb(pid, "status", "VmHWM:"),
            "uss_kb": proc_kb(pid, "smaps_rollup", "Private_Clean:") + dirty, "dirty_kb": dirty,
            "pss_kb": proc_kb(pid, "smaps_rollup", "Pss:"), "anon_kb": proc_kb(pid, "smaps_rollup", "Anonymous:")}


def sample(ctl, fl):
    """The controller's memory and the floor client's, read at the same moment (which library
    pages count as private depends on which processes map them at that moment: read apart,
    the floor's USS was seen anywhere between 2.6 and 6.0 MB in one day), and the
    controller's own figures: what its caches hold, and its allocator's live and free bytes."""
    m = memory(ctl.proc.pid)
    m["floor"] = fl.memory()
    try:
        mt = ctl.metrics()
    except OSError:
        mt = {}
    m["cache"] = {}
    for (k, lab), v in mt.items():
        r = re.match(r'\{resource="(\w+)",form="(\w+)"\}', lab)
        if k == "vivo_controller_cache_bytes" and r:
            m["cache"].setdefault(r.group(1), {})[r.group(2)] = v
    m["heap_in_use"] = mt.get(("vivo_controller_heap_bytes", '{state="in_use"}'), float("nan"))
    m["heap_free"] = mt.get(("vivo_controller_heap_bytes", '{state="free"}'), float("nan"))
    return m


def own_kb(m):
    """USS above the floor client's USS, read together."""
    return m["uss_kb"] - m["floor"]["uss_kb"]


def utc_ts(text, fmt):
    return datetime.datetime.strptime(text, fmt).replace(tzinfo=datetime.timezone.utc).timestamp()


def audit_events(path, ns):
    """(time, verb, resource, name, code, user) of every completed write in namespace ns,
    from the audit log (server clock)."""
    out = []
    with open(path) as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            ref = ev.get("objectRef") or {}
            if ev.get("stage") != "ResponseComplete" or ref.get("namespace") != ns:
                continue
            res = ref.get("resource", "") + ("/" + ref["subresource"] if ref.get("subresource") else "")
            out.append((utc_ts(ev["stageTimestamp"], "%Y-%m-%dT%H:%M:%S.%fZ"), ev.get("verb"), res, ref.get("name"),
                        (ev.get("responseStatus") or {}).get("code"), (ev.get("user") or {}).get("username")))
    return out


def audit_times(path, ns, user):
    """When each Vivo's create and its Service's first write by the controller completed."""
    created, service = {}, {}
    for ts, verb, res, name, code, who in audit_events(path, ns):
        if res == "vivos" and verb == "create" and code == 201:
            created[name] = ts
        elif res == "services" and verb == "patch" and code == 201 and who == user:
            service.setdefault(name, ts)
    return created, service


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))] if xs else float("nan")


def mb(k):
    return k / 1024.0


def create_vivo(c, ns, name, spec):
    body = {"apiVersion": "vivo.dev/v1alpha1", "kind": "Vivo", "metadata": {"name": name, "namespace": ns},
            "spec": spec}
    st, _ = c.api.req("POST", "/apis/vivo.dev/v1alpha1/namespaces/%s/vivos" % ns, body)
    if st != 201:
        print("bench_controller: create %s/%s: HTTP %d" % (ns, name, st))
    return st == 201


def latency(c, kc, fl):
    """100 Vivos created 50 ms apart, then 100 at once: create-to-Service latency from the
    audit log, memory idle and with 100, writes, and a restart that must write nothing."""
    ctl = Controller("bench", kubeconfig=kc, env=CTL_ENV)
    try:
        eventually(ctl.ready, 15)
        time.sleep(2.0)  # past the first idle heap trim
        idle = sample(ctl, fl)

        def services():
            return len((c.api.get("/api/v1/namespaces/bench/services") or {}).get("items", []))

        # Warm-up: the API server's first watch event for a just-created CRD can take ~2 s
        # (its watch cache starting); one object through the whole path before measuring.
        create_vivo(c, "default", "warmup", {})
        eventually(lambda: c.api.get("/api/v1/namespaces/default/services/warmup"), 30, 0.05)
        created = []
        # Paced: one create every PACE seconds, the way objects usually arrive.
        pace = float(os.environ.get("BENCH_PACE", "0.05"))
        t0 = time.monotonic()
        for i in range(N):
            created.append("v%03d" % i)
            create_vivo(c, "bench", created[-1], {"streamQueueSize": "%dM" % (1 + i % 50)})
            time.sleep(max(0.0, t0 + (i + 1) * pace - time.monotonic()))
        eventually(lambda: services() >= N, 60, 0.05)

        def settled(n):
            lst = c.api.get("/apis/vivo.dev/v1alpha1/namespaces/bench/vivos") or {}
            return sum(1 for v in lst.get("items", []) if (v.get("status") or {}).get("observedGeneration")) == n
        eventually(lambda: settled(N), 60, 0.2)
        time.sleep(2.0)
        mem = sample(ctl, fl)
        # Burst: another N as fast as one client can create them.
        burst = []
        t1 = time.monotonic()
        for i in range(N):
            burst.append("b%03d" % i)
            create_vivo(c, "bench", burst[-1], {})
        created_in = time.monotonic() - t1
        eventually(lambda: services() >= 2 * N, 120, 0.05)
        burst_all = time.monotonic() - t1
        t_create, t_svc = audit_times(c.env["AUDIT_LOG"], "bench", SA_USER)
        lat = [t_svc[n] - t_create[n] for n in created if n in t_svc and n in t_create]
        blat = [t_svc[n] - t_create[n] for n in burst if n in t_svc and n in t_create]
        eventually(lambda: settled(2 * N), 60, 0.2)
        time.sleep(2.0)
        busy = sample(ctl, fl)
        m = ctl.metrics()
        writes = sum(v for (k, _), v in m.items() if k == "vivo_controller_api_writes_total")
        recs = sum(v for (k, _), v in m.items() if k == "vivo_controller_reconcile_total")

        def mean(name, **labels):
            tot = cnt = 0.0
            for (k, lab), v in m.items():
                if all(('%s="%s"' % (a, b)) in lab for a, b in labels.items()):
                    if k == name + "_sum":
                        tot += v
                    elif k == name + "_count":
                        cnt += v
            return tot / cnt * 1000 if cnt else float("nan")
        per = (mean("vivo_controller_reconcile_duration_seconds"),
               mean("vivo_controller_api_request_duration_seconds", verb="PATCH"),
               mean("vivo_controller_api_request_duration_seconds", verb="PUT"))
    finally:
        ctl.stop()
    # Everything again, unchanged: a restarted controller must write nothing.
    ctl2 = Controller("bench2", kubeconfig=kc, env=CTL_ENV)
    try:
        eventually(ctl2.ready, 15)
        time.sleep(3.0)
        restart_writes = ctl2.writes()
    finally:
        ctl2.stop()

    print("  create-to-Service latency, %d Vivos created one every %.0f ms (audit log: the create's completion "
          "to the Service's, server clock):" % (N, pace * 1000))
    print("    p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (%d/%d); target p50 < 200 ms: %s" %
          (pct(lat, 50) * 1000, pct(lat, 90) * 1000, pct(lat, 99) * 1000, max(lat or [0]) * 1000, len(lat), N,
           "met" if lat and pct(lat, 50) < 0.2 else "NOT met"))
    print("    mean time per reconcile %.1f ms; per request: apply (PATCH) %.1f ms, status (PUT) %.1f ms" % per)
    print("  the same, a burst of %d more (created in %.2f s, all Services in %.2f s): p50 %.1f ms, p90 %.1f ms, "
          "max %.1f ms" % (N, created_in, burst_all, pct(blat, 50) * 1000, pct(blat, 90) * 1000,
                           max(blat or [0]) * 1000))
    print("  API writes for %d Vivos: %d (%d reconciles); a restarted controller over them: %d writes" %
          (2 * N, writes, recs, restart_writes))
    return {"idle": idle, "paced": mem, "busy": busy}


def cold_start(c, kc, n, fl):
    """n Vivos created while no controller runs, then a controller (watching only their
    namespace) started: how long until every one has its objects and its status, and the
    controller's memory once they have."""
    ns = "cold%d" % n
    c.kubectl("create", "namespace", ns)
    for i in range(n):
        create_vivo(c, ns, "c%04d" % i, {"streamQueueSize": "%dM" % (1 + i % 50)})
    pids = {k: int(c.env[k + "_PID"]) for k in ("APISERVER", "ETCD", "KCM")}
    cpu0 = {k: cpu_s(p) for k, p in pids.items()}
    t0 = time.time()
    ctl = Controller(ns, args=["--watch-namespace", ns], kubeconfig=kc, env=CTL_ENV)
    try:
        # One status write per Vivo ends its first reconcile (its three objects are written
        # before it); nothing else writes these Vivos, so there are no conflicts to retry.
        def statuses():
            return ctl.metric("vivo_controller_api_writes_total", resource="vivos/status") >= n
        ok, _ = eventually(statuses, 60 + n * 0.5, 0.1)
        wall = time.time() - t0
        cpu = {k: (cpu_s(p) - cpu0[k]) / wall for k, p in pids.items()}
        ctl_cpu = cpu_s(ctl.proc.pid)
        cpu["controller"] = ctl_cpu / wall
        eventually(lambda: ctl.metric("vivo_controller_workqueue_depth") == 0, 30, 0.1)
        time.sleep(2.0)
        mem = sample(ctl, fl)
        writes = ctl.writes()
        log = ctl.log()
        if os.environ.get("BENCH_DEBUG"):
            for (k, lab), v in sorted(ctl.metrics().items()):
                if k in ("vivo_controller_reconcile_total", "vivo_controller_api_writes_total",
                         "vivo_controller_api_request_duration_seconds_count"):
                    print("    %s%s %g" % (k, lab, v))
            print("\n".join([l for l in log.splitlines() if " warn: " in l or " error: " in l][:20]))
    finally:
        ctl.stop()
    first = {}
    for ts, verb, res, name, code, who in audit_events(c.env["AUDIT_LOG"], ns):
        if res == "vivos/status" and verb == "update" and code == 200 and who == SA_USER:
            first.setdefault(name, ts)
    synced = next((utc_ts(m.group(1), "%Y-%m-%dT%H:%M:%S.%f") for line in log.splitlines()
                   if "caches synced" in line for m in [LOG_TS.match(line)] if m), None)
    lst = c.api.get("/apis/vivo.dev/v1alpha1/namespaces/%s/vivos" % ns) or {}
    done = sum(1 for v in lst.get("items", []) if (v.get("status") or {}).get("observedGeneration"))
    return {"n": n, "ok": bool(ok) and len(first) == n and done == n, "done": done, "mem": mem, "writes": writes,
            "cpu": cpu, "ctl_cpu_s": ctl_cpu,
            "converged_s": (max(first.values()) - t0) if first else float("nan"),
            "synced_s": (synced - t0) if synced else float("nan")}


def cpu_s(pid):
    """User + system CPU seconds of a process so far."""
    try:
        return cpu_seconds(pid)
    except (OSError, IndexError, ValueError):
        return float("nan")


class Floor:
    """A bare libcurl + OpenSSL client that made one TLS request with the controller's client
    certificate and stays up (bench_curl_floor ... wait): what any such process costs before
    doing anything of its own, read beside the controller."""

    def __init__(self, c):
        pki = os.path.join(c.dir, "pki")
        user = "user-" + re.sub(r"[^A-Za-z0-9._-]", "_", SA_USER)
        self.proc = subprocess.Popen([os.path.join(BENCH_BIN, "bench_curl_floor"), c.url + "/version",
                                      os.path.join(pki, "ca.crt"), os.path.join(pki, user + ".crt"),
                                      os.path.join(pki, user + ".key"), "wait"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.first = {k: int(v) for k, v in (kv.split("=") for kv in line.split()) if k.endswith("_kb")}
        if "status=200" not in line:
            self.close()
            raise RuntimeError("bench_curl_floor: %r" % line)

    def memory(self):
        return memory(self.proc.pid)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def report(mem, cold, sanitized):
    fl = mem["idle"]["floor"]
    print("  baseline, same run: a bare libcurl+OpenSSL client after one TLS request, running beside the controller "
          "and read with it: USS %.1f MB, RSS %.1f MB, PSS %.1f MB (idle phase)" %
          (mb(fl["uss_kb"]), mb(fl["rss_kb"]), mb(fl["pss_kb"])))
    print("  memory (USS = private pages; own = USS above the baseline's USS at the same moment; dirty = the same "
          "for Private_Dirty alone, which other processes mapping the same libraries do not move; heap = the "
          "allocator's live / free bytes):")
    rows = [("idle, no Vivo", mem["idle"]), ("%d Vivos (paced run)" % N, mem["paced"]),
            ("%d Vivos (after the burst)" % (2 * N), mem["busy"])]
    rows += [("%d Vivos (cold start)" % r["n"], r["mem"]) for r in cold]
    for name, m in rows:
        print("    %-28s own %5.2f MB (dirty %5.2f)  USS %5.1f MB  RSS %5.1f MB  (baseline USS %4.1f, RSS %4.1f)  "
              "heap %4.1f / %4.1f MB" %
              (name, mb(own_kb(m)), mb(m["dirty_kb"] - m["floor"]["dirty_kb"]), mb(m["uss_kb"]), mb(m["rss_kb"]),
               mb(m["floor"]["uss_kb"]), mb(m["floor"]["rss_kb"]), m["heap_in_use"] / 1048576.0,
               m["heap_free"] / 1048576.0))
    for r in cold:
        print("  cold start, %d Vivos: caches synced %.2f s after start, all converged (objects and status) %.2f s "
              "after start%s; %d API writes" % (r["n"], r["synced_s"], r["converged_s"],
                                                "" if r["ok"] else " (NOT all: %d/%d)" % (r["done"], r["n"]),
                                                r["writes"]))
        print("    CPU meanwhile, share of one core: %s; the controller's CPU: %.2f s (%.2f ms per Vivo)" % (
            ", ".join("%s %.0f%%" % (k, v * 100) for k, v in r["cpu"].items()), r["ctl_cpu_s"],
            r["ctl_cpu_s"] * 1000.0 / r["n"]))
        cache = r["mem"]["cache"]
        print("    the caches hold (the objects' JSON text -> what is stored, with index and dictionary): %s; "
              "%.2f -> %.2f MB in all" % (", ".join(
                  "%s %.2f -> %.2f KB each" % (k, v.get("json", 0) / 1024.0 / r["n"], v.get("stored", 0) / 1024.0 / r["n"])
                  for k, v in sorted(cache.items()) if v.get("json")),
                  sum(v.get("json", 0) for v in cache.values()) / 1048576.0,
                  sum(v.get("stored", 0) for v in cache.values()) / 1048576.0))
    by_n = {r["n"]: r for r in cold}
    if 100 in by_n and 1000 in by_n:
        lo, hi = by_n[100]["mem"], by_n[1000]["mem"]
        print("  growth per 1,000 Vivos (100 -> 1,000, cold starts): RSS %.2f MB, USS %.2f MB, own %.2f MB" %
              (mb(hi["rss_kb"] - lo["rss_kb"]) / 0.9, mb(hi["uss_kb"] - lo["uss_kb"]) / 0.9,
               mb(own_kb(hi) - own_kb(lo)) / 0.9))
    if 1000 in by_n:
        own = mb(own_kb(by_n[1000]["mem"]))
        print("  target: own memory < %.0f MB with 1,000 Vivos: %.2f MB, %s%s" %
              (TARGET_OWN_MB, own, "met" if own < TARGET_OWN_MB else "NOT met",
               " (ASan/UBSan build: figures inflated)" if sanitized else ""))


class TestCluster:
    """A fresh control plane (tests/k8s/cluster.sh) with the CRD, the RBAC and the
    controller's identity, stopped and removed on exit."""

    def __enter__(self):
        self.d = tempfile.mkdtemp(prefix="vivo-bench-k8s-")
        os.rmdir(self.d)
        # A Service per Vivo: the default /24 holds 254 Service IPs, a cold start 1,000.
        env = dict(os.environ, KCM_CONTROLLERS="garbagecollector,namespace,serviceaccount",
                   SERVICE_CIDR="10.0.0.0/16")
        r = subprocess.run([CLUSTER_SH, "start", self.d], capture_output=True, text=True, env=env)
        if r.returncode != 0:
            self.__exit__()
            raise RuntimeError("the cluster did not start:\n" + r.stderr[-3000:])
        try:
            c = self.c = Cluster(self.d)
            c.kubectl("apply", "-f", os.path.join(TOP, "manifests", "crd.yaml"))
            c.kubectl("wait", "--for", "condition=Established", "crd/vivos.vivo.dev", "--timeout=30s")
            # rbac.yaml holds a Role in vivo-system (the webhook's Secret): the namespace comes first.
            c.kubectl("create", "namespace", "vivo-system")
            c.kubectl("apply", "-f", os.path.join(TOP, "manifests", "rbac.yaml"))
            self.kc = c.user(SA_USER)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        subprocess.run([CLUSTER_SH, "stop", self.d], capture_output=True)


def main():
    if not os.access(CONTROLLER, os.X_OK):
        print("bench_controller: %s not built; skipped" % CONTROLLER)
        return 0
    sanitized = b"__asan_init" in open(CONTROLLER, "rb").read()
    bin_dir = subprocess.run([os.path.join(TOP, "tests", "k8s", "build.sh")], capture_output=True, text=True,
                             stdin=subprocess.DEVNULL)
    if bin_dir.returncode != 0:
        print("bench_controller: tests/k8s/build.sh failed:\n" + bin_dir.stderr[-2000:])
        return 1
    os.environ["VIVO_K8S_BIN"] = bin_dir.stdout.strip().splitlines()[-1]
    Controller.binary = CONTROLLER
    print("vivo-controller on a real kube-apiserver%s" % (" (ASan/UBSan build: figures inflated)" if sanitized
                                                           else ""))
    # Each phase on a fresh control plane, so none inherits the objects (and the load on
    # etcd and the garbage collector) of the one before.
    with TestCluster() as t, Floor(t.c) as fl:
        t.c.kubectl("create", "namespace", "bench")
        mem = latency(t.c, t.kc, fl)
    cold = []
    for n in COLD:
        with TestCluster() as t, Floor(t.c) as fl:
            cold.append(cold_start(t.c, t.kc, n, fl))
    report(mem, cold, sanitized)
    return 0 if all(r["ok"] for r in cold) else 1


if __name__ == "__main__":
    sys.exit(main())
