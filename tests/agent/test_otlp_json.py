#!/usr/bin/python3
# test_otlp_json.py: OTLP JSON forms (enum names or integers, 64-bit integers as strings or numbers, hex IDs, snake_case keys, NaN/Infinity, base64 bytes) and the mapping of what the fixtures lack (exponential histograms, summaries, delta sums, links, mixed resources), each sent as protobuf and as JSON and checked against otlp_ref.
import json
import time

import otlp_ref
from agentlib import Agent, curl, run

TRACE = "5b8efff798038103d269b633813fc60c"


def av(v):
    if isinstance(v, bool):
        return {"bool_value": v}
    if isinstance(v, int):
        return {"int_value": v}
    if isinstance(v, float):
        return {"double_value": v}
    if isinstance(v, list):
        return {"array_value": {"values": [av(x) for x in v]}}
    if isinstance(v, dict):
        return {"kvlist_value": {"values": [{"key": k, "value": av(x)} for k, x in v.items()]}}
    return {"string_value": v}


def attrs(**kw):
    return [{"key": k.replace("_", "."), "value": av(v)} for k, v in kw.items()]


METRICS = {"resource_metrics": [
    {"resource": {"attributes": attrs(service_name="calc", shard=3), "dropped_attributes_count": 2},
     "schema_url": "https://opentelemetry.io/schemas/1.21.0",
     "scope_metrics": [
         {"scope": {"name": "m1", "version": "9", "attributes": attrs(lib_flag=True)}, "schema_url": "https://s/1",
          "metrics": [
              {"name": "exp", "unit": "ms", "exponential_histogram": {"aggregation_temporality": 1, "data_points": [
                  {"attributes": attrs(op="read"), "start_time_unix_nano": 10, "time_unix_nano": 20, "count": 12,
                   "sum": 3.25, "scale": -1, "zero_count": 2, "zero_threshold": 0.5,
                   "positive": {"offset": -3, "bucket_counts": [1, 0, 7]}, "negative": {"offset": 2, "bucket_counts": [2]},
                   "min": 0.25, "max": 9.5},
                  {"attributes": attrs(op="write"), "time_unix_nano": 20, "count": 0, "scale": 3, "flags": 1,
                   "exemplars": [{"time_unix_nano": 19, "as_int": -4}]}]}},
              {"name": "rpc.duration", "description": "summary", "summary": {"data_points": [
                  {"attributes": attrs(method="Get", code=0), "time_unix_nano": 21, "count": 40, "sum": 120.5,
                   "quantile_values": [{"quantile": 0.5, "value": 2.5}, {"quantile": 0.99, "value": 17.0}]},
                  {"attributes": attrs(method="Put"), "time_unix_nano": 21, "count": 1, "sum": 1.0, "flags": 1}]}},
              {"name": "delta.count", "metadata": attrs(origin="sdk", level=2),
               "sum": {"aggregation_temporality": 1, "is_monotonic": True, "data_points": [
                  {"attributes": attrs(ok=True, ratio=0.25), "start_time_unix_nano": 5, "time_unix_nano": 22, "as_int": -7,
                   "flags": 1, "exemplars": [
                       {"time_unix_nano": 21, "as_int": 3, "span_id": "EEE19B7EC3C1B174", "trace_id": TRACE,
                        "filtered_attributes": attrs(user="u1")},
                       {"time_unix_nano": 20, "as_double": 0.5}, {}]},
                  {"attributes": attrs(ok=False), "time_unix_nano": 22, "as_int": 9223372036854775807}]}},
              {"name": "updown", "sum": {"aggregation_temporality": 2, "is_monotonic": False, "data_points": [
                  {"time_unix_nano": 23, "as_double": -1.5}]}},
              {"name": "h.partial", "histogram": {"aggregation_temporality": 2, "data_points": [
                  {"attributes": attrs(a="x"), "time_unix_nano": 24, "count": 3, "bucket_counts": [1, 2],
                   "explicit_bounds": [1.0, 2.0, 4.0]},
                  {"attributes": attrs(b="y"), "time_unix_nano": 24, "count": 1, "sum": 0.5, "bucket_counts": [1, 0, 0, 0],
                   "explicit_bounds": [1.0, 2.0, 4.0], "min": 0.5, "max": 0.5, "flags": 1,
                   "exemplars": [{"time_unix_nano": 23, "as_double": 0.5, "trace_id": TRACE}]}]}},
              {"name": "no.data"}]},
         {"scope": {"name": "m2"}, "metrics": [
             {"name": "g", "gauge": {"data_points": [{"time_unix_nano": 18446744073709551615, "as_double": 1e300}]}}]},
         {"scope": {"name": "empty"}, "metrics": []}]},
    {"scope_metrics": [{"metrics": [{"name": "bare", "gauge": {"data_points": [{"as_int": 1}]}}]}]}]}

