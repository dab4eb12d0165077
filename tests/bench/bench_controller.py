#!/usr/bin/env python3
# bench_controller.py: vivo-controller with 100 Vivo objects on a real API server: RSS and create-to-Service latency, beside a libcurl baseline.
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
from ctllib import Cluster, Controller, eventually  # noqa: E402

N = int(os.environ.get("BENCH_VIVOS", "100"))
BENCH_BIN = os.environ.get("BENCH_BIN") or os.path.join(TOP, "build", "check", "tests", "bench")
BUILD = os.path.abspath(os.path.join(BENCH_BIN, "..", ".."))
CONTROLLER = os.environ.get("VIVO_CONTROLLER") or os.path.join(BUILD, "controller", "vivo-controller")
SA_USER = "system:serviceaccount:vivo-system:vivo-controller"


def kb(pid, file, name):
    try:
        with open("/proc/%d/%s" % (pid, file)) as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(pid):
    return {"rss_kb": kb(pid, "status", "VmRSS:"), "hwm_kb": kb(pid, "status", "VmHWM:"),
            "private_kb": kb(pid, "smaps_rollup", "Private_Clean:") + kb(pid, "smaps_rollup", "Private_Dirty:"),
            "pss_kb": kb(pid, "smaps_rollup", "Pss:"), "anon_kb": kb(pid, "smaps_rollup", "Anonymous:")}


