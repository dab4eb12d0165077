#!/usr/bin/python3
# bench_agent.py: agent benchmarks (HTTP ingest, store append, full read, poll latency, RSS), each beside a baseline from the same run.
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "agent"))
from agentlib import Agent  # noqa: E402

BIN = os.environ.get("BENCH_BIN", os.path.dirname(os.path.abspath(__file__)))
HTTP = os.path.join(BIN, "bench_http")
STORE = os.path.join(BIN, "bench_store")
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
# Full reads of the 20 MB stream per figure: one read takes ~10 ms here, so a few would measure noise.
READS = int(os.environ.get("BENCH_READS", "60"))


def out(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, check=True, timeout=300, **kw).stdout.decode().split()


def row(name, value, unit, base, base_name, target=None):
    ratio = value / base if base else 0
    t = "" if target is None else ("  target %s: %s" % (target[0], "met" if target[1](value, ratio) else "NOT MET"))
    print("%-34s %12.1f %-8s | baseline %-28s %12.1f | ratio %5.2f%s" % (name, value, unit, base_name, base, ratio, t))
    sys.stdout.flush()


def server(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    port = int(p.stdout.readline())
    return p, port


def info(a):
    return json.loads(urllib.request.urlopen(a.url("exporter", "/api/v1/info"), timeout=10).read())["streams"]


def fill_logs(a, target):
    body = json.dumps({"msg": "x" * 900})
    while info(a)["logs"]["bytes_used"] < target:
        out([HTTP, "post", str(a.ports["http"]), "8", "1", "/fill", body])


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    print("vivo-agent benchmarks (%d s per load phase); figures in requests/s, MB/s, microseconds" % SECONDS)
    # 1. HTTP ingest: 16 keep-alive connections, one small record per request.
    with Agent() as a:
        agent_rps = float(out([HTTP, "post", str(a.ports["http"]), "16", str(SECONDS), "/bench", '{"msg":"hello"}'])[0])
    d, port = server([HTTP, "discard"])
    base_rps = float(out([HTTP, "post", str(port), "16", str(SECONDS), "/bench", '{"msg":"hello"}'])[0])
    d.kill()
    row("HTTP ingest, 16 keep-alive conns", agent_rps, "req/s", base_rps, "(discard HTTP server)",
        (">= 50000 req/s", lambda v, r: v >= 50000))

    # 2. Store append vs memcpy of the same bytes.
    store, copy = (float(x) for x in out([STORE], stderr=subprocess.DEVNULL))
    row("store append, 4 KB chunks", store, "MB/s", copy, "(memcpy of the same bytes)",
        (">= 25% of memcpy", lambda v, r: r >= 0.25))

    # 3. Full read of a 20M stream vs a TCP peer that just writes the same bytes.
    with Agent() as a:
        fill_logs(a, 19500000)
        read_mbs, size = (float(x) for x in out([HTTP, "get", str(a.ports["exporter"]), "/logs", str(READS)]))
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(urllib.request.urlopen(a.url("exporter", "/logs"), timeout=60).read())
        # 4. Poll latency while ingesting (4 connections keep writing).
        load = subprocess.Popen([HTTP, "post", str(a.ports["http"]), "4", str(SECONDS + 1), "/load", '{"msg":"hello"}'],
                                stdout=subprocess.DEVNULL)
        time.sleep(0.3)
        p50, p99, b50, b99, n = (float(x) for x in out([HTTP, "poll", str(a.ports["exporter"]), str(SECONDS)]))
        load.wait(60)
    s, port = server([HTTP, "serve", f.name])
    base_mbs, _ = (float(x) for x in out([HTTP, "get", str(port), "/", str(READS)]))
    s.kill()
    os.unlink(f.name)
    row("full read of a %.1f MB stream" % (size / 1e6), read_mbs, "MB/s", base_mbs, "(TCP peer writing the bytes)",
        (">= 50% of baseline", lambda v, r: r >= 0.5))
    row("poll from=<Next-ID> while ingesting p50", p50, "us", b50, "(GET / on the same server)")
    row("poll from=<Next-ID> while ingesting p99", p99, "us", b99, "(GET / on the same server)",
        ("< 1000 us", lambda v, r: v < 1000))

    # 5. RSS with every stream filled to a 20M budget.
    with Agent() as a:
        base_kb = rss_kb(a.proc.pid)
        fill_logs(a, 19500000)
        filled = ["logs"]
        for stream, listener, path, payload in (
                ("metrics", "otlp", "/v1/metrics", None), ("traces", "otlp", "/v1/traces", None)):
            if listener not in a.ports:
                continue
            body = otlp_payload(stream)
            try:
                while info(a)[stream]["bytes_used"] < 19500000:
                    out([HTTP, "post", str(a.ports[listener]), "4", "1", path, body], stderr=subprocess.DEVNULL)
                filled.append(stream)
            except subprocess.CalledProcessError:
                print("note: the %s input refused the bench payload; %s not filled" % (listener, stream))
        kb = rss_kb(a.proc.pid)
    row("RSS, %s filled to 20M" % "+".join(filled), kb / 1024, "MB", base_kb / 1024, "(RSS of the idle agent)",
        ("< 92 MB", lambda v, r: v < 92))
    if len(filled) < 3:
        print("note: only %s filled (see the notes above)" % ", ".join(filled))


def otlp_payload(stream):
    """An OTLP/JSON export request of a realistic size for the metrics or traces stream."""
    if stream == "traces":
        spans = [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "%016x" % (i + 1), "name": "span-%d" % i,
                  "kind": 2, "startTimeUnixNano": "1735689600000000000", "endTimeUnixNano": "1735689600250000000",
                  "attributes": [{"key": "http.method", "value": {"stringValue": "GET"}}]} for i in range(20)]
        return json.dumps({"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "bench"}}]},
                                              "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}]}]})
    points = [{"asDouble": i, "timeUnixNano": "1735689600000000000",
               "attributes": [{"key": "k", "value": {"stringValue": "v%d" % i}}]} for i in range(20)]
    return json.dumps({"resourceMetrics": [{"resource": {}, "scopeMetrics": [{"scope": {"name": "bench"}, "metrics": [
        {"name": "bench_gauge", "gauge": {"dataPoints": points}}]}]}]})


if __name__ == "__main__":
    main()