LOGS_MIXED = {"resource_logs": [
    {"resource": {"attributes": attrs(service_name="a")}, "scope_logs": [
        {"scope": {"name": "l", "version": "1", "dropped_attributes_count": 1}, "log_records": [
            {"time_unix_nano": 100, "observed_time_unix_nano": 101, "severity_number": 21, "severity_text": "FATAL",
             "body": av({"nested": {"deep": [1, 2.5, "x", False]}}), "attributes": attrs(k="v", k2=[1, 2]),
             "trace_id": TRACE, "span_id": "eee19b7ec3c1b174", "flags": 0x101, "event_name": "boom"},
            {"observed_time_unix_nano": 202, "body": av(7)},
            {"time_unix_nano": 300, "body": {"bytes_value": "00ff41"}},
            {"time_unix_nano": 301, "body": {"bytes_value": "68656c6c6f"}},
            {"time_unix_nano": 302},
            {"time_unix_nano": 303, "body": {}}]}]},
    {"resource": {"attributes": attrs(service_name="b")}, "scope_logs": [
        {"scope": {"name": "l"}, "log_records": [{"time_unix_nano": 400, "body": av([True, 0.5])}]}]}]}

LOGS_SHARED = {"resource_logs": [
    {"resource": {"attributes": attrs(service_name="a")}, "schema_url": "https://r", "scope_logs": [
        {"scope": {"name": "l", "attributes": attrs(x=1)}, "log_records": [{"time_unix_nano": 1, "body": av("one")}]},
        {"scope": {"name": "l", "attributes": attrs(x=1)}, "log_records": [{"time_unix_nano": 2, "body": av("two")}]},
        {"scope": {"name": "other"}, "log_records": []}]}]}

TRACES = {"resource_spans": [
    {"resource": {"attributes": attrs(service_name="svc")}, "schema_url": "https://r/1", "scope_spans": [
        {"scope": {"name": "t", "version": "2", "attributes": attrs(sa="b"), "dropped_attributes_count": 4},
         "schema_url": "https://s/1", "spans": [
             {"trace_id": TRACE, "span_id": "0102030405060708", "parent_span_id": "a1b2c3d4e5f60718",
              "trace_state": "vendor=x", "name": "linked", "kind": 5, "start_time_unix_nano": 1, "end_time_unix_nano": 2,
              "attributes": attrs(dup="first", other=1) + attrs(dup="last"), "dropped_attributes_count": 1,
              "events": [{"time_unix_nano": 3, "name": "e1"}, {"name": "e2", "attributes": attrs(x=[1, {"y": "z"}]),
                                                                "dropped_attributes_count": 2}],
              "dropped_events_count": 5,
              "links": [{"trace_id": TRACE, "span_id": "eee19b7ec3c1b174", "trace_state": "a=b", "attributes": attrs(l=1),
                         "dropped_attributes_count": 3, "flags": 1}, {}],
              "dropped_links_count": 6, "status": {"code": 2, "message": "bad"}, "flags": 0x301}]},
        {"spans": [{"name": "no scope, no ids"}]}]},
    {"scope_spans": []}]}


def chunk(a, path, n, raw=False):
    _, _, body = curl(a.url("exporter", "%s?from=%d&to=%d" % (path, n, n)))
    if raw:
        return body.decode().splitlines()
    return [json.loads(l) for l in body.decode().splitlines()]


def compact(v):
    """The bytes Vivo writes for a JSON value: no whitespace, UTF-8, keys in their order."""
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def post(a, path, body, ctype):
    return curl("-X", "POST", "-H", "Content-Type: " + ctype, "-H", "Expect:", a.url("otlp", path), data=body)


