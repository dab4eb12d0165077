#!/usr/bin/python3
# test_otlp_interop.py: the official OpenTelemetry JS SDK's OTLP/HTTP exporters (protobuf, then JSON) send a trace, metrics and logs (tests/agent/otel/app.js); every field must arrive in /traces, /metrics, /logs and /api/v1/logs as spec'd.
import json
import os
import subprocess

from agentlib import Agent, curl, npm_ci, run

HERE = os.path.dirname(os.path.abspath(__file__))
APP_DIR = os.path.join(HERE, "otel")


def ensure_sdk():
    """node_modules from package-lock.json (npm ci), like the UI build. None, or why not."""
    return npm_ci(APP_DIR)


def chunk(a, path, n):
    _, _, body = curl(a.url("exporter", "%s?from=%d&to=%d" % (path, n, n)))
    return [json.loads(l) for l in body.decode().splitlines()]


def ms(v):
    return v * 1000000


def check_traces(t, a, n, sent):
    lines = chunk(a, "/traces", n)
    p = sent["protocol"]
    t.eq(len(lines), 1, "%s: one traces line for the export" % p)
    rs = lines[0]["resourceSpans"]
    t.eq(len(rs), 1, "%s: one resource" % p)
    res = rs[0]["resource"]["attributes"]
    t.eq(res, {"service.name": sent["service"], "service.version": "2.3.4", "deployment.replicas": 3},
         "%s: resource attributes (strings, an int)" % p)
    ss = rs[0]["scope_spans"][0]
    t.eq((ss["scope"]["name"], ss["scope"]["version"]), ("shop-tracer", "1.0.1"), "%s: scope name and version" % p)
    spans = {s["span_id"]: s for s in ss["spans"]}
    ids = sent["spans"]
    t.eq(sorted(spans), sorted(ids.values()), "%s: the three spans, hex span IDs" % p)
    root, child, grand = spans.get(ids["root"], {}), spans.get(ids["child"], {}), spans.get(ids["grand"], {})
    t.ok(all(s.get("trace_id") == sent["trace_id"] for s in spans.values()), "%s: hex trace_id on every span" % p)
    t.eq([root.get("parent_span_id"), child.get("parent_span_id"), grand.get("parent_span_id")],
         [None, ids["root"], ids["child"]], "%s: parents nest root > child > grandchild" % p)
    t.eq([root.get("name"), child.get("name"), grand.get("name")], ["GET /cart", "charge", "db.query"], "%s: names" % p)
    t.eq([root.get("kind"), child.get("kind"), grand.get("kind")], [2, 3, 1], "%s: kinds server, client, internal" % p)
    t0 = sent["t0_ms"]
    t.eq([(s.get("start_time_unix_nano"), s.get("end_time_unix_nano")) for s in (root, child, grand)],
         [(ms(t0), ms(t0 + 50)), (ms(t0 + 10), ms(t0 + 40)), (ms(t0 + 12), ms(t0 + 20))], "%s: start and end times in ns" % p)
    t.eq(root.get("attributes"), {"http.request.method": "GET", "http.response.status_code": 200, "cart.total": 42.5,
                                  "cart.ok": True, "cart.skus": ["a", "b"]}, "%s: span attributes of every type" % p)
    t.eq(child.get("events"), [
        {"time_unix_nano": ms(t0 + 21), "name": "retrying", "attributes": {"attempt": 2}, "dropped_attributes_count": 0},
        {"time_unix_nano": ms(t0 + 30), "name": "exception",
         "attributes": {"exception.type": "PaymentDeclined", "exception.message": "card declined"}, "dropped_attributes_count": 0},
    ], "%s: events, with recordException's" % p)
    t.eq(grand.get("events"), [{"time_unix_nano": ms(t0 + 15), "name": "rows fetched", "attributes": {"db.rows": 7},
                                "dropped_attributes_count": 0}], "%s: grandchild event" % p)
    t.eq(grand.get("links"), [{"trace_id": sent["trace_id"], "span_id": ids["root"], "trace_state": None,
                               "attributes": {"link.reason": "retry-of"}, "dropped_attributes_count": 0}], "%s: link" % p)
    t.eq([root.get("status"), child.get("status"), grand.get("status")],
         [{"code": 1, "message": None}, {"code": 2, "message": "card declined"}, {"code": 0, "message": None}],
         "%s: status OK, ERROR with message, UNSET" % p)
    t.ok(all(set(s) == {"trace_id", "span_id", "parent_span_id", "trace_state", "name", "kind", "start_time_unix_nano",
                        "end_time_unix_nano", "attributes", "dropped_attributes_count", "dropped_events_count",
                        "dropped_links_count", "events", "links", "schema_url", "status"} for s in spans.values()),
         "%s: every span has the 16 keys of the ctraces shape" % p)


