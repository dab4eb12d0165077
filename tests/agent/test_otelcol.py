#!/usr/bin/python3
# test_otelcol.py: a real OpenTelemetry Collector (tests/otelcol, v0.165.0) relays logs, traces and metrics into vivo-agent over OTLP/HTTP with zstd (otlp_http exporter) and by Prometheus remote write (prometheus_remote_write exporter); every record arrives once.
import time

from agentlib import Agent, run
from otelcollib import (Collector, check_no_errors, collector_binary, collector_config, exporter_lines, free_port, kv,
                        post_batches, settle, wait_port)

BATCHES = 12
PER_BATCH = 10
T0 = 1735689600000000000
EXPORTERS = """  otlp_http:
    endpoint: http://127.0.0.1:%d
    compression: zstd
  prometheus_remote_write:
    endpoint: http://127.0.0.1:%d/api/prom/push
    send_metadata: true
    target_info:
      enabled: false
"""


def config(receiver, vivo_otlp, vivo_prw):
    return collector_config(receiver, EXPORTERS % (vivo_otlp, vivo_prw), logs=["otlp_http"], traces=["otlp_http"],
                            metrics=["otlp_http", "prometheus_remote_write"])


def logs_batch(b):
    recs = [{"timeUnixNano": str(T0 + (b * PER_BATCH + i) * 1000), "severityNumber": 9, "severityText": "INFO",
             "body": {"stringValue": "relay %d.%d" % (b, i)}, "attributes": [kv("seq", b * PER_BATCH + i)]}
            for i in range(PER_BATCH)]
    return {"resourceLogs": [{"resource": {"attributes": [kv("service.name", "relay")]},
                              "scopeLogs": [{"scope": {"name": "test"}, "logRecords": recs}]}]}


def traces_batch(b):
    spans = [{"traceId": "%032x" % (b + 1), "spanId": "%016x" % (b * PER_BATCH + i + 1), "name": "op-%d.%d" % (b, i),
              "kind": 2, "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 1000)} for i in range(PER_BATCH)]
    return {"resourceSpans": [{"resource": {"attributes": [kv("service.name", "relay")]},
                               "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}]}]}


def metrics_batch(b, now_ns):
    ts = str(now_ns + b * 1000000)
    return {"resourceMetrics": [{"resource": {"attributes": [kv("service.name", "relay")]}, "scopeMetrics": [{
        "scope": {"name": "test"}, "metrics": [
            {"name": "relay_queue_depth", "gauge": {"dataPoints": [
                {"timeUnixNano": ts, "asDouble": b * 1.5, "attributes": [kv("batch", str(b))]}]}},
            {"name": "relay_requests", "sum": {"aggregationTemporality": 2, "isMonotonic": True, "dataPoints": [
                {"startTimeUnixNano": str(now_ns - 10**9), "timeUnixNano": ts, "asInt": str(100 + b),
                 "attributes": [kv("batch", str(b))]}]}}]}]}]}


def collect(a):
    """Everything the agent holds: log bodies, span names, OTLP metric points, remote-write samples."""
    logs = [r[1].get("log") for r in exporter_lines(a, "logs")]
    spans = [s["name"] for ctx in exporter_lines(a, "traces") for rs in ctx["resourceSpans"]
             for ss in rs["scope_spans"] for s in ss["spans"]]
    otlp_pts, prw_pts = [], []
    for ctx in exporter_lines(a, "metrics"):
        prw = ctx["meta"]["cmetrics"].get("producer") == "prometheus_remote_write"
        for m in ctx["metrics"]:
            keys = m["meta"]["labels"]
            for v in m["values"]:
                labels = dict(zip(keys, v.get("labels", [])))
                (prw_pts if prw else otlp_pts).append((m["meta"]["opts"]["name"], labels.get("batch"), v.get("value")))
    return logs, spans, otlp_pts, prw_pts


def test_relay(t):
    binary, why = collector_binary()
    if not binary:
        t.skip("collector relay", why)
        return
    conf = ("pipeline:\n  inputs:\n    - name: opentelemetry\n      port: 0\n"
            "    - name: prometheus_remote_write\n      port: 0\n      uri: /api/prom/push\n")
    with Agent(config=conf, expect=("otlp", "prom_rw", "exporter")) as a:
        rport = free_port()
        with Collector(binary, config(rport, a.ports["otlp"], a.ports["prom_rw"])) as col:
            t.ok(wait_port(rport, col.proc), "the Collector's otlp receiver is up", col.log()[-2000:])
            now_ns = time.time_ns()
            post_batches(t, rport, ((b, path, doc) for b in range(BATCHES) for path, doc in (
                ("/v1/logs", logs_batch(b)), ("/v1/traces", traces_batch(b)), ("/v1/metrics", metrics_batch(b, now_ns)))))
            n = BATCHES * PER_BATCH
            logs, spans, otlp_pts, prw_pts = settle(lambda: collect(a), lambda logs, spans, otlp_pts, prw_pts: (
                len(logs) >= n and len(spans) >= n and len(otlp_pts) >= 2 * BATCHES and len(prw_pts) >= 2 * BATCHES))
            want_logs = ["relay %d.%d" % (b, i) for b in range(BATCHES) for i in range(PER_BATCH)]
            t.eq(sorted(logs), sorted(want_logs), "otlp_http (zstd): all %d log records arrived once" % n)
            t.eq(sorted(spans), sorted("op-%d.%d" % (b, i) for b in range(BATCHES) for i in range(PER_BATCH)),
                 "otlp_http (zstd): all %d spans arrived once" % n)
            want_otlp = sorted([("relay_queue_depth", str(b), b * 1.5) for b in range(BATCHES)] +
                               [("relay_requests", str(b), float(100 + b)) for b in range(BATCHES)])
            t.eq(sorted(otlp_pts), want_otlp, "otlp_http (zstd): all %d metric points arrived once" % (2 * BATCHES))
            names = sorted({p[0] for p in prw_pts})
            gauge = sorted(p for p in prw_pts if p[0].startswith("relay_queue_depth"))
            counter = sorted(p for p in prw_pts if p[0].startswith("relay_requests"))
            t.eq([(p[1], p[2]) for p in gauge], sorted((str(b), b * 1.5) for b in range(BATCHES)),
                 "prometheus_remote_write: every gauge sample arrived once (%s)" % names)
            t.eq([(p[1], p[2]) for p in counter], sorted((str(b), float(100 + b)) for b in range(BATCHES)),
                 "prometheus_remote_write: every counter sample arrived once")
            types = {m["meta"]["opts"]["name"]: m["meta"]["type"] for ctx in exporter_lines(a, "metrics")
                     if ctx["meta"]["cmetrics"].get("producer") == "prometheus_remote_write" for m in ctx["metrics"]}
            t.eq(types, {"relay_queue_depth": 1, "relay_requests_total": 0},
                 "remote write types from the exporter's metadata: gauge, and the monotonic sum as counter _total")
            check_no_errors(t, col)
            t.ok("refused" not in a.log() and "rejected" not in a.log(), "the agent refused nothing", a.log()[-2000:])


if __name__ == "__main__":
    run([test_relay])
