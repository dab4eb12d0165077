#!/usr/bin/python3
# test_otelcol_grpc.py: a real OpenTelemetry Collector (tests/otelcol, v0.165.0) relays logs, traces and metrics into vivo-agent over OTLP/gRPC with its otlp exporter: to 4317 as configured by default (gzip-compressed messages), and to 4318 with zstd; every record arrives once.
from agentlib import Agent, run
from otelcollib import (Collector, check_no_errors, collector_binary, collector_config, exporter_lines, free_port, kv,
                        post_batches, settle, wait_port)

BATCHES = 12
PER_BATCH = 10
T0 = 1735689600000000000


def config(receiver, endpoint, compression):
    exporters = "  otlp:\n    endpoint: 127.0.0.1:%d\n    tls:\n      insecure: true\n%s" % (
        endpoint, "    compression: %s\n" % compression if compression else "")
    return collector_config(receiver, exporters, logs=["otlp"], traces=["otlp"], metrics=["otlp"])


def batches(b):
    recs = [{"timeUnixNano": str(T0 + (b * PER_BATCH + i) * 1000), "severityNumber": 9,
             "body": {"stringValue": "grpc relay %d.%d" % (b, i)}, "attributes": [kv("seq", b * PER_BATCH + i)]}
            for i in range(PER_BATCH)]
    spans = [{"traceId": "%032x" % (b + 1), "spanId": "%016x" % (b * PER_BATCH + i + 1), "name": "op-%d.%d" % (b, i),
              "kind": 2, "startTimeUnixNano": str(T0), "endTimeUnixNano": str(T0 + 1000)} for i in range(PER_BATCH)]
    res = {"attributes": [kv("service.name", "grpc-relay")]}
    points = [{"timeUnixNano": str(T0 + b), "asDouble": b * 1.5, "attributes": [kv("batch", str(b))]}]
    return (("/v1/logs", {"resourceLogs": [{"resource": res, "scopeLogs": [{"scope": {"name": "t"}, "logRecords": recs}]}]}),
            ("/v1/traces", {"resourceSpans": [{"resource": res, "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}]}]}),
            ("/v1/metrics", {"resourceMetrics": [{"resource": res, "scopeMetrics": [{"scope": {"name": "t"}, "metrics": [
                {"name": "relay_depth", "gauge": {"dataPoints": points}}]}]}]}))


def collect(a):
    logs = [r[1].get("log") for r in exporter_lines(a, "logs")]
    spans = [s["name"] for c in exporter_lines(a, "traces") for rs in c["resourceSpans"] for ss in rs["scope_spans"]
             for s in ss["spans"]]
    points = [(m["meta"]["opts"]["name"], v["labels"][0], v["value"]) for c in exporter_lines(a, "metrics")
              for m in c["metrics"] for v in m["values"]]
    return logs, spans, points


def relay(t, binary, port_name, compression):
    what = "otlp exporter to %s (%s)" % (port_name, compression or "its default, gzip")
    with Agent(expect=("otlp", "otlp_grpc", "exporter")) as a:
        rport = free_port()
        with Collector(binary, config(rport, a.ports[port_name], compression)) as col:
            t.ok(wait_port(rport, col.proc), "%s: the Collector's receiver is up" % what, col.log()[-2000:])
            post_batches(t, rport, ((b, path, doc) for b in range(BATCHES) for path, doc in batches(b)), what + ": ")
            n = BATCHES * PER_BATCH
            logs, spans, points = settle(lambda: collect(a), lambda logs, spans, points: (
                len(logs) >= n and len(spans) >= n and len(points) >= BATCHES))
            t.eq(sorted(logs), sorted("grpc relay %d.%d" % (b, i) for b in range(BATCHES) for i in range(PER_BATCH)),
                 "%s: all %d log records arrived once" % (what, n))
            t.eq(sorted(spans), sorted("op-%d.%d" % (b, i) for b in range(BATCHES) for i in range(PER_BATCH)),
                 "%s: all %d spans arrived once" % (what, n))
            t.eq(sorted(points), sorted(("relay_depth", str(b), b * 1.5) for b in range(BATCHES)),
                 "%s: all %d metric points arrived once" % (what, BATCHES))
            check_no_errors(t, col, what + ": ")
            t.ok("rejected" not in a.log() and "GOAWAY(" not in a.log(), "%s: the agent refused nothing" % what,
                 a.log()[-2000:])


def test_relay(t):
    binary, why = collector_binary()
    if not binary:
        t.skip("Collector relay over OTLP/gRPC", why)
        return
    relay(t, binary, "otlp_grpc", None)
    relay(t, binary, "otlp", "zstd")


if __name__ == "__main__":
    run([test_relay])
