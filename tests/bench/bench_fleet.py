#!/usr/bin/python3
# bench_fleet.py: one follower over 50 upstream agents on loopback, each ingesting 1,000 records/s: added latency, CPU per followed record against the upstreams' own ingest cost, and RSS.
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))
from agentlib import Agent  # noqa: E402

BIN = os.environ.get("BENCH_BIN", os.path.dirname(os.path.abspath(__file__)))
READER = os.path.join(BIN, "bench_fleet")
UPSTREAMS = int(os.environ.get("BENCH_UPSTREAMS", "50"))
RATE = int(os.environ.get("BENCH_RATE", "1000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))

UPSTREAM = """service:
  ui: off
  http_server: off
pipeline:
  inputs:
    - name: dummy
      tag: bench.%d
      rate: %d
      dummy: '{"message":"GET /cart 200 12ms","level":"info","service":"checkout","upstream":%d}'
  outputs:
    - name: vivo_exporter
      port: 0
"""

FOLLOWER = """service:
  ui: off
pipeline:
  inputs:
    - name: vivo
      follow: [%s]
  outputs:
    - name: vivo_exporter
      port: 0
"""


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def info(a):
    with urllib.request.urlopen(a.url("exporter", "/api/v1/info"), timeout=10) as r:
        return json.loads(r.read())


def logs_records(a):
    return info(a)["streams"]["logs"]["records"]


def followed_records(f):
    return sum(s["records"] for s in info(f)["sources"])


def window(procs, count, seconds):
    """CPU seconds of each process and the growth of count() over `seconds`."""
    c0 = [cpu_seconds(p.proc.pid) for p in procs]
    n0 = count()
    time.sleep(seconds)
    c1 = [cpu_seconds(p.proc.pid) for p in procs]
    return [b - a for a, b in zip(c0, c1)], count() - n0


def reader(port, out):
    """A long-polling reader for SECONDS; the records of upstream 0 go to `out` as "ts arrival_ns"."""
    return subprocess.Popen([READER, "latency", str(port), str(SECONDS), '"upstream":0}', out], stdout=subprocess.PIPE)


def arrivals(path):
    with open(path) as f:
        return dict(tuple(int(x) for x in line.split()) for line in f if line.strip())


def added_latency(direct, via):
    """Per record of upstream 0: arrival through the follower minus arrival from upstream 0 itself (ms)."""
    d, v = arrivals(direct), arrivals(via)
    both = sorted((v[ts] - d[ts]) / 1e6 for ts in d.keys() & v.keys())
    if not both:
        return 0, 0, 0
    return len(both), both[len(both) // 2], both[len(both) * 99 // 100]


def parse_reader(p):
    out = p.communicate(timeout=SECONDS + 60)[0].decode().split()
    return {k: float(v) for k, v in (kv.split("=") for kv in out)}


def main():
    print("vivo input: %d upstream agents on loopback, each with a dummy input at %d records/s; %d s windows"
          % (UPSTREAMS, RATE, SECONDS))
    with open("/proc/loadavg") as f:
        print("load average before: %s" % " ".join(f.read().split()[:3]))
    with contextlib.ExitStack() as stack:
        ups = [stack.enter_context(Agent(config=UPSTREAM % (k, RATE, k), expect=("exporter",), timeout=30))
               for k in range(UPSTREAMS)]
        time.sleep(1)
        # Baseline: what the upstreams spend on their own ingest, nobody following them.
        up_cpu, up_n = window(ups, lambda: sum(logs_records(u) for u in ups), SECONDS)
        ingest_us = sum(up_cpu) / max(up_n, 1) * 1e6
        urls = ", ".join("http://127.0.0.1:%d" % u.ports["exporter"] for u in ups)
        f = stack.enter_context(Agent(config=FOLLOWER % urls, expect=("exporter", "ops"), timeout=30))
        deadline = time.time() + 30
        while time.time() < deadline and sum(s["state"] == "following" for s in info(f)["sources"]) < UPSTREAMS:
            time.sleep(0.2)
        # Past the backlog each upstream held (bounded: a follower that cannot keep up is reported).
        t0, deadline = time.time(), time.time() + 60
        while time.time() < deadline and sum(s["lag_chunks"] for s in info(f)["sources"]) > UPSTREAMS * RATE // 10:
            time.sleep(0.5)
        backlog = sum(s["lag_chunks"] for s in info(f)["sources"])
        print("backlog read in %.1f s; %d chunks still behind when the window began" % (time.time() - t0, backlog))
        rss0 = status_kb(f.proc.pid, "VmRSS")
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="vivo-bench-"))
        dpath, vpath = os.path.join(tmp, "direct"), os.path.join(tmp, "via")
        direct, via = reader(ups[0].ports["exporter"], dpath), reader(f.ports["exporter"], vpath)
        cpu, n = window([f] + ups, lambda: followed_records(f), SECONDS)
        d, v = parse_reader(direct), parse_reader(via)
        joined, add50, add99 = added_latency(dpath, vpath)
        rss, hwm = status_kb(f.proc.pid, "VmRSS"), status_kb(f.proc.pid, "VmHWM")
        fol_us = cpu[0] / max(n, 1) * 1e6
        serve_us = (sum(cpu[1:]) / max(n, 1) * 1e6) - ingest_us
        if f.proc.poll() is not None or any(u.proc.poll() is not None for u in ups):
            print("an agent died during the bench")
            return 1
    print("records followed: %d in %d s (%.0f records/s, %d upstreams)" % (n, SECONDS, n / SECONDS, UPSTREAMS))
    print("%-52s %10s %10s | %s" % ("latency, upstream append -> reader", "p50 ms", "p99 ms", "records"))
    print("%-52s %10.2f %10.2f | %d" % ("  through the follower (upstream -> follower -> reader)", v["p50_us"] / 1e3,
                                        v["p99_us"] / 1e3, v["records"]))
    print("%-52s %10.2f %10.2f | %d" % ("  baseline: the same reader on upstream 0 directly", d["p50_us"] / 1e3,
                                        d["p99_us"] / 1e3, d["records"]))
    if joined:
        print("%-52s %10.2f %10.2f | %d   target p99 < 100 ms: %s" % (
            "  added by following (per record of upstream 0)", add50, add99, joined, "met" if add99 < 100 else "NOT MET"))
    else:
        print("  added by following: no record of upstream 0 reached both readers in the window "
              "(the follower is behind): target p99 < 100 ms NOT MET")
    print("CPU per followed record: %.2f us (follower) | upstream's own ingest: %.2f us/record (baseline, "
          "nobody following) | ratio %.2f" % (fol_us, ingest_us, fol_us / ingest_us if ingest_us else 0))
    print("upstreams' extra CPU for serving the follower: %.2f us/record" % serve_us)
    print("follower RSS: %.1f MB (peak %.1f MB; %.1f MB when the window began); stream_queue_size 20M per stream"
          % (rss / 1024, hwm / 1024, rss0 / 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())