def encodings(req, msg):
    yield "protobuf", otlp_ref.to_protobuf(req, msg), "application/x-protobuf"
    yield "JSON (strings)", json.dumps(otlp_ref.to_otlp_json(req)).encode(), "application/json"
    yield "JSON (numbers)", json.dumps(otlp_ref.to_otlp_json(req, ints_as_strings=False)).encode(), "application/json"


def test_reference_mapping(t):
    with Agent(expect=("otlp", "exporter")) as a:
        n = {"logs": 0, "metrics": 0, "traces": 0}
        for how, body, ct in encodings(METRICS, "MetricsReq"):
            st, _, _ = post(a, "/v1/metrics", body, ct)
            got = chunk(a, "/metrics", n["metrics"])
            n["metrics"] += 1
            t.eq(st, 200, "metrics (%s): 200" % how)
            want = otlp_ref.metrics(METRICS)
            t.eq(len(got), 3, "metrics (%s): one line per scope with data (3)" % how)
            t.eq(got, want, "metrics (%s): exponential histogram, summary, delta and non-monotonic sums, partial "
                 "buckets, every label type, flags, exemplars, metric metadata" % how)
            t.eq(chunk(a, "/metrics", n["metrics"] - 1, raw=True), [compact(w) for w in want],
                 "metrics (%s): the same bytes (key order, number forms)" % how)
        for name, req in (("mixed", LOGS_MIXED), ("shared", LOGS_SHARED)):
            for how, body, ct in encodings(req, "LogsReq"):
                before = time.time_ns()
                st, _, _ = post(a, "/v1/logs", body, ct)
                got = chunk(a, "/logs", n["logs"])
                v1 = chunk(a, "/api/v1/logs", n["logs"])[0]
                n["logs"] += 1
                lines, records, shared = otlp_ref.logs(req, now=0)
                # a record with no time at all is stamped when it arrives
                for g, w in zip(got, lines):
                    if w[0][0] == 0 and before <= g[0][0] <= time.time_ns():
                        w[0][0] = g[0][0]
                for g, w in zip(v1["records"], records):
                    if w[0][0] == 0 and before <= g[0][0] <= time.time_ns():
                        w[0][0] = g[0][0]
                t.eq((st, got), (200, lines), "logs %s (%s): records (times, metadata, bodies of every type, an empty "
                     "AnyValue body as {})" % (name, how))
                t.eq((v1.get("otlp"), v1["records"]), (shared, records),
                     "logs %s (%s): v1 %s" % (name, how, "otlp key" if shared else "without an otlp key"))
        for how, body, ct in encodings(TRACES, "TracesReq"):
            st, _, _ = post(a, "/v1/traces", body, ct)
            got = chunk(a, "/traces", n["traces"])
            n["traces"] += 1
            t.eq((st, got), (200, [otlp_ref.traces(TRACES)]),
                 "traces (%s): links, trace_state, dropped counts, duplicate keys, missing scope and IDs" % how)
            t.eq(chunk(a, "/traces", n["traces"] - 1, raw=True), [compact(otlp_ref.traces(TRACES))],
                 "traces (%s): the same bytes (key order, number forms)" % how)


def span_json(**kw):
    s = {"traceId": TRACE, "spanId": "eee19b7ec3c1b174", "name": "s"}
    s.update(kw)
    return {"resourceSpans": [{"scopeSpans": [{"spans": [s]}]}]}