def audit_times(path, user):
    """From the audit log (server clock, microseconds): when each Vivo's create and its
    Service's first write by the controller completed."""
    created, service = {}, {}
    with open(path) as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            ref = ev.get("objectRef") or {}
            if ev.get("stage") != "ResponseComplete" or ref.get("namespace") != "bench":
                continue
            ts = datetime.datetime.strptime(ev["stageTimestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
            code = (ev.get("responseStatus") or {}).get("code")
            if ref.get("resource") == "vivos" and ev.get("verb") == "create" and code == 201:
                created[ref.get("name")] = ts
            elif (ref.get("resource") == "services" and ev.get("verb") == "patch" and code == 201 and
                  (ev.get("user") or {}).get("username") == user):
                service.setdefault(ref.get("name"), ts)
    return created, service


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))] if xs else float("nan")


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
    d = tempfile.mkdtemp(prefix="vivo-bench-k8s-")
    os.rmdir(d)
    env = dict(os.environ, KCM_CONTROLLERS="garbagecollector,namespace,serviceaccount")
    r = subprocess.run([os.path.join(TOP, "tests", "k8s", "cluster.sh"), "start", d], capture_output=True, text=True,
                       env=env)
    if r.returncode != 0:
        print("bench_controller: cluster did not start:\n" + r.stderr[-3000:])
        return 1
    ctl = None
    try:
        c = Cluster(d)
        c.kubectl("apply", "-f", os.path.join(TOP, "manifests", "crd.yaml"))
        c.kubectl("wait", "--for", "condition=Established", "crd/vivos.vivo.dev", "--timeout=30s")
        c.kubectl("apply", "-f", os.path.join(TOP, "manifests", "rbac.yaml"))
        c.kubectl("create", "namespace", "bench")
        kc = c.user(SA_USER)
        pki = os.path.join(d, "pki")
        floor = subprocess.run([os.path.join(BENCH_BIN, "bench_curl_floor"), c.url + "/version",
                                os.path.join(pki, "ca.crt"), os.path.join(pki, "user-" + re.sub(r"[^A-Za-z0-9._-]", "_", SA_USER) + ".crt"),
                                os.path.join(pki, "user-" + re.sub(r"[^A-Za-z0-9._-]", "_", SA_USER) + ".key")],
                               capture_output=True, text=True)
        fl = dict(kv.split("=") for kv in floor.stdout.split()) if floor.returncode == 0 else {}
        Controller.binary = CONTROLLER
        ctl = Controller("bench", kubeconfig=kc, env={"ASAN_OPTIONS": "detect_leaks=0"})
        eventually(ctl.ready, 15)
        idle = memory(ctl.proc.pid)
        def services():
            return len((c.api.get("/api/v1/namespaces/bench/services") or {}).get("items", []))

        # Warm-up: the API server's first watch event for a just-created CRD can take ~2 s
        # (its watch cache starting); one object through the whole path before measuring.
        c.api.req("POST", "/apis/vivo.dev/v1alpha1/namespaces/default/vivos",
                  {"apiVersion": "vivo.dev/v1alpha1", "kind": "Vivo", "metadata": {"name": "warmup"}, "spec": {}})
        eventually(lambda: c.api.get("/api/v1/namespaces/default/services/warmup"), 30, 0.05)
        created = {}
        # Paced: one create every PACE seconds, the way objects usually arrive.
        pace = float(os.environ.get("BENCH_PACE", "0.05"))
        t0 = time.monotonic()
        for i in range(N):
            name = "v%03d" % i
            body = {"apiVersion": "vivo.dev/v1alpha1", "kind": "Vivo", "metadata": {"name": name, "namespace": "bench"},
                    "spec": {"streamQueueSize": "%dM" % (1 + i % 50)}}
            st, _ = c.api.req("POST", "/apis/vivo.dev/v1alpha1/namespaces/bench/vivos", body)
            created[name] = time.monotonic()
            if st != 201:
                print("bench_controller: create %s: HTTP %d" % (name, st))
            time.sleep(max(0.0, t0 + (i + 1) * pace - time.monotonic()))
        eventually(lambda: services() >= N, 60, 0.05)

        def settled(n):
            lst = c.api.get("/apis/vivo.dev/v1alpha1/namespaces/bench/vivos") or {}
            return sum(1 for v in lst.get("items", []) if (v.get("status") or {}).get("observedGeneration")) == n
        eventually(lambda: settled(N), 60, 0.2)
        time.sleep(1.0)
        mem100 = memory(ctl.proc.pid)
        # Burst: another N as fast as one client can create them.
        burst = {}
        t1 = time.monotonic()
        for i in range(N):
            name = "b%03d" % i
            body = {"apiVersion": "vivo.dev/v1alpha1", "kind": "Vivo", "metadata": {"name": name, "namespace": "bench"},
                    "spec": {}}
            c.api.req("POST", "/apis/vivo.dev/v1alpha1/namespaces/bench/vivos", body)
            burst[name] = time.monotonic()
        created_in = time.monotonic() - t1
        eventually(lambda: services() >= 2 * N, 120, 0.05)
        burst_all = time.monotonic() - t1
        t_create, t_svc = audit_times(c.env["AUDIT_LOG"], SA_USER)
        lat = [t_svc[n] - t_create[n] for n in created if n in t_svc and n in t_create]
        blat = [t_svc[n] - t_create[n] for n in burst if n in t_svc and n in t_create]
        if os.environ.get("BENCH_DEBUG"):
            print("  paced, in order (ms):", " ".join("%.0f" % ((t_svc[n] - t_create[n]) * 1000) for n in sorted(created)
                                                      if n in t_svc and n in t_create))
        N2 = 2 * N

        eventually(lambda: settled(N2), 60, 0.2)
        time.sleep(2.0)
        busy = memory(ctl.proc.pid)
        m = ctl.metrics()
        writes = sum(v for (k, _), v in m.items() if k == "vivo_controller_api_writes_total")

        def mean(name, **labels):
            tot = cnt = 0.0
            for (k, l), v in m.items():
                if all(('%s="%s"' % (a, b)) in l for a, b in labels.items()):
                    if k == name + "_sum":
                        tot += v
                    elif k == name + "_count":
                        cnt += v
            return tot / cnt * 1000 if cnt else float("nan")
        api_line = "  mean time per reconcile %.1f ms; per request: apply (PATCH) %.1f ms, status (PUT) %.1f ms" % (
            mean("vivo_controller_reconcile_duration_seconds"),
            mean("vivo_controller_api_request_duration_seconds", verb="PATCH"),
            mean("vivo_controller_api_request_duration_seconds", verb="PUT"))
        recs = sum(v for (k, _), v in m.items() if k == "vivo_controller_reconcile_total")
        # Everything again, unchanged: a restarted controller must write nothing.
        ctl.stop()
        ctl2 = Controller("bench2", kubeconfig=kc, env={"ASAN_OPTIONS": "detect_leaks=0"})
        eventually(ctl2.ready, 15)
        time.sleep(3.0)
        restart_writes = ctl2.writes()
        restart_mem = memory(ctl2.proc.pid)
        ctl2.stop()
        ctl = None

        print("vivo-controller, %d Vivo objects created one every %.0f ms, then %d more at once%s" %
              (N, pace * 1000, N, " (ASan/UBSan build: figures inflated)" if sanitized else ""))
        print("  (latencies from the audit log: the create's completion to the Service's, server clock)")
        print("  create-to-Service latency, paced: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (%d/%d)" %
              (pct(lat, 50) * 1000, pct(lat, 90) * 1000, pct(lat, 99) * 1000, max(lat or [0]) * 1000, len(lat), N))
        print("  target p50 < 200 ms: %s" % ("met" if lat and pct(lat, 50) < 0.2 else "NOT met"))
        print(api_line)
        print("  create-to-Service latency, burst of %d (created in %.2f s, all Services in %.2f s): p50 %.1f ms, "
              "p90 %.1f ms, max %.1f ms" % (N, created_in, burst_all, pct(blat, 50) * 1000, pct(blat, 90) * 1000,
                                            max(blat or [0]) * 1000))
        print("  RSS: idle %.1f MB; with %d objects %.1f MB (private %.1f MB, PSS %.1f MB, anonymous %.1f MB); "
              "with %d %.1f MB, peak %.1f MB" % (idle["rss_kb"] / 1024, N, mem100["rss_kb"] / 1024,
                                                mem100["private_kb"] / 1024, mem100["pss_kb"] / 1024,
                                                mem100["anon_kb"] / 1024, N2, busy["rss_kb"] / 1024,
                                                busy["hwm_kb"] / 1024))
        if fl:
            floor_rss = int(fl["rss_kb"])
            print("  baseline, same run: a bare libcurl+OpenSSL client after one TLS request: RSS %.1f MB, private "
                  "%.1f MB, PSS %.1f MB" % (floor_rss / 1024, int(fl["private_kb"]) / 1024, int(fl["pss_kb"]) / 1024))
            print("  controller with %d objects / baseline: RSS x%.2f; its own private memory above that floor: %.1f MB"
                  % (N, mem100["rss_kb"] / floor_rss, (mem100["private_kb"] - int(fl["private_kb"])) / 1024))
        print("  target RSS < 10 MB with %d objects: %s" % (N, "met" if mem100["rss_kb"] < 10 * 1024 else
                                                           "NOT met (the baseline shows the libraries' own floor)"))
        print("  API writes for %d objects: %d (%d reconciles); a restarted controller: %d writes, RSS %.1f MB" %
              (N2, writes, recs, restart_writes, restart_mem["rss_kb"] / 1024))
        return 0
    finally:
        if ctl:
            ctl.stop()
        subprocess.run([os.path.join(TOP, "tests", "k8s", "cluster.sh"), "stop", d], capture_output=True)


if __name__ == "__main__":
    sys.exit(main())