def check_metrics(t, a, n, sent):
    lines = chunk(a, "/metrics", n)
    p = sent["protocol"]
    delta = p == "json"
    t.eq(len(lines), 1, "%s: one metrics line (one resource and scope)" % p)
    m = lines[0]
    ext = m["meta"]["external"]
    t.eq(m["meta"]["cmetrics"], {"producer": "opentelemetry"}, "%s: meta.cmetrics.producer" % p)
    t.ok(ext["resource"]["attributes"].get("service.name") == sent["service"], "%s: resource under meta.external" % p, ext)
    t.eq(ext["scope"]["metadata"], {"name": "shop-meter", "version": "0.0.7", "dropped_attributes_count": 0},
         "%s: scope under meta.external, its zero dropped count too" % p)
    t.eq((ext["resource"]["metadata"], ext["resource_metrics"]["metadata"].keys() == {"schema_url"},
          ext["scope_metrics"]["metadata"].keys() == {"schema_url"}),
         ({"dropped_attributes_count": 0}, True, True), "%s: resource metadata, schema URLs on resource_metrics/scope_metrics" % p)
    by = {x["meta"]["opts"]["name"]: x for x in m["metrics"]}
    t.eq(sorted(by), ["latency", "orders", "queue.depth", "temperature"], "%s: all four instruments" % p)
    o = by.get("orders", {"meta": {}, "values": []})
    t.eq((o["meta"].get("type"), o["meta"].get("aggregation_type"), o["meta"].get("labels"), o["meta"]["opts"].get("desc"),
          o["meta"]["opts"].get("unit")), (0, 1 if delta else 2, ["region", "paid"], "Orders placed", "{order}"),
         "%s: counter meta (%s temporality)" % (p, "delta" if delta else "cumulative"))
    t.eq(sorted((v["labels"], v["value"]) for v in o["values"]), [(["eu", "true"], 5.0), (["us", "false"], 2.0)],
         "%s: counter values with string labels (bool attributes as true/false)" % p)
    q = by.get("queue.depth", {"meta": {}, "values": []})
    t.eq((q["meta"].get("type"), [(v["labels"], v["value"]) for v in q["values"]]), (0, [(["mail"], 5.0)]),
         "%s: up-down counter (non-monotonic sum)" % p)
    g = by.get("temperature", {"meta": {}, "values": []})
    t.eq((g["meta"].get("type"), "aggregation_type" in g["meta"], [(v["labels"], v["value"]) for v in g["values"]]),
         (1, False, [(["lab"], 21.5)]), "%s: gauge" % p)
    h = by.get("latency", {"meta": {}, "values": [{}]})
    t.eq((h["meta"].get("type"), h["meta"].get("buckets"), h["meta"].get("aggregation_type")),
         (2, [10.0, 100.0, 1000.0], 1 if delta else 2), "%s: histogram meta with bounds" % p)
    t.eq((h["values"][0].get("histogram"), h["values"][0].get("labels")),
         ({"buckets": [1, 2, 1, 1], "sum": 5615.0, "count": 5}, ["/cart"]), "%s: histogram buckets, sum, count" % p)
    hp = list(ext["otlp"]["metrics"]["histogram"]["latency"]["datapoints"].values())
    t.ok(len(hp) == 1 and hp[0].get("min") == 5.0 and hp[0].get("max") == 5000.0 and hp[0].get("has_sum") is True and
         hp[0].get("start_time_unix_nano", 0) > 0, "%s: histogram min, max, start time under meta.external.otlp" % p, hp)
    for x in m["metrics"]:
        for v in x["values"]:
            key = "%x:%d" % (v["hash"], v["ts"])
            typ = {0: "counter", 1: "gauge", 2: "histogram"}[x["meta"]["type"]]
            dp = ext["otlp"]["metrics"][typ][x["meta"]["opts"]["name"]]["datapoints"].get(key)
            if dp is None or dp.get("flags") != 0 or dp.get("start_time_unix_nano") != v.get("start_ts", 0):
                t.ok(False, "%s: data point %s of %s in meta.external.otlp, with flags and the start time of "
                     "values[].start_ts" % (p, key, x["meta"]["opts"]["name"]), (dp, v))
                return
    t.ok(True, "%s: every data point has its meta.external.otlp entry (hash:ts), flags and start time" % p)