def test_json_forms(t):
    with Agent(expect=("otlp", "exporter")) as a:
        n = 0
        forms = [
            ({"status": {"code": 2}}, ("status", {"code": 2, "message": None})),
            ({"status": {"code": "STATUS_CODE_ERROR", "message": "m"}}, ("status", {"code": 2, "message": "m"})),
            ({"status": {"code": "ERROR"}}, ("status", {"code": 2, "message": None})),
            ({"status": {"code": "STATUS_CODE_OK"}}, ("status", {"code": 1, "message": None})),
            ({"kind": "SPAN_KIND_PRODUCER"}, ("kind", 4)),
            ({"kind": 3}, ("kind", 3)),
            ({"kind": 9}, ("kind", 9)),
            ({"startTimeUnixNano": "18446744073709551615"}, ("start_time_unix_nano", 18446744073709551615)),
            ({"startTimeUnixNano": 1735689600000000001}, ("start_time_unix_nano", 1735689600000000001)),
            ({"traceId": TRACE.upper()}, ("trace_id", TRACE)),
            ({"traceId": ""}, ("trace_id", None)),
            ({"parentSpanId": None}, ("parent_span_id", None)),
            ({"parent_span_id": "a1b2c3d4e5f60718"}, ("parent_span_id", "a1b2c3d4e5f60718")),
            ({"attributes": [{"key": "i", "value": {"intValue": "-9223372036854775808"}}]}, ("attributes", {"i": -9223372036854775808})),
            ({"attributes": [{"key": "i", "value": {"intValue": 42}}]}, ("attributes", {"i": 42})),
            ({"attributes": [{"key": "d", "value": {"doubleValue": "NaN"}}, {"key": "e", "value": {"doubleValue": "-Infinity"}},
                             {"key": "f", "value": {"doubleValue": "2.5"}}, {"key": "g", "value": {"doubleValue": 3}}]},
             ("attributes", {"d": None, "e": None, "f": 2.5, "g": 3.0})),
            ({"attributes": [{"key": "b", "value": {"bytesValue": "aGk="}}, {"key": "c", "value": {"bytesValue": "AP8"}}]},
             ("attributes", {"b": "hi", "c": "00ff"})),
            ({"attributes": [{"key": "n", "value": {}}, {"key": "m"}]}, ("attributes", {"n": None, "m": None})),
            ({"futureField": {"x": [1]}, "droppedLinksCount": "7"}, ("dropped_links_count", 7)),
        ]
        for kw, (key, want) in forms:
            st, h, body = post(a, "/v1/traces", json.dumps(span_json(**kw)).encode(), "application/json")
            got = chunk(a, "/traces", n)
            n += 1
            span = got[0]["resourceSpans"][0]["scope_spans"][0]["spans"][0] if got else {}
            t.eq((st, body, span.get(key, "MISSING")), (200, b"{}", want), "JSON %s -> %s" % (json.dumps(kw)[:70], key))
        st, _, body = post(a, "/v1/traces", b'{"resourceSpans":[]}', "application/json")
        _, h, _ = curl(a.url("exporter", "/traces"))
        t.eq((st, body, h["vivo-stream-next-id"]), (200, b"{}", str(n)), "an empty request: 200 {} and nothing stored")
        st, _, _ = post(a, "/v1/logs", json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [
            {"timeUnixNano": "1", "severityNumber": "SEVERITY_NUMBER_INFO3", "body": {"stringValue": "x"}}]}]}]}).encode(),
            "application/json")
        got = chunk(a, "/logs", 0)
        t.eq(got, [[[1, {"_tag": "v1_logs", "otlp": {"severity_number": 11}}], {"log": "x"}]], "severity number by name")
        st, _, _ = post(a, "/v1/metrics", json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": [
            {"name": "s", "sum": {"aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA", "isMonotonic": True,
                                  "dataPoints": [{"asInt": "5", "timeUnixNano": "9"}]}}]}]}]}).encode(), "application/json")
        got = chunk(a, "/metrics", 0)
        m = got[0]["metrics"][0] if got else {"meta": {}, "values": [{}]}
        t.eq((m["meta"].get("aggregation_type"), m["values"][0].get("value_int64")), (1, 5), "temporality by name, asInt as a string")


def test_tag_from_uri_off(t):
    cfg = ("pipeline:\n  inputs:\n    - name: opentelemetry\n      port: 0\n      tag_from_uri: off\n      tag: otel.in\n"
           "  outputs:\n    - name: vivo_exporter\n      port: 0\n")
    with Agent(config=cfg, expect=("otlp", "exporter")) as a:
        body = json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": "5", "body": {"stringValue": "x"}}]}]}]}).encode()
        st, _, _ = post(a, "/v1/logs", body, "application/json")
        got = chunk(a, "/api/v1/logs", 0)
        t.eq((st, got[0]["tag"] if got else None), (200, "otel.in"), "tag_from_uri off: the input's tag")


if __name__ == "__main__":
    run([test_reference_mapping, test_json_forms, test_tag_from_uri_off])
