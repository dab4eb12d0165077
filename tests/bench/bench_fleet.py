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
from benchlib import cpu_seconds  # noqa: E402

BIN = os.environ.get("BENCH_BIN", os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(BIN, "bench_fleet")
UPSTREAMS = int(os.environ.get("BENCH_UPSTREAMS", "50"))
RATE = int(os.environ.get("BENCH_RATE", "1000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CATCH_UP = 60  # seconds at most to read the backlog before the measured window

# (name, how records come in, records per chunk, upstreams). "http": a load generator posts
# batches to each upstream's HTTP input; "dummy": each upstream's dummy input makes one chunk
# per record, one thread wakeup each: on two cores 50 of them at 1,000/s do not fit beside
# anything else (the baseline line shows what they reach), so that case runs with fewer.
DUMMY_UPSTREAMS = int(os.environ.get("BENCH_DUMMY_UPSTREAMS", "10"))
SCENARIOS = [("batched", "http", 100, UPSTREAMS), ("one record per chunk", "dummy", 1, DUMMY_UPSTREAMS)]
if os.environ.get("BENCH_FLEET_SCENARIOS"):
    SCENARIOS = [s for s in SCENARIOS if s[1] in os.environ["BENCH_FLEET_SCENARIOS"].split(",")]

UPSTREAM_HTTP = """service:
  ui: off
  http_server: off
pipeline:
  inputs:
    - name: http
      port: 0
  outputs:
    - name: vivo_exporter
      port: 0
"""

UPSTREAM_DUMMY = """service:
  ui: off
  http_server: off
pipeline:
  inputs:
    - name: dummy
      tag: bench.%d
      rate: %d
      dummy: '{"message":"GET /cart 200 12ms","upstream":%d}'
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


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def info(a):
    with urllib.request.urlopen(a.url("exporter", "/api/v1/info"), timeout=30) as r:
        return json.loads(r.read())


def window(procs, count, seconds):
    """CPU seconds of each process and the growth of count() over `seconds`."""
    c0 = [cpu_seconds(p.proc.pid) for p in procs]
    n0 = count()
    time.sleep(seconds)
    c1 = [cpu_seconds(p.proc.pid) for p in procs]
    return [b - a for a, b in zip(c0, c1)], count() - n0


def reader(port, mark, out):
    """A long-polling reader for SECONDS; the records holding `mark` go to `out` as "key arrival_ns"."""
    return subprocess.Popen([TOOL, "latency", str(port), str(SECONDS), mark, out], stdout=subprocess.PIPE)


def parse_out(p, timeout):
    out = p.communicate(timeout=timeout)[0].decode().split()
    return {k: float(v) for k, v in (kv.split("=") for kv in out)}


def arrivals(path):
    with open(path) as f:
        return dict(tuple(int(x) for x in line.split()) for line in f if line.strip())


def added_latency(direct, via):
    """Per record of upstream 0: its arrival through the follower minus its arrival from upstream 0 (ms)."""
    d, v = arrivals(direct), arrivals(via)
    both = sorted((v[k] - d[k]) / 1e6 for k in d.keys() & v.keys())
    if not both:
        return 0, 0, 0
    return len(both), both[len(both) // 2], both[len(both) * 99 // 100]


def lag(f):
    return sum(s["lag_chunks"] for s in info(f)["sources"])


def caught_up(f, count, slack):
    """Every upstream followed, each caught up within the last second, few chunks behind in all."""
    src = info(f)["sources"]
    return (len(src) == count and all(s["state"] == "following" and s["records"] > 0 and s["lag_seconds"] < 1 for s in src)
            and sum(s["lag_chunks"] for s in src) <= slack)


def scenario(name, how, batch, count):
    print("\n== %s: %d upstreams x %d records/s, %d record%s per chunk (%s)" % (
        name, count, RATE, batch, "" if batch == 1 else "s", "dummy input" if how == "dummy" else "HTTP posts"))
    with open("/proc/loadavg") as f:
        print("load average before: %s" % " ".join(f.read().split()[:3]))
    with contextlib.ExitStack() as stack:
        if how == "dummy":
            ups = [stack.enter_context(Agent(config=UPSTREAM_DUMMY % (k, RATE, k), expect=("exporter",), timeout=30))
                   for k in range(count)]
            mark = '"upstream":0}'
        else:
            ups = [stack.enter_context(Agent(config=UPSTREAM_HTTP, expect=("http", "exporter"), timeout=30))
                   for k in range(count)]
            mark = '"upstream":0,"seq":'
            total = 3 * SECONDS + CATCH_UP + 60
            gen = subprocess.Popen([TOOL, "load", str(RATE), str(batch), str(total)] +
                                   [str(u.ports["http"]) for u in ups], stdout=subprocess.PIPE)
            stack.callback(lambda: gen.poll() is None and gen.terminate())
        time.sleep(1)
        # Baseline: what the upstreams spend on their own ingest, nobody following them.
        up_cpu, up_n = window(ups, lambda: sum(info(u)["streams"]["logs"]["records"] for u in ups), SECONDS)
        ingest_us = sum(up_cpu) / max(up_n, 1) * 1e6
        urls = ", ".join("http://127.0.0.1:%d" % u.ports["exporter"] for u in ups)
        f = stack.enter_context(Agent(config=FOLLOWER % urls, expect=("exporter", "ops"), timeout=30))
        t0 = time.time()
        while time.time() - t0 < CATCH_UP and not caught_up(f, count, count * RATE // batch // 10):
            time.sleep(0.5)
        print("upstreams ingest %.0f records/s in all (nobody following); the follower read their backlog in %.1f s, "
              "%d chunks behind when the window began" % (up_n / SECONDS, time.time() - t0, lag(f)))
        rss0 = status_kb(f.proc.pid, "VmRSS")
        # CPU first, with nobody reading the follower (serving readers is not following).
        cpu, n = window([f] + ups, lambda: sum(s["records"] for s in info(f)["sources"]), SECONDS)
        # Then latency: one reader on the follower, one on upstream 0, over the same window.
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="vivo-bench-"))
        dpath, vpath = os.path.join(tmp, "direct"), os.path.join(tmp, "via")
        direct, via = reader(ups[0].ports["exporter"], mark, dpath), reader(f.ports["exporter"], mark, vpath)
        d, v = parse_out(direct, SECONDS + 60), parse_out(via, SECONDS + 60)
        joined, add50, add99 = added_latency(dpath, vpath)
        rss, hwm = status_kb(f.proc.pid, "VmRSS"), status_kb(f.proc.pid, "VmHWM")
        behind = lag(f)
        fol_us = cpu[0] / max(n, 1) * 1e6
        serve_us = sum(cpu[1:]) / max(n, 1) * 1e6 - ingest_us
        if f.proc.poll() is not None or any(u.proc.poll() is not None for u in ups):
            print("an agent died during the bench")
            return False
    print("followed: %d records in %d s (%.0f records/s); %d chunks behind at the end" % (n, SECONDS, n / SECONDS, behind))
    print("%-56s %10s %10s | %s" % ("latency from the append upstream to a reader", "p50 ms", "p99 ms", "records"))
    print("%-56s %10.2f %10.2f | %d" % ("  through the follower (all upstreams)", v["p50_us"] / 1e3, v["p99_us"] / 1e3,
                                        v["records"]))
    print("%-56s %10.2f %10.2f | %d" % ("  baseline: the same reader on upstream 0 directly", d["p50_us"] / 1e3,
                                        d["p99_us"] / 1e3, d["records"]))
    met = joined and add99 < 100
    if joined:
        print("%-56s %10.2f %10.2f | %d   target p99 < 100 ms: %s" % (
            "  added by following (per record of upstream 0)", add50, add99, joined, "met" if met else "NOT MET"))
    else:
        print("  added by following: no record of upstream 0 reached both readers in the window "
              "(the follower is behind): target p99 < 100 ms NOT MET")
    print("CPU per followed record: %.2f us (follower) | the upstreams' own ingest: %.2f us/record (baseline, "
          "nobody following) | ratio %.2f" % (fol_us, ingest_us, fol_us / ingest_us if ingest_us else 0))
    print("the upstreams' extra CPU for serving the follower: %.2f us per followed record" % serve_us)
    print("follower RSS: %.1f MB (peak %.1f MB; %.1f MB when the window began); stream_queue_size 20M per stream"
          % (rss / 1024, hwm / 1024, rss0 / 1024))
    sys.stdout.flush()
    return True


def main():
    print("vivo input: one follower over upstream agents on loopback; %d s windows" % SECONDS)
    ok = True
    for name, how, batch, count in SCENARIOS:
        ok = scenario(name, how, batch, count) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