def check_logs(t, a, n, sent):
    p = sent["protocol"]
    t0, ids = sent["t0_ms"], sent["spans"]
    legacy = chunk(a, "/logs", n)
    v1 = chunk(a, "/api/v1/logs", n)
    t.eq(len(legacy), 2, "%s: two log records, one chunk" % p)
    t.eq(len(v1), 1, "%s: one v1 object" % p)
    o = v1[0] if v1 else {}
    t.eq((o.get("source_type"), o.get("source_name"), o.get("tag")), ("opentelemetry", "opentelemetry.2", "v1_logs"),
         "%s: v1 source_type, source_name, tag" % p)
    ctx = o.get("otlp", {})
    t.ok(ctx.get("resource", {}).get("attributes", {}).get("service.name") == sent["service"] and
         ctx.get("scope") == {"name": "shop-logger", "version": "3.2.1"}, "%s: v1 otlp resource and scope" % p, ctx)
    recs = o.get("records", [[[0, {}], {}], [[0, {}], {}]])
    m1, m2 = recs[0][0][1].get("otlp", {}), recs[1][0][1].get("otlp", {})
    obs1 = m1.pop("observed_timestamp", None)
    obs2 = m2.pop("observed_timestamp", None)
    t.ok(isinstance(obs1, int) and obs1 > ms(t0) and isinstance(obs2, int), "%s: observed_timestamp in ns" % p, (obs1, obs2))
    t.eq([recs[0][0][0], recs[1][0][0]], [ms(t0 + 60), ms(t0 + 70)], "%s: record times" % p)
    t.eq(m1, {"severity_number": 13, "severity_text": "WARN", "attributes": {"order.id": "A-17", "attempt": 2, "amount": 9.75},
              "trace_id": sent["trace_id"], "span_id": ids["child"], "trace_flags": 1},
         "%s: severity, attributes, trace context of the first record" % p)
    t.eq(m2, {"severity_number": 17, "severity_text": "ERROR", "attributes": {"retry": False},
              "trace_id": sent["trace_id"], "span_id": ids["root"], "trace_flags": 1}, "%s: second record metadata" % p)
    t.eq([recs[0][1], recs[1][1]], [{"log": "payment retry scheduled"},
                                     {"event": "payment_failed", "code": 402, "tags": ["card", "declined"]}],
         "%s: a string body under log, a map body stays a map" % p)
    t.ok(all(l[0][1].get("_tag") == "v1_logs" for l in legacy) and [l[1] for l in legacy] == [recs[0][1], recs[1][1]],
         "%s: legacy /logs lines carry _tag v1_logs and the same bodies" % p)


def test_interop(t):
    why = ensure_sdk()
    if why:
        t.skip("OpenTelemetry JS SDK interop", why)
        return
    with Agent(expect=("otlp", "exporter")) as a:
        for n, proto in enumerate(("proto", "json")):
            p = subprocess.run(["node", os.path.join(APP_DIR, "app.js"), a.url("otlp", ""), proto],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
            ok = t.ok(p.returncode == 0, "%s: the SDK app exported without errors" % proto, p.stderr.decode())
            if not ok:
                continue
            sent = json.loads(p.stdout.decode().strip().splitlines()[-1])
            check_traces(t, a, n, sent)
            check_metrics(t, a, n, sent)
            check_logs(t, a, n, sent)
        t.ok("rejected" not in a.log(), "no request was rejected", a.log())


if __name__ == "__main__":
    run([test_interop])
